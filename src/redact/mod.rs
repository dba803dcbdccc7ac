//! The redactor: the only producer of [`Redacted`] text, which is the only text the bundle
//! writer, the manifest and `--json` output accept.
//!
//! Each rule is named (the name appears in `[REDACTED:<name>]` markers and in the manifest's
//! per-file counts). A rule's regex marks the secret with capture groups whose names start with
//! `s`; everything else in the match is kept, so logs stay readable and JSON stays JSON. Known
//! secret values (e.g. from secret-named environment variables) are also removed wherever they
//! appear, whatever the surrounding format.

pub mod live;
mod rules;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

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
    /// All rules' trigger literals, ASCII case-insensitive.
    triggers: AhoCorasick,
    /// Trigger pattern index -> bit mask of the rules it triggers.
    trigger_rules: Vec<u64>,
    /// Bit mask of the rules applied to the whole text rather than line by line.
    multiline: u64,
    literals: Option<AhoCorasick>,
    pii: Option<Pii>,
}

/// Stable pseudonyms for e-mail addresses (`--mask-pii`).
#[derive(Debug)]
struct Pii {
    regex: Regex,
    names: Mutex<HashMap<String, usize>>,
}

/// The rule name used for known secret values (environment variables marked secret).
pub const LITERAL_RULE: &str = "known-secret-value";

/// Shortest literal secret we search for: shorter values would mask ordinary words.
const MIN_LITERAL_LEN: usize = 4;

/// Options for building a [`Redactor`].
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Known secret values removed wherever they appear.
    pub literals: Vec<String>,
    /// Replace e-mail addresses / UPNs with stable pseudonyms.
    pub mask_pii: bool,
}

impl Redactor {
    /// A redactor with the built-in rules and no known literal secrets.
    pub fn new() -> Self {
        Self::with_options(Options::default())
    }

