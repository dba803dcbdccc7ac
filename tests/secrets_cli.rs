//! Leak tests through the real collect path: the secrets corpus (tests/fixtures/secrets/
//! corpus.txt) and the command-line, environment and quoting shapes go through the debug run
//! (`collect -- <command>`) of the fake tools, and no canary may reach any bundle entry, stdout
//! or stderr (the live view). Every failure names the shape that leaked and where.
//!
//! Each scenario runs once per test binary (cached), so the counting test and the per-shape
//! tests share the runs.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use common::*;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// The corpus

use common::corpus::{Shape, visible};

/// The corpus from its file.
fn corpus() -> Vec<Shape> {
    common::corpus::parse(&std::fs::read_to_string(fixtures().join("secrets/corpus.txt")).unwrap())
}

/// Every corpus canary, labelled with its shape.
fn corpus_canaries() -> Vec<Planted> {
    let shapes = corpus();
    assert!(shapes.len() >= 40, "corpus has {} shapes", shapes.len());
    let all: Vec<Planted> = shapes
        .iter()
        .flat_map(|s| {
            assert!(!s.text.is_empty(), "{} has no text", s.name);
            s.canaries.iter().map(|c| planted(&s.name, c))
        })
        .collect();
    assert!(all.len() >= 60, "corpus has {} canaries", all.len());
    all
}

// ---------------------------------------------------------------------------------------------
// Running a scenario and looking for canaries

/// A secret planted in a run: the shape it stands for and a string that must not be seen.
#[derive(Clone, Debug)]
struct Planted {
    shape: String,
    canary: String,
}

fn planted(shape: &str, canary: &str) -> Planted {
    Planted {
        shape: shape.to_string(),
        canary: canary.to_string(),
    }
}

#[derive(Clone)]
struct Scenario {
    name: &'static str,
    envs: Vec<(String, String)>,
    /// The command after `--`.
    argv: Vec<String>,
    planted: Vec<Planted>,
    /// Strings the debug run's command line in the manifest must still show.
    safe: Vec<String>,
}

fn scenario(name: &'static str, envs: &[(&str, &str)], argv: &[&str]) -> Scenario {
    Scenario {
        name,
        envs: envs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        planted: Vec::new(),
        safe: Vec::new(),
    }
}

impl Scenario {
    fn plant(mut self, shape: &str, canaries: &[&str]) -> Self {
        self.planted
            .extend(canaries.iter().map(|c| planted(shape, c)));
        self
    }
    fn safe(mut self, s: &[&str]) -> Self {
        self.safe.extend(s.iter().map(|x| x.to_string()));
        self
    }
}

struct Run {
    bundle: Bundle,
    /// The bundle's bytes (its directory is gone once the run is read).
    zip: Vec<u8>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The debug run's recorded command line, joined with spaces.
    fn command_line(&self) -> String {
        self.bundle.collector("debug.run")["commands"][0]["command_line"]
            .as_array()
            .unwrap_or_else(|| panic!("no command line: {}", self.bundle.collector("debug.run")))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn debug_log_name(&self) -> String {
        let logs: Vec<_> = self
            .bundle
            .entries
            .keys()
            // The log itself, not its timeline (`debug/<name>.requests.json`).
            .filter(|k| k.starts_with("debug/") && k.ends_with(".log"))
            .cloned()
            .collect();
        assert_eq!(logs.len(), 1, "debug logs: {logs:?}");
        logs[0].clone()
    }

    /// Every place a reader sees, as (where, visible text). The precise places (manifest
    /// invocation and command lines, the debug log's header) come first; every entry,
    /// stdout and stderr follow.
    fn places(&self) -> Vec<(String, String)> {
        let m = &self.bundle.manifest;
        let mut out = vec![(
            "manifest.json `invocation`".to_string(),
            m["invocation"].to_string(),
        )];
        for c in m["collectors"].as_array().unwrap() {
            for (i, cmd) in c["commands"].as_array().into_iter().flatten().enumerate() {
                out.push((
                    format!("manifest.json {} commands[{i}].command_line", c["id"]),
                    cmd["command_line"].to_string(),
                ));
            }
        }
        for (name, data) in &self.bundle.entries {
            let text = String::from_utf8_lossy(data);
            if name.starts_with("debug/") && name.ends_with(".log") {
                let header: String = text
                    .lines()
                    .take_while(|l| l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.push((format!("{name} header"), header));
            }
            out.push((format!("entry {name}"), text.into_owned()));
        }
        out.push(("stdout".into(), self.stdout.clone()));
        out.push(("stderr (live view)".into(), self.stderr.clone()));
        out.into_iter().map(|(w, t)| (w, visible(&t))).collect()
    }

    /// Every leak: (planted, where, the line it is on).
    fn leaks<'a>(&self, planted: &'a [Planted]) -> Vec<(&'a Planted, String, String)> {
        let places = self.places();
        let mut out = Vec::new();
        for p in planted {
            for (place, text) in &places {
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| l.contains(p.canary.as_str()))
                    .collect();
                if let Some(first) = lines.first() {
                    let mut line: String = first.chars().take(300).collect();
                    if lines.len() > 1 {
                        line = format!("({} lines; first:) {line}", lines.len());
                    }
                    out.push((p, place.clone(), line));
                }
            }
        }
        out
    }
}

