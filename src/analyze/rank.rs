//! Causal ranking: what the sign-in run actually stopped on decides which finding comes first.
//!
//! The rules say what is wrong; this module says what *caused this failure*. From the sign-in
//! command's debug log it finds where the run stopped (the first line that shows a failure of
//! a known kind: an AADSTS answer, a certificate verification failure, a proxy that refused or
//! could not be reached, a name that did not resolve, ...) and the exit code. A finding whose
//! cause explains that stopping point ranks first; findings seen only by the probes or in the
//! configuration rank after it and say so ("Also: ..."). When the run succeeded, nothing seen
//! only by the probes or in the configuration is an error.
//!
//! Each finding's `basis` (the kind of evidence it rests on) sets its confidence band
//! (docs/findings.md, "Ranking and confidence"): the failing request itself 90–99, the run's
//! log elsewhere 80–89, the probes 65–79, the configuration only 50–64. Within a band, a more
//! specific cause scores higher (a DER CA bundle explains a certificate failure more precisely
//! than "a TLS-inspecting proxy").

use super::{Finding, Model, Severity};
use crate::model::findings::{Basis, Evidence};
use crate::vocab::Lang;

/// What kind of failure a run stopped on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// Entra ID answered with an AADSTS error.
    Aadsts,
    /// Azure CLI could not load its CA bundle at all (missing file, no PEM certificate).
    CaBundle,
    /// The server's certificate did not verify.
    CertVerify,
    /// The TLS handshake failed for protocol reasons (no common version or cipher).
    TlsProtocol,
    /// The proxy could not be reached (refused, reset, timed out) or spoke nonsense.
    ProxyConnect,
    /// The proxy asked for authentication (407).
    ProxyAuth,
    /// The proxy refused the tunnel or answered 403.
    Blocked,
    /// The proxy answered 502 / 503 / 504.
    Upstream,
    /// A name did not resolve.
    Dns,
    /// A direct connection was refused or timed out.
    Unreachable,
    /// PowerShell refused to load the module (execution policy).
    ExecutionPolicy,
}

/// Where the run stopped: the kind, the log entry and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub kind: StopKind,
    pub file: String,
    pub line: String,
}

/// Lines of a successful run that report a per-tenant failure and go on: azure-cli
/// `_profile.py` `find_using_common_tenant` ("Authentication failed against tenant %s: %s",
/// azure-cli PR #28966) and Az.Accounts `RMProfileClient` ("Unable to acquire token for tenant
/// '{0}' with error '{1}'"), as the AADSTS rule recognises them (`rules::per_tenant`, which
/// also knows older az wording). Not where a run stops, unless nothing else explains the
/// failure.
fn per_tenant_warning(line: &str) -> bool {
    super::rules::per_tenant(line).is_some()
}

/// The failure kinds and the texts that show them (case-insensitive), most specific first:
/// the texts are those of urllib3 / requests (Azure CLI), .NET (PowerShell) and PowerShell
/// itself (/work facts R15: `ProxyError('Unable to connect to proxy', ...)`, urllib3 1.x
/// `Cannot connect to proxy.`, `Tunnel connection failed: 407 ...`, .NET `The proxy tunnel
/// request to proxy '...' failed with status code '502'`).
const PATTERNS: &[(StopKind, &[&str])] = &[
    (
        StopKind::ProxyAuth,
        &[
            "407 proxy authentication required",
            "tunnel connection failed: 407",
            "failed with status code '407'",
        ],
    ),
    (
        StopKind::Blocked,
        &[
            "tunnel connection failed: 403",
            "failed with status code '403'",
        ],
    ),
    (
        StopKind::Upstream,
        &[
            "tunnel connection failed: 502",
            "tunnel connection failed: 503",
            "tunnel connection failed: 504",
            "failed with status code '502'",
            "failed with status code '503'",
            "failed with status code '504'",
        ],
    ),
    (
        StopKind::ProxyConnect,
        &[
            "unable to connect to proxy",
            "cannot connect to proxy",
            "proxyerror(",
            "proxy tunnel request to proxy",
        ],
    ),
    (
        // requests `adapters.py` `cert_verify` ("Could not find a suitable TLS CA certificate
        // bundle, invalid path: ..."); OpenSSL via Python's `ssl.load_verify_locations` on a
        // DER / empty / non-PEM file ("[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or
        // crl found", checked with the azure-cli venv's Python).
        StopKind::CaBundle,
        &[
            "could not find a suitable tls ca certificate bundle",
            "no_certificate_or_crl_found",
            "no certificate or crl found",
        ],
    ),
    (
        StopKind::CertVerify,
        &[
            "certificate_verify_failed",
            "certificate verify failed",
            "unable to get local issuer certificate",
            "the remote certificate is invalid",
            "the ssl connection could not be established",
            "could not establish trust relationship",
        ],
    ),
    (
        StopKind::TlsProtocol,
        &[
            "unsupported_protocol",
            "wrong_version_number",
            "do not possess a common algorithm",
            "aadsts1002016",
        ],
    ),
    (
        StopKind::Dns,
        &[
            "nameresolutionerror",
            "getaddrinfo failed",
            "name or service not known",
            "no such host is known",
            "temporary failure in name resolution",
        ],
    ),
    (
        StopKind::Unreachable,
        &[
            "connection refused",
            "actively refused",
            "connecttimeouterror",
            "connection timed out",
            "read timed out",
        ],
    ),
    (
        StopKind::ExecutionPolicy,
        &["running scripts is disabled", "unauthorizedaccess"],
    ),
    (StopKind::Aadsts, &["aadsts"]),
];

