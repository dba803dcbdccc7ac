//! The real `entra-collect.exe`, cross-built for Windows, run under Wine against Wine's own
//! `reg.exe`, `cmd.exe`, registry, Winsock, Job Objects and code pages (issue 13). What the suite
//! covers and what Wine cannot show: docs/windows-wine-tests.md.
//!
//! Setup, once per test process ([`suite`]): `scripts/build-windows.sh` (seconds when nothing
//! changed, so the exe always matches the source), the test-only ProcessPrng shim next to it
//! (Debian's Wine 8 lacks it), the stand-ins from tests/windows/standins (mingw), a ja_JP.UTF-8
//! locale in a private LOCPATH (`localedef`), and one Wine prefix (`target/wine/suite`, ~700 MB,
//! made once by `scripts/wine-env.sh`). A lock file held for the life of the process keeps a
//! second test process off the prefix; a persistent wineserver makes each Wine start ~0.2 s.
//!
//! The tests share that prefix one at a time (a mutex). Each starts by importing a .reg file that
//! resets every key the suite touches (and points the user profile at `C:\users\山田 太郎`), and
//! gets its own temporary directory for its stand-ins (on `WINEPATH`) and its bundle.
//!
//! Every run is `wine64 entra-collect.exe ...` with a cleared environment plus the Wine variables
//! (like `env -i`): the Unix environment would otherwise leak into the Windows one.
//!
//! Without Wine, mingw, the `locales` data or Debian's Rust toolchain the tests fail with the
//! reason when `CI` is set (.ci/run installs them); elsewhere each prints `SKIPPED <test>: ...`.
#![cfg(target_os = "linux")]

mod common;

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use common::tls::{Ca, ProxyMode, proxy};
use common::{Bundle, only_bundle, read_bundle};
use serde_json::Value;

const WINE64: &str = "/usr/lib/wine/wine64";
const WINESERVER: &str = "/usr/lib/wine/wineserver";
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";
/// No Mono / Gecko install prompts, no desktop menu entries.
const DLL_OVERRIDES: &str = "mscoree,mshtml=;winemenubuilder.exe=d";
/// The Windows user profile of every test: a Japanese name with a space, as many of our users
/// have. Set in `HKCU\Volatile Environment`, where Windows (and Wine) take USERPROFILE from;
/// a USERPROFILE in the Unix environment is overridden by Wine.
const PROFILE: &str = r"C:\users\山田 太郎";
const PROFILE_NAME: &str = "山田 太郎";
/// Planted in the token caches of that profile: never in a bundle or on the terminal.
const CACHE_CANARY: &str = "CANARYmsalTokenCache7f3a";
const IDENTITY_CANARY: &str = "CANARYidentityService9c1e";
/// Longest a single Wine run of the exe may take before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(150);

const INTERNET_SETTINGS: &str =
    r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Internet Settings";
const CONNECTIONS: &str =
    r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections";
const SCHANNEL_TLS12: &str = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2";
const NETFX: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\.NETFramework";

// ---------------------------------------------------------------------------------------------
// The suite: build, stand-ins, locale, prefix.

struct Suite {
    exe: PathBuf,
    prefix: PathBuf,
    standins: PathBuf,
    locale: PathBuf,
    /// flock on target/wine/suite.lock, held until the process exits.
    _lock: File,
    serial: Mutex<()>,
}

enum Prep {
    Ready(Suite),
    /// A tool is not installed: a skip locally, a failure in CI.
    Missing(String),
    /// Installed but broken (the build failed, Wine would not start): always a failure.
    Broken(String),
}

static SUITE: OnceLock<Prep> = OnceLock::new();

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn on_path(program: &str) -> bool {
    which::which(program).is_ok()
}

/// The suite and the prefix to ourselves, or None (after saying why) when this machine cannot
/// run it and we are not in CI.
fn wine(test: &str) -> Option<Win> {
    match SUITE.get_or_init(prepare) {
        Prep::Ready(s) => {
            let serial = s.serial.lock().unwrap_or_else(|e| e.into_inner());
            let w = Win {
                s,
                _serial: serial,
                dir: tempfile::Builder::new()
                    .prefix("ec-wine-")
                    .tempdir()
                    .expect("temp dir"),
            };
            w.warm_up();
            w.reg("");
            Some(w)
        }
        Prep::Missing(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: CI must run the Wine suite, but {why}"
            );
            eprintln!("SKIPPED {test}: the Wine suite cannot run here: {why}");
            None
        }
        Prep::Broken(why) => panic!("{test}: the Wine suite is broken: {why}"),
    }
}

