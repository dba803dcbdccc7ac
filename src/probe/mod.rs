//! Connectivity probes that see through intercepting proxies.
//!
//! For each endpoint, stage by stage with a time limit per stage: DNS (direct only) → TCP
//! connect (to the proxy or the host) → CONNECT (through a proxy) → TLS handshake with SNI,
//! recording the presented chain even when it would not verify → verification against the
//! Mozilla roots, the OS store and REQUESTS_CA_BUNDLE separately → one cheap HTTPS GET. The
//! result names the stage that failed and the kind of error. Endpoints run in parallel.

pub(crate) mod cert;
pub(crate) mod proxy;
pub(crate) mod socks;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;

use crate::redact::url::percent_decode;
use crate::vocab::Cloud;

pub use crate::model::{ErrorKind, ProbeResult, ProxyFamily, Stage, StageName, TlsInfo, Verdict};
use cert::CertInfo;

/// An endpoint to probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// A cheap GET that needs no authentication.
    pub path: String,
    /// Whose trust store judges the chain in the `verify` stage: the client family that takes
    /// this route.
    pub trust: Trust,
}

/// The trust store a client verifies TLS against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// Azure CLI (Python requests): REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi (whose
    /// roots are Mozilla's, webpki-roots here).
    #[default]
    AzureCli,
    /// .NET on Windows (PowerShell 7, Windows PowerShell) and WAM: the OS store (SChannel /
    /// the Windows certificate store; OpenSSL's store off Windows).
    OsStore,
}

fn ep(host: &str, path: &str) -> Endpoint {
    Endpoint {
        trust: Trust::AzureCli,
        host: host.into(),
        port: 443,
        path: path.into(),
    }
}

/// The sign-in, Resource Manager and Graph endpoints of a cloud (Microsoft's national-cloud
/// endpoint lists).
pub(crate) fn endpoints(cloud: Cloud) -> Vec<Endpoint> {
    let oidc = "/organizations/v2.0/.well-known/openid-configuration";
    let arm = "/metadata/endpoints?api-version=2022-09-01";
    match cloud {
        Cloud::Public => vec![
            ep("login.microsoftonline.com", oidc),
            ep("management.azure.com", arm),
            ep("graph.microsoft.com", "/v1.0/"),
            ep(
                "login.windows.net",
                "/common/.well-known/openid-configuration",
            ),
        ],
        Cloud::UsGov => vec![
            ep("login.microsoftonline.us", oidc),
            ep("management.usgovcloudapi.net", arm),
            ep("graph.microsoft.us", "/v1.0/"),
        ],
        Cloud::China => vec![
            ep("login.chinacloudapi.cn", oidc),
            ep("management.chinacloudapi.cn", arm),
            ep("microsoftgraph.chinacloudapi.cn", "/v1.0/"),
        ],
    }
}

/// Trust stores to verify a presented chain against.
pub struct Stores {
    pub mozilla: Arc<RootCertStore>,
    pub os: Arc<RootCertStore>,
    /// REQUESTS_CA_BUNDLE (path, store), when set and readable.
    pub requests_ca_bundle: Option<(String, Arc<RootCertStore>)>,
}

impl Stores {
    pub fn load(requests_ca_bundle: Option<&str>) -> Self {
        let mozilla = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut os = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        os.add_parsable_certificates(native.certs);
        let bundle = requests_ca_bundle.and_then(|p| {
            // A user-named file: capped, and never a FIFO or device (it could block or be endless).
            let data =
                crate::fsutil::read_capped(std::path::Path::new(p), crate::fsutil::CA_BUNDLE_CAP)
                    .ok()?
                    .data;
            Some((p.to_string(), Arc::new(store_from_pem(&data))))
        });
        Stores {
            mozilla: Arc::new(mozilla),
            os: Arc::new(os),
            requests_ca_bundle: bundle,
        }
    }
}

/// Every certificate of a PEM file, as DER.
pub(crate) fn pem_certs(data: &[u8]) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(data)
        .filter_map(Result::ok)
        .collect()
}

pub(crate) fn store_from_pem(data: &[u8]) -> RootCertStore {
    let mut s = RootCertStore::empty();
    s.add_parsable_certificates(pem_certs(data));
    s
}

/// Probe settings.
pub struct Settings {
    pub stage_timeout: Duration,
    /// host → address, instead of DNS (tests point endpoints at loopback servers).
    pub overrides: HashMap<String, SocketAddr>,
    pub stores: Stores,
}

/// A stage that could not complete: which, what kind of failure, the message.
struct Failure(StageName, ErrorKind, String);

/// The wall-clock end of one stage: every read and write gets only the time that is left, so a
/// peer trickling one byte at a time cannot stretch the stage.
#[derive(Clone, Copy)]
struct Deadline {
    end: Instant,
    limit: Duration,
}

impl Deadline {
    /// `limit` from now, but never past `outer` (the end of the whole probe phase).
    fn new(limit: Duration, outer: Instant) -> Self {
        Deadline {
            end: (Instant::now() + limit).min(outer),
            limit,
        }
    }
    /// The time left, or a timeout error when it is over.
    fn left(&self) -> std::io::Result<Duration> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("stage took longer than {:?}", self.limit),
            ))
        } else {
            Ok(left)
        }
    }
    /// Give the socket the time left for its next read and write.
    fn arm(&self, s: &TcpStream) -> std::io::Result<()> {
        let left = self.left()?;
        s.set_read_timeout(Some(left))?;
        s.set_write_timeout(Some(left))
    }
}

