fn main() {
    let p = std::env::args().nth(1).unwrap();
    let t = std::fs::read_to_string(p).unwrap();
    let r = entra_collect::redact::Redactor::new();
    let out = r.redact(&t);
    for (a, b) in t.lines().zip(out.as_str().lines()) {
        if a != b { println!("- {a}\n+ {b}"); }
    }
    eprintln!("{:?}", out.counts());
}