fn run_scenario(s: &Scenario) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut c = bin(&fake_path());
    c.env("TMPDIR", dir.path())
        .env("ENTRA_COLLECT_STATE_DIR", dir.path());
    for (k, v) in &s.envs {
        c.env(k, v);
    }
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = c
        .args([
            "collect",
            "--json",
            "--timeout",
            "5",
            "--run-timeout",
            "20",
            "-o",
        ])
        .arg(&out_dir)
        .arg("--")
        .args(&s.argv)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success();
    let path = only_bundle(&out_dir);
    Run {
        bundle: read_entries(&path),
        zip: std::fs::read(&path).unwrap(),
        stdout: String::from_utf8_lossy(&out.get_output().stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.get_output().stderr).into_owned(),
    }
}

/// Read every entry without checking the manifest (see [`integrity`]), so that the leak
/// check still runs on a bundle whose manifest does not match its entries.
fn read_entries(path: &std::path::Path) -> Bundle {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut entries = BTreeMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        entries.insert(e.name().unwrap().to_string(), buf);
    }
    let manifest = serde_json::from_slice(&entries["manifest.json"]).unwrap_or_else(|e| {
        panic!(
            "manifest.json is not JSON ({e}): {}",
            String::from_utf8_lossy(&entries["manifest.json"])
        )
    });
    Bundle {
        path: path.to_path_buf(),
        manifest,
        entries,
    }
}

/// What `read_bundle` asserts, as a list of problems: every file the manifest lists is there
/// with its size and sha256, and nothing else (but manifest.json) is.
fn integrity(b: &Bundle) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::new();
    let files = b.manifest["files"].as_array().cloned().unwrap_or_default();
    for f in &files {
        let name = f["path"].as_str().unwrap_or("?");
        match b.entries.get(name) {
            None => out.push(format!("manifest lists `{name}`, which is not in the zip")),
            Some(data) => {
                if f["size"].as_u64() != Some(data.len() as u64)
                    || f["sha256"].as_str() != Some(hex::encode(Sha256::digest(data)).as_str())
                {
                    out.push(format!("size or sha256 of `{name}` does not match"));
                }
            }
        }
    }
    for name in b.entries.keys() {
        if name != "manifest.json" && !files.iter().any(|f| f["path"] == name.as_str()) {
            out.push(format!("zip entry `{name}` is not listed in the manifest"));
        }
    }
    out
}

/// Each scenario runs once per test binary; concurrent callers wait for the first.
fn result(s: &Scenario) -> Arc<Run> {
    type Cell = Arc<OnceLock<Arc<Run>>>;
    static CACHE: OnceLock<Mutex<BTreeMap<&'static str, Cell>>> = OnceLock::new();
    let cell = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(s.name)
        .or_default()
        .clone();
    cell.get_or_init(|| Arc::new(run_scenario(s))).clone()
}

