//! The bundle: one zip written atomically.
//!
//! The writer opens a private temporary file beside the final name, streams each entry into the
//! zip while hashing it (so a multi-GB trace never sits in memory), and at the end renames the
//! temporary file to `entra-collect-<host>-<UTC yyyymmddThhmmssZ>.zip` without ever overwriting
//! an existing file (an atomic no-clobber rename, else a hard link, else an exclusively created
//! placeholder that the rename then replaces). The temporary file is registered with
//! [`crate::fsutil::register`], so it is removed on every way out that does not place it: an
//! error (a full disk included), a panic, a second Ctrl-C. Text entries are accepted only as [`Redacted`]; binary captures must be
//! declared unredacted and are recorded so in the manifest.
//!
//! Each entry is stored or deflated as its first MiB suggests ([`choose_compression`]): packet
//! captures are mostly TLS and do not compress, and deflating them anyway ran at ~45 MB/s, while
//! storing runs at disk speed. Both methods open in Windows Explorer and `Expand-Archive`.

pub mod manifest;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::redact::Redacted;
pub use manifest::{Compression, FileRecord, Manifest};

/// How many leading bytes of an entry are compressed to choose its method.
pub const SAMPLE_BYTES: usize = 1 << 20;

/// A sample that deflates (level 1) to more than this fraction of its size is stored instead:
/// the few per cent saved are not worth compressing gigabytes at a fraction of disk speed.
pub const STORE_ABOVE_RATIO: f64 = 0.9;

