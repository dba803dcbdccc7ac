//! `netsh trace` (Windows): a trace session the system runs; `netsh trace stop` ends it and
//! merges the `.etl` file, so the stop gets a long timeout of its own.

use std::path::Path;
use std::time::Duration;

use super::state::StateFile;
use super::{Capture, Tool, TraceError};
use crate::exec::{Cmd, Output, Runner};

/// `netsh trace stop` merges and can take minutes on a busy machine.
const STOP_TIMEOUT: Duration = Duration::from_secs(600);

pub(super) struct Netsh {
    runner: Runner,
}

impl Netsh {
    pub(super) fn new(runner: Runner) -> Self {
        Netsh { runner }
    }
}

impl Capture for Netsh {
    fn tool(&self) -> Tool {
        Tool::Netsh
    }

    fn start(
        &mut self,
        dir: &Path,
        max_mb: u64,
        _state: &mut StateFile,
    ) -> Result<Option<Output>, String> {
        let tracefile = dir.join("nettrace.etl");
        let cmd = Cmd::new("netsh")
            .args([
                "trace",
                "start",
                "capture=yes",
                "scenario=InternetClient_dbg",
                "report=disabled",
                "persistent=no",
                "overwrite=yes",
            ])
            .arg(format!("maxsize={max_mb}"))
            .arg(format!("tracefile={}", tracefile.display()));
        let out = self.runner.run(&cmd).map_err(|e| e.to_string())?;
        let text = out.stdout.text().0.to_ascii_lowercase();
        let failed = !out.success()
            || text.contains("requires elevation")
            || text.contains("already in progress");
        if failed {
            let first = out
                .stdout
                .text()
                .0
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .to_string();
            return Err(format!(
                "netsh trace start failed (exit code {}): {first}",
                out.exit_code
                    .map_or_else(|| "none".to_string(), |c| c.to_string())
            ));
        }
        Ok(Some(out))
    }

    fn stop(&mut self) -> (Option<Output>, Option<String>) {
        let cmd = Cmd::new("netsh")
            .args(["trace", "stop"])
            .timeout(STOP_TIMEOUT);
        match self.runner.run(&cmd) {
            Ok(o) => {
                let problem = (!o.success())
                    .then(|| format!("netsh trace stop exited with {:?}", o.exit_code));
                (Some(o), problem)
            }
            Err(e) => (None, Some(e.to_string())),
        }
    }
}

/// What must hold on Windows before a trace starts: an elevated prompt, no session running.
pub(super) fn preflight(runner: &Runner) -> Result<(), TraceError> {
    if !is_elevated(runner) {
        return Err(TraceError::NotElevated);
    }
    if running(runner) {
        return Err(TraceError::AlreadyRunning);
    }
    Ok(())
}

/// Is this Windows process elevated? `whoami /groups` lists the High Mandatory Level SID.
fn is_elevated(runner: &Runner) -> bool {
    runner
        .run(&Cmd::new("whoami").args(["/groups"]))
        .map(|o| o.stdout.text().0.contains("S-1-16-12288"))
        .unwrap_or(false)
}

/// `netsh trace show status`: is a trace session running?
pub(super) fn running(runner: &Runner) -> bool {
    match runner.run(&Cmd::new("netsh").args(["trace", "show", "status"])) {
        Ok(o) => {
            let t = o.stdout.text().0.to_ascii_lowercase();
            !t.contains("no trace session") && t.contains("running")
        }
        Err(_) => false,
    }
}

/// `trace stop` for a session an earlier run (or anyone) left running.
pub(super) fn stop_leftover(runner: &Runner) -> anyhow::Result<String> {
    let o = runner.run(&Cmd::new("netsh").args(["trace", "stop"]))?;
    anyhow::ensure!(
        o.success(),
        "netsh trace stop exited with {:?}: {}",
        o.exit_code,
        o.stdout.text().0.trim()
    );
    Ok("stopped the netsh trace".to_string())
}
