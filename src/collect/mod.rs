//! Collectors and the parallel pipeline that runs them.
//!
//! A collector is a small independent unit: it has an id, reads what it needs through the shared
//! [`Context`] (runner, redactor, platform, environment snapshot), and returns an [`Outcome`]:
//! a status, a reason, redacted entries for the bundle and the commands it ran. The pipeline runs
//! collectors on a bounded number of threads; a collector that panics, fails or hangs never
//! stops the others or the bundle.
//!
//! To add a collector: write a module here implementing [`Collector`], list it in [`all`] and
//! describe it in [`registry::COLLECTORS`] (what `--list` shows; a test checks the two agree).

pub mod az_python;
pub mod context;
pub mod debug_run;
pub mod environment;
pub mod network;
pub mod reg;
pub mod registry;
pub mod system;
pub mod tls;
pub mod versions_az;
pub mod versions_powershell;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::bundle::EntryName;
use crate::bundle::manifest::{CommandRecord, Status};
use crate::cancel::Cancel;
use crate::exec::{Output, Runner};
use crate::platform::Platform;
use crate::redact::{Redacted, Redactor};
use crate::vocab::{Env, NetworkConfig};

/// What every collector can use.
#[derive(Debug)]
pub struct Context {
    pub runner: Runner,
    pub redactor: Arc<Redactor>,
    pub platform: Platform,
    pub env: Env,
    /// The tenant the user means (`--tenant`), compared with each signed-in context.
    pub tenant: Option<String>,
}

impl Context {
    pub fn cancel(&self) -> &Cancel {
        self.runner.cancel_token()
    }

    /// The same context with commands run under `cancel` (a collector's own token).
    pub fn with_cancel(&self, cancel: Cancel) -> Context {
        Context {
            runner: self.runner.with_cancel(cancel),
            redactor: self.redactor.clone(),
            platform: self.platform,
            env: self.env.clone(),
            tenant: self.tenant.clone(),
        }
    }
}

/// The data of one bundle entry.
#[derive(Debug)]
pub enum EntryData {
    Text(Redacted),
    /// A JSON entry, redacted and serialized; redacted again value by value before it is
    /// written (never as text: a secret learned since that holds a quote or backslash is
    /// escaped in the serialized form, and cutting it there would break the JSON).
    Json(Redacted),
    /// A binary capture streamed from disk, unredacted by nature, cut at `max_bytes`.
    Unredacted {
        path: PathBuf,
        max_bytes: u64,
    },
}

#[derive(Debug)]
pub struct Entry {
    pub name: EntryName,
    pub data: EntryData,
}

/// What a collector produced.
#[derive(Debug)]
pub struct Outcome {
    pub status: Status,
    pub reason: Option<String>,
    pub entries: Vec<Entry>,
    pub commands: Vec<CommandRecord>,
}

