//! `versions.powershell`: one run of `scripts/inventory.ps1` per PowerShell found — `pwsh`
//! everywhere, and on Windows also Windows PowerShell 5.1 (`powershell.exe`), which often has
//! different modules installed. The script prints `$PSVersionTable`, the .NET runtime and every
//! installed version of Az, Az.Accounts, Microsoft.Graph and Microsoft.Graph.Authentication.

use base64::Engine;
use serde_json::Value;

use super::{Collector, Context, Outcome, json_str, strip_bom};
use crate::bundle::manifest::Status;
use crate::exec::Cmd;
use crate::model::{
    AzConfigItem, AzPsContext, AzPsContexts, MgContext, MgContextFile, PowerShellVersions,
    PsModule, names,
};
use crate::vocab::version_key;

/// The inventory script, kept as a real file so it can be read and run by hand.
pub const INVENTORY_PS1: &str = include_str!("../../scripts/inventory.ps1");

const BEGIN: &str = "<<<ENTRA-COLLECT-JSON-BEGIN>>>";
const END: &str = "<<<ENTRA-COLLECT-JSON-END>>>";

pub struct VersionsPowerShell;

/// A PowerShell executable to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shell {
    /// Program name to resolve on PATH.
    pub program: &'static str,
    /// Used in entry names.
    pub label: &'static str,
    /// Windows PowerShell 5.1 needs `-ExecutionPolicy Bypass` to load module scripts.
    pub desktop: bool,
}

pub const PWSH: Shell = Shell {
    program: "pwsh",
    label: names::PWSH,
    desktop: false,
};
pub const WINDOWS_POWERSHELL: Shell = Shell {
    program: "powershell.exe",
    label: names::WINDOWS_POWERSHELL,
    desktop: true,
};

/// The shells to look for on this platform.
pub fn shells(ctx: &Context) -> Vec<Shell> {
    if ctx.platform.is_windows() {
        vec![PWSH, WINDOWS_POWERSHELL]
    } else {
        vec![PWSH]
    }
}

