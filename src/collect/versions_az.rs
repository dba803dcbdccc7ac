//! `versions.az`: the Azure CLI's version (`az version -o json`: azure-cli, core, telemetry,
//! extensions) plus what `az --version` adds (msal, Python version, platform and location,
//! config and extension directories), asked of az's own Python in the same moment (see
//! [`super::az_python`]): `az --version` itself always checks for updates over the network.
//! az runs with the user's own configuration; nothing from its config directory is copied into
//! the bundle.

use std::sync::Arc;

use serde_json::Value;

use super::az_python::{AzPythonCell, AzPythonFacts};
use super::{Collector, Context, Outcome, json_str, strip_bom};
use crate::bundle::manifest::Status;
use crate::exec::{Cmd, Decode, ExecError, Output};
use crate::model::{AzVersions, names};

pub struct VersionsAz {
    /// Azure CLI's Python facts, shared with `tls`.
    pub python: Arc<AzPythonCell>,
    /// Whether the Python call is recorded here (always, but when tls records it instead).
    pub records_python: bool,
}

/// One member of `az version -o json`, its name with `_` for `-`: the known ones into their
/// fields, any other kept as az wrote it.
fn put_version_member(facts: &mut AzVersions, key: String, v: Value) {
    let slot = match key.as_str() {
        "azure_cli" => &mut facts.azure_cli,
        "azure_cli_core" => &mut facts.azure_cli_core,
        "azure_cli_telemetry" => &mut facts.azure_cli_telemetry,
        "msal" => &mut facts.msal,
        "python_version" => &mut facts.python_version,
        "python_platform" => &mut facts.python_platform,
        "python_location" => &mut facts.python_location,
        "config_directory" => &mut facts.config_directory,
        "extensions_directory" => &mut facts.extensions_directory,
        "extensions" => {
            if let Value::Object(m) = v {
                facts.extensions = Some(
                    m.into_iter()
                        .filter_map(|(name, ver)| Some((name, json_str(&ver)?)))
                        .collect(),
                );
            }
            return;
        }
        // The path we resolved is ours; nothing az prints replaces it.
        "az_path" => return,
        _ => {
            facts.other.insert(key, v);
            return;
        }
    };
    *slot = json_str(&v);
}

/// What `az --version` would add, from az's Python; `az version -o json` wins where it gave
/// the fact.
fn fill_from_python(facts: &mut AzVersions, f: &AzPythonFacts) {
    for (slot, v) in [
        (&mut facts.msal, &f.msal),
        (&mut facts.python_version, &f.python_version),
        (&mut facts.python_platform, &f.python_platform),
        (&mut facts.python_location, &f.python_location),
        (&mut facts.config_directory, &f.config_directory),
        (&mut facts.extensions_directory, &f.extensions_directory),
    ] {
        if slot.is_none() {
            slot.clone_from(v);
        }
    }
    if facts.extensions.is_none()
        && let Some(ext) = &f.extensions
    {
        facts.extensions = Some(ext.clone());
    }
}

fn run(ctx: &Context, out: &mut Outcome, cmd: Cmd) -> Option<Output> {
    match ctx.runner.run(&cmd) {
        Ok(o) => {
            out.record(ctx, &o);
            Some(o)
        }
        Err(e) => {
            out.degrade(Status::Failed, e.to_string());
            None
        }
    }
}

fn raw_section(title: &str, o: &Output) -> String {
    let (stdout, _) = o.stdout.text();
    let (stderr, _) = o.stderr.text();
    format!(
        "### {title}\n# exit code: {}, timed out: {}, {} ms\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
        crate::collect::debug_run::exit_text(o.exit_code),
        o.timed_out,
        o.duration.as_millis(),
        stdout.trim_end(),
        stderr.trim_end()
    )
}

impl Collector for VersionsAz {
    fn id(&self) -> &'static str {
        "versions.az"
    }
    fn commands(&self) -> u32 {
        2 // az version -o json beside az's Python (which tls may have started first)
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let Some(az) = ctx.runner.resolve("az") else {
            return Outcome::skipped(ExecError::NotFound("az".into()).to_string() + " on PATH");
        };
        let mut out = Outcome::ok();
        // Keep our own runs of az from sending telemetry or starting its background uploader.
        // Its Python writes the ANSI code page to our pipes (Windows).
        let base = |args: &[&str]| {
            Cmd::new("az")
                .args(args.iter().copied())
                .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
                .decode(Decode::Ansi)
        };
        let mut raw = String::new();
        let mut facts = AzVersions {
            az_path: az.to_string_lossy().into_owned(),
            ..AzVersions::default()
        };

        // `az version -o json` and az's Python run side by side: neither waits for the other.
        let (version, py) = std::thread::scope(|s| {
            let py = s.spawn(|| self.python.read(ctx));
            let version = run(ctx, &mut out, base(&["version", "-o", "json"]));
            (version, py.join())
        });
        if let Some(o) = version {
            raw.push_str(&raw_section("az version -o json", &o));
            let (text, _) = o.stdout.text();
            match serde_json::from_str::<Value>(strip_bom(&text)) {
                Ok(Value::Object(m)) => {
                    for (k, v) in m {
                        put_version_member(&mut facts, k.replace('-', "_"), v);
                    }
                }
                _ if o.success() => {
                    out.degrade(Status::Failed, "az version printed no JSON object")
                }
                _ => out.degrade(
                    Status::Failed,
                    format!(
                        "az version exited with {}",
                        crate::collect::debug_run::exit_text(o.exit_code)
                    ),
                ),
            }
        }
        match py {
            Ok(read) => {
                if self.records_python {
                    out.commands.extend(read.commands.iter().cloned());
                }
                if let Some(reason) = &read.reason {
                    out.degrade(read.status, reason.clone());
                }
                if let Some(r) = &read.raw {
                    raw.push_str(r);
                }
                if let Some(f) = &read.facts {
                    fill_from_python(&mut facts, f);
                }
            }
            Err(_) => out.degrade(Status::Failed, "reading Azure CLI's Python facts panicked"),
        }
        if ctx.cancel().is_cancelled() {
            out.degrade(Status::Interrupted, "interrupted");
        }
        if facts.azure_cli.is_none() && out.status == Status::Ok {
            out.degrade(Status::Failed, "no azure-cli version found in az's output");
        }
        out.add_entry(ctx, names::VERSIONS_AZ, &facts);
        out.add_text(names::VERSIONS_AZ_TEXT, ctx.redactor.redact(&raw));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_facts_fill_what_az_version_lacks() {
        let mut facts = AzVersions {
            azure_cli: Some("2.91.0".into()),
            ..AzVersions::default()
        };
        let f = crate::collect::az_python::parse_facts(include_str!(
            "../../tests/fixtures/az/az-python-facts.json"
        ))
        .unwrap();
        fill_from_python(&mut facts, &f);
        assert_eq!(facts.msal.as_deref(), Some("1.39.0"));
        assert_eq!(facts.python_version.as_deref(), Some("3.13.9"));
        assert_eq!(facts.python_platform.as_deref(), Some("Windows"));
        assert!(facts.python_location.is_some());
        assert!(facts.extensions_directory.is_some());
        assert_eq!(facts.extensions.unwrap()["account"], "0.2.5");
    }
}
