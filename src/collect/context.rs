//! `contexts` and `caches`: who is signed in, to which tenant, and what is cached — without
//! ever reading a token.
//!
//! `contexts` reads Azure CLI's own files directly (fast, offline): `azureProfile.json` (it
//! starts with a UTF-8 BOM), `clouds.config` and `config` in AZURE_CONFIG_DIR (default
//! `~/.azure`); Azure PowerShell's `AzureRmContextSettings.json`; Graph PowerShell's
//! `mg.authrecord.json` (its non-secret fields). The PowerShell contexts (`Get-AzContext
//! -ListAvailable`, `Get-AzConfig`; no `Get-MgContext`, null in a new process) come from the inventory run by
//! `versions.powershell`. `caches` lists token caches by name and never opens them.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde_json::Value;

use super::environment::{Shape, is_bool_word, shown_value};
use super::{Collector, Context, Outcome, json_str, strip_bom};
use crate::bundle::manifest::Status;
use crate::model::{
    self, AzContext, AzPsField, AzPsSetting, AzPsSettings, AzPsSettingsFile, AzSubscription,
    CacheEntry, CacheTool, Ini, MgAuthRecord, MgAuthRecordFile, Setting, TenantComparison,
    Withheld, names,
};
use crate::platform::Platform;

/// How `--tenant` compares with a context's tenant.
pub fn compare_tenant(requested: &str, tenant_id: &str, domains: &[&str]) -> TenantComparison {
    let r = requested.trim().to_ascii_lowercase();
    if is_guid(&r) {
        return if r == tenant_id.trim().to_ascii_lowercase() {
            TenantComparison::Match
        } else {
            TenantComparison::Mismatch
        };
    }
    if domains.iter().any(|d| d.eq_ignore_ascii_case(&r)) {
        return TenantComparison::Match;
    }
    // A domain cannot be turned into a tenant id offline.
    TenantComparison::Unknown
}

pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Azure CLI's configuration directory.
pub fn az_config_dir(ctx: &Context) -> Option<PathBuf> {
    ctx.env
        .get("AZURE_CONFIG_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| ctx.env.home_dir(ctx.platform).map(|h| h.join(".azure")))
}

/// Azure PowerShell's directory (`~/.Azure`).
pub fn azps_dir(ctx: &Context) -> Option<PathBuf> {
    ctx.env.home_dir(ctx.platform).map(|h| h.join(".Azure"))
}

/// A very small INI reader: section → key → raw value (every value, unfiltered: use
/// [`az_config`] or [`az_clouds`] for what goes into the bundle).
pub fn parse_ini(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in strip_bom(text).lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.trim().to_string(), Vec::new()));
            continue;
        }
        if let Some((k, v)) = line.split_once('=').or_else(|| line.split_once(':')) {
            if out.is_empty() {
                out.push((String::new(), Vec::new()));
            }
            let section = out.last_mut().expect("a section exists");
            section.1.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// `~/.azure/config` keys whose value may be shown, per section, with the shape it must have.
/// Verified against azure-cli: `_profile.py` (core.enable_broker_on_windows,
/// core.use_msal_http_cache, core.instance_discovery), `util.py` (core.encrypt_token_cache),
/// `az login`'s `custom.py` (core.login_experience_v2), `extension/dynamic_install.py`
/// (extension.use_dynamic_install: no / yes_prompt / yes_without_prompt,
/// extension.run_after_dynamic_install, extension.index_url), `azlogging.py`
/// (logging.enable_log_file, logging.log_dir), and learn.microsoft.com "Azure CLI
/// configuration" (core.output, core.disable_confirm_prompt, core.collect_telemetry,
/// core.only_show_errors, core.no_color, cloud.name, defaults.group, defaults.location).
/// core.allow_broker is the pre-2.61 name of enable_broker_on_windows.
pub const AZ_CONFIG_SAFE: &[(&str, &str, Shape)] = &[
    ("core", "output", Shape::Word),
    ("core", "disable_confirm_prompt", Shape::Bool),
    ("core", "collect_telemetry", Shape::Bool),
    ("core", "only_show_errors", Shape::Bool),
    ("core", "no_color", Shape::Bool),
    ("core", "enable_broker_on_windows", Shape::Bool),
    ("core", "allow_broker", Shape::Bool),
    ("core", "login_experience_v2", Shape::Bool),
    ("core", "encrypt_token_cache", Shape::Bool),
    ("core", "use_msal_http_cache", Shape::Bool),
    ("core", "instance_discovery", Shape::Bool),
    ("cloud", "name", Shape::Word),
    ("defaults", "group", Shape::Word),
    ("defaults", "location", Shape::Word),
    ("logging", "enable_log_file", Shape::Bool),
    ("logging", "log_dir", Shape::Path),
    ("extension", "use_dynamic_install", Shape::Word),
    ("extension", "run_after_dynamic_install", Shape::Bool),
    ("extension", "index_url", Shape::Url),
];

/// A withheld setting: present, value not recorded.
fn withheld() -> Setting {
    Setting::Withheld(Withheld::SET)
}

/// Azure CLI's `config`: section → key → value for the keys in [`AZ_CONFIG_SAFE`] whose value
/// has the expected shape; every other key as `{"set": true}` (storage keys, PATs, `auth =
/// Basic ...`, anything unknown).
pub fn az_config(text: &str) -> Ini {
    let mut out = Ini::new();
    for (section, pairs) in parse_ini(text) {
        let entry = out.entry(section.clone()).or_default();
        for (k, v) in pairs {
            let shape = AZ_CONFIG_SAFE
                .iter()
                .find(|(s, n, _)| s.eq_ignore_ascii_case(&section) && n.eq_ignore_ascii_case(&k))
                .map(|(_, _, shape)| *shape);
            let shown = shape.and_then(|s| shown_value(s, &v));
            entry.insert(k, shown.map_or_else(withheld, Setting::Shown));
        }
    }
    out
}

/// Azure CLI's `clouds.config` (section per cloud): `subscription` (a GUID), `profile` (a
/// word), `endpoint_*` (URLs without credentials or query) and `suffix_*` (domain suffixes);
/// every other key as `{"set": true}`.
pub fn az_clouds(text: &str) -> Ini {
    let mut out = Ini::new();
    for (section, pairs) in parse_ini(text) {
        let mut entry = BTreeMap::new();
        for (k, v) in pairs {
            let key = k.to_ascii_lowercase();
            let shown = if key == "subscription" {
                is_guid(&v).then(|| v.clone())
            } else if key == "profile" {
                shown_value(Shape::Word, &v)
            } else if key.starts_with("endpoint_") {
                shown_value(Shape::Url, &v)
            } else if key.starts_with("suffix_") {
                let d = v.trim_start_matches('.');
                super::environment::is_domain(d).then(|| v.clone())
            } else {
                None
            };
            entry.insert(k, shown.map_or_else(withheld, Setting::Shown));
        }
        out.insert(section, entry);
    }
    out
}

/// The fields of Azure PowerShell's `AzureRmContextSettings.json` (class
/// `ContextAutosaveSettings` in Azure/azure-powershell `src/Accounts/Authentication`): `Mode`
/// (Process / CurrentUser), the context and token-cache locations, and `Settings`, an open
/// string dictionary whose values are shown only when they are boolean words.
const AZPS_SETTINGS_FIELDS: &[(&str, Shape)] = &[
    ("Mode", Shape::Word),
    ("ContextDirectory", Shape::Path),
    ("ContextFile", Shape::Word),
    ("CacheDirectory", Shape::Path),
    ("CacheFile", Shape::Word),
    ("KeyStoreFile", Shape::Word),
];

/// `AzureRmContextSettings.json` reduced to its allowlisted fields; unknown fields by name only.
pub fn azps_settings(v: &Value) -> AzPsSettings {
    let Some(obj) = v.as_object() else {
        return AzPsSettings::Unrecognised { unrecognised: true };
    };
    let withheld = || Some(AzPsField::Withheld(Withheld::SET));
    let mut out = BTreeMap::new();
    for (k, val) in obj {
        let shape = AZPS_SETTINGS_FIELDS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, s)| *s);
        // Some(None): the file has null there.
        let shown: Option<Option<AzPsField>> = match (shape, val) {
            (_, Value::Null) => Some(None),
            (Some(s), Value::String(t)) => shown_value(s, t)
                .or_else(|| {
                    (s == Shape::Word)
                        .then(|| shown_value(Shape::Path, t))
                        .flatten()
                })
                .map(|t| Some(AzPsField::Shown(t))),
            (None, Value::Object(m)) if k.eq_ignore_ascii_case("Settings") => {
                let inner = m
                    .iter()
                    .map(|(sk, sv)| {
                        let shown = match sv {
                            Value::Bool(b) => Some(AzPsSetting::Bool(*b)),
                            Value::Null => None,
                            Value::String(t) if is_bool_word(t) => {
                                Some(AzPsSetting::Word(t.clone()))
                            }
                            _ => Some(AzPsSetting::Withheld(Withheld::SET)),
                        };
                        (sk.clone(), shown)
                    })
                    .collect();
                Some(Some(AzPsField::Settings(inner)))
            }
            _ => None,
        };
        out.insert(k.clone(), shown.unwrap_or_else(withheld));
    }
    AzPsSettings::Fields(out)
}

