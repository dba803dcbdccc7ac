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
