//! The debug run of the sign-in command and the network trace around it: argument shapes,
//! redaction of the run's secrets, and that the trace is stopped exactly once on every path
//! (success, failure, hang past the limit, SIGINT, SIGTERM) with no process left behind.

mod common;

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use predicates::prelude::*;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn out(&self) -> PathBuf {
        let p = self.dir.path().join("out");
        std::fs::create_dir_all(&p).unwrap();
        p
    }
    fn state(&self) -> PathBuf {
        let p = self.dir.path().join("state");
        std::fs::create_dir_all(&p).unwrap();
        p
    }
    fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }
    fn pids(&self) -> PathBuf {
        self.dir.path().join("pids")
    }
    fn calls(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
    fn count(&self, prefix: &str) -> usize {
        self.calls()
            .lines()
            .filter(|l| l.starts_with(prefix))
            .count()
    }
    fn cmd(&self) -> assert_cmd::Command {
        let mut c = bin(&fake_path());
        c.env("FAKE_LOG", self.log())
            .env("FAKE_PIDFILE", self.pids())
            .env("ENTRA_COLLECT_STATE_DIR", self.state())
            .env("FAKE_NETSH_STATE", self.dir.path().join("netsh-running"))
            .env("TMPDIR", self.dir.path());
        c
    }
    fn spawn(&self, envs: &[(&str, &str)], args: &[&str]) -> Child {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("entra-collect"));
        c.env_clear()
            .env("PATH", fake_path())
            .env("HOME", "/nonexistent-home")
            .env("ENTRA_COLLECT_NO_NETWORK", "1")
            .env("FAKE_LOG", self.log())
            .env("FAKE_PIDFILE", self.pids())
            .env("ENTRA_COLLECT_STATE_DIR", self.state())
            .env("TMPDIR", self.dir.path())
            .args(args)
            .arg("-o")
            .arg(self.out())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            c.env(k, v);
        }
        c.spawn().unwrap()
    }
    fn no_survivors(&self) {
        for pid in std::fs::read_to_string(self.pids())
            .unwrap_or_default()
            .split_whitespace()
        {
            assert!(!alive(pid), "process {pid} survived");
        }
    }
    fn wait_for_pids(&self, n: usize) {
        let t0 = Instant::now();
        while std::fs::read_to_string(self.pids())
            .map(|s| s.lines().count())
            .unwrap_or(0)
            < n
        {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "children never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn file_record(b: &Bundle, name: &str) -> serde_json::Value {
    b.manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .clone()
}

#[test]
fn az_preset_runs_az_login_debug_with_the_tenant() {
    let e = Env::new();
    e.cmd()
        .args([
            "-q",
            "--run",
            "az",
            "--tenant",
            "contoso.onmicrosoft.com",
            "-o",
        ])
        .arg(e.out())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(&e.out()));
    let run = b.collector("debug.run");
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(run["reason"], "the sign-in command exited with 1");
    assert_eq!(
        run["commands"][0]["command_line"],
        serde_json::json!([
            "az",
            "login",
            "--debug",
            "--tenant",
            "contoso.onmicrosoft.com"
        ])
    );
    assert_eq!(run["commands"][0]["exit_code"], 1);
    let log = b.text("debug/az-login.log");
    assert!(
        log.starts_with("# command: az login --debug --tenant contoso.onmicrosoft.com\n"),
        "{log}"
    );
    assert!(log.contains("AADSTS7000215"));
    assert!(log.contains(
        "Command arguments: ['login', '--debug', '--tenant', 'contoso.onmicrosoft.com']"
    ));
    // The other collectors ran beside it.
    assert_eq!(b.collector("versions.az")["status"], "ok");
}

#[test]
fn any_command_gets_its_debug_switch_and_loses_its_secret() {
    let e = Env::new();
    let out = e
        .cmd()
        .args(["-o"])
        .arg(e.out())
        .args([
            "--",
            "az",
            "login",
            "--service-principal",
            "-u",
            "app-id",
            "-p",
            "Zq8~PLANTED~pw",
            "--tenant",
            "t1",
        ])
        .assert()
        .success();
    let b = read_bundle(&only_bundle(&e.out()));
    let run = b.collector("debug.run");
    assert_eq!(
        run["commands"][0]["command_line"],
        serde_json::json!([
            "az",
            "login",
            "--service-principal",
            "-u",
            "app-id",
            "-p",
            "[REDACTED:argument]",
            "--tenant",
            "t1",
            "--debug"
        ])
    );
    let log = b.text("debug/az-login.log");
    assert!(
        log.contains("'-p', '[REDACTED:command-line-secret]'"),
        "{log}"
    );
    let everything = b.all_text()
        + &String::from_utf8_lossy(&out.get_output().stderr)
        + &String::from_utf8_lossy(&out.get_output().stdout);
    assert!(!everything.contains("PLANTED"), "secret leaked");
    // Live output (stderr is not a terminal here) was shown, redacted.
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("AADSTS7000215"));
}

