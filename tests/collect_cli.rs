//! End-to-end tests of `entra-collect collect` with fake tools on PATH.

mod common;

use std::time::{Duration, Instant};

use common::*;
use predicates::prelude::*;

/// Collect quietly with the fake tools and `envs`; the directory lives as long as the result.
fn fake_run(envs: &[(&str, &str)]) -> (tempfile::TempDir, Bundle) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = bin(&fake_path());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.args(["-q", "-o"]).arg(dir.path()).assert().success();
    let b = read_bundle(&only_bundle(dir.path()));
    (dir, b)
}

#[test]
fn without_tools_writes_a_bundle_with_skipped_collectors() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin(&empty_path(dir.path()))
        .args(["collect", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let path = only_bundle(dir.path());
    assert_eq!(
        stdout.lines().last().unwrap(),
        path.to_str().unwrap(),
        "last stdout line is the path"
    );
    let name = path.file_name().unwrap().to_str().unwrap();
    let re = regex::Regex::new(r"^entra-collect-[A-Za-z0-9_-]+-\d{8}T\d{6}Z\.zip$").unwrap();
    assert!(re.is_match(name), "{name}");

    let b = read_bundle(&path);
    assert_eq!(b.collector("system")["status"], "ok");
    assert_eq!(b.collector("environment")["status"], "ok");
    assert_eq!(b.collector("versions.az")["status"], "skipped");
    assert_eq!(b.collector("versions.az")["reason"], "az not found on PATH");
    assert_eq!(b.collector("versions.powershell")["status"], "skipped");
    assert!(b.text("summary.md").contains("az not found on PATH"));

    manifest_snapshot("manifest_no_tools", &b.manifest);
}

#[cfg(unix)]
#[test]
fn bundle_is_mode_0600_and_no_temporary_file_is_left() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    bin(&empty_path(dir.path()))
        .arg("-o")
        .arg(dir.path())
        .arg("-q")
        .assert()
        .success();
    let path = only_bundle(dir.path());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let others: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "empty-bin" && !n.ends_with(".zip"))
        .collect();
    assert!(others.is_empty(), "left behind: {others:?}");
}

#[test]
fn json_output_names_the_bundle_and_collectors() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin(&fake_path())
        .args(["--json", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let path = only_bundle(dir.path());
    assert_eq!(v["bundle"], path.to_str().unwrap());
    assert_eq!(v["status"], "complete");
    let ids: Vec<_> = v["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "system",
            "environment",
            "versions.az",
            "versions.powershell",
            "contexts",
            "caches",
            "network.proxy",
            "tls",
            "network.probes"
        ]
    );
    // Everything ran but the probes, which the tests switch off (no real network here).
    for c in v["collectors"].as_array().unwrap() {
        let want = if c["id"] == "network.probes" {
            "skipped"
        } else {
            "ok"
        };
        assert_eq!(c["status"], want, "{v}");
    }
}

