//! Top-level orchestration: turn a validated configuration into a bundle and an exit code.
//! Errors are printed once, here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{SecondsFormat, Utc};
use serde_json::json;

use crate::analyze::{self, Finding, Model, Severity};
use crate::bundle::manifest::{self, CollectorRecord, Invocation, Manifest, Status, Tool};
use crate::bundle::{BundleError, BundleWriter, EntryName};
use crate::cancel::{self, Cancel};
use crate::cli::Cli;
use crate::collect::{self, Context, EntryData, Limits, environment, system};
use crate::config::{CollectConfig, Command};
use crate::exec::Runner;
use crate::exit::Exit;
use crate::progress::Progress;
use crate::redact::{Options as RedactOptions, Redacted, Redactor};
use crate::report;
use crate::trace::{self, TraceGuard};
use crate::vocab::{Env, Lang, Texts};

/// Parse result to exit code; the one place errors are printed.
pub fn main_with(cli: Cli) -> Exit {
    let command = match cli.into_command() {
        Ok(c) => c,
        Err(e) => {
            crate::fsutil::err_line(&format!("entra-collect: error: {e}"));
            return Exit::Usage;
        }
    };
    match command {
        Command::Collect(cfg) => match collect(&cfg) {
            Ok(exit) => exit,
            Err(e) => {
                // Nothing half-written survives an error: the partial bundle and the capture
                // directory are removed by their owners' Drop; this catches anything left.
                crate::fsutil::remove_all();
                crate::fsutil::err_line(&format!("entra-collect: error: {e:#}"));
                Exit::NoBundle
            }
        },
        Command::Rules { json } => match print_rules(json) {
            Ok(()) => Exit::Ok,
            Err(e) if crate::fsutil::is_broken_pipe(&e) => Exit::BrokenPipe,
            Err(e) => {
                crate::fsutil::err_line(&format!("entra-collect: error: {e}"));
                Exit::Failure
            }
        },
        Command::Inspect {
            bundle,
            json,
            lang,
            max_entry_bytes,
        } => run_inspect(&bundle, json, lang, max_entry_bytes),
        Command::TraceStop { platform, timeout } => {
            match crate::trace::stop_leftover(platform, timeout) {
                Ok(msg) => {
                    crate::fsutil::err_line(&format!("entra-collect: {msg}"));
                    Exit::Ok
                }
                Err(e) => {
                    crate::fsutil::err_line(&format!("entra-collect: error: {e:#}"));
                    Exit::Failure
                }
            }
        }
    }
}

/// Stop anything that must never be left running, remove what must not be left behind (the
/// partial bundle, the unredacted capture directory) and exit 130. Called on a second Ctrl-C.
fn stop_everything() {
    crate::trace::stop_active();
    // The first Ctrl-C already cancelled every runner; give them the moment they need to kill
    // their children so none outlives this exit.
    crate::exec::wait_for_children(Duration::from_secs(3));
    crate::fsutil::remove_all_and_exit(Exit::Interrupted as i32);
}

fn print_rules(json: bool) -> std::io::Result<()> {
    use crate::fsutil::out;
    let rows = crate::redact::catalogue();
    if json {
        return out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        ));
    }
    for r in rows {
        out(&format!(
            "{}\n  matches:  {}\n  example:  {}\n  becomes:  {}\n\n",
            r.name, r.matches, r.example, r.redacted
        ))?;
    }
    Ok(())
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a finished run produced.
#[derive(Debug)]
pub struct RunResult {
    pub bundle: PathBuf,
    pub manifest: Manifest,
    pub findings: Vec<Finding>,
}