/// Every shape that leaked and where, one line each.
fn leak_report(s: &Scenario, run: &Run) -> Vec<String> {
    run.leaks(&s.planted)
        .iter()
        .map(|(p, place, line)| {
            format!(
                "leak: shape `{}`: canary `{}` in {place}: {line}",
                p.shape, p.canary
            )
        })
        .collect()
}

/// Safe values the manifest's command line of the debug run no longer shows.
fn safe_report(s: &Scenario, run: &Run) -> Vec<String> {
    let line = run.command_line();
    s.safe
        .iter()
        .filter(|v| !line.contains(v.as_str()))
        .map(|v| format!("over-redaction: safe value `{v}` hidden in the manifest's debug.run command line: {line}"))
        .collect()
}

/// Panic with every problem of a scenario, leaks first.
fn report(s: &Scenario, problems: Vec<String>) {
    if problems.is_empty() {
        return;
    }
    let mut shapes: Vec<&str> = s
        .planted
        .iter()
        .filter(|p| {
            problems
                .iter()
                .any(|l| l.starts_with(&format!("leak: shape `{}`:", p.shape)))
        })
        .map(|p| p.shape.as_str())
        .collect();
    shapes.dedup();
    panic!(
        "scenario `{}` (collect -- {:?}): {} shape(s) leaked{}{}\n  {}",
        s.name,
        s.argv,
        shapes.len(),
        if shapes.is_empty() { "" } else { ": " },
        shapes.join(", "),
        problems.join("\n  ")
    );
}

/// Leaks, hidden safe values and a manifest that does not match the zip.
fn assert_clean(s: &Scenario, run: &Run) {
    let mut problems = leak_report(s, run);
    problems.extend(safe_report(s, run));
    problems.extend(
        integrity(&run.bundle)
            .into_iter()
            .map(|p| format!("bundle: {p}")),
    );
    report(s, problems);
}

// ---------------------------------------------------------------------------------------------
// 1. The corpus through the debug run of a fake curl

const SAS_URL: &str =
    "https://st1.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=CANARYSIGq7Zx2Wv%2BkP0r%3D";

fn curl_corpus() -> Scenario {
    let mut s = scenario(
        "curl-corpus",
        &[("FAKE_CURL_MODE", "corpus")],
        &["curl", "-v", SAS_URL],
    );
    s.planted = corpus_canaries();
    s.plant(
        "sas-url in the command line (sig)",
        &["CANARYSIG", "q7Zx2Wv"],
    )
    .plant(
        // The fake writes "Authorization: Bearer Cn2517xW1Z" on stdout, the rest on stderr.
        "authorization-bearer split across stdout and stderr (second half)",
        &["CseigkXep6LPX0y9"],
    )
}

#[test]
fn corpus_through_the_debug_run_leaks_nothing() {
    let s = curl_corpus();
    let run = result(&s);
    // Not vacuous: the fake ran, its output is in the log and was shown live.
    let log_name = run.debug_log_name();
    assert_eq!(log_name, "debug/curl.log");
    let log = run.bundle.text(&log_name);
    for marker in ["-----BEGIN PRIVATE KEY-----", "ExpiresOn   :", "curl: (22)"] {
        assert!(
            log.contains(marker),
            "{marker} missing from the log:\n{log}"
        );
        assert!(
            run.stderr.contains(marker),
            "{marker} missing from the live view:\n{}",
            run.stderr
        );
    }
    assert!(log.starts_with("# command: curl "), "{log}");
    assert_clean(&s, &run);
}

