//! Credentials in URLs, removed at the source: proxy URLs from the environment, WinHTTP and
//! WinINET, and endpoint URLs, before anything is written. Pure functions, no I/O.
//!
//! How the clients that read these values split a URL, and why this module cuts more than any
//! of them:
//!
//! - urllib3 2.x `util.url.parse_url` (what Python requests uses): a value without a scheme is
//!   prefixed with `//` unless it starts like `scheme:` (`_SCHEME_RE = ^(?:[a-zA-Z][a-zA-Z0-9+-]*:|/)`),
//!   the authority after `//` ends at the first `\`, `/`, `?` or `#` (`_URI_RE`), and the
//!   user-info is everything before the LAST `@` of the authority (`authority.rpartition("@")`).
//!   So a raw `/`, `?` or `#` in a password ends the authority early and the rest of the
//!   password becomes a path or a query (and may be echoed in an error message).
//! - requests `utils.prepend_scheme_if_needed(proxy, "http")` (called on every proxy in
//!   `adapters.py`) re-attaches the user-info that `parse_url` split off, and
//!   `get_auth_from_url` takes username/password from `urllib.parse.urlparse`, whose netloc also
//!   ends at the first `/`, `?` or `#` and whose user-info ends at the last `@`
//!   (`netloc.rpartition('@')`); the password is everything after the first `:`.
//! - CPython `urllib.request._parse_proxy`: a value without `//` is an authority as a whole
//!   (`alice:SECRET@proxy:3128` works); with `//`, the authority ends at the first `/` AFTER
//!   the first `@`, and user-info is split at the last `@` (`_splituser`).
//! - curl `lib/urlapi.c`: a scheme is only guessed when `scheme:` is followed by `/`
//!   (`Curl_is_absolute_url` in guess mode), otherwise the value is a host; the host part ends
//!   at the first `/`, `?` or `#` (`strcspn(hostp, "/?#")`) and the login ends at the FIRST `@`
//!   (`parse_hostname_login`: `memchr(login, '@', len)`); curl proxies default to `http://`.
//!
//! The parsers disagree, so this module takes the union: after an optional `scheme://`, every
//! character before the last `@` of the whole value is credentials (including `/ # ? ' "`,
//! spaces and earlier `@`s). A `@` in a path or query makes it cut too much, never too little.

/// What replaces the user-info.
pub const MARKER: &str = "[REDACTED:url-credentials]";
/// What replaces a proxy-list entry or URL that cannot be read as one.
pub const UNRECOGNISED: &str = "[REDACTED:unrecognised-value]";

/// A URL split into its scheme (`http://`, possibly empty), its credentials (before the last
/// `@`) and the rest (host, port, path, query, fragment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Split<'a> {
    scheme: &'a str,
    credentials: Option<&'a str>,
    rest: &'a str,
}

/// Length of a leading `scheme://` (RFC 3986 scheme followed by `//`), else 0. A bare
/// `alice:` is not a scheme (curl's rule): that is a user name.
fn scheme_len(url: &str) -> usize {
    let b = url.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return 0;
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        .count();
    if url[n..].starts_with("://") {
        n + 3
    } else {
        0
    }
}

fn split(url: &str) -> Split<'_> {
    let n = scheme_len(url);
    let after = &url[n..];
    match after.rfind('@') {
        Some(i) => Split {
            scheme: &url[..n],
            credentials: Some(&after[..i]),
            rest: &after[i + 1..],
        },
        None => Split {
            scheme: &url[..n],
            credentials: None,
            rest: after,
        },
    }
}

/// The URL to show and the credentials removed from it (`user:password` as written, for the
/// redactor's literal search). Without credentials the URL is returned unchanged. Applying it
/// twice changes nothing more.
pub fn strip_credentials(url: &str) -> (String, Option<String>) {
    let s = split(url);
    match s.credentials {
        None => (url.to_string(), None),
        Some(c) if c == MARKER => (url.to_string(), None),
        Some(c) => (
            format!("{}{MARKER}@{}", s.scheme, s.rest),
            (!c.is_empty()).then(|| c.to_string()),
        ),
    }
}

/// The password part of removed credentials (after the first `:`, as urllib and curl split
/// them), when there is one.
pub fn password_of(credentials: &str) -> Option<&str> {
    credentials
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// Percent-decoding (`%40` → `@`), for the decoded form a client would send.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// `host`, `host:port`, `1.2.3.4:port` or `[v6]:port`: the host part must be a plausible
/// host name or address and the port all digits (≤ 65535).
pub fn is_host_port(hp: &str) -> bool {
    let (host, port) = if let Some(r) = hp.strip_prefix('[') {
        let Some((v6, after)) = r.split_once(']') else {
            return false;
        };
        if v6.is_empty()
            || !v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '%'))
        {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(p) => ("v6", Some(p)),
                None => return false,
            },
        }
    } else {
        match hp.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        }
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !host.starts_with(['.', '-']);
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) && {
            p.parse::<u32>().is_ok_and(|n| n <= 65535)
        }
    });
    host_ok && port_ok
}

