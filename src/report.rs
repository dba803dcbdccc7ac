//! `summary.md`: the human-readable page of a bundle. It is rendered from the manifest and the
//! bundle's own (already redacted) entries, read through the typed model, so the same page can
//! be rebuilt from a bundle. Each section of the page is one function.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, FixedOffset};

use crate::analyze::{Finding, Severity};
use crate::model::{Bundle, Manifest, RunStatus, Status, TenantComparison, names};
use crate::vocab::Lang;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// One row of the versions table: tool, version, details.
pub fn version_rows(b: &Bundle) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    if let Some(az) = &b.versions_az {
        let mut details = Vec::new();
        if let Some(msal) = az.msal.as_deref().filter(|v| !v.is_empty()) {
            details.push(format!("msal {msal}"));
        }
        if let Some(py) = az.python_version.as_deref().filter(|v| !v.is_empty()) {
            details.push(format!("Python {py}"));
        }
        if let Some(ext) = az.extensions.as_ref().filter(|e| !e.is_empty()) {
            let list: Vec<String> = ext.iter().map(|(k, v)| format!("{k} {v}")).collect();
            details.push(format!("extensions: {}", list.join(", ")));
        }
        rows.push((
            "Azure CLI (az)".into(),
            az.azure_cli.clone().unwrap_or_default(),
            details.join("; "),
        ));
    }
    for label in [names::PWSH, names::WINDOWS_POWERSHELL] {
        let Some(ps) = b.powershell.get(label) else {
            continue;
        };
        let name = if label == names::PWSH {
            "PowerShell 7+ (pwsh)"
        } else {
            "Windows PowerShell"
        };
        rows.push((
            name.into(),
            ps.ps_version.clone().unwrap_or_default(),
            ps.dotnet_runtime.clone().unwrap_or_default(),
        ));
        for m in &ps.modules {
            let mut v = m.version.clone().unwrap_or_default();
            if let Some(pre) = m.prerelease.as_deref().filter(|p| !p.is_empty()) {
                v = format!("{v}-{pre}");
            }
            rows.push((
                format!("  {} ({label})", m.name.as_deref().unwrap_or("?")),
                v,
                m.path.clone().unwrap_or_default(),
            ));
        }
    }
    rows
}

/// The note for a run through sudo: what was collected is root's, not the invoking user's.
/// Inserted after the summary's status paragraph.
pub fn with_sudo_note(summary: &str, user: &str, lang: Lang) -> String {
    let note = lang.t(
        &format!(
            "> Run through sudo by `{user}`: the sign-in contexts, token cache metadata and tool configuration in this bundle are root's, not `{user}`'s. To diagnose `{user}`'s own sign-in, run entra-collect again as `{user}` without sudo (only `--net-trace` needs root). The bundle file was given to `{user}`.\n"
        ),
        &format!(
            "> `{user}` が sudo で実行しました: このバンドルのサインイン コンテキスト、トークン キャッシュのメタデータ、ツールの設定は root のもので、`{user}` のものではありません。`{user}` 自身のサインインを調べるには、sudo なしで `{user}` として再実行してください (root が必要なのは `--net-trace` だけです)。バンドル ファイルの所有者は `{user}` に変更されています。\n"
        ),
    );
    // After the title and the "Created ... Status" paragraph.
    let mut at = 0;
    for _ in 0..2 {
        match summary[at..].find("\n\n") {
            Some(k) => at += k + 2,
            None => return format!("{summary}\n{note}"),
        }
    }
    format!("{}{note}\n{}", &summary[..at], &summary[at..])
}

/// Render summary.md. `manifest.files` lists the entries written before this page. Without a
/// manifest (`inspect` of a bundle whose manifest.json this version cannot read), the sections
/// drawn from it are left out and the page says so. Every word of the page is in `lang`: the
/// English page has English headings only.
pub fn summary_md(
    manifest: Option<&Manifest>,
    bundle: &Bundle,
    findings: &[Finding],
    lang: Lang,
) -> String {
    let mut s = String::new();
    title_section(&mut s, manifest, lang);
    if let Some(m) = manifest {
        sign_in_section(&mut s, m, bundle, lang);
    }
    timeline_section(&mut s, bundle, lang);
    verdict_section(&mut s, findings, lang);
    if let Some(m) = manifest {
        collectors_section(&mut s, m, lang);
        contents_section(&mut s, m, lang);
        host_section(&mut s, m, lang);
    }
    versions_section(&mut s, bundle, lang);
    contexts_section(&mut s, bundle, lang);
    if let Some(m) = manifest {
        redaction_section(&mut s, m, lang);
    }
    sign_out_section(&mut s, bundle, lang);
    if let Some(m) = manifest {
        capture_warning(&mut s, m, lang);
    }
    s
}

