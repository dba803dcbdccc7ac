//! Who is signed in, to which tenant, and what is cached: `context/az.json`,
//! `context/azps-<shell>.json`, `context/mg-<shell>.json`, `context/azps-settings.json`,
//! `context/mg-authrecord.json` and `context/caches.json`. No token is ever read.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How `--tenant` compares with a context's tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantComparison {
    /// The same tenant (GUIDs equal, or the domain is the context's default domain).
    Match,
    /// `--tenant` is a GUID and the context's tenant is another one.
    Mismatch,
    /// `--tenant` is a domain that cannot be compared offline.
    Unknown,
}

impl TenantComparison {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantComparison::Match => "match",
            TenantComparison::Mismatch => "mismatch",
            TenantComparison::Unknown => "unknown",
        }
    }
}

/// A configuration value: shown when it is a known-safe key of the expected shape, else only
/// `{"set": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Setting {
    /// The value.
    Shown(String),
    /// Present, value withheld.
    Withheld(Withheld),
}

/// `{"set": true}`: a value that is present and not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Withheld {
    /// Always true.
    pub set: bool,
}

impl Withheld {
    pub const SET: Withheld = Withheld { set: true };
}

/// INI sections: section → key → value.
pub type Ini = BTreeMap<String, BTreeMap<String, Setting>>;

/// `context/az.json`: Azure CLI's own files in AZURE_CONFIG_DIR (default `~/.azure`), read
/// offline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AzContext {
    /// Why nothing could be read: no home directory and no AZURE_CONFIG_DIR (then the only
    /// member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The configuration directory read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_dir: Option<String>,
    /// `azureProfile.json` lists a subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in: Option<bool>,
    /// The subscriptions of `azureProfile.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriptions: Option<Vec<AzSubscription>>,
    /// A sentence when `azureProfile.json` does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Why `azureProfile.json` could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_error: Option<String>,
    /// `clouds.config`: cloud → key → value (`subscription` when a GUID, `profile`,
    /// `endpoint_*` URLs without credentials or query, `suffix_*` domains; other keys
    /// withheld).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clouds: Option<Ini>,
    /// `config`: section → key → value for the known-safe keys of the expected shape; every
    /// other key withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Ini>,
    /// `config`'s `[cloud] name`, when shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_cloud: Option<String>,
}

/// One subscription of `azureProfile.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AzSubscription {
    /// The subscription id.
    pub id: Option<String>,
    /// The subscription name.
    pub name: Option<String>,
    /// e.g. `Enabled`.
    pub state: Option<String>,
    /// The tenant the subscription is signed in to.
    pub tenant_id: Option<String>,
    /// The account's home tenant.
    pub home_tenant_id: Option<String>,
    /// The tenant's default domain.
    pub tenant_default_domain: Option<String>,
    /// The tenant's display name.
    pub tenant_display_name: Option<String>,
    /// The cloud, e.g. `AzureCloud`.
    pub environment: Option<String>,
    /// The signed-in account.
    pub user_name: Option<String>,
    /// `user` or `servicePrincipal`.
    pub user_type: Option<String>,
    /// The default subscription.
    pub is_default: Option<bool>,
    /// With `--tenant`: how it compares with `tenant_id` (or the default domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_comparison: Option<TenantComparison>,
}

/// `context/azps-<shell>.json`: Azure PowerShell's contexts (`Get-AzContext -ListAvailable`)
/// and configuration (`Get-AzConfig`); present when Az.Accounts is installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AzPsContexts {
    /// `pwsh` or `windows-powershell`.
    pub shell: String,
    /// Every saved context.
    pub contexts: Vec<AzPsContext>,
    /// Every configuration item.
    pub config: Vec<AzConfigItem>,
    /// Why Az.Accounts could not be loaded; null when it was.
    pub error: Option<String>,
}

/// One Azure PowerShell context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AzPsContext {
    /// The context's name.
    pub name: Option<String>,
    /// The account.
    pub account_id: Option<String>,
    /// `User`, `ServicePrincipal`, `ManagedService`, ...
    pub account_type: Option<String>,
    /// The tenant.
    pub tenant_id: Option<String>,
    /// The cloud, e.g. `AzureCloud`.
    pub environment: Option<String>,
    /// The subscription id.
    pub subscription_id: Option<String>,
    /// The subscription name.
    pub subscription_name: Option<String>,
    /// It is the current context (`Get-AzContext`).
    pub is_current: Option<bool>,
    /// With `--tenant`: how it compares with `tenant_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_comparison: Option<TenantComparison>,
}

