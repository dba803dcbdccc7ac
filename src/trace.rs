//! The optional network trace (`--net-trace`): `netsh trace` on Windows, `tcpdump` elsewhere.
//!
//! A trace must never be left running. Before it starts, a state file records it (so
//! `entra-collect trace stop` can end one that an earlier run left behind); the trace is stopped
//! exactly once, whatever happens: by [`TraceGuard`] on every return and unwind path, by the
//! main flow after the sign-in, and by the second-Ctrl-C handler through [`stop_active`]. Its
//! commands run on a runner of their own, so the Ctrl-C that cancels the collection cannot
//! cancel the stop.
//!
//! The capture is root's and unredacted, so its working directory is private: a random 0700
//! directory inside the per-user directory of [`crate::fsutil::user_dir`] (never a predictable
//! name in a world-writable directory), registered for removal on every way out. The state file
//! is created there without following symlinks, and records the capture's identity (executable
//! and start time): `trace stop` signals a pid only when it is still that process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cancel::Cancel;
use crate::exec::{Background, Cmd, DEFAULT_OUTPUT_CAP, Output, Runner};
use crate::platform::Platform;
use crate::vocab::Env;

/// Name of the state file in [`state_dir`].
pub const STATE_FILE: &str = "entra-collect-trace.json";
/// Overrides the directory of the state file and of the trace files (tests).
pub use crate::fsutil::STATE_DIR_ENV;
/// The state file is small; anything larger is not ours.
const STATE_CAP: u64 = 64 << 10;

const START_TIMEOUT: Duration = Duration::from_secs(120);
/// `netsh trace stop` merges and can take minutes on a busy machine.
const STOP_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a capture program may take to flush after SIGTERM.
const CAPTURE_GRACE: Duration = Duration::from_secs(10);
/// How long a starting capture program gets to fail (no permission, no device).
const CAPTURE_SETTLE: Duration = Duration::from_millis(800);

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Netsh,
    Tcpdump,
}

/// What the state file records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub tool: Tool,
    pub started_at: String,
    pub dir: String,
    pub entra_collect_pid: u32,
    #[serde(default)]
    pub capture_pid: Option<u32>,
    /// Who `capture_pid` was when the capture started: a pid is signalled only while it is
    /// still this process.
    #[serde(default)]
    pub capture: Option<ProcId>,
}

/// A process's identity beyond its pid (pids are reused): its executable and start time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcId {
    pub exe: String,
    /// Linux: field 22 of /proc/<pid>/stat (clock ticks since boot); elsewhere `ps -o lstart`.
    pub start_time: String,
    /// Linux: /proc/sys/kernel/random/boot_id (start times restart at every boot).
    #[serde(default)]
    pub boot_id: String,
}

/// The identity of a running process (None when it is gone or cannot be read).
pub fn proc_id(pid: u32) -> Option<ProcId> {
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
        let o = own_runner()
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
fn is_same_process(pid: u32, id: &ProcId) -> bool {
    proc_id(pid).is_some_and(|now| &now == id)
}

/// Is the capture a state file records still running (as the very process it started)?
pub fn capture_running(s: &State) -> bool {
    match (s.capture_pid, &s.capture) {
        (Some(pid), Some(id)) => is_same_process(pid, id),
        _ => false,
    }
}

/// The directory of the state file and of the trace working directories: private to us
/// (see [`crate::fsutil::user_dir`]).
pub fn state_dir(env: &Env) -> std::io::Result<PathBuf> {
    crate::fsutil::user_dir(env)
}

pub fn read_state(dir: &Path) -> Option<State> {
    // Never through a symlink, never a FIFO or device, never more than a small file.
    let (f, _) = crate::fsutil::open_regular(&dir.join(STATE_FILE), false).ok()?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(f, STATE_CAP), &mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Create the state file: fails if anything (a file, a symlink) is there already.
fn create_state(dir: &Path, state: &State) -> std::io::Result<()> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    let mut f = crate::fsutil::create_new_nofollow(&dir.join(STATE_FILE))?;
    f.write_all(text.as_bytes())
}

fn update_state(dir: &Path, state: &State) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    crate::fsutil::rewrite_nofollow(&dir.join(STATE_FILE), text.as_bytes())
}

/// A runner for trace commands that no Ctrl-C can cancel.
fn own_runner() -> Runner {
    Runner::new(None, START_TIMEOUT, DEFAULT_OUTPUT_CAP, Cancel::new())
}