/// A proxy URL as it may be shown: `[scheme://][MARKER@]host[:port]` (a path, query or
/// fragment is dropped). None when the value is not recognisably a proxy URL: the caller then
/// withholds it whole.
pub fn display_proxy(url: &str) -> Option<String> {
    let url = url.trim();
    let s = split(url);
    let end = s.rest.find(['/', '?', '#']).unwrap_or(s.rest.len());
    let (hp, tail) = s.rest.split_at(end);
    if !is_host_port(hp) || !(tail.is_empty() || tail == "/") {
        return None;
    }
    let creds = match s.credentials {
        Some(c) if !c.is_empty() => format!("{MARKER}@"),
        _ => String::new(),
    };
    Some(format!("{}{creds}{hp}", s.scheme))
}

/// A URL as it may be shown: it must have a scheme; credentials become the marker, the query
/// and fragment are dropped, and the path may only hold ordinary path characters. None when
/// the value is not recognisably such a URL.
pub fn display_url(url: &str) -> Option<String> {
    let url = url.trim();
    let s = split(url);
    if s.scheme.is_empty() {
        return None;
    }
    // Query and fragment go first: credentials were cut at the last `@` already.
    let rest = s.rest.split(['?', '#']).next().unwrap_or("");
    let end = rest.find('/').unwrap_or(rest.len());
    let (hp, path) = rest.split_at(end);
    let file = s.scheme.eq_ignore_ascii_case("file://");
    if !(is_host_port(hp) || (file && hp.is_empty())) {
        return None;
    }
    let path_ok = path.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '~' | '%' | ':' | '+')
    });
    if !path_ok {
        return None;
    }
    let creds = match s.credentials {
        Some(c) if !c.is_empty() => format!("{MARKER}@"),
        _ => String::new(),
    };
    Some(format!("{}{creds}{hp}{path}", s.scheme))
}