/// `+09:00` / `-05:30` as seconds east of UTC.
fn parse_offset(offset: &str) -> Option<FixedOffset> {
    let (sign, rest) = match offset.as_bytes().first()? {
        b'+' => (1, &offset[1..]),
        b'-' => (-1, &offset[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * secs)
}

/// An RFC 3339 time of the manifest shown as the collecting machine's local time with its UTC
/// offset (`2026-11-25 15:04:05 +09:00`), so it matches the tenant's sign-in log as the user
/// reads it. Bundles without `utc_offset` show UTC (`+00:00`); a time that does not parse is
/// shown as written.
pub fn local_time(rfc3339: &str, utc_offset: Option<&str>) -> String {
    let Ok(t) = DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_string();
    };
    let offset = utc_offset
        .and_then(parse_offset)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero is a valid offset"));
    t.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// `local_time` of `rfc3339` plus `ms` milliseconds.
fn local_time_after(rfc3339: &str, ms: u64, utc_offset: Option<&str>) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(rfc3339).ok()?;
    let end = t + chrono::Duration::milliseconds(i64::try_from(ms).ok()?);
    Some(local_time(&end.to_rfc3339(), utc_offset))
}

fn run_status(status: RunStatus, lang: Lang) -> String {
    match status {
        RunStatus::Complete => lang.t("complete", "完了"),
        RunStatus::Interrupted => lang.t("interrupted", "中断"),
    }
}

fn collector_status(status: Status, lang: Lang) -> String {
    match status {
        Status::Ok => lang.t("ok", "成功"),
        Status::Skipped => lang.t("skipped", "スキップ"),
        Status::Failed => lang.t("failed", "失敗"),
        Status::TimedOut => lang.t("timed out", "タイムアウト"),
        Status::Interrupted => lang.t("interrupted", "中断"),
    }
}

/// The title, who wrote the bundle when, and its status; the warning that no sign-in ran
/// comes first, as it decides whether the bundle can explain the failure at all.
fn title_section(s: &mut String, manifest: Option<&Manifest>, lang: Lang) {
    let _ = writeln!(
        s,
        "# {}\n",
        lang.t(
            "entra-collect bundle summary",
            "entra-collect 収集結果の概要"
        )
    );
    let Some(m) = manifest else {
        let _ = writeln!(
            s,
            "{}\n",
            lang.t(
                "manifest.json could not be read by this version of entra-collect: the host, collectors and contents are not shown.",
                "このバージョンの entra-collect では manifest.json を読み取れません。ホスト、収集項目、内容は表示されません。"
            )
        );
        return;
    };
    if !m.collectors.iter().any(|c| c.id == DEBUG_RUN) {
        let _ = writeln!(
            s,
            "> **{}**\n",
            lang.t(
                "Warning: No sign-in output captured: re-run with `--run az|azps|mg` (or `-- <your sign-in command>`) so the bundle holds the failing sign-in.",
                "警告: サインインの出力は記録されていません。失敗するサインインを記録するため、`--run az|azps|mg` (または `-- <サインイン コマンド>`) を付けて再実行してください。"
            )
        );
    }
    let created = local_time(&m.created_at, m.utc_offset.as_deref());
    let status = run_status(m.status, lang);
    let _ = writeln!(
        s,
        "{}\n",
        lang.t(
            &format!(
                "Created {created} by {} {}. Status: **{status}**.",
                m.tool.name, m.tool.version
            ),
            &format!(
                "作成日時 {created} ({} {})。状態: **{status}**。",
                m.tool.name, m.tool.version
            ),
        )
    );
    if m.status == RunStatus::Interrupted {
        let _ = writeln!(
            s,
            "> {}\n",
            lang.t(
                "The collection was interrupted: collectors marked `interrupted` did not finish.",
                "収集は中断されました。状態が「中断」の収集項目は完了していません。"
            )
        );
    }
}

/// The id of the collector that runs the sign-in command.
const DEBUG_RUN: &str = "debug.run";

/// The last line of a sign-in log that reads as the error the user saw: az's `ERROR:` line or a
/// PowerShell cmdlet's `Verb-Noun: message` / `Verb-Noun : message`. The header lines are ours.
fn last_error_line(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.starts_with("# "))
        .find(|l| {
            l.starts_with("ERROR") || {
                let head = l.split(':').next().unwrap_or("");
                let head = head.trim_end();
                l.contains(':')
                    && head.contains('-')
                    && !head.contains(' ')
                    && head.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && head
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            }
        })
        .map(|l| l.chars().take(300).collect())
}

