use std::fs;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;

use super::format::{self, CURRENT, LOCK};
use super::import::{read_line_for_tests, sha1_hex_key};
use super::*;

const PASSWORD: &str = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"; // "password"
const P123456: &str = "7c4a8d09ca3762af61e59520943dc26494f8941b"; // "123456"
const QWERTY: &str = "b1b3773a05c0ed0176787a4f1574ff0075f7521e"; // "qwerty"
const STRONG: &str = "vX9#qL2!mR7$tZ4&wK8*";

fn run(input: &str, dir: &Path, format: InputFormat) -> ImportReport {
    import(
        Cursor::new(input.as_bytes().to_vec()),
        dir,
        ImportOptions::with_format(format),
        &mut |_| {},
    )
    .expect("import")
}

fn open(dir: &Path) -> BreachedFilter {
    BreachedFilter::open(dir)
        .expect("open")
        .expect("a generation")
}

fn sha1_bytes(hex_str: &str) -> [u8; 20] {
    let mut out = [0u8; 20];
    hex::decode_to_slice(hex_str, &mut out).unwrap();
    out
}

fn generations(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("gen-"))
        .collect();
    names.sort();
    names
}

/// A deterministic PRNG for test data (splitmix64).
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
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        out
    }
}

fn random_sha1_lines(seed: u64, n: usize) -> (String, Vec<[u8; 20]>) {
    let mut rng = Rng(seed);
    let mut text = String::with_capacity(n * 41);
    let mut hashes = Vec::with_capacity(n);
    for _ in 0..n {
        let h = rng.sha1();
        text.push_str(&hex::encode(h));
        text.push('\n');
        hashes.push(h);
    }
    (text, hashes)
}

#[test]
fn known_entries_are_found_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!(
        "{PASSWORD}:3861493\r\n{P123456}:24230577\n{QWERTY}\nletmein\nhunter2\ncorrect horse\n"
    );
    let report = run(&input, dir.path(), InputFormat::Auto);
    assert_eq!(
        report.accepted,
        LineCounts {
            hibp: 2,
            sha1: 1,
            plain: 3
        }
    );
    assert_eq!(report.bad_line_count, 0);
    assert_eq!(report.entries, 6);
    let f = open(dir.path());
    assert_eq!(f.len(), 6);
    for pw in [
        "password",
        "123456",
        "qwerty",
        "letmein",
        "hunter2",
        "correct horse",
    ] {
        assert!(f.contains_password(pw), "{pw} should be found");
    }
    assert!(f.contains_sha1(&sha1_bytes(PASSWORD)));
    assert!(!f.contains_password(STRONG));
    assert!(!f.contains_password("Password"));
    assert!(!f.contains_password("correct horse "));
    assert_eq!(f.generation(), report.generation);
}

#[test]
fn each_explicit_format_reads_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(
        &format!("{PASSWORD}:1\n{}:2\n", P123456.to_uppercase()),
        dir.path(),
        InputFormat::Hibp,
    );
    assert_eq!(report.accepted.hibp, 2);
    let f = open(dir.path());
    assert!(f.contains_password("password") && f.contains_password("123456"));

    let report = run(
        &format!("{}\n  {QWERTY}  \n", PASSWORD.to_lowercase()),
        dir.path(),
        InputFormat::Sha1,
    );
    assert_eq!(report.accepted.sha1, 2);
    let f = open(dir.path());
    assert!(f.contains_password("password") && f.contains_password("qwerty"));
    assert!(!f.contains_password("123456"));

    // Plain: nothing is interpreted, not even 40 hex digits or spaces.
    let report = run(
        &format!("{PASSWORD}\n two spaces \nletmein\n"),
        dir.path(),
        InputFormat::Plain,
    );
    assert_eq!(report.accepted.plain, 3);
    let f = open(dir.path());
    assert!(f.contains_password(PASSWORD));
    assert!(!f.contains_password("password"));
    assert!(f.contains_password(" two spaces "));
    assert!(!f.contains_password("two spaces"));
    assert!(f.contains_password("letmein"));
}

