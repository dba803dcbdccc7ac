//! The collector registry as the user sees it: every collector id with what it reads or runs
//! (`--list`), the ids `--skip` / `--only` accept, the selection applied to the pipeline, and the
//! commands a run would start (`--dry-run`).
//!
//! The descriptions live here, beside [`super::all`], so a new collector cannot be added without
//! being described: a test checks that the ids here are exactly the pipeline's.

use std::sync::Arc;

use super::versions_powershell::{PARTS, PWSH, WINDOWS_POWERSHELL, part_cmd};
use super::{Collector, Context, Outcome, debug_run, network, tls};
use crate::config::{DebugRun, Selection};
use crate::platform::Platform;
use crate::redact::Redactor;
use crate::vocab::{Cloud, Lang};

/// The id of the network trace (`--net-trace`), which the run starts beside the collectors.
pub const NET_TRACE_ID: &str = "net.trace";

/// One collector as `--list` shows it.
#[derive(Debug, Clone, Copy)]
pub struct Described {
    pub id: &'static str,
    /// What it reads or runs, in English and Japanese.
    pub en: &'static str,
    pub ja: &'static str,
    /// Only present with an option (`--run`, `--net-trace`): not selectable by `--skip` /
    /// `--only`, since the option itself asks for it.
    pub only_with: Option<&'static str>,
}

/// Every collector, in manifest order.
pub const COLLECTORS: &[Described] = &[
    Described {
        id: debug_run::ID,
        en: "runs the sign-in with its debug switch (az login --debug, Connect-AzAccount -Debug, \
             Connect-MgGraph -Debug or the command after --) and keeps its redacted output",
        ja: "サインインをデバッグ スイッチ付きで実行し (az login --debug、Connect-AzAccount -Debug、\
             Connect-MgGraph -Debug または -- の後のコマンド)、その出力をマスクして保存します",
        only_with: Some("--run / -- COMMAND"),
    },
    Described {
        id: "system",
        en: "reads the host name, OS, kernel, architecture and local clock (no command)",
        ja: "ホスト名、OS、カーネル、アーキテクチャ、ローカル時刻を読み取ります (コマンドは実行しません)",
        only_with: None,
    },
    Described {
        id: "environment",
        en: "reads allowlisted environment variables (proxy, Azure CLI / PowerShell settings); \
             values only of known-safe shape, others as set with their length",
        ja: "許可リストにある環境変数 (プロキシ、Azure CLI / PowerShell の設定) を読み取ります。\
             値は安全と分かっている形式のものだけを記録し、ほかは設定の有無と長さだけを記録します",
        only_with: None,
    },
    Described {
        id: "versions.az",
        en: "runs `az version -o json` and, at the same time, reads what `az --version` adds \
             (msal, Python, config and extension directories) from Azure CLI's Python, \
             without `az --version`'s online update check",
        ja: "`az version -o json` を実行し、同時に `az --version` が追加で表示する情報 (msal、Python、\
             構成とエクステンションのディレクトリ) を Azure CLI の Python から読み取ります \
             (`az --version` のオンライン更新チェックは行いません)",
        only_with: None,
    },
    Described {
        id: "versions.powershell",
        en: "runs scripts/inventory.ps1 in pwsh (and Windows PowerShell on Windows): \
             $PSVersionTable, modules, execution policies, Get-AzContext -ListAvailable, Get-AzConfig",
        ja: "pwsh (Windows では Windows PowerShell でも) で scripts/inventory.ps1 を実行します: \
             $PSVersionTable、モジュール、実行ポリシー、Get-AzContext -ListAvailable、Get-AzConfig",
        only_with: None,
    },
    Described {
        id: "contexts",
        en: "reads azureProfile.json, clouds.config and config (~/.azure), \
             AzureRmContextSettings.json and ~/.mg/mg.authrecord.json; never a token",
        ja: "azureProfile.json、clouds.config、config (~/.azure)、AzureRmContextSettings.json、\
             ~/.mg/mg.authrecord.json を読み取ります。トークンは読み取りません",
        only_with: None,
    },
    Described {
        id: "caches",
        en: "lists the token cache files by name, size and time; never opens them",
        ja: "トークン キャッシュのファイル名、サイズ、更新日時だけを一覧にします。ファイルは開きません",
        only_with: None,
    },
    Described {
        id: "network.proxy",
        en: "reads the proxy variables; on Windows runs `reg query` for WinHTTP and WinINET \
             (`netsh winhttp show proxy` when the registry does not tell)",
        ja: "プロキシの環境変数を読み取ります。Windows では WinHTTP と WinINET の設定を `reg query` で\
             読み取ります (レジストリで分からない場合は `netsh winhttp show proxy`)",
        only_with: None,
    },
    Described {
        id: "tls",
        en: "on Windows runs `reg query` for SCHANNEL, .NET and WinHTTP TLS settings; elsewhere \
             `openssl version -a` and openssl.cnf; asks Azure CLI's Python for its OpenSSL and \
             certifi bundle (one call, shared with versions.az); parses the CA bundles in place",
        ja: "Windows では SCHANNEL、.NET、WinHTTP の TLS 設定を `reg query` で読み取ります。ほかの OS では \
             `openssl version -a` と openssl.cnf を読み取ります。Azure CLI の Python に OpenSSL と \
             certifi のバンドルを問い合わせ、CA バンドルをその場で解析します",
        only_with: None,
    },
    Described {
        id: "network.probes",
        en: "connects to the sign-in endpoints (DNS, TCP, proxy CONNECT, TLS, an anonymous GET) \
             through the proxy each client would use; off with --no-network",
        ja: "各クライアントが使うプロキシを経由してサインインのエンドポイントに接続します \
             (DNS、TCP、プロキシの CONNECT、TLS、認証なしの GET)。--no-network で無効になります",
        only_with: None,
    },
    Described {
        id: NET_TRACE_ID,
        en: "records a network trace while the sign-in runs (netsh trace on Windows, tcpdump \
             elsewhere); the trace cannot be redacted",
        ja: "サインインの実行中にネットワーク トレースを記録します (Windows では netsh trace、\
             ほかの OS では tcpdump)。トレースはマスクできません",
        only_with: Some("--net-trace"),
    },
];

