use super::*;

fn r(s: &str) -> String {
    Redactor::new().redact(s).into_string()
}

#[test]
fn url_credentials_are_masked_host_kept() {
    assert_eq!(
        r("HTTPS_PROXY=http://alice:s3cret@proxy.corp:8080"),
        "HTTPS_PROXY=http://[REDACTED:url-credentials]@proxy.corp:8080"
    );
    // A password containing '@' is masked up to the last '@' before the host.
    assert_eq!(
        r("http://bob:p@ss@10.0.0.1:3128/x"),
        "http://[REDACTED:url-credentials]@10.0.0.1:3128/x"
    );
}

#[test]
fn url_without_credentials_is_untouched() {
    let s = "GET https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration 200";
    assert_eq!(r(s), s);
    assert_eq!(r("ssh git@github.com"), "ssh git@github.com");
}

/// (input, expected output) per rule and per format.
const TABLE: &[(&str, &str)] = &[
    // authorization-header: header, PowerShell debug, Python dict, JSON, truncated, bare Bearer
    (
        "Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln",
        "Authorization: Bearer [REDACTED:authorization-header]",
    ),
    (
        "Proxy-Authorization: Basic YWxpY2U6czNjcmV0",
        "Proxy-Authorization: Basic [REDACTED:authorization-header]",
    ),
    (
        "Authorization                 : Bearer eyJ0eXAiOiJKV1Qi",
        "Authorization                 : Bearer [REDACTED:authorization-header]",
    ),
    (
        "{'User-Agent': 'python', 'Authorization': 'Bearer eyJ0eXAiOiAiS...', 'Accept': '*/*'}",
        "{'User-Agent': 'python', 'Authorization': 'Bearer [REDACTED:authorization-header]', 'Accept': '*/*'}",
    ),
    (
        r#"{"Authorization": "Negotiate TlRMTVNTUAABAAAAB4IIog==", "x": 1}"#,
        r#"{"Authorization": "Negotiate [REDACTED:authorization-header]", "x": 1}"#,
    ),
    ("{'Authorization': '*****'}", "{'Authorization': '*****'}"),
    // az masks arguments in its command log as {}: nothing left to remove.
    (
        "command args: login --service-principal -u {} -p {} --tenant {}",
        "command args: login --service-principal -u {} -p {} --tenant {}",
    ),
    (
        "token = Bearer abcdefgh.ijklmnop",
        "token = Bearer [REDACTED:authorization-header]",
    ),
    // cookie
    (
        "Set-Cookie: fpc=AkXo2; expires=Fri, 25-Dec-2026 06:00:00 GMT; path=/; secure",
        "Set-Cookie: [REDACTED:cookie]",
    ),
    (
        "{'Cookie': 'esctx=abc; x-ms-gateway-slice=estsfd'}",
        "{'Cookie': '[REDACTED:cookie]'}",
    ),
    // url-credentials
    (
        "HTTPS_PROXY=http://alice:s3cret@proxy.corp:8080",
        "HTTPS_PROXY=http://[REDACTED:url-credentials]@proxy.corp:8080",
    ),
    // command-line-secret: shell, =, PowerShell, argv list, ConvertTo-SecureString
    (
        "az ad sp create --federated-token eyJhbGciOi-x",
        "az ad sp create --federated-token [REDACTED:command-line-secret]",
    ),
    (
        "Connect-AzAccount -ServicePrincipal -ClientSecret 'Zq8~x y' -Tenant t",
        "Connect-AzAccount -ServicePrincipal -ClientSecret '[REDACTED:command-line-secret]' -Tenant t",
    ),
    (
        "Connect-MgGraph -AccessToken:$tok -NoWelcome",
        "Connect-MgGraph -AccessToken:[REDACTED:command-line-secret] -NoWelcome",
    ),
    (
        "New-Object PSCredential('app', (ConvertTo-SecureString 'Zq8~s3cret' -AsPlainText -Force))",
        "New-Object PSCredential('app', (ConvertTo-SecureString '[REDACTED:secure-string]' -AsPlainText -Force))",
    ),
    (
        "$s = ConvertTo-SecureString -String \"pw123\" -AsPlainText -Force",
        "$s = ConvertTo-SecureString -String \"[REDACTED:secure-string]\" -AsPlainText -Force",
    ),
    (
        "Connect-AzAccount -CertificatePassword $pfxpw",
        "Connect-AzAccount -CertificatePassword [REDACTED:command-line-secret]",
    ),
    // oauth-field: JSON, Python dict, form body, query string
    (
        r#"{"token_type": "Bearer", "access_token": "abc.def", "refresh_token": "0.AXY", "expires_in": 3599}"#,
        r#"{"token_type": "Bearer", "access_token": "[REDACTED:oauth-field]", "refresh_token": "[REDACTED:oauth-field]", "expires_in": 3599}"#,
    ),
    (
        r#"{"client_secret": "a\"b", "clientSecret": "q", "MyApp_Password": "w"}"#,
        r#"{"client_secret": "[REDACTED:oauth-field]", "clientSecret": "[REDACTED:oauth-field]", "MyApp_Password": "[REDACTED:oauth-field]"}"#,
    ),
    (
        "{'access_token': '********', 'id_token': 'x1'}",
        "{'access_token': '********', 'id_token': '[REDACTED:oauth-field]'}",
    ),
    (
        "client_id=abc&grant_type=client_credentials&client_secret=Zq8~s3cret&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        "client_id=abc&grant_type=client_credentials&client_secret=[REDACTED:oauth-field]&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
    ),
    (
        "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=abc",
        "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=[REDACTED:oauth-field]",
    ),
    (
        "GET https://localhost:8400/?code=0.AXYAshort&state=xyz&session_state=s",
        "GET https://localhost:8400/?code=[REDACTED:oauth-field]&state=xyz&session_state=s",
    ),
    (
        "grant_type=device_code&device_code=DAQABAAEAAAD&client_id=04b07795",
        "grant_type=device_code&device_code=[REDACTED:oauth-field]&client_id=04b07795",
    ),
    // connection strings and SAS
    (
        "DefaultEndpointsProtocol=https;AccountName=st1;AccountKey=bXlrZXk=;EndpointSuffix=core.windows.net",
        "DefaultEndpointsProtocol=https;AccountName=st1;AccountKey=[REDACTED:connection-string-key];EndpointSuffix=core.windows.net",
    ),
    (
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=a2V5=",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=[REDACTED:connection-string-key]",
    ),
    (
        "https://st1.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=abc%2Bdef%3D&x=1",
        "https://st1.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=[REDACTED:sas-signature]&x=1",
    ),
    // jwt and refresh tokens anywhere
    (
        "token eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln end",
        "token [REDACTED:jwt] end",
    ),
    (
        "x 0.AXYAv4j5cvGGr0GRqy180BHbR7DkqkZnbfRAl-U9bE2r5ZyHAAA.AgABAAEAAAD--DLA3VO7Qrdd y",
        "x [REDACTED:refresh-token] y",
    ),
];

