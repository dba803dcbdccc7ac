//! No process a command starts outlives entra-collect, even one that left the command's process
//! group with `setsid` (keeping our pipes, or detached with its stdio closed): after a normal
//! run, a timeout and Ctrl-C. Linux only (the subreaper and `/proc` sweep; see
//! docs/architecture.md for the other systems).
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The setsid fake first, then the usual fakes and the system.
fn path() -> String {
    format!(
        "{}:{}",
        fixtures().join("bin-setsid").display(),
        fake_path()
    )
}

fn pids(pidfile: &Path) -> Vec<String> {
    std::fs::read_to_string(pidfile)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn assert_all_dead(pidfile: &Path, case: &str, at_least: usize) {
    let pids = pids(pidfile);
    assert!(pids.len() >= at_least, "{case}: only {pids:?} started");
    for pid in &pids {
        assert!(
            !alive(pid),
            "{case}: setsid grandchild {pid} outlived entra-collect"
        );
    }
}

#[test]
fn setsid_grandchildren_die_after_a_normal_run() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let t0 = Instant::now();
    bin(&path())
        .env("FAKE_PIDFILE", &pidfile)
        .args(["-q", "--timeout", "20", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    eprintln!("normal run took {:?}", t0.elapsed());
    let b = read_bundle(&only_bundle(dir.path()));
    assert_eq!(b.collector("versions.az")["commands"][0]["exit_code"], 0);
    // `az version` leaves two (`az --version` is no longer run: it checks for updates online).
    assert_all_dead(&pidfile, "normal", 2);
}

#[test]
fn setsid_grandchildren_die_after_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let t0 = Instant::now();
    bin(&path())
        .env("FAKE_PIDFILE", &pidfile)
        .env("FAKE_AZ_MODE", "hang")
        .args(["-q", "--timeout", "1", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    eprintln!("timeout run took {:?}", t0.elapsed());
    let b = read_bundle(&only_bundle(dir.path()));
    assert_eq!(b.collector("versions.az")["status"], "timed_out");
    assert_all_dead(&pidfile, "timeout", 2);
}

#[test]
fn setsid_grandchildren_die_after_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("entra-collect"))
        .env_clear()
        .env("PATH", path())
        .env("HOME", "/nonexistent-home")
        .env("ENTRA_COLLECT_NO_NETWORK", "1")
        .env("FAKE_AZ_MODE", "hang")
        .env("FAKE_PIDFILE", &pidfile)
        .args(["-q", "--timeout", "120", "-o"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while pids(&pidfile).len() < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "fake az never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    eprintln!("SIGINT to exit took {:?}", t0.elapsed());
    assert_eq!(status.code(), Some(130));
    assert_all_dead(&pidfile, "sigint", 2);
}
