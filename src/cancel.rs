//! Cooperative cancellation shared by the runner, the pipeline and the signal handler.
//!
//! The first Ctrl-C (or SIGTERM) only sets a flag: every running child is killed by the runner
//! that is polling it, collectors end as `interrupted`, and the partial bundle is still written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A clonable "stop now" flag.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Install the Ctrl-C / SIGTERM handler. The first signal cancels `cancel`; a second one runs
/// `on_second` (which must stop anything that must never be left running) and exits with 130.
pub fn install_handler(cancel: Cancel, on_second: fn()) -> Result<(), ctrlc::Error> {
    let hits = AtomicUsize::new(0);
    ctrlc::set_handler(move || {
        if hits.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!(
                "\nentra-collect: interrupted; stopping and writing a partial bundle (Ctrl-C again to quit now)"
            );
            cancel.cancel();
        } else {
            on_second();
            std::process::exit(130);
        }
    })
}
