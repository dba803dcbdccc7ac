//! The one way this tool runs external programs.
//!
//! Every command is resolved with `which` (PATHEXT on Windows), started in its own process group
//! (Unix) or Job Object (Windows) so that a timeout, Ctrl-C or a leftover grandchild can be killed
//! as a whole tree, read on two threads with a cap per stream, and recorded (resolved path,
//! display arguments, exit code, duration, truncation). Output is kept as bytes and decoded by
//! what the program writes ([`decode`]: UTF-8, or on Windows UTF-16LE or a code page). Tests put
//! fake executables first on PATH and drive the same code.
//!
//! A process group does not hold a descendant that calls `setsid` (or `setpgid`). On Linux the
//! runner therefore also makes this process a child subreaper and, whenever a command ends
//! (normally, on timeout or on cancellation), kills every process left over from *that* command,
//! found in `/proc` (see [`sweep`] for the rule that tells concurrent commands apart); when this
//! process exits, every descendant still running is killed. On Windows the Job Object holds
//! every descendant: process-wrap 10.0.1 (`src/windows.rs` `make_job_object`) sets no
//! `JOB_OBJECT_LIMIT_BREAKAWAY_OK` (nor `SILENT_BREAKAWAY_OK`), so a child cannot leave the job,
//! and `start_kill` is `TerminateJobObject`, which every end of a command calls. But the `std`
//! `JobObject` wrapper passes `kill_on_drop = false` (`src/std/job_object.rs`), so
//! `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE` is *not* set: if this process dies without ending a
//! command (killed from outside), that command's job outlives it. macOS has neither `/proc` nor a
//! subreaper: there only the process group is killed (docs/architecture.md, "Process-tree invariants").

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use process_wrap::std::{ChildWrapper, CommandWrap};

use crate::cancel::Cancel;
use crate::os::tree;

pub mod decode;

use decode::Fallback;
pub use decode::{Decode, Decoded, TextEncoding};

/// Default cap on each captured stream (stdout and stderr separately).
pub const DEFAULT_OUTPUT_CAP: usize = 16 * 1024 * 1024;

/// How long we wait for the output pipes to close after the direct child has exited before we
/// kill the rest of its tree (a grandchild still holding the pipe would otherwise block us).
const PIPE_GRACE: Duration = Duration::from_millis(1500);

/// Children started and not yet killed and reaped (so a hurried exit can wait for them).
static LIVE_CHILDREN: AtomicUsize = AtomicUsize::new(0);

/// Set in the environment of every command, `<our pid>.<sequence>`: inherited by its
/// descendants, it tells which command an orphan re-parented to us came from.
pub const MARKER_VAR: &str = "ENTRA_COLLECT_COMMAND";

static SEQ: AtomicU64 = AtomicU64::new(0);
static TREE_INIT: Once = Once::new();
static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// The commands running now (and background programs), and processes we killed that may still
/// need reaping. Held while spawning, so a sweep never sees a runner's child before it is listed.
static TREE: Mutex<TreeState> = Mutex::new(TreeState {
    running: Vec::new(),
    killed: Vec::new(),
});

struct TreeState {
    running: Vec<Member>,
    /// (pid, start time) of processes we SIGKILLed: reaped once they are zombies of ours.
    killed: Vec<(u32, u64)>,
}

/// The direct child of one command: pid, start time (to tell a reused pid) and marker entry.
#[derive(Debug, Clone)]
struct Member {
    pid: u32,
    start: Option<u64>,
    /// `MARKER_VAR=value`, as it appears in `/proc/<pid>/environ`.
    entry: String,
}

fn tree_lock() -> MutexGuard<'static, TreeState> {
    TREE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Become a child subreaper (Linux) and arrange for every descendant still running to be killed
/// when this process exits. Called before the first command starts; harmless to call again.
pub fn init_process_tree() {
    TREE_INIT.call_once(|| {
        SUBREAPER.store(tree::become_subreaper(), Ordering::SeqCst);
        tree::at_exit(kill_descendants_at_exit);
    });
}

/// Is this process a child subreaper (so every descendant stays in our ppid tree)?
pub fn is_subreaper() -> bool {
    SUBREAPER.load(Ordering::SeqCst)
}

