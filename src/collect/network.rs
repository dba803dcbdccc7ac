//! `network.proxy` and `network.probes`: how this machine reaches the internet, and whether the
//! sign-in endpoints are reachable through it.
//!
//! Proxy facts come from the environment and, on Windows, the machine-wide WinHTTP proxy (the
//! `WinHttpSettings` registry value, decoded; `netsh winhttp show proxy` only when the registry
//! read fails; unknown when neither tells, with netsh's raw output kept) and the per-user
//! WinINET settings (`reg query "HKCU\...\Internet Settings"`). No fact is taken from text in
//! a language the parser does not know: such text gives "unknown". For each endpoint the
//! effective proxy of each client family is recorded; the probes use Azure CLI's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{Collector, Context, Outcome, reg};
use crate::bundle::manifest::{CommandRecord, Status};
use crate::exec::Cmd;
use crate::model::{
    self, EffectiveProxies, EnvSetting, PathOrWithheld, ProxyEnvironment, ProxyFamily, names,
};
use crate::probe::proxy::{self, EnvProxies, Family, WinHttp, WinInet};
use crate::probe::{self, Settings, Stores};
use crate::redact::url;
use crate::vocab::{Cloud, Env, NetworkConfig};

/// Maps endpoint host names to loopback addresses instead of DNS (tests only):
/// `host=127.0.0.1:port,host2=...`.
pub const PROBE_OVERRIDE_ENV: &str = "ENTRA_COLLECT_PROBE_OVERRIDE";

pub(crate) const INTERNET_SETTINGS: &str =
    r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings";
/// The key holding the machine-wide WinHTTP proxy (`WinHttpSettings`).
pub(crate) const CONNECTIONS: &str =
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections";
pub(crate) const WINHTTP_SETTINGS: &str = "WinHttpSettings";

/// Everything known about proxies.
pub struct ProxyFacts {
    pub env: EnvProxies,
    pub winhttp: Option<WinHttp>,
    pub wininet: Option<WinInet>,
}

/// The proxy facts of one run, read once: `network.proxy` and `network.probes` share one cell
/// (see [`super::all`]); whichever asks first runs the commands (on Windows `reg query`, and
/// `netsh winhttp show proxy` when the registry read fails), the other waits for that read to
/// end and uses its result. The commands are recorded once, always under `network.proxy`.
#[derive(Default)]
pub struct ProxyCell(OnceLock<ProxyRead>);

struct ProxyRead {
    facts: ProxyFacts,
    /// `netsh winhttp show proxy`'s output (not yet redacted), kept when it did not tell the
    /// WinHTTP proxy.
    winhttp_raw: Option<String>,
    commands: Vec<CommandRecord>,
    /// The worst status the commands left (a timeout, an interruption) and why.
    status: Status,
    reason: Option<String>,
}

impl ProxyCell {
    fn read(&self, ctx: &Context) -> &ProxyRead {
        self.0.get_or_init(|| {
            let mut out = Outcome::ok();
            let (facts, winhttp_raw) = proxy_facts(ctx, &mut out);
            ProxyRead {
                facts,
                winhttp_raw,
                commands: out.commands,
                status: out.status,
                reason: out.reason,
            }
        })
    }
}

/// The WinHTTP proxy from the registry (`reg query ... /v WinHttpSettings`); `Err` says why
/// the registry did not tell.
fn winhttp_from_reg(ctx: &Context, out: &mut Outcome) -> Result<WinHttp, String> {
    let cmd = Cmd::new("reg").args(["query", CONNECTIONS, "/v", WINHTTP_SETTINGS]);
    let o = ctx
        .runner
        .run(&cmd)
        .map_err(|e| format!("reg query could not run: {e}"))?;
    out.record(ctx, &o);
    if o.timed_out || o.interrupted {
        return Err("reg query did not finish".into());
    }
    match o.exit_code {
        Some(0) => {}
        // reg's only failure code: here, the value (or the Connections key) is absent, and
        // WinHTTP then goes direct.
        Some(1) => return Ok(proxy::winhttp_not_set()),
        Some(c) => return Err(format!("reg query exited with {c}")),
        None => return Err("reg query ended without an exit code".into()),
    }
    let keys = reg::parse(&o.stdout.text().0);
    let value = keys
        .values()
        .find_map(|k| k.get(WINHTTP_SETTINGS))
        .ok_or("reg query printed no WinHttpSettings value")?;
    let blob = reg::binary(value)
        .ok_or_else(|| format!("WinHttpSettings is not REG_BINARY hex ({})", value.kind))?;
    proxy::decode_winhttp_settings(&blob)
        .map(|s| proxy::winhttp_from_registry(&s))
        .map_err(|why| format!("WinHttpSettings: {why}"))
}