/// The ids `--skip` and `--only` accept.
pub fn selectable_ids() -> Vec<&'static str> {
    COLLECTORS
        .iter()
        .filter(|d| d.only_with.is_none())
        .map(|d| d.id)
        .collect()
}

/// Split `a,b, c` into ids and check each one; an unknown id is an error that names the valid
/// ones (a usage error: exit 2).
pub fn parse_ids(option: &str, value: &str, lang: Lang) -> Result<Vec<String>, String> {
    let valid = selectable_ids();
    let ids: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(lang.t(
            &format!(
                "{option} needs at least one collector id; valid ids: {}",
                valid.join(", ")
            ),
            &format!(
                "{option} にはコレクター ID を 1 つ以上指定してください。有効な ID: {}",
                valid.join(", ")
            ),
        ));
    }
    if let Some(bad) = ids.iter().find(|id| !valid.contains(&id.as_str())) {
        return Err(lang.t(
            &format!(
                "{option}: unknown collector id `{bad}`; valid ids: {} (see --list)",
                valid.join(", ")
            ),
            &format!(
                "{option}: `{bad}` というコレクター ID はありません。有効な ID: {} (--list で確認してください)",
                valid.join(", ")
            ),
        ));
    }
    Ok(ids)
}

/// Why `selection` leaves collector `id` out, or None when it runs. Collectors that only an
/// option starts (the debug run, the trace) always run when asked for.
pub fn excluded(selection: &Selection, id: &str) -> Option<&'static str> {
    if !selectable_ids().contains(&id) {
        return None;
    }
    match selection {
        Selection::All => None,
        Selection::Skip(ids) => ids.iter().any(|s| s == id).then_some("--skip"),
        Selection::Only(ids) => (!ids.iter().any(|s| s == id)).then_some("not in --only"),
    }
}

/// A collector left out by `--skip` / `--only`: it stays in the manifest, as skipped with why.
struct Deselected {
    id: &'static str,
    reason: &'static str,
}

impl Collector for Deselected {
    fn id(&self) -> &'static str {
        self.id
    }
    fn collect(&self, _: &Context) -> Outcome {
        Outcome::skipped(self.reason)
    }
    fn commands(&self) -> u32 {
        0
    }
}

/// The pipeline with the collectors `selection` leaves out replaced by skipped stand-ins.
pub fn select(
    collectors: Vec<Arc<dyn Collector>>,
    selection: &Selection,
) -> Vec<Arc<dyn Collector>> {
    collectors
        .into_iter()
        .map(|c| match excluded(selection, c.id()) {
            Some(reason) => Arc::new(Deselected { id: c.id(), reason }) as Arc<dyn Collector>,
            None => c,
        })
        .collect()
}

/// One thing a run would do: a command it would start, or a connection it would open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub id: &'static str,
    /// The command line, already sanitized by the command-line redactor.
    pub line: String,
    /// Only under a condition (e.g. when the registry read fails), in English and Japanese.
    pub when: Option<When>,
}

/// How a planned command line is shown.
#[derive(Clone, Copy)]
enum Show {
    /// The user's sign-in command: sanitized, and what is withheld is learned as a secret.
    Learn,
    /// A command entra-collect builds: sanitized (default-deny) like any other.
    Ours,
    /// Our own constant text (an endpoint URL, a placeholder): nothing in it to withhold.
    Literal,
}