impl Outcome {
    pub fn ok() -> Self {
        Outcome {
            status: Status::Ok,
            reason: None,
            entries: Vec::new(),
            commands: Vec::new(),
        }
    }
    pub fn with_status(status: Status, reason: impl Into<String>) -> Self {
        Outcome {
            status,
            reason: Some(reason.into()),
            ..Outcome::ok()
        }
    }
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self::with_status(Status::Skipped, reason)
    }
    pub fn failed(reason: impl Into<String>) -> Self {
        Self::with_status(Status::Failed, reason)
    }

    /// Set a worse status (interrupted > timed_out > failed > skipped > ok) with its reason.
    pub fn degrade(&mut self, status: Status, reason: impl Into<String>) {
        fn rank(s: Status) -> u8 {
            match s {
                Status::Ok => 0,
                Status::Skipped => 1,
                Status::Failed => 2,
                Status::TimedOut => 3,
                Status::Interrupted => 4,
            }
        }
        if rank(status) > rank(self.status) {
            self.status = status;
            self.reason = Some(reason.into());
        }
    }

    /// Add a redacted text entry. The name is a constant chosen by the collector; an invalid one
    /// is a programming error reported as a failure rather than a panic.
    pub fn add_text(&mut self, name: &str, text: Redacted) {
        match EntryName::new(name) {
            Ok(name) => self.entries.push(Entry {
                name,
                data: EntryData::Text(text),
            }),
            Err(e) => self.degrade(Status::Failed, e.to_string()),
        }
    }

    /// Add a binary capture that cannot be redacted (it is marked so in the manifest).
    pub fn add_unredacted_file(&mut self, name: &str, path: PathBuf, max_bytes: u64) {
        match EntryName::new(name) {
            Ok(name) => self.entries.push(Entry {
                name,
                data: EntryData::Unredacted { path, max_bytes },
            }),
            Err(e) => self.degrade(Status::Failed, e.to_string()),
        }
    }

    /// Add a JSON entry: a `model` type (`name` one of `model::names`), redacted and
    /// serialized. JSON is redacted string by string (and secret-named members whole) before it
    /// is serialized, so the entry stays valid JSON.
    pub fn add_entry<T: serde::Serialize>(&mut self, ctx: &Context, name: &str, value: &T) {
        match (ctx.redactor.redact_to_json(value), EntryName::new(name)) {
            (Ok(text), Ok(name)) => self.entries.push(Entry {
                name,
                data: EntryData::Json(text),
            }),
            (Err(e), _) => {
                self.degrade(Status::Failed, format!("{name} could not be written: {e}"))
            }
            (_, Err(e)) => self.degrade(Status::Failed, e.to_string()),
        }
    }

    /// Record a command that ran and fold its timeout / interruption into the status.
    pub fn record(&mut self, ctx: &Context, out: &Output) {
        // The sign-in command's values were learned before it ran (debug_run); the commands
        // collectors build are ours and their withheld values are not secrets to hunt.
        let (argv, _) = ctx.redactor.shown_argv(&out.argv);
        let (encoding, lossy) = out.encoding();
        self.commands.push(CommandRecord {
            command_line: argv,
            program_path: ctx
                .redactor
                .redact(&out.resolved.to_string_lossy())
                .into_string(),
            exit_code: out.exit_code,
            timed_out: out.timed_out,
            interrupted: out.interrupted,
            truncated: out.truncated(),
            lossy_utf8: lossy,
            encoding: encoding.label(),
            duration_ms: out.duration.as_millis() as u64,
            stdout_bytes: out.stdout.total_bytes,
            stderr_bytes: out.stderr.total_bytes,
        });
        let program = out.argv.first().map(String::as_str).unwrap_or("command");
        if out.interrupted {
            self.degrade(Status::Interrupted, format!("{program} was interrupted"));
        } else if out.timed_out {
            self.degrade(
                Status::TimedOut,
                format!(
                    "{program} did not finish within {} s and was killed",
                    out.limit.as_secs()
                ),
            );
        }
    }
}

/// Time a collector gets beyond its commands' timeouts (starting them, reading files, parsing).
pub const BUDGET_SLACK: Duration = Duration::from_secs(10);

/// A unit of collection.
pub trait Collector: Send + Sync {
    fn id(&self) -> &'static str;
    fn collect(&self, ctx: &Context) -> Outcome;
    /// The most external commands this collector runs one after another (on any platform), each
    /// under the runner's timeout.
    fn commands(&self) -> u32 {
        1
    }
    /// How long the pipeline lets it run, given the runner's per-command `timeout`, before its
    /// watchdog fires: cancels its commands and records it timed_out.
    fn budget(&self, timeout: Duration) -> Duration {
        timeout * self.commands() + BUDGET_SLACK
    }
}

/// Every collector, in the order they appear in the manifest. The debug run comes first so it
/// starts at once; the others run beside it and describe the same moment. `selection` only
/// decides which collector records the shared Python call (see [`az_python`]).
pub fn all(
    debug_run: Option<(Vec<crate::config::DebugRun>, crate::exec::Live)>,
    net: NetworkConfig,
    selection: &crate::config::Selection,
) -> Vec<Arc<dyn Collector>> {
    let mut v: Vec<Arc<dyn Collector>> = Vec::new();
    if let Some((runs, live)) = debug_run {
        v.push(Arc::new(debug_run::DebugRunCollector::new(runs, live)));
    }
    // Both network collectors use the proxy facts; they are read once per run.
    let proxy_facts = Arc::new(network::ProxyCell::default());
    // versions.az and tls both read Azure CLI's Python facts; one call per run.
    // The call is recorded under versions.az, which runs it beside `az version`, unless
    // --skip / --only leave versions.az out; then under tls.
    let az_python = Arc::new(az_python::AzPythonCell::default());
    let recorder = if registry::excluded(selection, "versions.az").is_some() {
        "tls"
    } else {
        "versions.az"
    };
    v.extend([
        Arc::new(system::System) as Arc<dyn Collector>,
        Arc::new(environment::Environment),
        Arc::new(versions_az::VersionsAz {
            python: az_python.clone(),
            records_python: recorder == "versions.az",
        }),
        Arc::new(versions_powershell::VersionsPowerShell),
        Arc::new(context::Contexts),
        Arc::new(context::Caches),
        Arc::new(network::NetworkProxy {
            cloud: net.cloud,
            facts: proxy_facts.clone(),
        }),
        Arc::new(tls::Tls {
            python: az_python,
            records_python: recorder == "tls",
        }),
        Arc::new(network::NetworkProbes {
            config: net,
            facts: proxy_facts,
        }),
    ]);
    v
}

