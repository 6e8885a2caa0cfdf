//! Importing a corpus: stream the input once into on-disk buckets, build one filter per shard,
//! then swap the manifest (see the module documentation for the whole procedure).

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;
use xorf::BinaryFuse16;

use super::format::{
    self, CURRENT_TMP, GENERATION_PREFIX, LOCK, Manifest, ReadError, is_generation_name,
};
use super::{DEFAULT_MAX_SHARD_KEYS, LIMIT_MAX_SHARD_KEYS, key_of, password_sha1};

/// The longest line accepted, in bytes, without its line ending: a password of 256 characters
/// of 4 UTF-8 bytes each. Longer lines are reported as [`BadLineReason::TooLong`].
pub const MAX_LINE_BYTES: usize = 1024;

/// How many bad lines [`ImportReport::bad_lines`] lists; [`ImportReport::bad_line_count`] has
/// the total.
pub const MAX_BAD_LINES_KEPT: usize = 1000;

const FAN_OUT_BITS: u32 = 8;
const FAN_OUT: usize = 1 << FAN_OUT_BITS;
const BUCKET_WRITE_BUFFER: usize = 1 << 16;
const PROGRESS_EVERY_LINES: u64 = 1 << 16;
const TMP_DIR: &str = "tmp";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How the lines of the input are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// Decided per line: `<40 hex>:<digits>` is a HIBP line, `<40 hex>` a bare SHA-1, anything
    /// else a plain password. So a plain password that is itself 40 hex digits is taken as a
    /// hash (use [`InputFormat::Plain`] for such lists). Stricter than a pure pattern match in
    /// one respect: a line of 40 hex digits, a colon and anything but digits is a bad line
    /// ([`BadLineReason::BadCount`]), not a password, because it is a damaged HIBP line.
    #[default]
    Auto,
    /// Have I Been Pwned lines, `SHA1HEX:count` (either case, sorted or not).
    Hibp,
    /// One SHA-1 per line, 40 hex digits (either case).
    Sha1,
    /// One password per line, taken byte for byte (only the line ending is removed) and hashed
    /// with SHA-1 of its UTF-8 bytes. Nothing is interpreted.
    Plain,
}

impl InputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Hibp => "hibp",
            Self::Sha1 => "sha1",
            Self::Plain => "plain",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "hibp" => Ok(Self::Hibp),
            "sha1" => Ok(Self::Sha1),
            "plain" => Ok(Self::Plain),
            _ => Err(format!(
                "unknown input format {s:?} (expected auto, hibp, sha1 or plain)"
            )),
        }
    }
}

/// Options of [`import`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    pub format: InputFormat,
    /// The most keys (counted before de-duplication) one shard is built from; it bounds the
    /// memory of the build at about 34 bytes per key. Clamped to
    /// 1..=[`LIMIT_MAX_SHARD_KEYS`]; the default is [`DEFAULT_MAX_SHARD_KEYS`] (≈ 300 MiB).
    pub max_shard_keys: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: InputFormat::Auto,
            max_shard_keys: DEFAULT_MAX_SHARD_KEYS,
        }
    }
}

impl ImportOptions {
    pub fn with_format(format: InputFormat) -> Self {
        Self {
            format,
            ..Self::default()
        }
    }
}

/// What an import is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Streaming the input into bucket files; `bytes_read` grows.
    Reading,
    /// Re-splitting a bucket too large for one shard (only for inputs of billions of lines).
    Splitting,
    /// Building shard `shard` (1-based) of `of`.
    Building { shard: u32, of: u32 },
    /// Writing the manifest and removing the replaced generation.
    Committing,
}

/// Reported every 65,536 lines while reading, and at each change of phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub lines_read: u64,
    /// Bytes of input consumed, line endings included (compare with the file size).
    pub bytes_read: u64,
    /// Good lines so far (keys before de-duplication).
    pub keys: u64,
    pub bad_lines: u64,
}

/// Why a line was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadLineReason {
    /// Not 40 hex digits where a SHA-1 was expected.
    NotSha1Hex,
    /// A HIBP line whose count is missing or not a decimal number.
    BadCount,
    /// A plain password that is not valid UTF-8.
    InvalidUtf8,
    /// Longer than [`MAX_LINE_BYTES`].
    TooLong,
}

