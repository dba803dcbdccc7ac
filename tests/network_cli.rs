//! Proxy, TLS and CA-bundle facts and probes through the CLI, with fake `reg`, `netsh` and
//! `openssl`, and loopback TLS servers and proxies standing in for the Microsoft endpoints.

mod common;

use std::sync::Arc;

use common::tls::*;
use common::*;

const PUBLIC: [&str; 4] = [
    "login.microsoftonline.com",
    "management.azure.com",
    "graph.microsoft.com",
    "login.windows.net",
];

fn run(envs: &[(&str, String)]) -> Bundle {
    let dir = tempfile::tempdir().unwrap();
    let mut c = bin(&fake_path());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.args(["-q", "--probe-timeout", "2", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    read_bundle(&only_bundle(dir.path()))
}

#[test]
fn windows_proxy_facts_and_effective_proxies() {
    let b = run(&[
        ("ENTRA_COLLECT_PLATFORM", "windows".into()),
        (
            "FAKE_WININET_SERVER",
            "http=wininet.corp:80;https=wininet.corp:8443".into(),
        ),
        ("FAKE_WINHTTP_SERVER", "winhttp.corp:8080".into()),
        ("HTTPS_PROXY", "http://user:pw@env.corp:3128".into()),
        ("NO_PROXY", "graph.microsoft.com".into()),
    ]);
    let p = b.json("network/proxy.json");
    assert_eq!(p["wininet"]["proxy_enable"], true);
    assert_eq!(p["wininet"]["proxy_override"], "<local>;*.contoso.com");
    assert_eq!(p["winhttp"]["proxy_server"], "winhttp.corp:8080");
    assert_eq!(p["winhttp"]["direct"], false);
    assert_eq!(p["winhttp"]["source"], "registry");
    assert_eq!(
        p["environment"]["https_proxy"]["value"],
        "http://[REDACTED:url-credentials]@env.corp:3128"
    );
    let login = &p["effective"][0];
    assert_eq!(login["host"], "login.microsoftonline.com");
    assert_eq!(
        login["azure_cli"]["proxy"],
        "http://[REDACTED:url-credentials]@env.corp:3128"
    );
    assert_eq!(login["windows_powershell"]["proxy"], "wininet.corp:8443");
    let graph = &p["effective"][2];
    assert_eq!(graph["azure_cli"]["proxy"], serde_json::Value::Null);
    assert_eq!(graph["azure_cli"]["source"], "env:NO_PROXY");
    assert!(!b.all_text().contains("user:pw"));
}

/// Azure CLI (Python): any `*_proxy` variable, NO_PROXY alone included, makes it ignore the
/// registry (CPython `getproxies()` = environment or registry); .NET counts only
/// HTTP(S)_PROXY / ALL_PROXY, so PowerShell 7 keeps the registry proxy. WAM (on by default,
/// off through Azure CLI's config) is its own family with the Windows proxy.
#[test]
fn windows_proxy_rules_per_client_and_wam() {
    let cfg = tempfile::tempdir().unwrap();
    let base = |extra: &[(&str, String)]| {
        let mut e = vec![
            ("ENTRA_COLLECT_PLATFORM", "windows".to_string()),
            (
                "FAKE_WININET_SERVER",
                "http=wininet.corp:80;https=wininet.corp:8443".into(),
            ),
            ("NO_PROXY", ".contoso.com".into()),
            ("AZURE_CONFIG_DIR", cfg.path().display().to_string()),
        ];
        e.extend(extra.iter().cloned());
        run(&e)
    };
    let p = base(&[]).json("network/proxy.json");
    assert_eq!(p["azure_cli_wam"]["enabled"], true);
    assert_eq!(
        p["azure_cli_wam"]["decided_by"],
        "default (Azure CLI 2.61+)"
    );
    let mgmt = &p["effective"][1];
    assert_eq!(mgmt["host"], "management.azure.com");
    assert_eq!(mgmt["azure_cli"]["proxy"], serde_json::Value::Null);
    assert_eq!(
        mgmt["azure_cli"]["rule"],
        "env: no https_proxy/all_proxy; registry ignored: environment has proxy variables (NO_PROXY)"
    );
    assert_eq!(mgmt["powershell7"]["proxy"], "wininet.corp:8443");
    assert_eq!(
        mgmt["powershell7"]["rule"],
        "NO_PROXY alone does not count; registry:ProxyServer https="
    );
    assert_eq!(mgmt["azure_cli_wam"]["proxy"], "wininet.corp:8443");
    assert_eq!(
        mgmt["windows_powershell"]["rule"],
        "env ignored; registry:ProxyServer https="
    );

    // Opted out in the config file; the variable overrides the file.
    std::fs::write(
        cfg.path().join("config"),
        "[core]\nenable_broker_on_windows = false\n",
    )
    .unwrap();
    let p = base(&[]).json("network/proxy.json");
    assert_eq!(p["azure_cli_wam"]["enabled"], false);
    assert_eq!(
        p["azure_cli_wam"]["decided_by"],
        "config:core.enable_broker_on_windows"
    );
    assert!(p["effective"][0].get("azure_cli_wam").is_none());
    let p =
        base(&[("AZURE_CORE_ENABLE_BROKER_ON_WINDOWS", "true".into())]).json("network/proxy.json");
    assert_eq!(
        p["azure_cli_wam"]["decided_by"],
        "AZURE_CORE_ENABLE_BROKER_ON_WINDOWS"
    );
    assert_eq!(
        p["effective"][0]["azure_cli_wam"]["proxy"],
        "wininet.corp:8443"
    );
}

/// `network.proxy` and `network.probes` both need the proxy facts: the Windows commands behind
/// them run once per run, and are recorded once (under `network.proxy`).
#[test]
fn windows_proxy_commands_run_once_per_run() {
    const WININET: &str =
        r"reg query HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings";
    const WINHTTP: &str = r"reg query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections /v WinHttpSettings";
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        // The probes run (against loopback servers), so both collectors want the facts.
        let ca = Ca::new("DigiCert Test Root (entra-collect tests)");
        let b = run(&[
            ("ENTRA_COLLECT_PLATFORM", "windows".into()),
            ("ENTRA_COLLECT_NO_NETWORK", "0".into()),
            ("ENTRA_COLLECT_PROBE_OVERRIDE", servers(&ca)),
            ("FAKE_WINHTTP_SERVER", "winhttp.corp:8080".into()),
            ("FAKE_LOG", log.to_string_lossy().into_owned()),
        ]);
        assert_ne!(b.collector("network.probes")["status"], "skipped");
        assert_eq!(
            b.json("network/probes.json")["results"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
        let calls = std::fs::read_to_string(&log).unwrap();
        let count = |line: &str| calls.lines().filter(|l| *l == line).count();
        assert_eq!(count(WINHTTP), 1, "round {round}:\n{calls}");
        // The registry answered: netsh is only the fallback.
        assert_eq!(
            count("netsh winhttp show proxy"),
            0,
            "round {round}:\n{calls}"
        );
        assert_eq!(count(WININET), 1, "round {round}:\n{calls}");

        let recorded = |id: &str, program: &str| {
            b.collector(id)["commands"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["command_line"][0] == program)
                .count()
        };
        assert_eq!(recorded("network.proxy", "netsh"), 0, "round {round}");
        assert_eq!(recorded("network.proxy", "reg"), 2, "round {round}");
        assert_eq!(recorded("network.probes", "netsh"), 0, "round {round}");
        assert_eq!(recorded("network.probes", "reg"), 0, "round {round}");
        // Both saw the same facts.
        assert_eq!(
            b.json("network/proxy.json")["winhttp"]["proxy_server"],
            "winhttp.corp:8080"
        );
    }
}

/// The WinHTTP proxy comes from the registry value; netsh is read only when that fails, in
/// English or Japanese; anything else is unknown (never "no proxy"), with netsh's raw output
/// kept.
#[test]
fn winhttp_proxy_from_the_registry_then_netsh_else_unknown() {
    let winhttp = |envs: &[(&str, &str)]| {
        let mut all = vec![("ENTRA_COLLECT_PLATFORM", "windows".to_string())];
        all.extend(envs.iter().map(|(k, v)| (*k, v.to_string())));
        let b = run(&all);
        let w = b.json("network/proxy.json")["winhttp"].clone();
        let raw = b
            .entries
            .contains_key("network/winhttp-output.txt")
            .then(|| b.text("network/winhttp-output.txt"));
        let commands: Vec<String> = b.collector("network.proxy")["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["command_line"][0].as_str().unwrap().to_string())
            .collect();
        (w, raw, commands)
    };

    // Never set: WinHTTP's default, direct access (reg exits 1).
    let (w, raw, commands) = winhttp(&[]);
    assert_eq!(w["direct"], true);
    assert_eq!(w["source"], "registry");
    assert!(w["note"].as_str().unwrap().contains("not set"), "{w}");
    assert_eq!(
        (raw, commands),
        (None, vec!["reg".to_string(), "reg".into()])
    );

    // Microsoft's direct-access value.
    let (w, _, _) = winhttp(&[("FAKE_WINHTTP_REG", "direct")]);
    assert_eq!(
        (&w["direct"], &w["source"]),
        (&true.into(), &"registry".into())
    );
    assert_eq!(w.get("note"), None);

    // A proxy and a bypass list, credentials cut at the source.
    let (w, _, _) = winhttp(&[
        ("FAKE_WINHTTP_SERVER", "carol:canary@winhttp.corp:8080"),
        ("FAKE_WINHTTP_BYPASS", "<local>;*.contoso.com"),
    ]);
    assert_eq!(w["direct"], false);
    assert_eq!(
        w["proxy_server"],
        "[REDACTED:url-credentials]@winhttp.corp:8080"
    );
    assert_eq!(w["bypass_list"], "<local>;*.contoso.com");

    // An undecodable value: netsh's answer, English then Japanese.
    let (w, raw, commands) = winhttp(&[("FAKE_WINHTTP_REG", "garbage")]);
    assert_eq!(
        (&w["direct"], &w["source"]),
        (&true.into(), &"netsh".into())
    );
    assert_eq!(raw, None);
    assert_eq!(commands, ["reg", "netsh", "reg"]);
    let (w, _, _) = winhttp(&[
        ("FAKE_WINHTTP_REG", "garbage"),
        ("FAKE_NETSH_LANG", "ja"),
        ("FAKE_WINHTTP_SERVER", "winhttp.corp:8080"),
    ]);
    assert_eq!(w["direct"], false);
    assert_eq!(w["source"], "netsh");
    assert_eq!(w["proxy_server"], "winhttp.corp:8080");
    assert_eq!(w["bypass_list"], serde_json::Value::Null);

    // netsh silent (Wine's stub): unknown, not "no proxy".
    let (w, raw, _) = winhttp(&[
        ("FAKE_WINHTTP_REG", "garbage"),
        ("FAKE_NETSH_MODE", "silent"),
    ]);
    assert_eq!(w["direct"], serde_json::Value::Null, "{w}");
    assert_eq!(w["source"], "unknown");
    let note = w["note"].as_str().unwrap();
    assert!(
        note.contains("unrecognised version 0x46") && note.contains("printed nothing"),
        "{note}"
    );
    assert_eq!(raw, None, "nothing to keep");

    // netsh in a language this version does not read: unknown, its output kept, redacted.
    let (w, raw, _) = winhttp(&[
        ("FAKE_WINHTTP_REG", "garbage"),
        ("FAKE_NETSH_LANG", "de"),
        ("FAKE_WINHTTP_SERVER", "dave:canary@winhttp.corp:8080"),
    ]);
    assert_eq!(w["direct"], serde_json::Value::Null, "{w}");
    assert_eq!(w["source"], "unknown");
    let raw = raw.expect("the unreadable output is kept");
    assert!(raw.contains("winhttp.corp:8080"), "{raw}");
    assert!(!raw.contains("canary"), "{raw}");
}

#[test]
fn windows_tls_settings_from_the_registry() {
    let b = run(&[("ENTRA_COLLECT_PLATFORM", "windows".into())]);
    let t = b.json("tls/settings.json");
    assert_eq!(t["schannel_protocols"]["TLS 1.0"]["client"], "disabled");
    assert_eq!(t["schannel_protocols"]["TLS 1.2"]["client"], "os_default");
    let strong = &t["dotnet_framework_strong_crypto"]["HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319"];
    assert_eq!(strong["SchUseStrongCrypto"], 1);
    // The CLR 2 keys are read too (64- and 32-bit), for completeness.
    for key in [
        "HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v2.0.50727",
        "HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework\\v2.0.50727",
    ] {
        let v2 = &t["dotnet_framework_strong_crypto"][key];
        assert_eq!(v2["SchUseStrongCrypto"], 0, "{key}: {t:#}");
        assert_eq!(v2["SystemDefaultTlsVersions"], 0, "{key}: {t:#}");
    }
    assert_eq!(
        t["winhttp_default_secure_protocols"]["HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\WinHttp"]
            ["protocols"],
        serde_json::json!(["TLS 1.0", "TLS 1.1", "TLS 1.2"])
    );
    assert_eq!(t["dotnet_framework"]["version"], "4.8.1");

    let legacy = run(&[
        ("ENTRA_COLLECT_PLATFORM", "windows".into()),
        ("FAKE_REG_MODE", "legacy".into()),
    ]);
    let t = legacy.json("tls/settings.json");
    assert_eq!(t["schannel_protocols"]["TLS 1.2"]["client"], "disabled");
    assert_eq!(
        t["dotnet_framework_strong_crypto"]["HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319"]
            ["SchUseStrongCrypto"],
        0
    );
}

#[test]
fn openssl_settings_on_linux() {
    let b = run(&[]);
    let t = b.json("tls/settings.json");
    assert!(
        t["openssl_version_a"][0]
            .as_str()
            .unwrap()
            .starts_with("OpenSSL 3.0.17")
    );
    assert_eq!(t["openssl_cnf_settings"]["MinProtocol"], "TLSv1.2");
    assert_eq!(
        t["openssl_cnf_settings"]["CipherString"],
        "DEFAULT:@SECLEVEL=2"
    );
}

#[test]
fn ca_bundles_are_described_not_copied() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Contoso TLS Inspection CA");
    let expired = {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Old Root");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.not_before = rcgen::date_time_ymd(2015, 1, 1);
        p.not_after = rcgen::date_time_ymd(2020, 1, 1);
        p.self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
            .pem()
    };
    let bundle = dir.path().join("corp-bundle.pem");
    std::fs::write(&bundle, format!("{}{}", ca.pem(), expired)).unwrap();
    let b = run(&[
        ("REQUESTS_CA_BUNDLE", bundle.display().to_string()),
        (
            "SSL_CERT_FILE",
            dir.path().join("missing.pem").display().to_string(),
        ),
    ]);
    let c = b.json("tls/ca-bundles.json");
    let req = &c["bundles"][0];
    assert_eq!(req["source"], "REQUESTS_CA_BUNDLE");
    assert_eq!(
        (req["certificates"].as_u64(), req["expired"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        req["certs"][0]["subject"],
        "CN=Contoso TLS Inspection CA, O=Contoso TLS Inspection CA"
    );
    assert_eq!(req["used_by_azure_cli"], true);
    let ssl = &c["bundles"][1];
    assert_eq!(
        (ssl["exists"].as_bool(), ssl["used_by_azure_cli"].as_bool()),
        (Some(false), Some(false))
    );
    // The file itself is not in the bundle.
    assert!(
        !b.entries
            .values()
            .any(|v| String::from_utf8_lossy(v).contains("BEGIN CERTIFICATE"))
    );
}

fn servers(ca: &Ca) -> String {
    PUBLIC
        .iter()
        .map(|h| format!("{h}={}", https_server(ca, h, 200)))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn probes_reach_every_endpoint_and_trust_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("DigiCert Test Root (entra-collect tests)");
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let b = run(&[
        ("ENTRA_COLLECT_NO_NETWORK", "0".into()),
        ("ENTRA_COLLECT_PROBE_OVERRIDE", servers(&ca)),
        ("REQUESTS_CA_BUNDLE", pem.display().to_string()),
    ]);
    let p = b.json("network/probes.json");
    let results = p["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in results {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["tls"]["requests_ca_bundle"]["trusted"], true);
        assert_eq!(r["http_status"], 200);
    }
    assert_eq!(b.collector("network.probes")["status"], "ok");
}

#[test]
fn probes_through_an_intercepting_proxy_name_its_ca() {
    let inspection = Arc::new(Ca::new("Contoso TLS Inspection CA"));
    let p = proxy(ProxyMode::Intercept(inspection, 200));
    let b = run(&[
        ("ENTRA_COLLECT_NO_NETWORK", "0".into()),
        ("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}")),
        ("HTTPS_PROXY", "http://proxy.test:8080".into()),
    ]);
    let probes = b.json("network/probes.json");
    for r in probes["results"].as_array().unwrap() {
        assert_eq!(r["proxy"], "http://proxy.test:8080");
        assert_eq!(r["error_kind"], "tls_untrusted", "{r}");
        assert_eq!(
            r["tls"]["interception_ca"],
            "CN=Contoso TLS Inspection CA, O=Contoso TLS Inspection CA"
        );
    }
    let reason = b.collector("network.probes")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("login.microsoftonline.com: tls_untrusted"),
        "{reason}"
    );
}

#[test]
fn probes_through_a_denying_proxy() {
    let p = proxy(ProxyMode::Deny);
    let b = run(&[
        ("ENTRA_COLLECT_NO_NETWORK", "0".into()),
        ("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}")),
        ("HTTPS_PROXY", "http://proxy.test:8080".into()),
        ("NO_PROXY", "login.windows.net".into()),
        // login.windows.net goes direct: point it at a closed port.
        (
            "ENTRA_COLLECT_PROBE_OVERRIDE",
            format!("proxy.test={p},login.windows.net={}", closed_port()),
        ),
    ]);
    let probes = b.json("network/probes.json");
    let rs = probes["results"].as_array().unwrap();
    assert_eq!(rs[0]["proxy_status"], 403);
    assert_eq!(rs[0]["failed_stage"], "connect");
    assert_eq!(rs[3]["proxy"], serde_json::Value::Null);
    assert_eq!(rs[3]["error_kind"], "refused");
}

#[test]
fn probes_show_proxy_urls_without_credentials_and_still_reach_the_proxy() {
    let p = proxy(ProxyMode::Deny);
    let b = run(&[
        ("ENTRA_COLLECT_NO_NETWORK", "0".into()),
        ("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}")),
        // No scheme, raw `/`, `#`, `?` and `@` in the password.
        (
            "HTTPS_PROXY",
            "alice:canary/Pr#ob?e@x@proxy.test:8080".into(),
        ),
    ]);
    let text = b.text("network/probes.json");
    for c in ["canary", "/Pr#ob", "ob?e"] {
        assert!(!text.contains(c), "{c} leaked: {text}");
    }
    assert!(!b.all_text().contains("canary"));
    let probes = b.json("network/probes.json");
    let r = &probes["results"][0];
    assert_eq!(r["proxy"], "[REDACTED:url-credentials]@proxy.test:8080");
    // The probe still reached the proxy named after the credentials.
    assert_eq!(r["proxy_status"], 403, "{r}");
}

/// The probes take each client family's route (issue 14): with NO_PROXY set, Azure CLI goes
/// direct (Python ignores the registry), while PowerShell 7, WAM and Windows PowerShell use
/// the WinINET proxy; each route is probed once, with the families that take it, and the
/// proxy-only route is judged with the OS store.
#[test]
fn probes_take_each_client_familys_route() {
    let ca = Ca::new("DigiCert Test Root (entra-collect tests)");
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, ca.pem()).unwrap();
    let p = proxy(ProxyMode::Deny);
    let b = run(&[
        ("ENTRA_COLLECT_PLATFORM", "windows".into()),
        ("ENTRA_COLLECT_NO_NETWORK", "0".into()),
        (
            "ENTRA_COLLECT_PROBE_OVERRIDE",
            format!("{},wininet.test={p}", servers(&ca)),
        ),
        ("FAKE_WININET_SERVER", "wininet.test:8080".into()),
        ("NO_PROXY", ".contoso.com".into()),
        ("REQUESTS_CA_BUNDLE", pem.display().to_string()),
    ]);
    let probes = b.json("network/probes.json");
    let rs = probes["results"].as_array().unwrap();
    assert_eq!(rs.len(), 8, "{probes}");
    for (i, host) in PUBLIC.iter().enumerate() {
        let (direct, proxied) = (&rs[2 * i], &rs[2 * i + 1]);
        assert_eq!(direct["host"], *host);
        assert_eq!(direct["families"], serde_json::json!(["azure_cli"]));
        assert_eq!(direct["proxy"], serde_json::Value::Null);
        assert_eq!(direct["ok"], true, "{direct}");
        assert_eq!(proxied["host"], *host);
        assert_eq!(
            proxied["families"],
            serde_json::json!(["azure_cli_wam", "powershell7", "windows_powershell"])
        );
        assert_eq!(proxied["proxy"], "wininet.test:8080");
        assert_eq!(proxied["proxy_status"], 403, "{proxied}");
    }
    // Findings word Azure CLI's causes: its route worked, so no proxy finding for it.
    let ids: Vec<String> = b.json("findings.json")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !ids.iter()
            .any(|i| i.starts_with("proxy.") || i.starts_with("network.")),
        "{ids:?}"
    );
}
