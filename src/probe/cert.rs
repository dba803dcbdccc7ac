//! Certificate summaries (subject, issuer, validity, CA flag) for probes and CA bundles.

use x509_parser::prelude::*;

pub use crate::model::CertInfo;

fn rfc3339(t: &ASN1Time) -> String {
    chrono::DateTime::from_timestamp(t.timestamp(), 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}

/// Summarize a DER certificate (None when it does not parse).
pub fn describe(der: &[u8]) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let now = chrono::Utc::now().timestamp();
    let is_ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca);
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: rfc3339(&cert.validity().not_before),
        not_after: rfc3339(&cert.validity().not_after),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        is_ca,
        expired: cert.validity().not_after.timestamp() < now,
    })
}

/// The issuing organization of a chain: the issuer of its last (top-most) certificate.
pub fn chain_issuer(chain: &[CertInfo]) -> Option<&str> {
    chain.last().map(|c| c.issuer.as_str())
}

/// Does this issuer name belong to a CA that Microsoft endpoints really use?
pub fn is_microsoft_ca(issuer: &str) -> bool {
    let l = issuer.to_ascii_lowercase();
    l.contains("microsoft") || l.contains("digicert")
}