/// One collector's result as the pipeline saw it.
#[derive(Debug)]
pub struct Report {
    pub id: &'static str,
    pub started_at: Option<DateTime<Utc>>,
    pub duration: Duration,
    pub outcome: Outcome,
}

/// Told about collectors starting and finishing (drives the progress display).
pub trait Observer {
    fn started(&self, id: &str);
    fn finished(&self, id: &str, outcome: &Outcome, duration: Duration);
    fn tick(&self) {}
}

enum Event {
    Started(usize, DateTime<Utc>, Instant, Cancel),
    Done(usize, Outcome, Duration),
}

/// Pipeline limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Worker threads.
    pub jobs: usize,
    /// The least time any collector gets: its watchdog fires after the longer of this and its
    /// own [`Collector::budget`]. Firing cancels that collector's token (its running command tree
    /// is killed) and records it timed_out; one that still does not return within
    /// `cancel_grace` is left behind.
    pub watchdog: Duration,
    /// After cancellation (global, or a collector's watchdog), how long to wait for collectors
    /// to wind down.
    pub cancel_grace: Duration,
}

/// Run collectors in parallel and return one report per collector, in input order.
pub(crate) fn run_all(
    collectors: Vec<Arc<dyn Collector>>,
    ctx: Arc<Context>,
    limits: Limits,
    observer: &dyn Observer,
) -> Vec<Report> {
    let collectors = Arc::new(collectors);
    let events = spawn_workers(&collectors, &ctx, limits.jobs);
    let mut board = Board::new(collectors, ctx, limits);
    board.wait(&events, observer);
    board.into_reports(observer)
}

/// Start the worker threads; they take collectors in order and tell what happens on the
/// returned channel (which disconnects when every worker has ended).
fn spawn_workers(
    collectors: &Arc<Vec<Arc<dyn Collector>>>,
    ctx: &Arc<Context>,
    jobs: usize,
) -> mpsc::Receiver<Event> {
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<Event>();
    for _ in 0..jobs.clamp(1, collectors.len().max(1)) {
        let (collectors, next, tx, ctx) =
            (collectors.clone(), next.clone(), tx.clone(), ctx.clone());
        // Detached on purpose: a hung collector must not keep the bundle from being written.
        thread::spawn(move || worker(&collectors, &next, &tx, &ctx));
    }
    rx
}

/// One worker: run the next collector not yet taken until none is left.
fn worker(
    collectors: &[Arc<dyn Collector>],
    next: &AtomicUsize,
    tx: &mpsc::Sender<Event>,
    ctx: &Context,
) {
    loop {
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= collectors.len() {
            break;
        }
        if ctx.cancel().is_cancelled() {
            let o = Outcome::with_status(Status::Interrupted, "not started: interrupted");
            let _ = tx.send(Event::Done(i, o, Duration::ZERO));
            continue;
        }
        let t0 = Instant::now();
        // Its own token: the watchdog can stop this collector's commands alone.
        let own = ctx.cancel().child();
        let cctx = ctx.with_cancel(own.clone());
        let _ = tx.send(Event::Started(i, Utc::now(), t0, own));
        let c = collectors[i].clone();
        let outcome = catch_unwind(AssertUnwindSafe(|| c.collect(&cctx)))
            .unwrap_or_else(|p| Outcome::failed(format!("collector panicked: {}", panic_text(&p))));
        let _ = tx.send(Event::Done(i, outcome, t0.elapsed()));
    }
}

/// What the pipeline knows of each collector (by index) while it waits for them.
struct Board {
    collectors: Arc<Vec<Arc<dyn Collector>>>,
    ctx: Arc<Context>,
    limits: Limits,
    started: Vec<Option<(DateTime<Utc>, Instant)>>,
    tokens: Vec<Option<Cancel>>,
    /// When its watchdog fired.
    fired: Vec<Option<Instant>>,
    done: Vec<Option<(Outcome, Duration)>>,
}

