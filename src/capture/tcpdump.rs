//! `tcpdump` (Linux, macOS): a background program writing one pcap file, stopped with SIGTERM
//! so the file is complete.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::state::{ProcId, StateFile, is_same_process};
use super::{Capture, Tool};
use crate::exec::{Background, Cmd, Output, Runner};
use crate::platform::Platform;
use crate::vocab::Env;

/// How long the capture program may take to flush after SIGTERM.
const CAPTURE_GRACE: Duration = Duration::from_secs(10);
/// How long a starting capture program gets to fail (no permission, no device).
const CAPTURE_SETTLE: Duration = Duration::from_millis(800);

pub(super) struct Tcpdump {
    runner: Runner,
    resolved: PathBuf,
    /// `-i any` exists on Linux only.
    any_interface: bool,
    filter: String,
    running: Option<Background>,
}

impl Tcpdump {
    /// `Err` is the reason the trace is skipped.
    pub(super) fn new(runner: Runner, platform: Platform, env: &Env) -> Result<Self, String> {
        let resolved = runner
            .resolve("tcpdump")
            .ok_or_else(|| "tcpdump not found on PATH".to_string())?;
        Ok(Tcpdump {
            runner,
            resolved,
            any_interface: platform == Platform::Linux,
            filter: filter(env),
            running: None,
        })
    }

    fn command(&self, dir: &Path, max_mb: u64) -> Cmd {
        let mut cmd = Cmd::new("tcpdump");
        if self.any_interface {
            cmd = cmd.args(["-i", "any"]);
        }
        // tcpdump(8), -Z: "If tcpdump is running as root, after opening the capture device
        // [...] but before opening any savefiles for output, change the user ID to user";
        // Debian and RHEL build it with a default user (`--with-user=tcpdump`), which could
        // not write into our private 0700 directory. `-Z root` keeps the capture root's,
        // inside that directory.
        if crate::fsutil::is_root() {
            cmd = cmd.args(["-Z", "root"]);
        }
        cmd.args(["-n", "-U", "-s", "0", "-W", "1", "-C"])
            .arg(max_mb.to_string())
            .arg("-w")
            .arg(dir.join("trace.pcap"))
            .arg(self.filter.clone())
    }
}

impl Capture for Tcpdump {
    fn tool(&self) -> Tool {
        Tool::Tcpdump
    }

    fn start(
        &mut self,
        dir: &Path,
        max_mb: u64,
        state: &mut StateFile,
    ) -> Result<Option<Output>, String> {
        let cmd = self.command(dir, max_mb);
        let mut bg = self
            .runner
            .spawn_background(&cmd, &self.resolved)
            .map_err(|e| e.to_string())?;
        state.record_capture(bg.id());
        let t0 = Instant::now();
        while t0.elapsed() < CAPTURE_SETTLE && !bg.has_exited() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if bg.has_exited() {
            let out = bg.stop(Duration::ZERO);
            let err = out.stderr.text().0;
            let why = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("exited at once");
            return Err(format!("tcpdump could not start: {}", why.trim()));
        }
        self.running = Some(bg);
        Ok(None)
    }

    fn stop(&mut self) -> (Option<Output>, Option<String>) {
        let Some(bg) = self.running.take() else {
            return (None, None);
        };
        let o = bg.stop(CAPTURE_GRACE);
        let problem = o
            .timed_out
            .then(|| "tcpdump did not stop on SIGTERM and was killed".to_string());
        (Some(o), problem)
    }
}

/// `trace stop` for the capture `pid` an earlier run started (`id`: who it was then).
pub(super) fn stop_leftover(
    runner: &Runner,
    pid: u32,
    id: Option<&ProcId>,
) -> anyhow::Result<String> {
    // Only the very process the earlier run started: pids are reused, and a state file must
    // never make us signal something else.
    Ok(match id {
        Some(id) if is_same_process(pid, id) => {
            // Graceful first, so the capture file is complete.
            let o = runner.run(&Cmd::new("kill").args(["-TERM", &pid.to_string()]))?;
            if o.success() {
                format!("stopped tcpdump (pid {pid})")
            } else {
                format!("tcpdump (pid {pid}) was no longer running")
            }
        }
        None => format!(
            "the state file does not identify the capture (pid {pid}); not signalled: check it with `ps -p {pid}` and stop it yourself if it is tcpdump"
        ),
        Some(_) => format!(
            "tcpdump (pid {pid}) was no longer running (that pid is not the capture the earlier run started; not signalled)"
        ),
    })
}

/// The capture filter: HTTPS, HTTP, DNS, and the proxy's port when one is configured.
fn filter(env: &Env) -> String {
    let mut ports = vec![443u16, 80];
    for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
        if let Some(port) = env.get(name).and_then(proxy_port)
            && !ports.contains(&port)
        {
            ports.push(port);
        }
    }
    let tcp: Vec<String> = ports.iter().map(|p| format!("tcp port {p}")).collect();
    format!("{} or port 53", tcp.join(" or "))
}

fn proxy_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split(['/', '?']).next()?;
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    host_port.rsplit_once(':')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_ports_are_added_to_the_filter() {
        let env = Env::from_pairs([("HTTPS_PROXY", "http://u:p@proxy.corp:3128/")], false);
        assert_eq!(
            filter(&env),
            "tcp port 443 or tcp port 80 or tcp port 3128 or port 53"
        );
        assert_eq!(
            filter(&Env::default()),
            "tcp port 443 or tcp port 80 or port 53"
        );
        assert_eq!(proxy_port("proxy:8080"), Some(8080));
        assert_eq!(proxy_port("http://proxy"), None);
    }
}
