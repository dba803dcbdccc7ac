//! Which proxy each client family uses for an endpoint, and which rule decided.
//!
//! Azure CLI (Python requests): CPython `urllib/request.py` `getproxies()` = environment or
//! (Windows) the WinINET registry values, never both: any `*_proxy` variable (even `no_proxy`
//! alone) makes it ignore the registry; `ProxyServer` is split per protocol as
//! `getproxies_registry()` does; `ProxyOverride` is applied by requests' own
//! `proxy_bypass_registry` (`utils.py`), NO_PROXY by `should_bypass_proxies` and
//! `proxy_bypass_environment`; a PAC file is never used.
//! Azure CLI with WAM (Windows): the broker's networking is not documented; modelled as the
//! Windows user proxy incl. PAC (unverified).
//! PowerShell 7 (.NET HttpClient, dotnet/runtime `SystemProxyInfo`, `HttpEnvironmentProxy`,
//! `HttpWindowsProxy`): `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` (`NO_PROXY` alone does not
//! count), else (Windows) the user's WinINET settings incl. PAC.
//! Windows PowerShell 5.1 (.NET Framework `WebRequest.DefaultWebProxy`): the user's IE settings
//! incl. PAC; the environment is ignored.
//!
//! Verified facts and sources: R14 facts sections 1 to 3 (see docs/bundle-format.md).

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

/// Proxy settings from the environment, as each runtime reads them. The proxy URLs are
/// display-safe: credentials are cut at the source ([`url::display_proxy`]) and a value that
/// does not read as a proxy URL is replaced by a marker. `no_proxy` is kept as set (it is
/// matched against hosts); show it through [`display_host_list`].
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct EnvProxies {
    /// Python's view (Azure CLI): lowercase names win.
    pub https: Option<(String, String)>,
    pub http: Option<(String, String)>,
    pub all: Option<(String, String)>,
    pub no_proxy: Option<(String, String)>,
    /// Every variable whose name ends in `_proxy` (any case) with a non-empty value: for Python
    /// any of them, even `no_proxy` alone or an unrelated `FOO_PROXY`, means "the environment
    /// has proxies" and the Windows registry is ignored (CPython `urllib/request.py`
    /// `getproxies()` = `getproxies_environment() or getproxies_registry()`).
    pub python_proxy_vars: Vec<String>,
    /// .NET's view (PowerShell 7, `HttpEnvironmentProxy`): upper-case names on Windows (where
    /// the lookup ignores case), lowercase first elsewhere.
    pub dotnet: DotnetEnv,
}

/// The proxy variables as .NET's `HttpEnvironmentProxy.TryCreate` reads them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DotnetEnv {
    pub https: Option<(String, String)>,
    pub http: Option<(String, String)>,
    pub all: Option<(String, String)>,
    pub no_proxy: Option<(String, String)>,
}

/// `name` as a runtime finds it: on Windows any case (the environment ignores case there);
/// elsewhere the lowercase twin first, then `upper` (urllib's and .NET's order on Unix).
fn lookup(env: &Env, upper: &str, windows: bool) -> Option<(String, String)> {
    let found = |name: &str| {
        env.vars_exact(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name.to_string(), v.trim().to_string()))
    };
    if windows {
        return env
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(upper) && !v.trim().is_empty())
            .map(|(k, v)| (k.to_string(), v.trim().to_string()));
    }
    found(&upper.to_ascii_lowercase()).or_else(|| found(upper))
}

