//! `tls/settings.json` (the machine's TLS settings: SCHANNEL and .NET on Windows, OpenSSL on
//! Linux/macOS) and `tls/ca-bundles.json` (the CA bundles the clients trust, described in
//! place). [`CertInfo`] is the certificate summary probes use too; [`RegValue`] is what
//! `collect::reg` parses `reg query` into.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A certificate summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CertInfo {
    /// The subject's distinguished name.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Valid from: RFC 3339.
    pub not_before: String,
    /// Valid until: RFC 3339.
    pub not_after: String,
    /// Subject and issuer are the same.
    pub self_signed: bool,
    /// Basic constraints say CA.
    pub is_ca: bool,
    /// `not_after` is in the past.
    pub expired: bool,
}

/// `tls/settings.json`. The Windows members and the Linux/macOS members are each present only
/// on their platform; `azure_cli_python` on both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TlsSettings {
    /// Windows: SCHANNEL client state per protocol (`SSL 3.0`, `TLS 1.0`, `TLS 1.1`, `TLS 1.2`,
    /// `TLS 1.3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schannel_protocols: Option<BTreeMap<String, SchannelProtocol>>,
    /// Windows: .NET Framework `SchUseStrongCrypto` / `SystemDefaultTlsVersions` per registry
    /// key (64- and 32-bit; `v4.0.30319`, which Windows PowerShell 5.1 uses, and `v2.0.50727`,
    /// which only .NET 2.0-3.5 apps use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dotnet_framework_strong_crypto: Option<BTreeMap<String, StrongCrypto>>,
    /// Windows: WinHTTP `DefaultSecureProtocols` per registry key (64- and 32-bit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winhttp_default_secure_protocols: Option<BTreeMap<String, SecureProtocols>>,
    /// Windows: the .NET Framework 4.x release installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dotnet_framework: Option<DotnetFramework>,
    /// Windows: a fixed sentence pointing at PowerShell's SecurityProtocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Linux/macOS: `openssl version -a`, line by line, or a sentence when openssl was not
    /// found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl_version_a: Option<OpensslVersion>,
    /// Linux/macOS: the OpenSSL config file (OPENSSL_CONF, else OPENSSLDIR/openssl.cnf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl_cnf: Option<String>,
    /// Linux/macOS: `MinProtocol`, `MaxProtocol`, `CipherString`, `Ciphersuites` from that
    /// file, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl_cnf_settings: Option<BTreeMap<String, String>>,
    /// Linux/macOS: why the config file was only partly read (e.g. cut at the size cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl_cnf_note: Option<String>,
    /// Linux/macOS: why the config file could not be read (absent when it does not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl_cnf_error: Option<String>,
    /// The Python Azure CLI runs on, asked for its OpenSSL and certifi bundle; null when it was
    /// not found.
    pub azure_cli_python: Option<AzureCliPython>,
}

/// One SCHANNEL protocol's client state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SchannelProtocol {
    /// What the `Enabled` / `DisabledByDefault` values mean for clients.
    pub client: ClientState,
    /// The raw values of the protocol's `Client` key; null when the key does not exist.
    pub values: Option<BTreeMap<String, RegValue>>,
}

/// A SCHANNEL protocol's client state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientState {
    /// `Enabled` is non-zero and `DisabledByDefault` is not set.
    Enabled,
    /// `Enabled` is 0.
    Disabled,
    /// `DisabledByDefault` is non-zero: only clients that ask for it get the protocol.
    DisabledByDefault,
    /// No value: the OS default.
    OsDefault,
}

/// A registry value as `reg query` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegValue {
    /// The value type, e.g. `REG_DWORD`.
    pub kind: String,
    /// The data as printed, e.g. `0x1`.
    pub data: String,
}

impl RegValue {
    /// A REG_DWORD / REG_QWORD as a number.
    pub fn number(&self) -> Option<u64> {
        let d = self.data.trim();
        d.strip_prefix("0x")
            .map_or_else(|| d.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
    }
}

/// The .NET Framework TLS values of one registry key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StrongCrypto {
    /// `SchUseStrongCrypto`; null when not set.
    #[serde(rename = "SchUseStrongCrypto")]
    pub sch_use_strong_crypto: Option<u64>,
    /// `SystemDefaultTlsVersions`; null when not set.
    #[serde(rename = "SystemDefaultTlsVersions")]
    pub system_default_tls_versions: Option<u64>,
}

/// WinHTTP's default protocols from one registry key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecureProtocols {
    /// The `DefaultSecureProtocols` mask; null when not set (the OS default).
    #[serde(rename = "DefaultSecureProtocols")]
    pub default_secure_protocols: Option<u64>,
    /// The protocol names the mask enables; null when not set.
    pub protocols: Option<Vec<String>>,
}