fn prepare() -> Prep {
    let root = root();
    let mut missing = Vec::new();
    if !Path::new(WINE64).exists() || !Path::new(WINESERVER).exists() {
        missing.push("wine64");
    }
    if !on_path(MINGW_GCC) {
        missing.push("gcc-mingw-w64-x86-64");
    }
    // localedef is in libc-bin; its sources (ja_JP, the UTF-8 charmap) are in `locales`.
    if !on_path("localedef") || !Path::new("/usr/share/i18n/locales/ja_JP").exists() {
        missing.push("locales");
    }
    if !missing.is_empty() {
        return Prep::Missing(format!(
            "missing {m}; install with: apt-get install -y {m}",
            m = missing.join(" ")
        ));
    }
    let wine_dir = root.join("target/wine");
    if let Err(e) = fs::create_dir_all(&wine_dir) {
        return Prep::Broken(format!("{}: {e}", wine_dir.display()));
    }
    let lock = match lock_file(&wine_dir.join("suite.lock")) {
        Ok(f) => f,
        Err(e) => return Prep::Broken(format!("lock: {e}")),
    };

    // The exe, built the way releases are (scripts/build-windows.sh checks Debian's rustc-web,
    // cargo-web, rust-web-src and mingw itself and exits 2 naming what is missing).
    let t0 = Instant::now();
    let mut build = Command::new(root.join("scripts/build-windows.sh"));
    build.current_dir(&root).env("PACK", "0");
    // Cargo runs this test with its own variables set (CARGO_MANIFEST_DIR, CARGO_PKG_*,
    // LD_LIBRARY_PATH with rustup's toolchain, ...); build scripts that watch them (ring's does)
    // would see a different environment than a build from a shell and rebuild the crate, for
    // minutes, each time the two alternate. Only Cargo's own configuration (home, registry,
    // network) is kept.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let config = k == "CARGO_HOME"
            || k.starts_with("CARGO_HTTP_")
            || k.starts_with("CARGO_NET_")
            || k.starts_with("CARGO_REGISTR");
        if (k.starts_with("CARGO") && !config)
            || k.starts_with("RUSTC")
            || k.starts_with("RUSTDOC")
            || k.starts_with("RUSTFLAGS")
            || matches!(
                k.as_str(),
                "OUT_DIR" | "LD_LIBRARY_PATH" | "RUSTUP_TOOLCHAIN" | "TARGET" | "HOST"
            )
        {
            build.env_remove(&k);
        }
    }
    build.env("CARGO_TARGET_DIR", root.join("target/windows"));
    match build.output() {
        Ok(o) if o.status.success() => {}
        Ok(o) if o.status.code() == Some(2) => {
            return Prep::Missing(String::from_utf8_lossy(&o.stderr).trim().to_string());
        }
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let tail: Vec<&str> = err.lines().rev().take(40).collect();
            return Prep::Broken(format!(
                "scripts/build-windows.sh failed ({}):\n{}",
                o.status,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        Err(e) => return Prep::Broken(format!("scripts/build-windows.sh: {e}")),
    }
    let exe = root.join("target/windows/x86_64-pc-windows-gnu/release/entra-collect.exe");
    eprintln!("wine suite: exe up to date in {:?}", t0.elapsed());
    let Some(exe_dir) = exe.parent() else {
        return Prep::Broken(format!("no directory of {}", exe.display()));
    };
    let shim_src = root.join("tests/windows/shim/processprng.c");
    if stale(&exe_dir.join("bcryptprimitives.dll"), &[&shim_src]) {
        let st = Command::new(root.join("scripts/build-wine-shim.sh"))
            .arg(exe_dir)
            .output();
        if !st.as_ref().is_ok_and(|o| o.status.success()) {
            return Prep::Broken(format!("scripts/build-wine-shim.sh: {st:?}"));
        }
    }

    // The stand-ins.
    let standins = wine_dir.join("standins");
    let src = root.join("tests/windows/standins");
    let _ = fs::create_dir_all(&standins);
    for (exe_name, c, libs) in [
        ("python.exe", "fakepython.c", &[][..]),
        ("replay.exe", "replay.c", &[][..]),
        ("winfacts.exe", "winfacts.c", &["-ladvapi32"][..]),
    ] {
        let out = standins.join(exe_name);
        if stale(&out, &[&src.join(c)]) {
            let o = Command::new(MINGW_GCC)
                .args(["-municode", "-O2", "-s", "-Wall", "-o"])
                .arg(&out)
                .arg(src.join(c))
                .args(libs)
                .output();
            match o {
                Ok(o) if o.status.success() => {}
                other => return Prep::Broken(format!("{MINGW_GCC} {c}: {other:?}")),
            }
        }
    }

    // ja_JP.UTF-8 for Wine's code pages (932), without touching the system's locales.
    let locale = wine_dir.join("locale");
    if !locale.join("ja_JP.UTF-8/LC_CTYPE").exists() {
        let _ = fs::create_dir_all(&locale);
        let o = Command::new("localedef")
            .args(["-i", "ja_JP", "-f", "UTF-8"])
            .arg(locale.join("ja_JP.UTF-8"))
            .output();
        if !locale.join("ja_JP.UTF-8/LC_CTYPE").exists() {
            return Prep::Broken(format!("localedef ja_JP.UTF-8: {o:?}"));
        }
    }

    // The prefix (wineboot once, ~10-20 s), then a wineserver that outlives each run by 30 s.
    let prefix = wine_dir.join("suite");
    let t0 = Instant::now();
    let o = Command::new(root.join("scripts/wine-env.sh"))
        .arg(&prefix)
        .output();
    if !o.as_ref().is_ok_and(|o| o.status.success()) {
        return Prep::Broken(format!("scripts/wine-env.sh: {o:?}"));
    }
    eprintln!("wine suite: prefix ready in {:?}", t0.elapsed());
    let _ = Command::new(WINESERVER)
        .arg("-p60")
        .env_clear()
        .env("WINEPREFIX", &prefix)
        .status();

    // The profile: token caches with canaries (listed, never read).
    let profile = prefix.join("drive_c/users").join(PROFILE_NAME);
    for (rel, text) in [
        (
            ".azure/msal_token_cache.json",
            format!(r#"{{"AccessToken": {{"k": {{"secret": "{CACHE_CANARY}"}}}}}}"#),
        ),
        (
            "AppData/Local/.IdentityService/msal.cache.cae",
            IDENTITY_CANARY.to_string(),
        ),
        (
            "AppData/Local/.IdentityService/msal.cache.nocae",
            IDENTITY_CANARY.to_string(),
        ),
    ] {
        let p = profile.join(rel);
        let _ = fs::create_dir_all(p.parent().unwrap_or(&profile));
        if let Err(e) = fs::write(&p, text) {
            return Prep::Broken(format!("{}: {e}", p.display()));
        }
    }
    let _ = fs::create_dir_all(profile.join("AppData/Roaming"));

    Prep::Ready(Suite {
        exe,
        prefix,
        standins,
        locale,
        _lock: lock,
        serial: Mutex::new(()),
    })
}

/// An exclusive flock on `path` (blocking: a second test process waits for the first).
fn lock_file(path: &Path) -> std::io::Result<File> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    // SAFETY: flock on a file descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(f)
}

/// `out` is missing or older than one of `sources`.
fn stale(out: &Path, sources: &[&Path]) -> bool {
    let m = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    match m(out) {
        None => true,
        Some(t) => sources.iter().any(|s| m(s).is_none_or(|s| s > t)),
    }
}

/// `Z:\...` for a Unix path (Wine maps Z: to /).
fn winpath(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

// ---------------------------------------------------------------------------------------------
// One test's use of the prefix.

struct Win {
    s: &'static Suite,
    _serial: MutexGuard<'static, ()>,
    dir: tempfile::TempDir,
}

/// Which locale Wine (and the exe) run under.
#[derive(Clone, Copy, PartialEq)]
enum Locale {
    /// LANG=C.UTF-8: UTF-8 arguments, English, code pages 1252 / 437.
    Utf8,
    /// LANG=ja_JP.UTF-8 from the private LOCPATH: code pages 932 / 932, Japanese UI language.
    Japanese,
    /// No locale variable at all (Wine's own default: en-US).
    Unset,
}

struct Ran {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Ran {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.stdout(),
            self.stderr()
        )
    }
}

impl Win {
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The bundle directory (created).
    fn out(&self) -> PathBuf {
        let p = self.path("out");
        fs::create_dir_all(&p).expect("out dir");
        p
    }

    /// Where stand-ins go: `tools\bin` and Azure CLI's `tools\CLI2\wbin`, both on WINEPATH.
    fn bin(&self) -> PathBuf {
        let p = self.path("tools/bin");
        fs::create_dir_all(&p).expect("bin dir");
        p
    }

    fn cli2(&self) -> PathBuf {
        self.path("tools/CLI2")
    }

    /// The environment of every Wine process: nothing from ours but what Wine needs.
    fn env(&self, cmd: &mut Command, locale: Locale) {
        let winepath = format!(
            "{};{}",
            winpath(&self.cli2().join("wbin")),
            winpath(&self.path("tools/bin"))
        );
        cmd.env_clear()
            .env("WINEPREFIX", &self.s.prefix)
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", DLL_OVERRIDES)
            .env("WINEPATH", winepath)
            // As in the other integration tests: probes only where a test opts in (loopback).
            .env("ENTRA_COLLECT_NO_NETWORK", "1")
            .current_dir(self.dir.path());
        match locale {
            Locale::Utf8 => {
                cmd.env("LANG", "C.UTF-8");
            }
            Locale::Japanese => {
                cmd.env("LANG", "ja_JP.UTF-8")
                    .env("LOCPATH", &self.s.locale);
            }
            Locale::Unset => {}
        }
    }

    /// A Windows program run by Wine (reg, cmd, a stand-in).
    fn wine_cmd(&self, program: &str, locale: Locale) -> Command {
        let mut c = Command::new(WINE64);
        c.arg(program);
        self.env(&mut c, locale);
        c
    }

    /// `wine64 entra-collect.exe ARGS`.
    fn exe(&self, args: &[&str], locale: Locale) -> Command {
        let mut c = Command::new(WINE64);
        c.arg(&self.s.exe).args(args);
        self.env(&mut c, locale);
        c
    }

    /// `collect --no-network -o OUT ARGS...` with stand-ins on WINEPATH.
    fn collect(&self, args: &[&str], locale: Locale) -> Command {
        let out = winpath(&self.out());
        let mut all = vec!["collect", "--no-network", "-o", out.as_str()];
        all.extend_from_slice(args);
        self.exe(&all, locale)
    }

    /// Make sure Wine's session is up before anything whose output we read runs: the first
    /// process of a session starts services.exe, winedevice.exe, explorer.exe ..., which inherit
    /// its stdout / stderr and keep them open until the session ends (a reader would wait that
    /// long), and wineboot rewrites `HKCU\Volatile Environment` (our profile) at session start.
    fn warm_up(&self) {
        let st = self
            .wine_cmd("cmd", Locale::Utf8)
            .args(["/d", "/c", "exit"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("wine64 cmd /c exit");
        assert!(st.success(), "wine64 cmd /c exit: {st}");
    }

    /// Import registry values: the reset of everything the suite touches, then `sections`
    /// (.reg syntax, `Windows Registry Editor Version 5.00` implied). UTF-16LE with a BOM, as
    /// regedit writes, so Japanese text survives.
    fn reg(&self, sections: &str) {
        let vol = |v: &str| v.replace('\\', r"\\");
        let text = format!(
            "Windows Registry Editor Version 5.00\n\n\
             [-{SCHANNEL_TLS12}]\n\n\
             [-{NETFX}]\n\n\
             [{CONNECTIONS}]\n\"WinHttpSettings\"=-\n\n\
             [{INTERNET_SETTINGS}]\n\"ProxyEnable\"=-\n\"ProxyServer\"=-\n\"AutoConfigURL\"=-\n\"ProxyOverride\"=-\n\n\
             [HKEY_CURRENT_USER\\Volatile Environment]\n\
             \"USERPROFILE\"=\"{p}\"\n\"LOCALAPPDATA\"=\"{p}\\\\AppData\\\\Local\"\n\
             \"APPDATA\"=\"{p}\\\\AppData\\\\Roaming\"\n\"HOMEPATH\"=\"{h}\"\n\n\
             {sections}\n",
            p = vol(PROFILE),
            h = vol(&PROFILE[2..]),
        );
        let mut bytes = vec![0xff, 0xfe];
        for u in text.replace('\n', "\r\n").encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let file = self.path("setup.reg");
        fs::write(&file, bytes).expect("write .reg");
        let ran = self.run(
            self.wine_cmd("reg", Locale::Utf8)
                .args(["import", &winpath(&file)]),
        );
        assert_eq!(ran.code, Some(0), "reg import {sections}: {ran:?}");
    }

    /// Azure CLI as the MSI lays it out: `CLI2\wbin\az.cmd` (a real batch file, CRLF) running
    /// `CLI2\python.exe` (the stand-in), with certifi's bundle where that Python reports it.
    fn install_az(&self) {
        let wbin = self.cli2().join("wbin");
        fs::create_dir_all(&wbin).expect("wbin");
        let cmd = fs::read_to_string(root().join("tests/windows/standins/az.cmd")).expect("az.cmd");
        fs::write(
            wbin.join("az.cmd"),
            cmd.replace("\r\n", "\n").replace('\n', "\r\n"),
        )
        .expect("write az.cmd");
        fs::copy(
            self.s.standins.join("python.exe"),
            self.cli2().join("python.exe"),
        )
        .expect("python.exe");
        let certifi = self.cli2().join("Lib/site-packages/certifi");
        fs::create_dir_all(&certifi).expect("certifi dir");
        fs::write(
            certifi.join("cacert.pem"),
            Ca::new("Certifi Stand-in Root (entra-collect tests)").pem(),
        )
        .expect("cacert.pem");
    }

    /// The arguments each run of the python.exe stand-in received (as its C runtime parsed
    /// them), one Vec per run.
    fn python_runs(&self) -> Vec<Vec<String>> {
        let log = fs::read_to_string(self.cli2().join("python-args.log")).unwrap_or_default();
        log.lines()
            .map(|l| {
                l.split(' ')
                    .skip(1)
                    .map(|h| {
                        if h == "-" {
                            String::new()
                        } else {
                            String::from_utf8(hex::decode(h).expect("hex")).expect("utf-8")
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// A stand-in `NAME.exe` in `tools\bin` that prints `stdout` byte for byte.
    fn install_replay(&self, name: &str, stdout: &[u8]) {
        let bin = self.bin();
        fs::copy(
            self.s.standins.join("replay.exe"),
            bin.join(format!("{name}.exe")),
        )
        .expect("replay.exe");
        fs::write(bin.join(format!("{name}.out")), stdout).expect("replay output");
    }

    /// Start a Wine process; the caller waits with [`Win::wait`].
    fn spawn(&self, cmd: &mut Command) -> Child {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wine64")
    }

    /// Wait for `child` with a hard limit (killed, and the test fails, past it).
    fn wait(&self, mut child: Child) -> Ran {
        let mut out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let t_out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out.read_to_end(&mut v);
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err.read_to_end(&mut v);
            v
        });
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break st;
            }
            if start.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("a Wine run took over {RUN_LIMIT:?}: killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        eprintln!(
            "wine64 exited with {:?} after {:?}",
            status.code(),
            start.elapsed()
        );
        Ran {
            code: status.code(),
            stdout: t_out.join().unwrap_or_default(),
            stderr: t_err.join().unwrap_or_default(),
        }
    }

    fn run(&self, cmd: &mut Command) -> Ran {
        let child = self.spawn(cmd);
        self.wait(child)
    }

    /// The bundle in the out directory, with the checks every bundle must pass: the manifest
    /// agrees with the entries (read_bundle), the token-cache canaries appear nowhere.
    fn bundle(&self, ran: &Ran) -> Bundle {
        self.bundle_in(&self.out(), ran)
    }

    fn bundle_in(&self, dir: &Path, ran: &Ran) -> Bundle {
        let b = read_bundle(&only_bundle(dir));
        for canary in [CACHE_CANARY, IDENTITY_CANARY] {
            assert_never_appears(canary, &b, ran);
        }
        b
    }

    /// Processes of this test still alive (Unix view: Wine's tasklist is a stub). Windows
    /// processes show their Windows command line in /proc, which names this test's directory.
    fn survivors(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let alive = self.processes();
            if alive.is_empty() || Instant::now() > deadline {
                return alive;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Live processes whose command line names this test's directory.
    fn processes(&self) -> Vec<String> {
        let tag = self
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        processes_naming(&tag)
    }

    /// Wait until python.exe logged a run whose az arguments start with `first` (it logs before
    /// it sleeps), and return what the Unix side sees running for this test then.
    fn wait_for_python(&self, first: &str) -> Vec<String> {
        let t0 = Instant::now();
        while !self
            .python_runs()
            .iter()
            .any(|a| a.get(2).is_some_and(|x| x == first))
        {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "python.exe never ran `az {first}`"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        self.processes()
    }

    /// `winfacts.exe ARGS` (what Wine itself reports), its one line of output.
    fn winfacts(&self, args: &[&str], locale: Locale) -> String {
        let exe = self.s.standins.join("winfacts.exe");
        let ran = self.run(
            self.wine_cmd(exe.to_str().expect("utf-8 path"), locale)
                .args(args),
        );
        assert_eq!(ran.code, Some(0), "winfacts {args:?}: {ran:?}");
        ran.stdout().trim().to_string()
    }
}

/// Command lines of live (non-zombie) processes containing `tag`, as of now.
fn processes_naming(tag: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(cmdline) = fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        // A zombie (killed, not yet reaped by init) has an empty cmdline or state Z.
        let zombie = fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .map(|r| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if line.contains(tag) && !zombie {
            found.push(format!("{pid}: {line}"));
        }
    }
    found
}

/// `secret` is nowhere: not in any entry or entry name of the bundle, not on stdout or stderr,
/// in UTF-8, UTF-16LE, or base64 (standard and URL-safe, at each byte alignment) of either.
fn assert_never_appears(secret: &str, b: &Bundle, ran: &Ran) {
    let forms = secret_forms(secret);
    let mut places: Vec<(String, &[u8])> = b
        .entries
        .iter()
        .map(|(n, v)| (n.clone(), v.as_slice()))
        .collect();
    let names = b.entries.keys().cloned().collect::<Vec<_>>().join("\n");
    places.push(("<entry names>".into(), names.as_bytes()));
    places.push(("<stdout>".into(), &ran.stdout));
    places.push(("<stderr>".into(), &ran.stderr));
    for (place, bytes) in &places {
        for (what, form) in &forms {
            assert!(
                memchr::memmem::find(bytes, form).is_none(),
                "{secret:?} ({what}) appears in {place}:\n{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

fn secret_forms(secret: &str) -> Vec<(String, Vec<u8>)> {
    let utf8 = secret.as_bytes().to_vec();
    let utf16: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut forms = vec![
        ("utf-8".to_string(), utf8.clone()),
        ("utf-16le".into(), utf16.clone()),
    ];
    for (enc, bytes) in [("utf-8", &utf8), ("utf-16le", &utf16)] {
        for (name, engine) in [
            ("base64", &base64::engine::general_purpose::STANDARD_NO_PAD),
            (
                "base64url",
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ),
        ] {
            // The characters that depend only on the secret when it starts at byte k (mod 3)
            // of a longer encoded stream.
            for k in 0..3 {
                let mut buf = vec![0u8; k];
                buf.extend_from_slice(bytes);
                let s = engine.encode(&buf);
                let (from, to) = ((8 * k).div_ceil(6), (8 * (k + bytes.len())) / 6);
                if to > from + 3 && to <= s.len() {
                    forms.push((
                        format!("{name} of {enc} at offset {k}"),
                        s.as_bytes()[from..to].to_vec(),
                    ));
                }
            }
        }
    }
    forms
}

fn collector<'a>(b: &'a Bundle, id: &str) -> &'a Value {
    b.manifest["collectors"]
        .as_array()
        .expect("collectors")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no collector {id}"))
}

fn commands<'a>(b: &'a Bundle, id: &str) -> &'a Vec<Value> {
    collector(b, id)["commands"].as_array().expect("commands")
}

/// The finding `id` of findings.json.
fn finding(b: &Bundle, id: &str) -> Option<Value> {
    b.json("findings.json")["findings"]
        .as_array()?
        .iter()
        .find(|f| f["id"] == id)
        .cloned()
}

/// A REG_BINARY value in .reg syntax.
fn reg_hex(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("hex:{}", hex.join(","))
}

/// `WinHttpSettings` as `netsh winhttp set proxy` writes it (and Wine's winhttp reads it,
/// dlls/winhttp/session.c): DWORD 0x18, DWORD counter, DWORD flags (1 direct, 2 proxy), then
/// length-prefixed ASCII proxy and bypass list.
fn winhttp_blob(flags: u32, proxy: &str, bypass: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for d in [0x18u32, 0, flags, proxy.len() as u32] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v.extend_from_slice(proxy.as_bytes());
    v.extend_from_slice(&(bypass.len() as u32).to_le_bytes());
    v.extend_from_slice(bypass.as_bytes());
    v
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// The baseline: a fresh prefix, no stand-ins. Wine's real reg.exe answers the registry reads;
/// its netsh and powershell.exe are silent stubs (exit 0, no output).
#[test]
fn collect_writes_a_complete_windows_bundle() {
    let Some(w) = wine("collect_writes_a_complete_windows_bundle") else {
        return;
    };
    let ran = w.run(&mut w.collect(&[], Locale::Utf8));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    // stdout is the bundle's Windows path.
    let printed = ran.stdout();
    assert_eq!(
        printed.trim_end(),
        format!(
            "{}\\{}",
            winpath(&w.out()),
            b.path.file_name().unwrap().to_string_lossy()
        ),
        "{ran:?}"
    );
    let m = &b.manifest;
    assert_eq!(m["status"], "complete");
    assert_eq!(m["host"]["platform"], "windows");
    assert_eq!(m["host"]["os"], "Windows");
    for id in ["system", "environment", "tls", "network.proxy", "caches"] {
        assert_eq!(
            collector(&b, id)["status"],
            "ok",
            "{id}: {}",
            collector(&b, id)
        );
    }
    assert_eq!(collector(&b, "versions.az")["status"], "skipped");
    // Every registry read ran Wine's reg.exe through the runner and was recorded.
    let regs: Vec<&Value> = commands(&b, "tls")
        .iter()
        .filter(|c| c["command_line"][0] == "reg")
        .collect();
    assert!(regs.len() >= 5, "{regs:?}");
    for r in regs {
        assert!(
            r["program_path"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
                .ends_with(r"\system32\reg.exe"),
            "{r}"
        );
    }
    // A fresh Wine prefix says nothing about TLS 1.2: the OS default.
    let t = b.json("tls/settings.json");
    assert_eq!(
        t["schannel_protocols"]["TLS 1.2"]["client"], "os_default",
        "{t}"
    );
    assert!(finding(&b, "tls.legacy-protocols").is_none());
}

/// SCHANNEL's TLS 1.2 client switched off and .NET's strong crypto off, set with Wine's reg.
#[test]
fn registry_schannel_tls12_off_and_weak_dotnet_crypto_are_diagnosed() {
    let Some(w) = wine("registry_schannel_tls12_off_and_weak_dotnet_crypto_are_diagnosed") else {
        return;
    };
    w.reg(&format!(
        "[{SCHANNEL_TLS12}\\Client]\n\"Enabled\"=dword:00000000\n\n\
         [{NETFX}\\v4.0.30319]\n\"SchUseStrongCrypto\"=dword:00000000\n"
    ));
    let ran = w.run(&mut w.collect(&[], Locale::Utf8));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    let t = b.json("tls/settings.json");
    assert_eq!(
        t["schannel_protocols"]["TLS 1.2"]["client"], "disabled",
        "{t}"
    );
    assert_eq!(
        t["schannel_protocols"]["TLS 1.2"]["values"]["Enabled"]["data"],
        "0x0"
    );
    assert_eq!(
        t["dotnet_framework_strong_crypto"][r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319"]["SchUseStrongCrypto"],
        0,
        "{t}"
    );
    let f = finding(&b, "tls.legacy-protocols").expect("tls.legacy-protocols");
    assert_eq!(f["severity"], "error", "{f}");
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("SCHANNEL TLS 1.2 Client"), "{evidence}");
    assert!(evidence.contains("SchUseStrongCrypto"), "{evidence}");
    assert!(ran.stderr().contains("tls.legacy-protocols"), "{ran:?}");
}

/// WinINET's per-user proxy, bypass list and PAC URL. The PAC URL's query (a token) must not
/// reach the bundle or the terminal.
#[test]
fn registry_wininet_proxy_and_pac_url_without_its_token() {
    let Some(w) = wine("registry_wininet_proxy_and_pac_url_without_its_token") else {
        return;
    };
    let token = "CANARYpacToken31d";
    w.reg(&format!(
        "[{INTERNET_SETTINGS}]\n\"ProxyEnable\"=dword:00000001\n\
         \"ProxyServer\"=\"proxy.contoso.com:8080\"\n\
         \"AutoConfigURL\"=\"http://pac.contoso.com/proxy.pac?token={token}\"\n\
         \"ProxyOverride\"=\"<local>;*.contoso.com\"\n"
    ));
    let ran = w.run(&mut w.collect(&[], Locale::Utf8));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    assert_never_appears(token, &b, &ran);
    let p = b.json("network/proxy.json");
    assert_eq!(
        p["wininet"],
        serde_json::json!({
            "proxy_enable": true,
            "proxy_server": "proxy.contoso.com:8080",
            "proxy_override": "<local>;*.contoso.com",
            "auto_config_url": "http://pac.contoso.com/proxy.pac",
        }),
        "{p}"
    );
    let login = &p["effective"][0];
    assert_eq!(login["host"], "login.microsoftonline.com");
    // Python's getproxies_registry() gives the bare value an http:// scheme and never reads
    // the PAC file; the .NET families and WAM take the value as is and use the PAC file.
    let families = [
        (
            "azure_cli",
            "http://proxy.contoso.com:8080",
            "pac: not used by Python",
        ),
        (
            "azure_cli_wam",
            "proxy.contoso.com:8080",
            "pac: used (not evaluated)",
        ),
        (
            "powershell7",
            "proxy.contoso.com:8080",
            "pac: used (not evaluated)",
        ),
        (
            "windows_powershell",
            "proxy.contoso.com:8080",
            "pac: used (not evaluated)",
        ),
    ];
    for (family, proxy, pac_rule) in families {
        let e = &login[family];
        assert_eq!(e["proxy"], proxy, "{family}: {p}");
        assert_eq!(e["source"], "wininet", "{family}: {p}");
        assert_eq!(e["pac"], true, "{family}: {p}");
        let rule = e["rule"].as_str().unwrap_or_default();
        assert!(
            rule.contains("registry:ProxyServer (all protocols)") && rule.contains(pac_rule),
            "{family}: {p}"
        );
    }
    // Azure CLI 2.61+ on Windows signs users in through WAM unless az config turns it off.
    assert_eq!(p["azure_cli_wam"]["enabled"], true, "{p}");
}

/// The registry proxy and proxy variables together, as each runtime combines them (issue 14):
/// Python's `getproxies()` ignores the registry once any `*_proxy` variable is set, even
/// NO_PROXY alone; .NET's `HttpClient` (PowerShell 7) takes the environment only when
/// HTTP(S)_PROXY / ALL_PROXY is set; Windows PowerShell 5.1 never reads the variables.
#[test]
fn registry_proxy_and_proxy_variables_combine_per_client() {
    let Some(w) = wine("registry_proxy_and_proxy_variables_combine_per_client") else {
        return;
    };
    w.reg(&format!(
        "[{INTERNET_SETTINGS}]\n\"ProxyEnable\"=dword:00000001\n\
         \"ProxyServer\"=\"http=plain.contoso.com:1;https=secure.contoso.com:2\"\n"
    ));
    let family = |p: &Value, name: &str| p["effective"][0][name].clone();

    // NO_PROXY alone (a host that is not a Microsoft endpoint).
    let ran = w.run(
        w.collect(&[], Locale::Utf8)
            .env("NO_PROXY", "intranet.example"),
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let p = w.bundle(&ran).json("network/proxy.json");
    let cli = family(&p, "azure_cli");
    assert_eq!(cli["proxy"], Value::Null, "{p}");
    assert!(
        cli["rule"]
            .as_str()
            .is_some_and(|r| r.contains("registry ignored: environment has proxy variables")),
        "{p}"
    );
    let ps7 = family(&p, "powershell7");
    assert_eq!(ps7["proxy"], "secure.contoso.com:2", "{p}");
    assert_eq!(ps7["source"], "wininet", "{p}");
    let ps51 = family(&p, "windows_powershell");
    assert_eq!(ps51["proxy"], "secure.contoso.com:2", "{p}");

    // HTTPS_PROXY set: Azure CLI and PowerShell 7 take it, Windows PowerShell keeps WinINET.
    let out2 = w.path("out2");
    fs::create_dir_all(&out2).expect("out2");
    let ran = w.run(
        w.exe(
            &["collect", "--no-network", "-o", &winpath(&out2)],
            Locale::Utf8,
        )
        .env("HTTPS_PROXY", "http://env.contoso.com:3"),
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let p = w.bundle_in(&out2, &ran).json("network/proxy.json");
    assert_eq!(
        family(&p, "azure_cli")["proxy"],
        "http://env.contoso.com:3",
        "{p}"
    );
    assert_eq!(
        family(&p, "powershell7")["proxy"],
        "http://env.contoso.com:3",
        "{p}"
    );
    let ps51 = family(&p, "windows_powershell");
    assert_eq!(ps51["proxy"], "secure.contoso.com:2", "{p}");
    assert_eq!(ps51["source"], "wininet", "{p}");
}

/// The machine-wide WinHTTP proxy as `netsh winhttp set proxy` stores it: the binary
/// `WinHttpSettings` value. Wine's netsh is a stub that prints nothing, so this is only right
/// when the exe reads the value itself (issue 13, H2).
#[test]
fn registry_winhttp_settings_value_is_the_winhttp_proxy() {
    let Some(w) = wine("registry_winhttp_settings_value_is_the_winhttp_proxy") else {
        return;
    };
    w.reg(&format!(
        "[{CONNECTIONS}]\n\"WinHttpSettings\"={}\n",
        reg_hex(&winhttp_blob(3, "127.0.0.1:8080", "<local>"))
    ));
    let ran = w.run(&mut w.collect(&[], Locale::Utf8));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    let p = b.json("network/proxy.json");
    assert_eq!(p["winhttp"]["source"], "registry", "{p}");
    assert_eq!(p["winhttp"]["proxy_server"], "127.0.0.1:8080", "{p}");
    assert_eq!(p["winhttp"]["bypass_list"], "<local>", "{p}");
    assert_eq!(p["winhttp"]["direct"], false, "{p}");
}

/// No `WinHttpSettings` value: WinHTTP's default, direct access (issue 13, H2).
#[test]
fn registry_without_winhttp_settings_means_direct_access() {
    let Some(w) = wine("registry_without_winhttp_settings_means_direct_access") else {
        return;
    };
    let ran = w.run(&mut w.collect(&[], Locale::Utf8));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    let p = b.json("network/proxy.json");
    assert_eq!(p["winhttp"]["source"], "registry", "{p}");
    assert_eq!(p["winhttp"]["direct"], true, "{p}");
    assert_eq!(p["winhttp"]["proxy_server"], Value::Null, "{p}");
}

/// The probes (Winsock under Wine reaches the host's 127.0.0.1) go through the WinINET proxy,
/// which intercepts TLS with its own CA: the CA is named, and the finding says so.
#[test]
fn probes_through_a_tls_intercepting_wininet_proxy_name_its_ca() {
    let Some(w) = wine("probes_through_a_tls_intercepting_wininet_proxy_name_its_ca") else {
        return;
    };
    let ca = Arc::new(Ca::new("Contoso TLS Inspection CA"));
    let p = proxy(ProxyMode::Intercept(ca, 200));
    w.reg(&format!(
        "[{INTERNET_SETTINGS}]\n\"ProxyEnable\"=dword:00000001\n\"ProxyServer\"=\"{p}\"\n"
    ));
    let out = winpath(&w.out());
    let ran = w.run(
        w.exe(
            &["collect", "--probe-timeout", "5", "-o", &out],
            Locale::Utf8,
        )
        .env("ENTRA_COLLECT_NO_NETWORK", "0"),
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    let probes = b.json("network/probes.json");
    let results = probes["results"].as_array().expect("results");
    assert_eq!(results.len(), 4, "{probes}");
    for r in results {
        // Azure CLI's rule: Python gives the bare ProxyServer value an http:// scheme.
        assert_eq!(r["proxy"], format!("http://{p}"), "{r}");
        assert_eq!(r["error_kind"], "tls_untrusted", "{r}");
        assert_eq!(
            r["tls"]["interception_ca"],
            "CN=Contoso TLS Inspection CA, O=Contoso TLS Inspection CA",
            "{r}"
        );
    }
    let f = finding(&b, "proxy.tls-inspection").expect("proxy.tls-inspection");
    assert_eq!(f["severity"], "error", "{f}");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("Contoso TLS Inspection CA"),
        "{f}"
    );
}

/// Run `collect -- az login --service-principal -u ID -p SECRET --tenant T` through the
/// az.cmd stand-in, show the live output (not -q): the secret must appear nowhere, and this
/// returns what python.exe received as the password.
fn az_login_with(w: &Win, secret: &str) -> (Ran, Bundle, Option<String>) {
    w.install_az();
    let ran = w.run(&mut w.collect(
        &[
            "--",
            "az",
            "login",
            "--service-principal",
            "-u",
            "11111111-2222-3333-4444-555555555555",
            "-p",
            secret,
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
        Locale::Utf8,
    ));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    assert_never_appears(secret, &b, &ran);
    let arrived = w
        .python_runs()
        .into_iter()
        .find(|a| a.get(2).is_some_and(|x| x == "login"))
        .and_then(|a| {
            let i = a.iter().position(|x| x == "-p")?;
            a.get(i + 1).cloned()
        });
    if let Some(a) = &arrived {
        assert_never_appears(a, &b, &ran);
    }
    (ran, b, arrived)
}

/// Rust's std quotes a batch file's arguments for cmd.exe (`"` doubled, the whole argument
/// quoted when it has a space or any of `&|<>^()!` ...): spaces, `^`, `&`, `!`, `"` and
/// Japanese reach python.exe through az.cmd's `%*` unchanged, and the secret is masked in the
/// manifest, the debug log and the live output.
#[test]
fn az_cmd_secret_with_spaces_carets_ampersands_quotes_and_japanese_arrives_intact() {
    let Some(w) =
        wine("az_cmd_secret_with_spaces_carets_ampersands_quotes_and_japanese_arrives_intact")
    else {
        return;
    };
    let secret = "Sp ace^caret&amp|pipe<lt>!bang! \"dq\" 山田パスワード";
    let (ran, b, arrived) = az_login_with(&w, secret);
    assert_eq!(arrived.as_deref(), Some(secret), "{ran:?}");
    let run = collector(&b, "debug.run");
    assert_eq!(run["commands"][0]["exit_code"], 1, "{run}");
    let log = b.text("debug/az-login.log");
    assert!(log.contains("AADSTS7000215"), "{log}");
    assert!(log.contains("Command arguments: ['login'"), "{log}");
    assert!(
        finding(&b, "entra.aadsts").is_some(),
        "{}",
        b.text("findings.json")
    );
}

/// A secret with both quote kinds: az --debug logs it as Python's repr(), `'q"x\'...'`, a form
/// the raw secret does not match.
#[test]
fn az_cmd_secret_with_both_quote_kinds_is_masked_in_az_debug_repr() {
    let Some(w) = wine("az_cmd_secret_with_both_quote_kinds_is_masked_in_az_debug_repr") else {
        return;
    };
    let secret = "q\"x'山田Tail7";
    let (ran, _b, arrived) = az_login_with(&w, secret);
    assert_eq!(arrived.as_deref(), Some(secret), "{ran:?}");
    for piece in ["山田Tail7", "Tail7", "x\\'"] {
        assert!(
            !ran.stderr().contains(piece),
            "{piece:?} on stderr: {ran:?}"
        );
    }
}

/// `%` in a batch argument: std writes it as `%%cd:~,%` so that Windows' cmd cannot expand
/// `%PATH%` inside it. Wine 8's cmd still expands a variable reference in the text `%*` hands on:
/// python.exe receives `%PATH%` expanded and `%%` halved (recorded here; the escape is std's
/// and cannot be checked against Windows' cmd on this machine). Whatever arrives, neither it
/// nor the secret is shown or stored.
#[test]
fn az_cmd_secret_with_percent_signs_is_expanded_by_wines_cmd_and_never_leaks() {
    let Some(w) = wine("az_cmd_secret_with_percent_signs_is_expanded_by_wines_cmd_and_never_leaks")
    else {
        return;
    };
    let secret = "pct%PATH%and%%two%end";
    let (ran, _b, arrived) = az_login_with(&w, secret);
    let arrived = arrived.expect("python.exe ran");
    assert!(
        arrived.starts_with("pct") && arrived.contains(r"C:\windows\system32"),
        "Wine's cmd no longer expands %PATH% in a batch argument: {arrived:?}"
    );
    assert!(
        arrived.ends_with("and%twoend") || arrived.ends_with("and%two%end"),
        "{arrived:?}"
    );
    assert!(!ran.stderr().contains("and%two"), "{ran:?}");
}

/// std refuses a batch-file argument with a line break (cmd.exe would end the command there):
/// the sign-in cannot start, which the bundle records, and the rest is collected.
#[test]
fn az_cmd_refuses_a_secret_with_a_line_break_and_the_bundle_is_still_written() {
    let Some(w) = wine("az_cmd_refuses_a_secret_with_a_line_break_and_the_bundle_is_still_written")
    else {
        return;
    };
    let secret = "first-line-7a1\nsecond-line-7a2";
    let (ran, b, arrived) = az_login_with(&w, secret);
    assert_eq!(arrived, None, "python.exe ran: {ran:?}");
    for line in secret.lines() {
        assert_never_appears(line, &b, &ran);
    }
    let run = collector(&b, "debug.run");
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["reason"]
            .as_str()
            .unwrap()
            .contains("batch file arguments are invalid"),
        "{run}"
    );
    assert_eq!(b.manifest["status"], "complete");
    assert_eq!(collector(&b, "versions.az")["status"], "ok");
}

/// The inventory script's output as PowerShell 7 (`pwsh.exe`, UTF-8) and Windows PowerShell 5.1
/// (`powershell.exe`, UTF-8 with BOM and CRLF) print it, from stand-ins placed on the PATH
/// before Wine's silent powershell.exe stub.
#[test]
fn powershell_and_pwsh_stand_ins_give_module_inventories() {
    let Some(w) = wine("powershell_and_pwsh_stand_ins_give_module_inventories") else {
        return;
    };
    let fixtures = common::fixtures().join("powershell");
    let pwsh = fs::read(fixtures.join("pwsh-inventory.json")).expect("pwsh inventory");
    let winps = fs::read(fixtures.join("windows-powershell-inventory.json")).expect("inventory");
    w.install_replay("pwsh", &marked(&pwsh, false));
    w.install_replay("powershell", &marked(&winps, true));
    let ran = w.run(&mut w.collect(&[], Locale::Utf8));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    assert_eq!(
        collector(&b, "versions.powershell")["status"],
        "ok",
        "{ran:?}"
    );
    let seven = b.json("versions/pwsh.json");
    assert_eq!(seven["ps_version"], "7.4.6", "{seven}");
    let five = b.json("versions/windows-powershell.json");
    assert_eq!(five["edition"], "Desktop", "{five}");
    for v in [&seven, &five] {
        let names: Vec<&str> = v["modules"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["name"].as_str())
            .collect();
        assert!(names.contains(&"Az.Accounts"), "{v}");
    }
    // The stand-ins, not Wine's stub, ran.
    let paths: Vec<String> = commands(&b, "versions.powershell")
        .iter()
        .map(|c| c["program_path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        paths.iter().all(|p| p.contains(r"\tools\bin\")),
        "{paths:?}"
    );
}

/// The inventory between the markers the collector looks for, in Windows PowerShell's shape
/// (UTF-8 BOM, CRLF) when `desktop`.
fn marked(json: &[u8], desktop: bool) -> Vec<u8> {
    let mut v = Vec::new();
    if desktop {
        v.extend_from_slice(b"\xef\xbb\xbf");
    }
    v.extend_from_slice(&markers(json, desktop));
    v
}

fn markers(json: &[u8], crlf: bool) -> Vec<u8> {
    let nl: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut v = Vec::new();
    v.extend_from_slice(b"<<<ENTRA-COLLECT-JSON-BEGIN>>>");
    v.extend_from_slice(nl);
    v.extend_from_slice(json);
    v.extend_from_slice(nl);
    v.extend_from_slice(b"<<<ENTRA-COLLECT-JSON-END>>>");
    v.extend_from_slice(nl);
    v
}

/// Shift_JIS (code page 932) for ASCII and the two kanji the tests use.
fn shift_jis(text: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for c in text.chars() {
        match c {
            '山' => v.extend_from_slice(&[0x8e, 0x52]),
            '田' => v.extend_from_slice(&[0x93, 0x63]),
            c if c.is_ascii() => v.push(c as u8),
            c => panic!("no Shift_JIS for {c:?} here"),
        }
    }
    v
}

/// Shift_JIS bytes (`C:\Users\山田\...` module paths) from powershell.exe, as Windows
/// PowerShell writes to a pipe on Japanese Windows (the console code page, 932), and UTF-16LE
/// from pwsh.exe: both decoded, no U+FFFD, the encoding recorded per command (issue 13, H1).
#[test]
fn powershell_output_in_shift_jis_and_utf16le_is_decoded() {
    let Some(w) = wine("powershell_output_in_shift_jis_and_utf16le_is_decoded") else {
        return;
    };
    let fixtures = common::fixtures().join("powershell");
    let japanese = |file: &str| {
        fs::read_to_string(fixtures.join(file))
            .expect("inventory")
            .replace(r"C:\\Users\\alice", r"C:\\Users\\山田")
    };
    let winps = japanese("windows-powershell-inventory.json");
    assert!(winps.contains("山田"));
    // No BOM: Windows PowerShell writes to a pipe in [Console]::OutputEncoding (CP932 here).
    w.install_replay("powershell", &markers(&shift_jis(&winps), true));
    let pwsh = marked(japanese("pwsh-inventory.json").as_bytes(), false);
    let mut utf16 = vec![0xff, 0xfe];
    for u in String::from_utf8_lossy(&pwsh).encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    w.install_replay("pwsh", &utf16);
    let ran = w.run(&mut w.collect(&[], Locale::Japanese));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    for (name, data) in &b.entries {
        assert!(
            !String::from_utf8_lossy(data).contains('\u{FFFD}'),
            "U+FFFD in {name}"
        );
    }
    for file in ["versions/windows-powershell.json", "versions/pwsh.json"] {
        // The user's folder (in psmodulepath, and in module paths where the fixture has one)
        // arrives as the same Japanese text, not mojibake.
        let v = b.json(file);
        assert!(v.to_string().contains("山田"), "{v}");
    }
    let enc = |program: &str| {
        commands(&b, "versions.powershell")
            .iter()
            .find(|c| c["command_line"][0] == program)
            .map(|c| (c["encoding"].clone(), c["lossy_utf8"].clone()))
    };
    assert_eq!(
        enc("powershell.exe"),
        Some((Value::from("cp932"), Value::from(false)))
    );
    assert_eq!(
        enc("pwsh"),
        Some((Value::from("utf-16le"), Value::from(false)))
    );
}

/// az.cmd's python.exe hangs: `--timeout 8` kills the tree through the Job Object (cmd.exe and
/// python.exe gone, seen from Unix: Wine's tasklist is a stub), and the collector says
/// timed_out. (8 s rather than 3: the test must see cmd.exe and python.exe running before the
/// kill, and under Wine on a loaded 2-core machine they can take seconds to start.)
#[test]
fn hanging_az_is_killed_through_the_job_object_at_the_timeout() {
    let Some(w) = wine("hanging_az_is_killed_through_the_job_object_at_the_timeout") else {
        return;
    };
    w.install_az();
    let t0 = Instant::now();
    let child = w.spawn(
        w.collect(&["--timeout", "8"], Locale::Utf8)
            .env("FAKE_AZ_SLEEP", "120"),
    );
    // While it hangs the Unix side sees cmd.exe running az.cmd and python.exe (so the check
    // for survivors below can see them).
    let running = w.wait_for_python("version");
    for program in ["cmd.exe", "python.exe"] {
        assert!(
            running.iter().any(|p| p.contains(program)),
            "{program} not seen running: {running:?}"
        );
    }
    let ran = w.wait(child);
    let took = t0.elapsed();
    assert_eq!(ran.code, Some(0), "{ran:?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let b = w.bundle(&ran);
    let az = collector(&b, "versions.az");
    assert_eq!(az["status"], "timed_out", "{az}");
    assert_eq!(az["commands"][0]["timed_out"], true, "{az}");
    assert_eq!(w.survivors(), Vec::<String>::new());
}

/// The user profile `C:\users\山田 太郎` (set the Windows way, in `HKCU\Volatile Environment`)
/// with Azure CLI's MSAL cache and the `.IdentityService` caches: listed with their paths,
/// never read; and the bundle written to `Z:\...\出力 フォルダ`. Paths stay UTF-8 throughout.
#[test]
fn caches_under_a_japanese_profile_are_listed_and_the_bundle_lands_in_a_japanese_dir() {
    let Some(w) =
        wine("caches_under_a_japanese_profile_are_listed_and_the_bundle_lands_in_a_japanese_dir")
    else {
        return;
    };
    let out = w.path("出力 フォルダ");
    fs::create_dir_all(&out).expect("out dir");
    let out_win = winpath(&out);
    let ran = w.run(&mut w.exe(&["collect", "--no-network", "-o", &out_win], Locale::Utf8));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle_in(&out, &ran);
    assert!(
        ran.stdout()
            .starts_with(&format!("{out_win}\\entra-collect-")),
        "{ran:?}"
    );
    assert_eq!(b.manifest["invocation"]["args"][3], out_win.as_str());
    let caches = b.json("context/caches.json");
    let present: Vec<&str> = caches["caches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["exists"] == true)
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        present,
        vec![
            format!(r"{PROFILE}\.azure\msal_token_cache.json"),
            format!(r"{PROFILE}\AppData\Local\.IdentityService\msal.cache.cae"),
            format!(r"{PROFILE}\AppData\Local\.IdentityService\msal.cache.nocae"),
        ],
        "{caches}"
    );
    assert_eq!(
        b.json("context/az.json")["config_dir"],
        format!(r"{PROFILE}\.azure")
    );
}

/// Under LANG=ja_JP.UTF-8 Wine is Japanese (code pages 932) and its reg.exe prints "key not
/// found" in CP932: decoded, no U+FFFD in the bundle, the encoding recorded (issue 13, H1).
#[test]
fn japanese_reg_errors_in_cp932_are_decoded() {
    let Some(w) = wine("japanese_reg_errors_in_cp932_are_decoded") else {
        return;
    };
    assert!(
        w.winfacts(&["lang"], Locale::Japanese)
            .ends_with("acp=932 oemcp=932")
    );
    let ran = w.run(&mut w.collect(&[], Locale::Japanese));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    assert!(b.text("summary.md").contains("収集結果の概要"));
    for (name, data) in &b.entries {
        assert!(
            !String::from_utf8_lossy(data).contains('\u{FFFD}'),
            "U+FFFD in {name}: {}",
            String::from_utf8_lossy(data)
        );
    }
    // The .NET Framework keys do not exist in the prefix: reg exits 1 with Japanese text.
    let failed: Vec<&Value> = commands(&b, "tls")
        .iter()
        .filter(|c| c["command_line"][0] == "reg" && c["exit_code"] == 1)
        .collect();
    assert!(!failed.is_empty());
    for c in failed {
        assert_eq!(c["encoding"], "cp932", "{c}");
        assert_eq!(c["lossy_utf8"], false, "{c}");
    }
}

/// With no LANG / LC_* at all Wine's UI language is en-US, and the summary is English.
#[test]
fn without_locale_variables_wine_is_english_and_so_is_the_summary() {
    let Some(w) = wine("without_locale_variables_wine_is_english_and_so_is_the_summary") else {
        return;
    };
    assert!(
        w.winfacts(&["lang"], Locale::Unset)
            .starts_with("ui=0x0409 "),
    );
    let ran = w.run(&mut w.collect(&[], Locale::Unset));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    assert!(
        b.text("summary.md")
            .starts_with("# entra-collect bundle summary")
    );
}

/// Wine takes its UI language from the Unix LC_MESSAGES it started with and hands it on to
/// child processes (WINEUSERLOCALE) even when cmd.exe removes the variable: so the exe runs
/// with a Japanese UI language and no LC_ALL / LC_MESSAGES / LANG, as on Japanese Windows. The
/// default language must then come from GetUserDefaultUILanguage (issue 13, H1).
#[test]
fn without_locale_variables_the_language_follows_the_windows_ui_language() {
    let Some(w) = wine("without_locale_variables_the_language_follows_the_windows_ui_language")
    else {
        return;
    };
    let out = winpath(&w.out());
    let exe = winpath(&w.s.exe);
    let facts = winpath(&w.s.standins.join("winfacts.exe"));
    // Paths without spaces: no quoting needed inside the cmd line.
    assert!(!exe.contains(' ') && !out.contains(' ') && !facts.contains(' '));
    let line = format!(
        "set LC_MESSAGES=& set LANG=& set LC_ALL=& {facts} lang & set & {exe} collect --no-network -o {out}"
    );
    let ran = w.run(
        w.wine_cmd("cmd", Locale::Unset)
            .args(["/d", "/c", &line])
            .env("LC_MESSAGES", "ja_JP.UTF-8")
            .env("LC_CTYPE", "C.UTF-8")
            .env("LOCPATH", &w.s.locale),
    );
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let stdout = ran.stdout();
    assert!(stdout.contains("ui=0x0411 "), "{ran:?}");
    for v in ["LANG=", "LC_ALL=", "LC_MESSAGES="] {
        assert!(
            !stdout.lines().any(|l| l.starts_with(v)),
            "{v} still set: {ran:?}"
        );
    }
    let b = w.bundle(&ran);
    assert!(
        b.text("summary.md")
            .starts_with("# entra-collect 収集結果の概要"),
        "{}",
        b.text("summary.md")
    );
}

/// Ctrl-C while the sign-in hangs: SIGINT to the wine64 process reaches the exe's console
/// control handler; it kills the sign-in's tree, writes a partial bundle and exits 130.
#[test]
fn ctrl_c_during_a_hanging_sign_in_exits_130_with_a_partial_bundle() {
    let Some(w) = wine("ctrl_c_during_a_hanging_sign_in_exits_130_with_a_partial_bundle") else {
        return;
    };
    w.install_az();
    let secret = "CANARYctrlC-Secret-5b2";
    let child = w.spawn(
        w.collect(
            &[
                "--",
                "az",
                "login",
                "--service-principal",
                "-u",
                "app",
                "-p",
                secret,
                "--tenant",
                "t",
            ],
            Locale::Utf8,
        )
        .env("FAKE_AZ_SLEEP", "120"),
    );
    let pid = child.id() as libc::pid_t;
    let running = w.wait_for_python("login");
    assert!(
        running.iter().any(|p| p.contains("python.exe")),
        "python.exe not seen running: {running:?}"
    );
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let ran = w.wait(child);
    assert_eq!(ran.code, Some(130), "{ran:?}");
    let b = w.bundle(&ran);
    assert_never_appears(secret, &b, &ran);
    assert_eq!(b.manifest["status"], "interrupted");
    let run = collector(&b, "debug.run");
    assert_eq!(run["status"], "interrupted", "{run}");
    assert_eq!(run["commands"][0]["interrupted"], true, "{run}");
    assert_eq!(w.survivors(), Vec::<String>::new());
}

/// The bundle's Windows ACL (issue 13, H1: created with an owner-only DACL): nobody but the
/// owner and SYSTEM may have an ACE.
///
/// What Wine can show of it: Debian's Wine 8 keeps no security descriptor for a file here (no
/// xattr); it turns the DACL given at creation into Unix mode bits (an ACE for the user's SID ->
/// owner bits, SYSTEM -> group bits, Everyone -> other bits) and rebuilds a DACL from the mode
/// when asked (GetNamedSecurityInfoW, as winfacts.exe does; Wine's icacls and cacls are
/// dummies). So an Everyone / Users ACE shows (a 0644 file reads back with `(A;;0x1200a9;;;WD)`),
/// but the protected flag (`D:P`) and an `OW` (Owner Rights) ACE do not: Wine drops them, and a
/// DACL of only `OW` becomes mode 0000.
#[test]
fn bundle_file_dacl_grants_nobody_but_the_owner_and_system() {
    let Some(w) = wine("bundle_file_dacl_grants_nobody_but_the_owner_and_system") else {
        return;
    };
    let ran = w.run(&mut w.collect(&[], Locale::Utf8));
    assert_eq!(ran.code, Some(0), "{ran:?}");
    let b = w.bundle(&ran);
    let sddl = w.winfacts(&["sddl", &winpath(&b.path)], Locale::Utf8);
    let owner = sddl
        .strip_prefix("O:")
        .and_then(|s| s.split("G:").next())
        .unwrap_or_else(|| panic!("no owner in {sddl}"))
        .to_string();
    let dacl = sddl
        .split_once("D:")
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no DACL in {sddl}"));
    for ace in dacl.split('(').skip(1).map(|a| a.trim_end_matches(')')) {
        let sid = ace.rsplit(';').next().unwrap_or("");
        assert!(
            !ace.starts_with("A;") || sid == "OW" || sid == "SY" || sid == owner,
            "an ACE allows someone else than the owner / SYSTEM: ({ace}) in {sddl}"
        );
    }
    // The same fact from the Unix side: no permission bits for others.
    let mode = fs::metadata(&b.path)
        .expect("bundle metadata")
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o007,
        0,
        "{sddl}"
    );
}