impl fmt::Display for BadLineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotSha1Hex => "not a SHA-1 of 40 hex digits",
            Self::BadCount => "count missing or not a number",
            Self::InvalidUtf8 => "not valid UTF-8",
            Self::TooLong => "line too long",
        })
    }
}

/// A line that was not imported, by its 1-based number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BadLine {
    pub line: u64,
    pub reason: BadLineReason,
}

/// Good lines by how they were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LineCounts {
    pub hibp: u64,
    pub sha1: u64,
    pub plain: u64,
}

impl LineCounts {
    pub fn total(&self) -> u64 {
        self.hibp + self.sha1 + self.plain
    }
}

/// Wall time spent in each phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PhaseTimes {
    pub reading: Duration,
    pub splitting: Duration,
    pub building: Duration,
    pub committing: Duration,
}

impl PhaseTimes {
    pub fn total(&self) -> Duration {
        self.reading + self.splitting + self.building + self.committing
    }
}

/// The outcome of a successful [`import`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The generation now in service.
    pub generation: String,
    pub lines_read: u64,
    pub bytes_read: u64,
    /// Good lines, by kind.
    pub accepted: LineCounts,
    /// Empty lines (and, for HIBP and SHA-1 input, lines of only white space): ignored.
    pub empty_lines: u64,
    /// Every bad line, none skipped silently.
    pub bad_line_count: u64,
    /// The first [`MAX_BAD_LINES_KEPT`] bad lines.
    pub bad_lines: Vec<BadLine>,
    /// Distinct entries in the filter.
    pub entries: u64,
    /// Good lines whose key was already there.
    pub duplicates: u64,
    pub shards: u32,
    /// Size of the shard files.
    pub filter_bytes: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub built_at: OffsetDateTime,
    pub times: PhaseTimes,
    /// The generation this import replaced (now removed), if there was one.
    pub replaced_generation: Option<String>,
    /// Leftovers of interrupted imports that were removed first.
    pub stale_removed: Vec<String>,
}

impl ImportReport {
    /// Shard file bytes per distinct entry.
    pub fn bytes_per_entry(&self) -> f64 {
        if self.entries == 0 {
            0.0
        } else {
            self.filter_bytes as f64 / self.entries as f64
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("another import into {} is running", .0.display())]
    Busy(PathBuf),
    #[error("reading the input failed at line {line}: {source}")]
    Read {
        line: u64,
        #[source]
        source: io::Error,
    },
    #[error("{context} ({}): {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("building the filter of shard {shard} failed: {reason}")]
    Build { shard: u32, reason: &'static str },
    #[error(
        "the input held no usable entry ({} lines, {} bad, {} empty); the filter in service is unchanged",
        .0.lines_read, .0.bad_line_count, .0.empty_lines
    )]
    NoEntries(Box<ImportReport>),
}

