//! `summary.md`: the human-readable page of a bundle. It is rendered from the manifest and the
//! bundle's own (already redacted) text entries, so the same page can be rebuilt from a bundle.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::analyze::{Finding, Severity};
use crate::bundle::manifest::{Manifest, Status};
use crate::vocab::{Lang, Texts};

fn json(texts: &Texts, name: &str) -> Option<Value> {
    texts.get(name).and_then(|t| serde_json::from_str(t).ok())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// One row of the versions table: tool, version, details.
pub fn version_rows(texts: &Texts) -> Vec<(String, String, String)> {
    let mut rows = Vec::new();
    if let Some(az) = json(texts, "versions/az.json") {
        let s = |k: &str| az[k].as_str().unwrap_or("").to_string();
        let mut details = Vec::new();
        if !s("msal").is_empty() {
            details.push(format!("msal {}", s("msal")));
        }
        if !s("python_version").is_empty() {
            details.push(format!("Python {}", s("python_version")));
        }
        if let Some(ext) = az["extensions"].as_object().filter(|e| !e.is_empty()) {
            let list: Vec<String> = ext
                .iter()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or("?")))
                .collect();
            details.push(format!("extensions: {}", list.join(", ")));
        }
        rows.push(("Azure CLI (az)".into(), s("azure_cli"), details.join("; ")));
    }
    for label in ["pwsh", "windows-powershell"] {
        let Some(ps) = json(texts, &format!("versions/{label}.json")) else {
            continue;
        };
        let name = if label == "pwsh" {
            "PowerShell 7+ (pwsh)"
        } else {
            "Windows PowerShell"
        };
        rows.push((
            name.into(),
            ps["ps_version"].as_str().unwrap_or("").into(),
            ps["dotnet_runtime"].as_str().unwrap_or("").into(),
        ));
        if let Some(mods) = ps["modules"].as_array() {
            for m in mods {
                let mut v = m["version"].as_str().unwrap_or("").to_string();
                if let Some(pre) = m["prerelease"].as_str().filter(|p| !p.is_empty()) {
                    v = format!("{v}-{pre}");
                }
                rows.push((
                    format!("  {} ({label})", m["name"].as_str().unwrap_or("?")),
                    v,
                    m["path"].as_str().unwrap_or("").into(),
                ));
            }
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

/// Render summary.md. `manifest.files` lists the entries written before this page.
pub fn summary_md(m: &Manifest, texts: &Texts, findings: &[Finding], lang: Lang) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}\n",
        lang.t(
            "entra-collect bundle summary",
            "entra-collect 収集結果の概要"
        )
    );
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
    if m.status == "interrupted" {
        let _ = writeln!(
            s,
            "> The collection was interrupted: collectors marked `interrupted` did not finish.\n"
        );
    }

    verdict_section(&mut s, findings, lang);

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

    let _ = writeln!(
        s,
        "\n## {}\n",
        lang.t("Versions found", "検出したバージョン")
    );
    let rows = version_rows(texts);
    if rows.is_empty() {
        let _ = writeln!(s, "No Azure CLI and no PowerShell was found.");
    } else {
        let _ = writeln!(s, "| tool | version | details |\n|---|---|---|");
        for (t, v, d) in rows {
            let _ = writeln!(s, "| {} | {} | {} |", cell(&t), cell(&v), cell(&d));
        }
    }

    contexts_section(&mut s, texts);

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
    let problems: Vec<_> = m
        .collectors
        .iter()
        .filter(|c| c.status != Status::Ok)
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(
            s,
            "\n{} collector(s) were skipped or did not complete; see the note column.",
            problems.len()
        );
    }

    let _ = writeln!(
        s,
        "\n## {}\n\n| file | bytes | redacted | replacements |\n|---|---|---|---|",
        lang.t("Contents", "内容")
    );
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &m.files {
        let n: u64 = f.redactions.values().sum();
        for (rule, c) in &f.redactions {
            *totals.entry(rule).or_insert(0) += c;
        }
        let red = if f.redacted {
            "yes"
        } else {
            "**no (binary capture)**"
        };
        let _ = writeln!(s, "| {} | {} | {} | {} |", cell(&f.path), f.size, red, n);
    }
    let _ = writeln!(s, "| summary.md | | yes | |\n| manifest.json | | yes | |");

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
    sign_out_section(&mut s, texts);
    let unredacted: Vec<_> = m.files.iter().filter(|f| !f.redacted).collect();
    if !unredacted.is_empty() {
        let _ = writeln!(
            s,
            "\n**Warning:** {} file(s) are binary captures that could not be redacted and may contain sensitive data.",
            unredacted.len()
        );
    }
    s
}

