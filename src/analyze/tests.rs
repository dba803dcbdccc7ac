use serde_json::json;

use super::*;
use crate::bundle::manifest::{CollectorRecord, CommandRecord, Status};

pub(crate) fn collector(id: &str, status: Status, exit: Option<i32>) -> CollectorRecord {
    CollectorRecord {
        id: id.into(),
        status,
        reason: None,
        started_at: None,
        duration_ms: 0,
        entries: vec![],
        commands: exit
            .map(|c| {
                vec![CommandRecord {
                    command_line: vec!["az".into()],
                    program_path: "az".into(),
                    exit_code: Some(c),
                    timed_out: false,
                    interrupted: false,
                    truncated: false,
                    lossy_utf8: false,
                    encoding: "utf-8".into(),
                    duration_ms: 0,
                    stdout_bytes: 0,
                    stderr_bytes: 0,
                }]
            })
            .unwrap_or_default(),
    }
}

fn ok_probe(host: &str) -> serde_json::Value {
    json!({"host": host, "ok": true, "proxy": null, "http_status": 200,
           "tls": {"interception_ca": null, "chain": [{"issuer": "CN=DigiCert Global Root G2"}]}})
}

/// A healthy machine: everything reachable, current versions, TLS fine, one context.
pub(crate) fn healthy() -> Texts {
    let mut t = Texts::new();
    t.insert("network/probes.json".into(), json!({"results": [ok_probe("login.microsoftonline.com"), ok_probe("management.azure.com")]}).to_string());
    t.insert(
        "environment.json".into(),
        json!({"variables": {"AZURE_CLI_DISABLE_CONNECTION_VERIFICATION": {"set": false}}})
            .to_string(),
    );
    t.insert("tls/settings.json".into(), json!({"schannel_protocols": {"TLS 1.2": {"client": "os_default"}}, "dotnet_framework_strong_crypto": {"k": {"SchUseStrongCrypto": 1}}}).to_string());
    t.insert("tls/ca-bundles.json".into(), json!({"bundles": [{"source": "azure_cli_certifi", "path": "/opt/az/cacert.pem", "used_by_azure_cli": true, "exists": true, "readable": true, "certificates": 140, "expired": 0, "certs": [{"subject": "CN=DigiCert Global Root G2"}]}]}).to_string());
    t.insert(
        "versions/az.json".into(),
        json!({"azure_cli": "2.91.0"}).to_string(),
    );
    t.insert("versions/pwsh.json".into(), json!({"modules": [{"name": "Az.Accounts", "version": "5.1.1"}, {"name": "Microsoft.Graph.Authentication", "version": "2.28.0"}]}).to_string());
    t.insert("context/az.json".into(), json!({"subscriptions": [{"tenant_id": "t1", "user_name": "alice@contoso.com", "is_default": true, "tenant_comparison": "match"}]}).to_string());
    t
}

fn run(texts: &Texts, collectors: &[CollectorRecord]) -> Vec<Finding> {
    analyze(&Model { texts, collectors }, Lang::En)
}

fn ids(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|x| x.id.as_str()).collect()
}

fn serious(f: &[Finding]) -> Vec<&str> {
    f.iter()
        .filter(|x| x.severity != Severity::Info)
        .map(|x| x.id.as_str())
        .collect()
}

pub(crate) fn with(mut t: Texts, name: &str, v: serde_json::Value) -> Texts {
    t.insert(name.into(), v.to_string());
    t
}

pub(crate) fn log(t: Texts, text: &str) -> Texts {
    let mut t = t;
    t.insert("debug/az-login.log".into(), text.into());
    t
}

#[test]
fn a_healthy_machine_has_no_warning_or_error() {
    let cs = [collector("debug.run", Status::Ok, Some(0))];
    assert_eq!(serious(&run(&healthy(), &cs)), Vec::<&str>::new());
    assert!(
        run(&Texts::new(), &[]).is_empty(),
        "an empty bundle claims nothing"
    );
}

pub(crate) fn intercepted(error_kind: &str) -> serde_json::Value {
    json!({"results": [{"host": "login.microsoftonline.com", "ok": false, "proxy": "http://p:8080", "error_kind": error_kind,
        "tls": {"interception_ca": "CN=Contoso TLS Inspection CA"}}]})
}