#[test]
fn rule_table_cases() {
    let red = Redactor::new();
    for (input, want) in TABLE {
        assert_eq!(red.redact(input).as_str(), *want, "input: {input}");
        // Idempotent: a second pass changes nothing and counts nothing.
        let again = red.redact(want);
        assert_eq!(again.as_str(), *want, "second pass of: {input}");
        assert_eq!(again.total(), 0, "second pass counted: {input}");
    }
}

#[test]
fn pem_private_key_blocks_are_removed_in_both_layouts() {
    let red = Redactor::new();
    let pem = "cert:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\nafter";
    let out = red.redact(pem);
    assert_eq!(
        out.as_str(),
        "cert:\n-----BEGIN RSA PRIVATE KEY-----[REDACTED:private-key]-----END RSA PRIVATE KEY-----\nafter"
    );
    let json = r#"{"key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIB\n-----END PRIVATE KEY-----\n"}"#;
    let out = red.redact(json);
    assert!(!out.as_str().contains("MIIEvQIB"));
    serde_json::from_str::<serde_json::Value>(out.as_str()).expect("still JSON");
    let cut = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE";
    assert!(!red.redact(cut).as_str().contains("MHcCAQEE"));
}

#[test]
fn json_stays_valid_json() {
    let red = Redactor::new();
    let doc = r#"{"headers": {"Authorization": "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig", "Cookie": "a=b"}, "body": "client_secret=x&code=y", "url": "http://u:p@h/", "refresh_token": "0.AXYAv4j5cvGGr0GRqy180BHbR7DkqkZnbfRAl-U9bE2r5ZyHAAA"}"#;
    let out = red.redact(doc);
    let v: serde_json::Value =
        serde_json::from_str(out.as_str()).expect("valid JSON after redaction");
    assert_eq!(
        v["headers"]["Authorization"],
        "Bearer [REDACTED:authorization-header]"
    );
    assert_eq!(
        v["body"],
        "client_secret=[REDACTED:oauth-field]&code=[REDACTED:oauth-field]"
    );
}

