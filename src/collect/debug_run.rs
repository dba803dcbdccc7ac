//! `debug.run`: the failing sign-in commands (`--run az,azps` runs each in turn), each run once
//! with its debug switch — the first thing support asks for. The user interacts with it (device-code prompts, browser sign-in): stdin is
//! theirs and the output is shown live while it is captured into `debug/<name>.log`, with its
//! request timeline `debug/<name>.requests.json` (and `debug/<name>.har` with `--har`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::versions_powershell::encode_command;
use super::{Collector, Context, Outcome};
use crate::bundle::manifest::Status;
use crate::config::{DebugCommand, DebugRun, Preset, PsEdition};
use crate::exec::{Cmd, Decode, Live};
use crate::model::names;
use crate::redact::Redactor;

/// What will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub program: String,
    pub args: Vec<String>,
    /// Shown instead of the real arguments (PowerShell scripts travel base64-encoded).
    pub display: Option<Vec<String>>,
    /// `debug/<log_name>.log`
    pub log_name: String,
}

/// az command groups that may name the debug log (`debug/az-login.log`).
const AZ_GROUPS: &[&str] = &[
    "login", "logout", "account", "ad", "cloud", "rest", "config", "version",
];

/// A program name that is the Azure CLI (az, az.cmd, az.exe, /usr/bin/az, ...).
fn is_az(program: &str) -> bool {
    let base = Path::new(program)
        .file_name()
        .map(|f| f.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    matches!(base.as_str(), "az" | "az.cmd" | "az.exe" | "az.bat")
}

/// A PowerShell cmdlet name (Verb-Noun), e.g. Connect-AzAccount.
fn is_cmdlet(program: &str) -> bool {
    let mut parts = program.splitn(2, '-');
    let (Some(verb), Some(noun)) = (parts.next(), parts.next()) else {
        return false;
    };
    verb.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && verb.chars().all(|c| c.is_ascii_alphabetic())
        && !noun.is_empty()
        && noun.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
}

/// Quote a value as a PowerShell single-quoted literal unless it is a plain token.
pub fn ps_quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c))
        && !v.starts_with('-');
    if plain
        || (v.starts_with('-')
            && v.len() > 1
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':'))
    {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', "''"))
    }
}

fn slug(parts: &[&str]) -> String {
    let s: String = parts
        .join("-")
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() { "command".into() } else { s }
}

fn has_flag(args: &[String], flag: &str) -> bool {
    args.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a == flag || a.starts_with(&format!("{flag}:")) || a.starts_with(&format!("{flag}="))
    })
}

/// Build the PowerShell invocation of `cmdlet args...` with debug output on and every stream
/// merged into stdout. Windows PowerShell 5.1 prompts on `-Debug`, so it gets
/// `$DebugPreference = 'Continue'` instead.
fn powershell_plan(edition: PsEdition, cmdlet: &str, args: &[String], log_name: String) -> Plan {
    let mut words: Vec<String> = vec![cmdlet.to_string()];
    let mut prefix = String::new();
    match edition {
        // `plan` is pure; the collector resolves Auto on PATH first (`resolve_edition`).
        PsEdition::Core | PsEdition::Auto => {
            words.extend(args.iter().map(|a| ps_quote(a)));
            if !has_flag(args, "-debug") {
                words.push("-Debug".into());
            }
        }
        PsEdition::Desktop => {
            words.extend(
                args.iter()
                    .filter(|a| !has_flag(std::slice::from_ref(a), "-debug"))
                    .map(|a| ps_quote(a)),
            );
            prefix = "$DebugPreference = 'Continue'; ".into();
        }
    }
    let script = format!("{prefix}& {{ {} }} *>&1", words.join(" "));
    let (program, mut real) = match edition {
        PsEdition::Core | PsEdition::Auto => ("pwsh", vec!["-NoLogo".to_string()]),
        PsEdition::Desktop => (
            "powershell.exe",
            vec![
                "-NoLogo".to_string(),
                "-ExecutionPolicy".into(),
                "Bypass".into(),
            ],
        ),
    };
    let mut shown = real.clone();
    shown.extend(["-Command".to_string(), script.clone()]);
    real.extend(["-EncodedCommand".to_string(), encode_command(&script)]);
    Plan {
        program: program.into(),
        args: real,
        display: Some(shown),
        log_name,
    }
}