#[test]
fn tls_inspection_from_probes_names_the_ca_and_lacks_root() {
    let f = run(
        &with(
            healthy(),
            "network/probes.json",
            intercepted("tls_untrusted"),
        ),
        &[],
    );
    assert_eq!(
        ids(&f)[..2],
        ["proxy.tls-inspection", "ca-bundle.lacks-proxy-root"]
    );
    assert!(f[0].title.contains("Contoso TLS Inspection CA"));
    assert!(f[0].fix[0].contains("REQUESTS_CA_BUNDLE"));
    assert!(f[0].fix[2].contains("Windows certificate store"));
    assert!(f[1].fix[0].contains("/opt/az/cacert.pem"));
}

#[test]
fn tls_inspection_from_the_log_alone() {
    let t = log(
        healthy(),
        "requests.exceptions.SSLError: HTTPSConnectionPool(host='login.microsoftonline.com', port=443): Max retries exceeded (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))",
    );
    let f = run(&t, &[]);
    assert_eq!(f[0].id, "proxy.tls-inspection");
    assert_eq!(f[0].severity, Severity::Error);
}

#[test]
fn trusted_inspection_is_only_info_and_other_tls_errors_are_not_interception() {
    let f = run(
        &with(
            healthy(),
            "network/probes.json",
            json!({"results": [{"host": "h", "ok": true, "tls": {"interception_ca": "CN=Corp CA"}}]}),
        ),
        &[],
    );
    assert_eq!(serious(&f), Vec::<&str>::new());
    assert!(ids(&f).contains(&"proxy.tls-inspection"));
    let f = run(
        &with(
            healthy(),
            "network/probes.json",
            json!({"results": [{"host": "h", "ok": false, "failed_stage": "tls", "error_kind": "tls_protocol", "tls": null}]}),
        ),
        &[],
    );
    assert!(!ids(&f).contains(&"proxy.tls-inspection"));
}

#[test]
fn bundle_holding_the_proxy_root_is_not_flagged() {
    let t = with(
        healthy(),
        "network/probes.json",
        intercepted("tls_untrusted"),
    );
    let t = with(
        t,
        "tls/ca-bundles.json",
        json!({"bundles": [{"source": "REQUESTS_CA_BUNDLE", "path": "/corp.pem", "used_by_azure_cli": true, "exists": true, "certificates": 1, "certs": [{"subject": "CN=Contoso TLS Inspection CA"}]}]}),
    );
    assert!(!ids(&run(&t, &[])).contains(&"ca-bundle.lacks-proxy-root"));
}

#[test]
fn blocked_endpoint_from_probe_and_from_log() {
    let probes = json!({"results": [{"host": "management.azure.com", "ok": false, "proxy": "http://p", "proxy_status": 403, "failed_stage": "connect", "error_kind": "proxy_status"}]});
    let f = run(&with(healthy(), "network/probes.json", probes), &[]);
    assert_eq!(f[0].id, "proxy.blocked-endpoint");
    assert!(f[0].title.contains("management.azure.com"));
    let t = log(
        healthy(),
        "DEBUG: urllib3.connectionpool: https://login.microsoftonline.com:443 \"POST /t/oauth2/v2.0/token HTTP/1.1\" 200 1370\nDEBUG: urllib3.connectionpool: https://management.azure.com:443 \"GET /subscriptions?api-version=2022-12-01 HTTP/1.1\" 403 None",
    );
    assert_eq!(run(&t, &[])[0].id, "proxy.blocked-endpoint");
    let t = log(
        healthy(),
        "ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 403 Forbidden'))",
    );
    assert_eq!(run(&t, &[])[0].id, "proxy.blocked-endpoint");
}

#[test]
fn an_arm_authorization_403_is_not_a_proxy_block() {
    let t = log(
        healthy(),
        "https://management.azure.com:443 \"GET /subscriptions HTTP/1.1\" 403 253\n{\"error\":{\"code\":\"AuthorizationFailed\"}}",
    );
    assert!(!ids(&run(&t, &[])).contains(&"proxy.blocked-endpoint"));
}

