//! Probes against loopback servers: direct, through allowing / denying / authenticating /
//! intercepting proxies, a listener that never answers, and a closed port.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::tls::*;
use entra_collect::probe::{
    Endpoint, ErrorKind, ProbeResult, Proxy, Settings, StageName, Stores, Trust, probe,
};

const HOST: &str = "login.microsoftonline.com";

fn endpoint() -> Endpoint {
    Endpoint {
        trust: Trust::AzureCli,
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
    r.stages.iter().map(|s| s.name.as_str()).collect()
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
    assert_eq!(r.failed_stage, Some(StageName::Verify));
    assert_eq!(r.error_kind, Some(ErrorKind::TlsUntrusted));
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
        (
            Some(StageName::Connect),
            Some(ErrorKind::ProxyStatus),
            Some(403)
        )
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
        (Some(ErrorKind::ProxyStatus), Some(407))
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
    assert_eq!(r.error_kind, Some(ErrorKind::TlsUntrusted));
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
        (
            Some(StageName::Http),
            Some(ErrorKind::HttpStatus),
            Some(403)
        )
    );
}

#[test]
fn a_listener_that_never_answers_times_out_within_the_stage_limit() {
    let silent = silent_server();
    let (s, _f) = settings(&[(HOST, silent)], None);
    let t0 = Instant::now();
    let r = probe(&endpoint(), None, &s);
    assert_eq!(
        (r.failed_stage.clone(), r.error_kind.clone()),
        (Some(StageName::Tls), Some(ErrorKind::Timeout)),
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
        (r.failed_stage.clone(), r.error_kind.clone()),
        (Some(StageName::Tcp), Some(ErrorKind::Refused))
    );
}

/// `socks5h://`: the proxy resolves the name (PySocks rdns), credentials from the URL go as
/// RFC 1929 user/password; the TLS and HTTP stages run through the SOCKS tunnel.
#[test]
fn socks5h_proxy_gets_the_name_and_the_login() {
    let ca = genuine_ca();
    let server = https_server(&ca, HOST, 200);
    let (p, seen) = socks_proxy(SocksMode::Login {
        credentials: "al@ice:p:ss".into(),
        upstream: server,
    });
    let (s, _f) = settings(&[("socks.test", p)], Some(&ca));
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url(
            "socks5h://al%40ice:p%3Ass@socks.test:1080",
        )),
        &s,
    );
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        stage_names(&r),
        ["dns", "tcp", "connect", "tls", "verify", "http"]
    );
    assert!(r.proxy_credentials);
    assert_eq!(
        r.proxy.as_deref(),
        Some("socks5h://[REDACTED:url-credentials]@socks.test:1080")
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (
            seen[0].version,
            seen[0].address.as_str(),
            seen[0].dest.as_str(),
            seen[0].port
        ),
        (5, "name", HOST, 443)
    );
    assert_eq!(seen[0].login.as_deref(), Some("al@ice:p:ss"));
}

/// `socks5://` resolves the endpoint here first (PySocks with rdns off) and sends the address.
#[test]
fn socks5_proxy_gets_a_locally_resolved_address() {
    let ca = genuine_ca();
    let server = https_server(&ca, HOST, 200);
    let (p, seen) = socks_proxy(SocksMode::Allow(server));
    let (s, _f) = settings(&[("socks.test", p), (HOST, server)], Some(&ca));
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("socks5://socks.test")),
        &s,
    );
    // Port 1080 by default: the override points the name at the listener, port included.
    assert!(r.ok, "{r:#?}");
    let seen = seen.lock().unwrap();
    assert_eq!(
        (seen[0].address.as_str(), seen[0].dest.as_str()),
        ("ipv4", "127.0.0.1")
    );
    assert!(!r.proxy_credentials);
}

