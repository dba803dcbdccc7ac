//! Binary entry point: parse the command line, run, map the outcome to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = entra_collect::cli::Cli::parse();
    entra_collect::app::main_with(cli).into()
}
