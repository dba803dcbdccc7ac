//! Every finding id of docs/findings.md, produced end to end: `entra-collect collect` runs for
//! real with the fake tools on PATH, loopback servers and proxies in place of the Microsoft
//! endpoints, and the environment a user would have, so the collectors write the entries and
//! the real rules read them. A key renamed on either side switches a finding off here, where the
//! rule unit tests (which hand-write the entries) stay green.
//!
//! [`COVERAGE`] names the test of each id; `every_documented_id_has_a_test` compares it with the
//! table of docs/findings.md and checks that the named test asserts that id.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use common::tls::*;
use common::*;
use serde_json::Value;

/// Finding id → the test below that produces it through the collectors.
const COVERAGE: &[(&str, &str)] = &[
    (
        "proxy.tls-inspection",
        "tls_inspection_by_an_intercepting_proxy",
    ),
    (
        "ca-bundle.lacks-proxy-root",
        "requests_ca_bundle_lacks_the_proxy_root",
    ),
    ("proxy.blocked-endpoint", "proxy_refuses_connect_with_403"),
    ("proxy.auth-required", "proxy_requires_authentication"),
    ("proxy.upstream-failure", "proxy_answers_502"),
    ("network.dns", "proxy_name_does_not_resolve"),
    ("network.unreachable", "direct_connections_are_refused"),
    (
        "ca-bundle.missing",
        "requests_ca_bundle_names_a_missing_file",
    ),
    (
        "ca-bundle.invalid",
        "requests_ca_bundle_holds_no_certificate",
    ),
    (
        "ca-bundle.expired-certs",
        "requests_ca_bundle_holds_an_expired_root",
    ),
    (
        "tls.verification-disabled",
        "connection_verification_disabled",
    ),
    ("tls.legacy-protocols", "windows_registry_disables_tls12"),
    ("entra.aadsts", "sign_in_rejected_with_aadsts"),
    ("signin.post-auth-failure", "sign_in_fails_after_the_token"),
    ("tenant.mismatch", "default_subscription_in_another_tenant"),
    ("cache.stale-context", "contexts_of_several_tenants"),
    ("tool.outdated", "old_azure_cli"),
    ("tool.missing", "no_tool_on_path"),
    (
        "powershell.execution-policy",
        "scripts_disabled_by_group_policy",
    ),
    ("proxy.unreachable", "proxy_down_refuses_connections"),
    (
        "proxy.tls-to-proxy",
        "https_proxy_url_on_a_plain_http_proxy",
    ),
    ("proxy.unsupported-scheme", "unknown_proxy_scheme"),
];

/// The Microsoft endpoints the public-cloud probes visit.
const PUBLIC: [&str; 4] = [
    "login.microsoftonline.com",
    "management.azure.com",
    "graph.microsoft.com",
    "login.windows.net",
];

/// A CA that counts as one Microsoft endpoints use (its name holds "DigiCert").
const GOOD_CA: &str = "DigiCert Test Root (entra-collect tests)";
const INSPECTION_CA: &str = "Contoso TLS Inspection CA";
/// How `cert::describe` prints the subject of a [`Ca::new`] certificate.
fn subject(name: &str) -> String {
    format!("CN={name}, O={name}")
}

/// One collection: where it ran and the bundle it wrote.
struct Run {
    _dir: tempfile::TempDir,
    bundle: Bundle,
    /// The collection's stdout and stderr.
    output: std::process::Output,
}

/// What one collection is given.
#[derive(Default)]
struct Setup<'a> {
    /// PATH (default: the fake tools).
    path: Option<String>,
    envs: Vec<(&'a str, String)>,
    /// Arguments after `collect -q -o DIR`.
    args: Vec<&'a str>,
    /// Probe the endpoints (loopback only: every endpoint or proxy must be in
    /// ENTRA_COLLECT_PROBE_OVERRIDE).
    probes: bool,
    /// Copy tests/fixtures/context/azure to $HOME/.azure.
    az_profile: bool,
    /// Write $HOME/.mg/mg.authrecord.json with this tenant (Connect-MgGraph's saved account).
    mg_authrecord: Option<&'a str>,
}

impl<'a> Setup<'a> {
    fn env(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.envs.push((k, v.into()));
        self
    }
    fn args(mut self, a: &[&'a str]) -> Self {
        self.args.extend_from_slice(a);
        self
    }
    fn probes(mut self) -> Self {
        self.probes = true;
        self
    }
    fn az_profile(mut self) -> Self {
        self.az_profile = true;
        self
    }
    fn path(mut self, p: String) -> Self {
        self.path = Some(p);
        self
    }
    fn mg_authrecord(mut self, tenant: &'a str) -> Self {
        self.mg_authrecord = Some(tenant);
        self
    }

    fn run(self) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        if self.az_profile {
            let to = home.join(".azure");
            std::fs::create_dir_all(&to).unwrap();
            for e in std::fs::read_dir(fixtures().join("context/azure")).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
        if let Some(tenant) = self.mg_authrecord {
            std::fs::create_dir_all(home.join(".mg")).unwrap();
            std::fs::write(
                home.join(".mg/mg.authrecord.json"),
                format!(
                    r#"{{"username": "alice@contoso.com", "authority": "login.microsoftonline.com",
                    "tenantId": "{tenant}", "clientId": "14d82eec-204b-4c2f-b7e8-296a70dab67e",
                    "homeAccountId": "x.y", "version": "1.0"}}"#
                ),
            )
            .unwrap();
        }
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let mut c = bin(&self.path.unwrap_or_else(fake_path));
        c.env("HOME", &home)
            .timeout(std::time::Duration::from_secs(60));
        if self.probes {
            c.env("ENTRA_COLLECT_NO_NETWORK", "0");
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        let output = c
            .args(["collect", "-q", "--probe-timeout", "2", "-o"])
            .arg(&out)
            .args(&self.args)
            .assert()
            .success()
            .get_output()
            .clone();
        let bundle = read_bundle(&only_bundle(&out));
        Run {
            _dir: dir,
            bundle,
            output,
        }
    }
}

fn setup<'a>() -> Setup<'a> {
    Setup::default()
}