/// Read a small JSON file: Ok(None) when absent, Err(reason) when unreadable or invalid.
fn read_json(path: &Path) -> Result<Option<Value>, String> {
    let Some(c) = crate::fsutil::read_text_capped(path, crate::fsutil::CONFIG_CAP)? else {
        return Ok(None);
    };
    if let Some(note) = c.note() {
        return Err(format!("{} is {note}; not read", path.display()));
    }
    serde_json::from_str(strip_bom(&c.text()))
        .map(Some)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))
}

/// One subscription of `azureProfile.json`, compared with `--tenant` when given.
fn subscription(ctx: &Context, s: &Value) -> AzSubscription {
    let tenant_comparison = ctx.tenant.as_deref().map(|t| {
        let domains: Vec<&str> = s["tenantDefaultDomain"].as_str().into_iter().collect();
        compare_tenant(t, s["tenantId"].as_str().unwrap_or(""), &domains)
    });
    AzSubscription {
        id: json_str(&s["id"]),
        name: json_str(&s["name"]),
        state: json_str(&s["state"]),
        tenant_id: json_str(&s["tenantId"]),
        home_tenant_id: json_str(&s["homeTenantId"]),
        tenant_default_domain: json_str(&s["tenantDefaultDomain"]),
        tenant_display_name: json_str(&s["tenantDisplayName"]),
        environment: json_str(&s["environmentName"]),
        user_name: json_str(&s["user"]["name"]),
        user_type: json_str(&s["user"]["type"]),
        is_default: s["isDefault"].as_bool(),
        tenant_comparison,
    }
}

fn az_profile(ctx: &Context, out: &mut Outcome) -> AzContext {
    let Some(dir) = az_config_dir(ctx) else {
        return AzContext {
            error: Some("no home directory and no AZURE_CONFIG_DIR".into()),
            ..AzContext::default()
        };
    };
    let mut v = AzContext {
        config_dir: Some(dir.to_string_lossy().into_owned()),
        ..AzContext::default()
    };
    match read_json(&dir.join("azureProfile.json")) {
        Ok(Some(p)) => {
            let subs: Vec<AzSubscription> = p["subscriptions"]
                .as_array()
                .map(|a| a.iter().map(|s| subscription(ctx, s)).collect())
                .unwrap_or_default();
            v.signed_in = Some(!subs.is_empty());
            v.subscriptions = Some(subs);
        }
        Ok(None) => {
            v.profile = Some(
                "azureProfile.json not found: Azure CLI has not signed in with this configuration"
                    .into(),
            )
        }
        Err(e) => {
            out.degrade(Status::Failed, e.clone());
            v.profile_error = Some(e);
        }
    }
    let small = |name: &str| {
        crate::fsutil::read_capped(&dir.join(name), crate::fsutil::CONFIG_CAP)
            .ok()
            .map(|c| c.text())
    };
    if let Some(t) = small("clouds.config") {
        v.clouds = Some(az_clouds(&t));
    }
    if let Some(t) = small("config") {
        v.config = Some(az_config(&t));
    }
    v.active_cloud = match v.config.as_ref().and_then(|c| c.get("cloud")?.get("name")) {
        Some(Setting::Shown(name)) => Some(name.clone()),
        _ => None,
    };
    v
}

