//! The rules on typed bundles built here: a healthy machine, then one fact changed per case.
//! What the collectors really write is pinned by tests/findings_e2e.rs (collector to finding,
//! through the binary) and tests/model_contract.rs (every entry reads as its type).

use std::collections::BTreeMap;

use super::*;
use crate::model::{
    AzContext, AzPsContext, AzPsContexts, AzSubscription, AzVersions, CaBundle, CaBundleSource,
    CaBundles, CertInfo, ClientState, CollectorRecord, CommandRecord, Environment, ErrorKind,
    MgAuthRecord, MgAuthRecordFile, PowerShellVersions, ProbeResult, Probes, ProxyFamily, PsModule,
    SchannelProtocol, StageName, Status, StrongCrypto, TenantComparison, TlsInfo, TlsSettings,
    Variable, Verdict,
};
use crate::vocab::Cloud;

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
                    command_line: vec![String::from("az")],
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

const DIGICERT: &str = "CN=DigiCert Global Root G2";
const CONTOSO_CA: &str = "CN=Contoso TLS Inspection CA";

fn cert(subject: &str, issuer: &str) -> CertInfo {
    CertInfo {
        subject: subject.into(),
        issuer: issuer.into(),
        not_before: "2025-01-01T00:00:00Z".into(),
        not_after: "2030-01-01T00:00:00Z".into(),
        self_signed: subject == issuer,
        is_ca: subject == issuer,
        expired: false,
    }
}

/// A TLS session whose chain `interception_ca` issued (None: a Microsoft CA).
fn tls(interception_ca: Option<&str>) -> TlsInfo {
    let trusted = Verdict {
        trusted: true,
        error: None,
    };
    TlsInfo {
        version: "TLSv1_3".into(),
        cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
        chain: vec![cert(
            "CN=login.microsoftonline.com",
            interception_ca.unwrap_or(DIGICERT),
        )],
        mozilla: Verdict {
            trusted: interception_ca.is_none(),
            error: None,
        },
        os_store: trusted,
        requests_ca_bundle: None,
        interception_ca: interception_ca.map(str::to_string),
    }
}

/// A probe of `host` that passed: direct, HTTP 200.
fn probe(host: &str) -> ProbeResult {
    ProbeResult {
        host: host.into(),
        url: format!("https://{host}/"),
        proxy: None,
        families: vec![ProxyFamily::AzureCli],
        stages: vec![],
        ok: true,
        failed_stage: None,
        error_kind: None,
        error: None,
        proxy_status: None,
        proxy_credentials: false,
        proxy_authenticate: vec![],
        tls: Some(tls(None)),
        http_status: Some(200),
    }
}

/// A probe of `host` that failed: through `proxy` (None: direct), at `stage`, for `kind`.
fn failed(host: &str, proxy: Option<&str>, stage: StageName, kind: ErrorKind) -> ProbeResult {
    ProbeResult {
        proxy: proxy.map(str::to_string),
        ok: false,
        failed_stage: Some(stage),
        error_kind: Some(kind),
        tls: None,
        http_status: None,
        ..probe(host)
    }
}

/// A probe through a proxy that answered CONNECT with `status`.
fn refused_by_proxy(host: &str, status: u16) -> ProbeResult {
    ProbeResult {
        proxy_status: Some(status),
        ..failed(
            host,
            Some("http://p"),
            StageName::Connect,
            ErrorKind::ProxyStatus,
        )
    }
}

fn probes(results: Vec<ProbeResult>) -> Option<Probes> {
    Some(Probes {
        cloud: Cloud::Public,
        stage_timeout_ms: 5000,
        requests_ca_bundle: None,
        results,
    })
}

/// A CA bundle file as `tls/ca-bundles.json` describes it; Azure CLI uses it unless it is
/// SSL_CERT_FILE.
fn ca_bundle(source: CaBundleSource, path: &str, exists: bool) -> CaBundle {
    CaBundle {
        source,
        path: path.into(),
        used_by_azure_cli: source != CaBundleSource::SslCertFile,
        exists,
        is_directory: false,
        readable: exists.then_some(true),
        size: None,
        note: None,
        certificates: None,
        expired: None,
        certs: None,
        error: None,
        format: None,
        hashed_entries: None,
    }
}

/// `b` holding `certificates` certificates, of which `subjects` are described.
fn holding(b: CaBundle, certificates: usize, subjects: &[&str]) -> CaBundle {
    CaBundle {
        certificates: Some(certificates),
        expired: Some(0),
        certs: Some(subjects.iter().map(|s| cert(s, s)).collect()),
        ..b
    }
}

fn ca_bundles(bundles: Vec<CaBundle>) -> Option<CaBundles> {
    Some(CaBundles {
        note: String::new(),
        bundles,
    })
}

fn environment(disable_verification: Variable) -> Option<Environment> {
    Some(Environment {
        note: String::new(),
        case_insensitive_names: false,
        variables: BTreeMap::from([(
            "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION".to_string(),
            disable_verification,
        )]),
    })
}

fn tls12(client: ClientState) -> Option<BTreeMap<String, SchannelProtocol>> {
    Some(BTreeMap::from([(
        "TLS 1.2".to_string(),
        SchannelProtocol {
            client,
            values: None,
        },
    )]))
}

fn module(name: &str, version: &str) -> PsModule {
    PsModule {
        name: Some(name.into()),
        version: Some(version.into()),
        prerelease: None,
        path: None,
    }
}

fn powershell(shell: &str, modules: Vec<PsModule>) -> PowerShellVersions {
    PowerShellVersions {
        shell: shell.into(),
        program_path: shell.into(),
        ps_version: None,
        edition: None,
        dotnet_runtime: None,
        os_description: None,
        process_architecture: None,
        executable: None,
        security_protocol: None,
        modules,
        retired_modules: vec![],
        execution_policies: vec![],
        effective_execution_policy: None,
        imports: vec![],
        psmodulepath: vec![],
        psversiontable: serde_json::Value::Null,
    }
}

