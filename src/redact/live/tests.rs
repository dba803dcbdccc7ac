use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;

const AZ_LOG: &str = include_str!("../../../tests/fixtures/redaction/az-debug-synthetic.txt");
const AZPS_LOG: &str = include_str!("../../../tests/fixtures/redaction/azps-debug-synthetic.txt");
const MG_LOG: &str = include_str!("../../../tests/fixtures/redaction/mggraph-debug-synthetic.txt");

const JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJlX3ZhbHVlXzEyMw";

/// One redactor for all tests (building one compiles its regexes).
fn redactor() -> Arc<Redactor> {
    static R: std::sync::OnceLock<Arc<Redactor>> = std::sync::OnceLock::new();
    R.get_or_init(|| Arc::new(Redactor::new())).clone()
}

fn filter() -> LiveFilter {
    LiveFilter::new(redactor(), LiveOptions::default())
}

/// Push `input` in chunks of the given sizes (cycled), then finish; no idle in between.
fn run(f: &mut LiveFilter, input: &[u8], sizes: &[usize]) -> Vec<u8> {
    let now = Instant::now();
    let mut out = Vec::new();
    let mut i = 0;
    let mut k = 0;
    while i < input.len() {
        let n = sizes[k % sizes.len()].min(input.len() - i);
        out.extend(f.push(&input[i..i + n], now));
        assert!(f.buffered() <= f.window(), "held {} bytes", f.buffered());
        i += n;
        k += 1;
    }
    out.extend(f.finish());
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("live output is UTF-8")
}

/// No run of `n` characters of `secret` is in `out`.
fn assert_no_piece(out: &str, secret: &str, n: usize) {
    let s: Vec<char> = secret.chars().collect();
    for w in s.windows(n) {
        let piece: String = w.iter().collect();
        assert!(!out.contains(&piece), "{piece:?} of {secret:?} shown");
    }
}

fn pem_key() -> String {
    let mut s = String::from("-----BEGIN PRIVATE KEY-----\n");
    for i in 0..20 {
        s.push_str(&format!(
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{i:02}BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
        ));
    }
    s.push_str("-----END PRIVATE KEY-----\n");
    s
}

#[test]
fn pem_key_written_in_several_chunks_is_never_shown() {
    let input = format!("DEBUG: loading certificate\n{}DEBUG: done\n", pem_key());
    // Mid-line and mid-base64 splits of many sizes.
    for sizes in [&[1][..], &[7], &[13, 5], &[40], &[64, 3, 100], &[4096]] {
        let out = text(&run(&mut filter(), input.as_bytes(), sizes));
        assert!(!out.contains("MIIEvQ"), "{sizes:?}: {out}");
        assert!(!out.contains("BKcwgg"), "{sizes:?}");
        assert!(out.contains("[REDACTED:private-key]"));
        assert!(out.starts_with("DEBUG: loading certificate\n"));
        assert!(out.ends_with("DEBUG: done\n"));
        assert_eq!(out, redactor().redact(&input).as_str());
    }
}

#[test]
fn pem_key_longer_than_the_window_stays_masked_to_its_end() {
    let mut input = String::from("before\n-----BEGIN RSA PRIVATE KEY-----\n");
    while input.len() < 200_000 {
        input.push_str("MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n");
    }
    input.push_str("-----END RSA PRIVATE KEY-----\nafter\n");
    for sizes in [&[65536][..], &[1000, 17]] {
        let mut f = filter();
        let out = text(&run(&mut f, input.as_bytes(), sizes));
        assert!(!out.contains("MIIEpA"), "{sizes:?}");
        assert!(!out.contains("ezV6ffAt0gun"), "{sizes:?}");
        assert!(out.starts_with("before\n-----BEGIN RSA PRIVATE KEY-----"));
        assert!(
            out.ends_with("-----END RSA PRIVATE KEY-----\nafter\n"),
            "{out}"
        );
    }
}

#[test]
fn jwt_split_across_two_chunks_is_masked() {
    let line = format!("DEBUG: msal: token response {{'id_token': x}} {JWT} end\n");
    for cut in 1..line.len() {
        let mut f = filter();
        let now = Instant::now();
        let mut out = f.push(&line.as_bytes()[..cut], now);
        out.extend(f.push(&line.as_bytes()[cut..], now));
        out.extend(f.finish());
        let out = text(&out);
        assert!(out.contains("[REDACTED:jwt]"), "cut {cut}: {out}");
        assert_no_piece(&out, &JWT[3..], 8);
    }
}

