//! On-disk layout: the `CURRENT` manifest and the shard files of a generation.
//!
//! A shard file is a small fixed header followed by xorf's own "DMA" layout of the filter (the
//! descriptor from [`DmaSerializable::dma_copy_descriptor_to`], then the 16-bit fingerprints,
//! little-endian), so it costs exactly 2 bytes per fingerprint. xorf's `serde` derive is not
//! used: postcard writes a `u16` as a varint (up to 3 bytes), and xorf's `bincode` feature needs
//! bincode 2, whose successor release 3.0 is an unmaintained tombstone.
//!
//! ```text
//! offset size
//!      0    8  magic "SSPRBF16"
//!      8    4  format version (1), u32 LE
//!     12    4  shard index, u32 LE
//!     16    8  first key of the shard's range (inclusive), u64 LE
//!     24    8  distinct entries in the shard, u64 LE
//!     32    8  fingerprint count n, u64 LE
//!     40   20  xorf descriptor: seed u64, segment_length u32, segment_length_mask u32,
//!              segment_count_length u32, all LE
//!     60   2n  fingerprints, u16 LE
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use xorf::{BinaryFuse16, Descriptor, DmaSerializable};

pub(crate) const CURRENT: &str = "CURRENT";
pub(crate) const CURRENT_TMP: &str = "CURRENT.tmp";
pub(crate) const LOCK: &str = "LOCK";
pub(crate) const GENERATION_PREFIX: &str = "gen-";
pub(crate) const FILTER_KIND: &str = "binary-fuse16/sha1-prefix64";
const MANIFEST_FORMAT: u32 = 1;

const MAGIC: &[u8; 8] = b"SSPRBF16";
const SHARD_FORMAT: u32 = 1;
const DESCRIPTOR_AT: usize = 40;
const HEADER_LEN: usize = DESCRIPTOR_AT + BinaryFuse16::DESCRIPTOR_LEN;

/// The contents of `dir/CURRENT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: u32,
    pub filter: String,
    pub generation: String,
    pub shards: u32,
    pub entries: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub built_at: OffsetDateTime,
}

impl Manifest {
    pub(crate) fn new(
        generation: String,
        shards: u32,
        entries: u64,
        built_at: OffsetDateTime,
    ) -> Self {
        Self {
            format: MANIFEST_FORMAT,
            filter: FILTER_KIND.to_owned(),
            generation,
            shards,
            entries,
            built_at,
        }
    }
}

/// Why a file of the corpus could not be used.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(io::Error),
    Corrupt(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// A generation name as written by [`import`](super::import): `gen-` and then only ASCII
/// letters, digits, `.` and `-`. Anything else in `CURRENT` (a path, `..`) is refused.
pub(crate) fn is_generation_name(name: &str) -> bool {
    name.len() > GENERATION_PREFIX.len()
        && name.len() <= 64
        && name.starts_with(GENERATION_PREFIX)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !name.contains("..")
}

/// Reads `dir/CURRENT`; `None` when there is none (nothing was ever imported).
pub(crate) fn read_manifest(dir: &Path) -> Result<Option<Manifest>, ReadError> {
    let bytes = match fs::read(dir.join(CURRENT)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| ReadError::Corrupt(e.to_string()))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(ReadError::Corrupt(format!(
            "unknown manifest format {}",
            manifest.format
        )));
    }
    if manifest.filter != FILTER_KIND {
        return Err(ReadError::Corrupt(format!(
            "unknown filter kind {:?}",
            manifest.filter
        )));
    }
    if !is_generation_name(&manifest.generation) {
        return Err(ReadError::Corrupt(format!(
            "bad generation name {:?}",
            manifest.generation
        )));
    }
    if manifest.shards == 0 {
        return Err(ReadError::Corrupt("no shards".into()));
    }
    Ok(Some(manifest))
}

