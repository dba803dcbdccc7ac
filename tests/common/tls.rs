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

    /// The root as "DER encoded binary X.509" (certmgr's other export format).
    #[allow(dead_code)]
    pub fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
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
    pump(s, upstream);
}

/// Copy bytes both ways between `s` and `upstream` until either side closes.
fn pump(s: TcpStream, upstream: TcpStream) {
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

/// What a loopback SOCKS proxy saw: the version, the address type of the request
/// (`name`, `ipv4`, `ipv6`) and the destination as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocksRequest {
    pub version: u8,
    pub address: String,
    pub dest: String,
    pub port: u16,
    /// SOCKS5: the user/password the client sent; SOCKS4: the user id.
    pub login: Option<String>,
}

/// How a loopback SOCKS proxy answers.
pub enum SocksMode {
    /// Grant every request and relay to `upstream`.
    Allow(SocketAddr),
    /// SOCKS5: require user/password (method 2) equal to `credentials` (`user:password`).
    Login {
        credentials: String,
        upstream: SocketAddr,
    },
    /// Refuse with this reply code (SOCKS5: 0x02 "not allowed by ruleset"; SOCKS4: 0x5B).
    Refuse(u8),
}

fn read_exact_n(s: &mut TcpStream, n: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).ok()?;
    Some(b)
}

