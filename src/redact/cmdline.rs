//! Default-deny sanitizing of command lines (argv vectors, PowerShell script text and the
//! argument list `az --debug` logs).
//!
//! The regex rules in `rules.rs` look for secrets by the name of the flag in front of them; that
//! is deny-listing, and it leaks whenever a tool accepts a spelling the list does not know:
//! argparse abbreviations (`--pass X`), attached short options (`-pX`), PowerShell's many ways
//! of producing a string (`'X' | ConvertTo-SecureString`, `$pw = 'X'`, splatting, ...). This
//! module inverts the model:
//!
//! * names are kept: the program, option / parameter names, leading sub-command words,
//!   PowerShell command names, variables, type literals, member names and hash-table keys;
//! * a value is kept only when it belongs to an option on a per-tool allowlist of options known
//!   to carry nothing secret (`--tenant`, `-Scopes`, `--output`, ...), matched exactly;
//! * every other value, positional and string literal becomes `[REDACTED:argument]`, and the
//!   original goes into [`Sanitized::masked`] so the caller can also scrub it from other output.
//!   [`Masked::secret_flag`] says whether the position looked secret (a password-like option,
//!   a string given to `ConvertTo-SecureString`, ...), which a caller can use to decide which
//!   values are worth removing wherever else they appear.
//!
//! Parsing errors can therefore only lose information, never show a value: whatever is not
//! recognised as a name is masked. Everything here is pure (no I/O) and idempotent: output that
//! already went through it comes back unchanged and reports nothing in `masked`.

use base64::Engine;

/// The rule name in this module's markers: `[REDACTED:argument]`.
pub const ARG_RULE: &str = "argument";
const MARKER: &str = "[REDACTED:argument]";

/// A sanitized argv.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sanitized {
    /// What may be shown or stored.
    pub argv: Vec<String>,
    /// Every original value that was replaced.
    pub masked: Vec<Masked>,
}

/// One value that was replaced by a marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub value: String,
    /// The value sat where secrets go: an option named like a password / secret / token / key /
    /// credential / assertion (or az's `-p`), or a PowerShell string given to
    /// `ConvertTo-SecureString`, a credential constructor, a variable or `$env:` assignment or a
    /// (splatting) hash-table value.
    pub secret_flag: bool,
}

/// A value that is already exactly one marker (`[REDACTED:name]`) is left alone, so that
/// sanitizing twice changes nothing. Deliberately stricter than "starts with `[REDACTED:`":
/// `[REDACTED:x] hunter2` must not pass as already redacted.
fn is_marked(s: &str) -> bool {
    s.strip_prefix(super::MARKER_PREFIX)
        .and_then(|r| r.strip_suffix(']'))
        .is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// Collects the masked values.
#[derive(Default)]
struct Sink {
    masked: Vec<Masked>,
}

impl Sink {
    /// The marker that replaces `value` (or `value` itself when it already is a marker).
    fn mask(&mut self, value: &str, secret: bool) -> String {
        if is_marked(value) {
            return value.to_string();
        }
        // An empty value hides nothing, but is still replaced: the output then shows that a value
        // was given without saying what it was.
        if !value.is_empty() {
            self.masked.push(Masked {
                value: value.to_string(),
                secret_flag: secret,
            });
        }
        MARKER.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Names that say "secret"
// ---------------------------------------------------------------------------------------------

fn strip_dashes(name: &str) -> &str {
    name.trim_start_matches(is_dash)
}

/// An option / parameter / variable name that says its value is secret.
fn is_secret_name(name: &str) -> bool {
    let n = strip_dashes(name).to_ascii_lowercase();
    if n == "p" && name.starts_with(is_dash) {
        return true; // az login -p (a variable `$p` is not a password)
    }
    let compact: String = n.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "key",
        "cred",
        "assertion",
    ]
    .iter()
    .any(|w| compact.contains(w))
}

/// az options whose argparse abbreviations (`--pass`, `--p`, `--federated-tok`) are accepted by
/// az and therefore also carry a secret.
const AZ_SECRET_LONG: &[&str] = &[
    "password",
    "federated-token",
    "client-secret",
    "certificate-password",
];

/// PowerShell parameters whose unambiguous-or-not prefixes (`-ClientSec`, `-Pass`) count as
/// secret for [`Masked::secret_flag`] (PowerShell binds prefixes).
const PS_SECRET_PARAMS: &[&str] = &[
    "clientsecret",
    "password",
    "certificatepassword",
    "accesstoken",
    "graphaccesstoken",
    "keyvaultaccesstoken",
    "microsoftgraphaccesstoken",
    "federatedtoken",
    "clientassertion",
    "credential",
    "clientsecretcredential",
];

// ---------------------------------------------------------------------------------------------
// Allowlists
// ---------------------------------------------------------------------------------------------

/// az options whose value is shown. Names from Azure/azure-cli
/// `src/azure-cli/azure/cli/command_modules/profile/__init__.py` (`load_arguments`: login
/// `--username/-u`, `--tenant/-t`, `--scope`, managed identity `--client-id`, `--object-id`,
/// `--resource-id`; account `--subscription/-s/--name/-n`; get-access-token `--resource`,
/// `--resource-type`, `--scope`, `--tenant/-t`) and microsoft/knack (`knack/output.py`
/// `--output/-o`, `knack/query.py` `--query`), plus the common resource options
/// `--resource-group/-g`, `--location/-l` and `--scopes`. Older az versions had
/// `--identity-port` (a port number).
const AZ_SAFE_VALUES: &[&str] = &[
    "--tenant",
    "-t",
    "--username",
    "-u",
    "--scope",
    "--scopes",
    "--output",
    "-o",
    "--query",
    "--subscription",
    "-s",
    "--resource",
    "--resource-type",
    "--name",
    "-n",
    "--resource-group",
    "-g",
    "--location",
    "-l",
    "--client-id",
    "--object-id",
    "--resource-id",
    "--identity-port",
];

/// az options taking several values (`nargs='+'` / `'*'` in the source above).
const AZ_MULTI_VALUES: &[&str] = &["--scope", "--scopes"];

/// az options that take no value (`action='store_true'` in profile/__init__.py; `--debug`,
/// `--verbose`, `--only-show-errors` from knack/log.py `CLILogging.on_global_arguments`).
/// They must not swallow the next token.
const AZ_FLAGS: &[&str] = &[
    "--allow-no-subscriptions",
    "--use-device-code",
    "--service-principal",
    "--identity",
    "-i",
    "--use-cert-sn-issuer",
    "--debug",
    "--verbose",
    "--only-show-errors",
    "--all",
    "--refresh",
    "--sdk-auth",
    "--help",
    "-h",
];

/// entra-collect's own options whose values are shown (src/cli.rs).
const EC_SAFE_VALUES: &[&str] = &[
    "--run",
    "--tenant",
    "--powershell",
    "--timeout",
    "--run-timeout",
    "--probe-timeout",
    "--trace-max-mb",
    "--lang",
    "--cloud",
    "-o",
    "--output-dir",
];

/// entra-collect's own switches (src/cli.rs).
const EC_FLAGS: &[&str] = &[
    "--json",
    "-q",
    "--quiet",
    "--mask-pii",
    "--net-trace",
    "--no-network",
    "-h",
    "--help",
    "-V",
    "--version",
];

const EC_WORDS: &[&str] = &["collect", "rules", "inspect", "trace", "stop", "help"];

/// Connect-AzAccount and its aliases (`[Alias("Login-AzAccount", "Login-AzureRmAccount",
/// "Add-AzAccount")]` in Azure/azure-powershell
/// `src/Accounts/Accounts/Account/ConnectAzureRmAccount.cs`).
const AZ_ACCOUNT_CMDLETS: &[&str] = &[
    "connect-azaccount",
    "login-azaccount",
    "add-azaccount",
    "connect-azurermaccount",
    "login-azurermaccount",
    "add-azurermaccount",
];

/// Connect-AzAccount parameters whose value is shown: the names and `[Alias]`es of
/// ConnectAzureRmAccount.cs (Environment/EnvironmentName, Tenant/Domain/TenantId,
/// ApplicationId, CertificateThumbprint, AccountId, Subscription/SubscriptionName/SubscriptionId,
/// AuthScope/AuthScopeTypeName, ContextName, MaxContextPopulation) and `-Scope`
/// (ContextModificationScope), as documented at
/// https://learn.microsoft.com/powershell/module/az.accounts/connect-azaccount
const AZ_ACCOUNT_SAFE: &[&str] = &[
    "tenant",
    "tenantid",
    "domain",
    "applicationid",
    "subscription",
    "subscriptionid",
    "subscriptionname",
    "environment",
    "environmentname",
    "scope",
    "contextname",
    "accountid",
    "certificatethumbprint",
    "authscope",
    "authscopetypename",
    "maxcontextpopulation",
];

/// Connect-MgGraph and its alias (`[Alias("Connect-Graph")]` in microsoftgraph/
/// msgraph-sdk-powershell `src/Authentication/Authentication/Cmdlets/ConnectMgGraph.cs`).
const MG_CMDLETS: &[&str] = &["connect-mggraph", "connect-graph"];

/// Connect-MgGraph parameters whose value is shown, from
/// https://learn.microsoft.com/powershell/module/microsoft.graph.authentication/connect-mggraph
/// and the `[Alias]`es in ConnectMgGraph.cs (ClientId/AppId, CertificateName/CertificateSubject,
/// Environment/EnvironmentName/NationalCloud).
const MG_SAFE: &[&str] = &[
    "tenantid",
    "clientid",
    "appid",
    "scopes",
    "environment",
    "environmentname",
    "nationalcloud",
    "contextscope",
    "certificatethumbprint",
    "certificatesubjectname",
    "certificatesubject",
    "certificatename",
];

/// PowerShell switch parameters (no value): Connect-AzAccount / Connect-MgGraph switches with
/// their aliases (UseDeviceAuthentication/DeviceCode/DeviceAuth/Device, Identity/MSI/
/// ManagedService), ConvertTo-SecureString's -AsPlainText -Force, and the common -Debug -Verbose
/// -WhatIf -Confirm. A switch does not take the next token as its value.
const PS_SWITCHES: &[&str] = &[
    "usedeviceauthentication",
    "usedevicecode",
    "devicecode",
    "deviceauth",
    "device",
    "serviceprincipal",
    "identity",
    "msi",
    "managedservice",
    "skipcontextpopulation",
    "skipvalidation",
    "force",
    "sendcertificatechain",
    "nowelcome",
    "break",
    "asplaintext",
    "debug",
    "verbose",
    "whatif",
    "confirm",
    "passthru",
];

/// Values of the common -ErrorAction parameter (ActionPreference).
const ACTION_PREFERENCES: &[&str] = &[
    "stop",
    "continue",
    "silentlycontinue",
    "inquire",
    "ignore",
    "suspend",
    "break",
];

/// Approved PowerShell verbs (https://learn.microsoft.com/powershell/scripting/developer/cmdlet/
/// approved-verbs-for-windows-powershell-commands) plus the verbs of the ForEach-Object,
/// Where-Object, Sort-Object and Tee-Object cmdlets. A bare word in command position is kept
/// as a command name only when it is Verb-Noun with one of these verbs, a known program or
/// alias, or a script path: `$pw = Hunter2` must not keep `Hunter2` as "a command".
const APPROVED_VERBS: &[&str] = &[
    "add",
    "approve",
    "assert",
    "backup",
    "block",
    "build",
    "checkpoint",
    "clear",
    "close",
    "compare",
    "complete",
    "compress",
    "confirm",
    "connect",
    "convert",
    "convertfrom",
    "convertto",
    "copy",
    "debug",
    "deny",
    "deploy",
    "disable",
    "disconnect",
    "dismount",
    "edit",
    "enable",
    "enter",
    "exit",
    "expand",
    "export",
    "find",
    "foreach",
    "format",
    "get",
    "grant",
    "group",
    "hide",
    "import",
    "initialize",
    "install",
    "invoke",
    "join",
    "limit",
    "lock",
    "login",
    "measure",
    "merge",
    "mount",
    "move",
    "new",
    "open",
    "optimize",
    "out",
    "ping",
    "pop",
    "protect",
    "publish",
    "push",
    "read",
    "receive",
    "redo",
    "register",
    "remove",
    "rename",
    "repair",
    "request",
    "reset",
    "resize",
    "resolve",
    "restart",
    "restore",
    "resume",
    "revoke",
    "save",
    "search",
    "select",
    "send",
    "set",
    "show",
    "skip",
    "sort",
    "split",
    "start",
    "step",
    "stop",
    "submit",
    "suspend",
    "switch",
    "sync",
    "tee",
    "test",
    "trace",
    "unblock",
    "undo",
    "uninstall",
    "unlock",
    "unprotect",
    "unpublish",
    "unregister",
    "update",
    "use",
    "wait",
    "watch",
    "where",
    "write",
];

/// Programs and built-in aliases kept as command names.
const KNOWN_COMMANDS: &[&str] = &[
    "az",
    "pwsh",
    "powershell",
    "cmd",
    "echo",
    "write",
    "cd",
    "cls",
    "dir",
    "ls",
    "cat",
    "type",
    "copy",
    "del",
    "rm",
    "mkdir",
    "md",
    "pushd",
    "popd",
    "iex",
    "iwr",
    "irm",
    "curl",
    "wget",
    "gci",
    "gc",
    "gcm",
    "gm",
    "gps",
    "sleep",
    "start",
    "where",
    "select",
    "sort",
    "ft",
    "fl",
    "measure",
    "tee",
    "foreach",
    "%",
    "?",
    "nslookup",
    "ping",
    "ipconfig",
    "netsh",
    "certutil",
    "dsregcmd",
    "whoami",
    "git",
    "python",
    "python3",
    "py",
    "winget",
    "setx",
    "clear",
];

/// PowerShell language keywords (about_Language_Keywords).
const PS_KEYWORDS: &[&str] = &[
    "begin",
    "break",
    "catch",
    "class",
    "configuration",
    "continue",
    "data",
    "default",
    "do",
    "dynamicparam",
    "else",
    "elseif",
    "end",
    "enum",
    "exit",
    "filter",
    "finally",
    "for",
    "foreach",
    "function",
    "hidden",
    "if",
    "in",
    "param",
    "process",
    "return",
    "static",
    "switch",
    "throw",
    "trap",
    "try",
    "until",
    "using",
    "while",
    "workflow",
];

// ---------------------------------------------------------------------------------------------
// argv
// ---------------------------------------------------------------------------------------------

enum Program {
    Az,
    PwshHost,
    Cmdlet(String),
    EntraCollect,
    /// A system tool the collectors run (`openssl version -a`, `reg query ...`, `netsh winhttp
    /// show proxy`): its subcommand words are shown, every other value is withheld.
    Tool(&'static Spec),
    Generic,
}

fn basename(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

fn is_verb_noun(s: &str) -> bool {
    let Some((verb, noun)) = s.split_once('-') else {
        return false;
    };
    !verb.is_empty()
        && verb.chars().all(|c| c.is_ascii_alphabetic())
        && noun.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && noun.chars().all(|c| c.is_ascii_alphanumeric())
}

fn classify(argv0: &str) -> Program {
    let base = basename(argv0).to_ascii_lowercase();
    let stem = [".exe", ".cmd", ".bat"]
        .iter()
        .find_map(|e| base.strip_suffix(e))
        .unwrap_or(&base);
    match stem {
        "az" => Program::Az,
        "pwsh" | "powershell" => Program::PwshHost,
        "entra-collect" => Program::EntraCollect,
        "openssl" => Program::Tool(&OPENSSL_SPEC),
        "reg" => Program::Tool(&REG_SPEC),
        "netsh" => Program::Tool(&NETSH_SPEC),
        "logman" => Program::Tool(&LOGMAN_SPEC),
        s if is_verb_noun(s) => Program::Cmdlet(s.to_string()),
        _ => Program::Generic,
    }
}

/// Sanitize an argv (`argv[0]` is the program, always kept). See the module comment.
pub fn sanitize_argv(argv: &[String]) -> Sanitized {
    let mut sink = Sink::default();
    let argv = sanitize_argv_into(argv, &mut sink);
    Sanitized {
        argv,
        masked: sink.masked,
    }
}

fn sanitize_argv_into(argv: &[String], sink: &mut Sink) -> Vec<String> {
    let Some(program) = argv.first() else {
        return Vec::new();
    };
    let args = &argv[1..];
    let mut out = vec![program.clone()];
    let rest = match classify(program) {
        Program::Az => sanitize_gnu(args, &AZ_SPEC, sink),
        Program::EntraCollect => sanitize_gnu(args, &EC_SPEC, sink),
        Program::Generic => sanitize_gnu(args, &GENERIC_SPEC, sink),
        Program::Tool(spec) => sanitize_gnu(args, spec, sink),
        Program::PwshHost => sanitize_pwsh_host(args, sink),
        Program::Cmdlet(name) => sanitize_cmdlet_args(Some(&name), args, sink),
    };
    out.extend(rest);
    out
}

/// How a getopt / argparse / clap style program is read.
struct Spec {
    safe_values: &'static [&'static str],
    multi_values: &'static [&'static str],
    flags: &'static [&'static str],
    /// Long options (without `--`) whose abbreviations are secret too.
    secret_long: &'static [&'static str],
    leading: Leading,
    /// After `--`: sanitize the rest as its own argv (entra-collect) or mask it.
    recurse_after_dashdash: bool,
    /// Show `scheme://host[:port]` of URL values.
    urls: bool,
    /// Positional values that are safe by their shape (a registry key path for `reg`).
    keep_positional: fn(&str) -> bool,
}

