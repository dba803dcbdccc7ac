//! `environment`: proxy, CA-bundle and Azure settings — never the whole environment, and a
//! value only when it is known to be safe (default-deny).
//!
//! Every reported variable (the [`WELL_KNOWN`] names and all `AZURE_*`, `MSAL_*`, `IDENTITY_*`,
//! `MSI_*`) is recorded as `{"set": true, "length": N}` unless its name is in [`SAFE`] and its
//! value has the expected shape (a boolean word, a plain word, a path, a GUID or domain, a URL
//! without credentials or query). Proxy URLs lose their credentials ([`crate::redact::url`]).
//! Every withheld value, and the secrets inside values (proxy credentials, connection-string
//! keys, Basic / Bearer credentials), go to the redactor's literal search ([`secret_values`]).

use std::collections::BTreeMap;

use base64::Engine;

use super::{Collector, Context, Outcome};
use crate::model::{self, Variable, names};
use crate::redact::url;
use crate::vocab::Env;

pub struct Environment;

/// Names always reported (as unset when absent), because their absence is informative.
pub const WELL_KNOWN: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "AZURE_CONFIG_DIR",
    "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION",
    "ADAL_PYTHON_SSL_NO_VERIFY",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
    "LANG",
    "LC_ALL",
];

/// Prefixes whose every variable is reported (by default as set/length only).
const PREFIXES: &[&str] = &["AZURE_", "MSAL_", "IDENTITY_", "MSI_"];

/// The shape a safe variable's value must have to be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A proxy URL: shown as `[scheme://][REDACTED:url-credentials@]host[:port]`.
    Proxy,
    /// NO_PROXY: host names, domain suffixes, addresses, CIDR masks, `*`.
    HostList,
    /// A file or directory path.
    Path,
    /// A boolean word as Azure CLI reads it (knack / AzConfig `_BOOLEAN_STATES`: 1, yes, true,
    /// on, 0, no, false, off).
    Bool,
    /// A plain word (an enum value, a cloud or resource-group name).
    Word,
    /// A GUID or a domain name (tenant, client and subscription ids).
    GuidOrDomain,
    /// A URL: credentials removed, query and fragment dropped.
    Url,
    /// A locale (`en_US.UTF-8`, `C`).
    Locale,
}

/// Variables whose value may be shown, with the shape it must have. Names follow Azure CLI's
/// rule that `[section] option` in `~/.azure/config` is overridden by `AZURE_{SECTION}_{OPTION}`
/// (knack `CLIConfig.env_var_name`); the options are the ones azure-cli reads with
/// `getboolean`/`get` (`_profile.py`: core.enable_broker_on_windows, core.use_msal_http_cache,
/// core.instance_discovery; `util.py`: core.encrypt_token_cache; `custom.py` of `az login`:
/// core.login_experience_v2; `extension/dynamic_install.py`: extension.use_dynamic_install
/// (no / yes_prompt / yes_without_prompt), extension.run_after_dynamic_install,
/// extension.index_url; `azlogging.py`: logging.enable_log_file, logging.log_dir) and the ones
/// documented on learn.microsoft.com "Azure CLI configuration" (core.output,
/// core.disable_confirm_prompt, core.collect_telemetry, core.only_show_errors, core.no_color,
/// defaults.group, defaults.location, cloud.name). AZURE_EXTENSION_DIR / AZURE_EXTENSION_SYS_DIR
/// are read directly by `azure/cli/core/extension/__init__.py`.
pub const SAFE: &[(&str, Shape)] = &[
    ("HTTP_PROXY", Shape::Proxy),
    ("HTTPS_PROXY", Shape::Proxy),
    ("ALL_PROXY", Shape::Proxy),
    ("NO_PROXY", Shape::HostList),
    ("REQUESTS_CA_BUNDLE", Shape::Path),
    ("CURL_CA_BUNDLE", Shape::Path),
    ("SSL_CERT_FILE", Shape::Path),
    ("SSL_CERT_DIR", Shape::Path),
    ("AZURE_CONFIG_DIR", Shape::Path),
    ("AZURE_CORE_OUTPUT", Shape::Word),
    ("AZURE_CORE_ONLY_SHOW_ERRORS", Shape::Bool),
    ("AZURE_CORE_COLLECT_TELEMETRY", Shape::Bool),
    ("AZURE_CORE_DISABLE_CONFIRM_PROMPT", Shape::Bool),
    ("AZURE_CORE_NO_COLOR", Shape::Bool),
    ("AZURE_CORE_ENABLE_BROKER_ON_WINDOWS", Shape::Bool),
    ("AZURE_CORE_ALLOW_BROKER", Shape::Bool),
    ("AZURE_CORE_LOGIN_EXPERIENCE_V2", Shape::Bool),
    ("AZURE_CORE_ENCRYPT_TOKEN_CACHE", Shape::Bool),
    ("AZURE_CORE_USE_MSAL_HTTP_CACHE", Shape::Bool),
    ("AZURE_CORE_INSTANCE_DISCOVERY", Shape::Bool),
    ("AZURE_CLOUD_NAME", Shape::Word),
    ("AZURE_DEFAULTS_GROUP", Shape::Word),
    ("AZURE_DEFAULTS_LOCATION", Shape::Word),
    ("AZURE_LOGGING_ENABLE_LOG_FILE", Shape::Bool),
    ("AZURE_LOGGING_LOG_DIR", Shape::Path),
    ("AZURE_EXTENSION_DIR", Shape::Path),
    ("AZURE_EXTENSION_SYS_DIR", Shape::Path),
    ("AZURE_EXTENSION_USE_DYNAMIC_INSTALL", Shape::Word),
    ("AZURE_EXTENSION_RUN_AFTER_DYNAMIC_INSTALL", Shape::Bool),
    ("AZURE_EXTENSION_INDEX_URL", Shape::Url),
    ("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION", Shape::Bool),
    ("ADAL_PYTHON_SSL_NO_VERIFY", Shape::Bool),
    ("AZURE_TENANT_ID", Shape::GuidOrDomain),
    ("AZURE_CLIENT_ID", Shape::GuidOrDomain),
    ("AZURE_SUBSCRIPTION_ID", Shape::GuidOrDomain),
    ("AZURE_AUTHORITY_HOST", Shape::Url),
    ("IDENTITY_ENDPOINT", Shape::Url),
    ("MSI_ENDPOINT", Shape::Url),
    ("AZURE_FEDERATED_TOKEN_FILE", Shape::Path),
    ("AZURE_CLIENT_CERTIFICATE_PATH", Shape::Path),
    ("LANG", Shape::Locale),
    ("LC_ALL", Shape::Locale),
];

