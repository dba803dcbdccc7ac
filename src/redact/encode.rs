//! The forms a known secret takes when a tool writes it out: raw, URL-encoded (`%20` and `+`,
//! with and without `/` kept), JSON- and backslash-escaped, Python's `\uXXXX` escaping and its
//! repr() of a value with both quotes, PowerShell's doubled quote, base64 and base64url at each
//! of the three byte alignments, and hex. The redactor searches every form at once (one
//! Aho-Corasick automaton, ASCII case-insensitive, which also covers upper- and lower-case hex and
//! percent escapes).
//!
//! UTF-16LE text needs no form of its own: the redactor reads text with NUL bytes through a view
//! that drops them (see `View` in mod.rs), where the raw form matches.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Every form of `secret` that is at least `min` characters long, deduplicated.
pub fn forms(secret: &str, min: usize) -> Vec<String> {
    let mut v: Vec<String> = vec![secret.to_string()];
    v.push(percent(secret, Space::Percent, false));
    v.push(percent(secret, Space::Plus, false));
    // urllib.parse.quote keeps '/' by default.
    v.push(percent(secret, Space::Percent, true));
    v.push(json_escape(secret, false));
    v.push(json_escape(secret, true));
    v.push(backslash_escape(secret));
    v.push(py_repr_single(secret));
    v.push(secret.replace('\'', "''"));
    // cmd.exe / batch quoting (az.cmd on Windows echoes arguments with `"` doubled).
    v.push(secret.replace('"', "\"\""));
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for k in 0..3 {
            v.push(aligned_base64(secret.as_bytes(), k, engine));
        }
    }
    v.push(hex::encode(secret.as_bytes()));
    v.retain(|f| f.chars().count() >= min);
    v.sort();
    v.dedup();
    v
}

#[derive(Clone, Copy, PartialEq)]
enum Space {
    Percent,
    Plus,
}

fn percent(s: &str, space: Space, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            b' ' if space == Space::Plus => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// JSON string escaping (serde's and Python's json.dumps, which also escapes non-ASCII).
fn json_escape(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii_only && !c.is_ascii() => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Python repr / shell style: backslash before backslash and both quotes.
fn backslash_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '\\' | '\'' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Inside Python's repr() of a str holding both quote kinds: single-quoted, so `\` and `'` are
/// escaped and `"` is not. az --debug logs its arguments that way (`Command arguments: ['-p',
/// 'q"x\'y']`); neither the raw secret nor [`backslash_escape`] matches that text.
fn py_repr_single(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(c, '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The base64 characters that depend only on `secret` when it starts at byte offset `k` (mod 3)
/// of a longer encoded stream: the text to look for inside any base64 blob that contains it.
fn aligned_base64(secret: &[u8], k: usize, engine: &base64::engine::GeneralPurpose) -> String {
    let mut buf = vec![0u8; k];
    buf.extend_from_slice(secret);
    let enc = engine.encode(&buf);
    let start = (8 * k).div_ceil(6);
    let end = (8 * (k + secret.len())) / 6;
    if start >= end || end > enc.len() {
        return String::new();
    }
    enc[start..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_forms_are_found_inside_longer_blobs() {
        let secret = "Zq8~s3cret!value";
        let f = forms(secret, 6);
        for prefix in ["", "a", "ab", "abc", "user:"] {
            let blob = STANDARD_NO_PAD.encode(format!("{prefix}{secret}tail"));
            assert!(f.iter().any(|x| blob.contains(x.as_str())), "{prefix}");
            let blob = URL_SAFE_NO_PAD.encode(format!("{prefix}{secret}"));
            assert!(f.iter().any(|x| blob.contains(x.as_str())), "url {prefix}");
        }
    }

    #[test]
    fn escaped_forms() {
        let f = forms("a b\"c'd/é", 4);
        for want in [
            "a%20b%22c%27d%2F%C3%A9",
            "a+b%22c%27d%2F%C3%A9",
            "a%20b%22c%27d/%C3%A9",
            "a b\\\"c'd/é",
            "a b\\\"c'd/\\u00e9",
            "a b\\\"c\\'d/é",
            "a b\"c\\'d/é",
            "a b\"c''d/é",
        ] {
            assert!(f.iter().any(|x| x == want), "{want} in {f:?}");
        }
        assert!(f.contains(&hex::encode("a b\"c'd/é")));
    }

    #[test]
    fn short_forms_are_dropped() {
        assert!(forms("abcd", 6).is_empty() || forms("abcd", 6).iter().all(|f| f.len() >= 6));
    }
}
