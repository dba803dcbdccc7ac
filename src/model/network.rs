//! `network/proxy.json` (how this machine reaches the internet, per client family) and
//! `network/probes.json` (whether the sign-in endpoints are reachable through it). The probe
//! and proxy code (`probe`, `probe::proxy`) use [`TlsInfo`], [`Verdict`], [`WinHttp`],
//! [`WinInet`] and [`Effective`] directly.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tls::CertInfo;
use crate::vocab::Cloud;

/// `network/proxy.json`. Proxy URLs are display-safe at the source: credentials become
/// `[REDACTED:url-credentials]`, values that do not read as what they should be become
/// `[REDACTED:unrecognised-value]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Proxy {
    /// The proxy environment variables (lowercase names win, as in Python's urllib).
    pub environment: ProxyEnvironment,
    /// The machine-wide WinHTTP proxy (Windows); null elsewhere.
    pub winhttp: Option<WinHttp>,
    /// The per-user Internet Settings (Windows); null elsewhere or when unreadable.
    pub wininet: Option<WinInet>,
    /// Whether Azure CLI signs users in through WAM (Windows only; null elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_cli_wam: Option<Wam>,
    /// Per endpoint, the proxy each client family uses.
    pub effective: Vec<EffectiveProxies>,
}

/// Azure CLI's broker (WAM) setting: azure-cli `_profile.py` reads
/// `core.enable_broker_on_windows` (fallback true, since 2.61.0); knack lets
/// `AZURE_CORE_ENABLE_BROKER_ON_WINDOWS` override the config file. Interactive and
/// username/password user sign-ins (and their later silent token requests) go through WAM;
/// device code, service principals and managed identity never do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Wam {
    /// WAM is used for user sign-ins.
    pub enabled: bool,
    /// What decided: `AZURE_CORE_ENABLE_BROKER_ON_WINDOWS`, `config:core.enable_broker_on_windows`
    /// or `default (2.61+)`.
    pub decided_by: String,
}

/// The proxy environment variables in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProxyEnvironment {
    /// `https_proxy` or `HTTPS_PROXY`; null when unset.
    pub https_proxy: Option<EnvSetting>,
    /// `http_proxy` or `HTTP_PROXY`; null when unset.
    pub http_proxy: Option<EnvSetting>,
    /// `all_proxy` or `ALL_PROXY`; null when unset.
    pub all_proxy: Option<EnvSetting>,
    /// `no_proxy` or `NO_PROXY` (a host list, or the unrecognised-value marker); null when unset.
    pub no_proxy: Option<EnvSetting>,
    /// A fixed sentence: lowercase names win over uppercase.
    pub note: String,
}

/// Which variable set a proxy setting, and its display-safe value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnvSetting {
    /// The variable's name as set (`https_proxy` or `HTTPS_PROXY`).
    pub variable: String,
    /// The value, display-safe.
    pub value: String,
}

/// The machine-wide WinHTTP proxy: read from the registry (`WinHttpSettings`), else from
/// `netsh winhttp show proxy`; unknown when neither could be read (a Wine stub, an unexpected
/// language or blob), never guessed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WinHttp {
    /// true: direct access (no proxy server); false: a proxy server is set; null: unknown (see
    /// `note`).
    pub direct: Option<bool>,
    /// The proxy server(s); null when direct or unknown.
    pub proxy_server: Option<String>,
    /// The bypass list; null when none or unknown.
    pub bypass_list: Option<String>,
    /// Where the answer comes from. Absent in schema 1 bundles, which read netsh only.
    #[serde(default = "WinHttpSource::schema1")]
    pub source: WinHttpSource,
    /// Why the answer is unknown (or a remark on the registry value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where the WinHTTP proxy facts come from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WinHttpSource {
    /// The `WinHttpSettings` value under
    /// `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections`,
    /// decoded (or absent: WinHTTP's default, direct access).
    Registry,
    /// `netsh winhttp show proxy`, English or Japanese output (the registry could not be read).
    Netsh,
    /// Neither told: `direct` is null.
    #[default]
    Unknown,
    /// A source this version does not know (a newer bundle).
    #[serde(untagged)]
    Other(String),
}

impl WinHttpSource {
    /// Schema 1 bundles read the WinHTTP proxy from netsh only.
    fn schema1() -> Self {
        WinHttpSource::Netsh
    }
}

/// The per-user WinINET (Internet Options) proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WinInet {
    /// `ProxyEnable` is 1.
    pub proxy_enable: bool,
    /// `ProxyServer` (`host:port` or `http=...;https=...`), without credentials; null when unset.
    pub proxy_server: Option<String>,
    /// `ProxyOverride` (the bypass list); null when unset.
    pub proxy_override: Option<String>,
    /// `AutoConfigURL` (a PAC file), without query; null when unset.
    pub auto_config_url: Option<String>,
}