fn findings(b: &Bundle) -> Vec<Value> {
    b.json("findings.json")["findings"]
        .as_array()
        .expect("findings.json holds a findings array")
        .clone()
}

fn ids(fs: &[Value]) -> Vec<String> {
    fs.iter()
        .map(|f| f["id"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Every finding's evidence names an entry the bundle really holds, and never repeats the
/// host (`login.microsoftonline.com: login.microsoftonline.com: ...`).
fn evidence_names_entries(b: &Bundle) {
    for f in findings(b) {
        let ev = f["evidence"].as_array().unwrap();
        assert!(!ev.is_empty(), "{} has no evidence: {f:#}", f["id"]);
        for e in ev {
            let excerpt = e["excerpt"].as_str().unwrap_or("");
            for h in PUBLIC {
                assert!(
                    !excerpt.contains(&format!("{h}: {h}")),
                    "{}'s evidence repeats the host: {excerpt}",
                    f["id"]
                );
            }
            let file = e["file"].as_str().unwrap();
            assert!(
                b.entries.contains_key(file),
                "{}'s evidence names {file:?}, which is not an entry of the bundle ({:?})",
                f["id"],
                b.entries.keys().collect::<Vec<_>>()
            );
        }
    }
}

/// The finding `id` with `severity`, whose evidence names the entry `file`: returned for more
/// checks. Also checks that every finding's evidence names a real entry, and that `inspect`
/// recomputes the same ids from the bundle.
fn expect_finding(run: &Run, id: &str, severity: &str, file: &str) -> Value {
    let b = &run.bundle;
    let all = findings(b);
    let f = all
        .iter()
        .find(|f| f["id"] == id && f["severity"] == severity)
        .unwrap_or_else(|| {
            panic!(
                "no {severity} {id} in findings.json: {:?}\n{:#}",
                ids(&all),
                Value::Array(all.clone())
            )
        })
        .clone();
    let files: Vec<&str> = f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["file"].as_str())
        .collect();
    assert!(
        files.contains(&file),
        "{id}: evidence names {files:?}, not {file}: {f:#}"
    );
    evidence_names_entries(b);
    inspect_agrees(run, &all);
    f
}

/// `inspect` re-runs the rules on the bundle's entries: it finds the same ids.
fn inspect_agrees(run: &Run, collected: &[Value]) {
    let out = bin("/nonexistent")
        .args(["inspect", "--json"])
        .arg(&run.bundle.path)
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let again: Vec<Value> = v["findings"].as_array().unwrap().clone();
    assert_eq!(
        ids(&again),
        ids(collected),
        "inspect disagrees with collect"
    );
}

/// No warning and no error among the findings.
fn no_serious(b: &Bundle) {
    let serious: Vec<Value> = findings(b)
        .into_iter()
        .filter(|f| f["severity"] != "info")
        .collect();
    assert!(
        serious.is_empty(),
        "a healthy run has warnings or errors: {:#}",
        Value::Array(serious)
    );
    evidence_names_entries(b);
}

fn lacks(b: &Bundle, id: &str) {
    let all = findings(b);
    assert!(
        !ids(&all).iter().any(|i| i == id),
        "unexpected {id}: {:#}",
        Value::Array(all)
    );
}

/// Every endpoint answered by a loopback HTTPS server certified by `ca`.
fn servers(ca: &Ca) -> String {
    PUBLIC
        .iter()
        .map(|h| format!("{h}={}", https_server(ca, h, 200)))
        .collect::<Vec<_>>()
        .join(",")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A self-signed root that expired in 2020.
fn expired_root() -> String {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "Old Root");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.not_before = rcgen::date_time_ymd(2015, 1, 1);
    p.not_after = rcgen::date_time_ymd(2020, 1, 1);
    p.self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .pem()
}

/// All endpoints through the proxy `p` (HTTPS_PROXY), which the probes reach on loopback.
fn through<'a>(s: Setup<'a>, p: std::net::SocketAddr) -> Setup<'a> {
    s.probes()
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}"))
        .env("HTTPS_PROXY", "http://proxy.test:8080")
}

// ---------------------------------------------------------------- healthy

#[test]
fn a_healthy_linux_run_has_no_warning_or_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new(GOOD_CA);
    let bundle = write(tmp.path(), "ca.pem", &ca.pem());
    let run = setup()
        .probes()
        .az_profile()
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", servers(&ca))
        .env("REQUESTS_CA_BUNDLE", bundle)
        .env("FAKE_AZ_LOGIN", "ok")
        .args(&["--tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47"])
        .args(&["--", "az", "login"])
        .run();
    let b = &run.bundle;
    // The run really looked: probes went through, the sign-in ran, versions were read.
    assert_eq!(b.collector("network.probes")["status"], "ok");
    assert_eq!(b.json("network/probes.json")["results"][0]["ok"], true);
    assert_eq!(b.collector("debug.run")["commands"][0]["exit_code"], 0);
    assert_eq!(b.json("versions/az.json")["azure_cli"], "2.91.0");
    no_serious(b);
    inspect_agrees(&run, &findings(b));
}

#[test]
fn a_healthy_windows_run_has_no_warning_or_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new(GOOD_CA);
    let bundle = write(tmp.path(), "ca.pem", &ca.pem());
    let run = setup()
        .probes()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", servers(&ca))
        .env("REQUESTS_CA_BUNDLE", bundle)
        // Windows PowerShell 5.1 with strong crypto on (the fake registry's default) uses the
        // system's protocols.
        .env("FAKE_WINPS_SECURITY_PROTOCOL", "SystemDefault")
        .env("FAKE_AZ_LOGIN", "ok")
        .args(&["--", "az", "login"])
        .run();
    let b = &run.bundle;
    assert_eq!(b.manifest["host"]["platform"], "windows");
    assert_eq!(b.collector("network.probes")["status"], "ok");
    assert!(b.entries.contains_key("versions/windows-powershell.json"));
    assert_eq!(
        b.json("tls/settings.json")["schannel_protocols"]["TLS 1.2"]["client"],
        "os_default"
    );
    no_serious(b);
}