/// Is this Windows process elevated? `whoami /groups` lists the High Mandatory Level SID.
fn is_elevated(runner: &Runner) -> bool {
    runner
        .run(&Cmd::new("whoami").args(["/groups"]))
        .map(|o| o.stdout.text().0.contains("S-1-16-12288"))
        .unwrap_or(false)
}

/// `netsh trace show status`: is a trace session running?
fn netsh_running(runner: &Runner) -> bool {
    match runner.run(&Cmd::new("netsh").args(["trace", "show", "status"])) {
        Ok(o) => {
            let t = o.stdout.text().0.to_ascii_lowercase();
            !t.contains("no trace session") && t.contains("running")
        }
        Err(_) => false,
    }
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

/// Everything that must hold before a trace starts: checked before anything runs.
pub fn preflight(
    platform: Platform,
    env: &Env,
    max_mb: u64,
    output_dir: &Path,
) -> Result<(), TraceError> {
    let runner = own_runner();
    if platform.is_windows() {
        if !is_elevated(&runner) {
            return Err(TraceError::NotElevated);
        }
        if netsh_running(&runner) {
            return Err(TraceError::AlreadyRunning);
        }
    }
    let work = state_dir(env).map_err(TraceError::NoPrivateDir)?;
    if let Some(s) = read_state(&work) {
        // Only a capture that is really still running blocks a new one; a state file left by a
        // crashed run whose capture has ended is stale.
        if capture_running(&s) || (s.tool == Tool::Netsh && platform.is_windows()) {
            return Err(TraceError::AlreadyRunning);
        }
        let _ = std::fs::remove_file(work.join(STATE_FILE));
    }
    let mib = 1u64 << 20;
    let margin = 64;
    let (work_free, out_free) = (free_bytes(&work), free_bytes(output_dir));
    // The same free figure for both means the same disk: it holds the trace and its zip copy.
    let checks: Vec<(&Path, Option<u64>, u64)> = if work_free.is_some() && work_free == out_free {
        vec![(&work, work_free, 2 * max_mb + margin)]
    } else {
        vec![
            (&work, work_free, max_mb + margin),
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
pub struct Trace {
    inner: Mutex<Inner>,
}

struct Inner {
    tool: Tool,
    dir: PathBuf,
    state_dir: PathBuf,
    capture: Option<Background>,
    stopped: bool,
    runner: Runner,
    outputs: Vec<Output>,
    problem: Option<String>,
}

/// The trace that a second Ctrl-C must stop before the process exits.
static ACTIVE: Mutex<Option<Arc<Trace>>> = Mutex::new(None);

/// Stop the active trace, if any (second Ctrl-C, SIGTERM after the first).
pub fn stop_active() {
    let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(t) = active {
        t.stop();
    }
}

/// Stops the trace and removes its working directory when dropped: every return, error and
/// unwind path stops it and leaves no unredacted capture behind (keep it alive until the
/// capture is in the bundle).
pub struct TraceGuard(pub Arc<Trace>);

impl Drop for TraceGuard {
    fn drop(&mut self) {
        self.0.stop();
        self.0.remove_files();
    }
}

/// The capture filter: HTTPS, HTTP, DNS, and the proxy's port when one is configured.
fn tcpdump_filter(env: &Env) -> String {
    let mut ports = vec![443u16, 80];
    for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        if let Some(port) = env.get(name).and_then(proxy_port)
            && !ports.contains(&port)
        {
            ports.push(port);
        }
    }
    let tcp: Vec<String> = ports.iter().map(|p| format!("tcp port {p}")).collect();
    format!("{} or port 53", tcp.join(" or "))
}

fn proxy_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split(['/', '?']).next()?;
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    host_port.rsplit_once(':')?.1.parse().ok()
}

/// Start a trace. `Err` is the reason it was skipped (the collection goes on without it).
pub fn start(platform: Platform, env: &Env, max_mb: u64) -> Result<Arc<Trace>, String> {
    let runner = own_runner();
    let sdir = state_dir(env).map_err(|e| TraceError::NoPrivateDir(e).to_string())?;
    let tool = if platform.is_windows() {
        Tool::Netsh
    } else {
        Tool::Tcpdump
    };
    if tool == Tool::Tcpdump && runner.resolve("tcpdump").is_none() {
        return Err("tcpdump not found on PATH".into());
    }
    // A random name, mode 0700: nobody can pre-create it, plant links in it or read the capture.
    let dir = crate::fsutil::private_subdir(&sdir, "entra-collect-trace-")
        .map_err(|e| TraceError::Io(sdir.clone(), e).to_string())?;
    crate::fsutil::register(&dir);
    let mut state = State {
        tool,
        started_at: chrono::Utc::now().to_rfc3339(),
        dir: dir.to_string_lossy().into_owned(),
        entra_collect_pid: std::process::id(),
        capture_pid: None,
        capture: None,
    };
    // Recorded before anything starts, so a crash in between still leaves a trail.
    if let Err(e) = create_state(&sdir, &state) {
        remove_dir(&dir);
        return Err(format!(
            "cannot create the trace state file in {}: {e}",
            sdir.display()
        ));
    }
    let mut inner = Inner {
        tool,
        dir: dir.clone(),
        state_dir: sdir.clone(),
        capture: None,
        stopped: false,
        runner: runner.clone(),
        outputs: Vec::new(),
        problem: None,
    };
    match tool {
        Tool::Netsh => {
            let tracefile = dir.join("nettrace.etl");
            let cmd = Cmd::new("netsh")
                .args([
                    "trace",
                    "start",
                    "capture=yes",
                    "scenario=InternetClient_dbg",
                    "report=disabled",
                    "persistent=no",
                    "overwrite=yes",
                ])
                .arg(format!("maxsize={max_mb}"))
                .arg(format!("tracefile={}", tracefile.display()));
            let out = match runner.run(&cmd) {
                Ok(o) => o,
                Err(e) => {
                    cleanup(&sdir, &dir);
                    return Err(e.to_string());
                }
            };
            let text = out.stdout.text().0.to_ascii_lowercase();
            let failed = !out.success()
                || text.contains("requires elevation")
                || text.contains("already in progress");
            if failed {
                cleanup(&sdir, &dir);
                let first = out
                    .stdout
                    .text()
                    .0
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .to_string();
                return Err(format!(
                    "netsh trace start failed (exit code {}): {first}",
                    out.exit_code
                        .map_or_else(|| "none".to_string(), |c| c.to_string())
                ));
            }
            inner.outputs.push(out);
        }
        Tool::Tcpdump => {
            let mut cmd = Cmd::new("tcpdump");
            if platform == Platform::Linux {
                cmd = cmd.args(["-i", "any"]);
            }
            // tcpdump(8), -Z: "If tcpdump is running as root, after opening the capture device
            // [...] but before opening any savefiles for output, change the user ID to user";
            // Debian and RHEL build it with a default user (`--with-user=tcpdump`), which could
            // not write into our private 0700 directory. `-Z root` keeps the capture root's,
            // inside that directory.
            if crate::fsutil::is_root() {
                cmd = cmd.args(["-Z", "root"]);
            }
            let cmd = cmd
                .args(["-n", "-U", "-s", "0", "-W", "1", "-C"])
                .arg(max_mb.to_string())
                .arg("-w")
                .arg(dir.join("trace.pcap"))
                .arg(tcpdump_filter(env));
            let resolved = runner.resolve("tcpdump").expect("checked above");
            let mut bg = match runner.spawn_background(&cmd, &resolved) {
                Ok(b) => b,
                Err(e) => {
                    cleanup(&sdir, &dir);
                    return Err(e.to_string());
                }
            };
            state.capture_pid = Some(bg.id());
            state.capture = proc_id(bg.id());
            let _ = update_state(&sdir, &state);
            let t0 = std::time::Instant::now();
            while t0.elapsed() < CAPTURE_SETTLE && !bg.has_exited() {
                std::thread::sleep(Duration::from_millis(20));
            }
            if bg.has_exited() {
                let out = bg.stop(Duration::ZERO);
                cleanup(&sdir, &dir);
                let err = out.stderr.text().0;
                let why = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("exited at once");
                return Err(format!("tcpdump could not start: {}", why.trim()));
            }
            inner.capture = Some(bg);
        }
    }
    let trace = Arc::new(Trace {
        inner: Mutex::new(inner),
    });
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(trace.clone());
    Ok(trace)
}

fn cleanup(state_dir: &Path, dir: &Path) {
    let _ = std::fs::remove_file(state_dir.join(STATE_FILE));
    remove_dir(dir);
}

fn remove_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    crate::fsutil::unregister(dir);
}

impl Trace {
    /// Stop the trace. Only the first call does anything; later calls return at once (after the
    /// first has finished, so nobody exits while the stop is still running).
    pub fn stop(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.stopped {
            return;
        }
        inner.stopped = true;
        match inner.tool {
            Tool::Netsh => {
                let cmd = Cmd::new("netsh")
                    .args(["trace", "stop"])
                    .timeout(STOP_TIMEOUT);
                match inner.runner.run(&cmd) {
                    Ok(o) => {
                        if !o.success() {
                            inner.problem =
                                Some(format!("netsh trace stop exited with {:?}", o.exit_code));
                        }
                        inner.outputs.push(o);
                    }
                    Err(e) => inner.problem = Some(e.to_string()),
                }
            }
            Tool::Tcpdump => {
                if let Some(bg) = inner.capture.take() {
                    let o = bg.stop(CAPTURE_GRACE);
                    if o.timed_out {
                        inner.problem =
                            Some("tcpdump did not stop on SIGTERM and was killed".into());
                    }
                    inner.outputs.push(o);
                }
            }
        }
        let _ = std::fs::remove_file(inner.state_dir.join(STATE_FILE));
        let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
        if active
            .as_ref()
            .is_some_and(|a| std::ptr::eq(a.as_ref(), self))
        {
            *active = None;
        }
    }

    /// The trace files, largest last (call after [`Trace::stop`]).
    pub fn files(&self) -> Vec<PathBuf> {
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
    pub fn outcome(&self) -> (Vec<Output>, Option<String>) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.outputs.clone(), inner.problem.clone())
    }

    pub fn tool(&self) -> Tool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).tool
    }

    /// Remove the trace's working directory (after its files are in the bundle).
    pub fn remove_files(&self) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        remove_dir(&inner.dir);
    }
}

