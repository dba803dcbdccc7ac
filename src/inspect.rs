//! `entra-collect inspect`: verify a bundle someone sent and re-run the findings on it.
//!
//! A received bundle is hostile until verified. Nothing is extracted to disk, and nothing about
//! the archive is trusted before it is checked:
//!
//! - the central directory is walked by hand first (at most [`Limits::max_cd_entries`] entries,
//!   [`Limits::max_cd_bytes`] bytes), so a duplicate name cannot hide behind the zip reader,
//!   which keeps only one entry per name;
//! - entries whose local header and data overlap another's (one deflate stream referenced many
//!   times, the classic zip bomb) make the whole archive refused before anything is inflated;
//! - names that are absolute, climb out (`..`), hold control or bidi characters or decode
//!   differently than stored are refused;
//!   directory entries, symlinks and other special files are never part of a genuine bundle and
//!   fail verification without being read;
//! - every other entry is streamed through SHA-256 with a per-entry cap, a total
//!   decompressed-bytes budget and a wall-clock budget; only the text entries the findings need
//!   are kept in memory, each capped, with a total cap;
//! - `manifest.json` is read first through a size cap, its JSON value count is bounded before
//!   it is parsed, and its record count is capped; the extra-entry check is a hash lookup.
//!
//! Verified means: every entry was checked, every listed entry is present with its size and
//! sha256, nothing is unlisted, duplicated, unsafe, special or over a cap.
//!
//! Verification needs only the manifest's `files[]` (path, size, sha256), read leniently, so a
//! bundle of another schema version still verifies. The analysis reads the entries through the
//! typed model (`model::Bundle`): an entry, or the manifest itself, that does not read as this
//! version's type is listed as unreadable and the rest is still analysed.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analyze::{self, Finding, Model};
use crate::bundle::{EntryName, MANIFEST_NAME, Manifest};
use crate::model::{Bundle, Unreadable};
use crate::term::{is_terminal_safe, terminal_safe, terminal_safe_text};
use crate::vocab::{Lang, Texts};

const MIB: u64 = 1 << 20;

/// What `inspect` is prepared to spend on one bundle.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest decompressed entry read (`--max-entry-mb`); larger ones are "oversized".
    pub max_entry_bytes: u64,
    /// At most this many entries are read; the rest are counted as skipped (not verified).
    pub max_entries: usize,
    /// Archives whose central directory lists more entries are refused unread.
    pub max_cd_entries: u64,
    /// Archives whose central directory is larger are refused unread.
    pub max_cd_bytes: u64,
    /// Total decompressed bytes: the larger of this floor and `budget_ratio` times the size of
    /// the zip file. Past it the inspection stops: "not verified: budget exceeded".
    pub budget_floor: u64,
    pub budget_ratio: u64,
    /// Wall-clock budget: this base plus one second per `time_per_second_bytes` of zip file.
    pub time_base: Duration,
    pub time_per_second_bytes: u64,
    /// manifest.json: bytes, JSON values (before parsing) and file records.
    pub max_manifest_bytes: u64,
    pub max_manifest_values: usize,
    pub max_manifest_records: usize,
    /// Text entries kept in memory for the findings: each, and all together.
    pub max_text_entry: u64,
    pub max_text_total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 256 * MIB,
            max_entries: 10_000,
            max_cd_entries: 50_000,
            max_cd_bytes: 8 * MIB,
            budget_floor: 256 * MIB,
            budget_ratio: 64,
            time_base: Duration::from_secs(20),
            time_per_second_bytes: 64 * MIB,
            max_manifest_bytes: 16 * MIB,
            max_manifest_values: 1_000_000,
            max_manifest_records: 100_000,
            max_text_entry: 16 * MIB,
            max_text_total: 24 * MIB,
        }
    }
}

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
    /// The archive is hostile or malformed in a way that makes reading it unsafe.
    #[error("{0} is NOT VERIFIED: refused: {1}")]
    Refused(String, String),
    /// A budget ran out before every entry was checked.
    #[error("{0} is NOT VERIFIED: budget exceeded: {1}")]
    Budget(String, String),
}

