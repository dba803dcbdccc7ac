//! `entra-collect inspect`: verify a bundle someone sent and re-run the findings on it.
//!
//! Nothing is extracted to disk. Entry names that are absolute or climb out (`..`) are refused,
//! every entry is decompressed through a byte cap (a zip bomb stops there), every sha256 and
//! size is checked against the manifest, and missing, extra and altered entries are reported.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::analyze::{self, Finding, Lang, Model};
use crate::bundle::{EntryName, MANIFEST_NAME, Manifest};
use crate::report::Texts;

/// At most this many entries are looked at.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot open {0}: {1}")]
    Open(String, std::io::Error),
    #[error("{0} is not a zip file, or it is truncated: {1}")]
    NotZip(String, String),
    #[error("{0} has no manifest.json: it is not an entra-collect bundle, or it was cut short")]
    NoManifest(String),
    #[error("manifest.json in {0} is not valid: {1}")]
    BadManifest(String, String),
}

#[derive(Debug, Default, Serialize)]
pub struct Verification {
    /// Every listed entry is present with its size and sha256, nothing unlisted, no unsafe name.
    pub verified: bool,
    pub entries: usize,
    /// Listed in the manifest, absent from the zip.
    pub missing: Vec<String>,
    /// In the zip, not listed.
    pub extra: Vec<String>,
    /// Size or sha256 differs from the manifest.
    pub altered: Vec<String>,
    /// Absolute, `..` or otherwise unsafe names (never read).
    pub unsafe_names: Vec<String>,
    /// Decompressed past the cap (possible zip bomb; not read further).
    pub oversized: Vec<String>,
}

pub struct Inspected {
    pub verification: Verification,
    pub manifest: Manifest,
    pub texts: Texts,
    pub findings: Vec<Finding>,
}

/// Read, verify and re-analyse a bundle.
pub fn inspect(path: &Path, max_entry_bytes: u64, lang: Lang) -> Result<Inspected, InspectError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| InspectError::Open(shown.clone(), e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| InspectError::NotZip(shown.clone(), e.to_string()))?;
    let mut v = Verification::default();
    // name -> (size, sha256, text if it is one)
    let mut seen: BTreeMap<String, (u64, String, Option<String>)> = BTreeMap::new();
    for i in 0..zip.len().min(MAX_ENTRIES) {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => return Err(InspectError::NotZip(shown.clone(), e.to_string())),
        };
        let raw_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_dir() {
            continue;
        }
        if EntryName::new(&raw_name).is_err() || entry.enclosed_name().is_none() {
            v.unsafe_names.push(raw_name);
            continue;
        }
        let keep_text = !raw_name.starts_with("trace/");
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut text = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut limited = (&mut entry).take(max_entry_bytes + 1);
        let mut broken = false;
        loop {
            match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    size += n as u64;
                    if keep_text {
                        text.extend_from_slice(&buf[..n]);
                    }
                }
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        if size > max_entry_bytes {
            v.oversized.push(raw_name);
            continue;
        }
        if broken {
            v.altered.push(raw_name);
            continue;
        }
        let text = keep_text.then(|| String::from_utf8_lossy(&text).into_owned());
        seen.insert(raw_name, (size, hex::encode(hasher.finalize()), text));
    }
    v.entries = seen.len();
    let manifest_text = seen
        .get(MANIFEST_NAME)
        .and_then(|(_, _, t)| t.clone())
        .ok_or_else(|| InspectError::NoManifest(shown.clone()))?;
    let manifest: Manifest = serde_json::from_str(&manifest_text)
        .map_err(|e| InspectError::BadManifest(shown.clone(), e.to_string()))?;

    for f in &manifest.files {
        match seen.get(&f.path) {
            None => v.missing.push(f.path.clone()),
            Some((size, sha, _)) if *size != f.size || *sha != f.sha256 => {
                v.altered.push(f.path.clone())
            }
            Some(_) => {}
        }
    }
    for name in seen.keys() {
        if name != MANIFEST_NAME && !manifest.files.iter().any(|f| &f.path == name) {
            v.extra.push(name.clone());
        }
    }
    v.verified = v.missing.is_empty()
        && v.extra.is_empty()
        && v.altered.is_empty()
        && v.unsafe_names.is_empty()
        && v.oversized.is_empty();

    let texts: Texts = seen
        .into_iter()
        .filter(|(n, _)| n != MANIFEST_NAME)
        .filter_map(|(n, (_, _, t))| t.map(|t| (n, t)))
        .collect();
    let findings = analyze::analyze(
        &Model {
            texts: &texts,
            collectors: &manifest.collectors,
        },
        lang,
    );
    Ok(Inspected {
        verification: v,
        manifest,
        texts,
        findings,
    })
}
