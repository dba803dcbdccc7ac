//! Which proxy each client family uses for an endpoint.
//!
//! Azure CLI (Python requests): the environment, lowercase names winning as in urllib; on
//! Windows, with no environment proxy, urllib falls back to the per-user WinINET settings.
//! PowerShell 7 (.NET HttpClient): the environment, else (Windows) the system proxy.
//! Windows PowerShell 5.1 (.NET Framework): the system (WinINET) proxy only.

use serde::Serialize;

use crate::redact::url;
use crate::vocab::Env;

pub use crate::model::{Effective, WinHttp, WinHttpSource, WinInet};

/// A proxy URL as it may be shown and probed: without credentials, or a marker when it does
/// not read as a proxy URL.
pub fn display_proxy(value: &str) -> String {
    url::display_proxy(value).unwrap_or_else(|| url::UNRECOGNISED.to_string())
}

/// A host list (NO_PROXY, ProxyOverride, bypass list) as it may be shown.
pub fn display_host_list(value: &str) -> String {
    if url::is_host_list(value) {
        value.trim().to_string()
    } else {
        url::UNRECOGNISED.to_string()
    }
}

/// Proxy settings from the environment. The proxy URLs are display-safe: credentials are cut
/// at the source ([`url::display_proxy`]) and a value that does not read as a proxy URL is
/// replaced by a marker. `no_proxy` is kept as set (it is matched against hosts); show it
/// through [`display_host_list`].
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct EnvProxies {
    pub https: Option<(String, String)>,
    pub http: Option<(String, String)>,
    pub all: Option<(String, String)>,
    pub no_proxy: Option<(String, String)>,
}

/// `name`, then its lowercase twin overriding it (urllib's order).
fn lookup(env: &Env, upper: &str) -> Option<(String, String)> {
    let lower = upper.to_ascii_lowercase();
    for name in [lower.as_str(), upper] {
        if let Some(v) = env.vars_exact(name).filter(|v| !v.trim().is_empty()) {
            return Some((name.to_string(), v.trim().to_string()));
        }
    }
    None
}

pub fn env_proxies(env: &Env) -> EnvProxies {
    let proxy = |name| lookup(env, name).map(|(n, v)| (n, display_proxy(&v)));
    EnvProxies {
        https: proxy("HTTPS_PROXY"),
        http: proxy("HTTP_PROXY"),
        all: proxy("ALL_PROXY"),
        no_proxy: lookup(env, "NO_PROXY"),
    }
}

/// requests' NO_PROXY rule: comma-separated hosts or domain suffixes; `*` matches everything.
pub fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    no_proxy
        .split([',', ' '])
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .any(|e| {
            if e == "*" {
                return true;
            }
            let e = e
                .split(':')
                .next()
                .unwrap_or("")
                .trim_start_matches("*.")
                .trim_start_matches('.');
            host == e || host.ends_with(&format!(".{e}"))
        })
}

/// WinINET ProxyOverride: `;`-separated patterns with `*` wildcards; `<local>` = no dot in host.
pub fn wininet_bypass(overrides: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    overrides
        .split(';')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .any(|p| {
            if p == "<local>" {
                return !host.contains('.');
            }
            wildcard(&p, &host)
        })
}

fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            if !text.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 {
            return text.len() >= pos + part.len() && text.ends_with(part);
        } else {
            match text[pos..].find(part) {
                Some(j) => pos += j + part.len(),
                None => return false,
            }
        }
    }
    true
}

/// `proxy:8080` or `http=p1:80;https=p2:443`: the server an https URL uses.
pub fn wininet_server_for_https(server: &str) -> Option<String> {
    if !server.contains('=') {
        return Some(server.trim().to_string()).filter(|s| !s.is_empty());
    }
    let map: Vec<(String, String)> = server
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    map.iter()
        .find(|(k, _)| k == "https")
        .or_else(|| map.iter().find(|(k, _)| k == "http"))
        .map(|(_, v)| v.clone())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    AzureCli,
    PowerShell7,
    WindowsPowerShell,
}