#[derive(Debug, Default, Serialize)]
pub struct Verification {
    /// Every entry was checked; every listed entry is present with its size and sha256; nothing
    /// unlisted, duplicated, unsafe, special or over a cap.
    pub verified: bool,
    /// Entries read and hashed.
    pub entries: usize,
    /// Listed in the manifest, absent from the zip.
    pub missing: Vec<String>,
    /// In the zip, not listed.
    pub extra: Vec<String>,
    /// Size or sha256 differs from the manifest (or the entry could not be inflated).
    pub altered: Vec<String>,
    /// Absolute, `..` or otherwise unsafe names (never read).
    pub unsafe_names: Vec<String>,
    /// Decompressed past the cap (possible zip bomb; not read further).
    pub oversized: Vec<String>,
    /// Names that occur more than once in the central directory (never read: which copy a
    /// tool extracts differs between tools).
    pub duplicates: Vec<String>,
    /// Directory entries (a genuine bundle has none; never read).
    pub directories: Vec<String>,
    /// Symlinks and other special files (never read).
    pub not_regular: Vec<String>,
    /// Entries not checked at all, and why.
    pub skipped: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
    /// Verified, but not given to the findings (over the text caps, or not text).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_analysed: Vec<String>,
}

impl Verification {
    fn conclude(&mut self) {
        self.verified = self.missing.is_empty()
            && self.extra.is_empty()
            && self.altered.is_empty()
            && self.unsafe_names.is_empty()
            && self.oversized.is_empty()
            && self.duplicates.is_empty()
            && self.directories.is_empty()
            && self.not_regular.is_empty()
            && self.skipped == 0;
    }

    /// The first lines of the text output: "Verified: ..." or "NOT VERIFIED: ..." with every
    /// problem listed. Names are made terminal-safe.
    pub fn headline(&self, lang: Lang) -> String {
        if self.verified {
            return lang.t(
                &format!(
                    "Verified: all {} entries match the manifest (sha256 and size).",
                    self.entries
                ),
                &format!(
                    "検証済み: {} 個のエントリすべてがマニフェスト (sha256 とサイズ) と一致します。",
                    self.entries
                ),
            );
        }
        let mut s = lang.t(
            "NOT VERIFIED: the bundle does not match its manifest.",
            "検証失敗: バンドルがマニフェストと一致しません。",
        );
        for (label, items) in [
            (lang.t("missing", "欠落"), &self.missing),
            (lang.t("extra", "余分"), &self.extra),
            (lang.t("altered", "改変"), &self.altered),
            (
                lang.t("unsafe names (not read)", "安全でない名前 (読み取りません)"),
                &self.unsafe_names,
            ),
            (
                lang.t(
                    "over the size cap (not read)",
                    "サイズ上限超過 (読み取りません)",
                ),
                &self.oversized,
            ),
            (
                lang.t(
                    "duplicate names (not read)",
                    "重複した名前 (読み取りません)",
                ),
                &self.duplicates,
            ),
            (
                lang.t(
                    "directory entries (not read)",
                    "ディレクトリ エントリ (読み取りません)",
                ),
                &self.directories,
            ),
            (
                lang.t(
                    "symlinks or special files (not read)",
                    "シンボリック リンクまたは特殊ファイル (読み取りません)",
                ),
                &self.not_regular,
            ),
        ] {
            if !items.is_empty() {
                let names: Vec<Cow<str>> = items.iter().map(|n| terminal_safe(n)).collect();
                s.push_str(&format!("\n- {label}: {}", names.join(", ")));
            }
        }
        if self.skipped > 0 {
            let reason = self.skipped_reason.as_deref().unwrap_or("");
            s.push_str(&lang.t(
                &format!(
                    "\n- skipped (not checked): {} entries: {reason}",
                    self.skipped
                ),
                &format!(
                    "\n- スキップ (未検証): {} 個のエントリ: {reason}",
                    self.skipped
                ),
            ));
        }
        s
    }
}

