//! The only place with operating-system specific code (`cfg(unix)` / `cfg(windows)`).
//!
//! Everything else reaches the OS through external commands run by `exec::Runner`, so it can be
//! tested on Linux with fake tools. Keep this module small: it answers with plain data (code
//! page numbers, a LANGID) and leaves the meaning to the portable code that can be tested.

use std::fs::File;
use std::io;
use std::path::Path;

/// Create a new file that only the current user can read, never replacing anything at `path`
/// (fails with `AlreadyExists` if a file, directory or link is there). Unix: mode 0600.
/// Windows: created with an explicit protected DACL that grants full access to the current user
/// and to SYSTEM only, no inherited entries (see `win`), in the same `CreateFileW(CREATE_NEW)`
/// call, so no other user can open it between creation and the first byte.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    #[cfg(windows)]
    {
        win::create_file(path)
    }
    #[cfg(not(windows))]
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).read(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // O_EXCL (create_new) already refuses a symlink at `path`, dangling or not.
            opts.mode(0o600);
        }
        opts.open(path)
    }
}

/// Create a new directory that only the current user can use (fails with `AlreadyExists` if
/// anything is at `path`; the parent must exist). Unix: mode 0700 (the caller checks the result,
/// see `fsutil::check_private_dir`). Windows: a protected DACL granting the current user and
/// SYSTEM full access, inherited by what is created inside.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        win::create_dir(path)
    }
    #[cfg(not(windows))]
    {
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(path)
    }
}

/// The Windows code pages a program's output may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePages {
    /// `GetConsoleOutputCP`: the code page of our console, which console children inherit; 0
    /// when this process has no console.
    pub console_output: u32,
    /// `GetOEMCP`: the code page of a new console.
    pub oem: u32,
    /// `GetACP`: the ANSI code page (what Python writes to a pipe).
    pub ansi: u32,
}

/// This machine's code pages (None off Windows, where programs write UTF-8).
pub fn code_pages() -> Option<CodePages> {
    #[cfg(windows)]
    {
        // SAFETY: the three calls take no arguments and only read process / system settings.
        unsafe {
            use windows_sys::Win32::Globalization::{GetACP, GetOEMCP};
            use windows_sys::Win32::System::Console::GetConsoleOutputCP;
            Some(CodePages {
                console_output: GetConsoleOutputCP(),
                oem: GetOEMCP(),
                ansi: GetACP(),
            })
        }
    }
    #[cfg(not(windows))]
    {
        None
    }
}

/// The user's Windows display language as a LANGID (`GetUserDefaultUILanguage`: 0x0411 is
/// Japanese); None off Windows. `vocab::Lang::from_langid` says what it means.
pub fn user_ui_language() -> Option<u16> {
    #[cfg(windows)]
    {
        // SAFETY: no arguments; reads the user's setting.
        Some(unsafe { windows_sys::Win32::Globalization::GetUserDefaultUILanguage() })
    }
    #[cfg(not(windows))]
    {
        None
    }
}

/// Is stderr an interactive terminal (for spinners and colour)?
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    io::stderr().is_terminal()
}

/// Files and directories closed to other users on Windows.
///
/// The security descriptor is `D:P(A;;FA;;;<user SID>)(A;;FA;;;SY)`: a protected DACL (`P`: no
/// entry inherited from the parent, whatever the output directory allows) with full access for
/// the user this process runs as and for SYSTEM (backup, anti-virus), nothing for anyone else.
/// The user's own SID rather than `OW` (owner rights) or `CO`: in an elevated process (needed for
/// `--net-trace`) the owner of new files is the Administrators group, and the same user's
/// unelevated Explorer would then be refused the bundle it has to attach. Directories add
/// `OICI` so the files a capture writes inside inherit the same two entries.
#[cfg(windows)]
mod win {
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io;
    use std::os::windows::ffi::OsStrExt;
    use std::os::windows::io::FromRawHandle;
    use std::path::Path;
    use std::ptr::null_mut;

