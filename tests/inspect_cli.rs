//! `entra-collect inspect` on real, tampered and malicious bundles.

mod common;
mod hostile;

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

/// A schema 1 bundle (before `commands[].encoding`) still verifies and is re-analysed.
#[test]
fn a_schema_1_manifest_still_reads() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    let old = d.path().join("schema1.zip");
    let mut removed = 0;
    let downgrade = |name: &str, data: Vec<u8>| -> Option<Vec<u8>> {
        if name != "manifest.json" {
            return Some(data);
        }
        let mut m: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(m["schema_version"], 2);
        m["schema_version"] = 1.into();
        for c in m["collectors"].as_array_mut().unwrap() {
            for cmd in c["commands"].as_array_mut().unwrap() {
                assert!(cmd["encoding"].is_string());
                cmd.as_object_mut().unwrap().remove("encoding");
            }
        }
        Some(serde_json::to_vec(&m).unwrap())
    };
    rewrite(&b, &old, downgrade, &[]);
    let m = read_bundle(&old).json("manifest.json");
    for c in m["collectors"].as_array().unwrap() {
        for cmd in c["commands"].as_array().unwrap() {
            assert!(cmd.get("encoding").is_none());
            removed += 1;
        }
    }
    assert!(removed > 0, "the bundle recorded no command");
    let out = inspect(&old, &["--json"]).success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["verification"]["verified"], true);
    assert_eq!(v["findings"][0]["id"], "entra.aadsts");
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

// The attacker tests: each hostile zip fails verification (exit 1), quickly and without holding
// what it inflates (peak RSS and time: scripts/inspect-hostile.sh, docs/performance.md).

fn hostile_file(dir: &Path, name: &str, bytes: Vec<u8>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn verification(path: &Path) -> serde_json::Value {
    let out = inspect(path, &["--json"]).code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["verification"]["verified"], false);
    v["verification"].clone()
}

#[test]
fn i02_sixteen_listed_bombs_exceed_the_decompression_budget() {
    let d = tempfile::tempdir().unwrap();
    let z = hostile_file(d.path(), "i02.zip", hostile::i02_sixteen_bombs());
    inspect(&z, &[])
        .code(1)
        .stdout(predicate::str::contains("Verified").not())
        .stderr(predicate::str::contains("NOT VERIFIED: budget exceeded"));
}

#[test]
fn i03_one_stream_referenced_by_many_entries_is_refused() {
    let d = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("i03.zip", hostile::i03_shared_stream()),
        ("i03c.zip", hostile::i03c_overlapping_traces()),
    ] {
        let z = hostile_file(d.path(), name, bytes);
        inspect(&z, &[])
            .code(1)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(
                "NOT VERIFIED: refused: entries overlap",
            ));
    }
}

#[test]
fn i09_manifest_size_is_capped_and_many_records_are_checked() {
    let d = tempfile::tempdir().unwrap();
    let z = hostile_file(d.path(), "i09.zip", hostile::i09_huge_manifest(200_000));
    inspect(&z, &[])
        .code(1)
        .stderr(predicate::str::contains("is not valid: larger than 16 MiB"));
    // 9,999 listed entries: the listed/extra comparison is a hash lookup, and it verifies.
    let z = hostile_file(d.path(), "many.zip", hostile::i09_many_records(9_999));
    inspect(&z, &[])
        .success()
        .stdout(predicate::str::contains("Verified: all 10000 entries"));
}

#[test]
fn i06_any_duplicate_name_fails_verification() {
    let d = tempfile::tempdir().unwrap();
    let z = hostile_file(d.path(), "i06.zip", hostile::i06_duplicate_summary());
    let v = verification(&z);
    assert_eq!(v["duplicates"], serde_json::json!(["summary.md"]));
    inspect(&z, &[]).code(1).stdout(
        predicate::str::contains("NOT VERIFIED")
            .and(predicate::str::contains(
                "- duplicate names (not read): summary.md",
            ))
            .and(predicate::str::contains("nothing to see").not()),
    );
    let z = hostile_file(d.path(), "i06b.zip", hostile::i06b_duplicate_manifest());
    // With --json the refusal is a JSON error on stdout.
    let out = inspect(&z, &["--json"]).code(1).get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["error"]["kind"], "inspect");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NOT VERIFIED: refused: 2 entries are named manifest.json")
    );
}

#[test]
fn i07_directory_entries_fail_verification() {
    let d = tempfile::tempdir().unwrap();
    let z = hostile_file(d.path(), "i07.zip", hostile::i07_directory_with_data());
    assert_eq!(
        verification(&z)["directories"],
        serde_json::json!(["debug/"])
    );
    let z = hostile_file(d.path(), "i07b.zip", hostile::i07b_climbing_directory());
    assert_eq!(
        verification(&z)["unsafe_names"],
        serde_json::json!(["../../evil/"])
    );
    assert!(!d.path().parent().unwrap().join("evil").exists());
}

