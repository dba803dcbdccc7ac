//! The request timeline of a sign-in: the ordered HTTP requests a debug log shows (method, URL
//! without secrets, status, time, request / correlation ids), and where the sign-in stopped.
//! It is what people read in a Fiddler trace, rebuilt from the debug output support asks for
//! anyway. Pure: text in, model types out (`debug/<name>.requests.json`, and with `--har` a
//! HAR 1.2 file through [`har`]).
//!
//! Formats, recognised line by line (a log may mix them):
//! - Azure CLI `--debug` (real output, tests/fixtures/debug): urllib3's
//!   `https://host:443 "POST /path HTTP/1.1" 401 530`, azure-core's / az's policy lines
//!   `Request URL: '...'`, `Request method: 'GET'`, `Response status: 403` with the headers
//!   indented under `Request headers:` / `Response headers:`, and the connection failures
//!   `HTTPSConnectionPool(host='h', port=443): Max retries exceeded with url: /p (Caused by ...)`.
//! - Az PowerShell and Microsoft Graph PowerShell `-Debug`: the blocks written by
//!   azure-powershell `GeneralUtilities.GetHttpRequestLog` / `GetHttpResponseLog` and
//!   msgraph-sdk-powershell `HttpMessageLogFormatter` (`=== HTTP REQUEST ===`, `HTTP Method:`,
//!   `Absolute Uri:`, `Headers:` as `name<padding>: value`, `=== HTTP RESPONSE ===`,
//!   `Status Code:` with the .NET `HttpStatusCode` name), and .NET `HttpRequestException` texts
//!   for a request that got no response.
//!
//! Default-deny: a URL keeps scheme, host, port and path; of the query only `api-version`
//! (when it looks like one); ids only when GUID-shaped. Bodies and other header values are
//! never kept. The text is the already-redacted log; the writer redacts the entry again.

pub mod har;

use std::sync::OnceLock;

use regex::Regex;

use crate::model::{Request, Requests};

pub use crate::model::Stop;

/// The timeline of one log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub requests: Vec<Request>,
    /// The first failing request, else the first error line; None when nothing failed.
    pub stop: Option<Stop>,
    /// The formats recognised (`az`, `powershell`).
    pub formats: Vec<String>,
}

impl Timeline {
    /// The `debug/<name>.requests.json` entry for the log named `log`.
    pub fn into_entry(self, log: &str) -> Requests {
        Requests {
            log: log.to_string(),
            formats: self.formats,
            requests: self.requests,
            stop: self.stop,
        }
    }
}

/// Longest error / stop text kept.
const MAX_TEXT: usize = 300;

/// Query keys whose values are kept (everything else is dropped: tokens, codes, client
/// assertions and SAS signatures travel in queries).
const SAFE_QUERY_KEYS: &[&str] = &["api-version"];

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid timeline regex"))
}

/// `text` cut to [`MAX_TEXT`] characters.
fn excerpt(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

/// A GUID, lowercased, or None.
fn guid(v: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let v = v.trim().trim_matches(|c| c == '\'' || c == '"');
    re(
        &RE,
        r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    )
    .is_match(v)
    .then(|| v.to_ascii_lowercase())
}

/// `raw` reduced to `scheme://host[:port]/path[?api-version=..]`; None when it is not an
/// http(s) URL. User-info, fragment and every other query key are dropped; the default port
/// is left out (urllib3 names it, .NET does not).
pub fn clean_url(raw: &str) -> Option<String> {
    let raw = raw
        .trim()
        .trim_matches(|c| c == '\'' || c == '"' || c == '<' || c == '>');
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https://") {
        ("https", &raw[8..])
    } else if lower.starts_with("http://") {
        ("http", &raw[7..])
    } else {
        return None;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // Everything before the last `@` is user-info (redact::url's rule).
    let host_port = authority
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if host_port.is_empty()
        || !host_port
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c))
    {
        return None;
    }
    let default = if scheme == "https" { ":443" } else { ":80" };
    let host_port = host_port.strip_suffix(default).unwrap_or(&host_port);
    let tail = tail.split('#').next().unwrap_or("");
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, q),
        None => (tail, ""),
    };
    let path = if path.is_empty() { "/" } else { path };
    let kept: Vec<String> = query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let safe_value = !v.is_empty()
                && v.len() <= 32
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            (SAFE_QUERY_KEYS.contains(&k.to_ascii_lowercase().as_str()) && safe_value)
                .then(|| format!("{}={v}", k.to_ascii_lowercase()))
        })
        .collect();
    let mut url = format!("{scheme}://{host_port}{path}");
    if !kept.is_empty() {
        url.push('?');
        url.push_str(&kept.join("&"));
    }
    Some(url)
}

