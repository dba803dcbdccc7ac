//! The one way this tool runs external programs.
//!
//! Every command is resolved with `which` (PATHEXT on Windows), started in its own process group
//! (Unix) or Job Object (Windows) so that a timeout, Ctrl-C or a leftover grandchild can be killed
//! as a whole tree, read on two threads with a cap per stream, and recorded (resolved path,
//! display arguments, exit code, duration, truncation). Tests put fake executables first on PATH
//! and drive the same code.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use process_wrap::std::{ChildWrapper, CommandWrap};

use crate::cancel::Cancel;

/// Default cap on each captured stream (stdout and stderr separately).
pub const DEFAULT_OUTPUT_CAP: usize = 16 * 1024 * 1024;

/// How long we wait for the output pipes to close after the direct child has exited before we
/// kill the rest of its tree (a grandchild still holding the pipe would otherwise block us).
const PIPE_GRACE: Duration = Duration::from_millis(1500);

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// One command to run.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: String,
    args: Vec<OsString>,
    display_args: Option<Vec<String>>,
    env: Vec<(OsString, OsString)>,
    timeout: Option<Duration>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Self {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            display_args: None,
            env: Vec::new(),
            timeout: None,
        }
    }
    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
    /// What the manifest shows instead of the real arguments (e.g. a script name instead of a
    /// long `-EncodedCommand` blob).
    pub fn display_args(mut self, shown: Vec<String>) -> Self {
        self.display_args = Some(shown);
        self
    }
    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
    /// Override the runner's default timeout for this command.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
    pub fn program(&self) -> &str {
        &self.program
    }
    /// The argument vector as it should be shown (not yet redacted).
    pub fn shown_argv(&self) -> Vec<String> {
        let mut v = vec![self.program.clone()];
        match &self.display_args {
            Some(d) => v.extend(d.iter().cloned()),
            None => v.extend(self.args.iter().map(|a| a.to_string_lossy().into_owned())),
        }
        v
    }
}

/// A captured output stream.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    /// Bytes the program wrote in total (more than `bytes.len()` when truncated).
    pub total_bytes: u64,
    pub truncated: bool,
    /// The pipe was still open when we gave up on it (a descendant escaped the tree kill).
    pub abandoned: bool,
}

impl Captured {
    /// The text, decoded lossily; the flag says whether invalid UTF-8 was replaced.
    pub fn text(&self) -> (String, bool) {
        match std::str::from_utf8(&self.bytes) {
            Ok(s) => (s.to_owned(), false),
            Err(_) => (String::from_utf8_lossy(&self.bytes).into_owned(), true),
        }
    }
}

/// What happened when a command ran.
#[derive(Debug, Clone)]
pub struct Output {
    /// Program name and arguments as shown (not yet redacted: redact before storing).
    pub argv: Vec<String>,
    pub resolved: PathBuf,
    pub stdout: Captured,
    pub stderr: Captured,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub interrupted: bool,
    pub duration: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.interrupted
    }
    pub fn truncated(&self) -> bool {
        self.stdout.truncated || self.stderr.truncated
    }
}

/// Runs external programs with a timeout, an output cap and a process-tree kill.
#[derive(Debug, Clone)]
pub struct Runner {
    search_path: Option<OsString>,
    timeout: Duration,
    cap: usize,
    cancel: Cancel,
}

impl Runner {
    /// `search_path` is the PATH to resolve programs in (None: the process's PATH).
    pub fn new(
        search_path: Option<OsString>,
        timeout: Duration,
        cap: usize,
        cancel: Cancel,
    ) -> Self {
        Runner {
            search_path,
            timeout,
            cap,
            cancel,
        }
    }

    pub fn cancel_token(&self) -> &Cancel {
        &self.cancel
    }

    pub fn default_timeout(&self) -> Duration {
        self.timeout
    }

    /// Find a program the way the OS would (PATHEXT on Windows).
    pub fn resolve(&self, program: &str) -> Option<PathBuf> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        match &self.search_path {
            Some(p) => which::which_in(program, Some(p), cwd).ok(),
            None => which::which(program).ok(),
        }
    }

    /// Run `cmd` to completion, timeout or cancellation. Never panics on child behaviour.
    pub fn run(&self, cmd: &Cmd) -> Result<Output, ExecError> {
        let resolved = self
            .resolve(&cmd.program)
            .ok_or_else(|| ExecError::NotFound(cmd.program.clone()))?;
        self.run_resolved(cmd, &resolved)
    }

    /// Run an already-resolved program.
    pub fn run_resolved(&self, cmd: &Cmd, resolved: &Path) -> Result<Output, ExecError> {
        let timeout = cmd.timeout.unwrap_or(self.timeout);
        let mut command = Command::new(resolved);
        command
            .args(&cmd.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &cmd.env {
            command.env(k, v);
        }
        let mut wrapped = CommandWrap::from(command);
        #[cfg(unix)]
        wrapped.wrap(process_wrap::std::ProcessGroup::leader());
        #[cfg(windows)]
        wrapped.wrap(process_wrap::std::JobObject);

        let started = Instant::now();
        let mut child = wrapped.spawn().map_err(|source| ExecError::Spawn {
            program: cmd.program.clone(),
            source,
        })?;
        let out_rx = spawn_reader(child.stdout().take(), self.cap);
        let err_rx = spawn_reader(child.stderr().take(), self.cap);

        let (status, timed_out, interrupted) =
            wait_for(child.as_mut(), started, timeout, &self.cancel);

        // The direct child is gone; its descendants may still hold our pipes open.
        let deadline = Instant::now() + PIPE_GRACE;
        let mut stdout = recv_until(&out_rx, deadline);
        let mut stderr = recv_until(&err_rx, deadline);
        if stdout.is_none() || stderr.is_none() {
            kill_tree(child.as_mut());
            let deadline = Instant::now() + PIPE_GRACE;
            if stdout.is_none() {
                stdout = recv_until(&out_rx, deadline);
            }
            if stderr.is_none() {
                stderr = recv_until(&err_rx, deadline);
            }
        }
        // Always sweep the tree: leftovers from a finished command must not outlive us.
        kill_tree(child.as_mut());

        let abandoned = || Captured {
            abandoned: true,
            ..Captured::default()
        };
        Ok(Output {
            argv: cmd.shown_argv(),
            resolved: resolved.to_path_buf(),
            stdout: stdout.unwrap_or_else(abandoned),
            stderr: stderr.unwrap_or_else(abandoned),
            exit_code: status.and_then(|s| exit_code(&s)),
            timed_out,
            interrupted,
            duration: started.elapsed(),
        })
    }
}