impl Board {
    fn new(collectors: Arc<Vec<Arc<dyn Collector>>>, ctx: Arc<Context>, limits: Limits) -> Self {
        let n = collectors.len();
        Board {
            collectors,
            ctx,
            limits,
            started: vec![None; n],
            tokens: vec![None; n],
            fired: vec![None; n],
            done: (0..n).map(|_| None).collect(),
        }
    }

    fn len(&self) -> usize {
        self.collectors.len()
    }

    /// Collector `i`'s watchdog budget.
    fn limit(&self, i: usize) -> Duration {
        let timeout = self.ctx.runner.default_timeout();
        self.collectors[i].budget(timeout).max(self.limits.watchdog)
    }

    /// Wait until every collector is done, or the global cancellation's grace is over, or only
    /// collectors abandoned after their watchdog are left.
    fn wait(&mut self, events: &mpsc::Receiver<Event>, observer: &dyn Observer) {
        let mut remaining = self.len();
        let mut cancelled_at: Option<Instant> = None;
        let mut last_event = Instant::now();
        while remaining > 0 {
            match events.recv_timeout(Duration::from_millis(80)) {
                Ok(event) => {
                    last_event = Instant::now();
                    if self.record(event, observer) {
                        remaining -= 1;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => observer.tick(),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if self.ctx.cancel().is_cancelled() {
                let t = *cancelled_at.get_or_insert_with(Instant::now);
                if t.elapsed() > self.limits.cancel_grace {
                    break;
                }
            }
            self.fire_overdue();
            if self.only_abandoned_left(last_event) {
                break;
            }
        }
    }

    /// Take in one event; true when a collector finished.
    fn record(&mut self, event: Event, observer: &dyn Observer) -> bool {
        match event {
            Event::Started(i, at, t0, token) => {
                self.started[i] = Some((at, t0));
                self.tokens[i] = Some(token);
                observer.started(self.collectors[i].id());
                false
            }
            Event::Done(i, mut outcome, d) => {
                if self.fired[i].is_some() && !self.ctx.cancel().is_cancelled() {
                    // What it gathered stays; the status says why it is incomplete.
                    outcome.status = Status::TimedOut;
                    outcome.reason = Some(overdue_reason(self.limit(i), true));
                }
                observer.finished(self.collectors[i].id(), &outcome, d);
                self.done[i] = Some((outcome, d));
                true
            }
        }
    }

    /// Fire the watchdog of every collector past its budget: its commands are killed by its
    /// runner within a poll, and it returns what it has.
    fn fire_overdue(&mut self) {
        for i in 0..self.len() {
            let overdue = self.started[i].is_some_and(|(_, t0)| t0.elapsed() > self.limit(i));
            if self.done[i].is_none() && self.fired[i].is_none() && overdue {
                if let Some(t) = &self.tokens[i] {
                    t.cancel();
                }
                self.fired[i] = Some(Instant::now());
            }
        }
    }

    /// Stop waiting when the only collectors still running had their watchdog fired more than
    /// `cancel_grace` ago and nothing else is moving (a free worker would have started the
    /// next collector at once).
    fn only_abandoned_left(&self, last_event: Instant) -> bool {
        let grace = self.limits.cancel_grace;
        let pending = |i: usize| self.done[i].is_none();
        let running = |i: usize| pending(i) && self.started[i].is_some() && self.fired[i].is_none();
        let given_up = |i: usize| self.fired[i].is_some_and(|t| t.elapsed() > grace);
        let fired_pending: Vec<usize> = (0..self.len())
            .filter(|&i| pending(i) && self.fired[i].is_some())
            .collect();
        !fired_pending.is_empty()
            && fired_pending.iter().all(|&i| given_up(i))
            && !(0..self.len()).any(running)
            && last_event.elapsed() > Duration::from_millis(300)
    }

    /// One report per collector, in input order; those that never finished are reported (and
    /// told to the observer) as interrupted or timed out.
    fn into_reports(mut self, observer: &dyn Observer) -> Vec<Report> {
        (0..self.len())
            .map(|i| {
                let id = self.collectors[i].id();
                let started_at = self.started[i].map(|(at, _)| at);
                if let Some((outcome, duration)) = self.done[i].take() {
                    return Report {
                        id,
                        started_at,
                        duration,
                        outcome,
                    };
                }
                let duration = self.started[i]
                    .map(|(_, t0)| t0.elapsed())
                    .unwrap_or_default();
                let outcome = self.unfinished(i);
                observer.finished(id, &outcome, duration);
                Report {
                    id,
                    started_at,
                    duration,
                    outcome,
                }
            })
            .collect()
    }

    /// The outcome of collector `i`, which did not finish.
    fn unfinished(&self, i: usize) -> Outcome {
        match (self.ctx.cancel().is_cancelled(), self.started[i].is_some()) {
            (true, true) => Outcome::with_status(Status::Interrupted, "interrupted while running"),
            (true, false) => Outcome::with_status(Status::Interrupted, "not started: interrupted"),
            (false, true) => {
                Outcome::with_status(Status::TimedOut, overdue_reason(self.limit(i), false))
            }
            (false, false) => Outcome::with_status(
                Status::TimedOut,
                "not started: every worker was held by a collector that did not finish",
            ),
        }
    }
}

/// Why a collector stopped by its watchdog is timed_out.
fn overdue_reason(limit: Duration, returned: bool) -> String {
    let secs = if limit < Duration::from_secs(10) {
        format!("{:.1}", limit.as_secs_f64())
    } else {
        limit.as_secs().to_string()
    };
    if returned {
        format!(
            "did not finish within {secs} s (its watchdog budget); stopped and its running commands killed"
        )
    } else {
        format!(
            "did not finish within {secs} s (its watchdog budget) and did not stop when cancelled; left behind"
        )
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// A string member of JSON another program wrote, as text; a member of any other type is not
/// carried over (the entry then has null, or leaves it out).
pub fn json_str(v: &serde_json::Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Strip a UTF-8 byte-order mark (az and Windows PowerShell write one on Windows).
pub fn strip_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Fixed(&'static str, fn() -> Outcome);
    impl Collector for Fixed {
        fn id(&self) -> &'static str {
            self.0
        }
        fn collect(&self, _: &Context) -> Outcome {
            (self.1)()
        }
        // Only the pipeline's floor (`Limits::watchdog`) applies.
        fn budget(&self, _: Duration) -> Duration {
            Duration::ZERO
        }
    }

    /// Runs `script` with `sh -c` `times` times in a row through the context's runner.
    struct Shell {
        script: String,
        times: u32,
        budget: Option<Duration>,
    }
    impl Collector for Shell {
        fn id(&self) -> &'static str {
            "shell"
        }
        fn collect(&self, ctx: &Context) -> Outcome {
            let mut o = Outcome::ok();
            for _ in 0..self.times {
                match ctx
                    .runner
                    .run(&crate::exec::Cmd::new("sh").args(["-c", &self.script]))
                {
                    Ok(out) => o.record(ctx, &out),
                    Err(e) => o.degrade(Status::Failed, e.to_string()),
                }
            }
            o
        }
        fn commands(&self) -> u32 {
            self.times
        }
        fn budget(&self, timeout: Duration) -> Duration {
            self.budget
                .unwrap_or_else(|| timeout * self.commands() + Duration::from_millis(500))
        }
    }

    fn ctx_with_timeout(timeout: Duration) -> Arc<Context> {
        Arc::new(Context {
            runner: Runner::new(None, timeout, 1024, Cancel::new()),
            redactor: Arc::new(Redactor::new()),
            platform: Platform::Linux,
            env: Env::default(),
            tenant: None,
        })
    }

    /// A collector past its budget has its own running command (and that command's children)
    /// killed, is recorded timed_out with the reason, keeps the commands it ran, and the global
    /// token is not touched.
    #[cfg(unix)]
    #[test]
    fn watchdog_cancels_the_overdue_collectors_commands() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let cs: Vec<Arc<dyn Collector>> = vec![
            Arc::new(Shell {
                script: format!("sleep 300 & echo $! > {}; wait", pidfile.display()),
                times: 1,
                budget: Some(Duration::from_millis(500)),
            }),
            Arc::new(Fixed("fine", Outcome::ok)),
        ];
        let limits = Limits {
            jobs: 2,
            watchdog: Duration::from_millis(200),
            cancel_grace: Duration::from_secs(5),
        };
        let c = ctx_with_timeout(Duration::from_secs(120));
        let t0 = Instant::now();
        let r = run_all(cs, c.clone(), limits, &Log::default());
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(4), "took {took:?}");
        let o = &r[0].outcome;
        assert_eq!(o.status, Status::TimedOut, "{o:?}");
        assert!(
            o.reason
                .as_deref()
                .unwrap()
                .contains("did not finish within 0.5 s"),
            "{o:?}"
        );
        assert_eq!(o.commands.len(), 1, "the killed command is recorded");
        assert!(o.commands[0].interrupted);
        assert_eq!(r[1].outcome.status, Status::Ok);
        assert!(!c.cancel().is_cancelled());
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(
            !crate::exec::test_alive(pid.trim()),
            "the overdue collector's command tree outlived its watchdog"
        );
    }

    /// A collector that runs several commands one after another gets a budget for all of them,
    /// even when the pipeline's floor would be shorter.
    #[cfg(unix)]
    #[test]
    fn budget_counts_sequential_commands() {
        let cs: Vec<Arc<dyn Collector>> = vec![Arc::new(Shell {
            script: "sleep 0.3".into(),
            times: 4,
            budget: None,
        })];
        let limits = Limits {
            jobs: 1,
            watchdog: Duration::from_millis(400),
            cancel_grace: Duration::from_secs(1),
        };
        let r = run_all(
            cs,
            ctx_with_timeout(Duration::from_secs(1)),
            limits,
            &Log::default(),
        );
        assert_eq!(r[0].outcome.status, Status::Ok, "{:?}", r[0].outcome);
        assert_eq!(r[0].outcome.commands.len(), 4);
    }

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);
    impl Observer for Log {
        fn started(&self, id: &str) {
            self.0.lock().unwrap().push(format!("start {id}"));
        }
        fn finished(&self, id: &str, o: &Outcome, _: Duration) {
            self.0
                .lock()
                .unwrap()
                .push(format!("done {id} {}", o.status.as_str()));
        }
    }

    fn ctx() -> Arc<Context> {
        Arc::new(Context {
            runner: Runner::new(None, Duration::from_secs(5), 1024, Cancel::new()),
            redactor: Arc::new(Redactor::new()),
            platform: Platform::Linux,
            env: Env::default(),
            tenant: None,
        })
    }

    #[test]
    fn panicking_and_hanging_collectors_do_not_stop_the_others() {
        let cs: Vec<Arc<dyn Collector>> = vec![
            Arc::new(Fixed("boom", || panic!("kaput"))),
            Arc::new(Fixed("hang", || {
                thread::sleep(Duration::from_secs(120));
                Outcome::ok()
            })),
            Arc::new(Fixed("fine", Outcome::ok)),
        ];
        let limits = Limits {
            jobs: 3,
            // Long enough that the panicking collector (whose backtrace capture can take a
            // while on a loaded machine) reports before its watchdog fires; the hanging one
            // still sleeps forty times longer.
            watchdog: Duration::from_secs(3),
            cancel_grace: Duration::from_secs(1),
        };
        let log = Log::default();
        let t0 = Instant::now();
        let reports = run_all(cs, ctx(), limits, &log);
        // Liveness, not speed: the pipeline gives up on the hanging collector (120 s) long
        // before it ends; the bound is generous for a loaded CI machine.
        assert!(t0.elapsed() < Duration::from_secs(60));
        assert_eq!(reports[0].outcome.status, Status::Failed);
        assert!(
            reports[0]
                .outcome
                .reason
                .as_deref()
                .unwrap()
                .contains("kaput")
        );
        assert_eq!(reports[1].outcome.status, Status::TimedOut);
        assert_eq!(reports[2].outcome.status, Status::Ok);
        assert_eq!(
            log.0
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.starts_with("done"))
                .count(),
            3
        );
    }

    #[test]
    fn cancelled_before_start_is_interrupted() {
        let c = ctx();
        c.cancel().cancel();
        let cs: Vec<Arc<dyn Collector>> = vec![Arc::new(Fixed("a", Outcome::ok))];
        let limits = Limits {
            jobs: 1,
            watchdog: Duration::from_secs(5),
            cancel_grace: Duration::from_millis(100),
        };
        let r = run_all(cs, c, limits, &Log::default());
        assert_eq!(r[0].outcome.status, Status::Interrupted);
    }

    #[test]
    fn degrade_keeps_the_worst_status() {
        let mut o = Outcome::ok();
        o.degrade(Status::TimedOut, "t");
        o.degrade(Status::Failed, "f");
        assert_eq!(o.status, Status::TimedOut);
        assert_eq!(o.reason.as_deref(), Some("t"));
    }

    #[test]
    fn env_lookup_is_case_insensitive_only_on_windows() {
        let w = Env::from_pairs([("Https_Proxy", "x")], true);
        assert_eq!(w.get("HTTPS_PROXY"), Some("x"));
        let l = Env::from_pairs([("Https_Proxy", "x")], false);
        assert_eq!(l.get("HTTPS_PROXY"), None);
    }
}