/// "The sign-in": the command as run (redacted), start and end in local time, exit code, and
/// the last error line of its log (or the timeline's stop). What a support engineer asks first.
fn sign_in_section(s: &mut String, m: &Manifest, b: &Bundle, lang: Lang) {
    let _ = writeln!(s, "## {}\n", lang.t("The sign-in", "サインイン"));
    let Some(run) = m.collectors.iter().find(|c| c.id == DEBUG_RUN) else {
        let _ = writeln!(
            s,
            "{}\n",
            lang.t(
                "No sign-in command was run (no `--run` and no `-- COMMAND`).",
                "サインイン コマンドは実行されていません (`--run` も `-- コマンド` も指定されていません)。"
            )
        );
        return;
    };
    let offset = m.utc_offset.as_deref();
    let mut at = run.started_at.clone();
    if run.commands.is_empty() {
        let reason = run.reason.as_deref().unwrap_or("");
        let _ = writeln!(
            s,
            "{} ({}){}\n",
            lang.t(
                "The sign-in command did not start",
                "サインイン コマンドは開始されませんでした"
            ),
            collector_status(run.status, lang),
            if reason.is_empty() {
                String::new()
            } else {
                format!(": {}", reason.replace('`', "'"))
            }
        );
    }
    for c in &run.commands {
        let _ = writeln!(
            s,
            "- {}: `{}`",
            lang.t("Command", "コマンド"),
            c.command_line.join(" ").replace('`', "'")
        );
        if let Some(start) = &at {
            let _ = writeln!(
                s,
                "- {}: {}",
                lang.t("Started", "開始"),
                local_time(start, offset)
            );
            let end = local_time_after(start, c.duration_ms, offset);
            if let Some(end) = &end {
                let _ = writeln!(
                    s,
                    "- {}: {end} ({} ms)",
                    lang.t("Ended", "終了"),
                    c.duration_ms
                );
            }
            // The next command of the run starts when this one ended.
            at = DateTime::parse_from_rfc3339(start)
                .ok()
                .map(|t| (t + chrono::Duration::milliseconds(c.duration_ms as i64)).to_rfc3339());
        }
        let exit = match (c.exit_code, c.timed_out, c.interrupted) {
            (_, true, _) => lang.t(
                "none: killed at the timeout",
                "なし (タイムアウトで終了させました)",
            ),
            (_, _, true) => lang.t("none: interrupted", "なし (中断されました)"),
            (Some(code), _, _) => code.to_string(),
            (None, _, _) => lang.t("none: ended by a signal", "なし (シグナルで終了しました)"),
        };
        let _ = writeln!(s, "- {}: {exit}", lang.t("Exit code", "終了コード"));
    }
    for log in run.entries.iter().filter(|e| e.ends_with(".log")) {
        let stop = b
            .requests
            .values()
            .find(|t| &t.log == log)
            .and_then(|t| t.stop.as_ref())
            .map(|st| st.line.clone());
        let text = b
            .debug_logs
            .iter()
            .find(|(name, _)| name == log)
            .map(|(_, t)| t.as_str())
            .unwrap_or("");
        match last_error_line(text).or(stop) {
            Some(line) => {
                let _ = writeln!(
                    s,
                    "- {} (`{log}`): `{}`",
                    lang.t("Last error line", "最後のエラー行"),
                    line.replace('`', "'")
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "- {} (`{log}`)",
                    lang.t("No error line in its log", "ログにエラー行はありません")
                );
            }
        }
    }
    let _ = writeln!(s);
}

/// The machine, from the manifest.
fn host_section(s: &mut String, m: &Manifest, lang: Lang) {
    let _ = writeln!(
        s,
        "\n## {}\n\n| {} | {} |\n|---|---|",
        lang.t("Host", "ホスト"),
        lang.t("item", "項目"),
        lang.t("value", "値")
    );
    let offset = m
        .utc_offset
        .clone()
        .unwrap_or_else(|| lang.t("not recorded (times in UTC)", "記録なし (時刻は UTC)"));
    for (k, v) in [
        (lang.t("host name", "ホスト名"), &m.host.hostname),
        (lang.t("OS", "OS 名"), &m.host.os),
        (lang.t("OS version", "OS バージョン"), &m.host.os_version),
        (lang.t("kernel", "カーネル"), &m.host.kernel),
        (lang.t("architecture", "アーキテクチャ"), &m.host.arch),
        (
            lang.t("platform logic", "適用した OS 別の処理"),
            &m.host.platform,
        ),
        (lang.t("UTC offset", "UTC からの時差"), &offset),
    ] {
        let _ = writeln!(s, "| {k} | {} |", cell(v));
    }
}

/// Azure CLI and each PowerShell with its sign-in modules.
fn versions_section(s: &mut String, b: &Bundle, lang: Lang) {
    let _ = writeln!(
        s,
        "\n## {}\n",
        lang.t("Versions found", "検出したバージョン")
    );
    let rows = version_rows(b);
    if rows.is_empty() {
        let _ = writeln!(
            s,
            "{}",
            lang.t(
                "No Azure CLI and no PowerShell was found.",
                "Azure CLI も PowerShell も見つかりませんでした。"
            )
        );
    } else {
        let _ = writeln!(
            s,
            "| {} | {} | {} |\n|---|---|---|",
            lang.t("tool", "ツール"),
            lang.t("version", "バージョン"),
            lang.t("details", "詳細")
        );
        for (t, v, d) in rows {
            let d = if lang == Lang::Ja {
                d.replace("extensions: ", "拡張機能: ")
            } else {
                d
            };
            let _ = writeln!(s, "| {} | {} | {} |", cell(&t), cell(&v), cell(&d));
        }
    }
}

/// Each collector's status and time, and how many did not complete.
fn collectors_section(s: &mut String, m: &Manifest, lang: Lang) {
    let _ = writeln!(
        s,
        "## {}\n\n| {} | {} | {} | {} |\n|---|---|---|---|",
        lang.t("Collectors", "収集項目"),
        lang.t("collector", "収集項目"),
        lang.t("status", "状態"),
        lang.t("time", "所要時間"),
        lang.t("note", "備考"),
    );
    for c in &m.collectors {
        let _ = writeln!(
            s,
            "| {} | {} | {} ms | {} |",
            c.id,
            collector_status(c.status, lang),
            c.duration_ms,
            cell(c.reason.as_deref().unwrap_or(""))
        );
    }
    let problems = m
        .collectors
        .iter()
        .filter(|c| c.status != Status::Ok)
        .count();
    if problems > 0 {
        let _ = writeln!(
            s,
            "\n{}",
            lang.t(
                &format!(
                    "{problems} collector(s) were skipped or did not complete; see the note column."
                ),
                &format!(
                    "{problems} 件の収集項目がスキップされたか完了しませんでした。備考の列を確認してください。"
                ),
            )
        );
    }
}