/// Positional values are kept by shape only while nothing before them was withheld (`reg add
/// KEY /d DATA` has its data withheld, and what follows it is not trusted either).
fn leading_lost_to_value(out: &[String]) -> bool {
    out.iter().any(|a| a.contains(MARKER))
}

fn no_positional(_: &str) -> bool {
    false
}

/// `HKLM\SOFTWARE\...` and reg's switches (`/s`, `/v`, `/reg:64`): what `reg query` is given
/// by the collectors. A value name is kept only when it is one the collectors query
/// (`WinHttpSettings`); any other value name or data (`/d X`) is not kept.
fn registry_path_or_switch(a: &str) -> bool {
    let key = [
        "HKLM",
        "HKCU",
        "HKCR",
        "HKU",
        "HKCC",
        "HKEY_LOCAL_MACHINE",
        "HKEY_CURRENT_USER",
    ]
    .iter()
    .any(|h| {
        a.strip_prefix(h)
            .is_some_and(|r| r.is_empty() || r.starts_with('\\'))
    }) && a
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " \\._-{}".contains(c));
    let switch = matches!(
        a.to_ascii_lowercase().as_str(),
        "/s" | "/v" | "/ve" | "/f" | "/reg:64" | "/reg:32"
    );
    let known_value = a == "WinHttpSettings";
    key || switch || known_value
}

enum Leading {
    None,
    /// az: `login`, `account get-access-token`.
    CommandWords,
    Words(&'static [&'static str]),
}

const AZ_SPEC: Spec = Spec {
    safe_values: AZ_SAFE_VALUES,
    multi_values: AZ_MULTI_VALUES,
    flags: AZ_FLAGS,
    secret_long: AZ_SECRET_LONG,
    leading: Leading::CommandWords,
    recurse_after_dashdash: false,
    urls: false,
    keep_positional: no_positional,
};

const EC_SPEC: Spec = Spec {
    safe_values: EC_SAFE_VALUES,
    multi_values: &[],
    flags: EC_FLAGS,
    secret_long: &[],
    leading: Leading::Words(EC_WORDS),
    recurse_after_dashdash: true,
    urls: false,
    keep_positional: no_positional,
};

/// Subcommand words of the system tools the collectors and the trace run (their own
/// documentation: `openssl version -a`, `reg query`, `netsh winhttp show proxy`,
/// `netsh trace start|stop|show status`, `logman query -ets`).
const OPENSSL_WORDS: &[&str] = &["version", "x509", "s_client", "ciphers", "crl", "verify"];
const REG_WORDS: &[&str] = &["query"];
const NETSH_WORDS: &[&str] = &[
    "winhttp", "show", "proxy", "trace", "start", "stop", "status",
];
const LOGMAN_WORDS: &[&str] = &["query", "-ets"];

const OPENSSL_SPEC: Spec = Spec {
    leading: Leading::Words(OPENSSL_WORDS),
    ..GENERIC_SPEC
};
const REG_SPEC: Spec = Spec {
    leading: Leading::Words(REG_WORDS),
    keep_positional: registry_path_or_switch,
    ..GENERIC_SPEC
};
const NETSH_SPEC: Spec = Spec {
    leading: Leading::Words(NETSH_WORDS),
    ..GENERIC_SPEC
};
const LOGMAN_SPEC: Spec = Spec {
    leading: Leading::Words(LOGMAN_WORDS),
    ..GENERIC_SPEC
};

const GENERIC_SPEC: Spec = Spec {
    safe_values: &[],
    multi_values: &[],
    flags: &[],
    secret_long: &[],
    leading: Leading::None,
    recurse_after_dashdash: false,
    urls: true,
    keep_positional: no_positional,
};

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_digit() || c == '.')
        && s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// argparse's view: a token starting with `-` is an option unless it is a negative number.
fn looks_like_option(s: &str) -> bool {
    s.len() > 1 && s.starts_with('-') && !is_number(s)
}

fn is_az_command_word(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_ascii_lowercase())
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_long_body(b: &str) -> bool {
    b.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

impl Spec {
    fn is_secret(&self, name: &str) -> bool {
        is_secret_name(name)
            || name
                .strip_prefix("--")
                .is_some_and(|b| !b.is_empty() && self.secret_long.iter().any(|s| s.starts_with(b)))
    }

    fn value(&self, v: &str, secret: bool, sink: &mut Sink) -> String {
        if self.urls
            && let Some(u) = mask_url(v, sink)
        {
            return u;
        }
        sink.mask(v, secret)
    }
}

fn sanitize_gnu(args: &[String], spec: &Spec, sink: &mut Sink) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut leading = true;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        if is_marked(a) {
            out.push(a.to_string());
            leading = false;
            continue;
        }
        if a == "--" {
            out.push(a.to_string());
            if spec.recurse_after_dashdash {
                out.extend(sanitize_argv_into(&args[i..], sink));
            } else {
                for r in &args[i..] {
                    out.push(spec.value(r, false, sink));
                }
            }
            break;
        }
        // A tool's own fixed words may look like options (`logman query -ets`): kept as words
        // while nothing has been withheld.
        if leading
            && let Leading::Words(w) = spec.leading
            && a.starts_with('-')
            && w.contains(&a)
        {
            out.push(a.to_string());
            continue;
        }
        // The option name (`--name` or `-x`) and a value attached to it, if any.
        let (name, attached) = if let Some(body) = a.strip_prefix("--") {
            leading = false;
            let (b, v) = match body.split_once('=') {
                Some((b, v)) => (b, Some(v)),
                None => (body, None),
            };
            if !valid_long_body(b) {
                out.push(spec.value(a, false, sink));
                continue;
            }
            (&a[..2 + b.len()], v)
        } else if looks_like_option(a) {
            leading = false;
            // `-x` or `-xVALUE`: argparse and clap read the rest of a short option as its
            // value, so only the first two characters are a name.
            let cut = a.char_indices().nth(2).map_or(a.len(), |(k, _)| k);
            let head = &a[..cut];
            if !head[1..].chars().all(|c| c.is_ascii_alphanumeric()) {
                out.push(spec.value(a, false, sink));
                continue;
            }
            let rest = &a[cut..];
            if rest.is_empty() {
                (head, None)
            } else {
                // Shown masked even for a safe option: `-uAPP` is rare and the attached form
                // is also what `-pSECRET` looks like.
                out.push(format!("{head}{}", sink.mask(rest, spec.is_secret(head))));
                continue;
            }
        } else {
            let keep = leading
                && match spec.leading {
                    Leading::None => false,
                    Leading::CommandWords => is_az_command_word(a),
                    Leading::Words(w) => w.contains(&a),
                };
            if keep || (!leading_lost_to_value(&out) && (spec.keep_positional)(a)) {
                out.push(a.to_string());
            } else {
                leading = false;
                out.push(spec.value(a, false, sink));
            }
            continue;
        };
        // Exact, case-sensitive match only (argparse is case-sensitive); an abbreviation such as
        // `--ten` is not on the list and its value is masked.
        let safe = spec.safe_values.contains(&name);
        let secret = spec.is_secret(name);
        if let Some(v) = attached {
            let shown = if safe {
                v.to_string()
            } else {
                spec.value(v, secret, sink)
            };
            out.push(format!("{name}={shown}"));
            continue;
        }
        out.push(name.to_string());
        if spec.flags.contains(&name) {
            continue;
        }
        if safe {
            let multi = spec.multi_values.contains(&name);
            while i < args.len() && !looks_like_option(&args[i]) && args[i] != "--" {
                out.push(args[i].clone());
                i += 1;
                if !multi {
                    break;
                }
            }
        } else if secret {
            // A secret option always takes the next token, even one starting with `-`: a
            // password may well start with a dash, and showing it as "an option" would leak it.
            if i < args.len() {
                out.push(sink.mask(&args[i], true));
                i += 1;
            }
        } else if i < args.len() && !looks_like_option(&args[i]) && args[i] != "--" {
            out.push(spec.value(&args[i], false, sink));
            i += 1;
        }
    }
    out
}

