//! Complete reset flows under load (start → send → verify → new password), against the raw
//! argon2id rate measured in the same run.
//!
//! Run: `cargo bench -p sspr-server --bench reset_load` (add `-- --quick` for a short run).
//!
//! A flow costs two argon2id operations, both in the password step: the check of the new
//! password against the current one (password history 1, the default) and the hash of the new
//! one. Codes are keyed hashes (HMAC), not argon2id. So the ceiling is raw rate / 2 flows per
//! second. The server is the real one (SQLite, router, middleware, hashing pool, outbox worker)
//! with its default response floor (250 ms on start and send, against user enumeration), which
//! costs time but no CPU: enough concurrent clients keep the hashing threads busy anyway. Each
//! flow resets a different user (so the history check is always exactly one verify). The proof
//! of work is off: its server side is one SHA-256 and one HMAC per start.
//!
//! The server and the simulated browsers run on separate runtimes with named threads, so that
//! the report can split the CPU of the flows phase by role: hashing, server tasks (which run
//! SQLite's statements in place) and the load generator itself.
//!
//! The flows run in rounds: raw rate, flows, raw rate, flows, … raw rate. Each window of
//! flows is compared with the mean of the raw rates measured just before and just after it
//! (the clients pause, and the server idles, while the raw loop runs), because this shared
//! machine's speed drifts by ±10 % within a minute; a single raw measurement before a long
//! phase and one after it moved the ratio by as much.
//!
//! This is a measurement, not a test: it prints figures and asserts nothing about time.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::ports::{Clock, PasswordHasher, Store, SystemClock};
use sspr_core::{DisplayName, EmailAddress, Enablement, MethodType, NewUser, SsprPolicy, Username};
use sspr_server::app::Application;
use sspr_server::config::{Config, from_config};

mod common;

use common::{cores, peak_rss_mib, percentile, raw_rate, thread_cpu_seconds};

const OLD_PASSWORD: &str = "Correct-Horse-Battery-1";
const STEPS: [&str; 4] = ["start", "send", "verify", "password"];
/// Flows' argon2id operations (see the module comment).
const HASHES_PER_FLOW: f64 = 2.0;