pub struct Contexts;

impl Collector for Contexts {
    fn id(&self) -> &'static str {
        "contexts"
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let mut out = Outcome::ok();
        let az = az_profile(ctx, &mut out);
        out.add_entry(ctx, names::AZ_CONTEXT, &az);

        if let Some(dir) = azps_dir(ctx) {
            let path = dir.join("AzureRmContextSettings.json");
            match read_json(&path) {
                Ok(Some(s)) => out.add_entry(
                    ctx,
                    names::AZPS_SETTINGS,
                    &AzPsSettingsFile {
                        path: path.to_string_lossy().into_owned(),
                        settings: azps_settings(&s),
                    },
                ),
                Ok(None) => {}
                Err(e) => out.degrade(Status::Failed, e),
            }
        }
        if let Some(home) = ctx.env.home_dir(ctx.platform) {
            let path = home.join(".mg").join("mg.authrecord.json");
            match read_json(&path) {
                Ok(Some(r)) => {
                    // Its non-secret fields (the record holds no token), each when present.
                    let field = |f: &str| r.get(f).and_then(json_str);
                    let record = MgAuthRecord {
                        username: field("username"),
                        authority: field("authority"),
                        tenant_id: field("tenantId"),
                        client_id: field("clientId"),
                        home_account_id: field("homeAccountId"),
                        version: field("version"),
                    };
                    let tenant_comparison = match (&ctx.tenant, &record.tenant_id) {
                        (Some(t), Some(tid)) => Some(compare_tenant(t, tid, &[])),
                        _ => None,
                    };
                    let v = MgAuthRecordFile {
                        path: path.to_string_lossy().into_owned(),
                        record,
                        tenant_comparison,
                    };
                    out.add_entry(ctx, names::MG_AUTHRECORD, &v);
                }
                Ok(None) => {}
                Err(e) => out.degrade(Status::Failed, e),
            }
        }
        out
    }
}

/// Where each tool keeps token caches: (tool, directory, exact names, name prefixes).
fn cache_locations(
    ctx: &Context,
) -> Vec<(CacheTool, PathBuf, Vec<&'static str>, Vec<&'static str>)> {
    let mut v = Vec::new();
    if let Some(az) = az_config_dir(ctx) {
        v.push((
            CacheTool::AzureCli,
            az,
            vec![
                "msal_token_cache.json",
                "msal_token_cache.bin",
                "service_principal_entries.json",
                "service_principal_entries.bin",
                "msal_http_cache.bin",
                "accessTokens.json",
            ],
            vec![],
        ));
    }
    if let Some(dir) = azps_dir(ctx) {
        v.push((
            CacheTool::AzPowershell,
            dir,
            vec!["AzureRmContext.json", "TokenCache.dat", "azkeystore"],
            vec![],
        ));
    }
    // Azure.Identity's cache directory, `LocalApplicationData/.IdentityService` (azure-sdk-for-net
    // Azure.Identity Constants.DefaultMsalTokenCacheDirectory), holds Azure PowerShell's
    // `msal.cache*` (azure-powershell MsalCacheHelperProvider) and Graph PowerShell's
    // `mg.msal.cache*` (msgraph-sdk-powershell Authentication.Core Constants.CacheName; `~/.mg`
    // holds only the auth record). Off Windows, .NET's LocalApplicationData is an absolute
    // XDG_DATA_HOME, else ~/.local/share (dotnet/runtime Environment.GetFolderPathCore.Unix.cs);
    // on macOS .NET 8+ moved it to ~/Library/Application Support (learn.microsoft.com dotnet/
    // core/compatibility/core-libraries/8.0/getfolderpath-unix), so pwsh 7.4+ and older pwsh
    // differ there: both are listed. Off Windows the caches may also be in the keyring.
    for dir in identity_service_dirs(ctx) {
        v.push((
            CacheTool::AzPowershell,
            dir.clone(),
            vec![],
            vec!["msal.cache"],
        ));
        v.push((
            CacheTool::GraphPowershell,
            dir,
            vec![],
            vec!["mg.msal.cache"],
        ));
    }
    if let Some(home) = ctx.env.home_dir(ctx.platform) {
        v.push((
            CacheTool::GraphPowershell,
            home.join(".mg"),
            vec!["mg.authrecord.json"],
            vec![],
        ));
        v.push((
            CacheTool::GraphPowershellV1,
            home.clone(),
            vec![".graph"],
            vec![],
        ));
    }
    v
}

