//! Top-level orchestration: turn a validated configuration into a bundle and an exit code.
//! Errors are printed once, here (through [`crate::console`]).
//!
//! A collection is a short sequence of steps ([`run`]): the guided question when no sign-in was
//! named ([`guided`]), preflight, open the bundle, start the network trace ([`net_trace`]), run
//! the collectors, stop the trace, write the bundle ([`write`]).

mod guided;
mod net_trace;
mod preview;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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

/// `--json` anywhere before `--`: errors are printed as JSON on stdout too.
fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// The command line could not be parsed: clap's message (or `--help` / `--version`), as JSON
/// on stdout with `--json`.
pub fn usage_error(e: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) || !json_requested()
    {
        // Help on stdout (exit 0), errors on stderr (exit 2); a closed pipe is not a panic.
        let _ = e.print();
        return if e.use_stderr() {
            Exit::Usage
        } else {
            Exit::Ok
        };
    }
    let message = e.render().to_string();
    // clap's first line, without its "error: " prefix; the usage lines are for a terminal.
    let first = message
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    console::json_error("usage", first);
    Exit::Usage
}

/// Parse result to exit code; the one place errors are printed.
pub fn main_with(cli: Cli) -> Exit {
    let command = match cli.into_command() {
        Ok(c) => c,
        Err(e) => {
            if json_requested() {
                console::json_error("usage", &e);
            } else {
                console::error(&e);
            }
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
        Command::List { lang } => preview::list(lang),
        Command::Completions(shell) => preview::completions(shell),
        Command::Man => preview::man(),
    }
}

fn collect_command(cfg: &CollectConfig) -> Exit {
    if cfg.dry_run {
        return preview::dry_run(cfg);
    }
    let cancel = Cancel::new();
    // Failing to install the handler (only possible if one exists already) is not fatal.
    let _ = cancel::install_handler(cancel.clone(), stop_everything);
    let mut cfg = cfg.clone();
    cancel::set_prompting(true);
    let asked = guided::ask_if_wanted(&mut cfg);
    cancel::set_prompting(false);
    if asked.is_err() {
        // Nothing was opened or started yet.
        return Exit::Interrupted;
    }
    match collect(&cfg, cancel) {
        Ok(exit) => exit,
        Err(e) => {
            // Nothing half-written survives an error: the partial bundle and the capture
            // directory are removed by their owners' Drop; this catches anything left.
            crate::fsutil::remove_all();
            let (kind, message) = match e.downcast_ref::<OutputDirError>() {
                Some(o) => ("output_dir", o.message(cfg.lang)),
                None => ("no_bundle", error_text(&e)),
            };
            if cfg.json {
                console::json_error(kind, &message);
            } else {
                console::error(&message);
            }
            Exit::NoBundle
        }
    }
}

/// An error and its causes on one line, each said once: a cause whose text its context already
/// quotes (`cannot create a file in X: Permission denied` over `Permission denied`) is left out.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// The output directory cannot be created or written to: said once, with what to do.
#[derive(Debug)]
pub(crate) struct OutputDirError {
    dir: PathBuf,
    error: std::io::Error,
}

impl OutputDirError {
    fn message(&self, lang: Lang) -> String {
        use std::io::ErrorKind as K;
        let dir = self.dir.display();
        let why = match self.error.kind() {
            K::PermissionDenied => lang.t("permission denied", "アクセスが拒否されました"),
            K::NotFound => lang.t("it does not exist", "存在しません"),
            K::ReadOnlyFilesystem => lang.t(
                "read-only file system",
                "読み取り専用のファイル システムです",
            ),
            K::StorageFull => lang.t(
                "no space left on the disk",
                "ディスクの空き容量がありません",
            ),
            K::NotADirectory | K::AlreadyExists => {
                lang.t("not a directory", "ディレクトリではありません")
            }
            _ => {
                // The OS's text without the "(os error N)" tail.
                let t = self.error.to_string();
                match t.find(" (os error") {
                    Some(k) => t[..k].to_lowercase(),
                    None => t,
                }
            }
        };
        lang.t(
            &format!("Cannot write to {dir}: {why}. Choose another directory with -o."),
            &format!("{dir} に書き込めません: {why}。-o で別のディレクトリを指定してください。"),
        )
    }
}

impl std::fmt::Display for OutputDirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for OutputDirError {}

/// `-o DIR`: create it when missing (0700 on Unix: the bundle is private), then check that a
/// file can be created in it by opening the bundle.
fn output_dir_ready(dir: &Path) -> Result<(), OutputDirError> {
    let fail = |error| OutputDirError {
        dir: dir.to_path_buf(),
        error,
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(fail(std::io::Error::from(
            std::io::ErrorKind::NotADirectory,
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(fail)
        }
        Err(e) => Err(fail(e)),
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
        Err(e) if json => {
            // JSON escapes every control character the message could quote from the file.
            console::json_error("inspect", &e.to_string());
            Exit::Failure
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
            console::error(&error_text(&e));
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
pub(crate) fn collect(cfg: &CollectConfig, cancel: Cancel) -> anyhow::Result<Exit> {
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
            // The reader of stdout went away (`| head -1`): the bundle is written and nothing
            // is wrong with it, so the run succeeded; quietly, no panic.
            Some(io) if crate::fsutil::is_broken_pipe(io) => Ok(if interrupted {
                Exit::Interrupted
            } else {
                Exit::Ok
            }),
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
    output_dir_ready(&cfg.output_dir)?;
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
    let mut writer =
        BundleWriter::create(&cfg.output_dir, file_host, started).map_err(|e| match e {
            crate::bundle::BundleError::Create { dir, source } => {
                anyhow::Error::new(OutputDirError { dir, error: source })
            }
            other => anyhow::Error::new(other).context(format!(
                "cannot write a bundle in {}",
                cfg.output_dir.display()
            )),
        })?;
    let ctx = Arc::new(context(cfg, env, redactor.clone(), cancel.clone()));
    // Lives to the end of this function: its guard stops the trace and removes its unredacted
    // files on every way out, errors and panics included, once the capture is in the bundle.
    let trace = NetTrace::start(cfg, &ctx.env, &cancel, trace_checks);
    let collectors = collect::registry::select(
        collect::all(debug_run(cfg, &redactor), cfg.network, &cfg.selection),
        &cfg.selection,
    );
    let mut reports = collect::run_all(collectors, ctx.clone(), limits(cfg), progress);
    reports.extend(trace.stop(&ctx, &cancel));

    let (texts, records) = write::entries(&mut writer, &redactor, reports)?;
    if let Some(t) = records.iter().find(|r| r.id == net_trace::TRACE_ID) {
        console::trace_line(progress, t, writer.files(), cfg.lang);
    }
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
fn debug_run(cfg: &CollectConfig, redactor: &Arc<Redactor>) -> Option<(Vec<DebugRun>, Live)> {
    if cfg.debug_runs.is_empty() {
        return None;
    }
    let live =
        crate::collect::debug_run::live_output(crate::os::stderr_is_terminal(), redactor.clone());
    Some((cfg.debug_runs.clone(), live))
}

/// Our own arguments as they may be shown: sanitized as entra-collect's command line (its own
/// options' values are known to be safe; everything after `--` is the sign-in command's).
fn shown_invocation(redactor: &Redactor, invocation: &[String]) -> Vec<String> {
    let argv: Vec<String> = std::iter::once(env!("CARGO_PKG_NAME").to_string())
        .chain(invocation.iter().cloned())
        .collect();
    redactor.redact_argv(&argv).0.into_iter().skip(1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_says_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let text = io.to_string();
        let e = anyhow::Error::new(io).context(format!("cannot create a file in /x: {text}"));
        assert_eq!(
            error_text(&e),
            format!("cannot create a file in /x: {text}")
        );
        let e = anyhow::anyhow!("disk full").context("writing the bundle failed");
        assert_eq!(error_text(&e), "writing the bundle failed: disk full");
    }

    #[test]
    fn an_unwritable_output_directory_says_what_to_do() {
        let e = OutputDirError {
            dir: PathBuf::from("/srv/out"),
            error: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            e.message(Lang::En),
            "Cannot write to /srv/out: permission denied. Choose another directory with -o."
        );
        assert_eq!(
            e.message(Lang::Ja),
            "/srv/out に書き込めません: アクセスが拒否されました。-o で別のディレクトリを指定してください。"
        );
        let e = OutputDirError {
            dir: PathBuf::from("/srv/out"),
            error: std::io::Error::from_raw_os_error(libc_eio()),
        };
        assert!(
            !e.message(Lang::En).contains("os error"),
            "{}",
            e.message(Lang::En)
        );
    }

    /// EIO, an error kind without words of our own.
    fn libc_eio() -> i32 {
        5
    }
}
