//! The rule table. Every rule is documented in docs/redaction.md and printed by
//! `entra-collect rules`; add a rule here, a row there, and table tests in `tests.rs`.
//!
//! A rule has trigger literals (matched case-insensitively): only lines that contain one of a
//! rule's triggers are given to its regex, which is what keeps redaction fast on large logs.
//! Trigger lists must be complete: every text the regex can match contains one of them.

use regex::Regex;

/// A named redaction rule. The regex's capture groups named `s`, `s1`, `s2`, ... are the secret.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: &'static str,
    pub description: &'static str,
    /// An input the rule changes (the table shows it before and after).
    pub example: &'static str,
    pub(crate) triggers: &'static [&'static str],
    /// Applied to the whole text instead of line by line (secrets that span lines).
    pub(crate) multiline: bool,
    pub(crate) regex: Regex,
    /// Indices of the `s*` capture groups (computed once, used on every match).
    pub(crate) secret_groups: Vec<usize>,
}

impl Rule {
    /// The rule's regex (for benchmarks and diagnostics).
    pub fn regex(&self) -> &Regex {
        &self.regex
    }
    /// The literals that make a line a candidate for this rule.
    pub fn triggers(&self) -> &'static [&'static str] {
        self.triggers
    }
}

pub(crate) const CMDLINE_RULE: &str = "command-line-secret";

/// A flag whose value is secret: `-p`, or any flag whose name ends in password, secret or token
/// (`--client-secret`, `--federated-token`, `-ClientSecret`, `-CertificatePassword`,
/// `-AccessToken`, `-MicrosoftGraphAccessToken`, ...).
const SECRET_FLAG: &str = r"(?:-p|--?(?:[a-z0-9]+-?)*?(?:password|passwd|secret|token))";

pub(crate) fn is_secret_flag(arg: &str) -> bool {
    use std::sync::OnceLock;
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&format!("(?i)^{SECRET_FLAG}$")).expect("valid flag regex"))
        .is_match(arg)
}

/// Header-like keys whose whole value is secret, in header, PowerShell-debug, JSON and
/// Python-dict forms. `schemes` are kept visible (e.g. `Bearer [REDACTED:...]`).
/// `extra` is appended as one more alternative (starting with `|`).
fn header_regex(keys: &str, schemes: &str, extra: &str) -> String {
    let scheme = if schemes.is_empty() {
        String::new()
    } else {
        format!(r"(?:(?:{schemes})[ \t]+)?")
    };
    format!(
        r#"(?i)(?:["'](?:{keys})["'][ \t]*:[ \t]*["']{scheme}(?P<s1>[^"'\r\n]*)|\b(?:{keys})[ \t]*[:=][ \t]*{scheme}(?P<s2>[^\r\n]*){extra})"#
    )
}

fn rule(
    name: &'static str,
    description: &'static str,
    example: &'static str,
    triggers: &'static [&'static str],
    re: &str,
) -> Rule {
    let regex = Regex::new(re).unwrap_or_else(|e| panic!("rule {name}: {e}"));
    let secret_groups = regex
        .capture_names()
        .enumerate()
        .filter_map(|(i, n)| n.filter(|n| n.starts_with('s')).map(|_| i))
        .collect();
    Rule {
        name,
        description,
        example,
        triggers,
        multiline: false,
        regex,
        secret_groups,
    }
}