/// The name of the manifest entry; the only entry the manifest does not list.
pub const MANIFEST_NAME: &str = crate::model::names::MANIFEST;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("output directory {0} does not exist or is not a directory")]
    NoDir(PathBuf),
    #[error("cannot create a file in {dir}: {source}")]
    Create {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid entry name {0:?}")]
    BadName(String),
    #[error("duplicate entry name {0:?}")]
    Duplicate(String),
    #[error("writing the bundle failed: {0}")]
    Write(#[from] io::Error),
    #[error("writing the zip failed: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// A validated entry name: relative, forward slashes, no empty, `.` or `..` segments.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EntryName(String);

impl EntryName {
    pub fn new(name: &str) -> Result<Self, BundleError> {
        let ok = !name.is_empty()
            && !name.starts_with('/')
            && !name.contains('\\')
            && !name.contains(':')
            && !name.contains('\0')
            && name
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
        if ok {
            Ok(EntryName(name.to_string()))
        } else {
            Err(BundleError::BadName(name.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `entra-collect-<host>-<yyyymmddThhmmssZ>.zip`, with the host reduced to safe characters.
pub fn bundle_file_name(host: &str, at: chrono::DateTime<chrono::Utc>, suffix: u32) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    let host = if host.is_empty() {
        "host".to_string()
    } else {
        host
    };
    let ts = at.format("%Y%m%dT%H%M%SZ");
    if suffix == 0 {
        format!("entra-collect-{host}-{ts}.zip")
    } else {
        format!("entra-collect-{host}-{ts}-{suffix}.zip")
    }
}

/// How the finished bundle is moved to its final name. [`PlaceMethod::Native`] falls back to
/// the next one where the file system does not support it; tests force each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceMethod {
    /// `renameat2(RENAME_NOREPLACE)` on Linux, `MoveFileExW` without
    /// `MOVEFILE_REPLACE_EXISTING` on Windows.
    Native,
    /// `link` then remove the temporary name (fails if the name exists).
    Link,
    /// Reserve the name with an exclusively created empty file, then rename over our own
    /// placeholder (FAT, some SMB shares: no link, no no-replace rename).
    Placeholder,
}

/// Called with each candidate name right before the move is tried (tests: simulate another
/// process creating the name at that moment).
pub type RaceHook = Box<dyn Fn(&Path) + Send>;

/// Streams entries into a temporary zip and renames it into place on [`BundleWriter::finish`].
/// Dropping an unplaced writer removes the temporary file (whatever failed, even the finish).
pub struct BundleWriter {
    dir: PathBuf,
    host: String,
    started: chrono::DateTime<chrono::Utc>,
    tmp_path: PathBuf,
    zip: Option<ZipWriter<Tracked<BufWriter<File>>>>,
    files: Vec<FileRecord>,
    placed: bool,
    method: PlaceMethod,
    race_hook: Option<RaceHook>,
}

impl BundleWriter {
    /// Create the temporary bundle file now, so an unwritable directory fails before any work.
    pub fn create(
        dir: &Path,
        host: &str,
        started: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, BundleError> {
        if !dir.is_dir() {
            return Err(BundleError::NoDir(dir.to_path_buf()));
        }
        let tmp_name = format!(
            ".{}.partial-{}",
            bundle_file_name(host, started, 0),
            std::process::id()
        );
        let tmp_path = dir.join(tmp_name);
        let file =
            crate::os::create_private_file(&tmp_path).map_err(|source| BundleError::Create {
                dir: dir.to_path_buf(),
                source,
            })?;
        crate::fsutil::register(&tmp_path);
        Ok(BundleWriter {
            dir: dir.to_path_buf(),
            host: host.to_string(),
            started,
            tmp_path,
            zip: Some(ZipWriter::new(Tracked::new(BufWriter::new(file)))),
            files: Vec::new(),
            placed: false,
            method: PlaceMethod::Native,
            race_hook: None,
        })
    }

    /// The temporary file's path (tests).
    #[cfg(test)]
    pub fn tmp_path(&self) -> &Path {
        &self.tmp_path
    }

    /// Test hook: start placing with `method` (instead of the native no-clobber rename), and
    /// call `race` with each candidate name right before the move.
    #[cfg(test)]
    pub fn force_place(&mut self, method: PlaceMethod, race: Option<RaceHook>) {
        self.method = method;
        self.race_hook = race;
    }

    /// The records of the entries written so far.
    pub fn files(&self) -> &[FileRecord] {
        &self.files
    }

    fn check_new(&self, name: &EntryName) -> Result<(), BundleError> {
        if name.as_str() == MANIFEST_NAME || self.files.iter().any(|f| f.path == name.as_str()) {
            return Err(BundleError::Duplicate(name.as_str().to_string()));
        }
        Ok(())
    }

    /// Add a redacted text entry.
    pub fn add_text(
        &mut self,
        name: &EntryName,
        text: &Redacted,
    ) -> Result<&FileRecord, BundleError> {
        self.check_new(name)?;
        let mut rec = self.stream(name, text.as_str().as_bytes(), false)?;
        rec.redacted = true;
        rec.redactions = text.counts().clone();
        self.files.push(rec);
        Ok(self.files.last().expect("just pushed"))
    }

    /// Stream a binary capture (e.g. a network trace) that cannot be redacted. It is recorded
    /// with `redacted: false`. At most `max_bytes` are stored; the record says if it was cut.
    pub fn add_unredacted_stream(
        &mut self,
        name: &EntryName,
        reader: impl Read,
        max_bytes: u64,
    ) -> Result<&FileRecord, BundleError> {
        self.check_new(name)?;
        let mut limited = reader.take(max_bytes);
        let mut rec = self.stream(name, &mut limited, true)?;
        let mut rest = limited.into_inner();
        let mut probe = [0u8; 1];
        rec.truncated = matches!(rest.read(&mut probe), Ok(n) if n > 0);
        self.files.push(rec);
        Ok(self.files.last().expect("just pushed"))
    }

    fn stream(
        &mut self,
        name: &EntryName,
        mut reader: impl Read,
        large: bool,
    ) -> Result<FileRecord, BundleError> {
        // The sample is buffered and then written first, never re-read: the reader may be a pipe.
        let mut sample = Vec::with_capacity(SAMPLE_BYTES.min(64 * 1024));
        (&mut reader)
            .take(SAMPLE_BYTES as u64)
            .read_to_end(&mut sample)?;
        let whole = sample.len() < SAMPLE_BYTES;
        let compression = choose_compression(&sample)?;
        let zip = self.zip.as_mut().expect("writer not finished");
        let (method, level) = match compression {
            Compression::Stored => (zip::CompressionMethod::Stored, None),
            // A small entry (all of it in the sample) gets the default level: it costs nothing.
            // A large one gets level 1, which keeps a compressible capture near disk speed.
            Compression::Deflated => (zip::CompressionMethod::Deflated, (!whole).then_some(1)),
        };
        let opts = SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(level)
            .large_file(large)
            .unix_permissions(0o600)
            .last_modified_time(zip_time(self.started));
        zip.start_file(name.as_str(), opts)?;
        let data_start = zip_position(zip)?;
        let mut hasher = Sha256::new();
        hasher.update(&sample);
        zip.write_all(&sample)?;
        let mut size = sample.len() as u64;
        drop(sample);
        if !whole {
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                hasher.update(&buf[..n]);
                zip.write_all(&buf[..n])?;
                size += n as u64;
            }
        }
        // Close the entry now (the zip crate does it lazily, at the next entry) so its compressed
        // size is known for the manifest: `hide_file` closes the current entry first, then finds
        // no entry named "" (entry names are never empty) and changes nothing else.
        match zip.hide_file("") {
            Err(zip::result::ZipError::FileNotFound) => {}
            Err(e) => return Err(e.into()),
            Ok(()) => unreachable!("an entry named \"\" cannot exist"),
        }
        let compressed_size = zip_position(zip)? - data_start;
        Ok(FileRecord {
            path: name.as_str().to_string(),
            size,
            sha256: hex::encode(hasher.finalize()),
            redacted: false,
            truncated: false,
            redactions: BTreeMap::new(),
            compression: Some(compression),
            compressed_size: Some(compressed_size),
        })
    }

    /// Write the manifest (already redacted, listing every other entry) and move the bundle to
    /// its final name. Returns the final path.
    pub fn finish(mut self, manifest: &Redacted) -> Result<PathBuf, BundleError> {
        let name = EntryName::new(MANIFEST_NAME)?;
        self.stream(&name, manifest.as_str().as_bytes(), false)?;
        let zip = self.zip.take().expect("writer not finished");
        let mut inner = zip.finish()?;
        inner.flush()?;
        let file = inner.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        let final_path = self.place()?;
        Ok(final_path)
    }

    /// Move into place without ever overwriting, race-free: every method fails atomically when
    /// the name exists, and the next suffix is tried. Runs with the cleanup registry held, so a
    /// second Ctrl-C sees the bundle either still partial (and removes it) or placed.
    fn place(&mut self) -> Result<PathBuf, BundleError> {
        let tmp = self.tmp_path.clone();
        let result = crate::fsutil::while_registry_held(|registry| {
            let mut method = self.method;
            for suffix in 0..1000 {
                let candidate = self
                    .dir
                    .join(bundle_file_name(&self.host, self.started, suffix));
                loop {
                    if let Some(hook) = &self.race_hook {
                        hook(&candidate);
                    }
                    match move_no_clobber(method, &tmp, &candidate) {
                        Ok(()) => {
                            registry.retain(|p| p != &tmp);
                            return Ok(candidate);
                        }
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => break,
                        Err(e) if unsupported(&e) && method != PlaceMethod::Placeholder => {
                            method = match method {
                                PlaceMethod::Native => PlaceMethod::Link,
                                _ => PlaceMethod::Placeholder,
                            };
                        }
                        Err(e) => return Err(BundleError::Write(e)),
                    }
                }
            }
            Err(BundleError::Write(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "too many bundles with the same name",
            )))
        });
        if result.is_ok() {
            self.placed = true;
        }
        result
    }
}

/// Could this error mean "this file system cannot do that" (rather than a real failure)?
fn unsupported(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::Unsupported {
        return true;
    }
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM | libc::EMLINK)
        )
    }
    #[cfg(not(unix))]
    {
        // ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED, ERROR_INVALID_PARAMETER
        matches!(e.raw_os_error(), Some(1 | 50 | 87))
    }
}

/// Move `from` to `to` unless `to` exists (then `AlreadyExists`, nothing changed).
fn move_no_clobber(method: PlaceMethod, from: &Path, to: &Path) -> io::Result<()> {
    match method {
        PlaceMethod::Native => rename_noreplace(from, to),
        PlaceMethod::Link => {
            std::fs::hard_link(from, to)?;
            let _ = std::fs::remove_file(from);
            Ok(())
        }
        PlaceMethod::Placeholder => {
            // The name is ours once this succeeds; the rename replaces only our own empty file.
            drop(crate::os::create_private_file(to)?);
            std::fs::rename(from, to).inspect_err(|_| {
                let _ = std::fs::remove_file(to);
            })
        }
    }
}

#[cfg(target_os = "linux")]
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let f = CString::new(from.as_os_str().as_bytes())?;
    let t = CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: two valid NUL-terminated paths; renameat2 reads them only.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(windows)]
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::{MOVEFILE_WRITE_THROUGH, MoveFileExW};
    let wide = |p: &Path| -> Vec<u16> { p.as_os_str().encode_wide().chain(Some(0)).collect() };
    let (f, t) = (wide(from), wide(to));
    // SAFETY: two valid NUL-terminated UTF-16 paths. Without MOVEFILE_REPLACE_EXISTING the
    // move fails (ERROR_ALREADY_EXISTS) when `to` exists.
    if unsafe { MoveFileExW(f.as_ptr(), t.as_ptr(), MOVEFILE_WRITE_THROUGH) } != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(any(target_os = "linux", windows)))]