#[test]
fn prompt_is_shown_after_idle_and_not_repeated_when_its_line_ends() {
    let prompt = "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD1234 to authenticate.";
    let mut f = filter();
    let t0 = Instant::now();
    assert!(f.push(b"WARNING: starting\n", t0) == b"WARNING: starting\n");
    assert!(f.push(prompt.as_bytes(), t0).is_empty(), "held until idle");
    assert!(f.idle(t0 + Duration::from_millis(100)).is_empty());
    assert_eq!(text(&f.idle(t0 + Duration::from_millis(250))), prompt);
    assert!(
        f.idle(t0 + Duration::from_millis(500)).is_empty(),
        "shown once"
    );
    let t1 = t0 + Duration::from_secs(5);
    assert_eq!(text(&f.push(b"\nsigned in\n", t1)), "\nsigned in\n");
    assert!(f.finish().is_empty());
}

#[test]
fn prompt_continued_after_idle_shows_only_the_rest() {
    let mut f = filter();
    let t0 = Instant::now();
    // Not a secret key (the redactor masks the value after `Password: `).
    assert!(f.push(b"Continue? [y/n]: ", t0).is_empty());
    assert_eq!(
        text(&f.idle(t0 + Duration::from_millis(300))),
        "Continue? [y/n]: "
    );
    let t1 = t0 + Duration::from_secs(3);
    // More of the same line, then idle again, then the line ends.
    assert!(f.push(b"(typed) y", t1).is_empty());
    assert_eq!(text(&f.idle(t1 + Duration::from_millis(300))), "(typed) y");
    assert_eq!(text(&f.push(b"\n", t1 + Duration::from_secs(1))), "\n");
}

#[test]
fn secret_completed_after_a_prompt_was_shown_is_not_shown() {
    // The start of a JWT at the end of a prompt; the rest comes later. The redactor masks the
    // start already (a wrapped JWT piece) and the rest of the line is withheld; were the start
    // shown as it is, the rest would be cut. Either way no part of the token is shown, and the
    // lines after it are.
    let mut f = filter();
    let t0 = Instant::now();
    f.push(b"x eyJ0eXAiOi", t0);
    let first = text(&f.idle(t0 + Duration::from_millis(300)));
    assert!(first.starts_with("x "), "{first:?}");
    let rest = "JKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln tail\nnext\n";
    let out = text(&f.push(rest.as_bytes(), t0 + Duration::from_secs(1)));
    let jwt = format!("eyJ0eXAiOi{}", rest.split(' ').next().unwrap());
    let shown = first + &out;
    assert_no_piece(&shown, &jwt, 6);
    assert!(
        !shown.contains("tail"),
        "rest of the line withheld: {shown:?}"
    );
    assert!(out.ends_with("\nnext\n"), "{out:?}");
}

#[test]
fn a_prompt_ending_in_a_secret_withholds_the_rest_of_its_line() {
    let mut f = filter();
    let t0 = Instant::now();
    f.push(b"Authorization: Bearer abcdefgh", t0);
    let shown = text(&f.idle(t0 + Duration::from_millis(300)));
    assert_eq!(
        shown,
        "Authorization: Bearer [REDACTED:authorization-header]"
    );
    let out = text(&f.push(b"ijklmnop more\nnext\n", t0 + Duration::from_secs(1)));
    assert_eq!(out, "\nnext\n");
}

#[test]
fn json_over_several_lines_with_client_secret_is_masked() {
    let input = "DEBUG: Request body:\n{\n  \"client_id\": \"0a1b2c3d\",\n  \"client_secret\": \"Zq8~s3cretValue.123\",\n  \"scope\": [\n    \"https://management.azure.com/.default\"\n  ]\n}\nDEBUG: next\n";
    for sizes in [&[1][..], &[5, 11], &[30], &[4096]] {
        let out = text(&run(&mut filter(), input.as_bytes(), sizes));
        assert!(!out.contains("Zq8~"), "{sizes:?}: {out}");
        assert!(out.contains("\"client_secret\": \"[REDACTED:oauth-field]\""));
        assert_eq!(out, redactor().redact(input).as_str());
    }
}