fn subscription(
    name: &str,
    tenant: &str,
    user: &str,
    default: bool,
    compared: TenantComparison,
) -> AzSubscription {
    AzSubscription {
        name: (!name.is_empty()).then(|| name.to_string()),
        tenant_id: Some(tenant.into()),
        user_name: Some(user.into()),
        is_default: Some(default),
        tenant_comparison: Some(compared),
        ..Default::default()
    }
}

fn az_context(subscriptions: Vec<AzSubscription>) -> Option<AzContext> {
    Some(AzContext {
        subscriptions: Some(subscriptions),
        ..Default::default()
    })
}

fn azps(shell: &str, contexts: Vec<AzPsContext>) -> AzPsContexts {
    AzPsContexts {
        shell: shell.into(),
        contexts,
        config: vec![],
        error: None,
    }
}

/// A healthy machine: everything reachable, current versions, TLS fine, one context.
pub(crate) fn healthy() -> Bundle {
    Bundle {
        probes: probes(vec![
            probe("login.microsoftonline.com"),
            probe("management.azure.com"),
        ]),
        environment: environment(Variable::unset()),
        tls_settings: Some(TlsSettings {
            schannel_protocols: tls12(ClientState::OsDefault),
            dotnet_framework_strong_crypto: Some(BTreeMap::from([(
                "k".to_string(),
                StrongCrypto {
                    sch_use_strong_crypto: Some(1),
                    system_default_tls_versions: None,
                },
            )])),
            ..Default::default()
        }),
        ca_bundles: ca_bundles(vec![holding(
            ca_bundle(CaBundleSource::AzureCliCertifi, "/opt/az/cacert.pem", true),
            140,
            &[DIGICERT],
        )]),
        versions_az: Some(AzVersions {
            az_path: "az".into(),
            azure_cli: Some("2.91.0".into()),
            ..Default::default()
        }),
        powershell: BTreeMap::from([(
            "pwsh".to_string(),
            powershell(
                "pwsh",
                vec![
                    module("Az.Accounts", "5.1.1"),
                    module("Microsoft.Graph.Authentication", "2.28.0"),
                ],
            ),
        )]),
        az_context: az_context(vec![subscription(
            "",
            "t1",
            "alice@contoso.com",
            true,
            TenantComparison::Match,
        )]),
        ..Default::default()
    }
}

fn run(b: &Bundle, collectors: &[CollectorRecord]) -> Vec<Finding> {
    analyze(
        &Model {
            bundle: b,
            collectors,
        },
        Lang::En,
    )
}

fn ids(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|x| x.id.as_str()).collect()
}