/// The status number of a .NET `HttpStatusCode` name (or a number as text).
pub fn status_of(v: &str) -> Option<u16> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u16>() {
        return (100..=599).contains(&n).then_some(n);
    }
    STATUS_NAMES
        .iter()
        .find(|(_, name, _)| name.eq_ignore_ascii_case(v))
        .map(|(n, _, _)| *n)
}

/// The reason phrase of a status (HAR's `statusText`).
pub fn reason_of(status: u16) -> &'static str {
    STATUS_NAMES
        .iter()
        .find(|(n, _, _)| *n == status)
        .map_or("", |(_, _, text)| text)
}

/// (status, .NET `HttpStatusCode` name, reason phrase).
const STATUS_NAMES: &[(u16, &str, &str)] = &[
    (200, "OK", "OK"),
    (201, "Created", "Created"),
    (202, "Accepted", "Accepted"),
    (
        203,
        "NonAuthoritativeInformation",
        "Non-Authoritative Information",
    ),
    (204, "NoContent", "No Content"),
    (206, "PartialContent", "Partial Content"),
    (301, "MovedPermanently", "Moved Permanently"),
    (301, "Moved", "Moved Permanently"),
    (302, "Found", "Found"),
    (302, "Redirect", "Found"),
    (303, "SeeOther", "See Other"),
    (304, "NotModified", "Not Modified"),
    (307, "TemporaryRedirect", "Temporary Redirect"),
    (308, "PermanentRedirect", "Permanent Redirect"),
    (400, "BadRequest", "Bad Request"),
    (401, "Unauthorized", "Unauthorized"),
    (403, "Forbidden", "Forbidden"),
    (404, "NotFound", "Not Found"),
    (405, "MethodNotAllowed", "Method Not Allowed"),
    (406, "NotAcceptable", "Not Acceptable"),
    (
        407,
        "ProxyAuthenticationRequired",
        "Proxy Authentication Required",
    ),
    (408, "RequestTimeout", "Request Timeout"),
    (409, "Conflict", "Conflict"),
    (410, "Gone", "Gone"),
    (412, "PreconditionFailed", "Precondition Failed"),
    (429, "TooManyRequests", "Too Many Requests"),
    (500, "InternalServerError", "Internal Server Error"),
    (501, "NotImplemented", "Not Implemented"),
    (502, "BadGateway", "Bad Gateway"),
    (503, "ServiceUnavailable", "Service Unavailable"),
    (504, "GatewayTimeout", "Gateway Timeout"),
];

/// Where a request came from, for merging the lines that describe the same request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `Request URL:` of an azure-core / az policy (urllib3's line follows with the status).
    Policy,
    /// urllib3's one-line summary.
    Urllib3,
    /// A MaxRetryError / timeout message: no response.
    Failure,
    /// A PowerShell `HTTP REQUEST` block.
    PsBlock,
}

/// A PowerShell block field whose value is on the next non-empty line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Nothing,
    Method,
    Uri,
    Status,
}

#[derive(Default)]
struct Parser {
    requests: Vec<Request>,
    origins: Vec<Origin>,
    /// The log time (ms) when each request was seen, when the log has timestamps.
    started: Vec<Option<i64>>,
    /// The first error line: (line number, text).
    first_error: Option<(u32, String)>,
    az: bool,
    ps: bool,
    in_headers: bool,
    expect: Option<Expect>,
    ps_method: Option<String>,
    /// The latest log timestamp, ms (of the day or since the epoch).
    now_ms: Option<i64>,
}

/// Read the timeline of a debug log (the redacted text of `debug/<name>.log`). Never panics;
/// text it does not recognise is skipped.
pub fn parse(text: &str) -> Timeline {
    let mut p = Parser::default();
    for (i, line) in text.lines().enumerate() {
        p.line(u32::try_from(i + 1).unwrap_or(u32::MAX), line);
    }
    p.finish()
}

