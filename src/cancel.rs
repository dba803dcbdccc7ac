//! Cooperative cancellation shared by the runner, the pipeline and the signal handler.
//!
//! The first Ctrl-C (or SIGTERM) only sets a flag: every running child is killed by the runner
//! that is polling it, collectors end as `interrupted`, and the partial bundle is still written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A clonable "stop now" flag. A token made with [`Cancel::child`] is also cancelled when its
/// parent is, but cancelling it leaves the parent alone: the pipeline gives each collector its
/// own child of the global token, so its watchdog can stop that collector's commands only.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    flag: AtomicBool,
    parent: Option<Cancel>,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }
    /// A token cancelled by `self` or by itself.
    pub fn child(&self) -> Cancel {
        Cancel(Arc::new(Inner {
            flag: AtomicBool::new(false),
            parent: Some(self.clone()),
        }))
    }
    pub fn cancel(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        let mut t = self;
        loop {
            if t.0.flag.load(Ordering::SeqCst) {
                return true;
            }
            match &t.0.parent {
                Some(p) => t = p,
                None => return false,
            }
        }
    }
}

/// Set while the guided question is on screen: nothing is open or running yet, so a signal then
/// just restores the cursor and exits 130.
static PROMPTING: AtomicBool = AtomicBool::new(false);

/// The guided question is (`true`) or is no longer (`false`) on screen.
pub fn set_prompting(on: bool) {
    PROMPTING.store(on, Ordering::SeqCst);
}

/// Install the Ctrl-C / SIGTERM handler. The first signal cancels `cancel`; a second one runs
/// `on_second` (which must stop anything that must never be left running) and exits with 130.
pub fn install_handler(cancel: Cancel, on_second: fn()) -> Result<(), ctrlc::Error> {
    let hits = AtomicUsize::new(0);
    ctrlc::set_handler(move || {
        if PROMPTING.load(Ordering::SeqCst) {
            // Show the cursor the prompt hid; nothing else was started.
            crate::fsutil::err_line("\x1b[?25h\nentra-collect: interrupted; nothing was written");
            std::process::exit(130);
        }
        if hits.fetch_add(1, Ordering::SeqCst) == 0 {
            // Never a panic on a closed stderr.
            crate::fsutil::err_line(
                "\nentra-collect: interrupted; stopping and writing a partial bundle (Ctrl-C again to quit now)",
            );
            cancel.cancel();
        } else {
            on_second();
            std::process::exit(130);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::Cancel;

    #[test]
    fn a_child_follows_its_parent_but_not_the_other_way() {
        let root = Cancel::new();
        let (a, b) = (root.child(), root.child());
        a.cancel();
        assert!(a.is_cancelled() && !b.is_cancelled() && !root.is_cancelled());
        root.cancel();
        assert!(b.is_cancelled() && b.child().is_cancelled());
    }
}
