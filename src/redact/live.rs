//! The live view of a program's output: redacted line by line, bounded, with prompts released
//! after a short silence.
//!
//! [`LiveFilter`] is a pure state machine (no I/O, no clock of its own): it is given the bytes
//! a program wrote, chunk by chunk, and returns the bytes that are safe to show now.
//!
//! - Complete lines (ended by `\n` or `\r`) are shown after [`Redactor::redact`], one call per
//!   [`LiveFilter::push`] over all the complete lines it can release.
//! - A complete line the next line may continue is held back: one whose redaction ends in a
//!   redaction marker (a wrapped token) or that opens a value (ends in `:` or `=`, or leaves a
//!   `"` open). It is shown with the next line(s), redacted together so the redactor can extend
//!   the mask, or after [`LiveOptions::idle`], or at the end. A chain of such lines is let go
//!   when the window fills or after 64 rounds (each round redacts it again).
//! - An unterminated line (a prompt: "Password: ", "... enter the code ABC to authenticate.") is
//!   shown, redacted, once no input arrived for [`LiveOptions::idle`]. What was shown of it is
//!   remembered: when the rest of the line comes, the whole line is redacted again and only
//!   what follows the part already shown is shown.
//! - Multi-line blocks, a PEM `-----BEGIN ...-----` without its `-----END ...-----` yet or an
//!   open JSON object / array (bracket depth outside strings), are held until they close and
//!   then redacted as one text, so a key written in several pieces is masked as a whole. A block
//!   is let go early when the window fills or when no input came for
//!   [`LiveOptions::block_idle`]; a private key let go early has its body masked up to its end
//!   line, wherever later chunks put it.
//! - Bounded: at most [`LiveOptions::window`] bytes are held. A line longer than that is cut;
//!   see [`LiveFilter::push`] for the policy at a cut. Each input byte is scanned a constant
//!   number of times.
//!
//! Invalid UTF-8 is shown lossily; a cut never splits a multi-byte character.

use std::io::Write;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::{MARKER_PREFIX, Redactor};

/// Shown where the live view leaves out the rest of a line because a secret may straddle a cut.
pub const LIVE_CUT_MARKER: &str = "[REDACTED:live-cut]";

/// Bytes kept back after a forced cut as the start of the next window (lookahead) ...
const CUT_TAIL: usize = 512;
/// ... and bytes before a cut kept as already-shown context (lookbehind).
const CONTEXT: usize = 512;
/// The smallest window the filter accepts (room for context, tail and progress).
pub const MIN_WINDOW: usize = 8 * CUT_TAIL;
/// Rounds a chain of held lines may grow by before it is shown anyway: the redactor extends a
/// mask over at most 64 continuation lines, and each round redacts the chain again.
const MAX_HOLD_ROUNDS: u32 = 64;

/// Tuning of a [`LiveFilter`].
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Most bytes held at any time (raised to [`MIN_WINDOW`]).
    pub window: usize,
    /// Silence after which an unterminated line (a prompt) is shown.
    pub idle: Duration,
    /// Silence after which an open multi-line block is let go.
    pub block_idle: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            window: 64 * 1024,
            idle: Duration::from_millis(200),
            block_idle: Duration::from_secs(1),
        }
    }
}

/// What the filter is dropping instead of holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Withhold {
    None,
    /// The rest of the current line (a secret may straddle a cut).
    Line,
    /// The body of a private key let go before its end line; `dash` is a `-` at the end of the
    /// previous chunk whose meaning the next byte decides.
    Pem {
        dash: bool,
    },
}

/// Multi-line block tracking over complete lines (heuristics).
#[derive(Debug, Default, Clone)]
struct Blocks {
    /// Inside a PEM block; true for a private key.
    pem: Option<bool>,
    /// JSON-ish bracket depth outside double-quoted strings.
    depth: u32,
}

/// Depth beyond which brackets are no longer counted (runaway heuristics).
const MAX_DEPTH: u32 = 64;

