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
    assert!(
        out.contains("'-p', '[REDACTED:command-line-secret]'"),
        "{out}"
    );
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
    assert_eq!(out[3], "[REDACTED:command-line-secret]");
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
    ] {
        assert_eq!(r(s), s);
    }
}