/// Run every collector and write the bundle. Returns the exit code to use.
pub fn collect(cfg: &CollectConfig) -> anyhow::Result<Exit> {
    let cancel = Cancel::new();
    // Failing to install the handler (only possible if one exists already) is not fatal.
    let _ = cancel::install_handler(cancel.clone(), stop_everything);
    let env = Env::capture(cfg.platform);
    let redactor = Arc::new(Redactor::with_options(RedactOptions {
        literals: environment::secret_values(&env),
        mask_pii: cfg.mask_pii,
    }));
    // The values withheld from our own command line (`-- az login -p X`) are known secrets
    // before the first byte of output is shown or captured.
    let _ = shown_invocation(&redactor, &cfg.invocation);
    // Spinners would garble the live output of an interactive sign-in.
    let spinners = crate::os::stderr_is_terminal() && cfg.debug_run.is_none();
    let mut progress = Progress::new(cfg.quiet, spinners, redactor.clone());
    if cfg.debug_run.is_some() {
        progress = progress.hold_while(crate::collect::debug_run::ID);
    }
    let result = run(cfg, env, redactor, cancel.clone(), &progress)?;
    let interrupted = cancel.is_cancelled();
    if let Err(e) = print_result(cfg, &result, &progress) {
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

/// The collection itself, with the environment, redactor and cancellation injected.
pub fn run(
    cfg: &CollectConfig,
    env: Env,
    redactor: Arc<Redactor>,
    cancel: Cancel,
    progress: &Progress,
) -> anyhow::Result<RunResult> {
    let started = Utc::now();
    let host = system::host_info(cfg.platform);
    if let Ok(state_dir) = trace::state_dir(&env)
        && let Some(s) = trace::read_state(&state_dir)
        && trace::capture_running(&s)
    {
        progress.say(&format!(
            "entra-collect: warning: a network trace started at {} by an earlier run may still be running; stop it with `entra-collect trace stop`",
            s.started_at
        ));
    }
    // Everything a trace needs is checked before anything runs.
    if let Some(t) = cfg.net_trace {
        trace::preflight(cfg.platform, &env, t.max_mb, &cfg.output_dir)?;
    }
    // Open the bundle first: an unwritable directory must fail before any work is done.
    let mut writer = BundleWriter::create(&cfg.output_dir, &host.hostname, started)
        .with_context(|| format!("cannot write a bundle in {}", cfg.output_dir.display()))?;

    let ctx = Arc::new(Context {
        runner: Runner::new(None, cfg.timeout, cfg.output_cap, cancel.clone()),
        redactor: redactor.clone(),
        platform: cfg.platform,
        env,
        tenant: cfg.tenant.clone(),
    });
    let limits = Limits {
        jobs: cfg.jobs,
        // A collector may run a few commands one after another.
        watchdog: cfg.timeout * 3 + Duration::from_secs(10),
        cancel_grace: Duration::from_secs(5),
    };
    let (trace, mut trace_report) = match cfg.net_trace {
        Some(t) => match trace::start(cfg.platform, &ctx.env, t.max_mb) {
            Ok(tr) => (Some(tr), None),
            Err(reason) => (None, Some(skipped_trace(reason))),
        },
        None => (None, None),
    };
    // Stops the trace and removes its unredacted files on every path out of this function,
    // errors and panics included: it lives until the capture is in the bundle.
    let _guard = trace.clone().map(TraceGuard);
    if trace.is_some() && cfg.debug_run.is_none() {
        wait_for_enter(&cancel, cfg.debug_run_limit());
    }
    let debug_run = cfg.debug_run.clone().map(|run| {
        let live = crate::collect::debug_run::live_output(
            crate::os::stderr_is_terminal(),
            redactor.clone(),
        );
        (run, live)
    });
    let mut reports = collect::run_all(
        collect::all(debug_run, cfg.network),
        ctx.clone(),
        limits,
        progress,
    );
    if let (Some(tr), Some(t)) = (&trace, cfg.net_trace) {
        tr.stop();
        trace_report = Some(trace_outcome(&ctx, tr, t.max_mb, cancel.is_cancelled()));
    }
    reports.extend(trace_report);

    let mut texts = Texts::new();
    let mut collectors = Vec::new();
    for mut r in reports {
        let mut written = Vec::new();
        for entry in std::mem::take(&mut r.outcome.entries) {
            let result = match entry.data {
                // Again, with every secret learned since from any collector's output.
                EntryData::Text(text) => {
                    let text = redactor.reredact(&text);
                    writer.add_text(&entry.name, &text).map(|_| {
                        texts.insert(entry.name.as_str().to_string(), text.into_string());
                    })
                }
                // Never through a symlink, never anything but a regular file.
                EntryData::Unredacted { path, max_bytes } => {
                    match crate::fsutil::open_regular(&path, false) {
                        Ok((f, _)) => writer
                            .add_unredacted_stream(&entry.name, f, max_bytes)
                            .map(|_| ()),
                        Err(e) => {
                            r.outcome.degrade(
                                Status::Failed,
                                format!("cannot read {}: {e}", path.display()),
                            );
                            continue;
                        }
                    }
                }
            };
            match result {
                Ok(()) => written.push(entry.name.as_str().to_string()),
                Err(e @ (BundleError::Duplicate(_) | BundleError::BadName(_))) => {
                    r.outcome.degrade(Status::Failed, e.to_string());
                }
                Err(e) => return Err(e).context("writing the bundle failed"),
            }
        }
        collectors.push(CollectorRecord {
            id: r.id.to_string(),
            status: r.outcome.status,
            reason: r.outcome.reason.map(|x| redactor.redact(&x).into_string()),
            started_at: r.started_at.map(rfc3339),
            duration_ms: r.duration.as_millis() as u64,
            entries: written,
            commands: r.outcome.commands,
        });
    }

    let args = shown_invocation(&redactor, &cfg.invocation);
    let mut manifest = Manifest {
        schema_version: manifest::SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        created_at: rfc3339(started),
        finished_at: String::new(),
        status: if cancel.is_cancelled() {
            "interrupted"
        } else {
            "complete"
        }
        .into(),
        host,
        invocation: Invocation {
            args,
            timeout_secs: cfg.timeout.as_secs(),
        },
        collectors,
        files: writer.files().to_vec(),
    };
    // The findings read the bundle's own entries, exactly as `inspect` will.
    let findings = analyze::analyze(
        &Model {
            texts: &texts,
            collectors: &manifest.collectors,
        },
        cfg.lang,
    );
    let findings_json = redact_json(&redactor, &json!({ "findings": findings }))?;
    writer
        .add_text(&EntryName::new("findings.json")?, &findings_json)
        .context("writing findings.json failed")?;
    manifest.files = writer.files().to_vec();
    let sudo = crate::fsutil::sudo_invoker(&ctx.env);
    let mut summary_text = report::summary_md(&manifest, &texts, &findings, cfg.lang);
    if let Some((_, _, user)) = &sudo {
        summary_text = report::with_sudo_note(&summary_text, user, cfg.lang);
    }
    let summary = redactor.redact(&summary_text);
    writer
        .add_text(&EntryName::new("summary.md")?, &summary)
        .context("writing summary.md failed")?;
    manifest.files = writer.files().to_vec();
    manifest.finished_at = rfc3339(Utc::now());
    let manifest_text = redact_json(&redactor, &manifest)?;
    let bundle = writer
        .finish(&manifest_text)
        .context("finishing the bundle failed")?;
    // Run through sudo: the bundle is for the invoking user to attach.
    if let Some((uid, gid, user)) = &sudo
        && let Err(e) = crate::fsutil::give_to(&bundle, *uid, *gid)
    {
        progress.say(&format!(
            "entra-collect: warning: cannot give the bundle to {user}: {e}"
        ));
    }
    Ok(RunResult {
        bundle,
        manifest,
        findings,
    })
}

const TRACE_ID: &str = "net.trace";

fn skipped_trace(reason: String) -> collect::Report {
    collect::Report {
        id: TRACE_ID,
        started_at: None,
        duration: Duration::ZERO,
        outcome: collect::Outcome::skipped(reason),
    }
}

/// The trace's record: its commands, its files (streamed later, unredacted) and its status.
fn trace_outcome(
    ctx: &Context,
    tr: &trace::Trace,
    max_mb: u64,
    interrupted: bool,
) -> collect::Report {
    let mut outcome = collect::Outcome::ok();
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
            match tr.tool() {
                trace::Tool::Netsh => "netsh",
                trace::Tool::Tcpdump => "tcpdump",
            }
        ));
    }
    collect::Report {
        id: TRACE_ID,
        started_at: None,
        duration,
        outcome,
    }
}