impl Blocks {
    fn open(&self) -> bool {
        self.pem.is_some() || self.depth > 0
    }
    fn private_key_open(&self) -> bool {
        self.pem == Some(true)
    }
    fn line(&mut self, line: &[u8]) {
        let t = line.trim_ascii();
        if let Some(rest) = t.strip_prefix(b"-----BEGIN ")
            && rest.ends_with(b"-----")
        {
            // A block that ends on its own line (`\n` escapes, or already redacted:
            // `-----BEGIN PRIVATE KEY-----[REDACTED:private-key]-----END PRIVATE KEY-----`) is
            // not open: holding the lines after it as a key body would hold them to the window
            // and then withhold the text that follows as if it were the key.
            if memchr::memmem::find(rest, b"-----END ").is_none() {
                self.pem = Some(memchr::memmem::find(rest, b"PRIVATE KEY").is_some());
            }
            return;
        }
        if self.pem.is_some() {
            if t.starts_with(b"-----END ") {
                self.pem = None;
            }
            return;
        }
        if self.depth == 0 && !matches!(t.last(), Some(b'{' | b'[' | b'm')) {
            // Only a line ending in `{` or `[` (possibly followed by a colour reset) opens a
            // block: brackets in ordinary log lines ("[INFO]", a cut-off dict) do not.
            return;
        }
        // JSON strings do not span lines: the quote state starts afresh on every line.
        // Terminal escape sequences (ESC [ ... final byte) are skipped.
        let (mut in_str, mut esc, mut csi) = (false, false, 0u8);
        let mut depth = self.depth;
        let mut last = 0u8;
        for &b in line {
            if csi == 1 {
                csi = if b == b'[' { 2 } else { 0 };
                continue;
            }
            if csi == 2 {
                if (0x40..=0x7e).contains(&b) {
                    csi = 0;
                }
                continue;
            }
            if b == 0x1b {
                csi = 1;
                continue;
            }
            if !b.is_ascii_whitespace() {
                last = b;
            }
            if in_str {
                if esc {
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    in_str = false;
                }
                continue;
            }
            match b {
                b'"' => in_str = true,
                b'{' | b'[' => depth = (depth + 1).min(MAX_DEPTH),
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        self.depth = if self.depth == 0 {
            // Not in a block: only an opening line starts one.
            if matches!(last, b'{' | b'[') {
                depth.max(1)
            } else {
                0
            }
        } else {
            depth
        };
    }
}

/// Redacts a program's output for the live view. See the module documentation.
pub struct LiveFilter {
    redactor: Arc<Redactor>,
    opts: LiveOptions,
    /// Bytes not shown yet, except `pending[..ctx]`, which were shown already.
    pending: Vec<u8>,
    /// `pending[..scanned]` has been searched for line ends.
    scanned: usize,
    /// Start of the current unterminated line in `pending`.
    line_start: usize,
    /// End of the complete lines that no open block holds back (0: none).
    release_to: usize,
    /// `pending[..ctx]`: the start of the current line, already shown (context for the rest).
    ctx: usize,
    /// `redact(pending[..ctx])`: what the next release of this line is compared with.
    ctx_out: String,
    /// `pending[..held_to]`: complete lines held back because the next line may continue them
    /// (0: none). When set, it equals `release_to`.
    held_to: usize,
    /// Rounds the held lines grew by as a whole (see [`MAX_HOLD_ROUNDS`]).
    hold_rounds: u32,
    blocks: Blocks,
    withhold: Withhold,
    last_input: Option<Instant>,
}

impl LiveFilter {
    pub fn new(redactor: Arc<Redactor>, opts: LiveOptions) -> Self {
        let opts = LiveOptions {
            window: opts.window.max(MIN_WINDOW),
            ..opts
        };
        LiveFilter {
            redactor,
            opts,
            pending: Vec::with_capacity(opts.window),
            scanned: 0,
            line_start: 0,
            release_to: 0,
            ctx: 0,
            ctx_out: String::new(),
            held_to: 0,
            hold_rounds: 0,
            blocks: Blocks::default(),
            withhold: Withhold::None,
            last_input: None,
        }
    }

    /// Bytes held now (never more than the window).
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// The window in effect.
    pub fn window(&self) -> usize {
        self.opts.window
    }

    /// Take a chunk of output; returns the bytes safe to show now.
    ///
    /// Policy at a forced cut (one line longer than the window, e.g. a flood without newline):
    /// the line is cut after the last space or tab in the 512 bytes before the window's last
    /// 512 bytes (else at a character boundary 512 bytes before the end). The piece before the
    /// cut is redacted and shown; the bytes after it stay held as the start of the next window,
    /// and the piece's last (at most) 512 bytes stay as already-shown context that the next
    /// piece is redacted together with. The cut is *clean* when redacting the 512 bytes on each
    /// side of it together gives the same text as redacting them apart, and the piece shown
    /// does not end in a redaction marker (a secret that runs into the cut). Otherwise a secret
    /// may straddle the cut: what is settled before the cut is shown, then
    /// [`LIVE_CUT_MARKER`], and the rest of that line is not shown in the live view at all
    /// (the captured log, redacted as a whole, still has it).
    pub fn push(&mut self, chunk: &[u8], now: Instant) -> Vec<u8> {
        let mut out = Vec::new();
        if !chunk.is_empty() {
            self.last_input = Some(now);
        }
        self.feed(chunk, &mut out);
        out
    }

    /// Called by a timer: shows an unterminated line once input has been idle for
    /// [`LiveOptions::idle`] (and lets an open block go after [`LiveOptions::block_idle`]).
    pub fn idle(&mut self, now: Instant) -> Vec<u8> {
        let mut out = Vec::new();
        let Some(t) = self.last_input else {
            return out;
        };
        let quiet = now.saturating_duration_since(t);
        if quiet < self.opts.idle || self.withhold != Withhold::None {
            return out;
        }
        if self.blocks.open() {
            if quiet < self.opts.block_idle {
                if self.held_to > 0 {
                    // Lines held back before the block: the screen is not kept waiting.
                    self.release(self.held_to, false, &mut out);
                }
                return out;
            }
            self.let_block_go(&mut out);
            if self.withhold != Withhold::None {
                return out;
            }
        }
        let mut end = utf8_complete_end(&self.pending);
        let mut together = None;
        if self.release_to > 0 {
            // Held lines followed by the start of a line that may continue them: redacted
            // together, so a mask extends over that start.
            if end > self.release_to {
                let r = self.redact(..end);
                if self.after_ctx(&r).is_some() {
                    together = Some(r);
                }
            }
            if together.is_none() {
                self.release(self.release_to, false, &mut out);
                end = utf8_complete_end(&self.pending);
            }
        }
        // The unterminated line is left (with the held lines before it): show it, short of an
        // incomplete character.
        if end <= self.ctx {
            return out;
        }
        let r = together.unwrap_or_else(|| self.redact(..end));
        let Some(shown) = self.after_ctx(&r) else {
            out.extend_from_slice(LIVE_CUT_MARKER.as_bytes());
            self.enter_withhold(Withhold::Line, &mut out);
            return out;
        };
        out.extend_from_slice(shown.as_bytes());
        if ends_with_marker(&r) {
            // A secret runs to the end of what is there: the rest of the line may be more of it.
            self.drain(self.line_start);
            self.enter_withhold(Withhold::Line, &mut out);
            return out;
        }
        // The complete lines shown with it are context now, no longer to release.
        self.release_to = 0;
        self.held_to = 0;
        self.hold_rounds = 0;
        if end <= CONTEXT {
            self.ctx = end;
            self.ctx_out = r;
        } else {
            let start = context_start(&self.pending, end);
            self.drain(start);
            self.ctx = end - start;
            self.ctx_out = self.redact(..self.ctx);
        }
        out
    }

    /// End of the program: redact and show the rest, and start afresh.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.pending.is_empty() {
            let r = self.redact(..self.pending.len());
            match self.after_ctx(&r) {
                Some(s) => out.extend_from_slice(s.as_bytes()),
                None => diverged(&r, &mut out),
            }
        }
        self.pending.clear();
        self.scanned = 0;
        self.line_start = 0;
        self.release_to = 0;
        self.ctx = 0;
        self.ctx_out.clear();
        self.held_to = 0;
        self.hold_rounds = 0;
        self.blocks = Blocks::default();
        self.withhold = Withhold::None;
        self.last_input = None;
        out
    }

