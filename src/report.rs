//! `summary.md`: the human-readable page of a bundle. It is rendered from the manifest and the
//! bundle's own (already redacted) entries, read through the typed model, so the same page can
//! be rebuilt from a bundle. Each section of the page is one function.

use std::collections::BTreeMap;
use std::fmt::Write;

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

/// The warning at the top of summary.md of a run that captured no sign-in (no `--run`, no
/// `-- COMMAND`, no answer at the prompt): the first thing support asks for is missing.
pub fn with_no_sign_in_warning(summary: &str, lang: Lang) -> String {
    let warning = lang.t(
        "> **Warning: No sign-in output captured: re-run with `--run az|azps|mg`** (or `-- COMMAND` for any other sign-in command) to include the failing sign-in's debug output.\n",
        "> **警告: サインインの出力は記録されていません。`--run az|azps|mg` を付けて再実行してください** (ほかのサインイン コマンドの場合は `-- コマンド` を付けてください)。失敗したサインインのデバッグ出力がバンドルに含まれます。\n",
    );
    // Right after the title line.
    match summary.find("\n\n") {
        Some(k) => format!("{}\n\n{warning}\n{}", &summary[..k], &summary[k + 2..]),
        None => format!("{warning}\n{summary}"),
    }
}

/// Render summary.md. `manifest.files` lists the entries written before this page. Without a
/// manifest (`inspect` of a bundle whose manifest.json this version cannot read), the sections
/// drawn from it are left out and the page says so.
pub fn summary_md(
    manifest: Option<&Manifest>,
    bundle: &Bundle,
    findings: &[Finding],
    lang: Lang,
) -> String {
    let mut s = String::new();
    title_section(&mut s, manifest, lang);
    timeline_section(&mut s, bundle, lang);
    verdict_section(&mut s, findings, lang);
    if let Some(m) = manifest {
        host_section(&mut s, m, lang);
    }
    versions_section(&mut s, bundle, lang);
    contexts_section(&mut s, bundle);
    if let Some(m) = manifest {
        collectors_section(&mut s, m, lang);
        contents_section(&mut s, m, lang);
        redaction_section(&mut s, m, lang);
    }
    sign_out_section(&mut s, bundle);
    if let Some(m) = manifest {
        capture_warning(&mut s, m);
    }
    s
}

/// The title, who wrote the bundle when, and its status.
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
    let _ = writeln!(
        s,
        "{}\n",
        lang.t(
            &format!(
                "Created {} by {} {}. Status: **{}**.",
                m.created_at, m.tool.name, m.tool.version, m.status
            ),
            &format!(
                "作成日時 {} ({} {})。状態: **{}**。",
                m.created_at, m.tool.name, m.tool.version, m.status
            ),
        )
    );
    if m.status == RunStatus::Interrupted {
        let _ = writeln!(
            s,
            "> The collection was interrupted: collectors marked `interrupted` did not finish.\n"
        );
    }
}

/// The machine, from the manifest.
fn host_section(s: &mut String, m: &Manifest, lang: Lang) {
    let _ = writeln!(s, "## {}\n\n| | |\n|---|---|", lang.t("Host", "ホスト"));
    for (k, v) in [
        ("host name", &m.host.hostname),
        ("OS", &m.host.os),
        ("OS version", &m.host.os_version),
        ("kernel", &m.host.kernel),
        ("architecture", &m.host.arch),
        ("platform logic", &m.host.platform),
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
        let _ = writeln!(s, "No Azure CLI and no PowerShell was found.");
    } else {
        let _ = writeln!(s, "| tool | version | details |\n|---|---|---|");
        for (t, v, d) in rows {
            let _ = writeln!(s, "| {} | {} | {} |", cell(&t), cell(&v), cell(&d));
        }
    }
}

/// Each collector's status and time, and how many did not complete.
fn collectors_section(s: &mut String, m: &Manifest, lang: Lang) {
    let _ = writeln!(
        s,
        "\n## {}\n\n| collector | status | time | note |\n|---|---|---|---|",
        lang.t("Collectors", "収集項目")
    );
    for c in &m.collectors {
        let _ = writeln!(
            s,
            "| {} | {} | {} ms | {} |",
            c.id,
            c.status.as_str(),
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
            "\n{problems} collector(s) were skipped or did not complete; see the note column."
        );
    }
}