/// A correctly configured TLS-inspecting proxy (issue 15): its root is in REQUESTS_CA_BUNDLE, the
/// sign-in and the subscription listing succeed. Interception is worth knowing (info), nothing
/// more.
#[test]
fn a_healthy_run_through_a_trusted_intercepting_proxy_has_no_warning_or_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Arc::new(Ca::new(INSPECTION_CA));
    let bundle = write(tmp.path(), "corp.pem", &ca.pem());
    let p = proxy(ProxyMode::Intercept(ca, 200));
    let run = through(setup(), p)
        .az_profile()
        .env("REQUESTS_CA_BUNDLE", bundle)
        .env("FAKE_AZ_LOGIN", "ok")
        .args(&["--", "az", "login"])
        .run();
    let b = &run.bundle;
    assert_eq!(b.collector("debug.run")["commands"][0]["exit_code"], 0);
    let probes = b.json("network/probes.json");
    for r in probes["results"].as_array().unwrap() {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["tls"]["interception_ca"], subject(INSPECTION_CA), "{r}");
    }
    expect_finding(&run, "proxy.tls-inspection", "info", "network/probes.json");
    no_serious(b);
}

// ---------------------------------------------------------------- proxies and TLS

#[test]
fn tls_inspection_by_an_intercepting_proxy() {
    let p = proxy(ProxyMode::Intercept(Arc::new(Ca::new(INSPECTION_CA)), 200));
    let run = through(setup(), p).run();
    let f = expect_finding(&run, "proxy.tls-inspection", "error", "network/probes.json");
    assert!(
        f["title"].as_str().unwrap().contains(INSPECTION_CA),
        "{f:#}"
    );
    // The debug-log trigger (CERTIFICATE_VERIFY_FAILED and friends) is left to the unit tests.
}

/// The fix steps follow the bundle's platform: Linux gets no `setx` and no Windows
/// certificate store; Windows gets both the Azure CLI and the PowerShell steps.
#[test]
fn fix_steps_follow_the_platform() {
    let p = proxy(ProxyMode::Intercept(Arc::new(Ca::new(INSPECTION_CA)), 200));
    let run = through(setup(), p).run();
    let f = expect_finding(&run, "proxy.tls-inspection", "error", "network/probes.json");
    let fix = f["fix"].to_string();
    assert!(!fix.contains("setx"), "{f:#}");
    assert!(!fix.contains("Windows certificate store"), "{f:#}");
    assert!(fix.contains("REQUESTS_CA_BUNDLE"), "{f:#}");
    // Windows, Azure CLI and PowerShell both installed (the fake tools).
    let p = proxy(ProxyMode::Intercept(Arc::new(Ca::new(INSPECTION_CA)), 200));
    let run = through(setup(), p)
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .run();
    let f = expect_finding(&run, "proxy.tls-inspection", "error", "network/probes.json");
    let fix = f["fix"].to_string();
    assert!(fix.contains("setx REQUESTS_CA_BUNDLE"), "{f:#}");
    assert!(fix.contains("Windows certificate store"), "{f:#}");
    assert!(!fix.contains("update-ca-certificates"), "{f:#}");
}

#[test]
fn tls_inspection_trusted_through_requests_ca_bundle_is_info() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Arc::new(Ca::new(INSPECTION_CA));
    let bundle = write(tmp.path(), "corp.pem", &ca.pem());
    let p = proxy(ProxyMode::Intercept(ca, 200));
    let run = through(setup(), p).env("REQUESTS_CA_BUNDLE", bundle).run();
    expect_finding(&run, "proxy.tls-inspection", "info", "network/probes.json");
    no_serious(&run.bundle);
}

#[test]
fn requests_ca_bundle_lacks_the_proxy_root() {
    let tmp = tempfile::tempdir().unwrap();
    // Azure CLI verifies against a bundle that holds some root, but not the proxy's.
    let bundle = write(tmp.path(), "corp.pem", &Ca::new("Some Other Root").pem());
    let p = proxy(ProxyMode::Intercept(Arc::new(Ca::new(INSPECTION_CA)), 200));
    let run = through(setup(), p)
        .env("REQUESTS_CA_BUNDLE", bundle.clone())
        .run();
    let f = expect_finding(
        &run,
        "ca-bundle.lacks-proxy-root",
        "error",
        "tls/ca-bundles.json",
    );
    let title = f["title"].as_str().unwrap();
    assert!(title.contains(&subject(INSPECTION_CA)), "{f:#}");
    assert!(f["fix"][0].as_str().unwrap().contains(&bundle), "{f:#}");
    expect_finding(&run, "proxy.tls-inspection", "error", "network/probes.json");
    // The certifi bundle (no REQUESTS_CA_BUNDLE): certifi_bundle_lacks_the_proxy_root.
}

/// PATH with an Azure CLI launcher that names the fake Python of ../az-python first, the way
/// the Linux install's `az` runs `/opt/az/bin/python3 -Im azure.cli`; the fake tools after it.
fn az_with_python(dir: &Path) -> String {
    let bin = dir.join("az-launcher");
    std::fs::create_dir_all(&bin).unwrap();
    let python = fixtures().join("az-python/bin/python3");
    let az = bin.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/usr/bin/env bash\nif false; then {} -Im azure.cli \"$@\"; fi\nexec {} \"$@\"\n",
            python.display(),
            fixtures().join("bin/az").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), fake_path())
}

#[test]
fn certifi_bundle_lacks_the_proxy_root() {
    // No REQUESTS_CA_BUNDLE: Azure CLI verifies against its Python's certifi cacert.pem.
    let tmp = tempfile::tempdir().unwrap();
    let certifi = write(tmp.path(), "cacert.pem", &Ca::new(GOOD_CA).pem());
    let p = proxy(ProxyMode::Intercept(Arc::new(Ca::new(INSPECTION_CA)), 200));
    let run = through(setup(), p)
        .path(az_with_python(tmp.path()))
        .env("FAKE_CERTIFI", certifi.clone())
        .run();
    let bundles = run.bundle.json("tls/ca-bundles.json");
    assert_eq!(
        bundles["bundles"][0]["source"], "azure_cli_certifi",
        "{bundles:#}"
    );
    let f = expect_finding(
        &run,
        "ca-bundle.lacks-proxy-root",
        "error",
        "tls/ca-bundles.json",
    );
    assert!(f["fix"][0].as_str().unwrap().contains(&certifi), "{f:#}");
    expect_finding(&run, "proxy.tls-inspection", "error", "network/probes.json");
}