pub fn env_proxies(env: &Env, windows: bool) -> EnvProxies {
    let proxy = |name| lookup(env, name, windows).map(|(n, v)| (n, display_proxy(&v)));
    let mut python_proxy_vars: Vec<String> = env
        .iter()
        .filter(|(k, v)| k.to_ascii_lowercase().ends_with("_proxy") && !v.is_empty())
        .map(|(k, _)| k.to_string())
        .collect();
    python_proxy_vars.sort();
    EnvProxies {
        https: proxy("HTTPS_PROXY"),
        http: proxy("HTTP_PROXY"),
        all: proxy("ALL_PROXY"),
        no_proxy: lookup(env, "NO_PROXY", windows),
        python_proxy_vars,
        // The same lookups: .NET on Windows asks for the upper-case names (case-insensitive
        // there), on Unix lowercase first ("lower case variable has precedence over upper
        // case", dotnet/runtime HttpEnvironmentProxy.Unix.cs).
        dotnet: DotnetEnv {
            https: proxy("HTTPS_PROXY"),
            http: proxy("HTTP_PROXY"),
            all: proxy("ALL_PROXY"),
            no_proxy: lookup(env, "NO_PROXY", windows),
        },
    }
}

/// requests' NO_PROXY rule for `https://host/` (no explicit port): the entry that matches, if
/// any. psf/requests `utils.py` `should_bypass_proxies`: spaces removed, split on `,`, an IPv4
/// host matches an equal entry or a CIDR; a name matches an entry (leading dots stripped)
/// equal to it or a `.entry` suffix; a `host:port` entry matches only URLs with that explicit
/// port (never `https://host/`). Then CPython `proxy_bypass_environment`: the whole value `*`
/// bypasses everything, matching is case-insensitive. `*.contoso.com` matches nothing: no
/// globbing in either.
pub fn no_proxy_matches(no_proxy: &str, host: &str) -> Option<String> {
    if no_proxy.trim() == "*" {
        return Some("*".into());
    }
    let host = host.to_ascii_lowercase();
    let ipv4 = host.parse::<std::net::Ipv4Addr>().ok();
    let value = no_proxy.replace(' ', "");
    value
        .split(',')
        .filter(|e| !e.is_empty())
        .find(|entry| {
            let e = entry.to_ascii_lowercase();
            if let Some(ip) = ipv4 {
                return match e.split_once('/') {
                    Some((net, bits)) => cidr_contains(net, bits, ip),
                    None => e == host,
                };
            }
            let e = e.trim_start_matches('.');
            !e.is_empty() && (host == e || host.ends_with(&format!(".{e}")))
        })
        .map(str::to_string)
}

/// `ip` lies in `net/bits` (requests `address_in_network`; an invalid CIDR matches nothing, as
/// `is_valid_cidr` rejects it).
fn cidr_contains(net: &str, bits: &str, ip: std::net::Ipv4Addr) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>()) else {
        return false;
    };
    if !(1..=32).contains(&bits) {
        return false;
    }
    let mask = u32::MAX << (32 - bits);
    u32::from(net) & mask == u32::from(ip) & mask
}

/// .NET's NO_PROXY rule (dotnet/runtime `HttpEnvironmentProxy.IsMatchInBypassList`): split on
/// `,`, entries trimmed; an entry with a leading dot matches the host itself or a subdomain,
/// an entry without one matches that exact host only; no `*`, no CIDR, no port.
pub fn dotnet_no_proxy_matches(no_proxy: &str, host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .find(|entry| {
            let e = entry.to_ascii_lowercase();
            match e.strip_prefix('.') {
                Some(rest) => host == rest || host.ends_with(&e),
                None => host == e,
            }
        })
        .map(str::to_string)
}

/// requests' ProxyOverride rule on Windows (psf/requests `utils.py` `proxy_bypass_registry`,
/// which replaces CPython's): split on `;`, empty entries dropped, entries NOT trimmed;
/// `<local>` matches a host without a dot; any other entry is a glob turned into a regular
/// expression (`.` literal, `*` any run, `?` one character) matched case-insensitively with
/// `re.match`, i.e. anchored at the start only: `contoso.com` also bypasses
/// `contoso.com.evil.net`. No DNS lookups. The entry that matches, if any.
pub fn requests_override_matches(overrides: &str, host: &str) -> Option<String> {
    overrides
        .split(';')
        .filter(|e| !e.is_empty())
        .find(|test| {
            if *test == "<local>" && !host.contains('.') {
                return true;
            }
            let re = test
                .replace('.', r"\.")
                .replace('*', ".*")
                .replace('?', ".");
            // Python's `re` and the regex crate agree on what these patterns can contain; an
            // entry neither compiles is treated as not matching.
            regex::Regex::new(&format!("(?i)^(?:{re})"))
                .map(|r| r.is_match(host))
                .unwrap_or(false)
        })
        .map(str::to_string)
}

