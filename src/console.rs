//! Everything entra-collect writes to the user's terminal: error lines, the progress display's
//! wiring, the prompt of a trace without a sign-in command, the closing message with the top
//! findings, the bundle path (stdout), `rules` and `inspect` output.
//!
//! What is shown passes the redactor (collector reasons, `--json` output) or is escaped for the
//! terminal (anything read from a received bundle). Data goes to stdout, messages to stderr.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::analyze::{Finding, Severity};
use crate::bundle::manifest::{Manifest, RunStatus, Status};
use crate::cancel::Cancel;
use crate::config::CollectConfig;
use crate::fsutil::{err_line, out};
use crate::inspect::Inspected;
use crate::progress::Progress;
use crate::redact::Redactor;
use crate::term::{json_terminal_safe, terminal_safe, terminal_safe_text};
use crate::vocab::Lang;

/// `entra-collect: error: <text>` on stderr.
pub(crate) fn error(text: &str) {
    err_line(&format!("entra-collect: error: {text}"));
}

/// `--json`: an error as `{"error": {"kind", "message"}}` on stdout (the exit code is unchanged).
pub(crate) fn json_error(kind: &str, message: &str) {
    let value = json!({ "error": { "kind": kind, "message": message } });
    // Nowhere left to report a closed stdout.
    let _ = out(&format!("{value}\n"));
}

/// `entra-collect: <text>` on stderr.
pub(crate) fn note(text: &str) {
    err_line(&format!("entra-collect: {text}"));
}

/// The progress display of a collection.
pub(crate) fn progress(cfg: &CollectConfig, redactor: Arc<Redactor>) -> Progress {
    // Spinners would garble the live output of an interactive sign-in.
    let spinners = crate::os::stderr_is_terminal() && cfg.debug_runs.is_empty();
    let progress = Progress::new(cfg.quiet, spinners, redactor);
    if !cfg.debug_runs.is_empty() {
        progress.hold_while(crate::collect::debug_run::ID)
    } else {
        progress
    }
}

pub(crate) fn warn_leftover_trace(progress: &Progress, started_at: &str) {
    progress.say(&format!(
        "entra-collect: warning: a network trace started at {started_at} by an earlier run may still be running; stop it with `entra-collect trace stop`"
    ));
}

pub(crate) fn warn_not_given(progress: &Progress, user: &str, e: &std::io::Error) {
    progress.say(&format!(
        "entra-collect: warning: cannot give the bundle to {user}: {e}"
    ));
}

/// Without a sign-in command to run, the trace records while the user reproduces the failure.
pub(crate) fn wait_for_enter(cancel: &Cancel, limit: Duration) {
    err_line(
        "entra-collect: the network trace is running. Reproduce the failing sign-in now, then press Enter here (Ctrl-C stops).",
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = tx.send(());
    });
    let t0 = std::time::Instant::now();
    while rx.recv_timeout(Duration::from_millis(100)).is_err()
        && !cancel.is_cancelled()
        && t0.elapsed() < limit
    {}
}

/// `entra-collect rules`: the redaction catalogue, as text or JSON.
pub(crate) fn print_rules(json: bool, lang: Lang) -> std::io::Result<()> {
    let rows = crate::redact::catalogue_in(lang);
    if json {
        return out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        ));
    }
    let (matches, example, becomes) = match lang {
        Lang::En => ("matches:  ", "example:  ", "becomes:  "),
        Lang::Ja => ("対象:     ", "例:       ", "結果:     "),
    };
    for r in rows {
        out(&format!(
            "{}\n  {matches}{}\n  {example}{}\n  {becomes}{}\n\n",
            r.name, r.matches, r.example, r.redacted
        ))?;
    }
    Ok(())
}

fn display_path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The end of a collection: the bundle path on stdout (or the `--json` summary), the closing
/// line and the top findings on stderr.
pub(crate) fn print_result(
    cfg: &CollectConfig,
    bundle: &Path,
    m: &Manifest,
    findings: &[Finding],
    progress: &Progress,
) -> anyhow::Result<()> {
    if cfg.json {
        let value = json!({
            "bundle": display_path(bundle),
            "status": m.status,
            "collectors": m.collectors.iter().map(|c| json!({
                "id": c.id,
                "status": c.status.as_str(),
                "reason": c.reason,
            })).collect::<Vec<_>>(),
            "files": m.files.len() + 1,
            "findings": findings,
        });
        // --json output passes the redactor like everything else that leaves the process.
        let text = progress.redactor().redact_to_json(&value)?;
        out(text.as_str())?;
        return Ok(());
    }
    progress.say(&closing_line(m));
    if !cfg.runs_sign_in() {
        progress.say(&no_sign_in_warning(cfg.lang));
    }
    print_findings(findings, progress, cfg.lang);
    let path = std::path::absolute(bundle).unwrap_or_else(|_| bundle.to_path_buf());
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let traces: Vec<String> = m
        .files
        .iter()
        .filter(|f| !f.redacted)
        .map(|f| f.path.clone())
        .collect();
    let closing = closing_message(
        cfg.lang,
        &display_path(&path),
        size,
        m.status == RunStatus::Interrupted,
        &traces,
    );
    progress.say(&closing);
    // The path on stdout is for scripts; on a terminal the closing message has just shown it
    // (with -q only this line is printed).
    if cfg.quiet || !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        out(&format!("{}\n", display_path(&path)))?;
    }
    Ok(())
}