#[test]
fn certifi_bundle_holding_the_proxy_root_is_trusted() {
    // The fix the finding recommends: the proxy's root appended to Azure CLI's cacert.pem.
    let tmp = tempfile::tempdir().unwrap();
    let ca = Arc::new(Ca::new(INSPECTION_CA));
    let certifi = write(
        tmp.path(),
        "cacert.pem",
        &format!("{}{}", Ca::new(GOOD_CA).pem(), ca.pem()),
    );
    let p = proxy(ProxyMode::Intercept(ca, 200));
    let run = through(setup(), p)
        .path(az_with_python(tmp.path()))
        .env("FAKE_CERTIFI", certifi)
        .run();
    expect_finding(&run, "proxy.tls-inspection", "info", "network/probes.json");
    no_serious(&run.bundle);
}

#[test]
fn curl_ca_bundle_is_trusted_when_requests_ca_bundle_is_unset() {
    // requests (Azure CLI) reads REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE.
    let tmp = tempfile::tempdir().unwrap();
    let ca = Arc::new(Ca::new(INSPECTION_CA));
    let bundle = write(tmp.path(), "corp.pem", &ca.pem());
    let p = proxy(ProxyMode::Intercept(ca, 200));
    let run = through(setup(), p).env("CURL_CA_BUNDLE", bundle).run();
    expect_finding(&run, "proxy.tls-inspection", "info", "network/probes.json");
    no_serious(&run.bundle);
}

#[test]
fn curl_ca_bundle_is_ignored_when_requests_ca_bundle_is_set() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write(tmp.path(), "corp.pem", &Ca::new(GOOD_CA).pem());
    let junk = write(tmp.path(), "junk.cer", "not PEM\n");
    let run = setup()
        .env("REQUESTS_CA_BUNDLE", good)
        .env("CURL_CA_BUNDLE", junk)
        .run();
    lacks(&run.bundle, "ca-bundle.invalid");
    no_serious(&run.bundle);
}

#[test]
fn windows_system_proxy_refuses_connect_with_403() {
    // No HTTPS_PROXY: on Windows Azure CLI (Python's urllib) takes the WinINET proxy.
    let p = proxy(ProxyMode::Deny);
    let run = setup()
        .probes()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("FAKE_WININET_SERVER", "proxy.test:8080")
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}"))
        .run();
    expect_finding(
        &run,
        "proxy.blocked-endpoint",
        "error",
        "network/probes.json",
    );
}

#[test]
fn proxy_refuses_connect_with_403() {
    let run = through(setup(), proxy(ProxyMode::Deny)).run();
    let f = expect_finding(
        &run,
        "proxy.blocked-endpoint",
        "error",
        "network/probes.json",
    );
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("management.azure.com"),
        "{f:#}"
    );
    // The debug-log triggers (`Tunnel connection failed: 403`, a Resource Manager 403 without
    // AuthorizationFailed) are left to the unit tests.
}

#[test]
fn proxy_answers_403_to_the_request_after_intercepting() {
    // A TLS-inspecting proxy that serves a block page: the probe's GET gets 403 through it.
    let tmp = tempfile::tempdir().unwrap();
    let ca = Arc::new(Ca::new(INSPECTION_CA));
    let bundle = write(tmp.path(), "corp.pem", &ca.pem());
    let p = proxy(ProxyMode::Intercept(ca, 403));
    let run = through(setup(), p).env("REQUESTS_CA_BUNDLE", bundle).run();
    expect_finding(
        &run,
        "proxy.blocked-endpoint",
        "error",
        "network/probes.json",
    );
}

#[test]
fn proxy_requires_authentication() {
    let run = through(setup(), proxy(ProxyMode::Auth)).run();
    expect_finding(&run, "proxy.auth-required", "error", "network/probes.json");
    // The debug-log trigger (`407 Proxy Authentication Required`) is left to the unit tests.
}

/// The proxy offers only Negotiate/NTLM: Windows integrated authentication, not "add
/// credentials".
#[test]
fn proxy_wants_integrated_authentication() {
    let run = through(setup(), proxy(ProxyMode::Integrated)).run();
    let f = expect_finding(&run, "proxy.auth-required", "error", "network/probes.json");
    assert!(
        f["title"].as_str().unwrap().contains("Windows integrated"),
        "{f:#}"
    );
    let probes = run.bundle.json("network/probes.json");
    assert_eq!(
        probes["results"][0]["proxy_authenticate"],
        serde_json::json!(["Negotiate", "NTLM"])
    );
}

/// Credentials in the proxy URL go as Basic (as Azure CLI sends them); the proxy refuses these.
#[test]
fn proxy_rejects_the_credentials() {
    let p = proxy(ProxyMode::Basic {
        credentials: "alice:right".into(),
        upstream: closed_port(),
    });
    let run = setup()
        .probes()
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}"))
        .env("HTTPS_PROXY", "http://alice:wrong@proxy.test:8080")
        .run();
    let f = expect_finding(&run, "proxy.auth-required", "error", "network/probes.json");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("rejected the credentials"),
        "{f:#}"
    );
}

