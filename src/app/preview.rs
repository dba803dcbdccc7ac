//! What a user can ask for before (or instead of) a collection: `--list`, `--dry-run`,
//! `completions <shell>` and `man`. None of them writes a bundle or runs an external command;
//! each prints on stdout, a closed pipe ending it with [`Exit::BrokenPipe`] as elsewhere.

use crate::collect::registry::{self, COLLECTORS};
use crate::config::{CollectConfig, Shell};
use crate::exit::Exit;
use crate::fsutil::{err_line, is_broken_pipe, out};
use crate::vocab::{Env, Lang};

/// Width of the id column.
const ID_WIDTH: usize = 20;

/// Print `text` on stdout; a closed pipe is its own exit code, any other error exit 1.
fn print(text: &str) -> Exit {
    match out(text) {
        Ok(()) => Exit::Ok,
        Err(e) if is_broken_pipe(&e) => Exit::BrokenPipe,
        Err(e) => {
            crate::console::error(&e.to_string());
            Exit::Failure
        }
    }
}

/// The `--list` text: one line per collector, id then what it reads or runs.
pub(crate) fn list_text(lang: Lang) -> String {
    let mut s = String::new();
    for d in COLLECTORS {
        let what = lang.t(d.en, d.ja);
        let when = d
            .only_with
            .map(|o| lang.t(&format!(" (only with {o})"), &format!(" ({o} 指定時のみ)")))
            .unwrap_or_default();
        s.push_str(&format!("{:<ID_WIDTH$} {what}{when}\n", d.id));
    }
    s
}

/// `--list`.
pub(crate) fn list(lang: Lang) -> Exit {
    print(&list_text(lang))
}

/// The `--dry-run` text: each command the run would start, sanitized by the command-line
/// redactor (a secret after `--` is masked), in manifest order.
pub(crate) fn dry_run_text(cfg: &CollectConfig, env: &Env) -> String {
    let redactor = super::redactor_for(cfg, env);
    let planned = registry::planned(
        cfg.platform,
        &cfg.debug_runs,
        cfg.net_trace.map(|t| t.max_mb),
        cfg.network.probes.then_some(cfg.network.cloud),
        &cfg.selection,
        &redactor,
    );
    let mut s = String::new();
    for p in planned {
        let when = p
            .when
            .map(|(en, ja)| format!("  ({})", cfg.lang.t(en, ja)))
            .unwrap_or_default();
        s.push_str(&format!("{:<ID_WIDTH$} {}{when}\n", p.id, p.line));
    }
    // Everything that leaves the process passes the redactor, this too.
    redactor.redact(&s).into_string()
}

/// `--dry-run`: the commands on stdout, a note on stderr that nothing was written.
pub(crate) fn dry_run(cfg: &CollectConfig) -> Exit {
    let env = Env::capture(cfg.platform);
    let exit = print(&dry_run_text(cfg, &env));
    if exit == Exit::Ok && !cfg.quiet {
        err_line(&cfg.lang.t(
            "entra-collect: dry run: nothing was run and no bundle was written",
            "entra-collect: ドライ ランのため、何も実行せず、バンドルも作成していません",
        ));
    }
    exit
}

/// `entra-collect completions <shell>`.
pub(crate) fn completions(shell: Shell) -> Exit {
    let mut buf = Vec::new();
    crate::cli::write_completions(shell, &mut buf);
    print(&String::from_utf8_lossy(&buf))
}

/// `entra-collect man`.
pub(crate) fn man() -> Exit {
    let mut buf = Vec::new();
    if let Err(e) = crate::cli::write_man(&mut buf) {
        crate::console::error(&e.to_string());
        return Exit::Failure;
    }
    print(&String::from_utf8_lossy(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_has_every_collector_in_both_languages() {
        for lang in [Lang::En, Lang::Ja] {
            let t = list_text(lang);
            assert_eq!(t.lines().count(), COLLECTORS.len(), "{t}");
            for d in COLLECTORS {
                assert!(t.contains(d.id), "{lang:?} lacks {}", d.id);
            }
        }
        assert!(list_text(Lang::Ja).contains("--net-trace 指定時のみ"));
    }
}
