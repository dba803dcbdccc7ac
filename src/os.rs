//! The only place with operating-system specific code (`cfg(unix)` / `cfg(windows)`).
//!
//! Everything else reaches the OS through external commands run by `exec::Runner`, so it can be
//! tested on Linux with fake tools. Keep this module small.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Create a new file that only the current user can read (mode 0600 on Unix; on Windows the file
/// inherits the ACL of the user's own output directory). Fails if the file already exists.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).read(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Is stderr an interactive terminal (for spinners and colour)?
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    io::stderr().is_terminal()
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