/// The ids of the warnings and errors, space-separated.
fn serious(f: &[Finding]) -> String {
    f.iter()
        .filter(|x| x.severity != Severity::Info)
        .map(|x| x.id.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `b` with the sign-in command's log `debug/az-login.log`.
pub(crate) fn log(mut b: Bundle, text: &str) -> Bundle {
    b.debug_logs.retain(|(n, _)| n != "debug/az-login.log");
    b.debug_logs
        .push(("debug/az-login.log".into(), text.into()));
    b.debug_logs.sort();
    b
}

/// `healthy()` with these probe results.
fn probing(results: Vec<ProbeResult>) -> Bundle {
    Bundle {
        probes: probes(results),
        ..healthy()
    }
}

#[test]
fn a_healthy_machine_has_no_warning_or_error() {
    let cs = [collector("debug.run", Status::Ok, Some(0))];
    assert_eq!(serious(&run(&healthy(), &cs)), "");
    assert!(
        run(&Bundle::default(), &[]).is_empty(),
        "an empty bundle claims nothing"
    );
}

/// The probes of a TLS-inspecting proxy: its CA issued the chain.
pub(crate) fn intercepted(kind: ErrorKind) -> Option<Probes> {
    probes(vec![ProbeResult {
        proxy: Some("http://p:8080".into()),
        ok: false,
        error_kind: Some(kind),
        tls: Some(tls(Some(CONTOSO_CA))),
        http_status: None,
        ..probe("login.microsoftonline.com")
    }])
}

#[test]
fn tls_inspection_from_probes_names_the_ca_and_lacks_root() {
    let b = Bundle {
        probes: intercepted(ErrorKind::TlsUntrusted),
        ..healthy()
    };
    let f = run(&b, &[]);
    assert_eq!(
        ids(&f)[..2].join(" "),
        "proxy.tls-inspection ca-bundle.lacks-proxy-root"
    );
    assert!(f[0].title.contains("Contoso TLS Inspection CA"));
    assert!(f[0].fix[0].contains("REQUESTS_CA_BUNDLE"));
    assert!(f[0].fix[2].contains("Windows certificate store"));
    assert!(f[1].fix[0].contains("/opt/az/cacert.pem"));
    assert_eq!(
        f[1].evidence[0].excerpt,
        "/opt/az/cacert.pem: 140 certificates"
    );
}

#[test]
fn tls_inspection_from_the_log_alone() {
    let b = log(
        healthy(),
        "requests.exceptions.SSLError: HTTPSConnectionPool(host='login.microsoftonline.com', port=443): Max retries exceeded (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))",
    );
    let f = run(&b, &[]);
    assert_eq!(f[0].id, "proxy.tls-inspection");
    assert_eq!(f[0].severity, Severity::Error);
}

#[test]
fn trusted_inspection_is_only_info_and_other_tls_errors_are_not_interception() {
    let f = run(
        &probing(vec![ProbeResult {
            tls: Some(tls(Some("CN=Corp CA"))),
            ..probe("h")
        }]),
        &[],
    );
    assert_eq!(serious(&f), "");
    assert!(ids(&f).contains(&"proxy.tls-inspection"));
    let f = run(
        &probing(vec![failed(
            "h",
            None,
            StageName::Tls,
            ErrorKind::TlsProtocol,
        )]),
        &[],
    );
    assert!(!ids(&f).contains(&"proxy.tls-inspection"));
}

#[test]
fn bundle_holding_the_proxy_root_is_not_flagged() {
    let b = Bundle {
        probes: intercepted(ErrorKind::TlsUntrusted),
        ca_bundles: ca_bundles(vec![holding(
            ca_bundle(CaBundleSource::RequestsCaBundle, "/corp.pem", true),
            1,
            &[CONTOSO_CA],
        )]),
        ..healthy()
    };
    assert!(!ids(&run(&b, &[])).contains(&"ca-bundle.lacks-proxy-root"));
}

#[test]
fn blocked_endpoint_from_probe_and_from_log() {
    let f = run(
        &probing(vec![refused_by_proxy("management.azure.com", 403)]),
        &[],
    );
    assert_eq!(f[0].id, "proxy.blocked-endpoint");
    assert!(f[0].title.contains("management.azure.com"));
    assert_eq!(
        f[0].evidence[0].excerpt,
        "management.azure.com: proxy answered 403 (connect)"
    );
    let b = log(
        healthy(),
        "DEBUG: urllib3.connectionpool: https://login.microsoftonline.com:443 \"POST /t/oauth2/v2.0/token HTTP/1.1\" 200 1370\nDEBUG: urllib3.connectionpool: https://management.azure.com:443 \"GET /subscriptions?api-version=2022-12-01 HTTP/1.1\" 403 None",
    );
    assert_eq!(run(&b, &[])[0].id, "proxy.blocked-endpoint");
    let b = log(
        healthy(),
        "ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 403 Forbidden'))",
    );
    assert_eq!(run(&b, &[])[0].id, "proxy.blocked-endpoint");
}

#[test]
fn an_arm_authorization_403_is_not_a_proxy_block() {
    let b = log(
        healthy(),
        "https://management.azure.com:443 \"GET /subscriptions HTTP/1.1\" 403 253\n{\"error\":{\"code\":\"AuthorizationFailed\"}}",
    );
    assert!(!ids(&run(&b, &[])).contains(&"proxy.blocked-endpoint"));
}

#[test]
fn proxy_auth_and_upstream() {
    let p = |code: u16| probing(vec![refused_by_proxy("login.microsoftonline.com", code)]);
    let f = run(&p(407), &[]);
    assert_eq!(f[0].id, "proxy.auth-required");
    assert_eq!(
        f[0].evidence[0].excerpt,
        "login.microsoftonline.com: proxy answered 407"
    );
    assert_eq!(run(&p(502), &[])[0].id, "proxy.upstream-failure");
    let b = log(
        healthy(),
        "OSError('Tunnel connection failed: 407 Proxy Authentication Required')",
    );
    assert_eq!(run(&b, &[])[0].id, "proxy.auth-required");
}

/// The 407 finding reads what the proxy offered: only Negotiate/NTLM is integrated
/// authentication (not "add credentials"); Basic with credentials sent is a rejection; Basic
/// without credentials keeps the advice to add them.
#[test]
fn proxy_auth_kinds() {
    let p = |schemes: &[&str], sent: bool| {
        probing(vec![ProbeResult {
            proxy_authenticate: schemes.iter().map(|s| s.to_string()).collect(),
            proxy_credentials: sent,
            ..refused_by_proxy("login.microsoftonline.com", 407)
        }])
    };
    let f = run(&p(&["Negotiate", "NTLM"], false), &[]);
    assert_eq!(f[0].id, "proxy.auth-required");
    assert!(f[0].title.contains("Windows integrated"), "{}", f[0].title);
    assert!(
        f[0].detail
            .contains("Azure CLI (Python requests) cannot do it at all")
            && f[0]
                .detail
                .contains("by default Az.Accounts and Graph set none"),
        "{}",
        f[0].detail
    );
    assert!(!f[0].fix.iter().any(|x| x.contains("user:password@")));
    assert!(
        f[0].fix
            .iter()
            .any(|x| x.contains("DefaultProxy.Credentials"))
    );
    assert_eq!(
        f[0].evidence[0].excerpt,
        "login.microsoftonline.com: proxy answered 407, offering Negotiate, NTLM"
    );
    // Sending Basic credentials to an integrated-only proxy is still the integrated case.
    let f = run(&p(&["NTLM"], true), &[]);
    assert!(f[0].title.contains("Windows integrated"), "{}", f[0].title);

    let f = run(&p(&["Basic"], true), &[]);
    assert!(
        f[0].title.contains("rejected the credentials"),
        "{}",
        f[0].title
    );
    assert!(
        f[0].evidence[0]
            .excerpt
            .ends_with("(Basic credentials from the proxy URL were sent)")
    );

    for (schemes, sent) in [
        (&["Basic"][..], false),
        (&["Negotiate", "Basic"][..], false),
        (&[][..], false),
    ] {
        let f = run(&p(schemes, sent), &[]);
        assert_eq!(
            f[0].title, "The proxy requires authentication (407)",
            "{schemes:?}"
        );
        assert!(f[0].fix.iter().any(|x| x.contains("user:password@")));
    }
}

#[test]
fn dns_and_unreachable() {
    let b = probing(vec![ProbeResult {
        error: Some("login.microsoftonline.com: failed to lookup".into()),
        ..failed(
            "login.microsoftonline.com",
            None,
            StageName::Dns,
            ErrorKind::Dns,
        )
    }]);
    let f = run(&b, &[]);
    assert_eq!(f[0].id, "network.dns");
    assert_eq!(
        f[0].evidence[0].excerpt, "login.microsoftonline.com: failed to lookup",
        "the probe error already names the host: not repeated"
    );
    let b = log(
        healthy(),
        "NameResolutionError(\"HTTPSConnection(host='login.microsoftonline.com', port=443): Failed to resolve\")",
    );
    assert_eq!(run(&b, &[])[0].id, "network.dns");
    let b = probing(vec![failed(
        "graph.microsoft.com",
        None,
        StageName::Tcp,
        ErrorKind::Timeout,
    )]);
    assert_eq!(run(&b, &[])[0].id, "network.unreachable");
    // Through a proxy, a refused connection is the proxy's business, not "unreachable".
    let b = probing(vec![failed(
        "g",
        Some("http://p"),
        StageName::Tcp,
        ErrorKind::Refused,
    )]);
    assert!(!ids(&run(&b, &[])).contains(&"network.unreachable"));
}

#[test]
fn ca_bundle_problems() {
    use CaBundleSource::{RequestsCaBundle, SslCertFile};
    let b = |x: CaBundle| Bundle {
        ca_bundles: ca_bundles(vec![x]),
        ..healthy()
    };
    let f = run(&b(ca_bundle(RequestsCaBundle, "/nope.pem", false)), &[]);
    assert_eq!(f[0].id, "ca-bundle.missing");
    let f = run(
        &b(holding(
            ca_bundle(RequestsCaBundle, "/der.cer", true),
            0,
            &[],
        )),
        &[],
    );
    assert_eq!(f[0].id, "ca-bundle.invalid");
    let expired = CaBundle {
        expired: Some(1),
        ..holding(ca_bundle(RequestsCaBundle, "/b.pem", true), 3, &[])
    };
    let f = run(&b(expired), &[]);
    assert_eq!(
        (f[0].id.as_str(), f[0].severity),
        ("ca-bundle.expired-certs", Severity::Info)
    );
    assert_eq!(
        f[0].title,
        "REQUESTS_CA_BUNDLE holds 1 expired certificate(s)"
    );
    // SSL_CERT_FILE is not Azure CLI's: a missing one is not an error here.
    let f = run(&b(ca_bundle(SslCertFile, "/nope.pem", false)), &[]);
    assert_eq!(serious(&f), "");
}

#[test]
fn verification_disabled_and_legacy_tls() {
    let b = Bundle {
        environment: environment(Variable::shown("1".into())),
        ..healthy()
    };
    assert_eq!(run(&b, &[])[0].id, "tls.verification-disabled");
    let b = Bundle {
        tls_settings: Some(TlsSettings {
            schannel_protocols: tls12(ClientState::Disabled),
            ..Default::default()
        }),
        ..healthy()
    };
    let f = run(&b, &[]);
    assert_eq!(
        (f[0].id.as_str(), f[0].severity),
        ("tls.legacy-protocols", Severity::Error)
    );
    assert_eq!(
        f[0].evidence[0].excerpt,
        "SCHANNEL TLS 1.2 Client: disabled"
    );
    let b = log(
        healthy(),
        "AADSTS1002016: You are using TLS version 1.0, 1.1 and/or 3DES cipher which are deprecated",
    );
    let f = run(&b, &[]);
    assert!(ids(&f).contains(&"tls.legacy-protocols") && ids(&f).contains(&"entra.aadsts"));
    let mut b = healthy();
    b.powershell.insert(
        "windows-powershell".into(),
        PowerShellVersions {
            security_protocol: Some("Ssl3, Tls".into()),
            ..powershell("windows-powershell", vec![])
        },
    );
    let f = run(&b, &[]);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].evidence[0].file, "versions/windows-powershell.json");
}