/// Credentials planted in HTTPS_PROXY authenticate the probe (the proxy checks them) and
/// appear nowhere: not in any entry of the bundle, not on stdout or stderr, in any of the
/// forms they could leak in (as written, decoded, the Basic token, URL-encoded).
#[test]
fn proxy_credentials_authenticate_and_never_leave_memory() {
    use base64::Engine;
    let (user, password) = ("al@ice", "S3cr/t:Pa55-w0rd");
    let ca = Ca::new(GOOD_CA);
    let tmp = tempfile::tempdir().unwrap();
    let bundle = write(tmp.path(), "ca.pem", &ca.pem());
    let server = https_server(&ca, "login.microsoftonline.com", 200);
    let p = proxy(ProxyMode::Basic {
        credentials: format!("{user}:{password}"),
        upstream: server,
    });
    let url = "http://al%40ice:S3cr%2Ft%3APa55-w0rd@proxy.test:8080";
    let run = setup()
        .probes()
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}"))
        .env("HTTPS_PROXY", url)
        .env("REQUESTS_CA_BUNDLE", bundle)
        .run();
    let probes = run.bundle.json("network/probes.json");
    let login = probes["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["host"] == "login.microsoftonline.com")
        .unwrap();
    assert_eq!(login["proxy_status"], 200, "{login:#}");
    assert_eq!(login["proxy_credentials"], true, "{login:#}");
    assert_eq!(login["ok"], true, "{login:#}");
    assert_eq!(
        login["proxy"], "http://[REDACTED:url-credentials]@proxy.test:8080",
        "{login:#}"
    );
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let needles = [
        password.to_string(),
        "S3cr%2Ft%3APa55-w0rd".to_string(),
        "S3cr%2Ft".to_string(),
        "Pa55-w0rd".to_string(),
        "al%40ice".to_string(),
        format!("{user}:"),
        b64(&format!("{user}:{password}")),
        b64(&format!("{user}:{password}"))[..12].to_string(),
        b64(url),
    ];
    let mut places: Vec<(String, &[u8])> = run
        .bundle
        .entries
        .iter()
        .map(|(n, d)| (n.clone(), d.as_slice()))
        .collect();
    places.push(("stdout".into(), &run.output.stdout));
    places.push(("stderr".into(), &run.output.stderr));
    assert!(
        places.len() > 10,
        "{:?}",
        places.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    for (name, data) in &places {
        let text = String::from_utf8_lossy(data);
        for n in &needles {
            assert!(!text.contains(n.as_str()), "{name} holds {n:?}");
        }
    }
}

#[test]
fn proxy_answers_502() {
    let run = through(setup(), proxy(ProxyMode::Status(502))).run();
    expect_finding(
        &run,
        "proxy.upstream-failure",
        "error",
        "network/probes.json",
    );
    lacks(&run.bundle, "proxy.blocked-endpoint");
    // The debug-log trigger (`Tunnel connection failed: 502`) is left to the unit tests.
}

/// A proxy that is down: nothing listens at its port. Every client on that route fails before
/// reaching Microsoft; the finding names the proxy and who uses it.
#[test]
fn proxy_down_refuses_connections() {
    let run = through(setup(), closed_port()).run();
    let f = expect_finding(&run, "proxy.unreachable", "error", "network/probes.json");
    let title = f["title"].as_str().unwrap();
    assert!(title.contains("http://proxy.test:8080"), "{f:#}");
    assert!(title.contains("refuses"), "{f:#}");
    assert!(title.contains("Azure CLI"), "{f:#}");
    lacks(&run.bundle, "network.unreachable");
}

/// A proxy that accepts the connection and never answers CONNECT.
#[test]
fn stalled_proxy_never_answers() {
    let run = through(setup(), silent_server()).run();
    let f = expect_finding(&run, "proxy.unreachable", "error", "network/probes.json");
    assert!(
        f["title"].as_str().unwrap().contains("never answers"),
        "{f:#}"
    );
}

/// Credentials in the proxy URL that a Basic proxy accepts: no 407 finding, and the probe gets
/// through.
#[test]
fn proxy_credentials_accepted_raise_no_auth_finding() {
    let ca = Ca::new(GOOD_CA);
    let tmp = tempfile::tempdir().unwrap();
    let bundle = write(tmp.path(), "ca.pem", &ca.pem());
    let upstream = https_server(&ca, "login.microsoftonline.com", 200);
    let p = proxy(ProxyMode::Basic {
        credentials: "alice:right".into(),
        upstream,
    });
    let run = setup()
        .probes()
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}"))
        .env("HTTPS_PROXY", "http://alice:right@proxy.test:8080")
        .env("REQUESTS_CA_BUNDLE", bundle)
        .run();
    let probes = run.bundle.json("network/probes.json");
    assert_eq!(probes["results"][0]["proxy_status"], 200, "{probes:#}");
    lacks(&run.bundle, "proxy.auth-required");
}

/// `HTTPS_PROXY=https://...` on a proxy that speaks plain HTTP: the TLS to the proxy fails.
#[test]
fn https_proxy_url_on_a_plain_http_proxy() {
    let p = proxy(ProxyMode::Deny);
    let run = setup()
        .probes()
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}"))
        .env("HTTPS_PROXY", "https://proxy.test:8080")
        .run();
    let f = expect_finding(&run, "proxy.tls-to-proxy", "error", "network/probes.json");
    assert!(
        f["fix"][0]
            .as_str()
            .unwrap()
            .contains("http://proxy.test:8080"),
        "{f:#}"
    );
}

/// An `https://` proxy whose own certificate Azure CLI does not trust.
#[test]
fn https_proxy_with_an_untrusted_certificate() {
    let ca = Ca::new("Contoso Proxy CA");
    let p = https_proxy(&ca, "proxy.test", closed_port());
    let run = setup()
        .probes()
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", format!("proxy.test={p}"))
        .env("HTTPS_PROXY", "https://proxy.test:8443")
        .run();
    let f = expect_finding(&run, "proxy.tls-to-proxy", "error", "network/probes.json");
    assert!(
        f["title"].as_str().unwrap().contains("not trusted"),
        "{f:#}"
    );
}

#[test]
fn unknown_proxy_scheme() {
    let run = setup()
        .probes()
        .env("HTTPS_PROXY", "ftp://proxy.test:2121")
        .run();
    let f = expect_finding(
        &run,
        "proxy.unsupported-scheme",
        "error",
        "network/probes.json",
    );
    assert!(
        f["fix"][0]
            .as_str()
            .unwrap()
            .contains("http://proxy.test:2121"),
        "{f:#}"
    );
}

/// The tunnel is up and an inspecting proxy answers the request itself with 502.
#[test]
fn proxy_answers_502_inside_the_tunnel() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Arc::new(Ca::new(INSPECTION_CA));
    let bundle = write(tmp.path(), "corp.pem", &ca.pem());
    let p = proxy(ProxyMode::Intercept(ca, 502));
    let run = through(setup(), p).env("REQUESTS_CA_BUNDLE", bundle).run();
    let f = expect_finding(
        &run,
        "proxy.upstream-failure",
        "error",
        "network/probes.json",
    );
    assert!(
        f.to_string().contains("GET through the proxy answered 502"),
        "{f:#}"
    );
}