/// One `Get-AzConfig` item: the members of azure-powershell's `PSConfig`
/// (`src/Accounts/Authentication/Config/Models/PSConfig.cs`), which has no `Level`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AzConfigItem {
    /// e.g. `EnableLoginByWam`.
    pub key: Option<String>,
    /// The value as a string.
    pub value: Option<String>,
    /// Where it is set (`ConfigScope`): `Default`, `CurrentUser`, `Process`, `Environment`.
    pub scope: Option<String>,
    /// Which module or cmdlet it applies to; `Az` for all.
    pub applies_to: Option<String>,
}

/// `context/azps-settings.json`: `~/.Azure/AzureRmContextSettings.json`, reduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AzPsSettingsFile {
    /// The file read.
    pub path: String,
    /// Its fields.
    pub settings: AzPsSettings,
}

/// The fields of `AzureRmContextSettings.json`, or `{"unrecognised": true}` when it is not a
/// JSON object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AzPsSettings {
    /// The file is not a JSON object.
    Unrecognised {
        /// Always true.
        unrecognised: bool,
    },
    /// Field → value: `Mode`, `ContextDirectory`, `ContextFile`, `CacheDirectory`,
    /// `CacheFile`, `KeyStoreFile` shown when of the expected shape, `Settings` as a map;
    /// null kept; anything else withheld.
    Fields(BTreeMap<String, Option<AzPsField>>),
}

/// One field of `AzureRmContextSettings.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AzPsField {
    /// A known field's value of the expected shape.
    Shown(String),
    /// Present, value withheld.
    Withheld(Withheld),
    /// `Settings`: key → value, shown only when boolean.
    Settings(BTreeMap<String, Option<AzPsSetting>>),
}

/// One value of `Settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AzPsSetting {
    /// A JSON boolean.
    Bool(bool),
    /// A boolean word (`true`, `false`, `yes`, `no`, `on`, `off`, `1`, `0`).
    Word(String),
    /// Any other value, withheld.
    Withheld(Withheld),
}

/// `context/mg-authrecord.json`: `~/.mg/mg.authrecord.json` (an MSAL AuthenticationRecord,
/// which holds no token), its non-secret fields only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MgAuthRecordFile {
    /// The file read.
    pub path: String,
    /// The kept fields.
    pub record: MgAuthRecord,
    /// With `--tenant`: how it compares with `tenantId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_comparison: Option<TenantComparison>,
}

/// The kept fields of an AuthenticationRecord (each present when the file has it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MgAuthRecord {
    /// The account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The authority host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The tenant.
    #[serde(rename = "tenantId", default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The app used to sign in.
    #[serde(rename = "clientId", default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// MSAL's home account id.
    #[serde(
        rename = "homeAccountId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub home_account_id: Option<String>,
    /// The record's format version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `context/caches.json`: token caches listed by name, never opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Caches {
    /// A fixed sentence: caches are listed, never opened.
    pub note: String,
    /// How many of them exist.
    pub present: usize,
    /// Every location looked at.
    pub caches: Vec<CacheEntry>,
}

/// The tool a token cache belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CacheTool {
    /// Azure CLI (AZURE_CONFIG_DIR or `~/.azure`).
    AzureCli,
    /// Azure PowerShell (`~/.Azure`, `.IdentityService`).
    AzPowershell,
    /// Graph PowerShell 2.x (`~/.mg`).
    GraphPowershell,
    /// Graph PowerShell 1.x (`~/.graph`).
    GraphPowershellV1,
}

/// One cache location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CacheEntry {
    /// Whose cache.
    pub tool: CacheTool,
    /// The path (with `*` when a name prefix matched nothing).
    pub path: String,
    /// It exists; null when its metadata could not be read.
    pub exists: Option<bool>,
    /// It is a directory (when it exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_dir: Option<bool>,
    /// Its size in bytes (when it exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Last modified, RFC 3339 UTC (when it exists; null when the OS has no time).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::double_option"
    )]
    pub modified: Option<Option<String>>,
    /// Why its metadata could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
