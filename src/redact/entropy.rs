//! The safety net under the shape rules: long high-entropy runs of base64, base64url or hex
//! near a secret keyword (the approach of gitleaks and detect-secrets: keyword + entropy +
//! allowlist), and dot-separated base64url runs shaped like a JWT body whatever surrounds them
//! (a token whose `eyJ` header was split off by a line wrap or interleaved output).
//!
//! Never masked: GUIDs and runs that contain one (ARM resource paths, correlation and request
//! ids), runs marked as a hash or thumbprint, and runs with too little entropy or only one
//! character class (paths, words, versions).

/// Shortest run considered.
pub const MIN_RUN: usize = 32;

/// How far before a run a keyword may stand.
const KEYWORD_WINDOW: usize = 256;

/// Keywords that make a nearby high-entropy run a secret (matched ASCII case-insensitively).
const KEYWORDS: &[&str] = &[
    "key",
    "secret",
    "token",
    "password",
    "passwd",
    "pwd",
    "credential",
    "assertion",
    "signature",
    "sig=",
    "private",
    "pfx",
    "pkcs",
    "cert",
    "auth",
    "bearer",
    "cookie",
    "sas",
    "pat",
    "connection",
];

/// A marker right before a run that says it is not a secret (a hash of something public).
const SAFE_MARKS: &[&str] = &[
    "sha256",
    "sha1",
    "sha-256",
    "thumbprint",
    "fingerprint",
    "digest",
    "hash",
    "etag",
    "x5t",
    "kid",
];

const B64: u8 = 1;
const HEX: u8 = 2;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'_' || c == b'-' {
            t[i] = B64;
        }
        if c.is_ascii_hexdigit() {
            t[i] |= HEX;
        }
        i += 1;
    }
    t
};

/// Spans `(start, end)` of secret-looking runs in `text`.
pub fn find(text: &str, out: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if CLASS[b[i] as usize] == 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && CLASS[b[i] as usize] != 0 {
            i += 1;
        }
        // Padding belongs to the run.
        let mut end = i;
        while end < b.len() && b[end] == b'=' && end - i < 2 {
            end += 1;
        }
        // A dotted chain of base64url runs (a JWT body without its header).
        if end < b.len() && b[end] == b'.' && i - start >= 16 {
            let mut j = end;
            let mut segments = vec![(start, i)];
            while j + 1 < b.len() && b[j] == b'.' && CLASS[b[j + 1] as usize] != 0 {
                let s = j + 1;
                let mut k = s;
                while k < b.len() && CLASS[b[k] as usize] != 0 {
                    k += 1;
                }
                segments.push((s, k));
                j = k;
            }
            if segments.len() >= 3 && jwt_like(b, &segments) {
                out.push((start, j));
                i = j;
                continue;
            }
        }
        if i - start >= MIN_RUN && secret_run(text, start, i) {
            out.push((start, end));
        }
        i = end.max(i);
    }
}

/// Three or more dot-separated segments, the first two long, mixed-case with digits.
fn jwt_like(b: &[u8], segs: &[(usize, usize)]) -> bool {
    let long = segs.iter().filter(|(s, e)| e - s >= 16).count();
    long >= 3 && segs.iter().take(3).all(|&(s, e)| mixed(&b[s..e]))
}

/// Upper case, lower case and a digit: random-looking, not a word or a number.
pub(crate) fn mixed(run: &[u8]) -> bool {
    run.iter().any(u8::is_ascii_uppercase)
        && run.iter().any(u8::is_ascii_lowercase)
        && run.iter().any(u8::is_ascii_digit)
}

fn secret_run(text: &str, start: usize, end: usize) -> bool {
    let run = &text.as_bytes()[start..end];
    if contains_guid(run) {
        return false;
    }
    let all_hex = run.iter().all(|&c| CLASS[c as usize] & HEX != 0);
    if all_hex {
        // Hex needs both letters and digits and a keyword; hashes are marked as such.
        if !run.iter().any(u8::is_ascii_digit) || !run.iter().any(u8::is_ascii_alphabetic) {
            return false;
        }
        if entropy(run) < 3.0 {
            return false;
        }
    } else {
        if !mixed(run) || entropy(run) < 4.0 {
            return false;
        }
        // A path made of words (site-packages/azure/cli/...) is not a secret.
        if run.contains(&b'/') && run.split(|&c| c == b'/').all(|seg| seg.len() < 24) {
            return false;
        }
    }
    let from = floor_char(text, start.saturating_sub(KEYWORD_WINDOW));
    let before = text[from..start].to_ascii_lowercase();
    let near = floor_char(text, start.saturating_sub(48)).max(from);
    let close = text[near..start].to_ascii_lowercase();
    if SAFE_MARKS.iter().any(|m| close.contains(m)) {
        return false;
    }
    KEYWORDS.iter().any(|k| before.contains(k))
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Shannon entropy in bits per character.
fn entropy(run: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &c in run {
        counts[c as usize] += 1;
    }
    let n = run.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Does the run contain a GUID (8-4-4-4-12 hex)?
fn contains_guid(run: &[u8]) -> bool {
    if run.len() < 36 {
        return false;
    }
    let shape = [8usize, 4, 4, 4, 12];
    'outer: for s in 0..=run.len() - 36 {
        let mut p = s;
        for (n, &len) in shape.iter().enumerate() {
            for _ in 0..len {
                if !run[p].is_ascii_hexdigit() {
                    continue 'outer;
                }
                p += 1;
            }
            if n < 4 {
                if run[p] != b'-' {
                    continue 'outer;
                }
                p += 1;
            }
        }
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(t: &str) -> Vec<String> {
        let mut v = Vec::new();
        find(t, &mut v);
        v.into_iter().map(|(s, e)| t[s..e].to_string()).collect()
    }

    #[test]
    fn high_entropy_near_keyword_is_found() {
        let k = "q8Zr3Lw9Xk2PfT7vNb4YcH1sJm6GdR0aUe5WiO+/Kx==";
        assert_eq!(
            spans(&format!("\"keyName\": \"key1\", \"value\": \"{k}\"")),
            vec![k]
        );
        assert!(
            spans(&format!("\"value\": \"{k}\"")).is_empty(),
            "no keyword"
        );
    }

    #[test]
    fn ids_paths_and_hashes_are_kept() {
        for t in [
            "token for /subscriptions/0a1b2c3d-1111-2222-3333-444455556666/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1",
            "token x-ms-request-id: 0a1b2c3d-1111-2222-3333-444455556666",
            "key sha256: 3f786850e387550fdab836ed7e6dc881de23001b3f786850e387550fdab836ed",
            "cert thumbprint 3F786850E387550FDAB836ED7E6DC881DE23001B",
            "token /usr/lib/python3/site-packages/azure/cli/core/auth/identity",
            "secret aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(spans(t).is_empty(), "{t}: {:?}", spans(t));
        }
    }

    #[test]
    fn a_jwt_body_without_its_header_is_found_anywhere() {
        let t = "x dGhpc0lzQVRlc3RQYXlsb2FkMTIz.c2lnbmF0dXJlU2VnbWVudDQ1Ng9X.QWxzb1RoaXJkU2VnbWVudDc4OQ y";
        assert_eq!(spans(t).len(), 1);
        assert!(spans("versions 2.91.0 and login.microsoftonline.com").is_empty());
    }
}