#[test]
fn fake_tools_versions_appear() {
    let (_dir, b) = fake_run(&[]);
    let az = b.json("versions/az.json");
    assert_eq!(az["azure_cli"], "2.91.0");
    assert_eq!(az["azure_cli_core"], "2.91.0");
    assert_eq!(az["msal"], "1.39.0");
    assert_eq!(az["python_version"], "3.13.9");
    assert_eq!(az["extensions"]["account"], "0.2.5");
    let ps = b.json("versions/pwsh.json");
    assert_eq!(ps["ps_version"], "7.4.6");
    assert_eq!(ps["dotnet_runtime"], ".NET 8.0.11");
    let mods: Vec<String> = ps["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {}",
                m["name"].as_str().unwrap(),
                m["version"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        mods.contains(&"Az.Accounts 5.1.1".to_string())
            && mods.contains(&"Az.Accounts 3.0.4".to_string())
    );
    assert!(mods.contains(&"Microsoft.Graph.Authentication 2.28.0".to_string()));
    // Not on Linux: Windows PowerShell is only looked for on Windows.
    assert!(!b.entries.contains_key("versions/windows-powershell.json"));

    let az_cmds = b.collector("versions.az")["commands"].clone();
    assert_eq!(
        az_cmds[0]["command_line"],
        serde_json::json!(["az", "version", "-o", "json"])
    );
    assert_eq!(az_cmds[0]["exit_code"], 0);
    let ps_cmd = &b.collector("versions.powershell")["commands"][0]["command_line"];
    assert_eq!(
        ps_cmd,
        &serde_json::json!([
            "pwsh",
            "-NoProfile",
            "-NonInteractive",
            "-NoLogo",
            "-EncodedCommand",
            "<scripts/inventory.ps1-base>"
        ])
    );
    let parts: Vec<_> = b.collector("versions.powershell")["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command_line"][5].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        parts,
        [
            "<scripts/inventory.ps1-base>",
            "<scripts/inventory.ps1-az>",
            "<scripts/inventory.ps1-mg>"
        ]
    );
    let pwsh = b.json("versions/pwsh.json");
    assert_eq!(pwsh["retired_modules"][0]["name"], "AzureAD");
    assert_eq!(pwsh["execution_policies"][3]["scope"], "CurrentUser");
    assert_eq!(pwsh["imports"][0]["module"], "Az.Accounts");
    assert_eq!(
        pwsh["imports"][1]["module"],
        "Microsoft.Graph.Authentication"
    );
    let azps = b.json("context/azps-pwsh.json");
    assert_eq!(azps["config"][1]["scope"], "CurrentUser");
    assert_eq!(azps["config"][1]["applies_to"], "Az");
    assert!(!b.entries.contains_key("context/mg-pwsh.json"));

    let summary = b.text("summary.md");
    assert!(
        summary.contains(
            "| Azure CLI (az) | 2.91.0 | msal 1.39.0; Python 3.13.9; extensions: account 0.2.5 |"
        ),
        "{summary}"
    );
    assert!(summary.contains("Az.Accounts (pwsh) | 5.1.1"), "{summary}");
}

#[test]
fn windows_platform_override_runs_both_powershells() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    bin(&fake_path())
        .env("ENTRA_COLLECT_PLATFORM", "windows")
        // As when started from a pwsh window: the fake powershell.exe refuses to start with it.
        .env("PSModulePath", "/pwsh/7/Modules")
        .env("FAKE_LOG", &log)
        .args(["-q", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(dir.path()));
    assert_eq!(b.manifest["host"]["platform"], "windows");
    let desk = b.json("versions/windows-powershell.json");
    assert_eq!(desk["ps_version"], "5.1.22621.4391");
    assert_eq!(desk["edition"], "Desktop");
    assert_eq!(desk["modules"][0]["name"], "Az.Accounts");
    assert_eq!(desk["psmodulepath"].as_array().unwrap().len(), 3);
    assert!(b.entries.contains_key("versions/pwsh.json"));
    let calls = std::fs::read_to_string(&log).unwrap();
    // One process per inventory part and PowerShell: Az.Accounts and Graph never share one.
    for shell in ["pwsh", "powershell.exe"] {
        let mut parts: Vec<_> = calls
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{shell} inventory part: ")))
            .collect();
        parts.sort();
        assert_eq!(parts, ["az", "base", "mg"], "{shell}: {calls}");
    }
    assert_eq!(desk["imports"][0]["module"], "Az.Accounts");
    assert_eq!(desk["retired_modules"][0]["name"], "MSOnline");
    assert_eq!(desk["execution_policies"][4]["policy"], "Restricted");
    assert_eq!(b.collector("versions.powershell")["status"], "ok");
}

#[test]
fn hanging_tool_is_killed_with_its_children_and_the_bundle_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let t0 = Instant::now();
    bin(&fake_path())
        .env("FAKE_AZ_MODE", "hang")
        .env("FAKE_PIDFILE", &pidfile)
        .args(["-q", "--timeout", "1", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t0.elapsed()
    );
    let b = read_bundle(&only_bundle(dir.path()));
    let az = b.collector("versions.az");
    assert_eq!(az["status"], "timed_out", "{az}");
    assert_eq!(az["commands"][0]["timed_out"], true);
    // Beside it, az's Python answered (it does not hang with az); nothing else ran.
    assert_eq!(az["commands"].as_array().unwrap().len(), 2, "{az}");
    assert_eq!(az["commands"][1]["command_line"][0], "python3", "{az}");
    assert_eq!(az["commands"][1]["timed_out"], false, "{az}");
    assert_eq!(b.collector("versions.powershell")["status"], "ok");
    let pids = std::fs::read_to_string(&pidfile).unwrap();
    for pid in pids.split_whitespace() {
        assert!(!alive(pid), "process {pid} of the hung tool survived");
    }
}