fn read_nul_terminated(s: &mut TcpStream) -> Option<String> {
    let mut out = Vec::new();
    loop {
        let b = read_exact_n(s, 1)?[0];
        if b == 0 || out.len() > 512 {
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
        out.push(b);
    }
}

/// Relay bytes both ways between `s` and `up` (already granted).
fn relay(s: TcpStream, up: &SocketAddr) {
    if let Ok(upstream) = TcpStream::connect(up) {
        pump(s, upstream);
    }
}

/// A SOCKS4/4a/5 proxy on loopback (RFC 1928, RFC 1929, SOCKS4 and its 4a extension).
/// Every request it saw is pushed to the returned list.
pub fn socks_proxy(mode: SocksMode) -> (SocketAddr, Arc<std::sync::Mutex<Vec<SocksRequest>>>) {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let mode = Arc::new(mode);
    let addr = listen(move |mut s| {
        let Some(v) = read_exact_n(&mut s, 1) else {
            return;
        };
        let req = match v[0] {
            5 => socks5_server(&mut s, &mode),
            4 => socks4_server(&mut s, &mode),
            _ => None,
        };
        let Some((req, upstream, reply)) = req else {
            return;
        };
        // Recorded before the reply goes out: the client may check the log once answered.
        log.lock().unwrap().push(req);
        if s.write_all(&reply).is_err() {
            return;
        }
        if let Some(up) = upstream {
            relay(s, &up);
        }
    });
    (addr, seen)
}

/// A request seen, where to relay it (when granted), and the reply to send.
type SocksOutcome = (SocksRequest, Option<SocketAddr>, Vec<u8>);

fn socks5_server(s: &mut TcpStream, mode: &SocksMode) -> Option<SocksOutcome> {
    let n = read_exact_n(s, 1)?[0] as usize;
    let methods = read_exact_n(s, n)?;
    let mut login = None;
    match mode {
        SocksMode::Login { credentials, .. } => {
            if !methods.contains(&2) {
                return Some((
                    SocksRequest {
                        version: 5,
                        address: "none".into(),
                        dest: String::new(),
                        port: 0,
                        login: None,
                    },
                    None,
                    vec![5, 0xFF],
                ));
            }
            s.write_all(&[5, 2]).ok()?;
            let _ver = read_exact_n(s, 1)?;
            let ulen = read_exact_n(s, 1)?[0] as usize;
            let user = read_exact_n(s, ulen)?;
            let plen = read_exact_n(s, 1)?[0] as usize;
            let pass = read_exact_n(s, plen)?;
            let given = format!(
                "{}:{}",
                String::from_utf8_lossy(&user),
                String::from_utf8_lossy(&pass)
            );
            let ok = &given == credentials;
            login = Some(given);
            if !ok {
                return Some((
                    SocksRequest {
                        version: 5,
                        address: "none".into(),
                        dest: String::new(),
                        port: 0,
                        login,
                    },
                    None,
                    vec![1, 1],
                ));
            }
            s.write_all(&[1, 0]).ok()?;
        }
        _ => {
            s.write_all(&[5, 0]).ok()?;
        }
    }
    let head = read_exact_n(s, 4)?;
    let (address, dest) = match head[3] {
        1 => {
            let a = read_exact_n(s, 4)?;
            ("ipv4", format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]))
        }
        4 => {
            let a: [u8; 16] = read_exact_n(s, 16)?.try_into().ok()?;
            ("ipv6", std::net::Ipv6Addr::from(a).to_string())
        }
        3 => {
            let n = read_exact_n(s, 1)?[0] as usize;
            (
                "name",
                String::from_utf8_lossy(&read_exact_n(s, n)?).into_owned(),
            )
        }
        _ => return None,
    };
    let p = read_exact_n(s, 2)?;
    let req = SocksRequest {
        version: 5,
        address: address.into(),
        dest,
        port: u16::from_be_bytes([p[0], p[1]]),
        login,
    };
    let (code, up) = match mode {
        SocksMode::Allow(up) | SocksMode::Login { upstream: up, .. } => (0, Some(*up)),
        SocksMode::Refuse(code) => (*code, None),
    };
    // Reply with a bound IPv4 address 0.0.0.0:0.
    Some((req, up, vec![5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
}

fn socks4_server(s: &mut TcpStream, mode: &SocksMode) -> Option<SocksOutcome> {
    let head = read_exact_n(s, 7)?;
    let port = u16::from_be_bytes([head[1], head[2]]);
    let ip = [head[3], head[4], head[5], head[6]];
    let user = read_nul_terminated(s)?;
    let (address, dest) = if ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0 {
        ("name", read_nul_terminated(s)?)
    } else {
        ("ipv4", format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]))
    };
    let req = SocksRequest {
        version: 4,
        address: address.into(),
        dest,
        port,
        login: (!user.is_empty()).then_some(user),
    };
    let (code, up) = match mode {
        SocksMode::Allow(up) | SocksMode::Login { upstream: up, .. } => (0x5A, Some(*up)),
        SocksMode::Refuse(code) => (*code, None),
    };
    Some((req, up, vec![0, code, 0, 0, 0, 0, 0, 0]))
}

/// An HTTPS proxy: TLS with a certificate for `proxy_host` from `ca`, then CONNECT inside the
/// TLS session, tunnelled to `upstream`.
pub fn https_proxy(ca: &Ca, proxy_host: &str, upstream: SocketAddr) -> SocketAddr {
    let config = ca.server_config(proxy_host);
    listen(move |s| {
        let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
            return;
        };
        let mut tls = rustls::StreamOwned::new(conn, s);
        let head = read_head(&mut tls);
        if !head.starts_with("CONNECT ") {
            return;
        }
        let Ok(up) = TcpStream::connect(upstream) else {
            return;
        };
        let _ = tls.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let _ = tls.flush();
        // Relay in one thread: poll both sides with short timeouts (a TLS stream cannot be
        // split across threads).
        let _ = up.set_read_timeout(Some(Duration::from_millis(20)));
        let _ = tls.sock.set_read_timeout(Some(Duration::from_millis(20)));
        let mut up = up;
        let mut buf = [0u8; 16384];
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            let mut idle = true;
            match tls.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    idle = false;
                    if up.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
            match up.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    idle = false;
                    if tls.write_all(&buf[..n]).is_err() || tls.flush().is_err() {
                        break;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
            if idle {
                std::thread::yield_now();
            }
        }
    })
}