#[test]
fn open_json_block_is_held_until_it_closes() {
    let mut f = filter();
    let t0 = Instant::now();
    assert_eq!(text(&f.push(b"a\n{\n  \"k\": 1,\n", t0)), "a\n");
    assert!(f.push(b"  \"l\": [1,\n", t0).is_empty());
    assert!(
        f.idle(t0 + Duration::from_millis(500)).is_empty(),
        "block held"
    );
    assert_eq!(
        text(&f.push(b"2]\n}\nb\n", t0)),
        "{\n  \"k\": 1,\n  \"l\": [1,\n2]\n}\nb\n"
    );
}

#[test]
fn an_unclosed_block_is_let_go_after_block_idle() {
    let mut f = filter();
    let t0 = Instant::now();
    assert!(
        f.push(b"msal: {'cache': [\nmore\nEnter the code ABC: ", t0)
            .is_empty()
    );
    assert!(f.idle(t0 + Duration::from_millis(300)).is_empty());
    let out = text(&f.idle(t0 + Duration::from_millis(1100)));
    assert_eq!(out, "msal: {'cache': [\nmore\nEnter the code ABC: ");
}

#[test]
fn a_normal_log_comes_out_as_if_redacted_whole_in_order() {
    let mut log = String::new();
    for i in 0..30 {
        for src in [AZ_LOG, AZPS_LOG, MG_LOG] {
            log.push_str(&src.replace("0000", &format!("{i:04}")));
        }
    }
    log.push_str(&pem_key());
    log.push_str("tail without newline");
    let red = Redactor::with_literals(["SEKRIT~az~pw.1"]);
    let expected = red.redact(&log);
    let red = Arc::new(red);
    for sizes in [&[1][..], &[3, 250], &[4096], &[65536], &[100_000]] {
        let mut f = LiveFilter::new(red.clone(), LiveOptions::default());
        let out = text(&run(&mut f, log.as_bytes(), sizes));
        assert_eq!(out, expected.as_str(), "{sizes:?}");
    }
    // Idempotent: the view of the view is the view.
    let mut f = LiveFilter::new(red.clone(), LiveOptions::default());
    let again = text(&run(&mut f, expected.as_str().as_bytes(), &[777]));
    assert_eq!(again, expected.as_str());
}

#[test]
fn crlf_and_progress_lines_are_shown_as_they_come() {
    let mut f = filter();
    let t0 = Instant::now();
    assert_eq!(text(&f.push(b"10%\r", t0)), "10%\r");
    assert_eq!(text(&f.push(b"20%\r", t0)), "20%\r");
    assert_eq!(
        text(&f.push(b"\x1b[32mdone\x1b[0m\r\n", t0)),
        "\x1b[32mdone\x1b[0m\r\n"
    );
}

#[test]
fn a_flood_without_newline_keeps_memory_bounded() {
    // 10 MB of text with spaces and no newline.
    let word = "lorem ipsum dolor sit amet ";
    let input = word.repeat(10_000_000 / word.len());
    let mut f = filter();
    let out = run(&mut f, input.as_bytes(), &[65536, 1000, 3]);
    assert!(f.buffered() == 0);
    // Nothing secret: every byte is shown, in order.
    assert_eq!(text(&out), input);
}

#[test]
fn a_flood_of_one_token_is_shown_and_bounded() {
    let input = "#".repeat(10_000_000);
    let mut f = filter();
    let out = run(&mut f, input.as_bytes(), &[65536, 4095]);
    assert_eq!(text(&out), input);
}

#[test]
fn secrets_in_a_10_mb_flood_are_never_shown() {
    // Secrets every ~3 KB in 10 MB without newline: many of them straddle a forced cut.
    let mut input = String::new();
    let mut n = 0;
    while input.len() < 10_000_000 {
        input.push_str(&"#".repeat(2000 + (n * 37) % 1000));
        input.push_str(JWT);
        n += 1;
    }
    let mut f = filter();
    let out = text(&run(&mut f, input.as_bytes(), &[65536]));
    assert_no_piece(&out, &JWT[3..], 8);
    assert!(out.contains("[REDACTED:jwt]"));
}