#[test]
fn aadsts_codes_known_unknown_and_once_each() {
    let b = log(
        healthy(),
        "AADSTS50020: User account from identity provider does not exist in tenant\nagain AADSTS50020\nAADSTS9999999: Something new happened",
    );
    let f = run(&b, &[]);
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
    let b = log(
        healthy(),
        "https://login.microsoftonline.com:443 \"POST /t/oauth2/v2.0/token HTTP/1.1\" 200 1370\nERROR: something broke",
    );
    assert!(
        ids(&run(&b, &[collector("debug.run", Status::Ok, Some(1))]))
            .contains(&"signin.post-auth-failure")
    );
    assert!(
        !ids(&run(&b, &[collector("debug.run", Status::Ok, Some(0))]))
            .contains(&"signin.post-auth-failure")
    );
    let b = log(
        healthy(),
        "ERROR: AADSTS50126: Invalid username or password",
    );
    assert!(
        !ids(&run(&b, &[collector("debug.run", Status::Ok, Some(1))]))
            .contains(&"signin.post-auth-failure")
    );
}

#[test]
fn tenant_mismatch_stale_context_outdated_missing() {
    let b = Bundle {
        az_context: az_context(vec![
            subscription("A", "tA", "alice", true, TenantComparison::Mismatch),
            subscription("B", "tB", "alice", false, TenantComparison::Mismatch),
        ]),
        ..healthy()
    };
    let f = run(&b, &[]);
    assert_eq!(f[0].id, "tenant.mismatch");
    assert_eq!(
        f[0].evidence[0].excerpt,
        "default subscription A is in tenant tA"
    );
    assert!(ids(&f).contains(&"cache.stale-context"));
    let b = Bundle {
        versions_az: Some(AzVersions {
            azure_cli: Some("2.60.0".into()),
            ..Default::default()
        }),
        ..healthy()
    };
    assert!(
        run(&b, &[])
            .iter()
            .any(|x| x.id == "tool.outdated" && x.severity == Severity::Info)
    );
    let b = Bundle {
        powershell: BTreeMap::from([(
            "pwsh".to_string(),
            powershell(
                "pwsh",
                vec![module("Microsoft.Graph.Authentication", "1.28.0")],
            ),
        )]),
        ..healthy()
    };
    let f = run(&b, &[]);
    let old = f
        .iter()
        .find(|x| x.id == "tool.outdated" && x.severity == Severity::Warning)
        .expect("a retired module is reported");
    assert_eq!(old.evidence[0].file, "versions/pwsh.json");
    assert_eq!(
        old.evidence[0].excerpt,
        "Microsoft.Graph.Authentication 1.28.0 at "
    );
    let cs = [
        collector("versions.az", Status::Skipped, None),
        collector("versions.powershell", Status::Skipped, None),
    ];
    assert_eq!(serious(&run(&Bundle::default(), &cs)), "tool.missing");
}

