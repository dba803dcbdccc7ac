//! The run flow of issue 16: the guided sign-in question on a terminal (driven through a real
//! pseudo-terminal), the warning of a run without a sign-in, several `--run` presets, the
//! closing message, a closed stdout, `--json` errors, `-o` creating its directory, and no Rust
//! debug text (`Some(..)`) anywhere a user reads.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// Everything a user reads of a run: stdout, stderr and every text entry of its bundle.
fn assert_no_debug_text(stdout: &str, stderr: &str, bundle: Option<&Bundle>) {
    for (what, text) in [("stdout", stdout), ("stderr", stderr)] {
        assert!(!text.contains("Some("), "{what} has Some(..):\n{text}");
    }
    if let Some(b) = bundle {
        for (name, data) in &b.entries {
            if let Ok(text) = std::str::from_utf8(data) {
                assert!(!text.contains("Some("), "{name} has Some(..):\n{text}");
            }
        }
    }
}

fn run(dir: &Path, args: &[&str]) -> (std::process::Output, String, String) {
    let out = bin(&fake_path())
        .args(args)
        .arg("-o")
        .arg(dir)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

#[test]
fn without_a_terminal_the_default_run_warns_that_no_sign_in_was_captured() {
    let t = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(t.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("No sign-in output captured: re-run with --run az|azps|mg"),
        "{stderr}"
    );
    let b = read_bundle(&only_bundle(t.path()));
    let summary = b.text("summary.md");
    let head: String = summary.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("No sign-in output captured: re-run with `--run az|azps|mg`"),
        "the warning is not at the top:\n{summary}"
    );
    assert!(!b.entries.keys().any(|k| k.starts_with("debug/")));
    // ENTRA_COLLECT_NO_NETWORK (set by `bin`) is named as what it is.
    assert!(
        stderr.contains("ENTRA_COLLECT_NO_NETWORK is set"),
        "{stderr}"
    );
    assert!(!stderr.contains("--no-network given"), "{stderr}");
    assert_no_debug_text(&stdout, &stderr, Some(&b));

    // In Japanese too.
    let t = tempfile::tempdir().unwrap();
    let (_, _, stderr) = run(t.path(), &["--lang", "ja"]);
    assert!(
        stderr.contains("サインインの出力は記録されていません"),
        "{stderr}"
    );
    let b = read_bundle(&only_bundle(t.path()));
    assert!(
        b.text("summary.md")
            .lines()
            .take(4)
            .any(|l| l.contains("サインインの出力は記録されていません")),
    );
}