/// The built-in rules, in the order they are applied.
pub fn rule_table() -> Vec<Rule> {
    let oauth_keys = r"[a-z0-9_]*(?:token|secret|password|passwd|assertion)|device_?code";
    let mut private_key = rule(
        "private-key",
        "the body of a PEM private-key block (any key type), also when written on one line with \\n escapes or cut off",
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg...\\n-----END PRIVATE KEY-----",
        &["private key-----"],
        // The body is base64, white space, `\n` escapes and `Proc-Type:`-style headers, and can
        // never contain "-----": a greedy body that stops there keeps the regex engine from
        // scanning back over the whole text, and also ends a block that was cut off.
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?P<s>(?:[A-Za-z0-9+/=\s\\:,.]|-[A-Za-z0-9])*)(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)?",
    );
    private_key.multiline = true;
    vec![
        private_key,
        rule(
            "authorization-header",
            "the value of Authorization / Proxy-Authorization (any scheme; the scheme stays) in header, PowerShell debug, JSON and Python-dict form, and any `Bearer <token>`",
            "'Authorization': 'Bearer eyJ0eXAiOiAiS...'",
            &["authorization", "bearer"],
            &header_regex(
                "proxy-authorization|authorization",
                "bearer|basic|negotiate|ntlm|digest|pop",
                r"|\bbearer[ \t]+(?P<s3>[A-Za-z0-9._~+/\-]{8,}=*)",
            ),
        ),
        rule(
            "cookie",
            "the value of Cookie / Set-Cookie headers in header, JSON and Python-dict form",
            "Set-Cookie: fpc=AkXo2...; expires=Fri, 25-Dec-2026 06:00:00 GMT; path=/; secure; HttpOnly",
            &["cookie"],
            &header_regex("set-cookie|cookie", "", ""),
        ),
        rule(
            "url-credentials",
            "user:password before the host in any URL (proxy URLs especially)",
            "http://alice:s3cret@proxy.contoso.com:8080",
            &["://"],
            r#"(?i)\b[a-z][a-z0-9+.\-]*://(?P<s>[^\s/?#@'"<>\[\]]*:[^\s/?#'"<>]*)@"#,
        ),
        rule(
            CMDLINE_RULE,
            "the value after a secret command-line flag: -p, and any flag ending in password, secret or token (az --password, --client-secret, --federated-token, --certificate-password; PowerShell -ClientSecret, -CertificatePassword, -Password, -AccessToken), in shell, --flag=value, -Flag:value and az's argument-list forms; and the string given to ConvertTo-SecureString",
            "az login --service-principal -u 0a1b... -p Zq8~s3cret --tenant contoso.onmicrosoft.com",
            // `-p` only with the separators the regex accepts: a bare "-p" is in every
            // "site-packages" of a Python traceback.
            &[
                "-p ",
                "-p\t",
                "-p'",
                "-p\"",
                "-p=",
                "-p:",
                "password",
                "passwd",
                "secret",
                "token",
                "convertto-securestring",
            ],
            &format!(
                r#"(?i)(?:(?:^|[\s'"\[,(])(?:{SECRET_FLAG})(?:=|:|[ \t]+|['"][ \t]*,[ \t]*)(?:'(?P<s1>[^'\r\n]*)'|"(?P<s2>[^"\r\n]*)"|(?P<s3>[^\s'",\]\)]+))|ConvertTo-SecureString(?:[ \t]+-(?:AsPlainText|Force|String)\b)*[ \t]+(?:'(?P<s4>[^'\r\n]*)'|"(?P<s5>[^"\r\n]*)"|(?P<s6>[^\s|;)'"-][^\s|;)'"]*)))"#
            ),
        ),
        rule(
            "oauth-field",
            "OAuth and credential fields: access_token, refresh_token, id_token, client_secret, client_assertion, assertion, password, device_code, secret and any key ending in token / secret / password, as JSON or Python-dict members and in form bodies and query strings (there also `code`)",
            "client_id=0a1b&client_secret=Zq8~s3cret&grant_type=client_credentials",
            &["token", "secret", "password", "passwd", "assertion", "code"],
            &format!(
                r#"(?i)(?:["'](?:{oauth_keys})["'][ \t]*:[ \t]*(?:"(?P<s1>(?:[^"\\\r\n]|\\.)*)"|'(?P<s2>[^'\r\n]*)')|(?:^|[?&\s;,'"(])(?:{oauth_keys}|code)=(?P<s3>[^&\s'"\#,;)]+))"#
            ),
        ),
        rule(
            "connection-string-key",
            "keys in storage / Service Bus / Event Hubs connection strings: AccountKey=, SharedAccessKey=, SharedAccessSignature=",
            "DefaultEndpointsProtocol=https;AccountName=st1;AccountKey=bXlrZXk=;EndpointSuffix=core.windows.net",
            &["accountkey", "sharedaccesskey", "sharedaccesssignature"],
            r#"(?i)\b(?:AccountKey|SharedAccessKey|SharedAccessSignature)=(?P<s>[^;\s'"]+)"#,
        ),
        rule(
            "sas-signature",
            "the sig= parameter of a shared access signature URL",
            "https://st1.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-01&sp=r&sig=abc%2Bdef%3D",
            &["sig="],
            r#"(?i)(?:[?&;]|\\u0026)sig=(?P<s>[^&\s'"\#;\\]+)"#,
        ),
        rule(
            "jwt",
            "JSON Web Tokens and their fragments: base64url text starting eyJ (a JSON header), with up to two more dot-separated segments",
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2ln",
            &["eyj"],
            r"(?P<s>eyJ[A-Za-z0-9_\-]{10,}(?:\.[A-Za-z0-9_\-]*){0,2})",
        ),
        rule(
            "refresh-token",
            "Entra refresh tokens and authorization codes: long strings starting 0.A or 1.A",
            "0.AXYAv4j5cvGGr0GRqy180BHbR7DkqkZnbfRAl-U9bE2r5ZyHAAA.AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wQA9P8",
            &["0.a", "1.a"],
            r"(?:^|[^A-Za-z0-9.])(?P<s>[01]\.A[A-Za-z0-9_\-.*]{40,})",
        ),
    ]
}

/// The rule applied with `--mask-pii`: e-mail addresses and UPNs become stable pseudonyms.
pub(crate) const PII_RULE: &str = "pii-email";
pub(crate) const PII_DESCRIPTION: &str = "(only with --mask-pii) e-mail addresses and UPNs: the local part becomes a stable pseudonym `pii-user-N` (the same address gets the same N within a bundle); the domain and a guest's #EXT# marker stay";
pub(crate) const PII_EXAMPLE: &str = "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com";

pub(crate) fn pii_regex() -> Regex {
    Regex::new(r"(?i)(?P<local>[a-z0-9][a-z0-9._%+'\-]*?)(?P<ext>#EXT#)?@(?P<domain>[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,})")
        .expect("valid e-mail regex")
}