/// Every offset around the first forced cut, for secrets of several shapes.
#[test]
fn a_secret_across_a_forced_cut_is_never_shown() {
    let opts = LiveOptions {
        window: MIN_WINDOW,
        ..LiveOptions::default()
    };
    let window = opts.window;
    let cases: &[(&str, &str, &str)] = &[
        // (filler, line with the secret, secret value)
        ("#", JWT, &JWT[3..]),
        (
            "x ",
            " Authorization: Bearer Zq8sEcretVal1234567",
            "Zq8sEcretVal1234567",
        ),
        (
            "x ",
            " Cookie: fpc=hunter2 hunter3 more words",
            "hunter2 hunter3 more words",
        ),
        (
            "x ",
            " \"client_secret\": \"Zq8~a b c d e f g\", ",
            "Zq8~a b c d e f g",
        ),
        (
            "x ",
            " client_secret=Zq8~s3cretValue.123&x=1 ",
            "Zq8~s3cretValue.123",
        ),
        (
            "x ",
            " az login -p Zq8~s3cretValue.123 --tenant t ",
            "Zq8~s3cretValue.123",
        ),
        (
            "a,",
            "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0\\n-----END PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0",
        ),
    ];
    let cut = window - 2 * CUT_TAIL;
    for (filler, secret_line, secret) in cases {
        for offset in (cut - 80..cut + CUT_TAIL + 40).step_by(3) {
            let mut input = filler.repeat(offset / filler.len() + 1);
            input.truncate(offset);
            input.push_str(secret_line);
            input.push_str(&filler.repeat(window / filler.len()));
            input.push_str("\nnext line\n");
            // The redactor masks it when it sees the whole text.
            assert_no_piece(
                redactor().redact(&input).as_str(),
                secret,
                6.min(secret.len()),
            );
            let mut f = LiveFilter::new(redactor(), opts);
            let out = text(&run(&mut f, input.as_bytes(), &[1024, 333]));
            assert_no_piece(&out, secret, 6.min(secret.len()));
            assert!(out.ends_with("\nnext line\n"), "{offset}");
        }
    }
}

#[test]
fn invalid_utf8_is_lossy_and_cuts_keep_characters_whole() {
    let input = "é".repeat(300_000);
    let out = text(&run(&mut filter(), input.as_bytes(), &[65535, 333]));
    assert_eq!(out, input, "no character split at a cut");
    let out = text(&run(&mut filter(), b"ok \xff\xfe bad\n", &[2]));
    assert_eq!(out, "ok \u{fffd}\u{fffd} bad\n");
    // A prompt cut inside a character shows the whole character later.
    let mut f = filter();
    let t0 = Instant::now();
    f.push(b"caf\xc3", t0);
    assert_eq!(text(&f.idle(t0 + Duration::from_millis(300))), "caf");
    assert_eq!(text(&f.push(b"\xa9\n", t0)), "é\n");
}

#[derive(Clone, Default)]
struct Screen(Arc<Mutex<Vec<u8>>>);

