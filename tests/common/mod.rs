//! Helpers shared by the integration tests: run the binary with a controlled PATH and read a
//! bundle back with the zip crate.
#![allow(dead_code, unused_imports)]

pub mod corpus;
pub mod proc;
pub mod tls;
pub use proc::alive;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// PATH with the fake tools first, then the system directories the fakes themselves need.
pub fn fake_path() -> String {
    format!("{}:/usr/bin:/bin", fixtures().join("bin").display())
}

/// The binary with a clean environment: only what a test passes reaches it.
pub fn bin(path: &str) -> Command {
    let mut c = Command::cargo_bin("entra-collect").unwrap();
    // No test probes the real network: probe tests opt back in with loopback overrides.
    c.env_clear()
        .env("PATH", path)
        .env("HOME", "/nonexistent-home")
        .env("ENTRA_COLLECT_NO_NETWORK", "1");
    c
}

/// An empty directory used as PATH when no tool must be found.
pub fn empty_path(dir: &Path) -> String {
    let p = dir.join("empty-bin");
    std::fs::create_dir_all(&p).unwrap();
    p.display().to_string()
}

pub struct Bundle {
    pub path: PathBuf,
    pub manifest: Value,
    pub entries: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    pub fn text(&self, name: &str) -> String {
        String::from_utf8(
            self.entries
                .get(name)
                .unwrap_or_else(|| panic!("no entry {name}"))
                .clone(),
        )
        .unwrap()
    }
    pub fn json(&self, name: &str) -> Value {
        serde_json::from_str(&self.text(name)).unwrap()
    }
    pub fn collector(&self, id: &str) -> Value {
        self.manifest["collectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no collector {id}"))
            .clone()
    }
    /// Every entry's bytes and the manifest, as one string, for leak checks.
    pub fn all_text(&self) -> String {
        self.entries
            .values()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The single bundle in `dir`.
pub fn only_bundle(dir: &Path) -> PathBuf {
    let zips: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    assert_eq!(
        zips.len(),
        1,
        "expected one bundle in {}: {zips:?}",
        dir.display()
    );
    zips[0].clone()
}

/// Read a bundle and check that every file the manifest lists is there with its sha256 and
/// size, and that nothing else (but manifest.json) is.
pub fn read_bundle(path: &Path) -> Bundle {
    let f = std::fs::File::open(path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut entries = BTreeMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        entries.insert(e.name().unwrap().to_string(), buf);
    }
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).unwrap();
    let files = manifest["files"].as_array().unwrap();
    for f in files {
        let name = f["path"].as_str().unwrap();
        let data = entries
            .get(name)
            .unwrap_or_else(|| panic!("manifest lists missing {name}"));
        assert_eq!(
            f["size"].as_u64().unwrap(),
            data.len() as u64,
            "size of {name}"
        );
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(data)),
            "sha256 of {name}"
        );
    }
    for name in entries.keys() {
        assert!(
            name == "manifest.json" || files.iter().any(|f| f["path"] == name.as_str()),
            "entry {name} not listed in the manifest"
        );
    }
    Bundle {
        path: path.to_path_buf(),
        manifest,
        entries,
    }
}

/// Snapshot a manifest with what changes from run to run (times, hashes, sizes, host, paths)
/// replaced by placeholders.
pub fn manifest_snapshot(name: &str, manifest: &Value) {
    let mut settings = insta::Settings::clone_current();
    for (sel, placeholder) in [
        (".created_at", "[time]"),
        (".finished_at", "[time]"),
        (".utc_offset", "[offset]"),
        (".host.*", "[host]"),
        (".invocation.args[2]", "[dir]"),
        (".collectors[].started_at", "[time]"),
        (".collectors[].duration_ms", "[ms]"),
        (".collectors[].commands[].duration_ms", "[ms]"),
        (".collectors[].commands[].program_path", "[path]"),
        // Fakes print paths of the checkout they run from.
        (".collectors[].commands[].stdout_bytes", "[bytes]"),
        (".files[].sha256", "[sha256]"),
        (".files[].size", "[size]"),
        (".files[].compressed_size", "[size]"),
    ] {
        settings.add_redaction(sel, placeholder);
    }
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_json_snapshot!(name, manifest));
}

/// The real Azure CLI for an end-to-end test, or None to skip it on a developer machine
/// without one. In CI (`CI` set) a missing Azure CLI fails the test instead of passing it
/// silently: .ci/run installs it from PyPI.
pub fn real_az_or_skip() -> Option<PathBuf> {
    let dir = real_az_dir();
    if dir.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the real Azure CLI end-to-end tests: .ci/run installs azure-cli into target/azvenv and sets AZ_E2E_BIN"
        );
        eprintln!("skipped: no Azure CLI (set AZ_E2E_BIN or put az on PATH)");
    }
    dir
}

/// The directory of a real Azure CLI for the end-to-end tests: AZ_E2E_BIN, else `az` on PATH.
pub fn real_az_dir() -> Option<PathBuf> {
    std::env::var_os("AZ_E2E_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            which::which("az")
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
        })
        .filter(|d| d.join("az").exists())
}
