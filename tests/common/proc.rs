//! Is a process still alive? Shared by unit tests (via `#[path]`) and integration tests.

use std::time::{Duration, Instant};

/// Alive and not a zombie, waiting up to 3 s for a killed orphan to be reaped by init (Linux).
pub fn alive(pid: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next())
                    .map(str::to_string)
            });
        match state.as_deref() {
            None | Some("Z") | Some("X") => return false,
            Some(_) if Instant::now() > deadline => return true,
            Some(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
