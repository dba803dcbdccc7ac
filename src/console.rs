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

/// `entra-collect: <text>` on stderr.
pub(crate) fn note(text: &str) {
    err_line(&format!("entra-collect: {text}"));
}

/// The progress display of a collection.
pub(crate) fn progress(cfg: &CollectConfig, redactor: Arc<Redactor>) -> Progress {
    // Spinners would garble the live output of an interactive sign-in.
    let spinners = crate::os::stderr_is_terminal() && cfg.debug_run.is_none();
    let progress = Progress::new(cfg.quiet, spinners, redactor);
    if cfg.debug_run.is_some() {
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
    print_findings(findings, progress, cfg.lang);
    out(&format!("{}\n", display_path(bundle)))?;
    Ok(())
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
