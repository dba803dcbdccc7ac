//! The typed bundle model is a contract with what the collectors really write: for bundles
//! produced by the binary with the fake tools (Linux and the Windows code paths, loopback
//! endpoints and proxies, a populated and an empty home), every JSON entry reads as its model
//! type and writes back to the very same JSON value (a member the type forgot, or a null it
//! would drop, fails here), `Bundle::from_texts` reads them all, and together the runs cover
//! every entry the model documents.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::tls::*;
use common::*;
use entra_collect::model::{self, OpensslVersion, PathOrWithheld, names};
use serde_json::Value;

fn run(home: Option<&Path>, path: &str, envs: &[(&str, String)], args: &[&str]) -> Bundle {
    let out = tempfile::tempdir().unwrap();
    let mut c = bin(path);
    c.timeout(Duration::from_secs(120));
    match home {
        Some(h) => {
            c.env("HOME", h).env("USERPROFILE", h);
        }
        None => {
            c.env_remove("HOME");
        }
    }
    for (k, v) in envs {
        c.env(k, v);
    }
    c.args(["-q", "--probe-timeout", "2", "-o"])
        .arg(out.path())
        .args(args)
        .assert()
        .code(predicates::ord::lt(2));
    read_bundle(&only_bundle(out.path()))
}

/// Every JSON entry of `b` round-trips through its model type; returns the typed entry names.
fn check_round_trip(b: &Bundle, seen: &mut BTreeSet<String>) {
    let mut texts = std::collections::BTreeMap::new();
    for (name, bytes) in &b.entries {
        let text = std::str::from_utf8(bytes).unwrap_or("");
        texts.insert(name.clone(), text.to_string());
        let Some(back) = model::reserialize(name, text) else {
            continue;
        };
        let back = back.unwrap_or_else(|e| panic!("{name} does not read as its type: {e}"));
        let original: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            back,
            original,
            "{name} changes through its model type:\n{}",
            diff(&original, &back)
        );
        // Per-log entries are documented under their pattern.
        seen.insert(if names::is_requests(name) {
            "debug/<name>.requests.json".to_string()
        } else {
            name.clone()
        });
    }
    let typed = model::Bundle::from_texts(&texts);
    assert!(typed.unreadable.is_empty(), "{:?}", typed.unreadable);
    assert!(typed.manifest.is_some() && typed.findings.is_some());
}

/// Where two values first differ, as a path.
fn diff(a: &Value, b: &Value) -> String {
    fn walk(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for k in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
                    match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => walk(p, q, format!("{at}.{k}"), out),
                        (p, q) => out.push(format!("{at}.{k}: {p:?} vs {q:?}")),
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(p, q, format!("{at}[{i}]"), out);
                }
            }
            _ if a != b => out.push(format!("{at}: {a} vs {b}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(a, b, String::new(), &mut out);
    out.join("\n")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A home with every kind of context and cache file.
fn populated_home(home: &Path) {
    copy_dir(&fixtures().join("context/azure"), &home.join(".azure"));
    write(&home.join(".azure/msal_token_cache.json"), "{}");
    write(
        &home.join(".Azure/AzureRmContextSettings.json"),
        r#"{"Mode": "CurrentUser", "ContextDirectory": "/home/alice/.Azure", "ContextFile": "AzureRmContext.json",
            "CacheDirectory": null, "CacheFile": "msal.cache", "KeyStoreFile": "x;y",
            "Settings": {"Flag": "true", "On": true, "Gone": null, "Id": "canary-setting"}, "Extra": 3}"#,
    );
    write(
        &home.join(".mg/mg.authrecord.json"),
        r#"{"username": "alice@contoso.com", "authority": "login.microsoftonline.com",
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "clientId": "14d82eec-204b-4c2f-b7e8-296a70dab67e",
            "homeAccountId": "x.y", "version": "1.0", "other": "dropped"}"#,
    );
    write(&home.join(".mg/mg.msal.cache.nocae"), "x");
    std::fs::create_dir_all(home.join(".graph")).unwrap();
}