fn kind_of(line: &str) -> Option<StopKind> {
    let l = line.to_ascii_lowercase();
    PATTERNS
        .iter()
        .find(|(_, needles)| needles.iter().any(|n| l.contains(n)))
        .map(|(k, _)| *k)
}

/// Where the sign-in run stopped: the first line of its debug logs that shows a failure of a
/// known kind. None when the run did not run, succeeded, or shows no such line. Per-tenant
/// warnings count only when nothing else does.
pub fn stop(m: &Model) -> Option<Stop> {
    let code = m.debug_exit_code()?;
    if code == 0 {
        return None;
    }
    let mut fallback = None;
    for (file, text) in m.debug_logs() {
        if let Some(s) = timeline_stop(m, file, text) {
            return Some(s);
        }
        for line in text.lines() {
            let Some(kind) = kind_of(line) else {
                continue;
            };
            let stop = Stop {
                kind,
                file: file.clone(),
                line: super::excerpt(line),
            };
            if per_tenant_warning(line) {
                fallback.get_or_insert(stop);
                continue;
            }
            return Some(stop);
        }
    }
    fallback
}

/// The stop of the log's request timeline (`debug/<name>.requests.json`, `timeline::parse`),
/// when its failing request or error line is of a known kind: the line of the log where that
/// request appears is the evidence. A stop of no known kind (an ordinary 401 challenge) is
/// left to the line scan.
fn timeline_stop(m: &Model, file: &str, text: &str) -> Option<Stop> {
    let name = file
        .strip_prefix(crate::model::names::DEBUG_DIR)?
        .strip_suffix(".log")?;
    let t = m
        .bundle
        .requests
        .get(&crate::model::names::requests(name))?;
    let s = t.stop.as_ref()?;
    if per_tenant_warning(&s.line) {
        return None;
    }
    let req = s.request.and_then(|i| t.requests.get(i));
    let kind = kind_of(&s.line)
        .or_else(|| req.and_then(|r| r.error.as_deref()).and_then(kind_of))
        .or_else(|| match req?.status? {
            407 => Some(StopKind::ProxyAuth),
            502..=504 => Some(StopKind::Upstream),
            _ => None,
        })?;
    let line = req
        .and_then(|r| text.lines().nth((r.line as usize).checked_sub(1)?))
        .map_or_else(|| super::excerpt(&s.line), super::excerpt);
    Some(Stop {
        kind,
        file: file.to_string(),
        line,
    })
}