#[test]
fn pii_masking_is_stable_and_keeps_domains_and_guest_marker() {
    let red = Redactor::with_options(Options {
        literals: vec![],
        mask_pii: true,
        mask_host: None,
    });
    let a =
        red.redact("user alice@contoso.com signed in; ALICE@contoso.com again; bob@fabrikam.com");
    assert_eq!(
        a.as_str(),
        "user pii-user-1@contoso.com signed in; pii-user-1@contoso.com again; pii-user-2@fabrikam.com"
    );
    let b =
        red.redact("guest alice_fabrikam.com#EXT#@contoso.onmicrosoft.com and alice@contoso.com");
    assert_eq!(
        b.as_str(),
        "guest pii-user-3#EXT#@contoso.onmicrosoft.com and pii-user-1@contoso.com"
    );
    assert_eq!(red.redact(b.as_str()).as_str(), b.as_str(), "idempotent");
    // Without --mask-pii, addresses stay.
    assert_eq!(
        Redactor::new().redact("alice@contoso.com").as_str(),
        "alice@contoso.com"
    );
}

#[test]
fn catalogue_examples_are_all_changed() {
    for row in catalogue() {
        assert_ne!(
            row.example, row.redacted,
            "rule {} example is not redacted",
            row.name
        );
        assert!(
            row.redacted.contains("[REDACTED:")
                || row.redacted.contains("pii-user-")
                || row.redacted.contains("pii-host-"),
            "{}",
            row.name
        );
    }
}

#[test]
fn real_az_debug_log_loses_only_the_secret() {
    let log = include_str!("../../tests/fixtures/az/login-sp-debug-offline.real.txt");
    let out = Redactor::new().redact(log);
    assert!(!out.as_str().contains("Zq8~SyntheticSecretValue_123"));
    // Masked in the argument list (learned from az's own `Command arguments` line).
    assert!(
        out.counts()
            .keys()
            .all(|k| k == "command-line-secret" || k == LITERAL_RULE),
        "{:?}",
        out.counts()
    );
    assert!(out.total() >= 1, "{:?}", out.counts());
    // What support needs survives.
    for keep in [
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "NameResolutionError",
        "login.microsoftonline.com",
        "11111111-2222-3333-4444-555555555555",
        "exit code: 1",
    ] {
        assert!(out.as_str().contains(keep), "{keep} was removed");
    }
}

#[test]
fn command_line_secret_shell_forms() {
    assert_eq!(
        r("az login --service-principal -u app -p s3cret --tenant t"),
        "az login --service-principal -u app -p [REDACTED:command-line-secret] --tenant t"
    );
    assert_eq!(
        r("--password=hunter22 x"),
        "--password=[REDACTED:command-line-secret] x"
    );
    assert_eq!(
        r("az login --password \"two words\""),
        "az login --password \"[REDACTED:command-line-secret]\""
    );
    assert_eq!(
        r("--client-secret 'x y'"),
        "--client-secret '[REDACTED:command-line-secret]'"
    );
}

#[test]
fn command_line_secret_in_az_argument_list() {
    let line = "DEBUG: cli.knack.cli: Command arguments: ['login', '--service-principal', '-u', 'app', '-p', 'Sup3r~Secret', '--tenant', 'contoso', '--debug']";
    let out = r(line);
    assert!(!out.contains("Sup3r~Secret"), "{out}");
    assert!(out.contains("'-p', '[REDACTED:"), "{out}");
    assert!(out.contains("'--tenant', 'contoso'"));
}

#[test]
fn redaction_is_idempotent_and_counted_once() {
    let red = Redactor::new();
    let once = red.redact("az login -p secret1 http://u:p@h");
    assert_eq!(once.total(), 2);
    let twice = red.redact(once.as_str());
    assert_eq!(twice.as_str(), once.as_str());
    assert_eq!(twice.total(), 0);
}

#[test]
fn known_literal_secrets_are_removed_anywhere() {
    let red = Redactor::with_literals(["verysecretvalue", "ab"]);
    let out = red.redact("token verysecretvalue here; ab stays");
    assert_eq!(
        out.as_str(),
        "token [REDACTED:known-secret-value] here; ab stays"
    );
    assert_eq!(out.counts().get(LITERAL_RULE), Some(&1));
}

