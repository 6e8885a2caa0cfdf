//! Password hashing as a bounded resource (DESIGN rule 3).
//!
//! Argon2id with OWASP parameters costs ~19 MiB and tens of milliseconds per hash. Handing each
//! hash to an unbounded `spawn_blocking` lets a burst of sign-ins allocate hundreds of those
//! buffers at once and thrash two cores (measured: 6–15 req/s and 4–7 GB). Instead a fixed set
//! of worker threads — never more than the machine has cores — each own one reusable block
//! buffer, and a small bounded queue feeds them. When the queue is full the caller is told
//! [`HashError::Busy`] at once, which the web layer answers with 503 and Retry-After.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use sspr_core::PasswordHash;
use sspr_core::ports::{HashError, PasswordHasher};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use zeroize::Zeroize;

/// Argon2id cost parameters. The defaults are OWASP's (m=19456 KiB, t=2, p=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashParams {
    /// Deliberately cheap parameters for tests only: never use them for real passwords.
    pub const TEST_ONLY: HashParams = HashParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn argon2_params(&self) -> Result<Params, String> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| e.to_string())
    }

    /// Checks the parameters the way argon2 will, for configuration validation.
    pub fn validate(&self) -> Result<(), String> {
        self.argon2_params().map(|_| ())
    }
}

enum Job {
    Hash(Vec<u8>),
    Verify(Vec<u8>, String),
}

struct Request {
    job: Job,
    reply: oneshot::Sender<Result<Reply, HashError>>,
}

enum Reply {
    Hashed(String),
    Verified(bool),
}

/// The pool. Cloning shares it.
#[derive(Clone)]
pub struct HashPool {
    inner: Arc<Inner>,
}

struct Inner {
    tx: SyncSender<Request>,
    workers: usize,
    queue: usize,
    queued: Arc<AtomicUsize>,
    /// A real hash of a random password, for [`PasswordHasher::verify_dummy`].
    dummy: String,
}

impl HashPool {
    /// Starts `workers` threads (capped at the number of cores; 0 means "all cores") with a
    /// queue of `queue` waiting requests (at least 1).
    pub fn start(params: HashParams, workers: usize, queue: usize) -> Result<Self, String> {
        let argon = params.argon2_params()?;
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let workers = if workers == 0 {
            cores
        } else {
            workers.min(cores)
        };
        let queue = queue.max(1);
        let (tx, rx) = mpsc::sync_channel::<Request>(queue);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let queued = Arc::new(AtomicUsize::new(0));
        for i in 0..workers {
            let rx = Arc::clone(&rx);
            let queued = Arc::clone(&queued);
            let argon = argon.clone();
            thread::Builder::new()
                .name(format!("sspr-hash-{i}"))
                .spawn(move || worker(&rx, &queued, argon))
                .map_err(|e| format!("cannot start hashing thread: {e}"))?;
        }
        let dummy_password: [u8; 16] = rand::random();
        let dummy = hash_with(&argon, &dummy_password, &mut Vec::new())?;
        Ok(Self {
            inner: Arc::new(Inner {
                tx,
                workers,
                queue,
                queued,
                dummy,
            }),
        })
    }

    pub fn workers(&self) -> usize {
        self.inner.workers
    }

    pub fn queue_capacity(&self) -> usize {
        self.inner.queue
    }

    /// Requests waiting for a worker right now.
    pub fn queued(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }

    async fn submit(&self, job: Job) -> Result<Reply, HashError> {
        let (reply, rx) = oneshot::channel();
        self.inner.queued.fetch_add(1, Ordering::Relaxed);
        match self.inner.tx.try_send(Request { job, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(mut r) | TrySendError::Disconnected(mut r)) => {
                self.inner.queued.fetch_sub(1, Ordering::Relaxed);
                wipe(&mut r.job);
                return Err(HashError::Busy);
            }
        }
        // A worker that died (it cannot panic on input, but be safe) reads as busy.
        rx.await.unwrap_or(Err(HashError::Busy))
    }
}

fn wipe(job: &mut Job) {
    match job {
        Job::Hash(p) | Job::Verify(p, _) => p.zeroize(),
    }
}

/// How much lower than the request threads the hashing threads run (Unix niceness). Hashing
/// saturates every core under load; at equal priority, the cheap work that answers "busy" (or
/// serves a health check) queues behind it for milliseconds. A lower priority lets the
/// scheduler run that work first, and the hashes still get every cycle nobody else wants.
const WORKER_NICENESS: i32 = 10;

fn worker(rx: &std::sync::Mutex<Receiver<Request>>, queued: &AtomicUsize, argon: Params) {
    // On Linux a thread id names one thread, so this lowers only this thread's priority.
    if let Err(e) =
        rustix::process::setpriority_process(Some(rustix::thread::gettid()), WORKER_NICENESS)
    {
        tracing::debug!(error = %e, "cannot lower the hashing thread's priority");
    }
    // The block buffer lives as long as the thread: one allocation per worker, reused.
    let mut blocks: Vec<Block> = vec![Block::default(); argon.block_count()];
    loop {
        let request = {
            let Ok(guard) = rx.lock() else { return };
            match guard.recv() {
                Ok(r) => r,
                Err(_) => return, // the pool was dropped
            }
        };
        queued.fetch_sub(1, Ordering::Relaxed);
        let Request { mut job, reply } = request;
        let result = match &job {
            Job::Hash(password) => hash_with(&argon, password, &mut blocks)
                .map(Reply::Hashed)
                .map_err(HashError::InvalidHash),
            Job::Verify(password, phc) => {
                verify_with(password, phc, &mut blocks).map(Reply::Verified)
            }
        };
        wipe(&mut job);
        let _ = reply.send(result);
    }
}

