//! Command-line interface (clap derive). Doc comments here are the `--help` text. Parsing ends
//! in [`Cli::into_command`], which validates once and returns a [`config::Command`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, CollectConfig};
use crate::exec::DEFAULT_OUTPUT_CAP;
use crate::platform::Platform;

const EXAMPLES: &str = "\
Examples:
  entra-collect                       collect a bundle into the current directory
  entra-collect collect -o C:\\Temp    write the bundle into C:\\Temp
  entra-collect collect --json        print the result as JSON on stdout
  entra-collect collect --timeout 120 give each external command two minutes
  entra-collect collect --mask-pii    also pseudonymize e-mail addresses / UPNs and user names in paths
  entra-collect rules                 list what the redactor removes
  entra-collect collect --run az --tenant contoso.onmicrosoft.com
                                      run `az login --debug --tenant ...` and keep its output
  entra-collect collect --run azps --powershell desktop
                                      run Connect-AzAccount in Windows PowerShell 5.1
  entra-collect collect --net-trace -- az login --service-principal -u APP -p SECRET --tenant T
                                      run any sign-in command (debug switch added) under a trace
  entra-collect trace stop            stop a network trace an interrupted run left running
  entra-collect inspect BUNDLE.zip    verify a bundle you received and re-run the findings

Exit codes: 0 bundle written (or --list / --dry-run done), 1 `trace stop` failed or `inspect`
could not verify the bundle, 2 usage error, 3 no bundle could be written, 130 interrupted (a
partial bundle is still written), 141 stdout closed before the path or JSON was printed (the
bundle is written).";

/// Collect a redacted diagnostics bundle for a failing `az login`, `Connect-AzAccount` or
/// `Connect-MgGraph`, ready to attach to a Microsoft support case.
#[derive(Debug, Parser)]
#[command(name = "entra-collect", version, about, long_about = None, after_help = EXAMPLES)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Commands>,

    #[command(flatten)]
    collect: CollectArgs,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Collect a bundle (the default when no subcommand is given)
    #[command(after_help = EXAMPLES)]
    Collect(CollectArgs),
    /// Print the redaction rules: name, what each matches, and an example before and after
    Rules {
        /// Print the rules as JSON
        #[arg(long)]
        json: bool,
        /// Language of the descriptions (default: from LC_ALL / LC_MESSAGES / LANG, else on
        /// Windows the display language)
        #[arg(long, value_enum, value_name = "LANG")]
        lang: Option<LangArg>,
    },
    /// Verify a bundle (every sha256, missing / extra / altered entries) and re-run the
    /// findings with this version's rules; never extracts anything to disk
    Inspect {
        /// The bundle (.zip)
        bundle: PathBuf,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
        /// Language of the output (default: from LC_ALL / LC_MESSAGES / LANG, else on Windows
        /// the display language)
        #[arg(long, value_enum, value_name = "LANG")]
        lang: Option<LangArg>,
        /// Largest decompressed entry read, in MiB (a guard against zip bombs; above the largest
        /// trace a bundle can hold by default, --trace-max-mb 1024)
        #[arg(long, default_value_t = 4096, value_name = "MB", hide = true)]
        max_entry_mb: u64,
    },
    /// Network trace housekeeping
    Trace {
        #[command(subcommand)]
        action: TraceAction,
    },
    /// Print a shell completion script on stdout
    Completions {
        /// The shell to complete in
        #[arg(value_enum)]
        shell: ShellArg,
    },
    /// Print the man page (roff) on stdout
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ShellArg {
    Bash,
    Zsh,
    Fish,
    #[value(name = "powershell")]
    PowerShell,
}