/// Azure PowerShell's current context and the Graph auth record (mg.authrecord.json; no
/// Get-MgContext any more) each count, in entry-name order; a context that matches lowers the confidence.
#[test]
fn tenant_mismatch_through_powershell_and_graph() {
    let mismatch = Some(TenantComparison::Mismatch);
    let mut b = healthy();
    b.azps_contexts.insert(
        "pwsh".into(),
        azps(
            "pwsh",
            vec![AzPsContext {
                tenant_id: Some("tP".into()),
                is_current: Some(true),
                tenant_comparison: mismatch,
                ..Default::default()
            }],
        ),
    );
    b.mg_authrecord = Some(MgAuthRecordFile {
        path: "/home/u/.mg/mg.authrecord.json".into(),
        record: MgAuthRecord {
            tenant_id: Some("tA".into()),
            ..MgAuthRecord::default()
        },
        tenant_comparison: mismatch,
    });
    let f = run(&b, &[]);
    let t = f.iter().find(|x| x.id == "tenant.mismatch").unwrap();
    let shown: Vec<String> = t
        .evidence
        .iter()
        .map(|e| format!("{}: {}", e.file, e.excerpt))
        .collect();
    assert_eq!(
        shown.join("\n"),
        "context/azps-pwsh.json: current context is in tenant tP\n\
         context/mg-authrecord.json: mg.authrecord.json tenant tA"
    );
    // Configuration only: the 50-64 band; healthy()'s Azure CLI subscription matches, which
    // lowers the rule's own certainty (65 → nudge 2).
    assert_eq!(t.basis, crate::model::findings::Basis::Configuration);
    assert_eq!(t.confidence, 52);
}

#[test]
fn errors_come_before_warnings_and_sure_before_unsure() {
    let b = Bundle {
        probes: intercepted(ErrorKind::TlsUntrusted),
        environment: environment(Variable::shown("1".into())),
        ..healthy()
    };
    let f = run(&b, &[]);
    let sev: Vec<Severity> = f.iter().map(|x| x.severity).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sev, sorted);
    assert_eq!(f[0].id, "proxy.tls-inspection");
}

#[test]
fn japanese_titles_and_fixes() {
    let b = Bundle {
        probes: intercepted(ErrorKind::TlsUntrusted),
        ..healthy()
    };
    let f = analyze(
        &Model {
            bundle: &b,
            collectors: &[],
        },
        Lang::Ja,
    );
    assert!(
        f[0].title.starts_with(
            "TLS/SSL インスペクションを行うプロキシがサインインの通信を検査しています"
        ),
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
    let b = log(
        healthy(),
        "Certificate verification failed. This typically happens when using Azure CLI behind a proxy that intercepts traffic with a self-signed certificate. Please add this certificate to the trusted CA bundle. More info: https://docs.microsoft.com/cli/azure/use-cli-effectively#work-behind-a-proxy.",
    );
    let f = run(&b, &[]);
    assert_eq!(
        (f[0].id.as_str(), f[0].severity),
        ("proxy.tls-inspection", Severity::Error)
    );
}

/// Evidence names an entry of the bundle: the context files, and the manifest for tools.
#[test]
fn stale_contexts_and_missing_tools_name_real_entries() {
    let mut b = healthy();
    b.azps_contexts.insert(
        "pwsh".into(),
        azps(
            "pwsh",
            vec![AzPsContext {
                tenant_id: Some("t2".into()),
                account_id: Some("bob".into()),
                ..Default::default()
            }],
        ),
    );
    let f = run(&b, &[]);
    let stale = f.iter().find(|x| x.id == "cache.stale-context").unwrap();
    let files: Vec<&str> = stale.evidence.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files.join(" "), "context/az.json context/azps-pwsh.json");
    assert_eq!(stale.evidence[1].excerpt, "t2");
    let mut az = collector("versions.az", Status::Skipped, None);
    az.reason = Some("az not found on PATH".into());
    let cs = [az, collector("versions.powershell", Status::Skipped, None)];
    let f = run(&Bundle::default(), &cs);
    assert_eq!(f[0].evidence[0].file, "manifest.json");
    assert_eq!(
        f[0].evidence[0].excerpt,
        "versions.az: skipped (az not found on PATH)"
    );
}

/// `AZURE_CLI_DISABLE_CONNECTION_VERIFICATION=` (empty) is recorded with its length only.
#[test]
fn an_empty_disable_verification_variable_disables_nothing() {
    let b = Bundle {
        environment: environment(Variable::withheld(0)),
        ..healthy()
    };
    assert!(!ids(&run(&b, &[])).contains(&"tls.verification-disabled"));
}

/// The probes check certifi's stand-in (the Mozilla roots), not certifi itself: a proxy root
/// appended to Azure CLI's cacert.pem is recognised by its subject.
#[test]
fn a_proxy_root_in_the_certifi_bundle_is_trusted() {
    let b = Bundle {
        probes: intercepted(ErrorKind::TlsUntrusted),
        ca_bundles: ca_bundles(vec![holding(
            ca_bundle(CaBundleSource::AzureCliCertifi, "/opt/az/cacert.pem", true),
            2,
            &[DIGICERT, CONTOSO_CA],
        )]),
        ..healthy()
    };
    let f = run(&b, &[]);
    assert_eq!(serious(&f), "");
    assert!(
        f.iter()
            .any(|x| x.id == "proxy.tls-inspection" && x.severity == Severity::Info)
    );
}

/// The rules read what `Bundle::from_texts` loads: an entry that is not its type is listed as
/// unreadable and skipped, and the other entries still produce their findings.
#[test]
fn an_unreadable_entry_is_skipped_and_the_rest_is_analysed() {
    let mut texts = crate::vocab::Texts::new();
    texts.insert(
        "tls/ca-bundles.json".into(),
        r#"{"note": "", "bundle_list": []}"#.into(),
    );
    texts.insert(
        "debug/az-login.log".into(),
        "AADSTS50126: Invalid username or password".into(),
    );
    let b = Bundle::from_texts(&texts);
    assert_eq!(b.unreadable.len(), 1);
    assert_eq!(b.unreadable[0].entry, "tls/ca-bundles.json");
    assert!(b.ca_bundles.is_none());
    assert_eq!(serious(&run(&b, &[])), "entra.aadsts");
}

/// `b` on Windows with Azure CLI's WAM setting as given.
fn with_wam(b: Bundle, enabled: bool) -> Bundle {
    Bundle {
        proxy: Some(crate::model::Proxy {
            environment: crate::model::ProxyEnvironment {
                https_proxy: None,
                http_proxy: None,
                all_proxy: None,
                no_proxy: None,
                note: String::new(),
            },
            winhttp: None,
            wininet: None,
            azure_cli_wam: Some(crate::model::Wam {
                enabled,
                decided_by: "default (Azure CLI 2.61+)".into(),
            }),
            effective: vec![],
        }),
        ..b
    }
}

