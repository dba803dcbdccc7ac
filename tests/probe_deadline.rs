//! Each probe stage has a wall-clock deadline: a peer that trickles one byte every 100 ms (never
//! finishing its HTTP head) cannot stretch a stage beyond its limit. Loopback servers only; each
//! stops by itself after at most 150 bytes (15 s) or when the client goes away.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::tls::Ca;
use entra_collect::probe::{Endpoint, ErrorKind, Proxy, Settings, StageName, Stores, Trust, probe};

const HOST: &str = "login.microsoftonline.com";
const STAGE: Duration = Duration::from_millis(1000);

fn endpoint() -> Endpoint {
    Endpoint {
        trust: Trust::AzureCli,
        host: HOST.into(),
        port: 443,
        path: "/".into(),
    }
}

fn settings(overrides: &[(&str, SocketAddr)]) -> Settings {
    Settings {
        stage_timeout: STAGE,
        overrides: overrides.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
        stores: Stores::load(None),
    }
}

/// Read up to the blank line (bounded).
fn read_head<R: Read>(r: &mut R) {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 16384 {
        match r.read(&mut b) {
            Ok(1) => buf.push(b[0]),
            _ => return,
        }
    }
}

/// Write `HTTP/1.1 200 OK` and then headers, one byte every 100 ms, never the blank line.
fn trickle<W: Write>(w: &mut W) {
    let text = b"HTTP/1.1 200 OK\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for b in text.iter().take(150) {
        if w.write_all(&[*b]).and_then(|_| w.flush()).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Accept one connection on loopback and hand it to `handler` on a thread.
fn serve_one(handler: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            handler(s);
        }
    });
    addr
}

#[test]
fn a_trickling_proxy_cannot_stretch_the_connect_stage() {
    let proxy = serve_one(|mut s| {
        read_head(&mut s);
        trickle(&mut s);
    });
    let t0 = Instant::now();
    let r = probe(
        &endpoint(),
        Some(&Proxy::from_url(&format!("http://{proxy}"))),
        &settings(&[]),
    );
    let took = t0.elapsed();
    eprintln!("connect stage against a trickling proxy ended after {took:?}");
    assert_eq!(r.failed_stage, Some(StageName::Connect), "{r:#?}");
    assert_eq!(r.error_kind, Some(ErrorKind::Timeout), "{r:#?}");
    assert!(took < STAGE * 2, "took {took:?} for a {STAGE:?} stage");
}

#[test]
fn a_trickling_server_cannot_stretch_the_http_stage() {
    let config = Ca::new("DigiCert Test Root (entra-collect tests)").server_config(HOST);
    let server = serve_one(move |s| {
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, s);
        read_head(&mut tls);
        trickle(&mut tls);
    });
    let t0 = Instant::now();
    let r = probe(&endpoint(), None, &settings(&[(HOST, server)]));
    let took = t0.elapsed();
    eprintln!("http stage against a trickling server ended after {took:?}");
    assert_eq!(r.failed_stage, Some(StageName::Http), "{r:#?}");
    assert_eq!(r.error_kind, Some(ErrorKind::Timeout), "{r:#?}");
    let http = r.stages.iter().find(|s| s.name == StageName::Http).unwrap();
    assert!(!http.ok);
    assert!(took < STAGE * 3, "took {took:?}");
}