#[test]
fn flooding_tool_is_capped_and_marked_truncated() {
    let dir = tempfile::tempdir().unwrap();
    bin(&fake_path())
        .env("FAKE_AZ_MODE", "flood")
        .args(["-q", "--max-output-bytes", "100000", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(dir.path()));
    let cmd = &b.collector("versions.az")["commands"][0];
    assert_eq!(cmd["truncated"], true);
    assert_eq!(cmd["stdout_bytes"], 40_000_000);
    assert!(b.text("versions/az-version.txt").len() < 300_000);
}

#[test]
fn failing_tool_is_failed_with_a_reason() {
    let (_d, b) = fake_run(&[("FAKE_AZ_MODE", "fail")]);
    let az = b.collector("versions.az");
    assert_eq!(az["status"], "failed");
    assert_eq!(az["reason"], "az version exited with 1");
    assert!(
        b.text("versions/az-version.txt")
            .contains("No module named 'azure.cli.core'")
    );
}

#[test]
fn invalid_utf8_is_kept_lossily_and_noted() {
    let (_d, b) = fake_run(&[("FAKE_AZ_MODE", "badutf8")]);
    assert_eq!(
        b.collector("versions.az")["commands"][0]["lossy_utf8"],
        true
    );
    // Off Windows invalid UTF-8 stays UTF-8, read lossily.
    assert_eq!(
        b.collector("versions.az")["commands"][0]["encoding"],
        "utf-8"
    );
    assert!(
        b.text("versions/az-version.txt")
            .contains("azure-cli \u{fffd}\u{fffd} 2.91.0")
    );
}

#[test]
fn powershell_without_inventory_is_failed_and_its_output_kept() {
    let (_d, b) = fake_run(&[("FAKE_PWSH_MODE", "garbage")]);
    assert_eq!(b.collector("versions.powershell")["status"], "failed");
    assert!(
        b.text("versions/pwsh.output.txt")
            .contains("Import-Module: something broke")
    );
}

#[test]
fn unwritable_output_dir_exits_3_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    // A missing directory is created (run_flow.rs); one under a regular file cannot be.
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    bin(&empty_path(dir.path()))
        .args(["-o"])
        .arg(dir.path().join("a-file/sub"))
        .assert()
        .code(3)
        .stdout("")
        .stderr(
            predicate::str::contains("Cannot write to")
                .and(predicate::str::contains("not a directory"))
                .and(predicate::str::contains(
                    "Choose another directory with -o.",
                )),
        );
}

#[test]
fn usage_error_exits_2() {
    bin("/nonexistent")
        .args(["collect", "--timeout", "abc"])
        .assert()
        .code(2);
    bin("/nonexistent")
        .args(["--no-such-flag"])
        .assert()
        .code(2);
}

#[test]
fn help_and_version() {
    bin("/nonexistent")
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:").and(predicate::str::contains("Exit codes")));
    bin("/nonexistent")
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("entra-collect "));
}

#[test]
fn secrets_from_the_environment_never_reach_the_bundle_or_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin(&fake_path())
        .env("AZURE_CLIENT_SECRET", "Zq8~planted-client-secret")
        .env("IDENTITY_HEADER", "planted-identity-header")
        .env(
            "HTTPS_PROXY",
            "http://planted-proxy-user:planted-proxy-pw@proxy.corp:8080",
        )
        .env("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
        .args(["--json", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(dir.path()));
    let all = b.all_text()
        + &String::from_utf8_lossy(&out.get_output().stdout)
        + &String::from_utf8_lossy(&out.get_output().stderr);
    for secret in [
        "planted-client-secret",
        "planted-identity-header",
        "planted-proxy-pw",
        "planted-proxy-user",
    ] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
    let env = b.json("environment.json");
    assert_eq!(env["variables"]["AZURE_CLIENT_SECRET"]["set"], true);
    assert_eq!(
        env["variables"]["HTTPS_PROXY"]["value"],
        "http://[REDACTED:url-credentials]@proxy.corp:8080"
    );
    assert_eq!(
        env["variables"]["AZURE_TENANT_ID"]["value"],
        "72f988bf-86f1-41af-91ab-2d7cd011db47"
    );
    assert_eq!(env["variables"]["REQUESTS_CA_BUNDLE"]["set"], false);
    let counts = &b.manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "environment.json")
        .unwrap()["redactions"];
    // The proxy credentials are cut by the collector (redact::url) before the redactor sees
    // the file, so the redactor has nothing left to count there.
    assert!(counts.get("url-credentials").is_none(), "{counts}");
}

