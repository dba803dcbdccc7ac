//! `manifest.json`, schema version 1. Every field is documented in docs/bundle-format.md.
//! The manifest is serialized, then passed through the redactor before it is written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    pub tool: Tool,
    pub created_at: String,
    pub finished_at: String,
    /// "complete" or "interrupted".
    pub status: String,
    pub host: Host,
    pub invocation: Invocation,
    pub collectors: Vec<CollectorRecord>,
    pub files: Vec<FileRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Host {
    pub hostname: String,
    pub os: String,
    pub os_version: String,
    pub kernel: String,
    pub arch: String,
    /// The platform whose collection logic ran (differs from the real OS only under the test
    /// override).
    pub platform: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Invocation {
    /// Command-line arguments after the program name, redacted.
    pub args: Vec<String>,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Skipped,
    Failed,
    TimedOut,
    Interrupted,
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CollectorRecord {
    pub id: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    pub duration_ms: u64,
    pub entries: Vec<String>,
    pub commands: Vec<CommandRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommandRecord {
    /// The command line as shown to the user, redacted.
    pub command_line: Vec<String>,
    /// The program that actually ran (resolved on PATH).
    pub program_path: String,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub interrupted: bool,
    /// stdout or stderr exceeded the capture cap.
    pub truncated: bool,
    /// The output was not valid UTF-8 and was decoded lossily.
    pub lossy_utf8: bool,
    pub duration_ms: u64,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    /// SHA-256 of the stored (uncompressed) bytes, lowercase hex.
    pub sha256: String,
    /// Whether the text passed the redactor (false for binary captures such as traces).
    pub redacted: bool,
    /// The entry was cut at a size limit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Replacements per redaction rule.
    #[serde(default)]
    pub redactions: BTreeMap<String, u64>,
}