#[test]
fn proxy_auth_and_upstream() {
    let p = |code: u16| json!({"results": [{"host": "login.microsoftonline.com", "ok": false, "proxy": "http://p", "proxy_status": code}]});
    assert_eq!(
        run(&with(healthy(), "network/probes.json", p(407)), &[])[0].id,
        "proxy.auth-required"
    );
    assert_eq!(
        run(&with(healthy(), "network/probes.json", p(502)), &[])[0].id,
        "proxy.upstream-failure"
    );
    let t = log(
        healthy(),
        "OSError('Tunnel connection failed: 407 Proxy Authentication Required')",
    );
    assert_eq!(run(&t, &[])[0].id, "proxy.auth-required");
}

#[test]
fn dns_and_unreachable() {
    let t = with(
        healthy(),
        "network/probes.json",
        json!({"results": [{"host": "login.microsoftonline.com", "ok": false, "proxy": null, "failed_stage": "dns", "error_kind": "dns", "error": "login.microsoftonline.com: failed to lookup"}]}),
    );
    assert_eq!(run(&t, &[])[0].id, "network.dns");
    let t = log(
        healthy(),
        "NameResolutionError(\"HTTPSConnection(host='login.microsoftonline.com', port=443): Failed to resolve\")",
    );
    assert_eq!(run(&t, &[])[0].id, "network.dns");
    let t = with(
        healthy(),
        "network/probes.json",
        json!({"results": [{"host": "graph.microsoft.com", "ok": false, "proxy": null, "failed_stage": "tcp", "error_kind": "timeout"}]}),
    );
    assert_eq!(run(&t, &[])[0].id, "network.unreachable");
    // Through a proxy, a refused connection is the proxy's business, not "unreachable".
    let t = with(
        healthy(),
        "network/probes.json",
        json!({"results": [{"host": "g", "ok": false, "proxy": "http://p", "failed_stage": "tcp", "error_kind": "refused"}]}),
    );
    assert!(!ids(&run(&t, &[])).contains(&"network.unreachable"));
}

#[test]
fn ca_bundle_problems() {
    let b = |x: serde_json::Value| with(healthy(), "tls/ca-bundles.json", json!({"bundles": [x]}));
    let f = run(
        &b(
            json!({"source": "REQUESTS_CA_BUNDLE", "path": "/nope.pem", "used_by_azure_cli": true, "exists": false}),
        ),
        &[],
    );
    assert_eq!(f[0].id, "ca-bundle.missing");
    let f = run(
        &b(
            json!({"source": "REQUESTS_CA_BUNDLE", "path": "/der.cer", "used_by_azure_cli": true, "exists": true, "readable": true, "certificates": 0}),
        ),
        &[],
    );
    assert_eq!(f[0].id, "ca-bundle.invalid");
    let f = run(
        &b(
            json!({"source": "REQUESTS_CA_BUNDLE", "path": "/b.pem", "used_by_azure_cli": true, "exists": true, "readable": true, "certificates": 3, "expired": 1}),
        ),
        &[],
    );
    assert_eq!(
        (f[0].id.as_str(), f[0].severity),
        ("ca-bundle.expired-certs", Severity::Info)
    );
    // SSL_CERT_FILE is not Azure CLI's: a missing one is not an error here.
    let f = run(
        &b(
            json!({"source": "SSL_CERT_FILE", "path": "/nope.pem", "used_by_azure_cli": false, "exists": false}),
        ),
        &[],
    );
    assert_eq!(serious(&f), Vec::<&str>::new());
}

#[test]
fn verification_disabled_and_legacy_tls() {
    let t = with(
        healthy(),
        "environment.json",
        json!({"variables": {"AZURE_CLI_DISABLE_CONNECTION_VERIFICATION": {"set": true, "value": "1"}}}),
    );
    assert_eq!(run(&t, &[])[0].id, "tls.verification-disabled");
    let t = with(
        healthy(),
        "tls/settings.json",
        json!({"schannel_protocols": {"TLS 1.2": {"client": "disabled"}}}),
    );
    let f = run(&t, &[]);
    assert_eq!(
        (f[0].id.as_str(), f[0].severity),
        ("tls.legacy-protocols", Severity::Error)
    );
    let t = log(
        healthy(),
        "AADSTS1002016: You are using TLS version 1.0, 1.1 and/or 3DES cipher which are deprecated",
    );
    let f = run(&t, &[]);
    assert!(ids(&f).contains(&"tls.legacy-protocols") && ids(&f).contains(&"entra.aadsts"));
    let t = with(
        healthy(),
        "versions/windows-powershell.json",
        json!({"security_protocol": "Ssl3, Tls"}),
    );
    assert_eq!(run(&t, &[])[0].severity, Severity::Warning);
}

