//! Careful file access: bounded reads of files the user names (CA bundles, OpenSSL and az
//! configuration, the az launcher), private per-user directories for the network trace, files
//! created without following symlinks, the registry of paths to remove on every exit path, and
//! writes to stdout / stderr that never panic on a closed pipe.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::vocab::Env;

/// A CA bundle: the largest real ones are a few hundred KiB.
pub const CA_BUNDLE_CAP: u64 = 32 << 20;
/// OPENSSL_CONF, az's `config`, `clouds.config`, `azureProfile.json` and other config files.
pub const CONFIG_CAP: u64 = 1 << 20;
/// Enough of the az launcher to find the Python it runs.
pub const LAUNCHER_CAP: u64 = 64 << 10;

/// What a bounded read got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped {
    /// At most the cap.
    pub data: Vec<u8>,
    /// The file's size when opened.
    pub size: u64,
    /// More bytes were there than the cap.
    pub truncated: bool,
}

impl Capped {
    /// "too large: N bytes, first M parsed" when the read was cut.
    pub fn note(&self) -> Option<String> {
        self.truncated.then(|| {
            format!(
                "too large: {} bytes, first {} parsed",
                self.size,
                self.data.len()
            )
        })
    }
    /// The data as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// What a file that is not a regular file is, for the reason recorded.
fn kind_of(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Open `path` for reading without blocking (a FIFO with no writer would block a plain open)
/// and require a regular file (checked on the open handle, so nothing can swap it in between).
/// With `follow_symlinks` false, a symlink as the last component is refused.
pub fn open_regular(path: &Path, follow_symlinks: bool) -> io::Result<(File, Metadata)> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
        if !follow_symlinks {
            flags |= libc::O_NOFOLLOW;
        }
        opts.custom_flags(flags);
    }
    #[cfg(not(unix))]
    {
        if !follow_symlinks
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link (not followed)",
            ));
        }
    }
    let file = opts.open(path).map_err(|e| {
        #[cfg(unix)]
        if !follow_symlinks && e.raw_os_error() == Some(libc::ELOOP) {
            return io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link (not followed)",
            );
        }
        e
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("is {}, not a regular file", kind_of(&meta)),
        ));
    }
    #[cfg(unix)]
    {
        // Back to blocking reads (O_NONBLOCK means nothing for a regular file, but be plain).
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor we own; failure only leaves O_NONBLOCK set.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            if fl >= 0 {
                libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
            }
        }
    }
    Ok((file, meta))
}

/// Read at most `cap` bytes of a regular file the user named (symlinks followed: CA bundles
/// are often links). FIFOs, devices and directories are refused without blocking.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Capped> {
    let (file, meta) = open_regular(path, true)?;
    read_capped_from(file, meta.len(), cap)
}

fn read_capped_from(file: File, size: u64, cap: u64) -> io::Result<Capped> {
    let mut data = Vec::with_capacity(size.min(cap) as usize);
    let mut limited = file.take(cap);
    limited.read_to_end(&mut data)?;
    let mut rest = limited.into_inner();
    let mut probe = [0u8; 1];
    let more = matches!(rest.read(&mut probe), Ok(n) if n > 0);
    Ok(Capped {
        size: size.max(data.len() as u64 + u64::from(more)),
        truncated: more || size > data.len() as u64,
        data,
    })
}

/// Read a small text file: Ok(None) when absent; `Err(reason)` when unreadable, not a regular
/// file; cut at `cap` (the caller decides whether a cut text is usable: see [`Capped::note`]).
pub fn read_text_capped(path: &Path, cap: u64) -> Result<Option<Capped>, String> {
    match read_capped(path, cap) {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Create a new file (mode 0600 on Unix; on Windows closed to other users, see
/// [`crate::os::create_private_file`]) without following a symlink at `path`; fails if anything
/// exists there.
pub fn create_new_nofollow(path: &Path) -> io::Result<File> {
    #[cfg(windows)]
    {
        // CREATE_NEW fails on any existing name, a reparse point included.
        crate::os::create_private_file(path)
    }
    #[cfg(not(windows))]
    {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
        }
        opts.open(path)
    }
}

/// Rewrite an existing regular file without following a symlink at `path`.
pub fn rewrite_nofollow(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK);
    }
    let mut f = opts.open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    f.set_len(0)?;
    f.write_all(data)
}

