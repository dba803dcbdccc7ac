use super::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/debug/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn summary(t: &Timeline) -> Vec<String> {
    t.requests
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.method.as_deref().unwrap_or("?"),
                r.url,
                r.status.map_or("-".to_string(), |s| s.to_string())
            )
        })
        .collect()
}

/// Real `az login --service-principal --debug` output (loopback Entra stand-in): MSAL's
/// discovery and token requests through urllib3, the 401 with Entra's ids in the error.
#[test]
fn az_msal_token_failure() {
    let t = parse(&fixture("az-login-sp-bad-secret.log"));
    assert_eq!(t.formats, ["az"]);
    assert_eq!(
        summary(&t),
        [
            "GET https://localhost:18443/72f988bf-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration 200",
            "POST https://localhost:18443/72f988bf-0000-0000-0000-000000000000/oauth2/v2.0/token 401",
        ]
    );
    let token = &t.requests[1];
    assert!(token.failed);
    assert_eq!(token.seq, 2);
    assert_eq!(
        token.request_id.as_deref(),
        Some("0b5c7d5e-1111-4a2b-8c3d-222233334444")
    );
    assert_eq!(
        token.correlation_id.as_deref(),
        Some("9a8b7c6d-5555-4e4f-8a9b-666677778888")
    );
    let stop = t.stop.expect("a stop");
    assert_eq!(stop.request, Some(1));
    assert!(
        stop.line.starts_with("POST https://localhost:18443/"),
        "{}",
        stop.line
    );
    assert!(stop.line.ends_with("-> 401"), "{}", stop.line);
}

/// Real output: the ARM call logged by az's policy (request / response headers) merged with
/// urllib3's line into one request.
#[test]
fn az_arm_call_with_policy_headers() {
    let t = parse(&fixture("az-login-sp-arm-403.log"));
    // MSAL's HTTP cache held the discovery document from the run before: no GET.
    assert_eq!(
        summary(&t),
        [
            "POST https://localhost:18443/72f988bf-0000-0000-0000-000000000000/oauth2/v2.0/token 200",
            "GET https://localhost:18443/subscriptions?api-version=2022-12-01 403",
        ]
    );
    let arm = &t.requests[1];
    assert_eq!(
        arm.request_id.as_deref(),
        Some("5f0f4c1e-6a3b-4e1c-9d62-0c3d2a1b0e00")
    );
    // The server's correlation id wins over the client's request id.
    assert_eq!(
        arm.correlation_id.as_deref(),
        Some("1c2d3e4f-0000-4000-8000-00000000c0de")
    );
    assert_eq!(t.stop.and_then(|s| s.request), Some(1));
}

/// Real output: the proxy refused the connection; the request has no status, the error says
/// why, and the tracebacks' repeats of it do not add requests.
#[test]
fn az_proxy_refused_without_status() {
    let t = parse(&fixture("az-login-proxy-refused.log"));
    assert_eq!(t.requests.len(), 1, "{:?}", t.requests);
    let r = &t.requests[0];
    assert_eq!(
        r.url,
        "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"
    );
    assert_eq!(r.method, None);
    assert_eq!(r.status, None);
    assert!(r.failed);
    assert!(
        r.error
            .as_deref()
            .unwrap_or("")
            .contains("Unable to connect to proxy"),
        "{:?}",
        r.error
    );
    assert_eq!(t.stop.and_then(|s| s.request), Some(0));
}

/// Reconstructed Az PowerShell `-Debug` blocks (GeneralUtilities.GetHttpRequestLog /
/// GetHttpResponseLog): method, URI, status names, ids, durations from the timestamps.
#[test]
fn az_powershell_blocks() {
    let t = parse(&fixture("connect-azaccount-arm-403.log"));
    assert_eq!(t.formats, ["powershell"]);
    assert_eq!(
        summary(&t),
        [
            "GET https://management.azure.com/tenants?api-version=2020-01-01 200",
            // $skiptoken is not a known-harmless key: dropped.
            "GET https://management.azure.com/subscriptions?api-version=2022-12-01 403",
        ]
    );
    let first = &t.requests[0];
    assert_eq!(
        first.request_id.as_deref(),
        Some("6a0f1d2e-3b4c-4d5e-8f60-718293a4b5c6")
    );
    assert_eq!(first.duration_ms, Some(1000));
    assert!(!first.failed);
    assert!(t.requests[1].failed);
    assert_eq!(t.stop.and_then(|s| s.request), Some(1));
}