fn exit_code(status: &ExitStatus) -> Option<i32> {
    status.code()
}

/// Poll the child until it exits, the timeout passes or we are cancelled; kill the tree in the
/// latter two cases. Polling (rather than a blocking wait) keeps this portable and lets one loop
/// watch both the clock and the cancel flag.
fn wait_for(
    child: &mut dyn ChildWrapper,
    started: Instant,
    timeout: Duration,
    cancel: &Cancel,
) -> (Option<ExitStatus>, bool, bool) {
    let mut pause = Duration::from_millis(2);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Some(status), false, false),
            Ok(None) => {}
            Err(_) => break,
        }
        if cancel.is_cancelled() {
            kill_tree(child);
            return (reap(child), false, true);
        }
        if started.elapsed() >= timeout {
            kill_tree(child);
            return (reap(child), true, false);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    }
    kill_tree(child);
    (reap(child), false, false)
}

fn kill_tree(child: &mut dyn ChildWrapper) {
    // Errors mean "already gone", which is what we want.
    let _ = child.start_kill();
}

fn reap(child: &mut dyn ChildWrapper) -> Option<ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
    None
}

fn recv_until(rx: &mpsc::Receiver<Captured>, deadline: Instant) -> Option<Captured> {
    let left = deadline.saturating_duration_since(Instant::now());
    rx.recv_timeout(left).ok()
}

/// Read a pipe to its end on a thread, keeping at most `cap` bytes but draining the rest so the
/// child never blocks on a full pipe.
fn spawn_reader<R: Read + Send + 'static>(pipe: Option<R>, cap: usize) -> mpsc::Receiver<Captured> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut cap_out = Captured::default();
        if let Some(mut pipe) = pipe {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        cap_out.total_bytes += n as u64;
                        let room = cap.saturating_sub(cap_out.bytes.len());
                        if room < n {
                            cap_out.truncated = true;
                        }
                        cap_out.bytes.extend_from_slice(&buf[..n.min(room)]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        }
        let _ = tx.send(cap_out);
    });
    rx
}

#[cfg(all(test, unix))]
#[path = "../tests/common/proc.rs"]
mod test_proc;

#[cfg(all(test, unix))]
mod tests {
    use super::test_proc::alive as process_alive;
    use super::*;

    fn runner(timeout_ms: u64, cap: usize) -> Runner {
        Runner::new(None, Duration::from_millis(timeout_ms), cap, Cancel::new())
    }

    #[test]
    fn captures_stdout_stderr_and_exit_code() {
        let out = runner(10_000, 1024)
            .run(&Cmd::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
            .unwrap();
        assert_eq!(out.stdout.text().0, "out\n");
        assert_eq!(out.stderr.text().0, "err\n");
        assert_eq!(out.exit_code, Some(3));
        assert!(!out.timed_out && !out.success());
    }

    #[test]
    fn caps_output_and_marks_truncation() {
        let out = runner(10_000, 100)
            .run(&Cmd::new("sh").args(["-c", "head -c 100000 /dev/zero"]))
            .unwrap();
        assert_eq!(out.stdout.bytes.len(), 100);
        assert_eq!(out.stdout.total_bytes, 100_000);
        assert!(out.stdout.truncated && out.truncated());
    }

    #[test]
    fn missing_program_is_not_found() {
        let err = runner(1000, 10)
            .run(&Cmd::new("entra-collect-no-such-program"))
            .unwrap_err();
        assert!(matches!(err, ExecError::NotFound(_)));
    }

    #[test]
    fn timeout_kills_the_whole_tree() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let t0 = Instant::now();
        let out = runner(300, 1024)
            .run(&Cmd::new("sh").args(["-c", &script]))
            .unwrap();
        assert!(out.timed_out);
        assert!(t0.elapsed() < Duration::from_secs(10));
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(!process_alive(pid.trim()), "grandchild {pid} survived");
    }

    #[test]
    fn leftover_grandchild_holding_the_pipe_does_not_block() {
        let t0 = Instant::now();
        let out = runner(10_000, 1024)
            .run(&Cmd::new("sh").args(["-c", "sleep 300 & echo started"]))
            .unwrap();
        assert_eq!(out.exit_code, Some(0));
        assert_eq!(out.stdout.text().0, "started\n");
        assert!(t0.elapsed() < Duration::from_secs(8));
    }

    #[test]
    fn cancellation_interrupts() {
        let r = runner(60_000, 1024);
        let c = r.cancel_token().clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            c.cancel();
        });
        let out = r.run(&Cmd::new("sleep").arg("300")).unwrap();
        assert!(out.interrupted && !out.timed_out);
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily_and_flagged() {
        let out = runner(10_000, 1024)
            .run(&Cmd::new("printf").arg("ok\\377\\376"))
            .unwrap();
        let (text, lossy) = out.stdout.text();
        assert!(lossy);
        assert!(text.starts_with("ok"));
    }
}