/// Maps an I/O error to [`ImportError::Io`]; the path is copied only when there is an error
/// (this sits on the per-key paths).
fn io_err<'a>(context: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ImportError + 'a {
    move |source| ImportError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

/// Imports a breached-password list into `dir` and puts it in service (see the module
/// documentation). Bad lines are counted and listed in the report, and the import goes on with
/// the good ones; an I/O error, an empty result or a concurrent import into the same `dir` fail
/// it, and a failed import leaves the generation in service untouched.
pub fn import(
    input: impl BufRead,
    dir: &Path,
    opts: ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    fs::create_dir_all(dir).map_err(io_err("creating the corpus directory", dir))?;
    let lock_path = dir.join(LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err("opening the import lock", &lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(ImportError::Busy(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => return Err(io_err("locking", &lock_path)(e)),
    }

    let current = match format::read_manifest(dir) {
        Ok(m) => m.map(|m| m.generation),
        // A damaged manifest serves nothing; this import replaces it.
        Err(ReadError::Corrupt(reason)) => {
            tracing::warn!(dir = %dir.display(), %reason, "breached corpus: CURRENT is damaged");
            None
        }
        Err(ReadError::Io(e)) => return Err(io_err("reading CURRENT", dir)(e)),
    };
    let stale_removed = remove_generations(dir, current.as_deref(), None);

    let built_at = OffsetDateTime::now_utc();
    let generation = new_generation_name(dir, built_at);
    let gen_dir = dir.join(&generation);
    fs::create_dir(&gen_dir).map_err(io_err("creating the generation directory", &gen_dir))?;

    let mut report = ImportReport {
        generation,
        lines_read: 0,
        bytes_read: 0,
        accepted: LineCounts::default(),
        empty_lines: 0,
        bad_line_count: 0,
        bad_lines: Vec::new(),
        entries: 0,
        duplicates: 0,
        shards: 0,
        filter_bytes: 0,
        built_at,
        times: PhaseTimes::default(),
        replaced_generation: current,
        stale_removed,
    };
    let max_shard_keys = opts.max_shard_keys.clamp(1, LIMIT_MAX_SHARD_KEYS);
    match build(
        input,
        dir,
        &gen_dir,
        opts.format,
        max_shard_keys,
        &mut report,
        progress,
    ) {
        Ok(()) => {
            drop(lock);
            Ok(report)
        }
        Err(e) => {
            if let Err(rm) = fs::remove_dir_all(&gen_dir) {
                tracing::warn!(dir = %gen_dir.display(), error = %rm,
                    "breached corpus: could not remove the failed generation; the next import will");
            }
            drop(lock);
            Err(e)
        }
    }
}

fn build(
    input: impl BufRead,
    dir: &Path,
    gen_dir: &Path,
    format: InputFormat,
    max_shard_keys: u64,
    report: &mut ImportReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), ImportError> {
    let tmp = gen_dir.join(TMP_DIR);
    fs::create_dir(&tmp).map_err(io_err("creating the temporary directory", &tmp))?;

    // 1. Reading.
    let started = Instant::now();
    let mut fan = Fan::create(&tmp, 0, 0)?;
    read_input(input, format, &mut fan, report, progress)?;
    let buckets = fan.finish()?;
    report.times.reading = started.elapsed();

    // 2. Splitting buckets too large for one shard.
    let started = Instant::now();
    let mut leaves = Vec::with_capacity(FAN_OUT);
    plan_leaves(buckets, &tmp, max_shard_keys, &mut leaves, &mut || {
        progress(snapshot(report, Phase::Splitting));
    })?;
    report.times.splitting = started.elapsed();

    // 3. Building: consecutive leaves grouped into shards of at most max_shard_keys keys.
    let started = Instant::now();
    let groups = group_leaves(leaves, max_shard_keys);
    if groups.is_empty() {
        return Err(ImportError::NoEntries(Box::new(report.clone())));
    }
    let of = groups.len() as u32;
    for (index, group) in groups.iter().enumerate() {
        let index = index as u32;
        progress(snapshot(
            report,
            Phase::Building {
                shard: index + 1,
                of,
            },
        ));
        let (entries, bytes) = build_shard(gen_dir, index, group)?;
        report.entries += entries;
        report.filter_bytes += bytes;
    }
    report.shards = of;
    report.duplicates = report.accepted.total() - report.entries;
    fs::remove_dir_all(&tmp).map_err(io_err("removing the temporary directory", &tmp))?;
    format::sync_dir(gen_dir).map_err(io_err("syncing the generation directory", gen_dir))?;
    report.times.building = started.elapsed();

    // 4. Committing: the swap.
    let started = Instant::now();
    progress(snapshot(report, Phase::Committing));
    let manifest = Manifest::new(
        report.generation.clone(),
        report.shards,
        report.entries,
        report.built_at,
    );
    format::write_manifest(dir, &manifest).map_err(io_err("writing CURRENT", dir))?;
    remove_generations(dir, Some(&report.generation), Some(dir));
    report.times.committing = started.elapsed();
    Ok(())
}

fn snapshot(report: &ImportReport, phase: Phase) -> Progress {
    Progress {
        phase,
        lines_read: report.lines_read,
        bytes_read: report.bytes_read,
        keys: report.accepted.total(),
        bad_lines: report.bad_line_count,
    }
}

/// `gen-<UTC time to the nanosecond>Z`, unique in `dir`.
fn new_generation_name(dir: &Path, now: OffsetDateTime) -> String {
    let base = format!(
        "{GENERATION_PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}.{:09}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.nanosecond()
    );
    let mut name = base.clone();
    let mut n = 1;
    while dir.join(&name).exists() || dir.join(&name).is_symlink() {
        n += 1;
        name = format!("{base}-{n}");
    }
    debug_assert!(is_generation_name(&name));
    name
}

/// Removes every generation in `dir` but `keep`, and a left-over `CURRENT.tmp`; returns the
/// names removed. Failures are logged and left for the next import. With `sync` the directory
/// is fsynced afterwards.
fn remove_generations(dir: &Path, keep: Option<&str>, sync: Option<&Path>) -> Vec<String> {
    let mut removed = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "breached corpus: cannot list");
            return removed;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_generation = name.starts_with(GENERATION_PREFIX) && Some(name) != keep;
        if !is_generation && name != CURRENT_TMP {
            continue;
        }
        let path = entry.path();
        let result = match entry.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(&path),
            _ => fs::remove_file(&path),
        };
        match result {
            Ok(()) => removed.push(name.to_owned()),
            Err(error) => tracing::warn!(path = %path.display(), %error,
                "breached corpus: could not remove an old generation; the next import will"),
        }
    }
    if let Some(dir) = sync
        && let Err(error) = format::sync_dir(dir)
    {
        tracing::warn!(dir = %dir.display(), %error, "breached corpus: fsync failed");
    }
    removed
}

// ---------------------------------------------------------------------------------------------
// Reading

enum Parsed {
    Empty,
    Hibp(u64),
    Sha1(u64),
    Plain(u64),
    Bad(BadLineReason),
}

fn read_input(
    mut input: impl BufRead,
    format: InputFormat,
    fan: &mut Fan,
    report: &mut ImportReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), ImportError> {
    progress(snapshot(report, Phase::Reading));
    let mut line = Vec::with_capacity(MAX_LINE_BYTES + 1);
    loop {
        let number = report.lines_read + 1;
        let read = read_line(&mut input, &mut line, MAX_LINE_BYTES + 1).map_err(|source| {
            ImportError::Read {
                line: number,
                source,
            }
        })?;
        let Some(read) = read else { break };
        report.lines_read = number;
        report.bytes_read += read.consumed;
        let parsed = if read.too_long {
            Parsed::Bad(BadLineReason::TooLong)
        } else {
            let mut l = line.as_slice();
            if let Some(rest) = l.strip_suffix(b"\r") {
                l = rest;
            }
            if number == 1
                && let Some(rest) = l.strip_prefix(UTF8_BOM)
            {
                l = rest;
            }
            if l.len() > MAX_LINE_BYTES {
                Parsed::Bad(BadLineReason::TooLong)
            } else {
                parse_line(l, format)
            }
        };
        let key = match parsed {
            Parsed::Empty => {
                report.empty_lines += 1;
                None
            }
            Parsed::Hibp(k) => {
                report.accepted.hibp += 1;
                Some(k)
            }
            Parsed::Sha1(k) => {
                report.accepted.sha1 += 1;
                Some(k)
            }
            Parsed::Plain(k) => {
                report.accepted.plain += 1;
                Some(k)
            }
            Parsed::Bad(reason) => {
                report.bad_line_count += 1;
                if report.bad_lines.len() < MAX_BAD_LINES_KEPT {
                    report.bad_lines.push(BadLine {
                        line: number,
                        reason,
                    });
                }
                None
            }
        };
        if let Some(key) = key {
            fan.push(key)?;
        }
        if number.is_multiple_of(PROGRESS_EVERY_LINES) {
            progress(snapshot(report, Phase::Reading));
        }
    }
    progress(snapshot(report, Phase::Reading));
    Ok(())
}

struct LineRead {
    /// Bytes consumed from the input, the line ending included.
    consumed: u64,
    /// The line had more than `limit` bytes; `buf` holds nothing useful.
    too_long: bool,
}

/// Reads one line (without its `\n`) into `buf`, keeping at most `limit` bytes in memory: a
/// longer line is consumed to its end and flagged. `None` at the end of the input.
fn read_line(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Option<LineRead>> {
    buf.clear();
    let mut consumed: u64 = 0;
    let mut too_long = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed > 0).then_some(LineRead { consumed, too_long }));
        }
        let (chunk, ended) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        if !too_long {
            if buf.len() + chunk.len() > limit {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(ended);
        input.consume(used);
        consumed += used as u64;
        if ended {
            return Ok(Some(LineRead { consumed, too_long }));
        }
    }
}

