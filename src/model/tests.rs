//! The loader and the documentation contract. The collector side of the contract (every entry
//! a collector writes reads back as its type, member for member) is tested where the
//! collectors run: `tests/model_contract.rs`.

use std::path::Path;

use serde_json::json;

use super::*;

/// docs/bundle-format.md's field tables are the model's schemas, rendered. Under
/// `UPDATE_DOCS=1` the test rewrites the file instead of failing (review the diff).
#[test]
fn bundle_format_doc_tables_match_the_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/bundle-format.md");
    let doc = std::fs::read_to_string(&path).expect("docs/bundle-format.md");
    let want = docgen::render(&doc, &entry_schemas())
        .unwrap_or_else(|e| panic!("docs/bundle-format.md: {e}"));
    if want == doc {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("writing docs/bundle-format.md");
        eprintln!("docs/bundle-format.md: field tables updated from the model");
        return;
    }
    let (n, (have, should)) = doc
        .lines()
        .zip(want.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .unwrap_or((
            doc.lines().count().min(want.lines().count()),
            ("<end>", "<end>"),
        ));
    panic!(
        "docs/bundle-format.md's field tables differ from the model (src/model/). Update them \
         with `UPDATE_DOCS=1 cargo test --lib model::tests::bundle_format_doc` and review the \
         diff.\nfirst difference, line {}:\n  doc:   {have}\n  model: {should}",
        n + 1
    );
}

#[test]
fn render_reports_missing_unknown_and_unclosed_blocks() {
    let schemas = entry_schemas();
    let err = docgen::render("no blocks", &schemas).unwrap_err();
    assert!(
        err.contains("no generated block for manifest.json"),
        "{err}"
    );
    let err = docgen::render(
        "<!-- generated:entry nope.json -->\n<!-- /generated -->\n",
        &schemas,
    )
    .unwrap_err();
    assert!(err.contains("nope.json"), "{err}");
    let err =
        docgen::render("<!-- generated:entry system.json -->\n| x |\n", &schemas).unwrap_err();
    assert!(err.contains("not closed"), "{err}");
}

#[test]
fn a_table_names_nested_members_with_their_type_and_doc() {
    let (_, s) = entry_schemas()
        .into_iter()
        .find(|(n, _)| *n == names::PROBES)
        .unwrap();
    let t = docgen::table(&s);
    for row in [
        "| `results[].tls.interception_ca` | optional string | The chain's issuer when it is not a Microsoft or DigiCert CA: a TLS-inspecting proxy. |",
        "| `results[].proxy` | string or null |",
        "| `cloud` | `public`, `usgov` or `china` |",
        "| `results[].stages[].name` | `dns`, `tcp`, `proxy_tls`, `connect`, `tls`, `verify`, `http`, `probe` or another string |",
    ] {
        assert!(t.contains(row), "{row} not in\n{t}");
    }
}

