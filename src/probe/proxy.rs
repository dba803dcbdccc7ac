//! Which proxy each client family uses for an endpoint.
//!
//! Azure CLI (Python requests): the environment, lowercase names winning as in urllib; on
//! Windows, with no environment proxy, urllib falls back to the per-user WinINET settings.
//! PowerShell 7 (.NET HttpClient): the environment, else (Windows) the system proxy.
//! Windows PowerShell 5.1 (.NET Framework): the system (WinINET) proxy only.

use serde::Serialize;

use crate::redact::url;
use crate::vocab::Env;

pub use crate::model::{Effective, WinHttp, WinInet};

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

/// Parse `netsh winhttp show proxy`. The proxy server list loses any credentials and the
/// bypass list is kept only when it reads as a host list.
pub fn parse_winhttp(text: &str) -> WinHttp {
    let mut w = WinHttp {
        direct: text.contains("Direct access"),
        ..WinHttp::default()
    };
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim(), v.trim());
            if k.starts_with("Proxy Server") {
                w.proxy_server = Some(url::display_proxy_list(v));
            } else if k.starts_with("Bypass List") {
                w.bypass_list = Some(display_host_list(v));
            }
        }
    }
    w
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

    #[test]
    fn winhttp_output() {
        let direct = "\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Direct access (no proxy server).\r\n\r\n";
        assert!(parse_winhttp(direct).direct);
        let p = parse_winhttp(
            "Current WinHTTP proxy settings:\r\n\r\n    Proxy Server(s) :  proxy.contoso.com:8080\r\n    Bypass List     :  *.contoso.com;<local>\r\n",
        );
        assert_eq!(p.proxy_server.as_deref(), Some("proxy.contoso.com:8080"));
        assert_eq!(p.bypass_list.as_deref(), Some("*.contoso.com;<local>"));
        let p = parse_winhttp(
            "    Proxy Server(s) :  http=alice:canary;pw@p1:80;https=p2:443\r\n    Bypass List     :  Pwd=canary\r\n",
        );
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
