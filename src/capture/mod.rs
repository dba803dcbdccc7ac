//! The optional network trace (`--net-trace`): a [`Capture`] program, `netsh trace` on Windows
//! ([`netsh`]), `tcpdump` elsewhere ([`tcpdump`]), and the lifecycle around it.
//!
//! A trace must never be left running. Before it starts, a state file records it ([`state`]: so
//! `entra-collect trace stop` can end one that an earlier run left behind); the trace is stopped
//! exactly once, whatever happens: by [`TraceGuard`] on every return and unwind path, by the
//! main flow after the sign-in, and by the second-Ctrl-C handler through [`stop_active`]. Its
//! commands run on a runner of their own, so the Ctrl-C that cancels the collection cannot
//! cancel the stop.
//!
//! The capture is root's and unredacted, so its working directory is private: a random 0700
//! directory inside the per-user directory of [`crate::fsutil::user_dir`] (never a predictable
//! name in a world-writable directory), registered for removal on every way out.

mod netsh;
mod state;
mod tcpdump;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cancel::Cancel;
use crate::exec::{DEFAULT_OUTPUT_CAP, Output, Runner};
use crate::platform::Platform;
use crate::vocab::Env;
use state::{State, StateFile, capture_running, read_state, remove_state, state_dir};

const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub(crate) enum TraceError {
    #[error(
        "--net-trace needs an elevated prompt on Windows: open PowerShell or Command Prompt with \"Run as administrator\" and run entra-collect again"
    )]
    NotElevated,
    #[error(
        "not enough free disk for a {need_mb} MiB network trace in {dir}: {free_mb} MiB free (lower --trace-max-mb or free some space)"
    )]
    Disk {
        dir: PathBuf,
        need_mb: u64,
        free_mb: u64,
    },
    #[error("a network trace is already running; stop it first with `entra-collect trace stop`")]
    AlreadyRunning,
    #[error("cannot prepare the trace directory {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("no private directory for the network trace: {0}")]
    NoPrivateDir(std::io::Error),
}

/// Which capture program a trace runs (recorded in the state file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Tool {
    Netsh,
    Tcpdump,
}

impl Tool {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Tool::Netsh => "netsh",
            Tool::Tcpdump => "tcpdump",
        }
    }
}

/// One capture program: how it starts and how it stops. [`Trace`] owns it and calls `stop`
/// exactly once.
trait Capture: Send {
    fn tool(&self) -> Tool;
    /// Start capturing into `dir`, at most `max_mb`. `Ok`: the start command's output to record
    /// (None for a background program). `Err`: why it did not start; the caller removes `dir`
    /// and the state file then.
    fn start(
        &mut self,
        dir: &Path,
        max_mb: u64,
        state: &mut StateFile,
    ) -> Result<Option<Output>, String>;
    /// Stop capturing: the stop's output to record, and a problem if the stop went wrong.
    fn stop(&mut self) -> (Option<Output>, Option<String>);
}

/// A runner for trace commands that no Ctrl-C can cancel.
fn own_runner() -> Runner {
    Runner::new(None, START_TIMEOUT, DEFAULT_OUTPUT_CAP, Cancel::new())
}

/// Free space of the disk holding `path`, in bytes (None when unknown).
fn free_bytes(path: &Path) -> Option<u64> {
    let path = std::fs::canonicalize(path).ok()?;
    let disks = sysinfo::Disks::new_with_refreshed_list().ok()?;
    disks
        .iter()
        .filter(|d| path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| d.available_space())
}

/// When a capture an earlier run started is still running: when it started.
pub(crate) fn leftover_running(env: &Env) -> Option<String> {
    let s = read_state(&state_dir(env).ok()?)?;
    capture_running(&s).then_some(s.started_at)
}