pub struct Inspected {
    pub verification: Verification,
    /// The manifest as this version reads it; None when it is not this version's shape (it
    /// is then listed first in `bundle.unreadable`, and the collector records are unknown).
    pub manifest: Option<Manifest>,
    /// The entries the findings read, typed; `bundle.unreadable` lists those that are not
    /// this version's shape.
    pub bundle: Bundle,
    pub findings: Vec<Finding>,
}

impl Inspected {
    /// The entries (and the manifest) this version could not read: entry name and a short
    /// reason, in the order found.
    pub fn unreadable(&self) -> &[Unreadable] {
        &self.bundle.unreadable
    }

    /// The manifest and findings with every string made terminal-safe (single-line fields
    /// escape newlines too), for the text output.
    pub fn terminal_safe_parts(&self) -> (Option<Manifest>, Vec<Finding>) {
        let manifest = self.manifest.as_ref().map(|m| {
            serde_json::to_value(m)
                .map(escape_strings)
                .and_then(serde_json::from_value)
                .unwrap_or_else(|_| m.clone())
        });
        let one = |s: &mut String| *s = terminal_safe(s).into_owned();
        let many = |s: &mut String| *s = terminal_safe_text(s).into_owned();
        let mut findings = self.findings.clone();
        for f in &mut findings {
            one(&mut f.title);
            many(&mut f.detail);
            f.fix.iter_mut().for_each(many);
            one(&mut f.docs);
            for e in &mut f.evidence {
                one(&mut e.file);
                one(&mut e.excerpt);
            }
        }
        (manifest, findings)
    }
}