/// `line` without the level (`DEBUG: `), the az logger name (`urllib3.connectionpool: `) and
/// a leading timestamp, and the timestamp in ms when there was one.
fn strip_prefixes(line: &str) -> (&str, Option<i64>, bool) {
    static LEVEL: OnceLock<Regex> = OnceLock::new();
    static LOGGER: OnceLock<Regex> = OnceLock::new();
    static CLOCK: OnceLock<Regex> = OnceLock::new();
    let mut s = line.trim_end();
    let mut error_level = false;
    if let Some(m) = re(&LEVEL, r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL|VERBOSE): ").find(s) {
        error_level = m.as_str().starts_with("ERROR") || m.as_str().starts_with("CRITICAL");
        s = &s[m.end()..];
    }
    let mut ts = None;
    if let Some(c) = re(
        &CLOCK,
        r"^(?:(\d{4}-\d{2}-\d{2})[T ])?(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d{1,7}))?(?:Z|[+-]\d{2}:?\d{2})?(?:\s*(AM|PM))?\s+-?\s*",
    )
    .captures(s)
    {
        let n = |k: usize| c.get(k).and_then(|m| m.as_str().parse::<i64>().ok());
        let (Some(h), Some(m), Some(sec)) = (n(2), n(3), n(4)) else {
            return (s, None, error_level);
        };
        let h = match c.get(6).map(|m| m.as_str()) {
            Some("PM") if h < 12 => h + 12,
            Some("AM") if h == 12 => 0,
            _ => h,
        };
        let frac = c.get(5).map_or(0, |f| {
            let digits: String = f.as_str().chars().chain("000".chars()).take(3).collect();
            digits.parse::<i64>().unwrap_or(0)
        });
        let day = c
            .get(1)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d.as_str(), "%Y-%m-%d").ok())
            .map_or(0, |d| {
                d.signed_duration_since(chrono::NaiveDate::default())
                    .num_days()
            });
        ts = Some(((day * 24 + h) * 3600 + m * 60 + sec) * 1000 + frac);
        s = &s[c.get(0).map_or(0, |m| m.end())..];
    }
    if let Some(m) = re(&LOGGER, r"^[a-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*: ").find(s) {
        s = &s[m.end()..];
    }
    (s, ts, error_level)
}

impl Parser {
    fn push(&mut self, line: u32, method: Option<String>, url: String, origin: Origin) -> usize {
        let seq = u32::try_from(self.requests.len() + 1).unwrap_or(u32::MAX);
        self.requests.push(Request {
            seq,
            line,
            method,
            url,
            ..Request::default()
        });
        self.origins.push(origin);
        self.started.push(self.now_ms);
        self.requests.len() - 1
    }

    fn set_status(&mut self, i: usize, status: u16) {
        let r = &mut self.requests[i];
        r.status = Some(status);
        r.failed = status >= 400 || r.error.is_some();
        if let (Some(start), Some(now)) = (self.started[i], self.now_ms)
            && now >= start
        {
            r.duration_ms = u64::try_from(now - start).ok();
        }
    }

    fn set_error(&mut self, i: usize, error: &str) {
        let r = &mut self.requests[i];
        if r.error.is_none() {
            r.error = Some(excerpt(error));
        }
        r.failed = true;
    }

    /// The newest request of `origin` that has no status and no error yet.
    fn pending(&self, origins: &[Origin]) -> Option<usize> {
        (0..self.requests.len()).rev().find(|&i| {
            origins.contains(&self.origins[i])
                && self.requests[i].status.is_none()
                && self.requests[i].error.is_none()
        })
    }

    fn header(&mut self, name: &str, value: &str) {
        let Some(i) = self.requests.len().checked_sub(1) else {
            return;
        };
        let Some(id) = guid(value) else {
            return;
        };
        let r = &mut self.requests[i];
        match name.to_ascii_lowercase().as_str() {
            "x-ms-request-id" | "request-id" => r.request_id = Some(id),
            "x-ms-correlation-request-id" | "x-ms-correlation-id" => r.correlation_id = Some(id),
            "client-request-id" | "x-ms-client-request-id" => {
                r.correlation_id.get_or_insert(id);
            }
            _ => {}
        }
    }