    fn feed(&mut self, mut rest: &[u8], out: &mut Vec<u8>) {
        while !rest.is_empty() {
            rest = self.skip_withheld(rest, out);
            if rest.is_empty() {
                break;
            }
            if self.pending.len() >= self.opts.window {
                self.overflow(out);
                continue;
            }
            let take = (self.opts.window - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            self.scan();
            if self.release_to > self.held_to {
                self.release(self.release_to, true, out);
            }
            if self.pending.len() >= self.opts.window {
                self.overflow(out);
            }
        }
    }

    /// Find the line ends among the new bytes and follow the blocks they open and close.
    fn scan(&mut self) {
        let mut i = self.scanned;
        while let Some(p) = memchr::memchr2(b'\n', b'\r', &self.pending[i..]) {
            let end = i + p + 1;
            self.blocks.line(&self.pending[self.line_start..end]);
            if !self.blocks.open() {
                self.release_to = end;
            }
            self.line_start = end;
            i = end;
        }
        self.scanned = self.pending.len();
    }

    fn redact(&self, range: std::ops::RangeTo<usize>) -> String {
        self.redactor
            .redact(&String::from_utf8_lossy(&self.pending[range]))
            .into_string()
    }

    /// What to show of `r`, the redaction of `pending[..n]` for some `n >= ctx`: the part after
    /// what was shown already; None when the redaction changed the part already shown.
    fn after_ctx<'a>(&self, r: &'a str) -> Option<&'a str> {
        if self.ctx == 0 {
            return Some(r);
        }
        r.strip_prefix(self.ctx_out.as_str())
    }

    /// Show the complete lines `pending[..end]`; returns whether their redaction ends in a
    /// redaction marker (a secret runs to the end of what was shown). With `may_hold`, the last
    /// line is held back when the next line may continue it (see [`LiveFilter::hold_back`]).
    fn release(&mut self, end: usize, may_hold: bool, out: &mut Vec<u8>) -> bool {
        let r = self.redact(..end);
        if may_hold && self.hold_back(end, &r, out) {
            return false;
        }
        match self.after_ctx(&r) {
            Some(s) => out.extend_from_slice(s.as_bytes()),
            None => diverged(&r, out),
        }
        self.drain(end);
        self.held_to = 0;
        self.hold_rounds = 0;
        ends_with_marker(&r)
    }

    /// The redactor masks the next line together with the last of `pending[..end]` (`r` is
    /// their redaction) when that line ends in a secret (a wrapped token goes on) or in a key
    /// whose value follows (`:`, `=`, an open quote). Such a line is held: the lines before it
    /// are shown when their redaction does not depend on it, and it stays pending to be
    /// redacted with what follows (or shown by [`LiveFilter::idle`] or
    /// [`LiveFilter::finish`]). Returns whether something is held; then what could be shown
    /// was.
    fn hold_back(&mut self, end: usize, r: &str, out: &mut Vec<u8>) -> bool {
        if self.after_ctx(r).is_none() {
            return false;
        }
        let body = strip_line_end(&self.pending[..end]);
        let ls = memchr::memrchr2(b'\n', b'\r', body).map_or(0, |i| i + 1);
        let r_body = strip_line_end(r.as_bytes());
        let r_last = &r_body[memchr::memrchr2(b'\n', b'\r', r_body).map_or(0, |i| i + 1)..];
        let r_last = std::str::from_utf8(r_last).unwrap_or_default();
        if !ends_with_marker(r_last.trim_end_matches([' ', '\t']))
            && !super::opens_value(&body[ls..])
        {
            return false;
        }
        if ls > self.ctx {
            // Show the lines before it when the last line's redaction is its own (checked on
            // the last line first: a chain that goes on costs one redaction of that line).
            let q = self
                .redactor
                .redact(&String::from_utf8_lossy(&self.pending[ls..end]))
                .into_string();
            if r.ends_with(q.as_str())
                && let p = self.redact(..ls)
                && r.len() == p.len() + q.len()
                && r.starts_with(p.as_str())
                && let Some(s) = self.after_ctx(&p)
            {
                out.extend_from_slice(s.as_bytes());
                self.drain(ls);
                self.held_to = end - ls;
                self.hold_rounds = 0;
                return true;
            }
        }
        // The last line continues what is before it (or was partly shown): hold it all, as
        // long as the chain does not grow without end (the window bounds it too).
        if self.hold_rounds >= MAX_HOLD_ROUNDS {
            return false;
        }
        self.held_to = end;
        self.hold_rounds += 1;
        true
    }

    /// Forget `pending[..n]` (shown); the context is gone with it.
    fn drain(&mut self, n: usize) {
        self.pending.drain(..n);
        self.scanned -= n;
        self.line_start = self.line_start.saturating_sub(n);
        self.release_to = self.release_to.saturating_sub(n);
        self.held_to = self.held_to.saturating_sub(n);
        self.ctx = 0;
        self.ctx_out.clear();
    }

    /// The window is full.
    fn overflow(&mut self, out: &mut Vec<u8>) {
        if self.line_start > 0 {
            // Complete lines held by an open block: let them go (line-aligned).
            self.let_block_go(out);
        } else {
            self.cut(out);
        }
    }

    /// Show the complete lines an open block holds. A private key without its end line is
    /// masked by the redactor up to the end of the text; its body goes on being masked.
    ///
    /// The body is withheld only when the redaction of the lines let go really ends in a mask
    /// (the redactor, too, saw a key running to the end): otherwise the key ended, or the
    /// block heuristics were wrong, and what follows is ordinary text, shown as redacted.
    fn let_block_go(&mut self, out: &mut Vec<u8>) {
        let private = self.blocks.private_key_open();
        self.blocks = Blocks::default();
        let masked_to_end = self.line_start > 0 && self.release(self.line_start, false, out);
        self.release_to = 0;
        if private && masked_to_end {
            self.enter_withhold(Withhold::Pem { dash: false }, out);
        }
    }

    /// Cut a line that fills the window (see [`LiveFilter::push`]).
    fn cut(&mut self, out: &mut Vec<u8>) {
        let len = self.pending.len();
        let target = char_floor(&self.pending, len - CUT_TAIL);
        let lo = target - CUT_TAIL;
        let c = match self.pending[lo..target]
            .iter()
            .rposition(|&b| b == b' ' || b == b'\t')
        {
            Some(p) => lo + p + 1,
            None => target,
        };
        let r1 = self.redact(..c);
        let Some(shown) = self.after_ctx(&r1) else {
            out.extend_from_slice(LIVE_CUT_MARKER.as_bytes());
            self.enter_withhold(Withhold::Line, out);
            return;
        };
        let p2 = context_start(&self.pending, c);
        let lossy = |b: &[u8]| {
            self.redactor
                .redact(&String::from_utf8_lossy(b))
                .into_string()
        };
        let r_p2 = lossy(&self.pending[p2..c]);
        let r_l = lossy(&self.pending[c..]);
        let r_both = lossy(&self.pending[p2..]);
        let apart = r_p2.clone() + &r_l;
        let runs_into_cut = ends_with_marker(&r1);
        if r_both == apart && !runs_into_cut {
            out.extend_from_slice(shown.as_bytes());
            self.drain(p2);
            self.ctx = c - p2;
            self.ctx_out = r_p2;
            return;
        }
        // A secret may straddle the cut.
        let d = settled_prefix(&r_both, &apart);
        if runs_into_cut || d >= r_p2.len() {
            // What the piece shows is not changed by what follows the cut.
            out.extend_from_slice(shown.as_bytes());
        } else if let Some(head) = r1.strip_suffix(r_p2.as_str())
            && let Some(head) = self.after_ctx(head)
        {
            out.extend_from_slice(head.as_bytes());
            out.extend_from_slice(&r_p2.as_bytes()[..d]);
        }
        out.extend_from_slice(LIVE_CUT_MARKER.as_bytes());
        self.enter_withhold(Withhold::Line, out);
    }

    /// Drop instead of holding; what is held now is dropped too (its line is withheld).
    fn enter_withhold(&mut self, w: Withhold, out: &mut Vec<u8>) {
        let held = std::mem::take(&mut self.pending);
        self.scanned = 0;
        self.line_start = 0;
        self.release_to = 0;
        self.held_to = 0;
        self.hold_rounds = 0;
        self.ctx = 0;
        self.ctx_out.clear();
        self.blocks = Blocks::default();
        self.withhold = w;
        // At most a window: `feed` cannot come back here for these bytes.
        self.feed(&held, out);
    }

    /// Consume withheld bytes from the front of `bytes`; returns the rest.
    fn skip_withheld<'a>(&mut self, bytes: &'a [u8], out: &mut Vec<u8>) -> &'a [u8] {
        match self.withhold {
            Withhold::None => bytes,
            Withhold::Line => match memchr::memchr2(b'\n', b'\r', bytes) {
                Some(i) => {
                    out.push(bytes[i]);
                    self.withhold = Withhold::None;
                    &bytes[i + 1..]
                }
                None => &[],
            },
            Withhold::Pem { dash } => {
                // Mirror the private-key rule's body: base64, white space, `\n` escapes,
                // header punctuation and `-` followed by a letter or digit; it ends at `-----`.
                let mut i = 0;
                if dash {
                    match bytes.first() {
                        Some(b) if b.is_ascii_alphanumeric() => i = 1,
                        _ => {
                            self.withhold = Withhold::None;
                            self.pending.push(b'-');
                            return bytes;
                        }
                    }
                }
                while i < bytes.len() {
                    let b = bytes[i];
                    if is_pem_body(b) {
                        i += 1;
                    } else if b == b'-' {
                        match bytes.get(i + 1) {
                            Some(n) if n.is_ascii_alphanumeric() => i += 2,
                            Some(_) => break,
                            None => {
                                self.withhold = Withhold::Pem { dash: true };
                                return &[];
                            }
                        }
                    } else {
                        break;
                    }
                }
                if i == bytes.len() {
                    self.withhold = Withhold::Pem { dash: false };
                    return &[];
                }
                self.withhold = Withhold::None;
                &bytes[i..]
            }
        }
    }
}