/// Turn the configured debug run into the command that will run.
pub fn plan(run: &DebugRun) -> Plan {
    let tenant = run.tenant.as_deref();
    match &run.command {
        DebugCommand::Preset(Preset::Az) => {
            let mut args = vec!["login".to_string(), "--debug".into()];
            if let Some(t) = tenant {
                args.extend(["--tenant".to_string(), t.to_string()]);
            }
            Plan {
                program: "az".into(),
                args,
                display: None,
                log_name: "az-login".into(),
            }
        }
        DebugCommand::Preset(p @ (Preset::AzPowerShell | Preset::Graph)) => {
            let (cmdlet, tflag, name) = match p {
                Preset::AzPowerShell => ("Connect-AzAccount", "-Tenant", "connect-azaccount"),
                _ => ("Connect-MgGraph", "-TenantId", "connect-mggraph"),
            };
            let mut args = Vec::new();
            if let Some(t) = tenant {
                args.extend([tflag.to_string(), t.to_string()]);
            }
            powershell_plan(run.powershell, cmdlet, &args, name.into())
        }
        DebugCommand::Argv(argv) => {
            let program = argv.first().cloned().unwrap_or_default();
            let rest = &argv[argv.len().min(1)..];
            let sub = rest
                .first()
                .filter(|a| !a.starts_with('-'))
                .map(String::as_str);
            let base = Path::new(&program)
                .file_stem()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| program.clone());
            // Entry names never come from argument values (`-- curl "https://...?sig=X"` must
            // not name a file): the program's name, and for az only a known command group.
            let group = sub.filter(|s| is_az(&program) && AZ_GROUPS.contains(s));
            let mut base = slug(&[base.as_str()]);
            base.truncate(32);
            let log_name = slug(&[base.as_str(), group.unwrap_or("")]);
            if is_az(&program) {
                let mut args = rest.to_vec();
                if !has_flag(&args, "--debug") {
                    args.push("--debug".into());
                }
                Plan {
                    program,
                    args,
                    display: None,
                    log_name,
                }
            } else if is_cmdlet(&program) {
                powershell_plan(run.powershell, &program, rest, slug(&[&program]))
            } else {
                Plan {
                    program,
                    args: rest.to_vec(),
                    display: None,
                    log_name,
                }
            }
        }
    }
}

/// `--powershell auto`: `pwsh` when `found("pwsh")`, else Windows PowerShell 5.1.
pub fn resolve_edition(edition: PsEdition, found: impl Fn(&str) -> bool) -> PsEdition {
    match edition {
        PsEdition::Auto if found("pwsh") => PsEdition::Core,
        PsEdition::Auto => PsEdition::Desktop,
        other => other,
    }
}

/// The PowerShell a plan runs in, as the console line names it; None for other programs.
fn shell_name(program: &str) -> Option<&'static str> {
    match program {
        "pwsh" => Some("PowerShell 7 (pwsh)"),
        "powershell.exe" => Some("Windows PowerShell 5.1 (powershell.exe)"),
        _ => None,
    }
}

/// An exit code as users read it: the number, or "none" (killed by a signal). Every message
/// that names an exit code uses this, never `{:?}` (no `Some(1)` reaches a user).
pub(crate) fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(|| "none (killed)".to_string(), |c| c.to_string())
}

/// The collector's id.
pub const ID: &str = "debug.run";

pub struct DebugRunCollector {
    runs: Vec<DebugRun>,
    live: Live,
}

impl DebugRunCollector {
    pub fn new(runs: Vec<DebugRun>, live: Live) -> Self {
        DebugRunCollector { runs, live }
    }
}

/// Where the live output goes: stderr, redacted line by line whether or not it is a terminal
/// (users paste screenshots of their terminal into support cases). Colour and other escape
/// sequences stay as the tool wrote them; only secrets are replaced. A prompt without newline
/// is shown once the tool has been quiet for 200 ms, and a multi-line block (PEM, JSON) is held
/// until it closes or 64 KiB are held ([`crate::redact::live`]). A timer thread checks for
/// quiet every 50 ms; it ends with the program, or when the returned function is dropped.
pub fn live_output(_stderr_is_terminal: bool, redactor: Arc<Redactor>) -> Live {
    use crate::redact::live::{LiveFilter, LiveOptions, sink};
    let filter = LiveFilter::new(redactor, LiveOptions::default());
    sink(filter, std::io::stderr(), Duration::from_millis(50))
}

impl Collector for DebugRunCollector {
    fn id(&self) -> &'static str {
        ID
    }

    fn budget(&self, _: Duration) -> Duration {
        // One after another: the sum of their limits.
        self.runs.iter().map(|r| r.timeout).sum::<Duration>() + Duration::from_secs(60)
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let mut all = Outcome::ok();
        let mut reasons = Vec::new();
        for run in &self.runs {
            if ctx.runner.cancel_token().is_cancelled() {
                break;
            }
            let mut one = self.run_one(ctx, run);
            if self.runs.len() > 1 {
                // Say which of the sign-ins each reason is about.
                let name = plan(run).log_name;
                one.reason = one.reason.map(|r| format!("{name}: {r}"));
            }
            if let Some(r) = &one.reason {
                reasons.push(r.clone());
            }
            all.entries.extend(one.entries);
            all.commands.extend(one.commands);
            if one.status != Status::Ok {
                all.degrade(one.status, one.reason.unwrap_or_default());
            }
        }
        if all.status == Status::Ok && !reasons.is_empty() {
            all.reason = Some(reasons.join("; "));
        }
        all
    }
}