fn from_env(e: &EnvProxies, host: &str) -> Option<Effective> {
    if let Some((name, np)) = &e.no_proxy
        && no_proxy_matches(np, host)
    {
        return Some(Effective {
            proxy: None,
            source: format!("env:{name}"),
            pac: false,
        });
    }
    e.https
        .as_ref()
        .or(e.all.as_ref())
        .map(|(name, v)| Effective {
            proxy: Some(v.clone()),
            source: format!("env:{name}"),
            pac: false,
        })
}

fn from_wininet(w: &WinInet, host: &str) -> Effective {
    let pac = w.auto_config_url.is_some();
    if w.proxy_enable
        && let Some(server) = w.proxy_server.as_deref().and_then(wininet_server_for_https)
    {
        if w.proxy_override
            .as_deref()
            .is_some_and(|o| wininet_bypass(o, host))
        {
            return Effective {
                proxy: None,
                source: "wininet:bypass".into(),
                pac,
            };
        }
        return Effective {
            proxy: Some(server),
            source: "wininet".into(),
            pac,
        };
    }
    Effective {
        proxy: None,
        source: if pac {
            "wininet:pac".into()
        } else {
            "none".into()
        },
        pac,
    }
}

pub fn effective(
    family: Family,
    windows: bool,
    env: &EnvProxies,
    wininet: Option<&WinInet>,
    host: &str,
) -> Effective {
    let none = || Effective {
        proxy: None,
        source: "none".into(),
        pac: false,
    };
    match family {
        Family::AzureCli | Family::PowerShell7 => from_env(env, host)
            .or_else(|| {
                (windows)
                    .then(|| wininet.map(|w| from_wininet(w, host)))
                    .flatten()
            })
            .unwrap_or_else(none),
        Family::WindowsPowerShell => wininet.map(|w| from_wininet(w, host)).unwrap_or_else(none),
    }
}

// The WinHTTP proxy. Windows keeps it in one REG_BINARY value, `WinHttpSettings` under
// HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections, which `netsh
// winhttp set proxy` writes and WinHTTP reads. The layout is undocumented; it is read here as
// Wine's WinHttpGetDefaultProxyConfiguration reads it (dlls/winhttp/session.c, `struct
// connection_settings_header`: magic 0x18, a DWORD that is zero there, flags) and as the public
// PowerShell / C# readers do (microsoft/CSS-Exchange Get-HttpProxySetting.ps1: proxy length at
// offset 12; Xavier Plantefève's WinHttpProxySettings.ps1, vbfox/proxyconf README):
//
//   DWORD version   0x18 (proxycfg / older netsh) or 0x28 (netsh on current Windows; the
//                   writers of 0x28 put the same fields first and may append an auto-config
//                   URL (DWORD length + ASCII) and zero padding after the bypass list)
//   DWORD counter   bumped on every change (Wine expects 0; not checked here)
//   DWORD flags     1 direct (always set), 2 named proxy, 4 auto-config URL, 8 auto-detect
//   DWORD n, n ASCII bytes   the proxy server list
//   DWORD m, m ASCII bytes   the bypass list
//   ...                      (ignored)
//
// Only flag 2 decides WinHTTP's default (static) configuration: Wine uses the proxy string only
// when it is set, and `netsh winhttp show proxy` prints "Direct access" otherwise. Microsoft's
// "Use Group Policy to apply WinHTTP proxy settings" gives the direct-access value,
// 1800000000000000010000000000000000000000. The value is absent until someone sets a proxy
// (ProxyCfg's documentation: deleting WinHttpSettings removes all proxy configuration), and
// then WinHTTP goes direct: Wine's reader falls back to direct when the key or value is
// missing.

