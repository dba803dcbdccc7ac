//! Loopback TLS servers and CONNECT proxies for the probe tests. Every listener stops by itself
//! after a bounded number of connections or seconds.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const LIFETIME: Duration = Duration::from_secs(60);
const MAX_CONNECTIONS: usize = 32;

pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    /// A CA whose subject (CN and O) is `name`.
    pub fn new(name: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.distinguished_name.push(DnType::OrganizationName, name);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Ca {
            issuer: CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate chain (leaf, CA) and key for `host`.
    pub fn leaf(&self, host: &str) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut p = CertificateParams::new(vec![host.to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, host);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        let chain = vec![cert.der().clone(), self.issuer.der().clone()];
        (
            chain,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    pub fn server_config(&self, host: &str) -> Arc<rustls::ServerConfig> {
        let (chain, key) = self.leaf(host);
        Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
        )
    }
}

/// Accept connections on 127.0.0.1 until LIFETIME or MAX_CONNECTIONS, handling each on a thread.
fn listen(handler: impl Fn(TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        let t0 = Instant::now();
        let mut n = 0;
        while t0.elapsed() < LIFETIME && n < MAX_CONNECTIONS {
            match l.accept() {
                Ok((s, _)) => {
                    n += 1;
                    s.set_nonblocking(false).unwrap();
                    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                    let h = handler.clone();
                    std::thread::spawn(move || h(s));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    addr
}

fn read_head<R: Read>(r: &mut R) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 16384 {
        match r.read(&mut b) {
            Ok(1) => buf.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Serve HTTPS answering every GET with `status`.
fn serve_https_on(s: TcpStream, config: Arc<rustls::ServerConfig>, status: u16) {
    let conn = rustls::ServerConnection::new(config).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, s);
    let head = read_head(&mut tls);
    if head.is_empty() {
        return;
    }
    let body = if status == 403 {
        "<html>Blocked by policy</html>"
    } else {
        "{}"
    };
    let _ = write!(
        tls,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// An HTTPS server for `host`, certified by `ca`.
pub fn https_server(ca: &Ca, host: &str, status: u16) -> SocketAddr {
    let config = ca.server_config(host);
    listen(move |s| serve_https_on(s, config.clone(), status))
}

/// A listener that accepts and never answers.
pub fn silent_server() -> SocketAddr {
    listen(|s| {
        std::thread::sleep(Duration::from_secs(20));
        drop(s);
    })
}

/// A port with nothing listening on it.
pub fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

pub enum ProxyMode {
    /// Tunnel every CONNECT to this address.
    Allow(SocketAddr),
    Deny,
    Auth,
    /// Answer every CONNECT with this status (e.g. 502 from a proxy that cannot reach upstream).
    Status(u16),
    /// Answer 200 and terminate TLS itself with a certificate from this CA (a TLS-inspecting
    /// proxy); GETs get `status`.
    Intercept(Arc<Ca>, u16),
    /// Tunnel to `upstream` only when CONNECT carries `Proxy-Authorization: Basic` of exactly
    /// `credentials` (`user:password`, decoded); otherwise 407 offering Basic.
    Basic {
        credentials: String,
        upstream: SocketAddr,
    },
    /// 407 offering only Windows integrated authentication (`Negotiate` and `NTLM`, one
    /// `Proxy-Authenticate` header each, as IIS / Squid with Kerberos send them), whatever the
    /// request carries.
    Integrated,
}

/// The `Proxy-Authorization` value of an HTTP head, if any.
fn proxy_authorization(head: &str) -> Option<&str> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case("proxy-authorization")
            .then(|| v.trim())
    })
}

/// Answer 200 to a CONNECT and relay bytes both ways between `s` and `up`.
fn tunnel_to(mut s: TcpStream, up: &SocketAddr) {
    let Ok(upstream) = TcpStream::connect(up) else {
        return;
    };
    let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut a, mut b) = (s.try_clone().unwrap(), upstream.try_clone().unwrap());
    let (mut c, mut d) = (upstream, s);
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a, &mut b);
        let _ = b.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut c, &mut d);
    let _ = t.join();
}

pub fn proxy(mode: ProxyMode) -> SocketAddr {
    let mode = Arc::new(mode);
    listen(move |mut s| {
        let head = read_head(&mut s);
        let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let host = target
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_default();
        match mode.as_ref() {
            ProxyMode::Deny => {
                let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            }
            ProxyMode::Auth => {
                let _ = s.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n");
            }
            ProxyMode::Status(code) => {
                let _ = write!(
                    s,
                    "HTTP/1.1 {code} Proxy Answer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
            ProxyMode::Allow(up) => tunnel_to(s, up),
            ProxyMode::Basic {
                credentials,
                upstream,
            } => {
                use base64::Engine;
                let want = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credentials)
                );
                if proxy_authorization(&head) == Some(want.as_str()) {
                    tunnel_to(s, upstream);
                } else {
                    let _ = s.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp, \\\"main\\\" site\", charset=\"UTF-8\"\r\nContent-Length: 0\r\n\r\n");
                }
            }
            ProxyMode::Integrated => {
                let _ = s.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nProxy-Authenticate: NTLM\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
            ProxyMode::Intercept(ca, status) => {
                let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                serve_https_on(s, ca.server_config(&host), *status);
            }
        }
    })
}
