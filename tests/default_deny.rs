//! Default-deny for environment values and proxy URLs: each leak an attacker test found has a
//! regression test with a canary that must not reach the bundle, stdout or stderr; safe values
//! are still shown.

mod common;

use base64::Engine;
use common::*;

fn run(envs: &[(&str, &str)]) -> (Bundle, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = bin(&fake_path());
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.args(["--json", "-o"]).arg(dir.path()).assert().success();
    let b = read_bundle(&only_bundle(dir.path()));
    let streams = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.get_output().stdout),
        String::from_utf8_lossy(&out.get_output().stderr)
    );
    (b, streams)
}

fn assert_absent(b: &Bundle, streams: &str, canaries: &[&str]) {
    let all = b.all_text() + streams;
    for c in canaries {
        let line = all.lines().find(|l| l.contains(c));
        assert!(line.is_none(), "{c} leaked: {line:?}");
    }
}

#[test]
fn environment_values_are_withheld_unless_known_safe() {
    let basic = base64::engine::general_purpose::STANDARD.encode("alice:canaryBasicPw77");
    let basic_value = format!("Basic {basic}");
    let (b, streams) = run(&[
        // Documented by az devops; the name has no SECRET/TOKEN/... mark.
        ("AZURE_DEVOPS_EXT_PAT", "canaryPAT123456"),
        ("AZURE_SQL_PWD", "canaryPWD123456"),
        (
            "AZURE_DB_CONN",
            "Server=tcp:db.contoso.com;Uid=app;Pwd=canaryConnPwd42;",
        ),
        ("AZURE_CLIENT_ASSERTION", "canaryAssertion.x.y"),
        ("AZURE_HTTP_AUTH", &basic_value),
        // Safe values stay visible.
        ("HTTPS_PROXY", "http://proxy.corp:8080"),
        ("REQUESTS_CA_BUNDLE", "/etc/ssl/contoso/ca-bundle.pem"),
        ("AZURE_CORE_OUTPUT", "json"),
        ("AZURE_CORE_ONLY_SHOW_ERRORS", "canaryNotABool"),
    ]);
    assert_absent(
        &b,
        &streams,
        &[
            "canaryPAT123456",
            "canaryPWD123456",
            "canaryConnPwd42",
            "canaryAssertion",
            &basic,
            "canaryBasicPw77",
            "canaryNotABool",
        ],
    );
    let v = &b.json("environment.json")["variables"];
    for name in [
        "AZURE_DEVOPS_EXT_PAT",
        "AZURE_SQL_PWD",
        "AZURE_DB_CONN",
        "AZURE_CLIENT_ASSERTION",
        "AZURE_HTTP_AUTH",
        "AZURE_CORE_ONLY_SHOW_ERRORS",
    ] {
        assert_eq!(v[name]["set"], true, "{name}");
        assert!(v[name].get("value").is_none(), "{name}: {}", v[name]);
        assert!(v[name]["length"].as_u64().unwrap() > 0, "{name}");
    }
    assert_eq!(v["AZURE_DEVOPS_EXT_PAT"]["length"], 15);
    assert_eq!(v["HTTPS_PROXY"]["value"], "http://proxy.corp:8080");
    assert_eq!(
        v["REQUESTS_CA_BUNDLE"]["value"],
        "/etc/ssl/contoso/ca-bundle.pem"
    );
    assert_eq!(v["AZURE_CORE_OUTPUT"]["value"], "json");
    assert_eq!(v["NO_PROXY"]["set"], false);
}

#[test]
fn proxy_urls_without_scheme_or_with_raw_special_characters() {
    let (b, streams) = run(&[
        ("ENTRA_COLLECT_PLATFORM", "windows"),
        // No scheme: Python requests and curl accept it.
        ("HTTPS_PROXY", "alice:canarySchemeless@proxy.corp:3128"),
        // Raw `/ # ? ' "` and a space in the password.
        (
            "http_proxy",
            "http://bob:can/ary#Sl?ash'q\"d x@proxy.corp:8080",
        ),
        ("ALL_PROXY", "http://carol:canary@At@proxy.corp:1080"),
        (
            "FAKE_WININET_SERVER",
            "http=dave:canaryWininet;x@wininet.corp:80;https=wininet.corp:8443",
        ),
        (
            "FAKE_WINHTTP_SERVER",
            "erin:canary/Winhttp@winhttp.corp:8080",
        ),
    ]);
    assert_absent(
        &b,
        &streams,
        &[
            "canarySchemeless",
            "can/ary",
            "ary#Sl",
            "Sl?ash",
            "ash'q",
            "q\"d x",
            "canary@At",
            "canaryWininet",
            "canary/Winhttp",
        ],
    );
    let v = &b.json("environment.json")["variables"];
    assert_eq!(
        v["HTTPS_PROXY"]["value"],
        "[REDACTED:url-credentials]@proxy.corp:3128"
    );
    assert_eq!(
        v["http_proxy"]["value"],
        "http://[REDACTED:url-credentials]@proxy.corp:8080"
    );
    assert_eq!(
        v["ALL_PROXY"]["value"],
        "http://[REDACTED:url-credentials]@proxy.corp:1080"
    );
    let p = b.json("network/proxy.json");
    assert_eq!(
        p["environment"]["https_proxy"]["value"],
        "[REDACTED:url-credentials]@proxy.corp:3128"
    );
    assert_eq!(
        p["environment"]["http_proxy"]["value"],
        "http://[REDACTED:url-credentials]@proxy.corp:8080"
    );
    assert_eq!(
        p["wininet"]["proxy_server"],
        "http=[REDACTED:url-credentials]@wininet.corp:80;https=wininet.corp:8443"
    );
    assert_eq!(
        p["winhttp"]["proxy_server"],
        "[REDACTED:url-credentials]@winhttp.corp:8080"
    );
    assert_eq!(
        p["effective"][0]["azure_cli"]["proxy"],
        "[REDACTED:url-credentials]@proxy.corp:3128"
    );
}
