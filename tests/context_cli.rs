//! Sign-in contexts and token caches: parsed from fixture files (BOM, corrupt, missing), the
//! PowerShell contexts from the inventory, `--tenant` comparisons, and proof that caches are
//! listed but never opened.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn collect(home: &Path, out: &Path, extra_env: &[(&str, &str)], args: &[&str]) -> Bundle {
    let mut c = bin(&fake_path());
    c.env("HOME", home).timeout(Duration::from_secs(60));
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.args(["-q", "-o"]).arg(out).args(args).assert().success();
    read_bundle(&only_bundle(out))
}

#[test]
fn azure_cli_profile_config_and_tenant_comparison() {
    let d = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("context/azure"), &d.path().join(".azure"));
    let b = collect(
        d.path(),
        d.path(),
        &[],
        &["--tenant", "9a9a9a9a-0000-4000-8000-0000000000ff"],
    );
    let az = b.json("context/az.json");
    assert_eq!(az["signed_in"], true);
    assert_eq!(az["active_cloud"], "AzureCloud");
    let subs = az["subscriptions"].as_array().unwrap();
    assert_eq!(subs[0]["user_name"], "alice@contoso.com");
    assert_eq!(subs[0]["tenant_comparison"], "mismatch");
    assert_eq!(subs[1]["tenant_comparison"], "match");
    assert_eq!(az["config"]["core"]["encrypt_token_cache"], "true");
    assert_eq!(az["config"]["core"]["output"], "json");
    // Default-deny: keys not known to be safe are recorded as set, without their value.
    assert_eq!(
        az["config"]["storage"]["key"],
        serde_json::json!({ "set": true })
    );
    assert_eq!(
        az["config"]["storage"]["account"],
        serde_json::json!({ "set": true })
    );
    assert_eq!(
        az["clouds"]["AzureCloud"]["subscription"],
        "1111aaaa-0000-4000-8000-000000000001"
    );
    assert!(
        !b.all_text().contains("c2VjcmV0LXN0b3JhZ2Uta2V5"),
        "storage key leaked"
    );
    let summary = b.text("summary.md");
    assert!(summary.contains("| Azure CLI | alice@contoso.com | 72f988bf-86f1-41af-91ab-2d7cd011db47 | Contoso Prod (default) | mismatch |"), "{summary}");
    assert!(summary.contains("| Azure CLI | `az account clear` | `az logout` |"));
    assert!(summary.contains("`Clear-AzContext -Force` | `Disconnect-AzAccount`"));
    assert!(summary.contains("`Disconnect-MgGraph`"));
}

#[test]
fn missing_and_corrupt_profiles_are_reported_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    let b = collect(d.path(), d.path(), &[], &[]);
    assert_eq!(b.collector("contexts")["status"], "ok");
    assert!(
        b.json("context/az.json")["profile"]
            .as_str()
            .unwrap()
            .contains("not found")
    );

    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join(".azure")).unwrap();
    std::fs::write(
        d.path().join(".azure/azureProfile.json"),
        "\u{feff}{\"subscriptions\": [",
    )
    .unwrap();
    let b = collect(d.path(), d.path(), &[], &[]);
    let c = b.collector("contexts");
    assert_eq!(c["status"], "failed");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("azureProfile.json is not valid JSON"),
        "{c}"
    );
    assert!(
        b.entries.contains_key("context/az.json"),
        "what could be read is still kept"
    );
}

#[cfg(unix)]
#[test]
fn caches_are_listed_and_never_opened() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path();
    std::fs::create_dir_all(home.join(".azure")).unwrap();
    std::fs::create_dir_all(home.join(".Azure")).unwrap();
    std::fs::create_dir_all(home.join(".mg")).unwrap();
    std::fs::create_dir_all(home.join(".local/share/.IdentityService")).unwrap();
    std::fs::write(
        home.join(".azure/msal_token_cache.json"),
        "CANARY-TOKEN-CONTENT-1",
    )
    .unwrap();
    std::fs::write(
        home.join(".local/share/.IdentityService/mg.msal.cache.nocae"),
        "CANARY-TOKEN-CONTENT-2",
    )
    .unwrap();
    std::fs::write(
        home.join(".local/share/.IdentityService/msal.cache.cae"),
        "CANARY-TOKEN-CONTENT-3",
    )
    .unwrap();
    // A FIFO: opening it for reading would block forever, so the run finishing proves no open.
    let fifo = home.join(".Azure/TokenCache.dat");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // An unreadable cache must not cause a failure either.
    let locked = home.join(".azure/msal_http_cache.bin");
    std::fs::write(&locked, "CANARY-TOKEN-CONTENT-4").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();

    let out = home.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let b = collect(home, &out, &[], &[]);
    assert!(
        !b.all_text().contains("CANARY-TOKEN-CONTENT"),
        "a cache was read"
    );
    assert_eq!(b.collector("caches")["status"], "ok");
    let c = b.json("context/caches.json");
    assert_eq!(c["present"], 5);
    let find = |suffix: &str| {
        c["caches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"].as_str().unwrap().ends_with(suffix))
            .unwrap()
            .clone()
    };
    assert_eq!(find(".azure/msal_token_cache.json")["size"], 22);
    assert_eq!(find(".Azure/TokenCache.dat")["exists"], true);
    // Graph's token cache is under .NET's LocalApplicationData (~/.local/share on Linux), not ~/.mg.
    assert_eq!(
        find(".local/share/.IdentityService/mg.msal.cache.nocae")["tool"],
        "graph-powershell"
    );
    assert_eq!(
        find(".IdentityService/msal.cache.cae")["tool"],
        "az-powershell"
    );
    assert_eq!(
        find(".azure/service_principal_entries.json")["exists"],
        false
    );
    assert!(
        b.text("summary.md")
            .contains("5 token cache file(s) are present")
    );
}