fn ensure_blocks(blocks: &mut Vec<Block>, params: &Params) {
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), Block::default());
    }
}

fn hash_with(params: &Params, password: &[u8], blocks: &mut Vec<Block>) -> Result<String, String> {
    ensure_blocks(blocks, params);
    let salt_bytes: [u8; 16] = rand::random();
    let mut out = [0u8; 32];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon
        .hash_password_into_with_memory(
            password,
            &salt_bytes,
            &mut out,
            &mut blocks[..params.block_count()],
        )
        .map_err(|e| e.to_string())?;
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt_bytes).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

fn verify_with(password: &[u8], phc: &str, blocks: &mut Vec<Block>) -> Result<bool, HashError> {
    let invalid = |e: &dyn std::fmt::Display| HashError::InvalidHash(e.to_string());
    let parsed = Phc::new(phc).map_err(|e| invalid(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(|e| invalid(&e))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| invalid(&e))?
        .unwrap_or(Version::V0x13);
    let params = Params::try_from(&parsed).map_err(|e| invalid(&e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(HashError::InvalidHash("salt or hash missing".into()));
    };
    ensure_blocks(blocks, &params);
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(
            password,
            salt.as_ref(),
            &mut out,
            &mut blocks[..params.block_count()],
        )
        .map_err(|e| invalid(&e))?;
    Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
}

#[async_trait]
impl PasswordHasher for HashPool {
    async fn hash(&self, password: &str) -> Result<PasswordHash, HashError> {
        match self.submit(Job::Hash(password.as_bytes().to_vec())).await? {
            Reply::Hashed(phc) => Ok(PasswordHash::from_phc(phc)),
            Reply::Verified(_) => unreachable!("a hash job answers with a hash"),
        }
    }

    async fn verify(&self, password: &str, hash: &PasswordHash) -> Result<bool, HashError> {
        match self
            .submit(Job::Verify(
                password.as_bytes().to_vec(),
                hash.as_phc().to_owned(),
            ))
            .await?
        {
            Reply::Verified(ok) => Ok(ok),
            Reply::Hashed(_) => unreachable!("a verify job answers with a verdict"),
        }
    }

    fn at_capacity(&self) -> bool {
        self.queued() >= self.inner.queue
    }

    async fn verify_dummy(&self, password: &str) -> Result<(), HashError> {
        let dummy = PasswordHash::from_phc(self.inner.dummy.clone());
        self.verify(password, &dummy).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHash as ArgonHash, PasswordVerifier};

    #[tokio::test]
    async fn hashes_verify_and_interoperate_with_the_argon2_crate() {
        let pool = HashPool::start(HashParams::TEST_ONLY, 1, 4).unwrap();
        let h = pool.hash("correct horse").await.unwrap();
        assert!(h.as_phc().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(pool.verify("correct horse", &h).await.unwrap());
        assert!(!pool.verify("wrong horse", &h).await.unwrap());
        // The PHC string is standard: the argon2 crate's own verifier accepts it.
        let parsed = ArgonHash::new(h.as_phc()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // And we verify hashes made by the argon2 crate with other parameters.
        use argon2::PasswordHasher as _;
        let foreign = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(256, 3, 2, None).unwrap(),
        )
        .hash_password(b"s3cret")
        .unwrap()
        .to_string();
        assert!(
            pool.verify("s3cret", &PasswordHash::from_phc(foreign.clone()))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify("s3cret!", &PasswordHash::from_phc(foreign))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn salts_differ() {
        let pool = HashPool::start(HashParams::TEST_ONLY, 1, 4).unwrap();
        let a = pool.hash("same").await.unwrap();
        let b = pool.hash("same").await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn garbage_hashes_are_errors_not_panics() {
        let pool = HashPool::start(HashParams::TEST_ONLY, 1, 4).unwrap();
        for bad in [
            "",
            "$argon2id$",
            "plain",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$",
        ] {
            assert!(matches!(
                pool.verify("x", &PasswordHash::from_phc(bad.into())).await,
                Err(HashError::InvalidHash(_))
            ));
        }
        pool.verify_dummy("anything").await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_busy_at_once() {
        // Costly parameters so the single worker stays busy while we flood it.
        let params = HashParams {
            memory_kib: 8 * 1024,
            iterations: 3,
            parallelism: 1,
        };
        let pool = HashPool::start(params, 1, 2).unwrap();
        assert_eq!(pool.workers(), 1);
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move { pool.hash("flood").await }));
        }
        let mut ok = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(HashError::Busy) => busy += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        // At most one running plus two queued (plus one the worker took meanwhile) succeed.
        assert!(ok >= 1, "some hashes must complete");
        assert!(busy >= 8, "the excess must be refused, got {busy} busy");
        assert_eq!(ok + busy, 16);
        assert_eq!(pool.queued(), 0);
    }

    #[tokio::test]
    async fn hashing_threads_run_at_a_lower_priority() {
        let pool = HashPool::start(HashParams::TEST_ONLY, 1, 4).unwrap();
        pool.hash("warm up").await.unwrap();
        // /proc/self/task/<tid>/stat: field 19 is the niceness (after the parenthesised name).
        let mut found = 0;
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if !comm.starts_with("sspr-hash-") {
                continue;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            let nice: i32 = after_name.split(' ').nth(16).unwrap().parse().unwrap();
            assert_eq!(nice, WORKER_NICENESS, "{comm}");
            found += 1;
        }
        assert!(found >= 1, "no hashing thread found");
    }

    #[test]
    fn workers_never_exceed_cores() {
        let cores = thread::available_parallelism().unwrap().get();
        let pool = HashPool::start(HashParams::TEST_ONLY, 1000, 1).unwrap();
        assert_eq!(pool.workers(), cores);
    }
}