/// Without a sign-in command to run, the trace records while the user reproduces the failure.
fn wait_for_enter(cancel: &Cancel, limit: Duration) {
    crate::fsutil::err_line(
        "entra-collect: the network trace is running. Reproduce the failing sign-in now, then press Enter here (Ctrl-C stops).",
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = tx.send(());
    });
    let t0 = std::time::Instant::now();
    while rx.recv_timeout(Duration::from_millis(100)).is_err()
        && !cancel.is_cancelled()
        && t0.elapsed() < limit
    {}
}

/// Our own arguments as they may be shown: sanitized as entra-collect's command line (its own
/// options' values are known to be safe; everything after `--` is the sign-in command's).
fn shown_invocation(redactor: &Redactor, invocation: &[String]) -> Vec<String> {
    let argv: Vec<String> = std::iter::once(env!("CARGO_PKG_NAME").to_string())
        .chain(invocation.iter().cloned())
        .collect();
    redactor.redact_argv(&argv).0.into_iter().skip(1).collect()
}

/// JSON is redacted value by value, never as serialized text, so it stays valid JSON.
fn redact_json<T: serde::Serialize>(redactor: &Redactor, value: &T) -> anyhow::Result<Redacted> {
    Ok(redactor.redact_to_json(value)?)
}

fn display_path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn print_result(cfg: &CollectConfig, r: &RunResult, progress: &Progress) -> anyhow::Result<()> {
    let m = &r.manifest;
    if cfg.json {
        let value = json!({
            "bundle": display_path(&r.bundle),
            "status": m.status,
            "collectors": m.collectors.iter().map(|c| json!({
                "id": c.id,
                "status": c.status.as_str(),
                "reason": c.reason,
            })).collect::<Vec<_>>(),
            "files": m.files.len() + 1,
            "findings": r.findings,
        });
        // --json output passes the redactor like everything else that leaves the process.
        let text = redact_json(progress.redactor(), &value)?;
        crate::fsutil::out(text.as_str())?;
        return Ok(());
    }
    let redactions: u64 = m.files.iter().flat_map(|f| f.redactions.values()).sum();
    let not_ok = m
        .collectors
        .iter()
        .filter(|c| c.status != Status::Ok)
        .count();
    let counts: BTreeMap<&str, usize> = m.collectors.iter().fold(BTreeMap::new(), |mut acc, c| {
        *acc.entry(c.status.as_str()).or_insert(0) += 1;
        acc
    });
    let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    progress.say(&format!(
        "entra-collect: bundle {} with {} files ({}; {} values redacted){}",
        if m.status == "interrupted" {
            "(partial, interrupted)"
        } else {
            "written"
        },
        m.files.len() + 1,
        counts.join(", "),
        redactions,
        if not_ok > 0 {
            "; see summary.md for what was skipped"
        } else {
            ""
        }
    ));
    print_findings(&r.findings, progress, cfg.lang);
    crate::fsutil::out(&format!("{}\n", display_path(&r.bundle)))?;
    Ok(())
}

