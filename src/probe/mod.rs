//! Connectivity probes that see through intercepting proxies.
//!
//! For each endpoint, stage by stage with a time limit per stage: DNS (direct only) → TCP
//! connect (to the proxy or the host) → CONNECT (through a proxy) → TLS handshake with SNI,
//! recording the presented chain even when it would not verify → verification against the
//! Mozilla roots, the OS store and REQUESTS_CA_BUNDLE separately → one cheap HTTPS GET. The
//! result names the stage that failed and the kind of error. Endpoints run in parallel.

pub(crate) mod cert;
pub(crate) mod proxy;

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

use crate::vocab::Cloud;

pub use crate::model::{TlsInfo, Verdict};
use cert::CertInfo;

/// An endpoint to probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// A cheap GET that needs no authentication.
    pub path: String,
}

fn ep(host: &str, path: &str) -> Endpoint {
    Endpoint {
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

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: &'static str,
    pub ok: bool,
    pub ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub host: String,
    pub url: String,
    /// The proxy used (Azure CLI's effective proxy), None when direct.
    pub proxy: Option<String>,
    pub stages: Vec<Stage>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_stage: Option<&'static str>,
    /// dns, refused, timeout, proxy_status, tls_untrusted, tls_protocol, http_status, io
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_status: Option<u16>,
    /// Basic credentials from the proxy URL went with the CONNECT (their value never leaves
    /// memory).
    pub proxy_credentials: bool,
    /// The schemes a 407 offered in `Proxy-Authenticate` (names only, as the proxy wrote them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proxy_authenticate: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

struct Failure(&'static str, &'static str, String);

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
impl Socket for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn socket(&self) -> &TcpStream {
        &self.sock
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

/// `%XX` decoded (invalid escapes kept as written), then read as UTF-8 like Python's `unquote`.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

/// A proxy given as a URL or `host:port`.
/// Credentials (anything before the last `@`) are skipped the way [`crate::redact::url`] cuts
/// them, so a password holding `/` or `@` cannot be mistaken for the host.
fn proxy_addr(proxy: &str) -> Option<(String, u16)> {
    let hp = crate::redact::url::proxy_host_port(proxy)?;
    let (host, port) = match hp.strip_prefix('[') {
        Some(r) => {
            let (h, after) = r.split_once(']')?;
            (h.to_string(), after.strip_prefix(':'))
        }
        None => match hp.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hp.clone(), None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => 80,
    };
    Some((host, port))
}

fn io_kind(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "refused",
        TimedOut | WouldBlock => "timeout",
        _ => "io",
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
        Ok(Ok(_)) => Err(Failure("dns", "dns", format!("{host} has no address"))),
        Ok(Err(e)) => Err(Failure("dns", "dns", format!("{host}: {e}"))),
        Err(_) => Err(Failure(
            "dns",
            "timeout",
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
    Err(Failure("tcp", io_kind(&e), format!("connect: {e}")))
}

/// Send CONNECT (with `Proxy-Authorization` when the proxy URL had credentials, as requests
/// sends it pre-emptively: psf/requests `HTTPAdapter.proxy_headers`) and read the proxy's
/// status and the schemes a 407 offers.
fn tunnel(
    s: &mut TcpStream,
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
        .arm(s)
        .and_then(|_| s.write_all(req.as_bytes()))
        .map_err(|e| Failure("connect", io_kind(&e), e.to_string()))?;
    drop(req);
    let head = read_head(s, deadline).map_err(|e| {
        Failure(
            "connect",
            io_kind(&e),
            format!("reading the proxy's answer: {e}"),
        )
    })?;
    let code = status_code(&head).ok_or_else(|| {
        Failure(
            "connect",
            "proxy_status",
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
            name: stage,
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
    name: &'static str,
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
    let (target_host, target_port) = tcp_target(endpoint, proxy)?;
    let addrs = dns_stage(r, settings, proxy.is_some(), &target_host, target_port)?;
    let mut stream = timed(r, "tcp", || connect(&addrs, stage()).map(|s| (s, None)))?;
    if let Some(p) = proxy
        && !connect_stage(r, &mut stream, endpoint, p.credentials.as_ref(), &stage)?
    {
        return Ok(());
    }
    let mut tls = tls_stage(r, stream, &endpoint.host, &stage)?;
    verify_stage(r, &tls, &endpoint.host, &settings.stores);
    // One cheap GET, whatever the verdict: a proxy's block page answers here too.
    http_stage(r, &mut tls.stream, endpoint, &stage)
}

/// Where the TCP connection goes: the proxy, or the endpoint itself.
fn tcp_target(endpoint: &Endpoint, proxy: Option<&Proxy>) -> Result<(String, u16), Failure> {
    match proxy {
        Some(p) => proxy_addr(&p.shown).ok_or_else(|| {
            Failure(
                "tcp",
                "io",
                format!("cannot read the proxy address {:?}", p.shown),
            )
        }),
        None => Ok((endpoint.host.clone(), endpoint.port)),
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
        Some(a) => timed(r, "dns", || Ok((vec![*a], Some(format!("override {a}"))))),
        None if !via_proxy => timed(r, "dns", || {
            let a = resolve(host, port, limit)?;
            let shown = a
                .iter()
                .map(|x| x.ip().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            Ok((a, Some(shown)))
        }),
        None => resolve(host, port, limit).map_err(|Failure(_, k, m)| Failure("tcp", k, m)),
    }
}

/// CONNECT through the proxy. `Ok(false)`: the proxy answered but refused; recorded in `r`, and
/// the probe ends there.
fn connect_stage(
    r: &mut ProbeResult,
    stream: &mut TcpStream,
    endpoint: &Endpoint,
    credentials: Option<&ProxyCredentials>,
    stage: &impl Fn() -> Deadline,
) -> Result<bool, Failure> {
    let host = endpoint.host.as_str();
    r.proxy_credentials = credentials.is_some();
    let (code, schemes) = timed(r, "connect", || {
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
    r.failed_stage = Some("connect");
    r.error_kind = Some("proxy_status");
    r.error = Some(format!(
        "the proxy refused CONNECT {host}:{}: {code}",
        endpoint.port
    ));
    Ok(false)
}

/// A completed TLS handshake and the chain the server presented.
struct Handshake {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    recorder: Arc<Recorder>,
    provider: Arc<CryptoProvider>,
}

/// The TLS handshake with SNI, accepting (and recording) any chain so it can be judged after.
fn tls_stage(
    r: &mut ProbeResult,
    stream: TcpStream,
    host: &str,
    stage: &impl Fn() -> Deadline,
) -> Result<Handshake, Failure> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        provider: provider.clone(),
        chain: Mutex::new(Vec::new()),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure("tls", "tls_protocol", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| Failure("tls", "tls_protocol", e.to_string()))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| Failure("tls", "tls_protocol", e.to_string()))?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    timed(r, "tls", || {
        handshake(&mut tls, stage())?;
        Ok(((), None))
    })?;
    Ok(Handshake {
        stream: tls,
        recorder,
        provider,
    })
}

fn handshake(
    tls: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    deadline: Deadline,
) -> Result<(), Failure> {
    while tls.conn.is_handshaking() {
        if deadline.arm(&tls.sock).is_err() {
            return Err(Failure(
                "tls",
                "timeout",
                format!("TLS handshake took longer than {:?}", deadline.limit),
            ));
        }
        tls.conn.complete_io(&mut tls.sock).map_err(|e| {
            let kind = match e.kind() {
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timeout",
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof => {
                    "tls_protocol"
                }
                _ => "tls_protocol",
            };
            Failure("tls", kind, format!("TLS handshake: {e}"))
        })?;
    }
    Ok(())
}

/// Judge the recorded chain against each trust store separately; the `verify` stage is Azure
/// CLI's view (REQUESTS_CA_BUNDLE when set, else its bundled Mozilla roots).
fn verify_stage(r: &mut ProbeResult, hs: &Handshake, host: &str, stores: &Stores) {
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
    // Azure CLI trusts REQUESTS_CA_BUNDLE when set, else its bundled (Mozilla) roots.
    let az_view = bundle.clone().unwrap_or_else(|| mozilla.clone());
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
        name: "verify",
        ok: az_view.trusted,
        ms: 0,
        detail: az_view.error.clone(),
    });
    if !az_view.trusted && r.failed_stage.is_none() {
        r.failed_stage = Some("verify");
        r.error_kind = Some("tls_untrusted");
        r.error = az_view.error.clone();
    }
}

/// One GET of the endpoint's path; 403 and 5xx fail the probe (a proxy's block page or an
/// upstream failure), other answers show the endpoint is reachable.
fn http_stage(
    r: &mut ProbeResult,
    tls: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    endpoint: &Endpoint,
    stage: &impl Fn() -> Deadline,
) -> Result<(), Failure> {
    let host = endpoint.host.as_str();
    let status = timed(r, "http", || {
        let deadline = stage();
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: entra-collect\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
            endpoint.path
        );
        deadline
            .arm(&tls.sock)
            .and_then(|_| tls.write_all(req.as_bytes()))
            .map_err(|e| Failure("http", io_kind(&e), e.to_string()))?;
        let head = read_head(tls, deadline)
            .map_err(|e| Failure("http", io_kind(&e), format!("reading the answer: {e}")))?;
        let code = status_code(&head)
            .ok_or_else(|| Failure("http", "http_status", "no HTTP answer".into()))?;
        Ok((code, Some(format!("HTTP {code}"))))
    })?;
    r.http_status = Some(status);
    if (status == 403 || status >= 500) && r.failed_stage.is_none() {
        if let Some(s) = r.stages.last_mut() {
            s.ok = false;
        }
        r.failed_stage = Some("http");
        r.error_kind = Some("http_status");
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
                        "internal",
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
                    "timeout",
                    format!("the probe did not finish within the probe phase's {total:?}"),
                )
            })
        })
        .collect()
}

/// A probe that ended outside its stages (panicked, or past the phase deadline).
fn failed(ep: &Endpoint, proxy: Option<&Proxy>, kind: &'static str, msg: String) -> ProbeResult {
    let mut r = blank(ep, proxy);
    r.stages.push(Stage {
        name: "probe",
        ok: false,
        ms: 0,
        detail: Some(msg.clone()),
    });
    r.failed_stage = Some("probe");
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

    #[test]
    fn proxy_addresses() {
        assert_eq!(
            proxy_addr("http://u:p@proxy.corp:3128/"),
            Some(("proxy.corp".into(), 3128))
        );
        assert_eq!(proxy_addr("proxy:8080"), Some(("proxy".into(), 8080)));
        assert_eq!(proxy_addr("http://proxy"), Some(("proxy".into(), 80)));
        assert_eq!(
            proxy_addr("alice:pa/ss@w@proxy.corp:3128"),
            Some(("proxy.corp".into(), 3128))
        );
        assert_eq!(
            proxy_addr("http://[REDACTED:url-credentials]@[::1]:3128"),
            Some(("::1".into(), 3128))
        );
        assert_eq!(proxy_addr("http://[::1]"), Some(("::1".into(), 80)));
        assert_eq!(proxy_addr("[REDACTED:unrecognised-value]"), None);
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
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
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
        assert_eq!(rs[0].error_kind, Some("internal"));
        assert!(rs[0].error.as_deref().unwrap().contains("kaput"));
        assert!(!rs[0].ok);
        assert_eq!(rs[1].error_kind, Some("timeout"));
        assert_eq!(rs[1].failed_stage, Some("probe"));
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
