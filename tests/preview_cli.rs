//! `--list`, `--skip` / `--only`, `--dry-run`, `completions`, `man`, and the README's option
//! table checked against clap (so the two cannot drift apart).

mod common;

use std::collections::BTreeSet;

use clap::CommandFactory;
use common::*;
use entra_collect::cli::Cli;

fn stdout_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}
fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(out.get_output().stderr.clone()).unwrap()
}

/// Files in `dir` other than the empty PATH directory the tests make.
fn written(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "empty-bin")
        .collect()
}

#[test]
fn list_prints_every_collector_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let en = bin(&empty_path(dir.path()))
        .current_dir(dir.path())
        .arg("--list")
        .assert()
        .success();
    insta::assert_snapshot!("list_en", stdout_of(&en));
    let ja = bin(&empty_path(dir.path()))
        .current_dir(dir.path())
        .args(["collect", "--list", "--lang", "ja"])
        .assert()
        .success();
    insta::assert_snapshot!("list_ja", stdout_of(&ja));
    assert!(written(dir.path()).is_empty(), "{:?}", written(dir.path()));
}

#[test]
fn skip_and_only_are_recorded_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    bin(&fake_path())
        .args(["-q", "--skip", "versions.az,tls", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(dir.path()));
    for id in ["versions.az", "tls"] {
        assert_eq!(b.collector(id)["status"], "skipped", "{id}");
        assert_eq!(b.collector(id)["reason"], "--skip", "{id}");
    }
    assert_eq!(b.collector("system")["status"], "ok");
    assert!(!b.entries.contains_key("versions/az.json"));
    assert!(!b.entries.contains_key("tls/settings.json"));

    let dir = tempfile::tempdir().unwrap();
    bin(&fake_path())
        .args(["-q", "--only", "system, versions.az", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(dir.path()));
    assert_eq!(b.collector("system")["status"], "ok");
    assert_eq!(b.collector("versions.az")["status"], "ok");
    for id in ["environment", "contexts", "caches", "tls", "network.proxy"] {
        assert_eq!(b.collector(id)["status"], "skipped", "{id}");
        assert_eq!(b.collector(id)["reason"], "not in --only", "{id}");
    }
    assert!(b.entries.contains_key("versions/az.json"));
}

#[test]
fn an_unknown_collector_id_is_a_usage_error_naming_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    for (opt, lang, says) in [
        ("--skip", "en", "unknown collector id `nope`"),
        ("--only", "ja", "`nope` というコレクター ID はありません"),
    ] {
        let out = bin(&empty_path(dir.path()))
            .args([opt, "tls,nope", "--lang", lang, "-o"])
            .arg(dir.path())
            .assert()
            .code(2);
        let err = stderr_of(&out);
        assert!(err.contains(says), "{err}");
        assert!(
            err.contains("versions.powershell") && err.contains("network.probes"),
            "{err}"
        );
    }
    let out = bin(&empty_path(dir.path()))
        .args(["--skip", "tls", "--only", "system"])
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("cannot be used with"));
    assert!(written(dir.path()).is_empty());
}

#[test]
fn dry_run_prints_the_commands_with_the_secret_masked_and_writes_no_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "Pl4nted-S3cret-9f2c";
    let log = dir.path().join("calls.log");
    let out = bin(&fake_path())
        .env("FAKE_LOG", &log)
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        .args(["--dry-run", "--skip", "caches", "-o"])
        .arg(dir.path())
        .args([
            "--",
            "az",
            "login",
            "--service-principal",
            "-u",
            "app",
            "-p",
        ])
        .arg(secret)
        .assert()
        .success();
    let (stdout, stderr) = (stdout_of(&out), stderr_of(&out));
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with("debug.run") && first.contains("az login --service-principal"),
        "{stdout}"
    );
    assert!(first.contains("-p [REDACTED"), "{first}");
    for line in [
        "az version -o json",
        "<Azure CLI's python> -c <print one JSON line",
        "reg query HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols /s",
        "netsh winhttp show proxy",
        "<scripts/inventory.ps1-az>",
    ] {
        assert!(stdout.contains(line), "no `{line}` in\n{stdout}");
    }
    // `az --version` checks for updates online: never planned.
    assert!(!stdout.contains("az --version"), "{stdout}");
    // ENTRA_COLLECT_NO_NETWORK is set by the test harness: no probe is planned.
    assert!(!stdout.contains("network.probes"), "{stdout}");
    assert!(stderr.contains("no bundle was written"), "{stderr}");
    assert!(written(dir.path()).is_empty(), "{:?}", written(dir.path()));
    assert!(!log.exists(), "a dry run started a command");
}