/// The shape of a safe variable (names compared case-insensitively: `https_proxy` too).
pub fn safe_shape(name: &str) -> Option<Shape> {
    SAFE.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, s)| *s)
}

/// Is this variable one we report?
pub fn is_allowlisted(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    WELL_KNOWN.iter().any(|w| w.eq_ignore_ascii_case(name))
        || PREFIXES.iter().any(|p| up.starts_with(p))
}

/// Azure CLI's boolean words (knack `CLIConfig._BOOLEAN_STATES`).
pub fn is_bool_word(v: &str) -> bool {
    ["1", "yes", "true", "on", "0", "no", "false", "off"]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(v.trim()))
}

/// A plain word: letters, digits, `.`, `-`, `_`; at most 64 characters.
pub fn is_word(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A domain name: dot-separated labels of letters, digits and `-`, ending in a letter label.
pub fn is_domain(v: &str) -> bool {
    let labels: Vec<&str> = v.split('.').collect();
    labels.len() >= 2
        && v.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_alphabetic()))
}

/// A path: it starts like one (`/`, `~`, `.`, `\`, `%VAR%`, `$VAR`, `C:\` or `C:/`), has no
/// control characters and none of `; = @ " ' < > | ? *` and no `://`.
pub fn is_path(v: &str) -> bool {
    let b = v.as_bytes();
    let starts = v.starts_with(['/', '~', '.', '\\', '%', '$'])
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'));
    starts
        && v.len() <= 1024
        && !v.contains("://")
        && !v.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    ';' | '=' | '@' | '"' | '\'' | '<' | '>' | '|' | '?' | '*'
                )
        })
}

/// `en_US.UTF-8`, `C.UTF-8`, `de_DE@euro`, `POSIX`.
fn is_locale(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'))
}

/// The value to show for a safe variable, when it has the expected shape.
pub fn shown_value(shape: Shape, v: &str) -> Option<String> {
    let t = v.trim();
    match shape {
        Shape::Proxy => url::display_proxy(t),
        Shape::HostList => url::is_host_list(t).then(|| t.to_string()),
        Shape::Path => is_path(t).then(|| t.to_string()),
        Shape::Bool => is_bool_word(t).then(|| t.to_string()),
        Shape::Word => is_word(t).then(|| t.to_string()),
        Shape::GuidOrDomain => (super::context::is_guid(t) || is_domain(t)).then(|| t.to_string()),
        Shape::Url => url::display_url(t),
        Shape::Locale => is_locale(t).then(|| t.to_string()),
    }
}