/// A SOCKS proxy that requires a login the URL does not have, and one that refuses by rule:
/// each is a `connect` failure that says why, never a TLS or timeout failure.
#[test]
fn socks_refusals_say_why() {
    let (p, _) = socks_proxy(SocksMode::Login {
        credentials: "u:p".into(),
        upstream: closed_port(),
    });
    let (s, _f) = settings(&[("socks.test", p)], None);
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("socks5h://socks.test:1")),
        &s,
    );
    assert_eq!(
        (r.failed_stage.clone(), r.error_kind.clone()),
        (Some(StageName::Connect), Some(ErrorKind::ProxyStatus)),
        "{r:#?}"
    );
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("rejected every authentication method"),
        "{r:#?}"
    );

    let (p, _) = socks_proxy(SocksMode::Refuse(2));
    let (s, _f) = settings(&[("socks.test", p)], None);
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("socks5h://socks.test:1")),
        &s,
    );
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("connection not allowed by ruleset (0x02)"),
        "{r:#?}"
    );

    let (p, seen) = socks_proxy(SocksMode::Refuse(0x5B));
    let (s, _f) = settings(&[("socks.test", p)], None);
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("socks4a://me@socks.test:1")),
        &s,
    );
    assert_eq!(r.failed_stage, Some(StageName::Connect), "{r:#?}");
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("request rejected or failed"),
        "{r:#?}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        (
            seen[0].version,
            seen[0].address.as_str(),
            seen[0].dest.as_str()
        ),
        (4, "name", HOST)
    );
    assert_eq!(seen[0].login.as_deref(), Some("me"));
}

/// An `https://` proxy: TLS to the proxy (its certificate judged against REQUESTS_CA_BUNDLE,
/// as urllib3 does), then CONNECT inside it, then the endpoint's TLS inside that.
#[test]
fn https_proxy_is_reached_over_tls() {
    let ca = genuine_ca();
    let server = https_server(&ca, HOST, 200);
    let p = https_proxy(&ca, "proxy.test", server);
    let (s, _f) = settings(&[("proxy.test", p)], Some(&ca));
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("https://proxy.test")),
        &s,
    );
    assert!(r.ok, "{r:#?}");
    assert_eq!(
        stage_names(&r),
        [
            "dns",
            "tcp",
            "proxy_tls",
            "connect",
            "tls",
            "verify",
            "http"
        ]
    );
    assert_eq!(r.proxy_status, Some(200));
}

/// The classic mistake: `HTTPS_PROXY=https://proxy:8080` for a proxy that speaks plain HTTP.
/// The probe fails where the client fails (TLS to the proxy) and says what to write instead.
#[test]
fn https_scheme_on_a_plain_http_proxy_fails_at_proxy_tls() {
    let p = proxy(ProxyMode::Deny);
    let (s, _f) = settings(&[("proxy.test", p)], None);
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("https://proxy.test:8080")),
        &s,
    );
    assert_eq!(r.failed_stage, Some(StageName::ProxyTls), "{r:#?}");
    assert!(
        r.error.as_deref().unwrap().contains("write http://"),
        "{r:#?}"
    );
}

/// A proxy whose own certificate the client does not trust fails at `proxy_tls`.
#[test]
fn https_proxy_with_an_untrusted_certificate() {
    let ca = genuine_ca();
    let other = Ca::new("Someone Else");
    let server = https_server(&ca, HOST, 200);
    let p = https_proxy(&other, "proxy.test", server);
    let (s, _f) = settings(&[("proxy.test", p)], Some(&ca));
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("https://proxy.test")),
        &s,
    );
    assert_eq!(
        (r.failed_stage.clone(), r.error_kind.clone()),
        (Some(StageName::ProxyTls), Some(ErrorKind::TlsUntrusted)),
        "{r:#?}"
    );
}

/// A scheme no client accepts is a failure naming the scheme, before any connection.
#[test]
fn unknown_proxy_scheme_is_refused_up_front() {
    let (s, _f) = settings(&[], None);
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url("ftp://proxy.test:21")),
        &s,
    );
    assert_eq!(
        (r.failed_stage.clone(), r.error_kind.clone()),
        (Some(StageName::Tcp), Some(ErrorKind::ProxyScheme)),
        "{r:#?}"
    );
    assert!(r.error.as_deref().unwrap().contains("ftp://"));
}
