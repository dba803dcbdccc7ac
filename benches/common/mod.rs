//! The realistic debug log both benchmarks read: real and synthetic az / Az PowerShell / Graph
//! PowerShell debug output from tests/fixtures, repeated with varying ids.

const SOURCES: &[&str] = &[
    include_str!("../../tests/fixtures/az/login-sp-debug-offline.real.txt"),
    include_str!("../../tests/fixtures/redaction/az-debug-synthetic.txt"),
    include_str!("../../tests/fixtures/redaction/azps-debug-synthetic.txt"),
    include_str!("../../tests/fixtures/redaction/mggraph-debug-synthetic.txt"),
];

/// At least `min_bytes` of debug log.
pub fn build_log(min_bytes: usize) -> String {
    let mut out = String::with_capacity(min_bytes + (1 << 20));
    let mut n: u64 = 0;
    while out.len() < min_bytes {
        for src in SOURCES {
            for line in src.lines() {
                n += 1;
                // Vary ids so nothing is trivially repeated.
                out.push_str(&line.replace("5a0c3f6e", &format!("{:08x}", n as u32)));
                out.push('\n');
            }
        }
    }
    out
}