#[test]
fn aadsts_codes_known_unknown_and_once_each() {
    let t = log(
        healthy(),
        "AADSTS50020: User account from identity provider does not exist in tenant\nagain AADSTS50020\nAADSTS9999999: Something new happened",
    );
    let f = run(&t, &[]);
    let a: Vec<&Finding> = f.iter().filter(|x| x.id == "entra.aadsts").collect();
    assert_eq!(a.len(), 2);
    assert!(
        a.iter()
            .any(|x| x.title.contains("AADSTS50020 (UserUnauthorized)"))
    );
    assert!(
        a.iter()
            .any(|x| x.title.contains("AADSTS9999999")
                && x.detail.contains("Something new happened"))
    );
}

#[test]
fn post_auth_failure_needs_a_token_and_a_failure() {
    let t = log(
        healthy(),
        "https://login.microsoftonline.com:443 \"POST /t/oauth2/v2.0/token HTTP/1.1\" 200 1370\nERROR: something broke",
    );
    assert!(
        ids(&run(&t, &[collector("debug.run", Status::Ok, Some(1))]))
            .contains(&"signin.post-auth-failure")
    );
    assert!(
        !ids(&run(&t, &[collector("debug.run", Status::Ok, Some(0))]))
            .contains(&"signin.post-auth-failure")
    );
    let t = log(
        healthy(),
        "ERROR: AADSTS50126: Invalid username or password",
    );
    assert!(
        !ids(&run(&t, &[collector("debug.run", Status::Ok, Some(1))]))
            .contains(&"signin.post-auth-failure")
    );
}

#[test]
fn tenant_mismatch_stale_context_outdated_missing() {
    let t = with(
        healthy(),
        "context/az.json",
        json!({"subscriptions": [
        {"tenant_id": "tA", "user_name": "alice", "is_default": true, "tenant_comparison": "mismatch", "name": "A"},
        {"tenant_id": "tB", "user_name": "alice", "is_default": false, "tenant_comparison": "mismatch", "name": "B"}]}),
    );
    let f = run(&t, &[]);
    assert_eq!(f[0].id, "tenant.mismatch");
    assert!(ids(&f).contains(&"cache.stale-context"));
    let t = with(
        healthy(),
        "versions/az.json",
        json!({"azure_cli": "2.60.0"}),
    );
    assert!(
        run(&t, &[])
            .iter()
            .any(|x| x.id == "tool.outdated" && x.severity == Severity::Info)
    );
    let t = with(
        healthy(),
        "versions/pwsh.json",
        json!({"modules": [{"name": "Microsoft.Graph.Authentication", "version": "1.28.0"}]}),
    );
    assert!(
        run(&t, &[])
            .iter()
            .any(|x| x.id == "tool.outdated" && x.severity == Severity::Warning)
    );
    let cs = [
        collector("versions.az", Status::Skipped, None),
        collector("versions.powershell", Status::Skipped, None),
    ];
    assert_eq!(serious(&run(&Texts::new(), &cs)), ["tool.missing"]);
}

#[test]
fn errors_come_before_warnings_and_sure_before_unsure() {
    let t = with(
        healthy(),
        "network/probes.json",
        intercepted("tls_untrusted"),
    );
    let t = with(
        t,
        "environment.json",
        json!({"variables": {"AZURE_CLI_DISABLE_CONNECTION_VERIFICATION": {"set": true, "value": "1"}}}),
    );
    let f = run(&t, &[]);
    let sev: Vec<Severity> = f.iter().map(|x| x.severity).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sev, sorted);
    assert_eq!(f[0].id, "proxy.tls-inspection");
}

#[test]
fn japanese_titles_and_fixes() {
    let t = with(
        healthy(),
        "network/probes.json",
        intercepted("tls_untrusted"),
    );
    let f = analyze(
        &Model {
            texts: &t,
            collectors: &[],
        },
        Lang::Ja,
    );
    assert!(
        f[0].title
            .starts_with("TLS 検査プロキシがサインインを傍受しています"),
        "{}",
        f[0].title
    );
    assert!(f[0].fix[0].contains("REQUESTS_CA_BUNDLE"));
    assert_eq!(Lang::from_locale(None, None, Some("ja_JP.UTF-8")), Lang::Ja);
    assert_eq!(
        Lang::from_locale(Some("C"), None, Some("ja_JP.UTF-8")),
        Lang::En
    );
    assert_eq!(Lang::from_locale(None, None, None), Lang::En);
}

