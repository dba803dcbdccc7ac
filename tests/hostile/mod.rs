//! Hostile bundles for `entra-collect inspect`, built in memory: with the `zip` crate where it
//! agrees to write them, by hand (local headers, central directory, end record) where it
//! refuses (duplicate names, overlapping entries, a directory entry with data).
//! Shared by tests/inspect_cli.rs and examples/hostile_zips.rs (the RSS / time script).
#![allow(dead_code)]

use std::io::{Cursor, Read, Write};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

/// One entry for [`raw_zip`]: compressed bytes, CRC and sizes as the zip crate produced them.
#[derive(Clone)]
pub struct Raw {
    pub name: Vec<u8>,
    pub method: u16,
    pub data: std::sync::Arc<Vec<u8>>,
    pub crc: u32,
    pub size: u64,
    /// Unix mode in the high 16 bits (version made by: Unix).
    pub mode: u32,
}

/// Deflate `data` with the zip crate and take the raw stream back out.
pub fn deflated(name: &str, data: &[u8]) -> Raw {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("x", opts).unwrap();
    w.write_all(data).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut e = z.by_index_raw(0).unwrap();
    let (crc, size) = (e.crc32(), e.size());
    let mut comp = Vec::new();
    e.read_to_end(&mut comp).unwrap();
    Raw {
        name: name.as_bytes().to_vec(),
        method: 8,
        data: std::sync::Arc::new(comp),
        crc,
        size,
        mode: 0o100600,
    }
}

impl Raw {
    pub fn named(&self, name: &str) -> Raw {
        Raw {
            name: name.as_bytes().to_vec(),
            ..self.clone()
        }
    }
}

/// A zip written by hand. With `shared`, only the first entry's local header and data are
/// written and every central-directory record points at it (overlapping entries).
pub fn raw_zip(entries: &[Raw], shared: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if shared && i > 0 {
            offsets.push(0u32);
            continue;
        }
        offsets.push(out.len() as u32);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]); // time, date (1980-01-01)
        out.extend_from_slice(&e.crc.to_le_bytes());
        out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(e.size as u32).to_le_bytes());
        out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.data);
    }
    let cd_start = out.len() as u32;
    for (e, off) in entries.iter().zip(&offsets) {
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&(0x0300u16 | 20).to_le_bytes()); // made by Unix
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&0x0800u16.to_le_bytes());
        out.extend_from_slice(&e.method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]);
        out.extend_from_slice(&e.crc.to_le_bytes());
        out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(e.size as u32).to_le_bytes());
        out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        out.extend_from_slice(&(e.mode << 16).to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&e.name);
    }
    let cd_len = out.len() as u32 - cd_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let n = entries.len().min(0xffff) as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A manifest (schema 1) listing `files` as (path, size, sha256).
pub fn manifest(files: &[(String, u64, String)], hostname: &str) -> Vec<u8> {
    let files: Vec<_> = files
        .iter()
        .map(|(p, size, sha)| {
            serde_json::json!({"path": p, "size": size, "sha256": sha, "redacted": true})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schema_version": 1,
        "tool": {"name": "entra-collect", "version": "0.1.0"},
        "created_at": "2026-11-25T06:07:08.000Z",
        "finished_at": "2026-11-25T06:07:09.000Z",
        "status": "complete",
        "host": {"hostname": hostname, "os": "linux", "os_version": "1", "kernel": "6",
                 "arch": "x86_64", "platform": "linux"},
        "invocation": {"args": [], "timeout_secs": 60},
        "collectors": [],
        "files": files,
    }))
    .unwrap()
}

pub fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A small self-consistent bundle: these entries, then a manifest listing them.
pub fn bundle_entries(files: &[(&str, &[u8])]) -> (Vec<Raw>, Vec<(String, u64, String)>) {
    let raws = files.iter().map(|(n, d)| deflated(n, d)).collect();
    let listed = files
        .iter()
        .map(|(n, d)| (n.to_string(), d.len() as u64, sha(d)))
        .collect();
    (raws, listed)
}

const SUMMARY: &[u8] = b"# entra-collect summary\n";
const FINDINGS: &[u8] = b"{\"findings\": []}";