/// The console verdict's warning for a run that captured no sign-in.
pub(crate) fn no_sign_in_warning(lang: Lang) -> String {
    lang.t(
        "entra-collect: WARNING: No sign-in output captured: re-run with --run az|azps|mg",
        "entra-collect: 警告: サインインの出力は記録されていません。--run az|azps|mg を付けて再実行してください",
    )
}

/// A size as people read it: 812 B, 4.0 KiB, 1.2 MiB, 1.0 GiB.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The closing message, like sosreport's: where the bundle is, how big, what to do with it, a
/// warning when it holds unredacted captures, and how to look inside.
pub(crate) fn closing_message(
    lang: Lang,
    path: &str,
    size: u64,
    partial: bool,
    unredacted: &[String],
) -> String {
    let size = human_size(size);
    let mut lines = vec![
        String::new(),
        match (partial, lang) {
            (false, Lang::En) => "entra-collect: Your diagnostics bundle is ready:".to_string(),
            (true, Lang::En) => {
                "entra-collect: A partial diagnostics bundle (interrupted) was written:".to_string()
            }
            (false, Lang::Ja) => "entra-collect: 診断バンドルを作成しました:".to_string(),
            (true, Lang::Ja) => {
                "entra-collect: 中断されたため、途中までの診断バンドルを作成しました:".to_string()
            }
        },
        format!("  {path} ({size})"),
        lang.t(
            "Attach this file to your support case.",
            "このファイルをサポート ケースに添付してください。",
        ),
    ];
    if !unredacted.is_empty() {
        let list = unredacted.join(", ");
        lines.push(lang.t(
            &format!("WARNING: it contains a network trace that is NOT redacted ({list}); it may hold sensitive data. Share it only with Microsoft support."),
            &format!("警告: このファイルには、マスキングされていないネットワーク トレース ({list}) が含まれています。機密情報が含まれる可能性があるため、Microsoft サポート以外とは共有しないでください。"),
        ));
    }
    // Quoted when a shell would split it (a folder such as "My Documents").
    let arg = if path.contains(|c: char| c.is_whitespace() || "&;|()<>'$`".contains(c)) {
        format!("\"{path}\"")
    } else {
        path.to_string()
    };
    lines.push(lang.t(
        &format!("To look inside: entra-collect inspect {arg}"),
        &format!("内容を確認するには: entra-collect inspect {arg}"),
    ));
    lines.join("\n")
}

/// The `--net-trace` line: captured (which file, how big) or skipped / failed, and why.
pub(crate) fn trace_line(
    progress: &Progress,
    record: &crate::bundle::manifest::CollectorRecord,
    files: &[crate::bundle::manifest::FileRecord],
    lang: Lang,
) {
    let reason = record.reason.as_deref().unwrap_or_default();
    let line = match record.status {
        Status::Ok | Status::Interrupted if !record.entries.is_empty() => {
            let kept: Vec<String> = files
                .iter()
                .filter(|f| record.entries.contains(&f.path))
                .map(|f| format!("{} ({})", f.path, human_size(f.size)))
                .collect();
            lang.t(
                &format!(
                    "entra-collect: network trace captured: {} (not redacted)",
                    kept.join(", ")
                ),
                &format!(
                    "entra-collect: ネットワーク トレースを記録しました: {} (マスキングされていません)",
                    kept.join(", ")
                ),
            )
        }
        Status::Skipped => lang.t(
            &format!("entra-collect: network trace skipped: {reason}"),
            &format!("entra-collect: ネットワーク トレースは記録されませんでした: {reason}"),
        ),
        _ => lang.t(
            &format!("entra-collect: network trace failed: {reason}"),
            &format!("entra-collect: ネットワーク トレースに失敗しました: {reason}"),
        ),
    };
    progress.say(&line);
}

/// "bundle written with N files (counts per status; R values redacted)".
fn closing_line(m: &Manifest) -> String {
    let redactions: u64 = m.files.iter().flat_map(|f| f.redactions.values()).sum();
    let not_ok = m
        .collectors
        .iter()
        .filter(|c| c.status != Status::Ok)
        .count();
    let counts: BTreeMap<&str, usize> = m.collectors.iter().fold(BTreeMap::new(), |mut acc, c| {
        *acc.entry(c.status.as_str()).or_insert(0) += 1;
        acc
    });
    let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    format!(
        "entra-collect: bundle {} with {} files ({}; {} values redacted){}",
        if m.status == RunStatus::Interrupted {
            "(partial, interrupted)"
        } else {
            "written"
        },
        m.files.len() + 1,
        counts.join(", "),
        redactions,
        if not_ok > 0 {
            "; see summary.md for what was skipped"
        } else {
            ""
        }
    )
}