#[test]
fn secret_arguments_are_redacted_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    // A proxy URL with credentials passed as the output directory name ends up in invocation.args.
    let sub = dir.path().join("http:");
    std::fs::create_dir_all(&sub).unwrap();
    let weird = format!("{}//bob:planted-pw@h", sub.display());
    std::fs::create_dir_all(&weird).unwrap();
    bin(&empty_path(dir.path()))
        .args(["-q", "-o", &weird])
        .assert()
        .success();
    let b = read_bundle(&only_bundle(std::path::Path::new(&weird)));
    assert!(!b.text("manifest.json").contains("planted-pw"));
}

#[cfg(unix)]
#[test]
fn sigint_kills_children_and_writes_a_partial_bundle_with_exit_130() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("entra-collect"))
        .env_clear()
        .env("PATH", fake_path())
        .env("ENTRA_COLLECT_NO_NETWORK", "1")
        .env("FAKE_AZ_MODE", "hang")
        .env("FAKE_PIDFILE", &pidfile)
        .args(["-q", "--timeout", "120", "-o"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the fake az (and its grandchild) are running.
    let t0 = Instant::now();
    while std::fs::read_to_string(&pidfile)
        .map(|s| s.lines().count())
        .unwrap_or(0)
        < 2
    {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "fake az never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(t0.elapsed() < Duration::from_secs(20));
    let b = read_bundle(&only_bundle(dir.path()));
    assert_eq!(b.manifest["status"], "interrupted");
    let az = b.collector("versions.az");
    assert_eq!(az["status"], "interrupted", "{az}");
    assert_eq!(az["commands"][0]["interrupted"], true);
    assert!(b.text("summary.md").contains("interrupted"));
    for pid in std::fs::read_to_string(&pidfile)
        .unwrap()
        .split_whitespace()
    {
        assert!(!alive(pid), "process {pid} survived Ctrl-C");
    }
}

#[test]
fn manifest_with_fake_tools() {
    let (_dir, b) = fake_run(&[]);
    manifest_snapshot("manifest_fake_tools", &b.manifest);
}

#[test]
fn rules_subcommand_lists_every_rule_with_examples() {
    let out = bin("/nonexistent").arg("rules").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for name in [
        "authorization-header",
        "jwt",
        "refresh-token",
        "oauth-field",
        "command-line-secret",
        "cookie",
        "sas-signature",
        "connection-string-key",
        "private-key",
        "url-credentials",
        "known-secret-value",
        "pii-email",
    ] {
        assert!(
            text.contains(&format!("{name}\n  matches:")),
            "{name} missing"
        );
    }
    let out = bin("/nonexistent")
        .args(["rules", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|r| r["redacted"].as_str().unwrap() != r["example"].as_str().unwrap())
    );
}

/// `rules --lang ja`: Japanese labels and descriptions; names, examples and results unchanged.
#[test]
fn rules_subcommand_speaks_japanese() {
    let out = bin("/nonexistent")
        .args(["rules", "--lang", "ja"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("pii-path-user\n  対象:"), "{text}");
    assert!(text.contains("秘密鍵"), "{text}");
    assert!(!text.contains("matches:"), "{text}");
    let out = bin("/nonexistent")
        .args(["rules", "--json", "--lang", "ja"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|r| !r["matches"].as_str().unwrap().is_ascii())
    );
}

#[test]
fn the_top_findings_are_printed_before_the_path_without_colour_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin(&fake_path())
        .args(["-o"])
        .arg(dir.path())
        .args(["--", "az", "login", "-u", "app", "-p", "pw"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let verdict = stderr.find("most likely first:").expect("verdict printed");
    assert!(stderr[verdict..].contains("[entra.aadsts]"), "{stderr}");
    assert!(stderr.contains("fix: Use the secret's value"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes off a terminal");
    let stdout = String::from_utf8_lossy(&out.get_output().stdout);
    assert!(stdout.trim_end().ends_with(".zip"));
    // In Japanese too.
    let out = bin(&fake_path())
        .env("LANG", "ja_JP.UTF-8")
        .args(["-o"])
        .arg(dir.path())
        .args(["--", "az", "login"])
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("可能性の高い順"));
}

#[test]
fn versions_az_asks_azs_python_once_instead_of_az_dash_dash_version() {
    // `az --version` checks for updates online; its extra facts come from az's Python, in the
    // one call tls shares.
    let log = tempfile::NamedTempFile::new().unwrap();
    let (_dir, b) = fake_run(&[("FAKE_LOG", log.path().to_str().unwrap())]);
    let calls = std::fs::read_to_string(log.path()).unwrap();
    assert!(!calls.contains("az --version"), "{calls}");
    assert_eq!(calls.matches("az version -o json").count(), 1, "{calls}");
    assert_eq!(calls.matches("python3 -c").count(), 1, "{calls}");
    let az = b.json("versions/az.json");
    assert_eq!(az["python_version"], "3.13.9", "{az:#}");
    assert_eq!(az["python_platform"], "Windows", "{az:#}");
    assert!(
        az["python_location"]
            .as_str()
            .unwrap()
            .ends_with("python.exe"),
        "{az:#}"
    );
    assert!(
        az["extensions_directory"]
            .as_str()
            .unwrap()
            .ends_with("cliextensions"),
        "{az:#}"
    );
    // Recorded once, under versions.az; tls read the same answer.
    let v = b.collector("versions.az");
    assert_eq!(v["commands"][1]["command_line"][0], "python3", "{v}");
    assert_eq!(b.collector("tls")["commands"].as_array().unwrap().len(), 1);
    let tls = b.json("tls/settings.json");
    assert_eq!(
        tls["azure_cli_python"]["openssl"], "OpenSSL 3.0.17 1 Jul 2025",
        "{tls:#}"
    );
    let text = b.text("versions/az-version.txt");
    assert!(text.contains("### az version -o json"), "{text}");
    assert!(text.contains("-c <the facts snippet>"), "{text}");
    assert!(text.contains("\"python_version\": \"3.13.9\""), "{text}");
}

#[test]
fn only_tls_records_azs_python_call_under_tls() {
    let dir = tempfile::tempdir().unwrap();
    bin(&fake_path())
        .args(["-q", "--only", "tls", "-o"])
        .arg(dir.path())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(dir.path()));
    let tls = b.collector("tls");
    let cmds: Vec<&str> = tls["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command_line"][0].as_str().unwrap())
        .collect();
    assert_eq!(cmds, ["openssl", "python3"], "{tls}");
}

#[test]
fn real_az_versions_come_without_az_dash_dash_version() {
    let Some(dir) = real_az_or_skip() else {
        return;
    };
    let cfg = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    bin(&format!("{}:/usr/bin:/bin", dir.display()))
        .env("AZURE_CONFIG_DIR", cfg.path())
        .args(["-q", "--only", "versions.az", "-o"])
        .arg(out.path())
        .assert()
        .success();
    let b = read_bundle(&only_bundle(out.path()));
    let v = b.collector("versions.az");
    assert_eq!(v["status"], "ok", "{v}");
    assert!(!v.to_string().contains("--version"), "{v}");
    let az = b.json("versions/az.json");
    for key in [
        "azure_cli",
        "msal",
        "python_version",
        "python_location",
        "config_directory",
        "extensions_directory",
    ] {
        assert!(
            az[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key}: {az:#}"
        );
    }
    assert!(
        az["python_location"].as_str().unwrap().contains("python"),
        "{az:#}"
    );
}