/// The stop kinds a finding explains, and how precisely (higher: a more specific cause of the
/// same failure).
fn explains(id: &str, kind: StopKind) -> Option<u8> {
    use StopKind::*;
    let precision = match (id, kind) {
        ("entra.aadsts", Aadsts) => 4,
        ("tls.legacy-protocols", TlsProtocol | Aadsts) => 3,
        ("ca-bundle.missing" | "ca-bundle.invalid", CaBundle | CertVerify) => 4,
        ("ca-bundle.lacks-proxy-root", CertVerify) => 3,
        ("proxy.tls-inspection", CertVerify) => 2,
        ("ca-bundle.expired-certs", CertVerify) => 0,
        ("proxy.auth-required", ProxyAuth) => 4,
        ("proxy.blocked-endpoint", Blocked) => 4,
        ("proxy.upstream-failure", Upstream) => 4,
        // An https:// proxy URL on a plain HTTP proxy, or a scheme no client accepts, also
        // shows as "Unable to connect to proxy": the precise cause first.
        ("proxy.tls-to-proxy" | "proxy.unsupported-scheme", ProxyConnect | TlsProtocol) => 4,
        ("proxy.unreachable", ProxyConnect) => 3,
        ("proxy.unreachable", Unreachable) => 4,
        ("network.dns", Dns) => 4,
        ("network.unreachable", Unreachable) => 3,
        ("powershell.execution-policy", ExecutionPolicy) => 4,
        _ => return None,
    };
    Some(precision)
}

/// The evidence a finding rests on, from its entries: a debug log, the probes, or only the
/// configuration.
fn evidence_basis(f: &Finding) -> Basis {
    let from = |p: &str| f.evidence.iter().any(|e| e.file.starts_with(p));
    if from("debug/") {
        Basis::RunLog
    } else if from(crate::model::names::PROBES) {
        Basis::Probe
    } else {
        Basis::Configuration
    }
}

/// The lowest confidence of each basis's band.
fn band(b: Basis) -> u8 {
    match b {
        Basis::FailingRequest => 90,
        Basis::RunLog => 80,
        Basis::Probe => 65,
        Basis::Configuration => 50,
    }
}