/// `scheme://host[:port]` of a URL, the rest masked; `None` if `v` is not a URL.
fn mask_url(v: &str, sink: &mut Sink) -> Option<String> {
    let (scheme, rest) = v.split_once("://")?;
    let mut sc = scheme.chars();
    if !(sc.next().is_some_and(|c| c.is_ascii_alphabetic())
        && sc.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)))
    {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let tail = &rest[end..];
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(k) => (&authority[..k], &authority[k + 1..]),
        None => ("", authority),
    };
    if hostport.is_empty()
        || !hostport
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]%".contains(c))
    {
        return None;
    }
    if !userinfo.is_empty() {
        sink.mask(userinfo, true);
    }
    let mut out = format!("{scheme}://{hostport}");
    if !tail.is_empty() {
        let path = &tail[1..];
        if tail.starts_with('/') && is_marked(path) {
            out.push_str(tail);
        } else {
            // Query strings and fragments carry SAS signatures, codes and tokens.
            let secret = tail.contains(['?', '#']);
            out.push('/');
            out.push_str(&sink.mask(tail, secret));
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// pwsh / powershell.exe
// ---------------------------------------------------------------------------------------------

/// The name of a host parameter (`-NoProfile` -> `NoProfile`), `None` for a non-option.
fn host_param(a: &str) -> Option<&str> {
    let mut chars = a.chars();
    let first = chars.next()?;
    if !is_dash(first) && first != '/' {
        return None;
    }
    let body = chars.as_str();
    let body = body.strip_prefix('-').unwrap_or(body);
    (!body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '?'))
        .then_some(body)
}

/// pwsh / powershell.exe command line. Names and values from about_Pwsh and
/// about_PowerShell_exe (https://learn.microsoft.com/powershell/module/microsoft.powershell.core/
/// about/about_pwsh): `-ExecutionPolicy|-ex|-ep`, `-OutputFormat|-o|-of`, `-InputFormat|-inp|-if`,
/// `-WindowStyle|-w`, `-Version|-v`, `-File|-f`, `-Command|-c`, `-EncodedCommand|-e|-ec`.
fn sanitize_pwsh_host(args: &[String], sink: &mut Sink) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if is_marked(a) {
            out.push(a.clone());
            continue;
        }
        let Some(name) = host_param(a) else {
            // The first positional: pwsh reads it as -File, powershell.exe as -Command.
            if is_script_path(a) {
                out.push(a.clone());
                out.extend(sanitize_cmdlet_args(None, &args[i..], sink));
            } else {
                out.push(sanitize_ps_into(&args[i - 1..].join(" "), sink));
            }
            break;
        };
        let l = name.to_ascii_lowercase();
        match l.as_str() {
            "nologo" | "nol" | "noprofile" | "nop" | "noninteractive" | "noni" | "noexit"
            | "noe" | "sta" | "mta" | "login" | "l" | "interactive" | "i" | "noprofileloadtime"
            | "sshservermode" | "help" | "h" | "?" => out.push(a.clone()),
            "executionpolicy" | "ex" | "ep" | "outputformat" | "o" | "of" | "inputformat"
            | "inp" | "if" | "windowstyle" | "w" | "version" | "v" => {
                out.push(a.clone());
                if i < args.len() && host_param(&args[i]).is_none() {
                    out.push(args[i].clone());
                    i += 1;
                }
            }
            "file" | "f" => {
                out.push(a.clone());
                if i < args.len() {
                    out.push(args[i].clone());
                    i += 1;
                }
                // Everything after the path goes to the script as its parameters.
                out.extend(sanitize_cmdlet_args(None, &args[i..], sink));
                break;
            }
            // -Command and its prefixes (pwsh binds unambiguous prefixes; treating an
            // ambiguous one as -Command only means the rest is sanitized as script).
            _ if "command".starts_with(l.as_str()) || l == "commandwithargs" || l == "cwa" => {
                out.push(a.clone());
                let script = args[i..].join(" ");
                if !script.is_empty() {
                    out.push(sanitize_ps_into(&script, sink));
                }
                break;
            }
            _ if l == "ec" || "encodedcommand".starts_with(l.as_str()) => {
                out.push("-EncodedCommand".to_string());
                if i < args.len() {
                    out.push(encoded_command(&args[i], sink));
                    i += 1;
                }
            }
            _ => {
                // -ConfigurationName, -WorkingDirectory, -SettingsFile, -EncodedArguments, ...:
                // the name is kept, the value masked.
                out.push(a.clone());
                if i < args.len() && host_param(&args[i]).is_none() {
                    out.push(sink.mask(&args[i], is_secret_name(name)));
                    i += 1;
                }
            }
        }
    }
    out
}

const DECODED: &str = "(decoded) ";

/// `-EncodedCommand` value: base64 of UTF-16LE script text. Shown as `(decoded) <sanitized>`.
fn encoded_command(v: &str, sink: &mut Sink) -> String {
    if is_marked(v) || is_placeholder(v) {
        return v.to_string();
    }
    if let Some(script) = v.strip_prefix(DECODED) {
        // Already decoded by an earlier pass.
        return format!("{DECODED}{}", sanitize_ps_into(script, sink));
    }
    let script = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .ok()
        .filter(|b| b.len() % 2 == 0)
        .and_then(|b| {
            let units: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        });
    match script {
        Some(script) => {
            let mut inner = Sink::default();
            let shown = sanitize_ps_into(&script, &mut inner);
            let secret = inner.masked.iter().any(|m| m.secret_flag);
            // The blob itself was replaced too; a caller scrubbing other output needs it.
            sink.mask(v, secret);
            sink.masked.extend(inner.masked);
            format!("{DECODED}{shown}")
        }
        // Not decodable: an opaque script that may hold anything.
        None => sink.mask(v, true),
    }
}