/// With WAM (issue 14), a proxy root missing from Azure CLI's bundle breaks its own requests
/// (Resource Manager, MSAL's uncached discovery), not the broker's sign-in: the TLS-inspection
/// and CA-bundle findings say so; without WAM they say the sign-in fails.
#[test]
fn tls_inspection_wording_follows_wam() {
    let b = Bundle {
        probes: intercepted(ErrorKind::TlsUntrusted),
        ..healthy()
    };
    let on = run(&with_wam(b.clone(), true), &[]);
    let off = run(&with_wam(b, false), &[]);
    let detail = |f: &[Finding], id: &str| {
        f.iter()
            .find(|x| x.id == id)
            .map(|x| x.detail.clone())
            .unwrap_or_else(|| panic!("{id} missing: {}", ids(f).join(" ")))
    };
    let inspection = detail(&on, "proxy.tls-inspection");
    assert!(inspection.contains("through WAM"), "{inspection}");
    assert!(inspection.contains("subscription listing"), "{inspection}");
    let inspection = detail(&off, "proxy.tls-inspection");
    assert!(!inspection.contains("WAM"), "{inspection}");
    assert!(inspection.contains("sign-in fails"), "{inspection}");
    let root = detail(&on, "ca-bundle.lacks-proxy-root");
    assert!(
        root.contains("With WAM") && root.contains("Resource Manager"),
        "{root}"
    );
    assert!(!detail(&off, "ca-bundle.lacks-proxy-root").contains("WAM"));
}

// ------------------------------------------------------------ issue 15: sharper findings

/// `b` as collected on `platform` (`system.json`).
fn on(platform: &str, b: Bundle) -> Bundle {
    Bundle {
        system: Some(crate::model::System {
            hostname: "h".into(),
            os: platform.into(),
            os_version: String::new(),
            kernel: String::new(),
            arch: "x86_64".into(),
            platform: platform.into(),
            native_platform: platform.into(),
            distribution_id: String::new(),
            uptime_secs: None,
            boot_time_unix: None,
            local_time: String::new(),
            utc_offset_minutes: 0,
            cpus: None,
            entra_collect_version: String::new(),
        }),
        ..b
    }
}

fn with_exit(code: i32) -> Vec<CollectorRecord> {
    vec![collector("debug.run", Status::Ok, Some(code))]
}

#[test]
fn a_linux_bundle_gets_no_windows_step_and_a_windows_one_gets_both_clients() {
    let b = Bundle {
        probes: intercepted(ErrorKind::TlsUntrusted),
        ..healthy()
    };
    let linux = run(&on("linux", b.clone()), &[]);
    let fix = linux[0].fix.join("\n");
    assert_eq!(linux[0].id, "proxy.tls-inspection");
    assert!(!fix.contains("setx"), "{fix}");
    assert!(!fix.contains("Windows certificate store"), "{fix}");
    assert!(!linux[0].detail.contains("Windows"), "{}", linux[0].detail);
    assert!(fix.contains("update-ca-certificates"), "{fix}");
    assert!(fix.contains("export REQUESTS_CA_BUNDLE"), "{fix}");
    let windows = run(&on("windows", b), &[]);
    let fix = windows[0].fix.join("\n");
    assert!(fix.contains("setx REQUESTS_CA_BUNDLE"), "{fix}");
    assert!(fix.contains("Windows certificate store"), "{fix}");
    assert!(!fix.contains("update-ca-certificates"), "{fix}");
}

#[test]
fn a_client_known_absent_loses_its_steps() {
    let b = on(
        "windows",
        Bundle {
            probes: intercepted(ErrorKind::TlsUntrusted),
            ..healthy()
        },
    );
    let f = run(
        &b,
        &[collector("versions.powershell", Status::Skipped, None)],
    );
    let fix = f[0].fix.join("\n");
    assert!(fix.contains("REQUESTS_CA_BUNDLE"), "{fix}");
    assert!(!fix.contains("PowerShell"), "{fix}");
}

#[test]
fn a_refused_proxy_names_itself_and_its_clients() {
    let mut r = failed(
        "login.microsoftonline.com",
        Some("http://proxy.corp:8080"),
        StageName::Tcp,
        ErrorKind::Refused,
    );
    r.error = Some("connect: Connection refused (os error 111)".into());
    r.families = vec![ProxyFamily::AzureCli, ProxyFamily::PowerShell7];
    let f = run(&on("linux", probing(vec![r])), &[]);
    assert_eq!(f[0].id, "proxy.unreachable");
    assert!(
        f[0].title.contains("http://proxy.corp:8080 refuses"),
        "{}",
        f[0].title
    );
    assert!(
        f[0].title.contains("Azure CLI, PowerShell 7"),
        "{}",
        f[0].title
    );
    assert_eq!(
        f[0].evidence[0].excerpt,
        "login.microsoftonline.com: tcp stage via http://proxy.corp:8080: connect: Connection refused (os error 111)"
    );
    assert!(!f[0].fix.join(" ").contains("setx"));
}

#[test]
fn a_powershell_only_route_counts_for_proxy_unreachable() {
    // Azure CLI goes direct and works; Windows PowerShell 5.1's WinINET proxy is down.
    let mut r = failed(
        "login.microsoftonline.com",
        Some("http://wininet.corp:3128"),
        StageName::Tcp,
        ErrorKind::Timeout,
    );
    r.families = vec![ProxyFamily::WindowsPowerShell];
    let b = on(
        "windows",
        probing(vec![probe("login.microsoftonline.com"), r]),
    );
    let f = run(&b, &[]);
    assert_eq!(f[0].id, "proxy.unreachable");
    assert!(
        f[0].title.contains("Windows PowerShell 5.1"),
        "{}",
        f[0].title
    );
    assert!(f[0].title.contains("cannot be reached"), "{}", f[0].title);
}

#[test]
fn a_stalled_proxy_and_its_read_timeout() {
    let r = failed(
        "login.microsoftonline.com",
        Some("http://proxy.corp:8080"),
        StageName::Connect,
        ErrorKind::Timeout,
    );
    let b = log(
        probing(vec![r]),
        "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='login.microsoftonline.com', port=443): Read timed out. (read timeout=3)",
    );
    let f = run(&b, &[]);
    assert_eq!(f[0].id, "proxy.unreachable");
    assert!(f[0].title.contains("never answers"), "{}", f[0].title);
    assert!(
        f[0].evidence
            .iter()
            .any(|e| e.excerpt.contains("Read timed out")),
        "{:?}",
        f[0].evidence
    );
}