/// A stream whose socket timeouts can be set (plain TCP, or TLS over TCP).
trait Socket: Read + Write {
    fn socket(&self) -> &TcpStream;
}
impl Socket for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}
impl<S: Socket> Socket for rustls::StreamOwned<rustls::ClientConnection, S> {
    fn socket(&self) -> &TcpStream {
        self.sock.socket()
    }
}

/// The connection a probe's CONNECT and TLS run over: TCP, or TLS to an `https://` proxy.
enum Conn {
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

impl Socket for Conn {
    fn socket(&self) -> &TcpStream {
        match self {
            Conn::Tcp(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }
}

/// The user name and password of a proxy URL, kept in memory only to authenticate the probe's
/// CONNECT the way Azure CLI does. Never serialised; its `Debug` shows nothing of the values.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyCredentials {
    user: String,
    password: String,
}

impl std::fmt::Debug for ProxyCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProxyCredentials([REDACTED])")
    }
}

impl ProxyCredentials {
    /// The credentials of a proxy URL as requests reads them (psf/requests
    /// `utils.get_auth_from_url`: the URL's username and password, percent-decoded; the user
    /// info splits at its first `:`). None without a user name: requests' `proxy_headers`
    /// sends `Proxy-Authorization` only `if username`. The user info ends at the last `@`, as
    /// [`crate::redact::url`] cuts it, so the host probed and the credentials sent agree.
    pub fn from_url(url: &str) -> Option<Self> {
        // The WHATWG parser (the `url` crate) splits user info at the last `@` of the
        // authority and keeps it percent-encoded, as urllib3's `parse_url` does; a URL it
        // cannot read falls back to the cut of [`crate::redact::url`].
        if let Ok(u) = url::Url::parse(&with_scheme(url.trim()))
            && u.has_host()
        {
            let user = percent_decode(u.username());
            return (!user.is_empty()).then(|| ProxyCredentials {
                user,
                password: percent_decode(u.password().unwrap_or("")),
            });
        }
        let (_, userinfo) = crate::redact::url::strip_credentials(url.trim());
        let userinfo = userinfo?;
        let (user, password) = userinfo.split_once(':').unwrap_or((&userinfo, ""));
        let user = percent_decode(user);
        (!user.is_empty()).then(|| ProxyCredentials {
            user,
            password: percent_decode(password),
        })
    }

    /// The `Proxy-Authorization` value requests sends (`auth._basic_auth_str`: Basic, base64 of
    /// `user:password` encoded as Latin-1; a name outside Latin-1 is sent as UTF-8 here, where
    /// requests itself would fail).
    fn basic(&self) -> String {
        use base64::Engine;
        let text = format!("{}:{}", self.user, self.password);
        let bytes: Vec<u8> = if text.chars().all(|c| (c as u32) < 0x100) {
            text.chars().map(|c| c as u8).collect()
        } else {
            text.into_bytes()
        };
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }
}

/// The proxy a probe goes through: the URL as shown (credentials cut) and, in memory only,
/// the credentials the client would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub shown: String,
    pub credentials: Option<ProxyCredentials>,
}

impl Proxy {
    /// A proxy URL as the client has it: shown without credentials, which are kept aside.
    pub fn from_url(url: &str) -> Self {
        Proxy {
            shown: crate::probe::proxy::display_proxy(url),
            credentials: ProxyCredentials::from_url(url),
        }
    }
}

/// A proxy value with a scheme: as written when it has one, else `http://` in front, as
/// requests (`utils.prepend_scheme_if_needed(proxy, "http")`) and .NET
/// (`HttpEnvironmentProxy.GetUriFromString`) read a bare `host:port`.
fn with_scheme(proxy: &str) -> String {
    let has_scheme = proxy.split_once("://").is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if has_scheme {
        proxy.to_string()
    } else {
        format!("http://{proxy}")
    }
}

/// How the probe talks to the proxy, by the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyKind {
    /// Plain HTTP, then CONNECT.
    Http,
    /// TLS to the proxy itself (verified as the client verifies the endpoint), then CONNECT
    /// inside it: urllib3 2.x `HTTPSConnection._connect_tls_proxy` inherits the pool's
    /// `ca_certs` (REQUESTS_CA_BUNDLE, else certifi) for the proxy's certificate.
    Https,
    Socks(socks::Socks),
}

/// Where a proxy is and how to speak to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyTarget {
    pub kind: ProxyKind,
    /// Host name or address (an IPv6 literal without brackets).
    pub host: String,
    pub port: u16,
}

