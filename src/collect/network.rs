//! `network.proxy` and `network.probes`: how this machine reaches the internet, and whether the
//! sign-in endpoints are reachable through it.
//!
//! Proxy facts come from the environment and, on Windows, `netsh winhttp show proxy` and the
//! per-user WinINET settings (`reg query "HKCU\...\Internet Settings"`). For each endpoint the
//! effective proxy of each client family is recorded; the probes use Azure CLI's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};

use super::{Collector, Context, Outcome, reg};
use crate::bundle::manifest::{CommandRecord, Status};
use crate::exec::Cmd;
use crate::probe::proxy::{self, EnvProxies, Family, WinHttp, WinInet};
use crate::probe::{self, Settings, Stores};
use crate::redact::url;
use crate::vocab::{Cloud, Env, NetworkConfig};

/// Maps endpoint host names to loopback addresses instead of DNS (tests only):
/// `host=127.0.0.1:port,host2=...`.
pub const PROBE_OVERRIDE_ENV: &str = "ENTRA_COLLECT_PROBE_OVERRIDE";

const INTERNET_SETTINGS: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings";

/// Everything known about proxies.
pub struct ProxyFacts {
    pub env: EnvProxies,
    pub winhttp: Option<WinHttp>,
    pub wininet: Option<WinInet>,
}

/// The proxy facts of one run, read once: `network.proxy` and `network.probes` share one cell
/// (see [`super::all`]); whichever asks first runs the commands (on Windows `netsh winhttp show
/// proxy` and `reg query`), the other waits for that read to end and uses its result. The
/// commands are recorded once, always under `network.proxy`.
#[derive(Default)]
pub struct ProxyCell(OnceLock<ProxyRead>);

struct ProxyRead {
    facts: ProxyFacts,
    commands: Vec<CommandRecord>,
    /// The worst status the commands left (a timeout, an interruption) and why.
    status: Status,
    reason: Option<String>,
}

impl ProxyCell {
    fn read(&self, ctx: &Context) -> &ProxyRead {
        self.0.get_or_init(|| {
            let mut out = Outcome::ok();
            let facts = proxy_facts(ctx, &mut out);
            ProxyRead {
                facts,
                commands: out.commands,
                status: out.status,
                reason: out.reason,
            }
        })
    }
}

/// Read the proxy settings (running the Windows commands through the runner).
fn proxy_facts(ctx: &Context, out: &mut Outcome) -> ProxyFacts {
    let mut facts = ProxyFacts {
        env: proxy::env_proxies(&ctx.env),
        winhttp: None,
        wininet: None,
    };
    if !ctx.platform.is_windows() {
        return facts;
    }
    if let Ok(o) = ctx
        .runner
        .run(&Cmd::new("netsh").args(["winhttp", "show", "proxy"]))
    {
        out.record(ctx, &o);
        if o.success() {
            facts.winhttp = Some(proxy::parse_winhttp(&o.stdout.text().0));
        }
    }
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
    facts
}

/// `{variable, value}`; the proxy values in [`EnvProxies`] are display-safe already.
fn pair(p: &Option<(String, String)>) -> Value {
    match p {
        Some((name, value)) => json!({ "variable": name, "value": value }),
        None => Value::Null,
    }
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
        2 // netsh winhttp show proxy, reg query Internet Settings
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let mut out = Outcome::ok();
        let read = self.facts.read(ctx);
        out.commands.extend(read.commands.iter().cloned());
        if let Some(reason) = &read.reason {
            out.degrade(read.status, reason.clone());
        }
        let facts = &read.facts;
        let windows = ctx.platform.is_windows();
        let effective: Vec<Value> = probe::endpoints(self.cloud)
            .iter()
            .map(|ep| {
                let e =
                    |f| proxy::effective(f, windows, &facts.env, facts.wininet.as_ref(), &ep.host);
                let mut v = json!({
                    "host": ep.host,
                    "azure_cli": e(Family::AzureCli),
                    "powershell7": e(Family::PowerShell7),
                });
                if windows {
                    v["windows_powershell"] = json!(e(Family::WindowsPowerShell));
                }
                v
            })
            .collect();
        let value = json!({
            "environment": {
                "https_proxy": pair(&facts.env.https),
                "http_proxy": pair(&facts.env.http),
                "all_proxy": pair(&facts.env.all),
                "no_proxy": pair(
                    &facts
                        .env
                        .no_proxy
                        .as_ref()
                        .map(|(n, v)| (n.clone(), proxy::display_host_list(v)))
                ),
                "note": "lowercase names win over uppercase, as in Python's urllib (Azure CLI)",
            },
            "winhttp": facts.winhttp,
            "wininet": facts.wininet,
            "effective": effective,
        });
        out.add_json(ctx, "network/proxy.json", &value);
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
        // netsh and reg for the proxy facts, then five bounded stages (endpoints at once).
        timeout * 2 + self.config.stage_timeout * 8 + Duration::from_secs(30)
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        if !self.config.probes {
            return Outcome::skipped("--no-network given");
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
        let targets = probe::endpoints(self.config.cloud)
            .into_iter()
            .map(|ep| {
                let eff = proxy::effective(
                    Family::AzureCli,
                    windows,
                    &facts.env,
                    facts.wininet.as_ref(),
                    &ep.host,
                );
                (ep, eff.proxy)
            })
            .collect();
        let results = probe::probe_all(targets, settings);
        let failed: Vec<String> = results
            .iter()
            .filter(|r| !r.ok)
            .map(|r| format!("{}: {}", r.host, r.error_kind.unwrap_or("error")))
            .collect();
        if !failed.is_empty() {
            // The collector worked; what it found is reported, not a collector failure.
            out.reason = Some(format!("not reachable cleanly: {}", failed.join(", ")));
        }
        let value = json!({
            "cloud": format!("{:?}", self.config.cloud).to_lowercase(),
            "stage_timeout_ms": self.config.stage_timeout.as_millis() as u64,
            "proxy_family": "azure_cli",
            "requests_ca_bundle": bundle.map(|b| if super::environment::is_path(b.trim()) {
                json!(b.trim())
            } else {
                json!({ "set": true, "length": b.chars().count() })
            }),
            "results": results,
        });
        out.add_json(ctx, "network/probes.json", &value);
        out
    }
}