impl Write for Screen {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn sink_shows_a_prompt_from_its_timer_and_stops_the_timer_at_the_end() {
    let screen = Screen::default();
    let live = sink(filter(), screen.clone(), Duration::from_millis(10));
    live(b"line one\nEnter the code ABC: ");
    assert_eq!(text(&screen.0.lock().unwrap()), "line one\n");
    let t0 = Instant::now();
    while !text(&screen.0.lock().unwrap()).ends_with("ABC: ") {
        assert!(t0.elapsed() < Duration::from_secs(10), "prompt never shown");
        std::thread::sleep(Duration::from_millis(10));
    }
    live(format!("\n{JWT}\n").as_bytes());
    live(b"");
    let shown = text(&screen.0.lock().unwrap());
    assert_eq!(shown, "line one\nEnter the code ABC: \n[REDACTED:jwt]\n");
    drop(live);
    // Filter, writer and timer thread are gone: only our handle on the screen is left.
    assert_eq!(Arc::strong_count(&screen.0), 1);
}

#[test]
fn sink_dropped_without_an_end_stops_its_timer() {
    let screen = Screen::default();
    let live = sink(filter(), screen.clone(), Duration::from_millis(10));
    live(b"partial");
    drop(live);
    assert_eq!(Arc::strong_count(&screen.0), 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// However the output is chunked, a log of complete lines comes out as the redactor
    /// makes of the whole text, and no planted secret is shown.
    #[test]
    fn chunking_does_not_change_what_is_shown(
        picks in proptest::collection::vec(0usize..8, 1..60),
        sizes in proptest::collection::vec(1usize..300, 1..8),
    ) {
        let lines = [
            "DEBUG: urllib3.connectionpool: https://login.microsoftonline.com:443 \"POST /t/oauth2/v2.0/token HTTP/1.1\" 200 1712\r\n",
            "DEBUG: msal: {\"access_token\": \"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhIjoiYiJ9.c2ln\", \"expires_in\": 3599}\n",
            "{\n  \"client_secret\": \"Zq8~PLANTED~a\",\n  \"scope\": [\n    \"x\"\n  ]\n}\n",
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIPLANTEDPLANTEDPLANTEDPLANTEDPLANTEDPLANTEDoAoGCCqGSM49\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----\n",
            "\x1b[93mTo sign in, use a web browser and enter the code ABCD1234.\x1b[0m\n",
            "az login -p Zq8~PLANTED~b --tenant t\n",
            "progress 50%\r",
            "caf\u{e9} \u{1f600} Set-Cookie: fpc=PLANTEDcookie; path=/\n",
        ];
        let input: String = picks.iter().map(|&i| lines[i]).collect();
        let expected = redactor().redact(&input);
        let out = text(&run(&mut filter(), input.as_bytes(), &sizes));
        proptest::prop_assert_eq!(&out, expected.as_str());
        proptest::prop_assert!(!out.contains("PLANTED"));
    }
}

/// Regression (the idempotence check of `a_normal_log_comes_out_as_if_redacted_whole_in_order`
/// lost the indentation before `"message"` in a JSON body). A PEM block written on one line
/// (`\n` escapes, or already redacted as
/// `-----BEGIN PRIVATE KEY-----[REDACTED:private-key]-----END PRIVATE KEY-----`) was taken for
/// an open private key: the lines after it were held until the window filled, then let go as a
/// key without its end line, and the private-key withholding dropped the start of the line in
/// progress (white space and words are key-body characters) although the redactor had not
/// masked anything there.
#[test]
fn a_pem_line_does_not_hold_or_eat_the_text_after_it() {
    let red = redactor();
    for pem in [
        "-----BEGIN PRIVATE KEY-----[REDACTED:private-key]-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0\\n-----END PRIVATE KEY-----\n",
    ] {
        let mut input = String::from(pem);
        while input.len() < 3 * LiveOptions::default().window {
            input.push_str("Body:\n{\n  \"error\": {\n    \"message\": \"denied\"\n  }\n}\n");
        }
        let expected = red.redact(&input);
        let mut f = filter();
        let t0 = Instant::now();
        // Lines come out as they complete: nothing is held behind the PEM line.
        let first = text(&f.push(&input.as_bytes()[..200], t0));
        assert!(
            expected.as_str().starts_with(&first) && first.len() > pem.len() + 50,
            "{first:?}"
        );
        let out = first + &text(&run(&mut f, &input.as_bytes()[200..], &[777]));
        assert_eq!(out, expected.as_str());
        assert!(!out.contains("MIIEvQ"));
    }
    // A key's header without its end line, whose body the redactor sees end (at a quote): the
    // block is held to the window and let go, and what follows is shown as redacted, not
    // withheld as key body.
    let mut input = String::from("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0\n");
    while input.len() < 3 * LiveOptions::default().window {
        input.push_str("    \"message\": \"denied\"\n");
    }
    let expected = red.redact(&input);
    assert!(!expected.as_str().contains("MIIEvQ"));
    for sizes in [&[777][..], &[65536]] {
        let out = text(&run(&mut filter(), input.as_bytes(), sizes));
        assert_eq!(out, expected.as_str(), "{sizes:?}");
    }
}

/// The redactor learns: the redaction of what was already shown can change between two calls
/// (here a literal learned while a prompt was shown, as another collector's output would
/// teach it). The shown part is not shown again; the rest of its line is replaced by the cut
/// marker, and the secret is masked from then on.
#[test]
fn a_secret_learned_after_its_line_was_partly_shown_is_cut_not_shown_again() {
    const SECRET: &str = "Zq8learnedLiteral42";
    // Idle release of a prompt, then the literal is learned, then the line ends.
    let red = Arc::new(Redactor::new());
    let mut f = LiveFilter::new(red.clone(), LiveOptions::default());
    let t0 = Instant::now();
    let prompt = format!("retrying with {SECRET} (attempt 2) ");
    assert!(f.push(prompt.as_bytes(), t0).is_empty());
    assert_eq!(text(&f.idle(t0 + Duration::from_millis(300))), prompt);
    red.learn([SECRET]);
    let t1 = t0 + Duration::from_secs(1);
    let out = text(&f.push(format!("done\nagain {SECRET}\nnext\n").as_bytes(), t1));
    assert_eq!(
        out,
        format!("{LIVE_CUT_MARKER}\nagain [REDACTED:known-secret-value]\nnext\n")
    );
    assert!(f.finish().is_empty());

    // A forced cut keeps the end of the piece shown as context; the literal is learned
    // between the two pushes and sits in that context.
    let red = Arc::new(Redactor::new());
    let opts = LiveOptions {
        window: MIN_WINDOW,
        ..LiveOptions::default()
    };
    let mut f = LiveFilter::new(red.clone(), opts);
    let mut line = "lorem ipsum ".repeat(MIN_WINDOW / 12);
    // The cut falls in the last 1024 bytes but one 512, after a space; the context is the
    // 512 bytes before it.
    line.truncate(MIN_WINDOW - 2 * CUT_TAIL + 200);
    line.push_str(&format!(" {SECRET} "));
    while line.len() < MIN_WINDOW {
        line.push_str("dolor sit ");
    }
    let (a, b) = line.as_bytes().split_at(MIN_WINDOW);
    let shown = text(&f.push(a, t0));
    assert!(shown.contains(SECRET), "not known yet: shown as it was");
    red.learn([SECRET]);
    let mut rest = text(&f.push(b, t0));
    rest.push_str(&text(
        &f.push(format!(" amet {SECRET}\nnext\n").as_bytes(), t0),
    ));
    rest.push_str(&text(&f.finish()));
    assert!(!rest.contains(SECRET), "{rest}");
    assert!(rest.contains(LIVE_CUT_MARKER), "{rest}");
    assert!(rest.ends_with("\nnext\n"), "{rest}");
    // Nothing shown twice: the text before the marker continues what was shown.
    let before_cut = &rest[..rest.find(LIVE_CUT_MARKER).unwrap()];
    assert!(
        line.starts_with(&(shown.clone() + before_cut)),
        "{before_cut:?}"
    );
}

/// The three shapes whose second line the redactor masks only together with the first: a
/// wrapped bearer token, a JSON key whose value is on the next line, a wrapped JWT.
fn continuations() -> Vec<(String, String)> {
    let jwt = format!("{JWT}{}", "X".repeat(60));
    let (head, rest) = jwt.split_at(70);
    vec![
        (
            "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123\n  ABCDEFGHIJKLMNOP12345678\nnext\n"
                .to_string(),
            "ABCDEFGHIJKLMNOP12345678".to_string(),
        ),
        (
            "{\"client_secret\":\n  \"Zq8~s3cretValue.123\"}\nnext\n".to_string(),
            "Zq8~s3cretValue.123".to_string(),
        ),
        (
            format!("AccessToken : {head}\n              {rest}\nnext\n"),
            rest.to_string(),
        ),
    ]
}

/// Split in two chunks at every byte around the first line end: the continuation is masked as
/// in the whole text. A fresh redactor each time: one that saw the whole text has learned the
/// secret and would mask it anyway.
#[test]
fn a_continuation_line_is_masked_wherever_the_chunks_split() {
    for (input, secret) in continuations() {
        let expected = Redactor::new().redact(&input);
        assert_no_piece(expected.as_str(), &secret, 6);
        let nl = input.find('\n').unwrap();
        for cut in nl - 8..nl + 16 {
            let mut f = LiveFilter::new(Arc::new(Redactor::new()), LiveOptions::default());
            let now = Instant::now();
            let mut out = f.push(&input.as_bytes()[..cut], now);
            out.extend(f.push(&input.as_bytes()[cut..], now));
            out.extend(f.finish());
            let out = text(&out);
            assert_no_piece(&out, &secret, 6);
            assert_eq!(out, expected.as_str(), "cut {cut}");
        }
    }
}

#[test]
fn a_held_line_is_shown_after_idle_when_nothing_follows() {
    for (line, shown) in [
        (
            "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123\n",
            "Authorization: Bearer [REDACTED:authorization-header]\n",
        ),
        ("DEBUG: Request headers:\n", "DEBUG: Request headers:\n"),
    ] {
        let mut f = filter();
        let t0 = Instant::now();
        assert_eq!(text(&f.push(b"before\n", t0)), "before\n");
        assert!(f.push(line.as_bytes(), t0).is_empty(), "held: {line:?}");
        assert!(f.idle(t0 + Duration::from_millis(100)).is_empty());
        assert_eq!(text(&f.idle(t0 + Duration::from_millis(250))), shown);
        assert!(f.idle(t0 + Duration::from_millis(500)).is_empty());
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(text(&f.push(b"next\n", t1)), "next\n");
        assert!(f.finish().is_empty());
    }
}

#[test]
fn a_held_line_goes_out_with_the_line_that_follows() {
    let mut f = filter();
    let t0 = Instant::now();
    assert!(f.push(b"DEBUG: Response headers:\n", t0).is_empty());
    assert_eq!(
        text(&f.push(b"DEBUG:     'Date': 'Mon'\n", t0)),
        "DEBUG: Response headers:\nDEBUG:     'Date': 'Mon'\n"
    );
}

/// A held line and the start of the next one are redacted together when idle comes: a
/// continuation written without its newline is masked, and the rest of its line withheld.
#[test]
fn a_held_line_and_a_started_continuation_are_masked_together_at_idle() {
    let mut f = LiveFilter::new(Arc::new(Redactor::new()), LiveOptions::default());
    let t0 = Instant::now();
    f.push(
        b"Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123\n  ABCDEFGHIJKLMNOP12345678",
        t0,
    );
    let shown = text(&f.idle(t0 + Duration::from_millis(300)));
    assert!(
        shown.starts_with("Authorization: Bearer [REDACTED:"),
        "{shown:?}"
    );
    assert_no_piece(&shown, "ABCDEFGHIJKLMNOP12345678", 6);
    let t1 = t0 + Duration::from_secs(1);
    let rest = text(&f.push(b"9abc\nnext\n", t1));
    assert_eq!(rest, "\nnext\n");
    // A prompt after a held line is shown after idle, with the line.
    let mut f = filter();
    assert!(f.push(b"Login:\nEnter the code ABC: ", t0).is_empty());
    assert_eq!(
        text(&f.idle(t0 + Duration::from_millis(300))),
        "Login:\nEnter the code ABC: "
    );
    assert_eq!(text(&f.push(b"y\nok\n", t1)), "y\nok\n");
}

/// Every line ends in a marker (a token wrapped over many lines): the chain is held only
/// within bounds, shown as it goes, and the window is never exceeded.
#[test]
fn a_chain_of_lines_ending_in_a_marker_stays_within_the_window() {
    let chain = |width: usize, len: usize| {
        let mut input = String::from("Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123\n");
        let mut n = 0;
        while input.len() < len {
            let piece: String = (0..width)
                .map(|i| (b'A' + ((i * 7 + n * 3) % 26) as u8) as char)
                .collect();
            input.push_str(&format!("  {piece}{n:04}\n"));
            n += 1;
        }
        input.push_str("next\n");
        input
    };
    let small = LiveOptions {
        window: MIN_WINDOW,
        ..LiveOptions::default()
    };
    for (width, opts) in [
        (24, LiveOptions::default()),
        (200, LiveOptions::default()),
        (24, small),
        (200, small),
        (1500, small),
        (1500, LiveOptions::default()),
    ] {
        let input = chain(width, 3 * opts.window);
        let mut f = LiveFilter::new(Arc::new(Redactor::new()), opts);
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut shown_before_end = 0;
        for line in input.split_inclusive('\n') {
            out.extend(f.push(line.as_bytes(), t0));
            assert!(f.buffered() <= f.window(), "{width}: held {}", f.buffered());
            shown_before_end = out.len();
        }
        assert!(shown_before_end > 0, "{width}: the chain is let go");
        out.extend(f.finish());
        let out = text(&out);
        assert!(out.ends_with("\nnext\n"), "{width}");
        if 65 * (width + 7) < opts.window {
            // The redactor masks up to 64 continuation lines with the first: so does the screen
            // when they fit in the window.
            let expected = Redactor::new().redact(&input);
            let first: Vec<&str> = expected.as_str().lines().take(2).collect();
            assert!(out.starts_with(&first.join("\n")), "{width}: {first:?}");
        }
        // Bounded too with chunks of the window's size.
        let mut f = LiveFilter::new(Arc::new(Redactor::new()), opts);
        run(&mut f, input.as_bytes(), &[opts.window, 777]);
    }
}
