//! The guided default: a run without `--run`, `-- COMMAND` or `--no-run`, started on a terminal,
//! asks which sign-in failed (listing only the tools found on PATH) and, optionally, the tenant,
//! so that a new user's first bundle holds the sign-in's debug output support asks for first.
//!
//! The question is asked before anything is opened or started: Ctrl-C at the prompt leaves
//! nothing behind and exits 130.

use std::io::IsTerminal;

use crate::config::{CollectConfig, DebugCommand, DebugRun, Preset};
use crate::vocab::Lang;

/// Ctrl-C (or end of input) at the prompt.
#[derive(Debug)]
pub(super) struct Interrupted;

/// One answer of the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Choice {
    Run(Preset),
    None,
}

/// The choices offered: only the tools found, then "none".
pub(super) fn choices(found: impl Fn(&str) -> bool) -> Vec<Choice> {
    let mut v = Vec::new();
    if found("az") {
        v.push(Choice::Run(Preset::Az));
    }
    if found("pwsh") || found("powershell.exe") {
        v.push(Choice::Run(Preset::AzPowerShell));
        v.push(Choice::Run(Preset::Graph));
    }
    v.push(Choice::None);
    v
}

/// The module a PowerShell preset needs.
fn module_of(p: Preset) -> Option<&'static str> {
    match p {
        Preset::AzPowerShell => Some("Az.Accounts"),
        Preset::Graph => Some("Microsoft.Graph.Authentication"),
        Preset::Az => None,
    }
}

/// The folders PowerShell loads modules from: `PSModulePath`, then the per-user and machine-wide
/// defaults of PowerShell 7 and Windows PowerShell 5.1. Only looked at, never run: cheap, and a
/// miss (a custom layout) only adds a note to the choice, it never hides it.
fn module_dirs() -> Vec<std::path::PathBuf> {
    use std::path::PathBuf;
    let mut dirs: Vec<PathBuf> = std::env::var_os("PSModulePath")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    let var = |n: &str| std::env::var_os(n).map(PathBuf::from);
    if cfg!(windows) {
        for base in [
            var("USERPROFILE").map(|h| h.join("Documents")),
            var("OneDrive").map(|h| h.join("Documents")),
        ]
        .into_iter()
        .flatten()
        {
            dirs.push(base.join("PowerShell").join("Modules"));
            dirs.push(base.join("WindowsPowerShell").join("Modules"));
        }
        if let Some(pf) = var("ProgramFiles") {
            dirs.push(pf.join("PowerShell").join("Modules"));
            dirs.push(pf.join("WindowsPowerShell").join("Modules"));
        }
    } else {
        if let Some(h) = var("HOME") {
            dirs.push(h.join(".local/share/powershell/Modules"));
        }
        dirs.push("/usr/local/share/powershell/Modules".into());
        dirs.push("/opt/microsoft/powershell/7/Modules".into());
    }
    dirs
}

/// Is the preset's module in one of `dirs` (true for presets that need none)?
fn module_found(p: Preset, dirs: &[std::path::PathBuf]) -> bool {
    module_of(p).is_none_or(|m| dirs.iter().any(|d| d.join(m).is_dir()))
}

fn label(c: Choice, lang: Lang) -> String {
    match c {
        // Product names and commands read the same in both languages.
        Choice::Run(Preset::Az) => "Azure CLI (az login)".into(),
        Choice::Run(Preset::AzPowerShell) => "Azure PowerShell (Connect-AzAccount)".into(),
        Choice::Run(Preset::Graph) => "Microsoft Graph PowerShell (Connect-MgGraph)".into(),
        Choice::None => lang.t(
            "None: collect without running a sign-in",
            "なし: サインインを実行せずに収集します",
        ),
    }
}

