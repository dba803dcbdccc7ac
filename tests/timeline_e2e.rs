//! The request timeline end to end: `entra-collect collect -- az login ...` runs the fake az,
//! which replays a debug log from tests/fixtures/debug; the bundle holds
//! `debug/az-login.requests.json`, with `--har` `debug/az-login.har`, and summary.md's "What the
//! sign-in did" table.

mod common;

use common::*;
use serde_json::Value;

/// One collection with the fake az replaying `replay` (relative to tests/fixtures/az).
fn collect(replay: &str, extra: &[&str]) -> Bundle {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut args = vec!["collect", "-q", "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--",
        "az",
        "login",
        "--service-principal",
        "-u",
        "app",
        "-p",
        "PLANTEDcmdline7A",
        "--tenant",
        "t",
    ]);
    let status = bin(&fake_path())
        .env("HOME", dir.path())
        .env("FAKE_AZ_REPLAY", replay)
        .args(&args)
        .output()
        .unwrap();
    assert!(
        status.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    read_bundle(&only_bundle(&out))
}

#[test]
fn real_az_log_gives_requests_json_har_and_summary_table() {
    let b = collect("../debug/az-login-sp-arm-403.log", &["--har"]);
    let r = b.json("debug/az-login.requests.json");
    assert_eq!(r["log"], "debug/az-login.log");
    assert_eq!(r["formats"], serde_json::json!(["az"]));
    let reqs = r["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2, "{r:#}");
    assert_eq!(reqs[0]["method"], "POST");
    assert_eq!(reqs[0]["status"], 200);
    assert_eq!(
        reqs[1]["url"],
        "https://localhost:18443/subscriptions?api-version=2022-12-01"
    );
    assert_eq!(reqs[1]["status"], 403);
    assert_eq!(reqs[1]["failed"], true);
    assert_eq!(
        reqs[1]["request_id"],
        "5f0f4c1e-6a3b-4e1c-9d62-0c3d2a1b0e00"
    );
    assert_eq!(r["stop"]["request"], 1);
    // The line number points into the log as stored (its header included).
    let log = b.text("debug/az-login.log");
    let line = reqs[1]["line"].as_u64().unwrap() as usize;
    assert!(
        log.lines()
            .nth(line - 1)
            .unwrap()
            .contains("Request URL: 'https://localhost:18443/subscriptions"),
        "line {line}"
    );

    let har: Value = b.json("debug/az-login.har");
    assert_eq!(har["log"]["version"], "1.2");
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["response"]["status"], 403);
    assert_eq!(entries[1]["request"]["method"], "GET");
    assert!(
        entries[1]["startedDateTime"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let summary = b.text("summary.md");
    let table = summary
        .find("## What the sign-in did")
        .expect("the section");
    let verdict = summary.find("## Verdict").expect("the verdict");
    assert!(table < verdict, "{summary}");
    assert!(
        summary.contains(
            "| 2 | GET https://localhost:18443/subscriptions?api-version=2022-12-01 | 403 **← the sign-in stopped here** |"
        ),
        "{summary}"
    );
    // The manifest lists the new entries like any other.
    let files: Vec<&str> = b.manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"debug/az-login.requests.json"), "{files:?}");
    assert!(files.contains(&"debug/az-login.har"), "{files:?}");
}

#[test]
fn without_har_flag_no_har_and_requests_json_is_always_written() {
    let b = collect("../debug/az-login-proxy-refused.log", &[]);
    assert!(!b.entries.contains_key("debug/az-login.har"));
    let r = b.json("debug/az-login.requests.json");
    assert_eq!(r["requests"][0]["status"], Value::Null);
    assert!(
        r["requests"][0]["error"]
            .as_str()
            .unwrap()
            .contains("Unable to connect to proxy")
    );
    // A log with no request at all still gets its (empty) timeline.
    let b = collect("login-post-auth-failure.synthetic.txt", &[]);
    let r = b.json("debug/az-login.requests.json");
    assert!(r["requests"].is_array(), "{r:#}");
}

/// Secrets planted in URL user-info, query, fragment, headers and body never reach the
/// timeline or the HAR.
#[test]
fn planted_secrets_never_reach_the_timeline_or_har() {
    let b = collect(
        "../debug/az-login-planted-secrets.synthetic.log",
        &["--har"],
    );
    let r = b.text("debug/az-login.requests.json");
    let har = b.text("debug/az-login.har");
    let v: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(v["requests"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(
        v["requests"][1]["url"],
        "https://management.azure.com/subscriptions?api-version=2022-12-01"
    );
    assert_eq!(v["requests"][1]["correlation_id"], Value::Null);
    for text in [&r, &har] {
        for planted in [
            "PLANTEDauthcode7Q",
            "PLANTEDstate8R",
            "planteduser",
            "PLANTEDpassword9S",
            "PLANTEDsig0T",
            "PLANTEDskip1U",
            "PLANTEDfrag2V",
            "PLANTEDbearer3W",
            "PLANTEDnotaguid4X",
            "PLANTEDwww5Y",
            "PLANTEDbody6Z",
            "PLANTEDcmdline7A",
        ] {
            assert!(!text.contains(planted), "{planted} in:\n{text}");
        }
    }
}