#[test]
fn argv_redaction_handles_values_with_spaces() {
    let argv: Vec<String> = ["az", "login", "-p", "a b c", "--tenant", "t"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (out, counts) = Redactor::new().redact_argv(&argv);
    assert_eq!(out[3], "[REDACTED:argument]");
    assert_eq!(out[5], "t");
    assert_eq!(counts.values().sum::<u64>(), 1);
}

#[test]
fn what_support_needs_is_kept() {
    for s in [
        "tenant 72f988bf-86f1-41af-91ab-2d7cd011db47",
        "AADSTS50020: User account from identity provider does not exist in tenant",
        "x-ms-request-id: 0f1e2d3c-aaaa-bbbb-cccc-123456789abc",
        "azure-cli 2.91.0",
        "HTTP/1.1 403 Forbidden",
        "GET https://management.azure.com/subscriptions?api-version=2022-12-01 HTTP/1.1",
        "client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&grant_type=device_code&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default+offline_access",
        r#"{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215], "timestamp": "2026-11-25 06:00:00Z", "trace_id": "5b2c1e1f-0000-4000-8000-000000000001", "correlation_id": "0f1e2d3c-1111-2222-3333-444455556666"}"#,
        r#"{"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization to perform action"}}"#,
        r#"{"token_type": "Bearer", "expires_in": 3599, "token_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token"}"#,
        "DEBUG: msal.token_cache: event={'client_id': '04b07795-8ddb-461a-bbee-02f9e1bf7b46', 'grant_type': 'client_credentials', 'scope': ['https://management.core.windows.net//.default'], 'token_endpoint': 'https://login.microsoftonline.com/t/oauth2/v2.0/token'}",
        "x-ms-correlation-request-id: 6f1e2d3c-aaaa-bbbb-cccc-123456789abc",
        "Operation returned an invalid status 'Forbidden'",
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)'))",
        "Tunnel connection failed: 407 Proxy Authentication Required",
        "alice@contoso.com",
    ] {
        assert_eq!(r(s), s);
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Words from real az / PowerShell debug output that carry no secret.
    const WORDS: &[&str] = &[
        "DEBUG:",
        "INFO:",
        "urllib3.connectionpool:",
        "https://login.microsoftonline.com:443",
        "\"GET",
        "/organizations/v2.0/.well-known/openid-configuration",
        "HTTP/1.1\"",
        "200",
        "403",
        "tenant",
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "AADSTS50020:",
        "x-ms-request-id:",
        "msal.authority:",
        "Forbidden",
        "Retry(total=0,",
        "connect=None)",
        "api-version=2022-12-01",
        "Absolute",
        "Uri:",
        "Headers:",
        "Body:",
        "{",
        "}",
        "[",
        "]",
        "'accept':",
        "'application/json'",
        "azure-cli",
        "2.91.0",
        "Connect-AzAccount",
        "-Tenant",
        "-Debug",
        "alice@contoso.com",
        "token_type",
        "expires_in",
        "correlation_id",
        "NameResolutionError",
        "\n",
        "\r\n",
        ":",
        ",",
    ];

    fn safe_text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(WORDS), 0..60).prop_map(|w| w.join(" "))
    }

    fn token_chars(min: usize) -> impl Strategy<Value = String> {
        prop::string::string_regex(&format!("[A-Za-z0-9_~-]{{{min},40}}")).unwrap()
    }

    /// base64url, the alphabet of JWT segments and Entra refresh tokens.
    fn b64url(min: usize) -> impl Strategy<Value = String> {
        prop::string::string_regex(&format!("[A-Za-z0-9_-]{{{min},40}}")).unwrap()
    }

    /// A planted secret (the value that must disappear) in one of the forms the rules cover.
    fn planted() -> impl Strategy<Value = (String, String)> {
        prop_oneof![
            token_chars(12).prop_map(|t| (format!("Authorization: Bearer {t}"), t)),
            token_chars(12).prop_map(|t| (format!("'Authorization': 'Bearer {t}'"), t)),
            token_chars(12).prop_map(|t| (format!("{{\"access_token\": \"{t}\"}}"), t)),
            token_chars(12).prop_map(|t| (format!("client_secret={t}&scope=x"), t)),
            token_chars(12).prop_map(|t| (format!("az login -p {t} --tenant x"), t)),
            token_chars(12).prop_map(|t| (format!("['-u', 'app', '--password', '{t}']"), t)),
            token_chars(12).prop_map(|t| (format!("-ClientSecret '{t}'"), t)),
            token_chars(12).prop_map(|t| (format!("http://user:{t}@proxy:8080"), t)),
            token_chars(12).prop_map(|t| (format!("Set-Cookie: esctx={t}; path=/"), t)),
            token_chars(12).prop_map(|t| (format!("AccountKey={t};"), t)),
            token_chars(12).prop_map(|t| (format!("?sv=1&sig={t}"), t)),
            (b64url(12), b64url(12)).prop_map(|(a, b)| {
                let jwt = format!("eyJ{a}.eyJ{b}.{a}");
                (jwt.clone(), jwt)
            }),
            b64url(40).prop_map(|t| {
                let rt = format!("0.A{t}{t}");
                (rt.clone(), rt)
            }),
        ]
    }

    fn shared() -> &'static Redactor {
        static R: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
        R.get_or_init(Redactor::new)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn planted_secret_never_survives(pre in safe_text(), (form, secret) in planted(), post in safe_text(), sep in prop::sample::select(vec![" ", "\n", "\t", " , "])) {
            let text = format!("{pre}{sep}{form}{sep}{post}");
            let out = shared().redact(&text);
            prop_assert!(!out.as_str().contains(&secret), "secret {secret} survived in {}", out.as_str());
            prop_assert!(out.total() >= 1);
        }

        #[test]
        fn redaction_is_idempotent(pre in safe_text(), (form, _) in planted(), post in safe_text()) {
            let red = shared();
            let once = red.redact(&format!("{pre} {form} {post}"));
            let twice = red.redact(once.as_str());
            prop_assert_eq!(twice.as_str(), once.as_str());
            prop_assert_eq!(twice.total(), 0);
        }

        #[test]
        fn text_without_secrets_is_unchanged(text in safe_text()) {
            let out = shared().redact(&text);
            prop_assert_eq!(out.as_str(), text.as_str());
            prop_assert_eq!(out.total(), 0);
        }

        #[test]
        fn known_literal_never_survives(pre in ".{0,80}", secret in "[ -~]{4,30}", post in ".{0,80}") {
            let red = Redactor::with_literals([secret.clone()]);
            let out = red.redact(&format!("{pre}{secret}{post}"));
            // Markers are cut out first: a secret like "REDA" is a substring of the marker itself.
            let masked = out.as_str().replace("[REDACTED:known-secret-value]", "\0");
            prop_assert!(!masked.contains(&secret), "{secret} survived in {masked}");
        }
    }
}

