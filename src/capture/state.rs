//! The trace state file: written before a capture starts, so `entra-collect trace stop` can end
//! one that an earlier run left behind, and so a new run can tell that one is still running.
//!
//! It lives in the private per-user directory of [`crate::fsutil::user_dir`], is created there
//! without following symlinks, and records the capture's identity (executable and start time):
//! `trace stop` signals a pid only when it is still that process.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Tool;
use crate::vocab::Env;

/// Name of the state file in [`state_dir`].
pub(crate) const STATE_FILE: &str = "entra-collect-trace.json";
/// The state file is small; anything larger is not ours.
const STATE_CAP: u64 = 64 << 10;

/// What the state file records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) tool: Tool,
    pub(crate) started_at: String,
    pub(crate) dir: String,
    pub(crate) entra_collect_pid: u32,
    #[serde(default)]
    pub(crate) capture_pid: Option<u32>,
    /// Who `capture_pid` was when the capture started: a pid is signalled only while it is
    /// still this process.
    #[serde(default)]
    pub(crate) capture: Option<ProcId>,
}

/// A process's identity beyond its pid (pids are reused): its executable and start time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcId {
    pub(crate) exe: String,
    /// Linux: field 22 of /proc/<pid>/stat (clock ticks since boot); elsewhere `ps -o lstart`.
    pub(crate) start_time: String,
    /// Linux: /proc/sys/kernel/random/boot_id (start times restart at every boot).
    #[serde(default)]
    pub(crate) boot_id: String,
}

/// The identity of a running process (None when it is gone or cannot be read).
pub(crate) fn proc_id(pid: u32) -> Option<ProcId> {
    #[cfg(target_os = "linux")]
    {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // rest starts at field 3 (state); starttime is field 22.
        if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
            return None;
        }
        let start_time = fields.get(19)?.to_string();
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Some(ProcId {
            exe,
            start_time,
            boot_id,
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        use crate::exec::Cmd;
        let o = super::own_runner()
            .run(&Cmd::new("ps").args(["-o", "lstart=", "-o", "comm=", "-p", &pid.to_string()]))
            .ok()?;
        let text = o.stdout.text().0.trim().to_string();
        if !o.success() || text.is_empty() {
            return None;
        }
        // lstart is five words ("Tue Nov 25 06:07:08 2026"), the command follows.
        let words: Vec<&str> = text.split_whitespace().collect();
        let (start, exe) = words.split_at(words.len().min(5));
        Some(ProcId {
            exe: exe.join(" "),
            start_time: start.join(" "),
            boot_id: String::new(),
        })
    }
}

/// Is `pid` still the process that `id` recorded?
pub(crate) fn is_same_process(pid: u32, id: &ProcId) -> bool {
    proc_id(pid).is_some_and(|now| &now == id)
}

/// Is the capture a state file records still running (as the very process it started)?
pub(crate) fn capture_running(s: &State) -> bool {
    match (s.capture_pid, &s.capture) {
        (Some(pid), Some(id)) => is_same_process(pid, id),
        _ => false,
    }
}

/// The directory of the state file and of the trace working directories: private to us
/// (see [`crate::fsutil::user_dir`]; `ENTRA_COLLECT_STATE_DIR` overrides it in tests).
pub(crate) fn state_dir(env: &Env) -> std::io::Result<PathBuf> {
    crate::fsutil::user_dir(env)
}

pub(crate) fn read_state(dir: &Path) -> Option<State> {
    // Never through a symlink, never a FIFO or device, never more than a small file.
    let (f, _) = crate::fsutil::open_regular(&dir.join(STATE_FILE), false).ok()?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(f, STATE_CAP), &mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Remove the state file in `dir` (errors ignored: there may be none).
pub(crate) fn remove_state(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(STATE_FILE));
}

/// The state file of the trace this run starts, while it is being started.
pub(crate) struct StateFile {
    dir: PathBuf,
    state: State,
}

impl StateFile {
    /// Create the state file in `dir`: fails if anything (a file, a symlink) is there already.
    pub(crate) fn create(dir: &Path, state: State) -> std::io::Result<Self> {
        use std::io::Write;
        let text = serde_json::to_string_pretty(&state).unwrap_or_default();
        let mut f = crate::fsutil::create_new_nofollow(&dir.join(STATE_FILE))?;
        f.write_all(text.as_bytes())?;
        Ok(StateFile {
            dir: dir.to_path_buf(),
            state,
        })
    }

    /// Record the capture program's pid and identity (best effort: the trace runs without).
    pub(crate) fn record_capture(&mut self, pid: u32) {
        self.state.capture_pid = Some(pid);
        self.state.capture = proc_id(pid);
        let text = serde_json::to_string_pretty(&self.state).unwrap_or_default();
        let _ = crate::fsutil::rewrite_nofollow(&self.dir.join(STATE_FILE), text.as_bytes());
    }
}