/// Everything that must hold before a trace starts: checked before anything runs. `Ok`: the
/// outputs of trace-status checks that could not tell whether a trace was already running (the
/// trace goes ahead; record them with it).
pub(crate) fn preflight(
    platform: Platform,
    env: &Env,
    max_mb: u64,
    output_dir: &Path,
) -> Result<Vec<Output>, TraceError> {
    let checks = if platform.is_windows() {
        netsh::preflight(&own_runner())?
    } else {
        Vec::new()
    };
    let work = state_dir(env).map_err(TraceError::NoPrivateDir)?;
    if let Some(s) = read_state(&work) {
        // Only a capture that is really still running blocks a new one; a state file left by a
        // crashed run whose capture has ended is stale.
        if capture_running(&s) || (s.tool == Tool::Netsh && platform.is_windows()) {
            return Err(TraceError::AlreadyRunning);
        }
        remove_state(&work);
    }
    check_disk(&work, output_dir, max_mb)?;
    Ok(checks)
}

/// Room for the trace in the working directory and for its copy in the bundle.
fn check_disk(work: &Path, output_dir: &Path, max_mb: u64) -> Result<(), TraceError> {
    let mib = 1u64 << 20;
    let margin = 64;
    let (work_free, out_free) = (free_bytes(work), free_bytes(output_dir));
    // The same free figure for both means the same disk: it holds the trace and its zip copy.
    let checks: Vec<(&Path, Option<u64>, u64)> = if work_free.is_some() && work_free == out_free {
        vec![(work, work_free, 2 * max_mb + margin)]
    } else {
        vec![
            (work, work_free, max_mb + margin),
            (output_dir, out_free, max_mb + margin),
        ]
    };
    for (dir, free, need_mb) in checks {
        if let Some(free) = free
            && free / mib < need_mb
        {
            return Err(TraceError::Disk {
                dir: dir.to_path_buf(),
                need_mb,
                free_mb: free / mib,
            });
        }
    }
    Ok(())
}

/// A running (or finished) trace.
pub(crate) struct Trace {
    inner: Mutex<Inner>,
}

struct Inner {
    capture: Box<dyn Capture>,
    dir: PathBuf,
    state_dir: PathBuf,
    stopped: bool,
    outputs: Vec<Output>,
    problem: Option<String>,
}

/// The trace that a second Ctrl-C must stop before the process exits.
static ACTIVE: Mutex<Option<Arc<Trace>>> = Mutex::new(None);

/// Stop the active trace, if any (second Ctrl-C, SIGTERM after the first).
pub(crate) fn stop_active() {
    let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(t) = active {
        t.stop();
    }
}

/// Stops the trace and removes its working directory when dropped: every return, error and
/// unwind path stops it and leaves no unredacted capture behind (keep it alive until the
/// capture is in the bundle).
pub(crate) struct TraceGuard(pub(crate) Arc<Trace>);

impl Drop for TraceGuard {
    fn drop(&mut self) {
        self.0.stop();
        self.0.remove_files();
    }
}

/// The capture program for `platform`; `Err` is the reason the trace is skipped.
fn capture_for(platform: Platform, env: &Env, runner: Runner) -> Result<Box<dyn Capture>, String> {
    Ok(if platform.is_windows() {
        Box::new(netsh::Netsh::new(runner))
    } else {
        Box::new(tcpdump::Tcpdump::new(runner, platform, env)?)
    })
}

