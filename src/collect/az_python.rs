//! Azure CLI's own Python, asked once per run: its version and location, the platform, its
//! OpenSSL and certifi bundle, msal, and az's config and extension directories with the
//! installed extensions. `versions.az` and `tls` both need these facts; one [`AzPythonCell`]
//! holds them (see [`super::all`]). Whichever collector asks first runs the one Python call, the
//! other waits for it and reads the same result. The command is recorded under `versions.az`
//! (or under `tls` when `--skip` / `--only` leave versions.az out).
//!
//! This replaces `az --version`, which always checks for updates over the network (a HEAD with
//! a 1 s timeout, then two GETs with 10 s each; no switch turns it off) and imports msal and
//! azure.mgmt.resource. The snippet reads the same values with `importlib.metadata` and
//! azure.cli.core's directory helpers, and never imports the update check.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;

use super::{Context, Outcome};
use crate::bundle::manifest::{CommandRecord, Status};
use crate::exec::{Cmd, Decode};
use crate::fsutil;

/// Printed by az's Python: one JSON object on one line. Each part is guarded, so a broken
/// azure.cli.core still tells the interpreter, OpenSSL and certifi facts.
pub const SNIPPET: &str = r#"# entra-collect: Azure CLI's Python facts (no network)
import json, os, platform, ssl, sys
r = {"python_location": os.path.abspath(sys.executable), "python_version": platform.python_version(),
     "python_sys_version": sys.version, "python_platform": platform.system(), "openssl": ssl.OPENSSL_VERSION}
try:
    import certifi
    r["certifi"] = certifi.where()
except Exception:
    r["certifi"] = None
try:
    from importlib.metadata import version
    for d in ("msal", "azure-cli-core"):
        try:
            r[d.replace("-", "_")] = version(d)
        except Exception:
            pass
    from azure.cli.core._environment import get_config_dir
    r["config_directory"] = get_config_dir()
    from azure.cli.core.extension import get_extensions, EXTENSIONS_DIR
    r["extensions_directory"] = EXTENSIONS_DIR
    r["extensions"] = {e.name: e.version or "Unknown" for e in get_extensions()}
except Exception as e:
    r["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(r))
"#;

/// What [`SNIPPET`] prints. Every field is optional: an older or broken install leaves some out.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct AzPythonFacts {
    pub python_location: Option<String>,
    pub python_version: Option<String>,
    pub python_sys_version: Option<String>,
    pub python_platform: Option<String>,
    pub openssl: Option<String>,
    pub certifi: Option<String>,
    pub msal: Option<String>,
    pub azure_cli_core: Option<String>,
    pub config_directory: Option<String>,
    pub extensions_directory: Option<String>,
    pub extensions: Option<BTreeMap<String, String>>,
    /// Why the azure.cli.core part failed.
    pub error: Option<String>,
}

/// Parse the snippet's output: the last line that is a JSON object (a site hook may print
/// before it). `None` when there is none.
pub fn parse_facts(stdout: &str) -> Option<AzPythonFacts> {
    stdout
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .find_map(|l| serde_json::from_str(l).ok())
}

