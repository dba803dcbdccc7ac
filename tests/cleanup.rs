//! Nothing half-written or unredacted is left behind, on every way out (second Ctrl-C, a closed
//! stdout, an error, a full disk); the trace's directory and state file cannot be hijacked by
//! another user; user-named files are read with a cap and never block; a run through sudo
//! says so and gives the bundle to the invoking user.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A run's directories: `tmp` is its TMPDIR (the per-user trace directory is created there),
/// `out` its output directory.
struct T {
    dir: tempfile::TempDir,
}

impl T {
    fn new() -> Self {
        T {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn out(&self) -> PathBuf {
        let p = self.dir.path().join("out");
        std::fs::create_dir_all(&p).unwrap();
        p
    }
    fn tmp(&self) -> PathBuf {
        let p = self.dir.path().join("tmp");
        std::fs::create_dir_all(&p).unwrap();
        p
    }
    fn pids(&self) -> PathBuf {
        self.dir.path().join("pids")
    }
    /// The per-user directory entra-collect uses under our TMPDIR.
    fn user_dir(&self) -> PathBuf {
        // SAFETY: geteuid has no preconditions.
        self.tmp()
            .join(format!("entra-collect-{}", unsafe { libc::geteuid() }))
    }
    fn command(&self) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("entra-collect"));
        c.env_clear()
            .env("PATH", fake_path())
            .env("HOME", "/nonexistent-home")
            .env("ENTRA_COLLECT_NO_NETWORK", "1")
            .env("FAKE_PIDFILE", self.pids())
            .env("TMPDIR", self.tmp());
        c
    }
    fn spawn(&self, envs: &[(&str, &str)], args: &[&str]) -> Child {
        let mut c = self.command();
        c.args(args)
            .arg("-o")
            .arg(self.out())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            c.env(k, v);
        }
        c.spawn().unwrap()
    }
    fn wait_for_pids(&self, n: usize) {
        let t0 = Instant::now();
        while std::fs::read_to_string(self.pids())
            .map(|s| s.lines().count())
            .unwrap_or(0)
            < n
        {
            assert!(t0.elapsed() < Duration::from_secs(20), "never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    /// Every name in the output directory.
    fn out_names(&self) -> Vec<String> {
        names(&self.out())
    }
    /// The trace working directories, in the per-user directory (or, as before, directly in
    /// TMPDIR), as paths relative to TMPDIR.
    fn trace_dirs(&self) -> Vec<String> {
        let user = format!("entra-collect-{}", unsafe { libc::geteuid() });
        let mut v: Vec<String> = names(&self.user_dir())
            .into_iter()
            .map(|n| format!("{user}/{n}"))
            .chain(names(&self.tmp()))
            .filter(|n| {
                let leaf = n.rsplit('/').next().unwrap_or("");
                leaf.starts_with("entra-collect-trace-") && !leaf.ends_with(".json")
            })
            .collect();
        v.sort();
        v
    }
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn signal(pid: u32, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

/// Wait for a child, killing it after `limit`.
fn wait_limited(mut child: Child, limit: Duration) -> std::process::Output {
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

// ---- F3 / F6: every way out removes the partial bundle and the capture ----

#[cfg(unix)]
#[test]
fn second_ctrl_c_removes_the_partial_bundle_and_the_capture() {
    let t = T::new();
    let child = t.spawn(
        &[("FAKE_AZ_LOGIN", "hang")],
        &["-q", "--net-trace", "--run", "az"],
    );
    // tcpdump, az and its grandchild
    t.wait_for_pids(3);
    assert_eq!(t.trace_dirs().len(), 1, "the capture directory exists");
    assert!(
        t.out_names().iter().any(|n| n.contains(".partial-")),
        "the partial bundle exists: {:?}",
        t.out_names()
    );
    signal(child.id(), "-INT");
    signal(child.id(), "-INT");
    let out = wait_limited(child, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(130));
    assert!(
        t.out_names().is_empty(),
        "left in the output directory: {:?}",
        t.out_names()
    );
    assert!(
        t.trace_dirs().is_empty(),
        "capture left: {:?}",
        t.trace_dirs()
    );
    assert!(!t.user_dir().join("entra-collect-trace.json").exists());
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let t = T::new();
    for args in [&["--json", "-q"][..], &["-q"][..]] {
        let mut c = t.spawn(&[], args);
        // The reader goes away at once, as `| head -c1` does after its byte.
        drop(c.stdout.take());
        drop(c.stdin.take());
        let out = wait_limited(c, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !t.out_names().iter().any(|n| n.contains(".partial")),
            "{:?}",
            t.out_names()
        );
    }
    assert_eq!(
        t.out_names().iter().filter(|n| n.ends_with(".zip")).count(),
        2,
        "the bundles are still written"
    );
    let mut c = t.command();
    let mut child = c
        .arg("rules")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = wait_limited(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(141));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// Mount a small tmpfs at `dir` (root with mount permission only).
fn tmpfs(dir: &Path, size: &str) -> Option<Mounted> {
    if !is_root() {
        eprintln!("skipped: not root, cannot mount a small tmpfs to fill");
        return None;
    }
    std::fs::create_dir_all(dir).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot mount a tmpfs here (no mount permission)");
        return None;
    }
    Some(Mounted(dir.to_path_buf()))
}

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fill the file system of `dir` to the last byte.
fn fill(dir: &Path) {
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.flush();
    let mut f2 = std::fs::File::create(dir.join("filler-small")).unwrap();
    while f2.write_all(&[0u8]).is_ok() && f2.flush().is_ok() {}
}

#[cfg(unix)]
#[test]
fn a_full_disk_leaves_no_partial_bundle() {
    let t = T::new();
    let out = t.out();
    let Some(_m) = tmpfs(&out, "256k") else {
        return;
    };
    // Full to the last byte: the partial bundle can be created, not written.
    fill(&out);
    let mut c = t.command();
    let o = c
        .args(["-q", "-o"])
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    let left: Vec<String> = t
        .out_names()
        .into_iter()
        .filter(|n| !n.starts_with("filler"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// An error after the trace started (the output disk filled up while the trace ran): the
/// partial bundle and the capture directory are both removed.
#[cfg(unix)]
#[test]
fn an_error_after_the_trace_started_removes_the_capture_and_the_partial_bundle() {
    let t = T::new();
    let out = t.out();
    let Some(_m) = tmpfs(&out, "80m") else { return };
    let mut child = t.spawn(&[], &["-q", "--net-trace", "--trace-max-mb", "1"]);
    t.wait_for_pids(1);
    assert_eq!(t.trace_dirs().len(), 1);
    fill(&out);
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let o = wait_limited(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("entra-collect: error:"), "{stderr}");
    let left: Vec<String> = t
        .out_names()
        .into_iter()
        .filter(|n| !n.starts_with("filler"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        t.trace_dirs().is_empty(),
        "capture left: {:?}",
        t.trace_dirs()
    );
}

// ---- F4 / F5: the trace's directory and state file ----

#[cfg(unix)]
#[test]
fn the_trace_directory_is_private_and_randomly_named() {
    use std::os::unix::fs::PermissionsExt;
    let t = T::new();
    let mut child = t.spawn(&[], &["-q", "--net-trace"]);
    t.wait_for_pids(1);
    let user = t.user_dir();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&user), 0o700);
    let dirs = t.trace_dirs();
    assert_eq!(dirs.len(), 1);
    let name = &dirs[0];
    assert!(
        !name.contains(&child.id().to_string()),
        "predictable name {name}"
    );
    assert_eq!(mode(&t.tmp().join(name)), 0o700);
    assert_eq!(mode(&user.join("entra-collect-trace.json")), 0o600);
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let o = wait_limited(child, Duration::from_secs(60));
    assert!(o.status.success());
    assert!(t.trace_dirs().is_empty());
    let b = read_bundle(&only_bundle(&t.out()));
    assert!(b.entries.contains_key("trace/trace.pcap"));
}

#[cfg(unix)]
#[test]
fn a_per_user_directory_created_by_someone_else_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to chown a directory to nobody");
        return;
    }
    let t = T::new();
    let user = t.user_dir();
    std::fs::create_dir(&user).unwrap();
    // Another user pre-created it, open to everyone.
    assert!(
        Command::new("chown")
            .args(["nobody"])
            .arg(&user)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        Command::new("chmod")
            .args(["1777"])
            .arg(&user)
            .status()
            .unwrap()
            .success()
    );
    let mut c = t.command();
    let o = c
        .args(["-q", "--net-trace", "--run", "az", "-o"])
        .arg(t.out())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("refusing to use"), "{stderr}");
    assert!(stderr.contains("owned by uid 65534"), "{stderr}");
    assert!(names(&user).is_empty(), "written into: {:?}", names(&user));
    assert!(!t.pids().exists(), "tcpdump started");
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_in_the_trace_directory_is_not_followed() {
    let t = T::new();
    let secret = t.dir.path().join("root-only-secret");
    std::fs::write(&secret, "ROOT-ONLY-CANARY").unwrap();
    let mut child = t.spawn(&[], &["-q", "--net-trace"]);
    t.wait_for_pids(1);
    let dirs = t.trace_dirs();
    let trace_dir = t.tmp().join(&dirs[0]);
    std::os::unix::fs::symlink(&secret, trace_dir.join("planted.pcap")).unwrap();
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let o = wait_limited(child, Duration::from_secs(60));
    assert!(o.status.success());
    let b = read_bundle(&only_bundle(&t.out()));
    assert!(b.entries.contains_key("trace/trace.pcap"));
    assert!(!b.entries.contains_key("trace/planted.pcap"));
    assert!(!b.all_text().contains("ROOT-ONLY-CANARY"));
    assert!(secret.exists(), "the link's target was touched");
}

/// The state file of a run that crashed, naming a pid that is now an unrelated process.
fn plant_state(dir: &Path, pid: u32, capture: serde_json::Value) {
    let state = serde_json::json!({
        "tool": "tcpdump", "started_at": "2026-11-25T06:00:00Z", "dir": "/nonexistent",
        "entra_collect_pid": 1, "capture_pid": pid, "capture": capture,
    });
    std::fs::write(dir.join("entra-collect-trace.json"), state.to_string()).unwrap();
}

#[cfg(unix)]
#[test]
fn a_planted_state_file_never_gets_an_unrelated_process_signalled() {
    let t = T::new();
    let state = t.dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mut sleep = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = sleep.id();
    for capture in [
        serde_json::Value::Null,
        serde_json::json!({"exe": "/usr/sbin/tcpdump", "start_time": "1", "boot_id": "x"}),
    ] {
        plant_state(&state, pid, capture);
        let o = t
            .command()
            .env("ENTRA_COLLECT_STATE_DIR", &state)
            .args(["trace", "stop"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("not signalled"), "{stderr}");
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            sleep.try_wait().unwrap().is_none(),
            "the unrelated process was signalled"
        );
    }
    // Nor does such a file block a new trace: its capture is not running.
    plant_state(
        &state,
        pid,
        serde_json::json!({"exe": "/usr/sbin/tcpdump", "start_time": "1", "boot_id": "x"}),
    );
    let mut child = t.command();
    let mut child = child
        .env("ENTRA_COLLECT_STATE_DIR", &state)
        .args(["-q", "--net-trace", "-o"])
        .arg(t.out())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    t.wait_for_pids(1);
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let o = wait_limited(child, Duration::from_secs(60));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(sleep.try_wait().unwrap().is_none());
    let _ = sleep.kill();
    let _ = sleep.wait();
}

// ---- bounded reads of user-named files ----

#[cfg(unix)]
#[test]
fn ca_bundles_that_are_devices_fifos_or_huge_are_not_read_whole() {
    let t = T::new();
    let fifo = t.dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let sparse = t.dir.path().join("sparse.pem");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let cases: [(&Path, &str); 3] = [
        (
            Path::new("/dev/zero"),
            "is a character device, not a regular file",
        ),
        (&fifo, "is a FIFO, not a regular file"),
        (&sparse, ""),
    ];
    for (path, error) in cases {
        let out = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let mut c = t.command();
        let child = c
            .env("REQUESTS_CA_BUNDLE", path)
            .env("OPENSSL_CONF", path)
            .args(["-q", "-o"])
            .arg(out.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let o = wait_limited(child, Duration::from_secs(60));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(t0.elapsed() < Duration::from_secs(30), "{path:?} was slow");
        let b = read_bundle(&only_bundle(out.path()));
        let bundles = b.json("tls/ca-bundles.json");
        let e = &bundles["bundles"][0];
        assert_eq!(e["source"], "REQUESTS_CA_BUNDLE");
        if error.is_empty() {
            assert_eq!(e["readable"], true, "{e}");
            assert_eq!(
                e["note"],
                format!(
                    "too large: {} bytes, first {} parsed",
                    3u64 << 30,
                    32u64 << 20
                ),
                "{e}"
            );
        } else {
            assert_eq!(e["readable"], false, "{e}");
            assert!(e["error"].as_str().unwrap().contains(error), "{e}");
            let settings = b.json("tls/settings.json");
            assert!(
                settings["openssl_cnf_error"]
                    .as_str()
                    .is_some_and(|s| s.contains(error)),
                "{settings}"
            );
        }
    }
}

// ---- sudo ----

#[cfg(unix)]
#[test]
fn a_run_through_sudo_says_so_and_gives_the_bundle_to_the_user() {
    use std::os::unix::fs::MetadataExt;
    if !is_root() {
        eprintln!("skipped: needs root (a run through sudo)");
        return;
    }
    let t = T::new();
    let o = t
        .command()
        .env("SUDO_USER", "nobody")
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .args(["-q", "-o"])
        .arg(t.out())
        .output()
        .unwrap();
    assert!(o.status.success());
    let path = only_bundle(&t.out());
    let m = std::fs::metadata(&path).unwrap();
    assert_eq!((m.uid(), m.gid()), (65534, 65534));
    let b = read_bundle(&path);
    let summary = b.text("summary.md");
    assert!(
        summary.contains("Run through sudo by `nobody`")
            && summary.contains("are root's, not `nobody`'s"),
        "{summary}"
    );
    // Without sudo, no note and the bundle stays root's.
    let t2 = T::new();
    let o = t2
        .command()
        .args(["-q", "-o"])
        .arg(t2.out())
        .output()
        .unwrap();
    assert!(o.status.success());
    let path = only_bundle(&t2.out());
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), 0);
    assert!(!read_bundle(&path).text("summary.md").contains("sudo"));
}