    use windows_sys::Win32::Foundation::{
        CloseHandle, GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE, LocalFree,
    };
    use windows_sys::Win32::Security::Authorization::{
        ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW,
        SDDL_REVISION_1,
    };
    use windows_sys::Win32::Security::{
        GetTokenInformation, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_QUERY, TOKEN_USER,
        TokenUser,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        CREATE_NEW, CreateDirectoryW, CreateFileW, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_DELETE,
        FILE_SHARE_READ, FILE_SHARE_WRITE,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    pub fn create_file(path: &Path) -> io::Result<File> {
        let sd = SecurityDescriptor::private(false)?;
        let sa = sd.attributes();
        let name = wide(path)?;
        // SAFETY: `name` is NUL-terminated and `sa` points at a valid descriptor; both outlive
        // the call. The share mode is std's default for File::create.
        let h = unsafe {
            CreateFileW(
                name.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                &sa,
                CREATE_NEW,
                FILE_ATTRIBUTE_NORMAL,
                null_mut(),
            )
        };
        if h == INVALID_HANDLE_VALUE {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a valid file handle we own from here on.
        Ok(unsafe { File::from_raw_handle(h) })
    }

    pub fn create_dir(path: &Path) -> io::Result<()> {
        let sd = SecurityDescriptor::private(true)?;
        let sa = sd.attributes();
        let name = wide(path)?;
        // SAFETY: as in create_file.
        if unsafe { CreateDirectoryW(name.as_ptr(), &sa) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// A self-relative security descriptor from `ConvertStringSecurityDescriptorToSecurityDescriptorW`,
    /// freed with `LocalFree`.
    struct SecurityDescriptor(PSECURITY_DESCRIPTOR);

    impl SecurityDescriptor {
        fn private(dir: bool) -> io::Result<Self> {
            let sid = user_sid()?;
            let inherit = if dir { "OICI" } else { "" };
            let sddl = format!("D:P(A;{inherit};FA;;;{sid})(A;{inherit};FA;;;SY)");
            let sddl: Vec<u16> = OsStr::new(&sddl).encode_wide().chain([0]).collect();
            let mut sd: PSECURITY_DESCRIPTOR = null_mut();
            // SAFETY: a NUL-terminated string in, a descriptor out that we free on drop.
            let ok = unsafe {
                ConvertStringSecurityDescriptorToSecurityDescriptorW(
                    sddl.as_ptr(),
                    SDDL_REVISION_1,
                    &mut sd,
                    null_mut(),
                )
            };
            if ok == 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(SecurityDescriptor(sd))
        }

        fn attributes(&self) -> SECURITY_ATTRIBUTES {
            SECURITY_ATTRIBUTES {
                nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
                lpSecurityDescriptor: self.0,
                bInheritHandle: 0,
            }
        }
    }

    impl Drop for SecurityDescriptor {
        fn drop(&mut self) {
            // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
            unsafe { LocalFree(self.0) };
        }
    }

    /// The SID this process runs as, in string form (`S-1-5-21-...`).
    fn user_sid() -> io::Result<String> {
        let mut token: HANDLE = null_mut();
        // SAFETY: the pseudo handle of this process; `token` is closed below.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let sid = token_user_sid(token);
        // SAFETY: the token handle opened above.
        unsafe { CloseHandle(token) };
        sid
    }

    fn token_user_sid(token: HANDLE) -> io::Result<String> {
        let mut len = 0u32;
        // SAFETY: a size query (no buffer); it fails with ERROR_INSUFFICIENT_BUFFER and sets len.
        unsafe { GetTokenInformation(token, TokenUser, null_mut(), 0, &mut len) };
        if len == 0 {
            return Err(io::Error::last_os_error());
        }
        // u64 elements: TOKEN_USER holds a pointer and must be aligned for it.
        let mut buf = vec![0u64; (len as usize).div_ceil(8)];
        // SAFETY: `buf` holds `len` bytes, aligned for TOKEN_USER.
        if unsafe { GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len) }
            == 0
        {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: GetTokenInformation(TokenUser) filled `buf` with a TOKEN_USER whose SID points
        // into `buf`, which lives until the end of this function.
        let user = unsafe { &*(buf.as_ptr() as *const TOKEN_USER) };
        let mut s: *mut u16 = null_mut();
        // SAFETY: a valid SID in; a LocalAlloc'ed NUL-terminated string out, freed below.
        if unsafe { ConvertSidToStringSidW(user.User.Sid, &mut s) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `s` is NUL-terminated; read up to the NUL, then free it.
        let text = unsafe {
            let n = (0..).take_while(|&i| *s.add(i) != 0).count();
            let t = String::from_utf16_lossy(std::slice::from_raw_parts(s, n));
            LocalFree(s.cast());
            t
        };
        Ok(text)
    }

    /// `path` as a NUL-terminated wide string. A long one is made absolute with the `\\?\`
    /// prefix, which std adds for its own calls but CreateFileW needs spelled out (MAX_PATH).
    fn wide(path: &Path) -> io::Result<Vec<u16>> {
        let s: Vec<u16> = path.as_os_str().encode_wide().collect();
        if s.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path contains a NUL character",
            ));
        }
        let mut w: Vec<u16> = if s.len() < 248 {
            s
        } else {
            let abs: Vec<u16> = std::path::absolute(path)?
                .as_os_str()
                .encode_wide()
                .collect();
            let bs = u16::from(b'\\');
            let verbatim_or_device = [u16::from(b'?'), u16::from(b'.')]
                .iter()
                .any(|c| abs.starts_with(&[bs, bs, *c, bs]));
            if verbatim_or_device {
                abs
            } else if abs.starts_with(&[bs, bs]) {
                r"\\?\UNC\"
                    .encode_utf16()
                    .chain(abs[2..].iter().copied())
                    .collect()
            } else {
                r"\\?\".encode_utf16().chain(abs).collect()
            }
        };
        w.push(0);
        Ok(w)
    }
}

/// What the runner needs to find and kill the descendants of the commands it starts.
///
/// Linux: this process becomes a child subreaper (`PR_SET_CHILD_SUBREAPER`), so a descendant
/// whose parent exits (a daemon that double-forks, a grandchild that calls `setsid`) is
/// re-parented to us instead of to init, and `/proc/*/stat` (ppid, start time) shows every
/// descendant as a process whose ppid chain reaches our pid. Other Unix systems have neither: the
/// snapshot is empty and the runner relies on process groups alone (see docs/architecture.md).
pub mod tree {
    /// One process as `/proc/<pid>/stat` shows it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Proc {
        pub pid: u32,
        pub ppid: u32,
        /// Start time in clock ticks since boot (tells a reused pid from the one we knew).
        pub start: u64,
        /// The state letter (`R`, `S`, `Z`, ...).
        pub state: u8,
    }

    /// Make this process a child subreaper. True when orphaned descendants now come to us.
    pub fn become_subreaper() -> bool {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes one integer argument and only
            // changes this process's attribute.
            unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) == 0 }
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// Our own pid.
    pub fn me() -> u32 {
        std::process::id()
    }