fn escape_strings(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(terminal_safe(&s).into_owned()),
        Value::Array(a) => Value::Array(a.into_iter().map(escape_strings).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (terminal_safe(&k).into_owned(), escape_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Read, verify and re-analyse a bundle with the default limits and this entry cap.
pub fn inspect(path: &Path, max_entry_bytes: u64, lang: Lang) -> Result<Inspected, InspectError> {
    let limits = Limits {
        max_entry_bytes,
        ..Limits::default()
    };
    inspect_with(path, &limits, lang)
}

/// Entries the findings and the re-rendered summary read (text, never the trace, never the
/// outputs of an earlier analysis).
fn analysis_input(name: &str) -> bool {
    !name.starts_with("trace/") && name != "summary.md" && name != "findings.json"
}

/// Unix file type bits of an entry's external attributes (0 when none were recorded).
fn unix_type(external_attributes: u32) -> u32 {
    (external_attributes >> 16) & 0o170000
}

/// Read, verify and re-analyse a bundle within `limits`.
pub fn inspect_with(path: &Path, limits: &Limits, lang: Lang) -> Result<Inspected, InspectError> {
    let started = Instant::now();
    let shown = path.display().to_string();
    let refused = |why: String| InspectError::Refused(shown.clone(), why);
    let mut file = File::open(path).map_err(|e| InspectError::Open(shown.clone(), e))?;
    let zip_len = file
        .metadata()
        .map_err(|e| InspectError::Open(shown.clone(), e))?
        .len();
    let raw_names = central_directory_names(&mut file, zip_len, limits).map_err(|e| match e {
        CdError::Malformed(m) => InspectError::NotZip(shown.clone(), m),
        CdError::TooLarge(m) => refused(m),
    })?;
    let mut counts: HashMap<&[u8], usize> = HashMap::with_capacity(raw_names.len());
    for n in &raw_names {
        *counts.entry(n.as_slice()).or_default() += 1;
    }
    let dup_names: HashSet<String> = counts
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
        .collect();
    if dup_names.contains(MANIFEST_NAME) {
        return Err(refused(format!(
            "{} entries are named {MANIFEST_NAME}: which one a tool reads differs between tools",
            counts[MANIFEST_NAME.as_bytes()]
        )));
    }
    drop(counts);
    drop(raw_names);

    file.seek(SeekFrom::Start(0))
        .map_err(|e| InspectError::Open(shown.clone(), e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| InspectError::NotZip(shown.clone(), e.to_string()))?;
    match zip.has_overlapping_entries() {
        Ok(false) => {}
        Ok(true) => {
            return Err(refused(
                "entries overlap: the local headers and data of different entries share bytes \
                 (one compressed stream referenced several times, a zip bomb)"
                    .into(),
            ));
        }
        Err(e) => return Err(InspectError::NotZip(shown.clone(), e.to_string())),
    }

    let budget = limits
        .budget_floor
        .max(limits.budget_ratio.saturating_mul(zip_len));
    let deadline = started
        + limits.time_base
        + Duration::from_secs(zip_len / limits.time_per_second_bytes.max(1));
    let mut spent = Spent {
        bytes: 0,
        budget,
        deadline,
        limits,
    };

    // The manifest first: it says what every other entry must be.
    let manifest_index = zip
        .index_for_name(MANIFEST_NAME)
        .ok_or_else(|| InspectError::NoManifest(shown.clone()))?;
    let (listing, manifest) = read_manifest(&mut zip, manifest_index, limits, &mut spent)
        .map_err(|e| e.into_error(&shown))?;
    let listed: HashMap<&str, usize> = listing
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();

    let mut v = Verification::default();
    let mut dups: Vec<String> = dup_names.iter().cloned().collect();
    dups.sort();
    v.duplicates = dups;
    // name -> (size, sha256) of every entry read.
    let mut seen: HashMap<String, (u64, String)> = HashMap::new();
    let mut texts = Texts::new();
    let mut text_total = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    if zip.len() > limits.max_entries {
        v.skipped = zip.len() - limits.max_entries;
        v.skipped_reason = Some(format!(
            "only the first {} entries are checked",
            limits.max_entries
        ));
    }
    // The manifest is one of the entries checked.
    let mut left = limits.max_entries.saturating_sub(1);
    for i in 0..zip.len() {
        if i == manifest_index {
            continue;
        }
        if left == 0 {
            break;
        }
        left -= 1;
        let (raw_name, is_dir, decoded, kind, declared) = {
            let e = zip
                .by_index_data(i)
                .map_err(|e| InspectError::NotZip(shown.clone(), e.to_string()))?;
            (
                String::from_utf8_lossy(e.name_raw()).into_owned(),
                e.is_dir(),
                e.name().ok().map(|n| n.into_owned()),
                unix_type(e.external_attributes()),
                e.size(),
            )
        };
        if dup_names.contains(&raw_name) {
            continue;
        }
        let check_name = if is_dir {
            raw_name.trim_end_matches('/')
        } else {
            raw_name.as_str()
        };
        if EntryName::new(check_name).is_err()
            || decoded.as_deref() != Some(raw_name.as_str())
            || !is_terminal_safe(&raw_name)
        {
            v.unsafe_names.push(raw_name);
            continue;
        }
        if is_dir || kind == 0o040000 {
            v.directories.push(raw_name);
            continue;
        }
        if kind != 0 && kind != 0o100000 {
            v.not_regular.push(raw_name);
            continue;
        }
        let listed_size = listed
            .get(raw_name.as_str())
            .map(|&k| listing.files[k].size);
        let stop_at = listed_size.unwrap_or(u64::MAX).min(limits.max_entry_bytes);
        let mut keep_text = analysis_input(&raw_name);
        let mut text = Vec::new();
        if keep_text {
            let room = limits
                .max_text_entry
                .min(limits.max_text_total.saturating_sub(text_total));
            if declared > room {
                keep_text = false;
            } else {
                text.reserve(declared as usize);
            }
        }
        let mut entry = zip
            .by_index(i)
            .map_err(|e| InspectError::NotZip(shown.clone(), e.to_string()))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut broken = false;
        let mut limited = (&mut entry).take(stop_at.saturating_add(1));
        loop {
            match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    spent
                        .add(n as u64)
                        .map_err(|why| InspectError::Budget(shown.clone(), why))?;
                    hasher.update(&buf[..n]);
                    size += n as u64;
                    if keep_text {
                        if size > limits.max_text_entry || text_total + size > limits.max_text_total
                        {
                            keep_text = false;
                            text = Vec::new();
                        } else {
                            text.extend_from_slice(&buf[..n]);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        drop(entry);
        if size > stop_at {
            if stop_at == limits.max_entry_bytes {
                v.oversized.push(raw_name);
            } else {
                // Longer than the manifest says: altered, and not read further.
                v.altered.push(raw_name);
            }
            continue;
        }
        if broken {
            v.altered.push(raw_name);
            continue;
        }
        if keep_text {
            text_total += size;
            let t = String::from_utf8(text)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            texts.insert(raw_name.clone(), t);
        } else if analysis_input(&raw_name) {
            v.not_analysed.push(raw_name.clone());
        }
        seen.insert(raw_name, (size, hex::encode(hasher.finalize())));
    }
    v.entries = seen.len() + 1;

    let present: HashSet<&[u8]> = zip.file_names_raw().collect();
    for f in &listing.files {
        if dup_names.contains(&f.path) {
            continue;
        }
        match seen.get(&f.path) {
            Some((size, sha)) if *size != f.size || *sha != f.sha256 => {
                v.altered.push(f.path.clone())
            }
            Some(_) => {}
            None if !present.contains(f.path.as_bytes()) => v.missing.push(f.path.clone()),
            None => {}
        }
    }
    for name in seen.keys() {
        if !listed.contains_key(name.as_str()) {
            v.extra.push(name.clone());
        }
    }
    v.extra.sort();
    v.extra.dedup();
    v.altered.sort();
    v.altered.dedup();
    v.missing.sort();
    v.not_analysed.sort();
    v.conclude();
    drop(listed);

    // The analysis reads what it can: the manifest's collector records when the manifest is
    // this version's shape, every entry that reads as its type.
    let mut bundle = Bundle::from_texts(&texts);
    drop(texts);
    let manifest = match manifest {
        Ok(m) => Some(m),
        Err(error) => {
            bundle.unreadable.insert(
                0,
                Unreadable {
                    entry: MANIFEST_NAME.into(),
                    error,
                },
            );
            None
        }
    };
    for u in &mut bundle.unreadable {
        u.error = short_reason(&u.error);
    }
    let findings = analyze::analyze(
        &Model {
            bundle: &bundle,
            collectors: manifest.as_ref().map_or(&[], |m| m.collectors.as_slice()),
        },
        lang,
    );
    Ok(Inspected {
        verification: v,
        manifest,
        bundle,
        findings,
    })
}

/// Decompressed bytes and time spent so far, against their budgets.
struct Spent<'a> {
    bytes: u64,
    budget: u64,
    deadline: Instant,
    limits: &'a Limits,
}

impl Spent<'_> {
    fn add(&mut self, n: u64) -> Result<(), String> {
        self.bytes += n;
        if self.bytes > self.budget {
            return Err(format!(
                "more than {} MiB decompressed in total (the larger of {} MiB and {}x the zip's size)",
                self.budget / MIB,
                self.limits.budget_floor / MIB,
                self.limits.budget_ratio
            ));
        }
        if Instant::now() > self.deadline {
            return Err("the inspection ran past its time budget".into());
        }
        Ok(())
    }
}

enum ManifestError {
    Bad(String),
    Refused(String),
    Budget(String),
}

impl ManifestError {
    fn into_error(self, shown: &str) -> InspectError {
        match self {
            ManifestError::Bad(m) => InspectError::BadManifest(shown.to_string(), m),
            ManifestError::Refused(m) => InspectError::Refused(shown.to_string(), m),
            ManifestError::Budget(m) => InspectError::Budget(shown.to_string(), m),
        }
    }
}

/// What verification needs from `manifest.json`, read leniently: any other member, and any
/// other member of a file record, is ignored, so a manifest of another schema version (renamed
/// or added members) still says what every entry must be.
#[derive(Deserialize)]
struct Listing {
    files: Vec<Listed>,
}

/// One entry as the manifest lists it.
#[derive(Deserialize)]
struct Listed {
    path: String,
    size: u64,
    sha256: String,
}

/// serde's message without its position ("at line 1 column 52"), which means nothing to
/// someone reading the inspection.
fn short_reason(error: &str) -> String {
    match error.rfind(" at line ") {
        Some(at) if error[at..].contains(" column ") => error[..at].to_string(),
        _ => error.to_string(),
    }
}

/// Read `manifest.json` within the caps: its listing (an error when even that cannot be read:
/// nothing could be verified), and the typed manifest, or why it is not this version's shape.
fn read_manifest(
    zip: &mut zip::ZipArchive<File>,
    index: usize,
    limits: &Limits,
    spent: &mut Spent<'_>,
) -> Result<(Listing, Result<Manifest, String>), ManifestError> {
    {
        let e = zip
            .by_index_data(index)
            .map_err(|e| ManifestError::Bad(e.to_string()))?;
        let kind = unix_type(e.external_attributes());
        if kind != 0 && kind != 0o100000 {
            return Err(ManifestError::Refused(
                "manifest.json is a symlink or special file".into(),
            ));
        }
    }
    let mut entry = zip
        .by_index(index)
        .map_err(|e| ManifestError::Bad(e.to_string()))?;
    let cap = limits.max_manifest_bytes;
    let mut bytes = Vec::with_capacity(entry.size().min(cap) as usize);
    let mut buf = vec![0u8; 64 * 1024];
    let mut limited = (&mut entry).take(cap + 1);
    loop {
        match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                spent.add(n as u64).map_err(ManifestError::Budget)?;
                if bytes.len() as u64 + n as u64 > cap {
                    return Err(ManifestError::Bad(format!(
                        "larger than {} MiB (a genuine manifest is a few KiB)",
                        cap / MIB
                    )));
                }
                bytes.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ManifestError::Bad(format!("cannot inflate it: {e}"))),
        }
    }
    let values = json_value_count(&bytes);
    if values > limits.max_manifest_values {
        return Err(ManifestError::Bad(format!(
            "more than {} JSON values",
            limits.max_manifest_values
        )));
    }
    let listing: Listing =
        serde_json::from_slice(&bytes).map_err(|e| ManifestError::Bad(e.to_string()))?;
    if listing.files.len() > limits.max_manifest_records {
        return Err(ManifestError::Bad(format!(
            "{} file records, more than {}",
            listing.files.len(),
            limits.max_manifest_records
        )));
    }
    let manifest = serde_json::from_slice::<Manifest>(&bytes).map_err(|e| e.to_string());
    Ok((listing, manifest))
}

/// An upper bound on the number of values and keys in a JSON text (each needs a `,`, `:`, `[`
/// or `{` before it, or is the first value), counted without parsing so that a small document
/// of many empty values cannot make the parser allocate far more than its size.
fn json_value_count(json: &[u8]) -> usize {
    let mut count = 1;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b':' | b'[' | b'{' => count += 1,
                _ => {}
            }
        }
    }
    count
}

