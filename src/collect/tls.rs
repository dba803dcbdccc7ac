//! `tls`: the machine's TLS settings (`tls/settings.json`) and the CA bundles the clients trust
//! (`tls/ca-bundles.json`).
//!
//! Windows: SCHANNEL client protocols, .NET `SchUseStrongCrypto` / `SystemDefaultTlsVersions`
//! (and the WOW6432Node twins), WinHTTP `DefaultSecureProtocols` and the .NET Framework release,
//! all read with `reg query`. Linux/macOS: `openssl version -a` and openssl.cnf's MinProtocol /
//! CipherString. Everywhere: the OpenSSL and certifi bundle of Azure CLI's own Python. CA
//! bundles are parsed where they are (certificate subjects, issuers, expiry); never copied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::az_python::AzPythonCell;
use super::{Collector, Context, Outcome, reg};
use crate::exec::Cmd;
use crate::fsutil;
use crate::model::{
    AzureCliPython, BundleFormat, CaBundle, CaBundleSource, CaBundles, ClientState,
    DotnetFramework, OpensslVersion, SchannelProtocol, SecureProtocols, StrongCrypto, TlsSettings,
    names,
};
use crate::probe::{self, cert};

pub struct Tls {
    /// Shared with `versions.az`.
    pub python: Arc<AzPythonCell>,
    /// Whether the Python call is recorded here (versions.az is not in the run).
    pub records_python: bool,
}

pub(crate) const SCHANNEL: &str =
    r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols";
/// Microsoft's TLS 1.2 guidance sets `SchUseStrongCrypto` and `SystemDefaultTlsVersions` under
/// both runtimes' keys, 64- and 32-bit (learn.microsoft.com/mem/configmgr/core/plan-design/
/// security/enable-tls-1-2-client). Only `v4.0.30319` affects Windows PowerShell 5.1 (CLR 4;
/// `v2.0.50727` governs .NET 2.0-3.5 apps): the v2 values are reported for completeness and the
/// `tls.legacy-protocols` rule does not read them.
pub(crate) const DOTNET: &[&str] = &[
    r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319",
    r"HKLM\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319",
    r"HKLM\SOFTWARE\Microsoft\.NETFramework\v2.0.50727",
    r"HKLM\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v2.0.50727",
];
pub(crate) const WINHTTP: &[&str] = &[
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp",
    r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp",
];
pub(crate) const NDP: &str = r"HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full";
const PROTOCOLS: &[&str] = &["SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"];

/// `reg query` a key; an absent key gives an empty map.
fn query(ctx: &Context, out: &mut Outcome, key: &str, recurse: bool) -> reg::RegKeys {
    let mut cmd = Cmd::new("reg").args(["query", key]);
    if recurse {
        cmd = cmd.arg("/s");
    }
    match ctx.runner.run(&cmd) {
        Ok(o) => {
            out.record(ctx, &o);
            reg::parse(&o.stdout.text().0)
        }
        Err(_) => reg::RegKeys::new(),
    }
}

/// SCHANNEL's verdict for one protocol's Client key.
pub fn protocol_state(values: Option<&BTreeMap<String, reg::RegValue>>) -> ClientState {
    let Some(v) = values else {
        return ClientState::OsDefault;
    };
    let num = |n: &str| v.get(n).and_then(|x| x.number());
    match (num("Enabled"), num("DisabledByDefault")) {
        (Some(0), _) => ClientState::Disabled,
        (_, Some(d)) if d != 0 => ClientState::DisabledByDefault,
        (Some(_), _) => ClientState::Enabled,
        _ => ClientState::OsDefault,
    }
}

/// WinHTTP DefaultSecureProtocols bits.
pub fn secure_protocols(mask: u64) -> Vec<&'static str> {
    [
        (0x8, "SSL 2.0"),
        (0x20, "SSL 3.0"),
        (0x80, "TLS 1.0"),
        (0x200, "TLS 1.1"),
        (0x800, "TLS 1.2"),
        (0x2000, "TLS 1.3"),
    ]
    .into_iter()
    .filter(|(bit, _)| mask & bit != 0)
    .map(|(_, n)| n)
    .collect()
}

