//! The redactor: the only producer of [`Redacted`] text, which is the only text the bundle
//! writer, the manifest and `--json` output accept.
//!
//! The model (docs/redaction.md):
//! 1. What we construct ourselves is default-deny (`cmdline`, the environment and config
//!    collectors): values are written only when known to be safe; every withheld value is
//!    handed to [`Redactor::learn`].
//! 2. Every secret seen — learned values and every rule hit of 6 characters or more — becomes a
//!    known literal, searched in every later text in all its encodings (`encode`), with one
//!    Aho-Corasick pass.
//! 3. Shape rules (`rules`) and an entropy detector (`entropy`) are the safety net. All of them
//!    run on the original text; their matches are merged into non-overlapping spans before
//!    anything is replaced, so no rule sees another's output.
//! 4. JSON is redacted value by value ([`Redactor::redact_json`]), never as serialized text, so it
//!    stays valid. `redact(redact(x)) == redact(x)`.
//!
//! Text with ANSI colour sequences or NUL bytes (UTF-16LE) is matched through a view without
//! them, and the spans are mapped back to the original.

pub(crate) mod cmdline;
mod encode;
mod entropy;
pub mod live;
mod rules;
pub(crate) mod url;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, RwLock};

use aho_corasick::AhoCorasick;
use regex::Regex;

pub(crate) use rules::{Rule, is_secret_key, rule_table};

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
    /// Two redacted texts one after the other, with their counts added.
    pub fn join(mut self, other: Redacted) -> Redacted {
        self.text.push_str(&other.text);
        for (k, v) in other.counts {
            *self.counts.entry(k).or_insert(0) += v;
        }
        self
    }
}

/// Replaces secrets in text. Cheap to share between threads; learns every secret it sees.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// All rules' trigger literals (lower case); the automaton that finds them lives in
    /// `literals.scan`, together with the known secrets' forms, so one pass finds both.
    trigger_pats: Vec<String>,
    /// Trigger pattern index -> bit mask of the rules it triggers.
    trigger_rules: Vec<u64>,
    /// Bit mask of the rules applied to the whole text rather than line by line.
    multiline: u64,
    literals: RwLock<Literals>,
    pii: Option<Pii>,
}

/// The known secrets and the automata over all their forms.
///
/// `scan` finds the rules' triggers and the `base` literal forms in one overlapping pass (the
/// spans of overlapping literal matches are merged later anyway). Newly learned forms go to a
/// small `recent` automaton, merged into `scan` when it reaches half of `base` or when a large
/// text is about to be read: learning n secrets one at a time costs O(n log n) building, and a
/// large text is read once.
#[derive(Debug)]
struct Literals {
    /// The secrets as seen (not their encoded forms).
    known: HashSet<String>,
    base: Vec<String>,
    scan: AhoCorasick,
    recent: Vec<String>,
    recent_ac: Option<AhoCorasick>,
}

/// An automaton over `patterns`, ASCII case-insensitive, overlapping matches. A DFA searches
/// several times faster than the NFA the builder picks for many patterns; its memory grows
/// with the patterns, so it is used up to a bound.
fn scan_automaton(patterns: &[String]) -> Option<AhoCorasick> {
    let total: usize = patterns.iter().map(String::len).sum();
    let kind = (total <= 96 * 1024).then_some(aho_corasick::AhoCorasickKind::DFA);
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::Standard)
        .kind(kind)
        .build(patterns)
        .ok()
}

/// Texts at least this long get the recent literals merged into the main automaton first.
const MERGE_BEFORE: usize = 1 << 20;

/// Stable pseudonyms (`--mask-pii`, `--mask-host`): e-mail addresses / UPNs and user names in
/// home-directory paths share one numbering, so `alice@contoso.com` and `C:\Users\alice`
/// become the same `pii-user-N`; the host name becomes `pii-host-1`.
#[derive(Debug)]
struct Pii {
    /// E-mail addresses and paths: only with `--mask-pii`.
    users: bool,
    regex: Regex,
    path_regex: Regex,
    /// The host name, whole word, case-insensitive (`--mask-host`).
    host: Option<Regex>,
    names: Mutex<HashMap<String, usize>>,
}

/// The pseudonym of the host name under `--mask-host` (there is one host per bundle).
pub const HOST_PSEUDONYM: &str = "pii-host-1";

/// The rule name used for known secret values.
pub const LITERAL_RULE: &str = "known-secret-value";
/// The rule name of the entropy detector.
pub const ENTROPY_RULE: &str = "high-entropy";
/// The marker for the incomplete last line of a capture cut at its limit.
pub const TRUNCATED_RULE: &str = "truncated-line";
/// The rule name for secret-named JSON members.
pub const FIELD_RULE: &str = "secret-field";

/// Shortest literal secret given explicitly (a secret variable's value).
const MIN_LITERAL_LEN: usize = 4;
/// Shortest rule hit that becomes a known literal, and shortest encoded form searched.
const MIN_LEARNED_LEN: usize = 6;
/// At most this many literals are learned: a huge log cannot make the automaton huge.
const MAX_LITERALS: usize = 4096;

/// Options for building a [`Redactor`].
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Known secret values removed wherever they appear.
    pub literals: Vec<String>,
    /// Replace e-mail addresses / UPNs and user names in paths with stable pseudonyms.
    pub mask_pii: bool,
    /// This host name becomes [`HOST_PSEUDONYM`] wherever it appears (`--mask-host`).
    pub mask_host: Option<String>,
}

