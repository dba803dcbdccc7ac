//! `netsh trace` (Windows): a trace session the system runs; `netsh trace stop` ends it and
//! merges the `.etl` file, so the stop gets a long timeout of its own.
//!
//! Whether a trace is running is decided from structure, not from sentences: `logman query
//! -ets` lists the running ETW sessions by name (names are not translated; netsh's is
//! `NetTrace`), and exit codes judge start and stop. netsh's own status text is read only when
//! logman gives no listing, in English (and Japanese where the wording is known); anything else
//! is "unknown", treated conservatively: a start goes ahead with the raw output recorded, a
//! stop is simply attempted and judged by its exit code.

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
        let cmd = Cmd::new("netsh").args(crate::collect::registry::netsh_trace_start_args(
            &max_mb.to_string(),
            &tracefile.display().to_string(),
        ));
        let out = self.runner.run(&cmd).map_err(|e| e.to_string())?;
        let failed = !out.success() || start_refused(&out.stdout.text().0);
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
                let problem = (!o.success()).then(|| {
                    format!(
                        "netsh trace stop exited with {}",
                        crate::collect::debug_run::exit_text(o.exit_code)
                    )
                });
                (Some(o), problem)
            }
            Err(e) => (None, Some(e.to_string())),
        }
    }
}

/// netsh's session name, as `logman query -ets` lists it while `netsh trace start` runs. ETW
/// session names are identifiers, never translated. (Public Windows network-diagnostic tools
/// clear a stuck netsh trace with `logman stop NetTrace -ets`; not checked on a live Windows
/// here: if the name were different, a running trace would read as not running and the start
/// itself would then refuse.)
const SESSION: &str = "NetTrace";

/// Sentences of a refused `netsh trace start`, in case it refuses with exit code 0: English,
/// and the Japanese system message for ERROR_ELEVATION_REQUIRED (740). The exit code decides
/// first; these can only turn a success into a failure, never the other way.
const START_REFUSED: [&str; 3] = [
    "requires elevation",
    "already in progress",
    "要求された操作には管理者特権が必要です",
];

fn start_refused(text: &str) -> bool {
    let lower = text.to_lowercase();
    START_REFUSED.iter().any(|s| lower.contains(s))
}

/// Whether a netsh trace is running, as far as the checks can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TraceState {
    Running,
    NotRunning,
    /// Neither logman nor netsh answered in a form this version reads.
    Unknown,
}

/// `logman query -ets`'s listing: is the `NetTrace` session in it? None when the output is not
/// a listing (no `-----` rule under the header): the header and the status words are
/// translated, the rule and the session names are not.
pub(super) fn logman_state(text: &str) -> Option<TraceState> {
    let mut lines = text.lines().map(str::trim);
    lines.find(|l| l.len() >= 10 && l.chars().all(|c| c == '-'))?;
    let running = lines.any(|l| {
        l.strip_prefix(SESSION)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
    });
    Some(if running {
        TraceState::Running
    } else {
        TraceState::NotRunning
    })
}

/// `netsh trace show status` (read only when logman gives no listing): English, and a Japanese
/// status line (`状態: 実行中`, wording not verified against a Japanese Windows). Anything else
/// is unknown.
pub(super) fn netsh_status_state(text: &str) -> TraceState {
    let lower = text.to_lowercase();
    if lower.contains("there is no trace session currently in progress") {
        return TraceState::NotRunning;
    }
    let status_running = |l: &str| {
        let l = l.trim();
        (l.starts_with("Status:") && l.ends_with("Running"))
            || (l.starts_with("状態") && l.contains("実行中"))
    };
    if text.lines().any(status_running) {
        TraceState::Running
    } else {
        TraceState::Unknown
    }
}

/// Is a netsh trace running? `logman query -ets` first; `netsh trace show status` when logman
/// fails or prints no listing. With the state, the outputs of the checks when it is unknown
/// (to record with the trace).
pub(super) fn status(runner: &Runner) -> (TraceState, Vec<Output>) {
    let mut outputs = Vec::new();
    if let Ok(o) = runner.run(&Cmd::new("logman").args(["query", "-ets"])) {
        if o.success()
            && let Some(state) = logman_state(&o.stdout.text().0)
        {
            return (state, Vec::new());
        }
        outputs.push(o);
    }
    if let Ok(o) = runner.run(&Cmd::new("netsh").args(["trace", "show", "status"])) {
        let state = netsh_status_state(&o.stdout.text().0);
        if state != TraceState::Unknown {
            return (state, Vec::new());
        }
        outputs.push(o);
    }
    (TraceState::Unknown, outputs)
}