/// A proxy URL (credentials already cut or not) parsed with the `url` crate (WHATWG, as
/// .NET's `Uri` and urllib3's `parse_url` read the same shapes): the scheme decides how to
/// talk (`http`, `https`, `socks4`, `socks4a`, `socks5`, `socks5h`: urllib3
/// `contrib/socks.py` accepts exactly these four SOCKS names), the port defaults to 80 / 443
/// / 1080 (PySocks' `DEFAULT_PORTS`), IPv6 literals are bracketed. Any other scheme is an
/// error the client would hit too (requests raises `InvalidSchema` / urllib3 `ValueError`).
pub(crate) fn proxy_target(proxy: &str) -> Result<ProxyTarget, String> {
    let (bare, _) = crate::redact::url::strip_credentials(proxy.trim());
    let u = url::Url::parse(&with_scheme(&bare))
        .map_err(|e| format!("cannot read the proxy address {proxy:?}: {e}"))?;
    let host = match u.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        _ => return Err(format!("the proxy address {proxy:?} names no host")),
    };
    let socks = |version, remote_dns| {
        ProxyKind::Socks(socks::Socks {
            version,
            remote_dns,
        })
    };
    let kind = match u.scheme() {
        "http" => ProxyKind::Http,
        "https" => ProxyKind::Https,
        "socks4" => socks(4, false),
        "socks4a" => socks(4, true),
        "socks5" => socks(5, false),
        "socks5h" => socks(5, true),
        other => {
            return Err(format!(
                "the proxy scheme {other}:// is not one Azure CLI accepts (http, https, socks4, socks4a, socks5, socks5h)"
            ));
        }
    };
    let port = u.port_or_known_default().unwrap_or(1080);
    Ok(ProxyTarget { kind, host, port })
}

fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => ErrorKind::Refused,
        TimedOut | WouldBlock => ErrorKind::Timeout,
        _ => ErrorKind::Io,
    }
}

/// Resolve with a time limit (the system resolver has none of its own).
fn resolve(host: &str, port: u16, limit: Duration) -> Result<Vec<SocketAddr>, Failure> {
    let (tx, rx) = std::sync::mpsc::channel();
    let target = format!("{host}:{port}");
    std::thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(|a| a.collect::<Vec<_>>()));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(a)) if !a.is_empty() => Ok(a),
        Ok(Ok(_)) => Err(Failure(
            StageName::Dns,
            ErrorKind::Dns,
            format!("{host} has no address"),
        )),
        Ok(Err(e)) => Err(Failure(
            StageName::Dns,
            ErrorKind::Dns,
            format!("{host}: {e}"),
        )),
        Err(_) => Err(Failure(
            StageName::Dns,
            ErrorKind::Timeout,
            format!("resolving {host} took longer than {limit:?}"),
        )),
    }
}

fn connect(addrs: &[SocketAddr], deadline: Deadline) -> Result<TcpStream, Failure> {
    let mut last = None;
    for a in addrs {
        let left = match deadline.left() {
            Ok(l) => l,
            Err(e) => {
                last = Some(e);
                break;
            }
        };
        match TcpStream::connect_timeout(a, left) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    let e = last.expect("at least one address");
    Err(Failure(
        StageName::Tcp,
        io_kind(&e),
        format!("connect: {e}"),
    ))
}

/// Send CONNECT (with `Proxy-Authorization` when the proxy URL had credentials, as requests
/// sends it pre-emptively: psf/requests `HTTPAdapter.proxy_headers`) and read the proxy's
/// status and the schemes a 407 offers.
fn tunnel<S: Socket>(
    s: &mut S,
    host: &str,
    port: u16,
    credentials: Option<&ProxyCredentials>,
    deadline: Deadline,
) -> Result<(u16, Vec<String>), Failure> {
    let auth = credentials
        .map(|c| format!("Proxy-Authorization: {}\r\n", c.basic()))
        .unwrap_or_default();
    let req = format!(
        "CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: entra-collect\r\n{auth}\r\n"
    );
    // The request holds the credentials: written straight to the socket, never into an error
    // (the io error's text is the OS's, not the buffer's).
    deadline
        .arm(s.socket())
        .and_then(|_| s.write_all(req.as_bytes()))
        .and_then(|_| s.flush())
        .map_err(|e| Failure(StageName::Connect, io_kind(&e), e.to_string()))?;
    drop(req);
    let head = read_head(s, deadline).map_err(|e| {
        Failure(
            StageName::Connect,
            io_kind(&e),
            format!("reading the proxy's answer: {e}"),
        )
    })?;
    let code = status_code(&head).ok_or_else(|| {
        Failure(
            StageName::Connect,
            ErrorKind::ProxyStatus,
            format!(
                "not an HTTP answer: {:?}",
                head.lines().next().unwrap_or("")
            ),
        )
    })?;
    let schemes = if code == 407 {
        auth_schemes(&head)
    } else {
        Vec::new()
    };
    Ok((code, schemes))
}

/// The scheme names of every `Proxy-Authenticate` challenge in an HTTP head (RFC 9110 §11.6.2:
/// challenges are comma-separated, each a scheme then a token68 or `name=value` parameters).
/// Only well-formed tokens of at most 40 characters are kept, in order, once each: the realm
/// and other parameters are not recorded.
fn auth_schemes(head: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("proxy-authenticate") {
            continue;
        }
        for part in split_outside_quotes(value) {
            let first = part.split_whitespace().next().unwrap_or("");
            // `name=value` is a parameter of the challenge before it, not a scheme.
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if first.is_empty() || first.len() > 40 || !first.chars().all(token) {
                continue;
            }
            if !out.iter().any(|s| s.eq_ignore_ascii_case(first)) {
                out.push(first.to_string());
            }
        }
    }
    out
}