#[test]
fn bad_lines_are_reported_with_their_numbers_and_the_rest_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(MAX_LINE_BYTES + 1);
    let input = [
        format!("{PASSWORD}:10"),      // 1 good
        "not a hash".to_owned(),       // 2 bad: not hex
        String::new(),                 // 3 empty
        format!("{P123456}:12a"),      // 4 bad: count
        QWERTY.to_owned(),             // 5 bad: no count in HIBP mode
        format!("{}:7", &QWERTY[1..]), // 6 bad: 39 hex digits
        long,                          // 7 bad: too long
        "   ".to_owned(),              // 8 empty (white space only)
        format!("{QWERTY}:42"),        // 9 good
        format!("{QWERTY}x:42"),       // 10 bad: 41 characters before the colon
    ]
    .join("\n");
    let report = run(&input, dir.path(), InputFormat::Hibp);
    let bad: Vec<(u64, BadLineReason)> = report
        .bad_lines
        .iter()
        .map(|b| (b.line, b.reason))
        .collect();
    assert_eq!(
        bad,
        vec![
            (2, BadLineReason::NotSha1Hex),
            (4, BadLineReason::BadCount),
            (5, BadLineReason::BadCount),
            (6, BadLineReason::NotSha1Hex),
            (7, BadLineReason::TooLong),
            (10, BadLineReason::NotSha1Hex),
        ]
    );
    assert_eq!(report.bad_line_count, 6);
    assert_eq!(report.empty_lines, 2);
    assert_eq!(report.lines_read, 10);
    assert_eq!(report.accepted.total(), 2);
    assert_eq!(report.bytes_read, input.len() as u64);
    let f = open(dir.path());
    assert!(f.contains_password("password"));
    assert!(f.contains_password("qwerty"));
    assert!(!f.contains_password("123456"));
}

#[test]
fn auto_mode_reports_damaged_hibp_lines_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = format!("{PASSWORD}:abc\n{PASSWORD}:\nok password\n").into_bytes();
    input.extend_from_slice(b"caf\xE9\n"); // Latin-1, not UTF-8
    input.extend_from_slice(format!("{QWERTY}\n").as_bytes());
    let report = import(
        Cursor::new(input),
        dir.path(),
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let bad: Vec<(u64, BadLineReason)> = report
        .bad_lines
        .iter()
        .map(|b| (b.line, b.reason))
        .collect();
    assert_eq!(
        bad,
        vec![
            (1, BadLineReason::BadCount),
            (2, BadLineReason::BadCount),
            (4, BadLineReason::InvalidUtf8),
        ]
    );
    assert_eq!(report.accepted.plain, 1);
    assert_eq!(report.accepted.sha1, 1);
    let f = open(dir.path());
    assert!(f.contains_password("ok password"));
    assert!(f.contains_password("qwerty"));
    assert!(!f.contains_password("password"));
}

#[test]
fn a_plain_password_of_40_hex_digits_is_a_hash_in_auto_mode() {
    let dir = tempfile::tempdir().unwrap();
    run(&format!("{QWERTY}\n"), dir.path(), InputFormat::Auto);
    let f = open(dir.path());
    assert!(f.contains_password("qwerty"));
    assert!(!f.contains_password(QWERTY));
}

#[test]
fn only_the_first_thousand_bad_line_numbers_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::new();
    for i in 0..2500 {
        if i % 2 == 0 {
            input.push_str("zz\n");
        } else {
            input.push_str(&format!("{}\n", hex::encode(Rng(i).sha1())));
        }
    }
    let report = run(&input, dir.path(), InputFormat::Sha1);
    assert_eq!(report.bad_line_count, 1250);
    assert_eq!(report.bad_lines.len(), MAX_BAD_LINES_KEPT);
    assert_eq!(report.bad_lines[0].line, 1);
    assert_eq!(report.bad_lines[999].line, 1999);
    assert_eq!(report.accepted.sha1, 1250);
}