/// Flag bit 2 of `WinHttpSettings`: a named proxy (Wine's PROXY_TYPE_PROXY).
const WINHTTP_FLAG_PROXY: u32 = 2;

/// The first DWORD of the `WinHttpSettings` values this decoder understands.
const WINHTTP_VERSIONS: [u32; 2] = [0x18, 0x28];

/// A decoded `WinHttpSettings` value (the proxy strings still raw: not display-safe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WinHttpSettings {
    pub version: u32,
    pub flags: u32,
    pub proxy: String,
    pub bypass: String,
}

/// The little-endian DWORD at `at`, if the blob holds it.
fn dword(blob: &[u8], at: usize) -> Option<u32> {
    let b = blob.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A DWORD length and that many printable-ASCII bytes at `at`: the string and where the next
/// field starts. None when it runs past the end or is not printable ASCII.
fn counted_ascii(blob: &[u8], at: usize) -> Option<(String, usize)> {
    let len = usize::try_from(dword(blob, at)?).ok()?;
    let start = at.checked_add(4)?;
    let end = start.checked_add(len)?;
    let bytes = blob.get(start..end)?;
    bytes
        .iter()
        .all(|b| (0x20..0x7f).contains(b))
        .then(|| (bytes.iter().map(|&b| char::from(b)).collect(), end))
}

/// Decode a `WinHttpSettings` blob. Bounds-checked: a short, truncated or odd blob (an unknown
/// version, a length past the end, non-ASCII text, the proxy flag without a proxy) is an `Err`
/// saying why, never a guess.
pub fn decode_winhttp_settings(blob: &[u8]) -> Result<WinHttpSettings, String> {
    let (Some(version), Some(_counter), Some(flags)) =
        (dword(blob, 0), dword(blob, 4), dword(blob, 8))
    else {
        return Err(format!("{} bytes, shorter than its header", blob.len()));
    };
    if !WINHTTP_VERSIONS.contains(&version) {
        return Err(format!("unrecognised version 0x{version:x}"));
    }
    let (proxy, next) = counted_ascii(blob, 12)
        .ok_or("the proxy server field runs past the end or is not ASCII")?;
    let (bypass, _) =
        counted_ascii(blob, next).ok_or("the bypass list runs past the end or is not ASCII")?;
    if flags & WINHTTP_FLAG_PROXY != 0 && proxy.trim().is_empty() {
        return Err("the proxy flag is set without a proxy server".into());
    }
    Ok(WinHttpSettings {
        version,
        flags,
        proxy,
        bypass,
    })
}

/// The WinHTTP facts a decoded `WinHttpSettings` value gives, display-safe.
pub fn winhttp_from_registry(s: &WinHttpSettings) -> WinHttp {
    if s.flags & WINHTTP_FLAG_PROXY == 0 {
        return WinHttp {
            direct: Some(true),
            source: WinHttpSource::Registry,
            ..WinHttp::default()
        };
    }
    WinHttp {
        direct: Some(false),
        proxy_server: Some(url::display_proxy_list(&s.proxy)),
        bypass_list: Some(s.bypass.trim())
            .filter(|b| !b.is_empty())
            .map(display_host_list),
        source: WinHttpSource::Registry,
        note: None,
    }
}

/// `WinHttpSettings` is not set: WinHTTP's default, direct access.
pub fn winhttp_not_set() -> WinHttp {
    WinHttp {
        direct: Some(true),
        source: WinHttpSource::Registry,
        note: Some("WinHttpSettings is not set: WinHTTP's default, direct access".into()),
        ..WinHttp::default()
    }
}

/// Nothing told what the WinHTTP proxy is.
pub fn winhttp_unknown(note: String) -> WinHttp {
    WinHttp {
        note: Some(note),
        ..WinHttp::default()
    }
}

/// `netsh winhttp show proxy` lines, English and Japanese. The Japanese ones are as Japanese
/// Windows prints them in several independent captures published on GitHub (AD FS and Windows
/// activation troubleshooting notes): "現在の WinHTTP プロキシ設定:", "直接アクセス (プロキシ
/// サーバーなし)。", "プロキシ サーバー:  host:port", "バイパス一覧     :  (なし)".
const NETSH_DIRECT: [&str; 2] = ["Direct access", "直接アクセス"];
const NETSH_PROXY: [&str; 2] = ["Proxy Server", "プロキシ サーバー"];
const NETSH_BYPASS: [&str; 2] = ["Bypass List", "バイパス一覧"];
const NETSH_NONE: [&str; 2] = ["(none)", "(なし)"];

/// Parse `netsh winhttp show proxy` (the fallback when the registry could not be read), English
/// or Japanese. None when the text says neither "direct access" nor a proxy server (empty, as
/// from Wine's stub, another language, or contradictory): the caller reports unknown. The proxy
/// server list loses any credentials and the bypass list is kept only when it reads as a host
/// list.
pub fn parse_winhttp(text: &str) -> Option<WinHttp> {
    let (mut direct, mut proxy, mut bypass) = (false, None, None);
    for line in text.lines() {
        let line = line.trim();
        if NETSH_DIRECT.iter().any(|d| line.starts_with(d)) {
            direct = true;
        } else if let Some((k, v)) = line.split_once([':', '\u{ff1a}']) {
            let (k, v) = (k.trim(), v.trim());
            let v = Some(v).filter(|v| !v.is_empty() && !NETSH_NONE.contains(v));
            if NETSH_PROXY.iter().any(|p| k.starts_with(p)) {
                proxy = v;
            } else if NETSH_BYPASS.iter().any(|b| k.starts_with(b)) {
                bypass = v;
            }
        }
    }
    match (direct, proxy) {
        (true, None) => Some(WinHttp {
            direct: Some(true),
            source: WinHttpSource::Netsh,
            ..WinHttp::default()
        }),
        (false, Some(p)) => Some(WinHttp {
            direct: Some(false),
            proxy_server: Some(url::display_proxy_list(p)),
            bypass_list: bypass.map(display_host_list),
            source: WinHttpSource::Netsh,
            note: None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_wins_and_no_proxy_applies() {
        let env = Env::from_pairs(
            [
                ("HTTPS_PROXY", "http://upper:1"),
                ("https_proxy", "http://lower:2"),
                ("NO_PROXY", "localhost,.contoso.com"),
            ],
            false,
        );
        let e = env_proxies(&env);
        assert_eq!(
            e.https,
            Some(("https_proxy".into(), "http://lower:2".into()))
        );
        let eff = effective(
            Family::AzureCli,
            false,
            &e,
            None,
            "login.microsoftonline.com",
        );
        assert_eq!(eff.proxy.as_deref(), Some("http://lower:2"));
        assert!(no_proxy_matches("localhost,.contoso.com", "a.contoso.com"));
        assert!(no_proxy_matches("*", "x"));
        assert!(!no_proxy_matches("contoso.com", "notcontoso.com"));
    }

    #[test]
    fn windows_families() {
        let w = WinInet {
            proxy_enable: true,
            proxy_server: Some("http=p1:80;https=p2:8443".into()),
            proxy_override: Some("<local>;*.microsoftonline.com".into()),
            auto_config_url: None,
        };
        let env = EnvProxies::default();
        let ps51 = effective(
            Family::WindowsPowerShell,
            true,
            &env,
            Some(&w),
            "management.azure.com",
        );
        assert_eq!(ps51.proxy.as_deref(), Some("p2:8443"));
        let bypass = effective(
            Family::WindowsPowerShell,
            true,
            &env,
            Some(&w),
            "login.microsoftonline.com",
        );
        assert_eq!(
            (bypass.proxy, bypass.source.as_str()),
            (None, "wininet:bypass")
        );
        // Azure CLI falls back to WinINET on Windows only when no environment proxy is set.
        assert_eq!(
            effective(
                Family::AzureCli,
                true,
                &env,
                Some(&w),
                "graph.microsoft.com"
            )
            .source,
            "wininet"
        );
        let envp = EnvProxies {
            https: Some(("HTTPS_PROXY".into(), "http://e:1".into())),
            ..Default::default()
        };
        assert_eq!(
            effective(
                Family::AzureCli,
                true,
                &envp,
                Some(&w),
                "graph.microsoft.com"
            )
            .proxy
            .as_deref(),
            Some("http://e:1")
        );
        assert_eq!(
            effective(
                Family::WindowsPowerShell,
                true,
                &envp,
                Some(&w),
                "graph.microsoft.com"
            )
            .source,
            "wininet"
        );
    }

    #[test]
    fn env_proxy_credentials_are_cut_at_the_source() {
        let env = Env::from_pairs(
            [
                ("https_proxy", "alice:canarySECRET@proxy:3128"),
                (
                    "HTTP_PROXY",
                    "http://bob:ca/na#ry?x'y\"z w@proxy.corp:8080/",
                ),
                ("ALL_PROXY", "Basic Y2FuYXJ5"),
            ],
            false,
        );
        let e = env_proxies(&env);
        assert_eq!(
            e.https.as_ref().unwrap().1,
            "[REDACTED:url-credentials]@proxy:3128"
        );
        assert_eq!(
            e.http.as_ref().unwrap().1,
            "http://[REDACTED:url-credentials]@proxy.corp:8080"
        );
        assert_eq!(e.all.as_ref().unwrap().1, "[REDACTED:unrecognised-value]");
        let shown = serde_json::to_string(&e).unwrap();
        for canary in ["canary", "Y2FuYXJ5", "alice", "bob"] {
            assert!(!shown.contains(canary), "{canary} in {shown}");
        }
        let eff = effective(
            Family::AzureCli,
            false,
            &e,
            None,
            "login.microsoftonline.com",
        );
        assert_eq!(
            eff.proxy.as_deref(),
            Some("[REDACTED:url-credentials]@proxy:3128")
        );
    }

    /// A `WinHttpSettings` blob: version, counter, flags, proxy, bypass, then `tail`.
    fn blob(version: u32, flags: u32, proxy: &str, bypass: &str, tail: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for d in [version, 7, flags] {
            b.extend(d.to_le_bytes());
        }
        for s in [proxy, bypass] {
            b.extend((s.len() as u32).to_le_bytes());
            b.extend(s.as_bytes());
        }
        b.extend(tail);
        b
    }

    #[test]
    fn winhttp_registry_real_values() {
        // Microsoft's "direct access" value (Use Group Policy to apply WinHTTP proxy settings).
        let direct = hex::decode("1800000000000000010000000000000000000000").unwrap();
        let s = decode_winhttp_settings(&direct).unwrap();
        assert_eq!((s.version, s.flags), (0x18, 1));
        let w = winhttp_from_registry(&s);
        assert_eq!(w.direct, Some(true));
        assert_eq!(w.source, WinHttpSource::Registry);
        assert_eq!((w.proxy_server, w.bypass_list, w.note), (None, None, None));

        // `netsh winhttp set proxy 127.0.0.1:8080 "<local>"`.
        let mut proxy = hex::decode("180000000000000003000000").unwrap();
        proxy.extend(hex::decode("0e000000").unwrap());
        proxy.extend(b"127.0.0.1:8080");
        proxy.extend(hex::decode("07000000").unwrap());
        proxy.extend(b"<local>");
        let w = winhttp_from_registry(&decode_winhttp_settings(&proxy).unwrap());
        assert_eq!(w.direct, Some(false));
        assert_eq!(w.proxy_server.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(w.bypass_list.as_deref(), Some("<local>"));
        assert_eq!(w.source, WinHttpSource::Registry);
    }

    #[test]
    fn winhttp_registry_0x28_and_trailing_fields() {
        // Current netsh writes version 0x28; what follows the bypass list (an auto-config URL,
        // padding) is not read.
        let mut tail = 21u32.to_le_bytes().to_vec();
        tail.extend(b"http://wpad/proxy.pac");
        tail.extend([0u8; 32]);
        let b = blob(
            0x28,
            3,
            "proxy.contoso.com:3128",
            "*.contoso.com;<local>",
            &tail,
        );
        let w = winhttp_from_registry(&decode_winhttp_settings(&b).unwrap());
        assert_eq!(w.direct, Some(false));
        assert_eq!(w.proxy_server.as_deref(), Some("proxy.contoso.com:3128"));
        assert_eq!(w.bypass_list.as_deref(), Some("*.contoso.com;<local>"));
        // Auto-detect / auto-config flags without the proxy flag: WinHTTP's static
        // configuration is still direct.
        let b = blob(0x28, 1 | 4 | 8, "", "", &[]);
        assert_eq!(
            winhttp_from_registry(&decode_winhttp_settings(&b).unwrap()).direct,
            Some(true)
        );
        // A proxy with no bypass list.
        let b = blob(0x18, 3, "p:80", "", &[]);
        let w = winhttp_from_registry(&decode_winhttp_settings(&b).unwrap());
        assert_eq!(w.bypass_list, None);
    }

    #[test]
    fn winhttp_registry_odd_blobs_are_errors_never_panics() {
        let good = blob(0x18, 3, "127.0.0.1:8080", "<local>", &[]);
        // Every truncation.
        for n in 0..good.len() {
            assert!(
                decode_winhttp_settings(&good[..n]).is_err(),
                "{n} bytes decoded"
            );
        }
        assert!(decode_winhttp_settings(&good).is_ok());
        // A proxy length past the end, the largest length, a bypass length past the end.
        let mut b = blob(0x18, 3, "p:80", "", &[]);
        b[12..16].copy_from_slice(&100u32.to_le_bytes());
        assert!(
            decode_winhttp_settings(&b)
                .unwrap_err()
                .contains("past the end")
        );
        b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_winhttp_settings(&b).is_err());
        let mut b = blob(0x18, 3, "p:80", "x", &[]);
        let at = 16 + 4;
        b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_winhttp_settings(&b).unwrap_err().contains("bypass"));
        // An unknown version (WinINET's 0x46), non-ASCII text, the proxy flag without a proxy.
        let e = decode_winhttp_settings(&blob(0x46, 1, "", "", &[])).unwrap_err();
        assert_eq!(e, "unrecognised version 0x46");
        assert!(decode_winhttp_settings(&blob(0x18, 3, "prox\u{e9}:80", "", &[])).is_err());
        assert!(decode_winhttp_settings(&blob(0x18, 3, "p:80\n", "", &[])).is_err());
        assert!(decode_winhttp_settings(&blob(0x18, 3, "", "", &[])).is_err());
        // Garbage of every small size.
        for n in 0..64u8 {
            let g: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            let _ = decode_winhttp_settings(&g);
        }
    }

    #[test]
    fn winhttp_registry_values_are_display_safe() {
        let b = blob(
            0x28,
            3,
            "http=alice:canary;pw@p1:80;https=p2:443",
            "Pwd=canary",
            &[],
        );
        let w = winhttp_from_registry(&decode_winhttp_settings(&b).unwrap());
        assert_eq!(
            w.proxy_server.as_deref(),
            Some("http=[REDACTED:url-credentials]@p1:80;https=p2:443")
        );
        assert_eq!(
            w.bypass_list.as_deref(),
            Some("[REDACTED:unrecognised-value]")
        );
    }

    #[test]
    fn winhttp_netsh_english_and_japanese() {
        let direct = "\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n\r\n";
        let w = parse_winhttp(direct).unwrap();
        assert_eq!((w.direct, w.source), (Some(true), WinHttpSource::Netsh));
        let p = parse_winhttp(
            "Current WinHTTP proxy settings:\r\n\r\n    Proxy Server(s) :  proxy.contoso.com:8080\r\n    Bypass List     :  *.contoso.com;<local>\r\n",
        )
        .unwrap();
        assert_eq!(p.direct, Some(false));
        assert_eq!(p.proxy_server.as_deref(), Some("proxy.contoso.com:8080"));
        assert_eq!(p.bypass_list.as_deref(), Some("*.contoso.com;<local>"));
        let none =
            parse_winhttp("    Proxy Server(s) :  p:80\r\n    Bypass List     :  (none)\r\n")
                .unwrap();
        assert_eq!(none.bypass_list, None);

        let ja_direct = "\r\n現在の WinHTTP プロキシ設定:\r\n\r\n    直接アクセス (プロキシ サーバーなし)。\r\n\r\n";
        let w = parse_winhttp(ja_direct).unwrap();
        assert_eq!((w.direct, w.source), (Some(true), WinHttpSource::Netsh));
        let ja_proxy = "\r\n現在の WinHTTP プロキシ設定:\r\n\r\n    プロキシ サーバー:  1.2.3.4:5678\r\n    バイパス一覧     : (なし)\r\n";
        let w = parse_winhttp(ja_proxy).unwrap();
        assert_eq!(w.direct, Some(false));
        assert_eq!(w.proxy_server.as_deref(), Some("1.2.3.4:5678"));
        assert_eq!(w.bypass_list, None);
        let ja_bypass = "    プロキシ サーバー: proxy_address:8080\r\n    バイパス一覧     : test.com;*.test.com;<local>\r\n";
        assert_eq!(
            parse_winhttp(ja_bypass).unwrap().bypass_list.as_deref(),
            Some("test.com;*.test.com;<local>")
        );
    }

    #[test]
    fn winhttp_netsh_unreadable_text_is_unknown() {
        // Wine's stub prints nothing; another language, garbage, or both answers at once.
        for text in [
            "",
            "\r\n\r\n",
            "Aktuelle WinHTTP-Proxyeinstellungen:\r\n\r\n    Direkter Zugriff (kein Proxyserver).\r\n",
            "garbage: 42\nmore garbage",
            "    Direct access (no proxy server).\r\n    Proxy Server(s) :  p:80\r\n",
            "    Proxy Server(s) :  (none)\r\n",
        ] {
            assert_eq!(parse_winhttp(text), None, "{text:?}");
        }
        let u = winhttp_unknown("why".into());
        assert_eq!(
            (u.direct, &u.source, u.note.as_deref()),
            (None, &WinHttpSource::Unknown, Some("why"))
        );
        // A schema 1 bundle (netsh only, `direct` a boolean) still reads.
        let old: WinHttp = serde_json::from_value(
            serde_json::json!({"direct": true, "proxy_server": null, "bypass_list": null}),
        )
        .unwrap();
        assert_eq!((old.direct, old.source), (Some(true), WinHttpSource::Netsh));
        let shown = serde_json::to_value(&u).unwrap();
        assert_eq!(
            shown,
            serde_json::json!({"direct": null, "proxy_server": null, "bypass_list": null, "source": "unknown", "note": "why"})
        );
    }

    #[test]
    fn winhttp_netsh_credentials_are_cut() {
        let p = parse_winhttp(
            "    Proxy Server(s) :  http=alice:canary;pw@p1:80;https=p2:443\r\n    Bypass List     :  Pwd=canary\r\n",
        )
        .unwrap();
        assert_eq!(
            p.proxy_server.as_deref(),
            Some("http=[REDACTED:url-credentials]@p1:80;https=p2:443")
        );
        assert_eq!(
            p.bypass_list.as_deref(),
            Some("[REDACTED:unrecognised-value]")
        );
    }
}