/// What must hold on Windows before a trace starts: an elevated prompt, no session running.
/// `Ok`: the outputs of status checks that could not tell (the trace goes ahead; they are
/// recorded with it).
pub(super) fn preflight(runner: &Runner) -> Result<Vec<Output>, TraceError> {
    if !is_elevated(runner) {
        return Err(TraceError::NotElevated);
    }
    match status(runner) {
        (TraceState::Running, _) => Err(TraceError::AlreadyRunning),
        (TraceState::NotRunning, _) => Ok(Vec::new()),
        (TraceState::Unknown, outputs) => Ok(outputs),
    }
}

/// Is this Windows process elevated? `whoami /groups` lists the High Mandatory Level SID
/// (`S-1-16-12288`), which no translation changes; a failed `whoami` counts as not elevated.
fn is_elevated(runner: &Runner) -> bool {
    runner
        .run(&Cmd::new("whoami").args(["/groups"]))
        .map(|o| o.stdout.text().0.contains("S-1-16-12288"))
        .unwrap_or(false)
}

/// `trace stop` for a session an earlier run (or anyone) left running, judged by the exit
/// code. `expected`: the state file or logman said one runs, so a failed stop is an error;
/// otherwise (the status was unknown) a failed stop means there was nothing to stop: None.
pub(super) fn stop_leftover(runner: &Runner, expected: bool) -> anyhow::Result<Option<String>> {
    let o = runner.run(&Cmd::new("netsh").args(["trace", "stop"]))?;
    if o.success() {
        return Ok(Some("stopped the netsh trace".to_string()));
    }
    anyhow::ensure!(
        !expected,
        "netsh trace stop exited with {}: {}",
        crate::collect::debug_run::exit_text(o.exit_code),
        o.stdout.text().0.trim()
    );
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\r\nData Collector Set                      Type                          Status\r\n-------------------------------------------------------------------------------\r\nCircular Kernel Context Logger          Trace                         Running\r\nEventLog-Application                    Trace                         Running\r\n";

    #[test]
    fn logman_listing_decides_by_session_name() {
        assert_eq!(logman_state(LISTING), Some(TraceState::NotRunning));
        let with = format!(
            "{LISTING}NetTrace                                Trace                         Running\r\n\r\nThe command completed successfully.\r\n"
        );
        assert_eq!(logman_state(&with), Some(TraceState::Running));
        // Translated header and status words change nothing.
        let ja = "\r\nデータ コレクター セット                Type                          状態\r\n-------------------------------------------------------------------------------\r\nEventLog-System                         Trace                         実行中\r\nNetTrace                                Trace                         実行中\r\n\r\nコマンドは正常に完了しました。\r\n";
        assert_eq!(logman_state(ja), Some(TraceState::Running));
        // Another session whose name starts the same way is not netsh's.
        let other = format!("{LISTING}NetTraceX                               Trace   Running\r\n");
        assert_eq!(logman_state(&other), Some(TraceState::NotRunning));
        // Not a listing: an error, nothing, a header without its rule.
        for text in [
            "",
            "Error:\r\nAccess is denied.\r\n",
            "Data Collector Set    Type    Status\r\nNetTrace   Trace   Running\r\n",
        ] {
            assert_eq!(logman_state(text), None, "{text:?}");
        }
    }

    #[test]
    fn netsh_status_english_japanese_else_unknown() {
        assert_eq!(
            netsh_status_state("There is no trace session currently in progress.\r\n"),
            TraceState::NotRunning
        );
        assert_eq!(
            netsh_status_state(
                "Trace configuration:\r\n----\r\nStatus:             Running\r\nTrace File:         C:\\t.etl\r\n"
            ),
            TraceState::Running
        );
        assert_eq!(
            netsh_status_state("トレース構成:\r\n----\r\n状態:               実行中\r\n"),
            TraceState::Running
        );
        for text in ["", "Ablaufverfolgung läuft nicht.", "garbage\nStatus: ?"] {
            assert_eq!(netsh_status_state(text), TraceState::Unknown, "{text:?}");
        }
    }

    #[test]
    fn start_refusals() {
        assert!(start_refused(
            "The requested operation requires elevation (Run as administrator)."
        ));
        assert!(start_refused("A tracing session is already in progress."));
        assert!(start_refused("要求された操作には管理者特権が必要です。"));
        assert!(!start_refused(
            "\r\nTrace configuration:\r\nStatus:             Running\r\n"
        ));
    }
}
