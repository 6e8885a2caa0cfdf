//! The offline breached-password corpus (SPEC §3): an admin imports the Have I Been Pwned
//! SHA-1 list, or any list of SHA-1 hashes or plain passwords, and sspr rejects passwords found
//! in it at reset and change.
//!
//! # What is stored
//!
//! Each password is known by its SHA-1; the filter key is the first 8 bytes of that SHA-1 read
//! as a big-endian `u64` (so the shards follow the hash prefix, like the HIBP files). The keys
//! live in **BinaryFuse16** filters ([`xorf`]): a false-positive rate of about 1 in 65,536 at
//! about 2.25 bytes per distinct entry, and no false negatives. Cutting SHA-1 to 64 bits adds a
//! collision chance of about entries / 2^64 (≈ 5·10⁻¹¹ for a billion entries), far below that.
//!
//! # Building with bounded memory ([`import`])
//!
//! 1. **Reading**: the input is streamed once; each good line's key goes, by its top 8 bits, to
//!    one of 256 temporary bucket files in the new generation's directory (64 KiB write buffers,
//!    16 MiB in all). Lines are read through a fixed 1 KiB window, so even a gigabyte-long line
//!    costs no memory.
//! 2. **Splitting** (only for huge inputs): a bucket that holds more than
//!    [`ImportOptions::max_shard_keys`] keys (counted before de-duplication) is re-split by the
//!    next 8 bits, again on disk, as often as needed. A bucket whose keys all agree in 64 bits
//!    holds one distinct key, whatever its count.
//! 3. **Building**: consecutive buckets are grouped into shards of at most `max_shard_keys`
//!    keys; each shard is loaded, sorted, de-duplicated, turned into a filter and written to its
//!    own file, which is fsynced; the bucket files are deleted as they are consumed.
//!
//! The guaranteed bound: building a shard holds its keys (8 B each) and xorf's construction
//! arrays (≈ 26 B per key), so peak memory is about 34 B × `max_shard_keys` plus a few MiB of
//! buffers, **whatever the input size**. With the default 2²³ keys per shard that is at most
//! ≈ 300 MiB; `benches/breached_build.rs` measured a peak RSS of 239 MiB for 100 million HIBP
//! lines (47 s on the shared 2-core machine, 2.253 bytes per entry). Temporary disk use is
//! 8 bytes per good input line, inside the target directory, next to the finished filters
//! (≈ 2.25 bytes per distinct entry).
//!
//! # Atomic swap
//!
//! A filter set lives in `dir/<generation>/` (`gen-<UTC timestamp>`), one file per shard. The
//! manifest `dir/CURRENT` (JSON: generation, shard count, entry count, build time) is written
//! to `CURRENT.tmp`, fsynced and renamed over `CURRENT` only after every shard file and the
//! generation directory were fsynced. Readers only ever follow `CURRENT`, so an import that fails
//! or is killed leaves the previous generation in service; the next import removes stale
//! generations before it starts and removes the replaced one after the swap. Imports into one
//! directory are serialised by a lock on `dir/LOCK` ([`ImportError::Busy`]).
//!
//! # Querying
//!
//! [`BreachedFilter`] is one loaded generation (entirely in memory: 2.25 B per entry, so the
//! ≈ 2 billion HIBP hashes take ≈ 4.5 GB). [`BreachedCorpus`] is the holder for servers: cheap
//! to clone, it implements [`sspr_core::ports::BreachedPasswords`] and picks up a new import
//! with [`BreachedCorpus::reload_if_changed`] (old and new generation are both in memory
//! while it swaps).

mod format;
mod import;
mod query;

#[cfg(test)]
mod tests;

use sha1::{Digest, Sha1};

pub use import::{
    BadLine, BadLineReason, ImportError, ImportOptions, ImportReport, InputFormat, LineCounts,
    MAX_BAD_LINES_KEPT, MAX_LINE_BYTES, Phase, PhaseTimes, Progress, import,
};
pub use query::{BreachedCorpus, BreachedFilter, BreachedStatus, OpenError};

/// The default most keys per shard (before de-duplication): 2²³ ≈ 8.4 million, which bounds
/// the memory of building one shard to about 300 MiB.
pub const DEFAULT_MAX_SHARD_KEYS: u64 = 1 << 23;

/// The largest `max_shard_keys` accepted (larger values are clamped): 2²⁶ keys, about 2.3 GiB
/// while building a shard.
pub const LIMIT_MAX_SHARD_KEYS: u64 = 1 << 26;

/// The SHA-1 of a password's UTF-8 bytes, as HIBP computes it.
pub fn password_sha1(password: &str) -> [u8; 20] {
    Sha1::digest(password.as_bytes()).into()
}

/// The filter key of a SHA-1: its first 8 bytes as a big-endian integer.
pub(crate) fn key_of(sha1: &[u8; 20]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&sha1[..8]);
    u64::from_be_bytes(first)
}