/// .NET's ProxyOverride rule (dotnet/runtime `HttpWindowsProxy`): entries trimmed, a leading
/// `http://`/`https://` dropped; `<local>` matches a host without a dot; other entries match
/// the whole host with `*` wildcards (`SimpleRegex.IsMatchWithStarWildcard`), ignoring case.
/// (.NET also counts loopback and the machine's own addresses as local; sign-in endpoints are
/// neither.)
pub fn dotnet_override_matches(overrides: &str, host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    overrides
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .find(|entry| {
            let e = entry.to_ascii_lowercase();
            if e == "<local>" {
                return !host.contains('.');
            }
            let e = e
                .strip_prefix("http://")
                .or_else(|| e.strip_prefix("https://"))
                .unwrap_or(&e);
            wildcard(e, &host)
        })
        .map(str::to_string)
}

/// Whole-string match with `*` wildcards.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let last = parts.len() - 1;
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !text.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == last {
            return text.len() >= pos + part.len() && text.ends_with(part);
        } else if !part.is_empty() {
            match text[pos..].find(part) {
                Some(j) => pos += j + part.len(),
                None => return false,
            }
        }
    }
    true
}

/// What CPython's `getproxies_registry()` gives for `https` from a WinINET `ProxyServer`
/// (`urllib/request.py`, identical in 3.9–3.13): a value without `=` and `;` applies to every
/// protocol; otherwise each `;`-separated `protocol=address` is its own entry (no trimming:
/// `http=a:1; https=b:2` keeps the key ` https`, so HTTPS goes direct); an entry without `=`
/// (a trailing `;`) raises inside the function, which returns no proxies at all; addresses
/// without a scheme get `http://` (`socks=` gets `socks://`); with no `https=` entry HTTPS
/// goes direct, unless a `socks=` entry exists: then HTTPS uses `socks4://` (Windows' default
/// SOCKS type). The proxy URL and the rule.
pub fn python_registry_https(server: &str) -> (Option<String>, String) {
    let server = server.to_string();
    let all_protocols = !server.contains('=') && !server.contains(';');
    let server = if all_protocols {
        format!("http={server};https={server};ftp={server}")
    } else {
        server
    };
    let mut map: Vec<(String, String)> = Vec::new();
    for p in server.split(';') {
        let Some((protocol, address)) = p.split_once('=') else {
            return (
                None,
                format!(
                    "registry:ProxyServer entry {p:?} has no '=': Python's getproxies_registry() returns no proxies"
                ),
            );
        };
        // `re.match('(?:[^/:]+)://', address)`: a non-empty run without `/` or `:`, then `://`.
        let has_scheme = address
            .split_once("://")
            .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains(['/', ':']));
        let address = if has_scheme {
            address.to_string()
        } else if ["http", "https", "ftp"].contains(&protocol) {
            format!("http://{address}")
        } else if protocol == "socks" {
            format!("socks://{address}")
        } else {
            address.to_string()
        };
        map.retain(|(k, _)| k != protocol);
        map.push((protocol.to_string(), address));
    }
    let get = |k: &str| map.iter().find(|(p, _)| p == k).map(|(_, a)| a.clone());
    if let Some(a) = get("https") {
        let rule = if all_protocols {
            "registry:ProxyServer (all protocols)"
        } else {
            "registry:ProxyServer https="
        };
        return (Some(a), rule.into());
    }
    if let Some(s) = get("socks").filter(|s| !s.is_empty()) {
        let a = s
            .strip_prefix("socks://")
            .map_or(s.clone(), |rest| format!("socks4://{rest}"));
        return (
            Some(a),
            "registry:ProxyServer socks= (no https=: Python uses socks4://, which requests can use only with PySocks installed)".into(),
        );
    }
    (
        None,
        "registry:ProxyServer has no https= entry: HTTPS goes direct".into(),
    )
}