fn is_pem_body(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'+' | b'/'
                | b'='
                | b'\\'
                | b':'
                | b','
                | b'.'
                | b' '
                | b'\t'
                | b'\n'
                | b'\r'
                | 0x0b
                | 0x0c
        )
}

/// The redaction of complete lines changed what was shown of the first one: the rest of that
/// line is replaced by the marker; the lines after it are shown.
fn diverged(r: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(LIVE_CUT_MARKER.as_bytes());
    if let Some(i) = r.find(['\n', '\r']) {
        out.extend_from_slice(&r.as_bytes()[i..]);
    }
}

/// `line` without its line end (`\r\n`, `\n` or `\r`).
fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The text ends in a redaction marker.
fn ends_with_marker(s: &str) -> bool {
    let Some(i) = s.rfind(MARKER_PREFIX) else {
        return false;
    };
    let name = &s[i + MARKER_PREFIX.len()..];
    name.len() >= 2
        && name.ends_with(']')
        && !name[..name.len() - 1]
            .bytes()
            .any(|b| matches!(b, b']' | b'[') || b.is_ascii_whitespace())
}

/// Length of the common prefix of `a` and `b`, at a character boundary and not inside a marker.
fn settled_prefix(a: &str, b: &str) -> usize {
    let mut d = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !a.is_char_boundary(d) {
        d -= 1;
    }
    if let Some(i) = a[..d].rfind(MARKER_PREFIX)
        && !a[i..d].contains(']')
    {
        d = i;
    }
    d
}