/// I02: 16 listed entries of 250 MiB of zeros each, every sha256 right (a ~4 MB zip).
pub fn i02_sixteen_bombs() -> Vec<u8> {
    let zeros = vec![0u8; 250 << 20];
    let bomb = deflated("x", &zeros);
    let digest = sha(&zeros);
    drop(zeros);
    let mut entries = Vec::new();
    let mut listed = Vec::new();
    for i in 0..16 {
        let name = format!("debug/bomb-{i:02}.log");
        entries.push(bomb.named(&name));
        listed.push((name, 250 << 20, digest.clone()));
    }
    entries.push(deflated("manifest.json", &manifest(&listed, "h")));
    raw_zip(&entries, false)
}

/// I03: one deflate stream of 250 MiB of zeros referenced by 24 central-directory entries.
pub fn i03_shared_stream() -> Vec<u8> {
    let zeros = vec![0u8; 250 << 20];
    let bomb = deflated("x", &zeros);
    let digest = sha(&zeros);
    drop(zeros);
    // The manifest first, so the shared stream's header is at offset 0 for every record.
    let names: Vec<String> = (0..24).map(|i| format!("debug/b{i:02}.log")).collect();
    let listed: Vec<_> = names
        .iter()
        .map(|n| (n.clone(), 250u64 << 20, digest.clone()))
        .collect();
    let m = deflated("manifest.json", &manifest(&listed, "h"));
    let mut entries: Vec<Raw> = names.iter().map(|n| bomb.named(n)).collect();
    entries.push(m);
    let own = entries.len() - 1;
    with_shared_and_own(&entries, own)
}