#[test]
fn line_endings_bom_and_a_missing_final_newline() {
    let dir = tempfile::tempdir().unwrap();
    let input = "\u{FEFF}letmein\r\n\r\nhunter2";
    let report = run(input, dir.path(), InputFormat::Plain);
    assert_eq!(report.accepted.plain, 2);
    assert_eq!(report.empty_lines, 1);
    let f = open(dir.path());
    assert!(f.contains_password("letmein"));
    assert!(f.contains_password("hunter2"));
    assert!(!f.contains_password("letmein\r"));

    // The reader never holds more than its limit, and consumes an over-long line whole.
    let mut input = BufReader::with_capacity(4, Cursor::new(b"abcdefghij\nxy\n".to_vec()));
    let mut buf = Vec::new();
    assert_eq!(
        read_line_for_tests(&mut input, &mut buf, 5),
        Some((11, true))
    );
    assert!(buf.len() <= 5);
    assert_eq!(
        read_line_for_tests(&mut input, &mut buf, 5),
        Some((3, false))
    );
    assert_eq!(buf, b"xy");
    assert_eq!(read_line_for_tests(&mut input, &mut buf, 5), None);
}

#[test]
fn duplicate_keys_are_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!(
        "{PASSWORD}:5\n{}:6\n{PASSWORD}\n{}\npassword\npassword\n{QWERTY}\n",
        PASSWORD.to_lowercase(),
        PASSWORD.to_lowercase()
    );
    let report = run(&input, dir.path(), InputFormat::Auto);
    assert_eq!(report.accepted.total(), 7);
    assert_eq!(report.entries, 2);
    assert_eq!(report.duplicates, 5);
    assert_eq!(open(dir.path()).len(), 2);
}

#[test]
fn reimport_swaps_the_generation_and_the_holder_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let first = run("letmein\n", dir.path(), InputFormat::Plain);
    let corpus = BreachedCorpus::open(dir.path()).unwrap();
    let status = corpus.status();
    assert!(status.loaded);
    assert_eq!(
        status.generation.as_deref(),
        Some(first.generation.as_str())
    );
    assert_eq!(status.entries, 1);
    assert!(status.loaded_at.is_some());
    assert!(corpus.is_breached("letmein"));
    assert!(!corpus.is_breached("hunter2"));
    assert!(!corpus.reload_if_changed().unwrap());

    let second = run("hunter2\nqwerty\n", dir.path(), InputFormat::Plain);
    assert_ne!(first.generation, second.generation);
    assert_eq!(
        second.replaced_generation.as_deref(),
        Some(first.generation.as_str())
    );
    assert_eq!(generations(dir.path()), vec![second.generation.clone()]);
    // The holder still answers from the old generation until it reloads.
    let clone = corpus.clone();
    assert!(clone.is_breached("letmein"));
    assert!(clone.reload_if_changed().unwrap());
    assert!(!corpus.reload_if_changed().unwrap());
    assert!(!corpus.is_breached("letmein"));
    assert!(corpus.is_breached("hunter2"));
    // Through the core port too.
    let port: &dyn sspr_core::ports::BreachedPasswords = &corpus;
    assert!(port.is_breached("qwerty"));
    let status = corpus.status();
    assert_eq!(
        status.generation.as_deref(),
        Some(second.generation.as_str())
    );
    assert_eq!(status.entries, 2);
}

/// Yields `good` lines, then fails.
struct FailingReader {
    lines_left: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.lines_left == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the input went away",
            ));
        }
        self.lines_left -= 1;
        let line = b"hunter2\n";
        buf[..line.len()].copy_from_slice(line);
        Ok(line.len())
    }
}