/// A WinINET / WinHTTP proxy server list (`proxy:8080`, `http=p1:80;https=p2:443`, or
/// space-separated servers) as it may be shown: credentials before the last `@` of the whole
/// value are cut (so a password holding `;` or `=` cannot leave a piece behind), then each
/// entry must read as `[proto=][scheme://]host[:port]` or it is replaced by [`UNRECOGNISED`].
pub fn display_proxy_list(list: &str) -> String {
    let list = list.trim();
    let cut = match list.rfind('@') {
        Some(i) => {
            let head = &list[..i];
            // Keep a leading `proto=` and scheme; everything else before the `@` goes.
            let proto_len = head
                .find('=')
                .filter(|&j| j > 0 && head[..j].bytes().all(|b| b.is_ascii_alphabetic()))
                .map_or(0, |j| j + 1);
            let scheme_end = proto_len + scheme_len(&head[proto_len..]);
            if head[scheme_end..] == *MARKER {
                list.to_string()
            } else {
                format!("{}{MARKER}@{}", &head[..scheme_end], &list[i + 1..])
            }
        }
        None => list.to_string(),
    };
    cut.split([';', ' ', '\t'])
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (proto, value) = match entry.split_once('=') {
                Some((p, v)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    (Some(p), v)
                }
                _ => (None, entry),
            };
            let shown = display_proxy(value).unwrap_or_else(|| UNRECOGNISED.to_string());
            match proto {
                Some(p) => format!("{p}={shown}"),
                None => shown,
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// A host list (NO_PROXY, WinINET ProxyOverride, WinHTTP bypass list): entries of host
/// characters, `*` wildcards, ports, CIDR masks, IPv6 brackets and `<local>` only.
pub fn is_host_list(list: &str) -> bool {
    let list = list.trim();
    !list.is_empty()
        && list.len() <= 4096
        && list
            .split([',', ';', ' ', '\t'])
            .filter(|e| !e.is_empty())
            .all(|e| {
                e.eq_ignore_ascii_case("<local>")
                    || e.chars().all(|c| {
                        c.is_ascii_alphanumeric()
                            || matches!(c, '.' | '-' | '_' | '*' | ':' | '/' | '[' | ']')
                    })
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, shown, removed credentials)
    const STRIP: &[(&str, &str, Option<&str>)] = &[
        (
            "http://alice:s3cret@proxy.corp:8080",
            "http://[REDACTED:url-credentials]@proxy.corp:8080",
            Some("alice:s3cret"),
        ),
        // No scheme: Python's urllib._parse_proxy and curl accept this.
        (
            "alice:SECRET@proxy:3128",
            "[REDACTED:url-credentials]@proxy:3128",
            Some("alice:SECRET"),
        ),
        // Raw `/`, `#`, `?`, quotes, space and `@` in the password.
        (
            "http://alice:pa/ss@proxy:3128",
            "http://[REDACTED:url-credentials]@proxy:3128",
            Some("alice:pa/ss"),
        ),
        (
            "http://alice:pa#ss@proxy:3128",
            "http://[REDACTED:url-credentials]@proxy:3128",
            Some("alice:pa#ss"),
        ),
        (
            "http://alice:pa?ss@proxy:3128/",
            "http://[REDACTED:url-credentials]@proxy:3128/",
            Some("alice:pa?ss"),
        ),
        (
            "http://alice:pa'ss\"x@proxy:3128",
            "http://[REDACTED:url-credentials]@proxy:3128",
            Some("alice:pa'ss\"x"),
        ),
        (
            "http://alice:pa ss@proxy:3128",
            "http://[REDACTED:url-credentials]@proxy:3128",
            Some("alice:pa ss"),
        ),
        (
            "http://alice:p@ss@word@proxy:3128",
            "http://[REDACTED:url-credentials]@proxy:3128",
            Some("alice:p@ss@word"),
        ),
        (
            "socks5h://bob:x/y#z@[2001:db8::1]:1080",
            "socks5h://[REDACTED:url-credentials]@[2001:db8::1]:1080",
            Some("bob:x/y#z"),
        ),
        // No credentials: unchanged.
        ("http://proxy.corp:8080", "http://proxy.corp:8080", None),
        ("proxy.corp:8080", "proxy.corp:8080", None),
        ("http://[::1]:3128/", "http://[::1]:3128/", None),
        // Already stripped: unchanged.
        (
            "http://[REDACTED:url-credentials]@proxy:1",
            "http://[REDACTED:url-credentials]@proxy:1",
            None,
        ),
    ];

    #[test]
    fn strip_table() {
        for (input, shown, creds) in STRIP {
            let (s, c) = strip_credentials(input);
            assert_eq!(s, *shown, "{input}");
            assert_eq!(c.as_deref(), *creds, "{input}");
        }
    }

    #[test]
    fn password_and_decoding() {
        assert_eq!(password_of("alice:pa:ss"), Some("pa:ss"));
        assert_eq!(password_of("alice"), None);
        assert_eq!(percent_decode("p%40ss%2Fw"), "p@ss/w");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
    }

    #[test]
    fn proxies_shown() {
        let cases: &[(&str, Option<&str>)] = &[
            ("http://proxy.corp:8080/", Some("http://proxy.corp:8080")),
            ("proxy.corp:3128", Some("proxy.corp:3128")),
            (
                "alice:SECRET@proxy:3128",
                Some("[REDACTED:url-credentials]@proxy:3128"),
            ),
            (
                "http://alice:pa/ss@10.0.0.1:3128",
                Some("http://[REDACTED:url-credentials]@10.0.0.1:3128"),
            ),
            (
                "http://[2001:db8::1]:3128",
                Some("http://[2001:db8::1]:3128"),
            ),
            // Not a proxy URL: withheld whole.
            ("Basic dXNlcjpwYXNz", None),
            ("http://proxy:notaport", None),
            ("http://proxy:8080/some/path", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(display_proxy(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn urls_shown() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "http://localhost:42356/msi/token?api-version=2019-08-01&secret=x",
                Some("http://localhost:42356/msi/token"),
            ),
            (
                "https://login.microsoftonline.com/",
                Some("https://login.microsoftonline.com/"),
            ),
            (
                "https://u:p?w@login.example.com/x#frag",
                Some("https://[REDACTED:url-credentials]@login.example.com/x"),
            ),
            ("file:///C:/pac/proxy.pac", Some("file:///C:/pac/proxy.pac")),
            ("login.microsoftonline.com", None),
            ("https://host/pa th", None),
        ];
        for (input, want) in cases {
            assert_eq!(display_url(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn proxy_lists() {
        assert_eq!(display_proxy_list("proxy.corp:8080"), "proxy.corp:8080");
        assert_eq!(
            display_proxy_list("http=p1:80;https=p2:443"),
            "http=p1:80;https=p2:443"
        );
        // A `;` in the password cannot leave a piece of it behind.
        assert_eq!(
            display_proxy_list("http=alice:pa;ss=x@p1:80;https=p2:443"),
            "http=[REDACTED:url-credentials]@p1:80;https=p2:443"
        );
        assert_eq!(
            display_proxy_list("http://u:p@p1:80"),
            "http://[REDACTED:url-credentials]@p1:80"
        );
        // Something after the last `@` that is not a host: withheld.
        assert_eq!(
            display_proxy_list("http=p1:80;https=alice:secret"),
            "http=p1:80;https=[REDACTED:unrecognised-value]"
        );
        // Idempotent.
        let once = display_proxy_list("http=a:b@p1:80");
        assert_eq!(display_proxy_list(&once), once);
    }

    #[test]
    fn host_lists() {
        assert!(is_host_list(
            "localhost,.contoso.com,10.0.0.0/8,*.corp,[::1]"
        ));
        assert!(is_host_list("<local>;*.contoso.com"));
        assert!(!is_host_list("Basic=abc;Pwd=x"));
        assert!(!is_host_list("a b@c"));
        assert!(!is_host_list(""));
    }
}
