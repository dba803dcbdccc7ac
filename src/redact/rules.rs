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
    pub(crate) matcher: Matcher,
    /// Indices of the `s*` capture groups (computed once, used on every match).
    pub(crate) secret_groups: Vec<usize>,
}

/// How a rule finds its secrets.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// A regex whose `s*` groups are the secret.
    Regex(Regex),
    /// Code that pushes the secret spans it finds.
    Code(fn(&str, &mut Vec<(usize, usize)>)),
}

impl Rule {
    /// Push the spans of the secrets this rule finds in `text`, offset by `base`.
    pub(crate) fn find(&self, text: &str, base: usize, out: &mut Vec<(usize, usize)>) {
        match &self.matcher {
            Matcher::Regex(re) => {
                for caps in re.captures_iter(text) {
                    for &i in &self.secret_groups {
                        if let Some(m) = caps.get(i) {
                            out.push((base + m.start(), base + m.end()));
                        }
                    }
                }
            }
            Matcher::Code(f) => {
                let n = out.len();
                f(text, out);
                for s in &mut out[n..] {
                    s.0 += base;
                    s.1 += base;
                }
            }
        }
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
const SECRET_FLAG: &str = r"(?:-p|--p|--pass[a-z]*|--federated-tok[a-z]*|--client-sec[a-z]*|--?(?:[a-z0-9]+-?)*?(?:password|passwd|secret|token))";

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
        matcher: Matcher::Regex(regex),
        secret_groups,
    }
}

/// Key names whose value is a secret, as a regex fragment (matched case-insensitively against
/// the whole key): JSON members, headers, YAML / INI / `Format-List` lines.
pub(crate) const SECRET_KEY: &str = r"(?:[a-z0-9][a-z0-9_.\-]*)?(?:token|secret|secrettext|password|passwd|pwd|passphrase|assertion|credentials?|api[_-]?key|access[_-]?key|private[_-]?key|primary[_-]?key|secondary[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|connection[_-]?string|signature|cookie)|device_?code|pat|auth|sig";

/// The trigger literals of `oauth-field`: every ending of a [`SECRET_KEY`] followed by a quote
/// or `=` (made once; the rule table is built once).
fn oauth_triggers() -> &'static [&'static str] {
    const ENDS: &[&str] = &[
        "token",
        "secret",
        "secrettext",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "assertion",
        "credential",
        "credentials",
        "key",
        "connectionstring",
        "connection_string",
        "connection-string",
        "signature",
        "cookie",
        "device_code",
        "devicecode",
        "pat",
        "auth",
        "sig",
    ];
    let mut v: Vec<&'static str> = ENDS
        .iter()
        .flat_map(|e| ["\"", "'", "="].map(|q| &*Box::leak(format!("{e}{q}").into_boxed_str())))
        .collect();
    v.push("code=");
    Box::leak(v.into_boxed_slice())
}

/// Is this JSON member / setting name one whose value is secret?
pub fn is_secret_key(key: &str) -> bool {
    use std::sync::OnceLock;
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&format!("(?i)^(?:{SECRET_KEY})$")).expect("valid key regex"))
        .is_match(key)
}

/// The built-in rules. They all run on the original text; their matches are merged before
/// anything is replaced, so no rule ever sees another rule's output.
pub fn rule_table() -> Vec<Rule> {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<Rule>> = OnceLock::new();
    TABLE.get_or_init(build_table).clone()
}