struct Server {
    base: String,
    mailbox: Arc<Mailbox>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start_server(users: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.server.listen = "127.0.0.1:0".into();
    config.hashing.queue = 128;
    config.log.level = "error".into();
    config.reset.pow_max_number = 0;
    // Every request comes from 127.0.0.1: lift the per-IP budgets, keep the per-user ones.
    config.limits.sends_per_ip_per_hour = 1_000_000;
    config.limits.checks_per_ip_per_hour = 1_000_000;
    let loaded = from_config(config).unwrap();
    let store = Arc::new(sspr_server::app::open_store(&loaded).await.unwrap());
    let pool = sspr_server::app::hash_pool(&loaded).unwrap();
    let ev = || AuditEvent::new("Add user", Outcome::Success);
    let policy = SsprPolicy {
        enablement: Enablement::All,
        methods_enabled: MethodType::ALL.into_iter().collect(),
        ..SsprPolicy::default()
    };
    store.put_policy(&policy, &ev()).await.unwrap();
    // One hash for every user: seeding is not what is measured.
    let hash = pool.hash(OLD_PASSWORD).await.unwrap();
    let batch: Vec<NewUser> = (0..users)
        .map(|i| {
            let mut u = NewUser::cloud(
                Username::parse(&format!("user{i}")).unwrap(),
                DisplayName::parse(&format!("User {i}")).unwrap(),
            );
            u.email = Some(EmailAddress::parse(&format!("user{i}@example.org")).unwrap());
            u.password_hash = Some(hash.clone());
            u
        })
        .collect();
    store.create_users(&batch, &ev()).await.unwrap();
    let app = Application::build(
        &loaded,
        Arc::clone(&store) as Arc<dyn Store>,
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
        mailbox: Mailbox::follow(loaded.outbox_file.clone()),
        _dir: dir,
        _stop: stop,
    }
}

/// One POST; `cookie` is the simulated browser's flow cookie (`name=value`), if it has one.
/// Returns the status, the body and the flow cookie the answer set, if any.
async fn post(
    client: &reqwest::Client,
    url: String,
    cookie: Option<&str>,
    body: Value,
) -> (u16, Value, Option<String>) {
    let mut request = client.post(url).json(&body);
    if let Some(c) = cookie {
        request = request.header(reqwest::header::COOKIE, c);
    }
    let r = request.send().await.expect("request");
    let status = r.status().as_u16();
    let set = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    (status, r.json().await.unwrap_or(Value::Null), set)
}

/// The mail the server delivered, as the users read it: the development delivery appends each
/// message the outbox worker delivers to a file (one JSON object per line), and one reader
/// task follows that file and files the codes by recipient. (An earlier version polled the
/// outbox table from every client; that polling cost more CPU than the server's own work
/// and was measured as if it were the server's — see docs/benchmarks.md.)
struct Mailbox {
    codes: std::sync::Mutex<HashMap<String, String>>,
    arrived: tokio::sync::Notify,
}

impl Mailbox {
    fn follow(path: PathBuf) -> Arc<Mailbox> {
        let mailbox = Arc::new(Mailbox {
            codes: std::sync::Mutex::new(HashMap::new()),
            arrived: tokio::sync::Notify::new(),
        });
        let m = Arc::downgrade(&mailbox);
        // A plain thread, not a task: tokio's file reads each go through its blocking pool
        // (two thread hand-overs per read, a hundred reads a second), which is load-generator
        // work the server would be charged for. The thread ends with the mailbox.
        let reader = std::thread::Builder::new().name("bench-mail".into());
        let _ = reader.spawn(move || {
            use std::io::Read;
            // One handle, read on from where the last read stopped: re-reading the whole
            // growing file every 10 ms would make the reader's cost grow with the run.
            let mut file = None;
            let mut pending = Vec::new();
            loop {
                std::thread::sleep(Duration::from_millis(10));
                let Some(m) = m.upgrade() else { return };
                if file.is_none() {
                    file = std::fs::File::open(&path).ok();
                }
                let Some(f) = file.as_mut() else {
                    continue;
                };
                if f.read_to_end(&mut pending).is_err() {
                    continue;
                }
                let mut found = false;
                while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    let Ok(msg) = serde_json::from_slice::<Value>(&line) else {
                        continue;
                    };
                    let code = msg["body"].as_str().and_then(|b| {
                        b.split(|c: char| !c.is_ascii_digit())
                            .find(|w| w.len() == 8)
                            .map(str::to_owned)
                    });
                    if let (Some(to), Some(code)) = (msg["to"].as_str(), code) {
                        m.codes.lock().unwrap().insert(to.to_owned(), code);
                        found = true;
                    }
                }
                if found {
                    m.arrived.notify_waiters();
                }
            }
        });
        mailbox
    }

    /// The code sent to `to`, once it is delivered (each code is read once).
    async fn code_for(&self, to: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.arrived.notified();
            if let Some(code) = self.codes.lock().unwrap().remove(to) {
                return Some(code);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = tokio::time::timeout(left, arrived).await;
        }
    }
}