/// A secret found in the text: byte range (in the matched text) and the rule that found it.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    rule: &'static str,
    /// Found by a rule (not as a known literal): the value is learned.
    learn: bool,
    /// Which name wins for the same span: the rule's place in the table; literals and the
    /// entropy detector last.
    order: u8,
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
            mask_host: None,
        })
    }

    pub fn with_options(opts: Options) -> Self {
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
        let scan = scan_automaton(&pats).expect("trigger patterns are plain strings");
        let host = opts
            .mask_host
            .as_deref()
            .map(str::trim)
            .filter(|h| h.chars().count() >= 2)
            .map(rules::host_regex);
        let pii = (opts.mask_pii || host.is_some()).then(|| Pii {
            users: opts.mask_pii,
            regex: rules::pii_regex(),
            path_regex: rules::path_user_regex(),
            host,
            names: Mutex::new(HashMap::new()),
        });
        let multiline = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.multiline)
            .fold(0, |m, (i, _)| m | (1 << i));
        let red = Redactor {
            rules,
            trigger_pats: pats,
            trigger_rules,
            multiline,
            literals: RwLock::new(Literals {
                known: HashSet::new(),
                base: Vec::new(),
                scan,
                recent: Vec::new(),
                recent_ac: None,
            }),
            pii,
        };
        red.learn_min(opts.literals, MIN_LITERAL_LEN);
        red
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Add known secrets (withheld argument values, secret variables): from now on they are
    /// removed from every text, in every encoding. Values shorter than 6 characters or that
    /// are a tool's own mask are ignored.
    pub fn learn<I, S>(&self, secrets: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.learn_min(secrets, MIN_LEARNED_LEN);
    }

    /// Add known secrets of at least `min` characters (4 for values the caller knows are
    /// secret, such as a password variable).
    pub fn learn_min<I, S>(&self, secrets: I, min: usize)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let fresh: Vec<String> = {
            let lits = self.literals.read().unwrap_or_else(|e| e.into_inner());
            secrets
                .into_iter()
                .map(Into::into)
                .filter(|s| {
                    s.chars().count() >= min
                        && !s.contains(MARKER_PREFIX)
                        && !already_masked(s)
                        && !lits.known.contains(s)
                })
                .collect()
        };
        if fresh.is_empty() {
            return;
        }
        let mut lits = self.literals.write().unwrap_or_else(|e| e.into_inner());
        let mut added = false;
        for s in fresh {
            if lits.known.len() >= MAX_LITERALS {
                break;
            }
            if lits.known.insert(s.clone()) {
                // Encoded forms shorter than the raw minimum would mask ordinary text.
                let min_form = min.max(MIN_LEARNED_LEN).min(s.chars().count());
                for f in encode::forms(&s, min_form) {
                    if !f.contains(MARKER_PREFIX) {
                        lits.recent.push(f);
                    }
                }
                added = true;
            }
        }
        if added {
            if lits.recent.len() >= 256.max(lits.base.len() / 2) {
                self.merge_recent(&mut lits);
            } else {
                lits.recent.sort();
                lits.recent.dedup();
                lits.recent_ac = scan_automaton(&lits.recent);
            }
        }
    }

    /// Move the recent literal forms into the main automaton.
    fn merge_recent(&self, lits: &mut Literals) {
        let recent = std::mem::take(&mut lits.recent);
        lits.base.extend(recent);
        lits.base.sort();
        lits.base.dedup();
        let all: Vec<String> = self
            .trigger_pats
            .iter()
            .chain(lits.base.iter())
            .cloned()
            .collect();
        if let Some(ac) = scan_automaton(&all) {
            lits.scan = ac;
        }
        lits.recent_ac = None;
    }

    /// How many distinct secrets are known.
    pub fn known_secrets(&self) -> usize {
        self.literals
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .known
            .len()
    }

    /// Redact a text. A large text is cut at blank lines outside any multi-line block and its
    /// parts are redacted on all cores (each part is redacted exactly as it would be alone;
    /// nothing the rules match spans a blank line outside a block).
    pub fn redact(&self, input: &str) -> Redacted {
        self.learn_from_az_arguments(input);
        let parts = split_for_threads(input);
        let mut r = if parts.len() > 1 {
            let results: Vec<Redacted> = std::thread::scope(|s| {
                let handles: Vec<_> = parts
                    .iter()
                    .map(|p| s.spawn(move || self.redact_part(p)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            });
            let mut it = results.into_iter();
            let first = it.next().expect("at least two parts");
            it.fold(first, Redacted::join)
        } else {
            self.redact_part(input)
        };
        // Pseudonyms are numbered in reading order, so they are given after the parts are joined.
        if let Some(pii) = &self.pii {
            for (rule, n) in pii.apply(&mut r.text) {
                *r.counts.entry(rule.to_string()).or_insert(0) += n;
            }
        }
        r
    }

    /// Redact on the calling thread only (benchmarks compare it with [`Redactor::redact`]).
    pub fn redact_single_thread(&self, input: &str) -> Redacted {
        self.learn_from_az_arguments(input);
        self.redact_part(input)
    }

    /// Redact one text (or one part of a large one), without pseudonyms.
    fn redact_part(&self, input: &str) -> Redacted {
        let view = View::new(input);
        let mut spans = self.spans(view.text());
        if view.stripped.is_some() {
            // Found through the view (a secret split by colour codes or NULs), mapped back;
            // and found in the input itself (an escape the view dropped may have been text).
            for s in &mut spans {
                (s.start, s.end) = view.original(s.start, s.end);
            }
            spans.extend(self.spans(input));
        }
        let merged = merge(spans);

        let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
        // Distinct values only: a log repeats the same secret many times.
        let mut learned: HashSet<&str> = HashSet::new();
        let mut out = String::with_capacity(input.len() + merged.len() * 16);
        let mut last = 0;
        for s in &merged {
            let (start, end) = (s.start, s.end);
            if start < last {
                continue;
            }
            if s.learn {
                let v = &input[start..end];
                if v.len() >= MIN_LEARNED_LEN && v.len() <= 4096 && !v.contains('\n') {
                    learned.insert(v);
                }
            }
            out.push_str(&input[last..start]);
            out.push_str(MARKER_PREFIX);
            out.push_str(s.rule);
            out.push(']');
            last = end;
            *counts.entry(s.rule).or_insert(0) += 1;
        }
        out.push_str(&input[last..]);
        if !learned.is_empty() {
            let fresh: Vec<String> = {
                let lits = self.literals.read().unwrap_or_else(|e| e.into_inner());
                learned
                    .into_iter()
                    .filter(|v| !lits.known.contains(*v) && !stop_word(v))
                    .map(str::to_string)
                    .collect()
            };
            self.learn(fresh);
        }
        let counts: BTreeMap<String, u64> = counts
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Redacted { text: out, counts }
    }

    /// Redact captured output that was cut at the capture limit: the last, incomplete line may
    /// hold the first part of a secret no rule can recognise any more, so it is masked whole.
    pub fn redact_truncated(&self, input: &str) -> Redacted {
        let cut = input.rfind('\n').map_or(0, |i| i + 1);
        if cut >= input.len() {
            return self.redact(input);
        }
        let mut r = self.redact(&input[..cut]);
        r.text.push_str(&marker(TRUNCATED_RULE));
        r.text.push('\n');
        *r.counts.entry(TRUNCATED_RULE.to_string()).or_insert(0) += 1;
        r
    }

    /// Redact an already-redacted text again with everything learned since (before it is
    /// written: a secret seen in one collector's output is removed from every other's).
    pub fn reredact(&self, text: &Redacted) -> Redacted {
        let mut again = self.redact(text.as_str());
        for (k, v) in &text.counts {
            *again.counts.entry(k.clone()).or_insert(0) += v;
        }
        again
    }

    /// [`Self::reredact`] for serialized JSON: value by value, so that a secret learned since
    /// is never cut out of its escaped form (`\"`, `\\`) and the JSON stays valid. Text that
    /// does not read as JSON is redacted as text.
    pub fn reredact_json(&self, text: &Redacted) -> Redacted {
        let again = serde_json::from_str::<serde_json::Value>(text.as_str())
            .ok()
            .and_then(|v| self.redact_to_json(&v).ok());
        let Some(mut again) = again else {
            return self.reredact(text);
        };
        for (k, v) in &text.counts {
            *again.counts.entry(k.clone()).or_insert(0) += v;
        }
        again
    }

    /// Every secret span in `text`, unmerged.
    fn spans(&self, text: &str) -> Vec<Span> {
        let mut spans: Vec<Span> = Vec::new();
        self.scan_spans(text, &mut spans);
        let mut found = Vec::new();
        entropy::find(text, &mut found);
        spans.extend(found.into_iter().map(|(start, end)| Span {
            start,
            end,
            rule: ENTROPY_RULE,
            learn: true,
            order: 254,
        }));
        widen_over_markers(text, &mut spans);
        spans.retain(|s| {
            let v = &text[s.start..s.end];
            s.end > s.start
                && !already_masked(v)
                // `--password --tenant` (az's ParameterSetName): a flag name is not a value.
                && (s.rule != rules::CMDLINE_RULE
                    || !flag_word(v)
                    // A quoted value is a value even when it starts with a dash.
                    || text[..s.start].ends_with(['\'', '"']))
                && !names_itself(&text[..s.start], v)
        });
        extend_over_continuations(text, &mut spans);
        orphan_pieces(text, &mut spans);
        spans
    }

    /// az --debug echoes its whole command line (`cli.knack.cli: Command arguments: [...]`):
    /// the values the default-deny sanitizer would withhold there become known secrets before
    /// the text is searched, so they are masked in that line and everywhere else.
    fn learn_from_az_arguments(&self, text: &str) {
        const NEEDLE: &str = "Command arguments: [";
        if !text.contains(NEEDLE) {
            return;
        }
        for line in text.lines().filter(|l| l.contains(NEEDLE)) {
            if let Some((_, masked)) = cmdline::sanitize_az_arguments_line(line) {
                self.learn_masked(&masked);
            }
        }
    }

    /// One pass over `text` for the rules' triggers and the known secrets: literal spans go to
    /// `spans`, the rule regexes run on the triggered lines.
    fn scan_spans(&self, text: &str, spans: &mut Vec<Span>) {
        if text.len() >= MERGE_BEFORE {
            let lits = self.literals.read().unwrap_or_else(|e| e.into_inner());
            let pending = !lits.recent.is_empty();
            drop(lits);
            if pending {
                let mut lits = self.literals.write().unwrap_or_else(|e| e.into_inner());
                if !lits.recent.is_empty() {
                    self.merge_recent(&mut lits);
                }
            }
        }
        let lits = self.literals.read().unwrap_or_else(|e| e.into_inner());
        let literal = |start, end| Span {
            start,
            end,
            rule: LITERAL_RULE,
            learn: false,
            order: 255,
        };
        if let Some(ac) = &lits.recent_ac {
            spans.extend(
                ac.find_overlapping_iter(text)
                    .map(|m| literal(m.start(), m.end())),
            );
        }
        let n_triggers = self.trigger_pats.len();
        // Which rules are triggered, per line (and over the whole text for multiline rules).
        let mut lines: Vec<(usize, usize, u64)> = Vec::new();
        let mut whole_mask = 0u64;
        let bytes = text.as_bytes();
        for m in lits.scan.find_overlapping_iter(text) {
            let p = m.pattern().as_usize();
            if p >= n_triggers {
                spans.push(literal(m.start(), m.end()));
                continue;
            }
            let mask = self.trigger_rules[p];
            whole_mask |= mask;
            if let Some(last) = lines.last_mut()
                && m.start() >= last.0
                && m.end() <= last.1
            {
                last.2 |= mask;
                continue;
            }
            let start = memchr::memrchr(b'\n', &bytes[..m.start()]).map_or(0, |i| i + 1);
            let end =
                memchr::memchr(b'\n', &bytes[m.start()..]).map_or(bytes.len(), |i| m.start() + i);
            match lines.last_mut() {
                // Consecutive triggered lines are read as one region: fewer regex calls. The
                // rules' anchors accept a newline where they accept a line start.
                Some(last) if last.0 == start || last.1 + 1 == start => {
                    last.1 = last.1.max(end);
                    last.2 |= mask;
                }
                _ => lines.push((start, end, mask)),
            }
        }
        drop(lits);
        let mut found: Vec<(usize, usize)> = Vec::new();
        for (start, end, mask) in lines {
            let line_mask = mask & !self.multiline;
            if line_mask == 0 {
                continue;
            }
            // A key whose value continues on the next line (`"password":` / an open quote)
            // is matched together with that line.
            let end = if opens_value(&bytes[start..end]) {
                memchr::memchr(b'\n', &bytes[(end + 1).min(bytes.len())..])
                    .map_or(bytes.len(), |i| end + 1 + i)
            } else {
                end
            };
            let region = &text[start..end];
            for (i, rule) in self.rules.iter().enumerate() {
                if line_mask & (1 << i) == 0 {
                    continue;
                }
                rule_hits(i, rule, region, start, &mut found, spans);
            }
        }
        let ml = whole_mask & self.multiline;
        if ml != 0 {
            for (i, rule) in self.rules.iter().enumerate() {
                if ml & (1 << i) == 0 {
                    continue;
                }
                rule_hits(i, rule, text, 0, &mut found, spans);
            }
        }
    }

    /// Redact a JSON value string by string, so the result stays valid JSON. A string member
    /// whose key names a secret (`client_secret`, `primaryKey`, `SecretText`, ...) is masked
    /// whole.
    pub fn redact_json(
        &self,
        value: &serde_json::Value,
    ) -> (serde_json::Value, BTreeMap<String, u64>) {
        let mut counts = BTreeMap::new();
        let v = self.walk(value, None, &mut counts);
        (v, counts)
    }

    /// Serialize a value as pretty JSON with every string redacted.
    pub fn redact_to_json<T: serde::Serialize>(&self, value: &T) -> serde_json::Result<Redacted> {
        let v = serde_json::to_value(value)?;
        let (v, counts) = self.redact_json(&v);
        Ok(Redacted {
            text: serde_json::to_string_pretty(&v)? + "\n",
            counts,
        })
    }

    fn walk(
        &self,
        v: &serde_json::Value,
        key: Option<&str>,
        counts: &mut BTreeMap<String, u64>,
    ) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::String(s) => {
                if key.is_some_and(is_secret_key) && !s.is_empty() && !already_masked(s) {
                    self.learn([s.clone()]);
                    *counts.entry(FIELD_RULE.to_string()).or_insert(0) += 1;
                    return Value::String(marker(FIELD_RULE));
                }
                let r = self.redact(s);
                for (k, n) in r.counts {
                    *counts.entry(k).or_insert(0) += n;
                }
                Value::String(r.text)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.walk(x, key, counts)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| {
                        let rk = self.redact(k);
                        for (name, n) in rk.counts {
                            *counts.entry(name).or_insert(0) += n;
                        }
                        (rk.text, self.walk(x, Some(k), counts))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Redact an argument vector (a command line): default-deny, see [`cmdline`]. The withheld
    /// values are learned, so they are also removed wherever the tool prints them.
    pub fn redact_argv(&self, argv: &[String]) -> (Vec<String>, BTreeMap<String, u64>) {
        self.argv(argv, true)
    }

    /// A command line entra-collect built itself (`reg query HKLM\...`, `az version`): shown
    /// default-deny like any other, but its withheld values (registry paths, our own script)
    /// are not secrets and are not learned.
    pub fn shown_argv(&self, argv: &[String]) -> (Vec<String>, BTreeMap<String, u64>) {
        self.argv(argv, false)
    }

    fn argv(&self, argv: &[String], learn: bool) -> (Vec<String>, BTreeMap<String, u64>) {
        let san = cmdline::sanitize_argv(argv);
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        if !san.masked.is_empty() {
            counts.insert(cmdline::ARG_RULE.to_string(), san.masked.len() as u64);
        }
        if learn {
            self.learn_masked(&san.masked);
        }
        let mut out = Vec::with_capacity(san.argv.len());
        for a in san.argv {
            let r = self.redact(&a);
            for (k, v) in r.counts {
                *counts.entry(k).or_insert(0) += v;
            }
            out.push(r.text);
        }
        (out, counts)
    }

    /// Learn the values a command-line sanitizer withheld: secret-flag values always (from 4
    /// characters), others when they do not look like an ordinary word (a withheld
    /// `--location westeurope` must not mask every "westeurope" in the logs).
    pub fn learn_masked(&self, masked: &[cmdline::Masked]) {
        let (secret, other): (Vec<_>, Vec<_>) = masked.iter().partition(|m| m.secret_flag);
        self.learn_min(secret.iter().map(|m| m.value.clone()), MIN_LITERAL_LEN);
        self.learn(
            other
                .iter()
                .map(|m| m.value.clone())
                .filter(|v| !plain_word(v)),
        );
    }
}

/// A span that touches a marker from an earlier pass (`[REDACTED:x]@proxy` seen by a rule as
/// `REDACTED:x]`) is widened over the whole marker, so `already_masked` recognises it and a
/// second pass changes nothing.
fn widen_over_markers(text: &str, spans: &mut [Span]) {
    if !text.contains(MARKER_PREFIX) {
        return;
    }
    let markers: Vec<(usize, usize)> = memchr::memmem::find_iter(text.as_bytes(), MARKER_PREFIX)
        .map(|s| (s, text[s..].find(']').map_or(text.len(), |e| s + e + 1)))
        .collect();
    for sp in spans.iter_mut() {
        for &(ms, me) in &markers {
            if ms < sp.end && sp.start < me {
                sp.start = sp.start.min(ms);
                sp.end = sp.end.max(me);
            }
        }
    }
}

/// `client_credential=client_credential` (a traceback's source line): a value that repeats its
/// own key is a variable name in code, not a secret.
fn names_itself(before: &str, value: &str) -> bool {
    if value.len() > 64
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return false;
    }
    let key = before.trim_end_matches(['=', ':', ' ', '\t', '"', '\'']);
    key.len() >= value.len()
        && key.is_char_boundary(key.len() - value.len())
        && key[key.len() - value.len()..].eq_ignore_ascii_case(value)
}

/// `-t` / `--tenant`: an option name, not a value.
fn flag_word(v: &str) -> bool {
    let w = v.strip_prefix("--").or_else(|| v.strip_prefix('-'));
    w.is_some_and(|w| w.len() <= 40 && (kebab_flag(w) || pascal_flag(w)))
}

/// An az / POSIX option name: lowercase words joined by single dashes (`tenant`,
/// `client-secret`, `federated-token`, `ipv6`).
fn kebab_flag(w: &str) -> bool {
    w.split('-').all(|seg| {
        seg.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && seg
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

/// A PowerShell parameter name: capitalised words (`TenantId`, `AccessToken`,
/// `UseDeviceAuthentication`): letters only, every capital followed by a small letter. A
/// secret that merely starts with a dash (`-PU20--btWY0F`, `-Zq8~x`) is neither shape.
fn pascal_flag(w: &str) -> bool {
    let b = w.as_bytes();
    b.first().is_some_and(|c| c.is_ascii_uppercase())
        && b.iter().all(|c| c.is_ascii_alphabetic())
        && b.iter().enumerate().all(|(i, c)| {
            !c.is_ascii_uppercase() || b.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
        })
}

/// A value that reads like an ordinary word or path, not a credential.
fn plain_word(v: &str) -> bool {
    v.len() < 24
        && v.chars()
            .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '.' || c == '/' || c == ' ')
}

/// Values a rule may capture that are not secrets and must not be learned or counted.
fn stop_word(v: &str) -> bool {
    let t = v.trim_matches(|c: char| c == '"' || c == '\'' || c.is_whitespace());
    matches!(
        t.to_ascii_lowercase().as_str(),
        "none"
            | "null"
            | "true"
            | "false"
            | "undefined"
            | "n/a"
            | "<redacted>"
            | "redacted"
            | "hidden"
            | "<hidden>"
            | "not set"
            | "<not set>"
            | "[]"
            | "{}"
    )
}

/// Run rule `i` on `region` (at offset `base` of the text) and add its hits as spans.
fn rule_hits(
    i: usize,
    rule: &Rule,
    region: &str,
    base: usize,
    found: &mut Vec<(usize, usize)>,
    spans: &mut Vec<Span>,
) {
    found.clear();
    rule.find(region, base, found);
    spans.extend(found.iter().map(|&(s, e)| Span {
        start: s,
        end: e,
        rule: rule.name,
        learn: true,
        order: i as u8,
    }));
}

/// Texts at least this long are redacted in parts on several threads.
const PARALLEL_MIN: usize = 4 << 20;

/// Cut a large text into one part per core at blank lines (`\n\n`) where no PEM/PGP block is
/// open: the multi-line rules, the value-on-the-next-line rule and wrapped-token continuation
/// never cross a blank line outside a block. A text without such cuts stays whole.
fn split_for_threads(input: &str) -> Vec<&str> {
    // Length first: `available_parallelism` reads the cgroup files under /proc and /sys on
    // every call (Linux), and a bundle redacts thousands of short strings (issue 17: 0.5 s of
    // the `tls` collector went there).
    if input.len() < PARALLEL_MIN {
        return vec![input];
    }
    let n = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if n < 2 {
        return vec![input];
    }
    let b = input.as_bytes();
    let mut parts = Vec::with_capacity(n);
    let mut from = 0;
    for k in 1..n {
        let target = (input.len() * k / n).max(from);
        let window_end = (target + (1 << 20)).min(b.len());
        let mut cut = None;
        let mut at = target;
        while let Some(p) = memchr::memmem::find(&b[at..window_end], b"\n\n") {
            let pos = at + p + 2;
            if !block_open(&input[from..pos]) {
                cut = Some(pos);
                break;
            }
            at = pos;
        }
        let Some(cut) = cut else { break };
        parts.push(&input[from..cut]);
        from = cut;
    }
    parts.push(&input[from..]);
    parts
}

/// Is a PEM/PGP block begun in `text` and not ended?
fn block_open(text: &str) -> bool {
    match memchr::memmem::rfind(text.as_bytes(), b"-----BEGIN") {
        Some(i) => memchr::memmem::find(&text.as_bytes()[i..], b"-----END").is_none(),
        None => false,
    }
}

/// Does this line end with a key whose value starts on the next line, or an open string?
/// The redactor then reads the next line with it, and the live view holds the line back.
pub(crate) fn opens_value(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let t = text.trim_end();
    t.ends_with(':') || t.ends_with('=') || t.bytes().filter(|&b| b == b'"').count() % 2 == 1
}

/// A secret that runs to the end of its line continues on the next when the tool wrapped it
/// (console width, a JSON string split by a newline, interleaved output): extend such spans
/// over the following lines' leading token characters.
fn extend_over_continuations(text: &str, spans: &mut [Span]) {
    let b = text.as_bytes();
    let token = |c: u8| c.is_ascii_alphanumeric() || b"._~+/=-%\\*".contains(&c);
    for s in spans.iter_mut() {
        for _ in 0..64 {
            let mut i = s.end;
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            // Only when the secret reaches the end of its line with no closing delimiter.
            if i >= b.len() || !(b[i] == b'\n' || b[i] == b'\r') || s.end == s.start {
                break;
            }
            if !b[s.end - 1].is_ascii_alphanumeric() && !b"_-+/=".contains(&b[s.end - 1]) {
                break;
            }
            if b[i] == b'\r' {
                i += 1;
            }
            if i >= b.len() || b[i] != b'\n' {
                break;
            }
            i += 1;
            let mut j = i;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            let t0 = j;
            while j < b.len() && token(b[j]) {
                j += 1;
            }
            let run = j - t0;
            // The rest of the line after the run may only close the value.
            let mut k = j;
            while k < b.len()
                && matches!(
                    b[k],
                    b'"' | b'\'' | b',' | b'}' | b']' | b' ' | b'\t' | b';'
                )
            {
                k += 1;
            }
            let line_ends = k >= b.len() || b[k] == b'\n' || b[k] == b'\r';
            if run < 8 || !line_ends {
                break;
            }
            // Not a new log line: those start with a word and a colon, or a date.
            let piece = &text[t0..j];
            if piece.contains("://") || piece.chars().all(|c| c.is_ascii_lowercase()) {
                break;
            }
            s.end = j;
        }
    }
}

/// How many lines around a secret are searched for an orphaned piece of it.
const ORPHAN_LINES: usize = 3;

/// When a tool's stdout and stderr interleave, the rest of a token can land on a line of its
/// own, before or after the line that held its start. A line that is nothing but one
/// token-like run (16+ base64url characters with upper case, lower case and digits; not a GUID,
/// not a path) within three lines of a masked secret is taken for such a piece.
fn orphan_pieces(text: &str, spans: &mut Vec<Span>) {
    if spans.is_empty() {
        return;
    }
    let b = text.as_bytes();
    let line_at = |i: usize| {
        let s = memchr::memrchr(b'\n', &b[..i]).map_or(0, |p| p + 1);
        let e = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p);
        (s, e)
    };
    // Each line that holds a secret once, in order; each neighbour line examined once.
    let mut starts: Vec<usize> = spans
        .iter()
        .map(|sp| sp.start.min(b.len().saturating_sub(1)))
        .collect();
    starts.sort_unstable();
    let mut extra = Vec::new();
    let mut done_to = 0usize; // lines starting before this were examined already
    let mut last_line = usize::MAX;
    for st in starts {
        let (ls, le) = line_at(st);
        if ls == last_line {
            continue;
        }
        last_line = ls;
        // Lines before.
        let mut s = ls;
        let mut before = Vec::new();
        for _ in 0..ORPHAN_LINES {
            if s == 0 {
                break;
            }
            let (ps, _) = line_at(s - 1);
            if ps < done_to {
                break;
            }
            before.push((ps, s - 1));
            s = ps;
        }
        for (ps, pe) in before {
            extra.extend(orphan(text, ps, pe));
        }
        // Lines after.
        let mut e = le;
        for _ in 0..ORPHAN_LINES {
            if e >= b.len() {
                break;
            }
            let (_, ne) = line_at(e + 1);
            extra.extend(orphan(text, e + 1, ne));
            e = ne;
        }
        done_to = done_to.max(e + 1);
    }
    spans.extend(extra);
}

/// The span of the line `text[s..e]` if it is one orphaned token piece.
fn orphan(text: &str, s: usize, e: usize) -> Option<Span> {
    let line = &text[s..e];
    let t = line.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',');
    if t.len() < 16 || t.len() > 4096 {
        return None;
    }
    let ok = t
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"-_.~+/=".contains(&c));
    if !ok
        || !entropy::mixed(t.as_bytes())
        || t.contains('/') && t.split('/').all(|p| p.len() < 24)
        || is_guid_like(t)
    {
        return None;
    }
    let start = s + (t.as_ptr() as usize - line.as_ptr() as usize);
    Some(Span {
        start,
        end: start + t.len(),
        rule: ENTROPY_RULE,
        learn: true,
        order: 254,
    })
}

/// Replace every complete line of `text` that is one orphan-shaped token (see [`orphan`]) with
/// a marker; the first line counts only when `starts_at_line_start`. For the live view.
pub(crate) fn mask_lone_token_lines(
    text: &str,
    starts_at_line_start: bool,
) -> std::borrow::Cow<'_, str> {
    let mut out = String::new();
    let mut last = 0;
    let mut start = 0;
    let mut first = true;
    while let Some(p) = text[start..].find('\n') {
        let end = start + p;
        if (!first || starts_at_line_start)
            && let Some(sp) = orphan(text, start, end)
        {
            out.push_str(&text[last..sp.start]);
            out.push_str(&marker(ENTROPY_RULE));
            last = sp.end;
        }
        first = false;
        start = end + 1;
    }
    if last == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

/// A GUID, or a run made only of hex digits and dashes (ids, hashes, versions).
fn is_guid_like(t: &str) -> bool {
    t.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-')
}

/// Sort spans and merge those that overlap; the earliest-starting rule names the merged span.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    // A rule's name is more telling than "known-secret-value" for the same span.
    spans.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(a.order.cmp(&b.order))
    });
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start < last.end => {
                last.end = last.end.max(s.end);
                last.learn |= s.learn;
            }
            _ => out.push(s),
        }
    }
    out
}

