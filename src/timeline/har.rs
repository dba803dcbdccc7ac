//! `debug/<name>.har` (with `--har`): the timeline as a HAR 1.2 file
//! (<http://www.softwareishard.com/blog/har-12-spec/>), so it opens in a browser's network
//! panel or in Fiddler. It holds only what `requests.json` holds: no bodies, no cookies, no
//! headers but the request / correlation ids; the writer redacts it like every entry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Request;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Log {
    pub version: String,
    pub creator: Creator,
    pub entries: Vec<Entry>,
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Creator {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub started_date_time: String,
    pub time: u64,
    pub request: HarRequest,
    pub response: HarResponse,
    pub cache: serde_json::Map<String, serde_json::Value>,
    pub timings: Timings,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarRequest {
    pub method: String,
    pub url: String,
    pub http_version: String,
    pub cookies: Vec<Header>,
    pub headers: Vec<Header>,
    pub query_string: Vec<Header>,
    pub headers_size: i64,
    pub body_size: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarResponse {
    pub status: u16,
    pub status_text: String,
    pub http_version: String,
    pub cookies: Vec<Header>,
    pub headers: Vec<Header>,
    pub content: Content,
    #[serde(rename = "redirectURL")]
    pub redirect_url: String,
    pub headers_size: i64,
    pub body_size: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub size: i64,
    pub mime_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub send: i64,
    pub wait: i64,
    pub receive: i64,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The HAR of `requests` (from the log `log`). Debug logs seldom carry dates, so every entry
/// starts at `run_start` (the sign-in's start), in log order.
pub fn build(requests: &[Request], log: &str, run_start: DateTime<Utc>) -> Har {
    let entries = requests
        .iter()
        .map(|r| {
            let time = r.duration_ms.unwrap_or(0);
            let mut headers = Vec::new();
            if let Some(id) = &r.request_id {
                headers.push(Header {
                    name: "x-ms-request-id".into(),
                    value: id.clone(),
                });
            }
            if let Some(id) = &r.correlation_id {
                headers.push(Header {
                    name: "x-ms-correlation-request-id".into(),
                    value: id.clone(),
                });
            }
            let status = r.status.unwrap_or(0);
            let status_text = match (r.status, &r.error) {
                (Some(s), _) => super::reason_of(s).to_string(),
                (None, Some(e)) => e.clone(),
                (None, None) => "no response in the log".into(),
            };
            let mut comment = format!("{log} line {}", r.line);
            if r.method.is_none() {
                comment.push_str("; the method is not in the log");
            }
            Entry {
                started_date_time: rfc3339(run_start),
                time,
                request: HarRequest {
                    method: r.method.clone().unwrap_or_else(|| "UNKNOWN".into()),
                    url: r.url.clone(),
                    http_version: "HTTP/1.1".into(),
                    cookies: vec![],
                    headers,
                    query_string: vec![],
                    headers_size: -1,
                    body_size: -1,
                },
                response: HarResponse {
                    status,
                    status_text,
                    http_version: "HTTP/1.1".into(),
                    cookies: vec![],
                    headers: vec![],
                    content: Content {
                        size: 0,
                        mime_type: String::new(),
                    },
                    redirect_url: String::new(),
                    headers_size: -1,
                    body_size: -1,
                },
                cache: serde_json::Map::new(),
                timings: Timings {
                    send: 0,
                    wait: i64::try_from(time).unwrap_or(i64::MAX),
                    receive: 0,
                },
                comment,
            }
        })
        .collect();
    Har {
        log: Log {
            version: "1.2".into(),
            creator: Creator {
                name: "entra-collect".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            entries,
            comment: format!(
                "Rebuilt from {log} by entra-collect: no bodies, cookies or headers but the request and correlation ids; start times are the sign-in's start"
            ),
        },
    }
}