/// Keys of connection-string-like values (`k=v;k=v`) whose value is a secret.
const SECRET_KEYS: &[&str] = &[
    "pwd",
    "password",
    "accountkey",
    "sharedaccesskey",
    "sharedaccesssignature",
    "clientsecret",
    "client_secret",
    "secret",
    "key",
    "token",
    "accesstoken",
    "sig",
];

/// The secrets inside one value: URL credentials and their password (also percent-decoded),
/// connection-string keys, `Basic` credentials (base64, decoded `user:pass`, `pass`) and
/// `Bearer` tokens.
pub fn sub_secrets(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (_, creds) = url::strip_credentials(value.trim());
    if let Some(c) = creds {
        if let Some(p) = url::password_of(&c) {
            out.push(p.to_string());
            out.push(url::percent_decode(p));
        }
        out.push(c);
    }
    for part in value.split(';') {
        if let Some((k, v)) = part.split_once('=') {
            let k = k.trim().to_ascii_lowercase();
            if SECRET_KEYS.contains(&k.as_str()) {
                out.push(v.trim().trim_matches(['"', '\'']).to_string());
            }
        }
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    for w in words.windows(2) {
        let token = w[1].trim_matches(['"', '\'', ',', ';']);
        if w[0].eq_ignore_ascii_case("basic") || w[0].ends_with(":basic") {
            out.push(token.to_string());
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(token)
                && let Ok(decoded) = String::from_utf8(bytes)
            {
                if let Some((_, pass)) = decoded.split_once(':') {
                    out.push(pass.to_string());
                }
                out.push(decoded);
            }
        } else if w[0].eq_ignore_ascii_case("bearer") {
            out.push(token.to_string());
        }
    }
    out
}

/// Literals that would corrupt the bundle if masked everywhere and are no secret anyway:
/// boolean words and short numbers (they appear in every JSON file as `true` or a length).
fn harmless(v: &str) -> bool {
    is_bool_word(v)
        || v.eq_ignore_ascii_case("null")
        || v.eq_ignore_ascii_case("none")
        || (v.len() <= 6 && v.bytes().all(|b| b.is_ascii_digit()))
}

/// Every value the environment collector withholds, plus the secrets inside reported values:
/// the redactor removes them wherever they appear. Values shorter than 4 characters are left
/// out (they would mask ordinary words), and so are boolean words and short numbers.
pub fn secret_values(env: &Env) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (k, v) in env.iter() {
        if !is_allowlisted(k) || v.trim().is_empty() {
            continue;
        }
        let shown = safe_shape(k).and_then(|s| shown_value(s, v));
        if shown.is_none() {
            out.push(v.to_string());
            out.push(v.trim().to_string());
        }
        out.extend(sub_secrets(v));
    }
    out.retain(|s| s.chars().count() >= 4 && !harmless(s));
    out.sort();
    out.dedup();
    out
}

impl Collector for Environment {
    fn id(&self) -> &'static str {
        "environment"
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let mut variables = BTreeMap::new();
        for name in WELL_KNOWN {
            variables.insert(
                (*name).to_string(),
                describe(name, ctx.env.vars_exact(name)),
            );
        }
        for (k, v) in ctx.env.iter() {
            if is_allowlisted(k) && !variables.contains_key(k) {
                variables.insert(k.to_string(), describe(k, Some(v)));
            }
        }
        let value = model::Environment {
            note: "allowlisted variables only; a value is shown only for known-safe settings of the expected shape (proxy URLs without credentials), every other value is recorded as set with its length".into(),
            case_insensitive_names: ctx.platform.is_windows(),
            variables,
        };
        let mut out = Outcome::ok();
        out.add_entry(ctx, names::ENVIRONMENT, &value);
        out
    }
}

