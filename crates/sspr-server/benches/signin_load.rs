//! Cloud-only sign-in under load, against the raw argon2id rate measured in the same run.
//!
//! Run: `cargo bench -p sspr-server --bench signin_load` (add `-- --quick` for a short run).
//! Phases:
//! 1. raw: one thread per core hashing with OWASP argon2id (m=19456 KiB, t=2, p=1) in a tight
//!    loop, each reusing its memory — the ceiling no server can beat on this machine;
//! 2. saturation: the real server (SQLite, real router, real hashing pool) with enough
//!    concurrent clients to keep every hashing thread busy but the queue short of full;
//!    completed sign-ins per second, as a share of the raw rate;
//! 3. overload: waves of 64 concurrent sign-ins against a queue of 8; how many are refused
//!    with 503 + Retry-After, and how long a refusal takes (median, p99);
//! 4. the process's peak resident memory (VmHWM), which includes the clients.
//!
//! This is a measurement, not a test: it prints figures and asserts nothing about time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::ports::{Clock, PasswordHasher, Store, SystemClock};
use sspr_core::{DisplayName, NewUser, Username};
use sspr_server::app::Application;
use sspr_server::config::{Config, from_config};

mod common;

use common::{cores, peak_rss_mib, percentile, raw_rate};

const PASSWORD: &str = "Correct-Horse-Battery-1";

struct Server {
    base: String,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start_server(queue: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.server.listen = "127.0.0.1:0".into();
    config.hashing.queue = queue;
    config.log.level = "error".into();
    let loaded = from_config(config).unwrap();
    let store = Arc::new(sspr_server::app::open_store(&loaded).await.unwrap());
    let pool = sspr_server::app::hash_pool(&loaded).unwrap();
    let mut user = NewUser::cloud(
        Username::parse("ada").unwrap(),
        DisplayName::parse("Ada").unwrap(),
    );
    user.password_hash = Some(pool.hash(PASSWORD).await.unwrap());
    store
        .create_user(&user, &AuditEvent::new("Add user", Outcome::Success))
        .await
        .unwrap();
    let app = Application::build(
        &loaded,
        store as Arc<dyn Store>,
        pool,
        Arc::new(SystemClock) as Arc<dyn Clock>,
    )
    .await
    .unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Server {
        base,
        _dir: dir,
        _stop: stop,
    }
}

async fn sign_in(client: &reqwest::Client, base: &str) -> (u16, bool, Duration) {
    let start = Instant::now();
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": "ada", "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let retry = r.headers().contains_key("retry-after");
    let _ = r.bytes().await;
    (status, retry, start.elapsed())
}

async fn saturation(duration: Duration, clients: usize) -> (f64, u64, Duration) {
    let server = start_server(32).await;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, done, refused, latencies) = (
                stop.clone(),
                done.clone(),
                refused.clone(),
                latencies.clone(),
            );
            let base = server.base.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let (status, _, took) = sign_in(&client, &base).await;
                    match status {
                        200 => {
                            done.fetch_add(1, Ordering::Relaxed);
                            latencies.lock().unwrap().push(took);
                        }
                        503 => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("unexpected status {other}"),
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    (rate, refused.load(Ordering::Relaxed), percentile(&l, 0.5))
}

struct Overload {
    ok: usize,
    refused: usize,
    refused_with_retry_after: usize,
    refusal_p50: Duration,
    refusal_p99: Duration,
    ok_p50: Duration,
}

async fn overload(waves: usize) -> Overload {
    let server = start_server(8).await;
    let mut ok = 0;
    let mut refused = 0;
    let mut with_retry = 0;
    let mut refusals = Vec::new();
    let mut oks = Vec::new();
    for _ in 0..waves {
        // 64 clients with their own connections, released together.
        let barrier = Arc::new(tokio::sync::Barrier::new(64));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let base = server.base.clone();
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    let client = reqwest::Client::new();
                    // Warm the connection so the wave measures sign-in, not TCP setup.
                    let _ = client.get(format!("{base}/healthz")).send().await;
                    barrier.wait().await;
                    sign_in(&client, &base).await
                })
            })
            .collect();
        for t in tasks {
            let (status, retry, took) = t.await.unwrap();
            match status {
                200 => {
                    ok += 1;
                    oks.push(took);
                }
                503 => {
                    refused += 1;
                    if retry {
                        with_retry += 1;
                    }
                    refusals.push(took);
                }
                other => panic!("unexpected status {other}"),
            }
        }
    }
    refusals.sort();
    oks.sort();
    Overload {
        ok,
        refused,
        refused_with_retry_after: with_retry,
        refusal_p50: percentile(&refusals, 0.5),
        refusal_p99: percentile(&refusals, 0.99),
        ok_p50: percentile(&oks, 0.5),
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let secs = if quick { 3 } else { 15 };
    let duration = Duration::from_secs(secs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    println!(
        "sign-in load benchmark: {} cores, argon2id m=19456 KiB t=2 p=1, {secs} s per phase",
        cores()
    );
    let raw = raw_rate(duration);
    println!("raw argon2id loop ({} threads): {raw:.1} hashes/s", cores());

    let clients = cores() * 4;
    let (rate, refused, p50) = runtime.block_on(saturation(duration, clients));
    println!(
        "saturation ({clients} clients): {rate:.1} sign-ins/s = {:.1}% of raw; median latency {:.1} ms; {refused} refused",
        100.0 * rate / raw,
        p50.as_secs_f64() * 1000.0
    );

    let waves = if quick { 5 } else { 20 };
    let o = runtime.block_on(overload(waves));
    println!(
        "overload ({waves} waves x 64 concurrent, queue 8): {} ok (median {:.1} ms), {} refused with 503 ({} with Retry-After); refusal latency median {:.2} ms, p99 {:.2} ms",
        o.ok,
        o.ok_p50.as_secs_f64() * 1000.0,
        o.refused,
        o.refused_with_retry_after,
        o.refusal_p50.as_secs_f64() * 1000.0,
        o.refusal_p99.as_secs_f64() * 1000.0
    );
    println!(
        "peak RSS of the whole process (server + clients + raw phase): {:.1} MiB",
        peak_rss_mib()
    );
}
