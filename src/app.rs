//! Top-level orchestration: turn a validated configuration into a bundle and an exit code.
//! Errors are printed once, here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{SecondsFormat, Utc};
use serde_json::json;

use crate::bundle::manifest::{self, CollectorRecord, Invocation, Manifest, Status, Tool};
use crate::bundle::{BundleError, BundleWriter, EntryName};
use crate::cancel::{self, Cancel};
use crate::cli::Cli;
use crate::collect::{self, Context, EntryData, Env, Limits, environment, system};
use crate::config::{CollectConfig, Command};
use crate::exec::Runner;
use crate::exit::Exit;
use crate::progress::Progress;
use crate::redact::{Options as RedactOptions, Redacted, Redactor};
use crate::report;

/// Parse result to exit code; the one place errors are printed.
pub fn main_with(cli: Cli) -> Exit {
    let command = match cli.into_command() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("entra-collect: error: {e}");
            return Exit::Usage;
        }
    };
    match command {
        Command::Collect(cfg) => match collect(&cfg) {
            Ok(exit) => exit,
            Err(e) => {
                eprintln!("entra-collect: error: {e:#}");
                Exit::NoBundle
            }
        },
        Command::Rules { json } => {
            print_rules(json);
            Exit::Ok
        }
    }
}

/// Stop anything that must never be left running. Called on a second Ctrl-C before exiting.
fn stop_everything() {}

fn print_rules(json: bool) {
    let rows = crate::redact::catalogue();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return;
    }
    for r in rows {
        println!(
            "{}\n  matches:  {}\n  example:  {}\n  becomes:  {}\n",
            r.name, r.matches, r.example, r.redacted
        );
    }
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a finished run produced.
#[derive(Debug)]
pub struct RunResult {
    pub bundle: PathBuf,
    pub manifest: Manifest,
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
    let progress = Progress::new(cfg.quiet, crate::os::stderr_is_terminal(), redactor.clone());
    let result = run(cfg, env, redactor, cancel.clone(), &progress)?;
    let interrupted = cancel.is_cancelled();
    print_result(cfg, &result, &progress)?;
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
    // Open the bundle first: an unwritable directory must fail before any work is done.
    let mut writer = BundleWriter::create(&cfg.output_dir, &host.hostname, started)
        .with_context(|| format!("cannot write a bundle in {}", cfg.output_dir.display()))?;

    let ctx = Arc::new(Context {
        runner: Runner::new(None, cfg.timeout, cfg.output_cap, cancel.clone()),
        redactor: redactor.clone(),
        platform: cfg.platform,
        env,
    });
    let limits = Limits {
        jobs: cfg.jobs,
        // A collector may run a few commands one after another.
        watchdog: cfg.timeout * 3 + Duration::from_secs(10),
        cancel_grace: Duration::from_secs(5),
    };
    let reports = collect::run_all(collect::all(), ctx, limits, progress);

    let mut texts = report::Texts::new();
    let mut collectors = Vec::new();
    for mut r in reports {
        let mut written = Vec::new();
        for entry in std::mem::take(&mut r.outcome.entries) {
            let EntryData::Text(text) = entry.data;
            match writer.add_text(&entry.name, &text) {
                Ok(_) => {
                    written.push(entry.name.as_str().to_string());
                    texts.insert(entry.name.as_str().to_string(), text.into_string());
                }
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

    let (args, _) = redactor.redact_argv(&cfg.invocation);
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
    let summary = redactor.redact(&report::summary_md(&manifest, &texts));
    writer
        .add_text(&EntryName::new("summary.md")?, &summary)
        .context("writing summary.md failed")?;
    manifest.files = writer.files().to_vec();
    manifest.finished_at = rfc3339(Utc::now());
    let manifest_text = redact_json(&redactor, &manifest)?;
    let bundle = writer
        .finish(&manifest_text)
        .context("finishing the bundle failed")?;
    Ok(RunResult { bundle, manifest })
}

fn redact_json<T: serde::Serialize>(redactor: &Redactor, value: &T) -> anyhow::Result<Redacted> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    Ok(redactor.redact(&text))
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
        });
        // --json output passes the redactor like everything else that leaves the process.
        let text = redact_json(progress.redactor(), &value)?;
        print!("{}", text.as_str());
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
    println!("{}", display_path(&r.bundle));
    Ok(())
}