#[test]
fn proxy_name_does_not_resolve() {
    // The endpoint names themselves cannot be made to fail without asking a real DNS server;
    // a proxy name with an empty label fails in the local resolver (glibc rejects it before
    // sending a query), which the probes record as a DNS failure like any other.
    let run = setup()
        .probes()
        .env("HTTPS_PROXY", "http://proxy..invalid:8080")
        .run();
    let probes = run.bundle.json("network/probes.json");
    assert_eq!(probes["results"][0]["error_kind"], "dns", "{probes:#}");
    expect_finding(&run, "network.dns", "error", "network/probes.json");
}

#[test]
fn name_resolution_error_in_the_az_debug_log() {
    // Azure CLI 2.91.0's real output offline (../az/login-sp-debug-offline.real.txt).
    let run = setup()
        .env("FAKE_AZ_REPLAY", "login-sp-debug-offline.real.txt")
        .args(&["--", "az", "login", "--service-principal", "-u", "app"])
        .run();
    let f = expect_finding(&run, "network.dns", "error", "debug/az-login.log");
    assert!(
        f["evidence"][0]["excerpt"]
            .as_str()
            .unwrap()
            .contains("NameResolutionError"),
        "{f:#}"
    );
}

#[test]
fn direct_connections_are_refused() {
    let closed = closed_port();
    let run = setup()
        .probes()
        .env(
            "ENTRA_COLLECT_PROBE_OVERRIDE",
            PUBLIC
                .iter()
                .map(|h| format!("{h}={closed}"))
                .collect::<Vec<_>>()
                .join(","),
        )
        .run();
    let f = expect_finding(&run, "network.unreachable", "error", "network/probes.json");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("login.microsoftonline.com"),
        "{f:#}"
    );
}

// ---------------------------------------------------------------- CA bundles

#[test]
fn requests_ca_bundle_names_a_missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.pem").display().to_string();
    let run = setup().env("REQUESTS_CA_BUNDLE", missing.clone()).run();
    let f = expect_finding(&run, "ca-bundle.missing", "error", "tls/ca-bundles.json");
    assert!(
        f["evidence"][0]["excerpt"]
            .as_str()
            .unwrap()
            .contains(&missing),
        "{f:#}"
    );
}

#[test]
fn requests_ca_bundle_holds_no_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    // certmgr's "DER encoded binary X.509 (.CER)" export instead of Base64.
    let path = tmp.path().join("corp.cer");
    std::fs::write(&path, Ca::new(INSPECTION_CA).der()).unwrap();
    let bundle = path.display().to_string();
    let run = setup().env("REQUESTS_CA_BUNDLE", bundle.clone()).run();
    let f = expect_finding(&run, "ca-bundle.invalid", "error", "tls/ca-bundles.json");
    assert_eq!(
        run.bundle.json("tls/ca-bundles.json")["bundles"][0]["format"],
        "der"
    );
    assert!(f["detail"].as_str().unwrap().contains("DER"), "{f:#}");
    let fix: Vec<&str> = f["fix"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x.as_str())
        .collect();
    assert!(
        fix.iter().any(|x| x.contains(&format!(
            "openssl x509 -inform DER -in {bundle} -out root.pem"
        ))),
        "{f:#}"
    );
    // A Linux bundle: no Windows-only conversion (certutil, certmgr).
    assert!(
        !fix.iter()
            .any(|x| x.contains("certutil") || x.contains("certmgr")),
        "{f:#}"
    );
}

#[test]
fn one_file_named_by_two_variables_is_one_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("corp.cer");
    std::fs::write(&path, Ca::new(INSPECTION_CA).der()).unwrap();
    let bundle = path.display().to_string();
    let run = setup()
        .env("REQUESTS_CA_BUNDLE", bundle.clone())
        .env("CURL_CA_BUNDLE", bundle)
        .run();
    let f = expect_finding(&run, "ca-bundle.invalid", "error", "tls/ca-bundles.json");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE"),
        "{f:#}"
    );
    let all = findings(&run.bundle);
    assert_eq!(
        all.iter()
            .filter(|f| f["id"] == "ca-bundle.invalid")
            .count(),
        1,
        "{:#}",
        Value::Array(all.clone())
    );
}

#[test]
fn requests_ca_bundle_holds_an_expired_root() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = write(
        tmp.path(),
        "corp.pem",
        &format!("{}{}", Ca::new(GOOD_CA).pem(), expired_root()),
    );
    let run = setup().env("REQUESTS_CA_BUNDLE", bundle).run();
    expect_finding(
        &run,
        "ca-bundle.expired-certs",
        "info",
        "tls/ca-bundles.json",
    );
    no_serious(&run.bundle);
}

// ---------------------------------------------------------------- TLS settings

#[test]
fn connection_verification_disabled() {
    let run = setup()
        .env("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION", "1")
        .run();
    expect_finding(
        &run,
        "tls.verification-disabled",
        "warning",
        "environment.json",
    );
}

#[test]
fn an_empty_disable_verification_variable_changes_nothing() {
    // Azure CLI: bool(os.environ.get("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION")).
    let run = setup()
        .env("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION", "")
        .run();
    assert_eq!(
        run.bundle.json("environment.json")["variables"]["AZURE_CLI_DISABLE_CONNECTION_VERIFICATION"]
            ["set"],
        true
    );
    lacks(&run.bundle, "tls.verification-disabled");
}

#[test]
fn windows_registry_disables_tls12() {
    let run = setup()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("FAKE_REG_MODE", "legacy")
        .run();
    let f = expect_finding(&run, "tls.legacy-protocols", "error", "tls/settings.json");
    let excerpts: Vec<&str> = f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["excerpt"].as_str())
        .collect();
    assert!(
        excerpts
            .iter()
            .any(|e| e.contains("SCHANNEL TLS 1.2 Client")),
        "{f:#}"
    );
    assert!(
        excerpts
            .iter()
            .any(|e| e.contains("SchUseStrongCrypto = 0")),
        "{f:#}"
    );
    // The fake's v2.0.50727 keys are 0 too, but Windows PowerShell 5.1 (CLR 4) never reads them.
    assert!(!excerpts.iter().any(|e| e.contains("v2.0.50727")), "{f:#}");
    // The debug-log trigger (AADSTS1002016) is left to the unit tests.
}

