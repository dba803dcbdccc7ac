//! Diagnosis: findings with fixes, computed by pure functions over a model loaded from the
//! bundle's own entries, so `collect` and `inspect` run the same code on the same data.
//!
//! Finding ids are a public contract (docs/findings.md). Findings are ordered by severity, then
//! confidence: the first is the most likely cause. A healthy configuration yields no warning
//! and no error.

pub mod aadsts;
mod rules;

use serde_json::Value;

use crate::bundle::manifest::{CollectorRecord, Status};
use crate::vocab::{Lang, Texts};

pub use crate::model::findings::{Evidence, Finding, Severity};

/// What the rules look at: the bundle's text entries and the manifest's collector records.
pub struct Model<'a> {
    pub texts: &'a Texts,
    pub collectors: &'a [CollectorRecord],
}

impl Model<'_> {
    pub fn json(&self, name: &str) -> Option<Value> {
        self.texts
            .get(name)
            .and_then(|t| serde_json::from_str(t).ok())
    }

    /// Entries whose names start with `prefix`.
    pub fn files(&self, prefix: &str) -> impl Iterator<Item = (&String, &String)> {
        self.texts
            .iter()
            .filter(move |(n, _)| n.starts_with(prefix))
    }

    /// The debug logs of the sign-in command.
    pub fn debug_logs(&self) -> impl Iterator<Item = (&String, &String)> {
        self.files("debug/")
    }

    pub fn collector(&self, id: &str) -> Option<&CollectorRecord> {
        self.collectors.iter().find(|c| c.id == id)
    }

    pub fn skipped(&self, id: &str) -> bool {
        self.collector(id)
            .is_some_and(|c| c.status == Status::Skipped)
    }

    /// The sign-in command's exit code, if it ran.
    pub fn debug_exit_code(&self) -> Option<i32> {
        self.collector("debug.run")?.commands.first()?.exit_code
    }

    /// Lines of the debug logs that contain any of `needles` (case-insensitive), as evidence.
    pub fn log_evidence(&self, needles: &[&str], max: usize) -> Vec<Evidence> {
        let needles: Vec<String> = needles.iter().map(|n| n.to_ascii_lowercase()).collect();
        let mut out = Vec::new();
        for (name, text) in self.debug_logs() {
            for line in text.lines() {
                let l = line.to_ascii_lowercase();
                if needles.iter().any(|n| l.contains(n.as_str())) {
                    out.push(Evidence {
                        file: name.clone(),
                        excerpt: excerpt(line),
                    });
                    if out.len() >= max {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// The probe results.
    pub fn probes(&self) -> Vec<Value> {
        self.json("network/probes.json")
            .and_then(|v| v["results"].as_array().cloned())
            .unwrap_or_default()
    }
}

/// A log line cut to a readable length.
pub fn excerpt(line: &str) -> String {
    let line = line.trim();
    if line.chars().count() <= 300 {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(300).collect::<String>())
    }
}

/// Run every rule and order the findings: severity, then confidence, then id.
pub fn analyze(model: &Model, lang: Lang) -> Vec<Finding> {
    let mut f = rules::all(model, lang);
    f.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.confidence.cmp(&a.confidence))
            .then(a.id.cmp(&b.id))
    });
    f
}

#[cfg(test)]
pub(crate) mod tests;