#[test]
fn proxy_unreachable_from_the_log_alone() {
    // urllib3 2.x and 1.26 texts (R15 facts), and a 407 inside the same ProxyError (not ours).
    for line in [
        "(Caused by ProxyError('Unable to connect to proxy', NewConnectionError(\"HTTPSConnection(host='127.0.0.1', port=48763): Failed to establish a new connection: [Errno 111] Connection refused\")))",
        "(Caused by ProxyError('Cannot connect to proxy.', NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x040FC5C8>: Failed to establish a new connection: [WinError 10061] No connection could be made because the target machine actively refused it')))",
    ] {
        let f = run(&log(healthy(), line), &[]);
        assert_eq!(serious(&f), "proxy.unreachable", "{line}");
    }
    let f = run(
        &log(
            healthy(),
            "(Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 407 Proxy Authentication Required')))",
        ),
        &[],
    );
    assert!(!ids(&f).contains(&"proxy.unreachable"), "{:?}", ids(&f));
}

#[test]
fn dotnet_refused_counts_only_when_it_names_a_probed_proxy() {
    let r = failed(
        "login.microsoftonline.com",
        Some("http://127.0.0.1:8080"),
        StageName::Tcp,
        ErrorKind::Refused,
    );
    let line = "No connection could be made because the target machine actively refused it. (127.0.0.1:8080)";
    let f = run(&log(probing(vec![r]), line), &[]);
    assert!(
        f[0].evidence.iter().any(|e| e.excerpt == line),
        "{:?}",
        f[0].evidence
    );
    // The same text for a direct connection is not a proxy finding.
    let f = run(
        &log(
            healthy(),
            "No connection could be made because the target machine actively refused it. (20.190.1.1:443)",
        ),
        &[],
    );
    assert!(!ids(&f).contains(&"proxy.unreachable"));
}

#[test]
fn proxy_tls_and_scheme_failures_have_exact_fixes() {
    let mut plain = failed(
        "login.microsoftonline.com",
        Some("https://proxy.corp:8080"),
        StageName::ProxyTls,
        ErrorKind::TlsProtocol,
    );
    plain.error = Some("TLS handshake: received corrupt message (an https:// proxy URL makes the client speak TLS to the proxy; most proxies expect plain HTTP there (write http://))".into());
    let f = run(&probing(vec![plain]), &[]);
    assert_eq!(f[0].id, "proxy.tls-to-proxy");
    assert!(
        f[0].fix[0].contains("http://proxy.corp:8080"),
        "{:?}",
        f[0].fix
    );
    let untrusted = failed(
        "login.microsoftonline.com",
        Some("https://proxy.corp:8443"),
        StageName::ProxyTls,
        ErrorKind::TlsUntrusted,
    );
    let f = run(&probing(vec![untrusted]), &[]);
    assert_eq!(f[0].id, "proxy.tls-to-proxy");
    assert!(f[0].title.contains("not trusted"), "{}", f[0].title);
    let mut scheme = failed(
        "login.microsoftonline.com",
        Some("ftp://proxy.corp:21"),
        StageName::Tcp,
        ErrorKind::ProxyScheme,
    );
    scheme.error = Some("unsupported proxy scheme \"ftp\"".into());
    let f = run(&probing(vec![scheme]), &[]);
    assert_eq!(f[0].id, "proxy.unsupported-scheme");
    assert!(
        f[0].fix[0].contains("http://proxy.corp:21"),
        "{:?}",
        f[0].fix
    );
}

#[test]
fn a_5xx_through_the_tunnel_is_an_upstream_failure() {
    let r = ProbeResult {
        proxy: Some("http://p:1".into()),
        proxy_status: Some(200),
        ok: false,
        failed_stage: Some(StageName::Http),
        error_kind: Some(ErrorKind::HttpStatus),
        http_status: Some(502),
        tls: Some(tls(Some(CONTOSO_CA))),
        ..probe("login.microsoftonline.com")
    };
    let f = run(&probing(vec![r]), &[]);
    let u = f
        .iter()
        .find(|x| x.id == "proxy.upstream-failure")
        .expect("upstream");
    assert_eq!(u.severity, Severity::Error);
    assert!(
        u.evidence[0]
            .excerpt
            .contains("GET through the proxy answered 502")
    );
    // .NET's CONNECT text (dotnet/runtime net_http_proxy_tunnel_returned_failure_status_code).
    let f = run(
        &log(
            healthy(),
            "The proxy tunnel request to proxy 'http://127.0.0.1:8080/' failed with status code '503'.\"",
        ),
        &[],
    );
    assert_eq!(serious(&f), "proxy.upstream-failure");
}

#[test]
fn aadsts_in_per_tenant_warnings_of_a_successful_sign_in_is_info() {
    let az = "WARNING: Authentication failed against tenant 54826b22-38d6-4fb2-bad9-b7b93a3e9c5a 'AzureSDKTeam': SubError: basic_action V2Error: invalid_grant AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.";
    let f = run(&log(healthy(), az), &with_exit(0));
    let a = f.iter().find(|x| x.id == "entra.aadsts").unwrap();
    assert_eq!(a.severity, Severity::Info);
    assert!(
        a.title.contains("54826b22-38d6-4fb2-bad9-b7b93a3e9c5a"),
        "{}",
        a.title
    );
    // The same line in a sign-in that failed stays an error.
    let f = run(&log(healthy(), az), &with_exit(1));
    assert_eq!(f[0].severity, Severity::Error);
    let ps = "WARNING: Unable to acquire token for tenant 'contoso.onmicrosoft.com' with error 'AADSTS53003: Access has been blocked by Conditional Access policies.'";
    let f = run(&log(healthy(), ps), &with_exit(0));
    let a = f.iter().find(|x| x.id == "entra.aadsts").unwrap();
    assert_eq!(a.severity, Severity::Info);
    assert!(a.title.contains("contoso.onmicrosoft.com"), "{}", a.title);
    // Also seen outside a per-tenant warning: the sign-in's own error.
    let f = run(
        &log(healthy(), &format!("{ps}\nERROR: AADSTS53003: blocked")),
        &with_exit(0),
    );
    assert_eq!(
        f.iter().find(|x| x.id == "entra.aadsts").unwrap().severity,
        Severity::Error
    );
}