#[test]
fn a_failed_import_leaves_the_previous_generation_in_service() {
    let dir = tempfile::tempdir().unwrap();
    let first = run("letmein\n", dir.path(), InputFormat::Plain);
    let current_before = fs::read(dir.path().join(CURRENT)).unwrap();
    let corpus = BreachedCorpus::open(dir.path()).unwrap();

    let failing = BufReader::new(FailingReader { lines_left: 1000 });
    let err = import(
        failing,
        dir.path(),
        ImportOptions::with_format(InputFormat::Plain),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, ImportError::Read { line: 1001, .. }),
        "{err:?}"
    );
    assert_eq!(fs::read(dir.path().join(CURRENT)).unwrap(), current_before);
    assert_eq!(generations(dir.path()), vec![first.generation.clone()]);
    assert!(!corpus.reload_if_changed().unwrap());
    let f = open(dir.path());
    assert_eq!(f.generation(), first.generation);
    assert!(f.contains_password("letmein"));
    assert!(!f.contains_password("hunter2"));

    // An input with no usable line fails too, and changes nothing.
    let err = import(
        Cursor::new(b"\n\nnot-a-hash\n".to_vec()),
        dir.path(),
        ImportOptions::with_format(InputFormat::Sha1),
        &mut |_| {},
    )
    .unwrap_err();
    match err {
        ImportError::NoEntries(report) => {
            assert_eq!(report.bad_line_count, 1);
            assert_eq!(report.empty_lines, 2);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read(dir.path().join(CURRENT)).unwrap(), current_before);
    assert_eq!(generations(dir.path()), vec![first.generation]);
}

#[test]
fn a_half_written_generation_without_current_is_not_served_and_is_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    // What `kill -9` during a first import leaves: a generation with buckets and a shard.
    let stale = dir.path().join("gen-20240101T000000.000000000Z");
    fs::create_dir_all(stale.join("tmp")).unwrap();
    fs::write(stale.join("tmp/00-08.keys"), [0u8; 64]).unwrap();
    fs::write(stale.join("shard-00000.bf16"), b"SSPRBF16 truncated").unwrap();
    fs::write(dir.path().join("CURRENT.tmp"), b"{\"format\":").unwrap();

    assert!(BreachedFilter::open(dir.path()).unwrap().is_none());
    let corpus = BreachedCorpus::open(dir.path()).unwrap();
    assert!(!corpus.status().loaded);
    assert!(!corpus.is_breached("letmein"));
    assert!(!corpus.reload_if_changed().unwrap());

    let report = run("letmein\n", dir.path(), InputFormat::Plain);
    let mut removed = report.stale_removed.clone();
    removed.sort();
    assert_eq!(
        removed,
        vec![
            "CURRENT.tmp".to_owned(),
            "gen-20240101T000000.000000000Z".to_owned()
        ]
    );
    assert_eq!(generations(dir.path()), vec![report.generation]);
    assert!(corpus.reload_if_changed().unwrap());
    assert!(corpus.is_breached("letmein"));

    // A directory that does not exist at all: nothing imported either.
    assert!(
        BreachedFilter::open(&dir.path().join("missing"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_damaged_shard_is_refused_and_the_holder_keeps_what_it_had() {
    let dir = tempfile::tempdir().unwrap();
    run("letmein\n", dir.path(), InputFormat::Plain);
    let corpus = BreachedCorpus::open(dir.path()).unwrap();
    let second = run("hunter2\n", dir.path(), InputFormat::Plain);
    let shard = format::shard_path(&dir.path().join(&second.generation), 0);
    let bytes = fs::read(&shard).unwrap();
    fs::write(&shard, &bytes[..bytes.len() - 2]).unwrap();
    assert!(matches!(
        BreachedFilter::open(dir.path()),
        Err(OpenError::Corrupt { .. })
    ));
    assert!(corpus.reload_if_changed().is_err());
    assert!(corpus.is_breached("letmein"));

    // A descriptor that points past its fingerprints is refused, not a panic at query time.
    let mut bytes = bytes;
    bytes[48..52].copy_from_slice(&(1u32 << 30).to_le_bytes()); // segment_length
    fs::write(&shard, &bytes).unwrap();
    assert!(matches!(
        BreachedFilter::open(dir.path()),
        Err(OpenError::Corrupt { .. })
    ));

    // A CURRENT that names a path outside the directory is refused.
    fs::write(
        dir.path().join(CURRENT),
        br#"{"format":1,"filter":"binary-fuse16/sha1-prefix64","generation":"../etc","shards":1,"entries":1,"built_at":"2024-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    assert!(matches!(
        BreachedFilter::open(dir.path()),
        Err(OpenError::Corrupt { .. })
    ));
}

#[test]
fn a_second_import_into_the_same_directory_is_refused_while_one_runs() {
    let dir = tempfile::tempdir().unwrap();
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join(LOCK))
        .unwrap();
    lock.try_lock().unwrap();
    let err = import(
        Cursor::new(b"letmein\n".to_vec()),
        dir.path(),
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Busy(_)), "{err:?}");
    drop(lock);
    run("letmein\n", dir.path(), InputFormat::Plain);
}