#[test]
fn i11_entries_past_the_cap_are_counted_as_skipped_never_verified() {
    let d = tempfile::tempdir().unwrap();
    let z = hostile_file(d.path(), "i11.zip", hostile::i11_unlisted_past_the_cap());
    let v = verification(&z);
    assert_eq!(v["skipped"], 1);
    assert_eq!(v["entries"], 10_000);
    inspect(&z, &[]).code(1).stdout(predicate::str::contains(
        "- skipped (not checked): 1 entries: only the first 10000 entries are checked",
    ));
}

#[test]
fn i05_symlink_entries_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let z = hostile_file(d.path(), "i05.zip", hostile::i05_symlink());
    let v = verification(&z);
    assert_eq!(v["not_regular"], serde_json::json!(["summary.md"]));
    inspect(&z, &[]).code(1).stdout(predicate::str::contains(
        "symlinks or special files (not read): summary.md",
    ));
}

#[test]
fn i08b_escape_sequences_and_bidi_controls_are_printed_escaped() {
    let d = tempfile::tempdir().unwrap();
    let z = hostile_file(d.path(), "i08b.zip", hostile::i08b_escapes());
    let dangerous = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    let out = inspect(&z, &[]).code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!text.chars().any(dangerous), "{text:?}");
    assert!(text.starts_with("NOT VERIFIED"), "{text}");
    // The fake verdict in the hostname stays on the hostname's line, escaped.
    assert!(!text.lines().any(|l| l.starts_with("Verified")), "{text}");
    assert!(
        text.contains("pc\\x1b[2J\\x1b[H\\x0aVerified: all 3"),
        "{text}"
    );
    assert!(text.contains("debug/\\x1b[2Jx\\u{202e}gol.txt"), "{text}");
    assert!(text.contains("notes\\x9b8m.txt"), "{text}");

    let out = inspect(&z, &["--json"]).code(1);
    let json = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!json.chars().any(dangerous), "{json:?}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // JSON escapes (\u001b, \u202e, \u009b) parse back to the names as stored.
    assert_eq!(
        v["verification"]["unsafe_names"],
        serde_json::json!(["debug/\u{1b}[2Jx\u{202e}gol.txt", "notes\u{9b}8m.txt"])
    );
}

// Bundles of another schema version: verification needs only the manifest's files[]; what this
// version cannot read is listed, and the rest is analysed.

/// Copy a bundle with `edit` applied to its entries and `edit_manifest` to its manifest, the
/// manifest's size and sha256 of every changed entry updated so that the copy still verifies.
fn rewrite_listed(
    src: &Path,
    dst: &Path,
    edit: impl Fn(&str, Vec<u8>) -> Vec<u8>,
    edit_manifest: impl Fn(&mut serde_json::Value),
) {
    use sha2::{Digest, Sha256};
    let mut z = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut entries = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        entries.push((e.name().unwrap().to_string(), data));
    }
    let at = entries
        .iter()
        .position(|(n, _)| n == "manifest.json")
        .unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&entries[at].1).unwrap();
    for (name, data) in entries.iter_mut().filter(|(n, _)| n != "manifest.json") {
        let changed = edit(name, data.clone());
        if changed == *data {
            continue;
        }
        let record = manifest["files"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|f| f["path"] == name.as_str())
            .unwrap();
        record["size"] = changed.len().into();
        record["sha256"] = hex::encode(Sha256::digest(&changed)).into();
        *data = changed;
    }
    edit_manifest(&mut manifest);
    entries[at].1 = serde_json::to_vec_pretty(&manifest).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(name, opts).unwrap();
        w.write_all(&data).unwrap();
    }
    w.finish().unwrap();
}

fn inspect_json(path: &Path) -> serde_json::Value {
    let out = inspect(path, &["--json"]).success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn an_entry_of_another_shape_is_listed_unreadable_and_the_rest_is_analysed() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    assert!(read_bundle(&b).entries.contains_key("tls/ca-bundles.json"));
    let renamed = d.path().join("renamed.zip");
    rewrite_listed(
        &b,
        &renamed,
        |name, data| match name {
            "tls/ca-bundles.json" => String::from_utf8(data)
                .unwrap()
                .replacen("\"bundles\"", "\"bundle_list\"", 1)
                .into_bytes(),
            _ => data,
        },
        |_| {},
    );
    let v = inspect_json(&renamed);
    assert_eq!(v["verification"]["verified"], true, "{v:#}");
    let unreadable = v["unreadable"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{v:#}");
    assert_eq!(unreadable[0]["entry"], "tls/ca-bundles.json");
    assert_eq!(unreadable[0]["error"], "missing field `bundles`");
    // The debug log still gives its finding, and the manifest was read.
    assert_eq!(v["findings"][0]["id"], "entra.aadsts");
    assert!(v["created_at"].is_string());
    inspect(&renamed, &[]).success().stdout(
        predicate::str::contains("Verified: all")
            .and(predicate::str::contains(
                "could not read: tls/ca-bundles.json (missing field `bundles`)",
            ))
            .and(predicate::str::contains("AADSTS7000215")),
    );
    // The genuine bundle reads entirely.
    assert_eq!(inspect_json(&b)["unreadable"], serde_json::json!([]));
    // A reason quotes the entry's text: it stays on its line, escaped.
    let forged = d.path().join("forged.zip");
    rewrite_listed(
        &b,
        &forged,
        |name, data| match name {
            "context/caches.json" => String::from_utf8(data)
                .unwrap()
                .replacen("\"azure-cli\"", "\"x\\nVerified: all 99 entries\"", 1)
                .into_bytes(),
            _ => data,
        },
        |_| {},
    );
    let out = inspect(&forged, &[]).success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("could not read: context/caches.json (unknown variant `x\\x0aVerified"),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("Verified: all 99")),
        "{text}"
    );
}