    /// Entra's ids in an error text (`Trace ID: ..`, `'correlation_id': '..'`) for the newest
    /// failed request that has none.
    fn error_ids(&mut self, body: &str) {
        static RE: OnceLock<Regex> = OnceLock::new();
        let Some(r) = self.requests.last_mut().filter(|r| r.failed) else {
            return;
        };
        for c in re(
            &RE,
            r#"(?i)(trace[ _]id|correlation[ _]id)['"]?\s*[:=]\s*['"]?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"#,
        )
        .captures_iter(body)
        {
            let id = c[2].to_ascii_lowercase();
            if c[1].to_ascii_lowercase().starts_with("trace") {
                r.request_id.get_or_insert(id);
            } else {
                r.correlation_id.get_or_insert(id);
            }
        }
    }

    fn line(&mut self, n: u32, raw: &str) {
        static URLLIB3: OnceLock<Regex> = OnceLock::new();
        static POOL: OnceLock<Regex> = OnceLock::new();
        static HEADER: OnceLock<Regex> = OnceLock::new();
        static BLOCK: OnceLock<Regex> = OnceLock::new();
        static CMDLET_ERROR: OnceLock<Regex> = OnceLock::new();
        let (body, ts, error_level) = strip_prefixes(raw);
        if ts.is_some() {
            self.now_ms = ts;
        }
        let trimmed = body.trim();

        // PowerShell blocks.
        if let Some(c) = re(&BLOCK, r"^=+ HTTP (REQUEST|RESPONSE) =+$").captures(trimmed) {
            self.ps = true;
            self.in_headers = false;
            self.expect = Some(Expect::Nothing);
            if &c[1] == "REQUEST" {
                self.ps_method = None;
            }
            return;
        }
        if let Some(expect) = self.expect {
            match trimmed {
                "" => return,
                "HTTP Method:" => return self.expect = Some(Expect::Method),
                "Absolute Uri:" => return self.expect = Some(Expect::Uri),
                "Status Code:" => return self.expect = Some(Expect::Status),
                "Headers:" => {
                    self.in_headers = true;
                    self.expect = Some(Expect::Nothing);
                    return;
                }
                // A body is read as ordinary lines: only Entra's ids in it are used.
                "Body:" => {
                    self.in_headers = false;
                    self.expect = None;
                    return;
                }
                _ => {}
            }
            match expect {
                Expect::Method => {
                    self.ps_method = Some(trimmed.to_ascii_uppercase())
                        .filter(|m| m.len() <= 10 && m.chars().all(|c| c.is_ascii_uppercase()));
                    self.expect = Some(Expect::Nothing);
                    return;
                }
                Expect::Uri => {
                    if let Some(url) = clean_url(trimmed) {
                        let method = self.ps_method.take();
                        self.push(n, method, url, Origin::PsBlock);
                    }
                    self.expect = Some(Expect::Nothing);
                    return;
                }
                Expect::Status => {
                    if let (Some(s), Some(i)) =
                        (status_of(trimmed), self.pending(&[Origin::PsBlock]))
                    {
                        self.set_status(i, s);
                    }
                    self.expect = Some(Expect::Nothing);
                    return;
                }
                Expect::Nothing if self.in_headers => {
                    if let Some((k, v)) = trimmed.split_once(':') {
                        self.header(k.trim(), v.trim());
                        return;
                    }
                    self.in_headers = false;
                }
                Expect::Nothing => {}
            }
            // Anything else ends the block.
            self.expect = None;
        }

        // Azure CLI / Python.
        if let Some(c) = re(
            &URLLIB3,
            r#"^(https?://[^ "]+) "([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3})\b"#,
        )
        .captures(trimmed)
        {
            self.az = true;
            let Some(url) = clean_url(&format!("{}{}", &c[1], &c[3])) else {
                return;
            };
            let status = c[4].parse::<u16>().unwrap_or(0);
            let method = c[2].to_string();
            let i = match self.pending(&[Origin::Policy]) {
                Some(i) if self.requests[i].url == url => {
                    self.requests[i].method.get_or_insert(method);
                    i
                }
                _ => self.push(n, Some(method), url, Origin::Urllib3),
            };
            self.set_status(i, status);
            return;
        }
        if let Some(v) = trimmed.strip_prefix("Request URL: ") {
            self.az = true;
            self.in_headers = false;
            if let Some(url) = clean_url(v) {
                self.push(n, None, url, Origin::Policy);
            }
            return;
        }
        if let Some(v) = trimmed.strip_prefix("Request method: ") {
            if let Some(i) = self.pending(&[Origin::Policy]) {
                let m = v.trim_matches('\'').to_ascii_uppercase();
                if m.len() <= 10 && m.chars().all(|c| c.is_ascii_uppercase()) {
                    self.requests[i].method = Some(m);
                }
            }
            return;
        }
        if let Some(v) = trimmed.strip_prefix("Response status: ") {
            if let Some(s) = status_of(v) {
                // urllib3's line usually set it already; else the policy's request gets it.
                if let Some(i) = self.pending(&[Origin::Policy]) {
                    self.set_status(i, s);
                }
            }
            return;
        }
        if trimmed == "Request headers:" || trimmed == "Response headers:" {
            self.in_headers = true;
            return;
        }
        if self.in_headers {
            if let Some(c) = re(&HEADER, r#"^'([A-Za-z0-9-]+)': '([^']*)'$"#).captures(trimmed) {
                self.header(&c[1], &c[2]);
                return;
            }
            self.in_headers = false;
        }
        if let Some(c) = re(
            &POOL,
            r"(?i)(https?)ConnectionPool\(host='([^']+)', port=(\d+)\): (?:Max retries exceeded with url: (\S+)(?: \(Caused by (.*)\))?|(Read timed out.*))",
        )
        .captures(trimmed)
        {
            self.az = true;
            let scheme = c[1].to_ascii_lowercase();
            let path = c.get(4).map_or("/", |m| m.as_str());
            if let Some(url) = clean_url(&format!("{scheme}://{}:{}{path}", &c[2], &c[3])) {
                let error = c
                    .get(5)
                    .or_else(|| c.get(6))
                    .map_or(trimmed, |m| m.as_str());
                let known = self
                    .requests
                    .iter()
                    .any(|r| r.url == url && r.status.is_none() && r.error.is_some());
                if !known {
                    let i = match self.pending(&[Origin::Policy]) {
                        Some(i) if self.requests[i].url == url => i,
                        _ => self.push(n, None, url, Origin::Failure),
                    };
                    self.set_error(i, error);
                }
            }
            return;
        }

        // .NET: a request that got no response.
        let dotnet_failure = [
            "HttpRequestException",
            "The proxy tunnel request to proxy",
            "An error occurred while sending the request",
            "The SSL connection could not be established",
            "No such host is known",
            "actively refused it",
            "Connection refused",
            "Name or service not known",
            "The request was canceled due to the configured HttpClient.Timeout",
        ];
        if dotnet_failure.iter().any(|d| trimmed.contains(d))
            && let Some(i) = self.pending(&[Origin::PsBlock])
        {
            self.set_error(i, trimmed);
        }

        self.error_ids(trimmed);
        let cmdlet_error =
            re(&CMDLET_ERROR, r"^[A-Z][a-z]+-[A-Z][A-Za-z._]* ?: \S").is_match(trimmed);
        if (error_level || cmdlet_error) && self.first_error.is_none() && !trimmed.is_empty() {
            self.first_error = Some((n, excerpt(trimmed)));
        }
    }

    fn finish(self) -> Timeline {
        let first_failed = self.requests.iter().position(|r| r.failed);
        let stop = match (first_failed, self.first_error) {
            (Some(i), err)
                if err
                    .as_ref()
                    .is_none_or(|(l, _)| self.requests[i].line <= *l) =>
            {
                let r = &self.requests[i];
                let what = match (r.status, &r.error) {
                    (Some(s), _) => s.to_string(),
                    (None, Some(e)) => e.clone(),
                    (None, None) => String::new(),
                };
                Some(Stop {
                    request: Some(i),
                    line: excerpt(&format!(
                        "{} {} -> {what}",
                        r.method.as_deref().unwrap_or("?"),
                        r.url
                    )),
                })
            }
            (_, Some((_, line))) => Some(Stop {
                request: None,
                line,
            }),
            (_, None) => None,
        };
        let mut formats = Vec::new();
        if self.az {
            formats.push("az".to_string());
        }
        if self.ps {
            formats.push("powershell".to_string());
        }
        Timeline {
            requests: self.requests,
            stop,
            formats,
        }
    }
}

#[cfg(test)]
mod tests;