/// `value` split at the commas that are not inside a quoted string.
fn split_outside_quotes(value: &str) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// Read an HTTP head (up to the blank line, at most 16 KiB) before `deadline`: the socket gets
/// the time left before each read, so the whole head, not each byte, is bounded.
fn read_head<S: Socket>(r: &mut S, deadline: Deadline) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 16 * 1024 {
        deadline.arm(r.socket())?;
        match r.read(&mut byte)? {
            0 => break,
            _ => buf.push(byte[0]),
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn status_code(head: &str) -> Option<u16> {
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

/// Accepts any chain, recording it, so the handshake completes and the chain can be judged.
#[derive(Debug)]
struct Recorder {
    provider: Arc<CryptoProvider>,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut c = self.chain.lock().unwrap_or_else(|e| e.into_inner());
        c.clear();
        c.push(end_entity.clone().into_owned());
        c.extend(intermediates.iter().map(|i| i.clone().into_owned()));
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn verdict(
    store: &Arc<RootCertStore>,
    chain: &[CertificateDer<'static>],
    host: &str,
    provider: &Arc<CryptoProvider>,
) -> Verdict {
    let verifier = match rustls::client::WebPkiServerVerifier::builder_with_provider(
        store.clone(),
        provider.clone(),
    )
    .build()
    {
        Ok(v) => v,
        Err(e) => {
            return Verdict {
                trusted: false,
                error: Some(format!("empty or unusable trust store: {e}")),
            };
        }
    };
    let Ok(name) = ServerName::try_from(host.to_string()) else {
        return Verdict {
            trusted: false,
            error: Some("invalid host name".into()),
        };
    };
    match verifier.verify_server_cert(&chain[0], &chain[1..], &name, &[], UnixTime::now()) {
        Ok(_) => Verdict {
            trusted: true,
            error: None,
        },
        Err(e) => Verdict {
            trusted: false,
            error: Some(e.to_string()),
        },
    }
}

/// The most the whole probe phase may take: five stages, each bounded, plus verification.
pub(crate) fn phase_limit(stage_timeout: Duration) -> Duration {
    stage_timeout * 6 + Duration::from_secs(1)
}

fn blank(endpoint: &Endpoint, proxy: Option<&Proxy>) -> ProbeResult {
    ProbeResult {
        host: endpoint.host.clone(),
        url: format!("https://{}{}", endpoint.host, endpoint.path),
        proxy: proxy.map(|p| p.shown.clone()),
        // The collector names the families that take the route.
        families: vec![ProxyFamily::AzureCli],
        stages: Vec::new(),
        ok: false,
        failed_stage: None,
        error_kind: None,
        error: None,
        proxy_status: None,
        proxy_credentials: false,
        proxy_authenticate: Vec::new(),
        tls: None,
        http_status: None,
    }
}

/// Probe one endpoint through `proxy` (None: direct).
pub fn probe(endpoint: &Endpoint, proxy: Option<&Proxy>, settings: &Settings) -> ProbeResult {
    let end = Instant::now() + phase_limit(settings.stage_timeout);
    probe_until(endpoint, proxy, settings, end)
}

/// Probe one endpoint, every stage also ending by `end`.
fn probe_until(
    endpoint: &Endpoint,
    proxy: Option<&Proxy>,
    settings: &Settings,
    end: Instant,
) -> ProbeResult {
    let mut r = blank(endpoint, proxy);
    if let Err(Failure(stage, kind, msg)) = run_stages(endpoint, proxy, settings, end, &mut r) {
        r.stages.push(Stage {
            name: stage.clone(),
            ok: false,
            ms: 0,
            detail: Some(msg.clone()),
        });
        r.failed_stage = Some(stage);
        r.error_kind = Some(kind);
        r.error = Some(msg);
    } else {
        r.ok = r.failed_stage.is_none();
    }
    r
}

fn timed<T>(
    r: &mut ProbeResult,
    name: StageName,
    f: impl FnOnce() -> Result<(T, Option<String>), Failure>,
) -> Result<T, Failure> {
    let t0 = Instant::now();
    let (v, detail) = f()?;
    r.stages.push(Stage {
        name,
        ok: true,
        ms: t0.elapsed().as_millis() as u64,
        detail,
    });
    Ok(v)
}

/// The stages in order: dns, tcp, connect (through a proxy), tls, verify, http. `Err` is the
/// stage that could not complete; a stage that completed with a bad answer (proxy refusal,
/// untrusted chain, HTTP error) is recorded in `r` instead.
fn run_stages(
    endpoint: &Endpoint,
    proxy: Option<&Proxy>,
    settings: &Settings,
    end: Instant,
    r: &mut ProbeResult,
) -> Result<(), Failure> {
    let stage = || Deadline::new(settings.stage_timeout, end);
    let route = match proxy {
        Some(p) => Some((
            p,
            proxy_target(&p.shown)
                .map_err(|m| Failure(StageName::Tcp, ErrorKind::ProxyScheme, m))?,
        )),
        None => None,
    };
    let (target_host, target_port) = match &route {
        Some((_, t)) => (t.host.clone(), t.port),
        None => (endpoint.host.clone(), endpoint.port),
    };
    let addrs = dns_stage(r, settings, proxy.is_some(), &target_host, target_port)?;
    let tcp = timed(r, StageName::Tcp, || {
        connect(&addrs, stage()).map(|s| (s, None))
    })?;
    let mut conn = Conn::Tcp(tcp);
    if let Some((p, t)) = &route {
        if t.kind == ProxyKind::Https {
            conn = proxy_tls_stage(r, conn, &t.host, &settings.stores, &stage)?;
        }
        let credentials = p.credentials.as_ref();
        let through = match t.kind {
            ProxyKind::Socks(socks) => {
                socks_stage(r, &mut conn, socks, endpoint, credentials, settings, &stage)?
            }
            ProxyKind::Http | ProxyKind::Https => {
                connect_stage(r, &mut conn, endpoint, credentials, &stage)?
            }
        };
        if !through {
            return Ok(());
        }
    }
    let mut tls = tls_stage(r, conn, &endpoint.host, &stage)?;
    verify_stage(r, &tls, &endpoint.host, endpoint.trust, &settings.stores);
    // One cheap GET, whatever the verdict: a proxy's block page answers here too.
    http_stage(r, &mut tls.stream, endpoint, &stage)
}

/// TLS to an `https://` proxy, its certificate judged as Azure CLI judges it
/// (REQUESTS_CA_BUNDLE, else the Mozilla roots certifi carries). A proxy that speaks plain
/// HTTP fails here, as urllib3 does for the same URL.
fn proxy_tls_stage(
    r: &mut ProbeResult,
    conn: Conn,
    proxy_host: &str,
    stores: &Stores,
    stage: &impl Fn() -> Deadline,
) -> Result<Conn, Failure> {
    let Conn::Tcp(tcp) = conn else {
        return Ok(conn);
    };
    let hint = "an https:// proxy URL makes the client speak TLS to the proxy; most proxies \
        expect plain HTTP there (write http://)";
    let (mut tls, recorder, provider) = tls_client(tcp, proxy_host, StageName::ProxyTls)?;
    timed(r, StageName::ProxyTls, || {
        handshake(&mut tls, stage(), StageName::ProxyTls)
            .map_err(|Failure(st, k, m)| Failure(st, k, format!("{m} ({hint})")))?;
        let chain = recorder
            .chain
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let store = stores
            .requests_ca_bundle
            .as_ref()
            .map_or(&stores.mozilla, |(_, s)| s);
        let v = verdict(store, &chain, proxy_host, &provider);
        if !v.trusted {
            return Err(Failure(
                StageName::ProxyTls,
                ErrorKind::TlsUntrusted,
                format!(
                    "the proxy's own certificate is not trusted: {}",
                    v.error.unwrap_or_default()
                ),
            ));
        }
        Ok(((), Some("TLS to the proxy".into())))
    })?;
    Ok(Conn::Tls(Box::new(tls)))
}

/// The SOCKS handshake ([`socks`]); the endpoint's name goes to the proxy (`socks5h`,
/// `socks4a`) or is resolved here first (`socks5`, `socks4`), as PySocks does. `Ok(false)`:
/// the proxy refused; recorded in `r`, and the probe ends there.
fn socks_stage(
    r: &mut ProbeResult,
    conn: &mut Conn,
    socks: socks::Socks,
    endpoint: &Endpoint,
    credentials: Option<&ProxyCredentials>,
    settings: &Settings,
    stage: &impl Fn() -> Deadline,
) -> Result<bool, Failure> {
    let host = endpoint.host.as_str();
    r.proxy_credentials = credentials.is_some();
    let local = if socks.remote_dns {
        None
    } else {
        let addrs = dns_stage(r, settings, false, host, endpoint.port)?;
        Some(addrs[0].ip())
    };
    let version = socks.version;
    let answer = timed(r, StageName::Connect, || {
        let dest = match local {
            Some(ip) => socks::Dest::Addr(ip),
            None => socks::Dest::Name(host),
        };
        let a = socks::connect(conn, socks, dest, endpoint.port, credentials, stage())?;
        let detail = match &a {
            socks::Answer::Granted => format!("SOCKS{version} proxy granted the connection"),
            socks::Answer::Refused(why) => why.clone(),
        };
        Ok((a, Some(detail)))
    })?;
    match answer {
        socks::Answer::Granted => Ok(true),
        socks::Answer::Refused(why) => {
            if let Some(s) = r.stages.last_mut() {
                s.ok = false;
            }
            r.failed_stage = Some(StageName::Connect);
            r.error_kind = Some(ErrorKind::ProxyStatus);
            r.error = Some(format!("{why} (to {host}:{})", endpoint.port));
            Ok(false)
        }
    }
}

/// The addresses to connect to. A `dns` stage only when direct (or overridden): through a
/// proxy, the proxy resolves the endpoint and a failure to find the proxy is a `tcp` failure.
fn dns_stage(
    r: &mut ProbeResult,
    settings: &Settings,
    via_proxy: bool,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, Failure> {
    let limit = settings.stage_timeout;
    match settings.overrides.get(host) {
        Some(a) => timed(r, StageName::Dns, || {
            Ok((vec![*a], Some(format!("override {a}"))))
        }),
        None if !via_proxy => timed(r, StageName::Dns, || {
            let a = resolve(host, port, limit)?;
            let shown = a
                .iter()
                .map(|x| x.ip().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            Ok((a, Some(shown)))
        }),
        None => {
            resolve(host, port, limit).map_err(|Failure(_, k, m)| Failure(StageName::Tcp, k, m))
        }
    }
}

/// CONNECT through the proxy. `Ok(false)`: the proxy answered but refused; recorded in `r`, and
/// the probe ends there.
fn connect_stage(
    r: &mut ProbeResult,
    stream: &mut Conn,
    endpoint: &Endpoint,
    credentials: Option<&ProxyCredentials>,
    stage: &impl Fn() -> Deadline,
) -> Result<bool, Failure> {
    let host = endpoint.host.as_str();
    r.proxy_credentials = credentials.is_some();
    let (code, schemes) = timed(r, StageName::Connect, || {
        let (code, schemes) = tunnel(stream, host, endpoint.port, credentials, stage())?;
        let offered = if schemes.is_empty() {
            String::new()
        } else {
            format!(", offering {}", schemes.join(", "))
        };
        Ok((
            (code, schemes),
            Some(format!("proxy answered {code}{offered}")),
        ))
    })?;
    r.proxy_status = Some(code);
    r.proxy_authenticate = schemes;
    if code == 200 {
        return Ok(true);
    }
    if let Some(s) = r.stages.last_mut() {
        s.ok = false;
    }
    r.failed_stage = Some(StageName::Connect);
    r.error_kind = Some(ErrorKind::ProxyStatus);
    r.error = Some(format!(
        "the proxy refused CONNECT {host}:{}: {code}",
        endpoint.port
    ));
    Ok(false)
}

/// A completed TLS handshake and the chain the server presented.
struct Handshake {
    stream: rustls::StreamOwned<rustls::ClientConnection, Conn>,
    recorder: Arc<Recorder>,
    provider: Arc<CryptoProvider>,
}

/// A TLS client over `stream` for `host` (SNI) that accepts, and records, any chain so it can
/// be judged after the handshake.
#[allow(clippy::type_complexity)]
fn tls_client<S: Socket>(
    stream: S,
    host: &str,
    stage: StageName,
) -> Result<
    (
        rustls::StreamOwned<rustls::ClientConnection, S>,
        Arc<Recorder>,
        Arc<CryptoProvider>,
    ),
    Failure,
> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        provider: provider.clone(),
        chain: Mutex::new(Vec::new()),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure(stage.clone(), ErrorKind::TlsProtocol, e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| Failure(stage.clone(), ErrorKind::TlsProtocol, e.to_string()))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| Failure(stage.clone(), ErrorKind::TlsProtocol, e.to_string()))?;
    Ok((rustls::StreamOwned::new(conn, stream), recorder, provider))
}

/// The TLS handshake with SNI, accepting (and recording) any chain so it can be judged after.
fn tls_stage(
    r: &mut ProbeResult,
    stream: Conn,
    host: &str,
    stage: &impl Fn() -> Deadline,
) -> Result<Handshake, Failure> {
    let (mut tls, recorder, provider) = tls_client(stream, host, StageName::Tls)?;
    timed(r, StageName::Tls, || {
        handshake(&mut tls, stage(), StageName::Tls)?;
        Ok(((), None))
    })?;
    Ok(Handshake {
        stream: tls,
        recorder,
        provider,
    })
}

fn handshake<S: Socket>(
    tls: &mut rustls::StreamOwned<rustls::ClientConnection, S>,
    deadline: Deadline,
    stage: StageName,
) -> Result<(), Failure> {
    while tls.conn.is_handshaking() {
        if deadline.arm(tls.sock.socket()).is_err() {
            return Err(Failure(
                stage.clone(),
                ErrorKind::Timeout,
                format!("TLS handshake took longer than {:?}", deadline.limit),
            ));
        }
        tls.conn.complete_io(&mut tls.sock).map_err(|e| {
            let kind = match e.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ErrorKind::Timeout,
                _ => ErrorKind::TlsProtocol,
            };
            Failure(stage.clone(), kind, format!("TLS handshake: {e}"))
        })?;
    }
    Ok(())
}

/// Judge the recorded chain against each trust store separately; the `verify` stage is Azure
/// CLI's view (REQUESTS_CA_BUNDLE when set, else its bundled Mozilla roots).
fn verify_stage(r: &mut ProbeResult, hs: &Handshake, host: &str, trust: Trust, stores: &Stores) {
    let chain = hs
        .recorder
        .chain
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let provider = &hs.provider;
    let infos: Vec<CertInfo> = chain.iter().filter_map(|c| cert::describe(c)).collect();
    let mozilla = verdict(&stores.mozilla, &chain, host, provider);
    let os_store = verdict(&stores.os, &chain, host, provider);
    let bundle = stores
        .requests_ca_bundle
        .as_ref()
        .map(|(_, s)| verdict(s, &chain, host, provider));
    let issuer = cert::chain_issuer(&infos).map(str::to_string);
    let interception_ca = issuer.filter(|i| !cert::is_microsoft_ca(i));
    // Azure CLI trusts REQUESTS_CA_BUNDLE when set, else its bundled (Mozilla) roots; .NET
    // and WAM trust the OS store.
    let az_view = match trust {
        Trust::AzureCli => bundle.clone().unwrap_or_else(|| mozilla.clone()),
        Trust::OsStore => os_store.clone(),
    };
    let conn = &hs.stream.conn;
    r.tls = Some(TlsInfo {
        version: conn
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default(),
        cipher_suite: conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default(),
        chain: infos,
        mozilla,
        os_store,
        requests_ca_bundle: bundle,
        interception_ca,
    });
    r.stages.push(Stage {
        name: StageName::Verify,
        ok: az_view.trusted,
        ms: 0,
        detail: az_view.error.clone(),
    });
    if !az_view.trusted && r.failed_stage.is_none() {
        r.failed_stage = Some(StageName::Verify);
        r.error_kind = Some(ErrorKind::TlsUntrusted);
        r.error = az_view.error.clone();
    }
}

/// One GET of the endpoint's path; 403 and 5xx fail the probe (a proxy's block page or an
/// upstream failure), other answers show the endpoint is reachable.
fn http_stage(
    r: &mut ProbeResult,
    tls: &mut rustls::StreamOwned<rustls::ClientConnection, Conn>,
    endpoint: &Endpoint,
    stage: &impl Fn() -> Deadline,
) -> Result<(), Failure> {
    let host = endpoint.host.as_str();
    let status = timed(r, StageName::Http, || {
        let deadline = stage();
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: entra-collect\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
            endpoint.path
        );
        deadline
            .arm(tls.socket())
            .and_then(|_| tls.write_all(req.as_bytes()))
            .and_then(|_| tls.flush())
            .map_err(|e| Failure(StageName::Http, io_kind(&e), e.to_string()))?;
        let head = read_head(tls, deadline).map_err(|e| {
            Failure(
                StageName::Http,
                io_kind(&e),
                format!("reading the answer: {e}"),
            )
        })?;
        let code = status_code(&head).ok_or_else(|| {
            Failure(
                StageName::Http,
                ErrorKind::HttpStatus,
                "no HTTP answer".into(),
            )
        })?;
        Ok((code, Some(format!("HTTP {code}"))))
    })?;
    r.http_status = Some(status);
    if (status == 403 || status >= 500) && r.failed_stage.is_none() {
        if let Some(s) = r.stages.last_mut() {
            s.ok = false;
        }
        r.failed_stage = Some(StageName::Http);
        r.error_kind = Some(ErrorKind::HttpStatus);
        r.error = Some(format!("GET {} answered {status}", r.url));
    }
    Ok(())
}

/// Probe every endpoint at once, within [`phase_limit`] in all. A probe that panicked or is
/// still running at the end of the phase is recorded as failed with the reason (its thread is
/// left to end by its own stage limits).
pub(crate) fn probe_all(
    targets: Vec<(Endpoint, Option<Proxy>)>,
    settings: Arc<Settings>,
) -> Vec<ProbeResult> {
    let total = phase_limit(settings.stage_timeout);
    run_probes(targets, total, move |ep, proxy, end| {
        probe_until(ep, proxy, &settings, end)
    })
}

/// Run `f` for every target on its own thread, results in input order, waiting at most `total`.
fn run_probes<F>(targets: Vec<(Endpoint, Option<Proxy>)>, total: Duration, f: F) -> Vec<ProbeResult>
where
    F: Fn(&Endpoint, Option<&Proxy>, Instant) -> ProbeResult + Send + Sync + 'static,
{
    let end = Instant::now() + total;
    let f = Arc::new(f);
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, (ep, proxy)) in targets.iter().cloned().enumerate() {
        let (f, tx) = (f.clone(), tx.clone());
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                f(&ep, proxy.as_ref(), end)
            }));
            let _ = tx.send((i, r.map_err(|p| panic_text(p.as_ref()))));
        });
    }
    drop(tx);
    let mut results: Vec<Option<ProbeResult>> = targets.iter().map(|_| None).collect();
    let mut left = targets.len();
    while left > 0 {
        let wait = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok((i, r)) => {
                let (ep, proxy) = &targets[i];
                results[i] = Some(r.unwrap_or_else(|msg| {
                    failed(
                        ep,
                        proxy.as_ref(),
                        ErrorKind::Internal,
                        format!("the probe panicked: {msg}"),
                    )
                }));
                left -= 1;
            }
            Err(_) => break,
        }
    }
    results
        .into_iter()
        .zip(&targets)
        .map(|(r, (ep, proxy))| {
            r.unwrap_or_else(|| {
                failed(
                    ep,
                    proxy.as_ref(),
                    ErrorKind::Timeout,
                    format!("the probe did not finish within the probe phase's {total:?}"),
                )
            })
        })
        .collect()
}