#[test]
fn completions_for_each_shell_know_the_options() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = bin("/nonexistent")
            .args(["completions", shell])
            .assert()
            .success();
        let text = stdout_of(&out);
        assert!(text.len() > 500, "{shell}: {text}");
        for opt in ["--run", "--skip", "--dry-run"] {
            // fish names long options without their dashes (`-l run`).
            let name = opt.trim_start_matches('-');
            assert!(
                text.contains(opt) || text.contains(&format!("-l {name}")),
                "{shell} lacks {opt}"
            );
        }
    }
    bin("/nonexistent")
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}

#[test]
fn man_page_has_its_sections() {
    let out = bin("/nonexistent").arg("man").assert().success();
    let text = stdout_of(&out);
    assert!(text.contains(".TH entra-collect 1"), "{text}");
    assert!(text.contains(".SH NAME"), "{text}");
    assert!(text.contains("entra\\-collect \\- Collect a redacted diagnostics bundle"));
    assert!(text.contains(".SH SUBCOMMANDS") && text.contains("completions"));
}

/// The long options of `collect` that `--help` shows (hidden test switches left out), with the
/// environment variable that also sets each, if any.
fn clap_options() -> Vec<(String, Option<String>)> {
    let cmd = Cli::command();
    let collect = cmd.find_subcommand("collect").expect("collect subcommand");
    collect
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| {
            let env = a.get_env().map(|e| e.to_string_lossy().into_owned());
            a.get_long().map(|l| (format!("--{l}"), env))
        })
        .collect()
}

/// The rows of README's `## Options` table: (first cell, whole row).
fn readme_option_rows() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Options\n")
        .nth(1)
        .expect("README has an Options section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| option") && !l.starts_with("|---"))
        .map(|l| {
            let first = l.trim_start_matches("| ").split(" | ").next().unwrap();
            (first.to_string(), l.to_string())
        })
        .collect()
}

#[test]
fn readme_option_table_lists_exactly_the_options_clap_knows() {
    let re = regex::Regex::new(r"--[a-z][a-z0-9-]*").unwrap();
    let rows = readme_option_rows();
    let documented: BTreeSet<String> = rows
        .iter()
        .flat_map(|(first, _)| re.find_iter(first).map(|m| m.as_str().to_string()))
        .collect();
    let mut known: BTreeSet<String> = clap_options().into_iter().map(|(l, _)| l).collect();
    known.extend(["--help".to_string(), "--version".into()]);
    let missing: Vec<_> = known.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&known).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README's option table differs from clap: missing {missing:?}, not an option {extra:?}"
    );
    // The `-- COMMAND` row is the trailing sign-in command.
    assert!(
        rows.iter()
            .any(|(first, _)| first.starts_with("`-- COMMAND"))
    );
    // An option that an environment variable also sets names it in its row.
    for (long, env) in clap_options() {
        let Some(env) = env else { continue };
        let row = rows
            .iter()
            .find(|(first, _)| re.find_iter(first).any(|m| m.as_str() == long))
            .map(|(_, row)| row)
            .unwrap();
        assert!(
            row.contains(&env),
            "README's {long} row does not name {env}: {row}"
        );
    }
}

/// Every exit code the program can return, found by an exhaustive match: a new `Exit` variant
/// does not compile here until it is listed (and so checked against the docs below).
fn exit_codes() -> Vec<u8> {
    use entra_collect::exit::Exit;
    let all = [
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::NoBundle,
        Exit::Interrupted,
        Exit::BrokenPipe,
    ];
    all.iter()
        .map(|e| match e {
            Exit::Ok
            | Exit::Failure
            | Exit::Usage
            | Exit::NoBundle
            | Exit::Interrupted
            | Exit::BrokenPipe => *e as u8,
        })
        .collect()
}

#[test]
fn help_and_readme_name_every_exit_code() {
    let help = bin("/nonexistent").arg("--help").assert().success();
    let help = stdout_of(&help);
    let help = help
        .split("Exit codes:")
        .nth(1)
        .expect("help lists exit codes");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("\n## Exit codes\n")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    for code in exit_codes() {
        let code = code.to_string();
        let in_help = help.split(|c: char| !c.is_ascii_digit()).any(|w| w == code);
        assert!(in_help, "--help's exit codes lack {code}: {help}");
        assert!(
            table.contains(&format!("\n| {code} |")),
            "README's exit code table lacks {code}"
        );
    }
}
