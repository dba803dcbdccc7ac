//! Process exit codes: a public contract, documented in the README.

/// What the process tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// A bundle was written (collectors may still have failed or been skipped).
    Ok = 0,
    /// A housekeeping command (`trace stop`) failed.
    Failure = 1,
    /// The command line was wrong (clap also uses 2).
    Usage = 2,
    /// No bundle could be written: the reason was printed on stderr.
    NoBundle = 3,
    /// Interrupted by Ctrl-C / SIGTERM; a partial bundle was written if possible.
    Interrupted = 130,
    /// stdout was closed before everything was printed (`| head -c1`): the bundle was written,
    /// its path or JSON summary could not be. 128 + SIGPIPE, as a shell reports a pipe death.
    BrokenPipe = 141,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}
