//! `versions.powershell`: `scripts/inventory.ps1` in each PowerShell found — `pwsh`
//! everywhere, and on Windows also Windows PowerShell 5.1 (`powershell.exe`), which often has
//! different modules installed. The script runs as three processes per shell, in parallel, each
//! with its own timeout: `base` (`$PSVersionTable`, the .NET runtime, installed and retired
//! modules, execution policies), `az` (imports Az.Accounts: contexts and `Get-AzConfig`) and
//! `mg` (imports Microsoft.Graph.Authentication, only to see whether that works). Az.Accounts
//! and Microsoft.Graph.Authentication never share a process: in Windows PowerShell 5.1 their
//! assemblies conflict (msgraph-sdk-powershell #2148, #3479). `Get-MgContext` is not asked: in a
//! new process it is always null (#3587); Graph's trace on disk is `mg.authrecord.json`.

use base64::Engine;
use serde_json::Value;

use super::{Collector, Context, Outcome, json_str, strip_bom};
use crate::bundle::manifest::Status;
use crate::exec::Cmd;
use crate::model::{
    AzConfigItem, AzPsContext, AzPsContexts, ExecutionPolicyScope, ModuleImport,
    PowerShellVersions, PsModule, names,
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
/// Windows PowerShell starts without `PSModulePath`: launched from a pwsh window it would
/// otherwise inherit PowerShell 7's module folders and list (or load) modules 5.1 never sees
/// on its own; without the variable it builds its default path.
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
    let cmd = Cmd::new(shell.program).args(real).display_args(shown);
    if shell.desktop {
        cmd.env_remove("PSModulePath")
    } else {
        cmd
    }
}

/// The inventory's parts, one process each (see the module comment).
pub const PARTS: [&str; 3] = ["base", "az", "mg"];

