//! Diagnosis: findings with fixes, computed by pure functions over the bundle's own entries read
//! as the typed model (`model::Bundle`), so `collect` and `inspect` run the same code on the same
//! data. A rule reads typed fields only; the debug logs are the one text it searches.
//!
//! Finding ids are a public contract (docs/findings.md). Findings are ranked by what the
//! sign-in run stopped on ([`rank`]): the first is the most likely cause. A healthy
//! configuration yields no warning and no error.

pub mod aadsts;
pub mod rank;
mod rules;

use crate::model::{Bundle, CollectorRecord, ProbeResult, ProxyFamily, Status};
use crate::vocab::Lang;

pub use crate::model::findings::{Evidence, Finding, Severity};

/// What the rules look at: the bundle's entries, typed (an entry that did not read as its type
/// is absent here), and the manifest's collector records.
pub struct Model<'a> {
    pub bundle: &'a Bundle,
    pub collectors: &'a [CollectorRecord],
}

impl<'a> Model<'a> {
    /// The debug logs of the sign-in command: (entry name, text), in name order.
    pub fn debug_logs(&self) -> impl Iterator<Item = (&String, &String)> {
        self.bundle.debug_logs.iter().map(|(n, t)| (n, t))
    }

    pub fn collector(&self, id: &str) -> Option<&CollectorRecord> {
        self.collectors.iter().find(|c| c.id == id)
    }

    pub fn skipped(&self, id: &str) -> bool {
        self.collector(id)
            .is_some_and(|c| c.status == Status::Skipped)
    }

    /// The sign-in command's exit code, if it ran.
    pub fn debug_exit_code(&self) -> Option<i32> {
        self.collector("debug.run")?.commands.first()?.exit_code
    }

    /// Lines of the debug logs that contain any of `needles` (case-insensitive), as evidence.
    pub fn log_evidence(&self, needles: &[&str], max: usize) -> Vec<Evidence> {
        let needles: Vec<String> = needles.iter().map(|n| n.to_ascii_lowercase()).collect();
        let mut out = Vec::new();
        for (name, text) in self.debug_logs() {
            for line in text.lines() {
                let l = line.to_ascii_lowercase();
                if needles.iter().any(|n| l.contains(n.as_str())) {
                    out.push(Evidence {
                        file: name.clone(),
                        excerpt: excerpt(line),
                    });
                    if out.len() >= max {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// Azure CLI signs users in through WAM (`network/proxy.json`'s `azure_cli_wam`: Windows,
    /// not opted out).
    pub fn azure_cli_wam(&self) -> bool {
        self.bundle
            .proxy
            .as_ref()
            .and_then(|p| p.azure_cli_wam.as_ref())
            .is_some_and(|w| w.enabled)
    }

    /// The probe results of Azure CLI's routes (none when `network/probes.json` is absent or
    /// unreadable): the rules word their causes and fixes for Azure CLI (its proxy variables,
    /// its CA bundle), so routes only PowerShell or WAM take are left to [`Self::all_probes`].
    pub fn probes(&self) -> impl Iterator<Item = &'a ProbeResult> + 'a {
        self.all_probes()
            .iter()
            .filter(|r| r.families.contains(&ProxyFamily::AzureCli))
    }

    /// Every probe result, each route once with the client families that take it.
    pub fn all_probes(&self) -> &'a [ProbeResult] {
        self.bundle
            .probes
            .as_ref()
            .map_or(&[], |p| p.results.as_slice())
    }
}

/// An operating system a fix step is written for: the platform vocabulary the collection
/// itself uses.
pub use crate::platform::Platform as Os;

/// A client a fix step is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    AzureCli,
    AzurePowerShell,
    GraphPowerShell,
}

impl<'a> Model<'a> {
    /// The platform whose collection logic ran (`system.json`, else the manifest's host); None
    /// when neither entry read.
    pub fn platform(&self) -> Option<Os> {
        let p = self
            .bundle
            .system
            .as_ref()
            .map(|s| s.platform.as_str())
            .or_else(|| {
                self.bundle
                    .manifest
                    .as_ref()
                    .map(|m| m.host.platform.as_str())
            })?;
        p.parse().ok()
    }

    /// The bundle is from Windows, or its platform is unknown (the rules' wording before they
    /// knew the platform was Windows').
    pub fn windows_or_unknown(&self) -> bool {
        matches!(self.platform(), Some(Os::Windows) | None)
    }

    /// The client may be installed: false only when the bundle shows it is not (its version
    /// collector was skipped for want of the program, or PowerShell's module inventory lists
    /// modules but none of this client's).
    pub fn may_have(&self, client: Client) -> bool {
        match client {
            Client::AzureCli => !self.skipped("versions.az"),
            Client::AzurePowerShell | Client::GraphPowerShell => {
                if self.skipped("versions.powershell") {
                    return false;
                }
                let names: Vec<&str> = self
                    .bundle
                    .powershell
                    .values()
                    .flat_map(|v| v.modules.iter())
                    .filter_map(|m| m.name.as_deref())
                    .collect();
                let prefix = if client == Client::AzurePowerShell {
                    "Az"
                } else {
                    "Microsoft.Graph"
                };
                names.is_empty()
                    || names
                        .iter()
                        .any(|n| *n == prefix || n.starts_with(&format!("{prefix}.")))
            }
        }
    }
}

/// A log line cut to a readable length.
pub fn excerpt(line: &str) -> String {
    let line = line.trim();
    if line.chars().count() <= 300 {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(300).collect::<String>())
    }
}

/// Run every rule, then rank the findings by what the sign-in run stopped on ([`rank`]).
pub fn analyze(model: &Model, lang: Lang) -> Vec<Finding> {
    let mut f = rules::all(model, lang);
    rank::rank(model, lang, &mut f);
    for finding in &mut f {
        finding.docs = learn_link(&finding.docs, lang);
    }
    f
}

/// A Microsoft Learn link in the reader's language: Learn serves `/ja-jp/` pages in Japanese;
/// English links stay locale-free (Learn picks the browser's language). Other links as given.
pub fn learn_link(url: &str, lang: Lang) -> String {
    const LEARN: &str = "https://learn.microsoft.com/";
    match (lang, url.strip_prefix(LEARN)) {
        (Lang::Ja, Some(rest)) if !rest.starts_with("ja-jp/") => format!("{LEARN}ja-jp/{rest}"),
        _ => url.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