/// Set each finding's basis and confidence, mark and demote what does not explain the run's
/// outcome, and order them: the cause of the stop first, then by basis, severity, confidence.
pub fn rank(m: &Model, lang: Lang, findings: &mut [Finding]) {
    let stop = stop(m);
    let exit = m.debug_exit_code();
    let mut any_cause = false;
    for f in findings.iter_mut() {
        let precision = stop.as_ref().and_then(|s| explains(&f.id, s.kind));
        f.basis = if precision.is_some() {
            any_cause = true;
            Basis::FailingRequest
        } else {
            evidence_basis(f)
        };
        // Within a band: the rule's own certainty (its old 0-100 scale) nudges, the precision
        // of the explanation counts most.
        let nudge = (f.confidence / 25).min(3) + precision.unwrap_or(0) * 2;
        f.confidence = band(f.basis) + nudge.min(9);
        if let (Some(s), Some(_)) = (&stop, precision)
            && !f.evidence.iter().any(|e| e.excerpt == s.line)
        {
            f.evidence.insert(
                0,
                Evidence {
                    file: s.file.clone(),
                    excerpt: s.line.clone(),
                },
            );
        }
    }
    for f in findings.iter_mut() {
        let weak = matches!(f.basis, Basis::Probe | Basis::Configuration);
        // A run that succeeded: what only the probes or the configuration show may break
        // something else later, but did not break this sign-in.
        if exit == Some(0) && weak && f.severity == Severity::Error {
            f.severity = Severity::Warning;
        }
        if any_cause && f.basis != Basis::FailingRequest && f.severity != Severity::Info {
            let also = lang.t("Also: ", "あわせて確認: ");
            if !f.title.starts_with(also.as_str()) {
                f.title = format!("{also}{}", f.title);
            }
        }
    }
    findings.sort_by(|a, b| {
        let causal = |f: &Finding| f.basis == Basis::FailingRequest;
        causal(b)
            .cmp(&causal(a))
            .then(b.severity.cmp(&a.severity))
            .then(b.confidence.cmp(&a.confidence))
            .then(a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_texts_of_each_client() {
        let cases = [
            (
                "urllib3.exceptions.ProxyError: ('Unable to connect to proxy', NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: [Errno 111] Connection refused'))",
                StopKind::ProxyConnect,
            ),
            (
                "OSError('Tunnel connection failed: 407 Proxy Authentication Required')",
                StopKind::ProxyAuth,
            ),
            (
                "The proxy tunnel request to proxy 'http://p:8080/' failed with status code '502'.\"",
                StopKind::Upstream,
            ),
            (
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
                StopKind::CertVerify,
            ),
            (
                "ssl.SSLError: [X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found (_ssl.c:4154)",
                StopKind::CaBundle,
            ),
            (
                "OSError: Could not find a suitable TLS CA certificate bundle, invalid path: /x.pem",
                StopKind::CaBundle,
            ),
            (
                "AADSTS7000215: Invalid client secret provided.",
                StopKind::Aadsts,
            ),
            (
                "Failed to resolve 'login.microsoftonline.com' ([Errno -3] Temporary failure in name resolution)",
                StopKind::Dns,
            ),
            (
                "Import-Module : File C:\\x.psm1 cannot be loaded because running scripts is disabled on this system.",
                StopKind::ExecutionPolicy,
            ),
        ];
        for (line, kind) in cases {
            assert_eq!(kind_of(line), Some(kind), "{line}");
        }
        assert_eq!(
            kind_of(
                "urllib3.connectionpool: Starting new HTTPS connection (1): login.microsoftonline.com:443"
            ),
            None
        );
    }

    #[test]
    fn precise_causes_outrank_generic_ones() {
        let p = |id| explains(id, StopKind::CertVerify).unwrap_or(0);
        assert!(p("ca-bundle.invalid") > p("ca-bundle.lacks-proxy-root"));
        assert!(p("ca-bundle.lacks-proxy-root") > p("proxy.tls-inspection"));
        assert_eq!(explains("proxy.blocked-endpoint", StopKind::Aadsts), None);
    }

    use crate::analyze::tests::{collector, healthy, log};
    use crate::model::Status;

    fn stop_of(text: &str, exit: i32) -> Option<StopKind> {
        let b = log(healthy(), text);
        let cs = [collector("debug.run", Status::Ok, Some(exit))];
        stop(&Model {
            bundle: &b,
            collectors: &cs,
        })
        .map(|s| s.kind)
    }

    /// A per-tenant warning of a sign-in that went on is not where it stopped; it counts only
    /// when nothing else explains the failure. A run that exited 0 has no stop.
    #[test]
    fn per_tenant_warnings_are_a_fallback_and_success_has_no_stop() {
        let warning = "WARNING: Authentication failed against tenant 11111111-2222-3333-4444-555555555555 'Contoso': AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.";
        let cert = "requests.exceptions.SSLError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed";
        assert_eq!(
            stop_of(&format!("{warning}\n{cert}\n"), 1),
            Some(StopKind::CertVerify)
        );
        assert_eq!(stop_of(&format!("{warning}\n"), 1), Some(StopKind::Aadsts));
        assert_eq!(stop_of(&format!("{warning}\n{cert}\n"), 0), None);
        assert_eq!(stop_of("nothing to see\n", 1), None);
    }

    /// The request timeline's stop decides when it is of a known kind (a 407 on the request
    /// itself), and its log line becomes the evidence; an ordinary 401 stop is left to the
    /// line scan.
    #[test]
    fn the_timeline_stop_is_used_when_it_says_what_failed() {
        use crate::model::{Request, Requests, Stop as TStop};
        let text = "urllib3.connectionpool: https://login.microsoftonline.com:443 \"POST /t/oauth2/v2.0/token HTTP/1.1\" 407 0\nmsal: something\n";
        let timeline = |status| Requests {
            log: "debug/az-login.log".into(),
            formats: vec!["az".into()],
            requests: vec![Request {
                seq: 1,
                line: 1,
                method: Some("POST".into()),
                url: "https://login.microsoftonline.com/t/oauth2/v2.0/token".into(),
                status: Some(status),
                failed: true,
                ..Request::default()
            }],
            stop: Some(TStop {
                request: Some(0),
                line: format!(
                    "POST https://login.microsoftonline.com/t/oauth2/v2.0/token -> {status}"
                ),
            }),
        };
        let cs = [collector("debug.run", Status::Ok, Some(1))];
        let mut b = log(healthy(), text);
        b.requests
            .insert("debug/az-login.requests.json".into(), timeline(407));
        let s = stop(&Model {
            bundle: &b,
            collectors: &cs,
        })
        .unwrap();
        assert_eq!(s.kind, StopKind::ProxyAuth);
        assert!(
            s.line
                .contains("\"POST /t/oauth2/v2.0/token HTTP/1.1\" 407"),
            "{}",
            s.line
        );
        b.requests
            .insert("debug/az-login.requests.json".into(), timeline(401));
        assert_eq!(
            stop(&Model {
                bundle: &b,
                collectors: &cs
            }),
            None
        );
    }
}