#[test]
fn small_shards_split_buckets_and_still_find_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let (text, hashes) = random_sha1_lines(7, 20_000);
    // 20,000 keys in 256 buckets is ≈ 78 per bucket: a limit of 90 forces a re-split of the
    // fullest buckets by the next 8 bits, and the grouping packs the leaves back together.
    let mut phases = Vec::new();
    let report = import(
        Cursor::new(text.into_bytes()),
        dir.path(),
        ImportOptions {
            format: InputFormat::Sha1,
            max_shard_keys: 90,
        },
        &mut |p| phases.push(p.phase),
    )
    .unwrap();
    assert_eq!(report.entries, 20_000);
    assert!(report.shards >= 220, "{} shards", report.shards);
    assert!(phases.contains(&Phase::Splitting));
    assert!(phases.contains(&Phase::Building {
        shard: report.shards,
        of: report.shards
    }));
    assert_eq!(phases.last(), Some(&Phase::Committing));
    assert!(report.times.splitting > std::time::Duration::ZERO);
    let f = open(dir.path());
    assert_eq!(f.shard_count() as u32, report.shards);
    for h in &hashes {
        assert!(f.contains_sha1(h));
    }
    for index in 0..report.shards {
        let shard = format::read_shard(&format::shard_path(
            &dir.path().join(&report.generation),
            index,
        ))
        .ok()
        .unwrap();
        assert!(shard.entries <= 90);
    }
    // Nothing but the shards is left behind.
    let files = fs::read_dir(dir.path().join(&report.generation))
        .unwrap()
        .count();
    assert_eq!(files as u32, report.shards);
}