/// The machine-wide WinHTTP proxy: the registry value, else netsh, else unknown. With it, the
/// raw netsh output when that did not tell (to keep, redacted, in the bundle).
fn winhttp_facts(ctx: &Context, out: &mut Outcome) -> (WinHttp, Option<String>) {
    let why_not_registry = match winhttp_from_reg(ctx, out) {
        Ok(w) => return (w, None),
        Err(why) => why,
    };
    match ctx
        .runner
        .run(&Cmd::new("netsh").args(["winhttp", "show", "proxy"]))
    {
        Ok(o) => {
            out.record(ctx, &o);
            let text = o.stdout.text().0;
            if o.success()
                && let Some(w) = proxy::parse_winhttp(&text)
            {
                return (w, None);
            }
            let netsh = if !o.success() {
                format!(
                    "netsh winhttp show proxy exited with {}",
                    crate::collect::debug_run::exit_text(o.exit_code)
                )
            } else if text.trim().is_empty() {
                "netsh winhttp show proxy printed nothing".to_string()
            } else {
                "netsh winhttp show proxy printed nothing this version reads (its output is kept)"
                    .to_string()
            };
            let raw = (!text.trim().is_empty()).then_some(text);
            (
                proxy::winhttp_unknown(format!("{why_not_registry}; {netsh}")),
                raw,
            )
        }
        Err(e) => (
            proxy::winhttp_unknown(format!(
                "{why_not_registry}; netsh winhttp show proxy could not run: {e}"
            )),
            None,
        ),
    }
}

/// Read the proxy settings (running the Windows commands through the runner), and the raw
/// netsh output to keep when the WinHTTP proxy is unknown.
fn proxy_facts(ctx: &Context, out: &mut Outcome) -> (ProxyFacts, Option<String>) {
    let mut facts = ProxyFacts {
        env: proxy::env_proxies(&ctx.env, ctx.platform.is_windows()),
        winhttp: None,
        wininet: None,
    };
    if !ctx.platform.is_windows() {
        return (facts, None);
    }
    let (winhttp, winhttp_raw) = winhttp_facts(ctx, out);
    facts.winhttp = Some(winhttp);
    if let Ok(o) = ctx
        .runner
        .run(&Cmd::new("reg").args(["query", INTERNET_SETTINGS]))
    {
        out.record(ctx, &o);
        let keys = reg::parse(&o.stdout.text().0);
        if let Some(values) = keys.values().next() {
            let s = |n: &str| {
                values
                    .get(n)
                    .map(|v| v.data.clone())
                    .filter(|d| !d.is_empty())
            };
            // Display-safe at the source: credentials cut from the server list and the PAC
            // URL (which also loses its query); anything unreadable becomes a marker.
            facts.wininet = Some(WinInet {
                proxy_enable: values.get("ProxyEnable").and_then(|v| v.number()) == Some(1),
                proxy_server: s("ProxyServer").map(|v| url::display_proxy_list(&v)),
                proxy_override: s("ProxyOverride").map(|v| proxy::display_host_list(&v)),
                auto_config_url: s("AutoConfigURL")
                    .map(|v| url::display_url(&v).unwrap_or_else(|| url::UNRECOGNISED.to_string())),
            });
        }
    }
    (facts, winhttp_raw)
}

/// Whether Azure CLI signs users in through WAM: `AZURE_CORE_ENABLE_BROKER_ON_WINDOWS`, else
/// `[core] enable_broker_on_windows` in Azure CLI's config file, else on (the default since
/// 2.61.0, azure-cli PR #28841; `_profile.py`: `getboolean('core', 'enable_broker_on_windows',
/// fallback=True)`; knack checks the environment variable before the file).
pub fn wam_setting(ctx: &Context) -> model::Wam {
    let config = super::context::az_config_dir(ctx).and_then(|d| {
        crate::fsutil::read_capped(&d.join("config"), crate::fsutil::CONFIG_CAP)
            .ok()
            .map(|c| c.text())
    });
    wam_from(
        ctx.env.get("AZURE_CORE_ENABLE_BROKER_ON_WINDOWS"),
        config.as_deref(),
    )
}

