//! The validated configuration that the rest of the program runs on. `cli` builds it once;
//! no clap type reaches past that point.

use std::path::PathBuf;
use std::time::Duration;

use crate::platform::Platform;

/// What to do.
#[derive(Debug, Clone)]
pub enum Command {
    Collect(CollectConfig),
    /// Print the redaction rule table.
    Rules {
        json: bool,
    },
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
    /// Whose collection logic runs (native unless overridden for tests).
    pub platform: Platform,
    /// Cap on each captured output stream of an external command.
    pub output_cap: usize,
    /// Parallel collector threads.
    pub jobs: usize,
    /// The arguments as given (redacted before they are stored).
    pub invocation: Vec<String>,
}
