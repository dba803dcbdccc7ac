//! The shared vocabulary: plain types (and one pure helper) that several layers name. It sits
//! at the bottom of the module graph and imports nothing from the crate but `platform`, so any
//! module may use it without creating a cycle (`arch_tests` checks the graph).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::platform::Platform;

/// A snapshot of the environment taken once at start, so collectors are deterministic and
/// testable. Lookups are case-insensitive on Windows, as there.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    case_insensitive: bool,
}

impl Env {
    pub fn capture(platform: Platform) -> Self {
        let vars = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Env {
            vars,
            case_insensitive: platform.is_windows(),
        }
    }

    /// An environment of these variables only (tests).
    #[cfg(test)]
    pub fn from_pairs<I, K, V>(pairs: I, case_insensitive: bool) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            case_insensitive,
        }
    }

    /// The value of `name` (exact name first, then any case on Windows).
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.vars.get(name) {
            return Some(v);
        }
        if self.case_insensitive {
            return self
                .vars
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str());
        }
        None
    }

    /// The value of exactly `name` (no case folding).
    pub fn vars_exact(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn home_dir(&self, platform: Platform) -> Option<PathBuf> {
        let key = if platform.is_windows() {
            "USERPROFILE"
        } else {
            "HOME"
        };
        self.get(key).filter(|v| !v.is_empty()).map(PathBuf::from)
    }
}

/// Output language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    /// `ja` for Japanese locales (LC_ALL, then LC_MESSAGES, then LANG), else `en`.
    pub fn from_locale(
        lc_all: Option<&str>,
        lc_messages: Option<&str>,
        lang: Option<&str>,
    ) -> Lang {
        Lang::from_locale_vars(lc_all, lc_messages, lang).unwrap_or(Lang::En)
    }

    /// What the first of LC_ALL, LC_MESSAGES, LANG that is set (and not empty) asks for: `ja`
    /// for a Japanese locale, else `en`; None when none is set (Windows, usually).
    pub fn from_locale_vars(
        lc_all: Option<&str>,
        lc_messages: Option<&str>,
        lang: Option<&str>,
    ) -> Option<Lang> {
        let chosen = [lc_all, lc_messages, lang]
            .into_iter()
            .flatten()
            .find(|v| !v.is_empty())?;
        Some(if chosen.to_ascii_lowercase().starts_with("ja") {
            Lang::Ja
        } else {
            Lang::En
        })
    }

    /// A Windows LANGID (`GetUserDefaultUILanguage`): `ja` when its primary language (the low
    /// 10 bits) is Japanese, 0x11 (0x0411 is ja-JP), else `en`.
    pub fn from_langid(langid: u16) -> Lang {
        if langid & 0x3ff == 0x11 {
            Lang::Ja
        } else {
            Lang::En
        }
    }

    /// Pick the text for this language.
    pub fn t(self, en: &str, ja: &str) -> String {
        match self {
            Lang::En => en.to_string(),
            Lang::Ja => ja.to_string(),
        }
    }
}

/// The bundle's text entries by name.
pub type Texts = BTreeMap<String, String>;

/// Which Azure cloud's endpoints to probe (`public`, `usgov`, `china` in the bundle).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Azure's global cloud.
    Public,
    /// Azure Government (US).
    UsGov,
    /// Azure operated by 21Vianet (China).
    China,
}

/// Settings for the network collectors.
#[derive(Debug, Clone, Copy)]
pub struct NetworkConfig {
    pub probes: bool,
    /// The probes are off because ENTRA_COLLECT_NO_NETWORK is set (not `--no-network`).
    pub probes_off_by_env: bool,
    pub cloud: Cloud,
    pub stage_timeout: Duration,
}

/// Numeric ordering of dotted versions ("14.2.0" > "9.0.1").
pub fn version_key(v: &str) -> Vec<u64> {
    v.split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_langids_map_to_languages() {
        // ja-JP, and Japanese with a sublanguage / custom sort bits set.
        for id in [0x0411, 0x0011, 0x0811, 0x0c11] {
            assert_eq!(Lang::from_langid(id), Lang::Ja, "{id:#06x}");
        }
        // en-US, en-GB, zh-CN, ko-KR, de-DE, neutral, and 0x0111 (primary 0x111, not 0x11).
        for id in [0x0409, 0x0809, 0x0804, 0x0412, 0x0407, 0x0000, 0x0111] {
            assert_eq!(Lang::from_langid(id), Lang::En, "{id:#06x}");
        }
    }

    #[test]
    fn locale_variables_decide_only_when_one_is_set() {
        assert_eq!(Lang::from_locale_vars(None, None, None), None);
        assert_eq!(Lang::from_locale_vars(Some(""), Some(""), Some("")), None);
        assert_eq!(
            Lang::from_locale_vars(None, None, Some("ja_JP.UTF-8")),
            Some(Lang::Ja)
        );
        assert_eq!(
            Lang::from_locale_vars(Some("C"), None, Some("ja_JP.UTF-8")),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_locale_vars(None, Some("ja_JP"), Some("en_US")),
            Some(Lang::Ja)
        );
    }
}

