//! One function per finding id. Each is pure: model in, findings out.

use std::collections::{BTreeMap, BTreeSet};

use super::{Client, Evidence, Finding, Lang, Model, Os, Severity, aadsts, excerpt};
use crate::model::{
    BundleFormat, CaBundle, CaBundleSource, ClientState, ErrorKind, ProbeResult, ProxyFamily,
    StageName, TenantComparison, names,
};

const DOC_CLI_TROUBLE: &str =
    "https://learn.microsoft.com/cli/azure/use-azure-cli-successfully-troubleshooting";
const DOC_CLI_PROXY: &str =
    "https://learn.microsoft.com/cli/azure/use-cli-effectively#work-behind-a-proxy";
const DOC_ERRORS: &str =
    "https://learn.microsoft.com/entra/identity-platform/reference-error-codes";
const DOC_TLS: &str = "https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/enable-support-tls-environment";
const DOC_ENDPOINTS: &str =
    "https://learn.microsoft.com/azure/azure-portal/azure-portal-safelist-urls";

pub fn all(m: &Model, l: Lang) -> Vec<Finding> {
    let mut f = Vec::new();
    f.extend(tls_inspection(m, l));
    f.extend(lacks_proxy_root(m, l));
    f.extend(blocked_endpoint(m, l));
    f.extend(auth_required(m, l));
    f.extend(upstream_failure(m, l));
    f.extend(proxy_unreachable(m, l));
    f.extend(proxy_tls(m, l));
    f.extend(proxy_scheme(m, l));
    f.extend(dns(m, l));
    f.extend(unreachable(m, l));
    f.extend(ca_bundle(m, l));
    f.extend(verification_disabled(m, l));
    f.extend(legacy_protocols(m, l));
    f.extend(aadsts_codes(m, l));
    f.extend(post_auth_failure(m, l));
    f.extend(tenant_mismatch(m, l));
    f.extend(stale_context(m, l));
    f.extend(outdated(m, l));
    f.extend(missing_tools(m, l));
    f.extend(execution_policy(m, l));
    f
}

const DOC_EXECUTION_POLICY: &str = "https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_execution_policies";
/// What Windows PowerShell prints when a module's scripts may not run.
const SCRIPTS_DISABLED: &str = "running scripts is disabled on this system";

/// A PowerShell whose execution policy stops Az / Graph from loading: a module import that
/// failed with `UnauthorizedAccess` / `PSSecurityException`, or a Group Policy scope
/// (MachinePolicy, UserPolicy) that blocks scripts. Group Policy beats `-ExecutionPolicy
/// Bypass` on the command line (about_Execution_Policies, "Group Policy settings"), so only
/// an administrator can lift it; otherwise the CurrentUser scope is the user's to set.
fn execution_policy(m: &Model, l: Lang) -> Vec<Finding> {
    const ALLOWS: [&str; 4] = ["Undefined", "Bypass", "Unrestricted", "RemoteSigned"];
    let mut ev = Vec::new();
    let mut enforced = false;
    for (shell, v) in &m.bundle.powershell {
        let file = names::versions_shell(shell);
        for i in &v.imports {
            let blocked = i
                .error_id
                .as_deref()
                .is_some_and(|e| e.contains("UnauthorizedAccess"))
                || i.exception_type
                    .as_deref()
                    .is_some_and(|e| e.ends_with("PSSecurityException"))
                || i.error
                    .as_deref()
                    .is_some_and(|e| e.contains(SCRIPTS_DISABLED));
            if blocked {
                ev.push(Evidence {
                    file: file.clone(),
                    excerpt: format!(
                        "Import-Module {} failed: {}",
                        i.module,
                        i.error_id.as_deref().unwrap_or("scripts are disabled")
                    ),
                });
            }
        }
        for p in &v.execution_policies {
            let (scope, policy) = (
                p.scope.as_deref().unwrap_or(""),
                p.policy.as_deref().unwrap_or(""),
            );
            if matches!(scope, "MachinePolicy" | "UserPolicy") && !ALLOWS.contains(&policy) {
                enforced = true;
                ev.push(Evidence {
                    file: file.clone(),
                    excerpt: format!("Get-ExecutionPolicy -List: {scope} = {policy}"),
                });
            }
        }
    }
    if ev.is_empty() {
        return vec![];
    }
    // The sign-in run itself failed for it: then this is the cause, not a risk.
    let run = m.log_evidence(&[SCRIPTS_DISABLED, "UnauthorizedAccess"], 1);
    let severity = if run.is_empty() {
        Severity::Warning
    } else {
        Severity::Error
    };
    ev.extend(run);
    let fix = if enforced {
        l.t("Group Policy sets the execution policy and overrides -ExecutionPolicy Bypass: ask your administrator to allow RemoteSigned (or to sign the modules) for your account or machine.", "グループ ポリシーが実行ポリシーを設定しており、-ExecutionPolicy Bypass より優先されます: 管理者に RemoteSigned の許可 (またはモジュールの署名) を依頼してください。")
    } else {
        l.t("Allow signed and local scripts for your account: Set-ExecutionPolicy -Scope CurrentUser RemoteSigned, then start a new PowerShell.", "自分のアカウントで署名済みとローカルのスクリプトを許可します: Set-ExecutionPolicy -Scope CurrentUser RemoteSigned を実行し、新しい PowerShell を起動してください。")
    };
    vec![finding(
        "powershell.execution-policy",
        severity,
        if severity == Severity::Error { 90 } else { 70 },
        l.t("The PowerShell execution policy keeps Az / Graph modules from loading", "PowerShell の実行ポリシーにより Az / Graph モジュールを読み込めません"),
        l.t("Connect-AzAccount and Connect-MgGraph need their modules' scripts to run; this execution policy disables them.", "Connect-AzAccount と Connect-MgGraph はモジュールのスクリプトの実行が必要ですが、この実行ポリシーでは無効です。"),
        ev,
        vec![fix],
        DOC_EXECUTION_POLICY,
    )]
}

#[allow(clippy::too_many_arguments)]
fn finding(
    id: &'static str,
    severity: Severity,
    confidence: u8,
    title: String,
    detail: String,
    evidence: Vec<Evidence>,
    fix: Vec<String>,
    docs: &str,
) -> Finding {
    Finding {
        id: id.into(),
        severity,
        title,
        detail,
        evidence,
        fix,
        docs: docs.into(),
        confidence,
        // Set from the evidence by `rank`.
        basis: Default::default(),
    }
}

/// One fix step and where it applies: the operating systems (empty: any) and the clients
/// (empty: any). [`fixes`] keeps the steps that apply to the bundle, so a Linux bundle never
/// tells the user to run `setx` or open the Windows certificate store.
struct Step {
    text: String,
    os: &'static [Os],
    clients: &'static [Client],
}

const WINDOWS: &[Os] = &[Os::Windows];
const UNIX: &[Os] = &[Os::Linux, Os::Macos];
const LINUX: &[Os] = &[Os::Linux];
const MACOS: &[Os] = &[Os::Macos];
const AZ: &[Client] = &[Client::AzureCli];
const PS: &[Client] = &[Client::AzurePowerShell, Client::GraphPowerShell];

/// A step for any platform and client.
fn any(text: String) -> Step {
    step(&[], &[], text)
}

fn step(os: &'static [Os], clients: &'static [Client], text: String) -> Step {
    Step { text, os, clients }
}

/// The steps that apply to this bundle: its platform and the clients that may be installed on
/// it. A bundle whose platform is unknown (neither system.json nor the manifest read) gets the
/// Windows steps, the rules' wording before they knew the platform.
fn fixes(m: &Model, steps: Vec<Step>) -> Vec<String> {
    let platform = m.platform().unwrap_or(Os::Windows);
    steps
        .into_iter()
        .filter(|s| s.os.is_empty() || s.os.contains(&platform))
        .filter(|s| s.clients.is_empty() || s.clients.iter().any(|c| m.may_have(*c)))
        .map(|s| s.text)
        .collect()
}

/// Probe evidence: the host, then what was seen. Probe errors often start with the host
/// already (`login.microsoftonline.com: failed to lookup ...`): it is not repeated.
fn probe_evidence(r: &ProbeResult, what: &str) -> Evidence {
    let excerpt = if what.starts_with(r.host.as_str()) {
        what.to_string()
    } else {
        format!("{}: {what}", r.host)
    };
    Evidence {
        file: names::PROBES.into(),
        excerpt,
    }
}

/// The client families of a probe's route, in words.
fn families_text(r: &ProbeResult, l: Lang) -> String {
    let names: Vec<String> = r
        .families
        .iter()
        .map(|f| match f {
            ProxyFamily::AzureCli => "Azure CLI".to_string(),
            ProxyFamily::AzureCliWam => l.t(
                "Azure CLI sign-in through WAM",
                "WAM 経由の Azure CLI サインイン",
            ),
            ProxyFamily::PowerShell7 => "PowerShell 7 (Az, Graph)".to_string(),
            ProxyFamily::WindowsPowerShell => "Windows PowerShell 5.1".to_string(),
        })
        .collect();
    names.join(", ")
}

fn hosts(rs: &[&ProbeResult]) -> String {
    rs.iter()
        .map(|r| r.host.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The issuer of a probe's chain when it is not a Microsoft or DigiCert CA.
fn interception_ca(r: &ProbeResult) -> Option<&str> {
    r.tls.as_ref()?.interception_ca.as_deref()
}

/// The CA bundle Azure CLI verifies against (REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi).
fn az_bundle<'a>(m: &Model<'a>) -> Option<&'a CaBundle> {
    m.bundle
        .ca_bundles
        .as_ref()?
        .bundles
        .iter()
        .find(|x| x.used_by_azure_cli)
}

/// The certificate subjects of one `tls/ca-bundles.json` bundle.
fn bundle_subjects(bundle: &CaBundle) -> BTreeSet<String> {
    bundle
        .certs
        .iter()
        .flatten()
        .map(|c| c.subject.clone())
        .collect()
}

/// The probes whose chain an intercepting CA issued, and those CAs.
fn interception_cas<'a>(m: &Model<'a>) -> (Vec<&'a ProbeResult>, BTreeSet<String>) {
    let rs: Vec<&ProbeResult> = m
        .probes()
        .filter(|r| interception_ca(r).is_some())
        .collect();
    let cas = rs
        .iter()
        .filter_map(|r| interception_ca(r).map(str::to_string))
        .collect();
    (rs, cas)
}

/// Log lines the rules look for (the tools' own wording).
const TUNNEL_403: &str = "Tunnel connection failed: 403";
const ARM_FORBIDDEN: &str = "Operation returned an invalid status 'Forbidden'";
const PROXY_407: &str = "407 Proxy Authentication Required";
const AADSTS_TLS: &str = "AADSTS1002016";

/// Failure texts of a TLS-inspecting proxy; the first is Azure CLI's own hint (SSLERROR_TEMPLATE).
const CERT_FAIL: &[&str] = &[
    "Certificate verification failed. This typically happens when using Azure CLI behind a proxy",
    "CERTIFICATE_VERIFY_FAILED",
    "The SSL connection could not be established",
    "unable to get local issuer certificate",
    "self signed certificate in certificate chain",
    "self-signed certificate in certificate chain",
];