#[test]
fn the_new_catalogue_codes_have_both_languages() {
    for code in [
        50034, 50053, 50057, 50158, 50173, 53000, 53001, 530032, 70011, 70043, 7000222, 90072,
    ] {
        let e = aadsts::lookup(code).unwrap_or_else(|| panic!("{code} missing"));
        assert!(!e.1.is_empty() && !e.2.is_empty() && !e.3.is_empty());
        assert!(!e.4.is_ascii(), "{code} ja meaning");
        assert!(!e.5.is_ascii(), "{code} ja fix");
    }
    let f = run(
        &log(healthy(), "AADSTS9999999: something new happened"),
        &[],
    );
    assert_eq!(f[0].detail, "AADSTS9999999: something new happened");
}

#[test]
fn one_file_through_two_variables_is_one_finding() {
    use CaBundleSource::{CurlCaBundle, RequestsCaBundle};
    let der = CaBundle {
        format: Some(crate::model::BundleFormat::Der),
        ..holding(ca_bundle(RequestsCaBundle, "/c/root.cer", true), 0, &[])
    };
    let curl = CaBundle {
        source: CurlCaBundle,
        used_by_azure_cli: false,
        ..der.clone()
    };
    let b = on(
        "linux",
        Bundle {
            ca_bundles: ca_bundles(vec![der, curl]),
            ..healthy()
        },
    );
    let f = run(&b, &[]);
    let inv: Vec<&Finding> = f.iter().filter(|x| x.id == "ca-bundle.invalid").collect();
    assert_eq!(inv.len(), 1, "{f:#?}");
    assert!(
        inv[0]
            .title
            .contains("REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE"),
        "{}",
        inv[0].title
    );
    assert!(inv[0].detail.contains("DER"), "{}", inv[0].detail);
    assert_eq!(
        inv[0].fix[0],
        "Convert it to PEM: openssl x509 -inform DER -in /c/root.cer -out root.pem"
    );
    assert!(
        !inv[0].fix.join(" ").contains("certutil"),
        "{:?}",
        inv[0].fix
    );
    // Missing, through both: one finding too.
    let gone = |s| CaBundle {
        exists: false,
        readable: None,
        ..ca_bundle(s, "/c/gone.pem", false)
    };
    let b = Bundle {
        ca_bundles: ca_bundles(vec![gone(RequestsCaBundle), gone(CurlCaBundle)]),
        ..healthy()
    };
    let f = run(&b, &[]);
    let missing: Vec<&Finding> = f.iter().filter(|x| x.id == "ca-bundle.missing").collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].evidence.len(), 2);
}

#[test]
fn each_bundle_format_gets_its_conversion() {
    use crate::model::BundleFormat::*;
    for (format, needle) in [
        (Pkcs7, "openssl pkcs7 -print_certs"),
        (Pkcs12, "openssl pkcs12 -in /b -nokeys"),
        (Utf16, "Set-Content -Encoding ascii"),
        (Empty, "Rebuild it"),
        (Text, "-----BEGIN CERTIFICATE-----"),
    ] {
        let x = CaBundle {
            format: Some(format.clone()),
            ..holding(
                ca_bundle(CaBundleSource::RequestsCaBundle, "/b", true),
                0,
                &[],
            )
        };
        let f = run(
            &on(
                "windows",
                Bundle {
                    ca_bundles: ca_bundles(vec![x]),
                    ..healthy()
                },
            ),
            &[],
        );
        assert_eq!(f[0].id, "ca-bundle.invalid");
        assert!(
            f[0].fix.iter().any(|s| s.contains(needle)),
            "{format:?}: {:?}",
            f[0].fix
        );
    }
    let dir = CaBundle {
        is_directory: true,
        readable: None,
        hashed_entries: Some(0),
        ..ca_bundle(CaBundleSource::RequestsCaBundle, "/etc/corp-certs", true)
    };
    let f = run(
        &Bundle {
            ca_bundles: ca_bundles(vec![dir.clone()]),
            ..healthy()
        },
        &[],
    );
    assert_eq!(f[0].id, "ca-bundle.invalid");
    assert!(
        f[0].fix[0].contains("openssl rehash /etc/corp-certs"),
        "{:?}",
        f[0].fix
    );
    // A hashed directory is what OpenSSL reads: fine.
    let ok = CaBundle {
        hashed_entries: Some(3),
        ..dir
    };
    let f = run(
        &Bundle {
            ca_bundles: ca_bundles(vec![ok]),
            ..healthy()
        },
        &[],
    );
    assert_eq!(serious(&f), "");
}

/// Learn links follow the language: `/ja-jp/` for Japanese, as written for English; every
/// Japanese finding's link is localized.
#[test]
fn learn_links_are_in_the_readers_language() {
    let u = "https://learn.microsoft.com/cli/azure/x";
    assert_eq!(
        super::learn_link(u, Lang::Ja),
        "https://learn.microsoft.com/ja-jp/cli/azure/x"
    );
    assert_eq!(super::learn_link(u, Lang::En), u);
    assert_eq!(
        super::learn_link("https://aka.ms/mfasetup", Lang::Ja),
        "https://aka.ms/mfasetup"
    );
    let b = log(
        Bundle {
            probes: intercepted(ErrorKind::TlsUntrusted),
            ..healthy()
        },
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
    );
    let cs = [collector("debug.run", Status::Ok, Some(1))];
    let m = Model {
        bundle: &b,
        collectors: &cs,
    };
    let ja = analyze(&m, Lang::Ja);
    assert!(!ja.is_empty());
    for f in &ja {
        assert!(
            !f.docs.starts_with("https://learn.microsoft.com/") || f.docs.contains("/ja-jp/"),
            "{}",
            f.docs
        );
    }
}