/// Start a trace. `Err` is the reason it was skipped (the collection goes on without it).
pub(crate) fn start(platform: Platform, env: &Env, max_mb: u64) -> Result<Arc<Trace>, String> {
    let sdir = state_dir(env).map_err(|e| TraceError::NoPrivateDir(e).to_string())?;
    let mut capture = capture_for(platform, env, own_runner())?;
    // A random name, mode 0700: nobody can pre-create it, plant links in it or read the capture.
    let dir = crate::fsutil::private_subdir(&sdir, "entra-collect-trace-")
        .map_err(|e| TraceError::Io(sdir.clone(), e).to_string())?;
    crate::fsutil::register(&dir);
    // Recorded before anything starts, so a crash in between still leaves a trail.
    let mut state = match StateFile::create(&sdir, new_state(capture.tool(), &dir)) {
        Ok(s) => s,
        Err(e) => {
            remove_dir(&dir);
            return Err(format!(
                "cannot create the trace state file in {}: {e}",
                sdir.display()
            ));
        }
    };
    let started = match capture.start(&dir, max_mb, &mut state) {
        Ok(out) => out,
        Err(why) => {
            remove_state(&sdir);
            remove_dir(&dir);
            return Err(why);
        }
    };
    let trace = Arc::new(Trace {
        inner: Mutex::new(Inner {
            capture,
            dir,
            state_dir: sdir,
            stopped: false,
            outputs: started.into_iter().collect(),
            problem: None,
        }),
    });
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(trace.clone());
    Ok(trace)
}

fn new_state(tool: Tool, dir: &Path) -> State {
    State {
        tool,
        started_at: chrono::Utc::now().to_rfc3339(),
        dir: dir.to_string_lossy().into_owned(),
        entra_collect_pid: std::process::id(),
        capture_pid: None,
        capture: None,
    }
}

fn remove_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    crate::fsutil::unregister(dir);
}

impl Trace {
    /// Stop the trace. Only the first call does anything; later calls return at once (after the
    /// first has finished, so nobody exits while the stop is still running).
    pub(crate) fn stop(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.stopped {
            return;
        }
        inner.stopped = true;
        let (output, problem) = inner.capture.stop();
        inner.outputs.extend(output);
        if problem.is_some() {
            inner.problem = problem;
        }
        remove_state(&inner.state_dir);
        let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
        if active
            .as_ref()
            .is_some_and(|a| std::ptr::eq(a.as_ref(), self))
        {
            *active = None;
        }
    }

    /// The trace files, largest last (call after [`Trace::stop`]).
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut files: Vec<PathBuf> = std::fs::read_dir(&inner.dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    // Regular files only, symlinks not followed (they are opened with
                    // O_NOFOLLOW again when streamed).
                    .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The start and stop commands' outputs, and a problem if the stop went wrong.
    pub(crate) fn outcome(&self) -> (Vec<Output>, Option<String>) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.outputs.clone(), inner.problem.clone())
    }

    pub(crate) fn tool(&self) -> Tool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .capture
            .tool()
    }

    /// Remove the trace's working directory (after its files are in the bundle).
    pub(crate) fn remove_files(&self) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        remove_dir(&inner.dir);
    }
}

/// `entra-collect trace stop`: stop a trace an earlier run left behind.
pub(crate) fn stop_leftover(platform: Platform, timeout: Duration) -> anyhow::Result<String> {
    let env = Env::capture(platform);
    let sdir = state_dir(&env)?;
    let runner = Runner::new(None, timeout, DEFAULT_OUTPUT_CAP, Cancel::new());
    let state = read_state(&sdir);
    let mut done = Vec::new();
    if platform.is_windows() {
        // A trace we know of is stopped (a failure is an error); when whether one runs is
        // unknown, the stop is tried anyway and its exit code tells.
        let recorded = state.as_ref().is_some_and(|s| s.tool == Tool::Netsh);
        let (running, _) = netsh::status(&runner);
        let expected = recorded || running == netsh::TraceState::Running;
        if (expected || running == netsh::TraceState::Unknown)
            && let Some(done_msg) = netsh::stop_leftover(&runner, expected)?
        {
            done.push(done_msg);
        }
    }
    if let Some(s) = &state
        && s.tool == Tool::Tcpdump
        && let Some(pid) = s.capture_pid
    {
        done.push(tcpdump::stop_leftover(&runner, pid, s.capture.as_ref())?);
    }
    if let Some(s) = &state {
        std::fs::remove_file(sdir.join(state::STATE_FILE))?;
        done.push(format!("its files, if any, are in {}", s.dir));
    }
    Ok(if done.is_empty() {
        "no network trace was running".into()
    } else {
        done.join("; ")
    })
}
