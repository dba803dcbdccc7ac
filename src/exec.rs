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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use process_wrap::std::{ChildWrapper, CommandWrap};

use crate::cancel::Cancel;

/// Default cap on each captured stream (stdout and stderr separately).
pub const DEFAULT_OUTPUT_CAP: usize = 16 * 1024 * 1024;

/// How long we wait for the output pipes to close after the direct child has exited before we
/// kill the rest of its tree (a grandchild still holding the pipe would otherwise block us).
const PIPE_GRACE: Duration = Duration::from_millis(1500);

/// Children started and not yet killed and reaped (so a hurried exit can wait for them).
static LIVE_CHILDREN: AtomicUsize = AtomicUsize::new(0);

/// Wait until every child this process started is gone, at most `max`. Runners kill their
/// children within a poll interval of a cancellation; this lets an exit wait for that.
pub fn wait_for_children(max: Duration) {
    let t0 = Instant::now();
    while LIVE_CHILDREN.load(Ordering::SeqCst) > 0 && t0.elapsed() < max {
        thread::sleep(Duration::from_millis(10));
    }
}

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
    /// The time limit the command ran under.
    pub limit: Duration,
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

    /// Run an already-resolved program with stdin closed and both streams captured.
    pub fn run_resolved(&self, cmd: &Cmd, resolved: &Path) -> Result<Output, ExecError> {
        self.run_with(cmd, resolved, Stdio::null(), None)
    }

    /// Run a program the user interacts with: stdin is the user's, and everything it prints is
    /// passed to `live` as it comes (to show it on the terminal) while also being captured, both
    /// streams merged in arrival order into `Output::stdout`. On Unix the child gets a session of
    /// its own, so it can read the terminal without being stopped by job control and Ctrl-C
    /// reaches only us: we kill its tree.
    pub fn run_interactive(
        &self,
        cmd: &Cmd,
        resolved: &Path,
        live: Live,
    ) -> Result<Output, ExecError> {
        let merged = Arc::new(Mutex::new(Captured::default()));
        let mut out = self.run_with(
            cmd,
            resolved,
            Stdio::inherit(),
            Some((merged.clone(), live.clone())),
        )?;
        live(&[]);
        let merged = std::mem::take(&mut *merged.lock().unwrap_or_else(|e| e.into_inner()));
        out.stdout = Captured {
            abandoned: out.stdout.abandoned || out.stderr.abandoned,
            ..merged
        };
        out.stderr = Captured::default();
        Ok(out)
    }

    /// Spawn, read both streams (into `sink` when given: the interactive case), wait for exit,
    /// timeout or cancellation, and collect.
    fn run_with(
        &self,
        cmd: &Cmd,
        resolved: &Path,
        stdin: Stdio,
        sink: Sink,
    ) -> Result<Output, ExecError> {
        let mut child = spawn(cmd, resolved, stdin, sink.is_some())?;
        let started = Instant::now();
        let out_rx = spawn_reader(child.stdout().take(), self.cap, sink.clone());
        let err_rx = spawn_reader(child.stderr().take(), self.cap, sink);
        let timeout = cmd.timeout.unwrap_or(self.timeout);
        let (status, timed_out, interrupted) =
            wait_for(child.as_mut(), started, timeout, &self.cancel);
        Ok(finish(
            cmd,
            resolved,
            timeout,
            child,
            started,
            status,
            timed_out,
            interrupted,
            out_rx,
            err_rx,
        ))
    }

    /// Start a long-running program (a packet capture) that is stopped later with
    /// [`Background::stop`].
    pub fn spawn_background(&self, cmd: &Cmd, resolved: &Path) -> Result<Background, ExecError> {
        let mut child = spawn(cmd, resolved, Stdio::null(), false)?;
        let out_rx = spawn_reader(child.stdout().take(), self.cap, None);
        let err_rx = spawn_reader(child.stderr().take(), self.cap, None);
        Ok(Background {
            cmd: cmd.clone(),
            resolved: resolved.to_path_buf(),
            child,
            started: Instant::now(),
            out_rx,
            err_rx,
        })
    }
}

/// A program running in the background.
pub struct Background {
    cmd: Cmd,
    resolved: PathBuf,
    child: Box<dyn ChildWrapper>,
    started: Instant,
    out_rx: mpsc::Receiver<Captured>,
    err_rx: mpsc::Receiver<Captured>,
}

impl Background {
    /// Has it already exited (e.g. refused to start)?
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Ask it to stop (SIGTERM to its process group on Unix, so a capture flushes its file),
    /// wait up to `grace`, then kill the tree.
    pub fn stop(mut self, grace: Duration) -> Output {
        #[cfg(unix)]
        let _ = self.child.signal(15);
        #[cfg(not(unix))]
        kill_tree(self.child.as_mut());
        let deadline = Instant::now() + grace;
        let mut status = None;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                status = Some(s);
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let timed_out = status.is_none();
        if timed_out {
            kill_tree(self.child.as_mut());
            status = reap(self.child.as_mut());
        }
        finish(
            &self.cmd,
            &self.resolved,
            grace,
            self.child,
            self.started,
            status,
            timed_out,
            false,
            self.out_rx,
            self.err_rx,
        )
    }
}