/// Every entry with its size and replacements.
fn contents_section(s: &mut String, m: &Manifest, lang: Lang) {
    let _ = writeln!(
        s,
        "\n## {}\n\n| file | bytes | redacted | replacements |\n|---|---|---|---|",
        lang.t("Contents", "内容")
    );
    for f in &m.files {
        let n: u64 = f.redactions.values().sum();
        let red = if f.redacted {
            "yes"
        } else {
            "**no (binary capture)**"
        };
        let _ = writeln!(s, "| {} | {} | {} | {} |", cell(&f.path), f.size, red, n);
    }
    let _ = writeln!(s, "| summary.md | | yes | |\n| manifest.json | | yes | |");
}

/// The replacements of every entry, per redaction rule.
fn redaction_section(s: &mut String, m: &Manifest, lang: Lang) {
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for (rule, c) in m.files.iter().flat_map(|f| &f.redactions) {
        *totals.entry(rule).or_insert(0) += c;
    }
    let _ = writeln!(s, "\n## {}\n", lang.t("Redaction", "マスキング"));
    if totals.is_empty() {
        let _ = writeln!(s, "No secrets were found to remove.");
    } else {
        let list: Vec<String> = totals.iter().map(|(r, c)| format!("{r}: {c}")).collect();
        let _ = writeln!(
            s,
            "{} value(s) were replaced by `[REDACTED:<rule>]` markers ({}).",
            totals.values().sum::<u64>(),
            list.join(", ")
        );
    }
}

/// The closing warning when the bundle holds binary captures the redactor could not read.
fn capture_warning(s: &mut String, m: &Manifest) {
    let unredacted = m.files.iter().filter(|f| !f.redacted).count();
    if unredacted > 0 {
        let _ = writeln!(
            s,
            "\n**Warning:** {unredacted} file(s) are binary captures that could not be redacted and may contain sensitive data."
        );
    }
}

/// Who is signed in where, per tool: tool, account, tenant, subscription / type, comparison.
fn context_rows(b: &Bundle) -> Vec<[String; 5]> {
    let mut rows: Vec<[String; 5]> = Vec::new();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let compared = |c: Option<TenantComparison>| c.map_or("", TenantComparison::as_str).to_string();
    if let Some(az) = &b.az_context {
        for sub in az.subscriptions.iter().flatten() {
            let default = if sub.is_default == Some(true) {
                " (default)"
            } else {
                ""
            };
            rows.push([
                "Azure CLI".into(),
                text(&sub.user_name),
                text(&sub.tenant_id),
                format!("{}{default}", text(&sub.name)),
                compared(sub.tenant_comparison),
            ]);
        }
    }
    for (shell, file) in &b.azps_contexts {
        for c in &file.contexts {
            let current = if c.is_current == Some(true) {
                " (current)"
            } else {
                ""
            };
            rows.push([
                format!("Azure PowerShell ({shell})"),
                text(&c.account_id),
                text(&c.tenant_id),
                format!("{}{current}", text(&c.subscription_name)),
                compared(c.tenant_comparison),
            ]);
        }
    }
    rows
}

/// Who is signed in where, per tool.
fn contexts_section(s: &mut String, b: &Bundle) {
    let rows = context_rows(b);
    let _ = writeln!(s, "\n## Sign-in contexts / サインイン コンテキスト\n");
    if rows.is_empty() {
        let _ = writeln!(s, "No cached sign-in context was found.");
        return;
    }
    let _ = writeln!(
        s,
        "| tool | account | tenant | subscription / type | matches --tenant |\n|---|---|---|---|---|"
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
fn sign_out_section(s: &mut String, b: &Bundle) {
    let present = b.caches.as_ref().map_or(0, |c| c.present);
    let _ = writeln!(
        s,
        "\n## Signing out and clearing caches / サインアウトとキャッシュのクリア\n\n{present} token cache file(s) are present (listed in context/caches.json, never read). \
A stale cache or context from earlier sessions can make sign-in behave oddly; when you are done \
troubleshooting, clear it and sign out (entra-collect never does this itself):\n\n\
| tool | clear the cache | sign out |\n|---|---|---|\n\
| Azure CLI | `az account clear` | `az logout` |\n\
| Azure PowerShell | `Clear-AzContext -Force` | `Disconnect-AzAccount` |\n\
| Microsoft Graph PowerShell | none (check with `Get-MgContext`) | `Disconnect-MgGraph` |"
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

    /// The whole page for a bundle with findings (the fixtures are the findings tests' own).
    #[test]
    fn golden_summary() {
        let bundle = log(
            Bundle {
                probes: intercepted(ErrorKind::TlsUntrusted),
                ..healthy()
            },
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
        );
        let m = manifest(vec![
            collector("debug.run", Status::Ok, Some(1)),
            collector("versions.az", Status::Ok, None),
        ]);
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