extern "C" fn kill_descendants_at_exit() {
    // Never unwind out of an exit handler.
    let _ = std::panic::catch_unwind(|| {
        // Keep the lock for good: no command starts after this sweep.
        let t0 = Instant::now();
        let guard = loop {
            match TREE.try_lock() {
                Ok(g) => break Some(g),
                Err(std::sync::TryLockError::Poisoned(e)) => break Some(e.into_inner()),
                Err(std::sync::TryLockError::WouldBlock)
                    if t0.elapsed() < Duration::from_secs(2) =>
                {
                    thread::sleep(Duration::from_millis(5))
                }
                Err(_) => break None,
            }
        };
        kill_all_descendants();
        std::mem::forget(guard);
    });
}

/// SIGKILL every process whose ppid chain reaches this process (Linux), whichever command it
/// came from. Returns how many were signalled.
pub fn kill_all_descendants() -> usize {
    let procs = tree::snapshot();
    let by_pid: HashMap<u32, tree::Proc> = procs.iter().map(|p| (p.pid, *p)).collect();
    let me = tree::me();
    let mut n = 0;
    for p in &procs {
        if p.pid != me && p.state != b'Z' && top_under(p, &by_pid, me, |_| {}).is_some() {
            tree::kill(p.pid);
            n += 1;
        }
    }
    n
}

/// Walk up from `p` to the ancestor whose parent is `me` (None: not our descendant). `visit`
/// sees every process on the way, `p` and the top included.
fn top_under(
    p: &tree::Proc,
    by_pid: &HashMap<u32, tree::Proc>,
    me: u32,
    mut visit: impl FnMut(&tree::Proc),
) -> Option<tree::Proc> {
    let mut cur = *p;
    for _ in 0..4096 {
        visit(&cur);
        if cur.ppid == me {
            return Some(cur);
        }
        cur = *by_pid.get(&cur.ppid)?;
    }
    None
}

/// Kill what is left of one command: every live process that
///
/// 1. has the command's direct child (same pid *and* start time) on its ppid chain, or
/// 2. hangs, directly or through other processes, under an orphan re-parented to us (a process
///    whose parent is us but that no running command started) and carries this command's marker
///    in its environment (or the orphan does);
/// 3. or, when neither environment can be read, under such an orphan that started after this
///    command did, while no other command or background program is running.
///
/// A process under another running command's child (a packet capture started with
/// [`Runner::spawn_background`] included) is never touched, nor is a process carrying another
/// command's marker. The command's own child is left to the caller (a graceful stop signals its
/// group first). Without a subreaper (prctl refused) a process re-parented to init is still
/// found by its marker alone.
fn sweep(m: &Member) -> usize {
    let mut st = tree_lock();
    let procs = tree::snapshot();
    if procs.is_empty() {
        return 0;
    }
    let by_pid: HashMap<u32, tree::Proc> = procs.iter().map(|p| (p.pid, *p)).collect();
    let me = tree::me();
    let is_member = |q: &tree::Proc| m.pid == q.pid && m.start == Some(q.start);
    let others: Vec<&Member> = st.running.iter().filter(|o| o.pid != m.pid).collect();
    let tracked = |q: &tree::Proc| {
        others
            .iter()
            .any(|o| o.pid == q.pid && o.start.is_none_or(|s| s == q.start))
    };
    let mut killed = Vec::new();
    for p in &procs {
        if p.pid == me || p.state == b'Z' || is_member(p) {
            continue;
        }
        let mut through_member = false;
        let top = top_under(p, &by_pid, me, |q| through_member |= is_member(q));
        let belongs = match top {
            _ if through_member => true,
            None => !is_subreaper() && tree::environ_has(p.pid, &m.entry) == Some(true),
            Some(top) if tracked(&top) => false,
            Some(top) => {
                let own = tree::environ_has(p.pid, &m.entry);
                let up = if top.pid == p.pid {
                    own
                } else {
                    tree::environ_has(top.pid, &m.entry)
                };
                match (own, up) {
                    (Some(true), _) | (_, Some(true)) => true,
                    (None, None) => others.is_empty() && m.start.is_some_and(|s| top.start >= s),
                    _ => false,
                }
            }
        };
        if belongs {
            tree::kill(p.pid);
            killed.push((p.pid, p.start));
        }
    }
    let n = killed.len();
    st.killed.extend(killed);
    reap_killed(&mut st);
    n
}

