//! The query side: one loaded generation ([`BreachedFilter`]) and the reloading holder for
//! servers ([`BreachedCorpus`]).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;
use time::OffsetDateTime;
use xorf::{BinaryFuse16, Filter};

use super::format::{self, Manifest, ReadError};
use super::{key_of, password_sha1};

/// Why a corpus could not be loaded. The holder keeps what it had.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("reading {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is damaged: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

impl OpenError {
    fn from_read(path: &Path, e: ReadError) -> Self {
        let path = path.to_path_buf();
        match e {
            ReadError::Io(source) => Self::Io { path, source },
            ReadError::Corrupt(reason) => Self::Corrupt { path, reason },
        }
    }

    fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// One generation of the corpus, loaded into memory (≈ 2.25 bytes per entry).
pub struct BreachedFilter {
    generation: String,
    entries: u64,
    built_at: OffsetDateTime,
    /// First key of each shard's range, ascending; `starts[0] == 0`.
    starts: Box<[u64]>,
    filters: Box<[BinaryFuse16]>,
}

impl fmt::Debug for BreachedFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreachedFilter")
            .field("generation", &self.generation)
            .field("entries", &self.entries)
            .field("shards", &self.filters.len())
            .field("built_at", &self.built_at)
            .finish_non_exhaustive()
    }
}

impl BreachedFilter {
    /// Loads the generation named by `dir/CURRENT`; `None` when nothing was ever imported
    /// (no `CURRENT`, whatever half-written generations lie around). If an import replaces the
    /// generation while it is being read, the new one is loaded.
    pub fn open(dir: &Path) -> Result<Option<Self>, OpenError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let manifest = format::read_manifest(dir)
                .map_err(|e| OpenError::from_read(&dir.join(format::CURRENT), e))?;
            let Some(manifest) = manifest else {
                return Ok(None);
            };
            match Self::load(dir, &manifest) {
                Ok(filter) => return Ok(Some(filter)),
                // The generation was swapped out and removed under us: follow CURRENT again.
                Err(e) if e.is_not_found() && attempt < 3 => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn load(dir: &Path, manifest: &Manifest) -> Result<Self, OpenError> {
        let gen_dir = dir.join(&manifest.generation);
        let mut starts = Vec::with_capacity(manifest.shards as usize);
        let mut filters = Vec::with_capacity(manifest.shards as usize);
        let mut entries = 0u64;
        for index in 0..manifest.shards {
            let path = format::shard_path(&gen_dir, index);
            let shard = format::read_shard(&path).map_err(|e| OpenError::from_read(&path, e))?;
            let corrupt = |reason: &str| OpenError::Corrupt {
                path: path.clone(),
                reason: reason.to_owned(),
            };
            if shard.index != index {
                return Err(corrupt("shard index does not match its file name"));
            }
            let in_order = match starts.last() {
                None => shard.start == 0,
                Some(&previous) => shard.start > previous,
            };
            if !in_order {
                return Err(corrupt("shard ranges are out of order"));
            }
            entries += shard.entries;
            starts.push(shard.start);
            filters.push(shard.filter);
        }
        if entries != manifest.entries {
            return Err(OpenError::Corrupt {
                path: gen_dir,
                reason: format!(
                    "shards hold {entries} entries, CURRENT says {}",
                    manifest.entries
                ),
            });
        }
        Ok(Self {
            generation: manifest.generation.clone(),
            entries,
            built_at: manifest.built_at,
            starts: starts.into_boxed_slice(),
            filters: filters.into_boxed_slice(),
        })
    }

    fn contains_key(&self, key: u64) -> bool {
        let shard = self.starts.partition_point(|&s| s <= key).saturating_sub(1);
        self.filters.get(shard).is_some_and(|f| f.contains(&key))
    }

    /// Whether a SHA-1 (raw 20 bytes) is in the corpus; wrong about 1 time in 65,536 for a
    /// SHA-1 that is not.
    pub fn contains_sha1(&self, sha1: &[u8; 20]) -> bool {
        self.contains_key(key_of(sha1))
    }

    /// Whether the SHA-1 of the password's UTF-8 bytes is in the corpus.
    pub fn contains_password(&self, password: &str) -> bool {
        self.contains_sha1(&password_sha1(password))
    }

    /// Distinct entries.
    pub fn len(&self) -> u64 {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    pub fn generation(&self) -> &str {
        &self.generation
    }

    pub fn built_at(&self) -> OffsetDateTime {
        self.built_at
    }

    pub fn shard_count(&self) -> usize {
        self.filters.len()
    }

    /// Bytes of fingerprints held in memory.
    pub fn memory_bytes(&self) -> u64 {
        self.filters
            .iter()
            .map(|f| 2 * f.fingerprints.len() as u64)
            .sum()
    }
}

impl sspr_core::ports::BreachedPasswords for BreachedFilter {
    fn is_breached(&self, password: &str) -> bool {
        self.contains_password(password)
    }
}

/// What a [`BreachedCorpus`] holds, for the admin pages and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreachedStatus {
    pub loaded: bool,
    pub entries: u64,
    pub generation: Option<String>,
    pub shards: usize,
    pub memory_bytes: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub built_at: Option<OffsetDateTime>,
    /// When this process loaded the generation.
    #[serde(with = "time::serde::rfc3339::option")]
    pub loaded_at: Option<OffsetDateTime>,
}

struct Loaded {
    filter: Option<BreachedFilter>,
    loaded_at: Option<OffsetDateTime>,
}

struct CorpusInner {
    dir: PathBuf,
    current: RwLock<Arc<Loaded>>,
    /// One reload at a time, so that two timers never hold three generations in memory.
    reloading: Mutex<()>,
}

/// The breached-password corpus of a running server: cheap to clone, answers from memory, and
/// swaps in a new import atomically when [`reload_if_changed`](Self::reload_if_changed) finds
/// one (the server calls it on a timer). With nothing imported every password passes.
#[derive(Clone)]
pub struct BreachedCorpus {
    inner: Arc<CorpusInner>,
}

impl fmt::Debug for BreachedCorpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreachedCorpus")
            .field("dir", &self.inner.dir)
            .field("status", &self.status())
            .finish()
    }
}

