//! Probes against loopback servers: direct, through allowing / denying / authenticating /
//! intercepting proxies, a listener that never answers, and a closed port.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::tls::*;
use entra_collect::probe::{Endpoint, ProbeResult, Proxy, Settings, Stores, probe};

const HOST: &str = "login.microsoftonline.com";

fn endpoint() -> Endpoint {
    Endpoint {
        host: HOST.into(),
        port: 443,
        path: "/organizations/v2.0/.well-known/openid-configuration".into(),
    }
}

/// Settings pointing HOST at `addr`, trusting `bundle` as REQUESTS_CA_BUNDLE.
fn settings(
    overrides: &[(&str, SocketAddr)],
    bundle: Option<&Ca>,
) -> (Settings, Option<tempfile::NamedTempFile>) {
    let file = bundle.map(|ca| {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), ca.pem()).unwrap();
        f
    });
    let stores = Stores::load(file.as_ref().map(|f| f.path().to_str().unwrap()));
    let s = Settings {
        stage_timeout: Duration::from_millis(800),
        overrides: overrides
            .iter()
            .map(|(h, a)| (h.to_string(), *a))
            .collect::<HashMap<_, _>>(),
        stores,
    };
    (s, file)
}

fn stage_names(r: &ProbeResult) -> Vec<&str> {
    r.stages.iter().map(|s| s.name).collect()
}

/// Microsoft's endpoints are issued by DigiCert / Microsoft CAs; the test CA is named so.
fn genuine_ca() -> Ca {
    Ca::new("DigiCert Test Root (entra-collect tests)")
}

#[test]
fn direct_and_trusted_through_requests_ca_bundle() {
    let ca = genuine_ca();
    let server = https_server(&ca, HOST, 200);
    let (s, _f) = settings(&[(HOST, server)], Some(&ca));
    let r = probe(&endpoint(), None, &s);
    assert!(r.ok, "{r:#?}");
    assert_eq!(stage_names(&r), ["dns", "tcp", "tls", "verify", "http"]);
    let tls = r.tls.as_ref().unwrap();
    assert!(tls.requests_ca_bundle.as_ref().unwrap().trusted);
    assert!(!tls.mozilla.trusted, "the test CA is not a Mozilla root");
    assert_eq!(tls.interception_ca, None);
    assert_eq!(tls.chain[0].subject, format!("CN={HOST}"));
    assert!(tls.chain[1].is_ca && tls.chain[1].self_signed);
    assert_eq!(r.http_status, Some(200));
}

#[test]
fn untrusted_chain_fails_verification_without_claiming_interception() {
    let ca = genuine_ca();
    let server = https_server(&ca, HOST, 200);
    let (s, _f) = settings(&[(HOST, server)], None);
    let r = probe(&endpoint(), None, &s);
    assert_eq!(r.failed_stage, Some("verify"));
    assert_eq!(r.error_kind, Some("tls_untrusted"));
    assert_eq!(r.tls.as_ref().unwrap().interception_ca, None);
    // The GET still happens.
    assert_eq!(r.http_status, Some(200));
}

#[test]
fn allowing_proxy_tunnels() {
    let ca = genuine_ca();
    let server = https_server(&ca, HOST, 200);
    let p = proxy(ProxyMode::Allow(server));
    let (s, _f) = settings(&[("proxy.test", p)], Some(&ca));
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("http://proxy.test:3128")),
        &s,
    );
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        stage_names(&r),
        ["dns", "tcp", "connect", "tls", "verify", "http"]
    );
    assert_eq!(r.proxy_status, Some(200));
}

#[test]
fn denying_proxy_is_a_proxy_status_failure() {
    let p = proxy(ProxyMode::Deny);
    let (s, _f) = settings(&[("proxy.test", p)], None);
    let r = probe(&endpoint(), Some(&Proxy::from_url("proxy.test:3128")), &s);
    assert_eq!(
        (r.failed_stage, r.error_kind, r.proxy_status),
        (Some("connect"), Some("proxy_status"), Some(403))
    );
    assert!(r.tls.is_none());
}