/// The live view: a key and a token written in pieces are masked, the device-code prompt
/// (no newline) is shown while the tool waits, and only once.
#[cfg(unix)]
#[test]
fn live_output_is_redacted_and_shows_the_prompt_while_the_tool_waits() {
    use std::io::Read;
    let e = Env::new();
    let done = e.dir.path().join("prompt-done");
    let mut child = e.spawn(
        &[
            ("FAKE_AZ_LOGIN", "pieces"),
            ("FAKE_AZ_PROMPT_DONE", done.to_str().unwrap()),
        ],
        &["-q", "--run", "az"],
    );
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let prompt = "enter the code FAKE1234 to authenticate.";
    while !String::from_utf8_lossy(&seen).contains(prompt) {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // Shown before the tool ended its line.
    assert!(!done.exists(), "the prompt came only with its newline");
    stderr.read_to_end(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&seen);
    assert_eq!(shown.matches(prompt).count(), 1, "{shown}");
    assert!(
        shown.contains(&format!("{prompt}\nERROR: AADSTS70016")),
        "{shown}"
    );
    assert!(
        shown
            .contains("-----BEGIN PRIVATE KEY-----[REDACTED:private-key]-----END PRIVATE KEY-----"),
        "{shown}"
    );
    assert!(
        shown.contains("DEBUG: msal: token [REDACTED:jwt]\n"),
        "{shown}"
    );
    for piece in [
        "MIIE",
        "BKcwgg",
        "AQEAu1SU",
        "ezV6ff",
        "eyJ0eXAi",
        "bGciOiJSUzI1",
    ] {
        assert!(!shown.contains(piece), "{piece} shown: {shown}");
    }
    // The log in the bundle has the same, redacted as a whole.
    let log = read_bundle(&only_bundle(&e.out())).text("debug/az-login.log");
    assert!(
        log.contains("[REDACTED:private-key]") && !log.contains("MIIE"),
        "{log}"
    );
    assert!(log.contains("FAKE1234"));
}

#[test]
fn powershell_presets_run_the_cmdlet_in_the_right_powershell() {
    let e = Env::new();
    e.cmd()
        .args(["-q", "--run", "azps", "--tenant", "t1", "-o"])
        .arg(e.out())
        .assert()
        .success();
    assert!(
        e.calls()
            .contains("pwsh script: & { Connect-AzAccount -Tenant t1 -Debug } *>&1"),
        "{}",
        e.calls()
    );
    let b = read_bundle(&only_bundle(&e.out()));
    let log = b.text("debug/connect-azaccount.log");
    assert!(
        log.contains("HTTP REQUEST") && !log.contains("SEKRIT"),
        "{log}"
    );
    assert_eq!(
        b.collector("debug.run")["commands"][0]["command_line"][2],
        "-Command"
    );

    let e = Env::new();
    e.cmd()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .args([
            "-q",
            "--run",
            "mg",
            "--powershell",
            "desktop",
            "--tenant",
            "t1",
            "-o",
        ])
        .arg(e.out())
        .assert()
        .success();
    assert!(e.calls().contains("powershell.exe script: $DebugPreference = 'Continue'; & { Connect-MgGraph -TenantId t1 } *>&1"), "{}", e.calls());
    let b = read_bundle(&only_bundle(&e.out()));
    assert!(
        b.text("debug/connect-mggraph.log")
            .contains("InvalidAuthenticationToken")
    );
}

/// `--powershell auto` (the default) on a stock Windows machine, where only Windows
/// PowerShell 5.1 exists: `--run azps` and `--run mg` run in powershell.exe, started without
/// PSModulePath, and the console says which PowerShell ran.
#[test]
fn auto_falls_back_to_windows_powershell_without_pwsh() {
    for (preset, cmdlet) in [("azps", "Connect-AzAccount"), ("mg", "Connect-MgGraph")] {
        let e = Env::new();
        // PATH with the fakes minus pwsh.
        let bin = e.out().join("bin-no-pwsh");
        std::fs::create_dir_all(&bin).unwrap();
        let fakes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bin");
        for f in std::fs::read_dir(&fakes).unwrap() {
            let f = f.unwrap();
            if f.file_name() != "pwsh" {
                std::os::unix::fs::symlink(f.path(), bin.join(f.file_name())).unwrap();
            }
        }
        let out = e
            .cmd()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("ENTRA_COLLECT_PLATFORM", "windows")
            .env("PSModulePath", "/pwsh/7/Modules")
            .args(["--run", preset, "-o"])
            .arg(e.out())
            .assert()
            .success();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.contains("running in Windows PowerShell 5.1 (powershell.exe)"),
            "{stderr}"
        );
        assert!(
            e.calls().contains(&format!(
                "powershell.exe script: $DebugPreference = 'Continue'; & {{ {cmdlet} }} *>&1"
            )),
            "{}",
            e.calls()
        );
    }
}