/// The .NET Framework version a `Release` value means.
pub fn dotnet_release(release: u64) -> &'static str {
    match release {
        533320.. => "4.8.1",
        528040.. => "4.8",
        461808.. => "4.7.2",
        461308.. => "4.7.1",
        460798.. => "4.7",
        394802.. => "4.6.2",
        _ => "older than 4.6.2",
    }
}

fn windows_settings(ctx: &Context, out: &mut Outcome) -> TlsSettings {
    let schannel = query(ctx, out, SCHANNEL, true);
    let protocols = PROTOCOLS
        .iter()
        .map(|p| {
            let key = format!("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\{p}\\Client");
            let values = schannel.get(&key);
            let state = SchannelProtocol {
                client: protocol_state(values),
                values: values.cloned(),
            };
            (p.to_string(), state)
        })
        .collect();
    let mut dotnet = BTreeMap::new();
    for key in DOTNET {
        let k = query(ctx, out, key, false);
        let v = k.values().next();
        let get = |n: &str| v.and_then(|m| m.get(n)).and_then(|x| x.number());
        dotnet.insert(
            key.to_string(),
            StrongCrypto {
                sch_use_strong_crypto: get("SchUseStrongCrypto"),
                system_default_tls_versions: get("SystemDefaultTlsVersions"),
            },
        );
    }
    let mut winhttp = BTreeMap::new();
    for key in WINHTTP {
        let k = query(ctx, out, key, false);
        let mask = k
            .values()
            .next()
            .and_then(|m| m.get("DefaultSecureProtocols"))
            .and_then(|x| x.number());
        winhttp.insert(
            key.to_string(),
            SecureProtocols {
                default_secure_protocols: mask,
                protocols: mask
                    .map(|m| secure_protocols(m).into_iter().map(String::from).collect()),
            },
        );
    }
    let ndp = query(ctx, out, NDP, false);
    let release = ndp
        .values()
        .next()
        .and_then(|m| m.get("Release"))
        .and_then(|x| x.number());
    TlsSettings {
        schannel_protocols: Some(protocols),
        dotnet_framework_strong_crypto: Some(dotnet),
        winhttp_default_secure_protocols: Some(winhttp),
        dotnet_framework: Some(DotnetFramework {
            release,
            version: release.map(|r| dotnet_release(r).to_string()),
        }),
        note: Some("PowerShell's [Net.ServicePointManager]::SecurityProtocol is in versions/<shell>.json (security_protocol)".into()),
        ..TlsSettings::default()
    }
}

/// MinProtocol and CipherString lines of an OpenSSL config.
pub fn openssl_cnf_settings(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some((k, v)) = line.split_once('=') {
            let k = k.trim();
            if ["MinProtocol", "MaxProtocol", "CipherString", "Ciphersuites"].contains(&k) {
                m.insert(k.to_string(), v.trim().to_string());
            }
        }
    }
    m
}