#[test]
fn debug_output_fixtures_lose_every_planted_secret_and_keep_support_data() {
    let red = Redactor::new();
    for (name, text) in [
        (
            "az",
            include_str!("../../tests/fixtures/redaction/az-debug-synthetic.txt"),
        ),
        (
            "azps",
            include_str!("../../tests/fixtures/redaction/azps-debug-synthetic.txt"),
        ),
        (
            "mg",
            include_str!("../../tests/fixtures/redaction/mggraph-debug-synthetic.txt"),
        ),
        (
            "token",
            include_str!("../../tests/fixtures/redaction/az-get-access-token.json"),
        ),
    ] {
        let out = red.redact(text);
        let left: Vec<&str> = out
            .as_str()
            .lines()
            .filter(|l| l.contains("SEKRIT") || l.contains("U0VLUklU"))
            .collect();
        assert!(left.is_empty(), "{name}: secrets left in {left:#?}");
        for keep in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "0a1b2c3d-0000-4000-8000-00000000000a",
        ] {
            if text.contains(keep) {
                assert!(out.as_str().contains(keep), "{name}: {keep} removed");
            }
        }
        assert_eq!(
            red.redact(out.as_str()).as_str(),
            out.as_str(),
            "{name}: not idempotent"
        );
    }
    let az = red.redact(include_str!(
        "../../tests/fixtures/redaction/az-debug-synthetic.txt"
    ));
    for keep in [
        "AADSTS7000215: Invalid client secret provided.",
        "Correlation ID: 5a0c3f6e-8c1d-4f0e-9b7a-2d5e6f7a8b9c",
        "'x-ms-request-id': '9f8e7d6c-1111-4222-8333-444455556666'",
        "\"GET /subscriptions?api-version=2022-12-01 HTTP/1.1\" 403 253",
        "{\"error\":{\"code\":\"AuthorizationFailed\"",
        "http://[REDACTED:url-credentials]@10.1.2.3:3128",
    ] {
        assert!(az.as_str().contains(keep), "az: {keep} removed");
    }
    let token: serde_json::Value = serde_json::from_str(
        red.redact(include_str!(
            "../../tests/fixtures/redaction/az-get-access-token.json"
        ))
        .as_str(),
    )
    .expect("still JSON");
    assert_eq!(token["tenant"], "72f988bf-86f1-41af-91ab-2d7cd011db47");
    assert_eq!(token["accessToken"], "[REDACTED:oauth-field]");
}