#[test]
fn a_missing_sign_in_tool_fails_the_run_but_not_the_bundle() {
    let e = Env::new();
    e.cmd()
        .args(["-q", "-o"])
        .arg(e.out())
        .args(["--", "no-such-tool", "login"])
        .assert()
        .success();
    let b = read_bundle(&only_bundle(&e.out()));
    assert_eq!(b.collector("debug.run")["status"], "failed");
    assert_eq!(
        b.collector("debug.run")["reason"],
        "no-such-tool not found on PATH: the sign-in command could not run"
    );
}

#[test]
fn tcpdump_trace_wraps_the_run_and_is_stopped_once() {
    let e = Env::new();
    e.cmd()
        .env("FAKE_AZ_LOGIN", "ok")
        .env("HTTPS_PROXY", "http://proxy.corp:3128")
        .args([
            "-q",
            "--net-trace",
            "--trace-max-mb",
            "5",
            "--run",
            "az",
            "-o",
        ])
        .arg(e.out())
        .assert()
        .success();
    assert_eq!(e.count("tcpdump start"), 1);
    assert_eq!(e.count("tcpdump stop"), 1, "{}", e.calls());
    let start = e
        .calls()
        .lines()
        .find(|l| l.starts_with("tcpdump start"))
        .unwrap()
        .to_string();
    // Root keeps the capture (-Z root): tcpdump would drop to its own user before writing.
    let z = if unsafe_is_root() { "-Z root " } else { "" };
    assert!(
        start.contains(&format!("-i any {z}-n -U -s 0 -W 1 -C 5 -w ")),
        "{start}"
    );
    assert!(
        start.ends_with("tcp port 443 or tcp port 80 or tcp port 3128 or port 53"),
        "{start}"
    );
    let b = read_bundle(&only_bundle(&e.out()));
    let rec = file_record(&b, "trace/trace.pcap");
    assert_eq!(rec["redacted"], false);
    assert!(String::from_utf8_lossy(&b.entries["trace/trace.pcap"]).ends_with("FLUSHED"));
    assert_eq!(b.collector("net.trace")["status"], "ok");
    assert!(
        b.text("summary.md")
            .contains("could not be redacted and may contain sensitive data")
    );
    assert!(
        !e.state().join("entra-collect-trace.json").exists(),
        "state file left"
    );
    e.no_survivors();
}

#[test]
fn trace_is_stopped_once_when_the_run_fails() {
    let e = Env::new();
    e.cmd()
        .args(["-q", "--net-trace", "--run", "az", "-o"])
        .arg(e.out())
        .assert()
        .success();
    assert_eq!(e.count("tcpdump stop"), 1);
    let b = read_bundle(&only_bundle(&e.out()));
    assert!(b.entries.contains_key("trace/trace.pcap"));
}

#[test]
fn trace_is_stopped_once_when_the_run_hangs_past_its_limit() {
    let e = Env::new();
    let t0 = Instant::now();
    e.cmd()
        .env("FAKE_AZ_LOGIN", "hang")
        .args([
            "-q",
            "--net-trace",
            "--run-timeout",
            "1",
            "--run",
            "az",
            "-o",
        ])
        .arg(e.out())
        .assert()
        .success();
    assert!(t0.elapsed() < Duration::from_secs(30));
    assert_eq!(e.count("tcpdump stop"), 1);
    let b = read_bundle(&only_bundle(&e.out()));
    assert_eq!(b.collector("debug.run")["status"], "timed_out");
    assert!(
        b.collector("debug.run")["reason"]
            .as_str()
            .unwrap()
            .contains("--run-timeout")
    );
    e.no_survivors();
}