fn tls_inspection(m: &Model, l: Lang) -> Vec<Finding> {
    let (rs, cas) = interception_cas(m);
    let log = m.log_evidence(CERT_FAIL, 3);
    if rs.is_empty() && log.is_empty() {
        return vec![];
    }
    // Interception that Azure CLI already trusts, with no failure in the log, is not a fault.
    // The probes verify against REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, but against the Mozilla
    // roots in place of Azure CLI's certifi bundle: a root appended there (the fix below) is
    // recognised by its subject, as `lacks_proxy_root` does.
    let certifi = az_bundle(m)
        .filter(|b| b.source == CaBundleSource::AzureCliCertifi)
        .map(bundle_subjects)
        .unwrap_or_default();
    let untrusted = rs.iter().any(|r| {
        r.error_kind == Some(ErrorKind::TlsUntrusted)
            && !interception_ca(r).is_some_and(|ca| certifi.contains(ca))
    });
    let ca_list = cas.iter().cloned().collect::<Vec<_>>().join("; ");
    let mut evidence: Vec<Evidence> = rs
        .iter()
        .map(|r| {
            probe_evidence(
                r,
                &l.t(
                    &format!("chain issued by {}", interception_ca(r).unwrap_or("?")),
                    &format!(
                        "証明書チェーンの発行元 {}",
                        interception_ca(r).unwrap_or("?")
                    ),
                ),
            )
        })
        .collect();
    evidence.extend(log.clone());
    let bundle_path = az_bundle(m).map_or("cacert.pem", |b| b.path.as_str());
    if !untrusted && log.is_empty() {
        return vec![finding(
            "proxy.tls-inspection",
            Severity::Info,
            60,
            l.t(&format!("TLS inspection by {ca_list}, trusted by Azure CLI's CA bundle"), &format!("{ca_list} による TLS/SSL インスペクション (Azure CLI の CA バンドルで信頼済み)")),
            l.t("A proxy re-signs the Microsoft endpoints' certificates. Azure CLI trusts its root through its CA bundle, so this is not a fault by itself.", "プロキシが Microsoft のエンドポイントの証明書を再署名しています。Azure CLI は CA バンドルでそのルートを信頼しているため、これ自体は問題ではありません。"),
            evidence,
            vec![],
            DOC_CLI_PROXY,
        )];
    }
    let who = if ca_list.is_empty() {
        l.t(
            "a TLS-inspecting proxy (or Fiddler)",
            "TLS/SSL インスペクションを行うプロキシ (または Fiddler)",
        )
    } else {
        ca_list.clone()
    };
    vec![finding(
        "proxy.tls-inspection",
        Severity::Error,
        if rs.is_empty() { 85 } else { 96 },
        l.t(&format!("A TLS-inspecting proxy intercepts the sign-in: {who}"), &format!("TLS/SSL インスペクションを行うプロキシがサインインの通信を検査しています: {who}")),
        if m.azure_cli_wam() {
            // With WAM the broker does the user sign-in itself, but MSAL Python first fetches
            // the tenant's OpenID configuration over requests (msal `authority.py`, cached
            // 24 h in msal_http_cache.bin), and every Resource Manager call goes over requests.
            l.t(
                &format!("The Microsoft endpoints present certificates issued by {who} instead of Microsoft's CAs. Azure CLI signs you in through WAM (the Windows broker), but its own HTTP calls do not use the Windows certificate store: they verify against REQUESTS_CA_BUNDLE or its own bundle, which lacks that root. Resource Manager calls (the subscription listing after sign-in) fail with CERTIFICATE_VERIFY_FAILED, and the sign-in itself fails too when MSAL's tenant discovery request is not cached from the last 24 hours. Running Fiddler causes the same error."),
                &format!("Microsoft のエンドポイントが Microsoft の CA ではなく {who} が発行した証明書を提示しています。Azure CLI は WAM (Windows のブローカー) でサインインしますが、自身の HTTP 通信は Windows の証明書ストアを使わず、REQUESTS_CA_BUNDLE または独自のバンドルで検証するため、そのルートがありません。Resource Manager の呼び出し (サインイン後のサブスクリプション一覧) は CERTIFICATE_VERIFY_FAILED で失敗し、MSAL のテナント検出要求が過去 24 時間にキャッシュされていなければサインイン自体も失敗します。Fiddler の実行中も同じエラーになります。"),
            )
        } else if m.windows_or_unknown() {
            l.t(
                &format!("The Microsoft endpoints present certificates issued by {who} instead of Microsoft's CAs. Azure CLI does not use the Windows certificate store: it verifies against REQUESTS_CA_BUNDLE or its own bundle, which lacks that root, so sign-in fails with CERTIFICATE_VERIFY_FAILED. Running Fiddler causes the same error."),
                &format!("Microsoft のエンドポイントが Microsoft の CA ではなく {who} が発行した証明書を提示しています。Azure CLI は Windows の証明書ストアを使わず、REQUESTS_CA_BUNDLE または独自のバンドルで検証するため、そのルートがなく CERTIFICATE_VERIFY_FAILED で失敗します。Fiddler の実行中も同じエラーになります。"),
            )
        } else {
            l.t(
                &format!("The Microsoft endpoints present certificates issued by {who} instead of Microsoft's CAs. Azure CLI does not use the system's certificate store: it verifies against REQUESTS_CA_BUNDLE or its own bundle, which lacks that root, so sign-in fails with CERTIFICATE_VERIFY_FAILED."),
                &format!("Microsoft のエンドポイントが Microsoft の CA ではなく {who} が発行した証明書を提示しています。Azure CLI はシステムの証明書ストアを使わず、REQUESTS_CA_BUNDLE または独自のバンドルで検証するため、そのルートがなく CERTIFICATE_VERIFY_FAILED で失敗します。"),
            )
        },
        evidence,
        fixes(m, vec![
            step(WINDOWS, AZ, l.t("Azure CLI: export the proxy's root CA (Base64 .cer), build a .pem with it plus the usual roots, and set REQUESTS_CA_BUNDLE to that file (e.g. setx REQUESTS_CA_BUNDLE C:\\certs\\ca-bundle.pem).", "Azure CLI: プロキシのルート CA を Base64 (.cer) でエクスポートし、既存のルート証明書と合わせた .pem を作成して REQUESTS_CA_BUNDLE にそのファイルを設定してください (例: setx REQUESTS_CA_BUNDLE C:\\certs\\ca-bundle.pem)。")),
            step(UNIX, AZ, l.t("Azure CLI: get the proxy's root CA as PEM, build a .pem with it plus the usual roots, and set REQUESTS_CA_BUNDLE to that file in your shell profile (e.g. export REQUESTS_CA_BUNDLE=$HOME/certs/ca-bundle.pem in ~/.bashrc or ~/.zshrc).", "Azure CLI: プロキシのルート CA を PEM で入手し、既存のルート証明書と合わせた .pem を作成して、シェルのプロファイルで REQUESTS_CA_BUNDLE にそのファイルを設定してください (例: ~/.bashrc または ~/.zshrc に export REQUESTS_CA_BUNDLE=$HOME/certs/ca-bundle.pem)。")),
            step(&[], AZ, l.t(&format!("Or append the proxy's root (Base64) to Azure CLI's bundle: {bundle_path}"), &format!("または、プロキシのルート (Base64) を Azure CLI のバンドルに追記してください: {bundle_path}"))),
            step(WINDOWS, PS, l.t("Azure PowerShell / Graph PowerShell use the Windows certificate store: the proxy's root must be in Trusted Root Certification Authorities (usually deployed by IT).", "Azure PowerShell / Graph PowerShell は Windows の証明書ストアを使います。プロキシのルート証明書を「信頼されたルート証明機関」に登録してください (通常は IT 部門が配布します)。")),
            step(LINUX, PS, l.t("Azure PowerShell / Graph PowerShell (.NET) use the system's OpenSSL store: copy the root (PEM, .crt) to /usr/local/share/ca-certificates/ and run sudo update-ca-certificates (Debian, Ubuntu), or to /etc/pki/ca-trust/source/anchors/ and run sudo update-ca-trust (RHEL, Fedora).", "Azure PowerShell / Graph PowerShell (.NET) はシステムの OpenSSL ストアを使います。ルート (PEM、.crt) を /usr/local/share/ca-certificates/ にコピーして sudo update-ca-certificates を実行するか (Debian、Ubuntu)、/etc/pki/ca-trust/source/anchors/ にコピーして sudo update-ca-trust を実行してください (RHEL、Fedora)。")),
            step(MACOS, PS, l.t("Azure PowerShell / Graph PowerShell (.NET) use the macOS keychain: sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain root.cer", "Azure PowerShell / Graph PowerShell (.NET) は macOS のキーチェーンを使います。次のコマンドでルート証明書を信頼させてください: sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain root.cer")),
            step(WINDOWS, &[], l.t("If Fiddler is running, close it (or trust its root the same way) before signing in.", "Fiddler を実行している場合は、サインイン前に終了してください (または同様にそのルートを信頼させます)。")),
        ]),
        DOC_CLI_PROXY,
    )]
}

fn lacks_proxy_root(m: &Model, l: Lang) -> Vec<Finding> {
    let (rs, cas) = interception_cas(m);
    if rs.is_empty()
        || !rs
            .iter()
            .any(|r| r.error_kind == Some(ErrorKind::TlsUntrusted))
    {
        return vec![];
    }
    let Some(bundle) = az_bundle(m) else {
        return vec![];
    };
    let subjects = bundle_subjects(bundle);
    let missing: Vec<&String> = cas.iter().filter(|ca| !subjects.contains(*ca)).collect();
    if missing.is_empty() {
        return vec![];
    }
    let path = bundle.path.as_str();
    let source = bundle.source.as_str();
    let count = bundle.certificates.map_or_else(
        || l.t("not read", "読み取れませんでした"),
        |n| l.t(&format!("{n} certificates"), &format!("証明書 {n} 個")),
    );
    let names = missing
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    vec![finding(
        "ca-bundle.lacks-proxy-root",
        Severity::Error,
        90,
        l.t(&format!("Azure CLI's CA bundle does not hold the intercepting root ({names})"), &format!("Azure CLI の CA バンドルに TLS/SSL インスペクションのルート証明書 ({names}) がありません")),
        if m.azure_cli_wam() {
            l.t(&format!("Azure CLI verifies against {path} ({source}), which has no certificate named {names}. With WAM the broker signs you in, but Resource Manager calls (the subscription listing) fail, and so does the sign-in when MSAL's tenant discovery request is not cached."), &format!("Azure CLI は {path} ({source}) で検証しますが、{names} という証明書が含まれていません。WAM ではブローカーがサインインしますが、Resource Manager の呼び出し (サブスクリプション一覧) は失敗し、MSAL のテナント検出要求がキャッシュされていなければサインインも失敗します。"))
        } else {
            l.t(&format!("Azure CLI verifies against {path} ({source}), which has no certificate named {names}."), &format!("Azure CLI は {path} ({source}) で検証しますが、{names} という証明書が含まれていません。"))
        },
        vec![Evidence { file: names::CA_BUNDLES.into(), excerpt: format!("{path}: {count}") }],
        vec![l.t(&format!("Add the root certificate {names} (Base64) to {path}, or point REQUESTS_CA_BUNDLE at a .pem that holds it plus the usual roots."), &format!("ルート証明書 {names} (Base64) を {path} に追加するか、それと既存のルート証明書を含む .pem を REQUESTS_CA_BUNDLE に指定してください。"))],
        DOC_CLI_PROXY,
    )]
}

