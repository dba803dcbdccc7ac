//! The typed bundle model: one serde type per bundle entry, mirroring exactly the JSON the
//! collectors write (docs/bundle-format.md is generated from these types' schemas), the entry
//! names, and [`Bundle`], which reads a bundle's entries back into the types.
//!
//! A leaf of the module graph: it imports nothing from the crate but `vocab`, so collectors
//! (which build these types), `analyze` and `report` (which read them) and `inspect` can all
//! use it (`arch_tests` checks this). Nothing here rejects unknown members: a newer bundle with
//! extra members still reads.

pub mod context;
pub mod docgen;
pub mod findings;
pub mod host;
pub mod manifest;
pub mod network;
pub mod requests;
pub mod tls;
pub mod versions;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::vocab::Texts;

pub use context::{
    AzConfigItem, AzContext, AzPsContext, AzPsContexts, AzPsField, AzPsSetting, AzPsSettings,
    AzPsSettingsFile, AzSubscription, CacheEntry, CacheTool, Caches, Ini, MgAuthRecord,
    MgAuthRecordFile, Setting, TenantComparison, Withheld,
};
pub use findings::{Evidence, Finding, Findings, Severity};
pub use host::{Environment, System, Variable};
pub use manifest::{
    CollectorRecord, CommandRecord, Compression, FileRecord, Host, Invocation, Manifest, RunStatus,
    Status, Tool,
};
pub use network::{
    Effective, EffectiveProxies, EnvSetting, ErrorKind, PathOrWithheld, ProbeResult, Probes, Proxy,
    ProxyEnvironment, ProxyFamily, Stage, StageName, TlsInfo, Verdict, Wam, WinHttp, WinHttpSource,
    WinInet,
};
pub use requests::{Request, Requests, Stop};
pub use tls::{
    AzureCliPython, BundleFormat, CaBundle, CaBundleSource, CaBundles, CertInfo, ClientState,
    DotnetFramework, OpensslVersion, RegValue, SchannelProtocol, SecureProtocols, StrongCrypto,
    TlsSettings,
};
pub use versions::{AzVersions, ExecutionPolicyScope, ModuleImport, PowerShellVersions, PsModule};

/// The bundle's entry names.
pub mod names {
    pub const MANIFEST: &str = "manifest.json";
    pub const SUMMARY: &str = "summary.md";
    pub const FINDINGS: &str = "findings.json";
    pub const SYSTEM: &str = "system.json";
    pub const ENVIRONMENT: &str = "environment.json";
    pub const VERSIONS_AZ: &str = "versions/az.json";
    pub const VERSIONS_AZ_TEXT: &str = "versions/az-version.txt";
    pub const PROXY: &str = "network/proxy.json";
    pub const PROBES: &str = "network/probes.json";
    /// The raw `netsh winhttp show proxy` output, kept when the WinHTTP proxy is unknown.
    pub const WINHTTP_TEXT: &str = "network/winhttp-output.txt";
    /// The raw output of the trace-status checks, kept when they did not tell whether a
    /// network trace was already running.
    pub const TRACE_STATUS_TEXT: &str = "network/trace-status.txt";
    pub const TLS_SETTINGS: &str = "tls/settings.json";
    pub const CA_BUNDLES: &str = "tls/ca-bundles.json";
    pub const AZ_CONTEXT: &str = "context/az.json";
    pub const AZPS_SETTINGS: &str = "context/azps-settings.json";
    pub const MG_AUTHRECORD: &str = "context/mg-authrecord.json";
    pub const CACHES: &str = "context/caches.json";
    /// The folder of the sign-in command's logs (`debug/<name>.log`).
    pub const DEBUG_DIR: &str = "debug/";
    /// The suffix of a log's request timeline (`debug/<name>.requests.json`).
    pub const REQUESTS_SUFFIX: &str = ".requests.json";
    /// The suffix of a log's HAR export (`debug/<name>.har`, with `--har`).
    pub const HAR_SUFFIX: &str = ".har";

    /// `debug/<log_name>.log`.
    pub fn debug_log(log_name: &str) -> String {
        format!("{DEBUG_DIR}{log_name}.log")
    }
    /// `debug/<log_name>.requests.json`.
    pub fn requests(log_name: &str) -> String {
        format!("{DEBUG_DIR}{log_name}{REQUESTS_SUFFIX}")
    }
    /// `debug/<log_name>.har`.
    pub fn har(log_name: &str) -> String {
        format!("{DEBUG_DIR}{log_name}{HAR_SUFFIX}")
    }
    /// A `debug/<name>.requests.json` entry name.
    pub fn is_requests(name: &str) -> bool {
        name.starts_with(DEBUG_DIR) && name.ends_with(REQUESTS_SUFFIX)
    }