/// Regression: the private-key rule once used a lazy `[\s\S]*?` body, which made the regex
/// engine scan back over all text between blocks (137 ms on 64 MB). The body now stops at
/// "-----"; text between blocks must survive and every block must go.
#[test]
fn several_pem_blocks_keep_the_text_between_them() {
    let text = "a\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\nkeep this line\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nBBBB\n-----END ENCRYPTED PRIVATE KEY-----\nz";
    let out = Redactor::new().redact(text);
    assert_eq!(
        out.as_str(),
        "a\n-----BEGIN PRIVATE KEY-----[REDACTED:private-key]-----END PRIVATE KEY-----\nkeep this line\n-----BEGIN ENCRYPTED PRIVATE KEY-----[REDACTED:private-key]-----END ENCRYPTED PRIVATE KEY-----\nz"
    );
    assert_eq!(out.counts().get("private-key"), Some(&2));
}

#[test]
fn docs_list_every_rule() {
    let doc = include_str!("../../docs/redaction.md");
    for row in catalogue() {
        assert!(
            doc.contains(&format!("`{}`", row.name)),
            "docs/redaction.md lacks rule {}",
            row.name
        );
        assert!(
            doc.contains(&row.redacted.replace('|', "\\|").replace('\n', "\\n")),
            "docs/redaction.md has a stale example for {}",
            row.name
        );
    }
}

#[path = "../../tests/common/corpus.rs"]
mod corpus_file;
use corpus_file::visible;

fn corpus() -> Vec<corpus_file::Shape> {
    corpus_file::parse(include_str!("../../tests/fixtures/secrets/corpus.txt"))
}

#[test]
fn every_shape_in_the_secrets_corpus_is_masked() {
    let shapes = corpus();
    assert!(shapes.len() >= 40, "corpus has {} shapes", shapes.len());
    let mut leaked = Vec::new();
    let mut planted = 0;
    for s in &shapes {
        let out = visible(Redactor::new().redact(&s.text).as_str());
        for c in &s.canaries {
            planted += 1;
            if out.contains(c.as_str()) {
                leaked.push(format!("{}: {c}\n{out}", s.name));
            }
        }
    }
    assert!(planted >= 60);
    assert!(
        leaked.is_empty(),
        "{} of {planted} canaries leaked:\n{}",
        leaked.len(),
        leaked.join("\n---\n")
    );
}

#[test]
fn the_whole_corpus_at_once_is_masked_and_idempotent() {
    let all: String = corpus().iter().map(|s| s.text.clone()).collect();
    let red = Redactor::new();
    let out = red.redact(&all);
    let vis = visible(out.as_str());
    for s in corpus() {
        for c in &s.canaries {
            assert!(!vis.contains(c.as_str()), "{}: {c}", s.name);
        }
    }
    assert_eq!(red.redact(out.as_str()).as_str(), out.as_str());
}

mod more_properties {
    use super::*;
    use proptest::prelude::*;