/// The text the rules read: the input without ANSI escape sequences and NUL bytes (UTF-16LE
/// output read as bytes), with a map back to the input's byte offsets.
struct View<'a> {
    input: &'a str,
    stripped: Option<(String, Vec<usize>)>,
}

impl<'a> View<'a> {
    fn new(input: &'a str) -> Self {
        if memchr::memchr2(0x1b, 0, input.as_bytes()).is_none() {
            return View {
                input,
                stripped: None,
            };
        }
        let b = input.as_bytes();
        let mut text = String::with_capacity(input.len());
        let mut map = Vec::with_capacity(input.len() + 1);
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                0 => i += 1,
                0x1b => {
                    i = skip_escape(b, i);
                    // A malformed sequence may end inside a character: resume at the next one.
                    while i < b.len() && !input.is_char_boundary(i) {
                        i += 1;
                    }
                }
                _ => {
                    let ch = input[i..].chars().next().expect("char boundary");
                    for k in 0..ch.len_utf8() {
                        map.push(i + k);
                    }
                    text.push(ch);
                    i += ch.len_utf8();
                }
            }
        }
        map.push(input.len());
        View {
            input,
            stripped: Some((text, map)),
        }
    }

    fn text(&self) -> &str {
        match &self.stripped {
            Some((t, _)) => t,
            None => self.input,
        }
    }

    /// The input range of a view range.
    fn original(&self, start: usize, end: usize) -> (usize, usize) {
        match &self.stripped {
            None => (start, end),
            Some((_, map)) => (map[start], map[end - 1] + 1),
        }
    }
}