#[test]
fn authenticating_proxy_is_407() {
    let p = proxy(ProxyMode::Auth);
    let (s, _f) = settings(&[("proxy.test", p)], None);
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("http://proxy.test:8080")),
        &s,
    );
    assert_eq!(
        (r.error_kind, r.proxy_status),
        (Some("proxy_status"), Some(407))
    );
}

/// Credentials in the proxy URL go as Basic on CONNECT (percent-decoded), so a proxy that
/// checks them tunnels; wrong ones get its 407 and the schemes it offers.
#[test]
fn basic_proxy_credentials_are_sent() {
    let ca = genuine_ca();
    let server = https_server(&ca, HOST, 200);
    let p = proxy(ProxyMode::Basic {
        credentials: "al@ice:pa:ss".into(),
        upstream: server,
    });
    let (s, _f) = settings(&[("proxy.test", p)], Some(&ca));
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("http://al%40ice:pa%3Ass@proxy.test:8080")),
        &s,
    );
    assert!(r.ok, "{r:#?}");
    assert!(r.proxy_credentials);
    assert_eq!(
        r.proxy.as_deref(),
        Some("http://[REDACTED:url-credentials]@proxy.test:8080")
    );
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("http://al%40ice:nope@proxy.test:8080")),
        &s,
    );
    assert_eq!(
        (r.proxy_status, r.proxy_authenticate.clone()),
        (Some(407), vec!["Basic".to_string()])
    );
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("http://proxy.test:8080")),
        &s,
    );
    assert_eq!(r.proxy_status, Some(407));
    assert!(!r.proxy_credentials);
    assert!(!format!("{r:?}").contains("pa:ss"));
}

#[test]
fn integrated_only_proxy_offers_negotiate_and_ntlm() {
    let p = proxy(ProxyMode::Integrated);
    let (s, _f) = settings(&[("proxy.test", p)], None);
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("http://proxy.test:8080")),
        &s,
    );
    assert_eq!(r.proxy_status, Some(407));
    assert_eq!(r.proxy_authenticate, ["Negotiate", "NTLM"]);
    let detail = r.stages.last().unwrap().detail.clone().unwrap();
    assert_eq!(detail, "proxy answered 407, offering Negotiate, NTLM");
}

#[test]
fn intercepting_proxy_is_named() {
    let inspection = Arc::new(Ca::new("Contoso TLS Inspection CA"));
    let p = proxy(ProxyMode::Intercept(inspection, 200));
    let (s, _f) = settings(&[("proxy.test", p)], None);
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("http://proxy.test:8080")),
        &s,
    );
    let tls = r.tls.as_ref().unwrap();
    assert_eq!(
        tls.interception_ca.as_deref(),
        Some("CN=Contoso TLS Inspection CA, O=Contoso TLS Inspection CA")
    );
    assert_eq!(r.error_kind, Some("tls_untrusted"));
    assert!(!tls.os_store.trusted && !tls.mozilla.trusted);
}

#[test]
fn intercepting_proxy_trusted_through_the_bundle_still_shows_its_block_page() {
    let inspection = Arc::new(Ca::new("Contoso TLS Inspection CA"));
    let p = proxy(ProxyMode::Intercept(inspection.clone(), 403));
    let (s, _f) = settings(&[("proxy.test", p)], Some(&inspection));
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("http://proxy.test:8080")),
        &s,
    );
    assert!(r.tls.as_ref().unwrap().interception_ca.is_some());
    assert_eq!(
        (r.failed_stage, r.error_kind, r.http_status),
        (Some("http"), Some("http_status"), Some(403))
    );
}

#[test]
fn a_listener_that_never_answers_times_out_within_the_stage_limit() {
    let silent = silent_server();
    let (s, _f) = settings(&[(HOST, silent)], None);
    let t0 = Instant::now();
    let r = probe(&endpoint(), None, &s);
    assert_eq!(
        (r.failed_stage, r.error_kind),
        (Some("tls"), Some("timeout")),
        "{r:#?}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "took {:?}",
        t0.elapsed()
    );
}

#[test]
fn closed_port_is_refused() {
    let (s, _f) = settings(&[(HOST, closed_port())], None);
    let r = probe(&endpoint(), None, &s);
    assert_eq!(
        (r.failed_stage, r.error_kind),
        (Some("tcp"), Some("refused"))
    );
}