#[test]
fn windows_paths_through_the_platform_override() {
    let d = tempfile::tempdir().unwrap();
    let profile = d.path().join("Users/alice");
    let local = profile.join("AppData/Local");
    std::fs::create_dir_all(local.join(".IdentityService")).unwrap();
    std::fs::write(
        local.join(".IdentityService/msal.cache"),
        "CANARY-TOKEN-CONTENT",
    )
    .unwrap();
    copy_dir(&fixtures().join("context/azure"), &profile.join(".azure"));
    let b = collect(
        d.path(),
        d.path(),
        &[
            ("ENTRA_COLLECT_PLATFORM", "windows"),
            ("USERPROFILE", profile.to_str().unwrap()),
            ("LOCALAPPDATA", local.to_str().unwrap()),
        ],
        &[],
    );
    assert_eq!(
        b.json("context/az.json")["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let c = b.json("context/caches.json");
    assert!(c["caches"].as_array().unwrap().iter().any(|e| {
        e["path"]
            .as_str()
            .unwrap()
            .ends_with("AppData/Local/.IdentityService/msal.cache")
            && e["exists"] == true
    }));
    assert!(!b.all_text().contains("CANARY-TOKEN-CONTENT"));
}

#[test]
fn powershell_contexts_from_the_inventory() {
    let d = tempfile::tempdir().unwrap();
    let b = collect(
        d.path(),
        d.path(),
        &[],
        &["--tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47"],
    );
    let azps = b.json("context/azps-pwsh.json");
    let ctxs = azps["contexts"].as_array().unwrap();
    assert_eq!(ctxs.len(), 2);
    assert_eq!(ctxs[0]["tenant_comparison"], "match");
    assert_eq!(ctxs[1]["tenant_comparison"], "mismatch");
    assert_eq!(azps["config"][0]["key"], "EnableLoginByWam");
    // Get-AzConfig's PSConfig has Scope and AppliesTo, no Level.
    assert_eq!(azps["config"][0]["scope"], "Default");
    assert_eq!(azps["config"][0]["applies_to"], "Az");
    assert!(azps["config"][0].get("level").is_none());
    // Get-MgContext is not asked (always null in a new process): no Graph context entry.
    assert!(!b.entries.contains_key("context/mg-pwsh.json"));
    assert!(b.text("summary.md").contains("| Azure PowerShell (pwsh) | alice@contoso.com | 9a9a9a9a-0000-4000-8000-0000000000ff | Fabrikam Dev | mismatch |"));
}

#[test]
fn az_config_and_azps_settings_keep_only_known_safe_values() {
    let d = tempfile::tempdir().unwrap();
    let az = d.path().join(".azure");
    std::fs::create_dir_all(&az).unwrap();
    std::fs::write(
        az.join("config"),
        "[core]\noutput = json\nlogin_experience_v2 = off\n[devops]\npat = canaryCfgPAT1\n[sql]\npwd = canaryCfgPwd2\n[http]\ncredential = canaryCfgCred3\nauth = Basic Y2FuYXJ5Q2ZnQmFzaWM0\n",
    )
    .unwrap();
    let azps = d.path().join(".Azure");
    std::fs::create_dir_all(&azps).unwrap();
    std::fs::write(
        azps.join("AzureRmContextSettings.json"),
        r#"{"Mode":"CurrentUser","ContextDirectory":"/home/alice/.Azure","ContextFile":"AzureRmContext.json","CacheDirectory":"/home/alice/.Azure","CacheFile":"msal.cache","KeyStoreFile":"azkeystore","Settings":{"Extra":"canaryAzpsSetting5"},"ClientSecret":"canaryAzpsField6"}"#,
    )
    .unwrap();
    let b = collect(d.path(), d.path(), &[], &[]);
    let all = b.all_text();
    for c in [
        "canaryCfgPAT1",
        "canaryCfgPwd2",
        "canaryCfgCred3",
        "Y2FuYXJ5Q2ZnQmFzaWM0",
        "canaryAzpsSetting5",
        "canaryAzpsField6",
    ] {
        assert!(!all.contains(c), "{c} leaked");
    }
    let cfg = &b.json("context/az.json")["config"];
    assert_eq!(cfg["core"]["output"], "json");
    assert_eq!(cfg["core"]["login_experience_v2"], "off");
    for (s, k) in [
        ("devops", "pat"),
        ("sql", "pwd"),
        ("http", "credential"),
        ("http", "auth"),
    ] {
        assert_eq!(cfg[s][k], serde_json::json!({ "set": true }), "{s}.{k}");
    }
    let st = &b.json("context/azps-settings.json")["settings"];
    assert_eq!(st["Mode"], "CurrentUser");
    assert_eq!(st["ContextDirectory"], "/home/alice/.Azure");
    assert_eq!(st["CacheFile"], "msal.cache");
    assert_eq!(st["ClientSecret"], serde_json::json!({ "set": true }));
    assert_eq!(st["Settings"]["Extra"], serde_json::json!({ "set": true }));
}
