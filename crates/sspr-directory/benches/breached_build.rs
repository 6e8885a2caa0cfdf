//! Building the breached-password corpus at the scale of Have I Been Pwned.
//!
//! Run: `cargo bench -p sspr-directory --bench breached_build` (100 million entries; needs
//! ≈ 1 GiB of temporary disk per 100 million and a few minutes), or
//! `cargo bench -p sspr-directory --bench breached_build -- --entries 1000000` for a short run.
//! Without `--bench` on the command line (as under `cargo test --benches`) it does a 20,000-line
//! smoke run.
//!
//! The input is synthetic and streamed: a PRNG yields 20-byte values written as HIBP lines
//! (`SHA1HEX:count\r\n`, upper case) by an in-memory generator implementing `BufRead`, so the
//! parsing is measured with the build and the input is never held in memory. Printed: total
//! time and time per phase, peak resident memory (VmHWM) after the import and after loading,
//! bytes per entry, the false-positive rate over 1M non-members (and over 11M, for a tighter
//! estimate), and the median query time of `contains_sha1` and `contains_password` over 1M
//! lookups.
//!
//! A measurement, not a test: it asserts only that no member was lost.

use std::fmt::Write as _;
use std::io::{self, BufRead, Read};
use std::time::{Duration, Instant};

use sspr_directory::breached::{
    BreachedFilter, ImportOptions, InputFormat, Phase, import, password_sha1,
};

/// splitmix64: deterministic, fast, good enough to stand in for SHA-1 output.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn sha1(&mut self) -> [u8; 20] {
        let mut out = [0u8; 20];
        let (a, b, c) = (self.next(), self.next(), self.next());
        out[..8].copy_from_slice(&a.to_be_bytes());
        out[8..16].copy_from_slice(&b.to_be_bytes());
        out[16..].copy_from_slice(&c.to_be_bytes()[..4]);
        out
    }
}

const MEMBER_SEED: u64 = 0x5553_5350_5242_4631;
const OTHER_SEED: u64 = 0x4E4F_4E4D_454D_4245;

/// `n` HIBP lines from the member PRNG, generated 1,024 at a time.
struct HibpLines {
    rng: Rng,
    left: u64,
    buf: Vec<u8>,
    pos: usize,
}

impl HibpLines {
    fn new(n: u64) -> Self {
        Self {
            rng: Rng(MEMBER_SEED),
            left: n,
            buf: Vec::with_capacity(1024 * 56),
            pos: 0,
        }
    }

    fn refill(&mut self) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.buf.clear();
        self.pos = 0;
        for _ in 0..1024 {
            if self.left == 0 {
                break;
            }
            self.left -= 1;
            let sha1 = self.rng.sha1();
            let count = self.rng.next() % 100_000 + 1;
            for b in sha1 {
                self.buf.push(HEX[usize::from(b >> 4)]);
                self.buf.push(HEX[usize::from(b & 15)]);
            }
            self.buf.push(b':');
            let mut digits = [0u8; 20];
            let mut at = digits.len();
            let mut c = count;
            loop {
                at -= 1;
                digits[at] = b'0' + (c % 10) as u8;
                c /= 10;
                if c == 0 {
                    break;
                }
            }
            self.buf.extend_from_slice(&digits[at..]);
            self.buf.extend_from_slice(b"\r\n");
        }
    }
}

/// The member SHA-1s again, in the same order as [`HibpLines`].
fn members() -> impl Iterator<Item = [u8; 20]> {
    let mut rng = Rng(MEMBER_SEED);
    std::iter::repeat_with(move || {
        let sha1 = rng.sha1();
        rng.next(); // the count
        sha1
    })
}

