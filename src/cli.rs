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

Exit codes: 0 bundle written, 2 usage error, 3 no bundle could be written, 130 interrupted
(a partial bundle is still written).";

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

    /// Print the result as JSON on stdout (bundle path, status, collectors)
    #[arg(long)]
    json: bool,

    /// Print nothing on stderr but errors
    #[arg(short, long)]
    quiet: bool,

    /// Also replace e-mail addresses, UPNs and user names in home-directory paths with stable
    /// pseudonyms (pii-user-N@domain, C:\Users\pii-user-N); tenant ids and domains stay
    #[arg(long)]
    mask_pii: bool,

    /// Also replace the host name with pii-host-1 everywhere, the bundle's file name included
    #[arg(long)]
    mask_host: bool,

    /// Run a sign-in with its debug switch and store its output: az (az login --debug),
    /// azps (Connect-AzAccount -Debug) or mg (Connect-MgGraph -Debug)
    #[arg(long, value_enum, value_name = "PRESET", conflicts_with = "command")]
    run: Option<RunPreset>,

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

    /// Which cloud's endpoints to probe
    #[arg(long, value_enum, default_value = "public", value_name = "CLOUD")]
    cloud: CloudArg,

    /// Seconds each probe stage (DNS, connect, CONNECT, TLS, GET) may take
    #[arg(long, value_name = "SECS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    probe_timeout: u64,

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
            None => self.collect,
        };
        let debug_command = match (args.run, args.command.is_empty()) {
            (Some(RunPreset::Az), _) => Some(config::DebugCommand::Preset(config::Preset::Az)),
            (Some(RunPreset::Azps), _) => {
                Some(config::DebugCommand::Preset(config::Preset::AzPowerShell))
            }
            (Some(RunPreset::Mg), _) => Some(config::DebugCommand::Preset(config::Preset::Graph)),
            (None, false) => Some(config::DebugCommand::Argv(args.command.clone())),
            (None, true) => None,
        };
        let powershell = match args.powershell {
            PowerShellArg::Auto => config::PsEdition::Auto,
            PowerShellArg::Core => config::PsEdition::Core,
            PowerShellArg::Desktop => config::PsEdition::Desktop,
        };
        let debug_run = debug_command.map(|command| config::DebugRun {
            command,
            tenant: args.tenant.clone(),
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
            debug_run,
            tenant: args.tenant,
            lang: lang_of(args.lang),
            network: crate::vocab::NetworkConfig {
                probes: !args.no_network,
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
        })))
    }
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
        let run = c.debug_run.unwrap();
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
    fn zero_timeout_is_a_usage_error() {
        assert!(Cli::try_parse_from(["entra-collect", "collect", "--timeout", "0"]).is_err());
    }
}