    /// Parse the text of `/proc/<pid>/stat` (the command name may hold spaces and parentheses:
    /// the fields start after the last `)`).
    pub fn parse_stat(pid: u32, text: &str) -> Option<Proc> {
        let rest = &text[text.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state(0) ppid(1) ... starttime is field 22 of the line, index 19 here.
        Some(Proc {
            pid,
            state: *f.first()?.as_bytes().first()?,
            ppid: f.get(1)?.parse().ok()?,
            start: f.get(19)?.parse().ok()?,
        })
    }

    /// One process, if it exists (Linux only).
    pub fn proc_info(pid: u32) -> Option<Proc> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(pid, &text)
    }

    /// Every process (thread-group leaders: our own threads are not listed). Empty where there
    /// is no `/proc`.
    pub fn snapshot() -> Vec<Proc> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(proc_info)
            .collect()
    }

    /// Does the process's initial environment hold exactly `entry` (`NAME=value`)? None when it
    /// cannot be read (another user's or a setuid process, a zombie, no `/proc`).
    pub fn environ_has(pid: u32, entry: &str) -> Option<bool> {
        let data = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        if data.is_empty() {
            return None;
        }
        Some(data.split(|b| *b == 0).any(|e| e == entry.as_bytes()))
    }

    /// SIGKILL one process (errors mean it is already gone).
    pub fn kill(pid: u32) {
        #[cfg(unix)]
        // SAFETY: kill(2) with a positive pid signals that one process only.
        unsafe {
            if pid > 1 {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        #[cfg(not(unix))]
        let _ = pid;
    }

    /// Reap a child of ours that has exited, without waiting. True when it was reaped (or is
    /// not our child any more).
    pub fn try_reap(pid: u32) -> bool {
        #[cfg(unix)]
        {
            let mut status = 0;
            // SAFETY: waitpid on one given pid with WNOHANG never blocks and touches only that
            // child; it is called only for processes the runner itself killed.
            let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
            r != 0
        }
        #[cfg(not(unix))]
        {
            let _ = pid;
            true
        }
    }

    /// Register `f` to run when the process exits (`exit` or a return from `main`).
    pub fn at_exit(f: extern "C" fn()) {
        #[cfg(unix)]
        // SAFETY: atexit only records the function pointer.
        unsafe {
            libc::atexit(f);
        }
        #[cfg(not(unix))]
        let _ = f;
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn stat_with_a_strange_command_name() {
            let p = parse_stat(
                42,
                "42 (a) b (c) S 7 42 42 0 -1 4194560 99 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10",
            )
            .unwrap();
            assert_eq!((p.pid, p.ppid, p.state, p.start), (42, 7, b'S', 123456));
        }

        #[cfg(target_os = "linux")]
        #[test]
        fn our_own_entry_is_read() {
            let me = proc_info(me()).unwrap();
            assert_eq!(me.ppid, std::os::unix::process::parent_id());
            assert!(snapshot().iter().any(|p| p.pid == me.pid));
        }
    }
}