/// `<scripts/inventory.ps1>`: the placeholder entra-collect itself shows instead of its own
/// encoded inventory script (a file of this repository, not user input).
fn is_placeholder(s: &str) -> bool {
    s.len() > 2
        && s.starts_with('<')
        && s.ends_with('>')
        && s[1..s.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
}

fn is_script_path(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    [".ps1", ".psm1", ".exe", ".cmd", ".bat"]
        .iter()
        .any(|e| l.ends_with(e) && l.len() > e.len())
        && s.chars()
            .all(|c| c.is_alphanumeric() || "_.-\\/:~".contains(c))
}

// ---------------------------------------------------------------------------------------------
// PowerShell parameters (shared by cmdlet argv and script text)
// ---------------------------------------------------------------------------------------------

fn is_ps_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && c.all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether the value of parameter `name` of command `cmd` may be shown. Exact names only
/// (case-insensitive, like PowerShell); a prefix such as `-Ten` is masked.
fn ps_safe_value(cmd: Option<&str>, name: &str, value: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n == "erroraction" || n == "ea" {
        return ACTION_PREFERENCES.contains(&value.to_ascii_lowercase().as_str());
    }
    match cmd {
        Some(c) if AZ_ACCOUNT_CMDLETS.contains(&c) => AZ_ACCOUNT_SAFE.contains(&n.as_str()),
        Some(c) if MG_CMDLETS.contains(&c) => MG_SAFE.contains(&n.as_str()),
        _ => false,
    }
}

fn is_ps_switch(name: &str) -> bool {
    PS_SWITCHES.contains(&name.to_ascii_lowercase().as_str())
}

fn is_ps_secret_param(cmd: Option<&str>, name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    is_secret_name(&n)
        || n == "p"
        || cmd == Some("convertto-securestring")
        || (n.len() >= 2 && PS_SECRET_PARAMS.iter().any(|p| p.starts_with(n.as_str())))
}

fn is_dash(c: char) -> bool {
    // PowerShell also accepts en dash, em dash and horizontal bar as a dash.
    matches!(c, '-' | '\u{2013}' | '\u{2014}' | '\u{2015}')
}

/// `-Name`, `-Name:` or `-Name:value` as one argv item: (head shown, name, attached value).
fn split_cmdlet_param(a: &str) -> Option<(&str, &str, Option<&str>)> {
    let first = a.chars().next()?;
    if !is_dash(first) {
        return None;
    }
    let body = &a[first.len_utf8()..];
    let (name, value) = match body.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    if !is_ps_ident(name) {
        return None;
    }
    let head_len = first.len_utf8() + name.len() + usize::from(value.is_some());
    Some((&a[..head_len], name, value))
}

/// Arguments of a PowerShell command given as argv items (`Connect-AzAccount -Tenant x`, or a
/// script's parameters after `pwsh -File x.ps1`).
fn sanitize_cmdlet_args(cmd: Option<&str>, args: &[String], sink: &mut Sink) -> Vec<String> {
    let cmd_secret = cmd == Some("convertto-securestring");
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if is_marked(a) {
            out.push(a.clone());
            continue;
        }
        let Some((head, name, attached)) = split_cmdlet_param(a) else {
            out.push(sink.mask(a, cmd_secret));
            continue;
        };
        let secret = is_ps_secret_param(cmd, name);
        let shown = |v: &str, sink: &mut Sink| {
            if ps_safe_value(cmd, name, v) {
                v.to_string()
            } else {
                sink.mask(v, secret)
            }
        };
        match attached {
            Some(v) if !v.is_empty() => {
                let s = shown(v, sink);
                out.push(format!("{head}{s}"));
            }
            Some(_) => {
                // `-Name: value`: the next item is the value, whatever it looks like.
                out.push(head.to_string());
                if i < args.len() {
                    out.push(shown(&args[i], sink));
                    i += 1;
                }
            }
            None => {
                out.push(head.to_string());
                if is_ps_switch(name) {
                    continue;
                }
                if i < args.len() && (split_cmdlet_param(&args[i]).is_none() || secret) {
                    out.push(shown(&args[i], sink));
                    i += 1;
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// PowerShell script text: tokenizer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ws,
    Nl,
    Comment,
    SqStr,
    DqStr,
    HereSq,
    HereDq,
    Var,
    Param,
    Num,
    Word,
    Marker,
    TypeLit,
    Member,
    Op,
    /// `--%`: the rest of the line is passed verbatim.
    StopParse,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    /// The source text.
    raw: String,
    /// Strings: the content; parameters: the name (no dash, no colon).
    text: String,
    /// A parameter written `-Name:`.
    colon: bool,
    /// Directly follows a string, word or number (no white space between): in argument mode
    /// PowerShell reads both as one argument (`'abc'-def`).
    glued: bool,
}

fn is_sq(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

fn is_dq(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_hspace(c: char) -> bool {
    c.is_whitespace() && c != '\n' && c != '\r'
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || ";,|(){}&<>=".contains(c) || is_sq(c) || is_dq(c)
}

/// End (exclusive) of a double-quoted string starting at `i`, and its unescaped content.
fn scan_dq(c: &[char], i: usize) -> (usize, String) {
    let mut content = String::new();
    let mut j = i + 1;
    while j < c.len() {
        let ch = c[j];
        if ch == '`' {
            if let Some(&e) = c.get(j + 1) {
                content.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    other => other,
                });
            }
            j += 2;
        } else if is_dq(ch) {
            if c.get(j + 1).is_some_and(|&n| is_dq(n)) {
                content.push('"');
                j += 2;
            } else {
                return (j + 1, content);
            }
        } else if ch == '$' && c.get(j + 1) == Some(&'(') {
            let k = scan_subexpr(c, j + 1);
            content.extend(&c[j..k]);
            j = k;
        } else {
            content.push(ch);
            j += 1;
        }
    }
    (c.len(), content)
}

/// End (exclusive) of a `( ... )` starting at `j`, skipping nested strings.
fn scan_subexpr(c: &[char], j: usize) -> usize {
    let mut depth = 0usize;
    let mut k = j;
    while k < c.len() {
        let ch = c[k];
        if ch == '(' {
            depth += 1;
        } else if ch == ')' {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return k + 1;
            }
        } else if is_sq(ch) {
            k = scan_sq(c, k).0;
            continue;
        } else if is_dq(ch) {
            k = scan_dq(c, k).0;
            continue;
        } else if ch == '`' {
            k += 2;
            continue;
        }
        k += 1;
    }
    c.len()
}

fn scan_sq(c: &[char], i: usize) -> (usize, String) {
    let mut content = String::new();
    let mut j = i + 1;
    while j < c.len() {
        if is_sq(c[j]) {
            if c.get(j + 1).is_some_and(|&n| is_sq(n)) {
                content.push('\'');
                j += 2;
                continue;
            }
            return (j + 1, content);
        }
        content.push(c[j]);
        j += 1;
    }
    (c.len(), content)
}

/// A here-string `@'` / `@"` at `i` (the opener must end its line): (end, content).
fn scan_here(c: &[char], i: usize) -> Option<(usize, String)> {
    let q = *c.get(i + 1)?;
    let double = is_dq(q);
    if !double && !is_sq(q) {
        return None;
    }
    let mut j = i + 2;
    while j < c.len() && is_hspace(c[j]) {
        j += 1;
    }
    match c.get(j) {
        Some('\r') if c.get(j + 1) == Some(&'\n') => j += 2,
        Some('\n') | Some('\r') => j += 1,
        _ => return None,
    }
    let start = j;
    let same = |ch: char| if double { is_dq(ch) } else { is_sq(ch) };
    let mut k = start;
    while k < c.len() {
        let line_start = k == start || c[k - 1] == '\n';
        if line_start && same(c[k]) && c.get(k + 1) == Some(&'@') {
            let mut body: String = c[start..k].iter().collect();
            if body.ends_with('\n') {
                body.pop();
                if body.ends_with('\r') {
                    body.pop();
                }
            }
            return Some((k + 2, body));
        }
        k += 1;
    }
    Some((c.len(), c[start..].iter().collect()))
}

/// `[Type.Name]`, `[string[]]`, `[Dictionary[string, int]]` at `i`: its end.
fn scan_type_literal(c: &[char], i: usize) -> Option<usize> {
    if !c.get(i + 1).is_some_and(|&ch| is_ident_start(ch)) {
        return None;
    }
    let mut depth = 0usize;
    let mut k = i;
    while k < c.len() {
        let ch = c[k];
        if ch == '[' {
            depth += 1;
        } else if ch == ']' {
            depth -= 1;
            if depth == 0 {
                return Some(k + 1);
            }
        } else if !(is_ident_char(ch) || ".,` +".contains(ch)) {
            return None;
        }
        k += 1;
    }
    None
}

fn lex(s: &str) -> Vec<Tok> {
    let c: Vec<char> = s.chars().collect();
    let n = c.len();
    let mut toks: Vec<Tok> = Vec::new();
    let mut i = 0;
    let mut expect_member = false;
    let text = |a: usize, b: usize| -> String { c[a..b].iter().collect() };
    while i < n {
        let ch = c[i];
        let start = i;
        // The previous token, when nothing separates it from this one.
        let adjacent_value = toks.last().is_some_and(|t| {
            matches!(
                t.kind,
                Kind::Var | Kind::Member | Kind::TypeLit | Kind::SqStr | Kind::DqStr
            ) || (t.kind == Kind::Op && (t.raw == ")" || t.raw == "]"))
        });
        let mut colon = false;
        let mut content = String::new();
        let member = std::mem::take(&mut expect_member);
        let kind = if member && is_ident_start(ch) {
            while i < n && is_ident_char(c[i]) {
                i += 1;
            }
            Kind::Member
        } else if ch == '\n' || ch == '\r' {
            i += if ch == '\r' && c.get(i + 1) == Some(&'\n') {
                2
            } else {
                1
            };
            Kind::Nl
        } else if is_hspace(ch) {
            while i < n && is_hspace(c[i]) {
                i += 1;
            }
            Kind::Ws
        } else if ch == '`' && matches!(c.get(i + 1), Some('\n') | Some('\r')) {
            // Line continuation.
            i += if c.get(i + 1) == Some(&'\r') && c.get(i + 2) == Some(&'\n') {
                3
            } else {
                2
            };
            Kind::Ws
        } else if ch == '#' {
            while i < n && c[i] != '\n' && c[i] != '\r' {
                i += 1;
            }
            content = text(start + 1, i);
            Kind::Comment
        } else if ch == '<' && c.get(i + 1) == Some(&'#') {
            i += 2;
            while i < n && !(c[i] == '#' && c.get(i + 1) == Some(&'>')) {
                i += 1;
            }
            content = text(start + 2, i.min(n));
            i = (i + 2).min(n);
            Kind::Comment
        } else if ch == '@'
            && let Some((end, body)) = scan_here(&c, i)
        {
            let double = is_dq(c[i + 1]);
            i = end;
            content = body;
            if double { Kind::HereDq } else { Kind::HereSq }
        } else if is_sq(ch) {
            let (end, body) = scan_sq(&c, i);
            i = end;
            content = body;
            Kind::SqStr
        } else if is_dq(ch) {
            let (end, body) = scan_dq(&c, i);
            i = end;
            content = body;
            Kind::DqStr
        } else if ch == '@' {
            match c.get(i + 1) {
                Some('(') | Some('{') => {
                    i += 2;
                    Kind::Op
                }
                Some(&x) if is_ident_char(x) => {
                    i += 1;
                    while i < n && is_ident_char(c[i]) {
                        i += 1;
                    }
                    Kind::Var
                }
                _ => {
                    i += 1;
                    Kind::Op
                }
            }
        } else if ch == '$' {
            match c.get(i + 1) {
                Some('(') => {
                    i += 2;
                    Kind::Op
                }
                Some('{') => {
                    i += 2;
                    while i < n && c[i] != '}' {
                        i += if c[i] == '`' { 2 } else { 1 };
                    }
                    i = (i + 1).min(n);
                    Kind::Var
                }
                Some('$') | Some('?') | Some('^') => {
                    i += 2;
                    Kind::Var
                }
                Some(&x) if !is_ident_char(x) => {
                    // A lone `$` is not a variable: part of a bare word.
                    while i < n && !ends_word(c[i]) {
                        i += if c[i] == '`' { 2 } else { 1 };
                    }
                    i = i.min(n).max(start + 1);
                    Kind::Word
                }
                None => {
                    i += 1;
                    Kind::Word
                }
                _ => {
                    i += 1;
                    while i < n && is_ident_char(c[i]) {
                        i += 1;
                    }
                    // `$env:NAME`, `$script:x`: one scope / drive qualifier.
                    if c.get(i) == Some(&':') && c.get(i + 1).is_some_and(|&x| is_ident_char(x)) {
                        i += 1;
                        while i < n && is_ident_char(c[i]) {
                            i += 1;
                        }
                    }
                    Kind::Var
                }
            }
        } else if ch == '[' {
            let rest: String = c[i..n.min(i + 64)].iter().collect();
            let marker_len = rest
                .find(']')
                .filter(|&k| is_marked(&rest[..=k]))
                .map(|k| rest[..=k].chars().count());
            if let Some(len) = marker_len {
                i += len;
                Kind::Marker
            } else if adjacent_value {
                i += 1;
                Kind::Op
            } else if let Some(end) = scan_type_literal(&c, i) {
                i = end;
                Kind::TypeLit
            } else {
                i += 1;
                Kind::Op
            }
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            i += 2;
            expect_member = true;
            Kind::Op
        } else if ch == '.' {
            let next = c.get(i + 1).copied();
            if next == Some('.') {
                i += 2;
                Kind::Op
            } else if adjacent_value {
                i += 1;
                expect_member = true;
                Kind::Op
            } else if next.is_some_and(|x| x.is_ascii_digit()) {
                i += 1;
                while i < n && (is_ident_char(c[i]) || c[i] == '.') {
                    i += 1;
                }
                Kind::Num
            } else if next.is_none_or(|x| x.is_whitespace()) {
                i += 1;
                Kind::Op
            } else {
                while i < n && !ends_word(c[i]) {
                    i += if c[i] == '`' { 2 } else { 1 };
                }
                i = i.min(n);
                Kind::Word
            }
        } else if "(){},;".contains(ch) || ch == ']' {
            i += 1;
            Kind::Op
        } else if ch == '|' || ch == '&' {
            i += if c.get(i + 1) == Some(&ch) { 2 } else { 1 };
            Kind::Op
        } else if ch == '=' || ch == '!' || ch == '<' {
            i += 1;
            Kind::Op
        } else if ch == '>' || (ch.is_ascii_digit() || ch == '*') && c.get(i + 1) == Some(&'>') {
            // Redirections: > >> 2> 2>&1 *>
            if ch != '>' {
                i += 1;
            }
            i += 1;
            if c.get(i) == Some(&'>') {
                i += 1;
            }
            if c.get(i) == Some(&'&') && c.get(i + 1).is_some_and(|x| x.is_ascii_digit()) {
                i += 2;
            }
            Kind::Op
        } else if "+*/%".contains(ch) && c.get(i + 1) == Some(&'=') {
            i += 2;
            Kind::Op
        } else if ch.is_ascii_digit() {
            // In argument mode `0000-1111` is one argument: a number runs to the end of the
            // word, so no part of a value can be read as a separate (kept) token.
            while i < n && !ends_word(c[i]) && c[i] != ']' {
                i += if c[i] == '`' { 2 } else { 1 };
            }
            i = i.min(n);
            Kind::Num
        } else if is_dash(ch) {
            let next = c.get(i + 1).copied();
            match next {
                Some(x) if is_dash(x) && c.get(i + 2) == Some(&'%') => {
                    while i < n && c[i] != '\n' && c[i] != '\r' {
                        i += 1;
                    }
                    Kind::StopParse
                }
                Some('=') => {
                    i += 2;
                    Kind::Op
                }
                Some(x) if x.is_ascii_digit() || x == '.' => {
                    i += 1;
                    while i < n && !ends_word(c[i]) && c[i] != ']' {
                        i += if c[i] == '`' { 2 } else { 1 };
                    }
                    i = i.min(n);
                    Kind::Num
                }
                Some(x) if is_ident_start(x) || x == '?' || is_dash(x) => {
                    i += 1;
                    while i < n && is_dash(c[i]) {
                        i += 1;
                    }
                    let name_start = i;
                    while i < n && !ends_word(c[i]) && c[i] != ':' {
                        i += if c[i] == '`' { 2 } else { 1 };
                    }
                    i = i.min(n);
                    content = text(name_start, i);
                    if c.get(i) == Some(&':') && c.get(i + 1) != Some(&':') {
                        i += 1;
                        colon = true;
                    }
                    Kind::Param
                }
                _ => {
                    i += 1;
                    Kind::Op
                }
            }
        } else {
            while i < n && !ends_word(c[i]) {
                i += if c[i] == '`' { 2 } else { 1 };
            }
            i = i.min(n).max(start + 1);
            Kind::Word
        };
        let glued = toks.last().is_some_and(|t| {
            // Every kind that may come out as a bare marker counts, so that a second pass
            // (which sees the marker) reads the next token the same way.
            matches!(
                t.kind,
                Kind::SqStr
                    | Kind::DqStr
                    | Kind::HereSq
                    | Kind::HereDq
                    | Kind::Word
                    | Kind::Num
                    | Kind::Marker
                    | Kind::Param
                    | Kind::TypeLit
            ) || (t.kind == Kind::Op && t.raw == "[")
        });
        toks.push(Tok {
            kind,
            raw: text(start, i),
            text: content,
            colon,
            glued,
        });
    }
    toks
}

// ---------------------------------------------------------------------------------------------
// PowerShell script text: what to keep
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    /// Start of a statement / pipeline element: a word here is a command name.
    Cmd,
    /// After `&` or `.`: the command to call.
    CallTarget,
    /// After `function` / `class` / `enum`.
    FuncName,
    /// Arguments of a command.
    Args,
    /// Inside an expression (`$x = ...`, `(...)`, `$a.b()`).
    Expr,
    /// Start of a hash-table entry.
    HashKey,
}

#[derive(Debug, Clone)]
struct Pending {
    name: String,
    safe_cmd: Option<String>,
    secret: bool,
    /// New-Object -TypeName: a type name is shown.
    typename: bool,
}

#[derive(Debug)]
struct Frame {
    hash: bool,
    /// Everything masked inside this group is secret (`-ClientSecret ( ... )`,
    /// `ConvertTo-SecureString(...)`, `[PSCredential]::new(...)`).
    secret: bool,
    pos: Pos,
    cmd: Option<String>,
    /// The current command / expression takes secrets (ConvertTo-SecureString, a credential
    /// type or constructor).
    cmd_secret: bool,
    /// The rest of the statement is secret (assignment to `$password`, hash value).
    stmt_secret: bool,
    /// The next token is the direct right-hand side of an assignment.
    assign_first: bool,
    pending: Option<Pending>,
    /// The parameter whose value list a following `,` continues.
    list: Option<Pending>,
    typename_done: bool,
    /// After `param`: the group that follows ends in command position again.
    resume_cmd: bool,
    /// `masked` index where the current pipeline element began, and the previous element's
    /// range right after a `|` (for `'X' | ConvertTo-SecureString`).
    elem_start: usize,
    prev_elem: Option<(usize, usize)>,
    last_name: Option<String>,
}

impl Frame {
    fn new(hash: bool, secret: bool, elem_start: usize) -> Self {
        Frame {
            hash,
            secret,
            pos: if hash { Pos::HashKey } else { Pos::Cmd },
            cmd: None,
            cmd_secret: false,
            stmt_secret: false,
            assign_first: false,
            pending: None,
            list: None,
            typename_done: false,
            resume_cmd: false,
            elem_start,
            prev_elem: None,
            last_name: None,
        }
    }

    fn end_statement(&mut self, masked_len: usize) {
        *self = Frame::new(self.hash, self.secret, masked_len);
    }
}

/// Sanitize PowerShell script text: names kept, literals masked (see the module comment).
#[cfg(test)]
pub fn sanitize_powershell(script: &str) -> (String, Vec<Masked>) {
    let mut sink = Sink::default();
    let out = sanitize_ps_into(script, &mut sink);
    (out, sink.masked)
}

fn is_command_name(w: &str) -> bool {
    let l = w.to_ascii_lowercase();
    if KNOWN_COMMANDS.contains(&l.as_str()) {
        return true;
    }
    // `Module\Verb-Noun`
    let (module, last) = match l.rsplit_once('\\') {
        Some((m, c)) => (m, c),
        None => ("", l.as_str()),
    };
    if module
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        && let Some((verb, noun)) = last.split_once('-')
        && APPROVED_VERBS.contains(&verb)
        && !noun.is_empty()
        && noun
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return true;
    }
    is_script_path(w)
}

fn is_type_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(is_ps_ident)
        && s.chars().next().is_some_and(|c| c.is_alphabetic())
}