/// Python's `configparser` booleans (`getboolean`): 1/yes/true/on and 0/no/false/off.
fn ini_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// [`wam_setting`] from the variable and the config file's text.
pub fn wam_from(env: Option<&str>, config: Option<&str>) -> model::Wam {
    if let Some(b) = env.and_then(ini_bool) {
        return model::Wam {
            enabled: b,
            decided_by: "AZURE_CORE_ENABLE_BROKER_ON_WINDOWS".into(),
        };
    }
    let from_file = config.and_then(|t| {
        super::context::parse_ini(t)
            .into_iter()
            .filter(|(s, _)| s.eq_ignore_ascii_case("core"))
            .flat_map(|(_, kv)| kv)
            .filter(|(k, _)| k.eq_ignore_ascii_case("enable_broker_on_windows"))
            .filter_map(|(_, v)| ini_bool(&v))
            .next_back()
    });
    match from_file {
        Some(b) => model::Wam {
            enabled: b,
            decided_by: "config:core.enable_broker_on_windows".into(),
        },
        None => model::Wam {
            enabled: true,
            decided_by: "default (Azure CLI 2.61+)".into(),
        },
    }
}

/// `{variable, value}`; the proxy values in [`EnvProxies`] are display-safe already.
fn pair(p: &Option<(String, String)>) -> Option<EnvSetting> {
    p.as_ref().map(|(name, value)| EnvSetting {
        variable: name.clone(),
        value: value.clone(),
    })
}

/// The credentials the effective proxy's URL holds, read from the variable that decided it
/// (the facts are display-safe and hold none). Only when that variable still shows as the
/// effective proxy, so credentials never go to another proxy than the one they were set for.
/// WinINET `ProxyServer` entries are taken without credentials (requests would read a
/// `user:pass@` written there; the registry facts keep none).
fn credentials_for(env: &Env, eff: &proxy::Effective) -> Option<probe::ProxyCredentials> {
    let name = eff.source.strip_prefix("env:")?;
    let raw = env.vars_exact(name)?;
    (eff.proxy.as_deref() == Some(proxy::display_proxy(raw).as_str()))
        .then(|| probe::ProxyCredentials::from_url(raw))
        .flatten()
}

/// The client families whose routes are probed, as `network/proxy.json` lists them: Azure
/// CLI always, its WAM sign-ins on Windows when on, PowerShell 7, Windows PowerShell on
/// Windows.
fn probed_families(windows: bool, wam: Option<bool>) -> Vec<(Family, ProxyFamily)> {
    let mut f = vec![(Family::AzureCli, ProxyFamily::AzureCli)];
    if windows && wam == Some(true) {
        f.push((Family::AzureCliWam, ProxyFamily::AzureCliWam));
    }
    f.push((Family::PowerShell7, ProxyFamily::PowerShell7));
    if windows {
        f.push((Family::WindowsPowerShell, ProxyFamily::WindowsPowerShell));
    }
    f
}

/// One probe target per distinct proxy (or direct) among `families` for `ep`, Azure CLI's
/// first, each with the families that take it. The `verify` stage judges as Azure CLI when it
/// is among them, else with the OS store (.NET and WAM).
#[allow(clippy::type_complexity)]
fn routes_to(
    ep: probe::Endpoint,
    families: &[(Family, ProxyFamily)],
    effective: impl Fn(Family, &str) -> proxy::Effective,
) -> Vec<(
    probe::Endpoint,
    Option<(proxy::Effective, String)>,
    Vec<ProxyFamily>,
)> {
    // Routes are the same when they reach the same proxy the same way: Python writes a bare
    // registry value as `http://host:port`, .NET keeps `host:port`.
    let key = |p: &Option<String>| {
        p.as_ref()
            .map(|p| probe::proxy_target(p).map_err(|_| p.clone()))
    };
    type Route = (Option<String>, proxy::Effective, Vec<ProxyFamily>);
    let mut out: Vec<Route> = Vec::new();
    for (family, name) in families {
        let eff = effective(*family, &ep.host);
        match out.iter_mut().find(|(p, _, _)| key(p) == key(&eff.proxy)) {
            Some((_, _, fams)) => fams.push(*name),
            None => out.push((eff.proxy.clone(), eff, vec![*name])),
        }
    }
    out.into_iter()
        .map(|(shown, eff, fams)| {
            let trust = if fams.contains(&ProxyFamily::AzureCli) {
                probe::Trust::AzureCli
            } else {
                probe::Trust::OsStore
            };
            let ep = probe::Endpoint {
                trust,
                ..ep.clone()
            };
            (ep, shown.map(|s| (eff, s)), fams)
        })
        .collect()
}