    /// The shell labels of the PowerShell entries.
    pub const PWSH: &str = "pwsh";
    pub const WINDOWS_POWERSHELL: &str = "windows-powershell";

    /// `versions/<shell>.json`.
    pub fn versions_shell(shell: &str) -> String {
        format!("versions/{shell}.json")
    }
    /// `versions/<shell>.output.txt`: the shell's raw output.
    pub fn shell_output(shell: &str) -> String {
        format!("versions/{shell}.output.txt")
    }
    /// `context/azps-<shell>.json`.
    pub fn azps_contexts(shell: &str) -> String {
        format!("context/azps-{shell}.json")
    }

    /// The shell of a `prefix<shell>.json` name that is not one of `not` (e.g. `az` for
    /// `versions/`).
    pub(crate) fn shell_of<'a>(name: &'a str, prefix: &str, not: &[&str]) -> Option<&'a str> {
        let shell = name.strip_prefix(prefix)?.strip_suffix(".json")?;
        (!shell.is_empty() && !shell.contains('/') && !not.contains(&shell)).then_some(shell)
    }
}

/// An entry that is present but does not read as its type (an older or newer schema, or a
/// damaged file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The entry name.
    pub entry: String,
    /// Why it does not read (serde_json's message, with line and column).
    pub error: String,
}

/// A bundle's entries, typed. Per-shell entries are keyed by the shell label (`pwsh`,
/// `windows-powershell`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bundle {
    pub manifest: Option<Manifest>,
    pub findings: Option<Findings>,
    pub system: Option<System>,
    pub environment: Option<Environment>,
    pub versions_az: Option<AzVersions>,
    pub powershell: BTreeMap<String, PowerShellVersions>,
    pub proxy: Option<Proxy>,
    pub probes: Option<Probes>,
    pub tls_settings: Option<TlsSettings>,
    pub ca_bundles: Option<CaBundles>,
    pub az_context: Option<AzContext>,
    pub azps_contexts: BTreeMap<String, AzPsContexts>,
    pub azps_settings: Option<AzPsSettingsFile>,
    pub mg_authrecord: Option<MgAuthRecordFile>,
    pub caches: Option<Caches>,
    /// The sign-in command's logs (`debug/*` but the timelines and HAR exports): (entry name,
    /// text), in name order.
    pub debug_logs: Vec<(String, String)>,
    /// The request timelines (`debug/<name>.requests.json`), by entry name.
    pub requests: BTreeMap<String, Requests>,
    /// Entries present that did not read as their type.
    pub unreadable: Vec<Unreadable>,
}

impl Bundle {
    /// Read every known entry of `texts`; an entry that does not deserialize is listed in
    /// `unreadable` and the others are still read. Never panics.
    pub fn from_texts(texts: &Texts) -> Bundle {
        let mut b = Bundle::default();
        for (name, text) in texts {
            b.read(name, text);
        }
        b
    }

    fn read(&mut self, name: &str, text: &str) {
        use names::*;
        let bad = &mut self.unreadable;
        match name {
            MANIFEST => self.manifest = parse(name, text, bad),
            FINDINGS => self.findings = parse(name, text, bad),
            SYSTEM => self.system = parse(name, text, bad),
            ENVIRONMENT => self.environment = parse(name, text, bad),
            VERSIONS_AZ => self.versions_az = parse(name, text, bad),
            PROXY => self.proxy = parse(name, text, bad),
            PROBES => self.probes = parse(name, text, bad),
            TLS_SETTINGS => self.tls_settings = parse(name, text, bad),
            CA_BUNDLES => self.ca_bundles = parse(name, text, bad),
            AZ_CONTEXT => self.az_context = parse(name, text, bad),
            AZPS_SETTINGS => self.azps_settings = parse(name, text, bad),
            MG_AUTHRECORD => self.mg_authrecord = parse(name, text, bad),
            CACHES => self.caches = parse(name, text, bad),
            _ if is_requests(name) => {
                if let Some(v) = parse(name, text, bad) {
                    self.requests.insert(name.to_string(), v);
                }
            }
            // A HAR export repeats the timeline for other tools; it is not a log to search.
            _ if name.starts_with(DEBUG_DIR) && name.ends_with(HAR_SUFFIX) => {}
            _ if name.starts_with(DEBUG_DIR) => {
                self.debug_logs.push((name.to_string(), text.to_string()))
            }
            _ => {
                if let Some(shell) = shell_of(name, "versions/", &["az"]) {
                    if let Some(v) = parse(name, text, bad) {
                        self.powershell.insert(shell.to_string(), v);
                    }
                } else if let Some(shell) = shell_of(name, "context/azps-", &["settings"])
                    && let Some(v) = parse(name, text, bad)
                {
                    self.azps_contexts.insert(shell.to_string(), v);
                }
            }
        }
    }
}

