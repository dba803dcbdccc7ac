//! Top-level orchestration: turn a validated configuration into a bundle and an exit code.
//! Errors are printed once, here (through [`crate::console`]).
//!
//! A collection is a short sequence of steps ([`run`]): preflight, open the bundle, start the
//! network trace ([`net_trace`]), run the collectors, stop the trace, write the bundle
//! ([`write`]).

mod net_trace;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;

use crate::analyze::Finding;
use crate::bundle::BundleWriter;
use crate::bundle::manifest::Manifest;
use crate::cancel::{self, Cancel};
use crate::cli::Cli;
use crate::collect::{self, Context, Limits, environment, system};
use crate::config::{CollectConfig, Command, DebugRun};
use crate::console;
use crate::exec::{Live, Runner};
use crate::exit::Exit;
use crate::platform::Platform;
use crate::progress::Progress;
use crate::redact::{Options as RedactOptions, Redactor};
use crate::vocab::{Env, Lang};
use net_trace::NetTrace;

/// Parse result to exit code; the one place errors are printed.
pub fn main_with(cli: Cli) -> Exit {
    let command = match cli.into_command() {
        Ok(c) => c,
        Err(e) => {
            console::error(&e.to_string());
            return Exit::Usage;
        }
    };
    match command {
        Command::Collect(cfg) => collect_command(&cfg),
        Command::Rules { json, lang } => rules_command(json, lang),
        Command::Inspect {
            bundle,
            json,
            lang,
            max_entry_bytes,
        } => inspect_command(&bundle, json, lang, max_entry_bytes),
        Command::TraceStop { platform, timeout } => trace_stop_command(platform, timeout),
    }
}

fn collect_command(cfg: &CollectConfig) -> Exit {
    match collect(cfg) {
        Ok(exit) => exit,
        Err(e) => {
            // Nothing half-written survives an error: the partial bundle and the capture
            // directory are removed by their owners' Drop; this catches anything left.
            crate::fsutil::remove_all();
            console::error(&format!("{e:#}"));
            Exit::NoBundle
        }
    }
}

fn rules_command(json: bool, lang: Lang) -> Exit {
    match console::print_rules(json, lang) {
        Ok(()) => Exit::Ok,
        Err(e) if crate::fsutil::is_broken_pipe(&e) => Exit::BrokenPipe,
        Err(e) => {
            console::error(&e.to_string());
            Exit::Failure
        }
    }
}

/// `entra-collect inspect`: 0 when verified, 1 when not (or unreadable).
fn inspect_command(bundle: &Path, json: bool, lang: Lang, max_entry_bytes: u64) -> Exit {
    match crate::inspect::inspect(bundle, max_entry_bytes, lang) {
        Ok(r) => {
            console::print_inspection(bundle, &r, json, lang);
            if r.verification.verified {
                Exit::Ok
            } else {
                Exit::Failure
            }
        }
        Err(e) => {
            console::inspect_error(&e);
            Exit::Failure
        }
    }
}

fn trace_stop_command(platform: Platform, timeout: Duration) -> Exit {
    match crate::capture::stop_leftover(platform, timeout) {
        Ok(msg) => {
            console::note(&msg);
            Exit::Ok
        }
        Err(e) => {
            console::error(&format!("{e:#}"));
            Exit::Failure
        }
    }
}

/// Stop anything that must never be left running, remove what must not be left behind (the
/// partial bundle, the unredacted capture directory) and exit 130. Called on a second Ctrl-C.
fn stop_everything() {
    crate::capture::stop_active();
    // The first Ctrl-C already cancelled every runner; give them the moment they need to kill
    // their children so none outlives this exit.
    crate::exec::wait_for_children(Duration::from_secs(3));
    crate::fsutil::remove_all_and_exit(Exit::Interrupted as i32);
}

/// What a finished run produced.
#[derive(Debug)]
pub(crate) struct RunResult {
    pub(crate) bundle: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) findings: Vec<Finding>,
}

/// Run every collector and write the bundle. Returns the exit code to use.
pub(crate) fn collect(cfg: &CollectConfig) -> anyhow::Result<Exit> {
    let cancel = Cancel::new();
    // Failing to install the handler (only possible if one exists already) is not fatal.
    let _ = cancel::install_handler(cancel.clone(), stop_everything);
    let env = Env::capture(cfg.platform);
    let redactor = redactor_for(cfg, &env);
    let progress = console::progress(cfg, redactor.clone());
    let result = run(cfg, env, redactor, cancel.clone(), &progress)?;
    let interrupted = cancel.is_cancelled();
    let shown = console::print_result(
        cfg,
        &result.bundle,
        &result.manifest,
        &result.findings,
        &progress,
    );
    if let Err(e) = shown {
        return match e.downcast_ref::<std::io::Error>() {
            // The reader of stdout went away (`| head -c1`): the bundle is written, its path
            // could not be told. No panic, a code of its own.
            Some(io) if crate::fsutil::is_broken_pipe(io) => Ok(Exit::BrokenPipe),
            _ => Err(e),
        };
    }
    Ok(if interrupted {
        Exit::Interrupted
    } else {
        Exit::Ok
    })
}

