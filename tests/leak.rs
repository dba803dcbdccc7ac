//! The redaction guarantee end to end: secrets planted in every input channel the collectors
//! read (environment, az output, PowerShell output, command-line arguments) never reach the
//! bundle, stdout or stderr.

mod common;

use common::*;

const PLANTED: &[&str] = &["SEKRIT", "U0VLUklU"];

fn leaky_run(extra: &[&str]) -> (Bundle, String) {
    let dir = tempfile::tempdir().unwrap();
    // Arguments: a proxy URL with credentials inside the output path.
    let out_dir = dir.path().join("http:").join("").join("u:SEKRITarg@h");
    let out_dir = std::path::PathBuf::from(out_dir.to_string_lossy().replace("http:/", "http://"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = bin(&fake_path())
        .env("FAKE_AZ_MODE", "leaky")
        .env("FAKE_PWSH_MODE", "leaky")
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("AZURE_CLIENT_SECRET", "Zq8~SEKRIT-env-secret")
        .env("AZURE_PASSWORD", "SEKRIT-env-password")
        .env("IDENTITY_HEADER", "SEKRIT-identity-header")
        .env("MSI_SECRET", "SEKRIT-msi")
        .env(
            "HTTPS_PROXY",
            "http://proxyuser:SEKRITproxy@proxy.corp:8080",
        )
        .env(
            "https_proxy",
            "http://proxyuser:SEKRITproxy2@proxy.corp:8080",
        )
        .env(
            "AZURE_STORAGE_CONNECTION_STRING",
            "AccountName=a;AccountKey=SEKRITkey",
        )
        .env("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
        .args(["--json", "-o"])
        .arg(&out_dir)
        .args(extra)
        .assert()
        .success();
    let b = read_bundle(&only_bundle(&out_dir));
    let streams = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.get_output().stdout),
        String::from_utf8_lossy(&out.get_output().stderr)
    );
    (b, streams)
}

fn hits(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| PLANTED.iter().any(|p| l.contains(p)))
        .map(str::to_string)
        .collect()
}

#[test]
fn planted_secrets_in_every_channel_never_leave() {
    let (b, streams) = leaky_run(&[]);
    // The leaky fakes did run and their output is in the bundle (so the test is not vacuous).
    let az_raw = b.text("versions/az-version.txt");
    assert!(az_raw.contains("AADSTS7000215"), "az output missing");
    assert!(
        b.text("versions/pwsh.output.txt").contains("HTTP REQUEST"),
        "pwsh output missing"
    );
    assert!(
        az_raw.contains("[REDACTED:known-secret-value]"),
        "literal env secret not applied"
    );
    for (name, data) in &b.entries {
        let text = String::from_utf8_lossy(data);
        assert!(hits(&text).is_empty(), "{name} leaks: {:#?}", hits(&text));
    }
    assert!(
        hits(&streams).is_empty(),
        "stdout/stderr leak: {:#?}",
        hits(&streams)
    );
    // Redaction counts are recorded per file and summarized.
    let files = b.manifest["files"].as_array().unwrap();
    let az = files
        .iter()
        .find(|f| f["path"] == "versions/az-version.txt")
        .unwrap();
    assert!(
        az["redactions"]["oauth-field"].as_u64().unwrap() >= 3,
        "{az}"
    );
    assert!(
        b.text("summary.md")
            .contains("were replaced by `[REDACTED:<rule>]` markers")
    );
    // Without --mask-pii, e-mail addresses stay.
    assert!(az_raw.contains("planted.user@contoso.com"));
}

#[test]
fn mask_pii_pseudonymizes_addresses_everywhere() {
    let (b, streams) = leaky_run(&["--mask-pii"]);
    let all = b.all_text() + &streams;
    assert!(!all.contains("planted.user@"), "address leaked");
    assert!(
        b.text("versions/az-version.txt").contains("@contoso.com"),
        "domain kept"
    );
    // The same address gets the same pseudonym in every file of the bundle.
    let az = b.text("versions/az-version.txt");
    let ps = b.text("versions/pwsh.output.txt");
    // The planted user's lines, in two files written by two collectors.
    let pseudo = |t: &str, marker: &str| {
        let line = t
            .lines()
            .find(|l| l.contains(marker))
            .unwrap_or("")
            .to_string();
        regex::Regex::new(r"pii-user-\d+@contoso\.com")
            .unwrap()
            .find(&line)
            .map(|m| m.as_str().to_string())
    };
    let a = pseudo(&az, "using credential");
    assert!(a.is_some(), "{az}");
    assert_eq!(a, pseudo(&ps, "signed in as"));
    assert_eq!(
        b.manifest["invocation"]["args"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "--mask-pii"
    );
}

/// `--mask-pii --mask-host` through the binary: user names in home-directory paths (Windows and
/// Unix forms) become the same `pii-user-N` in every entry, the host name becomes `pii-host-1`
/// in every entry and in the bundle's file name, and summary.md says what was masked.
#[test]
fn mask_pii_and_host_mask_paths_and_the_host_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin(&fake_path())
        .env("FAKE_AZ_MODE", "leaky")
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .env("AZURE_CONFIG_DIR", "C:\\Users\\zoe.planted\\.azure")
        .env("REQUESTS_CA_BUNDLE", "/home/zoe.planted/certs/ca.pem")
        .args(["--json", "--mask-pii", "--mask-host", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let path = only_bundle(dir.path());
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(file.starts_with("entra-collect-pii-host-1-"), "{file}");
    let b = read_bundle(&path);
    let all = b.all_text() + &stdout;
    assert!(!all.contains("zoe.planted"), "a user name in a path leaked");
    let env = b.text("environment.json");
    let user = regex::Regex::new(r"pii-user-\d+").unwrap();
    let win = env
        .lines()
        .find(|l| l.contains("\\\\.azure"))
        .and_then(|l| user.find(l))
        .map(|m| m.as_str().to_string());
    let unix = env
        .lines()
        .find(|l| l.contains("/certs/ca.pem"))
        .and_then(|l| user.find(l))
        .map(|m| m.as_str().to_string());
    assert!(win.is_some(), "{env}");
    assert_eq!(win, unix, "{env}");
    assert!(env.contains("C:\\\\Users\\\\pii-user-"), "{env}");
    assert!(env.contains("/home/pii-user-"), "{env}");
    // The host name is nowhere, as a word in any case.
    let host = sysinfo::System::host_name().unwrap_or_default();
    assert_eq!(b.manifest["host"]["hostname"], "pii-host-1");
    if host.len() >= 2 {
        let word = regex::Regex::new(&format!(
            r"(?i)(^|[^A-Za-z0-9_-]){}($|[^A-Za-z0-9_-])",
            regex::escape(&host)
        ))
        .unwrap();
        assert!(!word.is_match(&all), "host name {host} leaked");
    }
    let summary = b.text("summary.md");
    assert!(
        summary.contains("user names in home-directory paths as `pii-user-N`")
            && summary.contains("the host name as `pii-host-1`"),
        "{summary}"
    );
    assert!(summary.contains("stable pseudonyms"), "{summary}");
}
