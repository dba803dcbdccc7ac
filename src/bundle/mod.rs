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

pub mod manifest;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::redact::Redacted;
pub use manifest::{FileRecord, Manifest};

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
    zip: Option<ZipWriter<BufWriter<File>>>,
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
            zip: Some(ZipWriter::new(BufWriter::new(file))),
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
        let zip = self.zip.as_mut().expect("writer not finished");
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(large)
            .unix_permissions(0o600)
            .last_modified_time(zip_time(self.started));
        zip.start_file(name.as_str(), opts)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
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
        Ok(FileRecord {
            path: name.as_str().to_string(),
            size,
            sha256: hex::encode(hasher.finalize()),
            redacted: false,
            truncated: false,
            redactions: BTreeMap::new(),
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
        let file = inner.into_inner().map_err(|e| e.into_error())?;
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
mod tests {
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
}