impl DebugRunCollector {
    /// One sign-in command: its log, its request timeline (and HAR).
    fn run_one(&self, ctx: &Context, run: &DebugRun) -> Outcome {
        let run = DebugRun {
            powershell: resolve_edition(run.powershell, |p| ctx.runner.resolve(p).is_some()),
            ..run.clone()
        };
        let plan = plan(&run);
        let Some(resolved) = ctx.runner.resolve(&plan.program) else {
            return Outcome::failed(format!(
                "{} not found on PATH: the sign-in command could not run",
                plan.program
            ));
        };
        // Whatever the sanitizer withholds from the command line (the plan's real arguments
        // and the script shown for them) is a known secret before the first byte of output.
        let _ = ctx.redactor.redact_argv(
            &std::iter::once(plan.program.clone())
                .chain(plan.args.iter().cloned())
                .collect::<Vec<_>>(),
        );
        if let Some(d) = &plan.display {
            let _ = ctx.redactor.redact_argv(
                &std::iter::once(plan.program.clone())
                    .chain(d.iter().cloned())
                    .collect::<Vec<_>>(),
            );
        }
        // Azure CLI (Python) writes the ANSI code page to a pipe; PowerShell and other console
        // programs the console's (Windows).
        let decode = if is_az(&plan.program) {
            Decode::Ansi
        } else {
            Decode::Console
        };
        let mut cmd = Cmd::new(plan.program.clone())
            .args(plan.args.clone())
            .timeout(run.timeout)
            .decode(decode);
        if let Some(shell) = shell_name(&plan.program) {
            // Say which PowerShell runs it (with `auto` the user cannot know), on the same
            // stderr stream the sign-in's own output is shown on.
            (self.live)(format!("entra-collect: running in {shell}\n").as_bytes());
        }
        if plan.program == "powershell.exe" {
            // Launched from a pwsh window, 5.1 would otherwise see PowerShell 7's module
            // folders (the inherited PSModulePath) and load modules it does not own.
            cmd = cmd.env_remove("PSModulePath");
        }
        if let Some(d) = &plan.display {
            cmd = cmd.display_args(d.clone());
        }
        let out = match ctx
            .runner
            .run_interactive(&cmd, &resolved, self.live.clone())
        {
            Ok(o) => o,
            Err(e) => return Outcome::failed(e.to_string()),
        };
        let mut outcome = Outcome::ok();
        outcome.record(ctx, &out);
        if out.timed_out {
            // Name the option the user can change.
            outcome.reason = Some(format!(
                "the sign-in command did not finish within {} s (--run-timeout) and was killed",
                run.timeout.as_secs()
            ));
        }
        let (shown, _) = ctx.redactor.redact_argv(&out.argv);
        let decoded = out.stdout.decoded();
        let (text, lossy) = (decoded.text, decoded.lossy);
        let header = format!(
            "# command: {}\n# exit code: {}; timed out: {}; interrupted: {}; duration: {} ms{}{}\n\n",
            shown.join(" "),
            exit_text(out.exit_code),
            out.timed_out,
            out.interrupted,
            out.duration.as_millis(),
            if out.stdout.truncated {
                "; output truncated at the capture limit"
            } else {
                ""
            },
            if lossy {
                format!("; bytes not valid in {} replaced", decoded.encoding.label())
            } else {
                String::new()
            },
        );
        let body = if out.stdout.truncated {
            ctx.redactor.redact_truncated(&text)
        } else {
            ctx.redactor.redact(&text)
        };
        let log_name = names::debug_log(&plan.log_name);
        let log = ctx.redactor.redact(&header).join(body);
        // The timeline is read from the redacted log (what the bundle holds, so `inspect` could
        // rebuild it), and written through `add_entry`, which redacts it again.
        let timeline = crate::timeline::parse(log.as_str());
        outcome.add_text(&log_name, log);
        if run.har {
            let started =
                chrono::Utc::now() - chrono::Duration::from_std(out.duration).unwrap_or_default();
            let har = crate::timeline::har::build(&timeline.requests, &log_name, started);
            outcome.add_entry(ctx, &names::har(&plan.log_name), &har);
        }
        outcome.add_entry(
            ctx,
            &names::requests(&plan.log_name),
            &timeline.into_entry(&log_name),
        );
        if outcome.status == Status::Ok && out.exit_code != Some(0) {
            // The sign-in failing is the expected case: the run itself worked.
            outcome.reason = Some(format!(
                "the sign-in command exited with {}",
                exit_text(out.exit_code)
            ));
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(command: DebugCommand, tenant: Option<&str>, ps: PsEdition) -> DebugRun {
        DebugRun {
            command,
            tenant: tenant.map(str::to_string),
            powershell: ps,
            timeout: Duration::from_secs(600),
            har: false,
        }
    }

    fn argv(s: &[&str]) -> DebugCommand {
        DebugCommand::Argv(s.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn az_preset_passes_the_tenant() {
        let p = plan(&run(
            DebugCommand::Preset(Preset::Az),
            Some("contoso.onmicrosoft.com"),
            PsEdition::Core,
        ));
        assert_eq!(p.program, "az");
        assert_eq!(
            p.args,
            ["login", "--debug", "--tenant", "contoso.onmicrosoft.com"]
        );
        assert_eq!(p.log_name, "az-login");
    }

    #[test]
    fn auto_prefers_pwsh_and_falls_back_to_windows_powershell() {
        assert_eq!(resolve_edition(PsEdition::Auto, |_| true), PsEdition::Core);
        assert_eq!(
            resolve_edition(PsEdition::Auto, |p| p != "pwsh"),
            PsEdition::Desktop
        );
        assert_eq!(
            resolve_edition(PsEdition::Desktop, |_| true),
            PsEdition::Desktop
        );
        assert_eq!(resolve_edition(PsEdition::Core, |_| false), PsEdition::Core);
    }

    #[test]
    fn powershell_presets() {
        let p = plan(&run(
            DebugCommand::Preset(Preset::AzPowerShell),
            Some("t1"),
            PsEdition::Core,
        ));
        assert_eq!(p.program, "pwsh");
        assert_eq!(
            p.display.unwrap(),
            [
                "-NoLogo",
                "-Command",
                "& { Connect-AzAccount -Tenant t1 -Debug } *>&1"
            ]
        );
        let p = plan(&run(
            DebugCommand::Preset(Preset::Graph),
            Some("t1"),
            PsEdition::Desktop,
        ));
        assert_eq!(p.program, "powershell.exe");
        assert_eq!(
            p.display.unwrap(),
            [
                "-NoLogo",
                "-ExecutionPolicy",
                "Bypass",
                "-Command",
                "$DebugPreference = 'Continue'; & { Connect-MgGraph -TenantId t1 } *>&1"
            ]
        );
        assert_eq!(p.log_name, "connect-mggraph");
        assert_eq!(p.args[3], "-EncodedCommand");
    }

    #[test]
    fn any_az_command_gets_debug_once() {
        let p = plan(&run(
            argv(&["az", "login", "--service-principal", "-u", "app", "-p", "s"]),
            None,
            PsEdition::Core,
        ));
        assert_eq!(p.args.last().unwrap(), "--debug");
        assert_eq!(p.log_name, "az-login");
        let p = plan(&run(
            argv(&["az.cmd", "account", "show", "--debug"]),
            None,
            PsEdition::Core,
        ));
        assert_eq!(p.args.iter().filter(|a| *a == "--debug").count(), 1);
        assert_eq!(p.log_name, "az-account");
    }

    #[test]
    fn cmdlets_run_in_powershell_with_quoting() {
        let p = plan(&run(
            argv(&[
                "Connect-AzAccount",
                "-ServicePrincipal",
                "-Tenant",
                "t1",
                "-Credential",
                "it's",
            ]),
            None,
            PsEdition::Core,
        ));
        assert_eq!(p.program, "pwsh");
        assert_eq!(
            p.display.unwrap()[2],
            "& { Connect-AzAccount -ServicePrincipal -Tenant t1 -Credential 'it''s' -Debug } *>&1"
        );
        let p = plan(&run(
            argv(&["Connect-MgGraph", "-Debug"]),
            None,
            PsEdition::Desktop,
        ));
        assert_eq!(
            p.display.unwrap()[4],
            "$DebugPreference = 'Continue'; & { Connect-MgGraph } *>&1"
        );
    }

    #[test]
    fn other_programs_run_as_given() {
        let p = plan(&run(
            argv(&["curl", "-v", "https://login.microsoftonline.com"]),
            None,
            PsEdition::Core,
        ));
        assert_eq!(p.program, "curl");
        assert_eq!(p.args, ["-v", "https://login.microsoftonline.com"]);
    }

    #[test]
    fn quoting() {
        assert_eq!(ps_quote("abc-1.2"), "abc-1.2");
        assert_eq!(ps_quote("a b"), "'a b'");
        assert_eq!(ps_quote("$x"), "'$x'");
        assert_eq!(ps_quote("-Tenant"), "-Tenant");
        assert_eq!(ps_quote(""), "''");
    }
}