fn blocked_endpoint(m: &Model, l: Lang) -> Vec<Finding> {
    let rs: Vec<&ProbeResult> = m
        .probes()
        .filter(|r| {
            r.proxy_status == Some(403) || (r.http_status == Some(403) && r.proxy.is_some())
        })
        .collect();
    let mut evidence: Vec<Evidence> = rs
        .iter()
        .map(|r| {
            probe_evidence(
                r,
                &l.t(
                    &format!(
                        "proxy answered 403 ({})",
                        r.failed_stage.as_ref().map_or("", StageName::as_str)
                    ),
                    &format!(
                        "プロキシの応答 403 ({})",
                        r.failed_stage.as_ref().map_or("", StageName::as_str)
                    ),
                ),
            )
        })
        .collect();
    let tunnel = m.log_evidence(&[TUNNEL_403], 2);
    // A 403 that Resource Manager itself sends is an authorization problem, not a proxy.
    let arm_authz = m
        .debug_logs()
        .any(|(_, t)| t.contains("AuthorizationFailed"));
    let arm_403 = if arm_authz {
        vec![]
    } else {
        let mut e = m.log_evidence(
            &[
                "management.azure.com:443 \"GET",
                "management.azure.com:443 \"POST",
            ],
            50,
        );
        e.retain(|x| x.excerpt.contains("\" 403"));
        e.extend(m.log_evidence(&[ARM_FORBIDDEN], 1));
        e
    };
    evidence.extend(tunnel.clone());
    evidence.extend(arm_403.clone());
    if evidence.is_empty() {
        return vec![];
    }
    let mut blocked = hosts(&rs);
    if blocked.is_empty() {
        blocked = "management.azure.com".into();
    }
    vec![finding(
        "proxy.blocked-endpoint",
        Severity::Error,
        if rs.is_empty() { 80 } else { 94 },
        l.t(&format!("The proxy blocks {blocked}"), &format!("プロキシが {blocked} をブロックしています")),
        l.t("az login and Connect-AzAccount authenticate, then call https://management.azure.com (HTTPS, 443) to list subscriptions. A proxy that allows the sign-in URLs but not this one makes the command fail after a successful sign-in.", "az login と Connect-AzAccount は認証後に https://management.azure.com (HTTPS, 443) を呼び出してサブスクリプションを一覧します。サインイン URL は許可しているがこの URL を許可していないプロキシでは、サインイン成功後にコマンドが失敗します。"),
        evidence,
        vec![
            l.t(&format!("Ask the proxy administrator to allow HTTPS (443) to {blocked} and the other Azure endpoints."), &format!("プロキシ管理者に {blocked} ほか Azure のエンドポイントへの HTTPS (443) を許可するよう依頼してください。")),
            l.t("Or sign in with a proxy exception for these hosts (NO_PROXY) if your network allows direct access.", "直接アクセスできるネットワークであれば、これらのホストをプロキシの例外 (NO_PROXY) にしてください。"),
        ],
        DOC_ENDPOINTS,
    )]
}

fn proxy_status_finding<'a>(
    m: &Model<'a>,
    codes: &[u16],
    needles: &[&str],
) -> (Vec<&'a ProbeResult>, Vec<Evidence>) {
    let rs: Vec<&ProbeResult> = m
        .probes()
        .filter(|r| r.proxy_status.is_some_and(|c| codes.contains(&c)))
        .collect();
    let mut ev: Vec<Evidence> = rs
        .iter()
        .filter_map(|r| {
            let status = r.proxy_status?;
            Some(probe_evidence(r, &format!("proxy answered {status}")))
        })
        .collect();
    ev.extend(m.log_evidence(needles, 2));
    (rs, ev)
}

/// What a 407 asks for, from the schemes the probes saw offered and whether they sent
/// credentials (Basic, from the proxy URL, as Azure CLI does).
#[derive(Debug, PartialEq, Eq)]
enum ProxyAuthCase {
    /// Only Negotiate / NTLM (Kerberos): Windows integrated authentication.
    Integrated,
    /// Basic offered, credentials sent and still 407: the proxy rejected them.
    Rejected,
    /// Anything else (Basic without credentials, no schemes seen, a log line only).
    Missing,
}

fn proxy_auth_case(rs: &[&ProbeResult]) -> ProxyAuthCase {
    let offered: Vec<String> = rs
        .iter()
        .flat_map(|r| r.proxy_authenticate.iter())
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let integrated = |s: &String| matches!(s.as_str(), "negotiate" | "ntlm" | "kerberos");
    if !offered.is_empty() && offered.iter().all(integrated) {
        ProxyAuthCase::Integrated
    } else if offered.iter().any(|s| s == "basic") && rs.iter().any(|r| r.proxy_credentials) {
        ProxyAuthCase::Rejected
    } else {
        ProxyAuthCase::Missing
    }
}

fn auth_required(m: &Model, l: Lang) -> Vec<Finding> {
    let (rs, mut ev) = proxy_status_finding(m, &[407], &[PROXY_407]);
    if ev.is_empty() {
        return vec![];
    }
    // The probes' evidence names what the proxy offered and whether credentials went along.
    for (e, r) in ev.iter_mut().zip(&rs) {
        if !r.proxy_authenticate.is_empty() {
            e.excerpt
                .push_str(&format!(", offering {}", r.proxy_authenticate.join(", ")));
        }
        if r.proxy_credentials {
            e.excerpt
                .push_str(" (Basic credentials from the proxy URL were sent)");
        }
    }
    let confidence = if rs.is_empty() { 85 } else { 93 };
    let (title, detail, fix) = match proxy_auth_case(&rs) {
        // requests has no Negotiate/NTLM (psf/requests adapters.py `proxy_headers`: Basic from
        // the URL only); .NET does it only with proxy credentials set, which Az.Accounts and
        // Graph leave unset (dotnet/runtime HttpConnectionPool.SendWithNtProxyAuthAsync runs
        // only when ProxyCredentials is non-null; azure-powershell #13647, #26402).
        ProxyAuthCase::Integrated => (
            l.t("The proxy wants Windows integrated authentication (407 Negotiate/NTLM)", "プロキシが Windows 統合認証を要求しています (407 Negotiate/NTLM)"),
            l.t("The proxy answered 407 and offered only Negotiate/NTLM: this proxy wants Windows integrated authentication. Azure CLI (Python requests) cannot do it at all; PowerShell/.NET can only when proxy credentials are configured (by default Az.Accounts and Graph set none). Putting a user name and password in the proxy URL does not help: they are sent as Basic, which this proxy does not accept.", "プロキシは 407 を返し、Negotiate/NTLM だけを提示しました。このプロキシは Windows 統合認証を要求しています。Azure CLI (Python requests) はこれをまったく行えません。PowerShell/.NET はプロキシの資格情報が設定されている場合にのみ行えます (Az.Accounts と Graph は既定では設定しません)。プロキシ URL にユーザー名とパスワードを含めても Basic として送られるため、このプロキシでは効果がありません。"),
            vec![
                any(l.t("Ask the proxy administrator to allow the Microsoft sign-in, Resource Manager and Graph endpoints without authentication, or to offer Basic authentication for them.", "プロキシ管理者に、Microsoft のサインイン、Resource Manager、Graph のエンドポイントを認証なしで許可するか、Basic 認証を提供するよう依頼してください。")),
                step(&[], AZ, l.t("Azure CLI: point HTTPS_PROXY at a local proxy that performs the integrated authentication for you (for example Px or Cntlm).", "Azure CLI: 統合認証を代行するローカル プロキシ (Px、Cntlm など) を HTTPS_PROXY に指定してください。")),
                step(&[], PS, l.t("PowerShell 7 (Az, Graph), before Connect-AzAccount / Connect-MgGraph: [System.Net.Http.HttpClient]::DefaultProxy.Credentials = [System.Net.CredentialCache]::DefaultCredentials", "PowerShell 7 (Az、Graph) では、Connect-AzAccount / Connect-MgGraph の前に次を実行してください: [System.Net.Http.HttpClient]::DefaultProxy.Credentials = [System.Net.CredentialCache]::DefaultCredentials")),
                step(WINDOWS, PS, l.t("Windows PowerShell 5.1: [System.Net.WebRequest]::DefaultWebProxy.Credentials = [System.Net.CredentialCache]::DefaultCredentials", "Windows PowerShell 5.1 では、次を実行してください: [System.Net.WebRequest]::DefaultWebProxy.Credentials = [System.Net.CredentialCache]::DefaultCredentials")),
            ],
        ),
        ProxyAuthCase::Rejected => (
            l.t("The proxy rejected the credentials (407)", "プロキシが資格情報を拒否しました (407)"),
            l.t("The proxy URL holds a user name and password, which were sent as Basic authentication as Azure CLI sends them, and the proxy still answered 407: it rejected the credentials.", "プロキシ URL にユーザー名とパスワードが含まれ、Azure CLI と同じく Basic 認証として送られましたが、プロキシは 407 を返しました。資格情報が拒否されています。"),
            vec![
                any(l.t("Check the user name and password in the proxy URL; percent-encode special characters (@ as %40, : as %3A, / as %2F, % as %25).", "プロキシ URL のユーザー名とパスワードを確認してください。特殊文字はパーセント エンコードします (@ は %40、: は %3A、/ は %2F、% は %25)。")),
                any(l.t("Ask the proxy administrator whether the account is locked, expired or not allowed to use the proxy.", "アカウントがロック・期限切れ・プロキシ利用不可になっていないか、プロキシ管理者に確認してください。")),
            ],
        ),
        ProxyAuthCase::Missing => (
            l.t("The proxy requires authentication (407)", "プロキシが認証を要求しています (407)"),
            l.t("The proxy answered 407 Proxy Authentication Required: the tools reach it but do not authenticate to it.", "プロキシが 407 Proxy Authentication Required を返しました。ツールはプロキシに到達していますが認証していません。"),
            vec![
                step(&[], AZ, l.t("Azure CLI: put the proxy credentials in the proxy URL (HTTPS_PROXY=http://user:password@proxy:port), or ask for an allow rule that needs no authentication.", "Azure CLI: プロキシ URL に資格情報を含めるか (HTTPS_PROXY=http://user:password@proxy:port)、認証不要の許可ルールを依頼してください。")),
                step(&[], PS, l.t("PowerShell: [System.Net.WebRequest]::DefaultWebProxy.Credentials = [System.Net.CredentialCache]::DefaultNetworkCredentials", "PowerShell では、次を実行してください: [System.Net.WebRequest]::DefaultWebProxy.Credentials = [System.Net.CredentialCache]::DefaultNetworkCredentials")),
            ],
        ),
    };
    vec![finding(
        "proxy.auth-required",
        Severity::Error,
        confidence,
        title,
        detail,
        ev,
        fixes(m, fix),
        DOC_CLI_PROXY,
    )]
}