impl BreachedCorpus {
    /// A holder for `dir` that has loaded nothing yet (it does not touch the disk); the first
    /// [`reload_if_changed`](Self::reload_if_changed) loads what is there.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            inner: Arc::new(CorpusInner {
                dir: dir.into(),
                current: RwLock::new(Arc::new(Loaded {
                    filter: None,
                    loaded_at: None,
                })),
                reloading: Mutex::new(()),
            }),
        }
    }

    /// A holder with the generation in service in `dir` loaded (or nothing, if there is none).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, OpenError> {
        let corpus = Self::new(dir);
        corpus.reload_if_changed()?;
        Ok(corpus)
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    fn loaded(&self) -> Arc<Loaded> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the password is in the corpus; `false` when nothing is loaded.
    pub fn is_breached(&self, password: &str) -> bool {
        let sha1 = password_sha1(password);
        self.contains_sha1(&sha1)
    }

    pub fn contains_sha1(&self, sha1: &[u8; 20]) -> bool {
        let current = self
            .inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        current
            .filter
            .as_ref()
            .is_some_and(|f| f.contains_sha1(sha1))
    }

    pub fn status(&self) -> BreachedStatus {
        let loaded = self.loaded();
        match &loaded.filter {
            Some(f) => BreachedStatus {
                loaded: true,
                entries: f.len(),
                generation: Some(f.generation().to_owned()),
                shards: f.shard_count(),
                memory_bytes: f.memory_bytes(),
                built_at: Some(f.built_at()),
                loaded_at: loaded.loaded_at,
            },
            None => BreachedStatus {
                loaded: false,
                entries: 0,
                generation: None,
                shards: 0,
                memory_bytes: 0,
                built_at: None,
                loaded_at: loaded.loaded_at,
            },
        }
    }

    /// Re-reads `CURRENT` and, if it names another generation than the one loaded, loads that
    /// one and swaps it in; `Ok(true)` when something changed. Queries go on against the old
    /// generation while the new one loads. On error the old generation stays in service. If
    /// `CURRENT` was removed, the holder unloads (every password passes again).
    pub fn reload_if_changed(&self) -> Result<bool, OpenError> {
        let _one_at_a_time = self
            .inner
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let dir = &self.inner.dir;
        let manifest = format::read_manifest(dir)
            .map_err(|e| OpenError::from_read(&dir.join(format::CURRENT), e))?;
        let loaded = self.loaded();
        let loaded_generation = loaded.filter.as_ref().map(BreachedFilter::generation);
        if manifest.as_ref().map(|m| m.generation.as_str()) == loaded_generation {
            return Ok(false);
        }
        drop(loaded);
        let filter = match manifest {
            Some(_) => BreachedFilter::open(dir)?,
            None => None,
        };
        let now = OffsetDateTime::now_utc();
        match &filter {
            Some(f) => tracing::info!(
                generation = f.generation(),
                entries = f.len(),
                shards = f.shard_count(),
                "breached corpus loaded"
            ),
            None => tracing::info!(dir = %dir.display(), "breached corpus: none in service"),
        }
        let next = Arc::new(Loaded {
            loaded_at: filter.as_ref().map(|_| now),
            filter,
        });
        let previous = std::mem::replace(
            &mut *self
                .inner
                .current
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            next,
        );
        // The old generation (possibly gigabytes) is freed here, outside the lock.
        drop(previous);
        Ok(true)
    }
}

impl sspr_core::ports::BreachedPasswords for BreachedCorpus {
    fn is_breached(&self, password: &str) -> bool {
        BreachedCorpus::is_breached(self, password)
    }
}
