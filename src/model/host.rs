//! `system.json` (the host and its clock) and `environment.json` (the reported environment
//! variables, default-deny).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `system.json`: the host and the local clock, to line the bundle up with the tenant's
/// sign-in log (which is in UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct System {
    /// The host name.
    pub hostname: String,
    /// The OS name.
    pub os: String,
    /// The OS version (long form where the OS gives one).
    pub os_version: String,
    /// The kernel version.
    pub kernel: String,
    /// The CPU architecture.
    pub arch: String,
    /// `windows`, `linux` or `macos`: whose collection logic ran.
    pub platform: String,
    /// The OS entra-collect was built for (differs from `platform` only under the test
    /// override).
    pub native_platform: String,
    /// The distribution id (`debian`, `ubuntu`, `windows`, `macos`, ...).
    pub distribution_id: String,
    /// Seconds since boot; null when unknown.
    pub uptime_secs: Option<u64>,
    /// Boot time, seconds since the Unix epoch; null when unknown.
    pub boot_time_unix: Option<u64>,
    /// The local time when the collector ran: RFC 3339 with the offset.
    pub local_time: String,
    /// The local offset from UTC in minutes.
    pub utc_offset_minutes: i32,
    /// Logical CPUs available to the process; null when unknown.
    pub cpus: Option<usize>,
    /// The entra-collect version that wrote the entry.
    pub entra_collect_version: String,
}

/// `environment.json`: allowlisted variables only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Environment {
    /// A fixed sentence saying what is (not) shown.
    pub note: String,
    /// True on Windows, where variable names are case-insensitive.
    pub case_insensitive_names: bool,
    /// Variable name → how it is set. The well-known names are always listed (as unset when
    /// absent); every other `AZURE_*`, `MSAL_*`, `IDENTITY_*`, `MSI_*` variable when set.
    pub variables: BTreeMap<String, Variable>,
}

/// One reported environment variable: `{set: false}`, `{set: true, value}` or
/// `{set: true, length}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Variable {
    /// Whether the variable is set.
    pub set: bool,
    /// The value, only for a known-safe setting of the expected shape (proxy URLs without
    /// credentials, URLs without query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The value's length in characters, when the value is withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
}

impl Variable {
    pub fn unset() -> Self {
        Variable::default()
    }
    pub fn shown(value: String) -> Self {
        Variable {
            set: true,
            value: Some(value),
            length: None,
        }
    }
    pub fn withheld(length: usize) -> Self {
        Variable {
            set: true,
            value: None,
            length: Some(length),
        }
    }
}