/// Receives the live output of an interactive run; called with an empty slice once at the end.
pub type Live = Arc<dyn Fn(&[u8]) + Send + Sync>;

type Sink = Option<(Arc<Mutex<Captured>>, Live)>;

fn spawn(
    cmd: &Cmd,
    resolved: &Path,
    stdin: Stdio,
    interactive: bool,
) -> Result<Box<dyn ChildWrapper>, ExecError> {
    let mut command = Command::new(resolved);
    command
        .args(&cmd.args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &cmd.env {
        command.env(k, v);
    }
    let mut wrapped = CommandWrap::from(command);
    #[cfg(unix)]
    if interactive {
        wrapped.wrap(process_wrap::std::ProcessSession);
    } else {
        wrapped.wrap(process_wrap::std::ProcessGroup::leader());
    }
    #[cfg(windows)]
    {
        let _ = interactive;
        wrapped.wrap(process_wrap::std::JobObject);
    }
    let child = wrapped.spawn().map_err(|source| ExecError::Spawn {
        program: cmd.program.clone(),
        source,
    })?;
    LIVE_CHILDREN.fetch_add(1, Ordering::SeqCst);
    Ok(child)
}

/// Collect the output after the direct child is gone, sweeping its tree.
#[allow(clippy::too_many_arguments)]
fn finish(
    cmd: &Cmd,
    resolved: &Path,
    limit: Duration,
    mut child: Box<dyn ChildWrapper>,
    started: Instant,
    status: Option<ExitStatus>,
    timed_out: bool,
    interrupted: bool,
    out_rx: mpsc::Receiver<Captured>,
    err_rx: mpsc::Receiver<Captured>,
) -> Output {
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
    LIVE_CHILDREN.fetch_sub(1, Ordering::SeqCst);
    let abandoned = || Captured {
        abandoned: true,
        ..Captured::default()
    };
    Output {
        argv: cmd.shown_argv(),
        resolved: resolved.to_path_buf(),
        stdout: stdout.unwrap_or_else(abandoned),
        stderr: stderr.unwrap_or_else(abandoned),
        exit_code: status.and_then(|s| exit_code(&s)),
        timed_out,
        interrupted,
        duration: started.elapsed(),
        limit,
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
/// child never blocks on a full pipe. With a sink, each chunk is also shown live and appended
/// to the shared (merged) capture.
fn spawn_reader<R: Read + Send + 'static>(
    pipe: Option<R>,
    cap: usize,
    sink: Sink,
) -> mpsc::Receiver<Captured> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut own = Captured::default();
        if let Some(mut pipe) = pipe {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let chunk = &buf[..n];
                        match &sink {
                            Some((merged, live)) => {
                                live(chunk);
                                append(
                                    &mut merged.lock().unwrap_or_else(|e| e.into_inner()),
                                    chunk,
                                    cap,
                                );
                            }
                            None => append(&mut own, chunk, cap),
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        }
        let _ = tx.send(own);
    });
    rx
}

fn append(c: &mut Captured, chunk: &[u8], cap: usize) {
    c.total_bytes += chunk.len() as u64;
    let room = cap.saturating_sub(c.bytes.len());
    if room < chunk.len() {
        c.truncated = true;
    }
    c.bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
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
    fn interactive_run_shows_output_live_and_captures_it_merged() {
        let seen = Arc::new(Mutex::new(Vec::<u8>::new()));
        let s2 = seen.clone();
        let live: Live = Arc::new(move |b: &[u8]| s2.lock().unwrap().extend_from_slice(b));
        let cmd = Cmd::new("sh").args([
            "-c",
            "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three",
        ]);
        let r = runner(10_000, 1024);
        let out = r
            .run_interactive(&cmd, &r.resolve("sh").unwrap(), live)
            .unwrap();
        assert_eq!(out.stdout.text().0, "one\ntwo\nthree\n");
        assert_eq!(&*seen.lock().unwrap(), b"one\ntwo\nthree\n");
        assert_eq!(out.exit_code, Some(0));
    }

    #[test]
    fn interactive_run_times_out_and_kills_its_session() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let r = runner(300, 1024);
        let live: Live = Arc::new(|_: &[u8]| {});
        let out = r
            .run_interactive(
                &Cmd::new("sh").args(["-c", &script]),
                &r.resolve("sh").unwrap(),
                live,
            )
            .unwrap();
        assert!(out.timed_out);
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(!process_alive(pid.trim()));
    }

    #[test]
    fn background_stop_is_graceful_first() {
        let r = runner(10_000, 1024);
        let cmd = Cmd::new("sh").args([
            "-c",
            "trap 'echo flushed; exit 0' TERM; echo up; while :; do sleep 0.05; done",
        ]);
        let mut bg = r.spawn_background(&cmd, &r.resolve("sh").unwrap()).unwrap();
        thread::sleep(Duration::from_millis(200));
        assert!(!bg.has_exited());
        let out = bg.stop(Duration::from_secs(5));
        assert!(!out.timed_out, "needed a kill");
        assert_eq!(out.stdout.text().0, "up\nflushed\n");
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