/// The redactor of a run: it knows the environment's secret values from the start.
fn redactor_for(cfg: &CollectConfig, env: &Env) -> Arc<Redactor> {
    let redactor = Arc::new(Redactor::with_options(RedactOptions {
        literals: environment::secret_values(env),
        mask_pii: cfg.mask_pii,
        mask_host: cfg
            .mask_host
            .then(|| system::host_info(cfg.platform).hostname),
    }));
    // The values withheld from our own command line (`-- az login -p X`) are known secrets
    // before the first byte of output is shown or captured.
    let _ = shown_invocation(&redactor, &cfg.invocation);
    redactor
}

/// The collection itself, with the environment, redactor and cancellation injected.
pub(crate) fn run(
    cfg: &CollectConfig,
    env: Env,
    redactor: Arc<Redactor>,
    cancel: Cancel,
    progress: &Progress,
) -> anyhow::Result<RunResult> {
    let started = Utc::now();
    let host = system::host_info(cfg.platform);
    if let Some(at) = crate::capture::leftover_running(&env) {
        console::warn_leftover_trace(progress, &at);
    }
    // Everything a trace needs is checked before anything runs (status checks that could not
    // tell whether a trace already runs are recorded with the trace).
    let trace_checks = match cfg.net_trace {
        Some(t) => crate::capture::preflight(cfg.platform, &env, t.max_mb, &cfg.output_dir)?,
        None => Vec::new(),
    };
    // Open the bundle first: an unwritable directory must fail before any work is done.
    // Under --mask-host the file name carries the pseudonym, not the name it hides.
    let file_host = if cfg.mask_host {
        crate::redact::HOST_PSEUDONYM
    } else {
        host.hostname.as_str()
    };
    let mut writer = BundleWriter::create(&cfg.output_dir, file_host, started)
        .with_context(|| format!("cannot write a bundle in {}", cfg.output_dir.display()))?;
    let ctx = Arc::new(context(cfg, env, redactor.clone(), cancel.clone()));
    // Lives to the end of this function: its guard stops the trace and removes its unredacted
    // files on every way out, errors and panics included, once the capture is in the bundle.
    let trace = NetTrace::start(cfg, &ctx.env, &cancel, trace_checks);
    let collectors = collect::all(debug_run(cfg, &redactor), cfg.network);
    let mut reports = collect::run_all(collectors, ctx.clone(), limits(cfg), progress);
    reports.extend(trace.stop(&ctx, &cancel));

    let (texts, records) = write::entries(&mut writer, &redactor, reports)?;
    let args = shown_invocation(&redactor, &cfg.invocation);
    let manifest = write::manifest(cfg, args, host, started, records, &writer, &cancel);
    let sudo = crate::fsutil::sudo_invoker(&ctx.env);
    let sudo_user = sudo.as_ref().map(|(_, _, user)| user.as_str());
    let (bundle, manifest, findings) =
        write::finish(writer, &redactor, manifest, &texts, cfg.lang, sudo_user)?;
    // Run through sudo: the bundle is for the invoking user to attach.
    if let Some((uid, gid, user)) = &sudo
        && let Err(e) = crate::fsutil::give_to(&bundle, *uid, *gid)
    {
        console::warn_not_given(progress, user, &e);
    }
    Ok(RunResult {
        bundle,
        manifest,
        findings,
    })
}

/// What every collector uses: one runner (timeouts, caps, tree kill, this run's cancellation).
fn context(cfg: &CollectConfig, env: Env, redactor: Arc<Redactor>, cancel: Cancel) -> Context {
    Context {
        runner: Runner::new(None, cfg.timeout, cfg.output_cap, cancel),
        redactor,
        platform: cfg.platform,
        env,
        tenant: cfg.tenant.clone(),
    }
}

fn limits(cfg: &CollectConfig) -> Limits {
    Limits {
        jobs: cfg.jobs,
        // A collector may run a few commands one after another.
        watchdog: cfg.timeout * 3 + Duration::from_secs(10),
        cancel_grace: Duration::from_secs(5),
    }
}

/// The sign-in command to run, with the live view of its output.
fn debug_run(cfg: &CollectConfig, redactor: &Arc<Redactor>) -> Option<(DebugRun, Live)> {
    cfg.debug_run.clone().map(|run| {
        let live = crate::collect::debug_run::live_output(
            crate::os::stderr_is_terminal(),
            redactor.clone(),
        );
        (run, live)
    })
}

/// Our own arguments as they may be shown: sanitized as entra-collect's command line (its own
/// options' values are known to be safe; everything after `--` is the sign-in command's).
fn shown_invocation(redactor: &Redactor, invocation: &[String]) -> Vec<String> {
    let argv: Vec<String> = std::iter::once(env!("CARGO_PKG_NAME").to_string())
        .chain(invocation.iter().cloned())
        .collect();
    redactor.redact_argv(&argv).0.into_iter().skip(1).collect()
}
