//! `manifest.json`, schema version 2: the last entry written, listing every other entry. It is
//! serialized, then passed through the redactor before it is written. `bundle::manifest`
//! re-exports these types. Version 1 manifests (no `commands[].encoding`) still read: the
//! fields added since have serde defaults.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// 2: `commands[].encoding` added (docs/bundle-format.md, "Changes").
pub const SCHEMA_VERSION: u32 = 2;

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Manifest {
    /// The bundle format's version: `2` (readers also accept `1`).
    pub schema_version: u32,
    /// The program that wrote the bundle.
    pub tool: Tool,
    /// When the run started: RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// When the manifest was written: RFC 3339 UTC with milliseconds.
    pub finished_at: String,
    /// The collecting machine's UTC offset when the run started (`+09:00`), so `summary.md`
    /// and `inspect` show local times that match the tenant's sign-in log wherever the bundle
    /// is read. Absent in bundles written before it (times are then shown in UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<String>,
    /// `complete`, or `interrupted` when Ctrl-C / SIGTERM stopped the run.
    pub status: RunStatus,
    /// The machine, from the OS.
    pub host: Host,
    /// How entra-collect was started.
    pub invocation: Invocation,
    /// One per collector, in a fixed order.
    pub collectors: Vec<CollectorRecord>,
    /// Every entry but `manifest.json`.
    pub files: Vec<FileRecord>,
}

/// The program that wrote the bundle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Tool {
    /// `entra-collect`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The machine the bundle describes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, JsonSchema)]
pub struct Host {
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
    /// `windows`, `linux` or `macos`: whose collection logic ran (differs from the real OS only
    /// under the test override).
    pub platform: String,
}

/// How entra-collect was started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct Invocation {
    /// Command-line arguments after the program name, redacted.
    pub args: Vec<String>,
    /// The `--timeout` in force.
    pub timeout_secs: u64,
}

/// How a collector ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It ran and recorded what it found.
    Ok,
    /// It did not apply (a tool not found, `--no-network`).
    Skipped,
    /// It could not do its work.
    Failed,
    /// Its watchdog or a command's timeout stopped it.
    TimedOut,
    /// Ctrl-C / SIGTERM stopped it.
    Interrupted,
}

/// How the whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every collector ended (whatever its own status).
    Complete,
    /// Ctrl-C / SIGTERM stopped the run: a partial bundle.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::TimedOut => "timed_out",
            Status::Interrupted => "interrupted",
        }
    }
}

/// One collector's record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct CollectorRecord {
    /// `debug.run` (with `--run` / `--`, first), `system`, `environment`, `versions.az`,
    /// `versions.powershell`, `contexts`, `caches`, `network.proxy`, `tls`, `network.probes`,
    /// `net.trace` (with `--net-trace`, last).
    pub id: String,
    /// `ok`, `skipped`, `failed`, `timed_out` or `interrupted`.
    pub status: Status,
    /// Why it was not `ok` (absent when ok; `network.probes` and `debug.run` also explain an
    /// `ok` here). A collector left out by `--skip` / `--only` is `skipped` with `--skip` or
    /// `not in --only`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// RFC 3339 UTC; absent if it never started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Wall time.
    pub duration_ms: u64,
    /// The bundle entries it wrote.
    pub entries: Vec<String>,
    /// Each external command it ran.
    pub commands: Vec<CommandRecord>,
}

/// One external command a collector ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct CommandRecord {
    /// Program and arguments as shown, redacted (long scripts are shown as
    /// `<scripts/name.ps1>`).
    pub command_line: Vec<String>,
    /// The executable that actually ran (resolved on PATH).
    pub program_path: String,
    /// The exit code; null when killed by a signal.
    pub exit_code: Option<i32>,
    /// Killed at the timeout (the whole process tree).
    pub timed_out: bool,
    /// Killed by Ctrl-C (the whole process tree).
    pub interrupted: bool,
    /// stdout or stderr exceeded the capture cap (16 MiB each).
    pub truncated: bool,
    /// Some output bytes could not be decoded in `encoding` and became U+FFFD (the name is kept
    /// from schema 1, when UTF-8 was the only encoding).
    pub lossy_utf8: bool,
    /// The encoding the output was read in: `utf-8`, `utf-16le` or `cp<N>`, a Windows code page
    /// (`cp932` on Japanese Windows). When stdout and stderr differ, the one that is not UTF-8.
    /// Absent in schema 1 (read as empty).
    #[serde(default)]
    pub encoding: String,
    /// Wall time.
    pub duration_ms: u64,
    /// Bytes the program wrote to stdout (before the cap).
    pub stdout_bytes: u64,
    /// Bytes the program wrote to stderr (before the cap).
    pub stderr_bytes: u64,
}

/// One entry of the bundle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
pub struct FileRecord {
    /// The entry name.
    pub path: String,
    /// Uncompressed bytes.
    pub size: u64,
    /// SHA-256 of the uncompressed bytes, lowercase hex.
    pub sha256: String,
    /// Passed the redactor (false only for binary captures such as network traces).
    pub redacted: bool,
    /// Present and true when a capture was cut at its size limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Replacements per redaction rule name, e.g. `{"url-credentials": 1}`.
    #[serde(default)]
    pub redactions: BTreeMap<String, u64>,
    /// How the entry is stored in the zip, chosen per entry from a sample of its first bytes
    /// (absent in bundles written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// Bytes the entry takes in the zip (its compressed data, headers excluded); `size` divided
    /// by this is the compression ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_size: Option<u64>,
}

/// A bundle entry's zip compression method: both are readable by Windows Explorer and
/// `Expand-Archive`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Stored as is (method 0): the sample did not compress (a packet capture, mostly TLS).
    Stored,
    /// Deflate (method 8).
    Deflated,
}
