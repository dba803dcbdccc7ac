//! The validated configuration that the rest of the program runs on. `cli` builds it once;
//! no clap type reaches past that point.

use std::path::PathBuf;
use std::time::Duration;

use crate::platform::Platform;

/// What to do.
#[derive(Debug, Clone)]
pub enum Command {
    Collect(Box<CollectConfig>),
    /// Print the redaction rule table.
    Rules {
        json: bool,
        lang: crate::vocab::Lang,
    },
    /// Verify a bundle and re-run the findings on it.
    Inspect {
        bundle: PathBuf,
        json: bool,
        lang: crate::vocab::Lang,
        max_entry_bytes: u64,
    },
    /// Stop a network trace left running by an earlier run.
    TraceStop {
        platform: Platform,
        timeout: Duration,
    },
    /// `--list`: print every collector with what it reads or runs.
    List {
        lang: crate::vocab::Lang,
    },
    /// Print a shell completion script.
    Completions(Shell),
    /// Print the man page (roff).
    Man,
}

/// A shell `entra-collect completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    /// PowerShell (Windows PowerShell 5.1 and pwsh 7+)
    Pwsh,
}

/// Which of the selectable collectors run (`--skip` / `--only`); the others are recorded as
/// skipped with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    #[default]
    All,
    Skip(Vec<String>),
    Only(Vec<String>),
}

/// Which sign-in preset `--run` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// `az login --debug`
    Az,
    /// `Connect-AzAccount -Debug`
    AzPowerShell,
    /// `Connect-MgGraph -Debug`
    Graph,
}

/// Which PowerShell runs PowerShell commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsEdition {
    /// `pwsh` when it is on PATH, else Windows PowerShell 5.1 (`powershell.exe`): a stock
    /// Windows machine has only 5.1.
    Auto,
    /// PowerShell 7+ (`pwsh`)
    Core,
    /// Windows PowerShell 5.1 (`powershell.exe`)
    Desktop,
}

/// The sign-in command to run with its debug switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugCommand {
    Preset(Preset),
    /// A command line given after `--`.
    Argv(Vec<String>),
}

/// The debug run: what, in which PowerShell, for which tenant, with which limit.
#[derive(Debug, Clone)]
pub struct DebugRun {
    pub command: DebugCommand,
    pub tenant: Option<String>,
    pub powershell: PsEdition,
    pub timeout: Duration,
    /// `--har`: also write `debug/<name>.har`.
    pub har: bool,
}

/// How a sign-in chosen at the prompt runs (`--powershell`, `--run-timeout`, `--har`).
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    pub powershell: PsEdition,
    pub timeout: Duration,
    pub har: bool,
}

/// `--net-trace` settings.
#[derive(Debug, Clone, Copy)]
pub struct NetTrace {
    /// Largest trace file kept, in MiB (also the capture tool's own limit).
    pub max_mb: u64,
}

/// Settings for one `collect` run.
#[derive(Debug, Clone)]
pub struct CollectConfig {
    pub output_dir: PathBuf,
    /// Limit for each external command.
    pub timeout: Duration,
    pub json: bool,
    pub quiet: bool,
    /// Pseudonymize e-mail addresses / UPNs.
    pub mask_pii: bool,
    /// Pseudonymize the host name (and name the bundle after the pseudonym).
    pub mask_host: bool,
    /// Whose collection logic runs (native unless overridden for tests).
    pub platform: Platform,
    /// Cap on each captured output stream of an external command.
    pub output_cap: usize,
    /// Parallel collector threads.
    pub jobs: usize,
    /// The arguments as given (redacted before they are stored).
    pub invocation: Vec<String>,
    /// The sign-in commands to run with their debug switch, one after another (`--run az,azps`
    /// or `-- COMMAND`); empty: none.
    pub debug_runs: Vec<DebugRun>,
    /// No `--run`, no `-- COMMAND`, no `--no-run`: ask which sign-in failed when stdin and
    /// stderr are terminals, and run the answer with these settings.
    pub ask_sign_in: Option<RunSettings>,
    /// The tenant the user means to sign in to (`--tenant`).
    pub tenant: Option<String>,
    pub net_trace: Option<NetTrace>,
    /// Language of summary.md, findings and console messages.
    pub lang: crate::vocab::Lang,
    /// Proxy, TLS and probe settings.
    pub network: crate::vocab::NetworkConfig,
    /// `--skip` / `--only`.
    pub selection: Selection,
    /// `--dry-run`: print the commands that would run, write no bundle.
    pub dry_run: bool,
}

impl CollectConfig {
    /// How long a sign-in reproduction may take: the debug runs' limit, or the default one.
    pub fn debug_run_limit(&self) -> Duration {
        self.debug_runs
            .first()
            .map(|r| r.timeout)
            .unwrap_or(Duration::from_secs(600))
    }

    /// Was a sign-in command run (its debug output is in the bundle)?
    pub fn runs_sign_in(&self) -> bool {
        !self.debug_runs.is_empty()
    }
}