fn build_table() -> Vec<Rule> {
    let oauth_keys = SECRET_KEY;
    let mut private_key = rule(
        "private-key",
        "the body of a PEM or PGP private-key block (any key type), also when written on one line with \\n escapes or cut off",
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg...\\n-----END PRIVATE KEY-----",
        &["private key"],
        // The body can never contain "-----" (which ends it, also for a block that was cut
        // off) nor a quote or brace (the end of the string a key was embedded in). PGP armour
        // headers (`Comment: alice@example.com`) are part of the body.
        r#"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<s>(?:[^-"'{}<>]|-{1,4}[^-"'{}<>])*)(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)?"#,
    );
    private_key.multiline = true;
    let mut putty = rule(
        "putty-private-key",
        "the private lines and MAC of a PuTTY .ppk key",
        "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\nAAAAIBsT3cr3tKeyBytesAAAA\nPrivate-MAC: 6c3f0d1e",
        &["private-lines", "private-mac", "private-hash"],
        r"(?im)Private-Lines:[ \t]*\d+[ \t]*\r?\n(?P<s1>(?:[A-Za-z0-9+/=]+[ \t]*\r?$\n?)+)|Private-(?:MAC|Hash):[ \t]*(?P<s2>[0-9a-fA-F]+)",
    );
    putty.multiline = true;
    let mut der = rule(
        "der-private-key",
        "base64 DER private keys and PFX/PKCS#12 files without PEM armour (PKCS#1, PKCS#8, SEC1, Ed25519, encrypted PKCS#8, PFX), also wrapped over lines",
        "MIIEowIBAAKCAQEAlr0GKpjKvobnDg84LXbPPEsN...",
        &[
            "ibazcc",
            "ibaakc",
            "ibadan",
            "mhccaqee",
            "migkagebbd",
            "mc4caqawbqydk2vw",
            "mighagemabmgbyqgsm49",
            "bgkqhkig9w0bbq0w",
        ],
        r"(?m)(?P<s>(?:MII[A-Za-z0-9+/]{3}(?:IBAzCC|IBAAKC|IBADAN)|MHcCAQEE|MIGkAgEBBD|MC4CAQAwBQYDK2Vw|MIGHAgEAMBMGByqGSM49|MII[A-Za-z0-9+/]{2,6}BgkqhkiG9w0BBQ0w)[A-Za-z0-9+/=]*(?:(?:\\[rn])+[A-Za-z0-9+/=]+)*(?:\r?\n[ \t]*[A-Za-z0-9+/=]{4,}[ \t]*\r?$)*)",
    );
    der.multiline = true;
    let mut storage = rule(
        "storage-key",
        "the `value` of a storage account key object (`az storage account keys list`: keyName, permissions, value)",
        r#"{"creationTime": "2026-11-01T00:00:00Z", "keyName": "key1", "permissions": "FULL", "value": "bXlrZXlWYWx1ZQ=="}"#,
        &["\"keyname\""],
        r#"(?i)"keyName"\s*:\s*"[^"]*"(?:\s*,\s*"[a-z]+"\s*:\s*(?:"[^"]*"|null|true|false|[0-9.]+))*?\s*,\s*"value"\s*:\s*"(?P<s>[^"]*)""#,
    );
    storage.multiline = true;
    vec![
        private_key,
        putty,
        der,
        storage,
        rule(
            "authorization-header",
            "the value of Authorization / Proxy-Authorization (any scheme; the scheme stays) in header, PowerShell debug, JSON, Python-dict and URL-encoded form, and any `Bearer <token>`",
            "'Authorization': 'Bearer eyJ0eXAiOiAiS...'",
            &["authorization", "bearer"],
            &header_regex(
                "proxy-authorization|authorization",
                "bearer|basic|negotiate|ntlm|digest|pop",
                r"|\bbearer[ \t]+(?P<s3>[A-Za-z0-9._~+/\-]{8,}=*)|authorization%3a(?:\+|%20)*(?:(?:bearer|basic|negotiate|ntlm|digest|pop)(?:\+|%20)+)?(?P<s4>[^&\s'\x22]+)",
            ),
        ),
        rule(
            "cookie",
            "the value of Cookie / Set-Cookie headers in header, JSON and Python-dict form",
            "Set-Cookie: fpc=AkXo2...; expires=Fri, 25-Dec-2026 06:00:00 GMT; path=/; secure; HttpOnly",
            &["cookie"],
            &header_regex("set-cookie|cookie", "", ""),
        ),
        Rule {
            name: "url-credentials",
            description: "user:password before the host in any URL (proxy URLs especially), also without a scheme (`alice:pw@proxy:3128`) and with raw / # ? in the password",
            example: "http://alice:s3cret@proxy.contoso.com:8080",
            triggers: &["@"],
            multiline: false,
            matcher: Matcher::Code(url_credentials),
            secret_groups: Vec::new(),
        },
        rule(
            "connection-string-key",
            "secrets in connection strings: AccountKey=, SharedAccessKey=, SharedAccessSignature=, Password=, Pwd=, ClientSecret= (also `{braced}` values)",
            "DefaultEndpointsProtocol=https;AccountName=st1;AccountKey=bXlrZXk=;EndpointSuffix=core.windows.net",
            &[
                "accountkey",
                "sharedaccesskey",
                "sharedaccesssignature",
                "password",
                "pwd",
                "clientsecret",
                "client secret",
            ],
            r#"(?i)(?:^|[;\s"'])(?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret|Client Secret)[ \t]*=[ \t]*(?:\{(?P<s1>[^}\r\n]*)\}|(?P<s2>[^;\s'"]+))"#,
        ),
        rule(
            "sas-signature",
            "the sig= parameter of a shared access signature URL",
            "https://st1.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-01&sp=r&sig=abc%2Bdef%3D",
            &["sig="],
            r#"(?i)(?:[?&;]|\\u0026)sig=(?P<s>[^&\s'"\#;\\]+)"#,
        ),
        rule(
            "secret-field",
            "a header, YAML, INI or PowerShell Format-List line whose key names a secret (x-ms-refresh-token:, client_secret:, SecretText :, pat =, Pwd=)",
            "X-MS-TOKEN-AAD-ID-TOKEN: eyJ0eXAi...",
            &[
                "token",
                "secret",
                "password",
                "passwd",
                "pwd",
                "passphrase",
                "assertion",
                "credential",
                "apikey",
                "api-key",
                "api_key",
                "accesskey",
                "access_key",
                "access-key",
                "privatekey",
                "private_key",
                "primarykey",
                "secondarykey",
                "accountkey",
                "connectionstring",
                "connection_string",
                "signature",
                "cookie",
                "pat =",
                "pat=",
                "pat:",
                "pat :",
                "auth =",
                "auth=",
                "auth:",
                "sig:",
                "sig =",
                "sig=",
                "devicecode",
                "device_code",
            ],
            &format!(
                r#"(?im)^[ \t]*(?:-[ \t]+)?'?(?:{oauth_keys})'?[ \t]*[:=][ \t]*(?:(?:bearer|basic|negotiate|ntlm|digest|pop)[ \t]+)?(?:'(?P<s1>[^'\r\n]*)'?|"(?P<s2>[^"\r\n]*)"?|(?P<s3>[^\s'"][^\r\n]*?))[ \t]*\r?$"#
            ),
        ),
        rule(
            CMDLINE_RULE,
            "the value after a secret command-line flag: -p, and any flag ending in password, secret or token (az --password, --client-secret, --federated-token, --certificate-password; PowerShell -ClientSecret, -CertificatePassword, -Password, -AccessToken), in shell, --flag=value, -Flag:value, -Flag: value and az's argument-list forms",
            "az login --service-principal -u 0a1b... -p Zq8~s3cret --tenant contoso.onmicrosoft.com",
            // `-p` only with the separators the regex accepts: a bare "-p" is in every
            // "site-packages" of a Python traceback.
            // A flag's name ends right before its separator (`--client-secret X`,
            // `-AccessToken:X`, `'--password', 'X'`).
            &[
                "-p ",
                "-p\t",
                "-p'",
                "-p\"",
                "-p=",
                "-p:",
                "password ",
                "password\t",
                "password=",
                "password:",
                "password'",
                "password\"",
                "passwd ",
                "passwd=",
                "passwd:",
                "passwd'",
                "passwd\"",
                "secret ",
                "secret\t",
                "secret=",
                "secret:",
                "secret'",
                "secret\"",
                "token ",
                "token\t",
                "token=",
                "token:",
                "token'",
                "token\"",
                "--pass",
                "--p ",
                "--federated-tok",
                "--client-sec",
            ],
            &format!(
                r#"(?i)(?:^|[\s'"\[,(])(?:{SECRET_FLAG})(?:=|:[ \t]*|[ \t]+|['"][ \t]*,[ \t]*)(?:'(?P<s1>(?:[^'\r\n]|'')*)'|"(?P<s2>(?:[^"\\\r\n]|\\.|"")*)"|(?P<s3>[^\s'",\]\)(][^\s'",\]\)]*))"#
            ),
        ),
        rule(
            "secure-string",
            "PowerShell plain-text secrets: the string given to ConvertTo-SecureString (as argument, -String, piped or in parentheses), to a NetworkCredential / PSCredential constructor, and assigned to a secret-named variable or $env: variable",
            "$pw = ConvertTo-SecureString 'Zq8~s3cret' -AsPlainText -Force",
            &[
                "convertto-securestring",
                "networkcredential",
                "pscredential",
                "$env:",
                "$",
            ],
            &format!(
                r#"(?i)ConvertTo-SecureString(?:[ \t]+-(?:AsPlainText|Force)\b)*(?:[ \t]*\([ \t]*|[ \t]+(?:-String[ \t:]+)?)(?:'(?P<s1>(?:[^'\r\n]|'')*)'|"(?P<s2>[^"\r\n]*)"|(?P<s3>[^\s|;)'"(-][^\s|;)'"]*))|(?:'(?P<s4>(?:[^'\r\n]|'')*)'|"(?P<s5>[^"\r\n]*)")[ \t]*\|[ \t]*ConvertTo-SecureString|(?:NetworkCredential|PSCredential)[ \t]*(?:\]::new)?\([^)\r\n]*?,[ \t]*(?:'(?P<s6>(?:[^'\r\n]|'')*)'|"(?P<s7>[^"\r\n]*)")|\$(?:env:)?[a-z0-9_]*(?:{oauth_keys}|pw|pass)[ \t]*=[ \t]*(?:'(?P<s8>(?:[^'\r\n]|'')*)'|"(?P<s9>[^"\r\n]*)")"#
            ),
        ),
        rule(
            "oauth-field",
            "OAuth and credential fields: access_token, refresh_token, id_token, client_secret, client_assertion, password, device_code, secretText, primaryKey and any key ending in token / secret / password / key, as JSON or Python-dict members (also when the value is on the next line or cut off) and in form bodies and query strings (there also `code`)",
            "client_id=0a1b&client_secret=Zq8~s3cret&grant_type=client_credentials",
            // The key's end and the quote or `=` after it (`token"`, `key'`, `secret=`): the
            // regex reads only those forms, and "token_cache" or "authority" lines stay out.
            oauth_triggers(),
            &format!(
                r#"(?i)(?:["'](?:{oauth_keys})["']\s*:\s*(?:"(?P<s1>(?:[^"\\\r\n]|\\.)*)"?|'(?P<s2>[^'\r\n]*)'?)|(?:^|[?&\s;,'"(])(?:{oauth_keys}|code)=(?P<s3>[^&\s'"\#,;)]+))"#
            ),
        ),
        rule(
            "jwt",
            "JSON Web Tokens and their fragments: base64url text starting eyJ (a JSON header), with up to two more dot-separated segments, also a short piece at the end of a line (wrapped)",
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.c2ln",
            &["eyj"],
            r"(?m)(?P<s>eyJ[A-Za-z0-9_\-]{10,}(?:\.[A-Za-z0-9_\-]*){0,2}|eyJ[A-Za-z0-9_\-]{1,9}[ \t]*$)",
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

/// `user:password@host` in URLs and proxy settings. Written as code because the password may
/// hold raw `/ # ? @` (requests and curl accept them) and the scheme may be missing, which no
/// regex without look-around can tell from `https://host:443/path?upn=alice@contoso.com`.
fn url_credentials(text: &str, out: &mut Vec<(usize, usize)>) {
    let b = text.as_bytes();
    let stop = |c: u8| c.is_ascii_whitespace() || matches!(c, b'\'' | b'"' | b'<' | b'>' | b'`');
    let mut last_end = 0;
    for at in memchr::memchr_iter(b'@', b) {
        if at < last_end {
            continue;
        }
        // The token around this '@'.
        let mut s = at;
        while s > 0 && !stop(b[s - 1]) {
            s -= 1;
        }
        let mut e = at + 1;
        while e < b.len() && !stop(b[e]) {
            e += 1;
        }
        // Credentials end at the token's last '@' that is followed by a host.
        let Some(last_at) = (at..e).rev().find(|&i| b[i] == b'@') else {
            continue;
        };
        let host_ok = |i: usize| {
            i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'[' || b[i] == b'_')
        };
        if !host_ok(last_at + 1) {
            continue;
        }
        let tok = &text[s..last_at];
        let (ui_start, scheme) = match tok.find("://") {
            Some(i) => (s + i + 3, true),
            None => {
                // A key=value or a quoted setting: start after the last '=' or ',' before any ':'.
                let cut = tok
                    .char_indices()
                    .take_while(|&(_, c)| c != ':')
                    .filter(|&(_, c)| c == '=' || c == ',' || c == '(' || c == '[')
                    .map(|(i, _)| i + 1)
                    .last()
                    .unwrap_or(0);
                (s + cut, false)
            }
        };
        if ui_start >= last_at {
            continue;
        }
        let ui = &text[ui_start..last_at];
        let Some(colon) = ui.find(':') else { continue };
        let user = &ui[..colon];
        let pass = &ui[colon + 1..];
        if user.contains('/') || pass.is_empty() {
            continue;
        }
        // `host:443/path?x=a@b`: what follows the colon is a port, not a password.
        let digits = pass.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && (digits == pass.len() || pass.as_bytes()[digits] == b'/') {
            continue;
        }
        if !scheme {
            // Without a scheme, require `host:port` after the '@' (an e-mail address has none).
            let rest = &b[last_at + 1..e];
            let Some(c) = rest.iter().position(|&c| c == b':') else {
                continue;
            };
            if !rest[c + 1..].first().is_some_and(u8::is_ascii_digit) || user.is_empty() {
                continue;
            }
        }
        out.push((ui_start, last_at));
        last_end = e;
    }
}

/// The rule applied with `--mask-pii`: e-mail addresses and UPNs become stable pseudonyms.
pub(crate) const PII_RULE: &str = "pii-email";
pub(crate) const PII_DESCRIPTION: &str = "(only with --mask-pii) e-mail addresses and UPNs: the local part becomes a stable pseudonym `pii-user-N` (the same address gets the same N within a bundle); the domain and a guest's #EXT# marker stay";
pub(crate) const PII_EXAMPLE: &str = "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com";

/// `--mask-pii`: the user name of a home-directory path.
pub(crate) const PII_PATH_RULE: &str = "pii-path-user";
pub(crate) const PII_PATH_DESCRIPTION: &str = "(only with --mask-pii) the user name in a home-directory path (`C:\\Users\\<name>`, `/home/<name>`, `/Users/<name>`) becomes `pii-user-N`, the same N as that name's e-mail address; Public, Default, All Users and Shared stay";
pub(crate) const PII_PATH_EXAMPLE: &str = "C:\\Users\\alice\\.azure and alice@contoso.com";

/// `--mask-host`: the host name.
pub(crate) const PII_HOST_RULE: &str = "pii-host";
pub(crate) const PII_HOST_DESCRIPTION: &str = "(only with --mask-host) the machine's host name, as a whole word in any case, becomes `pii-host-1` everywhere, the bundle's file name included (names shorter than 2 characters are not masked)";
pub(crate) const PII_HOST_EXAMPLE: &str = "Host name: PC01 (pc01.contoso.local)";

/// A home-directory path up to its user name: the name (`user`), or a name with single spaces
/// (`spaced`) when a separator (`sep`) follows it.
pub(crate) fn path_user_regex() -> Regex {
    const NAME: &str = r#"[^\\/\s"'<>|:*?;,=]+"#;
    Regex::new(&format!(
        r#"(?P<pre>(?i:\b[a-z]:(?:\\{{1,2}}|/)(?:users|documents and settings)(?:\\{{1,2}}|/))|(?:^|[\s"'=(\[,;:])(?:/home/|/Users/))(?:(?P<spaced>{NAME}(?: {NAME})+)(?P<sep>\\{{1,2}}|/)|(?P<user>{NAME}))"#
    ))
    .expect("valid path regex")
}

/// The host name as a whole word (`pre` and `post` are the neighbouring characters, kept).
pub(crate) fn host_regex(host: &str) -> Regex {
    Regex::new(&format!(
        r"(?i)(?P<pre>^|[^A-Za-z0-9_-])(?P<host>{})(?P<post>$|[^A-Za-z0-9_-])",
        regex::escape(host)
    ))
    .expect("an escaped host name is a valid regex")
}

pub(crate) fn pii_regex() -> Regex {
    Regex::new(r"(?i)(?P<local>[a-z0-9][a-z0-9._%+'\-]*?)(?P<ext>#EXT#)?@(?P<domain>[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,})")
        .expect("valid e-mail regex")
}

/// What each rule matches, in Japanese (`entra-collect rules --lang ja`), by rule name. Every
/// rule of the catalogue has an entry (tested).
pub(crate) fn description_ja(name: &str) -> Option<&'static str> {
    Some(match name {
        "private-key" => {
            "PEM または PGP の秘密鍵ブロックの本文 (鍵の種類を問いません)。\\n エスケープで 1 行に書かれたものや途中で切れたものも含みます"
        }
        "putty-private-key" => "PuTTY の .ppk 鍵の秘密の行と MAC",
        "der-private-key" => {
            "PEM の囲みのない base64 の DER 秘密鍵と PFX/PKCS#12 ファイル (PKCS#1、PKCS#8、SEC1、Ed25519、暗号化 PKCS#8、PFX)。複数行に折り返されたものも含みます"
        }
        "storage-key" => {
            "ストレージ アカウント キーのオブジェクトの `value` (`az storage account keys list`: keyName、permissions、value)"
        }
        "authorization-header" => {
            "Authorization / Proxy-Authorization の値 (スキームを問わず、スキーム自体は残します)。ヘッダー、PowerShell のデバッグ出力、JSON、Python の dict、URL エンコードの各形式と、すべての `Bearer <トークン>`"
        }
        "cookie" => "Cookie / Set-Cookie ヘッダーの値 (ヘッダー、JSON、Python の dict の各形式)",
        "url-credentials" => {
            "URL のホストの前にある ユーザー:パスワード (特にプロキシ URL)。スキームのないもの (`alice:pw@proxy:3128`) や、パスワードに / # ? をそのまま含むものも対象です"
        }
        "connection-string-key" => {
            "接続文字列の中のシークレット: AccountKey=、SharedAccessKey=、SharedAccessSignature=、Password=、Pwd=、ClientSecret= (`{中かっこ}` で囲んだ値も含みます)"
        }
        "sas-signature" => "Shared Access Signature の URL の sig= パラメーター",
        "secret-field" => {
            "キー名がシークレットを表すヘッダー、YAML、INI、PowerShell の Format-List の行 (x-ms-refresh-token:、client_secret:、SecretText :、pat =、Pwd=)"
        }
        "command-line-secret" => {
            "シークレットを取るコマンドライン オプションの値: -p と、password、secret、token で終わるすべてのオプション (az の --password、--client-secret、--federated-token、--certificate-password、PowerShell の -ClientSecret、-CertificatePassword、-Password、-AccessToken)。シェル形式、--flag=value、-Flag:value、-Flag: value、az の引数リスト形式のいずれも対象です"
        }
        "secure-string" => {
            "PowerShell の平文のシークレット: ConvertTo-SecureString に渡した文字列 (引数、-String、パイプ、かっこ内)、NetworkCredential / PSCredential のコンストラクターに渡した文字列、シークレットを表す名前の変数や $env: 変数に代入した文字列"
        }
        "oauth-field" => {
            "OAuth と資格情報のフィールド: access_token、refresh_token、id_token、client_secret、client_assertion、password、device_code、secretText、primaryKey と、token / secret / password / key で終わるすべてのキー。JSON や Python の dict のメンバー (値が次の行にあるものや途中で切れたものも含みます) と、フォームの本文やクエリ文字列 (そこでは `code` も) が対象です"
        }
        "jwt" => {
            "JSON Web Token とその断片: eyJ (JSON のヘッダー) で始まる base64url の文字列と、ドットで区切られた最大 2 つの後続部分。行末の短い断片 (折り返し) も含みます"
        }
        "refresh-token" => {
            "Entra のリフレッシュ トークンと認可コード: 0.A または 1.A で始まる長い文字列"
        }
        "known-secret-value" => {
            "一度見つかったすべてのシークレット: 伏せたコマンドラインの値と変数、シークレットの環境変数の値 (4 文字以上)、6 文字以上のすべてのルールの一致。以後どこに現れても置き換えます (そのまま、URL エンコード (%20 と +)、JSON やバックスラッシュのエスケープ、任意の位置からの base64 と base64url、16 進、UTF-16LE のテキスト)"
        }
        "argument" => {
            "記録するコマンドライン (manifest、デバッグ ログのヘッダー、標準エラー出力) の既定拒否: プログラム名、サブコマンド、オプション名は残します。値を残すのは az、Connect-AzAccount、Connect-MgGraph、PowerShell、entra-collect の許可リストにあるオプションだけです。PowerShell のスクリプトは字句に分け、それ以外のリテラルはすべて伏せます"
        }
        "high-entropy" => {
            "シークレットを示すキーワード (key、secret、token、password、credential、assertion、signature、cert、auth など) の後 256 文字以内にある、エントロピーの高い 32 文字以上の base64、base64url、16 進の並びと、JWT の本体の形をしたドット区切りの base64url の並び (場所を問いません)。GUID、パス、ハッシュや拇印と明示された並びは対象外です"
        }
        "truncated-line" => {
            "キャプチャの上限で切れた出力の、途中で終わる最後の行 (シークレットの前半を含む可能性があります)"
        }
        "pii-email" => {
            "(--mask-pii 指定時のみ) メール アドレスと UPN: ローカル部を固定の仮名 `pii-user-N` に置き換えます (同じアドレスはバンドル内で同じ N になります)。ドメインとゲストの #EXT# は残します"
        }
        "pii-path-user" => {
            "(--mask-pii 指定時のみ) ホーム ディレクトリのパス (`C:\\Users\\<名前>`、`/home/<名前>`、`/Users/<名前>`) の中のユーザー名を `pii-user-N` に置き換えます (その名前のメール アドレスと同じ N)。Public、Default、All Users、Shared は残します"
        }
        "pii-host" => {
            "(--mask-host 指定時のみ) このマシンのホスト名 (大文字小文字を問わず単語として一致するもの) を、バンドルのファイル名も含めてすべて `pii-host-1` に置き換えます (2 文字未満の名前は対象外です)"
        }
        _ => return None,
    })
}