fn interrupted_run(sig: &str) {
    let e = Env::new();
    let child = e.spawn(
        &[("FAKE_AZ_LOGIN", "hang")],
        &["-q", "--net-trace", "--run", "az"],
    );
    // fake tcpdump, fake az and its grandchild
    e.wait_for_pids(3);
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(e.count("tcpdump stop"), 1, "{}", e.calls());
    let b = read_bundle(&only_bundle(&e.out()));
    assert_eq!(b.manifest["status"], "interrupted");
    assert_eq!(b.collector("debug.run")["status"], "interrupted");
    assert_eq!(b.collector("net.trace")["status"], "interrupted");
    assert!(
        b.entries.contains_key("trace/trace.pcap"),
        "the trace is kept"
    );
    e.no_survivors();
}

#[cfg(unix)]
#[test]
fn sigint_during_the_run_stops_the_trace_once_and_writes_a_partial_bundle() {
    interrupted_run("-INT");
}

#[cfg(unix)]
#[test]
fn sigterm_during_the_run_stops_the_trace_once_and_writes_a_partial_bundle() {
    interrupted_run("-TERM");
}

#[test]
fn netsh_trace_on_windows() {
    let e = Env::new();
    e.cmd()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("FAKE_ELEVATED", "1")
        .args([
            "-q",
            "--net-trace",
            "--trace-max-mb",
            "300",
            "--run",
            "az",
            "-o",
        ])
        .arg(e.out())
        .assert()
        .success();
    let calls = e.calls();
    let start = calls
        .lines()
        .find(|l| l.starts_with("netsh trace start"))
        .unwrap();
    assert!(
        start.starts_with("netsh trace start capture=yes scenario=InternetClient_dbg report=disabled persistent=no overwrite=yes maxsize=300 tracefile="),
        "{start}"
    );
    assert!(start.ends_with("nettrace.etl"));
    assert_eq!(e.count("netsh trace stop"), 1);
    // Checked for a running trace first, by logman's session list (not netsh's sentences).
    assert_eq!(e.count("logman query -ets"), 1, "{calls}");
    assert_eq!(e.count("netsh trace show status"), 0, "{calls}");
    let b = read_bundle(&only_bundle(&e.out()));
    assert!(!b.entries.contains_key("network/trace-status.txt"));
    assert_eq!(
        String::from_utf8_lossy(&b.entries["trace/nettrace.etl"]),
        "ETL-FAKE-HEADER\nETL-FAKE-EVENTS\n"
    );
    assert_eq!(file_record(&b, "trace/nettrace.etl")["redacted"], false);
}

/// logman lists netsh's `NetTrace` session: a trace is already running, nothing starts.
#[test]
fn windows_trace_already_running_per_logman_stops_before_anything_runs() {
    let e = Env::new();
    std::fs::write(e.dir.path().join("netsh-running"), "C:\\other.etl\n").unwrap();
    e.cmd()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("FAKE_ELEVATED", "1")
        .args(["--net-trace", "--run", "az", "-o"])
        .arg(e.out())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("already running"));
    assert_eq!(e.count("logman query -ets"), 1);
    assert_eq!(e.count("netsh trace"), 0, "{}", e.calls());
    assert_eq!(e.count("az"), 0, "nothing ran");
}

/// Neither logman (no rights) nor netsh (Wine's silent stub) tells whether a trace runs: the
/// trace goes ahead, the checks recorded with it and their output kept.
#[test]
fn windows_trace_status_unknown_goes_ahead_and_keeps_the_checks() {
    let e = Env::new();
    e.cmd()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("FAKE_ELEVATED", "1")
        .env("FAKE_LOGMAN_MODE", "denied")
        .env("FAKE_NETSH_MODE", "silent")
        .args(["-q", "--net-trace", "--run", "az", "-o"])
        .arg(e.out())
        .assert()
        .success();
    assert_eq!(e.count("logman query -ets"), 1);
    assert_eq!(e.count("netsh trace show status"), 1);
    assert_eq!(e.count("netsh trace start"), 1);
    assert_eq!(e.count("netsh trace stop"), 1);
    let b = read_bundle(&only_bundle(&e.out()));
    let t = b.collector("net.trace");
    assert_eq!(t["status"], "ok", "{t}");
    let programs: Vec<String> = t["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["command_line"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        programs[..2],
        ["logman query -ets", "netsh trace show status"]
    );
    assert!(programs[2].starts_with("netsh trace start"), "{programs:?}");
    let checks = b.text("network/trace-status.txt");
    assert!(
        checks.contains("# logman query -ets") && checks.contains("Access is denied"),
        "{checks}"
    );
    assert!(b.entries.contains_key("trace/nettrace.etl"));
}

