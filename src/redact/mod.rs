//! The redactor: the only producer of [`Redacted`] text, which is the only text the bundle
//! writer, the manifest and `--json` output accept.
//!
//! Each rule is named (the name appears in `[REDACTED:<name>]` markers and in the manifest's
//! per-file counts). A rule's regex marks the secret with capture groups whose names start with
//! `s`; everything else in the match is kept, so logs stay readable and JSON stays JSON. Known
//! secret values (e.g. from secret-named environment variables) are also removed wherever they
//! appear, whatever the surrounding format.

mod rules;

use std::collections::BTreeMap;

use aho_corasick::AhoCorasick;
use regex::Regex;

pub use rules::{Rule, rule_table};

/// Marker prefix of every replacement; text already carrying it is never counted twice.
pub const MARKER_PREFIX: &str = "[REDACTED:";

/// Text that has passed through a [`Redactor`]. It cannot be built any other way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    text: String,
    counts: BTreeMap<String, u64>,
}

impl Redacted {
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// How many replacements each rule made.
    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
    pub fn into_string(self) -> String {
        self.text
    }
}

/// Replaces secrets in text. Cheap to share between threads.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    literals: Option<(AhoCorasick, Vec<String>)>,
}

/// The rule name used for known secret values (environment variables marked secret).
pub const LITERAL_RULE: &str = "known-secret-value";

/// Shortest literal secret we search for: shorter values would mask ordinary words.
const MIN_LITERAL_LEN: usize = 4;

impl Redactor {
    /// A redactor with the built-in rules and no known literal secrets.
    pub fn new() -> Self {
        Self::with_literals(Vec::<String>::new())
    }

    /// A redactor that also removes each given secret value wherever it appears.
    pub fn with_literals<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut lits: Vec<String> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|s| s.chars().count() >= MIN_LITERAL_LEN && !s.starts_with(MARKER_PREFIX))
            .collect();
        lits.sort();
        lits.dedup();
        let literals = if lits.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(&lits)
                .expect("literal patterns are plain strings");
            Some((ac, lits))
        };
        Redactor {
            rules: rule_table(),
            literals,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Redact a text.
    pub fn redact(&self, input: &str) -> Redacted {
        let mut counts = BTreeMap::new();
        let mut text = match &self.literals {
            Some((ac, _)) => {
                let mut n = 0u64;
                let mut out = String::with_capacity(input.len());
                let mut last = 0;
                for m in ac.find_iter(input) {
                    out.push_str(&input[last..m.start()]);
                    out.push_str(&marker(LITERAL_RULE));
                    last = m.end();
                    n += 1;
                }
                out.push_str(&input[last..]);
                if n > 0 {
                    counts.insert(LITERAL_RULE.to_string(), n);
                }
                out
            }
            None => input.to_owned(),
        };
        for rule in &self.rules {
            if !rule.regex.is_match(&text) {
                continue;
            }
            let (next, n) = apply(&rule.regex, rule.name, &text);
            if n > 0 {
                *counts.entry(rule.name.to_string()).or_insert(0) += n;
                text = next;
            }
        }
        Redacted { text, counts }
    }

    /// Redact an argument vector (a command line) and return it with the total counts.
    /// A secret flag's value in the next argument is removed even when the joined text would
    /// not show the pairing (e.g. a value with spaces).
    pub fn redact_argv(&self, argv: &[String]) -> (Vec<String>, BTreeMap<String, u64>) {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut out = Vec::with_capacity(argv.len());
        let mut take_next = false;
        for arg in argv {
            if take_next {
                take_next = false;
                if !arg.starts_with(MARKER_PREFIX) {
                    *counts.entry(rules::CMDLINE_RULE.to_string()).or_insert(0) += 1;
                    out.push(marker(rules::CMDLINE_RULE));
                    continue;
                }
            }
            if rules::is_secret_flag(arg) {
                take_next = true;
            }
            let r = self.redact(arg);
            for (k, v) in r.counts {
                *counts.entry(k).or_insert(0) += v;
            }
            out.push(r.text);
        }
        (out, counts)
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

fn marker(rule: &str) -> String {
    format!("{MARKER_PREFIX}{rule}]")
}

/// Replace every participating `s*` group of every match with the rule's marker.
fn apply(re: &Regex, name: &str, text: &str) -> (String, u64) {
    let secret_groups: Vec<usize> = re
        .capture_names()
        .enumerate()
        .filter_map(|(i, n)| n.filter(|n| n.starts_with('s')).map(|_| i))
        .collect();
    let mark = marker(name);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut n = 0u64;
    for caps in re.captures_iter(text) {
        let mut spans: Vec<(usize, usize)> = secret_groups
            .iter()
            .filter_map(|&i| caps.get(i))
            .filter(|m| !m.as_str().is_empty() && !m.as_str().starts_with(MARKER_PREFIX))
            .map(|m| (m.start(), m.end()))
            .collect();
        spans.sort_unstable();
        for (s, e) in spans {
            if s < last {
                continue;
            }
            out.push_str(&text[last..s]);
            out.push_str(&mark);
            last = e;
            n += 1;
        }
    }
    out.push_str(&text[last..]);
    (out, n)
}

#[cfg(test)]
mod tests;