/// The end of the escape sequence starting at `i` (CSI, OSC, or a two-byte escape).
fn skip_escape(b: &[u8], i: usize) -> usize {
    match b.get(i + 1) {
        Some(b'[') => {
            let mut j = i + 2;
            while j < b.len() && (0x20..=0x3f).contains(&b[j]) {
                j += 1;
            }
            (j + 1).min(b.len())
        }
        Some(b']') => {
            let mut j = i + 2;
            while j < b.len() && b[j] != 0x07 && !(b[j] == 0x1b && b.get(j + 1) == Some(&b'\\')) {
                j += 1;
            }
            if j < b.len() && b[j] == 0x1b {
                j + 2
            } else {
                (j + 1).min(b.len())
            }
        }
        Some(c) if c.is_ascii() => i + 2,
        _ => i + 1,
    }
}

impl Pii {
    /// Replace in place; the replacements per rule.
    fn apply(&self, text: &mut String) -> Vec<(&'static str, u64)> {
        let mut counts = Vec::new();
        if self.users {
            if text.contains('@') {
                let (new, n) = self.emails(text);
                if n > 0 {
                    *text = new;
                    counts.push((rules::PII_RULE, n));
                }
            }
            let (new, n) = self.paths(text);
            if n > 0 {
                *text = new;
                counts.push((rules::PII_PATH_RULE, n));
            }
        }
        if let Some(host) = &self.host {
            let mut n = 0u64;
            let new = host.replace_all(text, |c: &regex::Captures| {
                n += 1;
                format!("{}{HOST_PSEUDONYM}{}", &c["pre"], &c["post"])
            });
            if n > 0 {
                *text = new.into_owned();
                counts.push((rules::PII_HOST_RULE, n));
            }
        }
        counts
    }

