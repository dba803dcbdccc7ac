//! `versions.az`: the Azure CLI's version (`az version -o json`: azure-cli, core, telemetry,
//! extensions) plus the msal and Python lines of `az --version`. az runs with the user's own
//! configuration; nothing from its config directory is copied into the bundle.

use serde_json::Value;

use super::{Collector, Context, Outcome, json_str, strip_bom};
use crate::bundle::manifest::Status;
use crate::exec::{Cmd, Decode, ExecError, Output};
use crate::model::{AzVersions, names};

pub struct VersionsAz;

/// Facts parsed from `az --version`.
#[derive(Debug, Default, PartialEq)]
pub struct AzVersionText {
    pub azure_cli: Option<String>,
    pub msal: Option<String>,
    pub python_version: Option<String>,
    pub python_platform: Option<String>,
    pub python_location: Option<String>,
    pub config_directory: Option<String>,
    pub extensions_directory: Option<String>,
    pub extensions: Vec<(String, String)>,
}

/// Parse the human-readable `az --version` output (its layout is stable across 2.x releases).
pub fn parse_az_version_text(text: &str) -> AzVersionText {
    let mut out = AzVersionText::default();
    let mut section = "";
    for raw in strip_bom(text).lines() {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        match line {
            "Extensions:" => {
                section = "extensions";
                continue;
            }
            "Dependencies:" => {
                section = "dependencies";
                continue;
            }
            _ => {}
        }
        if let Some(rest) = line.strip_prefix("Python location ") {
            out.python_location = Some(unquote(rest));
            section = "";
        } else if let Some(rest) = line.strip_prefix("Config directory ") {
            out.config_directory = Some(unquote(rest));
        } else if let Some(rest) = line.strip_prefix("Extensions directory ") {
            out.extensions_directory = Some(unquote(rest));
        } else if let Some(rest) = line.strip_prefix("Python (") {
            // "Python (Windows) 3.12.8 (tags/v3.12.8:2dc476b, ...) [MSC v.1942 64 bit (AMD64)]"
            if let Some((plat, after)) = rest.split_once(") ") {
                out.python_platform = Some(plat.to_string());
                out.python_version = after.split_whitespace().next().map(str::to_string);
            }
        } else {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(ver)) = (parts.next(), parts.next()) else {
                continue;
            };
            let ver = ver.trim_end_matches('*').to_string();
            match (section, name) {
                ("", "azure-cli") => out.azure_cli = Some(ver),
                ("dependencies", "msal") => out.msal = Some(ver),
                ("extensions", _) => out.extensions.push((name.to_string(), ver)),
                _ => {}
            }
        }
    }
    out
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches('\'').to_string()
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
        2 // az version -o json, az --version
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

        if let Some(o) = run(ctx, &mut out, base(&["version", "-o", "json"])) {
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
        // A hung `az version` means `az --version` would hang too: don't wait twice.
        if ctx.cancel().is_cancelled() {
            out.degrade(Status::Interrupted, "interrupted");
        } else if out.status != Status::TimedOut
            && let Some(o) = run(ctx, &mut out, base(&["--version"]))
        {
            raw.push_str(&raw_section("az --version", &o));
            let t = parse_az_version_text(&o.stdout.text().0);
            // `az version -o json` wins where it gave the fact.
            for (slot, v) in [
                (&mut facts.azure_cli, t.azure_cli),
                (&mut facts.msal, t.msal),
                (&mut facts.python_version, t.python_version),
                (&mut facts.python_platform, t.python_platform),
                (&mut facts.python_location, t.python_location),
                (&mut facts.config_directory, t.config_directory),
                (&mut facts.extensions_directory, t.extensions_directory),
            ] {
                if slot.is_none() {
                    *slot = v;
                }
            }
            if !t.extensions.is_empty() && facts.extensions.is_none() {
                facts.extensions = Some(t.extensions.into_iter().collect());
            }
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

    const AZ_VERSION_TEXT: &str = include_str!("../../tests/fixtures/az/az-version.txt");

    #[test]
    fn parses_real_az_version_text() {
        let t = parse_az_version_text(AZ_VERSION_TEXT);
        assert_eq!(t.azure_cli.as_deref(), Some("2.91.0"));
        assert_eq!(t.msal.as_deref(), Some("1.39.0"));
        assert_eq!(t.python_version.as_deref(), Some("3.13.9"));
        assert_eq!(t.python_platform.as_deref(), Some("Windows"));
        assert_eq!(
            t.python_location.as_deref(),
            Some("C:\\Program Files\\Microsoft SDKs\\Azure\\CLI2\\python.exe")
        );
        assert_eq!(
            t.extensions,
            vec![("account".to_string(), "0.2.5".to_string())]
        );
    }
}