/// Overrides the per-user base directory (tests, unusual setups); it is used as given.
pub const STATE_DIR_ENV: &str = "ENTRA_COLLECT_STATE_DIR";

/// The per-user private directory for the trace's state file and working directories:
/// `$ENTRA_COLLECT_STATE_DIR` as given; else `$XDG_RUNTIME_DIR` when it is ours and 0700;
/// else `<temp>/entra-collect-<uid>`, created 0700 and refused unless it is a real directory
/// owned by us and closed to others. On Windows `%LOCALAPPDATA%\entra-collect`, created closed
/// to other users when absent (an existing one is used as it is: `%LOCALAPPDATA%` is in the
/// user's profile, which other users cannot enter).
pub fn user_dir(env: &Env) -> io::Result<PathBuf> {
    if let Some(d) = env.get(STATE_DIR_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    #[cfg(unix)]
    {
        if let Some(d) = env.get("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
            let d = PathBuf::from(d);
            if check_private_dir(&d).is_ok() {
                return Ok(d);
            }
        }
        let tmp = env
            .get("TMPDIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let d = tmp.join(format!("entra-collect-{uid}"));
        make_private_dir(&d)?;
        Ok(d)
    }
    #[cfg(not(unix))]
    {
        let base = env
            .get("LOCALAPPDATA")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let d = base.join("entra-collect");
        std::fs::create_dir_all(&base)?;
        match crate::os::create_private_dir(&d) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(d),
        }
    }
}

/// Create `dir` with mode 0700 if absent, then check it: see [`check_private_dir`].
#[cfg(unix)]
pub fn make_private_dir(dir: &Path) -> io::Result<()> {
    match crate::os::create_private_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_private_dir(dir)
}

/// A directory only we can use: not a symlink, owned by our effective uid, no group or other
/// permission bits.
#[cfg(unix)]
pub fn check_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(dir)?;
    let refuse = |why: String| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("refusing to use {}: {why}", dir.display()),
        ))
    };
    if m.file_type().is_symlink() {
        return refuse("it is a symbolic link".into());
    }
    if !m.is_dir() {
        return refuse("it is not a directory".into());
    }
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    if m.uid() != uid {
        return refuse(format!("it is owned by uid {}, not by us ({uid})", m.uid()));
    }
    if m.mode() & 0o077 != 0 {
        return refuse(format!(
            "its mode is {:o}, open to other users (expected 700)",
            m.mode() & 0o7777
        ));
    }
    Ok(())
}

/// A new directory with a random name inside `base`, kept (the caller removes it): mode 0700 on
/// Unix, on Windows closed to other users ([`crate::os::create_private_dir`]).
pub fn private_subdir(base: &Path, prefix: &str) -> io::Result<PathBuf> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix);
    #[cfg(windows)]
    {
        // tempfile picks the random names and retries on a clash; we create with the DACL.
        b.make_in(base, crate::os::create_private_dir)?
            .keep()
            .map(|(_, path)| path)
            .map_err(|e| e.error)
    }
    #[cfg(not(windows))]
    {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let d = b.tempdir_in(base)?.keep();
        #[cfg(unix)]
        if let Err(e) = check_private_dir(&d) {
            let _ = std::fs::remove_dir(&d);
            return Err(e);
        }
        Ok(d)
    }
}

// ---- the registry of paths to remove on every way out ----

static CLEANUP: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<PathBuf>> {
    CLEANUP.lock().unwrap_or_else(|e| e.into_inner())
}

/// Remove `path` (a file or a directory tree) if the process exits before [`unregister`].
pub fn register(path: &Path) {
    registry().push(path.to_path_buf());
}

/// `path` no longer needs removing (it was removed or moved into place).
pub fn unregister(path: &Path) {
    registry().retain(|p| p != path);
}

/// The paths registered now (tests).
#[cfg(test)]
pub fn registered() -> Vec<PathBuf> {
    registry().clone()
}