/// A probe that ended outside its stages (panicked, or past the phase deadline).
fn failed(ep: &Endpoint, proxy: Option<&Proxy>, kind: ErrorKind, msg: String) -> ProbeResult {
    let mut r = blank(ep, proxy);
    r.stages.push(Stage {
        name: StageName::Probe,
        ok: false,
        ms: 0,
        detail: Some(msg.clone()),
    });
    r.failed_stage = Some(StageName::Probe);
    r.error_kind = Some(kind);
    r.error = Some(msg);
    r
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proxy URLs as the clients read them (issue 14): scheme-less values are http, an https
    /// proxy defaults to 443, SOCKS to 1080, IPv6 literals lose their brackets, credentials
    /// (even with `/` or `@` in them) never become the host, unknown schemes are refused.
    #[test]
    fn proxy_targets() {
        let t = |u: &str| proxy_target(u).map(|t| (t.kind, t.host, t.port));
        let s5h = ProxyKind::Socks(socks::Socks {
            version: 5,
            remote_dns: true,
        });
        type Want = Result<(ProxyKind, &'static str, u16), ()>;
        let cases: &[(&str, Want)] = &[
            (
                "http://u:p@proxy.corp:3128/",
                Ok((ProxyKind::Http, "proxy.corp", 3128)),
            ),
            ("proxy:8080", Ok((ProxyKind::Http, "proxy", 8080))),
            ("http://proxy", Ok((ProxyKind::Http, "proxy", 80))),
            (
                "https://proxy.corp",
                Ok((ProxyKind::Https, "proxy.corp", 443)),
            ),
            (
                "HTTPS://Proxy.Corp:8443",
                Ok((ProxyKind::Https, "proxy.corp", 8443)),
            ),
            (
                "alice:pa/ss@w@proxy.corp:3128",
                Ok((ProxyKind::Http, "proxy.corp", 3128)),
            ),
            (
                "http://[REDACTED:url-credentials]@[::1]:3128",
                Ok((ProxyKind::Http, "::1", 3128)),
            ),
            ("http://[::1]", Ok((ProxyKind::Http, "::1", 80))),
            ("socks5h://u:p@gw.corp", Ok((s5h, "gw.corp", 1080))),
            ("socks5h://[::1]:9050", Ok((s5h, "::1", 9050))),
            ("ftp://proxy:21", Err(())),
            ("socks://proxy:1080", Err(())),
            ("[REDACTED:unrecognised-value]", Err(())),
            ("http://", Err(())),
        ];
        for (input, want) in cases {
            let got = t(input).map_err(|_| ());
            let want = want.map(|(k, h, p)| (k, h.to_string(), p));
            assert_eq!(got, want, "{input}");
        }
        for (scheme, version, remote_dns) in [
            ("socks4", 4, false),
            ("socks4a", 4, true),
            ("socks5", 5, false),
            ("socks5h", 5, true),
        ] {
            let got = proxy_target(&format!("{scheme}://127.0.0.1:1")).map(|t| t.kind);
            assert_eq!(
                got,
                Ok(ProxyKind::Socks(socks::Socks {
                    version,
                    remote_dns
                })),
                "{scheme}"
            );
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            status_code("HTTP/1.1 407 Proxy Authentication Required\r\n"),
            Some(407)
        );
        assert_eq!(status_code("SSH-2.0"), None);
    }

    /// Scheme names only, each once, whatever the parameters hold (quoted commas, escapes).
    #[test]
    fn proxy_authenticate_schemes() {
        let head = "HTTP/1.1 407 X\r\nProxy-Authenticate: Negotiate\r\nproxy-authenticate: NTLM\r\n\
            Proxy-Authenticate: Basic realm=\"a, \\\"b\\\" Digest c\", charset=UTF-8, Digest realm=x, nonce=\"y\"\r\n\
            Proxy-Authenticate: negotiate\r\nX-Other: Basic\r\n\r\n";
        assert_eq!(auth_schemes(head), ["Negotiate", "NTLM", "Basic", "Digest"]);
        assert!(auth_schemes("HTTP/1.1 407 X\r\n\r\n").is_empty());
    }

    /// Credentials as requests reads them: percent-decoded, split at the first `:`, none
    /// without a user name; the Basic value is requests' `_basic_auth_str`; Debug shows nothing.
    #[test]
    fn proxy_credentials_from_urls() {
        let c = ProxyCredentials::from_url("http://al%40ice:p%3Ass:w@rd@proxy.corp:3128").unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.as_str()),
            ("al@ice", "p:ss:w@rd")
        );
        // base64("al@ice:p:ss:w@rd")
        assert_eq!(c.basic(), "Basic YWxAaWNlOnA6c3M6d0ByZA==");
        assert_eq!(format!("{c:?}"), "ProxyCredentials([REDACTED])");
        assert!(!format!("{:?}", Proxy::from_url("http://u:secret@p:1")).contains("secret"));
        assert_eq!(
            ProxyCredentials::from_url("u@p:1").map(|c| c.password),
            Some(String::new())
        );
        assert!(ProxyCredentials::from_url("http://:pw@p:1").is_none());
        assert!(ProxyCredentials::from_url("http://p:1").is_none());
        let p = Proxy::from_url("http://u:pw@proxy.corp:3128");
        assert_eq!(p.shown, "http://[REDACTED:url-credentials]@proxy.corp:3128");
    }

    fn target(host: &str) -> (Endpoint, Option<Proxy>) {
        (ep(host, "/"), None)
    }

    /// A panicking probe is a failed result with the reason, not a missing one; one that
    /// outlives the phase is a failed result too, and the phase ends on time.
    #[test]
    fn panicked_and_overdue_probes_are_recorded_as_failed() {
        let t0 = Instant::now();
        let rs = run_probes(
            vec![target("boom"), target("slow"), target("fine")],
            Duration::from_millis(500),
            |ep, proxy, _| match ep.host.as_str() {
                "boom" => panic!("kaput"),
                "slow" => {
                    std::thread::sleep(Duration::from_secs(3));
                    blank(ep, proxy)
                }
                _ => ProbeResult {
                    ok: true,
                    ..blank(ep, proxy)
                },
            },
        );
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert_eq!(rs.len(), 3);
        assert_eq!(rs[0].host, "boom");
        assert_eq!(rs[0].error_kind, Some(ErrorKind::Internal));
        assert!(rs[0].error.as_deref().unwrap().contains("kaput"));
        assert!(!rs[0].ok);
        assert_eq!(rs[1].error_kind, Some(ErrorKind::Timeout));
        assert_eq!(rs[1].failed_stage, Some(StageName::Probe));
        assert!(rs[2].ok);
    }

    #[test]
    fn public_cloud_endpoints() {
        let hosts: Vec<String> = endpoints(Cloud::Public)
            .into_iter()
            .map(|e| e.host)
            .collect();
        assert_eq!(
            hosts,
            [
                "login.microsoftonline.com",
                "management.azure.com",
                "graph.microsoft.com",
                "login.windows.net"
            ]
        );
    }
}