fn mentions_credential(s: &str) -> bool {
    s.to_ascii_lowercase().contains("credential")
}

/// A variable's name without `$`, braces and scope (`$env:AZURE_CLIENT_SECRET` ->
/// `AZURE_CLIENT_SECRET`).
fn var_name(raw: &str) -> &str {
    let v = raw.trim_start_matches(['$', '@']);
    let v = v.trim_start_matches('{').trim_end_matches('}');
    v.rsplit(':').next().unwrap_or(v)
}

/// Output for a literal token: itself when kept, else a marker (quotes kept for strings).
fn literal(tok: &Tok, keep: bool, secret: bool, sink: &mut Sink) -> String {
    if keep || tok.kind == Kind::Marker {
        return tok.raw.clone();
    }
    match tok.kind {
        Kind::SqStr | Kind::DqStr => {
            // '' and "" hide nothing; a string holding just a marker was sanitized before.
            if tok.text.is_empty() || is_marked(&tok.text) {
                return tok.raw.clone();
            }
            let m = sink.mask(&tok.text, secret);
            if tok.kind == Kind::SqStr {
                format!("'{m}'")
            } else {
                format!("\"{m}\"")
            }
        }
        Kind::HereSq | Kind::HereDq => {
            let body = tok.text.trim();
            if body.is_empty() || is_marked(body) {
                return tok.raw.clone();
            }
            let m = sink.mask(&tok.text, secret);
            if tok.kind == Kind::HereSq {
                format!("@'\n{m}\n'@")
            } else {
                format!("@\"\n{m}\n\"@")
            }
        }
        _ => sink.mask(&tok.raw, secret),
    }
}

fn comment(tok: &Tok, sink: &mut Sink) -> String {
    let body = tok.text.trim();
    if body.is_empty() || is_marked(body) {
        return tok.raw.clone();
    }
    let m = sink.mask(body, false);
    if tok.raw.starts_with("<#") {
        format!("<# {m} #>")
    } else {
        format!("# {m}")
    }
}

/// Arithmetic operators the tokenizer reads as words (`$a + 1`, `$b * 2`); syntax, kept.
fn is_operator_word(w: &str) -> bool {
    matches!(w, "+" | "*" | "/" | "%" | "?" | "++")
}

fn is_value_token(k: Kind) -> bool {
    matches!(
        k,
        Kind::SqStr
            | Kind::DqStr
            | Kind::HereSq
            | Kind::HereDq
            | Kind::Num
            | Kind::Word
            | Kind::Marker
            | Kind::StopParse
    )
}

fn sanitize_ps_into(script: &str, sink: &mut Sink) -> String {
    let toks = lex(script);
    let mut out = String::with_capacity(script.len());
    let mut st = vec![Frame::new(false, false, sink.masked.len())];
    let next_sig = |t: usize| {
        toks[t + 1..]
            .iter()
            .find(|x| !matches!(x.kind, Kind::Ws | Kind::Comment))
    };
    for (t, tok) in toks.iter().enumerate() {
        match tok.kind {
            Kind::Ws => {
                out.push_str(&tok.raw);
                continue;
            }
            Kind::Comment => {
                out.push_str(&comment(tok, sink));
                continue;
            }
            Kind::Nl => {
                out.push_str(&tok.raw);
                let len = sink.masked.len();
                if let Some(f) = st.last_mut() {
                    f.end_statement(len);
                }
                continue;
            }
            _ => {}
        }
        let masked_len = sink.masked.len();
        let depth = st.len();
        let f = st.last_mut().expect("the outermost frame is never popped");
        let list = f.list.take();
        let assign_first = std::mem::take(&mut f.assign_first);
        let last_name = f.last_name.take();
        let op = if tok.kind == Kind::Op {
            tok.raw.as_str()
        } else {
            ""
        };
        // Structure first: statement ends, pipes and groups.
        match op {
            "," => {
                out.push(',');
                if f.pos == Pos::Args && list.is_some() {
                    f.pending = list;
                }
                continue;
            }
            ";" | "&&" | "||" => {
                out.push_str(op);
                f.end_statement(masked_len);
                continue;
            }
            "|" => {
                out.push('|');
                f.prev_elem = Some((f.elem_start, masked_len));
                f.elem_start = masked_len;
                f.pos = Pos::Cmd;
                f.cmd = None;
                f.pending = None;
                f.cmd_secret = false;
                f.typename_done = false;
                continue;
            }
            "(" | "@(" | "$(" | "{" | "@{" => {
                out.push_str(op);
                let pending = f.pending.take();
                let secret = f.secret
                    || f.cmd_secret
                    || f.stmt_secret
                    // A hash literal on the right of `=` flags its values by key instead.
                    || (assign_first && op != "@{")
                    || pending.as_ref().is_some_and(|p| p.secret);
                f.pos = match f.pos {
                    _ if std::mem::take(&mut f.resume_cmd) => Pos::Cmd,
                    Pos::Args => Pos::Args,
                    Pos::HashKey => Pos::HashKey,
                    _ => Pos::Expr,
                };
                st.push(Frame::new(op == "@{", secret, masked_len));
                continue;
            }
            ")" | "}" => {
                out.push_str(op);
                if depth > 1 {
                    st.pop();
                }
                continue;
            }
            _ => {}
        }
        let lit_secret = f.secret || f.cmd_secret || f.stmt_secret || assign_first;
        match f.pos {
            Pos::HashKey
                if matches!(
                    tok.kind,
                    Kind::Word | Kind::SqStr | Kind::DqStr | Kind::Num | Kind::Var | Kind::Marker
                ) && next_sig(t).is_some_and(|n| n.kind == Kind::Op && n.raw == "=") =>
            {
                // A hash-table key: a name, kept when it looks like one.
                let name = if matches!(tok.kind, Kind::SqStr | Kind::DqStr) {
                    tok.text.as_str()
                } else {
                    tok.raw.as_str()
                };
                let keep = tok.kind == Kind::Var
                    || name.split('-').all(|p| p.is_empty() || is_ps_ident(p))
                        && name.chars().next().is_some_and(is_ident_start);
                out.push_str(&literal(tok, keep, false, sink));
                f.last_name = Some(var_name(name).to_string());
                f.pos = Pos::Expr;
            }
            Pos::Cmd | Pos::HashKey => cmd_position(tok, f, lit_secret, sink, &mut out),
            Pos::CallTarget => {
                match tok.kind {
                    Kind::Word if is_command_name(&tok.raw) => {
                        out.push_str(&tok.raw);
                        f.cmd = Some(tok.raw.to_ascii_lowercase());
                    }
                    // Names and syntax stay (masking an operator here would make a second
                    // pass read what follows differently).
                    Kind::Var | Kind::Marker | Kind::Op | Kind::Param | Kind::TypeLit => {
                        out.push_str(&tok.raw)
                    }
                    Kind::Member if is_ps_ident(&tok.raw) => out.push_str(&tok.raw),
                    _ => out.push_str(&literal(tok, false, lit_secret, sink)),
                }
                f.pos = Pos::Args;
            }
            Pos::FuncName => {
                let keep = match tok.kind {
                    Kind::Word => tok.raw.split('-').all(is_ps_ident),
                    Kind::SqStr | Kind::DqStr | Kind::HereSq | Kind::HereDq | Kind::Num => false,
                    _ => true,
                };
                out.push_str(&literal(tok, keep, false, sink));
                f.pos = Pos::Expr;
            }
            Pos::Args => args_position(tok, f, lit_secret, next_sig(t), sink, &mut out),
            Pos::Expr => match tok.kind {
                Kind::Op if matches!(op, "=" | "+=" | "-=" | "*=" | "/=" | "%=") => {
                    out.push_str(op);
                    // PowerShell's `=` is always assignment; its right-hand side is a new
                    // pipeline. A direct literal there is secret-ish (`$pw = 'X'`,
                    // `$env:X = 'X'`, `@{ClientSecret = 'X'}`), and so is everything assigned
                    // to a secret-named variable or hash key.
                    // A hash value under a key that is a safe parameter name (`TenantId`) is
                    // still masked, but not flagged.
                    let name = last_name.unwrap_or_default();
                    let l = name.to_ascii_lowercase();
                    let safe_key = f.hash
                        && (AZ_ACCOUNT_SAFE.contains(&l.as_str()) || MG_SAFE.contains(&l.as_str()));
                    f.pos = Pos::Cmd;
                    f.assign_first = !safe_key;
                    if is_secret_name(&name) || (f.hash && !safe_key) {
                        f.stmt_secret = true;
                    }
                }
                Kind::Op | Kind::Param | Kind::Marker => out.push_str(&tok.raw),
                Kind::Var => {
                    out.push_str(&tok.raw);
                    f.last_name = Some(var_name(&tok.raw).to_string());
                }
                Kind::Member => {
                    out.push_str(&tok.raw);
                    f.last_name = Some(tok.raw.clone());
                }
                Kind::TypeLit => {
                    out.push_str(&tok.raw);
                    if mentions_credential(&tok.raw) {
                        f.cmd_secret = true;
                    }
                }
                Kind::Word
                    if PS_KEYWORDS.contains(&tok.raw.to_ascii_lowercase().as_str())
                        || is_operator_word(&tok.raw) =>
                {
                    out.push_str(&tok.raw);
                }
                _ => out.push_str(&literal(tok, false, lit_secret, sink)),
            },
        }
    }
    out
}