/// Every entry with its size and replacements.
fn contents_section(s: &mut String, m: &Manifest, lang: Lang) {
    let _ = writeln!(
        s,
        "\n## {}\n\n| {} | {} | {} | {} |\n|---|---|---|---|",
        lang.t("Contents", "内容"),
        lang.t("file", "ファイル"),
        lang.t("bytes", "バイト数"),
        lang.t("redacted", "マスキング"),
        lang.t("replacements", "置換数"),
    );
    let yes = lang.t("yes", "済み");
    for f in &m.files {
        let n: u64 = f.redactions.values().sum();
        let red = if f.redacted {
            yes.clone()
        } else {
            lang.t("**no (binary capture)**", "**なし (バイナリ キャプチャ)**")
        };
        let _ = writeln!(s, "| {} | {} | {} | {} |", cell(&f.path), f.size, red, n);
    }
    let _ = writeln!(
        s,
        "| summary.md | | {yes} | |\n| manifest.json | | {yes} | |"
    );
}

/// The replacements of every entry, per redaction rule: secrets become `[REDACTED:<rule>]`
/// markers, `--mask-pii` / `--mask-host` values stable pseudonyms (`pii-...`), said apart.
fn redaction_section(s: &mut String, m: &Manifest, lang: Lang) {
    let mut secrets: BTreeMap<&str, u64> = BTreeMap::new();
    let mut pii: BTreeMap<&str, u64> = BTreeMap::new();
    for (rule, c) in m.files.iter().flat_map(|f| &f.redactions) {
        let into = if rule.starts_with("pii-") {
            &mut pii
        } else {
            &mut secrets
        };
        *into.entry(rule).or_insert(0) += c;
    }
    let list = |m: &BTreeMap<&str, u64>| {
        m.iter()
            .map(|(r, c)| format!("{r}: {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "\n## {}\n", lang.t("Redaction", "マスキング"));
    if secrets.is_empty() {
        let _ = writeln!(
            s,
            "{}",
            lang.t(
                "No secrets were found to remove.",
                "削除が必要なシークレットは見つかりませんでした。"
            )
        );
    } else {
        let n = secrets.values().sum::<u64>();
        let _ = writeln!(
            s,
            "{}",
            lang.t(
                &format!(
                    "{n} value(s) were replaced by `[REDACTED:<rule>]` markers ({}).",
                    list(&secrets)
                ),
                &format!(
                    "{n} 個の値を `[REDACTED:<rule>]` マーカーに置き換えました ({})。",
                    list(&secrets)
                ),
            )
        );
    }
    // What the pseudonyms stand for, rule by rule, as far as they were used.
    let mut what: Vec<String> = Vec::new();
    for (rule, en, ja) in [
        (
            "pii-email",
            "e-mail addresses and UPNs as `pii-user-N@domain`",
            "メール アドレスと UPN → `pii-user-N@ドメイン`",
        ),
        (
            "pii-path-user",
            "user names in home-directory paths as `pii-user-N`",
            "ホーム ディレクトリのパス中のユーザー名 → `pii-user-N`",
        ),
        (
            "pii-host",
            "the host name as `pii-host-1`",
            "ホスト名 → `pii-host-1`",
        ),
    ] {
        if let Some(n) = pii.get(rule) {
            what.push(lang.t(&format!("{en} ({n})"), &format!("{ja} ({n} 個)")));
        }
    }
    if !what.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            lang.t(
                &format!(
                    "Personal data was replaced by stable pseudonyms (the same value has the same pseudonym everywhere in the bundle): {}.",
                    what.join("; ")
                ),
                &format!(
                    "個人情報を固定の仮名に置き換えました (同じ値はバンドル全体で同じ仮名になります): {}。",
                    what.join("、")
                ),
            )
        );
    }
    // Asked for but nothing found: say so, or the reader may think the option was ignored.
    let asked = |flag: &str| m.invocation.args.iter().any(|a| a == flag);
    if asked("--mask-pii") && !pii.contains_key("pii-email") && !pii.contains_key("pii-path-user") {
        let _ = writeln!(
            s,
            "\n{}",
            lang.t(
                "--mask-pii was given: no e-mail address, UPN or home-directory path was found.",
                "--mask-pii が指定されましたが、メール アドレス、UPN、ホーム ディレクトリのパスは見つかりませんでした。"
            )
        );
    }
}

/// The closing warning when the bundle holds binary captures the redactor could not read.
fn capture_warning(s: &mut String, m: &Manifest, lang: Lang) {
    let unredacted = m.files.iter().filter(|f| !f.redacted).count();
    if unredacted > 0 {
        let _ = writeln!(
            s,
            "\n{}",
            lang.t(
                &format!(
                    "**Warning:** {unredacted} file(s) are binary captures that could not be redacted and may contain sensitive data."
                ),
                &format!(
                    "**警告:** {unredacted} 個のファイルはマスキングできないバイナリ キャプチャで、機密情報を含む可能性があります。"
                ),
            )
        );
    }
}

fn comparison(c: Option<TenantComparison>, lang: Lang) -> String {
    match c {
        None => String::new(),
        Some(TenantComparison::Match) => lang.t("match", "一致"),
        Some(TenantComparison::Mismatch) => lang.t("mismatch", "不一致"),
        Some(TenantComparison::Unknown) => lang.t("unknown", "不明"),
    }
}

/// Who is signed in where, per tool: tool, account, tenant, subscription / type, comparison.
fn context_rows(b: &Bundle, lang: Lang) -> Vec<[String; 5]> {
    let mut rows: Vec<[String; 5]> = Vec::new();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    if let Some(az) = &b.az_context {
        for sub in az.subscriptions.iter().flatten() {
            let default = if sub.is_default == Some(true) {
                lang.t(" (default)", " (既定)")
            } else {
                String::new()
            };
            rows.push([
                "Azure CLI".into(),
                text(&sub.user_name),
                text(&sub.tenant_id),
                format!("{}{default}", text(&sub.name)),
                comparison(sub.tenant_comparison, lang),
            ]);
        }
    }
    for (shell, file) in &b.azps_contexts {
        for c in &file.contexts {
            let current = if c.is_current == Some(true) {
                lang.t(" (current)", " (現在)")
            } else {
                String::new()
            };
            rows.push([
                format!("Azure PowerShell ({shell})"),
                text(&c.account_id),
                text(&c.tenant_id),
                format!("{}{current}", text(&c.subscription_name)),
                comparison(c.tenant_comparison, lang),
            ]);
        }
    }
    rows
}

/// Who is signed in where, per tool.
fn contexts_section(s: &mut String, b: &Bundle, lang: Lang) {
    let rows = context_rows(b, lang);
    let _ = writeln!(
        s,
        "\n## {}\n",
        lang.t("Sign-in contexts", "サインイン コンテキスト")
    );
    if rows.is_empty() {
        let _ = writeln!(
            s,
            "{}",
            lang.t(
                "No cached sign-in context was found.",
                "キャッシュされたサインイン コンテキストは見つかりませんでした。"
            )
        );
        return;
    }
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} |\n|---|---|---|---|---|",
        lang.t("tool", "ツール"),
        lang.t("account", "アカウント"),
        lang.t("tenant", "テナント"),
        lang.t("subscription / type", "サブスクリプション / 種類"),
        lang.t("matches --tenant", "--tenant との一致"),
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            cell(&r[0]),
            cell(&r[1]),
            cell(&r[2]),
            cell(&r[3]),
            cell(&r[4])
        );
    }
}