/// What .NET's `HttpWindowsProxy` takes for https from a manual `ProxyServer`
/// (`MultiProxy.TryParseProxyConfigPart`): `https=` entries, and entries without a `scheme=`
/// (both schemes); `http=` only → HTTPS direct. Entries are trimmed; the first is used (the
/// others are failovers).
pub fn dotnet_registry_https(server: &str) -> (Option<String>, String) {
    for part in server
        .split([';', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match part.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("https") && !v.trim().is_empty() => {
                return (
                    Some(v.trim().to_string()),
                    "registry:ProxyServer https=".into(),
                );
            }
            Some(_) => {}
            None => {
                return (
                    Some(part.to_string()),
                    "registry:ProxyServer (all protocols)".into(),
                );
            }
        }
    }
    (
        None,
        "registry:ProxyServer has no https= entry: HTTPS goes direct".into(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Azure CLI's own HTTP (Python requests): Resource Manager calls, MSAL discovery, device
    /// code, service principals, managed identity; every sign-in when WAM is off.
    AzureCli,
    /// Azure CLI user sign-ins through the Windows broker (WAM), Windows only.
    AzureCliWam,
    PowerShell7,
    WindowsPowerShell,
}

fn eff(proxy: Option<String>, source: &str, rule: String, pac: bool) -> Effective {
    Effective {
        proxy,
        source: source.into(),
        pac,
        rule,
    }
}

/// Azure CLI (requests) for `https://host/`: environment proxies if the environment has any
/// `*_proxy` variable, else (Windows, `ProxyEnable` set) the registry; PAC never.
fn azure_cli(windows: bool, env: &EnvProxies, wininet: Option<&WinInet>, host: &str) -> Effective {
    if let Some(first) = env.python_proxy_vars.first() {
        let ignored = if windows {
            format!("; registry ignored: environment has proxy variables ({first})")
        } else {
            String::new()
        };
        if let Some((name, np)) = &env.no_proxy
            && let Some(entry) = no_proxy_matches(np, host)
        {
            return eff(
                None,
                &format!("env:{name}"),
                format!("env:{name} match {entry}{ignored}"),
                false,
            );
        }
        // requests `select_proxy`: the `https` key, else `all`.
        return match env.https.as_ref().or(env.all.as_ref()) {
            Some((name, v)) => eff(
                Some(v.clone()),
                &format!("env:{name}"),
                format!("env:{name}{ignored}"),
                false,
            ),
            None => eff(
                None,
                "none",
                format!("env: no https_proxy/all_proxy{ignored}"),
                false,
            ),
        };
    }
    let Some(w) = wininet.filter(|_| windows) else {
        return eff(None, "none", "none".into(), false);
    };
    // Python never runs the PAC script (urllib has no PAC support).
    from_wininet(
        w,
        host,
        "",
        "; pac: not used by Python",
        Rules {
            bypass: requests_override_matches,
            server: python_registry_https,
        },
    )
}

/// How a runtime reads WinINET's manual settings: its `ProxyOverride` matcher and its
/// `ProxyServer` parser.
struct Rules {
    bypass: fn(&str, &str) -> Option<String>,
    server: fn(&str) -> (Option<String>, String),
}

/// The proxy for `https://host/` from WinINET's manual settings (`ProxyEnable`, `ProxyServer`,
/// `ProxyOverride`) as `rules` read them; `pac_note` says what the client does with a PAC URL.
fn from_wininet(w: &WinInet, host: &str, prefix: &str, pac_note: &str, rules: Rules) -> Effective {
    let pac = w.auto_config_url.is_some();
    let pac_note = if pac { pac_note } else { "" };
    let server = w.proxy_server.as_deref().filter(|_| w.proxy_enable);
    let Some(server) = server else {
        let why = if w.proxy_enable {
            "registry: no ProxyServer"
        } else {
            "registry: ProxyEnable is 0"
        };
        return eff(
            None,
            if pac { "wininet:pac" } else { "none" },
            format!("{prefix}{why}{pac_note}"),
            pac,
        );
    };
    if let Some(entry) = w
        .proxy_override
        .as_deref()
        .and_then(|o| (rules.bypass)(o, host))
    {
        return eff(
            None,
            "wininet:bypass",
            format!("{prefix}registry:ProxyOverride {entry}{pac_note}"),
            pac,
        );
    }
    let (proxy, rule) = (rules.server)(server);
    let source = if proxy.is_some() { "wininet" } else { "none" };
    eff(proxy, source, format!("{prefix}{rule}{pac_note}"), pac)
}

/// The Windows user proxy as .NET (`HttpWindowsProxy`) and .NET Framework (IE settings) use
/// it: a PAC script (evaluated by WinHTTP, not here) first, then the manual settings.
fn windows_system(w: &WinInet, host: &str, prefix: &str) -> Effective {
    from_wininet(
        w,
        host,
        prefix,
        "; pac: used (not evaluated)",
        Rules {
            bypass: dotnet_override_matches,
            server: dotnet_registry_https,
        },
    )
}

/// PowerShell 7 (.NET `SystemProxyInfo`): the environment when `HTTP_PROXY`, `HTTPS_PROXY` or
/// `ALL_PROXY` is set (`NO_PROXY` alone does not count), else on Windows the user's WinINET
/// settings incl. PAC / auto-detect; on Linux nothing (direct); on macOS the system proxy,
/// which is not read here.
fn powershell7(
    windows: bool,
    env: &EnvProxies,
    wininet: Option<&WinInet>,
    host: &str,
) -> Effective {
    let d = &env.dotnet;
    // `ALL_PROXY` fills whichever of http/https is missing.
    let https = d.https.as_ref().or(d.all.as_ref());
    if d.http.is_some() || https.is_some() {
        if let Some((name, np)) = &d.no_proxy
            && let Some(entry) = dotnet_no_proxy_matches(np, host)
        {
            return eff(
                None,
                &format!("env:{name}"),
                format!("env:{name} match {entry}"),
                false,
            );
        }
        return match https {
            Some((name, v)) => eff(
                Some(v.clone()),
                &format!("env:{name}"),
                format!("env:{name}"),
                false,
            ),
            None => eff(
                None,
                "none",
                "env: HTTP_PROXY only: HTTPS goes direct, Windows settings not consulted".into(),
                false,
            ),
        };
    }
    let no_proxy_alone = if d.no_proxy.is_some() {
        "NO_PROXY alone does not count; "
    } else {
        ""
    };
    match wininet.filter(|_| windows) {
        Some(w) => windows_system(w, host, no_proxy_alone),
        None if windows => eff(
            None,
            "none",
            format!("{no_proxy_alone}Windows proxy settings unreadable"),
            false,
        ),
        None => eff(
            None,
            "none",
            format!(
                "{no_proxy_alone}none (off Windows .NET reads only the environment; macOS system proxy not read)"
            ),
            false,
        ),
    }
}

pub fn effective(
    family: Family,
    windows: bool,
    env: &EnvProxies,
    wininet: Option<&WinInet>,
    host: &str,
) -> Effective {
    match family {
        Family::AzureCli => azure_cli(windows, env, wininet, host),
        Family::PowerShell7 => powershell7(windows, env, wininet, host),
        // .NET Framework: `WebRequest.DefaultWebProxy` = app.config, else the user's IE
        // settings (incl. PAC); proxy environment variables are not read.
        Family::WindowsPowerShell => match wininet {
            Some(w) => windows_system(w, host, "env ignored; "),
            None => eff(
                None,
                "none",
                "env ignored; Windows proxy settings unreadable".into(),
                false,
            ),
        },
        // The broker's own networking is not documented by Microsoft: community reports
        // (AzureAD/microsoft-authentication-library-for-dotnet#4385) say it follows the
        // user's system proxy; modelled as WinINET incl. PAC, unverified.
        Family::AzureCliWam => match wininet {
            Some(w) => windows_system(w, host, "wam (unverified: Windows system proxy assumed); "),
            None => eff(
                None,
                "none",
                "wam (unverified); Windows proxy settings unreadable".into(),
                false,
            ),
        },
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

    fn wininet(server: &str, over: Option<&str>, pac: bool) -> WinInet {
        WinInet {
            proxy_enable: true,
            proxy_server: Some(server.into()),
            proxy_override: over.map(Into::into),
            auto_config_url: pac.then(|| "http://wpad/proxy.pac".into()),
        }
    }

    const LOGIN: &str = "login.microsoftonline.com";

    #[test]
    fn lowercase_wins_off_windows() {
        // CPython getproxies_environment(): a second pass lets lowercase names override.
        let env = Env::from_pairs(
            [
                ("HTTPS_PROXY", "http://upper:1"),
                ("https_proxy", "http://lower:2"),
            ],
            false,
        );
        let e = env_proxies(&env, false);
        let eff = effective(Family::AzureCli, false, &e, None, LOGIN);
        assert_eq!(eff.proxy.as_deref(), Some("http://lower:2"));
        assert_eq!(eff.rule, "env:https_proxy");
        // .NET on Unix: "lower case variable has precedence over upper case".
        let ps = effective(Family::PowerShell7, false, &e, None, LOGIN);
        assert_eq!(ps.proxy.as_deref(), Some("http://lower:2"));
    }

    #[test]
    fn python_any_proxy_variable_ignores_the_registry() {
        // CPython urllib/request.py (nt): getproxies() = getproxies_environment() or
        // getproxies_registry(); every non-empty *_proxy variable counts, no_proxy alone too.
        let w = wininet("p:80", None, false);
        for var in ["NO_PROXY", "FOO_PROXY", "HTTP_PROXY"] {
            let env = Env::from_pairs([(var, "example.org")], true);
            let e = env_proxies(&env, true);
            let eff = effective(Family::AzureCli, true, &e, Some(&w), LOGIN);
            assert_eq!(eff.proxy, None, "{var}");
            assert!(
                eff.rule.contains(&format!(
                    "registry ignored: environment has proxy variables ({var})"
                )),
                "{var}: {}",
                eff.rule
            );
        }
        // .NET: NO_PROXY alone does not count (HttpEnvironmentProxy.TryCreate needs
        // HTTP_PROXY, HTTPS_PROXY or ALL_PROXY), so the Windows settings apply.
        let e = env_proxies(&Env::from_pairs([("NO_PROXY", "x")], true), true);
        let ps = effective(Family::PowerShell7, true, &e, Some(&w), LOGIN);
        assert_eq!(ps.proxy.as_deref(), Some("p:80"));
        assert!(
            ps.rule.starts_with("NO_PROXY alone does not count"),
            "{}",
            ps.rule
        );
        // No variable at all: the registry.
        let e = env_proxies(&Env::from_pairs([("PATH", "x")], true), true);
        let eff = effective(Family::AzureCli, true, &e, Some(&w), LOGIN);
        assert_eq!(eff.proxy.as_deref(), Some("http://p:80"));
        assert_eq!(eff.rule, "registry:ProxyServer (all protocols)");
    }

    #[test]
    fn python_registry_proxy_server_parsing() {
        // CPython getproxies_registry() (3.9-3.13), results as executed against a fake winreg
        // (facts R14 section 1.2).
        let cases: [(&str, Option<&str>); 8] = [
            ("http=a:1;https=b:2;socks=c:3", Some("http://b:2")),
            ("http=a:1", None),
            ("a:1", Some("http://a:1")),
            ("socks=c:3", Some("socks4://c:3")),
            ("http=a:1;socks=c:3", Some("socks4://c:3")),
            ("http://a:1", Some("http://a:1")),
            ("a:1;", None),
            ("http=a:1; https=b:2", None),
        ];
        for (server, want) in cases {
            assert_eq!(python_registry_https(server).0.as_deref(), want, "{server}");
        }
        assert!(
            python_registry_https("http=a:1")
                .1
                .contains("no https= entry")
        );
        assert!(python_registry_https("socks=c:3").1.contains("PySocks"));
        assert!(python_registry_https("a:1;").1.contains("no proxies"));
    }

    #[test]
    fn requests_proxy_override_semantics() {
        // psf/requests utils.py proxy_bypass_registry (Windows): re.match = prefix match,
        // entries not trimmed, <local> = no dot.
        assert_eq!(
            requests_override_matches("<local>", "intranet").as_deref(),
            Some("<local>")
        );
        assert_eq!(requests_override_matches("<local>", LOGIN), None);
        assert!(requests_override_matches("contoso.com", "contoso.com.evil.net").is_some());
        assert!(requests_override_matches("10.*", "10.1.2.3").is_some());
        assert!(requests_override_matches("*.microsoftonline.com", LOGIN).is_some());
        assert!(requests_override_matches("LOGIN.*", LOGIN).is_some());
        assert_eq!(
            requests_override_matches("a; login.microsoftonline.com", LOGIN),
            None
        );
        assert!(requests_override_matches("login?microsoftonline.com", LOGIN).is_some());
        let w = wininet("p:80", Some("*.microsoftonline.com"), false);
        let e = EnvProxies::default();
        let eff = effective(Family::AzureCli, true, &e, Some(&w), LOGIN);
        assert_eq!((eff.proxy, eff.source.as_str()), (None, "wininet:bypass"));
        assert_eq!(eff.rule, "registry:ProxyOverride *.microsoftonline.com");
    }

    #[test]
    fn requests_no_proxy_semantics() {
        // psf/requests should_bypass_proxies + CPython proxy_bypass_environment.
        assert_eq!(no_proxy_matches("*", "x").as_deref(), Some("*"));
        assert_eq!(no_proxy_matches("a.org,*", "x"), None);
        assert_eq!(no_proxy_matches("*.contoso.com", "a.contoso.com"), None);
        assert!(no_proxy_matches("contoso.com", "a.contoso.com").is_some());
        assert!(no_proxy_matches(".contoso.com", "contoso.com").is_some());
        assert!(no_proxy_matches(" .Contoso.COM ", "a.contoso.com").is_some());
        assert_eq!(no_proxy_matches("contoso.com", "evilcontoso.com"), None);
        assert_eq!(
            no_proxy_matches("login.microsoftonline.com:443", LOGIN),
            None
        );
        assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3").is_some());
        assert_eq!(no_proxy_matches("10.0.0.0/8", "11.1.2.3"), None);
        assert_eq!(no_proxy_matches("2.3", "10.1.2.3"), None);
        let env = Env::from_pairs(
            [
                ("https_proxy", "http://p:1"),
                ("no_proxy", "localhost,.microsoftonline.com"),
            ],
            false,
        );
        let eff = effective(
            Family::AzureCli,
            false,
            &env_proxies(&env, false),
            None,
            LOGIN,
        );
        assert_eq!(eff.proxy, None);
        assert_eq!(eff.rule, "env:no_proxy match .microsoftonline.com");
    }

    #[test]
    fn dotnet_no_proxy_and_env_semantics() {
        // dotnet/runtime HttpEnvironmentProxy.IsMatchInBypassList: no dot = exact host.
        assert_eq!(dotnet_no_proxy_matches("microsoftonline.com", LOGIN), None);
        assert!(dotnet_no_proxy_matches(".microsoftonline.com", LOGIN).is_some());
        assert!(dotnet_no_proxy_matches(".contoso.com", "contoso.com").is_some());
        assert_eq!(dotnet_no_proxy_matches("*", LOGIN), None);
        assert!(dotnet_no_proxy_matches(" login.microsoftonline.com ", LOGIN).is_some());
        // HTTP_PROXY only: HTTPS direct, the Windows proxy not consulted.
        let w = wininet("p:80", None, false);
        let e = env_proxies(&Env::from_pairs([("HTTP_PROXY", "http://h:1")], true), true);
        let ps = effective(Family::PowerShell7, true, &e, Some(&w), LOGIN);
        assert_eq!(ps.proxy, None);
        assert!(ps.rule.contains("HTTP_PROXY only"));
        // ALL_PROXY fills https.
        let e = env_proxies(&Env::from_pairs([("all_proxy", "http://a:1")], true), true);
        assert_eq!(
            effective(Family::PowerShell7, true, &e, Some(&w), LOGIN).rule,
            "env:all_proxy"
        );
        // Linux: environment only.
        let ps = effective(
            Family::PowerShell7,
            false,
            &EnvProxies::default(),
            None,
            LOGIN,
        );
        assert_eq!(ps.proxy, None);
        assert!(ps.rule.contains("off Windows"));
    }

    #[test]
    fn windows_system_proxy_families_and_pac() {
        // .NET HttpWindowsProxy / .NET Framework IE settings: PAC used, manual settings as
        // fallback, http= only → HTTPS direct, ProxyOverride whole-host wildcard.
        let w = wininet(
            "http=p1:80;https=p2:8443",
            Some("<local>; *.microsoftonline.com"),
            true,
        );
        let env = env_proxies(
            &Env::from_pairs([("HTTPS_PROXY", "http://e:1")], true),
            true,
        );
        let ps51 = effective(
            Family::WindowsPowerShell,
            true,
            &env,
            Some(&w),
            "management.azure.com",
        );
        assert_eq!(ps51.proxy.as_deref(), Some("p2:8443"));
        assert!(ps51.pac);
        assert_eq!(
            ps51.rule,
            "env ignored; registry:ProxyServer https=; pac: used (not evaluated)"
        );
        let by = effective(Family::WindowsPowerShell, true, &env, Some(&w), LOGIN);
        assert_eq!(by.proxy, None);
        assert!(
            by.rule
                .contains("registry:ProxyOverride *.microsoftonline.com")
        );
        assert_eq!(
            dotnet_override_matches("contoso.com", "contoso.com.evil.net"),
            None
        );
        assert_eq!(dotnet_registry_https("http=p1:80").0, None);
        assert_eq!(dotnet_registry_https("p:3128").0.as_deref(), Some("p:3128"));
        // Python never uses the PAC.
        let none = env_proxies(&Env::default(), true);
        let pac_only = WinInet {
            proxy_enable: false,
            proxy_server: None,
            proxy_override: None,
            auto_config_url: Some("http://wpad/proxy.pac".into()),
        };
        let az = effective(Family::AzureCli, true, &none, Some(&pac_only), LOGIN);
        assert_eq!(az.proxy, None);
        assert_eq!(
            az.rule,
            "registry: ProxyEnable is 0; pac: not used by Python"
        );
        let wam = effective(Family::AzureCliWam, true, &none, Some(&pac_only), LOGIN);
        assert!(wam.rule.starts_with("wam (unverified"), "{}", wam.rule);
        assert!(
            wam.rule.ends_with("pac: used (not evaluated)"),
            "{}",
            wam.rule
        );
        // WAM ignores Python's environment variables.
        let wam = effective(
            Family::AzureCliWam,
            true,
            &env,
            Some(&w),
            "management.azure.com",
        );
        assert_eq!(wam.proxy.as_deref(), Some("p2:8443"));
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
        let e = env_proxies(&env, false);
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