fn cmd_position(tok: &Tok, f: &mut Frame, lit_secret: bool, sink: &mut Sink, out: &mut String) {
    match tok.kind {
        Kind::Word => {
            let l = tok.raw.to_ascii_lowercase();
            if PS_KEYWORDS.contains(&l.as_str()) {
                out.push_str(&tok.raw);
                f.pos = match l.as_str() {
                    "function" | "filter" | "workflow" | "configuration" | "class" | "enum" => {
                        Pos::FuncName
                    }
                    "using" => Pos::Args,
                    "in" => Pos::Expr,
                    "param" => {
                        f.resume_cmd = true;
                        Pos::Cmd
                    }
                    _ => Pos::Cmd,
                };
            } else if is_command_name(&tok.raw) {
                out.push_str(&tok.raw);
                f.pos = Pos::Args;
                f.typename_done = false;
                if l == "convertto-securestring" {
                    f.cmd_secret = true;
                    // `'X' | ConvertTo-SecureString`: what the previous element produced.
                    if let Some((a, b)) = f.prev_elem.take() {
                        for m in &mut sink.masked[a..b] {
                            m.secret_flag = true;
                        }
                    }
                }
                // `Az.Accounts\Connect-AzAccount` is Connect-AzAccount.
                f.cmd = Some(l.rsplit('\\').next().unwrap_or(&l).to_string());
            } else {
                out.push_str(&literal(tok, false, lit_secret, sink));
                f.pos = Pos::Args;
                f.cmd = None;
            }
        }
        Kind::Marker => {
            out.push_str(&tok.raw);
            f.pos = Pos::Args;
        }
        Kind::Var => {
            out.push_str(&tok.raw);
            f.last_name = Some(var_name(&tok.raw).to_string());
            f.pos = Pos::Expr;
        }
        Kind::TypeLit => {
            out.push_str(&tok.raw);
            if mentions_credential(&tok.raw) {
                f.cmd_secret = true;
            }
            f.pos = Pos::Expr;
        }
        Kind::Op if tok.raw == "&" || tok.raw == "." => {
            out.push_str(&tok.raw);
            f.pos = Pos::CallTarget;
        }
        Kind::Op | Kind::Param | Kind::Member => {
            // Unary operators (-not, !, ++), a stray `[`, a member after `::`.
            out.push_str(&tok.raw);
            f.pos = Pos::Expr;
        }
        Kind::Num | Kind::StopParse => {
            // Masked to a bare marker, which a second pass reads like an unknown command:
            // continue the same way so that sanitizing twice changes nothing.
            out.push_str(&literal(tok, false, lit_secret, sink));
            f.pos = Pos::Args;
        }
        _ => {
            out.push_str(&literal(tok, false, lit_secret, sink));
            f.pos = Pos::Expr;
        }
    }
}

fn args_position(
    tok: &Tok,
    f: &mut Frame,
    lit_secret: bool,
    next: Option<&Tok>,
    sink: &mut Sink,
    out: &mut String,
) {
    let cmd = f.cmd.clone();
    if tok.glued && matches!(tok.kind, Kind::Param | Kind::Member | Kind::TypeLit) {
        // The tail of the previous argument (or the value of a glued `-Name:`), not a name.
        let secret = f.pending.take().is_some_and(|p| p.secret);
        out.push_str(&literal(tok, false, secret || lit_secret, sink));
        return;
    }
    match tok.kind {
        Kind::Word if f.pending.is_none() && is_operator_word(&tok.raw) => out.push_str(&tok.raw),
        Kind::Param => {
            // A pending `-Name:` takes the next token as its value whatever it looks like; so
            // does a secret parameter (a password may start with a dash; PowerShell would
            // reject `-ClientSecret -abc`, but the command line still says it).
            if let Some(p) = f.pending.take_if(|p| p.name.ends_with(':') || p.secret) {
                out.push_str(&sink.mask(&tok.raw, p.secret || lit_secret));
                return;
            }
            let name = tok.text.as_str();
            if !is_ps_ident(name) {
                // `-abc.def` and the like are not parameter names.
                out.push_str(&literal(tok, false, lit_secret, sink));
                return;
            }
            out.push_str(&tok.raw);
            if !tok.colon && is_ps_switch(name) {
                f.pending = None;
                return;
            }
            let typename =
                cmd.as_deref() == Some("new-object") && name.eq_ignore_ascii_case("typename");
            f.pending = Some(Pending {
                name: if tok.colon {
                    format!("{name}:")
                } else {
                    name.to_string()
                },
                safe_cmd: cmd.clone(),
                secret: is_ps_secret_param(cmd.as_deref(), name) || f.cmd_secret,
                typename,
            });
        }
        Kind::TypeLit if next.is_some_and(|n| n.raw == "::") => {
            out.push_str(&tok.raw);
            if mentions_credential(&tok.raw) {
                f.cmd_secret = true;
            }
        }
        k if is_value_token(k) || k == Kind::TypeLit => {
            let value = if matches!(k, Kind::SqStr | Kind::DqStr) {
                tok.text.as_str()
            } else {
                tok.raw.as_str()
            };
            if let Some(p) = f.pending.take() {
                let name = p.name.trim_end_matches(':');
                let keep = k != Kind::StopParse
                    && (ps_safe_value(p.safe_cmd.as_deref(), name, value)
                        || (p.typename && is_type_name(value)));
                if p.typename {
                    f.typename_done = true;
                    if mentions_credential(value) {
                        f.cmd_secret = true;
                    }
                }
                out.push_str(&literal(tok, keep, p.secret || lit_secret, sink));
                f.list = Some(p);
            } else if cmd.as_deref() == Some("new-object")
                && !f.typename_done
                && k == Kind::Word
                && is_type_name(value)
            {
                // `New-Object System.Net.NetworkCredential(...)`: the positional type name.
                f.typename_done = true;
                if mentions_credential(value) {
                    f.cmd_secret = true;
                }
                out.push_str(&tok.raw);
            } else {
                out.push_str(&literal(tok, false, lit_secret, sink));
            }
        }
        Kind::Var => {
            out.push_str(&tok.raw);
            if let Some(p) = f.pending.take() {
                f.list = Some(p);
            }
        }

        Kind::Member if is_ps_ident(&tok.raw) => out.push_str(&tok.raw),
        Kind::Member => out.push_str(&literal(tok, false, lit_secret, sink)),
        _ => out.push_str(&tok.raw),
    }
}

// ---------------------------------------------------------------------------------------------
// az --debug "Command arguments: [...]"
// ---------------------------------------------------------------------------------------------

const AZ_ARGS_KEY: &str = "Command arguments: [";

/// Re-render the Python list knack logs at `--debug` (`logger.debug('Command arguments: %s',
/// args)` in microsoft/knack `knack/cli.py`) from [`sanitize_argv`] of `["az", ...items]`.
/// `None` if the line has no such list.
pub fn sanitize_az_arguments_line(line: &str) -> Option<(String, Vec<Masked>)> {
    let at = line.find(AZ_ARGS_KEY)?;
    let list_start = at + AZ_ARGS_KEY.len();
    let (items, end, tail_unparsed) = parse_py_list(&line[list_start..]);
    let mut argv = vec!["az".to_string()];
    argv.extend(items);
    let s = sanitize_argv(&argv);
    let mut masked = s.masked;
    let mut rendered: Vec<String> = s.argv[1..].iter().map(|a| py_repr(a)).collect();
    let mut out = line[..list_start].to_string();
    match tail_unparsed {
        // A list we could not read to its end (cut off, or not Python): what is left is masked.
        Some(rest) => {
            if !rest.trim().is_empty() {
                let mut sink = Sink::default();
                rendered.push(py_repr(&sink.mask(rest.trim(), false)));
                masked.extend(sink.masked);
            }
            out.push_str(&rendered.join(", "));
            out.push(']');
        }
        None => {
            out.push_str(&rendered.join(", "));
            out.push(']');
            out.push_str(&line[list_start + end..]);
        }
    }
    Some((out, masked))
}

/// Items of a Python list repr (after its `[`): (items, end of the list after `]`, unparsed
/// rest when the list is malformed or cut off).
fn parse_py_list(s: &str) -> (Vec<String>, usize, Option<&str>) {
    let b: Vec<(usize, char)> = s.char_indices().collect();
    let mut items = Vec::new();
    let mut k = 0;
    let skip_ws = |k: &mut usize| {
        while *k < b.len() && b[*k].1.is_whitespace() {
            *k += 1;
        }
    };
    loop {
        skip_ws(&mut k);
        let Some(&(at, ch)) = b.get(k) else {
            return (items, s.len(), Some(""));
        };
        if ch == ']' {
            return (items, at + 1, None);
        }
        if ch != '\'' && ch != '"' {
            return (items, s.len(), Some(&s[at..]));
        }
        let q = ch;
        k += 1;
        let mut item = String::new();
        let mut closed = false;
        while k < b.len() {
            let c = b[k].1;
            if c == '\\' && k + 1 < b.len() {
                let e = b[k + 1].1;
                k += 2;
                match e {
                    'n' => item.push('\n'),
                    't' => item.push('\t'),
                    'r' => item.push('\r'),
                    '\\' | '\'' | '"' => item.push(e),
                    'x' | 'u' | 'U' => {
                        let width = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String =
                            b[k..(k + width).min(b.len())].iter().map(|p| p.1).collect();
                        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                            Some(c) if hex.len() == width => {
                                item.push(c);
                                k += width;
                            }
                            _ => {
                                item.push('\\');
                                item.push(e);
                            }
                        }
                    }
                    other => {
                        item.push('\\');
                        item.push(other);
                    }
                }
                continue;
            }
            k += 1;
            if c == q {
                closed = true;
                break;
            }
            item.push(c);
        }
        items.push(item);
        if !closed {
            return (items, s.len(), Some(""));
        }
        skip_ws(&mut k);
        match b.get(k) {
            Some((_, ',')) => k += 1,
            Some(&(at, ']')) => return (items, at + 1, None),
            Some(&(at, _)) => return (items, s.len(), Some(&s[at..])),
            None => return (items, s.len(), Some("")),
        }
    }
}

