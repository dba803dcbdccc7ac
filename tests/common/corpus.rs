//! The secrets corpus (tests/fixtures/secrets/corpus.txt), shared by the redactor's unit tests
//! (included with `#[path]`) and the end-to-end tests: `## shape: NAME`, `## canary: TEXT`
//! lines, the text, `## end`.
#![allow(dead_code)]

/// One block of the corpus: a shape, its canaries and its text.
pub struct Shape {
    pub name: String,
    pub canaries: Vec<String>,
    pub text: String,
}

/// Parse the corpus text.
pub fn parse(raw: &str) -> Vec<Shape> {
    let mut out = Vec::new();
    let mut cur: Option<Shape> = None;
    for line in raw.split_inclusive('\n') {
        if let Some(n) = line.strip_prefix("## shape: ") {
            cur = Some(Shape {
                name: n.trim().to_string(),
                canaries: Vec::new(),
                text: String::new(),
            });
        } else if let Some(c) = line.strip_prefix("## canary: ") {
            let shape = cur.as_mut().expect("canary outside a block");
            shape.canaries.push(c.trim_end_matches('\n').to_string());
        } else if line.starts_with("## end") {
            out.push(cur.take().expect("end outside a block"));
        } else if let Some(s) = cur.as_mut() {
            s.text.push_str(line);
        }
    }
    assert!(cur.is_none(), "corpus ends inside a block");
    out
}

/// What a reader sees: NULs (UTF-16LE) and ANSI escape sequences removed, so a canary cannot
/// hide there.
pub fn visible(s: &str) -> String {
    let re = regex::Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]").unwrap();
    re.replace_all(&s.replace('\0', ""), "").into_owned()
}