/// `trace stop` on Windows: a trace logman lists is stopped; when nothing tells whether one
/// runs, the stop is tried and its exit code decides (a refused stop: nothing was running).
#[test]
fn windows_trace_stop_by_logman_and_exit_code() {
    let e = Env::new();
    let etl = e.dir.path().join("left.etl");
    std::fs::write(&etl, "ETL-FAKE-HEADER\n").unwrap();
    std::fs::write(
        e.dir.path().join("netsh-running"),
        format!("{}\n", etl.display()),
    )
    .unwrap();
    e.cmd()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .args(["trace", "stop"])
        .assert()
        .success()
        .stderr(predicate::str::contains("stopped the netsh trace"));
    assert_eq!(e.count("netsh trace stop"), 1);
    // Nothing running, and no way to tell: the stop is tried, fails, and that is no error.
    e.cmd()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("FAKE_LOGMAN_MODE", "garbage")
        .env("FAKE_NETSH_MODE", "silent")
        .args(["trace", "stop"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no network trace was running"));
    assert_eq!(e.count("netsh trace stop"), 2);
    // Nothing running per logman: no stop at all.
    e.cmd()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .args(["trace", "stop"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no network trace was running"));
    assert_eq!(e.count("netsh trace stop"), 2);
}

#[test]
fn windows_trace_without_elevation_fails_before_anything_runs() {
    let e = Env::new();
    e.cmd()
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .args(["--net-trace", "--run", "az", "-o"])
        .arg(e.out())
        .assert()
        .code(3)
        .stderr(predicate::str::contains("needs an elevated prompt"));
    assert_eq!(e.count("netsh"), 0);
    assert_eq!(e.count("az"), 0, "nothing ran");
    assert_eq!(
        std::fs::read_dir(e.out()).unwrap().count(),
        0,
        "no bundle, no temporary file"
    );
}

#[test]
fn too_little_disk_is_a_clear_error_before_anything_runs() {
    let e = Env::new();
    e.cmd()
        .args([
            "--net-trace",
            "--trace-max-mb",
            "65536",
            "--run",
            "az",
            "-o",
        ])
        .arg(e.out())
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("not enough free disk for a")
                .and(predicate::str::contains("lower --trace-max-mb")),
        );
    assert_eq!(e.count("tcpdump"), 0);
}

#[test]
fn without_a_run_the_trace_records_until_enter() {
    let e = Env::new();
    e.cmd()
        .args(["-q", "--net-trace", "-o"])
        .arg(e.out())
        .write_stdin("\n")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Reproduce the failing sign-in now, then press Enter",
        ));
    assert_eq!(e.count("tcpdump stop"), 1);
    let b = read_bundle(&only_bundle(&e.out()));
    assert!(b.entries.contains_key("trace/trace.pcap"));
    assert!(
        !b.manifest["collectors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "debug.run")
    );
}

#[test]
fn a_capture_that_is_not_permitted_is_skipped_with_the_reason() {
    let e = Env::new();
    e.cmd()
        .env("FAKE_TCPDUMP_MODE", "denied")
        .args(["-q", "--net-trace", "--run", "az", "-o"])
        .arg(e.out())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(&e.out()));
    let t = b.collector("net.trace");
    assert_eq!(t["status"], "skipped");
    assert_eq!(
        t["reason"],
        "tcpdump could not start: (socket: Operation not permitted)"
    );
    assert_eq!(b.collector("debug.run")["status"], "ok");
    assert!(!e.state().join("entra-collect-trace.json").exists());
}

#[test]
fn trace_stop_ends_a_capture_left_by_an_earlier_run() {
    let e = Env::new();
    // A capture left running, as after a crash: a fake tcpdump and its state file.
    let pcap = e.dir.path().join("left.pcap");
    let mut left = std::process::Command::new(fixtures().join("bin/tcpdump"))
        .env("FAKE_LOG", e.log())
        .args(["-w"])
        .arg(&pcap)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // As the earlier run recorded it: the capture's pid and identity (executable, start time).
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", left.id())).unwrap();
    let start_time = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(19)
        .unwrap();
    let capture = serde_json::json!({
        "exe": std::fs::read_link(format!("/proc/{}/exe", left.id())).unwrap(),
        "start_time": start_time,
        "boot_id": std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim(),
    });
    let state = serde_json::json!({"tool": "tcpdump", "started_at": "2026-11-25T06:00:00Z", "dir": e.dir.path(), "entra_collect_pid": 1, "capture_pid": left.id(), "capture": capture});
    std::fs::write(
        e.state().join("entra-collect-trace.json"),
        state.to_string(),
    )
    .unwrap();

    // collect warns about it
    e.cmd()
        .args(["-o"])
        .arg(e.out())
        .assert()
        .success()
        .stderr(predicate::str::contains("may still be running"));
    // and `trace stop` ends it, gracefully
    e.cmd()
        .args(["trace", "stop"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "stopped tcpdump (pid {})",
            left.id()
        )));
    let status = left.wait().unwrap();
    assert!(status.success(), "tcpdump was not stopped gracefully");
    assert_eq!(e.count("tcpdump stop"), 1);
    assert!(!e.state().join("entra-collect-trace.json").exists());
    e.cmd()
        .args(["trace", "stop"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no network trace was running"));
}

/// The real Azure CLI, offline: the sign-in fails with a real error and the `-p` value is
/// redacted. Runs when `az` is on PATH or AZ_E2E_BIN names its directory (.ci/run installs
/// azure-cli from PyPI into a venv); skipped otherwise.
#[test]
fn real_azure_cli_debug_run() {
    let Some(az_dir) = real_az_or_skip() else {
        return;
    };
    let e = Env::new();
    let cfg = e.dir.path().join("azcfg");
    let path = format!("{}:/usr/bin:/bin", az_dir.display());
    let out = bin(&path)
        .env("AZURE_CONFIG_DIR", &cfg)
        .env("ENTRA_COLLECT_STATE_DIR", e.state())
        // Offline for sure: an unroutable proxy on loopback refuses every connection.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .args(["-q", "--run-timeout", "240", "--timeout", "120", "-o"])
        .arg(e.out())
        .args([
            "--",
            "az",
            "login",
            "--service-principal",
            "-u",
            "11111111-2222-3333-4444-555555555555",
            "-p",
            "Zq8~REAL-E2E-SECRET",
            "--tenant",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
        ])
        .timeout(Duration::from_secs(400))
        .assert()
        .success();
    let b = read_bundle(&only_bundle(&e.out()));
    let log = b.text("debug/az-login.log");
    assert!(
        log.contains("DEBUG: cli.knack.cli: Command arguments: ['login', '--service-principal'"),
        "{log}"
    );
    assert!(
        log.contains("'-p', '[REDACTED:command-line-secret]'"),
        "{log}"
    );
    assert!(
        log.contains("ProxyError")
            || log.contains("Max retries exceeded")
            || log.contains("Connection refused"),
        "no real network error in {log}"
    );
    let everything = b.all_text() + &String::from_utf8_lossy(&out.get_output().stderr);
    assert!(!everything.contains("REAL-E2E-SECRET"));
    let run = b.collector("debug.run");
    assert_eq!(run["commands"][0]["exit_code"], 1, "{run}");
    assert_eq!(
        b.json("versions/az.json")["azure_cli"]
            .as_str()
            .map(|v| v.starts_with("2.")),
        Some(true)
    );
}

#[cfg(unix)]
#[test]
fn second_ctrl_c_exits_at_once_after_stopping_the_trace() {
    let e = Env::new();
    let child = e.spawn(
        &[("FAKE_AZ_LOGIN", "hang")],
        &["-q", "--net-trace", "--run", "az"],
    );
    e.wait_for_pids(3);
    signal(&child, "-INT");
    signal(&child, "-INT");
    let t0 = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(t0.elapsed() < Duration::from_secs(15));
    assert_eq!(e.count("tcpdump stop"), 1, "{}", e.calls());
    assert!(
        !e.state().join("entra-collect-trace.json").exists(),
        "state file left"
    );
    e.no_survivors();
}

fn unsafe_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