    fn rsa_keys() -> Vec<&'static str> {
        let all = include_str!("../../tests/fixtures/secrets/rsa-keys.pem");
        let mut v = Vec::new();
        let mut rest = all;
        while let Some(s) = rest.find("-----BEGIN") {
            let e = rest[s..].find("KEY-----\n").map(|i| s + i + 9);
            let e = e
                .and_then(|x| rest[x..].find("KEY-----").map(|j| x + j + 8))
                .unwrap();
            v.push(&rest[s..e]);
            rest = &rest[e..];
        }
        v
    }

    /// Every base64 line of a key's body (16+ characters) must be gone.
    fn body_lines(key: &str) -> Vec<&str> {
        key.lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            .collect()
    }

    #[test]
    fn all_fixture_rsa_keys_are_masked_in_every_layout() {
        let keys = rsa_keys();
        assert_eq!(keys.len(), 120);
        assert!(keys.iter().any(|k| body_lines(k).concat().contains("eyJ")));
        let red = Redactor::new();
        // Each key in one layout, the layouts taken in turn: PEM, CRLF, a JSON string with \n
        // escapes, an indented YAML block.
        for (i, key) in keys.into_iter().enumerate() {
            let layouts = [
                key.to_string(),
                key.replace('\n', "\r\n"),
                serde_json::to_string(&serde_json::json!({ "key": key })).unwrap(),
                format!("  privateKey: |\n    {}", key.replace('\n', "\n    ")),
            ];
            for text in layouts.into_iter().skip(i % 4).take(1) {
                let out = red.redact(&format!("before\n{text}\nafter"));
                for l in body_lines(key) {
                    assert!(
                        !out.as_str().contains(l),
                        "{l} survived in\n{}",
                        out.as_str()
                    );
                }
                assert!(out.as_str().contains("before") && out.as_str().contains("after"));
            }
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            "\\PC{0,40}".prop_map(serde_json::Value::String),
            "[ -~]{0,60}".prop_map(serde_json::Value::String),
            "[A-Za-z0-9_-]{10,40}"
                .prop_map(|t| serde_json::Value::String(format!("eyJ{t}.eyJ{t}.{t}"))),
            "[ -~]{1,30}".prop_map(|t| serde_json::Value::String(format!("-p \"{t}\" --tenant x"))),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        "[a-z_]{1,12}",
                        Just("client_secret".to_string()),
                        Just("evidence".to_string()),
                        Just("primaryKey".to_string())
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A printable secret of any characters: ASCII punctuation (quotes, backslashes, spaces)
    /// and non-ASCII, never a placeholder word.
    fn any_secret() -> impl Strategy<Value = String> {
        "[!-~][ -~\\u{a0}-\\u{2fff}]{6,28}[!-~]".prop_filter("not a placeholder", |s| {
            !stop_word(s) && !s.contains(MARKER_PREFIX)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn redacted_json_stays_valid_json_and_is_idempotent(v in json_value()) {
            let red = Redactor::new();
            let once = red.redact_to_json(&v).unwrap();
            let back: serde_json::Value = serde_json::from_str(once.as_str()).expect("valid JSON");
            let twice = red.redact_to_json(&back).unwrap();
            prop_assert_eq!(twice.as_str(), once.as_str());
        }

        #[test]
        fn any_printable_secret_in_a_quoted_shape_never_survives(secret in any_secret(), shape in 0usize..8) {
            let json = serde_json::to_string(&secret).unwrap();
            let sq = secret.replace('\'', "''");
            let text = match shape {
                0 => format!("{{\"client_secret\": {json}}}"),
                1 => format!("Connect-AzAccount -ClientSecret '{sq}' -Tenant t"),
                2 => format!("$s = ConvertTo-SecureString '{sq}' -AsPlainText -Force"),
                3 => format!("{{\"password\": {json}, \"x\": 1}}"),
                4 => format!("[Net.NetworkCredential]::new('', '{sq}')"),
                5 => format!("$env:AZURE_CLIENT_SECRET='{sq}'"),
                6 => format!("{{\"secretText\": {json}}}"),
                _ => format!("{{\"accessToken\": {json}}}"),
            };
            let red = Redactor::new();
            let out = red.redact(&format!("line before\n{text}\nline after"));
            prop_assert!(!out.as_str().contains(&secret), "shape {shape}: {}", out.as_str());
            prop_assert!(!out.as_str().contains(&json[1..json.len() - 1]), "shape {shape} (escaped): {}", out.as_str());
            let again = red.redact(out.as_str());
            prop_assert_eq!(again.as_str(), out.as_str());
        }

        #[test]
        fn a_learned_secret_is_found_in_every_encoding(secret in "[ -~]{8,30}", enc in 0usize..6) {
            use base64::Engine;
            let red = Redactor::new();
            red.learn([secret.clone()]);
            let form = match enc {
                0 => secret.clone(),
                // As urllib.parse.quote writes it: unreserved characters stay.
                1 => secret
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect(),
                2 => serde_json::to_string(&secret).unwrap(),
                3 => base64::engine::general_purpose::STANDARD.encode(format!("user:{secret}")),
                4 => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("ab{secret}cd")),
                _ => hex::encode_upper(secret.as_bytes()),
            };
            let out = red.redact(&format!("x {form} y"));
            prop_assert!(out.total() >= 1, "form {enc} {form:?} not found: {}", out.as_str());
            if enc == 0 {
                let masked = out.as_str().replace("[REDACTED:known-secret-value]", "\0");
                prop_assert!(!masked.contains(&secret));
            }
        }
    }
}

/// A large text is redacted in parts on several threads: the result must be exactly the
/// single-thread result, also when a PEM block, a wrapped token and a value on the next line
/// sit next to the middle, and pseudonyms keep their reading order.
#[test]
fn parallel_redaction_equals_single_thread() {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < (4 << 20) + (1 << 19) {
        i += 1;
        text.push_str(&format!(
            "DEBUG: request {i} for user{i}@contoso.com\nAuthorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJuIjo{i}fQ.c2ln\n"
        ));
        if i % 997 == 0 {
            text.push_str("{\"client_secret\":\n  \"Zq8~wrapped~");
            text.push_str(&i.to_string());
            text.push_str("\"}\n\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n\n");
        }
        if i % 500 == 0 {
            text.push('\n');
        }
    }
    assert!(
        split_for_threads(&text).len() > 1
            || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2
    );
    for part in split_for_threads(&text) {
        assert!(!block_open(part), "a part ends inside a block");
    }
    let opts = || Options {
        literals: vec![],
        mask_pii: true,
        mask_host: None,
    };
    let a = Redactor::with_options(opts()).redact(&text);
    let b = Redactor::with_options(opts()).redact_single_thread(&text);
    let b_pii = Redactor::with_options(opts()).redact(b.as_str());
    assert_eq!(a.as_str().len(), b_pii.as_str().len());
    assert!(
        a.as_str() == b_pii.as_str(),
        "parallel and single-thread results differ"
    );
    assert!(!a.as_str().contains("MIIEvQ") && !a.as_str().contains("Zq8~wrapped"));
}

/// Regression (proptest seed): a quoted secret that starts with a dash and looks like an option
/// name was taken for the next flag and left in place.
#[test]
fn a_quoted_secret_that_looks_like_a_flag_is_masked() {
    for text in [
        "Connect-AzAccount -ClientSecret '-wCYj9-74Hwp-00r--' -Tenant t",
        "az login -p \"-abcdef-ghij\" --tenant t",
    ] {
        let out = Redactor::new().redact(text);
        assert!(
            !out.as_str().contains("wCYj9") && !out.as_str().contains("abcdef"),
            "{}",
            out.as_str()
        );
    }
    // An unquoted option name after a secret flag is still an option, not a value.
    assert_eq!(
        r("'ParameterSetName': '--service-principal -u --password --tenant'"),
        "'ParameterSetName': '--service-principal -u --password --tenant'"
    );
}

/// Regression (proptest seed, issue 14): an unquoted secret that starts with a dash but is not
/// shaped like an option name (`-PU20--btWY0F`: digits, a double dash, two capitals in a row)
/// is a value; az kebab-case and PowerShell PascalCase names after a secret flag stay names.
#[test]
fn an_unquoted_secret_starting_with_a_dash_is_masked() {
    for (text, secret) in [
        ("az login -p -PU20--btWY0F --tenant x", "PU20--btWY0F"),
        ("az login --password -Zq8~s3cr3t", "Zq8~s3cr3t"),
        ("Connect-AzAccount -ClientSecret -ABcdEFgh1", "ABcdEFgh1"),
    ] {
        let out = Redactor::new().redact(text);
        assert!(!out.as_str().contains(secret), "{}", out.as_str());
    }
    for kept in [
        "Connect-MgGraph -AccessToken -TenantId contoso",
        "'ParameterSetName': '--service-principal -u --password --federated-token'",
    ] {
        assert_eq!(r(kept), kept);
    }
}

/// Regression (seen under load in the end-to-end corpus test): stdout and stderr interleaved
/// and put the second half of a bearer token on a line of its own, before or after its start.
#[test]
fn an_orphaned_piece_of_a_token_near_a_secret_is_masked() {
    for text in [
        "DEBUG: x\nAuthorization: Bearer Cn2517xW1Z\nWARNING: other stream\nCseigkXep6LPX0y9sYlJ3Imq-tD2m\nnext\n",
        "CseigkXep6LPX0y9sYlJ3Imq-tD2m\nWARNING: other stream\nAuthorization: Bearer Cn2517xW1Z\n",
    ] {
        let out = Redactor::new().redact(text);
        assert!(
            !out.as_str().contains("CseigkXep6LPX0y9"),
            "{}",
            out.as_str()
        );
        assert!(out.as_str().contains("WARNING: other stream"));
    }
    // Not near a secret, or an id: kept.
    let plain =
        "x-ms-request-id:\n9f8e7d6c-1111-4222-8333-444455556666\nversion\nAbc123DefGhi456Jkl\n";
    assert_eq!(r(plain), plain);
}

/// `rules --lang ja`: every rule has a Japanese description, different from the English one.
#[test]
fn every_rule_has_a_japanese_description() {
    let en = catalogue();
    let ja = super::catalogue_in(crate::vocab::Lang::Ja);
    assert_eq!(en.len(), ja.len());
    for (e, j) in en.iter().zip(&ja) {
        assert_eq!(e.name, j.name);
        assert_ne!(
            e.matches, j.matches,
            "{} has no Japanese description",
            e.name
        );
        assert!(!j.matches.is_ascii(), "{}: {}", j.name, j.matches);
    }
}