/// The top findings on stderr, most likely cause first; colour only on a terminal without
/// NO_COLOR.
fn print_findings(findings: &[Finding], progress: &Progress, lang: Lang) {
    let colour = crate::os::stderr_is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    if serious.is_empty() {
        progress.say(&lang.t(
            "entra-collect: no problem found in what was collected",
            "entra-collect: 収集した情報からは問題は見つかりませんでした",
        ));
        return;
    }
    progress.say(&lang.t(
        "entra-collect: most likely first:",
        "entra-collect: 可能性の高い順:",
    ));
    for f in serious.iter().take(3) {
        let (code, word) = match f.severity {
            Severity::Error => ("1;31", lang.t("error", "エラー")),
            _ => ("1;33", lang.t("warning", "警告")),
        };
        progress.say(&format!("  {} {} [{}]", paint(code, &word), f.title, f.id));
        if let Some(fix) = f.fix.first() {
            progress.say(&format!("      {} {fix}", lang.t("fix:", "対処:")));
        }
    }
}

/// `entra-collect inspect`: 0 when verified, 1 when not (or unreadable).
fn run_inspect(bundle: &Path, json_out: bool, lang: Lang, max_entry_bytes: u64) -> Exit {
    use crate::term::{json_terminal_safe, terminal_safe_text};
    let r = match crate::inspect::inspect(bundle, max_entry_bytes, lang) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "entra-collect: error: {}",
                terminal_safe_text(&e.to_string())
            );
            return Exit::Failure;
        }
    };
    let redactor = Redactor::new();
    let v = &r.verification;
    if json_out {
        let value = json!({
            "bundle": display_path(bundle),
            "verification": v,
            "created_at": r.manifest.created_at,
            "tool": r.manifest.tool,
            "status": r.manifest.status,
            "findings": r.findings,
        });
        // JSON escapes C0 controls itself; DEL, C1 and bidi controls become \uXXXX escapes.
        match redact_json(&redactor, &value) {
            Ok(t) => print!("{}", json_terminal_safe(t.as_str())),
            Err(e) => eprintln!("entra-collect: error: {e}"),
        }
    } else {
        // Everything from the bundle is escaped: fields one by one (newlines too), then the page.
        let (mut manifest, findings) = r.terminal_safe_parts();
        // Re-render with this version's findings; the manifest's own file list is kept.
        manifest.files.retain(|f| f.path != "summary.md");
        let page = report::summary_md(&manifest, &r.texts, &findings, lang);
        let head = v.headline(lang);
        let out = redactor.redact(&format!("{head}\n\n{page}"));
        print!("{}", terminal_safe_text(out.as_str()));
    }
    if v.verified { Exit::Ok } else { Exit::Failure }
}