fn texts(pairs: &[(&str, String)]) -> Texts {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn probes_json() -> String {
    json!({
        "cloud": "public",
        "stage_timeout_ms": 5000,
        "proxy_family": "azure_cli",
        "requests_ca_bundle": null,
        "results": [{
            "host": "login.microsoftonline.com",
            "url": "https://login.microsoftonline.com/x",
            "proxy": "http://proxy.corp:3128",
            "stages": [
                {"name": "tcp", "ok": true, "ms": 1},
                {"name": "connect", "ok": false, "ms": 2, "detail": "proxy answered 403"}
            ],
            "ok": false,
            "failed_stage": "connect",
            "error_kind": "proxy_status",
            "error": "the proxy refused CONNECT",
            "proxy_status": 403
        }]
    })
    .to_string()
}

#[test]
fn from_texts_reads_every_kind_of_entry() {
    let t = texts(&[
        ("network/probes.json", probes_json()),
        (
            "versions/pwsh.json",
            json!({"shell": "pwsh", "program_path": "/usr/bin/pwsh", "ps_version": "7.4.6",
                   "edition": "Core", "dotnet_runtime": null, "os_description": null,
                   "process_architecture": null, "executable": null, "security_protocol": null,
                   "modules": [{"name": "Az.Accounts", "version": "5.1.1", "prerelease": null, "path": "/m"}],
                   "psmodulepath": [], "psversiontable": {"PSVersion": "7.4.6"}})
            .to_string(),
        ),
        (
            "context/azps-settings.json",
            json!({"path": "/h/.Azure/AzureRmContextSettings.json", "settings": {"Mode": "CurrentUser", "Other": {"set": true}, "Settings": {"Flag": "true"}}})
            .to_string(),
        ),
        ("debug/az-login.log", "# command: az login\nERROR: x\n".into()),
        ("versions/az-version.txt", "raw text, not typed".into()),
        ("summary.md", "# not JSON".into()),
    ]);
    let b = Bundle::from_texts(&t);
    assert!(b.unreadable.is_empty(), "{:?}", b.unreadable);
    let p = b.probes.unwrap();
    assert_eq!(p.cloud, crate::vocab::Cloud::Public);
    let r = &p.results[0];
    assert_eq!(r.failed_stage, Some(StageName::Connect));
    assert_eq!(r.error_kind, Some(ErrorKind::ProxyStatus));
    assert_eq!(r.proxy_status, Some(403));
    // A schema 1 probe (top-level `proxy_family`, no `families`) was Azure CLI's route.
    assert_eq!(r.families, [ProxyFamily::AzureCli]);
    assert_eq!(
        b.powershell["pwsh"].modules[0].version.as_deref(),
        Some("5.1.1")
    );
    assert!(b.azps_contexts.is_empty());
    match &b.azps_settings.unwrap().settings {
        AzPsSettings::Fields(f) => {
            assert_eq!(f["Mode"], Some(AzPsField::Shown("CurrentUser".into())));
            assert_eq!(f["Other"], Some(AzPsField::Withheld(Withheld::SET)));
            assert!(matches!(f["Settings"], Some(AzPsField::Settings(_))));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(b.debug_logs.len(), 1);
    assert_eq!(b.debug_logs[0].0, "debug/az-login.log");
    assert!(b.manifest.is_none() && b.system.is_none());
}

/// A damaged or foreign entry is reported and skipped; every other entry still reads.
#[test]
fn from_texts_lists_unreadable_entries_and_reads_the_rest() {
    let t = texts(&[
        ("network/probes.json", probes_json()),
        ("system.json", "{ not json".into()),
        // Valid JSON of the wrong shape (an older or foreign schema).
        (
            "tls/ca-bundles.json",
            json!({"bundles": "none"}).to_string(),
        ),
        ("context/azps-pwsh.json", json!([1, 2]).to_string()),
        ("context/caches.json", String::new()),
    ]);
    let b = Bundle::from_texts(&t);
    let bad: Vec<&str> = b.unreadable.iter().map(|u| u.entry.as_str()).collect();
    assert_eq!(
        bad,
        [
            "context/azps-pwsh.json",
            "context/caches.json",
            "system.json",
            "tls/ca-bundles.json"
        ]
    );
    assert!(b.unreadable.iter().all(|u| !u.error.is_empty()));
    assert!(b.system.is_none() && b.ca_bundles.is_none() && b.caches.is_none());
    assert!(b.azps_contexts.is_empty());
    assert_eq!(b.probes.unwrap().results.len(), 1);
}

/// A schema 1 manifest, whose commands have no `encoding`, reads (as empty), and schema 2 writes
/// the field.
#[test]
fn schema_1_manifests_still_read() {
    let command = json!({"command_line": ["reg", "query", "HKCU\\X"], "program_path": "reg",
        "exit_code": 1, "timed_out": false, "interrupted": false, "truncated": false,
        "lossy_utf8": true, "duration_ms": 5, "stdout_bytes": 0, "stderr_bytes": 70});
    let manifest = |version: u32, command: serde_json::Value| {
        json!({"schema_version": version,
            "tool": {"name": "entra-collect", "version": "0.1.0"},
            "created_at": "2026-11-25T06:07:08.000Z", "finished_at": "2026-11-25T06:07:09.000Z",
            "status": "complete",
            "host": {"hostname": "h", "os": "Windows", "os_version": "11", "kernel": "26100",
                     "arch": "x86_64", "platform": "windows"},
            "invocation": {"args": [], "timeout_secs": 60},
            "collectors": [{"id": "network.proxy", "status": "ok", "duration_ms": 9,
                            "entries": [], "commands": [command]}],
            "files": []})
        .to_string()
    };
    let b = Bundle::from_texts(&texts(&[("manifest.json", manifest(1, command.clone()))]));
    assert!(b.unreadable.is_empty(), "{:?}", b.unreadable);
    let m = b.manifest.unwrap();
    assert_eq!(m.schema_version, 1);
    let c = &m.collectors[0].commands[0];
    assert_eq!((c.encoding.as_str(), c.lossy_utf8), ("", true));

    let mut v2 = command;
    v2["encoding"] = json!("cp932");
    v2["lossy_utf8"] = json!(false);
    let b = Bundle::from_texts(&texts(&[("manifest.json", manifest(2, v2))]));
    let m = b.manifest.unwrap();
    assert_eq!(m.collectors[0].commands[0].encoding, "cp932");
    assert_eq!(crate::model::manifest::SCHEMA_VERSION, 2);
    let back = serde_json::to_value(&m).unwrap();
    assert_eq!(back["collectors"][0]["commands"][0]["encoding"], "cp932");
}

/// A newer bundle: extra members and an unknown stage or error kind still read.
#[test]
fn newer_members_and_vocabulary_still_read() {
    let mut v: serde_json::Value = serde_json::from_str(&probes_json()).unwrap();
    v["added_in_v2"] = json!({"x": 1});
    v["results"][0]["stages"][0]["name"] = json!("quic");
    v["results"][0]["error_kind"] = json!("alpn");
    v["results"][0]["added"] = json!(true);
    let b = Bundle::from_texts(&texts(&[("network/probes.json", v.to_string())]));
    assert!(b.unreadable.is_empty(), "{:?}", b.unreadable);
    let r = &b.probes.unwrap().results[0];
    assert_eq!(r.stages[0].name, StageName::Other("quic".into()));
    assert_eq!(r.error_kind, Some(ErrorKind::Other("alpn".into())));
    // And a known word is never read as `Other`.
    assert_eq!(r.stages[1].name, StageName::Connect);
    assert_eq!(StageName::from("verify"), StageName::Verify);
    assert_eq!(StageName::from("quic"), StageName::Other("quic".into()));
    assert_eq!(ErrorKind::from("internal"), ErrorKind::Internal);
}

#[test]
fn vocabularies_write_todays_strings() {
    let s = |v: serde_json::Value| v.as_str().unwrap().to_string();
    assert_eq!(s(json!(StageName::Verify)), "verify");
    assert_eq!(s(json!(ErrorKind::TlsUntrusted)), "tls_untrusted");
    assert_eq!(s(json!(ErrorKind::Other("x".into()))), "x");
    assert_eq!(s(json!(TenantComparison::Mismatch)), "mismatch");
    assert_eq!(
        s(json!(ClientState::DisabledByDefault)),
        "disabled_by_default"
    );
    assert_eq!(s(json!(Status::TimedOut)), "timed_out");
    assert_eq!(s(json!(CaBundleSource::SslCertFile)), "SSL_CERT_FILE");
    assert_eq!(
        s(json!(CaBundleSource::AzureCliCertifi)),
        "azure_cli_certifi"
    );
    assert_eq!(
        s(json!(CacheTool::GraphPowershellV1)),
        "graph-powershell-v1"
    );
    assert_eq!(s(json!(crate::vocab::Cloud::UsGov)), "usgov");
    assert_eq!(s(json!(ProxyFamily::AzureCli)), "azure_cli");
    assert_eq!(s(json!(Severity::Warning)), "warning");
}

/// Absent, null and a value stay distinct where a collector writes all three.
#[test]
fn absent_null_and_value_round_trip() {
    for v in [
        json!({"tool": "azure-cli", "path": "/p", "exists": false}),
        json!({"tool": "azure-cli", "path": "/p", "exists": true, "is_dir": false, "size": 1, "modified": null}),
        json!({"tool": "azure-cli", "path": "/p", "exists": true, "is_dir": false, "size": 1, "modified": "2026-01-01T00:00:00+00:00"}),
        json!({"tool": "azure-cli", "path": "/p", "exists": null, "error": "denied"}),
    ] {
        let e: CacheEntry = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&e).unwrap(), v);
    }
    for v in [
        json!({"python": "/py"}),
        json!({"python": "/py", "openssl": "OpenSSL 3", "certifi": null}),
        json!({"python": "/py", "openssl": "OpenSSL 3", "certifi": "/c.pem"}),
    ] {
        let p: AzureCliPython = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&p).unwrap(), v);
    }
}