#[test]
fn several_presets_run_one_after_another_each_with_its_own_log() {
    let t = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(t.path(), &["--run", "az,azps", "--har"]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let b = read_bundle(&only_bundle(t.path()));
    for name in [
        "debug/az-login.log",
        "debug/az-login.requests.json",
        "debug/az-login.har",
        "debug/connect-azaccount.log",
        "debug/connect-azaccount.requests.json",
        "debug/connect-azaccount.har",
    ] {
        assert!(
            b.entries.contains_key(name),
            "no {name}: {:?}",
            b.entries.keys()
        );
    }
    assert!(b.text("debug/az-login.log").contains("# exit code: 1;"));
    assert!(!stderr.contains("No sign-in output captured"), "{stderr}");
    assert!(
        !b.text("summary.md").contains("No sign-in output captured"),
        "a run with a sign-in has no warning"
    );
    assert_no_debug_text(&stdout, &stderr, Some(&b));
    // --no-run: no question, no sign-in, the warning.
    let t = tempfile::tempdir().unwrap();
    let (out, _, stderr) = run(t.path(), &["--no-run"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr.contains("No sign-in output captured"), "{stderr}");
}

#[test]
fn the_closing_message_tells_where_the_bundle_is_and_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(t.path(), &["--no-run"]);
    assert_eq!(out.status.code(), Some(0));
    let bundle = only_bundle(t.path());
    let abs = bundle.canonicalize().unwrap();
    // stdout (not a terminal): the absolute path, for scripts.
    assert_eq!(stdout.trim_end(), abs.display().to_string());
    assert!(
        stderr.contains(&format!("  {} (", abs.display())),
        "{stderr}"
    );
    assert!(stderr.contains("KiB)"), "{stderr}");
    assert!(stderr.contains("Attach this file to your support case."));
    assert!(stderr.contains(&format!(
        "To look inside: entra-collect inspect {}",
        abs.display()
    )));
    // -q: the path only.
    let t = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(t.path(), &["--no-run", "-q"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr, "", "-q prints only errors");
    assert_eq!(
        stdout.trim_end(),
        only_bundle(t.path())
            .canonicalize()
            .unwrap()
            .display()
            .to_string()
    );
}

#[test]
fn json_errors_are_json_on_stdout_with_the_exit_code_unchanged() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let (out, stdout, stderr) = run(&file, &["--no-run", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(v["error"]["kind"], "output_dir");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("Cannot write to") && msg.contains("Choose another directory with -o."),
        "{msg}"
    );
    // Without --json: the same message once, on stderr.
    let (out, stdout, stderr) = run(&file, &["--no-run"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stdout, "");
    assert_eq!(stderr.matches("Cannot write to").count(), 1, "{stderr}");
    // A usage error: exit 2, JSON.
    let out = bin(&fake_path())
        .args(["--json", "--run", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["error"]["kind"], "usage");
    assert!(v["error"]["message"].as_str().unwrap().contains("nonsense"));
    assert_no_debug_text(&String::from_utf8_lossy(&out.stdout), &stderr, None);
    // `inspect --json` of something that is not a bundle: JSON too, exit 1.
    let out = bin(&fake_path())
        .args(["inspect", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["error"]["kind"], "inspect");
}

#[cfg(unix)]
#[test]
fn a_missing_output_directory_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("new/deeper");
    let (out, _, stderr) = run(&dir, &["--no-run"]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for d in [t.path().join("new"), dir.clone()] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    only_bundle(&dir);
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_after_the_bundle_is_a_success() {
    use std::process::{Command, Stdio};
    let t = tempfile::tempdir().unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("entra-collect"))
        .env_clear()
        .env("PATH", fake_path())
        .env("HOME", "/nonexistent-home")
        .env("ENTRA_COLLECT_NO_NETWORK", "1")
        .args(["--no-run", "-o"])
        .arg(t.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let names: Vec<String> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "one bundle, nothing else: {names:?}");
    assert!(names[0].ends_with(".zip"));
}

/// The guided question through a real pseudo-terminal: Azure CLI is chosen (Enter on the first
/// item), no tenant, and the bundle holds `az login --debug`'s log.
#[cfg(unix)]
#[test]
fn on_a_terminal_the_default_run_asks_which_sign_in_failed() {
    use expectrl::{Eof, Expect, Session};
    let t = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("entra-collect"));
    cmd.env_clear()
        .env("PATH", fake_path())
        .env("HOME", "/nonexistent-home")
        .env("TERM", "xterm")
        .env("ENTRA_COLLECT_NO_NETWORK", "1")
        .arg("-o")
        .arg(t.path());
    let mut p = Session::spawn(cmd).unwrap();
    p.set_expect_timeout(Some(Duration::from_secs(60)));
    p.expect("Which sign-in failed?").unwrap();
    // Only the tools found: the fakes are az, pwsh and powershell.exe.
    p.expect("Azure CLI (az login)").unwrap();
    p.expect("Connect-MgGraph").unwrap();
    p.expect("None").unwrap();
    p.send("\r").unwrap();
    p.expect("Tenant").unwrap();
    p.send("\r").unwrap();
    p.expect("Attach this file to your support case.").unwrap();
    p.expect(Eof).unwrap();
    let status = format!("{:?}", p.get_process().wait().unwrap());
    assert!(
        status.starts_with("Exited(") && status.ends_with(", 0)"),
        "{status}"
    );
    let b = read_bundle(&only_bundle(t.path()));
    let log = b.text("debug/az-login.log");
    assert!(log.starts_with("# command: az login --debug"), "{log}");
    assert!(!b.text("summary.md").contains("No sign-in output captured"));
}

/// Ctrl-C at the question: exit 130, nothing written.
#[cfg(unix)]
#[test]
fn ctrl_c_at_the_question_leaves_nothing() {
    use expectrl::{ControlCode, Eof, Expect, Session};
    let t = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("entra-collect"));
    cmd.env_clear()
        .env("PATH", fake_path())
        .env("HOME", "/nonexistent-home")
        .env("TERM", "xterm")
        .env("ENTRA_COLLECT_NO_NETWORK", "1")
        .args(["--lang", "ja", "-o"])
        .arg(t.path());
    let mut p = Session::spawn(cmd).unwrap();
    p.set_expect_timeout(Some(Duration::from_secs(60)));
    p.expect("失敗したサインインはどれですか").unwrap();
    p.send(ControlCode::EndOfText).unwrap();
    p.expect(Eof).unwrap();
    let status = format!("{:?}", p.get_process().wait().unwrap());
    assert!(status.ends_with(", 130)"), "{status}");
    assert_eq!(
        std::fs::read_dir(t.path()).unwrap().count(),
        0,
        "nothing is left in the output directory"
    );
}

/// `--net-trace` says on the console whether the trace was captured (and how big) or why not,
/// and the closing line's counts agree with the lines listed.
#[cfg(unix)]
#[test]
fn the_trace_result_is_on_the_console_and_the_counts_agree() {
    for (mode, expect) in [
        ("", "network trace captured: trace/trace.pcap ("),
        ("denied", "network trace skipped: tcpdump could not start"),
    ] {
        let t = tempfile::tempdir().unwrap();
        let tmp = t.path().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let state = t.path().join("state");
        std::fs::create_dir_all(&state).unwrap();
        std::fs::set_permissions(&state, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let mut c = bin(&fake_path());
        c.env("TMPDIR", &tmp)
            .env("ENTRA_COLLECT_STATE_DIR", &state)
            .args(["--net-trace", "--run", "az", "-o"])
            .arg(t.path().join("out"))
            .timeout(Duration::from_secs(120));
        if !mode.is_empty() {
            c.env("FAKE_TCPDUMP_MODE", mode);
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains(expect), "{mode}: {stderr}");
        // "bundle written with N files (9 ok, 2 skipped; ...)": one listed line per collector.
        let closing = stderr
            .lines()
            .find(|l| l.contains("bundle written with"))
            .unwrap();
        for status in ["ok", "skipped", "failed"] {
            let listed = stderr
                .lines()
                .filter(|l| l.starts_with(&format!("entra-collect: {status} ")))
                .count()
                + stderr
                    .lines()
                    .filter(|l| {
                        l.starts_with("entra-collect: network trace ")
                            && (status == "ok") == l.contains(" captured: ")
                            && (status == "skipped") == l.contains(" skipped: ")
                    })
                    .count();
            let counted = closing
                .split(['(', ',', ';'])
                .find_map(|p| p.trim().strip_suffix(&format!(" {status}")))
                .map_or(0, |n| n.parse::<usize>().unwrap());
            assert_eq!(listed, counted, "{status}: {stderr}");
        }
        if mode.is_empty() {
            assert!(
                stderr.contains("WARNING: it contains a network trace that is NOT redacted"),
                "{stderr}"
            );
        }
        assert_no_debug_text(&String::from_utf8_lossy(&out.stdout), &stderr, None);
    }
}