/// A PATH whose `az` launcher names a Python (a fake that prints OpenSSL and certifi), with the
/// fake pwsh (openssl is the machine's own, if any).
fn path_with_az_python(dir: &Path, certifi: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let py = dir.join("py/bin/python3");
    write(
        &py,
        &format!(
            "#!/bin/sh\necho '{{\"openssl\": \"OpenSSL 3.0.17 1 Jul 2025\", \"certifi\": \"{}\", \"python_version\": \"3.11.2\"}}'\n",
            certifi.display()
        ),
    );
    let fake = fixtures().join("bin");
    write(
        &bin.join("az"),
        &format!(
            "#!/bin/sh\n# launcher of {}\nexec {} \"$@\"\n",
            py.display(),
            fake.join("az").display()
        ),
    );
    write(
        &bin.join("pwsh"),
        &format!("#!/bin/sh\nexec {} \"$@\"\n", fake.join("pwsh").display()),
    );
    for p in [&py, &bin.join("az"), &bin.join("pwsh")] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!("{}:/usr/bin:/bin", bin.display())
}

#[test]
fn every_entry_reads_back_as_its_model_type() {
    let mut seen = BTreeSet::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = Arc::new(Ca::new("DigiCert Test Root (entra-collect tests)"));
    let proxy_ca = Arc::new(Ca::new("Contoso TLS Inspection CA"));
    let pem = dir.path().join("bundle.pem");
    std::fs::write(&pem, format!("{}{}", ca.pem(), proxy_ca.pem())).unwrap();

    // Linux, populated home, an intercepting proxy for two endpoints, one direct endpoint
    // trusted through REQUESTS_CA_BUNDLE and one refused; the sign-in run; --tenant.
    let home = dir.path().join("home");
    populated_home(&home);
    let certifi = dir.path().join("certifi/cacert.pem");
    write(&certifi, &ca.pem());
    let intercept = proxy(ProxyMode::Intercept(proxy_ca.clone(), 200));
    let b = run(
        Some(&home),
        &path_with_az_python(dir.path(), &certifi),
        &[
            ("ENTRA_COLLECT_NO_NETWORK", "0".into()),
            (
                "ENTRA_COLLECT_PROBE_OVERRIDE",
                format!(
                    "graph.microsoft.com={},login.windows.net={}",
                    https_server(&ca, "graph.microsoft.com", 200),
                    closed_port()
                ),
            ),
            ("HTTPS_PROXY", format!("http://alice:pw@{intercept}")),
            ("no_proxy", "graph.microsoft.com,login.windows.net".into()),
            ("REQUESTS_CA_BUNDLE", pem.display().to_string()),
            ("CURL_CA_BUNDLE", dir.path().display().to_string()),
            (
                "SSL_CERT_FILE",
                dir.path().join("missing.pem").display().to_string(),
            ),
            ("AZURE_CORE_OUTPUT", "json".into()),
            ("AZURE_CLIENT_SECRET", "canary-secret-value".into()),
        ],
        &[
            "--tenant",
            "9a9a9a9a-0000-4000-8000-0000000000ff",
            "--run",
            "az",
        ],
    );
    check_round_trip(&b, &mut seen);
    let probes: model::Probes = serde_json::from_slice(&b.entries[names::PROBES]).unwrap();
    assert!(
        probes
            .results
            .iter()
            .any(|r| r.tls.as_ref().is_some_and(|t| t.interception_ca.is_some())),
        "{probes:#?}"
    );
    assert!(probes.results.iter().any(|r| r.ok));
    assert!(probes.results.iter().any(|r| r.error_kind.is_some()));
    let tls: model::TlsSettings = serde_json::from_slice(&b.entries[names::TLS_SETTINGS]).unwrap();
    assert!(
        tls.azure_cli_python
            .is_some_and(|p| p.certifi == Some(Some(certifi.display().to_string())))
    );

    // The Windows code paths: registry, netsh, both PowerShells, WinINET and WinHTTP
    // proxies, a CONNECT-refusing proxy, REQUESTS_CA_BUNDLE that is not a path.
    let whome = dir.path().join("whome");
    populated_home(&whome);
    // Windows PowerShell 5.1's shapes: arrays as {"value": [...], "Count": n}, a single
    // Get-AzConfig item as a bare object, a failed Graph import (each part its own process).
    let az_inventory = serde_json::json!({"schema": 2, "part": "az",
        "import": {"module": "Az.Accounts", "imported": true, "version": "2.12.1"},
        "az_contexts": {"value": [{"name": "Default", "account_id": "bob@fabrikam.com",
        "account_type": "User", "tenant_id": "9a9a9a9a-0000-4000-8000-0000000000ff", "environment": "AzureCloud",
        "subscription_id": "", "subscription_name": "", "is_current": true}], "Count": 1},
        "az_config": {"key": "EnableLoginByWam", "value": "False", "scope": "CurrentUser", "applies_to": "Az"}});
    let mg_inventory = serde_json::json!({"schema": 2, "part": "mg",
        "import": {"module": "Microsoft.Graph.Authentication", "imported": false,
        "error": "Could not load file or assembly 'Azure.Core'", "error_id": "System.IO.FileLoadException",
        "exception_type": "System.IO.FileLoadException"}});
    let az_file = dir.path().join("winps-inventory-az.json");
    std::fs::write(&az_file, az_inventory.to_string()).unwrap();
    let mg_file = dir.path().join("winps-inventory-mg.json");
    std::fs::write(&mg_file, mg_inventory.to_string()).unwrap();
    let deny = proxy(ProxyMode::Deny);
    let b = run(
        Some(&whome),
        &fake_path(),
        &[
            ("ENTRA_COLLECT_PLATFORM", "windows".into()),
            ("ENTRA_COLLECT_NO_NETWORK", "0".into()),
            (
                "ENTRA_COLLECT_PROBE_OVERRIDE",
                format!("wininet.corp={deny}"),
            ),
            ("FAKE_WININET_SERVER", "wininet.corp:8443".into()),
            ("FAKE_WINHTTP_SERVER", "winhttp.corp:8080".into()),
            (
                "LOCALAPPDATA",
                whome.join("AppData/Local").display().to_string(),
            ),
            ("REQUESTS_CA_BUNDLE", "canary=1;Pwd=x".into()),
            (
                "FAKE_POWERSHELL_INVENTORY_AZ",
                az_file.display().to_string(),
            ),
            (
                "FAKE_POWERSHELL_INVENTORY_MG",
                mg_file.display().to_string(),
            ),
        ],
        &["--tenant", "contoso.onmicrosoft.com"],
    );
    check_round_trip(&b, &mut seen);
    let probes: model::Probes = serde_json::from_slice(&b.entries[names::PROBES]).unwrap();
    assert!(matches!(
        probes.requests_ca_bundle,
        Some(PathOrWithheld::Withheld { .. })
    ));
    assert!(probes.results.iter().all(|r| r.proxy_status == Some(403)));

    // No home, no tools: the error and "not found" shapes.
    let b = run(None, &empty_path(dir.path()), &[], &[]);
    check_round_trip(&b, &mut seen);
    let az: model::AzContext = serde_json::from_slice(&b.entries[names::AZ_CONTEXT]).unwrap();
    assert!(az.error.is_some() && az.config_dir.is_none());
    let tls: model::TlsSettings = serde_json::from_slice(&b.entries[names::TLS_SETTINGS]).unwrap();
    assert!(matches!(
        tls.openssl_version_a,
        Some(OpensslVersion::Missing(_))
    ));

    let documented: BTreeSet<String> = model::entry_schemas()
        .into_iter()
        .flat_map(|(n, _)| {
            [names::PWSH, names::WINDOWS_POWERSHELL].map(|s| n.replace("<shell>", s))
        })
        .collect();
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(missing.is_empty(), "no run produced {missing:?}");
}