pub struct NetworkProxy {
    pub cloud: Cloud,
    pub facts: Arc<ProxyCell>,
}

impl Collector for NetworkProxy {
    fn id(&self) -> &'static str {
        "network.proxy"
    }
    fn commands(&self) -> u32 {
        // reg query WinHttpSettings, netsh winhttp show proxy (when the registry read fails),
        // reg query Internet Settings
        3
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let mut out = Outcome::ok();
        let read = self.facts.read(ctx);
        out.commands.extend(read.commands.iter().cloned());
        if let Some(raw) = &read.winhttp_raw {
            out.add_text(names::WINHTTP_TEXT, ctx.redactor.redact(raw));
        }
        if let Some(reason) = &read.reason {
            out.degrade(read.status, reason.clone());
        }
        let facts = &read.facts;
        let windows = ctx.platform.is_windows();
        let wam = windows.then(|| wam_setting(ctx));
        let effective = probe::endpoints(self.cloud)
            .iter()
            .map(|ep| {
                let e =
                    |f| proxy::effective(f, windows, &facts.env, facts.wininet.as_ref(), &ep.host);
                EffectiveProxies {
                    host: ep.host.clone(),
                    azure_cli: e(Family::AzureCli),
                    azure_cli_wam: wam
                        .as_ref()
                        .filter(|w| w.enabled)
                        .map(|_| e(Family::AzureCliWam)),
                    powershell7: e(Family::PowerShell7),
                    windows_powershell: windows.then(|| e(Family::WindowsPowerShell)),
                }
            })
            .collect();
        let value = model::Proxy {
            environment: ProxyEnvironment {
                https_proxy: pair(&facts.env.https),
                http_proxy: pair(&facts.env.http),
                all_proxy: pair(&facts.env.all),
                no_proxy: pair(
                    &facts
                        .env
                        .no_proxy
                        .as_ref()
                        .map(|(n, v)| (n.clone(), proxy::display_host_list(v))),
                ),
                note: "lowercase names win over uppercase, as in Python's urllib (Azure CLI)"
                    .into(),
            },
            winhttp: facts.winhttp.clone(),
            wininet: facts.wininet.clone(),
            azure_cli_wam: wam,
            effective,
        };
        out.add_entry(ctx, names::PROXY, &value);
        out
    }
}

pub struct NetworkProbes {
    pub config: NetworkConfig,
    /// Shared with `network.proxy`, which records the commands.
    pub facts: Arc<ProxyCell>,
}

/// Parse the test override `host=ip:port,...`.
pub fn overrides(env: &Env) -> HashMap<String, SocketAddr> {
    env.get(PROBE_OVERRIDE_ENV)
        .unwrap_or("")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(h, a)| Some((h.trim().to_string(), a.trim().parse().ok()?)))
        .collect()
}