/// `entra-collect trace stop`: stop a trace an earlier run left behind.
pub fn stop_leftover(platform: Platform, timeout: Duration) -> anyhow::Result<String> {
    let env = Env::capture(platform);
    let sdir = state_dir(&env)?;
    let runner = Runner::new(None, timeout, DEFAULT_OUTPUT_CAP, Cancel::new());
    let state = read_state(&sdir);
    let mut done = Vec::new();
    if platform.is_windows()
        && (state.as_ref().is_some_and(|s| s.tool == Tool::Netsh) || netsh_running(&runner))
    {
        let o = runner.run(&Cmd::new("netsh").args(["trace", "stop"]))?;
        anyhow::ensure!(
            o.success(),
            "netsh trace stop exited with {:?}: {}",
            o.exit_code,
            o.stdout.text().0.trim()
        );
        done.push("stopped the netsh trace".to_string());
    }
    if let Some(s) = &state
        && s.tool == Tool::Tcpdump
        && let Some(pid) = s.capture_pid
    {
        // Only the very process the earlier run started: pids are reused, and a state file
        // must never make us signal something else.
        if s.capture
            .as_ref()
            .is_some_and(|id| is_same_process(pid, id))
        {
            // Graceful first, so the capture file is complete.
            let o = runner.run(&Cmd::new("kill").args(["-TERM", &pid.to_string()]))?;
            done.push(if o.success() {
                format!("stopped tcpdump (pid {pid})")
            } else {
                format!("tcpdump (pid {pid}) was no longer running")
            });
        } else if s.capture.is_none() {
            done.push(format!(
                "the state file does not identify the capture (pid {pid}); not signalled: check it with `ps -p {pid}` and stop it yourself if it is tcpdump"
            ));
        } else {
            done.push(format!(
                "tcpdump (pid {pid}) was no longer running (that pid is not the capture the earlier run started; not signalled)"
            ));
        }
    }
    if let Some(s) = &state {
        std::fs::remove_file(sdir.join(STATE_FILE))?;
        done.push(format!("its files, if any, are in {}", s.dir));
    }
    Ok(if done.is_empty() {
        "no network trace was running".into()
    } else {
        done.join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_ports_are_added_to_the_filter() {
        let env = Env::from_pairs([("HTTPS_PROXY", "http://u:p@proxy.corp:3128/")], false);
        assert_eq!(
            tcpdump_filter(&env),
            "tcp port 443 or tcp port 80 or tcp port 3128 or port 53"
        );
        assert_eq!(
            tcpdump_filter(&Env::default()),
            "tcp port 443 or tcp port 80 or port 53"
        );
        assert_eq!(proxy_port("proxy:8080"), Some(8080));
        assert_eq!(proxy_port("http://proxy"), None);
    }
}
