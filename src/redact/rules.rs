//! The rule table. Every rule is documented in docs/redaction.md and printed by
//! `entra-collect rules`; add a rule here, a row there, and table tests in `tests.rs`.

use regex::Regex;

/// A named redaction rule. The regex's capture groups named `s`, `s1`, `s2`, ... are the secret.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: &'static str,
    pub description: &'static str,
    pub example: &'static str,
    pub(crate) regex: Regex,
}

pub(crate) const CMDLINE_RULE: &str = "command-line-secret";

/// Flags whose following argument is a secret (az and similar CLIs). Compared case-insensitively.
const SECRET_FLAGS: &[&str] = &[
    "-p",
    "--password",
    "--secret",
    "--client-secret",
    "--federated-token",
    "--certificate-password",
];

pub(crate) fn is_secret_flag(arg: &str) -> bool {
    SECRET_FLAGS.iter().any(|f| f.eq_ignore_ascii_case(arg))
}

fn rule(name: &'static str, description: &'static str, example: &'static str, re: &str) -> Rule {
    Rule {
        name,
        description,
        example,
        regex: Regex::new(re).unwrap_or_else(|e| panic!("rule {name}: {e}")),
    }
}

/// The built-in rules, in the order they are applied.
pub fn rule_table() -> Vec<Rule> {
    let flags = SECRET_FLAGS
        .iter()
        .map(|f| regex::escape(f))
        .collect::<Vec<_>>()
        .join("|");
    vec![
        rule(
            "url-credentials",
            "user:password before the host in any URL (proxy URLs especially)",
            "http://alice:s3cret@proxy:8080 -> http://[REDACTED:url-credentials]@proxy:8080",
            r#"(?i)\b[a-z][a-z0-9+.\-]*://(?P<s>[^\s/?#@'"<>\[\]]*:[^\s/?#'"<>]*)@"#,
        ),
        rule(
            CMDLINE_RULE,
            "the value after a secret command-line flag (-p, --password, --secret, --client-secret, --federated-token, --certificate-password), in shell form, --flag=value form and az's argument-list form",
            "az login -u app -p s3cret -> az login -u app -p [REDACTED:command-line-secret]",
            &format!(
                r#"(?i)(?:^|[\s'"\[,(])(?:{flags})(?:=|[ \t]+|['"][ \t]*,[ \t]*)(?:'(?P<s1>[^'\r\n]*)'|"(?P<s2>[^"\r\n]*)"|(?P<s3>[^\s'",\]\)]+))"#
            ),
        ),
    ]
}