/// `{"set": false}`, `{"set": true, "value": shown}` or `{"set": true, "length": N}`.
pub fn describe(name: &str, value: Option<&str>) -> Variable {
    match value {
        None => Variable::unset(),
        Some(v) => match safe_shape(name).and_then(|s| shown_value(s, v)) {
            Some(shown) => Variable::shown(shown),
            None => Variable::withheld(v.chars().count()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied(), false)
    }

    #[test]
    fn allowlist() {
        assert!(is_allowlisted("https_proxy"));
        assert!(is_allowlisted("AZURE_CORE_OUTPUT"));
        assert!(is_allowlisted("MSAL_LOG_LEVEL"));
        assert!(is_allowlisted("LANG"));
        assert!(!is_allowlisted("PATH"));
        assert!(!is_allowlisted("GITHUB_TOKEN"));
    }

    #[test]
    fn safe_values_are_shown() {
        let shown = |n: &str, v: &str| describe(n, Some(v)).value.unwrap_or_default();
        assert_eq!(
            shown("HTTPS_PROXY", "http://proxy.corp:8080"),
            "http://proxy.corp:8080"
        );
        assert_eq!(shown("https_proxy", "proxy.corp:3128/"), "proxy.corp:3128");
        assert_eq!(
            shown("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-bundle.pem"),
            "/etc/ssl/certs/ca-bundle.pem"
        );
        assert_eq!(
            shown("REQUESTS_CA_BUNDLE", r"C:\certs\ca bundle.pem"),
            r"C:\certs\ca bundle.pem"
        );
        assert_eq!(shown("AZURE_CORE_OUTPUT", "json"), "json");
        assert_eq!(shown("AZURE_CORE_ONLY_SHOW_ERRORS", "True"), "True");
        assert_eq!(
            shown("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            "72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
        assert_eq!(
            shown("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
            "contoso.onmicrosoft.com"
        );
        assert_eq!(
            shown("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token?x=1"),
            "http://localhost:42356/msi/token"
        );
        assert_eq!(
            shown("NO_PROXY", "localhost,.contoso.com"),
            "localhost,.contoso.com"
        );
        assert_eq!(shown("LANG", "en_US.UTF-8"), "en_US.UTF-8");
    }

    #[test]
    fn wrong_shapes_and_unknown_names_are_withheld() {
        for (n, v) in [
            ("AZURE_CORE_ONLY_SHOW_ERRORS", "canary-not-a-bool"),
            ("AZURE_CORE_OUTPUT", "json; canary"),
            ("AZURE_TENANT_ID", "canary tenant"),
            ("AZURE_CLIENT_ID", "Basic Y2FuYXJ5"),
            ("REQUESTS_CA_BUNDLE", "canary=1;Pwd=x"),
            ("HTTPS_PROXY", "Basic Y2FuYXJ5"),
            ("AZURE_DEVOPS_EXT_PAT", "canaryPAT123456"),
            ("MSAL_ANYTHING", "canary"),
        ] {
            let d = describe(n, Some(v));
            assert!(d.set, "{n}");
            assert!(d.value.is_none(), "{n}: {d:?}");
            assert_eq!(d.length, Some(v.chars().count()), "{n}");
        }
    }

    #[test]
    fn secrets_for_the_literal_search() {
        let e = env(&[
            ("AZURE_DEVOPS_EXT_PAT", "canaryPAT123456"),
            ("AZURE_SQL_PWD", "canaryPwd999"),
            (
                "AZURE_DB_CONN",
                "Server=tcp:db;Database=x;Uid=u;Pwd=canaryConnPwd;",
            ),
            ("AZURE_CLIENT_ASSERTION", "eyJcanaryassertion.x.y"),
            ("AZURE_HTTP_AUTH", "Basic YWxpY2U6Y2FuYXJ5QmFzaWM="),
            ("AZURE_API_AUTH", "Bearer canaryBearerTok"),
            ("HTTPS_PROXY", "http://alice:canary%40pw/x@proxy:3128"),
            ("AZURE_CORE_OUTPUT", "json"),
            ("AZURE_SOMETHING", "true"),
            ("PATH", "/usr/bin:/canary-not-reported"),
        ]);
        let s = secret_values(&e);
        for want in [
            "canaryPAT123456",
            "canaryPwd999",
            "Server=tcp:db;Database=x;Uid=u;Pwd=canaryConnPwd;",
            "canaryConnPwd",
            "eyJcanaryassertion.x.y",
            "YWxpY2U6Y2FuYXJ5QmFzaWM=",
            "alice:canaryBasic",
            "canaryBasic",
            "canaryBearerTok",
            "alice:canary%40pw/x",
            "canary%40pw/x",
            "canary@pw/x",
        ] {
            assert!(s.iter().any(|x| x == want), "{want} missing from {s:?}");
        }
        // Shown values, harmless words and unreported variables are not searched for.
        for not in [
            "json",
            "true",
            "/usr/bin:/canary-not-reported",
            "http://alice:canary%40pw/x@proxy:3128",
        ] {
            assert!(!s.iter().any(|x| x == not), "{not} in {s:?}");
        }
    }
}