/// The proxy could not reach upstream: 502/503/504 to CONNECT, or to the request sent through
/// the tunnel (an intercepting proxy answers it itself; urllib3 does not raise for it, so the
/// client sees an HTTP 502). Probes of every route; urllib3's and .NET's tunnel texts.
fn upstream_failure(m: &Model, l: Lang) -> Vec<Finding> {
    const CODES: [u16; 3] = [502, 503, 504];
    let connect: Vec<&ProbeResult> = m
        .all_probes()
        .iter()
        .filter(|r| r.proxy_status.is_some_and(|c| CODES.contains(&c)))
        .collect();
    let through: Vec<&ProbeResult> = m
        .all_probes()
        .iter()
        .filter(|r| {
            r.proxy.is_some()
                && r.failed_stage == Some(StageName::Http)
                && r.http_status.is_some_and(|c| CODES.contains(&c))
        })
        .collect();
    let mut ev: Vec<Evidence> = connect
        .iter()
        .filter_map(|r| {
            let status = r.proxy_status?;
            Some(probe_evidence(
                r,
                &l.t(
                    &format!(
                        "proxy answered {status} to CONNECT ({})",
                        families_text(r, l)
                    ),
                    &format!(
                        "CONNECT へのプロキシの応答 {status} ({})",
                        families_text(r, l)
                    ),
                ),
            ))
        })
        .collect();
    ev.extend(through.iter().filter_map(|r| {
        let status = r.http_status?;
        Some(probe_evidence(
            r,
            &l.t(
                &format!(
                    "GET through the proxy answered {status} ({})",
                    families_text(r, l)
                ),
                &format!(
                    "プロキシ経由の GET の応答 {status} ({})",
                    families_text(r, l)
                ),
            ),
        ))
    }));
    ev.extend(m.log_evidence(
        &[
            "Tunnel connection failed: 502",
            "Tunnel connection failed: 503",
            "Tunnel connection failed: 504",
            "failed with status code '502'",
            "failed with status code '503'",
            "failed with status code '504'",
        ],
        2,
    ));
    if ev.is_empty() {
        return vec![];
    }
    let probed = !connect.is_empty() || !through.is_empty();
    // A 5xx inside a tunnel the proxy does not inspect is the endpoint's own answer: worth
    // reporting, less surely the proxy's.
    let inspected = through.iter().all(|r| interception_ca(r).is_some());
    let confidence = match (probed, connect.is_empty(), inspected) {
        (false, _, _) => 80,
        (true, false, _) | (true, true, true) => 90,
        (true, true, false) => 75,
    };
    let mut hs: Vec<&ProbeResult> = connect.clone();
    hs.extend(through.iter().copied());
    let names = hosts(&hs);
    let title = if names.is_empty() {
        l.t(
            "The proxy could not reach the endpoint (502/503/504)",
            "プロキシがエンドポイントに到達できません (502/503/504)",
        )
    } else {
        l.t(
            &format!("The proxy could not reach {names} (502/503/504)"),
            &format!("プロキシが {names} に到達できません (502/503/504)"),
        )
    };
    let detail = if !through.is_empty() && connect.is_empty() {
        l.t("The proxy accepted the tunnel, and the request sent through it was answered 502/503/504: an inspecting proxy answers for the endpoint when its own connection upstream fails (its DNS, route or firewall). The client sees an HTTP error, not a proxy error.", "プロキシはトンネルを受け付けましたが、その中で送った要求に 502/503/504 が返りました。TLS/SSL インスペクションを行うプロキシは、自身の上流への接続 (DNS、経路、ファイアウォール) に失敗するとエンドポイントの代わりに応答します。クライアントにはプロキシのエラーではなく HTTP のエラーとして見えます。")
    } else {
        l.t("The proxy accepted the connection but failed upstream: its own DNS, route or firewall to Microsoft's endpoints.", "プロキシは接続を受け付けましたが、上流 (プロキシ自身の DNS、経路、ファイアウォール) で失敗しました。")
    };
    vec![finding(
        "proxy.upstream-failure",
        Severity::Error,
        confidence,
        title,
        detail,
        ev,
        vec![l.t("Ask the proxy administrator to check the proxy's route to the endpoints named above.", "上記のエンドポイントへのプロキシの経路を確認するよう、プロキシ管理者に依頼してください。")],
        DOC_ENDPOINTS,
    )]
}

/// Where a probe's route gets its proxy, for its first client family (`env:HTTPS_PROXY`,
/// `wininet`, ...), from `network/proxy.json`.
fn proxy_source(m: &Model, r: &ProbeResult) -> Option<String> {
    let e = m
        .bundle
        .proxy
        .as_ref()?
        .effective
        .iter()
        .find(|e| e.host == r.host)?;
    let eff = match r.families.first()? {
        ProxyFamily::AzureCli => Some(&e.azure_cli),
        ProxyFamily::AzureCliWam => e.azure_cli_wam.as_ref(),
        ProxyFamily::PowerShell7 => Some(&e.powershell7),
        ProxyFamily::WindowsPowerShell => e.windows_powershell.as_ref(),
    }?;
    Some(eff.source.clone())
}