#[test]
fn windows_powershell_without_tls12_is_a_warning() {
    // The fake Windows PowerShell reports SecurityProtocol "Ssl3, Tls" (no TLS 1.2).
    let run = setup().env("ENTRA_COLLECT_PLATFORM", "windows").run();
    expect_finding(
        &run,
        "tls.legacy-protocols",
        "warning",
        "versions/windows-powershell.json",
    );
}

// ---------------------------------------------------------------- the sign-in

#[test]
fn sign_in_rejected_with_aadsts() {
    // The fake az login fails with AADSTS7000215 (invalid client secret).
    let run = setup()
        .args(&[
            "--",
            "az",
            "login",
            "--service-principal",
            "-u",
            "app",
            "-p",
            "pw",
            "--tenant",
            "t",
        ])
        .run();
    let f = expect_finding(&run, "entra.aadsts", "error", "debug/az-login.log");
    assert!(
        f["title"].as_str().unwrap().contains("AADSTS7000215"),
        "{f:#}"
    );
    lacks(&run.bundle, "signin.post-auth-failure");
}

/// Ranking (issue 15): the sign-in stopped at Entra ID (AADSTS7000215 in the token answer),
/// while the probes also see Resource Manager blocked by the proxy. The run never got that far,
/// so the AADSTS finding comes first (basis `failing_request`, confidence 90+, the stop line in
/// its evidence) and the blocked endpoint follows, marked "Also:" (basis `probe`).
#[test]
fn the_failing_request_ranks_before_what_only_the_probes_see() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new(GOOD_CA);
    let bundle = write(tmp.path(), "ca.pem", &ca.pem());
    let deny = proxy(ProxyMode::Deny);
    let direct = [
        "login.microsoftonline.com",
        "graph.microsoft.com",
        "login.windows.net",
    ];
    let overrides = direct
        .iter()
        .map(|h| format!("{h}={}", https_server(&ca, h, 200)))
        .chain([format!("proxy.test={deny}")])
        .collect::<Vec<_>>()
        .join(",");
    let run = setup()
        .probes()
        .env("ENTRA_COLLECT_PROBE_OVERRIDE", overrides)
        .env("HTTPS_PROXY", "http://proxy.test:8080")
        .env("NO_PROXY", direct.join(","))
        .env("REQUESTS_CA_BUNDLE", bundle)
        .args(&[
            "--",
            "az",
            "login",
            "--service-principal",
            "-u",
            "app",
            "-p",
            "pw",
            "--tenant",
            "t",
        ])
        .run();
    let all = findings(&run.bundle);
    assert_eq!(
        ids(&all)[..2],
        ["entra.aadsts", "proxy.blocked-endpoint"],
        "{all:#?}"
    );
    let (cause, also) = (&all[0], &all[1]);
    assert_eq!(cause["basis"], "failing_request");
    assert!(cause["confidence"].as_u64().unwrap() >= 90, "{cause:#}");
    assert_eq!(cause["evidence"][0]["file"], "debug/az-login.log");
    assert!(
        cause["evidence"][0]["excerpt"]
            .as_str()
            .unwrap()
            .contains("AADSTS7000215"),
        "{cause:#}"
    );
    assert_eq!(also["basis"], "probe");
    assert!(
        also["title"].as_str().unwrap().starts_with("Also: "),
        "{also:#}"
    );
    assert!(also["confidence"].as_u64().unwrap() < 80, "{also:#}");
    inspect_agrees(&run, &all);
}

/// A run that signed in (exit 0): what only the probes see (Resource Manager blocked) may break
/// a later command, but did not break this sign-in: a warning, not an error.
#[test]
fn a_successful_sign_in_demotes_what_only_the_probes_see() {
    let run = through(setup(), proxy(ProxyMode::Deny))
        .env("FAKE_AZ_LOGIN", "ok")
        .args(&["--", "az", "login"])
        .run();
    assert_eq!(
        run.bundle.collector("debug.run")["commands"][0]["exit_code"],
        0
    );
    let f = expect_finding(
        &run,
        "proxy.blocked-endpoint",
        "warning",
        "network/probes.json",
    );
    assert_eq!(f["basis"], "probe");
    assert!(!f["title"].as_str().unwrap().starts_with("Also"), "{f:#}");
}

#[test]
fn connect_azaccount_rejected_with_aadsts() {
    // The preset through PowerShell 7: its concise error view carries the AADSTS code.
    let run = setup()
        .env("FAKE_PWSH_ECHO", "1")
        .args(&["--run", "azps"])
        .run();
    let f = expect_finding(&run, "entra.aadsts", "error", "debug/connect-azaccount.log");
    assert!(
        f["title"].as_str().unwrap().contains("AADSTS7000215"),
        "{f:#}"
    );
}

/// `az login` succeeds; one tenant of the account wants MFA (Azure CLI's per-tenant warning).
#[test]
fn aadsts_in_a_per_tenant_warning_of_a_successful_sign_in_is_info() {
    let run = setup()
        .env("FAKE_AZ_REPLAY", "login-per-tenant-warning.synthetic.txt")
        .env("FAKE_AZ_EXIT", "0")
        .args(&["--", "az", "login"])
        .run();
    assert_eq!(
        run.bundle.collector("debug.run")["commands"][0]["exit_code"],
        0
    );
    let f = expect_finding(&run, "entra.aadsts", "info", "debug/az-login.log");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("54826b22-38d6-4fb2-bad9-b7b93a3e9c5a"),
        "{f:#}"
    );
    assert!(
        !findings(&run.bundle)
            .iter()
            .any(|f| f["id"] == "entra.aadsts" && f["severity"] == "error")
    );
}

#[test]
fn sign_in_fails_after_the_token() {
    let run = setup()
        .env("FAKE_AZ_REPLAY", "login-post-auth-failure.synthetic.txt")
        .args(&["--", "az", "login", "--service-principal", "-u", "app"])
        .run();
    expect_finding(
        &run,
        "signin.post-auth-failure",
        "warning",
        "debug/az-login.log",
    );
    lacks(&run.bundle, "entra.aadsts");
}

