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
  entra-collect collect --mask-pii    also pseudonymize e-mail addresses / UPNs
  entra-collect rules                 list what the redactor removes

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
    },
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

    /// Also replace e-mail addresses and UPNs with stable pseudonyms (pii-user-N@domain);
    /// tenant ids and domains stay
    #[arg(long)]
    mask_pii: bool,

    /// Run another platform's collection logic (for tests with fake tools)
    #[arg(long, hide = true, env = crate::platform::PLATFORM_ENV, value_name = "OS")]
    platform: Option<Platform>,

    /// Cap on each captured output stream of an external command, in bytes
    #[arg(long, hide = true, default_value_t = DEFAULT_OUTPUT_CAP, value_name = "BYTES")]
    max_output_bytes: usize,
}

impl Cli {
    /// Validate and convert into the program's own configuration.
    pub fn into_command(self) -> Result<config::Command, String> {
        let args = match self.command {
            Some(Commands::Collect(a)) => a,
            Some(Commands::Rules { json }) => return Ok(config::Command::Rules { json }),
            None => self.collect,
        };
        if args.max_output_bytes == 0 {
            return Err("--max-output-bytes must be at least 1".into());
        }
        Ok(config::Command::Collect(CollectConfig {
            output_dir: args.output_dir,
            timeout: Duration::from_secs(args.timeout),
            json: args.json,
            quiet: args.quiet,
            mask_pii: args.mask_pii,
            platform: args.platform.unwrap_or_else(Platform::native),
            output_cap: args.max_output_bytes,
            jobs: 4,
            invocation: std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        }))
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
    fn zero_timeout_is_a_usage_error() {
        assert!(Cli::try_parse_from(["entra-collect", "collect", "--timeout", "0"]).is_err());
    }
}