/// The proxies one endpoint is reached through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EffectiveProxies {
    /// The endpoint's host name.
    pub host: String,
    /// Azure CLI's own HTTP (Python requests): environment proxies when any `*_proxy` variable
    /// is set, else (Windows) the WinINET registry settings; PAC never. Resource Manager calls,
    /// MSAL discovery, device code, service principals, managed identity, and every sign-in
    /// when WAM is off. The probes use this one.
    pub azure_cli: Effective,
    /// Azure CLI user sign-ins through the Windows broker (WAM; default since 2.61, off with
    /// `core.enable_broker_on_windows=false`). Windows only, and only when WAM is on. Modelled
    /// as the Windows user proxy incl. PAC: Microsoft does not document WAM's own networking
    /// (unverified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_cli_wam: Option<Effective>,
    /// PowerShell 7 (.NET HttpClient): `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` (not
    /// `NO_PROXY` alone), else (Windows) the user's WinINET settings incl. PAC.
    pub powershell7: Effective,
    /// Windows PowerShell 5.1 (.NET Framework): the user's IE/WinINET settings incl. PAC; the
    /// environment is ignored. Windows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_powershell: Option<Effective>,
}

/// The proxy a client family uses for `https://host`, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Effective {
    /// The proxy; null: direct.
    pub proxy: Option<String>,
    /// Where it comes from: `env:<variable>`, `wininet`, `wininet:bypass`, `wininet:pac` or
    /// `none`.
    pub source: String,
    /// Present and true when a PAC file is configured: the real answer depends on the script
    /// (for clients that use it; see `rule`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pac: bool,
    /// The rule that decided, `; `-separated when several apply: e.g. `env:https_proxy`,
    /// `env:no_proxy match .contoso.com`, `registry:ProxyServer https=`,
    /// `registry:ProxyOverride <local>`, `registry ignored: environment has proxy variables
    /// (NO_PROXY)`, `pac: not used by Python`, `pac: used (not evaluated)`. Absent in bundles
    /// written before it existed.
    #[serde(default)]
    pub rule: String,
}

/// `network/probes.json`: the staged probe of each sign-in endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Probes {
    /// The cloud whose endpoints were probed: `public`, `usgov` or `china`.
    pub cloud: Cloud,
    /// Each stage's time limit.
    pub stage_timeout_ms: u64,
    /// REQUESTS_CA_BUNDLE: its path, or `{set, length}` when it does not look like a path; null
    /// when unset.
    pub requests_ca_bundle: Option<PathOrWithheld>,
    /// One per endpoint and distinct route (proxy or direct) the client families take to it,
    /// in the cloud's endpoint order; Azure CLI's route first for each endpoint.
    pub results: Vec<ProbeResult>,
}

/// A client family, as `network/proxy.json` `effective[]` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProxyFamily {
    /// Azure CLI (Python requests).
    #[serde(rename = "azure_cli")]
    AzureCli,
    /// Azure CLI user sign-ins through WAM (Windows).
    #[serde(rename = "azure_cli_wam")]
    AzureCliWam,
    /// PowerShell 7 (.NET HttpClient).
    #[serde(rename = "powershell7")]
    PowerShell7,
    /// Windows PowerShell 5.1 (.NET Framework).
    #[serde(rename = "windows_powershell")]
    WindowsPowerShell,
}

fn azure_cli_only() -> Vec<ProxyFamily> {
    vec![ProxyFamily::AzureCli]
}

/// A path as set, or only its length when it does not look like a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PathOrWithheld {
    /// The path.
    Path(String),
    /// Set, value withheld.
    Withheld {
        /// Always true.
        set: bool,
        /// The value's length in characters.
        length: usize,
    },
}

/// The probe of one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeResult {
    /// The endpoint's host name.
    pub host: String,
    /// The URL fetched in the `http` stage.
    pub url: String,
    /// The proxy used (the families' effective proxy, without credentials); null when direct.
    pub proxy: Option<String>,
    /// The client families that take this route to the host. The `verify` stage judges the
    /// chain as the first of them would: Azure CLI's store when `azure_cli` is among them, else
    /// the OS store (.NET, WAM). Schema 1 bundles probed Azure CLI's route only.
    #[serde(default = "azure_cli_only")]
    pub families: Vec<ProxyFamily>,
    /// The stages run, in order; the last failed one ends the list.
    pub stages: Vec<Stage>,
    /// Every stage passed.
    pub ok: bool,
    /// The stage that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_stage: Option<StageName>,
    /// What kind of failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    /// The failure's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The proxy's answer to CONNECT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_status: Option<u16>,
    /// Basic credentials from the proxy URL went with the CONNECT, as Azure CLI (requests)
    /// sends them; their value is never recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub proxy_credentials: bool,
    /// The authentication schemes a 407 offered (`Proxy-Authenticate`, scheme names only, e.g.
    /// `Basic`, `Negotiate`, `NTLM`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_authenticate: Vec<String>,
    /// The TLS session and the presented chain, when the handshake completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
    /// The endpoint's HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