/// The Python that Azure CLI runs on, found from its launcher.
pub fn az_python(ctx: &Context) -> Option<PathBuf> {
    let az = ctx.runner.resolve("az")?;
    if ctx.platform.is_windows() {
        // ...\CLI2\wbin\az.cmd runs ...\CLI2\python.exe
        let p = az.parent()?.parent()?.join("python.exe");
        return p.exists().then_some(p);
    }
    // Only the head of the launcher: never a whole (possibly huge or endless) file.
    let head = fsutil::read_capped(&az, fsutil::LAUNCHER_CAP).ok()?.data;
    let head = String::from_utf8_lossy(&head[..head.len().min(4096)]).into_owned();
    let first = head.lines().next().unwrap_or("");
    if let Some(shebang) = first.strip_prefix("#!")
        && shebang.contains("python")
    {
        return shebang.split_whitespace().next().map(PathBuf::from);
    }
    // A launcher that runs a Python relative to its own directory:
    // `"$(dirname "$0")/../libexec/bin/python3" -m azure.cli "$@"`.
    let rel = regex::Regex::new(r#"\$\(dirname\s+"?\$0"?\)"?/((?:[^\s"']*/)?python3?)\b"#).ok()?;
    if let Some(c) = rel.captures(&head) {
        let p = az.parent()?.join(&c[1]);
        return p.is_file().then_some(p);
    }
    let re = regex::Regex::new(r#"(/[^\s"']*/bin/python3?)\b"#).ok()?;
    re.captures(&head).map(|c| PathBuf::from(&c[1]))
}

/// One run's answer from az's Python.
#[derive(Debug)]
pub struct AzPythonRead {
    /// The interpreter found from az's launcher; `None` when there is none (no az, or a
    /// launcher that names no Python).
    pub python: Option<PathBuf>,
    /// The parsed facts; `None` when the call failed or printed no JSON object.
    pub facts: Option<AzPythonFacts>,
    /// The call's stdout and stderr (not yet redacted), as a section for `versions/az.txt`.
    pub raw: Option<String>,
    pub commands: Vec<CommandRecord>,
    /// The worst status the call left (a timeout, an interruption) and why.
    pub status: Status,
    pub reason: Option<String>,
}

impl Default for AzPythonRead {
    fn default() -> Self {
        AzPythonRead {
            python: None,
            facts: None,
            raw: None,
            commands: Vec::new(),
            status: Status::Ok,
            reason: None,
        }
    }
}

/// The facts of one run, computed once.
#[derive(Default)]
pub struct AzPythonCell(OnceLock<AzPythonRead>);

impl AzPythonCell {
    /// The facts, running the Python call if no collector has yet; a second caller waits.
    pub fn read(&self, ctx: &Context) -> &AzPythonRead {
        self.get_or_compute(|| compute(ctx))
    }

    fn get_or_compute(&self, f: impl FnOnce() -> AzPythonRead) -> &AzPythonRead {
        self.0.get_or_init(f)
    }
}

fn compute(ctx: &Context) -> AzPythonRead {
    let Some(py) = az_python(ctx) else {
        return AzPythonRead::default();
    };
    let mut out = Outcome::ok();
    // Shown by its file name (python3, python.exe); the manifest's program_path has the whole
    // path. Python writes the ANSI code page to a pipe (Windows).
    let name = py.file_name().unwrap_or(py.as_os_str());
    let cmd = Cmd::new(name.to_string_lossy().into_owned())
        .args(["-c", SNIPPET])
        .decode(Decode::Ansi);
    let (facts, raw) = match ctx.runner.run_resolved(&cmd, &py) {
        Ok(o) => {
            out.record(ctx, &o);
            let (stdout, _) = o.stdout.text();
            let (stderr, _) = o.stderr.text();
            let raw = format!(
                "### {} -c <the facts snippet>\n# exit code: {}, timed out: {}, {} ms\n--- stdout ---\n{}\n--- stderr ---\n{}\n",
                py.display(),
                super::debug_run::exit_text(o.exit_code),
                o.timed_out,
                o.duration.as_millis(),
                stdout.trim_end(),
                stderr.trim_end()
            );
            (parse_facts(&stdout), Some(raw))
        }
        Err(e) => {
            out.degrade(Status::Failed, format!("Azure CLI's Python: {e}"));
            (None, None)
        }
    };
    AzPythonRead {
        python: Some(py),
        facts,
        raw,
        commands: out.commands,
        status: out.status,
        reason: out.reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn parses_the_snippet_output() {
        let line = r#"{"python_location": "/opt/az/bin/python3", "python_version": "3.13.9", "python_sys_version": "3.13.9 (main) [GCC]", "python_platform": "Linux", "openssl": "OpenSSL 3.0.15 3 Sep 2024", "certifi": "/opt/az/lib/python3.13/site-packages/certifi/cacert.pem", "msal": "1.39.0", "azure_cli_core": "2.91.0", "config_directory": "/home/u/.azure", "extensions_directory": "/home/u/.azure/cliextensions", "extensions": {"account": "0.2.5"}, "later": 1}"#;
        let f = parse_facts(&format!("site hook says hi\n{line}\n")).unwrap();
        assert_eq!(f.python_location.as_deref(), Some("/opt/az/bin/python3"));
        assert_eq!(f.python_version.as_deref(), Some("3.13.9"));
        assert_eq!(f.python_platform.as_deref(), Some("Linux"));
        assert_eq!(f.msal.as_deref(), Some("1.39.0"));
        assert_eq!(
            f.extensions_directory.as_deref(),
            Some("/home/u/.azure/cliextensions")
        );
        assert_eq!(f.extensions.unwrap()["account"], "0.2.5");
        assert_eq!(f.error, None);
    }

    #[test]
    fn a_broken_azure_cli_core_keeps_the_interpreter_facts() {
        let f = parse_facts(
            r#"{"python_location": "C:\\CLI2\\python.exe", "python_version": "3.12.8", "openssl": "OpenSSL 3.0", "certifi": null, "error": "ModuleNotFoundError: No module named 'azure'"}"#,
        )
        .unwrap();
        assert_eq!(f.python_location.as_deref(), Some("C:\\CLI2\\python.exe"));
        assert_eq!(f.certifi, None);
        assert_eq!(f.extensions, None);
        assert!(f.error.unwrap().contains("ModuleNotFoundError"));
    }

    #[test]
    fn no_json_object_is_none() {
        assert_eq!(parse_facts(""), None);
        assert_eq!(
            parse_facts("Traceback (most recent call last):\n  {broken\n"),
            None
        );
    }

    #[test]
    fn the_snippet_never_imports_the_update_check() {
        // az --version's network step lives in azure.cli.core.util; the snippet must not
        // import it (nor requests, which that check uses).
        for bad in [
            "azure.cli.core.util",
            "import requests",
            "get_az_version_string",
        ] {
            assert!(!SNIPPET.contains(bad), "{bad}");
        }
    }

    #[test]
    fn the_cell_computes_once_under_concurrency() {
        let cell = AzPythonCell::default();
        let calls = AtomicUsize::new(0);
        let reads: Vec<*const AzPythonRead> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let r = cell.get_or_compute(|| {
                            calls.fetch_add(1, Ordering::SeqCst);
                            // Long enough that the other threads arrive while it runs.
                            std::thread::sleep(std::time::Duration::from_millis(100));
                            AzPythonRead {
                                reason: Some("computed".into()),
                                ..AzPythonRead::default()
                            }
                        });
                        r as *const AzPythonRead as usize
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap() as *const AzPythonRead)
                .collect()
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(reads.iter().all(|r| *r == reads[0]));
        assert_eq!(cell.0.get().unwrap().reason.as_deref(), Some("computed"));
    }
}