#[test]
fn thousands_of_copies_of_one_key_are_one_entry_at_any_shard_size() {
    let dir = tempfile::tempdir().unwrap();
    // 3,000 copies of one key with at most 10 keys per shard: split down to all 64 bits,
    // where the bucket is known to hold a single distinct key.
    let input = format!("{QWERTY}\n").repeat(3_000) + "letmein\n";
    let report = import(
        Cursor::new(input.into_bytes()),
        dir.path(),
        ImportOptions {
            format: InputFormat::Auto,
            max_shard_keys: 10,
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.entries, 2);
    assert_eq!(report.duplicates, 2_999);
    let f = open(dir.path());
    assert!(f.contains_password("qwerty"));
    assert!(f.contains_password("letmein"));
}

#[test]
fn progress_reports_reading_then_building_then_committing() {
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = random_sha1_lines(3, 70_000);
    let bytes = text.len() as u64;
    let mut seen = Vec::new();
    let report = import(
        Cursor::new(text.into_bytes()),
        dir.path(),
        ImportOptions::default(),
        &mut |p| seen.push(p),
    )
    .unwrap();
    assert_eq!(seen.first().unwrap().phase, Phase::Reading);
    assert!(
        seen.iter()
            .any(|p| p.phase == Phase::Reading && p.lines_read == 65_536)
    );
    let last_reading = seen.iter().rfind(|p| p.phase == Phase::Reading).unwrap();
    assert_eq!(last_reading.lines_read, 70_000);
    assert_eq!(last_reading.bytes_read, bytes);
    assert_eq!(last_reading.keys, 70_000);
    assert!(seen.contains(&Progress {
        phase: Phase::Building { shard: 1, of: 1 },
        lines_read: 70_000,
        bytes_read: bytes,
        keys: 70_000,
        bad_lines: 0
    }));
    assert_eq!(seen.last().unwrap().phase, Phase::Committing);
    assert_eq!(report.shards, 1);
    assert!(
        report.bytes_per_entry() < 2.6,
        "{}",
        report.bytes_per_entry()
    );
}

#[test]
fn false_positive_rate_is_at_most_two_in_65536() {
    let dir = tempfile::tempdir().unwrap();
    let (text, members) = random_sha1_lines(42, 200_000);
    let report = run(&text, dir.path(), InputFormat::Sha1);
    assert_eq!(report.entries, 200_000);
    let f = open(dir.path());
    assert!(members.iter().all(|h| f.contains_sha1(h)));
    let mut rng = Rng(0xDEAD_BEEF);
    let trials = 1_000_000u32;
    let false_positives = (0..trials).filter(|_| f.contains_sha1(&rng.sha1())).count();
    // Expected ≈ 15 (1/65,536); the bound is 2/65,536 ≈ 30.5.
    assert!(
        false_positives as f64 <= 2.0 * f64::from(trials) / 65_536.0,
        "{false_positives} false positives in {trials}"
    );
}

#[test]
fn input_format_names_round_trip() {
    for f in [
        InputFormat::Auto,
        InputFormat::Hibp,
        InputFormat::Sha1,
        InputFormat::Plain,
    ] {
        assert_eq!(f.to_string().parse::<InputFormat>().unwrap(), f);
    }
    assert!("csv".parse::<InputFormat>().is_err());
}

/// An import that dies in the middle of building (here: a panic out of the progress callback
/// in the third shard, with two shard files and the remaining buckets on disk) leaves the
/// previous generation in service, and the next import removes the leftovers. The same with a
/// real SIGKILL is tested end to end through the `sspr` binary in sspr-server's tests.
#[test]
fn an_import_that_dies_while_building_leaves_the_previous_generation_in_service() {
    let dir = tempfile::tempdir().unwrap();
    let first = run("letmein\n", dir.path(), InputFormat::Plain);
    let current_before = fs::read(dir.path().join(CURRENT)).unwrap();

    let (text, _) = random_sha1_lines(11, 5_000);
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = import(
            Cursor::new(text.into_bytes()),
            dir.path(),
            ImportOptions {
                format: InputFormat::Sha1,
                max_shard_keys: 1_000,
            },
            &mut |p| {
                if let Phase::Building { shard: 3, .. } = p.phase {
                    panic!("the process dies here");
                }
            },
        );
    }));
    assert!(
        died.is_err(),
        "the import was meant to die in its third shard"
    );

    // The half-written generation is there, with shards and buckets, but not in service.
    let gens = generations(dir.path());
    assert_eq!(gens.len(), 2, "{gens:?}");
    let stale = gens.iter().find(|g| **g != first.generation).unwrap();
    assert!(format::shard_path(&dir.path().join(stale), 1).exists());
    assert!(dir.path().join(stale).join("tmp").exists());
    assert_eq!(fs::read(dir.path().join(CURRENT)).unwrap(), current_before);
    let f = open(dir.path());
    assert_eq!(f.generation(), first.generation);
    assert!(f.contains_password("letmein"));

    // The next import removes the leftovers.
    let next = run("hunter2\n", dir.path(), InputFormat::Plain);
    assert!(next.stale_removed.contains(stale));
    assert_eq!(generations(dir.path()), vec![next.generation]);
    assert!(open(dir.path()).contains_password("hunter2"));
}

#[test]
fn hex_keys_match_the_hex_crate_and_refuse_non_hex() {
    let mut rng = Rng(99);
    for _ in 0..10_000 {
        let sha1 = rng.sha1();
        let expected = key_of(&sha1);
        let lower = hex::encode(sha1);
        assert_eq!(sha1_hex_key(lower.as_bytes()), Some(expected));
        assert_eq!(
            sha1_hex_key(lower.to_uppercase().as_bytes()),
            Some(expected)
        );
    }
    let good = *b"0123456789abcdefABCDEF0123456789abcdefAB";
    assert_eq!(sha1_hex_key(&good), Some(0x0123_4567_89ab_cdef));
    for at in [0, 15, 16, 39] {
        for bad in *b"gG:+-@`/ \x00\xff" {
            let mut line = good;
            line[at] = bad;
            assert_eq!(sha1_hex_key(&line), None, "{bad:#x} at {at}");
        }
    }
    assert_eq!(sha1_hex_key(&good[..39]), None);
    assert_eq!(sha1_hex_key(b""), None);
}
