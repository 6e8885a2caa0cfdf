//! Helpers shared by the load benchmarks: the raw argon2id ceiling, percentiles, peak RSS.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use sspr_directory::HashParams;

const PASSWORD: &str = "Correct-Horse-Battery-1";

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One thread per core hashing with the default (OWASP) argon2id parameters in a tight loop,
/// each reusing its memory: the ceiling no server can beat on this machine (hashes/s).
pub fn raw_rate(duration: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..cores())
        .map(|_| {
            let stop = stop.clone();
            let count = count.clone();
            std::thread::spawn(move || {
                let p = HashParams::default();
                let params =
                    Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32)).unwrap();
                let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                let mut blocks = vec![Block::default(); params.block_count()];
                let mut out = [0u8; 32];
                while !stop.load(Ordering::Relaxed) {
                    argon
                        .hash_password_into_with_memory(
                            PASSWORD.as_bytes(),
                            b"benchmark-salt!!",
                            &mut out,
                            &mut blocks,
                        )
                        .unwrap();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time (user + system, seconds) of each thread of this process, by thread id and name
/// (`/proc/self/task/*/stat`; Linux counts in ticks of 1/100 s for user space).
// Each bench compiles this module on its own; the sign-in bench does not split its CPU.
#[allow(dead_code)]
pub fn thread_cpu_seconds() -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // The fields after the parenthesised name: state is the first, utime the 12th, stime
        // the 13th.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let key = format!("{}#{}", name.trim(), task.file_name().to_string_lossy());
        out.insert(key, (ticks(11) + ticks(12)) / 100.0);
    }
    out
}