/// A condition of a planned command: English, Japanese.
pub type When = (&'static str, &'static str);

const WHEN_FOUND: When = ("when found on PATH", "PATH にある場合");
const WHEN_REG_FAILS: When = (
    "when the registry read fails",
    "レジストリを読み取れない場合",
);
const WHEN_AZ: When = ("when az is found", "az がある場合");

/// The arguments of `netsh trace start` as `--net-trace` runs it on Windows (capture/netsh.rs
/// runs exactly these; `--dry-run` shows them).
pub(crate) fn netsh_trace_start_args(max_mb: &str, tracefile: &str) -> Vec<String> {
    [
        "trace",
        "start",
        "capture=yes",
        "scenario=InternetClient_dbg",
        "report=disabled",
        "persistent=no",
        "overwrite=yes",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("maxsize={max_mb}"),
        format!("tracefile={tracefile}"),
    ])
    .collect()
}

/// What a run with these settings would start, in manifest order. Every command line passes
/// through the command-line redactor first: a secret given after `--` is never printed.
pub fn planned(
    platform: Platform,
    debug: &[DebugRun],
    net_trace_mb: Option<u64>,
    probes: Option<Cloud>,
    selection: &Selection,
    redactor: &Redactor,
) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut push = |id: &'static str, argv: Vec<String>, when: Option<When>, show: Show| {
        if excluded(selection, id).is_some() {
            return;
        }
        let shown = match show {
            Show::Learn => redactor.redact_argv(&argv).0,
            Show::Ours => redactor.shown_argv(&argv).0,
            Show::Literal => argv,
        };
        out.push(Planned {
            id,
            line: shown.join(" "),
            when,
        });
    };
    let v = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for run in debug {
        let plan = debug_run::plan(run);
        let args = plan.display.clone().unwrap_or(plan.args.clone());
        let argv = std::iter::once(plan.program.clone()).chain(args).collect();
        push(debug_run::ID, argv, None, Show::Learn);
    }
    let windows = platform.is_windows();
    push(
        "versions.az",
        v(&["az", "version", "-o", "json"]),
        None,
        Show::Ours,
    );
    // The shells `versions_powershell::shells` looks for on this platform.
    let shells = if windows {
        vec![PWSH, WINDOWS_POWERSHELL]
    } else {
        vec![PWSH]
    };
    for shell in shells {
        for part in PARTS {
            push(
                "versions.powershell",
                part_cmd(shell, part).shown_argv(),
                Some(WHEN_FOUND),
                Show::Ours,
            );
        }
    }
    if windows {
        let c = network::CONNECTIONS;
        let w = network::WINHTTP_SETTINGS;
        push(
            "network.proxy",
            v(&["reg", "query", c, "/v", w]),
            None,
            Show::Ours,
        );
        push(
            "network.proxy",
            v(&["netsh", "winhttp", "show", "proxy"]),
            Some(WHEN_REG_FAILS),
            Show::Ours,
        );
        let i = network::INTERNET_SETTINGS;
        push("network.proxy", v(&["reg", "query", i]), None, Show::Ours);
        push(
            "tls",
            v(&["reg", "query", tls::SCHANNEL, "/s"]),
            None,
            Show::Ours,
        );
        for key in tls::DOTNET.iter().chain(tls::WINHTTP).chain([&tls::NDP]) {
            push("tls", v(&["reg", "query", key]), None, Show::Ours);
        }
    } else {
        push("tls", v(&["openssl", "version", "-a"]), None, Show::Ours);
    }
    // One call shared by versions.az and tls, listed where the manifest records it.
    let python_id = if excluded(selection, "versions.az").is_some() {
        "tls"
    } else {
        "versions.az"
    };
    push(
        python_id,
        v(&[
            "<Azure CLI's python>",
            "-c",
            "<print one JSON line: OpenSSL, certifi.where(), Python, msal, az's directories and extensions>",
        ]),
        Some(WHEN_AZ),
        Show::Literal,
    );
    if let Some(cloud) = probes {
        for ep in crate::probe::endpoints(cloud) {
            let url = format!("https://{}{}", ep.host, ep.path);
            push("network.probes", v(&["GET", &url]), None, Show::Literal);
        }
    }
    if let Some(mb) = net_trace_mb {
        let mb = mb.to_string();
        if windows {
            let mut argv = vec!["netsh".to_string()];
            argv.extend(netsh_trace_start_args(&mb, "<temp>\\nettrace.etl"));
            push(NET_TRACE_ID, argv, None, Show::Literal);
            push(
                NET_TRACE_ID,
                v(&["netsh", "trace", "stop"]),
                None,
                Show::Ours,
            );
        } else {
            let any = if platform == Platform::Linux {
                &["-i", "any"][..]
            } else {
                &[][..]
            };
            let mut argv = v(&["tcpdump"]);
            argv.extend(v(any));
            argv.extend(v(&["-n", "-U", "-s", "0", "-W", "1", "-C", &mb]));
            argv.extend(v(&[
                "-w",
                "<temp>/trace.pcap",
                "<ports 443, 80, the proxy's; 53>",
            ]));
            push(NET_TRACE_ID, argv, None, Show::Literal);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DebugCommand, PsEdition};
    use crate::vocab::NetworkConfig;
    use std::time::Duration;

    fn debug(argv: &[&str]) -> DebugRun {
        DebugRun {
            command: DebugCommand::Argv(argv.iter().map(|s| s.to_string()).collect()),
            tenant: None,
            powershell: PsEdition::Auto,
            timeout: Duration::from_secs(600),
            har: false,
        }
    }

    /// Every collector the pipeline runs is described, and nothing else is (the trace is the
    /// one entry the run adds beside the pipeline).
    #[test]
    fn registry_matches_the_pipeline() {
        let net = NetworkConfig {
            probes: true,
            probes_off_by_env: false,
            cloud: Cloud::Public,
            stage_timeout: Duration::from_secs(5),
        };
        let live = debug_run::live_output(false, Arc::new(Redactor::new()));
        let mut ids: Vec<&str> = super::super::all(
            Some((vec![debug(&["az", "login"])], live)),
            net,
            &Selection::All,
        )
        .iter()
        .map(|c| c.id())
        .collect();
        ids.push(NET_TRACE_ID);
        let described: Vec<&str> = COLLECTORS.iter().map(|d| d.id).collect();
        assert_eq!(ids, described);
        for d in COLLECTORS {
            assert!(!d.en.is_empty() && !d.ja.is_empty(), "{} undescribed", d.id);
            assert!(!d.en.contains("  ") && !d.ja.contains("  "), "{}", d.id);
        }
    }

    #[test]
    fn unknown_and_empty_ids_name_the_valid_ones() {
        let e = parse_ids("--skip", "tls,nope", Lang::En).unwrap_err();
        assert!(e.contains("`nope`") && e.contains("network.probes"), "{e}");
        let e = parse_ids("--only", " , ", Lang::Ja).unwrap_err();
        assert!(e.contains("有効な ID") && e.contains("versions.az"), "{e}");
        // The debug run is asked for by --run; it is not selectable.
        assert!(parse_ids("--skip", "debug.run", Lang::En).is_err());
        assert_eq!(
            parse_ids("--only", "tls, caches", Lang::En).unwrap(),
            vec!["tls".to_string(), "caches".into()]
        );
    }

    #[test]
    fn selection_reasons() {
        let skip = Selection::Skip(vec!["tls".into()]);
        assert_eq!(excluded(&skip, "tls"), Some("--skip"));
        assert_eq!(excluded(&skip, "caches"), None);
        let only = Selection::Only(vec!["tls".into()]);
        assert_eq!(excluded(&only, "caches"), Some("not in --only"));
        assert_eq!(excluded(&only, "tls"), None);
        assert_eq!(excluded(&only, debug_run::ID), None);
        assert_eq!(excluded(&Selection::All, "tls"), None);
    }

    #[test]
    fn planned_commands_mask_a_secret_after_the_separator() {
        let r = Redactor::new();
        let secret = "Sup3r-S3cret-Value!";
        let run = debug(&[
            "az",
            "login",
            "--service-principal",
            "-u",
            "app",
            "-p",
            secret,
        ]);
        let p = planned(
            Platform::Windows,
            std::slice::from_ref(&run),
            Some(64),
            Some(Cloud::Public),
            &Selection::All,
            &r,
        );
        let all: String = p.iter().map(|p| format!("{} {}\n", p.id, p.line)).collect();
        assert!(!all.contains(secret), "{all}");
        assert!(
            p[0].id == debug_run::ID && p[0].line.starts_with("az login"),
            "{all}"
        );
        assert!(all.contains("reg query HKLM\\SYSTEM"), "{all}");
        assert!(all.contains("netsh trace start"), "{all}");
        assert!(
            all.contains("GET https://login.microsoftonline.com/"),
            "{all}"
        );
        // PowerShell scripts are shown by name, never as their base64 blob.
        assert!(all.contains("<scripts/inventory.ps1-base>"), "{all}");
        let only = planned(
            Platform::Linux,
            &[],
            None,
            None,
            &Selection::Only(vec!["versions.az".into()]),
            &r,
        );
        assert!(only.iter().all(|p| p.id == "versions.az"), "{only:?}");
        // `az version -o json`, and the Python call it runs beside it.
        assert_eq!(only.len(), 2, "{only:?}");
    }
}