/// Writes the manifest to `CURRENT.tmp`, fsyncs it, renames it over `CURRENT` and fsyncs the
/// directory: after this returns, the new generation is in service, also across a crash. An
/// error means the rename did not happen and the previous generation is still in service. (A
/// failed fsync of the directory after the rename is only logged: the swap has happened for
/// every reader, and reporting a failure would make the caller delete the generation that
/// `CURRENT` now names.)
pub(crate) fn write_manifest(dir: &Path, manifest: &Manifest) -> io::Result<()> {
    let tmp = dir.join(CURRENT_TMP);
    let mut json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
    json.push(b'\n');
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(CURRENT))?;
    if let Err(error) = sync_dir(dir) {
        tracing::warn!(dir = %dir.display(), %error,
            "breached corpus: fsync of the directory after the swap failed");
    }
    Ok(())
}

/// Makes a directory's entries (created, renamed or removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(crate) fn shard_path(generation_dir: &Path, index: u32) -> PathBuf {
    generation_dir.join(format!("shard-{index:05}.bf16"))
}

/// Writes one shard file and fsyncs it; returns its size in bytes.
pub(crate) fn write_shard(
    path: &Path,
    index: u32,
    start: u64,
    entries: u64,
    filter: &BinaryFuse16,
) -> io::Result<u64> {
    let file = OpenOptions::new().write(true).create_new(true).open(path)?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let mut header = [0u8; HEADER_LEN];
    header[0..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&SHARD_FORMAT.to_le_bytes());
    header[12..16].copy_from_slice(&index.to_le_bytes());
    header[16..24].copy_from_slice(&start.to_le_bytes());
    header[24..32].copy_from_slice(&entries.to_le_bytes());
    header[32..40].copy_from_slice(&(filter.fingerprints.len() as u64).to_le_bytes());
    filter.dma_copy_descriptor_to(&mut header[DESCRIPTOR_AT..]);
    out.write_all(&header)?;
    let mut chunk = Vec::with_capacity(1 << 16);
    for block in filter.fingerprints.chunks(1 << 15) {
        chunk.clear();
        chunk.extend(block.iter().flat_map(|fp| fp.to_le_bytes()));
        out.write_all(&chunk)?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok((HEADER_LEN + 2 * filter.fingerprints.len()) as u64)
}

/// One shard as read back from disk.
pub(crate) struct ShardFile {
    pub index: u32,
    pub start: u64,
    pub entries: u64,
    pub filter: BinaryFuse16,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Reads and checks a shard file. The descriptor is checked against the fingerprint count so
/// that a damaged file is refused here instead of panicking (index out of bounds) in a query.
pub(crate) fn read_shard(path: &Path) -> Result<ShardFile, ReadError> {
    let bytes = fs::read(path)?;
    if bytes.len() < HEADER_LEN || &bytes[0..8] != MAGIC {
        return Err(ReadError::Corrupt("not a shard file".into()));
    }
    let version = le_u32(&bytes, 8);
    if version != SHARD_FORMAT {
        return Err(ReadError::Corrupt(format!(
            "unknown shard format {version}"
        )));
    }
    let index = le_u32(&bytes, 12);
    let start = le_u64(&bytes, 16);
    let entries = le_u64(&bytes, 24);
    let count = le_u64(&bytes, 32);
    let body = &bytes[HEADER_LEN..];
    if Some(body.len() as u64) != count.checked_mul(2) {
        return Err(ReadError::Corrupt(format!(
            "{count} fingerprints announced, {} bytes present",
            body.len()
        )));
    }
    let descriptor = Descriptor {
        seed: le_u64(&bytes, DESCRIPTOR_AT),
        segment_length: le_u32(&bytes, DESCRIPTOR_AT + 8),
        segment_length_mask: le_u32(&bytes, DESCRIPTOR_AT + 12),
        segment_count_length: le_u32(&bytes, DESCRIPTOR_AT + 16),
    };
    // A query reads fingerprints below segment_count_length + 2 × segment_length.
    let sl = descriptor.segment_length;
    let fits = sl.is_power_of_two()
        && descriptor.segment_length_mask == sl - 1
        && descriptor.segment_count_length.is_multiple_of(sl)
        && u64::from(descriptor.segment_count_length) + 2 * u64::from(sl) <= count;
    if !fits {
        return Err(ReadError::Corrupt(
            "filter descriptor does not fit its fingerprints".into(),
        ));
    }
    let fingerprints: Box<[u16]> = body
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(ShardFile {
        index,
        start,
        entries,
        filter: BinaryFuse16 {
            descriptor,
            fingerprints,
        },
    })
}