enum CdError {
    Malformed(String),
    TooLarge(String),
}

fn u16_at(b: &[u8], at: usize) -> u64 {
    u16::from_le_bytes([b[at], b[at + 1]]) as u64
}
fn u32_at(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) as u64
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn read_at(file: &mut File, at: u64, len: usize) -> Result<Vec<u8>, CdError> {
    let mut v = vec![0u8; len];
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(&mut v))
        .map_err(|e| CdError::Malformed(e.to_string()))?;
    Ok(v)
}

/// The raw name of every central-directory record, in order, read without the zip crate (which
/// keeps one entry per name), after checking the directory's declared size and entry count.
fn central_directory_names(
    file: &mut File,
    len: u64,
    limits: &Limits,
) -> Result<Vec<Vec<u8>>, CdError> {
    let bad = |m: &str| CdError::Malformed(m.to_string());
    let tail_len = len.min(22 + 65_535) as usize;
    if tail_len < 22 {
        return Err(bad("too short for an end of central directory record"));
    }
    let tail_at = len - tail_len as u64;
    let tail = read_at(file, tail_at, tail_len)?;
    let eocd = (0..=tail_len - 22)
        .rev()
        .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .ok_or_else(|| bad("no end of central directory record"))?;
    let (mut entries, mut cd_size, mut cd_offset) = (
        u16_at(&tail, eocd + 10),
        u32_at(&tail, eocd + 12),
        u32_at(&tail, eocd + 16),
    );
    if entries == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        let loc_at = (tail_at + eocd as u64)
            .checked_sub(20)
            .ok_or_else(|| bad("no zip64 locator"))?;
        let loc = read_at(file, loc_at, 20)?;
        if loc[..4] != [0x50, 0x4b, 0x06, 0x07] {
            return Err(bad("no zip64 locator"));
        }
        let rec_at = u64_at(&loc, 8);
        if rec_at.saturating_add(56) > len {
            return Err(bad("zip64 end record out of range"));
        }
        let rec = read_at(file, rec_at, 56)?;
        if rec[..4] != [0x50, 0x4b, 0x06, 0x06] {
            return Err(bad("no zip64 end of central directory record"));
        }
        entries = u64_at(&rec, 32);
        cd_size = u64_at(&rec, 40);
        cd_offset = u64_at(&rec, 48);
    }
    if entries > limits.max_cd_entries {
        return Err(CdError::TooLarge(format!(
            "the central directory lists {entries} entries, more than {}",
            limits.max_cd_entries
        )));
    }
    if cd_size > limits.max_cd_bytes {
        return Err(CdError::TooLarge(format!(
            "the central directory is {cd_size} bytes, more than {} MiB",
            limits.max_cd_bytes / MIB
        )));
    }
    if cd_offset.saturating_add(cd_size) > len {
        return Err(bad("central directory out of range"));
    }
    let cd = read_at(file, cd_offset, cd_size as usize)?;
    let mut names = Vec::with_capacity(entries as usize);
    let mut at = 0usize;
    while at + 46 <= cd.len() && cd[at..at + 4] == [0x50, 0x4b, 0x01, 0x02] {
        let n = u16_at(&cd, at + 28) as usize;
        let m = u16_at(&cd, at + 30) as usize;
        let k = u16_at(&cd, at + 32) as usize;
        let end = at + 46 + n + m + k;
        if end > cd.len() {
            return Err(bad("central directory record out of range"));
        }
        names.push(cd[at + 46..at + 46 + n].to_vec());
        at = end;
        if names.len() as u64 > limits.max_cd_entries {
            return Err(CdError::TooLarge(format!(
                "the central directory holds more than {} entries",
                limits.max_cd_entries
            )));
        }
    }
    if names.len() as u64 != entries {
        return Err(bad(
            "the central directory does not hold the entries it declares",
        ));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_value_count_ignores_strings() {
        assert_eq!(json_value_count(br#"{"a,b:[{":1}"#), 3);
        assert_eq!(json_value_count(br#"["","",""]"#), 4);
        assert_eq!(json_value_count(br#""\",""#), 1);
    }

    #[test]
    fn unix_types() {
        assert_eq!(unix_type(0o120777 << 16), 0o120000);
        assert_eq!(unix_type(0o100600 << 16), 0o100000);
        assert_eq!(unix_type(0x20), 0);
    }

    /// A bundle with a stored (random) and deflated entries verifies: both kinds are read
    /// back and hashed.
    #[test]
    fn inspect_verifies_stored_and_deflated_entries() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _, _, _) = crate::bundle::tests::mixed_bundle(dir.path());
        let got = crate::inspect::inspect(&path, 64 << 20, crate::vocab::Lang::En).unwrap();
        let v = &got.verification;
        assert!(
            v.verified && v.entries == 4 && v.altered.is_empty(),
            "{}",
            serde_json::to_string(v).unwrap()
        );
    }
}