#[derive(Debug, Subcommand)]
enum TraceAction {
    /// Stop a network trace that an interrupted run left running
    Stop {
        #[arg(long, hide = true, env = crate::platform::PLATFORM_ENV, value_name = "OS")]
        platform: Option<Platform>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RunPreset {
    /// az login --debug
    Az,
    /// Connect-AzAccount -Debug (Azure PowerShell)
    Azps,
    /// Connect-MgGraph -Debug (Microsoft Graph PowerShell)
    Mg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LangArg {
    En,
    Ja,
}

fn lang_of(arg: Option<LangArg>) -> crate::vocab::Lang {
    match arg {
        Some(LangArg::En) => crate::vocab::Lang::En,
        Some(LangArg::Ja) => crate::vocab::Lang::Ja,
        None => {
            let var = |n: &str| std::env::var(n).ok();
            // Windows sets none of these (Git Bash and WSL do): then the user's display language.
            crate::vocab::Lang::from_locale_vars(
                var("LC_ALL").as_deref(),
                var("LC_MESSAGES").as_deref(),
                var("LANG").as_deref(),
            )
            .or_else(|| crate::os::user_ui_language().map(crate::vocab::Lang::from_langid))
            .unwrap_or(crate::vocab::Lang::En)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CloudArg {
    /// Azure public cloud
    Public,
    /// Azure US Government
    Usgov,
    /// Azure operated by 21Vianet (China)
    China,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PowerShellArg {
    /// pwsh when found on PATH, else Windows PowerShell 5.1 (powershell.exe)
    Auto,
    /// PowerShell 7+ (pwsh)
    Core,
    /// Windows PowerShell 5.1 (powershell.exe)
    Desktop,
}

#[derive(Debug, Clone, Args)]
struct CollectArgs {
    /// Directory to write the bundle into
    #[arg(short = 'o', long, value_name = "DIR", default_value = ".")]
    output_dir: PathBuf,

    /// Seconds each external command may run before its whole process tree is killed
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    timeout: u64,

    /// Print the result as JSON on stdout: bundle (its path), status, collectors (id, status,
    /// reason), files (how many) and findings
    #[arg(long)]
    json: bool,

    /// Print only errors (stderr) and the bundle's path (stdout): no progress, no verdict, no
    /// closing message
    #[arg(short, long)]
    quiet: bool,

    /// Also replace e-mail addresses, UPNs and user names in home-directory paths with stable
    /// pseudonyms (pii-user-N@domain, C:\Users\pii-user-N); tenant ids and domains stay
    #[arg(long)]
    mask_pii: bool,

    /// Also replace the host name with pii-host-1 everywhere, the bundle's file name included
    #[arg(long)]
    mask_host: bool,

    /// Run sign-ins with their debug switch, one after another, and store each one's output
    /// in debug/<name>.log: az (az login --debug), azps (Connect-AzAccount -Debug), mg
    /// (Connect-MgGraph -Debug); several with commas: --run az,azps. Without --run, -- COMMAND
    /// or --no-run, entra-collect asks on a terminal which sign-in failed
    #[arg(
        long,
        value_enum,
        value_name = "PRESET",
        value_delimiter = ',',
        conflicts_with = "command"
    )]
    run: Vec<RunPreset>,

    /// Run no sign-in and do not ask which one failed
    #[arg(long, conflicts_with_all = ["run", "command"])]
    no_run: bool,

    /// The tenant to sign in to, passed to the preset (--tenant, -Tenant, -TenantId)
    #[arg(long, value_name = "ID")]
    tenant: Option<String>,

    /// Which PowerShell runs azps / mg and PowerShell commands
    #[arg(long, value_enum, value_name = "EDITION", default_value = "auto")]
    powershell: PowerShellArg,

    /// Seconds the sign-in command may run (it may wait for you to sign in)
    #[arg(long, value_name = "SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    run_timeout: u64,

    /// Also write the sign-in's request timeline as debug/<name>.har (HAR 1.2: no bodies, no
    /// headers but the request ids), to open in a browser's network panel or Fiddler
    #[arg(long)]
    har: bool,

    /// Record a network trace (netsh on Windows, tcpdump elsewhere) while the sign-in runs, or
    /// until you press Enter. Needs an elevated prompt / root. The trace cannot be redacted.
    #[arg(long)]
    net_trace: bool,

    /// Largest network trace kept, in MiB
    #[arg(long, value_name = "MB", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=65_536))]
    trace_max_mb: u64,

    /// Language of summary.md, findings and messages (default: from LC_ALL / LC_MESSAGES /
    /// LANG, else on Windows the display language)
    #[arg(long, value_enum, value_name = "LANG")]
    lang: Option<LangArg>,

    /// Do not probe the sign-in endpoints over the network
    #[arg(long, env = "ENTRA_COLLECT_NO_NETWORK", value_parser = clap::builder::FalseyValueParser::new())]
    no_network: bool,

    /// ENTRA_COLLECT_NO_NETWORK, not --no-network, turned the probes off (set by [`parse`]).
    #[arg(skip)]
    no_network_from_env: bool,

    /// Which cloud's endpoints to probe
    #[arg(long, value_enum, default_value = "public", value_name = "CLOUD")]
    cloud: CloudArg,

    /// Seconds each probe stage (DNS, connect, CONNECT, TLS, GET) may take
    #[arg(long, value_name = "SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    probe_timeout: u64,

    /// Print every collector with what it reads or runs, then exit (no bundle)
    #[arg(long)]
    list: bool,

    /// Leave these collectors out (comma-separated ids, see --list); they are recorded as
    /// skipped
    #[arg(long, value_name = "ID,...", conflicts_with = "only")]
    skip: Option<String>,

    /// Run only these collectors (comma-separated ids, see --list); the others are recorded
    /// as skipped
    #[arg(long, value_name = "ID,...")]
    only: Option<String>,

    /// Print the commands a run would start (secrets masked), then exit (no bundle)
    #[arg(long)]
    dry_run: bool,

    /// Any sign-in command to run with its debug switch (added when missing), e.g.
    /// `-- az login --service-principal -u APP -p SECRET --tenant T`
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,

    /// Run another platform's collection logic (for tests with fake tools)
    #[arg(long, hide = true, env = crate::platform::PLATFORM_ENV, value_name = "OS")]
    platform: Option<Platform>,

    /// Cap on each captured output stream of an external command, in bytes
    #[arg(long, hide = true, default_value_t = DEFAULT_OUTPUT_CAP, value_name = "BYTES")]
    max_output_bytes: usize,
}

/// Parse the process's command line, noting which options the environment set.
pub fn parse() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os())
}

/// [`parse`] from given arguments.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches, parser::ValueSource};
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    let from_env = |m: &clap::ArgMatches| {
        m.try_get_raw("no_network").is_ok()
            && m.value_source("no_network") == Some(ValueSource::EnvVariable)
    };
    match (&mut cli.command, matches.subcommand_matches("collect")) {
        (Some(Commands::Collect(a)), Some(m)) => a.no_network_from_env = from_env(m),
        _ => cli.collect.no_network_from_env = from_env(&matches),
    }
    Ok(cli)
}

impl Cli {
    /// Validate and convert into the program's own configuration.
    pub(crate) fn into_command(self) -> Result<config::Command, String> {
        let args = match self.command {
            Some(Commands::Collect(a)) => a,
            Some(Commands::Rules { json, lang }) => {
                return Ok(config::Command::Rules {
                    json,
                    lang: lang_of(lang),
                });
            }
            Some(Commands::Inspect {
                bundle,
                json,
                lang,
                max_entry_mb,
            }) => {
                return Ok(config::Command::Inspect {
                    bundle,
                    json,
                    lang: lang_of(lang),
                    max_entry_bytes: max_entry_mb.max(1) << 20,
                });
            }
            Some(Commands::Trace {
                action: TraceAction::Stop { platform },
            }) => {
                return Ok(config::Command::TraceStop {
                    platform: platform.unwrap_or_else(Platform::native),
                    timeout: Duration::from_secs(600),
                });
            }
            Some(Commands::Completions { shell }) => {
                return Ok(config::Command::Completions(match shell {
                    ShellArg::Bash => config::Shell::Bash,
                    ShellArg::Zsh => config::Shell::Zsh,
                    ShellArg::Fish => config::Shell::Fish,
                    ShellArg::PowerShell => config::Shell::Pwsh,
                }));
            }
            Some(Commands::Man) => return Ok(config::Command::Man),
            None => self.collect,
        };
        if args.list {
            return Ok(config::Command::List {
                lang: lang_of(args.lang),
            });
        }
        let selection = selection_of(&args)?;
        let mut debug_commands: Vec<config::DebugCommand> = Vec::new();
        for preset in &args.run {
            let preset = match preset {
                RunPreset::Az => config::Preset::Az,
                RunPreset::Azps => config::Preset::AzPowerShell,
                RunPreset::Mg => config::Preset::Graph,
            };
            // `--run az,az` runs it once.
            let command = config::DebugCommand::Preset(preset);
            if !debug_commands.contains(&command) {
                debug_commands.push(command);
            }
        }
        if !args.command.is_empty() {
            debug_commands.push(config::DebugCommand::Argv(args.command.clone()));
        }
        let ask = debug_commands.is_empty() && !args.no_run;
        let powershell = match args.powershell {
            PowerShellArg::Auto => config::PsEdition::Auto,
            PowerShellArg::Core => config::PsEdition::Core,
            PowerShellArg::Desktop => config::PsEdition::Desktop,
        };
        let debug_runs = debug_commands
            .into_iter()
            .map(|command| config::DebugRun {
                command,
                tenant: args.tenant.clone(),
                powershell,
                timeout: Duration::from_secs(args.run_timeout),
                har: args.har,
            })
            .collect();
        let ask_sign_in = ask.then_some(config::RunSettings {
            powershell,
            timeout: Duration::from_secs(args.run_timeout),
            har: args.har,
        });
        if args.max_output_bytes == 0 {
            return Err("--max-output-bytes must be at least 1".into());
        }
        Ok(config::Command::Collect(Box::new(CollectConfig {
            output_dir: args.output_dir,
            timeout: Duration::from_secs(args.timeout),
            json: args.json,
            quiet: args.quiet,
            mask_pii: args.mask_pii,
            mask_host: args.mask_host,
            platform: args.platform.unwrap_or_else(Platform::native),
            output_cap: args.max_output_bytes,
            jobs: 4,
            invocation: std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            debug_runs,
            ask_sign_in,
            tenant: args.tenant,
            lang: lang_of(args.lang),
            network: crate::vocab::NetworkConfig {
                probes: !args.no_network,
                probes_off_by_env: args.no_network && args.no_network_from_env,
                cloud: match args.cloud {
                    CloudArg::Public => crate::vocab::Cloud::Public,
                    CloudArg::Usgov => crate::vocab::Cloud::UsGov,
                    CloudArg::China => crate::vocab::Cloud::China,
                },
                stage_timeout: Duration::from_secs(args.probe_timeout),
            },
            net_trace: args.net_trace.then_some(config::NetTrace {
                max_mb: args.trace_max_mb,
            }),
            selection,
            dry_run: args.dry_run,
        })))
    }
}

/// `--skip` / `--only`, each id checked against the registry (an unknown one is a usage error
/// naming the valid ids).
fn selection_of(args: &CollectArgs) -> Result<config::Selection, String> {
    let lang = lang_of(args.lang);
    let ids = crate::collect::registry::parse_ids;
    Ok(match (&args.skip, &args.only) {
        (Some(v), _) => config::Selection::Skip(ids("--skip", v, lang)?),
        (None, Some(v)) => config::Selection::Only(ids("--only", v, lang)?),
        (None, None) => config::Selection::All,
    })
}

/// Write the completion script for `shell` (generated from the clap model, so it always knows
/// every option).
pub(crate) fn write_completions(shell: config::Shell, w: &mut dyn std::io::Write) {
    use clap::CommandFactory;
    use clap_complete::Shell as S;
    let shell = match shell {
        config::Shell::Bash => S::Bash,
        config::Shell::Zsh => S::Zsh,
        config::Shell::Fish => S::Fish,
        config::Shell::Pwsh => S::PowerShell,
    };
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "entra-collect", w);
}

/// Write the man page (roff), generated from the clap model.
pub(crate) fn write_man(w: &mut dyn std::io::Write) -> std::io::Result<()> {
    use clap::CommandFactory;
    clap_mangen::Man::new(Cli::command()).render(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_collect() {
        let cli = Cli::try_parse_from(["entra-collect", "-o", "/tmp", "--json"]).unwrap();
        let config::Command::Collect(c) = cli.into_command().unwrap() else {
            panic!("expected collect")
        };
        assert_eq!(c.output_dir, PathBuf::from("/tmp"));
        assert!(c.json);
        assert_eq!(c.timeout, Duration::from_secs(60));
    }

    #[test]
    fn trailing_command_becomes_the_debug_run() {
        let cli = Cli::try_parse_from([
            "entra-collect",
            "collect",
            "--tenant",
            "t1",
            "--",
            "az",
            "login",
            "-p",
            "x",
        ])
        .unwrap();
        let config::Command::Collect(c) = cli.into_command().unwrap() else {
            panic!("expected collect")
        };
        assert_eq!(c.debug_runs.len(), 1);
        let run = c.debug_runs[0].clone();
        assert_eq!(
            run.command,
            config::DebugCommand::Argv(vec!["az".into(), "login".into(), "-p".into(), "x".into()])
        );
        assert_eq!(run.tenant.as_deref(), Some("t1"));
        assert_eq!(run.timeout, Duration::from_secs(600));
        assert!(
            Cli::try_parse_from([
                "entra-collect",
                "collect",
                "--run",
                "az",
                "--",
                "az",
                "login"
            ])
            .is_err()
        );
    }

    #[test]
    fn run_takes_several_presets_and_no_run_skips_the_question() {
        let cli = parse_from(["entra-collect", "--run", "az,azps", "--run", "az"]).unwrap();
        let config::Command::Collect(c) = cli.into_command().unwrap() else {
            panic!("expected collect")
        };
        let commands: Vec<_> = c.debug_runs.iter().map(|r| r.command.clone()).collect();
        assert_eq!(
            commands,
            [
                config::DebugCommand::Preset(config::Preset::Az),
                config::DebugCommand::Preset(config::Preset::AzPowerShell)
            ]
        );
        assert!(c.ask_sign_in.is_none());
        let config::Command::Collect(c) = parse_from(["entra-collect", "collect"])
            .unwrap()
            .into_command()
            .unwrap()
        else {
            panic!("expected collect")
        };
        assert!(c.ask_sign_in.is_some() && c.debug_runs.is_empty());
        let config::Command::Collect(c) = parse_from(["entra-collect", "--no-run"])
            .unwrap()
            .into_command()
            .unwrap()
        else {
            panic!("expected collect")
        };
        assert!(c.ask_sign_in.is_none() && c.debug_runs.is_empty());
        assert!(parse_from(["entra-collect", "--no-run", "--run", "az"]).is_err());
    }

    #[test]
    fn zero_timeout_is_a_usage_error() {
        assert!(Cli::try_parse_from(["entra-collect", "collect", "--timeout", "0"]).is_err());
    }
}
