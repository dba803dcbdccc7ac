//! Redaction throughput on a realistic debug log (run: `cargo bench --bench redact`).
//!
//! Builds >= 100 MB by repeating real az / Az PowerShell / Graph PowerShell debug output shapes
//! (tests/fixtures) with varying ids, about 1 line in 40 carrying a secret, then redacts it on
//! all cores and on one thread. Target: >= 200 MiB/s (docs/performance.md).

mod common;
use common::build_log;
use std::time::Instant;

use entra_collect::redact::Redactor;

fn main() {
    let mb = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128usize);
    let log = build_log(mb << 20);
    let red = Redactor::with_literals(["Zq8~SyntheticSecretValue_123-not-present"]);
    let secret_lines = log
        .lines()
        .filter(|l| l.contains("SEKRIT") || l.contains("Zq8~"))
        .count();
    let total_lines = log.lines().count();
    // Warm up, then take the best of three (the machine is shared).
    let _ = red.redact(&log[..1 << 20]);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mbytes = log.len() as f64 / (1 << 20) as f64;
    for (label, single) in [("all cores", false), ("one thread", true)] {
        let mut best = f64::MAX;
        let mut replaced = 0;
        for _ in 0..3 {
            let t0 = Instant::now();
            let out = if single {
                red.redact_single_thread(&log)
            } else {
                red.redact(&log)
            };
            let secs = t0.elapsed().as_secs_f64();
            replaced = out.total();
            assert!(
                !out.as_str().contains("SEKRIT"),
                "benchmark log still has a secret"
            );
            best = best.min(secs);
        }
        println!(
            "redact ({label}, {threads} cores): {mbytes:.0} MiB, {total_lines} lines ({secret_lines} with secrets), {replaced} replacements, best {:.3} s = {:.0} MiB/s",
            best,
            mbytes / best
        );
    }
}