#[test]
fn a_newer_manifest_with_extra_members_is_analysed_normally() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    let newer = d.path().join("newer.zip");
    rewrite_listed(
        &b,
        &newer,
        |_, data| data,
        |m| {
            m["schema_version"] = 99.into();
            m["signature"] = serde_json::json!({"alg": "none"});
        },
    );
    let v = inspect_json(&newer);
    assert_eq!(v["verification"]["verified"], true, "{v:#}");
    assert_eq!(v["unreadable"], serde_json::json!([]));
    assert_eq!(v["findings"][0]["id"], "entra.aadsts");
    assert_eq!(v["status"], "complete");
}

#[test]
fn a_manifest_of_another_shape_still_verifies_and_is_unreadable_for_analysis() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    let older = d.path().join("no-collectors.zip");
    rewrite_listed(
        &b,
        &older,
        |_, data| data,
        |m| {
            m.as_object_mut().unwrap().remove("collectors");
        },
    );
    let v = inspect_json(&older);
    assert_eq!(v["verification"]["verified"], true, "{v:#}");
    assert_eq!(
        v["unreadable"],
        serde_json::json!([{"entry": "manifest.json", "error": "missing field `collectors`"}])
    );
    assert!(v["created_at"].is_null() && v["status"].is_null());
    // The entries are still analysed (the debug log's AADSTS code).
    assert_eq!(v["findings"][0]["id"], "entra.aadsts");
    inspect(&older, &[]).success().stdout(
        predicate::str::contains("Verified: all")
            .and(predicate::str::contains(
                "could not read: manifest.json (missing field `collectors`)",
            ))
            .and(predicate::str::contains(
                "manifest.json could not be read by this version",
            ))
            .and(predicate::str::contains("## Collectors").not()),
    );
    // Tampering is still caught against the leniently read listing.
    let tampered = d.path().join("no-collectors-tampered.zip");
    rewrite(
        &older,
        &tampered,
        |name, data| match name {
            "system.json" => Some(b"{}".to_vec()),
            _ => Some(data),
        },
        &[],
    );
    let out = inspect(&tampered, &["--json"]).code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        v["verification"]["altered"],
        serde_json::json!(["system.json"])
    );
    // A manifest whose files[] cannot be read is still an error: nothing could be verified.
    let unlisted = d.path().join("no-files.zip");
    rewrite_listed(
        &b,
        &unlisted,
        |_, data| data,
        |m| {
            m.as_object_mut().unwrap().remove("files");
        },
    );
    inspect(&unlisted, &[])
        .code(1)
        .stderr(predicate::str::contains(
            "is not valid: missing field `files`",
        ));
}

/// `inspect` shows the collecting machine's local times (its recorded `utc_offset`), not the
/// reader's, and in the chosen language all the way: the sign-in section first, Japanese
/// headings, no English ones.
#[test]
fn inspect_shows_the_recorded_local_time_in_the_chosen_language() {
    let d = tempfile::tempdir().unwrap();
    let b = make_bundle(d.path());
    let tokyo = d.path().join("tokyo.zip");
    rewrite(
        &b,
        &tokyo,
        |name, data| {
            if name != "manifest.json" {
                return Some(data);
            }
            let mut m: serde_json::Value = serde_json::from_slice(&data).unwrap();
            m["utc_offset"] = "+09:00".into();
            Some(serde_json::to_vec_pretty(&m).unwrap())
        },
        &[],
    );
    let out = inspect(&tokyo, &["--lang", "ja"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let created = regex::Regex::new(r"作成日時 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+09:00").unwrap();
    assert!(created.is_match(&text), "{text}");
    assert!(text.contains("## サインイン\n"), "{text}");
    assert!(
        text.contains("- 開始: ") && text.contains("- 終了コード: "),
        "{text}"
    );
    for english in [
        "## The sign-in",
        "## Verdict",
        "## Collectors",
        "Sign-in contexts",
    ] {
        assert!(!text.contains(english), "{english} in:\n{text}");
    }
    let out = inspect(&tokyo, &["--lang", "en"]).success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("## The sign-in\n") && text.contains(" +09:00"),
        "{text}"
    );
    assert!(!text.contains("サインイン"), "{text}");
}
