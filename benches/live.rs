//! Live-view filter throughput (run: `cargo bench --bench live`).
//!
//! Feeds `LiveFilter` the way the runner does (64 KiB chunks) with
//! - a no-newline flood: 1 GiB of words and spaces, then 1 GiB of one token without
//!   white space (every window ends in a forced cut), generated chunk by chunk so the
//!   process's peak RSS measures the filter, not the input;
//! - a realistic multi-line debug log (the shapes of the redact bench, 128 MiB).
//!
//! Target: >= 100 MiB/s for each, the filter never holding more than its window
//! (docs/performance.md).

mod common;
use common::build_log;
use std::sync::Arc;
use std::time::Instant;

use entra_collect::redact::Redactor;
use entra_collect::redact::live::{LiveFilter, LiveOptions};

const CHUNK: usize = 64 * 1024;

struct Run {
    mib: f64,
    secs: f64,
    shown: usize,
    max_held: usize,
}

fn feed(red: &Arc<Redactor>, chunks: impl Iterator<Item = Vec<u8>>) -> Run {
    let mut f = LiveFilter::new(red.clone(), LiveOptions::default());
    let (mut total, mut shown, mut max_held) = (0usize, 0usize, 0usize);
    let now = Instant::now();
    let t0 = Instant::now();
    for c in chunks {
        total += c.len();
        shown += f.push(&c, now).len();
        max_held = max_held.max(f.buffered());
    }
    shown += f.finish().len();
    let secs = t0.elapsed().as_secs_f64();
    Run {
        mib: total as f64 / (1 << 20) as f64,
        secs,
        shown,
        max_held,
    }
}

fn report(name: &str, r: &Run) {
    println!(
        "{name}: {:.0} MiB in {:.3} s = {:.0} MiB/s; shown {:.0} MiB; most held {} bytes",
        r.mib,
        r.secs,
        r.mib / r.secs,
        r.shown as f64 / (1 << 20) as f64,
        r.max_held
    );
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mb = std::env::var("BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024usize);
    let red = Arc::new(Redactor::new());
    let chunks = (mb << 20) / CHUNK;

    // Words and spaces, no newline; the pattern's length is prime so cuts fall everywhere.
    let words = "lorem ipsum dolor sit amet, consectetur adipiscing elit 0a1b2c3d ";
    let pattern: Vec<u8> = words.bytes().cycle().take(CHUNK + 61).collect();
    let words_flood = (0..chunks).map(|i| {
        let o = (i * 7) % 61;
        pattern[o..o + CHUNK].to_vec()
    });
    report("flood, words", &feed(&red, words_flood));

    let token_flood = (0..chunks).map(|_| vec![b'#'; CHUNK]);
    report("flood, one token", &feed(&red, token_flood));
    let rss_after_floods = peak_rss_kib();

    let log = build_log(128 << 20);
    let log_chunks: Vec<Vec<u8>> = log.as_bytes().chunks(CHUNK).map(<[u8]>::to_vec).collect();
    let mut best: Option<Run> = None;
    for _ in 0..3 {
        let r = feed(&red, log_chunks.clone().into_iter());
        if best.as_ref().is_none_or(|b| r.secs < b.secs) {
            best = Some(r);
        }
    }
    report("debug log", best.as_ref().expect("three runs"));
    let t0 = Instant::now();
    let whole = red.redact(&log);
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "debug log, redactor alone on the whole text: {:.0} MiB/s (shown {:.0} MiB)",
        log.len() as f64 / (1 << 20) as f64 / secs,
        whole.as_str().len() as f64 / (1 << 20) as f64
    );
    if let Some(kib) = rss_after_floods {
        println!(
            "peak RSS after the floods ({} MiB each): {:.1} MiB",
            mb,
            kib as f64 / 1024.0
        );
    }
}
