//! Binary entry point: parse the command line, run, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    match entra_collect::cli::parse() {
        Ok(cli) => entra_collect::app::main_with(cli).into(),
        Err(e) => entra_collect::app::usage_error(e).into(),
    }
}