/// One complete flow; the time of each step, or `None` if a step was refused (busy).
async fn one_flow(server: &Server, client: &reqwest::Client, user: usize) -> Option<[Duration; 4]> {
    let base = &server.base;
    let mut took = [Duration::ZERO; 4];
    let t = Instant::now();
    let (s, flow, cookie) = post(
        client,
        format!("{base}/api/v1/reset"),
        None,
        json!({"username": format!("user{user}")}),
    )
    .await;
    took[0] = t.elapsed();
    if s != 200 {
        return None;
    }
    let cookie = cookie?;
    let cookie = Some(cookie.as_str());
    let id = flow["flow_id"].as_str()?.to_owned();
    let m = flow["methods"][0]["id"].as_str()?.to_owned();
    let t = Instant::now();
    let (s, _, _) = post(
        client,
        format!("{base}/api/v1/reset/{id}/methods/{m}/send"),
        cookie,
        json!({}),
    )
    .await;
    took[1] = t.elapsed();
    if s != 202 {
        return None;
    }
    let code = server
        .mailbox
        .code_for(&format!("user{user}@example.org"))
        .await?;
    let t = Instant::now();
    let (s, _, _) = post(
        client,
        format!("{base}/api/v1/reset/{id}/methods/{m}/verify"),
        cookie,
        json!({"code": code}),
    )
    .await;
    took[2] = t.elapsed();
    if s != 200 {
        return None;
    }
    let t = Instant::now();
    let (s, _, _) = post(
        client,
        format!("{base}/api/v1/reset/{id}/password"),
        cookie,
        json!({"new_password": format!("Quartz-Harbour-{user}-Violet")}),
    )
    .await;
    took[3] = t.elapsed();
    (s == 200).then_some(took)
}

/// What a thread works for, by the name it was given (Linux shows the first 15 bytes).
fn role(thread_name: &str) -> &'static str {
    if thread_name.starts_with("sspr-hash") {
        "hashing threads"
    } else if thread_name.starts_with("sspr-server") {
        // SQLite's statements run in place on these threads (sspr-store's `db` module).
        "server tasks (HTTP, services, SQLite, outbox)"
    } else if thread_name.starts_with("load-gen") || thread_name.starts_with("bench-mail") {
        "load generator (clients, mail reader)"
    } else {
        "other"
    }
}

/// What one measurement window saw.
struct Window {
    /// The time of each step of the flows completed in the window.
    steps: Vec<Vec<Duration>>,
    /// CPU seconds each kind of thread used in the window.
    cpu: BTreeMap<&'static str, f64>,
    elapsed: f64,
}

impl Window {
    fn flows_per_s(&self) -> f64 {
        self.steps[3].len() as f64 / self.elapsed
    }
}

/// The simulated browsers: `clients` tasks on the load generator's runtime, each running
/// complete flows one after another while the load is on, each for a user of its own.
struct Load {
    /// Raised, the clients run flows; lowered, each finishes the flow it is in and waits.
    /// Dropped, they end.
    on: tokio::sync::watch::Sender<bool>,
    /// Clients inside a flow (or about to look whether the load is on).
    busy: Arc<AtomicUsize>,
    /// Set while a window is open: only flows that complete then are timed and counted.
    measuring: Arc<AtomicBool>,
    steps: Arc<std::sync::Mutex<Vec<Vec<Duration>>>>,
    /// Flows refused a step, in every phase: a refused step is a failure whenever.
    failed: Arc<AtomicUsize>,
}

