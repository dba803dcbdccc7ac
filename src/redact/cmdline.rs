//! Placeholder until the default-deny command-line sanitizer lands (replaced on merge).

pub const ARG_RULE: &str = "argument";

#[derive(Debug, Clone)]
pub struct Masked {
    pub value: String,
    pub secret_flag: bool,
}

#[derive(Debug, Clone)]
pub struct Sanitized {
    pub argv: Vec<String>,
    pub masked: Vec<Masked>,
}

pub fn sanitize_argv(argv: &[String]) -> Sanitized {
    let mut out = Vec::new();
    let mut masked = Vec::new();
    let mut take = false;
    for a in argv {
        if take {
            take = false;
            masked.push(Masked { value: a.clone(), secret_flag: true });
            out.push("[REDACTED:argument]".to_string());
            continue;
        }
        if super::rules::is_secret_flag(a) {
            take = true;
        }
        out.push(a.clone());
    }
    Sanitized { argv: out, masked }
}
