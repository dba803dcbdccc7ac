//! The `--net-trace` step of a run: start the capture before the collectors (or record why it
//! was skipped), let the user reproduce the failure when there is no sign-in command to run,
//! stop it after the collectors and record it as the `net.trace` collector.

use std::sync::Arc;
use std::time::Duration;

use crate::bundle::manifest::Status;
use crate::cancel::Cancel;
use crate::capture::{self, Trace, TraceGuard};
use crate::collect::{Context, Outcome, Report};
use crate::config::CollectConfig;
use crate::console;
use crate::exec::Output;
use crate::model::names;
use crate::vocab::Env;

pub(super) const TRACE_ID: &str = "net.trace";

/// The trace of one run. Keep it alive until the capture is in the bundle: dropping it stops
/// the trace (if still running) and removes its unredacted files.
pub(super) struct NetTrace {
    state: State,
    /// Trace-status checks of the preflight that could not tell whether a trace was already
    /// running: recorded with the trace, their output kept (redacted).
    checks: Vec<Output>,
    /// Declared last: dropped after everything else this holds.
    _guard: Option<TraceGuard>,
}

enum State {
    NotAsked,
    Skipped(String),
    Running { trace: Arc<Trace>, max_mb: u64 },
}

impl NetTrace {
    /// Start the trace `--net-trace` asks for; without a sign-in command, wait while the user
    /// reproduces the failure.
    pub(super) fn start(
        cfg: &CollectConfig,
        env: &Env,
        cancel: &Cancel,
        checks: Vec<Output>,
    ) -> Self {
        let Some(t) = cfg.net_trace else {
            return NetTrace {
                state: State::NotAsked,
                checks,
                _guard: None,
            };
        };
        match capture::start(cfg.platform, env, t.max_mb) {
            Ok(trace) => {
                let guard = TraceGuard(trace.clone());
                if cfg.debug_runs.is_empty() {
                    console::wait_for_enter(cancel, cfg.debug_run_limit());
                }
                NetTrace {
                    state: State::Running {
                        trace,
                        max_mb: t.max_mb,
                    },
                    checks,
                    _guard: Some(guard),
                }
            }
            Err(reason) => NetTrace {
                state: State::Skipped(reason),
                checks,
                _guard: None,
            },
        }
    }

    /// Stop the trace (once; the guard's later stop does nothing) and report it: None when
    /// no trace was asked for.
    pub(super) fn stop(&self, ctx: &Context, cancel: &Cancel) -> Option<Report> {
        let mut rep = match &self.state {
            State::NotAsked => return None,
            State::Skipped(reason) => Report {
                id: TRACE_ID,
                started_at: None,
                duration: Duration::ZERO,
                outcome: Outcome::skipped(reason.clone()),
            },
            State::Running { trace, max_mb } => {
                trace.stop();
                report(ctx, trace, *max_mb, cancel.is_cancelled())
            }
        };
        add_checks(ctx, &mut rep.outcome, &self.checks);
        Some(rep)
    }
}

/// The preflight's undecided trace-status checks: their command records (a slow check does not
/// change the trace's status) and their output, redacted, as one text entry.
fn add_checks(ctx: &Context, outcome: &mut Outcome, checks: &[Output]) {
    if checks.is_empty() {
        return;
    }
    let mut scratch = Outcome::ok();
    let mut text = String::new();
    for o in checks {
        scratch.record(ctx, o);
        text.push_str(&format!(
            "# {}\n# exit code: {}\n{}{}\n",
            o.argv.join(" "),
            crate::collect::debug_run::exit_text(o.exit_code),
            o.stdout.text().0,
            o.stderr.text().0
        ));
    }
    outcome.commands.splice(0..0, scratch.commands);
    outcome.add_text(names::TRACE_STATUS_TEXT, ctx.redactor.redact(&text));
}

/// The trace's record: its commands, its files (streamed later, unredacted) and its status.
fn report(ctx: &Context, tr: &Trace, max_mb: u64, interrupted: bool) -> Report {
    let mut outcome = Outcome::ok();
    let (outputs, problem) = tr.outcome();
    let duration = outputs.iter().map(|o| o.duration).sum();
    for o in &outputs {
        outcome.record(ctx, o);
    }
    let files = tr.files();
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        outcome.add_unredacted_file(&format!("trace/{name}"), f.clone(), max_mb << 20);
    }
    if let Some(p) = problem {
        outcome.degrade(Status::Failed, p);
    }
    if files.is_empty() {
        outcome.degrade(Status::Failed, "the trace produced no file");
    }
    if interrupted {
        outcome.degrade(
            Status::Interrupted,
            "interrupted; the trace was stopped and kept",
        );
    }
    if outcome.status == Status::Ok {
        outcome.reason = Some(format!(
            "{} trace kept unredacted: it may contain sensitive data",
            tr.tool().as_str()
        ));
    }
    Report {
        id: TRACE_ID,
        started_at: None,
        duration,
        outcome,
    }
}