#[test]
fn docs_list_every_finding_id() {
    let doc = include_str!("../../docs/findings.md");
    let src = include_str!("rules.rs");
    let re = regex::Regex::new(r#"finding\(\s*"([a-z-]+\.[a-z-]+)""#).unwrap();
    let ids: std::collections::BTreeSet<String> =
        re.captures_iter(src).map(|c| c[1].to_string()).collect();
    assert!(ids.len() >= 18, "{ids:?}");
    for id in ids {
        assert!(
            doc.contains(&format!("| `{id}` |")),
            "docs/findings.md lacks {id}"
        );
    }
}

/// The exact hint azure-cli prints (its SSLERROR_TEMPLATE), as reported in Azure/azure-cli#23820.
#[test]
fn azure_cli_certificate_hint_alone_is_tls_inspection() {
    let t = log(
        healthy(),
        "Certificate verification failed. This typically happens when using Azure CLI behind a proxy that intercepts traffic with a self-signed certificate. Please add this certificate to the trusted CA bundle. More info: https://docs.microsoft.com/cli/azure/use-cli-effectively#work-behind-a-proxy.",
    );
    let f = run(&t, &[]);
    assert_eq!(
        (f[0].id.as_str(), f[0].severity),
        ("proxy.tls-inspection", Severity::Error)
    );
}

/// Evidence names an entry of the bundle: the context files, and the manifest for tools.
#[test]
fn stale_contexts_and_missing_tools_name_real_entries() {
    let t = with(
        healthy(),
        "context/azps-pwsh.json",
        json!({"contexts": [{"tenant_id": "t2", "account_id": "bob"}]}),
    );
    let f = run(&t, &[]);
    let stale = f.iter().find(|x| x.id == "cache.stale-context").unwrap();
    let files: Vec<&str> = stale.evidence.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files, ["context/az.json", "context/azps-pwsh.json"]);
    assert_eq!(stale.evidence[1].excerpt, "t2");
    let mut az = collector("versions.az", Status::Skipped, None);
    az.reason = Some("az not found on PATH".into());
    let cs = [az, collector("versions.powershell", Status::Skipped, None)];
    let f = run(&Texts::new(), &cs);
    assert_eq!(f[0].evidence[0].file, "manifest.json");
    assert_eq!(
        f[0].evidence[0].excerpt,
        "versions.az: skipped (az not found on PATH)"
    );
}

/// `AZURE_CLI_DISABLE_CONNECTION_VERIFICATION=` (empty) is recorded with its length only.
#[test]
fn an_empty_disable_verification_variable_disables_nothing() {
    let t = with(
        healthy(),
        "environment.json",
        json!({"variables": {"AZURE_CLI_DISABLE_CONNECTION_VERIFICATION": {"set": true, "length": 0}}}),
    );
    assert!(!ids(&run(&t, &[])).contains(&"tls.verification-disabled"));
}

/// The probes check certifi's stand-in (the Mozilla roots), not certifi itself: a proxy root
/// appended to Azure CLI's cacert.pem is recognised by its subject.
#[test]
fn a_proxy_root_in_the_certifi_bundle_is_trusted() {
    let t = with(
        healthy(),
        "network/probes.json",
        intercepted("tls_untrusted"),
    );
    let t = with(
        t,
        "tls/ca-bundles.json",
        json!({"bundles": [{"source": "azure_cli_certifi", "path": "/opt/az/cacert.pem", "used_by_azure_cli": true, "exists": true, "certificates": 2,
            "certs": [{"subject": "CN=DigiCert Global Root G2"}, {"subject": "CN=Contoso TLS Inspection CA"}]}]}),
    );
    let f = run(&t, &[]);
    assert_eq!(serious(&f), Vec::<&str>::new());
    assert!(
        f.iter()
            .any(|x| x.id == "proxy.tls-inspection" && x.severity == Severity::Info)
    );
}