    /// A redactor that also removes each given secret value wherever it appears.
    pub fn with_literals<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_options(Options {
            literals: secrets.into_iter().map(Into::into).collect(),
            mask_pii: false,
        })
    }

    pub fn with_options(opts: Options) -> Self {
        let mut lits: Vec<String> = opts
            .literals
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_LITERAL_LEN && !s.starts_with(MARKER_PREFIX))
            .collect();
        lits.sort();
        lits.dedup();
        let literals = (!lits.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(&lits)
                .expect("literal patterns are plain strings")
        });
        let rules = rule_table();
        assert!(rules.len() <= 64, "rule masks are u64");
        let mut pats: Vec<String> = Vec::new();
        let mut trigger_rules: Vec<u64> = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            for t in r.triggers {
                let t = t.to_ascii_lowercase();
                match pats.iter().position(|p| *p == t) {
                    Some(j) => trigger_rules[j] |= 1 << i,
                    None => {
                        pats.push(t);
                        trigger_rules.push(1 << i);
                    }
                }
            }
        }
        let triggers = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&pats)
            .expect("trigger patterns are plain strings");
        let pii = opts.mask_pii.then(|| Pii {
            regex: rules::pii_regex(),
            names: Mutex::new(HashMap::new()),
        });
        let multiline = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.multiline)
            .fold(0, |m, (i, _)| m | (1 << i));
        Redactor {
            rules,
            triggers,
            trigger_rules,
            multiline,
            literals,
            pii,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Redact a text.
    pub fn redact(&self, input: &str) -> Redacted {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut text: Cow<str> = Cow::Borrowed(input);
        if let Some(ac) = &self.literals {
            let mut n = 0u64;
            let mut out = String::new();
            let mut last = 0;
            for m in ac.find_iter(text.as_ref()) {
                out.push_str(&text[last..m.start()]);
                out.push_str(&marker(LITERAL_RULE));
                last = m.end();
                n += 1;
            }
            if n > 0 {
                out.push_str(&text[last..]);
                counts.insert(LITERAL_RULE.to_string(), n);
                text = Cow::Owned(out);
            }
        }

        // Which rules are triggered, per line (and over the whole text for multiline rules).
        let mut lines: Vec<(usize, usize, u64)> = Vec::new();
        let mut whole_mask = 0u64;
        let bytes = text.as_bytes();
        for m in self.triggers.find_overlapping_iter(text.as_ref()) {
            let mask = self.trigger_rules[m.pattern().as_usize()];
            whole_mask |= mask;
            if let Some(last) = lines.last_mut()
                && m.start() >= last.0
                && m.end() <= last.1
            {
                last.2 |= mask;
                continue;
            }
            let start = memrchr(b'\n', &bytes[..m.start()]).map_or(0, |i| i + 1);
            let end = memchr(b'\n', &bytes[m.start()..]).map_or(bytes.len(), |i| m.start() + i);
            match lines.last_mut() {
                Some(last) if last.0 == start => last.2 |= mask,
                _ => lines.push((start, end, mask)),
            }
        }

        let mut changed = false;
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end, mask) in lines {
            let line_mask = mask & !self.multiline;
            if line_mask == 0 {
                continue;
            }
            let line = &text[start..end];
            if let Some(new) = self.apply_rules(line, line_mask, &mut counts) {
                out.push_str(&text[last..start]);
                out.push_str(&new);
                last = end;
                changed = true;
            }
        }
        if changed {
            out.push_str(&text[last..]);
            text = Cow::Owned(out);
        }

        // Multiline rules see the whole text.
        let ml = whole_mask & self.multiline;
        if ml != 0
            && let Some(new) = self.apply_rules(&text, ml, &mut counts)
        {
            text = Cow::Owned(new);
        }

        if let Some(pii) = &self.pii
            && text.contains('@')
        {
            let (new, n) = pii.apply(&text);
            if n > 0 {
                *counts.entry(rules::PII_RULE.to_string()).or_insert(0) += n;
                text = Cow::Owned(new);
            }
        }
        Redacted {
            text: text.into_owned(),
            counts,
        }
    }

    /// Apply the rules in `mask` to `text`; None when nothing changed.
    fn apply_rules(
        &self,
        text: &str,
        mask: u64,
        counts: &mut BTreeMap<String, u64>,
    ) -> Option<String> {
        let mut cur: Cow<str> = Cow::Borrowed(text);
        for (i, rule) in self.rules.iter().enumerate() {
            if mask & (1 << i) == 0 || !rule.regex.is_match(&cur) {
                continue;
            }
            let (next, n) = apply(rule, &cur);
            if n > 0 {
                *counts.entry(rule.name.to_string()).or_insert(0) += n;
                cur = Cow::Owned(next);
            }
        }
        match cur {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        }
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

impl Pii {
    fn apply(&self, text: &str) -> (String, u64) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0u64;
        let out = self.regex.replace_all(text, |c: &regex::Captures| {
            let local = &c["local"];
            if local.starts_with("pii-user-") {
                return c[0].to_string();
            }
            let key = format!(
                "{}{}",
                local.to_ascii_lowercase(),
                c.name("ext").map_or("", |m| m.as_str())
            );
            let next = names.len() + 1;
            let id = *names.entry(key).or_insert(next);
            n += 1;
            format!(
                "pii-user-{id}{}@{}",
                c.name("ext").map_or("", |m| m.as_str()),
                &c["domain"]
            )
        });
        (out.into_owned(), n)
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn memrchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().rposition(|&b| b == needle)
}

fn marker(rule: &str) -> String {
    format!("{MARKER_PREFIX}{rule}]")
}

/// A span that is already a marker, or a tool's own mask (az writes `*****` and `{}`), is left
/// alone so that counts report real secrets only.
fn already_masked(s: &str) -> bool {
    s.is_empty() || s.starts_with(MARKER_PREFIX) || s == "{}" || s.bytes().all(|b| b == b'*')
}

/// Replace every participating `s*` group of every match with the rule's marker.
fn apply(rule: &Rule, text: &str) -> (String, u64) {
    let (re, name, secret_groups) = (&rule.regex, rule.name, &rule.secret_groups);
    let mark = marker(name);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut n = 0u64;
    for caps in re.captures_iter(text) {
        let mut spans: Vec<(usize, usize)> = secret_groups
            .iter()
            .filter_map(|&i| caps.get(i))
            .filter(|m| !already_masked(m.as_str()))
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

/// One row of the rule table shown by `entra-collect rules` and docs/redaction.md.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleRow {
    pub name: &'static str,
    pub matches: &'static str,
    pub example: String,
    pub redacted: String,
}

/// Every rule with its example before and after redaction (computed, so it cannot drift).
pub fn catalogue() -> Vec<RuleRow> {
    let plain = Redactor::new();
    let mut rows: Vec<RuleRow> = plain
        .rules()
        .iter()
        .map(|r| RuleRow {
            name: r.name,
            matches: r.description,
            example: r.example.to_string(),
            redacted: plain.redact(r.example).into_string(),
        })
        .collect();
    let lit_example = "MSI_SECRET=Zq8~value ... later in a log: Zq8~value";
    rows.push(RuleRow {
        name: LITERAL_RULE,
        matches: "the value of every allowlisted secret-named environment variable (AZURE_CLIENT_SECRET, AZURE_PASSWORD, IDENTITY_HEADER, MSI_SECRET, ...), wherever it appears, when 4 characters or longer",
        example: lit_example.to_string(),
        redacted: Redactor::with_literals(["Zq8~value"]).redact(lit_example).into_string(),
    });
    let pii = Redactor::with_options(Options {
        literals: Vec::new(),
        mask_pii: true,
    });
    rows.push(RuleRow {
        name: rules::PII_RULE,
        matches: rules::PII_DESCRIPTION,
        example: rules::PII_EXAMPLE.to_string(),
        redacted: pii.redact(rules::PII_EXAMPLE).into_string(),
    });
    rows
}