/// `-EncodedCommand` takes base64 of UTF-16LE; it avoids every quoting problem of `-Command`.
pub fn encode_command(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The command that runs `script` (shown in the manifest as `<name>` instead of the blob).
pub fn script_cmd(shell: Shell, script: &str, name: &str) -> Cmd {
    let mut shown = vec![
        "-NoProfile".to_string(),
        "-NonInteractive".into(),
        "-NoLogo".into(),
    ];
    if shell.desktop {
        shown.extend(["-ExecutionPolicy".to_string(), "Bypass".into()]);
    }
    let mut real = shown.clone();
    shown.extend(["-EncodedCommand".to_string(), format!("<{name}>")]);
    real.extend(["-EncodedCommand".to_string(), encode_command(script)]);
    Cmd::new(shell.program).args(real).display_args(shown)
}

/// Extract the JSON object printed between the marker lines.
pub fn extract_json(stdout: &str) -> Option<Value> {
    let text = strip_bom(stdout);
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text[start..].find(END)?;
    serde_json::from_str(strip_bom(text[start..end].trim())).ok()
}

/// Windows PowerShell 5.1 may serialize an array as `{"value": [...], "Count": n}` or a single
/// element as a bare object; normalize both to an array. Only an object with both members is
/// the wrapper: a lone `Get-AzConfig` item has a `value` of its own.
pub fn as_array(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Object(o) if o.contains_key("value") && o.contains_key("Count") => {
            as_array(&o["value"])
        }
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// The normalized facts stored as `versions/<label>.json`.
pub fn normalize(shell: Shell, program_path: &str, raw: &Value) -> PowerShellVersions {
    let psv = &raw["psversiontable"];
    let mut modules: Vec<PsModule> = as_array(&raw["modules"])
        .iter()
        .map(|m| PsModule {
            name: json_str(&m["name"]),
            version: json_str(&m["version"]),
            prerelease: json_str(&m["prerelease"]),
            path: json_str(&m["path"]),
        })
        .collect();
    modules.sort_by(|a, b| {
        let key = |m: &PsModule| {
            (
                m.name.clone().unwrap_or_default(),
                version_key(m.version.as_deref().unwrap_or("")),
            )
        };
        key(a).cmp(&key(b)).reverse()
    });
    PowerShellVersions {
        shell: shell.label.into(),
        program_path: program_path.into(),
        ps_version: json_str(&psv["PSVersion"]),
        edition: json_str(&psv["PSEdition"]),
        dotnet_runtime: json_str(&raw["dotnet_runtime"]),
        os_description: json_str(&raw["os_description"]),
        process_architecture: json_str(&raw["process_architecture"]),
        executable: json_str(&raw["executable"]),
        security_protocol: json_str(&raw["security_protocol"]),
        modules,
        psmodulepath: as_array(&raw["psmodulepath"])
            .iter()
            .filter_map(json_str)
            .collect(),
        psversiontable: psv.clone(),
    }
}

/// One `Get-AzContext` as the inventory printed it.
fn az_context(c: &Value) -> AzPsContext {
    AzPsContext {
        name: json_str(&c["name"]),
        account_id: json_str(&c["account_id"]),
        account_type: json_str(&c["account_type"]),
        tenant_id: json_str(&c["tenant_id"]),
        environment: json_str(&c["environment"]),
        subscription_id: json_str(&c["subscription_id"]),
        subscription_name: json_str(&c["subscription_name"]),
        is_current: c["is_current"].as_bool(),
        tenant_comparison: None,
    }
}

/// `Get-MgContext` as the inventory printed it; None when not connected.
fn mg_context(c: &Value) -> Option<MgContext> {
    c.is_object().then(|| MgContext {
        client_id: json_str(&c["client_id"]),
        tenant_id: json_str(&c["tenant_id"]),
        scopes: c["scopes"].clone(),
        auth_type: json_str(&c["auth_type"]),
        token_credential_type: json_str(&c["token_credential_type"]),
        context_scope: json_str(&c["context_scope"]),
        account: json_str(&c["account"]),
        environment: json_str(&c["environment"]),
    })
}

/// Write the PowerShell sign-in contexts the inventory reported (only for modules installed).
fn add_contexts(ctx: &Context, out: &mut Outcome, shell: Shell, raw: &Value) {
    let compare = |tid: &str| {
        ctx.tenant
            .as_deref()
            .map(|t| super::context::compare_tenant(t, tid, &[]))
    };
    if raw.get("az_contexts").is_some() || raw.get("az_error").is_some() {
        let contexts = as_array(&raw["az_contexts"])
            .iter()
            .map(|c| {
                let mut c = az_context(c);
                c.tenant_comparison = compare(c.tenant_id.as_deref().unwrap_or(""));
                c
            })
            .collect();
        let config = as_array(&raw["az_config"])
            .iter()
            .map(|c| AzConfigItem {
                key: json_str(&c["key"]),
                value: json_str(&c["value"]),
                level: json_str(&c["level"]),
            })
            .collect();
        let v = AzPsContexts {
            shell: shell.label.into(),
            contexts,
            config,
            error: json_str(&raw["az_error"]),
        };
        out.add_entry(ctx, &names::azps_contexts(shell.label), &v);
    }
    if raw.get("mg_context").is_some() || raw.get("mg_error").is_some() {
        let v = MgContextFile {
            shell: shell.label.into(),
            context: mg_context(&raw["mg_context"]),
            error: json_str(&raw["mg_error"]),
            tenant_comparison: raw["mg_context"]["tenant_id"].as_str().and_then(compare),
        };
        out.add_entry(ctx, &names::mg_context(shell.label), &v);
    }
}

impl Collector for VersionsPowerShell {
    fn id(&self) -> &'static str {
        "versions.powershell"
    }
    fn commands(&self) -> u32 {
        2 // the inventory in pwsh, then in powershell.exe (Windows)
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let candidates = shells(ctx);
        let found: Vec<_> = candidates
            .iter()
            .filter_map(|s| ctx.runner.resolve(s.program).map(|p| (*s, p)))
            .collect();
        if found.is_empty() {
            let names: Vec<_> = candidates.iter().map(|s| s.program).collect();
            return Outcome::skipped(format!(
                "no PowerShell found on PATH ({})",
                names.join(", ")
            ));
        }
        let mut out = Outcome::ok();
        let mut parsed = 0;
        for (shell, path) in found {
            if ctx.cancel().is_cancelled() {
                out.degrade(Status::Interrupted, "interrupted");
                break;
            }
            let cmd = script_cmd(shell, INVENTORY_PS1, "scripts/inventory.ps1");
            let o = match ctx.runner.run_resolved(&cmd, &path) {
                Ok(o) => o,
                Err(e) => {
                    out.degrade(Status::Failed, e.to_string());
                    continue;
                }
            };
            out.record(ctx, &o);
            let (stdout, _) = o.stdout.text();
            let (stderr, _) = o.stderr.text();
            match extract_json(&stdout) {
                Some(raw) => {
                    parsed += 1;
                    let facts = normalize(shell, &path.to_string_lossy(), &raw);
                    out.add_entry(ctx, &names::versions_shell(shell.label), &facts);
                    add_contexts(ctx, &mut out, shell, &raw);
                }
                None if !o.timed_out && !o.interrupted => out.degrade(
                    Status::Failed,
                    format!(
                        "{} printed no inventory (exit code {:?})",
                        shell.program, o.exit_code
                    ),
                ),
                None => {}
            }
            if parsed == 0 || !stderr.trim().is_empty() {
                let raw = format!(
                    "--- stdout ---\n{}\n--- stderr ---\n{}\n",
                    stdout.trim_end(),
                    stderr.trim_end()
                );
                out.add_text(&names::shell_output(shell.label), ctx.redactor.redact(&raw));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encoded_command_is_utf16le_base64() {
        // "ls" -> 6c 00 73 00
        assert_eq!(encode_command("ls"), "bABzAA==");
    }

    #[test]
    fn extracts_json_between_markers_with_noise_and_bom() {
        let s = format!("\u{feff}WARNING: noise\r\n{BEGIN}\r\n{{\"a\":1}}\r\n{END}\r\n");
        assert_eq!(extract_json(&s), Some(json!({"a": 1})));
        assert_eq!(extract_json("no markers"), None);
    }

    #[test]
    fn normalizes_windows_powershell_array_shapes() {
        assert_eq!(
            as_array(&json!({"value": [1, 2], "Count": 2})),
            vec![json!(1), json!(2)]
        );
        assert_eq!(
            as_array(&json!({"name": "Az"})),
            vec![json!({"name": "Az"})]
        );
        assert!(as_array(&Value::Null).is_empty());
        // A single Get-AzConfig item has a `value` member and is no wrapper.
        let item = json!({"key": "EnableLoginByWam", "value": "False", "level": "CurrentUser"});
        assert_eq!(as_array(&item), vec![item.clone()]);
    }

    #[test]
    fn versions_sort_numerically() {
        assert!(version_key("14.2.0") > version_key("9.0.1"));
        assert!(version_key("2.10.0") > version_key("2.9.3"));
    }

    #[test]
    fn desktop_shell_bypasses_execution_policy_and_hides_the_blob() {
        let cmd = script_cmd(WINDOWS_POWERSHELL, "Get-Date", "x.ps1");
        let shown = cmd.shown_argv();
        assert_eq!(
            shown,
            [
                "powershell.exe",
                "-NoProfile",
                "-NonInteractive",
                "-NoLogo",
                "-ExecutionPolicy",
                "Bypass",
                "-EncodedCommand",
                "<x.ps1>"
            ]
        );
    }
}