/// The .NET Framework 4.x release (`NDP\v4\Full`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DotnetFramework {
    /// The `Release` value; null when not installed.
    pub release: Option<u64>,
    /// The version it means, e.g. `4.8.1`; null when not installed.
    pub version: Option<String>,
}

/// `openssl version -a`: its lines, or a sentence when openssl was not found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OpensslVersion {
    /// The output, line by line.
    Lines(Vec<String>),
    /// `openssl not found on PATH`.
    Missing(String),
}

/// The Python Azure CLI runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AzureCliPython {
    /// Its executable.
    pub python: String,
    /// `ssl.OPENSSL_VERSION`; absent when the Python could not be run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openssl: Option<String>,
    /// `certifi.where()`: the CA bundle Azure CLI uses by default; null when certifi is
    /// missing, absent when the Python could not be run.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option"
    )]
    pub certifi: Option<Option<String>>,
}

/// `tls/ca-bundles.json`. The files are never copied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaBundles {
    /// A fixed sentence: what Azure CLI verifies against.
    pub note: String,
    /// REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE (when set), then Azure CLI's certifi
    /// `cacert.pem`.
    pub bundles: Vec<CaBundle>,
}

/// Where a CA bundle is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CaBundleSource {
    /// The REQUESTS_CA_BUNDLE variable (Azure CLI uses it).
    #[serde(rename = "REQUESTS_CA_BUNDLE")]
    RequestsCaBundle,
    /// The CURL_CA_BUNDLE variable (Azure CLI uses it when REQUESTS_CA_BUNDLE is unset).
    #[serde(rename = "CURL_CA_BUNDLE")]
    CurlCaBundle,
    /// The SSL_CERT_FILE variable (OpenSSL's; Azure CLI ignores it).
    #[serde(rename = "SSL_CERT_FILE")]
    SslCertFile,
    /// Azure CLI's bundled certifi `cacert.pem`.
    #[serde(rename = "azure_cli_certifi")]
    AzureCliCertifi,
}

impl CaBundleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CaBundleSource::RequestsCaBundle => "REQUESTS_CA_BUNDLE",
            CaBundleSource::CurlCaBundle => "CURL_CA_BUNDLE",
            CaBundleSource::SslCertFile => "SSL_CERT_FILE",
            CaBundleSource::AzureCliCertifi => "azure_cli_certifi",
        }
    }
}

/// One CA bundle file, described where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaBundle {
    /// Where it is named.
    pub source: CaBundleSource,
    /// The path as named.
    pub path: String,
    /// Azure CLI verifies against it (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, or certifi when
    /// neither is set; never SSL_CERT_FILE).
    pub used_by_azure_cli: bool,
    /// The path exists.
    pub exists: bool,
    /// Present and true when the path is a directory (nothing else is then recorded).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_directory: bool,
    /// It could be read (absent for a directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readable: Option<bool>,
    /// Its size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Why only part of it was read (e.g. cut at the size cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How many PEM certificates it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<usize>,
    /// How many of them are expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<usize>,
    /// Each certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certs: Option<Vec<CertInfo>>,
    /// Why an existing file could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the file holds, read from its first bytes (absent when unread, and in bundles
    /// written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<BundleFormat>,
    /// For a directory: how many entries are named as OpenSSL's `c_rehash` names them
    /// (`<8 hex digits>.<n>`), the only names requests (OpenSSL `ca_cert_dir`) looks up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashed_entries: Option<usize>,
}

/// What a CA bundle file holds. requests (Azure CLI) reads PEM text only; the other shapes are
/// what a Windows export or a shell redirect often produces instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BundleFormat {
    /// PEM (Base64) certificates: what requests reads.
    Pem,
    /// One DER (binary X.509) certificate: certmgr's "DER encoded binary X.509 (.CER)".
    Der,
    /// A PKCS#7 certificate bag (`.p7b`), DER or PEM (`-----BEGIN PKCS7-----`).
    Pkcs7,
    /// A PKCS#12 / PFX archive (certificates, often with a private key).
    Pkcs12,
    /// UTF-16 text (a PEM re-saved by Windows PowerShell 5.1's `>` or Notepad's "Unicode").
    Utf16,
    /// Zero bytes.
    Empty,
    /// Text with no PEM certificate block.
    Text,
    /// Binary data of no recognised shape.
    Binary,
    /// A format this version does not know (a newer bundle).
    #[serde(untagged)]
    Other(String),
}