/// Reap the processes we killed once they are zombies of ours (a killed grandchild becomes ours
/// when its killed parent is gone); wait a moment for that, keep the rest for the next sweep.
fn reap_killed(st: &mut TreeState) {
    let me = tree::me();
    let t0 = Instant::now();
    loop {
        st.killed
            .retain(|&(pid, start)| match tree::proc_info(pid) {
                Some(p) if p.start != start => false,
                Some(p) if p.state == b'Z' && p.ppid == me => !tree::try_reap(pid),
                Some(_) => true,
                None => false,
            });
        if st.killed.is_empty() || t0.elapsed() > Duration::from_millis(300) {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

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
    env_remove: Vec<OsString>,
    timeout: Option<Duration>,
    decode: Decode,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Self {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            display_args: None,
            env: Vec::new(),
            env_remove: Vec::new(),
            timeout: None,
            decode: Decode::Console,
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
    /// Leave `k` out of the child's environment (e.g. `PSModulePath` for Windows PowerShell,
    /// which otherwise inherits PowerShell 7's module folders from a pwsh parent).
    pub fn env_remove(mut self, k: impl Into<OsString>) -> Self {
        self.env_remove.push(k.into());
        self
    }
    /// The variables removed from the child's environment.
    #[cfg(test)]
    pub fn removed_env(&self) -> &[OsString] {
        &self.env_remove
    }
    /// Override the runner's default timeout for this command.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
    /// What the program writes when its output is not UTF-8 (Windows; default: a console
    /// program's code page). See [`Decode`].
    pub fn decode(mut self, d: Decode) -> Self {
        self.decode = d;
        self
    }
    /// The real argument vector (tests only: it may carry what `display_args` hides).
    #[cfg(test)]
    pub fn real_argv_for_tests(&self) -> Vec<String> {
        let mut v = vec![self.program.clone()];
        v.extend(self.args.iter().map(|a| a.to_string_lossy().into_owned()));
        v
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
    /// How the program encodes text that is not UTF-8 (from [`Cmd::decode`]).
    pub decode: Decode,
}

impl Captured {
    /// The text and the encoding it was read in ([`decode::decode`]: UTF-8 when valid, else on
    /// Windows UTF-16LE or this machine's code page for the program's kind).
    pub fn decoded(&self) -> Decoded {
        decode::decode(&self.bytes, self.decode.fallback(crate::os::code_pages()))
    }

    /// The text; the flag says whether some bytes could not be decoded and became U+FFFD.
    pub fn text(&self) -> (String, bool) {
        let d = self.decoded();
        (d.text, d.lossy)
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
    /// The encoding the output was read in, and whether some bytes could not be decoded (in
    /// either stream). When stdout and stderr differ, the one that is not UTF-8 (stdout's if
    /// neither is): a UTF-8 JSON document with a warning in the code page says `cp932`.
    pub fn encoding(&self) -> (TextEncoding, bool) {
        let (o, e) = (self.stdout.decoded(), self.stderr.decoded());
        let used = if o.encoding == TextEncoding::Utf8 {
            e.encoding
        } else {
            o.encoding
        };
        (used, o.lossy || e.lossy)
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

    /// The same runner under another cancellation token (a collector's own).
    pub fn with_cancel(&self, cancel: Cancel) -> Runner {
        Runner {
            cancel,
            ..self.clone()
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
            decode: cmd.decode,
            ..merged
        };
        out.stderr = Captured {
            decode: cmd.decode,
            ..Captured::default()
        };
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
        let (mut child, member) = spawn(cmd, resolved, stdin, sink.is_some())?;
        let started = Instant::now();
        // The live view shows each stream decoded (a Japanese `az` on Windows writes CP932).
        let fallback = cmd.decode.fallback(crate::os::code_pages());
        let out_rx = spawn_reader(child.stdout().take(), self.cap, sink.clone(), fallback);
        let err_rx = spawn_reader(child.stderr().take(), self.cap, sink, fallback);
        let timeout = cmd.timeout.unwrap_or(self.timeout);
        let (status, timed_out, interrupted) =
            wait_for(child.as_mut(), &member, started, timeout, &self.cancel);
        Ok(finish(
            cmd,
            resolved,
            timeout,
            child,
            &member,
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
        let (mut child, member) = spawn(cmd, resolved, Stdio::null(), false)?;
        let out_rx = spawn_reader(child.stdout().take(), self.cap, None, Fallback::Utf8Lossy);
        let err_rx = spawn_reader(child.stderr().take(), self.cap, None, Fallback::Utf8Lossy);
        Ok(Background {
            cmd: cmd.clone(),
            resolved: resolved.to_path_buf(),
            child,
            member,
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
    member: Member,
    started: Instant,
    out_rx: mpsc::Receiver<Captured>,
    err_rx: mpsc::Receiver<Captured>,
}

impl Background {
    /// Has it already exited (e.g. refused to start)?
    pub fn has_exited(&mut self) -> bool {
        matches!(try_wait_direct(self.child.as_mut()), Ok(Some(_)))
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
        kill_tree(self.child.as_mut(), &self.member);
        let deadline = Instant::now() + grace;
        let mut status = None;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = try_wait_direct(self.child.as_mut()) {
                status = Some(s);
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let timed_out = status.is_none();
        if timed_out {
            kill_tree(self.child.as_mut(), &self.member);
            status = reap(self.child.as_mut());
        }
        finish(
            &self.cmd,
            &self.resolved,
            grace,
            self.child,
            &self.member,
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
) -> Result<(Box<dyn ChildWrapper>, Member), ExecError> {
    init_process_tree();
    let value = format!("{}.{}", tree::me(), SEQ.fetch_add(1, Ordering::SeqCst));
    let mut command = Command::new(resolved);
    command
        .args(&cmd.args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in &cmd.env_remove {
        command.env_remove(k);
    }
    for (k, v) in &cmd.env {
        command.env(k, v);
    }
    command.env(MARKER_VAR, &value);
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
    let mut st = tree_lock();
    let child = wrapped.spawn().map_err(|source| ExecError::Spawn {
        program: cmd.program.clone(),
        source,
    })?;
    let pid = child.id();
    let member = Member {
        pid,
        start: tree::proc_info(pid).map(|p| p.start),
        entry: format!("{MARKER_VAR}={value}"),
    };
    st.running.push(member.clone());
    drop(st);
    LIVE_CHILDREN.fetch_add(1, Ordering::SeqCst);
    Ok((child, member))
}

/// The command is over: forget it as running.
fn untrack(m: &Member) {
    tree_lock()
        .running
        .retain(|o| !(o.pid == m.pid && o.start == m.start));
}

/// Collect the output after the direct child is gone, sweeping its tree.
#[allow(clippy::too_many_arguments)]
fn finish(
    cmd: &Cmd,
    resolved: &Path,
    limit: Duration,
    mut child: Box<dyn ChildWrapper>,
    member: &Member,
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
        kill_tree(child.as_mut(), member);
        let deadline = Instant::now() + PIPE_GRACE;
        if stdout.is_none() {
            stdout = recv_until(&out_rx, deadline);
        }
        if stderr.is_none() {
            stderr = recv_until(&err_rx, deadline);
        }
    }
    // Always sweep the tree: leftovers from a finished command must not outlive us.
    kill_tree(child.as_mut(), member);
    untrack(member);
    LIVE_CHILDREN.fetch_sub(1, Ordering::SeqCst);
    let abandoned = || Captured {
        abandoned: true,
        ..Captured::default()
    };
    let decoded_as = |c: Captured| Captured {
        decode: cmd.decode,
        ..c
    };
    Output {
        argv: cmd.shown_argv(),
        resolved: resolved.to_path_buf(),
        stdout: decoded_as(stdout.unwrap_or_else(abandoned)),
        stderr: decoded_as(stderr.unwrap_or_else(abandoned)),
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
    member: &Member,
    started: Instant,
    timeout: Duration,
    cancel: &Cancel,
) -> (Option<ExitStatus>, bool, bool) {
    let mut pause = Duration::from_millis(2);
    loop {
        match try_wait_direct(child) {
            Ok(Some(status)) => return (Some(status), false, false),
            Ok(None) => {}
            Err(_) => break,
        }
        if cancel.is_cancelled() {
            kill_tree(child, member);
            return (reap(child), false, true);
        }
        if started.elapsed() >= timeout {
            kill_tree(child, member);
            return (reap(child), true, false);
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    }
    kill_tree(child, member);
    (reap(child), false, false)
}

/// Kill the command's tree: first every descendant found in `/proc` (while the ppid chain is
/// still intact, and so that each is recorded for reaping), then its process group / job.
fn kill_tree(child: &mut dyn ChildWrapper, member: &Member) {
    sweep(member);
    // Errors mean "already gone", which is what we want.
    let _ = child.start_kill();
}

/// Poll the direct child only. On Unix process-wrap's group wrapper would also `waitpid` the
/// whole group, and as a subreaper our re-parented grandchildren are in it: its loop then returns
/// "still running" after reaping the leader and drops the leader's status. Grandchildren we kill
/// are reaped by [`sweep`]. (The wrapper is one level deep: `inner_mut` is the `std` child.)
fn try_wait_direct(child: &mut dyn ChildWrapper) -> std::io::Result<Option<ExitStatus>> {
    #[cfg(unix)]
    {
        child.inner_mut().try_wait()
    }
    #[cfg(not(unix))]
    {
        child.try_wait()
    }
}

fn reap(child: &mut dyn ChildWrapper) -> Option<ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match try_wait_direct(child) {
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
/// child never blocks on a full pipe. With a sink, each chunk is also shown live (decoded as
/// it comes: [`decode::LiveDecoder`]) and appended, as bytes, to the shared (merged) capture.
fn spawn_reader<R: Read + Send + 'static>(
    pipe: Option<R>,
    cap: usize,
    sink: Sink,
    fallback: Fallback,
) -> mpsc::Receiver<Captured> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut own = Captured::default();
        let mut shown = decode::LiveDecoder::new(fallback);
        if let Some(mut pipe) = pipe {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let chunk = &buf[..n];
                        match &sink {
                            Some((merged, live)) => {
                                let text = shown.push(chunk);
                                if !text.is_empty() {
                                    live(&text);
                                }
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
        if let Some((_, live)) = &sink {
            let tail = shown.finish();
            if !tail.is_empty() {
                live(&tail);
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
pub(crate) use test_proc::alive as test_alive;

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

    /// A shell script that starts two `setsid` grandchildren (one keeping our pipes, one
    /// detached with its stdio closed), writes their pids to `pidfile`, then runs `then`.
    fn setsid_script(pidfile: &Path, then: &str) -> String {
        let f = pidfile.display();
        format!(
            "setsid sh -c 'echo $$ >> {f}; exec sleep 100000' &\n\
             setsid sh -c 'echo $$ >> {f}; exec sleep 100000' </dev/null >/dev/null 2>&1 &\n\
             while [ \"$(wc -l < {f} 2>/dev/null || echo 0)\" -lt 2 ]; do sleep 0.01; done\n\
             {then}"
        )
    }

    fn pids(pidfile: &Path) -> Vec<String> {
        std::fs::read_to_string(pidfile)
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn setsid_grandchildren_die_with_the_command_normal_timeout_and_cancel() {
        for (case, then, timeout_ms, cancel_after) in [
            ("normal", "echo done", 10_000, None),
            ("timeout", "sleep 300", 400, None),
            ("cancel", "sleep 300", 60_000, Some(400)),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let pidfile = dir.path().join("pids");
            let r = runner(timeout_ms, 1024);
            if let Some(ms) = cancel_after {
                let c = r.cancel_token().clone();
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(ms));
                    c.cancel();
                });
            }
            let t0 = Instant::now();
            let out = r
                .run(&Cmd::new("sh").args(["-c", &setsid_script(&pidfile, then)]))
                .unwrap();
            assert!(
                t0.elapsed() < Duration::from_secs(8),
                "{case}: {:?}",
                t0.elapsed()
            );
            assert_eq!(out.timed_out, case == "timeout", "{case}");
            assert_eq!(out.interrupted, case == "cancel", "{case}");
            if case == "normal" {
                assert_eq!(out.exit_code, Some(0));
                assert!(out.stdout.text().0.contains("done"));
            }
            let pids = pids(&pidfile);
            assert_eq!(pids.len(), 2, "{case}");
            for pid in pids {
                assert!(
                    !process_alive(&pid),
                    "{case}: setsid grandchild {pid} survived"
                );
            }
        }
    }

    /// One command's cleanup leaves alone what another command, still running, started (its
    /// own `setsid` grandchild, orphaned or not) and a background program.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_command_cleanup_spares_other_commands_and_background_programs() {
        let dir = tempfile::tempdir().unwrap();
        let (mine, theirs, bg_pids) = (
            dir.path().join("mine"),
            dir.path().join("theirs"),
            dir.path().join("bg"),
        );
        let r = runner(30_000, 1024);
        let bg_cmd = Cmd::new("sh").args([
            "-c",
            &format!(
                "setsid sh -c 'echo $$ >> {0}; exec sleep 100000' </dev/null >/dev/null 2>&1 & \
                 echo $$ >> {0}; trap 'exit 0' TERM; while :; do sleep 0.05; done",
                bg_pids.display()
            ),
        ]);
        let bg = r
            .spawn_background(&bg_cmd, &r.resolve("sh").unwrap())
            .unwrap();
        // Another command: its setsid grandchildren are orphaned at once (the intermediate
        // shell exits) while the command itself keeps running until we say so.
        let go = dir.path().join("go");
        let other_script = setsid_script(
            &theirs,
            &format!("while [ ! -e {} ]; do sleep 0.02; done", go.display()),
        );
        let r2 = r.clone();
        let other = thread::spawn(move || r2.run(&Cmd::new("sh").args(["-c", &other_script])));
        let t0 = Instant::now();
        while std::fs::read_to_string(&theirs)
            .map(|s| s.lines().count())
            .unwrap_or(0)
            < 2
            || std::fs::read_to_string(&bg_pids)
                .map(|s| s.lines().count())
                .unwrap_or(0)
                < 2
        {
            assert!(t0.elapsed() < Duration::from_secs(10));
            thread::sleep(Duration::from_millis(10));
        }
        let out = r
            .run(&Cmd::new("sh").args(["-c", &setsid_script(&mine, "exit 0")]))
            .unwrap();
        assert_eq!(out.exit_code, Some(0));
        for pid in pids(&mine) {
            assert!(!process_alive(&pid), "our grandchild {pid} survived");
        }
        for pid in pids(&theirs).iter().chain(&pids(&bg_pids)) {
            assert!(
                tree::proc_info(pid.parse().unwrap()).is_some_and(|p| p.state != b'Z'),
                "{pid} of another command was killed by this command's cleanup"
            );
        }
        std::fs::write(&go, "").unwrap();
        let out = other.join().unwrap().unwrap();
        assert_eq!(out.exit_code, Some(0));
        for pid in pids(&theirs) {
            assert!(!process_alive(&pid), "{pid} survived its own command");
        }
        let out = bg.stop(Duration::from_secs(5));
        assert!(!out.timed_out);
        for pid in pids(&bg_pids) {
            assert!(!process_alive(&pid), "{pid} survived the background stop");
        }
    }

    /// The command's kind reaches both captured streams, interactive runs included, and the
    /// manifest's encoding is read from them.
    #[test]
    fn the_decode_kind_follows_the_output() {
        let r = runner(10_000, 1024);
        let cmd = Cmd::new("sh")
            .args(["-c", "printf 'ok'; printf 'bad\\377' >&2"])
            .decode(Decode::Ansi);
        let out = r.run(&cmd).unwrap();
        assert_eq!(
            (out.stdout.decode, out.stderr.decode),
            (Decode::Ansi, Decode::Ansi)
        );
        // Off Windows the code page is not consulted: stderr is lossy UTF-8.
        assert_eq!(out.encoding(), (TextEncoding::Utf8, true));
        let live: Live = Arc::new(|_: &[u8]| {});
        let out = r
            .run_interactive(&cmd, &r.resolve("sh").unwrap(), live)
            .unwrap();
        assert_eq!(
            (out.stdout.decode, out.stderr.decode),
            (Decode::Ansi, Decode::Ansi)
        );
        // (The two streams are merged in arrival order.)
        let (text, lossy) = out.stdout.text();
        assert!(
            lossy && text.contains("ok") && text.contains("bad\u{FFFD}"),
            "{text:?}"
        );
        assert_eq!(text.len(), "okbad\u{FFFD}".len());
        let out = r.run(&Cmd::new("true")).unwrap();
        assert_eq!(out.stdout.decode, Decode::Console);
        assert_eq!(out.encoding(), (TextEncoding::Utf8, false));
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
