//! Trace bundling throughput and memory (run: `cargo bench --bench bundle`).
//!
//! Writes a random (incompressible, like a TLS capture) file of `BENCH_MB` MiB (default 2048)
//! chunk by chunk, then bundles it through `BundleWriter::add_unredacted_stream`, the
//! `--net-trace` code path, and finishes the zip (fsync included). Then the same with
//! `BENCH_TEXT_MB` MiB (default 256) of compressible log-like text, which takes the deflate
//! path. Prints MB/s, the chosen method and the ratio, and the process's peak RSS (getrusage;
//! nothing else in this process holds more than a 1 MiB chunk). Also times the per-byte phases
//! alone (SHA-256, CRC-32 inside zip, level-1 deflate) so a slow run can be attributed.
//! Targets (docs/performance.md): >= 150 MB/s and <= 32 MiB peak RSS on a 2 GiB capture.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use entra_collect::bundle::{BundleWriter, Compression, EntryName};
use entra_collect::redact::Redactor;
use sha2::{Digest, Sha256};

const CHUNK: usize = 1 << 20;

/// splitmix64: fast, and its output does not deflate.
struct Rng(u64);

impl Rng {
    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            c.copy_from_slice(&z.to_le_bytes()[..c.len()]);
        }
    }
}

fn write_random(path: &Path, mib: usize) {
    let mut f = BufWriter::new(File::create(path).expect("create capture"));
    let mut rng = Rng(0x5EED);
    let mut buf = vec![0u8; CHUNK];
    for _ in 0..mib {
        rng.fill(&mut buf);
        f.write_all(&buf).expect("write capture");
    }
    f.flush().expect("flush capture");
}

/// Log-like lines with varying numbers (deflates to roughly a fifth).
fn write_text(path: &Path, mib: usize) {
    let mut f = BufWriter::new(File::create(path).expect("create capture"));
    let mut rng = Rng(7);
    let mut n = [0u8; 8];
    let mut written = 0usize;
    while written < mib << 20 {
        rng.fill(&mut n);
        let line = format!(
            "2026-11-25T12:00:{:02}.{:03}Z DEBUG urllib3.connectionpool: https://login.microsoftonline.com:443 \"POST /organizations/oauth2/v2.0/token HTTP/1.1\" {} {}\n",
            n[0] % 60,
            u16::from_le_bytes([n[1], n[2]]) % 1000,
            [200, 400, 401][usize::from(n[3] % 3)],
            u32::from_le_bytes([n[4], n[5], n[6], 0])
        );
        f.write_all(line.as_bytes()).expect("write capture");
        written += line.len();
    }
    f.flush().expect("flush capture");
}

fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the struct we pass; RUSAGE_SELF is always valid.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru.ru_maxrss
    }
}

fn bundle(label: &str, capture: &Path, out: &Path) {
    let bytes = std::fs::metadata(capture).expect("capture").len();
    let t0 = Instant::now();
    let mut w = BundleWriter::create(out, "bench", chrono::Utc::now()).expect("bundle");
    let f = File::open(capture).expect("open capture");
    let rec = w
        .add_unredacted_stream(
            &EntryName::new("trace/net.pcap").expect("name"),
            f,
            u64::MAX,
        )
        .expect("stream")
        .clone();
    let streamed = t0.elapsed().as_secs_f64();
    let path = w
        .finish(&Redactor::new().redact("{}"))
        .expect("finish bundle");
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(rec.size, bytes);
    let method = match rec.compression {
        Some(Compression::Stored) => "stored",
        Some(Compression::Deflated) => "deflated",
        None => "unknown",
    };
    let csize = rec.compressed_size.unwrap_or(0);
    println!(
        "{label}: {:.0} MiB {method}, ratio {:.3}, {:.2} s = {:.0} MB/s ({:.0} MB/s before the finish and fsync), peak RSS {:.1} MiB",
        bytes as f64 / (1 << 20) as f64,
        csize as f64 / bytes as f64,
        secs,
        bytes as f64 / 1e6 / secs,
        bytes as f64 / 1e6 / streamed,
        peak_rss_kib() as f64 / 1024.0
    );
    std::fs::remove_file(path).expect("remove bundle");
}

/// The per-byte work alone, in memory, on `mib` MiB of random data.
fn phases(mib: usize) {
    let mut buf = vec![0u8; CHUNK];
    Rng(1).fill(&mut buf);
    let t = Instant::now();
    let mut h = Sha256::new();
    for _ in 0..mib {
        h.update(&buf);
    }
    std::hint::black_box(h.finalize());
    let sha = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(CHUNK * 2)));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for i in 0..mib {
        // One small entry per chunk: the in-memory zip stays one chunk large.
        z.start_file(format!("{i}"), opts).expect("entry");
        z.write_all(&buf).expect("write");
        z.abort_file().expect("drop entry");
    }
    let crc = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let deflate_mib = mib.min(64);
    let mut enc = flate2::write::DeflateEncoder::new(std::io::sink(), flate2::Compression::fast());
    for _ in 0..deflate_mib {
        enc.write_all(&buf).expect("deflate");
    }
    enc.finish().expect("deflate");
    let defl = t.elapsed().as_secs_f64();
    let mb = (mib << 20) as f64 / 1e6;
    println!(
        "phases in memory: SHA-256 {:.0} MB/s, zip stored write (CRC-32 and copy) {:.0} MB/s, deflate level 1 on random data {:.0} MB/s",
        mb / sha,
        mb / crc,
        (deflate_mib << 20) as f64 / 1e6 / defl
    );
}

fn env_mib(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let mib = env_mib("BENCH_MB", 2048);
    let text_mib = env_mib("BENCH_TEXT_MB", 256);
    let dir = tempfile::tempdir().expect("tempdir");
    phases(256);
    let capture = dir.path().join("capture.bin");
    let t = Instant::now();
    write_random(&capture, mib);
    println!(
        "generated {mib} MiB of random data in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    bundle("random capture", &capture, dir.path());
    std::fs::remove_file(&capture).expect("remove capture");
    if text_mib > 0 {
        write_text(&capture, text_mib);
        bundle("text capture", &capture, dir.path());
    }
}