/// How to clear each tool's cache and sign out. entra-collect never does it itself.
fn sign_out_section(s: &mut String, b: &Bundle, lang: Lang) {
    let present = b.caches.as_ref().map_or(0, |c| c.present);
    let _ = writeln!(
        s,
        "\n## {}\n\n{}\n\n| {} | {} | {} |\n|---|---|---|\n\
| Azure CLI | `az account clear` | `az logout` |\n\
| Azure PowerShell | `Clear-AzContext -Force` | `Disconnect-AzAccount` |\n\
| Microsoft Graph PowerShell | {} | `Disconnect-MgGraph` |",
        lang.t(
            "Signing out and clearing caches",
            "サインアウトとキャッシュのクリア"
        ),
        lang.t(
            &format!(
                "{present} token cache file(s) are present (listed in context/caches.json, never read). \
A stale cache or context from earlier sessions can make sign-in behave oddly; when you are done \
troubleshooting, clear it and sign out (entra-collect never does this itself):"
            ),
            &format!(
                "トークン キャッシュ ファイルが {present} 個あります (context/caches.json に一覧があります。内容は読み取っていません)。\
以前のセッションの古いキャッシュやコンテキストが原因でサインインが正しく動作しないことがあります。\
トラブルシューティングが終わったら、キャッシュをクリアしてサインアウトしてください (entra-collect はこれを行いません):"
            ),
        ),
        lang.t("tool", "ツール"),
        lang.t("clear the cache", "キャッシュのクリア"),
        lang.t("sign out", "サインアウト"),
        lang.t(
            "none (check with `Get-MgContext`)",
            "なし (`Get-MgContext` で確認してください)"
        ),
    );
}

/// Most rows of the "What the sign-in did" table.
const TIMELINE_ROWS: usize = 30;