#[test]
fn debug_log_and_command_line_do_not_carry_the_url() {
    let s = curl_corpus();
    let run = result(&s);
    for name in run.bundle.entries.keys() {
        for part in ["st1", "blob", "sig", "CANARYSIG", "2022", "windows.net"] {
            assert!(
                !name.contains(part),
                "entry name {name} carries `{part}` of the URL"
            );
        }
    }
    assert!(run.bundle.entries.contains_key("debug/curl.log"));
    let line = run.command_line();
    assert!(line.starts_with("curl"), "{line}");
    for part in ["CANARYSIG", "q7Zx2Wv", "kP0r"] {
        assert!(
            !line.contains(part),
            "manifest command line shows `{part}`: {line}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The corpus through the az path

const AZ_PW: &str = "Zq8~CnAzP1w.Kx_9";

fn az_corpus() -> Scenario {
    let attached = format!("-p{AZ_PW}");
    let b64 = base64::engine::general_purpose::STANDARD.encode(AZ_PW);
    let mut s = scenario(
        "az-corpus",
        &[("FAKE_AZ_LOGIN", "corpus")],
        &[
            "az",
            "login",
            "--service-principal",
            "-u",
            "app",
            &attached,
            "--tenant",
            "contoso.onmicrosoft.com",
        ],
    );
    s.planted = corpus_canaries();
    s.plant("az -p attached value", &["CnAzP1w"])
        .plant(
            "az -p attached value, URL-encoded (%7E)",
            &["Zq8%7ECnAzP1w"],
        )
        .plant("az -p attached value, base64", &[b64.as_str()])
        .safe(&["--tenant contoso.onmicrosoft.com"])
}

#[test]
fn corpus_through_az_login_leaks_nothing() {
    let s = az_corpus();
    let run = result(&s);
    let log = run.bundle.text("debug/az-login.log");
    // Not vacuous: the argv line, the corpus and the echoed encodings were printed.
    for marker in [
        "Command arguments: ['login'",
        "-----BEGIN PRIVATE KEY-----",
        "client_secret=",
        "credential blob",
        "AADSTS7000215",
    ] {
        assert!(
            log.contains(marker),
            "{marker} missing from the log:\n{log}"
        );
    }
    assert_clean(&s, &run);
}

// ---------------------------------------------------------------------------------------------
// 3. Command-line shapes

fn az_shape(name: &'static str, secret_args: &[&str], canaries: &[&str]) -> Scenario {
    let mut argv = vec!["az", "login", "--service-principal", "-u", "app"];
    argv.extend_from_slice(secret_args);
    argv.extend_from_slice(&["--tenant", "contoso.onmicrosoft.com"]);
    scenario(name, &[], &argv)
        .plant(name, canaries)
        .safe(&["--tenant contoso.onmicrosoft.com"])
}

fn ps_shape(name: &'static str, args: &[&str], canaries: &[&str]) -> Scenario {
    let mut argv = vec!["Connect-AzAccount"];
    argv.extend_from_slice(args);
    scenario(name, &[("FAKE_PWSH_ECHO", "1")], &argv)
        .plant(name, canaries)
        .safe(&["-Tenant t"])
}

fn cmdline_shapes() -> Vec<Scenario> {
    vec![
        az_shape("az -pSECRET", &["-pCnShpAttP1x9Qw"], &["CnShpAttP1x9Qw"]),
        az_shape(
            "az --pass SECRET",
            &["--pass", "CnShpPass2x8Er"],
            &["CnShpPass2x8Er"],
        ),
        az_shape(
            "az --passw=SECRET",
            &["--passw=CnShpPassw3x7Ty"],
            &["CnShpPassw3x7Ty"],
        ),
        az_shape(
            "az --p SECRET",
            &["--p", "CnShpP4x6UiKl"],
            &["CnShpP4x6UiKl"],
        ),
        az_shape(
            "az --federated-tok SECRET",
            &["--federated-tok", "CnShpFed5x5OpAs"],
            &["CnShpFed5x5OpAs"],
        ),
        az_shape(
            "az -p with ' and \" in the value",
            &["-p", "CnShpQa1xZz'CnShpQb2xYy\"CnShpQc3xWw"],
            &["CnShpQa1xZz", "CnShpQb2xYy", "CnShpQc3xWw"],
        ),
        // cmd.exe splits on spaces and keeps the single quotes.
        ps_shape(
            "Connect-AzAccount -ClientSecret (ConvertTo-SecureString 'SECRET' ...), cmd.exe split",
            &[
                "-ServicePrincipal",
                "-Tenant",
                "t",
                "-ClientSecret",
                "(ConvertTo-SecureString",
                "'CnShpPsA1xRt5'",
                "-AsPlainText",
                "-Force)",
            ],
            &["CnShpPsA1xRt5"],
        ),
        // A POSIX shell removes the quotes (the parentheses quoted to get past it).
        ps_shape(
            "Connect-AzAccount -ClientSecret (ConvertTo-SecureString 'SECRET' ...), POSIX split",
            &[
                "-ServicePrincipal",
                "-Tenant",
                "t",
                "-ClientSecret",
                "(ConvertTo-SecureString",
                "CnShpPsB2xGh6",
                "-AsPlainText",
                "-Force)",
            ],
            &["CnShpPsB2xGh6"],
        ),
        ps_shape(
            "Connect-AzAccount -AccessToken (ConvertTo-SecureString -AsPlainText -Force -String SECRET)",
            &[
                "-Tenant",
                "t",
                "-AccountId",
                "app",
                "-AccessToken",
                "(ConvertTo-SecureString",
                "-AsPlainText",
                "-Force",
                "-String",
                "CnShpPsC3xJk7)",
            ],
            &["CnShpPsC3xJk7"],
        ),
        ps_shape(
            "Connect-AzAccount -ClientSecret: SECRET",
            &[
                "-ServicePrincipal",
                "-Tenant",
                "t",
                "-ClientSecret:",
                "CnShpPsD4xLm8",
            ],
            &["CnShpPsD4xLm8"],
        ),
        scenario(
            "pwsh -Command SCRIPT",
            &[],
            &[
                "pwsh",
                "-Command",
                "$pw='CnShpCmd1xQa'; [Net.NetworkCredential]::new('', 'CnShpCmd2xWs'); \
                 @{ClientSecret='CnShpCmd3xEd'}; $env:AZURE_CLIENT_SECRET='CnShpCmd4xRf'; \
                 'CnShpCmd5xTg' | ConvertTo-SecureString; ConvertTo-SecureString('CnShpCmd6xYh')",
            ],
        )
        .plant("pwsh -Command: $pw='SECRET'", &["CnShpCmd1xQa"])
        .plant(
            "pwsh -Command: [Net.NetworkCredential]::new('', 'SECRET')",
            &["CnShpCmd2xWs"],
        )
        .plant("pwsh -Command: @{ClientSecret='SECRET'}", &["CnShpCmd3xEd"])
        .plant(
            "pwsh -Command: $env:AZURE_CLIENT_SECRET='SECRET'",
            &["CnShpCmd4xRf"],
        )
        .plant(
            "pwsh -Command: 'SECRET' | ConvertTo-SecureString",
            &["CnShpCmd5xTg"],
        )
        .plant(
            "pwsh -Command: ConvertTo-SecureString('SECRET')",
            &["CnShpCmd6xYh"],
        )
        .safe(&["-Command"]),
    ]
}

fn check_shape(i: usize) {
    let s = &cmdline_shapes()[i];
    let run = result(s);
    // Not vacuous: the tool ran and its output (which echoes the arguments) was kept.
    let log = run.bundle.text(&run.debug_log_name());
    assert!(
        log.contains("AADSTS7000215") || log.contains("Line |"),
        "scenario `{}`: the fake's output is missing:\n{log}",
        s.name
    );
    assert_clean(s, &run);
}

#[test]
fn shape_az_attached_p() {
    check_shape(0);
}
#[test]
fn shape_az_pass_abbreviation() {
    check_shape(1);
}
#[test]
fn shape_az_passw_equals() {
    check_shape(2);
}
#[test]
fn shape_az_double_dash_p() {
    check_shape(3);
}
#[test]
fn shape_az_federated_tok_abbreviation() {
    check_shape(4);
}
#[test]
fn shape_az_value_with_both_quotes() {
    check_shape(5);
}
#[test]
fn shape_ps_convertto_securestring_cmd_split() {
    check_shape(6);
}
#[test]
fn shape_ps_convertto_securestring_posix_split() {
    check_shape(7);
}
#[test]
fn shape_ps_access_token_string() {
    check_shape(8);
}
#[test]
fn shape_ps_clientsecret_colon_space() {
    check_shape(9);
}
#[test]
fn shape_pwsh_command_script() {
    check_shape(10);
}

#[test]
fn every_command_line_shape_has_a_test() {
    assert_eq!(cmdline_shapes().len(), 11);
}

// ---------------------------------------------------------------------------------------------
// 4. Environment and proxy: what tests/default_deny.rs does not cover — the same kinds of values
// echoed by the sign-in tool itself (curl -v prints the proxy variable and the
// Proxy-Authorization header), a `Basic` value under an arbitrary AZURE_ name, and the raw
// `/#?` password on HTTPS_PROXY, checked in proxy.json, probes.json, environment.json, the log,
// stdout and the live view.

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn env_places(run: &Run) -> Vec<(String, String)> {
    run.places()
        .into_iter()
        .filter(|(w, _)| {
            [
                "entry network/proxy.json",
                "entry network/probes.json",
                "entry environment.json",
                "entry debug/curl.log",
                "stdout",
                "stderr (live view)",
            ]
            .contains(&w.as_str())
        })
        .collect()
}

#[test]
fn env_basic_pat_and_schemeless_proxy_are_not_echoed() {
    let basic = b64("carol:CnEnvBasic7PwQ");
    let basic_value = format!("Basic {basic}");
    let proxy_basic = b64("alice:CnEnvProxyA1Zx");
    let s = scenario(
        "env-basic-pat-proxy",
        &[
            ("AZURE_FOO", &basic_value),
            ("AZURE_DEVOPS_EXT_PAT", "CnEnvPat9x4Lm2Qw"),
            ("HTTPS_PROXY", "alice:CnEnvProxyA1Zx@proxy:3128"),
        ],
        &["curl", "-v", "https://login.microsoftonline.com/"],
    )
    .plant(
        "AZURE_FOO=Basic <base64>",
        &[basic.as_str(), "CnEnvBasic7PwQ"],
    )
    .plant("AZURE_DEVOPS_EXT_PAT", &["CnEnvPat9x4Lm2Qw"])
    .plant(
        "HTTPS_PROXY=alice:SECRET@proxy:3128",
        &["CnEnvProxyA1Zx", proxy_basic.as_str()],
    );
    let run = run_scenario(&s);
    let log = run.bundle.text("debug/curl.log");
    assert!(
        log.contains("Uses proxy env variable HTTPS_PROXY") && log.contains("Proxy-Authorization"),
        "{log}"
    );
    let places = env_places(&run);
    assert_eq!(
        places.len(),
        5,
        "probes.json is absent with no network: {places:?}"
    );
    let proxy = run.bundle.json("network/proxy.json").to_string();
    assert!(proxy.contains("proxy:3128"), "{proxy}");
    assert_eq!(
        run.bundle.json("environment.json")["variables"]["AZURE_DEVOPS_EXT_PAT"]["set"],
        true
    );
    assert_clean(&s, &run);
}

#[test]
fn env_proxy_password_with_raw_slash_hash_question_mark_is_not_echoed() {
    let pw = "pa/ss#?x";
    let s = scenario(
        "env-proxy-raw-special",
        &[("HTTPS_PROXY", "http://bob:pa/ss#?x@proxy:3128")],
        &["curl", "-v", "https://login.microsoftonline.com/"],
    )
    .plant(
        "HTTPS_PROXY=http://bob:pa/ss#?x@proxy:3128",
        &[pw, "ss#?x", "pa%2Fss%23%3Fx", &b64("bob:pa/ss#?x")],
    );
    let run = run_scenario(&s);
    let proxy = run.bundle.json("network/proxy.json");
    assert_eq!(
        proxy["environment"]["https_proxy"]["value"],
        "http://[REDACTED:url-credentials]@proxy:3128",
        "{proxy}"
    );
    assert!(
        run.bundle
            .text("debug/curl.log")
            .contains("Proxy-Authorization")
    );
    assert_clean(&s, &run);
}

// ---------------------------------------------------------------------------------------------
// 5. JSON is never broken by a redaction, and the bundle verifies

#[test]
fn quoted_secrets_in_error_lines_keep_every_json_valid() {
    let s = scenario(
        "az-quoted-error-lines",
        &[("FAKE_AZ_LOGIN", "quoted")],
        &[
            "az",
            "login",
            "--service-principal",
            "-u",
            "app",
            "-p",
            "CnJsA1b2\"CnJsB3c4\\CnJsC5d6'CnJsD7e8",
            "--tenant",
            "t",
        ],
    )
    .plant(
        "az -p \"SECRET\" echoed in an error line (LF and CRLF, cmd.exe quoting)",
        &["CnJsA1b2", "CnJsB3c4", "CnJsC5d6", "CnJsD7e8"],
    )
    .plant(
        "-p \"SECRET\" in an error line, not in the arguments",
        &["CnTxtOnly4Rq8", "CnTxtTail7Zp"],
    );
    let run = run_scenario(&s);
    let log = run.bundle.text("debug/az-login.log");
    assert!(log.contains("\r\n"), "CRLF lines missing:\n{log}");
    let mut problems = Vec::new();
    let mut parsed = 0;
    for (name, data) in &run.bundle.entries {
        if name.ends_with(".json") {
            if let Err(e) = serde_json::from_slice::<Value>(data) {
                let text = String::from_utf8_lossy(data);
                problems.push(format!("broken JSON: {name} ({e}):\n{text}"));
            }
            parsed += 1;
        }
    }
    assert!(parsed >= 5, "{parsed} JSON entries");
    if let Ok(f) = serde_json::from_slice::<Value>(&run.bundle.entries["findings.json"]) {
        assert!(
            f.to_string().contains("AADSTS7000215"),
            "the error lines did not reach the findings: {f}"
        );
    }
    problems.extend(leak_report(&s, &run));
    problems.extend(
        integrity(&run.bundle)
            .into_iter()
            .map(|p| format!("bundle: {p}")),
    );

    // The bundle verifies: written back out and inspected.
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("bundle.zip");
    std::fs::write(&zip, &run.zip).unwrap();
    let out = bin(&fake_path())
        .args(["inspect", "--json"])
        .arg(&zip)
        .output()
        .unwrap();
    if out.status.code() != Some(0) {
        problems.push(format!(
            "inspect exited {:?}: {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
                .chars()
                .take(2000)
                .collect::<String>(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    report(&s, problems);
}

// ---------------------------------------------------------------------------------------------
// 6. Count

#[test]
fn count_planted_and_leaked_canaries() {
    let mut all = vec![curl_corpus(), az_corpus()];
    all.extend(cmdline_shapes());
    let runs: Vec<Arc<Run>> = std::thread::scope(|sc| {
        let handles: Vec<_> = all.iter().map(|s| sc.spawn(|| result(s))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (mut planted, mut leaked) = (0, 0);
    let mut report = Vec::new();
    for (s, run) in all.iter().zip(&runs) {
        let leaks = run.leaks(&s.planted);
        let mut canaries: Vec<&str> = leaks.iter().map(|(p, _, _)| p.canary.as_str()).collect();
        canaries.sort();
        canaries.dedup();
        planted += s.planted.len();
        leaked += canaries.len();
        eprintln!(
            "secrets_cli: {:<90} planted {:>3} leaked {:>3}",
            s.name,
            s.planted.len(),
            canaries.len()
        );
        for (p, place, line) in &leaks {
            report.push(format!(
                "{} / {}: `{}` in {place}: {line}",
                s.name, p.shape, p.canary
            ));
        }
    }
    eprintln!("secrets_cli: total planted {planted}, leaked {leaked}");
    assert!(planted >= 2 * 62 + 20, "{planted}");
    assert_eq!(leaked, 0, "leaks:\n{}", report.join("\n"));
}