fn rename_noreplace(_from: &Path, _to: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

impl Drop for BundleWriter {
    fn drop(&mut self) {
        // Closed first (Windows cannot remove an open file), then removed unless placed: a
        // failed finish (a full disk) leaves nothing behind either.
        self.zip = None;
        if !self.placed {
            let _ = std::fs::remove_file(&self.tmp_path);
            crate::fsutil::unregister(&self.tmp_path);
        }
    }
}

/// Store or deflate: deflate `sample` at level 1 and store when it stays above
/// [`STORE_ABOVE_RATIO`] of its size (an empty entry is stored).
pub fn choose_compression(sample: &[u8]) -> io::Result<Compression> {
    if sample.is_empty() {
        return Ok(Compression::Stored);
    }
    let mut enc = flate2::write::DeflateEncoder::new(Counter(0), flate2::Compression::fast());
    enc.write_all(sample)?;
    let compressed = enc.finish()?.0;
    Ok(
        if compressed as f64 > STORE_ABOVE_RATIO * sample.len() as f64 {
            Compression::Stored
        } else {
            Compression::Deflated
        },
    )
}

/// Counts the bytes written to it and drops them.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The zip's underlying writer, tracking its position so an entry's compressed size can be
/// measured (and so the zip crate's position queries do not flush the `BufWriter`).
struct Tracked<W> {
    inner: W,
    pos: u64,
}

impl<W> Tracked<W> {
    fn new(inner: W) -> Self {
        Tracked { inner, pos: 0 }
    }
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Seek> Seek for Tracked<W> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

/// Where the zip's underlying writer is (between entries, or after `start_file`: the entry's
/// data starts here).
fn zip_position<W: Write + Seek>(zip: &ZipWriter<Tracked<W>>) -> io::Result<u64> {
    zip.get_ref()
        .map(|t| t.pos)
        .ok_or_else(|| io::Error::other("the zip writer is closed"))
}

fn zip_time(t: chrono::DateTime<chrono::Utc>) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    zip::DateTime::from_date_and_time(
        t.year().clamp(1980, 2107) as u16,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
    .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::redact::Redactor;

    #[test]
    fn entry_names_are_validated() {
        for ok in ["a.json", "debug/az.log", "versions/az-version.txt"] {
            assert!(EntryName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/abs", "../x", "a/../b", "a//b", "c:\\x", "a\\b", "./a", "a/",
        ] {
            assert!(EntryName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_name_format() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-25T06:07:08Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            bundle_file_name("PC-01", t, 0),
            "entra-collect-PC-01-20261125T060708Z.zip"
        );
        assert_eq!(
            bundle_file_name("a.b c", t, 2),
            "entra-collect-a_b_c-20261125T060708Z-2.zip"
        );
    }

    #[test]
    fn never_overwrites_and_removes_temp_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let t = chrono::Utc::now();
        let red = Redactor::new();
        let p1 = BundleWriter::create(dir.path(), "h", t)
            .unwrap()
            .finish(&red.redact("{}"))
            .unwrap();
        let p2 = BundleWriter::create(dir.path(), "h", t)
            .unwrap()
            .finish(&red.redact("{}"))
            .unwrap();
        assert_ne!(p1, p2);
        assert!(p2.to_string_lossy().ends_with("-1.zip"));
        drop(BundleWriter::create(dir.path(), "h", t).unwrap());
        let n = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(n, 2, "temporary file left behind");
    }

    #[cfg(unix)]
    #[test]
    fn bundle_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = BundleWriter::create(dir.path(), "h", chrono::Utc::now())
            .unwrap()
            .finish(&Redactor::new().redact("{}"))
            .unwrap();
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    /// Each way of placing the bundle, with another process creating the chosen name at the
    /// last moment: the existing file is never overwritten (the old fallback, an existence check
    /// then a rename, overwrote it), the bundle takes the next name, no temporary file is left.
    #[test]
    fn every_place_method_is_no_clobber_even_when_racing() {
        for method in [
            PlaceMethod::Native,
            PlaceMethod::Link,
            PlaceMethod::Placeholder,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let t = chrono::Utc::now();
            let mut w = BundleWriter::create(dir.path(), "h", t).unwrap();
            let tmp = w.tmp_path().to_path_buf();
            assert!(crate::fsutil::registered().contains(&tmp));
            let first = dir.path().join(bundle_file_name("h", t, 0));
            let raced = first.clone();
            w.force_place(
                method,
                Some(Box::new(move |cand: &Path| {
                    if cand == raced && !raced.exists() {
                        std::fs::write(&raced, b"someone else's file").unwrap();
                    }
                })),
            );
            let p = w.finish(&Redactor::new().redact("{}")).unwrap();
            assert_eq!(
                std::fs::read(&first).unwrap(),
                b"someone else's file",
                "{method:?} overwrote an existing file"
            );
            assert!(p.to_string_lossy().ends_with("-1.zip"), "{method:?}: {p:?}");
            assert!(zip::ZipArchive::new(File::open(&p).unwrap()).is_ok());
            assert!(!tmp.exists(), "{method:?} left the temporary file");
            assert!(!crate::fsutil::registered().contains(&tmp));
        }
    }

    /// A finish that fails after the zip is complete (here: no free name is left; a full disk
    /// failing the final flush or fsync takes the same path, which the old Drop missed because
    /// the zip was already taken) leaves no `.partial` file behind.
    #[test]
    fn a_failed_finish_removes_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = chrono::Utc::now();
        for suffix in 0..1000 {
            File::create(dir.path().join(bundle_file_name("h", t, suffix))).unwrap();
        }
        let w = BundleWriter::create(dir.path(), "h", t).unwrap();
        let tmp = w.tmp_path().to_path_buf();
        assert!(w.finish(&Redactor::new().redact("{}")).is_err());
        assert!(!tmp.exists(), "partial bundle left behind");
        assert!(!crate::fsutil::registered().contains(&tmp));
    }

    #[test]
    fn unredacted_stream_is_capped_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BundleWriter::create(dir.path(), "h", chrono::Utc::now()).unwrap();
        let data = vec![7u8; 10_000];
        let rec = w
            .add_unredacted_stream(&EntryName::new("trace/x.pcap").unwrap(), &data[..], 4096)
            .unwrap()
            .clone();
        assert_eq!(rec.size, 4096);
        assert!(rec.truncated && !rec.redacted);
    }
    /// Deterministic bytes that do not deflate (a TLS capture's payload looks like this).
    fn random_bytes(len: usize) -> Vec<u8> {
        let mut x = 0x5EED_u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn log_text(len: usize) -> String {
        let mut s = String::new();
        let mut i = 0u64;
        while s.len() < len {
            s.push_str(&format!(
                "DEBUG msal.token: request {i} to login.microsoftonline.com took {} ms\n",
                i % 97
            ));
            i += 1;
        }
        s
    }

    /// A reader that hands out at most 1000 bytes per call, like a pipe: the sample must be
    /// assembled from several reads and then not read again.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1000).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn test_manifest(files: Vec<FileRecord>) -> Manifest {
        use crate::model::{Host, Invocation, RunStatus, Tool};
        Manifest {
            schema_version: manifest::SCHEMA_VERSION,
            tool: Tool {
                name: "entra-collect".into(),
                version: "0.1.0".into(),
            },
            created_at: "2026-11-25T06:00:00.000Z".into(),
            finished_at: "2026-11-25T06:00:01.000Z".into(),
            utc_offset: None,
            status: RunStatus::Complete,
            host: Host {
                hostname: "h".into(),
                os: "Linux".into(),
                os_version: "1".into(),
                kernel: "1".into(),
                arch: "x86_64".into(),
                platform: "linux".into(),
            },
            invocation: Invocation {
                args: vec![],
                timeout_secs: 60,
            },
            collectors: vec![],
            files,
        }
    }

    /// A bundle with a random capture (over one sample, through a pipe-like reader), a
    /// compressible capture and a text entry.
    pub(crate) fn mixed_bundle(dir: &Path) -> (PathBuf, Vec<FileRecord>, Vec<u8>, String) {
        let random = random_bytes(SAMPLE_BYTES + 300_000);
        let text = log_text(3 * SAMPLE_BYTES);
        let mut w = BundleWriter::create(dir, "h", chrono::Utc::now()).unwrap();
        w.add_unredacted_stream(
            &EntryName::new("trace/net.pcap").unwrap(),
            Trickle(&random),
            u64::MAX,
        )
        .unwrap();
        w.add_unredacted_stream(
            &EntryName::new("trace/net.log").unwrap(),
            Trickle(text.as_bytes()),
            u64::MAX,
        )
        .unwrap();
        let red = Redactor::new();
        w.add_text(
            &EntryName::new("summary.md").unwrap(),
            &red.redact(&text[..5000]),
        )
        .unwrap();
        let files = w.files().to_vec();
        let json = serde_json::to_string_pretty(&test_manifest(files.clone())).unwrap();
        let path = w.finish(&red.redact(&json)).unwrap();
        (path, files, random, text)
    }

    #[test]
    fn random_entries_are_stored_and_text_deflated() {
        let dir = tempfile::tempdir().unwrap();
        let (path, files, random, text) = mixed_bundle(dir.path());
        let mut z = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
        let expect = [
            ("trace/net.pcap", Compression::Stored, random.as_slice()),
            ("trace/net.log", Compression::Deflated, text.as_bytes()),
        ];
        for (name, method, data) in expect {
            let rec = files.iter().find(|f| f.path == name).unwrap();
            assert_eq!(rec.compression, Some(method), "{name}");
            assert_eq!(rec.size, data.len() as u64);
            assert_eq!(rec.sha256, hex::encode(Sha256::digest(data)));
            let mut e = z.by_name(name).unwrap();
            let zip_method = match method {
                Compression::Stored => zip::CompressionMethod::Stored,
                Compression::Deflated => zip::CompressionMethod::Deflated,
            };
            assert_eq!(e.compression(), zip_method, "{name}");
            assert_eq!(rec.compressed_size, Some(e.compressed_size()), "{name}");
            let mut back = Vec::new();
            e.read_to_end(&mut back).unwrap();
            assert!(back == data, "{name} differs after the round trip");
        }
        let pcap = files.iter().find(|f| f.path == "trace/net.pcap").unwrap();
        assert_eq!(pcap.compressed_size, Some(pcap.size));
        let log = files.iter().find(|f| f.path == "trace/net.log").unwrap();
        assert!(log.compressed_size.unwrap() * 4 < log.size, "{log:?}");
        let summary = files.iter().find(|f| f.path == "summary.md").unwrap();
        assert_eq!(summary.compression, Some(Compression::Deflated));
        assert_eq!(
            summary.compressed_size,
            Some(z.by_name("summary.md").unwrap().compressed_size())
        );
        // The manifest written into the zip carries the same records.
        let mut m = String::new();
        z.by_name(MANIFEST_NAME)
            .unwrap()
            .read_to_string(&mut m)
            .unwrap();
        let m: Manifest = serde_json::from_str(&m).unwrap();
        assert_eq!(m.files, files);
        let v: serde_json::Value = serde_json::to_value(&files[0]).unwrap();
        assert_eq!(v["compression"], "stored");
        assert_eq!(v["compressed_size"], random.len() as u64);
    }

    #[test]
    fn bundle_passes_unzip_test() {
        let Ok(unzip) = which::which("unzip") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "unzip is missing in CI (.ci/run installs it)"
            );
            eprintln!("SKIPPED bundle_passes_unzip_test: no unzip on PATH (install unzip)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let (path, _, _, _) = mixed_bundle(dir.path());
        let out = std::process::Command::new(unzip)
            .arg("-t")
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("No errors detected"), "{stdout}");
    }

    #[test]
    fn compression_choice_by_sample() {
        assert_eq!(choose_compression(b"").unwrap(), Compression::Stored);
        assert_eq!(choose_compression(b"{}").unwrap(), Compression::Stored);
        assert_eq!(
            choose_compression(&random_bytes(100_000)).unwrap(),
            Compression::Stored
        );
        assert_eq!(
            choose_compression(log_text(100_000).as_bytes()).unwrap(),
            Compression::Deflated
        );
    }
}