/// Who is signed in where, per tool.
fn contexts_section(s: &mut String, texts: &Texts) {
    let mut rows: Vec<[String; 5]> = Vec::new();
    let str_of = |v: &Value| v.as_str().unwrap_or("").to_string();
    if let Some(az) = json(texts, "context/az.json") {
        for sub in az["subscriptions"].as_array().into_iter().flatten() {
            rows.push([
                "Azure CLI".into(),
                str_of(&sub["user_name"]),
                str_of(&sub["tenant_id"]),
                format!(
                    "{}{}",
                    str_of(&sub["name"]),
                    if sub["is_default"] == true {
                        " (default)"
                    } else {
                        ""
                    }
                ),
                str_of(&sub["tenant_comparison"]),
            ]);
        }
    }
    for (name, file) in texts.iter().filter(|(n, _)| {
        n.starts_with("context/azps-") && n.as_str() != "context/azps-settings.json"
    }) {
        let Ok(v) = serde_json::from_str::<Value>(file) else {
            continue;
        };
        let shell = name
            .trim_start_matches("context/azps-")
            .trim_end_matches(".json");
        for c in v["contexts"].as_array().into_iter().flatten() {
            rows.push([
                format!("Azure PowerShell ({shell})"),
                str_of(&c["account_id"]),
                str_of(&c["tenant_id"]),
                format!(
                    "{}{}",
                    str_of(&c["subscription_name"]),
                    if c["is_current"] == true {
                        " (current)"
                    } else {
                        ""
                    }
                ),
                str_of(&c["tenant_comparison"]),
            ]);
        }
    }
    for (name, file) in texts
        .iter()
        .filter(|(n, _)| n.starts_with("context/mg-") && n.as_str() != "context/mg-authrecord.json")
    {
        let Ok(v) = serde_json::from_str::<Value>(file) else {
            continue;
        };
        if v["context"].is_object() {
            let shell = name
                .trim_start_matches("context/mg-")
                .trim_end_matches(".json");
            rows.push([
                format!("Graph PowerShell ({shell})"),
                str_of(&v["context"]["account"]),
                str_of(&v["context"]["tenant_id"]),
                str_of(&v["context"]["auth_type"]),
                str_of(&v["tenant_comparison"]),
            ]);
        }
    }
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
fn sign_out_section(s: &mut String, texts: &Texts) {
    let present = json(texts, "context/caches.json")
        .and_then(|c| c["present"].as_u64())
        .unwrap_or(0);
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
    use crate::analyze::tests::{collector, healthy, intercepted, log, with};
    use crate::analyze::{Model, analyze};

    /// The whole page for a bundle with findings (the fixtures are the findings tests' own).
    #[test]
    fn golden_summary() {
        use crate::bundle::manifest::{Host, Invocation, Manifest, Tool};
        let texts = log(
            with(
                healthy(),
                "network/probes.json",
                intercepted("tls_untrusted"),
            ),
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
        );
        let collectors = vec![
            collector("debug.run", Status::Ok, Some(1)),
            collector("versions.az", Status::Ok, None),
        ];
        let findings = analyze(
            &Model {
                texts: &texts,
                collectors: &collectors,
            },
            Lang::En,
        );
        let m = Manifest {
            schema_version: 1,
            tool: Tool {
                name: "entra-collect".into(),
                version: "0.1.0".into(),
            },
            created_at: "2026-11-25T06:00:00.000Z".into(),
            finished_at: "2026-11-25T06:00:01.000Z".into(),
            status: "complete".into(),
            host: Host {
                hostname: "PC01".into(),
                os: "Windows".into(),
                os_version: "11 (26100)".into(),
                kernel: "26100".into(),
                arch: "x86_64".into(),
                platform: "windows".into(),
            },
            invocation: Invocation {
                args: vec!["--run".into(), "az".into()],
                timeout_secs: 60,
            },
            collectors,
            files: vec![],
        };
        insta::assert_snapshot!("summary_en", summary_md(&m, &texts, &findings, Lang::En));
        let ja = analyze(
            &Model {
                texts: &texts,
                collectors: &m.collectors,
            },
            Lang::Ja,
        );
        insta::assert_snapshot!("summary_ja", summary_md(&m, &texts, &ja, Lang::Ja));
    }
}