/// Largest index <= `i` that does not split a UTF-8 sequence.
fn char_floor(b: &[u8], mut i: usize) -> usize {
    let stop = i.saturating_sub(3);
    while i > stop && i < b.len() && (b[i] & 0xC0) == 0x80 {
        i -= 1;
    }
    i
}

/// `b.len()` short of a trailing incomplete UTF-8 sequence.
fn utf8_complete_end(b: &[u8]) -> usize {
    let n = b.len();
    for back in 1..=n.min(4) {
        let x = b[n - back];
        if x & 0xC0 == 0x80 {
            continue;
        }
        let need = match x {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if need > back { n - back } else { n };
    }
    n
}

/// Where the context kept before position `end` starts: [`CONTEXT`] bytes back, at a
/// character boundary.
fn context_start(b: &[u8], end: usize) -> usize {
    if end <= CONTEXT {
        return 0;
    }
    char_floor(b, end - CONTEXT)
}

/// Receives output chunks; an empty chunk means the program ended (the shape of
/// `crate::exec::Live`).
pub type LiveSink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Show a program's output live through `filter` into `out`: each chunk as it comes, an empty
/// chunk at the end of the program (the filter's rest is shown and the timer stops). A timer
/// thread, started with the first chunk, calls [`LiveFilter::idle`] every `tick`; it ends when
/// the program ends or when the returned function is dropped (it is joined then).
pub fn sink<W: Write + Send + 'static>(filter: LiveFilter, out: W, tick: Duration) -> LiveSink {
    let sink = Sink {
        shared: Arc::new(Mutex::new(Shared {
            filter,
            out,
            at_line_start: true,
        })),
        timer: Mutex::new(None),
        tick,
    };
    Arc::new(move |chunk: &[u8]| sink.call(chunk))
}