/// "What the sign-in did": each timeline's requests (request, status, time), the one where the
/// sign-in stopped marked, before the verdict whose evidence it explains. Absent when the
/// bundle has no timeline (no sign-in ran).
fn timeline_section(s: &mut String, b: &Bundle, lang: Lang) {
    if b.requests.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "## {}\n",
        lang.t("What the sign-in did", "サインインの通信")
    );
    for (name, t) in &b.requests {
        let stop = t.stop.as_ref().and_then(|st| st.request);
        if t.requests.is_empty() {
            let _ = writeln!(
                s,
                "{}\n",
                lang.t(
                    &format!("No HTTP request was found in `{}`.", t.log),
                    &format!("`{}` に HTTP 要求は見つかりませんでした。", t.log),
                )
            );
        } else {
            // The first rows, and the stop when it lies beyond them.
            let mut shown: Vec<usize> = (0..t.requests.len().min(TIMELINE_ROWS)).collect();
            if let Some(i) = stop.filter(|i| *i >= TIMELINE_ROWS && *i < t.requests.len()) {
                shown.pop();
                shown.push(i);
            }
            let _ = writeln!(
                s,
                "{} (`{name}`)\n\n| # | {} | {} | {} |\n|---|---|---|---|",
                lang.t("From", "出典"),
                lang.t("request", "要求"),
                lang.t("status", "状態"),
                lang.t("time", "時間"),
            );
            for &i in &shown {
                let r = &t.requests[i];
                let status = match (r.status, &r.error) {
                    (Some(code), _) => code.to_string(),
                    (None, Some(e)) => e.clone(),
                    (None, None) => lang.t("no response", "応答なし"),
                };
                let mark = if stop == Some(i) {
                    lang.t(" **← the sign-in stopped here**", " **← ここで停止**")
                } else if r.failed {
                    " ✗".to_string()
                } else {
                    String::new()
                };
                let _ = writeln!(
                    s,
                    "| {} | {} {} | {}{mark} | {} |",
                    r.seq,
                    r.method.as_deref().unwrap_or("?"),
                    cell(&r.url),
                    cell(&status),
                    r.duration_ms.map_or(String::new(), |d| format!("{d} ms")),
                );
            }
            let left_out = t.requests.len() - shown.len();
            if left_out > 0 {
                let _ = writeln!(
                    s,
                    "\n{}",
                    lang.t(
                        &format!("{left_out} more request(s) are not shown; all are in `{name}`."),
                        &format!(
                            "ほかに {left_out} 件の要求があります (すべて `{name}` にあります)。"
                        ),
                    )
                );
            }
            let _ = writeln!(s);
        }
        if let Some(st) = t.stop.as_ref().filter(|st| st.request.is_none()) {
            let _ = writeln!(
                s,
                "{}: `{}`\n",
                lang.t("It stopped at", "停止した箇所"),
                st.line.replace('`', "'")
            );
        }
    }
}