impl Collector for NetworkProbes {
    fn id(&self) -> &'static str {
        "network.probes"
    }

    fn budget(&self, timeout: Duration) -> Duration {
        // reg, netsh and reg for the proxy facts, then five bounded stages (endpoints at once).
        timeout * 3 + self.config.stage_timeout * 8 + Duration::from_secs(30)
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        if !self.config.probes {
            return Outcome::skipped(if self.config.probes_off_by_env {
                "ENTRA_COLLECT_NO_NETWORK is set"
            } else {
                "--no-network given"
            });
        }
        let mut out = Outcome::ok();
        let facts = &self.facts.read(ctx).facts;
        let windows = ctx.platform.is_windows();
        // The bundle requests (Azure CLI) verifies against: REQUESTS_CA_BUNDLE, else
        // CURL_CA_BUNDLE. Reported as `requests_ca_bundle` either way.
        let bundle = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
            .iter()
            .find_map(|v| ctx.env.get(v).filter(|x| !x.is_empty()));
        let settings = Arc::new(Settings {
            stage_timeout: self.config.stage_timeout,
            overrides: overrides(&ctx.env),
            stores: Stores::load(bundle),
        });
        let families = probed_families(windows, windows.then(|| wam_setting(ctx).enabled));
        let mut routes: Vec<Vec<ProxyFamily>> = Vec::new();
        let mut targets = Vec::new();
        for ep in probe::endpoints(self.config.cloud) {
            for (ep, proxy, fams) in routes_to(ep, &families, |f, host| {
                proxy::effective(f, windows, &facts.env, facts.wininet.as_ref(), host)
            }) {
                let proxy = proxy.map(|(eff, shown)| probe::Proxy {
                    credentials: credentials_for(&ctx.env, &eff),
                    shown,
                });
                targets.push((ep, proxy));
                routes.push(fams);
            }
        }
        let results = probe::probe_all(targets, settings);
        let failed: Vec<String> = results
            .iter()
            .filter(|r| !r.ok)
            .map(|r| {
                format!(
                    "{}: {}",
                    r.host,
                    r.error_kind.as_ref().map_or("error", |k| k.as_str())
                )
            })
            .collect();
        if !failed.is_empty() {
            // The collector worked; what it found is reported, not a collector failure.
            out.reason = Some(format!("not reachable cleanly: {}", failed.join(", ")));
        }
        let value = model::Probes {
            cloud: self.config.cloud,
            stage_timeout_ms: self.config.stage_timeout.as_millis() as u64,
            requests_ca_bundle: bundle.map(|b| {
                if super::environment::is_path(b.trim()) {
                    PathOrWithheld::Path(b.trim().to_string())
                } else {
                    PathOrWithheld::Withheld {
                        set: true,
                        length: b.chars().count(),
                    }
                }
            }),
            results: results
                .into_iter()
                .zip(routes)
                .map(|(r, families)| model::ProbeResult { families, ..r })
                .collect(),
        };
        out.add_entry(ctx, names::PROBES, &value);
        out
    }
}

#[cfg(test)]
mod route_tests {
    use super::*;

    fn ep() -> probe::Endpoint {
        probe::endpoints(Cloud::Public).remove(0)
    }

    fn eff(proxy: Option<&str>) -> proxy::Effective {
        proxy::Effective {
            proxy: proxy.map(str::to_string),
            source: "test".into(),
            pac: false,
            rule: String::new(),
        }
    }

    /// Windows with WAM: four families; the routes are the distinct proxies, the same proxy
    /// written two ways (Python's `http://host:port`, .NET's bare `host:port`) is one route,
    /// Azure CLI's route first and judged with its store, the others with the OS store.
    #[test]
    fn one_probe_per_distinct_route_with_its_families() {
        let fams = probed_families(true, Some(true));
        assert_eq!(fams.len(), 4);
        let routes = routes_to(ep(), &fams, |f, _| match f {
            Family::AzureCli => eff(Some("http://proxy.corp:8080")),
            Family::AzureCliWam | Family::PowerShell7 => eff(Some("proxy.corp:8080")),
            Family::WindowsPowerShell => eff(None),
        });
        let shape: Vec<_> = routes
            .iter()
            .map(|(e, p, f)| (e.trust, p.as_ref().map(|(_, s)| s.as_str()), f.clone()))
            .collect();
        assert_eq!(
            shape,
            [
                (
                    probe::Trust::AzureCli,
                    Some("http://proxy.corp:8080"),
                    vec![
                        ProxyFamily::AzureCli,
                        ProxyFamily::AzureCliWam,
                        ProxyFamily::PowerShell7
                    ]
                ),
                (
                    probe::Trust::OsStore,
                    None,
                    vec![ProxyFamily::WindowsPowerShell]
                ),
            ]
        );
    }

    /// Off Windows, and on Windows with WAM off: no WAM or Windows PowerShell route; the
    /// same proxy for everyone is a single probe.
    #[test]
    fn families_per_platform() {
        let names = |w, wam| -> Vec<ProxyFamily> {
            probed_families(w, wam)
                .into_iter()
                .map(|(_, n)| n)
                .collect()
        };
        assert_eq!(
            names(false, None),
            [ProxyFamily::AzureCli, ProxyFamily::PowerShell7]
        );
        assert_eq!(
            names(true, Some(false)),
            [
                ProxyFamily::AzureCli,
                ProxyFamily::PowerShell7,
                ProxyFamily::WindowsPowerShell
            ]
        );
        let routes = routes_to(ep(), &probed_families(false, None), |_, _| eff(None));
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].0.trust, probe::Trust::AzureCli);
    }
}
