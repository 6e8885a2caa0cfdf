//! Banned-password scoring speed: the indexed `score` against the naive `score_naive` (every
//! term against every window), on synthetic lists of 100,000 and 1,000,000 random lower-case
//! terms of 4–16 characters. Requirement: median ≤ 50 µs at 100k terms, ≤ 200 µs at 1M.
//!
//! `cargo bench -p sspr-core --bench banned`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sspr_core::policy::banned::{BannedList, score, score_naive};

fn random_terms(count: usize, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let len = rng.random_range(4..=16);
            (0..len)
                .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
                .collect()
        })
        .collect()
}

/// Realistic passwords, 12–16 characters, some containing a term of the list (given), some not;
/// and one long random one.
fn passwords(terms: &[String]) -> Vec<(&'static str, String)> {
    vec![
        ("no-term-15", "Tr0ub4dor&3xQ!z".to_owned()),
        ("no-term-16", "7#Kp2$Lm9@Vq4^Rw".to_owned()),
        ("phrase-14", "Summer2024!Fun".to_owned()),
        (
            "contains-term",
            format!("{}#2024!", capitalise(of_len(terms, 9))),
        ),
        ("fuzzy-term", format!("9!{}x", fuzz(of_len(terms, 11)))),
        // Not realistic: how the cost grows with length (it is about n·m² look-ups).
        (
            "random-64",
            "q7#Lp9@Zt2$Wm4^Rx6&Kv8*Hb3!Nc5%Fd1(Gs0)Jy7-Tu2+Ei9=Ao4?Pl6~Mk8]w".to_owned(),
        ),
    ]
}

/// The first term of `len` characters (so that every password is 12–16 characters long).
fn of_len(terms: &[String], len: usize) -> &str {
    terms
        .iter()
        .find(|t| t.len() == len)
        .map_or("fallback", String::as_str)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Substitute the middle character of a term.
fn fuzz(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    let m = b.len() / 2;
    b[m] = if b[m] == b'z' { b'y' } else { b[m] + 1 };
    String::from_utf8(b).unwrap_or_default()
}

fn bench_size(c: &mut Criterion, label: &str, count: usize, naive_samples: usize) {
    let terms = random_terms(count, 0x5550_5052 + count as u64);
    let started = Instant::now();
    let list = BannedList::new(&terms);
    eprintln!(
        "{label}: {} terms built in {:.2?}, heap {:.1} MiB ({:.1} bytes/term)",
        list.len(),
        started.elapsed(),
        list.heap_bytes() as f64 / (1024.0 * 1024.0),
        list.heap_bytes() as f64 / list.len() as f64,
    );
    let custom = BannedList::new(["contoso", "fabrikam", "northwind"]);
    let names = ["Alice", "Liddell", "adliddell", "Contoso Ltd"];
    let pws = passwords(&terms);
    for (name, pw) in &pws {
        let v = score(pw, &list, &custom, &names);
        if pw.len() <= 16 {
            assert_eq!(v, score_naive(pw, &list, &custom, &names), "{pw:?}");
        }
        eprintln!(
            "{label}: {name} {pw:?} → score {} accepted {}",
            v.score, v.accepted
        );
    }

    let mut group = c.benchmark_group(format!("banned/{label}/indexed"));
    for (name, pw) in &pws {
        group.bench_with_input(BenchmarkId::from_parameter(name), pw, |b, pw| {
            b.iter(|| score(black_box(pw), &list, &custom, &names))
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("banned/{label}/naive"));
    group
        .sample_size(naive_samples)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    // The 64-character password takes the naive way 1–12 s a run: left out.
    for (name, pw) in pws.iter().filter(|(_, pw)| pw.len() <= 16) {
        group.bench_with_input(BenchmarkId::from_parameter(name), pw, |b, pw| {
            b.iter(|| score_naive(black_box(pw), &list, &custom, &names))
        });
    }
    group.finish();
}

fn banned(c: &mut Criterion) {
    bench_size(c, "100k", 100_000, 20);
    bench_size(c, "1M", 1_000_000, 10);
}

criterion_group!(benches, banned);
criterion_main!(benches);
