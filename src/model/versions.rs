//! `versions/az.json` (Azure CLI) and `versions/<shell>.json` (one per PowerShell:
//! `versions/pwsh.json`, `versions/windows-powershell.json`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `versions/az.json`: `az version -o json` (its members with `-` written as `_`), completed
/// from Azure CLI's Python (what `az --version` adds) where that JSON lacks a fact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AzVersions {
    /// The `az` executable found on PATH.
    pub az_path: String,
    /// The Azure CLI version (`azure-cli`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_cli: Option<String>,
    /// `azure-cli-core`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_cli_core: Option<String>,
    /// `azure-cli-telemetry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_cli_telemetry: Option<String>,
    /// Installed extensions: name → version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<BTreeMap<String, String>>,
    /// The MSAL for Python version (asked of Azure CLI's Python; the `Dependencies` line of `az --version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msal: Option<String>,
    /// Python's version, e.g. `3.12.8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_version: Option<String>,
    /// Python's platform as az prints it, e.g. `Windows`, `Linux`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_platform: Option<String>,
    /// The Python executable Azure CLI runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python_location: Option<String>,
    /// Azure CLI's configuration directory (`~/.azure` or AZURE_CONFIG_DIR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_directory: Option<String>,
    /// Where extensions are installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions_directory: Option<String>,
    /// Any other member of `az version -o json`, as az wrote it (name with `_` for `-`).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `versions/<shell>.json`: one PowerShell's inventory (`scripts/inventory.ps1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PowerShellVersions {
    /// `pwsh` or `windows-powershell`.
    pub shell: String,
    /// The executable that ran the inventory.
    pub program_path: String,
    /// `$PSVersionTable.PSVersion`.
    pub ps_version: Option<String>,
    /// `$PSVersionTable.PSEdition`: `Core` or `Desktop`.
    pub edition: Option<String>,
    /// The .NET runtime, e.g. `.NET 8.0.11`, `.NET Framework 4.8.9290.0`.
    pub dotnet_runtime: Option<String>,
    /// RuntimeInformation.OSDescription.
    pub os_description: Option<String>,
    /// RuntimeInformation.ProcessArchitecture, e.g. `X64`.
    pub process_architecture: Option<String>,
    /// The shell's own executable path.
    pub executable: Option<String>,
    /// `[Net.ServicePointManager]::SecurityProtocol`: the TLS versions .NET Framework clients
    /// offer (e.g. `SystemDefault`, `Ssl3, Tls`).
    pub security_protocol: Option<String>,
    /// Every installed Az, Az.Accounts, Microsoft.Graph and Microsoft.Graph.Authentication;
    /// newest first per name.
    pub modules: Vec<PsModule>,
    /// Installed retired modules that clash with Az and Graph (AzureRM, AzureRM.Profile,
    /// AzureAD, AzureADPreview, MSOnline); newest first per name.
    #[serde(default)]
    pub retired_modules: Vec<PsModule>,
    /// `Get-ExecutionPolicy -List`: every scope and its policy, in PowerShell's order
    /// (MachinePolicy and UserPolicy come from Group Policy and beat `-ExecutionPolicy Bypass`).
    #[serde(default)]
    pub execution_policies: Vec<ExecutionPolicyScope>,
    /// `Get-ExecutionPolicy`: the policy in effect for the inventory's own process.
    #[serde(default)]
    pub effective_execution_policy: Option<String>,
    /// How importing Az.Accounts and Microsoft.Graph.Authentication went, each in a process of
    /// its own (the two conflict in one Windows PowerShell 5.1 process); only installed ones.
    #[serde(default)]
    pub imports: Vec<ModuleImport>,
    /// `$env:PSModulePath`, split.
    pub psmodulepath: Vec<String>,
    /// `$PSVersionTable`, every member as a string (arrays as string arrays); null when the
    /// inventory had none.
    pub psversiontable: Value,
}

/// One installed module version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PsModule {
    /// The module name.
    pub name: Option<String>,
    /// Its version, e.g. `5.1.1`.
    pub version: Option<String>,
    /// The prerelease label, e.g. `preview`; null for a release.
    pub prerelease: Option<String>,
    /// The module's directory.
    pub path: Option<String>,
}

/// One scope of `Get-ExecutionPolicy -List`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionPolicyScope {
    /// `MachinePolicy`, `UserPolicy`, `Process`, `CurrentUser`, `LocalMachine`.
    pub scope: Option<String>,
    /// `Undefined`, `Restricted`, `AllSigned`, `RemoteSigned`, `Unrestricted`, `Bypass`.
    pub policy: Option<String>,
}

/// `Import-Module` of one module in a fresh process.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ModuleImport {
    /// `Az.Accounts` or `Microsoft.Graph.Authentication`.
    pub module: String,
    /// The import succeeded.
    pub imported: bool,
    /// The version loaded.
    pub version: Option<String>,
    /// The error message when it failed.
    pub error: Option<String>,
    /// The error's `FullyQualifiedErrorId`, e.g. `UnauthorizedAccess,...` when scripts are
    /// disabled by the execution policy.
    pub error_id: Option<String>,
    /// The exception's type, e.g. `System.Management.Automation.PSSecurityException`.
    pub exception_type: Option<String>,
}