/// The top findings on stderr, most likely cause first; colour only on a terminal without
/// NO_COLOR.
fn print_findings(findings: &[Finding], progress: &Progress, lang: Lang) {
    let colour = crate::os::stderr_is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    if serious.is_empty() {
        progress.say(&lang.t(
            "entra-collect: no problem found in what was collected",
            "entra-collect: 収集した情報からは問題は見つかりませんでした",
        ));
        return;
    }
    progress.say(&lang.t(
        "entra-collect: most likely first:",
        "entra-collect: 可能性の高い順:",
    ));
    for f in serious.iter().take(3) {
        let (code, word) = match f.severity {
            Severity::Error => ("1;31", lang.t("error", "エラー")),
            _ => ("1;33", lang.t("warning", "警告")),
        };
        progress.say(&format!("  {} {} [{}]", paint(code, &word), f.title, f.id));
        if let Some(fix) = f.fix.first() {
            progress.say(&format!("      {} {fix}", lang.t("fix:", "対処:")));
        }
    }
}

/// `entra-collect inspect` could not read the bundle.
pub(crate) fn inspect_error(e: &dyn std::fmt::Display) {
    eprintln!(
        "entra-collect: error: {}",
        terminal_safe_text(&e.to_string())
    );
}

/// `entra-collect inspect`: the verification and the re-rendered summary (or `--json`).
pub(crate) fn print_inspection(bundle: &Path, r: &Inspected, json_out: bool, lang: Lang) {
    let redactor = Redactor::new();
    let v = &r.verification;
    if json_out {
        let m = r.manifest.as_ref();
        let value = json!({
            "bundle": display_path(bundle),
            "verification": v,
            "created_at": m.map(|m| &m.created_at),
            "tool": m.map(|m| &m.tool),
            "status": m.map(|m| &m.status),
            "unreadable": r.unreadable().iter().map(|u| json!({
                "entry": u.entry,
                "error": u.error,
            })).collect::<Vec<_>>(),
            "findings": r.findings,
        });
        // JSON escapes C0 controls itself; DEL, C1 and bidi controls become \uXXXX escapes.
        match redactor.redact_to_json(&value) {
            Ok(t) => print!("{}", json_terminal_safe(t.as_str())),
            Err(e) => eprintln!("entra-collect: error: {e}"),
        }
    } else {
        // Everything from the bundle is escaped: fields one by one (newlines too), then the page.
        let (mut manifest, findings) = r.terminal_safe_parts();
        // Re-render with this version's findings; the manifest's own file list is kept.
        if let Some(m) = &mut manifest {
            m.files.retain(|f| f.path != "summary.md");
        }
        let page = crate::report::summary_md(manifest.as_ref(), &r.bundle, &findings, lang);
        let mut head = v.headline(lang);
        // One line each: a reason can quote the entry's own text, newlines included.
        for u in r.unreadable() {
            let (entry, error) = (terminal_safe(&u.entry), terminal_safe(&u.error));
            head.push_str(&lang.t(
                &format!("\ncould not read: {entry} ({error})"),
                &format!("\n読み取れませんでした: {entry} ({error})"),
            ));
        }
        let out = redactor.redact(&format!("{head}\n\n{page}"));
        print!("{}", terminal_safe_text(out.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(4096), "4.0 KiB");
        assert_eq!(human_size(1_258_291), "1.2 MiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }

    #[test]
    fn closing_message_en() {
        let path = "/home/user/entra-collect-host-20260101T000000Z.zip";
        insta::assert_snapshot!(
            "closing_en",
            closing_message(Lang::En, path, 1_258_291, false, &[])
        );
        insta::assert_snapshot!(
            "closing_en_trace_partial",
            closing_message(Lang::En, path, 9_300, true, &["trace/trace.pcap".into()])
        );
    }

    #[test]
    fn closing_message_ja() {
        let path = "/home/user/entra-collect-host-20260101T000000Z.zip";
        insta::assert_snapshot!(
            "closing_ja",
            closing_message(Lang::Ja, path, 1_258_291, false, &[])
        );
        insta::assert_snapshot!(
            "closing_ja_trace_partial",
            closing_message(Lang::Ja, path, 9_300, true, &["trace/trace.pcap".into()])
        );
    }

    #[test]
    fn a_path_with_spaces_is_quoted_in_the_inspect_line() {
        let text = closing_message(Lang::En, "C:\\Users\\Jo Doe\\b.zip", 1, false, &[]);
        assert!(
            text.ends_with("entra-collect inspect \"C:\\Users\\Jo Doe\\b.zip\""),
            "{text}"
        );
    }

    #[test]
    fn no_option_debug_text_in_the_messages() {
        for lang in [Lang::En, Lang::Ja] {
            let text = closing_message(lang, "/x.zip", 1, true, &["trace/a".into()])
                + &no_sign_in_warning(lang);
            assert!(!text.contains("Some(") && !text.contains("None"), "{text}");
        }
    }
}