#[cfg(test)]
pub(crate) fn read_line_for_tests(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> Option<(u64, bool)> {
    read_line(input, buf, limit)
        .expect("read")
        .map(|r| (r.consumed, r.too_long))
}

/// The key of 40 hex digits (either case), if `hex` is exactly that: the value of the first 16.
///
/// This is the hottest code of an import, and random hex digits defeat branch prediction:
/// `hex::decode_to_slice` of all 40 digits took a third of the whole import, and so did a
/// short-circuiting `all(is_ascii_hexdigit)`. So the check runs without early exit (the
/// compiler makes it branch-free), and a checked digit's value is its low nibble plus 9 for a
/// letter (bit 6 set: `A`/`a` = 0x41/0x61 → 1 + 9). The unit tests compare it with `hex`.
pub(crate) fn sha1_hex_key(hex: &[u8]) -> Option<u64> {
    let hex: &[u8; 40] = hex.try_into().ok()?;
    let valid = hex.iter().fold(true, |ok, b| ok & b.is_ascii_hexdigit());
    if !valid {
        return None;
    }
    Some(hex[..16].iter().fold(0u64, |key, &b| {
        (key << 4) | u64::from((b & 0x0F) + 9 * (b >> 6))
    }))
}

fn is_count(digits: &[u8]) -> bool {
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

fn parse_plain(line: &[u8]) -> Parsed {
    match std::str::from_utf8(line) {
        Ok(password) => Parsed::Plain(key_of(&password_sha1(password))),
        Err(_) => Parsed::Bad(BadLineReason::InvalidUtf8),
    }
}

fn parse_hibp(t: &[u8]) -> Parsed {
    let Some(key) = t.get(..40).and_then(sha1_hex_key) else {
        return Parsed::Bad(BadLineReason::NotSha1Hex);
    };
    match t[40..].split_first() {
        Some((b':', count)) if is_count(count) => Parsed::Hibp(key),
        Some((b':', _)) | None => Parsed::Bad(BadLineReason::BadCount),
        Some(_) => Parsed::Bad(BadLineReason::NotSha1Hex),
    }
}

/// Parses one line, its line ending already removed.
fn parse_line(line: &[u8], format: InputFormat) -> Parsed {
    if line.is_empty() {
        return Parsed::Empty;
    }
    match format {
        InputFormat::Plain => parse_plain(line),
        InputFormat::Sha1 => {
            let t = line.trim_ascii();
            if t.is_empty() {
                return Parsed::Empty;
            }
            sha1_hex_key(t).map_or(Parsed::Bad(BadLineReason::NotSha1Hex), Parsed::Sha1)
        }
        InputFormat::Hibp => {
            let t = line.trim_ascii();
            if t.is_empty() {
                return Parsed::Empty;
            }
            parse_hibp(t)
        }
        InputFormat::Auto => {
            let t = line.trim_ascii();
            if t.len() == 40
                && let Some(key) = sha1_hex_key(t)
            {
                return Parsed::Sha1(key);
            }
            if t.len() > 40 && t[40] == b':' && sha1_hex_key(&t[..40]).is_some() {
                return parse_hibp(t);
            }
            parse_plain(line)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Buckets on disk

/// A bucket of keys on disk: every key whose top `depth` bits equal those of `lo`.
struct Leaf {
    lo: u64,
    depth: u32,
    count: u64,
    path: PathBuf,
}

impl Leaf {
    /// Keys this leaf adds to a shard before de-duplication; at 64 bits all its keys are one.
    fn weight(&self) -> u64 {
        if self.depth >= 64 {
            self.count.min(1)
        } else {
            self.count
        }
    }
}

/// 256 buffered bucket files for the keys under one prefix, split by the next 8 bits. A file
/// (and its buffer) is created with its first key, so an empty bucket costs nothing.
struct Fan {
    shift: u32,
    writers: Vec<Option<BufWriter<File>>>,
    leaves: Vec<Leaf>,
}

impl Fan {
    /// The children of the prefix (`lo`, `depth`): depth `depth + 8`.
    fn create(tmp: &Path, lo: u64, depth: u32) -> Result<Self, ImportError> {
        let child_depth = depth + FAN_OUT_BITS;
        let shift = 64 - child_depth;
        let writers = (0..FAN_OUT).map(|_| None).collect();
        let mut leaves = Vec::with_capacity(FAN_OUT);
        for b in 0..FAN_OUT as u64 {
            let child_lo = lo | (b << shift);
            let path = tmp.join(format!("{child_lo:016x}-{child_depth:02}.keys"));
            leaves.push(Leaf {
                lo: child_lo,
                depth: child_depth,
                count: 0,
                path,
            });
        }
        Ok(Self {
            shift,
            writers,
            leaves,
        })
    }

    fn push(&mut self, key: u64) -> Result<(), ImportError> {
        let b = ((key >> self.shift) as usize) & (FAN_OUT - 1);
        let leaf = &mut self.leaves[b];
        let writer = match &mut self.writers[b] {
            Some(w) => w,
            empty => {
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&leaf.path)
                    .map_err(io_err("creating a bucket file", &leaf.path))?;
                empty.insert(BufWriter::with_capacity(BUCKET_WRITE_BUFFER, file))
            }
        };
        leaf.count += 1;
        writer
            .write_all(&key.to_le_bytes())
            .map_err(io_err("writing a bucket file", &leaf.path))
    }

    fn finish(self) -> Result<Vec<Leaf>, ImportError> {
        for (w, leaf) in self.writers.into_iter().zip(&self.leaves) {
            let Some(mut w) = w else { continue };
            w.flush()
                .map_err(io_err("writing a bucket file", &leaf.path))?;
        }
        Ok(self.leaves)
    }
}

/// Calls `f` with each of the `count` keys of a bucket file (there is no file when `count` is 0).
fn for_each_key(
    path: &Path,
    count: u64,
    mut f: impl FnMut(u64) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    if count == 0 {
        return Ok(());
    }
    let file = File::open(path).map_err(io_err("reading a bucket file", path))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut key = [0u8; 8];
    for _ in 0..count {
        reader
            .read_exact(&mut key)
            .map_err(io_err("reading a bucket file", path))?;
        f(u64::from_le_bytes(key))?;
    }
    Ok(())
}

/// Replaces every leaf heavier than `max` by its 256 children (recursively), keeping key order.
fn plan_leaves(
    leaves: Vec<Leaf>,
    tmp: &Path,
    max: u64,
    out: &mut Vec<Leaf>,
    on_split: &mut dyn FnMut(),
) -> Result<(), ImportError> {
    for leaf in leaves {
        if leaf.weight() <= max {
            out.push(leaf);
            continue;
        }
        on_split();
        let mut fan = Fan::create(tmp, leaf.lo, leaf.depth)?;
        for_each_key(&leaf.path, leaf.count, |key| fan.push(key))?;
        let children = fan.finish()?;
        fs::remove_file(&leaf.path).map_err(io_err("removing a bucket file", &leaf.path))?;
        plan_leaves(children, tmp, max, out, on_split)?;
    }
    Ok(())
}

/// Groups consecutive leaves into shards of at most `max` keys; each group holds at least one
/// key, the first starts at key 0, and trailing empty leaves join the last group.
fn group_leaves(leaves: Vec<Leaf>, max: u64) -> Vec<Vec<Leaf>> {
    let mut groups = Vec::new();
    let mut current: Vec<Leaf> = Vec::new();
    let mut weight = 0;
    for leaf in leaves {
        let w = leaf.weight();
        if weight > 0 && weight + w > max {
            groups.push(std::mem::take(&mut current));
            weight = 0;
        }
        weight += w;
        current.push(leaf);
    }
    if weight > 0 {
        groups.push(current);
    } else if let Some(last) = groups.last_mut() {
        last.extend(current);
    }
    groups
}

/// Loads, sorts and de-duplicates a group's keys, builds its filter and writes the shard file;
/// returns (distinct entries, file bytes).
fn build_shard(gen_dir: &Path, index: u32, group: &[Leaf]) -> Result<(u64, u64), ImportError> {
    let start = group.first().map_or(0, |l| l.lo);
    let capacity: u64 = group.iter().map(Leaf::weight).sum();
    let mut keys: Vec<u64> = Vec::with_capacity(capacity as usize);
    for leaf in group {
        if leaf.depth >= 64 {
            if leaf.count > 0 {
                keys.push(leaf.lo);
            }
        } else {
            for_each_key(&leaf.path, leaf.count, |key| {
                keys.push(key);
                Ok(())
            })?;
        }
        if leaf.count > 0 {
            fs::remove_file(&leaf.path).map_err(io_err("removing a bucket file", &leaf.path))?;
        }
    }
    keys.sort_unstable();
    keys.dedup();
    let entries = keys.len() as u64;
    let filter = BinaryFuse16::try_from(keys.as_slice()).map_err(|reason| ImportError::Build {
        shard: index,
        reason,
    })?;
    drop(keys);
    let path = format::shard_path(gen_dir, index);
    let bytes = format::write_shard(&path, index, start, entries, &filter)
        .map_err(io_err("writing a shard file", &path))?;
    Ok((entries, bytes))
}
