//! `environment`: an allowlist of proxy, CA-bundle and Azure settings — never the whole
//! environment. Values of secret-named variables are recorded only as "set"; proxy URLs keep
//! their host but lose any user:password (the redactor's url-credentials rule).

use serde_json::{Map, Value, json};

use super::{Collector, Context, Env, Outcome};

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
];

/// Prefixes whose every variable is reported.
const PREFIXES: &[&str] = &["AZURE_", "MSAL_", "IDENTITY_", "MSI_"];

/// Name fragments that mark a value as secret.
const SECRET_MARKS: &[&str] = &[
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "KEY",
    "HEADER",
    "CREDENTIAL",
    "SIGNATURE",
    "SAS",
    "CONNECTION_STRING",
    "COOKIE",
];

/// Suffixes that mark a value as a path or a location even when the name has a secret mark
/// (AZURE_FEDERATED_TOKEN_FILE names a file; its content is never read).
const PATH_SUFFIXES: &[&str] = &["_FILE", "_PATH", "_DIR"];

/// Is this allowlisted variable's value a secret that must only be reported as "set"?
pub fn is_secret_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    SECRET_MARKS.iter().any(|m| up.contains(m)) && !PATH_SUFFIXES.iter().any(|s| up.ends_with(s))
}

/// Is this variable one we report?
pub fn is_allowlisted(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    WELL_KNOWN.iter().any(|w| w.eq_ignore_ascii_case(name))
        || PREFIXES.iter().any(|p| up.starts_with(p))
}

/// The values of allowlisted secret variables: the redactor removes them wherever they appear.
pub fn secret_values(env: &Env) -> Vec<String> {
    env.iter()
        .filter(|(k, v)| is_allowlisted(k) && is_secret_name(k) && !v.is_empty())
        .map(|(_, v)| v.to_string())
        .collect()
}

impl Collector for Environment {
    fn id(&self) -> &'static str {
        "environment"
    }

    fn collect(&self, ctx: &Context) -> Outcome {
        let mut vars = Map::new();
        for name in WELL_KNOWN {
            vars.insert(
                (*name).to_string(),
                describe(name, ctx.env.vars_exact(name)),
            );
        }
        for (k, v) in ctx.env.iter() {
            if is_allowlisted(k) && !vars.contains_key(k) {
                vars.insert(k.to_string(), describe(k, Some(v)));
            }
        }
        let value = json!({
            "note": "allowlisted variables only; secret-named values are recorded as set, never their value",
            "case_insensitive_names": ctx.platform.is_windows(),
            "variables": Value::Object(vars),
        });
        let mut out = Outcome::ok();
        out.add_json(ctx, "environment.json", &value);
        out
    }
}

fn describe(name: &str, value: Option<&str>) -> Value {
    match value {
        None => json!({ "set": false }),
        Some(v) if is_secret_name(name) => {
            json!({ "set": true, "value": "[REDACTED:secret-env]", "length": v.chars().count() })
        }
        Some(v) => json!({ "set": true, "value": v }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for s in [
            "AZURE_CLIENT_SECRET",
            "AZURE_PASSWORD",
            "IDENTITY_HEADER",
            "MSI_SECRET",
            "AZURE_STORAGE_KEY",
            "AZURE_STORAGE_CONNECTION_STRING",
        ] {
            assert!(is_secret_name(s), "{s}");
        }
        for s in [
            "AZURE_CONFIG_DIR",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_TENANT_ID",
            "HTTPS_PROXY",
            "IDENTITY_ENDPOINT",
        ] {
            assert!(!is_secret_name(s), "{s}");
        }
    }

    #[test]
    fn allowlist() {
        assert!(is_allowlisted("https_proxy"));
        assert!(is_allowlisted("AZURE_CORE_OUTPUT"));
        assert!(is_allowlisted("MSAL_LOG_LEVEL"));
        assert!(!is_allowlisted("PATH"));
        assert!(!is_allowlisted("GITHUB_TOKEN"));
    }
}
