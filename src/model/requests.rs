//! `debug/<name>.requests.json`: the request timeline of the sign-in command, the part of a
//! Fiddler trace people actually read, parsed from its debug output (`timeline::parse`).
//! Bodies and header values other than the request / correlation ids never appear.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `debug/<name>.requests.json`: the requests the sign-in command logged, in log order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Requests {
    /// The log the timeline was read from (`debug/<name>.log`).
    pub log: String,
    /// Which debug formats were recognised: `az` (Azure CLI / urllib3 / azure-core lines),
    /// `powershell` (the `HTTP REQUEST` / `HTTP RESPONSE` blocks of Az and Microsoft Graph
    /// PowerShell). Empty when no request was recognised.
    #[serde(default)]
    pub formats: Vec<String>,
    /// The requests, in the order they were sent.
    #[serde(default)]
    pub requests: Vec<Request>,
    /// Where the sign-in stopped: the first failing request or error line; null when nothing
    /// failed.
    #[serde(default)]
    pub stop: Option<Stop>,
}

/// One HTTP request of the timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Request {
    /// 1-based position in the timeline.
    pub seq: u32,
    /// The 1-based line of `debug/<name>.log` where the request appears.
    pub line: u32,
    /// The HTTP method; null when the log names only the URL (a connection that failed).
    pub method: Option<String>,
    /// `scheme://host[:port]/path`, without user-info or fragment; of the query only the
    /// known-harmless keys (`api-version`) are kept (default-deny).
    pub url: String,
    /// The HTTP status; null when no response was logged.
    pub status: Option<u16>,
    /// Time from request to response in milliseconds, when the log has timestamps.
    pub duration_ms: Option<u64>,
    /// The server's request id (`x-ms-request-id`, `request-id`, Entra's `Trace ID`); GUIDs only.
    pub request_id: Option<String>,
    /// The correlation id (`x-ms-correlation-request-id`, `client-request-id`,
    /// `x-ms-client-request-id`, Entra's `Correlation ID`); GUIDs only.
    pub correlation_id: Option<String>,
    /// The error line when the request failed without a status (proxy, DNS, TLS, timeout).
    pub error: Option<String>,
    /// True when the status is 400 or above, or the request ended in an error.
    pub failed: bool,
}

/// Where the sign-in stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stop {
    /// The 0-based index in `requests` of the first failing request; null when the stop is an
    /// error line with no request.
    pub request: Option<usize>,
    /// The failing request (`POST https://... -> 401`) or the error line, at most 300
    /// characters.
    pub line: String,
}
