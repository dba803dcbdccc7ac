//! Progress on stderr: a spinner line per running collector on a terminal, plain lines
//! otherwise, nothing with `--quiet`. Data never goes here; it goes to stdout or the bundle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::bundle::manifest::Status;
use crate::collect::{Observer, Outcome};
use crate::redact::Redactor;

/// Every line shown passes the redactor: collector reasons can quote tool output.
pub struct Progress {
    mode: Mode,
    redactor: Arc<Redactor>,
    /// While this collector runs (an interactive sign-in), other lines wait, so they do not
    /// cut into its prompts.
    hold_for: Option<&'static str>,
    held: Mutex<Option<Vec<String>>>,
}

enum Mode {
    Quiet,
    Plain,
    Terminal {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    },
}

impl Progress {
    pub fn new(quiet: bool, terminal: bool, redactor: Arc<Redactor>) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if terminal {
            Mode::Terminal {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::new(HashMap::new()),
            }
        } else {
            Mode::Plain
        };
        Progress {
            mode,
            redactor,
            hold_for: None,
            held: Mutex::new(None),
        }
    }

    /// Hold other collectors' lines while collector `id` runs.
    pub fn hold_while(mut self, id: &'static str) -> Self {
        self.hold_for = Some(id);
        self.held = Mutex::new(Some(Vec::new()));
        self
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// A message line (not shown with --quiet).
    pub fn say(&self, msg: &str) {
        let msg = self.redactor.redact(msg);
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => crate::fsutil::err_line(msg.as_str()),
            Mode::Terminal { multi, .. } => {
                let _ = multi.println(msg.as_str());
            }
        }
    }
}

fn status_line(id: &str, outcome: &Outcome, d: Duration) -> String {
    let mut s = format!(
        "{:<11} {id} ({} ms)",
        outcome.status.as_str(),
        d.as_millis()
    );
    if let Some(r) = &outcome.reason {
        s.push_str(": ");
        s.push_str(r);
    }
    s
}

impl Observer for Progress {
    fn started(&self, id: &str) {
        if let Mode::Terminal { multi, bars } = &self.mode {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"),
            );
            bar.set_message(id.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bars.lock()
                .expect("progress lock")
                .insert(id.to_string(), bar);
        }
    }

    fn finished(&self, id: &str, outcome: &Outcome, d: Duration) {
        let line = self.redactor.redact(&status_line(id, outcome, d));
        let line = line.as_str();
        match &self.mode {
            Mode::Quiet => {}
            Mode::Plain => {
                let mut held = self.held.lock().expect("progress lock");
                match (held.as_mut(), self.hold_for == Some(id)) {
                    (Some(queue), false) => queue.push(line.to_string()),
                    (Some(_), true) => {
                        crate::fsutil::err_line(&format!("entra-collect: {line}"));
                        for l in held.take().unwrap_or_default() {
                            crate::fsutil::err_line(&format!("entra-collect: {l}"));
                        }
                    }
                    (None, _) => crate::fsutil::err_line(&format!("entra-collect: {line}")),
                }
            }
            Mode::Terminal { multi, bars } => {
                if let Some(bar) = bars.lock().expect("progress lock").remove(id) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                let mark = if outcome.status == Status::Ok {
                    "✔"
                } else {
                    "•"
                };
                let _ = multi.println(format!("{mark} {line}"));
            }
        }
    }
}
