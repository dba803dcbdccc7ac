//! Writing a run's bundle: the collectors' entries (text re-redacted with every secret learned
//! since, captures streamed), the manifest, `findings.json`, `summary.md`, then the rename into
//! place.

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::analyze::{self, Finding, Model};
use crate::bundle::manifest::{
    self, CollectorRecord, Host, Invocation, Manifest, RunStatus, Status, Tool,
};
use crate::bundle::{BundleError, BundleWriter, EntryName};
use crate::cancel::Cancel;
use crate::collect::{Entry, EntryData, Outcome, Report};
use crate::config::CollectConfig;
use crate::model::{self, Bundle, names};
use crate::redact::{Redacted, Redactor};
use crate::report;
use crate::vocab::{Lang, Texts};

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// JSON is redacted value by value, never as serialized text, so it stays valid JSON.
fn redact_json<T: serde::Serialize>(redactor: &Redactor, value: &T) -> anyhow::Result<Redacted> {
    Ok(redactor.redact_to_json(value)?)
}

/// Write every collector's entries; returns the texts written (what the findings read) and one
/// manifest record per collector. An entry the bundle refuses fails its collector, not the run.
pub(super) fn entries(
    writer: &mut BundleWriter,
    redactor: &Redactor,
    reports: Vec<Report>,
) -> anyhow::Result<(Texts, Vec<CollectorRecord>)> {
    let mut texts = Texts::new();
    let mut collectors = Vec::new();
    for mut r in reports {
        let mut written = Vec::new();
        for entry in std::mem::take(&mut r.outcome.entries) {
            let name = entry.name.as_str().to_string();
            match entry_into(writer, redactor, &mut texts, entry, &mut r.outcome) {
                Ok(true) => written.push(name),
                Ok(false) => {}
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
    Ok((texts, collectors))
}

/// Write one entry. `Ok(false)`: a capture that could not be read (its collector is failed).
fn entry_into(
    writer: &mut BundleWriter,
    redactor: &Redactor,
    texts: &mut Texts,
    entry: Entry,
    outcome: &mut Outcome,
) -> Result<bool, BundleError> {
    match entry.data {
        // Again, with every secret learned since from any collector's output.
        EntryData::Text(text) => {
            let text = redactor.reredact(&text);
            writer.add_text(&entry.name, &text)?;
            texts.insert(entry.name.as_str().to_string(), text.into_string());
            Ok(true)
        }
        // Again too, but value by value so that it stays valid JSON.
        EntryData::Json(text) => {
            let text = redactor.reredact_json(&text);
            writer.add_text(&entry.name, &text)?;
            texts.insert(entry.name.as_str().to_string(), text.into_string());
            Ok(true)
        }
        // Never through a symlink, never anything but a regular file.
        EntryData::Unredacted { path, max_bytes } => {
            match crate::fsutil::open_regular(&path, false) {
                Ok((f, _)) => {
                    writer.add_unredacted_stream(&entry.name, f, max_bytes)?;
                    Ok(true)
                }
                Err(e) => {
                    outcome.degrade(
                        Status::Failed,
                        format!("cannot read {}: {e}", path.display()),
                    );
                    Ok(false)
                }
            }
        }
    }
}

/// The manifest as it stands once the collectors' entries are written (`finished_at` and the
/// file list are completed by [`finish`]).
pub(super) fn manifest(
    cfg: &CollectConfig,
    args: Vec<String>,
    host: Host,
    started: DateTime<Utc>,
    collectors: Vec<CollectorRecord>,
    writer: &BundleWriter,
    cancel: &Cancel,
) -> Manifest {
    Manifest {
        schema_version: manifest::SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        created_at: rfc3339(started),
        finished_at: String::new(),
        utc_offset: Some(
            started
                .with_timezone(&chrono::Local)
                .format("%:z")
                .to_string(),
        ),
        status: if cancel.is_cancelled() {
            RunStatus::Interrupted
        } else {
            RunStatus::Complete
        },
        host,
        invocation: Invocation {
            args,
            timeout_secs: cfg.timeout.as_secs(),
        },
        collectors,
        files: writer.files().to_vec(),
    }
}

/// Analyse the entries, write `findings.json`, `summary.md` (with a note for the user who ran
/// us through sudo) and `manifest.json`, and rename the bundle into place.
pub(super) fn finish(
    mut writer: BundleWriter,
    redactor: &Redactor,
    mut manifest: Manifest,
    texts: &Texts,
    lang: Lang,
    sudo_user: Option<&str>,
) -> anyhow::Result<(PathBuf, Manifest, Vec<Finding>)> {
    // The findings read the bundle's own entries, typed, exactly as `inspect` will.
    let bundle = Bundle::from_texts(texts);
    let findings = analyze::analyze(
        &Model {
            bundle: &bundle,
            collectors: &manifest.collectors,
        },
        lang,
    );
    let findings_json = redact_json(
        redactor,
        &model::Findings {
            findings: findings.clone(),
        },
    )?;
    writer
        .add_text(&EntryName::new(names::FINDINGS)?, &findings_json)
        .context("writing findings.json failed")?;
    manifest.files = writer.files().to_vec();
    let mut summary_text = report::summary_md(Some(&manifest), &bundle, &findings, lang);
    if let Some(user) = sudo_user {
        summary_text = report::with_sudo_note(&summary_text, user, lang);
    }
    let summary = redactor.redact(&summary_text);
    writer
        .add_text(&EntryName::new(names::SUMMARY)?, &summary)
        .context("writing summary.md failed")?;
    manifest.files = writer.files().to_vec();
    manifest.finished_at = rfc3339(Utc::now());
    let manifest_text = redact_json(redactor, &manifest)?;
    let bundle = writer
        .finish(&manifest_text)
        .context("finishing the bundle failed")?;
    Ok((bundle, manifest, findings))
}
