//! Text that came from somewhere untrusted (a received bundle, a tool's output), made safe to
//! print on a terminal.
//!
//! A terminal acts on control characters: `ESC [ 2 J` clears the screen, `ESC [ 8 m` hides what
//! follows, a carriage return overwrites a line, Unicode bidi overrides reorder what the reader
//! sees. Every such character is replaced by a visible escape: C0 controls (U+0000–U+001F),
//! DEL and C1 controls (U+007F–U+009F) as `\x1b`, bidi overrides, embeddings, isolates and marks
//! (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) as `\u{202e}`. A backslash is left
//! as it is (Windows paths stay readable), so an escape cannot be told from the same characters
//! typed literally; it can never act on the terminal either way.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal raw.
fn dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fn escape_with(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| dangerous(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !dangerous(c) || keep(c) {
            out.push(c);
        } else if (c as u32) <= 0x9f {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// Whether `s` holds nothing [`terminal_safe`] would escape.
pub fn is_terminal_safe(s: &str) -> bool {
    !s.chars().any(dangerous)
}

/// One line of untrusted text (a name, a field): every control character, newlines and tabs
/// included, and every bidi control becomes a visible escape.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    escape_with(s, |_| false)
}

/// Multi-line untrusted text: as [`terminal_safe`], but `\n` and `\t` are kept.
pub fn terminal_safe_text(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| c == '\n' || c == '\t')
}

/// A serialized JSON document made safe to print: serde_json already writes C0 controls as
/// `\u00XX`; DEL, C1 controls and bidi controls are written raw, so they become `\u007f`-style
/// JSON escapes here. Outside strings a JSON document is ASCII without controls (bar
/// whitespace), so this only touches string contents and the parsed value is unchanged.
pub fn json_terminal_safe(json: &str) -> Cow<'_, str> {
    if !json.chars().any(|c| dangerous(c) && (c as u32) >= 0x7f) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if dangerous(c) && (c as u32) >= 0x7f {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_become_visible_escapes() {
        assert_eq!(
            terminal_safe("a\u{1b}[2Jb\u{7f}\u{9b}c\u{202e}d\u{2066}\n\t\r"),
            "a\\x1b[2Jb\\x7f\\x9bc\\u{202e}d\\u{2066}\\x0a\\x09\\x0d"
        );
        assert_eq!(
            terminal_safe_text("x\u{1b}[8m\nnext\tcol\r"),
            "x\\x1b[8m\nnext\tcol\\x0d"
        );
        assert!(matches!(
            terminal_safe("plain é ü 日本 \\x1b"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_stays_json_with_the_same_value() {
        let v = serde_json::json!({"k\u{202e}": "a\u{1b}b\u{85}c\u{2069}\u{7f}"});
        let s = serde_json::to_string(&v).unwrap();
        let safe = json_terminal_safe(&s);
        assert!(safe.chars().all(|c| !dangerous(c)), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }
}