#[test]
fn reserialize_knows_every_documented_entry() {
    for (name, _) in entry_schemas() {
        let concrete = name.replace("<shell>", "pwsh");
        assert!(
            reserialize(&concrete, "{}").is_some(),
            "{concrete} has no model type in reserialize"
        );
    }
    assert!(reserialize("versions/az-version.txt", "").is_none());
    assert!(reserialize("debug/az-login.log", "").is_none());
}

#[test]
fn shell_labels_come_from_the_entry_names() {
    assert_eq!(
        names::shell_of("versions/windows-powershell.json", "versions/", &["az"]),
        Some("windows-powershell")
    );
    assert_eq!(
        names::shell_of("versions/az.json", "versions/", &["az"]),
        None
    );
    assert_eq!(
        names::shell_of("versions/pwsh.output.txt", "versions/", &["az"]),
        None
    );
    assert_eq!(
        names::shell_of("context/azps-settings.json", "context/azps-", &["settings"]),
        None
    );
    assert_eq!(names::versions_shell(names::PWSH), "versions/pwsh.json");
}

/// A timeline is read as its type, a HAR export is neither a log nor an unreadable entry, and
/// the log stays a log.
#[test]
fn from_texts_reads_timelines_and_skips_har_exports() {
    let t = texts(&[
        ("debug/az-login.log", "DEBUG: x\n".into()),
        (
            "debug/az-login.requests.json",
            json!({"log": "debug/az-login.log", "formats": ["az"], "requests": [
                {"seq": 1, "line": 4, "method": "POST", "url": "https://h/t", "status": 401,
                 "duration_ms": null, "request_id": null, "correlation_id": null,
                 "error": null, "failed": true}],
                "stop": {"request": 0, "line": "POST https://h/t -> 401"}})
            .to_string(),
        ),
        (
            "debug/az-login.har",
            json!({"log": {"version": "1.2"}}).to_string(),
        ),
        ("debug/connect-mggraph.requests.json", "[]".into()),
    ]);
    let b = Bundle::from_texts(&t);
    assert_eq!(b.debug_logs.len(), 1, "{:?}", b.debug_logs);
    let r = &b.requests["debug/az-login.requests.json"];
    assert_eq!(r.requests[0].status, Some(401));
    assert_eq!(r.stop.as_ref().and_then(|s| s.request), Some(0));
    assert_eq!(b.unreadable.len(), 1);
    assert_eq!(b.unreadable[0].entry, "debug/connect-mggraph.requests.json");
}