/// Reconstructed Graph PowerShell output: a request that never got a response (proxy 407 on
/// CONNECT) takes the .NET error.
#[test]
fn graph_powershell_request_without_response() {
    let t = parse(&fixture("get-mguser-proxy-407.log"));
    assert_eq!(t.requests.len(), 1);
    let r = &t.requests[0];
    assert_eq!(r.method.as_deref(), Some("GET"));
    assert_eq!(r.url, "https://graph.microsoft.com/v1.0/users");
    assert_eq!(r.status, None);
    assert_eq!(
        r.correlation_id.as_deref(),
        Some("4d3c2b1a-0f9e-4d8c-b7a6-958473625140")
    );
    assert!(
        r.error.as_deref().unwrap_or("").contains("407"),
        "{:?}",
        r.error
    );
    assert_eq!(t.stop.and_then(|s| s.request), Some(0));
}

#[test]
fn graph_powershell_401() {
    let t = parse(&fixture("invoke-mggraphrequest-401.log"));
    assert_eq!(summary(&t), ["GET https://graph.microsoft.com/v1.0/me 401"]);
    let r = &t.requests[0];
    assert_eq!(
        r.request_id.as_deref(),
        Some("aaaabbbb-cccc-4ddd-8eee-ffff00001111")
    );
    assert_eq!(
        r.correlation_id.as_deref(),
        Some("11112222-3333-4444-8555-666677778888")
    );
}

/// An error line with no request before it is the stop; nothing failing means no stop.
#[test]
fn stop_is_an_error_line_or_nothing() {
    let t = parse(
        "DEBUG: cli.knack.cli: Command arguments: ['login']\nERROR: cli.azure.cli.core.azclierror: No subscriptions found for alice@contoso.com.\n",
    );
    assert!(t.requests.is_empty());
    assert_eq!(
        t.stop,
        Some(Stop {
            request: None,
            line: "No subscriptions found for alice@contoso.com.".into()
        })
    );
    let t = parse(
        "DEBUG: urllib3.connectionpool: https://login.microsoftonline.com:443 \"GET /common/discovery/instance?api-version=1.1&authorization_endpoint=x HTTP/1.1\" 200 945\n",
    );
    assert_eq!(
        summary(&t),
        ["GET https://login.microsoftonline.com/common/discovery/instance?api-version=1.1 200"]
    );
    assert_eq!(t.stop, None);
    assert_eq!(parse(""), Timeline::default());
}

/// Default-deny URLs: user-info, fragments and unknown query keys go; ids must be GUIDs.
#[test]
fn urls_and_ids_are_default_deny() {
    assert_eq!(
        clean_url(
            "https://bob:hunter2@Login.Example.com:443/p/a?code=SECRET&api-version=2020-01-01&sig=X#frag"
        ),
        Some("https://login.example.com/p/a?api-version=2020-01-01".into())
    );
    assert_eq!(
        clean_url("'https://h:8443/x?api-version=<script>'"),
        Some("https://h:8443/x".into())
    );
    assert_eq!(clean_url("ftp://h/x"), None);
    assert_eq!(clean_url("https://h h/"), None);
    let t = parse(
        "DEBUG: ============================ HTTP REQUEST ============================\nHTTP Method:\nGET\nAbsolute Uri:\nhttps://h/x\nHeaders:\nx-ms-client-request-id        : not-a-guid-but-a-secret\n\n",
    );
    assert_eq!(t.requests.len(), 1);
    assert_eq!(t.requests[0].correlation_id, None);
}

#[test]
fn status_names() {
    assert_eq!(status_of("OK"), Some(200));
    assert_eq!(status_of("ProxyAuthenticationRequired"), Some(407));
    assert_eq!(status_of("429"), Some(429));
    assert_eq!(status_of("Teapot"), None);
    assert_eq!(reason_of(502), "Bad Gateway");
}

/// The HAR is valid 1.2: every member the spec requires is there, and it reads back.
#[test]
fn har_has_the_required_members() {
    let t = parse(&fixture("az-login-sp-arm-403.log"));
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-25T06:00:00Z")
        .expect("date")
        .with_timezone(&chrono::Utc);
    let har = har::build(&t.requests, "debug/az-login.log", start);
    let v = serde_json::to_value(&har).expect("json");
    assert_eq!(v["log"]["version"], "1.2");
    assert_eq!(v["log"]["creator"]["name"], "entra-collect");
    let entries = v["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    for e in entries {
        for k in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        for k in [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        ] {
            assert!(e["request"].get(k).is_some(), "request.{k} missing");
        }
        for k in [
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        ] {
            assert!(e["response"].get(k).is_some(), "response.{k} missing");
        }
        assert!(e["response"]["content"].get("size").is_some());
        assert!(e["response"]["content"].get("mimeType").is_some());
        for k in ["send", "wait", "receive"] {
            assert!(e["timings"][k].as_i64().is_some_and(|n| n >= 0));
        }
        assert_eq!(e["startedDateTime"], "2026-11-25T06:00:00.000Z");
    }
    assert_eq!(entries[1]["response"]["status"], 403);
    assert_eq!(entries[1]["response"]["statusText"], "Forbidden");
    let back: har::Har = serde_json::from_value(v).expect("reads back");
    assert_eq!(back, har);
}