/// The verdict: the findings, most likely cause first, each with its fix.
fn verdict_section(s: &mut String, findings: &[Finding], lang: Lang) {
    let _ = writeln!(s, "## {}\n", lang.t("Verdict", "診断結果"));
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    if serious.is_empty() {
        let _ = writeln!(
            s,
            "{}\n",
            lang.t(
                "No problem was found in what was collected. If sign-in still fails, check the tenant's sign-in log, update the tool, and look at its GitHub issues.",
                "収集した情報からは問題が見つかりませんでした。サインインが失敗し続ける場合は、テナントのサインイン ログを確認し、ツールを更新し、GitHub の issue を確認してください。"
            )
        );
    }
    for (i, f) in findings.iter().enumerate() {
        let sev = match f.severity {
            Severity::Error => lang.t("error", "エラー"),
            Severity::Warning => lang.t("warning", "警告"),
            Severity::Info => lang.t("info", "情報"),
        };
        let _ = writeln!(
            s,
            "### {}. [{sev}] {} (`{}`)\n\n{}\n",
            i + 1,
            f.title,
            f.id,
            f.detail
        );
        for e in f.evidence.iter().take(3) {
            let _ = writeln!(s, "- {}: `{}`", e.file, e.excerpt.replace('`', "'"));
        }
        if !f.fix.is_empty() {
            let _ = writeln!(s, "\n{}", lang.t("Fix:", "対処:"));
            for (n, step) in f.fix.iter().enumerate() {
                let _ = writeln!(s, "{}. {step}", n + 1);
            }
        }
        let _ = writeln!(s, "\n{}: {}\n", lang.t("More", "参考"), f.docs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::tests::{collector, healthy, intercepted, log};
    use crate::analyze::{Model, analyze};
    use crate::model::{ErrorKind, Host, Invocation, Tool};

    fn manifest(collectors: Vec<crate::model::CollectorRecord>) -> Manifest {
        Manifest {
            schema_version: 1,
            tool: Tool {
                name: "entra-collect".into(),
                version: "0.1.0".into(),
            },
            created_at: "2026-11-25T06:00:00.000Z".into(),
            finished_at: "2026-11-25T06:00:01.000Z".into(),
            utc_offset: Some("+09:00".into()),
            status: RunStatus::Complete,
            host: Host {
                hostname: "PC01".into(),
                os: "Windows".into(),
                os_version: "11 (26100)".into(),
                kernel: "26100".into(),
                arch: "x86_64".into(),
                platform: "windows".into(),
            },
            invocation: Invocation {
                args: vec![String::from("--run"), String::from("az")],
                timeout_secs: 60,
            },
            collectors,
            files: vec![],
        }
    }

    /// A `debug.run` record as a real `--run az` run writes it.
    fn debug_run() -> crate::model::CollectorRecord {
        let mut c = collector("debug.run", Status::Ok, Some(1));
        c.started_at = Some("2026-11-25T06:00:00.250Z".into());
        c.duration_ms = 4_321;
        c.entries = vec!["debug/az-login.log".into()];
        c.commands[0].command_line = "az login --debug --tenant contoso.onmicrosoft.com"
            .split(' ')
            .map(String::from)
            .collect();
        c.commands[0].duration_ms = 4_321;
        c
    }

    const SSL_ERROR: &str = "ERROR: HTTPSConnectionPool(host='login.microsoftonline.com', port=443): [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate";

    /// A bundle with findings, a sign-in, entries with secrets and pseudonyms, a skipped
    /// collector: every section of the page has something to say.
    fn rich() -> (Manifest, Bundle) {
        let bundle = log(
            Bundle {
                probes: intercepted(ErrorKind::TlsUntrusted),
                ..healthy()
            },
            &format!("# command: az login --debug\nDEBUG: cli.knack: x\n{SSL_ERROR}\n"),
        );
        let mut m = manifest(vec![
            debug_run(),
            collector("versions.az", Status::Ok, None),
        ]);
        m.files = vec![crate::model::FileRecord {
            path: "debug/az-login.log".into(),
            size: 1234,
            sha256: String::new(),
            redacted: true,
            truncated: false,
            redactions: [("oauth-field".to_string(), 2), ("pii-email".to_string(), 1)]
                .into_iter()
                .collect(),
            compression: None,
            compressed_size: None,
        }];
        (m, bundle)
    }

    /// The whole page for a bundle with findings (the fixtures are the findings tests' own).
    #[test]
    fn golden_summary() {
        let (m, bundle) = rich();
        let model = Model {
            bundle: &bundle,
            collectors: &m.collectors,
        };
        let findings = analyze(&model, Lang::En);
        insta::assert_snapshot!(
            "summary_en",
            summary_md(Some(&m), &bundle, &findings, Lang::En)
        );
        let ja = analyze(&model, Lang::Ja);
        insta::assert_snapshot!("summary_ja", summary_md(Some(&m), &bundle, &ja, Lang::Ja));
    }

    /// The page's first section, "The sign-in", in both languages: the command as run, local
    /// start and end with the offset, the exit code, the last error line of its log.
    #[test]
    fn sign_in_section_snapshots() {
        let (m, bundle) = rich();
        for (lang, name) in [(Lang::En, "sign_in_en"), (Lang::Ja, "sign_in_ja")] {
            let mut s = String::new();
            sign_in_section(&mut s, &m, &bundle, lang);
            assert!(s.contains("2026-11-25 15:00:00 +09:00"), "{s}");
            assert!(s.contains("2026-11-25 15:00:04 +09:00"), "{s}");
            assert!(s.contains(SSL_ERROR), "{s}");
            insta::assert_snapshot!(name, s);
        }
        let page = summary_md(Some(&m), &bundle, &[], Lang::En);
        let order: Vec<usize> = [
            "## The sign-in",
            "## Verdict",
            "## Collectors",
            "## Contents",
            "## Host",
        ]
        .iter()
        .map(|h| page.find(h).unwrap_or_else(|| panic!("{h} in:\n{page}")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{page}");
        assert!(
            page.contains("Created 2026-11-25 15:00:00 +09:00 by"),
            "{page}"
        );
    }

    /// Times: local with the offset; a bundle without one shows UTC; garbage stays as written.
    #[test]
    fn local_times() {
        let t = "2026-11-25T06:04:05.000Z";
        assert_eq!(local_time(t, Some("+09:00")), "2026-11-25 15:04:05 +09:00");
        assert_eq!(local_time(t, Some("-05:30")), "2026-11-25 00:34:05 -05:30");
        assert_eq!(local_time(t, None), "2026-11-25 06:04:05 +00:00");
        assert_eq!(local_time(t, Some("JST")), "2026-11-25 06:04:05 +00:00");
        assert_eq!(local_time("yesterday", Some("+09:00")), "yesterday");
    }

    /// No `debug.run`: the page opens with the warning, in the run's language.
    #[test]
    fn without_a_sign_in_the_page_opens_with_the_warning() {
        let m = manifest(vec![collector("versions.az", Status::Ok, None)]);
        let en = summary_md(Some(&m), &healthy(), &[], Lang::En);
        let first = en.lines().find(|l| l.starts_with('>')).unwrap_or("");
        assert!(
            en.find("No sign-in output captured") < en.find("Created "),
            "{en}"
        );
        assert!(first.contains("`--run az|azps|mg`"), "{en}");
        let ja = summary_md(Some(&m), &healthy(), &[], Lang::Ja);
        assert!(ja.contains("サインインの出力は記録されていません"), "{ja}");
        let (m, b) = rich();
        assert!(!summary_md(Some(&m), &b, &[], Lang::En).contains("No sign-in output captured"));
    }

    /// A line of the Japanese page with English prose left in it: its words once code spans,
    /// URLs, paths, ids, versions and known product names are taken out.
    fn english_left(line: &str) -> Option<String> {
        let mut t = String::new();
        let mut code = false;
        for ch in line.chars() {
            if ch == '`' {
                code = !code;
            } else if !code {
                t.push(ch);
            }
        }
        const NAMES: &[&str] = &[
            "Azure",
            "CLI",
            "az",
            "PowerShell",
            "Windows",
            "Microsoft",
            "Graph",
            "pwsh",
            "Az.Accounts",
            "Microsoft.Graph.Authentication",
            "OS",
            "UTC",
            "entra-collect",
            "TLS",
            "SSL",
            "CA",
            "Fiddler",
            "Base64",
            "PEM",
            "Entra",
            "ID",
            "MFA",
            "REQUESTS_CA_BUNDLE",
            "CERTIFICATE_VERIFY_FAILED",
            "GitHub",
            "issue",
            "x86_64",
            "ms",
            "Python",
            "msal",
            "Contoso",
            "Inspection",
            "CN",
            "Root",
            "DigiCert",
            "Global",
            "G2",
            "sudo",
            "root",
            "setx",
            "IT",
            "UPN",
            "windows",
            "linux",
            "macos",
        ];
        let english: Vec<&str> = t
            .split(|c: char| !(c.is_ascii_alphanumeric() || "._-/\\:@=#".contains(c)))
            .filter(|w| w.chars().filter(char::is_ascii_alphabetic).count() > 1)
            .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic() || c == '\''))
            .filter(|w| !NAMES.contains(w))
            .collect();
        (!english.is_empty()).then(|| english.join(" "))
    }

    /// Every prose word of a rich Japanese page is Japanese (code, ids, paths, URLs, product
    /// names aside), and the English page has no Japanese at all.
    #[test]
    fn the_japanese_page_is_japanese_all_the_way() {
        let (m, bundle) = rich();
        let model = Model {
            bundle: &bundle,
            collectors: &m.collectors,
        };
        let page = summary_md(Some(&m), &bundle, &analyze(&model, Lang::Ja), Lang::Ja);
        let page = with_sudo_note(&page, "alice", Lang::Ja);
        let left: Vec<String> = page
            .lines()
            .filter(|l| !l.starts_with("|---"))
            .filter_map(|l| english_left(l).map(|w| format!("{w}  <=  {l}")))
            .collect();
        assert!(
            left.is_empty(),
            "English left in the Japanese page:\n{}",
            left.join("\n")
        );
        let en = summary_md(Some(&m), &bundle, &analyze(&model, Lang::En), Lang::En);
        let en = with_sudo_note(&en, "alice", Lang::En);
        assert!(
            en.is_ascii() || !en.chars().any(|c| ('\u{3040}'..='\u{9fff}').contains(&c)),
            "{en}"
        );
    }

    /// Without a readable manifest the page says so and keeps what the entries tell.
    #[test]
    fn a_page_without_a_manifest_keeps_the_entries_sections() {
        let page = summary_md(None, &healthy(), &[], Lang::En);
        assert!(page.contains("manifest.json could not be read by this version"));
        assert!(page.contains("| Azure CLI (az) | 2.91.0 |"));
        assert!(page.contains("| Azure CLI | alice@contoso.com | t1 |"));
        for absent in "Host Collectors Contents Redaction".split(' ') {
            let absent = format!("## {absent}");
            assert!(!page.contains(&absent), "{absent} in:\n{page}");
        }
    }

    /// The table keeps at most 30 rows, keeps the stop when it lies beyond them, marks it,
    /// and says how many rows were left out; an error-line stop is quoted.
    #[test]
    fn timeline_table_is_capped_and_marks_the_stop() {
        use crate::model::{Request, Requests, Stop};
        let requests: Vec<Request> = (1..=40)
            .map(|n| Request {
                seq: n,
                line: n,
                method: Some("GET".into()),
                url: format!("https://h/r{n}"),
                status: Some(if n == 35 { 502 } else { 200 }),
                failed: n == 35,
                duration_ms: (n == 1).then_some(12),
                ..Request::default()
            })
            .collect();
        let mut b = healthy();
        b.requests.insert(
            "debug/az-login.requests.json".into(),
            Requests {
                log: "debug/az-login.log".into(),
                formats: vec!["az".into()],
                requests,
                stop: Some(Stop {
                    request: Some(34),
                    line: "GET https://h/r35 -> 502".into(),
                }),
            },
        );
        b.requests.insert(
            "debug/connect-mggraph.requests.json".into(),
            Requests {
                log: "debug/connect-mggraph.log".into(),
                stop: Some(Stop {
                    request: None,
                    line: "Connect-MgGraph: `InteractiveBrowserCredential` failed".into(),
                }),
                ..Requests::default()
            },
        );
        let page = summary_md(None, &b, &[], Lang::En);
        let section =
            &page[page.find("## What the sign-in did").unwrap()..page.find("## Verdict").unwrap()];
        let rows = section
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| #"))
            .count();
        assert_eq!(rows, 30, "{section}");
        assert!(
            section.contains("| 1 | GET https://h/r1 | 200 | 12 ms |"),
            "{section}"
        );
        assert!(
            section.contains("| 35 | GET https://h/r35 | 502 **← the sign-in stopped here** |  |"),
            "{section}"
        );
        assert!(!section.contains("https://h/r30 "), "{section}");
        assert!(
            section.contains("10 more request(s) are not shown"),
            "{section}"
        );
        assert!(section.contains("No HTTP request was found in `debug/connect-mggraph.log`."));
        assert!(
            section.contains(
                "It stopped at: `Connect-MgGraph: 'InteractiveBrowserCredential' failed`"
            ),
            "{section}"
        );
        let ja = summary_md(None, &b, &[], Lang::Ja);
        assert!(ja.contains("## サインインの通信") && ja.contains("**← ここで停止**"));
    }
}