fn unix_settings(ctx: &Context, out: &mut Outcome) -> TlsSettings {
    let mut v = TlsSettings::default();
    if let Ok(o) = ctx.runner.run(&Cmd::new("openssl").args(["version", "-a"])) {
        out.record(ctx, &o);
        let text = o.stdout.text().0;
        v.openssl_version_a = Some(OpensslVersion::Lines(
            text.lines().map(str::to_string).collect(),
        ));
        let dir = text
            .lines()
            .find_map(|l| l.strip_prefix("OPENSSLDIR:"))
            .map(|d| d.trim().trim_matches('"').to_string());
        let cnf = ctx
            .env
            .get("OPENSSL_CONF")
            .map(PathBuf::from)
            .or_else(|| dir.map(|d| Path::new(&d).join("openssl.cnf")));
        if let Some(cnf) = cnf {
            v.openssl_cnf = Some(cnf.to_string_lossy().into_owned());
            match fsutil::read_capped(&cnf, fsutil::CONFIG_CAP) {
                Ok(c) => {
                    v.openssl_cnf_settings = Some(openssl_cnf_settings(&c.text()));
                    v.openssl_cnf_note = c.note();
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => v.openssl_cnf_error = Some(e.to_string()),
            }
        }
    } else {
        v.openssl_version_a = Some(OpensslVersion::Missing("openssl not found on PATH".into()));
    }
    v
}

/// Azure CLI's OpenSSL and certifi bundle, from the run's one call to its Python.
fn az_python_facts(
    ctx: &Context,
    out: &mut Outcome,
    cell: &AzPythonCell,
    records: bool,
) -> (Option<AzureCliPython>, Option<String>) {
    let read = cell.read(ctx);
    if records {
        out.commands.extend(read.commands.iter().cloned());
    }
    if let Some(reason) = &read.reason {
        out.degrade(read.status, reason.clone());
    }
    let Some(py) = &read.python else {
        return (None, None);
    };
    let python = py.to_string_lossy().into_owned();
    match &read.facts {
        Some(f) => {
            let facts = AzureCliPython {
                python,
                openssl: f.openssl.clone(),
                certifi: Some(f.certifi.clone()),
            };
            (Some(facts), f.certifi.clone())
        }
        None => {
            let facts = AzureCliPython {
                python,
                openssl: None,
                certifi: None,
            };
            (Some(facts), None)
        }
    }
}

/// Describe one CA bundle file without copying it.
pub fn describe_bundle(source: CaBundleSource, path: &str, used_by_azure_cli: bool) -> CaBundle {
    let p = Path::new(path);
    let mut v = CaBundle {
        source,
        path: path.to_string(),
        used_by_azure_cli,
        exists: p.exists(),
        is_directory: false,
        readable: None,
        size: None,
        note: None,
        certificates: None,
        expired: None,
        certs: None,
        error: None,
        format: None,
        hashed_entries: None,
    };
    if p.is_dir() {
        v.is_directory = true;
        v.hashed_entries = Some(hashed_entries(p));
        return v;
    }
    // Bounded, and never a FIFO or a device (REQUESTS_CA_BUNDLE=/dev/zero must not hang).
    match fsutil::read_capped(p, fsutil::CA_BUNDLE_CAP) {
        Ok(c) => {
            let certs: Vec<cert::CertInfo> = probe::pem_certs(&c.data)
                .iter()
                .filter_map(|c| cert::describe(c))
                .collect();
            v.readable = Some(true);
            v.size = Some(c.size);
            v.note = c.note();
            v.format = Some(bundle_format(&c.data, !certs.is_empty()));
            v.certificates = Some(certs.len());
            v.expired = Some(certs.iter().filter(|c| c.expired).count());
            v.certs = Some(certs);
        }
        Err(e) => {
            v.readable = Some(false);
            if p.exists() {
                v.error = Some(e.to_string());
            }
        }
    }
    v
}

/// How many entries of a CA directory carry OpenSSL's hashed names (`3513523f.0`): OpenSSL's
/// `X509_LOOKUP_hash_dir`, which requests uses for a directory (`ca_cert_dir`), opens only
/// those. Counted up to a cap: the answer only needs to tell none from some.
fn hashed_entries(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let hashed = |n: &str| {
        n.split_once('.').is_some_and(|(h, i)| {
            h.len() == 8
                && h.bytes().all(|b| b.is_ascii_hexdigit())
                && !i.is_empty()
                && i.bytes().all(|b| b.is_ascii_digit())
        })
    };
    rd.take(10_000)
        .flatten()
        .filter(|e| hashed(&e.file_name().to_string_lossy()))
        .take(1000)
        .count()
}

/// What a CA bundle file holds, from its bytes: requests reads PEM only, and support sees the
/// other shapes every week (a DER or `.p7b` export from certmgr, a PFX, a PEM re-saved as
/// UTF-16 by Windows PowerShell 5.1's `>`).
pub fn bundle_format(data: &[u8], has_pem_certs: bool) -> BundleFormat {
    /// The DER encodings of the PKCS#7 content-type OIDs 1.2.840.113549.1.7.2 (signedData, a
    /// `.p7b`) and 1.2.840.113549.1.7.1 (data, what a PFX's authSafe holds).
    const SIGNED_DATA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
    ];
    const DATA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
    ];
    let head = &data[..data.len().min(64)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if data.is_empty() {
        return BundleFormat::Empty;
    }
    if has_pem_certs {
        return BundleFormat::Pem;
    }
    let utf16_bom = data.starts_with(&[0xff, 0xfe]) || data.starts_with(&[0xfe, 0xff]);
    let utf16_le = head.len() >= 8
        && head
            .chunks(2)
            .all(|c| c.len() == 2 && c[0] != 0 && c[1] == 0);
    if utf16_bom || utf16_le {
        return BundleFormat::Utf16;
    }
    if data[0] == 0x30 {
        if x509_parser::parse_x509_certificate(data).is_ok() {
            return BundleFormat::Der;
        }
        if has(SIGNED_DATA) {
            return BundleFormat::Pkcs7;
        }
        // PFX: SEQUENCE { INTEGER 3, ContentInfo { data, ... } } (RFC 7292 §4).
        if has(&[0x02, 0x01, 0x03]) && has(DATA) {
            return BundleFormat::Pkcs12;
        }
    }
    if memchr::memmem::find(data, b"-----BEGIN PKCS7-----").is_some() {
        return BundleFormat::Pkcs7;
    }
    // A prefix cut inside a multi-byte character is still text (`error_len` None).
    let text = match std::str::from_utf8(&data[..data.len().min(4096)]) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    if data.contains(&0) || !text {
        BundleFormat::Binary
    } else {
        BundleFormat::Text
    }
}