/// Python's `repr()` of a str (close enough for display: quotes, backslashes, controls).
fn py_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn run(items: &[&str]) -> Sanitized {
        sanitize_argv(&argv(items))
    }

    /// The joined output of `items`, asserting that `canary` appears nowhere in it and that it
    /// was reported as masked.
    fn no_leak(items: &[&str], canary: &str) -> String {
        let s = run(items);
        let joined = s.argv.join(" ");
        assert!(!joined.contains(canary), "{canary} leaked: {joined}");
        assert!(
            s.masked.iter().any(|m| m.value.contains(canary)),
            "{canary} not reported: {:?}",
            s.masked
        );
        joined
    }

    fn ps_no_leak(script: &str, canary: &str) -> (String, Vec<Masked>) {
        let (out, masked) = sanitize_powershell(script);
        assert!(!out.contains(canary), "{canary} leaked: {out}");
        assert!(
            masked.iter().any(|m| m.value.contains(canary)),
            "{canary} not reported: {masked:?}"
        );
        (out, masked)
    }

    fn secret_flagged(masked: &[Masked], canary: &str) -> bool {
        masked
            .iter()
            .any(|m| m.value.contains(canary) && m.secret_flag)
    }

    // ---- az leaks of the regex redactor ----

    #[test]
    fn az_attached_short_option() {
        let out = no_leak(
            &[
                "az",
                "login",
                "--service-principal",
                "-u",
                "app",
                "-pCANARY1",
            ],
            "CANARY1",
        );
        assert!(out.contains("-p[REDACTED:argument]"), "{out}");
        assert!(secret_flagged(&run(&["az", "-pCANARY1"]).masked, "CANARY1"));
    }

    #[test]
    fn az_abbreviations() {
        for opt in ["--pass", "--passw", "--p", "--federated-tok"] {
            let out = no_leak(&["az", "login", opt, "CANARY2"], "CANARY2");
            assert!(out.contains(opt), "{out}");
            assert!(secret_flagged(
                &run(&["az", "login", opt, "CANARY2"]).masked,
                "CANARY2"
            ));
        }
        no_leak(&["az", "login", "--passw=CANARY3"], "CANARY3");
        // An abbreviation of a safe option is not safe either.
        no_leak(&["az", "login", "--ten", "CANARY4"], "CANARY4");
    }

    #[test]
    fn az_value_with_both_quotes() {
        no_leak(&["az", "login", "-p", "CAN'A\"RY5"], "CAN'A\"RY5");
        let line = r#"cli.knack.cli: Command arguments: ['login', '-p', 'CAN\'A"RY5b', '--debug']"#;
        let (out, masked) = sanitize_az_arguments_line(line).unwrap();
        assert!(!out.contains("RY5b"), "{out}");
        assert!(
            masked
                .iter()
                .any(|m| m.value == "CAN'A\"RY5b" && m.secret_flag)
        );
    }

    #[test]
    fn az_secret_option_swallows_a_dash_value() {
        let out = no_leak(
            &["az", "login", "--password", "-CANARY6", "--tenant", "t1"],
            "CANARY6",
        );
        assert!(out.ends_with("--tenant t1"), "{out}");
    }

    // ---- PowerShell leaks of the regex redactor ----

    #[test]
    fn ps_client_secret_convertto_positional() {
        let (out, m) = ps_no_leak(
            "Connect-MgGraph -ClientSecret (ConvertTo-SecureString 'CANARY10' -AsPlainText -Force)",
            "CANARY10",
        );
        assert!(
            out.contains(
                "-ClientSecret (ConvertTo-SecureString '[REDACTED:argument]' -AsPlainText -Force)"
            ),
            "{out}"
        );
        assert!(secret_flagged(&m, "CANARY10"));
    }

    #[test]
    fn ps_access_token_convertto_string_param() {
        let (_, m) = ps_no_leak(
            "Connect-MgGraph -AccessToken (ConvertTo-SecureString -AsPlainText -Force -String CANARY11)",
            "CANARY11",
        );
        assert!(secret_flagged(&m, "CANARY11"));
    }

    #[test]
    fn ps_piped_into_convertto() {
        let (out, m) = ps_no_leak(
            "$s = 'CANARY12' | ConvertTo-SecureString -AsPlainText -Force",
            "CANARY12",
        );
        assert!(
            out.contains("| ConvertTo-SecureString -AsPlainText -Force"),
            "{out}"
        );
        assert!(secret_flagged(&m, "CANARY12"));
        // Piped without an assignment in front: flagged by the pipe alone.
        let (_, m) = ps_no_leak(
            "\"CANARY12b\" | ConvertTo-SecureString -AsPlainText -Force",
            "CANARY12b",
        );
        assert!(secret_flagged(&m, "CANARY12b"));
    }

    #[test]
    fn ps_convertto_method_syntax() {
        let (_, m) = ps_no_leak(
            "$s = ConvertTo-SecureString('CANARY13') -AsPlainText -Force",
            "CANARY13",
        );
        assert!(secret_flagged(&m, "CANARY13"));
    }

    #[test]
    fn ps_variable_assignment() {
        let (out, m) = ps_no_leak("$pw='CANARY14'; Connect-AzAccount", "CANARY14");
        assert!(
            out.starts_with("$pw='[REDACTED:argument]'; Connect-AzAccount"),
            "{out}"
        );
        assert!(secret_flagged(&m, "CANARY14"));
    }

    #[test]
    fn ps_network_credential() {
        let (out, m) = ps_no_leak(
            "$c = [Net.NetworkCredential]::new('', 'CANARY15').SecurePassword",
            "CANARY15",
        );
        assert!(
            out.contains("[Net.NetworkCredential]::new('', '[REDACTED:argument]').SecurePassword"),
            "{out}"
        );
        assert!(secret_flagged(&m, "CANARY15"));
        let (out, m) = ps_no_leak(
            "New-Object System.Net.NetworkCredential('', \"CANARY15b\")",
            "CANARY15b",
        );
        assert!(out.contains("System.Net.NetworkCredential"), "{out}");
        assert!(secret_flagged(&m, "CANARY15b"));
    }

    #[test]
    fn ps_splatting() {
        let (out, m) = ps_no_leak(
            "$p = @{ClientSecret='CANARY16'; TenantId='contoso'}; Connect-MgGraph @p",
            "CANARY16",
        );
        assert!(
            out.contains("@{ClientSecret='[REDACTED:argument]'; TenantId='[REDACTED:argument]'}"),
            "{out}"
        );
        assert!(out.ends_with("Connect-MgGraph @p"), "{out}");
        assert!(secret_flagged(&m, "CANARY16"));
        // A safe key's value is masked (default-deny) but not flagged as a secret.
        assert!(m.iter().any(|x| x.value == "contoso" && !x.secret_flag));
    }

    #[test]
    fn ps_env_assignment() {
        let (out, m) = ps_no_leak("$env:AZURE_CLIENT_SECRET='CANARY17'", "CANARY17");
        assert_eq!(out, "$env:AZURE_CLIENT_SECRET='[REDACTED:argument]'");
        assert!(secret_flagged(&m, "CANARY17"));
    }

    #[test]
    fn ps_colon_then_space() {
        let (out, m) = ps_no_leak(
            "Connect-AzAccount -ClientSecret: CANARY18 -Tenant contoso",
            "CANARY18",
        );
        assert!(out.contains("-Tenant contoso"), "{out}");
        assert!(secret_flagged(&m, "CANARY18"));
        let (_, m) = ps_no_leak("Connect-AzAccount -Password:-CANARY18b", "CANARY18b");
        assert!(secret_flagged(&m, "CANARY18b"));
        let (out, m) = ps_no_leak(
            "Connect-MgGraph -AccessToken -CANARY18c -NoWelcome",
            "CANARY18c",
        );
        assert!(
            out.ends_with("-AccessToken [REDACTED:argument] -NoWelcome"),
            "{out}"
        );
        assert!(secret_flagged(&m, "CANARY18c"));
        // The tail of a quoted value is not a parameter name.
        ps_no_leak("Connect-AzAccount -Tenant 'contoso'-CANARY18d", "CANARY18d");
        let (out, _) = sanitize_powershell("Connect-AzAccount -AccountId 0000-1111");
        assert_eq!(out, "Connect-AzAccount -AccountId 0000-1111");
    }

    #[test]
    fn ps_here_string_comment_and_smart_quotes() {
        ps_no_leak("$x = @'\nCANARY19\n'@\nConnect-AzAccount", "CANARY19");
        ps_no_leak("Connect-AzAccount # pw is CANARY20", "CANARY20");
        ps_no_leak("$pw = \u{2018}CANARY21\u{2019}", "CANARY21");
        ps_no_leak("$pw = \"a`\"CANARY22$(Get-Date \"x\")\"", "CANARY22");
        ps_no_leak("$pw = CANARY23", "CANARY23");
    }

    // ---- what is kept ----

    #[test]
    fn safe_values_are_shown() {
        let s = run(&[
            "az",
            "login",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--output",
            "json",
        ]);
        assert_eq!(
            s.argv,
            argv(&[
                "az",
                "login",
                "--tenant",
                "contoso.onmicrosoft.com",
                "--output",
                "json"
            ])
        );
        assert!(s.masked.is_empty());
        let s = run(&[
            "az",
            "account",
            "get-access-token",
            "--scope",
            "a/.default",
            "b/.default",
            "-t",
            "t1",
        ]);
        assert_eq!(
            s.argv[1..],
            argv(&[
                "account",
                "get-access-token",
                "--scope",
                "a/.default",
                "b/.default",
                "-t",
                "t1"
            ])[..]
        );
        let (out, m) = sanitize_powershell(
            "Connect-AzAccount -Tenant 'contoso' -Subscription:sub1 -ErrorAction Stop",
        );
        assert_eq!(
            out,
            "Connect-AzAccount -Tenant 'contoso' -Subscription:sub1 -ErrorAction Stop"
        );
        assert!(m.is_empty());
        let (out, _) = sanitize_powershell(
            "Connect-MgGraph -Scopes 'User.Read','Mail.Read' -TenantId t1 -NoWelcome",
        );
        assert_eq!(
            out,
            "Connect-MgGraph -Scopes 'User.Read','Mail.Read' -TenantId t1 -NoWelcome"
        );
        // The same names on another cmdlet are not safe, nor are prefixes.
        let (out, _) = sanitize_powershell("Set-Thing -Tenant x; Connect-AzAccount -Ten y");
        assert_eq!(
            out,
            "Set-Thing -Tenant [REDACTED:argument]; Connect-AzAccount -Ten [REDACTED:argument]"
        );
    }

    #[test]
    fn cmdlet_argv() {
        let s = run(&[
            "Connect-AzAccount",
            "-ServicePrincipal",
            "-Tenant",
            "t1",
            "-ApplicationId",
            "app",
            "-CertificatePassword",
            "CANARY30",
        ]);
        assert_eq!(
            s.argv,
            argv(&[
                "Connect-AzAccount",
                "-ServicePrincipal",
                "-Tenant",
                "t1",
                "-ApplicationId",
                "app",
                "-CertificatePassword",
                MARKER
            ])
        );
        assert!(secret_flagged(&s.masked, "CANARY30"));
    }

    #[test]
    fn boolean_flags_do_not_swallow() {
        let s = run(&[
            "az",
            "login",
            "--identity",
            "--client-id",
            "cid",
            "--allow-no-subscriptions",
            "--debug",
            "--tenant",
            "t1",
        ]);
        assert_eq!(
            s.argv.join(" "),
            "az login --identity --client-id cid --allow-no-subscriptions --debug --tenant t1"
        );
        // A flag followed by a stray positional: the positional is masked, not shown as a value.
        let s = run(&["az", "login", "--use-device-code", "stray"]);
        assert_eq!(
            s.argv.join(" "),
            "az login --use-device-code [REDACTED:argument]"
        );
        let (out, _) = sanitize_powershell("Connect-AzAccount -UseDeviceAuthentication -Tenant t1");
        assert_eq!(out, "Connect-AzAccount -UseDeviceAuthentication -Tenant t1");
    }

    #[test]
    fn unknown_and_positional_values_are_masked() {
        let s = run(&[
            "az",
            "login",
            "--certificate",
            "/tmp/c.pem",
            "-uAPP",
            "extra",
        ]);
        assert_eq!(
            s.argv.join(" "),
            "az login --certificate [REDACTED:argument] -u[REDACTED:argument] [REDACTED:argument]"
        );
        let s = run(&[
            "AZ.CMD",
            "login",
            "--tenant=t1",
            "--username=u@x",
            "--federated-token=CANARY31",
        ]);
        assert_eq!(
            s.argv.join(" "),
            "AZ.CMD login --tenant=t1 --username=u@x --federated-token=[REDACTED:argument]"
        );
        let s = run(&["C:\\Program Files\\az.bat", "login", "-t", "t1"]);
        assert_eq!(s.argv[1..], argv(&["login", "-t", "t1"])[..]);
    }

    #[test]
    fn az_command_arguments_line() {
        let line = "DEBUG: cli.knack.cli: Command arguments: ['login', '--service-principal', '-u', 'x', '-p', 'CANARY40', '--tenant', \"contoso's\", '--debug']";
        let (out, masked) = sanitize_az_arguments_line(line).unwrap();
        assert_eq!(
            out,
            "DEBUG: cli.knack.cli: Command arguments: ['login', '--service-principal', '-u', 'x', '-p', '[REDACTED:argument]', '--tenant', \"contoso's\", '--debug']"
        );
        assert_eq!(
            masked,
            vec![Masked {
                value: "CANARY40".into(),
                secret_flag: true
            }]
        );
        assert!(sanitize_az_arguments_line("cli.knack.cli: Event: Cli.PreExecute []").is_none());
        // Cut off in the middle of the secret.
        let (out, _) =
            sanitize_az_arguments_line("Command arguments: ['login', '-p', 'CANARY41").unwrap();
        assert!(!out.contains("CANARY41"), "{out}");
        // Not a Python string: masked as a whole.
        let (out, _) =
            sanitize_az_arguments_line("Command arguments: ['login', CANARY42]").unwrap();
        assert!(!out.contains("CANARY42"), "{out}");
        // Idempotent.
        let (again, m) = sanitize_az_arguments_line(&out).unwrap();
        assert_eq!(again, out);
        assert!(m.is_empty());
    }

    #[test]
    fn entra_collect_own_argv() {
        let s = run(&[
            "entra-collect",
            "collect",
            "--tenant",
            "t1",
            "-o",
            "C:\\Temp",
            "--json",
            "--",
            "az",
            "login",
            "-p",
            "CANARY50",
        ]);
        assert_eq!(
            s.argv.join(" "),
            "entra-collect collect --tenant t1 -o C:\\Temp --json -- az login -p [REDACTED:argument]"
        );
        assert!(secret_flagged(&s.masked, "CANARY50"));
        let s = run(&[
            "entra-collect.exe",
            "--run",
            "azps",
            "--powershell",
            "desktop",
            "--platform",
            "linux",
            "inspect",
        ]);
        assert_eq!(
            s.argv.join(" "),
            "entra-collect.exe --run azps --powershell desktop --platform [REDACTED:argument] [REDACTED:argument]"
        );
    }

    #[test]
    fn generic_and_urls() {
        let url = "https://st1.blob.core.windows.net/c/b?sv=2022-11-02&sig=CANARY60";
        let out = no_leak(
            &[
                "curl",
                "-H",
                "Authorization: Bearer CANARY61",
                "-o",
                "out.bin",
                url,
            ],
            "CANARY60",
        );
        assert_eq!(
            out,
            "curl -H [REDACTED:argument] -o [REDACTED:argument] https://st1.blob.core.windows.net/[REDACTED:argument]"
        );
        let out = no_leak(
            &[
                "curl",
                "--proxy=http://bob:CANARY62@proxy:8080",
                "-uadmin:CANARY63",
            ],
            "CANARY62",
        );
        assert_eq!(out, "curl --proxy=http://proxy:8080 -u[REDACTED:argument]");
        assert!(!out.contains("CANARY63") && !out.contains("bob"), "{out}");
        let s = run(&["/usr/bin/nslookup", "login.microsoftonline.com"]);
        assert_eq!(s.argv, argv(&["/usr/bin/nslookup", MARKER]));
    }

    fn encode(script: &str) -> String {
        let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn encoded_command_roundtrip() {
        let script = "Connect-AzAccount -ServicePrincipal -Tenant contoso -Credential (New-Object PSCredential('app', (ConvertTo-SecureString 'CANARY70' -AsPlainText -Force)))";
        let blob = encode(script);
        let s = run(&[
            "pwsh.exe",
            "-NoProfile",
            "-NonInteractive",
            "-ExecutionPolicy",
            "Bypass",
            "-enc",
            &blob,
        ]);
        let shown = s.argv.join(" ");
        assert!(
            !shown.contains("CANARY70") && !shown.contains(&blob),
            "{shown}"
        );
        assert_eq!(
            s.argv[..5],
            argv(&[
                "pwsh.exe",
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass"
            ])[..]
        );
        assert_eq!(s.argv[5], "-EncodedCommand");
        assert!(
            s.argv[6].starts_with("(decoded) Connect-AzAccount -ServicePrincipal -Tenant contoso -Credential (New-Object PSCredential("),
            "{}",
            s.argv[6]
        );
        assert!(secret_flagged(&s.masked, "CANARY70"));
        assert!(s.masked.iter().any(|m| m.value == blob));
        let again = sanitize_argv(&s.argv);
        assert_eq!(again.argv, s.argv);
        assert!(again.masked.is_empty());
        // Not base64 of UTF-16: masked.
        let s = run(&["powershell", "-EncodedCommand", "not base64!"]);
        assert_eq!(s.argv, argv(&["powershell", "-EncodedCommand", MARKER]));
        // Our own placeholder for the inventory script is shown.
        let s = run(&["powershell", "-EncodedCommand", "<scripts/inventory.ps1>"]);
        assert_eq!(s.argv[2], "<scripts/inventory.ps1>");
    }

    #[test]
    fn powershell_host_command() {
        let s = run(&[
            "powershell.exe",
            "-NoLogo",
            "-Command",
            "Connect-AzAccount",
            "-Tenant",
            "t1",
            ";",
            "$pw",
            "=",
            "'CANARY71'",
        ]);
        assert_eq!(
            s.argv[..3],
            argv(&["powershell.exe", "-NoLogo", "-Command"])[..]
        );
        assert_eq!(
            s.argv[3],
            "Connect-AzAccount -Tenant t1 ; $pw = '[REDACTED:argument]'"
        );
        let s = run(&[
            "pwsh",
            "-File",
            "C:\\s\\login.ps1",
            "-Secret",
            "CANARY72",
            "-Name",
            "n",
        ]);
        assert_eq!(
            s.argv.join(" "),
            "pwsh -File C:\\s\\login.ps1 -Secret [REDACTED:argument] -Name [REDACTED:argument]"
        );
        let s = run(&["pwsh", "-c", "Connect-MgGraph -AccessToken CANARY73"]);
        assert_eq!(
            s.argv.join(" "),
            "pwsh -c Connect-MgGraph -AccessToken [REDACTED:argument]"
        );
    }

    #[test]
    fn idempotent() {
        let cases: Vec<Vec<&str>> = vec![
            vec![
                "az", "login", "-pX1", "--pass", "X2", "--tenant", "t", "--", "X3",
            ],
            vec!["curl", "-u", "a:b", "https://h/p?sig=x", "http://u:p@h:1"],
            vec![
                "entra-collect",
                "--",
                "pwsh",
                "-Command",
                "$a = 'x'; Connect-MgGraph -TenantId t -Scopes 'a','b' # c",
            ],
            vec!["Connect-AzAccount", "-Credential:", "x", "-Tenant", "t"],
        ];
        for c in cases {
            let once = run(&c);
            let twice = sanitize_argv(&once.argv);
            assert_eq!(twice.argv, once.argv);
            assert!(twice.masked.is_empty(), "{:?}", twice.masked);
        }
        let script = "$p = @{ClientSecret = 'x'}\n[Net.NetworkCredential]::new('', \"y\") | Out-Null\n$x = @'\nz\n'@\nConnect-MgGraph @p -Scopes User.Read";
        let (once, _) = sanitize_powershell(script);
        let (twice, m) = sanitize_powershell(&once);
        assert_eq!(twice, once);
        assert!(m.is_empty(), "{m:?}");
        // Values that merely start with a marker are not trusted.
        let s = run(&["az", "login", "-p", "[REDACTED:x] CANARY80"]);
        assert!(!s.argv.join(" ").contains("CANARY80"));
    }

    /// Printable secrets: ASCII punctuation (quotes, backticks, `$`, spaces) and non-ASCII,
    /// behind a fixed prefix so that the secret cannot be a substring of the output's own text.
    fn secret() -> impl Strategy<Value = String> {
        "[ -~\u{e9}\u{4e2d}\u{1f511}\u{2019}\u{201c}]{0,24}".prop_map(|s| format!("Zq8~{s}"))
    }

    fn ps_single_quoted(s: &str) -> String {
        format!(
            "'{}'",
            s.replace(['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'], "''")
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn planted_secrets_never_appear(s in secret()) {
            let check = |out: &str| -> Result<(), TestCaseError> {
                prop_assert!(!out.contains(&s), "leaked {:?} in {:?}", s, out);
                Ok(())
            };
            for cmd in [
                vec!["az", "login", "-p", s.as_str(), "--tenant", "t1"],
                vec!["az", "login", "--password", s.as_str()],
                vec!["az", "ad", "sp", "create", "--client-secret", s.as_str()],
                vec!["Connect-AzAccount", "-ClientSecret", s.as_str()],
                vec!["entra-collect", "--", "az", "login", "-p", s.as_str()],
                vec!["curl", "-u", s.as_str()],
            ] {
                let out = run(&cmd);
                check(&out.argv.join(" "))?;
            }
            let attached = format!("-p{s}");
            check(&run(&["az", "login", &attached]).argv.join(" "))?;
            let eq = format!("--client-secret={s}");
            check(&run(&["az", "login", &eq]).argv.join(" "))?;
            let lit = ps_single_quoted(&s);
            for script in [
                format!("Connect-AzAccount -ClientSecret {lit} -Tenant t1"),
                format!("$pw = {lit}; Connect-MgGraph"),
                format!("{lit} | ConvertTo-SecureString -AsPlainText -Force"),
                format!("Write-Host {lit}"),
                format!("@{{ClientSecret={lit}}}"),
            ] {
                let (out, _) = sanitize_powershell(&script);
                check(&out)?;
                let blob = encode(&script);
                check(&run(&["pwsh", "-EncodedCommand", &blob]).argv.join(" "))?;
                check(&run(&["powershell", "-Command", &script]).argv.join(" "))?;
            }
            let py = format!("Command arguments: ['login', '-p', {}]", py_repr(&s));
            let (out, _) = sanitize_az_arguments_line(&py).unwrap();
            check(&out)?;
        }

        #[test]
        fn arbitrary_input_does_not_panic_and_is_idempotent(
            script in "[ -~\n\t\u{2018}\u{201c}\u{2013}\u{e9}]{0,80}",
            items in proptest::collection::vec("[ -~\u{e9}]{0,12}", 0..6),
        ) {
            let (once, _) = sanitize_powershell(&script);
            let (twice, m) = sanitize_powershell(&once);
            prop_assert_eq!(&twice, &once);
            prop_assert!(m.is_empty(), "{:?}", m);
            for program in ["az", "pwsh", "Connect-AzAccount", "entra-collect", "curl"] {
                let mut a = vec![program.to_string()];
                a.extend(items.iter().cloned());
                let s1 = sanitize_argv(&a);
                let s2 = sanitize_argv(&s1.argv);
                prop_assert_eq!(&s2.argv, &s1.argv);
                prop_assert!(s2.masked.is_empty(), "{:?}", s2.masked);
            }
            let _ = sanitize_az_arguments_line(&format!("Command arguments: [{script}"));
        }
    }
}

#[cfg(test)]
mod reg_tests {
    use super::*;

    fn run(a: &[&str]) -> Vec<String> {
        sanitize_argv(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>()).argv
    }

    #[test]
    fn reg_query_keeps_its_key_and_switches_but_not_data() {
        let k = r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319";
        assert_eq!(run(&["reg", "query", k, "/s"]), ["reg", "query", k, "/s"]);
        let c = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections";
        assert_eq!(
            run(&["reg", "query", c, "/v", "WinHttpSettings"]),
            ["reg", "query", c, "/v", "WinHttpSettings"]
        );
        let out = run(&["reg", "query", c, "/v", "SomethingElse"]).join(" ");
        assert!(!out.contains("SomethingElse"), "{out}");
        let out = run(&["reg", "add", k, "/v", "X", "/d", "Zq8~secret"]).join(" ");
        assert!(!out.contains("Zq8~secret"), "{out}");
        assert!(
            !out.contains("HKLM"),
            "after a withheld word nothing is trusted: {out}"
        );
    }

    #[test]
    fn logman_query_ets_is_shown_and_nothing_else() {
        assert_eq!(
            run(&["logman", "query", "-ets"]),
            ["logman", "query", "-ets"]
        );
        let out = run(&["logman", "start", "-ets", "Zq8~secret"]).join(" ");
        assert!(
            !out.contains("start") && !out.contains("Zq8~secret"),
            "{out}"
        );
        let out = run(&["logman", "query", "Zq8~secret", "-ets"]).join(" ");
        assert!(
            !out.contains("Zq8~secret") && !out.contains("-ets"),
            "{out}"
        );
    }
}