/// The two-language catalogue is the set of `Lang::t(en, ja)` call sites (`lang.t(..)`,
/// `l.t(..)`): this test reads them from the source and checks that each has a Japanese text
/// that is not empty, not the English one, and not ASCII only.
#[cfg(test)]
mod catalogue_tests {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("src/ reads").flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The end of a string literal starting at `i` (a `"` or `r#"`), or None.
    fn literal_at(b: &[char], i: usize) -> Option<(String, usize)> {
        let (hashes, mut j) = if b[i] == 'r' {
            let mut j = i + 1;
            while b.get(j) == Some(&'#') {
                j += 1;
            }
            (j - i - 1, j)
        } else {
            (0, i)
        };
        if b.get(j) != Some(&'"') {
            return None;
        }
        j += 1;
        let mut text = String::new();
        while j < b.len() {
            if hashes == 0 && b[j] == '\\' {
                text.push(b[j]);
                text.push(*b.get(j + 1)?);
                j += 2;
                continue;
            }
            if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                return Some((text, j + 1 + hashes));
            }
            text.push(b[j]);
            j += 1;
        }
        None
    }

    /// The two arguments of the call whose `(` is at `open`: the first string literal of each
    /// (None for an argument without one, e.g. a variable).
    fn args(b: &[char], open: usize) -> Vec<Option<String>> {
        let mut out = vec![None];
        let mut depth = 0;
        let mut i = open + 1;
        while i < b.len() {
            let c = b[i];
            let raw =
                c == 'r' && matches!(b.get(i + 1), Some('"' | '#')) && !b[i - 1].is_alphanumeric();
            if c == '"' || raw {
                if let Some((text, end)) = literal_at(b, i) {
                    let last = out.last_mut().expect("one argument at least");
                    if last.is_none() {
                        *last = Some(text);
                    }
                    i = end;
                    continue;
                }
            }
            if c == '\'' {
                // A char literal ('x', '\n'); lifetimes do not occur in these arguments.
                if b.get(i + 2) == Some(&'\'') {
                    i += 3;
                    continue;
                }
                if b.get(i + 1) == Some(&'\\') && b.get(i + 3) == Some(&'\'') {
                    i += 4;
                    continue;
                }
            }
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => return out,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => out.push(None),
                _ => {}
            }
            i += 1;
        }
        out
    }

    #[test]
    fn every_english_text_has_a_japanese_one() {
        let mut files = Vec::new();
        rust_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut sites = 0;
        let mut bad = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("source reads");
            // Comments are not call sites, nor is this test's own text.
            let text = text.split("mod catalogue_tests").next().unwrap_or("");
            let text: String = text
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("//") {
                        ""
                    } else {
                        l
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            let b: Vec<char> = text.chars().collect();
            for (i, _) in b.iter().enumerate() {
                let call = ["lang.t(", "l.t("].iter().find(|p| {
                    let p: Vec<char> = p.chars().collect();
                    b[i..].starts_with(&p)
                        && (i == 0
                            || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_' || b[i - 1] == '.'))
                });
                let Some(call) = call else { continue };
                let open = i + call.chars().count() - 1;
                let a = args(&b, open);
                let line = b[..i].iter().filter(|c| **c == '\n').count() + 1;
                let at = format!("{}:{line}", f.display());
                match a.as_slice() {
                    [Some(en), Some(ja)] | [Some(en), Some(ja), _] => {
                        sites += 1;
                        if ja.trim().is_empty() || ja == en || ja.is_ascii() {
                            bad.push(format!("{at}: {en:?} / {ja:?}"));
                        }
                    }
                    // Texts computed elsewhere (a variable): checked where they are written.
                    [_, _] | [_, _, _] => {}
                    other => bad.push(format!("{at}: not two arguments: {other:?}")),
                }
            }
        }
        assert!(
            sites > 200,
            "only {sites} call sites found: the scan is broken"
        );
        assert!(
            bad.is_empty(),
            "texts without a Japanese version:\n{}",
            bad.join("\n")
        );
    }
}