impl Load {
    fn start(clients_rt: &tokio::runtime::Runtime, server: Server, clients: usize) -> Load {
        let _guard = clients_rt.enter();
        let server = Arc::new(server);
        let (on, on_rx) = tokio::sync::watch::channel(false);
        let load = Load {
            on,
            busy: Arc::new(AtomicUsize::new(0)),
            measuring: Arc::new(AtomicBool::new(false)),
            steps: Arc::new(std::sync::Mutex::new(vec![Vec::new(); 4])),
            failed: Arc::new(AtomicUsize::new(0)),
        };
        let next = Arc::new(AtomicUsize::new(0));
        // One HTTP client (a pool of keep-alive connections) for every simulated browser,
        // built before any clock starts; each browser keeps its own flow cookie and sends it
        // itself. (One client with a cookie jar per browser, built inside the measured phase,
        // spent about a tenth of the phase's CPU loading the system's root certificates 96
        // times over.)
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(clients)
            .build()
            .unwrap();
        for _ in 0..clients {
            let (server, next, client, mut on_rx) =
                (server.clone(), next.clone(), client.clone(), on_rx.clone());
            let (busy, measuring, steps, failed) = (
                load.busy.clone(),
                load.measuring.clone(),
                load.steps.clone(),
                load.failed.clone(),
            );
            tokio::spawn(async move {
                loop {
                    // Counted busy before looking, so that a pause never misses a client
                    // that saw the load still on.
                    busy.fetch_add(1, Ordering::SeqCst);
                    if !*on_rx.borrow_and_update() {
                        busy.fetch_sub(1, Ordering::SeqCst);
                        if on_rx.wait_for(|on| *on).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    let user = next.fetch_add(1, Ordering::Relaxed);
                    match one_flow(&server, &client, user).await {
                        Some(took) if measuring.load(Ordering::Relaxed) => {
                            let mut s = steps.lock().unwrap();
                            for (i, t) in took.iter().enumerate() {
                                s[i].push(*t);
                            }
                        }
                        Some(_) => {}
                        None => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    busy.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
        load
    }

    /// Turns the load on, measures one window of `duration` after `warm_up`, and turns the
    /// load off again once every client has finished its flow, so that the raw hash rate can
    /// be measured on an idle server next.
    ///
    /// Only the steady state is measured: the window opens after the warm-up and closes while
    /// every client is still busy. Outside it the load is not what is being measured: at the
    /// start every client sits in the first two steps (250 ms response floors each) and no
    /// hash is queued yet, and after the clients are told to stop, the last flows drain the
    /// hashing queue with fewer and fewer hashes left to run. Counting those phases, as runs
    /// did before 2026-11-26 (night), left 5–7 % of the CPU idle in the measurement, against
    /// about 3 % (the hypervisor's steal and other processes) in the steady state: idle time
    /// that only this closed loop causes.
    async fn window(&self, warm_up: Duration, duration: Duration) -> Window {
        self.on.send_replace(true);
        tokio::time::sleep(warm_up).await;
        let cpu_before = thread_cpu_seconds();
        let start = Instant::now();
        self.measuring.store(true, Ordering::Relaxed);
        tokio::time::sleep(duration).await;
        self.measuring.store(false, Ordering::Relaxed);
        let elapsed = start.elapsed().as_secs_f64();
        let cpu_after = thread_cpu_seconds();
        let mut steps = std::mem::replace(&mut *self.steps.lock().unwrap(), vec![Vec::new(); 4]);
        self.on.send_replace(false);
        while self.busy.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut cpu = BTreeMap::new();
        for (name, after) in &cpu_after {
            let before = cpu_before.get(name).copied().unwrap_or(0.0);
            *cpu.entry(role(name)).or_insert(0.0) += after - before;
        }
        for s in &mut steps {
            s.sort();
        }
        Window {
            steps,
            cpu,
            elapsed,
        }
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // The machine is shared and its speed drifts (the raw rate alone has moved from 69 to 86
    // hashes/s within one minute): so the flows are measured in rounds, each window between
    // two measurements of the raw rate on the idle server, and each window's ceiling is the
    // mean of the two around it, so that every ratio compares like with like.
    let (rounds, raw_for, warm_up, window) = if quick {
        (
            1,
            Duration::from_secs(2),
            Duration::from_secs(2),
            Duration::from_secs(5),
        )
    } else {
        (
            3,
            Duration::from_secs(6),
            // Long enough for every client to have gone round once and the hashing queue to
            // fill.
            Duration::from_secs(5),
            Duration::from_secs(12),
        )
    };
    // The server and the simulated browsers on runtimes of their own, as they would be in
    // separate processes, and with thread names that tell whose CPU time is whose.
    let runtime = |name: &str, workers: Option<usize>| {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = workers {
            builder.worker_threads(n);
        }
        builder.thread_name(name).enable_all().build().unwrap()
    };
    // For experiments only (the server's own runtime has one worker per core, as here by
    // default).
    let server_workers = std::env::var("SSPR_BENCH_SERVER_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok());
    let server_rt = runtime("sspr-server", server_workers);
    let clients_rt = runtime("load-gen", None);
    println!(
        "reset flow load benchmark: {} cores, argon2id m=19456 KiB t=2 p=1; {rounds} rounds of \
         {} s raw, {} s warm-up, {} s measured; then {} s raw",
        cores(),
        raw_for.as_secs(),
        warm_up.as_secs(),
        window.as_secs(),
        raw_for.as_secs()
    );
    let clients: usize = std::env::var("SSPR_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let mut raws = vec![raw_rate(raw_for)];
    // More users than the run can reset: every flow is a first reset of its user.
    let server = server_rt.block_on(start_server(20_000));
    let load = Load::start(&clients_rt, server, clients);
    let mut windows = Vec::new();
    for _ in 0..rounds {
        windows.push(clients_rt.block_on(load.window(warm_up, window)));
        raws.push(raw_rate(raw_for));
    }
    println!(
        "raw argon2id loop ({} threads), hashes/s: {}",
        cores(),
        raws.iter()
            .map(|r| format!("{r:.1}"))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    let mut shares = Vec::new();
    let mut cpu: BTreeMap<&str, f64> = BTreeMap::new();
    let (mut flows, mut possible, mut elapsed) = (0.0, 0.0, 0.0);
    for (i, w) in windows.iter().enumerate() {
        let ceiling = (raws[i] + raws[i + 1]) / 2.0 / HASHES_PER_FLOW;
        let share = 100.0 * w.flows_per_s() / ceiling;
        let total: f64 = w.cpu.values().sum();
        let hashing = w.cpu.get("hashing threads").copied().unwrap_or(0.0);
        println!(
            "  round {}: {:.1} complete flows/s of a ceiling of {ceiling:.1} = {share:.1}%   \
             (hashing threads {:.1}% of the CPU used)",
            i + 1,
            w.flows_per_s(),
            100.0 * hashing / total
        );
        shares.push(share);
        flows += w.steps[3].len() as f64;
        possible += ceiling * w.elapsed;
        elapsed += w.elapsed;
        for (role, secs) in &w.cpu {
            *cpu.entry(role).or_insert(0.0) += secs;
        }
    }
    shares.sort_by(f64::total_cmp);
    println!(
        "{clients} clients: {:.1} complete flows/s = {:.1}% of the ceiling over all rounds \
         (median round {:.1}%, at {HASHES_PER_FLOW} hashes per flow); {} flows refused a step",
        flows / elapsed,
        100.0 * flows / possible,
        shares[shares.len() / 2],
        load.failed.load(Ordering::Relaxed)
    );
    let total: f64 = cpu.values().sum();
    println!(
        "CPU in the measured windows: {total:.1} s of {:.1} s on {} cores",
        elapsed * cores() as f64,
        cores()
    );
    for (role, secs) in &cpu {
        println!("  {role:<46} {secs:>6.1} s  {:>5.1}%", 100.0 * secs / total);
    }
    let mut steps = vec![Vec::new(); 4];
    for w in &windows {
        for (all, s) in steps.iter_mut().zip(&w.steps) {
            all.extend_from_slice(s);
        }
    }
    for (name, s) in STEPS.iter().zip(&mut steps) {
        s.sort();
        println!(
            "  {name:<8} p50 {:>7.1} ms   p99 {:>7.1} ms   ({} samples)",
            percentile(s, 0.5).as_secs_f64() * 1e3,
            percentile(s, 0.99).as_secs_f64() * 1e3,
            s.len()
        );
    }
    println!("peak RSS of the whole process: {:.1} MiB", peak_rss_mib());
}