fn parse<T: DeserializeOwned>(name: &str, text: &str, bad: &mut Vec<Unreadable>) -> Option<T> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_json::from_str(text) {
        Ok(v) => Some(v),
        Err(e) => {
            bad.push(Unreadable {
                entry: name.to_string(),
                error: e.to_string(),
            });
            None
        }
    }
}

/// The model type of a JSON entry, by name (None for entries that are not typed JSON).
/// `reserialize` reads `text` as that type and writes it back as a JSON value: the contract
/// tests compare it with the entry itself, so a member the type forgot shows up.
pub fn reserialize(name: &str, text: &str) -> Option<Result<serde_json::Value, String>> {
    fn via<T: DeserializeOwned + Serialize>(text: &str) -> Result<serde_json::Value, String> {
        let v: T = serde_json::from_str(text).map_err(|e| e.to_string())?;
        serde_json::to_value(&v).map_err(|e| e.to_string())
    }
    use names::*;
    Some(match name {
        MANIFEST => via::<Manifest>(text),
        FINDINGS => via::<Findings>(text),
        SYSTEM => via::<System>(text),
        ENVIRONMENT => via::<Environment>(text),
        VERSIONS_AZ => via::<AzVersions>(text),
        PROXY => via::<Proxy>(text),
        PROBES => via::<Probes>(text),
        TLS_SETTINGS => via::<TlsSettings>(text),
        CA_BUNDLES => via::<CaBundles>(text),
        AZ_CONTEXT => via::<AzContext>(text),
        AZPS_SETTINGS => via::<AzPsSettingsFile>(text),
        MG_AUTHRECORD => via::<MgAuthRecordFile>(text),
        CACHES => via::<Caches>(text),
        _ if is_requests(name) => via::<Requests>(text),
        _ if shell_of(name, "versions/", &["az"]).is_some() => via::<PowerShellVersions>(text),
        _ if shell_of(name, "context/azps-", &["settings"]).is_some() => via::<AzPsContexts>(text),
        _ => return None,
    })
}

/// Every typed entry's name (`<shell>` for the per-shell ones) and its type's schema, as
/// written (the serialize side: a member that is left out of some entries is not `required`),
/// in the order of docs/bundle-format.md. `docgen` renders the field tables from these.
pub fn entry_schemas() -> Vec<(&'static str, schemars::Schema)> {
    fn schema<T: schemars::JsonSchema>() -> schemars::Schema {
        schemars::generate::SchemaSettings::draft2020_12()
            .for_serialize()
            .into_generator()
            .into_root_schema_for::<T>()
    }
    vec![
        (names::MANIFEST, schema::<Manifest>()),
        (names::FINDINGS, schema::<Findings>()),
        (names::SYSTEM, schema::<System>()),
        (names::ENVIRONMENT, schema::<Environment>()),
        (names::VERSIONS_AZ, schema::<AzVersions>()),
        ("versions/<shell>.json", schema::<PowerShellVersions>()),
        (names::AZ_CONTEXT, schema::<AzContext>()),
        ("context/azps-<shell>.json", schema::<AzPsContexts>()),
        (names::AZPS_SETTINGS, schema::<AzPsSettingsFile>()),
        (names::MG_AUTHRECORD, schema::<MgAuthRecordFile>()),
        (names::CACHES, schema::<Caches>()),
        (names::PROXY, schema::<Proxy>()),
        (names::PROBES, schema::<Probes>()),
        (names::TLS_SETTINGS, schema::<TlsSettings>()),
        (names::CA_BUNDLES, schema::<CaBundles>()),
        ("debug/<name>.requests.json", schema::<Requests>()),
    ]
}

/// For `Option<Option<T>>` members that are absent, null or a value: serde reads a null as the
/// outer `None` unless told otherwise.
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests;