/// Run `f` while no exit handler can remove registered paths: a bundle being moved into
/// place is either still partial (and removed) or placed (and kept), never half of each.
pub fn while_registry_held<T>(f: impl FnOnce(&mut Vec<PathBuf>) -> T) -> T {
    let mut g = registry();
    f(&mut g)
}

fn remove_path(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

/// Remove every registered path, then hold the registry until the process exits (call right
/// before `exit`: nothing can register or place a bundle any more).
pub fn remove_all_and_exit(code: i32) -> ! {
    let mut g = registry();
    for p in g.drain(..) {
        remove_path(&p);
    }
    std::process::exit(code);
}

/// Remove every registered path (an error path out of the program).
pub fn remove_all() {
    let mut g = registry();
    for p in g.drain(..) {
        remove_path(&p);
    }
}

// ---- stdout / stderr that never panic ----

/// Was this error a closed pipe (the reader went away: `| head -c1`)?
pub fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Write `text` to stdout and flush; errors (a closed pipe) are returned, never a panic.
pub fn out(text: &str) -> io::Result<()> {
    let mut o = io::stdout().lock();
    o.write_all(text.as_bytes())?;
    o.flush()
}

/// Write one line to stderr; errors are ignored (there is nowhere left to report them).
pub fn err_line(text: &str) {
    let mut e = io::stderr().lock();
    let _ = e.write_all(text.as_bytes());
    let _ = e.write_all(b"\n");
}

// ---- sudo ----

/// Are we running as root (euid 0)? Always false off Unix.
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The user who ran us through sudo: (uid, gid, name), when SUDO_UID / SUDO_GID / SUDO_USER
/// are set and we run as root.
pub fn sudo_invoker(env: &Env) -> Option<(u32, u32, String)> {
    #[cfg(unix)]
    {
        if !is_root() {
            return None;
        }
        let uid = env.get("SUDO_UID")?.trim().parse().ok()?;
        let gid = env.get("SUDO_GID")?.trim().parse().ok()?;
        let user = env.get("SUDO_USER")?.to_string();
        if uid == 0 {
            return None;
        }
        Some((uid, gid, user))
    }
    #[cfg(not(unix))]
    {
        let _ = env;
        None
    }
}

/// Give `path` to `uid:gid` (the bundle to the user who ran sudo), not following a symlink.
pub fn give_to(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, uid, gid);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_file_is_read_whole() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a");
        std::fs::write(&p, b"hello").unwrap();
        let c = read_capped(&p, 1024).unwrap();
        assert_eq!(c.data, b"hello");
        assert!(!c.truncated && c.note().is_none());
    }

    #[test]
    fn large_file_is_cut_at_the_cap() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big");
        let f = File::create(&p).unwrap();
        f.set_len(3 << 30).unwrap();
        let t0 = std::time::Instant::now();
        let c = read_capped(&p, 4096).unwrap();
        assert!(t0.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(c.data.len(), 4096);
        assert_eq!(
            c.note().unwrap(),
            format!("too large: {} bytes, first 4096 parsed", 3u64 << 30)
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_fifos_and_directories_are_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let e = read_capped(&fifo, 10).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = read_capped(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let e = read_capped(d.path(), 10).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn nofollow_refuses_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("t");
        std::fs::write(&target, b"x").unwrap();
        let link = d.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(open_regular(&link, true).is_ok());
        let e = open_regular(&link, false).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(create_new_nofollow(&link).is_err());
        let dangling = d.path().join("dangling");
        std::os::unix::fs::symlink(d.path().join("nowhere"), &dangling).unwrap();
        assert!(create_new_nofollow(&dangling).is_err());
        assert!(!d.path().join("nowhere").exists());
    }

    #[cfg(unix)]
    #[test]
    fn private_dirs_are_checked() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("mine");
        make_private_dir(&p).unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(make_private_dir(&p).is_err());
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(check_private_dir(&link).is_err());
        let sub = private_subdir(d.path(), "x-").unwrap();
        assert_eq!(
            std::fs::metadata(&sub).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