impl Read for HibpLines {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for HibpLines {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.buf.len() {
            self.refill();
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Median ns per call over `batches` of `per_batch` calls.
fn median_ns(batches: usize, per_batch: usize, mut batch: impl FnMut(usize) -> usize) -> f64 {
    let mut sink = 0usize;
    let mut times: Vec<f64> = (0..batches)
        .map(|i| {
            let t = Instant::now();
            sink = sink.wrapping_add(batch(i * per_batch));
            t.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    std::hint::black_box(sink);
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn parse_entries(args: &[String]) -> Option<u64> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = if a == "--entries" {
            it.next().map(String::as_str)
        } else {
            a.strip_prefix("--entries=")
        };
        if let Some(v) = value {
            return v.replace('_', "").parse().ok();
        }
    }
    None
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let benching = args.iter().any(|a| a == "--bench");
    let entries = parse_entries(&args).unwrap_or(if benching { 100_000_000 } else { 20_000 });
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = tmp.path().join("breached");
    println!(
        "breached_build: {entries} synthetic HIBP lines into {}",
        dir.display()
    );

    // What generating the input alone costs (it is part of the reading phase below).
    let sample = entries.min(1_000_000);
    let t = Instant::now();
    let mut generator = HibpLines::new(sample);
    let generated = io::copy(&mut generator, &mut io::sink()).expect("generate");
    let generator_ns = t.elapsed().as_nanos() as f64 / sample as f64;
    let line_bytes = generated as f64 / sample as f64;

    let hwm_start = status_kib("VmHWM:");
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut last_phase = None;
    let report = import(
        HibpLines::new(entries),
        &dir,
        ImportOptions::with_format(InputFormat::Hibp),
        &mut |p| {
            let phase_changed = last_phase != Some(std::mem::discriminant(&p.phase));
            if phase_changed || last_print.elapsed() > Duration::from_secs(10) {
                last_phase = Some(std::mem::discriminant(&p.phase));
                last_print = Instant::now();
                let what = match p.phase {
                    Phase::Reading => format!("reading, {} lines", p.lines_read),
                    Phase::Splitting => "splitting".to_owned(),
                    Phase::Building { shard, of } => format!("building shard {shard}/{of}"),
                    Phase::Committing => "committing".to_owned(),
                };
                eprintln!(
                    "  [{:>6.1} s] {what}, RSS {}",
                    started.elapsed().as_secs_f64(),
                    mib(status_kib("VmRSS:"))
                );
            }
        },
    )
    .expect("import");
    let total = started.elapsed();
    let hwm_import = status_kib("VmHWM:");

    let t = Instant::now();
    let filter = BreachedFilter::open(&dir)
        .expect("open")
        .expect("a generation");
    let load = t.elapsed();
    let hwm_loaded = status_kib("VmHWM:");

    // No false negatives: every member (up to 1M of them) is found.
    let checked = entries.min(1_000_000) as usize;
    let missing = members()
        .take(checked)
        .filter(|h| !filter.contains_sha1(h))
        .count();
    assert_eq!(missing, 0, "members lost");

    // False positives over 1M values that are not members.
    let trials = 1_000_000usize;
    let mut other = Rng(OTHER_SEED);
    let non_members: Vec<[u8; 20]> = (0..trials).map(|_| other.sha1()).collect();
    let false_positives = non_members
        .iter()
        .filter(|h| filter.contains_sha1(h))
        .count();
    let fpr = false_positives as f64 / trials as f64;
    // The same over 10M more, for a tighter estimate (±8% instead of ±26% at one σ).
    let wide_trials = 10_000_000usize;
    let wide_false_positives = (0..wide_trials)
        .filter(|_| filter.contains_sha1(&other.sha1()))
        .count()
        + false_positives;
    let wide_trials = wide_trials + trials;

    // Query time: 100 batches of 10,000 lookups each, over distinct inputs (cold cache lines,
    // as in a server), half members and half not.
    let lookups: Vec<[u8; 20]> = members()
        .take(trials / 2)
        .chain(non_members.iter().take(trials / 2).copied())
        .collect();
    let passwords: Vec<String> = (0..trials).map(|i| format!("Summer{i}!")).collect();
    let sha1_ns = median_ns(100, 10_000, |from| {
        lookups[from..from + 10_000]
            .iter()
            .filter(|h| filter.contains_sha1(h))
            .count()
    });
    let password_ns = median_ns(100, 10_000, |from| {
        passwords[from..from + 10_000]
            .iter()
            .filter(|p| filter.contains_password(p))
            .count()
    });
    let hash_only_ns = median_ns(100, 10_000, |from| {
        passwords[from..from + 10_000]
            .iter()
            .map(|p| usize::from(password_sha1(p)[0]))
            .sum()
    });

    let mut out = String::new();
    let t = &report.times;
    let _ = writeln!(out, "\n== breached_build, {entries} lines ==");
    let _ = writeln!(
        out,
        "input              {:.1} MB ({line_bytes:.1} B/line; the generator alone: {generator_ns:.0} ns/line)",
        report.bytes_read as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "distinct entries   {} ({} duplicates, {} bad lines)",
        report.entries, report.duplicates, report.bad_line_count
    );
    let _ = writeln!(out, "shards             {}", report.shards);
    let _ = writeln!(out, "total import time  {}", secs(total));
    let _ = writeln!(
        out,
        "  reading          {} ({:.0} ns/line)",
        secs(t.reading),
        t.reading.as_nanos() as f64 / entries as f64
    );
    let _ = writeln!(out, "  splitting        {}", secs(t.splitting));
    let _ = writeln!(out, "  building         {}", secs(t.building));
    let _ = writeln!(out, "  committing       {}", secs(t.committing));
    let _ = writeln!(
        out,
        "peak RSS           {} during the import (at start {}); {} after loading the filter",
        mib(hwm_import),
        mib(hwm_start),
        mib(hwm_loaded)
    );
    let _ = writeln!(
        out,
        "filter size        {:.1} MB on disk, {:.3} B/entry; {:.1} MB in memory; loaded in {}",
        report.filter_bytes as f64 / 1e6,
        report.bytes_per_entry(),
        filter.memory_bytes() as f64 / 1e6,
        secs(load)
    );
    let _ = writeln!(
        out,
        "false positives    {false_positives} in {trials} non-members = {fpr:.3e} (1/65536 = {:.3e}; 1 in {:.0})",
        1.0 / 65_536.0,
        if false_positives == 0 {
            f64::INFINITY
        } else {
            1.0 / fpr
        }
    );
    let _ = writeln!(
        out,
        "                   {wide_false_positives} in {wide_trials} = {:.3e} (1 in {:.0})",
        wide_false_positives as f64 / wide_trials as f64,
        wide_trials as f64 / wide_false_positives.max(1) as f64
    );
    let _ = writeln!(out, "no false negative  {checked} members checked");
    let _ = writeln!(
        out,
        "query (median of 100 batches of 10,000)\n  contains_sha1     {sha1_ns:.0} ns\n  contains_password {password_ns:.0} ns (of which SHA-1 {hash_only_ns:.0} ns)"
    );
    print!("{out}");
}
