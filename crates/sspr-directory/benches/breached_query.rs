//! The cost of one breached-password lookup: `cargo bench -p sspr-directory --bench breached_query`.
//!
//! A filter of 2 million random SHA-1s is imported into a temporary directory; lookups cycle
//! through 1M distinct inputs so that each one touches cold cache lines, as in a server. The
//! SHA-1 alone is measured too, so the ratio shows what the filter adds.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, criterion_group, criterion_main};
use sspr_directory::breached::{
    BreachedCorpus, BreachedFilter, ImportOptions, InputFormat, import, password_sha1,
};

const MEMBERS: usize = 2_000_000;
const INPUTS: usize = 1 << 20;

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
        for chunk in out.chunks_mut(8) {
            let bytes = self.next().to_be_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        out
    }
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let mut rng = Rng(1);
    let members: Vec<[u8; 20]> = (0..MEMBERS).map(|_| rng.sha1()).collect();
    let mut text = String::with_capacity(MEMBERS * 41);
    for m in &members {
        text.push_str(&hex_upper(m));
        text.push('\n');
    }
    import(
        Cursor::new(text.into_bytes()),
        tmp.path(),
        ImportOptions::with_format(InputFormat::Sha1),
        &mut |_| {},
    )
    .expect("import");
    let filter = BreachedFilter::open(tmp.path())
        .expect("open")
        .expect("a generation");
    let corpus = BreachedCorpus::open(tmp.path()).expect("open");
    let non_members: Vec<[u8; 20]> = (0..INPUTS).map(|_| rng.sha1()).collect();
    let passwords: Vec<String> = (0..INPUTS).map(|i| format!("Summer{i}!")).collect();

    let mut g = c.benchmark_group("breached");
    let mut i = 0usize;
    g.bench_function("contains_sha1/member", |b| {
        b.iter(|| {
            i = (i + 1) % MEMBERS;
            black_box(filter.contains_sha1(&members[i]))
        })
    });
    g.bench_function("contains_sha1/non_member", |b| {
        b.iter(|| {
            i = (i + 1) & (INPUTS - 1);
            black_box(filter.contains_sha1(&non_members[i]))
        })
    });
    g.bench_function("sha1_only", |b| {
        b.iter(|| {
            i = (i + 1) & (INPUTS - 1);
            black_box(password_sha1(&passwords[i]))
        })
    });
    g.bench_function("contains_password", |b| {
        b.iter(|| {
            i = (i + 1) & (INPUTS - 1);
            black_box(filter.contains_password(&passwords[i]))
        })
    });
    g.bench_function("corpus_is_breached", |b| {
        b.iter(|| {
            i = (i + 1) & (INPUTS - 1);
            black_box(corpus.is_breached(&passwords[i]))
        })
    });
    g.finish();
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

criterion_group!(benches, bench);
criterion_main!(benches);