struct Shared<W> {
    filter: LiveFilter,
    out: W,
    /// The last byte shown ended a line (a line that starts here stands on its own).
    at_line_start: bool,
}

impl<W: Write> Shared<W> {
    fn show(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            // The screen also hides a lone token-shaped line: interleaved stdout and stderr can
            // put the rest of a token on a line of its own, away from the line that held its
            // start (the bundle's log, redacted whole, masks it next to that line).
            let text = String::from_utf8_lossy(bytes);
            let shown = super::mask_lone_token_lines(&text, self.at_line_start);
            let _ = self.out.write_all(shown.as_bytes());
            let _ = self.out.flush();
            self.at_line_start = bytes.ends_with(b"\n");
        }
    }
}

struct Timer {
    stop: mpsc::Sender<()>,
    handle: thread::JoinHandle<()>,
}

struct Sink<W> {
    shared: Arc<Mutex<Shared<W>>>,
    timer: Mutex<Option<Timer>>,
    tick: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<W: Write + Send + 'static> Sink<W> {
    fn call(&self, chunk: &[u8]) {
        if chunk.is_empty() {
            self.stop_timer();
            let mut s = lock(&self.shared);
            let rest = s.filter.finish();
            s.show(&rest);
            return;
        }
        {
            let mut s = lock(&self.shared);
            let now = s.filter.push(chunk, Instant::now());
            s.show(&now);
        }
        self.start_timer();
    }

    fn start_timer(&self) {
        let mut t = lock(&self.timer);
        if t.is_some() {
            return;
        }
        let (stop, rx) = mpsc::channel::<()>();
        let shared = self.shared.clone();
        let tick = self.tick;
        let spawned = thread::Builder::new()
            .name("live-idle".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(tick) {
                    let mut s = lock(&shared);
                    let shown = s.filter.idle(Instant::now());
                    s.show(&shown);
                }
            });
        // Without a timer, prompts show when their line ends or the program ends.
        if let Ok(handle) = spawned {
            *t = Some(Timer { stop, handle });
        }
    }
}

impl<W> Sink<W> {
    fn stop_timer(&self) {
        let t = lock(&self.timer).take();
        if let Some(t) = t {
            drop(t.stop);
            let _ = t.handle.join();
        }
    }
}

impl<W> Drop for Sink<W> {
    fn drop(&mut self) {
        self.stop_timer();
    }
}

#[cfg(test)]
mod tests;