/// The `.IdentityService` directories .NET's LocalApplicationData can put it in on this platform.
fn identity_service_dirs(ctx: &Context) -> Vec<PathBuf> {
    let home = ctx.env.home_dir(ctx.platform);
    let local_share = |h: &PathBuf| h.join(".local").join("share");
    let bases: Vec<PathBuf> = match ctx.platform {
        Platform::Windows => ctx
            .env
            .get("LOCALAPPDATA")
            .map(PathBuf::from)
            .into_iter()
            .collect(),
        Platform::Linux => ctx
            .env
            .get("XDG_DATA_HOME")
            .filter(|d| d.starts_with('/'))
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(local_share))
            .into_iter()
            .collect(),
        Platform::Macos => home
            .iter()
            .flat_map(|h| {
                [
                    h.join("Library").join("Application Support"),
                    local_share(h),
                ]
            })
            .collect(),
    };
    bases
        .into_iter()
        .map(|b| b.join(".IdentityService"))
        .collect()
}

/// Metadata of a path, without opening it.
fn stat(tool: CacheTool, path: &Path) -> CacheEntry {
    let mut e = CacheEntry {
        tool,
        path: path.to_string_lossy().into_owned(),
        exists: Some(false),
        is_dir: None,
        size: None,
        modified: None,
        error: None,
    };
    match std::fs::metadata(path) {
        Ok(m) => {
            e.exists = Some(true);
            e.is_dir = Some(m.is_dir());
            e.size = Some(m.len());
            e.modified = Some(
                m.modified()
                    .ok()
                    .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339()),
            );
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            e.exists = None;
            e.error = Some(err.to_string());
        }
    }
    e
}

pub struct Caches;