/// The command that runs one part of the inventory: the script with `$EntraCollectPart` set.
pub fn part_cmd(shell: Shell, part: &str) -> Cmd {
    let script = format!("$EntraCollectPart = '{part}'\n{INVENTORY_PS1}");
    script_cmd(shell, &script, &format!("scripts/inventory.ps1-{part}"))
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

/// The modules listed under `key`, newest first per name.
fn module_list(raw: &Value, key: &str) -> Vec<PsModule> {
    let mut modules: Vec<PsModule> = as_array(&raw[key])
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
    modules
}

/// The `import` member of the `az` / `mg` part.
fn module_import(raw: &Value) -> Option<ModuleImport> {
    let i = &raw["import"];
    Some(ModuleImport {
        module: json_str(&i["module"])?,
        imported: i["imported"].as_bool().unwrap_or(false),
        version: json_str(&i["version"]),
        error: json_str(&i["error"]),
        error_id: json_str(&i["error_id"]),
        exception_type: json_str(&i["exception_type"]),
    })
}

/// The normalized facts stored as `versions/<label>.json`: the `base` part, with the import
/// results of the other parts (`imports`, any order; sorted here).
pub fn normalize(
    shell: Shell,
    program_path: &str,
    raw: &Value,
    imports: &[&Value],
) -> PowerShellVersions {
    let psv = &raw["psversiontable"];
    let mut imports: Vec<ModuleImport> = imports.iter().filter_map(|r| module_import(r)).collect();
    imports.sort_by(|a, b| a.module.cmp(&b.module));
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
        modules: module_list(raw, "modules"),
        retired_modules: module_list(raw, "retired_modules"),
        execution_policies: as_array(&raw["execution_policies"])
            .iter()
            .map(|p| ExecutionPolicyScope {
                scope: json_str(&p["scope"]),
                policy: json_str(&p["policy"]),
            })
            .collect(),
        effective_execution_policy: json_str(&raw["effective_execution_policy"]),
        imports,
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
                scope: json_str(&c["scope"]),
                applies_to: json_str(&c["applies_to"]),
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
}

impl Collector for VersionsPowerShell {
    fn id(&self) -> &'static str {
        "versions.powershell"
    }
    fn commands(&self) -> u32 {
        // Three inventory parts in pwsh, and three more in powershell.exe (Windows).
        6
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
        // Every part of every shell at once, each through the Runner with its own timeout:
        // a hanging module import then costs one timeout, not the sum of them.
        let jobs: Vec<_> = found
            .iter()
            .flat_map(|(shell, path)| PARTS.iter().map(move |part| (*shell, path, *part)))
            .collect();
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = jobs
                .iter()
                .map(|(shell, path, part)| {
                    let cmd = part_cmd(*shell, part);
                    s.spawn(move || ctx.runner.run_resolved(&cmd, path))
                })
                .collect();
            handles.into_iter().map(|h| h.join()).collect()
        });
        let mut out = Outcome::ok();
        for (shell, path) in &found {
            let mut parsed: Vec<(&str, Value)> = Vec::new();
            let mut raw_text = String::new();
            let mut keep_text = false;
            for ((s, _, part), result) in jobs.iter().zip(&results) {
                if s != shell {
                    continue;
                }
                let o = match result {
                    Ok(Ok(o)) => o,
                    Ok(Err(e)) => {
                        out.degrade(Status::Failed, format!("{} ({part}): {e}", shell.program));
                        continue;
                    }
                    Err(_) => {
                        out.degrade(
                            Status::Failed,
                            format!("{} ({part}) panicked", shell.program),
                        );
                        continue;
                    }
                };
                out.record(ctx, o);
                if o.interrupted {
                    out.degrade(Status::Interrupted, "interrupted");
                }
                let (stdout, _) = o.stdout.text();
                let (stderr, _) = o.stderr.text();
                match extract_json(&stdout) {
                    Some(raw) => parsed.push((part, raw)),
                    None => {
                        keep_text = true;
                        if !o.timed_out && !o.interrupted {
                            out.degrade(
                                Status::Failed,
                                format!(
                                    "{} ({part}) printed no inventory (exit code {})",
                                    shell.program,
                                    crate::collect::debug_run::exit_text(o.exit_code)
                                ),
                            );
                        }
                    }
                }
                keep_text |= !stderr.trim().is_empty();
                raw_text.push_str(&format!(
                    "--- {part}: stdout ---\n{}\n--- {part}: stderr ---\n{}\n",
                    stdout.trim_end(),
                    stderr.trim_end()
                ));
            }
            let part = |name: &str| parsed.iter().find(|(p, _)| *p == name).map(|(_, v)| v);
            let imports: Vec<&Value> = ["az", "mg"].iter().filter_map(|p| part(p)).collect();
            if let Some(base) = part("base") {
                let facts = normalize(*shell, &path.to_string_lossy(), base, &imports);
                out.add_entry(ctx, &names::versions_shell(shell.label), &facts);
            }
            if let Some(az) = part("az") {
                add_contexts(ctx, &mut out, *shell, az);
            }
            if keep_text {
                out.add_text(
                    &names::shell_output(shell.label),
                    ctx.redactor.redact(&raw_text),
                );
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

    /// Decode what `-EncodedCommand` carries (the test's own inverse of `encode_command`).
    fn decoded(cmd: &Cmd) -> String {
        let argv = cmd.real_argv_for_tests();
        let b64 = argv.last().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    }

    #[test]
    fn each_part_names_itself_on_the_first_line() {
        for part in PARTS {
            let cmd = part_cmd(PWSH, part);
            let script = decoded(&cmd);
            assert_eq!(
                script.lines().next(),
                Some(format!("$EntraCollectPart = '{part}'").as_str())
            );
            assert!(
                cmd.shown_argv()
                    .contains(&format!("<scripts/inventory.ps1-{part}>"))
            );
        }
    }

    /// The script never sets the console's output encoding (its setter changes the code page
    /// of the console shared with the user's shell) and prints through the ASCII helper.
    #[test]
    fn script_leaves_the_console_encoding_alone() {
        let code: Vec<&str> = INVENTORY_PS1
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert!(!code.iter().any(|l| l.contains("OutputEncoding")));
        assert!(INVENTORY_PS1.contains("$json = ConvertTo-AsciiJson -InputObject $result"));
        assert!(!code.iter().any(|l| l.contains("Get-MgContext")));
        assert!(INVENTORY_PS1.is_ascii());
    }

    #[test]
    fn only_windows_powershell_starts_without_psmodulepath() {
        let removed = |s| {
            part_cmd(s, "base")
                .removed_env()
                .iter()
                .map(|k| k.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(removed(WINDOWS_POWERSHELL), ["PSModulePath"]);
        assert!(removed(PWSH).is_empty());
    }

    #[test]
    fn normalizes_policies_retired_modules_and_imports() {
        let base = json!({"psversiontable": {"PSVersion": "5.1"},
            "modules": [], "psmodulepath": [],
            "retired_modules": {"value": [{"name": "AzureAD", "version": "2.0.2.182"}], "Count": 1},
            "execution_policies": {"value": [{"scope": "MachinePolicy", "policy": "AllSigned"}], "Count": 1},
            "effective_execution_policy": "AllSigned"});
        let mg = json!({"part": "mg", "import": {"module": "Microsoft.Graph.Authentication",
            "imported": false, "error": "x", "error_id": "UnauthorizedAccess,Microsoft.PowerShell.Commands.ImportModuleCommand",
            "exception_type": "System.Management.Automation.PSSecurityException"}});
        let az = json!({"part": "az", "import": {"module": "Az.Accounts", "imported": true, "version": "2.12.1"}});
        let empty = json!({"part": "mg"});
        let v = normalize(WINDOWS_POWERSHELL, "/x", &base, &[&mg, &az, &empty]);
        assert_eq!(v.retired_modules[0].name.as_deref(), Some("AzureAD"));
        assert_eq!(v.execution_policies[0].policy.as_deref(), Some("AllSigned"));
        assert_eq!(v.effective_execution_policy.as_deref(), Some("AllSigned"));
        let modules: Vec<_> = v.imports.iter().map(|i| i.module.as_str()).collect();
        assert_eq!(modules, ["Az.Accounts", "Microsoft.Graph.Authentication"]);
        assert!(v.imports[0].imported && !v.imports[1].imported);
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
