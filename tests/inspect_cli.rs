//! `entra-collect inspect` on real, tampered and malicious bundles.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::*;
use zip::write::SimpleFileOptions;

fn make_bundle(dir: &Path) -> PathBuf {
    bin(&fake_path())
        .args(["-q", "-o"])
        .arg(dir)
        .args([
            "--",
            "az",
            "login",
            "--service-principal",
            "-u",
            "app",
            "-p",
            "pw",
            "--tenant",
            "t",
        ])
        .assert()
        .success();
    only_bundle(dir)
}

/// Copy a bundle entry by entry, letting `edit` change, drop (None) or keep each one, then
/// append `extra` entries.
fn rewrite(
    src: &Path,
    dst: &Path,
    edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>,
    extra: &[(&str, Vec<u8>)],
) {
    let mut z = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let name = e.name().unwrap().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        if let Some(d) = edit(&name, data) {
            w.start_file(name, opts).unwrap();
            w.write_all(&d).unwrap();
        }
    }
    for (name, data) in extra {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

fn inspect(path: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    bin("/nonexistent")
        .arg("inspect")
        .arg(path)
        .args(extra)
        .assert()
}

#[test]
fn a_real_bundle_verifies_and_is_re_analysed() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    inspect(&b, &[])
        .success()
        .stdout(
            predicate::str::contains("Verified: all").and(predicate::str::contains(
                "AADSTS7000215 (invalid client secret)",
            )),
        );
    let out = inspect(&b, &["--json"]).success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["verification"]["verified"], true);
    assert_eq!(v["findings"][0]["id"], "entra.aadsts");
    // The bundle carries the same findings as a file.
    let bundle = read_bundle(&b);
    assert_eq!(
        bundle.json("findings.json")["findings"][0]["id"],
        "entra.aadsts"
    );
    inspect(&b, &["--lang", "ja"])
        .success()
        .stdout(predicate::str::contains("検証済み"));
}

#[test]
fn tampered_missing_and_extra_entries_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    let t = d.path().join("tampered.zip");
    rewrite(
        &b,
        &t,
        |name, data| match name {
            "environment.json" => Some(b"{\"variables\": {}}".to_vec()),
            "system.json" => None,
            _ => Some(data),
        },
        &[("notes.txt", b"added later".to_vec())],
    );
    let out = inspect(&t, &["--json"]).code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let ver = &v["verification"];
    assert_eq!(ver["verified"], false);
    assert_eq!(ver["altered"], serde_json::json!(["environment.json"]));
    assert_eq!(ver["missing"], serde_json::json!(["system.json"]));
    assert_eq!(ver["extra"], serde_json::json!(["notes.txt"]));
    inspect(&t, &[]).code(1).stdout(
        predicate::str::contains("NOT VERIFIED")
            .and(predicate::str::contains("- altered: environment.json")),
    );
}

#[test]
fn unsafe_names_and_zip_bombs_are_refused_without_reading() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    let evil = d.path().join("evil.zip");
    let bomb = vec![0u8; 5 << 20];
    rewrite(
        &b,
        &evil,
        |_, data| Some(data),
        &[
            ("../escape.txt", b"CANARY-ESCAPE".to_vec()),
            ("/etc/abs.txt", b"CANARY-ABS".to_vec()),
            ("bomb.txt", bomb),
        ],
    );
    let out = inspect(&evil, &["--json", "--max-entry-mb", "1"]).code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let ver = &v["verification"];
    assert_eq!(
        ver["unsafe_names"],
        serde_json::json!(["../escape.txt", "/etc/abs.txt"])
    );
    assert_eq!(ver["oversized"], serde_json::json!(["bomb.txt"]));
    let all = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(!all.contains("CANARY"));
    // Nothing was written next to the bundle.
    assert!(
        !d.path().join("escape.txt").exists()
            && !d.path().parent().unwrap().join("escape.txt").exists()
    );
}

#[test]
fn not_a_zip_truncated_and_no_manifest_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    let junk = d.path().join("junk.zip");
    std::fs::write(&junk, "this is not a zip").unwrap();
    inspect(&junk, &[]).code(1).stderr(predicate::str::contains(
        "is not a zip file, or it is truncated",
    ));
    let cut = d.path().join("cut.zip");
    let bytes = std::fs::read(&b).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    inspect(&cut, &[]).code(1).stderr(predicate::str::contains(
        "is not a zip file, or it is truncated",
    ));
    let bare = d.path().join("bare.zip");
    rewrite(
        &b,
        &bare,
        |name, data| (name != "manifest.json").then_some(data),
        &[],
    );
    inspect(&bare, &[])
        .code(1)
        .stderr(predicate::str::contains("has no manifest.json"));
    inspect(&d.path().join("absent.zip"), &[])
        .code(1)
        .stderr(predicate::str::contains("cannot open"));
}