/// One stage of a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stage {
    /// The stage.
    pub name: StageName,
    /// It passed.
    pub ok: bool,
    /// How long it took (0 for a failed stage and for `verify`).
    pub ms: u64,
    /// What it found: addresses, the proxy's answer, the verification error, the HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The probe stages, in the order they run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    /// Name resolution (direct only: through a proxy, the proxy resolves).
    Dns,
    /// The TCP connection, to the proxy or the host.
    Tcp,
    /// TLS to an `https://` proxy itself, its certificate judged as Azure CLI judges it.
    ProxyTls,
    /// CONNECT through the proxy (HTTP), or the SOCKS handshake.
    Connect,
    /// The TLS handshake.
    Tls,
    /// Verification of the chain as the route's client would: Azure CLI (REQUESTS_CA_BUNDLE,
    /// else Mozilla roots), or the OS store for routes only .NET / WAM take.
    Verify,
    /// One GET.
    Http,
    /// The probe ended outside its stages (it panicked, or outlived the probe phase).
    Probe,
    /// A stage this version does not know (a newer bundle).
    #[serde(untagged)]
    Other(String),
}

/// What kind of failure ended a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The name does not resolve.
    Dns,
    /// The connection was refused.
    Refused,
    /// A stage ran out of time.
    Timeout,
    /// The proxy refused CONNECT (`proxy_status`) or the SOCKS request, or did not answer
    /// its protocol.
    ProxyStatus,
    /// The proxy URL's scheme is not one Azure CLI accepts, or the URL cannot be read.
    ProxyScheme,
    /// The chain is not trusted by Azure CLI's trust store.
    TlsUntrusted,
    /// The TLS handshake failed.
    TlsProtocol,
    /// The endpoint answered 403 or 5xx, or not HTTP.
    HttpStatus,
    /// Another I/O error.
    Io,
    /// The probe panicked.
    Internal,
    /// A kind this version does not know (a newer bundle).
    #[serde(untagged)]
    Other(String),
}

/// A word of a closed vocabulary read as its enum; a word it does not know is kept as `Other`.
fn word<T: serde::de::DeserializeOwned>(w: &str, other: fn(String) -> T) -> T {
    serde_json::from_value(serde_json::Value::String(w.to_string()))
        .unwrap_or_else(|_| other(w.to_string()))
}

impl StageName {
    /// The word the bundle writes.
    pub fn as_str(&self) -> &str {
        match self {
            StageName::Dns => "dns",
            StageName::Tcp => "tcp",
            StageName::ProxyTls => "proxy_tls",
            StageName::Connect => "connect",
            StageName::Tls => "tls",
            StageName::Verify => "verify",
            StageName::Http => "http",
            StageName::Probe => "probe",
            StageName::Other(s) => s,
        }
    }
}

impl ErrorKind {
    /// The word the bundle writes.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::Refused => "refused",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ProxyStatus => "proxy_status",
            ErrorKind::ProxyScheme => "proxy_scheme",
            ErrorKind::TlsUntrusted => "tls_untrusted",
            ErrorKind::TlsProtocol => "tls_protocol",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
            ErrorKind::Other(s) => s,
        }
    }
}

impl From<&str> for StageName {
    fn from(w: &str) -> Self {
        word(w, StageName::Other)
    }
}

impl From<&str> for ErrorKind {
    fn from(w: &str) -> Self {
        word(w, ErrorKind::Other)
    }
}

/// The TLS session of a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsInfo {
    /// The protocol version, e.g. `TLSv1_3`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The presented chain, leaf first.
    pub chain: Vec<CertInfo>,
    /// Verification against the Mozilla roots (Azure CLI's certifi bundle).
    pub mozilla: Verdict,
    /// Verification against the OS trust store.
    pub os_store: Verdict,
    /// Verification against REQUESTS_CA_BUNDLE, when set and readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_ca_bundle: Option<Verdict>,
    /// The chain's issuer when it is not a Microsoft or DigiCert CA: a TLS-inspecting proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interception_ca: Option<String>,
}

/// Whether a chain verifies against one trust store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// It verifies.
    pub trusted: bool,
    /// Why it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