    /// The pseudonym number of a user name (the local part of an address or a path's user).
    fn number(names: &mut HashMap<String, usize>, key: String) -> usize {
        let next = names.len() + 1;
        *names.entry(key).or_insert(next)
    }

    /// `C:\Users\alice\...`, `/home/alice/...`, `/Users/alice/...`: the user name becomes the
    /// pseudonym its e-mail local part would get. Shared profile folders stay.
    fn paths(&self, text: &str) -> (String, u64) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0u64;
        let out = self.path_regex.replace_all(text, |c: &regex::Captures| {
            let user = c
                .name("spaced")
                .or_else(|| c.name("user"))
                .map_or("", |m| m.as_str());
            let sep = c.name("sep").map_or("", |m| m.as_str());
            const SHARED: [&str; 5] = ["public", "default", "default user", "all users", "shared"];
            if user.starts_with("pii-user-") || SHARED.contains(&user.to_ascii_lowercase().as_str())
            {
                return c[0].to_string();
            }
            n += 1;
            let id = Self::number(&mut names, user.to_ascii_lowercase());
            format!("{}pii-user-{id}{sep}", &c["pre"])
        });
        (out.into_owned(), n)
    }

    fn emails(&self, text: &str) -> (String, u64) {
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
            let id = Self::number(&mut names, key);
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

fn marker(rule: &str) -> String {
    format!("{MARKER_PREFIX}{rule}]")
}

/// A span that is already a marker (with nothing but quotes, escapes and punctuation around
/// it), or a tool's own mask (az writes `*****` and `{}`), is left alone so that counts report
/// real secrets only and a second pass changes nothing.
fn already_masked(s: &str) -> bool {
    if s.is_empty() || s == "{}" || s.bytes().all(|b| b == b'*') || stop_word(s) {
        return true;
    }
    if !s.contains(MARKER_PREFIX) {
        return false;
    }
    let mut rest = String::with_capacity(s.len());
    let mut t = s;
    while let Some(i) = t.find(MARKER_PREFIX) {
        rest.push_str(&t[..i]);
        t = &t[i..];
        match t.find(']') {
            Some(j) => t = &t[j + 1..],
            None => {
                t = "";
            }
        }
    }
    rest.push_str(t);
    !rest.chars().any(|c| c.is_alphanumeric())
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

/// [`catalogue`] with the descriptions in `lang`.
pub fn catalogue_in(lang: crate::vocab::Lang) -> Vec<RuleRow> {
    let mut rows = catalogue();
    if lang == crate::vocab::Lang::Ja {
        for r in &mut rows {
            if let Some(ja) = rules::description_ja(r.name) {
                r.matches = ja;
            }
        }
    }
    rows
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
    let lit_example =
        "AZURE_DEVOPS_EXT_PAT=Zq8~value ... later: WnE4fnZhbHVl (base64), Zq8%7Evalue";
    rows.push(RuleRow {
        name: LITERAL_RULE,
        matches: "every secret seen: withheld command-line values and variables, secret environment values (from 4 characters), and every rule hit of 6 characters or more, wherever it appears later, raw, URL-encoded (%20 and +), JSON- and backslash-escaped, base64 and base64url at any alignment, hex, and in UTF-16LE text",
        example: lit_example.to_string(),
        redacted: Redactor::with_literals(["Zq8~value"]).redact(lit_example).into_string(),
    });
    let arg_example =
        "az login --service-principal -u app -pZq8~s3cret --tenant contoso.onmicrosoft.com";
    let argv: Vec<String> = arg_example.split(' ').map(str::to_string).collect();
    rows.push(RuleRow {
        name: cmdline::ARG_RULE,
        matches: "default-deny for command lines we record (manifest, debug-log header, stderr): the program, subcommands and option names stay; a value stays only for an allowlisted option of az, Connect-AzAccount, Connect-MgGraph, PowerShell or entra-collect; PowerShell scripts are tokenized and every other literal is withheld",
        example: arg_example.to_string(),
        redacted: plain.redact_argv(&argv).0.join(" "),
    });
    let ent_example = "client assertion: q8Zr3Lw9Xk2PfT7vNb4YcH1sJm6GdR0aUe5WiOpQ";
    rows.push(RuleRow {
        name: ENTROPY_RULE,
        matches: "a run of 32 or more base64, base64url or hex characters with high entropy within 256 characters after a secret keyword (key, secret, token, password, credential, assertion, signature, cert, auth, ...), and dot-separated base64url runs shaped like a JWT body anywhere; never GUIDs, paths or runs marked as a hash or thumbprint",
        example: ent_example.to_string(),
        redacted: Redactor::new().redact(ent_example).into_string(),
    });
    rows.push(RuleRow {
        name: TRUNCATED_RULE,
        matches: "the incomplete last line of output cut at the capture limit (it may hold the first part of a secret)",
        example: "...\n{\"accessToken\": \"eyJ0eXAiOi (cut here)".to_string(),
        redacted: "...\n[REDACTED:truncated-line]".to_string(),
    });
    // A redactor per row: each example numbers its pseudonyms from 1.
    let pii = || {
        Redactor::with_options(Options {
            literals: Vec::new(),
            mask_pii: true,
            mask_host: Some("PC01".into()),
        })
    };
    for (name, matches, example) in [
        (rules::PII_RULE, rules::PII_DESCRIPTION, rules::PII_EXAMPLE),
        (
            rules::PII_PATH_RULE,
            rules::PII_PATH_DESCRIPTION,
            rules::PII_PATH_EXAMPLE,
        ),
        (
            rules::PII_HOST_RULE,
            rules::PII_HOST_DESCRIPTION,
            rules::PII_HOST_EXAMPLE,
        ),
    ] {
        rows.push(RuleRow {
            name,
            matches,
            example: example.to_string(),
            redacted: pii().redact(example).into_string(),
        });
    }
    rows
}