/// The probes through a proxy, grouped by proxy (first seen first), that `pick` selects.
fn by_proxy<'a>(
    m: &Model<'a>,
    pick: impl Fn(&ProbeResult) -> bool,
) -> Vec<(String, Vec<&'a ProbeResult>)> {
    let mut out: Vec<(String, Vec<&'a ProbeResult>)> = Vec::new();
    for r in m.all_probes().iter().filter(|r| pick(r)) {
        let Some(p) = r.proxy.as_deref() else {
            continue;
        };
        match out.iter_mut().find(|(q, _)| q == p) {
            Some((_, rs)) => rs.push(r),
            None => out.push((p.to_string(), vec![r])),
        }
    }
    out
}

/// The client families of several probes, in words, each once.
fn families_of(rs: &[&ProbeResult], l: Lang) -> String {
    let mut seen: Vec<String> = Vec::new();
    for r in rs {
        for f in families_text(r, l).split(", ") {
            if !f.is_empty() && !seen.iter().any(|s| s == f) {
                seen.push(f.to_string());
            }
        }
    }
    seen.join(", ")
}

/// The host:port of a proxy URL as the probes show it (credentials already cut).
fn proxy_authority(proxy: &str) -> Option<String> {
    let rest = proxy.split_once("://").map_or(proxy, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let auth = rest.split('/').next()?;
    (!auth.is_empty()).then(|| auth.to_string())
}

/// What the clients print when they cannot reach their proxy: urllib3 2.x and 1.26
/// (`Unable to connect to proxy`, `Cannot connect to proxy.`), requests' `ProxyError`. A
/// CONNECT refused with a status reads `Tunnel connection failed: <code>` inside the same
/// ProxyError: that is the proxy answering, left to the status findings.
const PROXY_CONNECT_FAIL: &[&str] = &[
    "Unable to connect to proxy",
    "Cannot connect to proxy",
    "ProxyError(",
];
/// .NET's refused connection (Windows' WSAECONNREFUSED text); it names the endpoint dialled,
/// the proxy's host:port when there is one (ConnectHelper.CreateWrappedException).
const DOTNET_REFUSED: &str =
    "No connection could be made because the target machine actively refused it";
/// urllib3's read timeout: what a proxy that accepts and never answers CONNECT leaves.
const READ_TIMED_OUT: &str = "Read timed out";

/// A configured proxy that refuses, resets or never answers: every client on that route fails
/// before reaching Microsoft. From the probes of every route (PowerShell's and WAM's too) and
/// the clients' own log texts.
fn proxy_unreachable(m: &Model, l: Lang) -> Vec<Finding> {
    use ErrorKind::{Io, Refused, Timeout};
    let down = |r: &ProbeResult| {
        r.failed_stage == Some(StageName::Tcp)
            && matches!(r.error_kind, Some(Refused | Timeout | Io))
    };
    // TCP to the proxy worked, then the CONNECT went unanswered (or was cut).
    let stalled = |r: &ProbeResult| {
        r.failed_stage == Some(StageName::Connect) && matches!(r.error_kind, Some(Timeout | Io))
    };
    let groups = by_proxy(m, |r| r.proxy.is_some() && (down(r) || stalled(r)));
    let mut log = m.log_evidence(PROXY_CONNECT_FAIL, 10);
    log.retain(|e| !e.excerpt.contains("Tunnel connection failed"));
    log.truncate(2);
    // .NET's text does not say "proxy": it counts when it names a proxy the probes used.
    let proxies: Vec<String> = m
        .all_probes()
        .iter()
        .filter_map(|r| r.proxy.as_deref().and_then(proxy_authority))
        .collect();
    let mut dotnet = m.log_evidence(&[DOTNET_REFUSED], 10);
    dotnet.retain(|e| proxies.iter().any(|p| e.excerpt.contains(p.as_str())));
    dotnet.truncate(1);
    log.extend(dotnet);
    let any_stalled = groups.iter().any(|(_, rs)| rs.iter().any(|r| stalled(r)));
    if any_stalled {
        log.extend(m.log_evidence(&[READ_TIMED_OUT], 1));
    }
    if groups.is_empty() && log.is_empty() {
        return vec![];
    }
    let mut out = Vec::new();
    if groups.is_empty() {
        // The log alone: the clients' own words, with no probe to name the proxy.
        out.push(finding(
            "proxy.unreachable",
            Severity::Error,
            80,
            l.t("The client cannot connect to its proxy", "クライアントがプロキシに接続できません"),
            l.t("The debug log shows the client failing to connect to the configured proxy (refused, reset or timed out): nothing reached Microsoft, and the tenant's sign-in log shows nothing.", "デバッグ ログに、設定されたプロキシへの接続の失敗 (拒否、リセット、タイムアウト) が記録されています。要求は Microsoft に届いておらず、テナントのサインイン ログには何も表示されません。"),
            log,
            proxy_down_fixes(m, l, false),
            DOC_CLI_PROXY,
        ));
        return out;
    }
    let mut log = Some(log);
    for (proxy, rs) in groups {
        let who = families_of(&rs, l);
        let hung = rs.iter().all(|r| stalled(r));
        let refused = rs.iter().any(|r| r.error_kind == Some(Refused));
        let mut ev: Vec<Evidence> = rs
            .iter()
            .map(|r| {
                let source = proxy_source(m, r)
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default();
                probe_evidence(
                    r,
                    &l.t(
                        &format!(
                            "{} stage via {proxy}{source}: {}",
                            r.failed_stage.as_ref().map_or("", StageName::as_str),
                            r.error.as_deref().unwrap_or("failed")
                        ),
                        &format!(
                            "{} 段階 (プロキシ {proxy}{source} 経由): {}",
                            r.failed_stage.as_ref().map_or("", StageName::as_str),
                            r.error.as_deref().unwrap_or("失敗")
                        ),
                    ),
                )
            })
            .collect();
        ev.extend(log.take().unwrap_or_default());
        let (title, detail) = if hung {
            (
                l.t(&format!("The proxy {proxy} accepts connections but never answers (used by {who})"), &format!("プロキシ {proxy} は接続を受け付けますが応答しません ({who} が使用)")),
                l.t(&format!("The TCP connection to {proxy} succeeds, but the proxy never answers the CONNECT request: it is hung or overloaded, or this port is not an HTTP proxy's (a SOCKS or TLS port). Azure CLI waits and fails with \"Read timed out\"; nothing reaches Microsoft."), &format!("{proxy} への TCP 接続は成功しますが、プロキシが CONNECT 要求に応答しません。プロキシが停止しているか過負荷であるか、このポートが HTTP プロキシのポートではありません (SOCKS や TLS のポート)。Azure CLI は待機した後 \"Read timed out\" で失敗し、要求は Microsoft に届きません。")),
            )
        } else if refused {
            (
                l.t(&format!("The proxy {proxy} refuses connections (used by {who})"), &format!("プロキシ {proxy} が接続を拒否しています ({who} が使用)")),
                l.t(&format!("Nothing listens at {proxy}: the proxy is down, or the address or port is wrong. Every request of {who} fails before reaching Microsoft (Azure CLI: \"Unable to connect to proxy\"), and the tenant's sign-in log shows nothing."), &format!("{proxy} で待ち受けているものがありません。プロキシが停止しているか、アドレスまたはポートが誤っています。{who} の要求はすべて Microsoft に届く前に失敗し (Azure CLI: \"Unable to connect to proxy\")、テナントのサインイン ログには何も表示されません。")),
            )
        } else {
            (
                l.t(&format!("The proxy {proxy} cannot be reached (used by {who})"), &format!("プロキシ {proxy} に接続できません ({who} が使用)")),
                l.t(&format!("Connecting to {proxy} timed out or was reset: the proxy is down or a firewall drops the traffic to it. Every request of {who} fails before reaching Microsoft."), &format!("{proxy} への接続がタイムアウトまたはリセットされました。プロキシが停止しているか、ファイアウォールがプロキシへの通信を破棄しています。{who} の要求はすべて Microsoft に届く前に失敗します。")),
            )
        };
        out.push(finding(
            "proxy.unreachable",
            Severity::Error,
            92,
            title,
            detail,
            ev,
            proxy_down_fixes(m, l, hung),
            DOC_CLI_PROXY,
        ));
    }
    out
}

fn proxy_down_fixes(m: &Model, l: Lang, hung: bool) -> Vec<String> {
    let mut steps = vec![any(l.t(
        "Check that the proxy is running and that its address and port are the ones your network uses (ask the network team for the current proxy).",
        "プロキシが稼働していること、アドレスとポートがネットワークで使われているものであることを確認してください (現在のプロキシはネットワーク担当者に確認してください)。",
    ))];
    if hung {
        steps.push(any(l.t(
            "If the port is a SOCKS proxy's, write the URL as socks5h://host:port (Azure CLI needs the PySocks package for it); if it expects TLS, https://host:port.",
            "そのポートが SOCKS プロキシのものであれば URL を socks5h://host:port と書いてください (Azure CLI には PySocks パッケージが必要)。TLS を要求するポートであれば https://host:port です。",
        )));
    }
    steps.push(step(WINDOWS, &[], l.t(
        "Where it is set: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (Azure CLI, PowerShell 7; setx sets them for new windows) or, without them, Settings > Network & internet > Proxy (Azure CLI, PowerShell, WAM). Correct it, or remove it if this network needs no proxy.",
        "設定場所: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (Azure CLI、PowerShell 7。setx で新しいウィンドウ用に設定) または、それがない場合は [設定] > [ネットワークとインターネット] > [プロキシ] (Azure CLI、PowerShell、WAM)。修正するか、このネットワークでプロキシが不要なら削除してください。",
    )));
    steps.push(step(UNIX, &[], l.t(
        "Where it is set: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (and their lowercase forms) in your shell profile or /etc/environment. Correct it, or unset it if this network needs no proxy.",
        "設定場所: シェルのプロファイルまたは /etc/environment の HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (小文字の変数も)。修正するか、このネットワークでプロキシが不要なら削除してください。",
    )));
    fixes(m, steps)
}

/// TLS to an `https://` proxy failed: the URL asks for TLS a plain HTTP proxy does not speak
/// (urllib3 2.x: "Your proxy appears to only use HTTP and not HTTPS"), or the proxy's own
/// certificate is not trusted (urllib3 verifies it against REQUESTS_CA_BUNDLE / certifi).
fn proxy_tls(m: &Model, l: Lang) -> Vec<Finding> {
    let groups = by_proxy(m, |r| r.failed_stage == Some(StageName::ProxyTls));
    let mut out = Vec::new();
    for (proxy, rs) in groups {
        let who = families_of(&rs, l);
        let ev: Vec<Evidence> = rs
            .iter()
            .map(|r| {
                probe_evidence(
                    r,
                    &l.t(
                        &format!(
                            "proxy_tls stage via {proxy}: {}",
                            r.error.as_deref().unwrap_or("failed")
                        ),
                        &format!(
                            "proxy_tls 段階 (プロキシ {proxy} 経由): {}",
                            r.error.as_deref().unwrap_or("失敗")
                        ),
                    ),
                )
            })
            .collect();
        let plain = format!("http://{}", proxy_authority(&proxy).unwrap_or_default());
        let untrusted = rs
            .iter()
            .all(|r| r.error_kind == Some(ErrorKind::TlsUntrusted));
        let (title, detail, steps) = if untrusted {
            (
                l.t(&format!("The proxy {proxy}'s own certificate is not trusted"), &format!("プロキシ {proxy} 自身の証明書が信頼されていません")),
                l.t(&format!("The proxy URL starts with https://, so the client speaks TLS to the proxy and verifies the proxy's certificate: Azure CLI against REQUESTS_CA_BUNDLE or its own bundle, which does not hold the proxy's CA. Used by {who}."), &format!("プロキシ URL が https:// で始まるため、クライアントはプロキシと TLS で通信し、プロキシの証明書を検証します。Azure CLI は REQUESTS_CA_BUNDLE または独自のバンドルで検証しますが、そこにプロキシの CA がありません。{who} が使用しています。")),
                vec![
                    step(&[], AZ, l.t("Add the CA that issued the proxy's certificate (PEM) to the file REQUESTS_CA_BUNDLE names, or set REQUESTS_CA_BUNDLE to a .pem that holds it plus the usual roots.", "プロキシの証明書を発行した CA (PEM) を REQUESTS_CA_BUNDLE が指すファイルに追加するか、それと既存のルート証明書を含む .pem を REQUESTS_CA_BUNDLE に設定してください。")),
                    any(l.t(&format!("Or, if the proxy also accepts plain HTTP on that port, write the URL as {plain}"), &format!("または、プロキシがそのポートで平文の HTTP も受け付ける場合は URL を {plain} と書いてください"))),
                ],
            )
        } else {
            (
                l.t(&format!("The proxy URL {proxy} asks for TLS the proxy does not speak"), &format!("プロキシ URL {proxy} は、プロキシが対応していない TLS を要求しています")),
                l.t(&format!("The proxy URL starts with https://, so the client opens TLS to the proxy itself; this proxy speaks plain HTTP there and the handshake fails (urllib3: \"Your proxy appears to only use HTTP and not HTTPS\"). The https in HTTPS_PROXY's name is the traffic it carries, not how to reach the proxy. Used by {who}."), &format!("プロキシ URL が https:// で始まるため、クライアントはプロキシ自体に TLS で接続しますが、このプロキシは平文の HTTP で待ち受けているためハンドシェイクが失敗します (urllib3: \"Your proxy appears to only use HTTP and not HTTPS\")。HTTPS_PROXY の名前の https は中継する通信の種類であり、プロキシへの接続方法ではありません。{who} が使用しています。")),
                vec![any(l.t(&format!("Write the proxy URL with http://: {plain} (e.g. HTTPS_PROXY={plain})"), &format!("プロキシ URL を http:// で書いてください: {plain} (例: HTTPS_PROXY={plain})")))],
            )
        };
        out.push(finding(
            "proxy.tls-to-proxy",
            Severity::Error,
            91,
            title,
            detail,
            ev,
            fixes(m, steps),
            DOC_CLI_PROXY,
        ));
    }
    out
}

/// A proxy URL whose scheme no client accepts (requests: `InvalidSchema`, urllib3:
/// `ValueError`, .NET: "Only the 'http', 'socks4', 'socks4a' and 'socks5' schemes are allowed
/// for proxies"), or that cannot be read at all.
fn proxy_scheme(m: &Model, l: Lang) -> Vec<Finding> {
    let groups = by_proxy(m, |r| r.error_kind == Some(ErrorKind::ProxyScheme));
    let mut out = Vec::new();
    for (proxy, rs) in groups {
        let who = families_of(&rs, l);
        let ev = rs
            .iter()
            .take(1)
            .map(|r| probe_evidence(r, r.error.as_deref().unwrap_or("unsupported proxy scheme")))
            .collect();
        let host = proxy_authority(&proxy).unwrap_or_else(|| "proxy:port".into());
        out.push(finding(
            "proxy.unsupported-scheme",
            Severity::Error,
            90,
            l.t(&format!("The proxy URL {proxy} cannot be used (used by {who})"), &format!("プロキシ URL {proxy} は使用できません ({who} が使用)")),
            l.t("Azure CLI accepts proxy URLs starting with http://, https://, socks4://, socks4a://, socks5:// or socks5h:// (SOCKS needs the PySocks package), and .NET (PowerShell) http://, socks4://, socks4a:// and socks5://. Any other scheme, or an address that does not read as a URL, fails every request.", "Azure CLI が受け付けるプロキシ URL は http://、https://、socks4://、socks4a://、socks5://、socks5h:// で始まるものです (SOCKS には PySocks パッケージが必要)。.NET (PowerShell) は http://、socks4://、socks4a://、socks5:// です。それ以外のスキームや URL として読めないアドレスでは、すべての要求が失敗します。"),
            ev,
            fixes(m, vec![
                any(l.t(&format!("Write the proxy as http://{host} (an HTTP proxy, the usual case), or socks5h://{host} for a SOCKS proxy."), &format!("プロキシを http://{host} (通常の HTTP プロキシ) または SOCKS プロキシなら socks5h://{host} と書いてください。"))),
            ]),
            DOC_CLI_PROXY,
        ));
    }
    out
}

fn dns(m: &Model, l: Lang) -> Vec<Finding> {
    let rs: Vec<&ProbeResult> = m
        .probes()
        .filter(|r| r.error_kind == Some(ErrorKind::Dns))
        .collect();
    let mut ev: Vec<Evidence> = rs
        .iter()
        .map(|r| probe_evidence(r, r.error.as_deref().unwrap_or("does not resolve")))
        .collect();
    ev.extend(m.log_evidence(
        &[
            "NameResolutionError",
            "No such host is known",
            "getaddrinfo failed",
            "Name or service not known",
            "nodename nor servname",
        ],
        2,
    ));
    if ev.is_empty() {
        return vec![];
    }
    let names = if rs.is_empty() {
        "login.microsoftonline.com".to_string()
    } else {
        hosts(&rs)
    };
    vec![finding(
        "network.dns",
        Severity::Error,
        if rs.is_empty() { 85 } else { 92 },
        l.t(&format!("{names} does not resolve (DNS)"), &format!("{names} の名前解決 (DNS) ができません")),
        l.t("The request never reached Entra ID: this machine cannot resolve the endpoint's name. The tenant's sign-in log will show nothing.", "要求は Entra ID に届いていません。このマシンはエンドポイント名を解決できません。テナントのサインイン ログには何も表示されません。"),
        ev,
        vec![
            l.t("Check the network connection and DNS servers (nslookup login.microsoftonline.com).", "ネットワーク接続と DNS サーバーを確認してください (nslookup login.microsoftonline.com)。"),
            l.t("If this network requires a proxy, set HTTPS_PROXY so the proxy resolves names.", "このネットワークでプロキシが必要な場合は、HTTPS_PROXY を設定してプロキシに名前解決させてください。"),
        ],
        DOC_CLI_TROUBLE,
    )]
}

fn unreachable(m: &Model, l: Lang) -> Vec<Finding> {
    let rs: Vec<&ProbeResult> = m
        .probes()
        .filter(|r| {
            r.failed_stage == Some(StageName::Tcp)
                && r.proxy.is_none()
                && matches!(r.error_kind, Some(ErrorKind::Refused | ErrorKind::Timeout))
        })
        .collect();
    if rs.is_empty() {
        return vec![];
    }
    vec![finding(
        "network.unreachable",
        Severity::Error,
        88,
        l.t(&format!("{} cannot be reached on port 443", hosts(&rs)), &format!("{} にポート 443 で接続できません", hosts(&rs))),
        l.t("A direct TCP connection was refused or timed out, and no proxy is configured: a firewall blocks it, or this network requires a proxy.", "直接の TCP 接続が拒否またはタイムアウトし、プロキシも設定されていません。ファイアウォールによるブロックか、このネットワークではプロキシが必要です。"),
        rs.iter().map(|r| probe_evidence(r, r.error.as_deref().unwrap_or(""))).collect(),
        fixes(m, vec![
            any(l.t("Allow outbound HTTPS (443) to the Microsoft endpoints, or", "Microsoft のエンドポイントへの送信 HTTPS (443) を許可するか、")),
            step(WINDOWS, &[], l.t("set HTTPS_PROXY (Azure CLI, PowerShell 7) / the system proxy (Windows PowerShell) to the proxy this network requires.", "このネットワークで必要なプロキシを HTTPS_PROXY (Azure CLI、PowerShell 7) / システム プロキシ (Windows PowerShell) に設定してください。")),
            step(UNIX, &[], l.t("set HTTPS_PROXY (Azure CLI, PowerShell 7) to the proxy this network requires.", "このネットワークで必要なプロキシを HTTPS_PROXY (Azure CLI、PowerShell 7) に設定してください。")),
        ]),
        DOC_ENDPOINTS,
    )]
}

/// The CA bundle findings, one per file: the same file named by several variables
/// (REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE) is one cause, and its finding names them all.
fn ca_bundle(m: &Model, l: Lang) -> Vec<Finding> {
    let Some(b) = &m.bundle.ca_bundles else {
        return vec![];
    };
    let mut files: Vec<(&str, Vec<&CaBundle>)> = Vec::new();
    for x in &b.bundles {
        match files.iter_mut().find(|(p, _)| *p == x.path) {
            Some((_, group)) => group.push(x),
            None => files.push((x.path.as_str(), vec![x])),
        }
    }
    let mut out = Vec::new();
    for (path, group) in files {
        let x = group[0];
        // SSL_CERT_FILE is OpenSSL's, not Azure CLI's: it is named only beside a variable
        // Azure CLI reads.
        let azure: Vec<&CaBundle> = group
            .iter()
            .copied()
            .filter(|g| g.source != CaBundleSource::SslCertFile)
            .collect();
        let source = azure
            .iter()
            .map(|g| g.source.as_str())
            .collect::<Vec<_>>()
            .join(" and ");
        let ev: Vec<Evidence> = group
            .iter()
            .map(|g| Evidence {
                file: names::CA_BUNDLES.into(),
                excerpt: format!("{}={path}", g.source.as_str()),
            })
            .collect();
        let used = group.iter().any(|g| g.used_by_azure_cli);
        let expired = x.expired.unwrap_or(0);
        let unhashed_dir = x.is_directory && x.hashed_entries == Some(0);
        let unusable = !x.is_directory && (x.readable == Some(false) || x.certificates == Some(0));
        if !x.exists && !azure.is_empty() {
            out.push(finding(
                "ca-bundle.missing",
                Severity::Error,
                92,
                l.t(&format!("{source} names a file that does not exist"), &format!("{source} が存在しないファイルを指しています")),
                l.t(&format!("{source}={path}: Azure CLI cannot verify any server and every request fails."), &format!("{source}={path}: Azure CLI はサーバーを検証できず、すべての要求が失敗します。")),
                ev,
                vec![l.t(&format!("Point {source} at an existing .pem file, or remove the variable."), &format!("{source} を既存の .pem ファイルに設定するか、変数を削除してください。"))],
                DOC_CLI_PROXY,
            ));
        } else if x.exists && used && (unhashed_dir || unusable) {
            let (what, steps) = invalid_bundle(x, &source, l);
            out.push(finding(
                "ca-bundle.invalid",
                Severity::Error,
                90,
                l.t(
                    &format!("{source} holds no usable certificate"),
                    &format!("{source} に使用できる証明書がありません"),
                ),
                what,
                ev,
                fixes(m, steps),
                DOC_CLI_PROXY,
            ));
        } else if used && expired > 0 {
            out.push(finding(
                "ca-bundle.expired-certs",
                Severity::Info,
                40,
                l.t(&format!("{source} holds {expired} expired certificate(s)"), &format!("{source} に期限切れの証明書が {expired} 件あります")),
                l.t("Expired roots are harmless unless the chain needs one of them; refresh the bundle if verification fails.", "期限切れのルートは、チェーンがそれを必要としない限り無害です。検証に失敗する場合はバンドルを更新してください。"),
                ev,
                vec![l.t("Rebuild the bundle from current roots.", "現在のルートからバンドルを作り直してください。")],
                DOC_CLI_PROXY,
            ));
        }
    }
    out
}

/// What an unusable CA bundle is, and the exact conversion to the PEM text requests reads.
fn invalid_bundle(x: &CaBundle, source: &str, l: Lang) -> (String, Vec<Step>) {
    let path = x.path.as_str();
    let certmgr = step(WINDOWS, &[], l.t("Or export the certificate again from certmgr.msc (or certlm.msc): All Tasks > Export > \"Base-64 encoded X.509 (.CER)\".", "または certmgr.msc (または certlm.msc) から証明書をもう一度エクスポートしてください: [すべてのタスク] > [エクスポート] > 「Base 64 encoded X.509 (.CER)」。"));
    let point = any(l.t(&format!("Point {source} at the .pem file (with the usual roots appended when the proxy's root is not the only one needed)."), &format!("{source} にその .pem ファイルを設定してください (プロキシのルート以外も必要な場合は既存のルート証明書を追記してください)。")));
    if x.is_directory {
        return (
            l.t(&format!("{path} is a directory. requests reads a directory as OpenSSL's hashed certificate directory, which opens only files named <hash>.0; this one has none, so no certificate is found."), &format!("{path} はディレクトリです。requests はディレクトリを OpenSSL のハッシュ形式の証明書ディレクトリとして読み、<ハッシュ>.0 という名前のファイルだけを開きます。このディレクトリにはそれがないため、証明書が見つかりません。")),
            vec![
                any(l.t(&format!("Join the certificates into one file (cat {path}/*.pem > ca-bundle.pem) and point {source} at it, or create the hashed names: openssl rehash {path}"), &format!("証明書を 1 つのファイルにまとめて (cat {path}/*.pem > ca-bundle.pem) {source} に設定するか、ハッシュ名を作成してください: openssl rehash {path}"))),
            ],
        );
    }
    if x.readable == Some(false) {
        let why = x.error.as_deref().unwrap_or("unreadable");
        return (
            l.t(&format!("{path} cannot be read: {why}."), &format!("{path} を読み取れません: {why}。")),
            vec![any(l.t(&format!("Make {path} readable by the account that runs az (or copy it somewhere it can read)."), &format!("az を実行するアカウントが {path} を読み取れるようにしてください (または読み取れる場所にコピーしてください)。")))],
        );
    }
    match &x.format {
        Some(BundleFormat::Der) => (
            l.t(&format!("{path} is a DER (binary) certificate. Azure CLI (requests) reads only PEM (Base64) text, so it finds no certificate."), &format!("{path} は DER (バイナリ) 形式の証明書です。Azure CLI (requests) は PEM (Base64) テキストしか読まないため、証明書が見つかりません。")),
            vec![
                any(l.t(&format!("Convert it to PEM: openssl x509 -inform DER -in {path} -out root.pem"), &format!("PEM に変換してください: openssl x509 -inform DER -in {path} -out root.pem"))),
                step(WINDOWS, &[], l.t(&format!("Without OpenSSL: certutil -encode {path} root.pem"), &format!("OpenSSL がない場合: certutil -encode {path} root.pem"))),
                certmgr,
                point,
            ],
        ),
        Some(BundleFormat::Pkcs7) => (
            l.t(&format!("{path} is a PKCS#7 certificate bundle (.p7b). Azure CLI (requests) reads only PEM certificates, so it finds none."), &format!("{path} は PKCS#7 形式の証明書バンドル (.p7b) です。Azure CLI (requests) は PEM 形式の証明書しか読まないため、証明書が見つかりません。")),
            vec![
                any(l.t(&format!("Extract the certificates as PEM: openssl pkcs7 -print_certs -inform DER -in {path} -out ca-bundle.pem (use -inform PEM when the file starts with -----BEGIN PKCS7-----)"), &format!("証明書を PEM で取り出してください: openssl pkcs7 -print_certs -inform DER -in {path} -out ca-bundle.pem (ファイルが -----BEGIN PKCS7----- で始まる場合は -inform PEM)"))),
                certmgr,
                point,
            ],
        ),
        Some(BundleFormat::Pkcs12) => (
            l.t(&format!("{path} is a PFX (PKCS#12) archive, which can hold a private key. Azure CLI (requests) reads only PEM certificates."), &format!("{path} は PFX (PKCS#12) 形式のファイルで、秘密キーを含むことがあります。Azure CLI (requests) は PEM 形式の証明書しか読みません。")),
            vec![
                any(l.t(&format!("Extract only the certificates (it asks for the PFX password): openssl pkcs12 -in {path} -nokeys -out ca-bundle.pem"), &format!("証明書だけを取り出してください (PFX のパスワードを求められます): openssl pkcs12 -in {path} -nokeys -out ca-bundle.pem"))),
                any(l.t("Never point a CA bundle variable at a file that holds a private key.", "秘密キーを含むファイルを CA バンドルの変数に設定しないでください。")),
                certmgr,
                point,
            ],
        ),
        Some(BundleFormat::Utf16) => (
            l.t(&format!("{path} is text saved as UTF-16 (what Windows PowerShell 5.1's > and Out-File write). Azure CLI (requests) reads the PEM blocks only in ASCII / UTF-8."), &format!("{path} は UTF-16 で保存されたテキストです (Windows PowerShell 5.1 の > や Out-File はこの形式で書き込みます)。Azure CLI (requests) は ASCII / UTF-8 の PEM ブロックしか読みません。")),
            vec![
                step(WINDOWS, &[], l.t(&format!("Re-save it as ASCII: Get-Content {path} | Set-Content -Encoding ascii ca-bundle.pem"), &format!("ASCII で保存し直してください: Get-Content {path} | Set-Content -Encoding ascii ca-bundle.pem"))),
                step(UNIX, &[], l.t(&format!("Re-save it as UTF-8: iconv -f UTF-16 -t UTF-8 {path} > ca-bundle.pem"), &format!("UTF-8 で保存し直してください: iconv -f UTF-16 -t UTF-8 {path} > ca-bundle.pem"))),
                point,
            ],
        ),
        Some(BundleFormat::Empty) => (
            l.t(&format!("{path} is empty (0 bytes)."), &format!("{path} は空です (0 バイト)。")),
            vec![any(l.t(&format!("Rebuild it: the proxy's root certificate in PEM (Base64) plus the usual roots, then point {source} at it."), &format!("作り直してください: プロキシのルート証明書 (PEM、Base64) と既存のルート証明書を入れ、{source} に設定してください。")))],
        ),
        Some(BundleFormat::Text) => (
            l.t(&format!("{path} is text without a -----BEGIN CERTIFICATE----- block."), &format!("{path} は -----BEGIN CERTIFICATE----- ブロックのないテキストです。")),
            vec![any(l.t("Put the certificates in as PEM blocks (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----), e.g. the Base64 export of each root.", "証明書を PEM ブロック (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----) として入れてください (各ルートの Base64 エクスポートなど)。")), certmgr],
        ),
        _ => (
            l.t(&format!("{path} is unreadable, empty, or not PEM (Base64) certificates."), &format!("{path} は読み取れないか、空か、PEM (Base64) 形式の証明書ではありません。")),
            vec![any(l.t("Export the certificates as Base64-encoded X.509 (.cer/.pem), not DER, and make the file readable.", "証明書を DER ではなく Base64 エンコード X.509 (.cer/.pem) でエクスポートし、ファイルを読み取り可能にしてください。"))],
        ),
    }
}

fn verification_disabled(m: &Model, l: Lang) -> Vec<Finding> {
    let Some(v) = m
        .bundle
        .environment
        .as_ref()
        .and_then(|e| e.variables.get("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION"))
    else {
        return vec![];
    };
    // Azure CLI tests bool(os.environ.get(...)): an empty value disables nothing. The
    // environment collector records it as `{set: true, length: 0}` (an empty string is no
    // boolean word, so its value is not shown).
    if !v.set || v.value.as_deref().is_some_and(str::is_empty) || v.length == Some(0) {
        return vec![];
    }
    vec![finding(
        "tls.verification-disabled",
        Severity::Warning,
        70,
        l.t("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION turns certificate checks off", "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION により証明書の検証が無効です"),
        l.t("A security red flag: Azure CLI accepts any certificate for Resource Manager calls. It does not affect MSAL sign-in, which still verifies, so it does not fix a TLS-inspection sign-in failure.", "セキュリティ上の危険信号です。Azure CLI は Resource Manager 呼び出しで任意の証明書を受け入れます。MSAL のサインインには影響せず検証は行われるため、TLS/SSL インスペクションによるサインイン失敗は解決しません。"),
        vec![Evidence { file: names::ENVIRONMENT.into(), excerpt: l.t("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION is set", "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION が設定されています") }],
        vec![l.t("Remove the variable and trust the proxy's root through REQUESTS_CA_BUNDLE instead.", "変数を削除し、代わりに REQUESTS_CA_BUNDLE でプロキシのルートを信頼させてください。")],
        DOC_CLI_PROXY,
    )]
}

fn legacy_protocols(m: &Model, l: Lang) -> Vec<Finding> {
    let mut ev = m.log_evidence(&[AADSTS_TLS], 1);
    let mut severity = if ev.is_empty() {
        Severity::Warning
    } else {
        Severity::Error
    };
    if let Some(t) = &m.bundle.tls_settings {
        let state = t
            .schannel_protocols
            .as_ref()
            .and_then(|p| p.get("TLS 1.2"))
            .map(|p| p.client);
        let state = match state {
            Some(ClientState::Disabled) => Some("disabled"),
            Some(ClientState::DisabledByDefault) => Some("disabled_by_default"),
            _ => None,
        };
        if let Some(state) = state {
            severity = Severity::Error;
            ev.push(Evidence {
                file: names::TLS_SETTINGS.into(),
                excerpt: format!("SCHANNEL TLS 1.2 Client: {state}"),
            });
        }
        // Only the CLR 4 keys: Windows PowerShell 5.1 runs on .NET Framework 4, which never
        // reads `v2.0.50727` (recorded in tls/settings.json for completeness only).
        for (key, v) in t.dotnet_framework_strong_crypto.iter().flatten() {
            if key.ends_with("v4.0.30319") && v.sch_use_strong_crypto == Some(0) {
                ev.push(Evidence {
                    file: names::TLS_SETTINGS.into(),
                    excerpt: format!("{key}: SchUseStrongCrypto = 0"),
                });
            }
        }
    }
    if let Some(ps) = m.bundle.powershell.get(names::WINDOWS_POWERSHELL)
        && let Some(sp) = ps.security_protocol.as_deref()
        && !sp.contains("Tls12")
        && !sp.contains("SystemDefault")
        && !sp.contains("Tls13")
    {
        ev.push(Evidence {
            file: names::versions_shell(names::WINDOWS_POWERSHELL),
            excerpt: format!("[Net.ServicePointManager]::SecurityProtocol = {sp}"),
        });
    }
    if ev.is_empty() {
        return vec![];
    }
    vec![finding(
        "tls.legacy-protocols",
        severity,
        if severity == Severity::Error { 91 } else { 60 },
        l.t("TLS 1.2 is not available to some clients", "一部のクライアントで TLS 1.2 が使えません"),
        l.t("Entra ID accepts only TLS 1.2 or newer (AADSTS1002016 otherwise). This machine disables TLS 1.2 for clients or keeps .NET Framework on old protocols.", "Entra ID は TLS 1.2 以降のみ受け付けます (それ以外は AADSTS1002016)。このマシンではクライアントの TLS 1.2 が無効か、.NET Framework が古いプロトコルのままです。"),
        ev,
        fixes(m, vec![
            step(WINDOWS, &[], l.t("Enable TLS 1.2 for clients: HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client Enabled=1, DisabledByDefault=0.", "クライアントの TLS 1.2 を有効にしてください: HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client で Enabled=1、DisabledByDefault=0。")),
            step(WINDOWS, &[], l.t("Set SchUseStrongCrypto=1 and SystemDefaultTlsVersions=1 under HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319 and its WOW6432Node twin, then restart; apply Windows updates.", "HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319 と WOW6432Node 側で SchUseStrongCrypto=1、SystemDefaultTlsVersions=1 を設定して再起動し、Windows Update を適用してください。")),
            step(UNIX, &[], l.t("Update the OS's OpenSSL and the tool, and check that no OpenSSL configuration (MinProtocol, CipherString in openssl.cnf) limits clients to TLS 1.0/1.1.", "OS の OpenSSL とツールを更新し、OpenSSL の設定 (openssl.cnf の MinProtocol、CipherString) でクライアントが TLS 1.0/1.1 に制限されていないことを確認してください。")),
        ]),
        DOC_TLS,
    )]
}

/// The warnings a sign-in prints for one tenant it could not get a token for while it lists
/// the others: Azure CLI (`_profile.py` `find_using_common_tenant`, since azure-cli PR 28966,
/// and the older wording), Az.Accounts (`UnableToAqcuireToken` in Resources.resx). The sign-in
/// itself can still succeed.
const PER_TENANT: &[&str] = &[
    "Authentication failed against tenant ",
    "Unable to acquire token for tenant '",
    "Failed to authenticate '",
];

/// The tenant a per-tenant warning names, if the line is one.
pub(super) fn per_tenant(line: &str) -> Option<String> {
    let (i, p) = PER_TENANT
        .iter()
        .find_map(|p| line.find(p).map(|i| (i, *p)))?;
    let rest = &line[i + p.len()..];
    let tenant: String = rest
        .trim_start_matches('\'')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    Some(tenant)
}

fn aadsts_codes(m: &Model, l: Lang) -> Vec<Finding> {
    let re = regex::Regex::new(r"AADSTS(\d{5,7})").expect("valid regex");
    // Per code, in order of first appearance: (entry, line) of each line naming it.
    let mut codes: Vec<(u32, Vec<(&String, &str)>)> = Vec::new();
    for (name, text) in m.debug_logs() {
        for line in text.lines() {
            for c in re.captures_iter(line) {
                let Ok(code) = c[1].parse::<u32>() else {
                    continue;
                };
                match codes.iter_mut().find(|(k, _)| *k == code) {
                    Some((_, lines)) => {
                        if !lines.iter().any(|(n, x)| *n == name && *x == line) {
                            lines.push((name, line));
                        }
                    }
                    None => codes.push((code, vec![(name, line)])),
                }
            }
        }
    }
    let succeeded = m.debug_exit_code() == Some(0);
    let mut out = Vec::new();
    for (code, lines) in codes {
        // A code seen only in per-tenant warnings of a sign-in that succeeded: the other
        // tenants were listed, this one needs its own sign-in. Worth knowing, not the failure.
        let tenants: Vec<String> = lines.iter().filter_map(|(_, x)| per_tenant(x)).collect();
        let only_per_tenant = succeeded && tenants.len() == lines.len();
        let (name, line) = lines[0];
        let ev = vec![Evidence {
            file: name.clone(),
            excerpt: excerpt(line),
        }];
        let (title, mut detail, mut fix) = match aadsts::lookup(code) {
            Some(e) => (
                l.t(&format!("Entra ID rejected the sign-in: AADSTS{code} ({})", e.1), &format!("Entra ID がサインインを拒否しました: AADSTS{code} ({})", aadsts::name(e, l))),
                l.t(e.2, e.4),
                vec![l.t(e.3, e.5)],
            ),
            None => (
                l.t(&format!("Entra ID rejected the sign-in: AADSTS{code}"), &format!("Entra ID がサインインを拒否しました: AADSTS{code}")),
                excerpt(line),
                vec![l.t(&format!("Look the code up at https://login.microsoftonline.com/error?code={code}; the tenant's sign-in log shows the details."), &format!("https://login.microsoftonline.com/error?code={code} でコードを確認してください。テナントのサインイン ログに詳細があります。"))],
            ),
        };
        if only_per_tenant {
            let mut ts: Vec<&str> = tenants
                .iter()
                .map(String::as_str)
                .filter(|t| !t.is_empty())
                .collect();
            ts.dedup();
            let ts = ts.join(", ");
            let what = aadsts::lookup(code)
                .map_or(String::new(), |e| format!(" ({})", aadsts::name(e, l)));
            detail = l.t(
                &format!("The sign-in succeeded; only the tenant(s) {ts} refused a token while the others were listed. {detail}"),
                &format!("サインインは成功しました。ほかのテナントの一覧中に、テナント {ts} だけがトークンを拒否しました。{detail}"),
            );
            fix.insert(0, l.t(
                "Only if you need that tenant: sign in to it by name (az login --tenant <tenant>, Connect-AzAccount -Tenant <tenant>).",
                "そのテナントが必要な場合のみ、テナントを指定してサインインしてください (az login --tenant <テナント>、Connect-AzAccount -Tenant <テナント>)。",
            ));
            out.push(finding(
                "entra.aadsts",
                Severity::Info,
                50,
                l.t(
                    &format!("Tenant {ts} refused a token: AADSTS{code}{what}"),
                    &format!("テナント {ts} がトークンを拒否しました: AADSTS{code}{what}"),
                ),
                detail,
                ev,
                fix,
                DOC_ERRORS,
            ));
            continue;
        }
        out.push(finding(
            "entra.aadsts",
            Severity::Error,
            93,
            title,
            detail,
            ev,
            fix,
            DOC_ERRORS,
        ));
    }
    out
}

fn post_auth_failure(m: &Model, l: Lang) -> Vec<Finding> {
    let Some(code) = m.debug_exit_code() else {
        return vec![];
    };
    if code == 0 {
        return vec![];
    }
    let mut token = m.log_evidence(
        &[
            "oauth2/v2.0/token HTTP/1.1\" 200",
            "oauth2/token HTTP/1.1\" 200",
            "msal.token_cache: event=",
        ],
        1,
    );
    token.extend(m.log_evidence(
        &[
            "Acquired token",
            "AcquireTokenSilent",
            "Token Acquisition finished successfully",
        ],
        1,
    ));
    if token.is_empty() || m.debug_logs().any(|(_, t)| t.contains("AADSTS")) {
        return vec![];
    }
    vec![finding(
        "signin.post-auth-failure",
        Severity::Warning,
        75,
        l.t("Sign-in succeeded, then the command failed", "サインインは成功し、その後コマンドが失敗しました"),
        l.t("A token was obtained from Entra ID (the tenant's sign-in log shows success), and the command failed afterwards: in the tool, or on a later call such as management.azure.com.", "Entra ID からトークンを取得しており (テナントのサインイン ログは成功)、その後でコマンドが失敗しました。ツール内、または management.azure.com などの後続の呼び出しで失敗しています。"),
        token,
        vec![
            l.t("Read the first failing request after the token in the debug log; a proxy blocking management.azure.com is the most common cause.", "デバッグ ログでトークン取得後に最初に失敗した要求を確認してください。management.azure.com をブロックするプロキシが最も一般的な原因です。"),
            l.t("If nothing network-related shows, update the tool and check its GitHub issues.", "ネットワーク関連の問題が見当たらない場合は、ツールを更新し GitHub の issue を確認してください。"),
        ],
        DOC_CLI_TROUBLE,
    )]
}

fn tenant_mismatch(m: &Model, l: Lang) -> Vec<Finding> {
    use TenantComparison::{Match, Mismatch};
    let mut ev = Vec::new();
    let mut any_match = false;
    if let Some(az) = &m.bundle.az_context {
        for s in az.subscriptions.iter().flatten() {
            match s.tenant_comparison {
                Some(Match) => any_match = true,
                Some(Mismatch) if s.is_default == Some(true) => ev.push(Evidence {
                    file: names::AZ_CONTEXT.into(),
                    excerpt: {
                        let (name, tenant) = (
                            s.name.as_deref().unwrap_or("?"),
                            s.tenant_id.as_deref().unwrap_or("?"),
                        );
                        l.t(
                            &format!("default subscription {name} is in tenant {tenant}"),
                            &format!(
                                "既定のサブスクリプション {name} はテナント {tenant} にあります"
                            ),
                        )
                    },
                }),
                _ => {}
            }
        }
    }
    for (shell, file) in &m.bundle.azps_contexts {
        for c in &file.contexts {
            match c.tenant_comparison {
                Some(Match) => any_match = true,
                Some(Mismatch) if c.is_current == Some(true) => ev.push(Evidence {
                    file: names::azps_contexts(shell),
                    excerpt: {
                        let tenant = c.tenant_id.as_deref().unwrap_or("?");
                        l.t(
                            &format!("current context is in tenant {tenant}"),
                            &format!("現在のコンテキストはテナント {tenant} にあります"),
                        )
                    },
                }),
                _ => {}
            }
        }
    }
    // Graph PowerShell: its saved account (`mg.authrecord.json`). Get-MgContext is not asked:
    // in a new process it is always null (msgraph-sdk-powershell #3587), so the record on disk
    // is the only cross-process trace of Connect-MgGraph.
    let mut graph: BTreeMap<String, String> = BTreeMap::new();
    if let Some(r) = &m.bundle.mg_authrecord
        && r.tenant_comparison == Some(Mismatch)
    {
        graph.insert(
            names::MG_AUTHRECORD.into(),
            format!(
                "mg.authrecord.json tenant {}",
                r.record.tenant_id.as_deref().unwrap_or("?")
            ),
        );
    }
    for (file, excerpt) in graph {
        ev.push(Evidence { file, excerpt });
    }
    if ev.is_empty() {
        return vec![];
    }
    vec![finding(
        "tenant.mismatch",
        Severity::Warning,
        if any_match { 65 } else { 80 },
        l.t("Signed in to a different tenant than --tenant", "--tenant とは別のテナントにサインインしています"),
        l.t("A guest (B2B) user who is a member of tenant A and a guest in tenant B signs in to A when they meant B unless the tenant is named.", "テナント A のメンバーでテナント B のゲスト (B2B) であるユーザーは、テナントを指定しないと B のつもりで A にサインインします。"),
        ev,
        vec![l.t("Name the tenant explicitly: az login --tenant <id>, Connect-AzAccount -Tenant <id>, Connect-MgGraph -TenantId <id>.", "テナントを明示してください: az login --tenant <ID>、Connect-AzAccount -Tenant <ID>、Connect-MgGraph -TenantId <ID>。")],
        DOC_CLI_TROUBLE,
    )]
}

fn stale_context(m: &Model, l: Lang) -> Vec<Finding> {
    // (entry, tenant, account) of every cached context.
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    if let Some(az) = &m.bundle.az_context {
        for s in az.subscriptions.iter().flatten() {
            rows.push((
                names::AZ_CONTEXT.into(),
                text(&s.tenant_id),
                text(&s.user_name),
            ));
        }
    }
    for (shell, file) in &m.bundle.azps_contexts {
        for c in &file.contexts {
            rows.push((
                names::azps_contexts(shell),
                text(&c.tenant_id),
                text(&c.account_id),
            ));
        }
    }
    let tenants: BTreeSet<&str> = rows
        .iter()
        .map(|r| r.1.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    let accounts: BTreeSet<&str> = rows
        .iter()
        .map(|r| r.2.as_str())
        .filter(|a| !a.is_empty())
        .collect();
    if tenants.len() < 2 && accounts.len() < 2 {
        return vec![];
    }
    // Evidence names each entry that holds cached contexts (an entry of the bundle, as every
    // evidence does), with the tenants found there.
    let mut by_file: BTreeMap<&str, BTreeSet<&str>> = Default::default();
    for (file, tenant, _) in &rows {
        let ts = by_file.entry(file.as_str()).or_default();
        if !tenant.is_empty() {
            ts.insert(tenant.as_str());
        }
    }
    let evidence: Vec<Evidence> = by_file
        .into_iter()
        .map(|(file, ts)| Evidence {
            file: file.into(),
            excerpt: ts.into_iter().collect::<Vec<_>>().join(", "),
        })
        .collect();
    vec![finding(
        "cache.stale-context",
        Severity::Info,
        50,
        l.t(&format!("Contexts for {} tenants and {} accounts are cached", tenants.len(), accounts.len()), &format!("{} テナント、{} アカウントのコンテキストがキャッシュされています", tenants.len(), accounts.len())),
        l.t("Leftover contexts from earlier sessions can make sign-in pick the wrong account or tenant.", "以前のセッションのコンテキストが残っていると、誤ったアカウントやテナントが選ばれることがあります。"),
        evidence,
        vec![l.t("Clear them when done: az account clear; Clear-AzContext -Force; Disconnect-MgGraph (after checking Get-MgContext).", "作業後にクリアしてください: az account clear、Clear-AzContext -Force、Disconnect-MgGraph (Get-MgContext で確認後)。")],
        DOC_CLI_TROUBLE,
    )]
}

/// Release facts baked in at build time (docs/findings.md says where they come from).
pub const RELEASE_TABLE_DATE: &str = "2026-11-25";
/// azure-cli: the newest release on PyPI on that date.
const AZ_LATEST: &str = "2.91.0";
/// Older than this many minor releases (az releases about monthly) is worth a note.
const AZ_MINOR_LAG: u64 = 6;

fn outdated(m: &Model, l: Lang) -> Vec<Finding> {
    use crate::vocab::version_key;
    let mut out = Vec::new();
    if let Some(v) = m
        .bundle
        .versions_az
        .as_ref()
        .and_then(|az| az.azure_cli.as_deref())
    {
        let (have, latest) = (version_key(v), version_key(AZ_LATEST));
        if have.first() == latest.first()
            && have.get(1).copied().unwrap_or(0) + AZ_MINOR_LAG
                < latest.get(1).copied().unwrap_or(0)
        {
            out.push(finding(
                "tool.outdated",
                Severity::Info,
                45,
                l.t(&format!("Azure CLI {v} is old (newest {AZ_LATEST} as of {RELEASE_TABLE_DATE})"), &format!("Azure CLI {v} は古いバージョンです ({RELEASE_TABLE_DATE} 時点の最新は {AZ_LATEST})")),
                l.t("Known sign-in bugs are fixed in newer releases.", "既知のサインインの不具合は新しいリリースで修正されています。"),
                vec![Evidence { file: names::VERSIONS_AZ.into(), excerpt: format!("azure-cli {v}") }],
                vec![l.t("Update: az upgrade (or the MSI / package manager).", "更新してください: az upgrade (または MSI / パッケージ マネージャー)。")],
                DOC_CLI_TROUBLE,
            ));
        }
    }
    for (shell, v) in &m.bundle.powershell {
        let name = names::versions_shell(shell);
        for module in &v.modules {
            let (mname, ver) = (
                module.name.as_deref().unwrap_or(""),
                module.version.as_deref().unwrap_or(""),
            );
            let major = version_key(ver).first().copied().unwrap_or(0);
            let old = major < 2
                && [
                    "Microsoft.Graph",
                    "Microsoft.Graph.Authentication",
                    "Az.Accounts",
                ]
                .contains(&mname);
            if old {
                out.push(finding(
                    "tool.outdated",
                    Severity::Warning,
                    55,
                    l.t(&format!("{mname} {ver} is a retired major version"), &format!("{mname} {ver} はサポート終了したメジャー バージョンです")),
                    l.t("This major version no longer gets sign-in fixes.", "このメジャー バージョンにはサインインの修正が提供されません。"),
                    vec![Evidence { file: name.clone(), excerpt: l.t(&format!("{mname} {ver} at {}", module.path.as_deref().unwrap_or("")), &format!("{mname} {ver} (場所: {})", module.path.as_deref().unwrap_or(""))) }],
                    vec![l.t(&format!("Update-Module {mname} (or Install-Module {mname} -Scope CurrentUser), then start a new PowerShell."), &format!("Update-Module {mname} (または Install-Module {mname} -Scope CurrentUser) を実行し、新しい PowerShell を起動してください。"))],
                    DOC_CLI_TROUBLE,
                ));
            }
        }
    }
    out
}

fn missing_tools(m: &Model, l: Lang) -> Vec<Finding> {
    if !(m.skipped("versions.az") && m.skipped("versions.powershell")) {
        return vec![];
    }
    // The fact is in the manifest: both version collectors skipped, and why.
    let evidence = [
        m.collector("versions.az"),
        m.collector("versions.powershell"),
    ]
    .into_iter()
    .flatten()
    .map(|c| Evidence {
        file: names::MANIFEST.into(),
        excerpt: l.t(
            &format!(
                "{}: skipped ({})",
                c.id,
                c.reason.as_deref().unwrap_or("not found")
            ),
            &format!(
                "{}: スキップ ({})",
                c.id,
                c.reason.as_deref().unwrap_or("見つかりません")
            ),
        ),
    })
    .collect();
    vec![finding(
        "tool.missing",
        Severity::Warning,
        50,
        l.t("Neither Azure CLI nor PowerShell was found", "Azure CLI も PowerShell も見つかりません"),
        l.t("None of az, pwsh or powershell.exe is on PATH, so versions and contexts could not be collected.", "az、pwsh、powershell.exe のいずれも PATH にないため、バージョンとコンテキストを収集できませんでした。"),
        evidence,
        vec![l.t("Run entra-collect from the same shell (and PATH) where the sign-in fails.", "サインインが失敗するのと同じシェル (同じ PATH) で entra-collect を実行してください。")],
        DOC_CLI_TROUBLE,
    )]
}