impl Collector for Tls {
    fn id(&self) -> &'static str {
        "tls"
    }
    fn commands(&self) -> u32 {
        9 // Windows: reg query SCHANNEL, 4 × .NETFramework, 2 × WinHttp, NDP; az's Python
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let mut out = Outcome::ok();
        let mut settings = if ctx.platform.is_windows() {
            windows_settings(ctx, &mut out)
        } else {
            unix_settings(ctx, &mut out)
        };
        let (az_py, certifi) = az_python_facts(ctx, &mut out, &self.python, self.records_python);
        settings.azure_cli_python = az_py;
        out.add_entry(ctx, names::TLS_SETTINGS, &settings);

        let mut bundles = Vec::new();
        // requests takes REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE (an empty value counts as
        // unset), never SSL_CERT_FILE.
        let requests_set = ctx
            .env
            .get(CaBundleSource::RequestsCaBundle.as_str())
            .is_some_and(|v| !v.is_empty());
        for (source, used) in [
            (CaBundleSource::RequestsCaBundle, true),
            (CaBundleSource::CurlCaBundle, !requests_set),
            (CaBundleSource::SslCertFile, false),
        ] {
            if let Some(path) = ctx.env.get(source.as_str()).filter(|v| !v.is_empty()) {
                bundles.push(describe_bundle(source, path, used));
            }
        }
        if let Some(path) = certifi {
            let overridden = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
                .iter()
                .any(|v| ctx.env.get(v).is_some_and(|x| !x.is_empty()));
            bundles.push(describe_bundle(
                CaBundleSource::AzureCliCertifi,
                &path,
                !overridden,
            ));
        }
        out.add_entry(
            ctx,
            names::CA_BUNDLES,
            &CaBundles {
                note: "Azure CLI verifies against REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE), else its bundled certifi cacert.pem; it ignores SSL_CERT_FILE and the Windows certificate store".into(),
                bundles,
            },
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_formats_are_told_apart() {
        let ca = rcgen::generate_simple_self_signed(vec!["root".to_string()]).unwrap();
        let der = ca.cert.der().to_vec();
        let pem = ca.cert.pem();
        assert_eq!(bundle_format(pem.as_bytes(), true), BundleFormat::Pem);
        assert_eq!(bundle_format(&der, false), BundleFormat::Der);
        assert_eq!(bundle_format(b"", false), BundleFormat::Empty);
        let utf16: Vec<u8> = pem.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(bundle_format(&utf16, false), BundleFormat::Utf16);
        let mut bom = vec![0xff, 0xfe];
        bom.extend(&utf16);
        assert_eq!(bundle_format(&bom, false), BundleFormat::Utf16);
        // A .p7b: ContentInfo { signedData, ... }.
        let p7b = [
            0x30, 0x82, 0x01, 0x00, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07,
            0x02, 0xa0, 0x00,
        ];
        assert_eq!(bundle_format(&p7b, false), BundleFormat::Pkcs7);
        assert_eq!(
            bundle_format(b"-----BEGIN PKCS7-----\nMIIB\n-----END PKCS7-----\n", false),
            BundleFormat::Pkcs7
        );
        // A PFX: { INTEGER 3, ContentInfo { data, ... } }.
        let pfx = [
            0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03, 0x30, 0x82, 0x00, 0xf0, 0x06, 0x09, 0x2a,
            0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
        ];
        assert_eq!(bundle_format(&pfx, false), BundleFormat::Pkcs12);
        assert_eq!(bundle_format(b"not PEM\n", false), BundleFormat::Text);
        assert_eq!(
            bundle_format(&[0x01, 0x00, 0xff], false),
            BundleFormat::Binary
        );
    }

    #[test]
    fn a_directory_counts_hashed_names_only() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("root.pem"), "x").unwrap();
        let b = describe_bundle(
            CaBundleSource::RequestsCaBundle,
            &d.path().display().to_string(),
            true,
        );
        assert_eq!((b.is_directory, b.hashed_entries), (true, Some(0)));
        std::fs::write(d.path().join("3513523f.0"), "x").unwrap();
        assert_eq!(hashed_entries(d.path()), 1);
    }

    #[test]
    fn protocol_states() {
        let v = |pairs: &[(&str, &str)]| -> BTreeMap<String, reg::RegValue> {
            pairs
                .iter()
                .map(|(k, d)| {
                    (
                        k.to_string(),
                        reg::RegValue {
                            kind: "REG_DWORD".into(),
                            data: d.to_string(),
                        },
                    )
                })
                .collect()
        };
        assert_eq!(protocol_state(None), ClientState::OsDefault);
        assert_eq!(
            protocol_state(Some(&v(&[("Enabled", "0x0")]))),
            ClientState::Disabled
        );
        assert_eq!(
            protocol_state(Some(&v(&[
                ("Enabled", "0x1"),
                ("DisabledByDefault", "0x0")
            ]))),
            ClientState::Enabled
        );
        assert_eq!(
            protocol_state(Some(&v(&[
                ("Enabled", "0xffffffff"),
                ("DisabledByDefault", "0x1")
            ]))),
            ClientState::DisabledByDefault
        );
    }

    #[test]
    fn winhttp_bits_and_releases() {
        assert_eq!(secure_protocols(0xA80), ["TLS 1.0", "TLS 1.1", "TLS 1.2"]);
        assert_eq!(dotnet_release(533325), "4.8.1");
        assert_eq!(dotnet_release(528372), "4.8");
    }

    #[test]
    fn openssl_cnf() {
        let m = openssl_cnf_settings(
            "[system_default_sect]\nMinProtocol = TLSv1.2\nCipherString = DEFAULT@SECLEVEL=2 # x\n",
        );
        assert_eq!(m["MinProtocol"], "TLSv1.2");
        assert_eq!(m["CipherString"], "DEFAULT@SECLEVEL=2");
    }
}