/// Entries 0..own share the first local header; entry `own` (the manifest) has its own.
fn with_shared_and_own(entries: &[Raw], own: usize) -> Vec<u8> {
    let shared = raw_zip(&entries[..own], true);
    // Cut the shared zip before its central directory, add the own entry, rebuild the directory.
    let cd_start = u32::from_le_bytes(
        shared[shared.len() - 6..shared.len() - 2]
            .try_into()
            .unwrap(),
    );
    let mut body = shared[..cd_start as usize].to_vec();
    let own_zip = raw_zip(&entries[own..=own], false);
    let own_cd = u32::from_le_bytes(
        own_zip[own_zip.len() - 6..own_zip.len() - 2]
            .try_into()
            .unwrap(),
    );
    let own_off = body.len() as u32;
    body.extend_from_slice(&own_zip[..own_cd as usize]);
    let cd_at = body.len() as u32;
    body.extend_from_slice(&shared[cd_start as usize..shared.len() - 22]);
    let mut own_rec = own_zip[own_cd as usize..own_zip.len() - 22].to_vec();
    own_rec[42..46].copy_from_slice(&own_off.to_le_bytes());
    body.extend_from_slice(&own_rec);
    let cd_len = body.len() as u32 - cd_at;
    let n = entries.len().min(0xffff) as u16;
    body.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    body.extend_from_slice(&[0; 4]);
    body.extend_from_slice(&n.to_le_bytes());
    body.extend_from_slice(&n.to_le_bytes());
    body.extend_from_slice(&cd_len.to_le_bytes());
    body.extend_from_slice(&cd_at.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body
}

/// I03c: 10,000 `trace/` entries over one 8 MiB deflate stream.
pub fn i03c_overlapping_traces() -> Vec<u8> {
    let zeros = vec![0u8; 8 << 20];
    let one = deflated("x", &zeros);
    let digest = sha(&zeros);
    let names: Vec<String> = (0..10_000).map(|i| format!("trace/t{i:05}.pcap")).collect();
    let listed: Vec<_> = names
        .iter()
        .map(|n| (n.clone(), 8u64 << 20, digest.clone()))
        .collect();
    let mut entries: Vec<Raw> = names.iter().map(|n| one.named(n)).collect();
    entries.push(deflated("manifest.json", &manifest(&listed, "h")));
    let own = entries.len() - 1;
    with_shared_and_own(&entries, own)
}

/// I09: a manifest of `records` file records (1.5 M in the attack: a 5.4 MB zip).
pub fn i09_huge_manifest(records: usize) -> Vec<u8> {
    let empty = sha(b"");
    let listed: Vec<_> = (0..records)
        .map(|i| (format!("trace/x{i}"), 0u64, empty.clone()))
        .collect();
    let m = manifest(&listed, "h");
    drop(listed);
    raw_zip(&[deflated("manifest.json", &m)], false)
}

/// I09, within the caps: `records` listed empty entries that are all present.
pub fn i09_many_records(records: usize) -> Vec<u8> {
    let empty = sha(b"");
    let e = deflated("x", b"");
    let names: Vec<String> = (0..records).map(|i| format!("f/{i:06}")).collect();
    let listed: Vec<_> = names
        .iter()
        .map(|n| (n.clone(), 0u64, empty.clone()))
        .collect();
    let mut entries: Vec<Raw> = names.iter().map(|n| e.named(n)).collect();
    entries.push(deflated("manifest.json", &manifest(&listed, "h")));
    raw_zip(&entries, false)
}

/// I06: a hostile `summary.md` first, the listed one second.
pub fn i06_duplicate_summary() -> Vec<u8> {
    let (mut entries, listed) =
        bundle_entries(&[("summary.md", SUMMARY), ("findings.json", FINDINGS)]);
    entries.insert(0, deflated("summary.md", b"# All good, nothing to see\n"));
    entries.push(deflated("manifest.json", &manifest(&listed, "h")));
    raw_zip(&entries, false)
}

/// I06b: two manifests, the hostile one first.
pub fn i06b_duplicate_manifest() -> Vec<u8> {
    let (mut entries, listed) = bundle_entries(&[("summary.md", SUMMARY)]);
    entries.insert(0, deflated("manifest.json", &manifest(&[], "evil")));
    entries.push(deflated("manifest.json", &manifest(&listed, "h")));
    raw_zip(&entries, false)
}

/// I07: a directory entry carrying 42 KB of data.
pub fn i07_directory_with_data() -> Vec<u8> {
    let (mut entries, listed) = bundle_entries(&[("summary.md", SUMMARY)]);
    let mut d = deflated("debug/", &vec![b'A'; 42_000]);
    d.mode = 0o040755;
    entries.push(d);
    entries.push(deflated("manifest.json", &manifest(&listed, "h")));
    raw_zip(&entries, false)
}

/// I07b: a `../../evil/` directory entry.
pub fn i07b_climbing_directory() -> Vec<u8> {
    let (mut entries, listed) = bundle_entries(&[("summary.md", SUMMARY)]);
    let mut d = deflated("../../evil/", b"");
    d.mode = 0o040755;
    entries.push(d);
    entries.push(deflated("manifest.json", &manifest(&listed, "h")));
    raw_zip(&entries, false)
}

/// I11: 9,999 listed entries and the manifest (10,000 checked), then an unlisted 10,001st.
pub fn i11_unlisted_past_the_cap() -> Vec<u8> {
    let mut z = i09_many_records(9_999);
    let mut a = zip::ZipWriter::new_append(Cursor::new(&mut z)).unwrap();
    a.start_file("zz-unlisted.txt", SimpleFileOptions::default())
        .unwrap();
    a.write_all(b"never checked").unwrap();
    a.finish().unwrap();
    z
}

/// I05: `summary.md` as a symlink to /etc/passwd (S_IFLNK in the external attributes), listed
/// with the sha256 of its target text.
pub fn i05_symlink() -> Vec<u8> {
    let target = b"/etc/passwd";
    let (mut entries, listed) = bundle_entries(&[("summary.md", target)]);
    entries[0].mode = 0o120777;
    entries.push(deflated("manifest.json", &manifest(&listed, "h")));
    raw_zip(&entries, false)
}

/// I08b: escape sequences and bidi controls in a manifest field and in entry names.
pub const I08_HOST: &str =
    "pc\u{1b}[2J\u{1b}[H\nVerified: all 3 entries match the manifest (sha256 and size).\u{1b}[8m";
pub fn i08b_escapes() -> Vec<u8> {
    let (mut entries, listed) = bundle_entries(&[("summary.md", SUMMARY)]);
    entries.push(deflated("debug/\u{1b}[2Jx\u{202e}gol.txt", b"x"));
    entries.push(deflated("notes\u{9b}8m.txt", b"y"));
    entries.push(deflated("manifest.json", &manifest(&listed, I08_HOST)));
    raw_zip(&entries, false)
}

/// Builds one hostile zip.
pub type Build = fn() -> Vec<u8>;

/// Every hostile zip, by the attacker-test id.
pub fn all() -> Vec<(&'static str, Build)> {
    vec![
        ("I02", i02_sixteen_bombs),
        ("I03", i03_shared_stream),
        ("I03c", i03c_overlapping_traces),
        ("I09", || i09_huge_manifest(1_500_000)),
        ("I09-100k", || i09_many_records(9_999)),
        ("I06", i06_duplicate_summary),
        ("I06b", i06b_duplicate_manifest),
        ("I07", i07_directory_with_data),
        ("I07b", i07b_climbing_directory),
        ("I11", i11_unlisted_past_the_cap),
        ("I05", i05_symlink),
        ("I08b", i08b_escapes),
    ]
}