// ---------------------------------------------------------------- contexts

#[test]
fn default_subscription_in_another_tenant() {
    // The default subscription (Contoso Prod) is in 72f988bf-...; the user asks for Fabrikam's.
    let run = setup()
        .az_profile()
        .mg_authrecord("72f988bf-86f1-41af-91ab-2d7cd011db47")
        .args(&["--tenant", "9a9a9a9a-0000-4000-8000-0000000000ff"])
        .run();
    let f = expect_finding(&run, "tenant.mismatch", "warning", "context/az.json");
    let files: BTreeSet<&str> = f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["file"].as_str())
        .collect();
    // Azure PowerShell's current context and Graph's auth record (not Get-MgContext, always
    // null in a new process) are in 72f988bf-... too.
    assert!(files.contains("context/azps-pwsh.json"), "{f:#}");
    assert!(files.contains("context/mg-authrecord.json"), "{f:#}");
    assert!(!files.contains("context/mg-pwsh.json"), "{f:#}");
}

#[test]
fn contexts_of_several_tenants() {
    // Azure CLI's profile holds subscriptions in two tenants; PowerShell is absent, so only
    // Azure CLI's contexts count.
    let tmp = tempfile::tempdir().unwrap();
    let only_az = tmp.path().join("bin");
    std::fs::create_dir_all(&only_az).unwrap();
    std::os::unix::fs::symlink(fixtures().join("bin/az"), only_az.join("az")).unwrap();
    let run = setup()
        .path(format!("{}:/usr/bin:/bin", only_az.display()))
        .az_profile()
        .run();
    assert!(!run.bundle.entries.contains_key("context/azps-pwsh.json"));
    expect_finding(&run, "cache.stale-context", "info", "context/az.json");
}

// ---------------------------------------------------------------- tools

#[test]
fn old_azure_cli() {
    let run = setup().env("FAKE_AZ_VERSION", "2.84.0").run();
    let f = expect_finding(&run, "tool.outdated", "info", "versions/az.json");
    assert!(f["title"].as_str().unwrap().contains("2.84.0"), "{f:#}");
}

#[test]
fn azure_cli_within_six_minor_releases_is_not_outdated() {
    let run = setup().env("FAKE_AZ_VERSION", "2.85.0").run();
    lacks(&run.bundle, "tool.outdated");
}

#[test]
fn retired_powershell_modules() {
    let run = setup().env("FAKE_PWSH_MODULES", "retired").run();
    let fs = findings(&run.bundle);
    let titles: Vec<&str> = fs
        .iter()
        .filter(|f| f["id"] == "tool.outdated")
        .filter_map(|f| f["title"].as_str())
        .collect();
    for m in ["Az.Accounts 1.9.5", "Microsoft.Graph.Authentication 1.28.0"] {
        assert!(titles.iter().any(|t| t.contains(m)), "{m}: {titles:?}");
    }
    expect_finding(&run, "tool.outdated", "warning", "versions/pwsh.json");
}

/// Group Policy AllSigned and an Az.Accounts import refused with UnauthorizedAccess: the
/// fix is the administrator's, not Set-ExecutionPolicy.
#[test]
fn scripts_disabled_by_group_policy() {
    let run = setup().env("FAKE_PWSH_SCRIPTS_DISABLED", "1").run();
    let f = expect_finding(
        &run,
        "powershell.execution-policy",
        "warning",
        "versions/pwsh.json",
    );
    let text = f.to_string();
    assert!(text.contains("MachinePolicy = AllSigned"), "{f:#}");
    assert!(text.contains("UnauthorizedAccess"), "{f:#}");
    assert!(text.contains("administrator"), "{f:#}");
}

#[test]
fn default_execution_policy_raises_nothing() {
    lacks(&setup().run().bundle, "powershell.execution-policy");
}

#[test]
fn no_tool_on_path() {
    let tmp = tempfile::tempdir().unwrap();
    let run = setup().path(empty_path(tmp.path())).run();
    assert_eq!(run.bundle.collector("versions.az")["status"], "skipped");
    assert_eq!(
        run.bundle.collector("versions.powershell")["status"],
        "skipped"
    );
    expect_finding(&run, "tool.missing", "warning", "manifest.json");
}

// ---------------------------------------------------------------- coverage

/// The ids in the first column of the table under "## Ids" in docs/findings.md.
fn documented_ids() -> BTreeSet<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md"))
            .unwrap();
    let table = doc
        .split("## Ids")
        .nth(1)
        .expect("docs/findings.md has an `## Ids` section");
    let ids: BTreeSet<String> = table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1))
        .map(|c| c.trim().trim_matches('`').to_string())
        .filter(|c| c.contains('.'))
        .collect();
    assert!(ids.len() >= 10, "could not read the id table: {ids:?}");
    ids
}

#[test]
fn every_documented_id_has_a_test() {
    let documented = documented_ids();
    let covered: BTreeSet<String> = COVERAGE.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(
        covered.len(),
        COVERAGE.len(),
        "an id is listed twice in COVERAGE"
    );
    let missing: Vec<&String> = documented.difference(&covered).collect();
    let stale: Vec<&String> = covered.difference(&documented).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/findings.md ids without a test here: {missing:?}; tests of ids the doc does not list: {stale:?}"
    );
    // Each named test exists and asserts its id through expect_finding.
    let src = include_str!("findings_e2e.rs");
    for (id, test) in COVERAGE {
        let head = format!("#[test]\nfn {test}() {{");
        let start = src
            .find(&head)
            .unwrap_or_else(|| panic!("COVERAGE names {test} for {id}, but there is no such test"));
        let body = &src[start..];
        let body = &body[..body
            .find("\n}\n")
            .expect("a test ends with `}` on its own line")];
        let call = regex::Regex::new(&format!(
            r#"expect_finding\(\s*&run,\s*"{}""#,
            regex::escape(id)
        ))
        .unwrap();
        assert!(
            call.is_match(body),
            "{test} (the test of {id}) does not call expect_finding(&run, \"{id}\", ...)"
        );
    }
}