impl Collector for Caches {
    fn id(&self) -> &'static str {
        "caches"
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let mut entries = Vec::new();
        for (tool, dir, names, prefixes) in cache_locations(ctx) {
            for n in names {
                entries.push(stat(tool, &dir.join(n)));
            }
            if !prefixes.is_empty() {
                // Directory listing only: names and metadata, never the contents.
                let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .map(|rd| {
                        rd.filter_map(Result::ok)
                            .map(|e| e.path())
                            .filter(|p| {
                                p.file_name().is_some_and(|n| {
                                    prefixes
                                        .iter()
                                        .any(|pre| n.to_string_lossy().starts_with(pre))
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                found.sort();
                if found.is_empty() {
                    // Nothing matched: the pattern, as absent.
                    let pattern = dir.join(format!("{}*", prefixes[0]));
                    entries.push(CacheEntry {
                        tool,
                        path: pattern.to_string_lossy().into_owned(),
                        exists: Some(false),
                        is_dir: None,
                        size: None,
                        modified: None,
                        error: None,
                    });
                }
                for p in found {
                    entries.push(stat(tool, &p));
                }
            }
        }
        let present = entries.iter().filter(|e| e.exists == Some(true)).count();
        let mut out = Outcome::ok();
        out.add_entry(
            ctx,
            names::CACHES,
            &model::Caches {
                note: "token caches are listed, never opened".into(),
                present,
                caches: entries,
            },
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tenant_comparison() {
        let t = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        assert_eq!(
            compare_tenant("72F988BF-86F1-41AF-91AB-2D7CD011DB47", t, &[]),
            TenantComparison::Match
        );
        assert_eq!(
            compare_tenant("9a9a9a9a-0000-4000-8000-0000000000ff", t, &[]),
            TenantComparison::Mismatch
        );
        assert_eq!(
            compare_tenant("contoso.onmicrosoft.com", t, &["contoso.onmicrosoft.com"]),
            TenantComparison::Match
        );
        assert_eq!(
            compare_tenant("fabrikam.com", t, &["contoso.onmicrosoft.com"]),
            TenantComparison::Unknown
        );
    }

    #[test]
    fn az_config_default_deny() {
        let m = json!(az_config(
            "\u{feff}[core]\nenable_broker_on_windows = true\nencrypt_token_cache = false\noutput = json\nonly_show_errors = canaryNotBool\n\n[storage]\naccount_key = c2VjcmV0\nconnection_string = DefaultEndpointsProtocol=https\naccount = st1\n[devops]\npat = canaryPAT123456\n[sql]\npwd = canaryPwd123\n[http]\ncredential = canaryCred123\nauth = Basic Y2FuYXJ5QmFzaWM=\n[cloud]\nname = AzureCloud\n",
        ));
        assert_eq!(m["core"]["enable_broker_on_windows"], "true");
        assert_eq!(m["core"]["encrypt_token_cache"], "false");
        assert_eq!(m["core"]["output"], "json");
        assert_eq!(m["cloud"]["name"], "AzureCloud");
        assert_eq!(m["core"]["only_show_errors"], json!({ "set": true }));
        assert_eq!(m["storage"]["account_key"], json!({ "set": true }));
        assert_eq!(m["storage"]["account"], json!({ "set": true }));
        let shown = serde_json::to_string(&m).unwrap();
        for canary in [
            "canary",
            "c2VjcmV0",
            "Y2FuYXJ5",
            "DefaultEndpointsProtocol",
            "Basic",
        ] {
            assert!(!shown.contains(canary), "{canary} in {shown}");
        }
        assert!(m["devops"]["pat"]["set"] == true && m["http"]["auth"]["set"] == true);
    }

    #[test]
    fn clouds_config() {
        let m = json!(az_clouds(
            "[AzureCloud]\nsubscription = 1111aaaa-0000-4000-8000-000000000001\n[MyCloud]\nendpoint_resource_manager = https://u:canary@management.contoso.com/?sig=canary\nsuffix_storage_endpoint = core.contoso.com\nprofile = latest\nsecret_thing = canary\n",
        ));
        assert_eq!(
            m["AzureCloud"]["subscription"],
            "1111aaaa-0000-4000-8000-000000000001"
        );
        assert_eq!(
            m["MyCloud"]["endpoint_resource_manager"],
            "https://[REDACTED:url-credentials]@management.contoso.com/"
        );
        assert_eq!(m["MyCloud"]["suffix_storage_endpoint"], "core.contoso.com");
        assert_eq!(m["MyCloud"]["profile"], "latest");
        assert!(!serde_json::to_string(&m).unwrap().contains("canary"));
    }

    #[test]
    fn azps_settings_allowlist() {
        let v = json!(azps_settings(&json!({
            "Mode": "CurrentUser",
            "ContextDirectory": "C:\\Users\\alice\\.Azure",
            "ContextFile": "AzureRmContext.json",
            "CacheDirectory": "/home/alice/.Azure",
            "CacheFile": "msal.cache",
            "KeyStoreFile": "azkeystore",
            "Settings": { "InstallationId": "canarySetting", "Flag": "true" },
            "Unknown": "canaryUnknown",
            "Mode2": { "nested": "canaryNested" },
        })));
        assert_eq!(v["Mode"], "CurrentUser");
        assert_eq!(v["ContextDirectory"], "C:\\Users\\alice\\.Azure");
        assert_eq!(v["ContextFile"], "AzureRmContext.json");
        assert_eq!(v["CacheFile"], "msal.cache");
        assert_eq!(v["KeyStoreFile"], "azkeystore");
        assert_eq!(v["Settings"]["Flag"], "true");
        assert_eq!(v["Settings"]["InstallationId"], json!({ "set": true }));
        assert_eq!(v["Unknown"], json!({ "set": true }));
        assert!(!v.to_string().contains("canary"), "{v}");
    }
}