/// Ask when stdin and stderr are terminals and the run wants it; fill in the sign-in to run
/// and the tenant. Returns without asking (nothing changed) otherwise.
pub(super) fn ask_if_wanted(cfg: &mut CollectConfig) -> Result<(), Interrupted> {
    let Some(settings) = cfg.ask_sign_in else {
        return Ok(());
    };
    if cfg.quiet || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(());
    }
    let choices = choices(|p| which::which(p).is_ok());
    if choices == [Choice::None] {
        return Ok(());
    }
    let lang = cfg.lang;
    let term = dialoguer::console::Term::stderr();
    let theme = dialoguer::theme::ColorfulTheme::default();
    let dirs = module_dirs();
    let items: Vec<String> = choices
        .iter()
        .map(|c| match c {
            Choice::Run(p) if !module_found(*p, &dirs) => {
                let m = module_of(*p).unwrap_or_default();
                lang.t(
                    &format!(
                        "{} ({m} not found in the usual module folders)",
                        label(*c, lang)
                    ),
                    &format!(
                        "{} (通常のモジュール フォルダーに {m} が見つかりません)",
                        label(*c, lang)
                    ),
                )
            }
            _ => label(*c, lang),
        })
        .collect();
    let picked = dialoguer::Select::with_theme(&theme)
        .with_prompt(lang.t(
            "Which sign-in failed? entra-collect runs it once with its debug output captured",
            "失敗したサインインはどれですか? entra-collect がデバッグ出力を記録しながら 1 回実行します",
        ))
        .items(&items)
        .default(0)
        .interact_on_opt(&term);
    let picked = match picked {
        Ok(Some(i)) => choices[i],
        // Esc / q: no sign-in, as "none".
        Ok(None) => Choice::None,
        Err(_) => return Err(interrupted(&term)),
    };
    let Choice::Run(preset) = picked else {
        return Ok(());
    };
    if cfg.tenant.is_none() {
        let tenant: String = dialoguer::Input::with_theme(&theme)
            .with_prompt(lang.t(
                "Tenant (ID or domain; press Enter for none)",
                "テナント (ID またはドメイン。指定しない場合は Enter を押してください)",
            ))
            .allow_empty(true)
            .interact_text_on(&term)
            .map_err(|_| interrupted(&term))?;
        let tenant = tenant.trim();
        if !tenant.is_empty() {
            cfg.tenant = Some(tenant.to_string());
        }
    }
    cfg.debug_runs = vec![DebugRun {
        command: DebugCommand::Preset(preset),
        tenant: cfg.tenant.clone(),
        powershell: settings.powershell,
        timeout: settings.timeout,
        har: settings.har,
    }];
    Ok(())
}

/// The prompt was left with Ctrl-C: restore the cursor and say that nothing was written.
fn interrupted(term: &dialoguer::console::Term) -> Interrupted {
    let _ = term.show_cursor();
    crate::fsutil::err_line("\nentra-collect: interrupted; nothing was written");
    Interrupted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tools_found_are_offered() {
        assert_eq!(choices(|_| false), [Choice::None]);
        assert_eq!(
            choices(|p| p == "az"),
            [Choice::Run(Preset::Az), Choice::None]
        );
        assert_eq!(
            choices(|p| p == "powershell.exe"),
            [
                Choice::Run(Preset::AzPowerShell),
                Choice::Run(Preset::Graph),
                Choice::None
            ]
        );
    }

    #[test]
    fn a_module_is_found_in_a_module_folder() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("Az.Accounts/5.1.0")).unwrap();
        let dirs = [t.path().join("missing"), t.path().to_path_buf()];
        assert!(module_found(Preset::AzPowerShell, &dirs));
        assert!(!module_found(Preset::Graph, &dirs));
        assert!(module_found(Preset::Az, &[]));
    }

    #[test]
    fn every_choice_has_a_label_in_both_languages() {
        for c in choices(|_| true) {
            assert!(!label(c, Lang::En).is_empty());
            assert!(!label(c, Lang::Ja).is_empty());
        }
        assert_ne!(label(Choice::None, Lang::En), label(Choice::None, Lang::Ja));
    }
}
