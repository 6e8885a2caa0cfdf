//! Wiring: from a loaded configuration to a running server (the store, the hashing pool, the
//! outbox worker, the router), with graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sspr_core::BrandHandle;
use sspr_core::crypto::Sealer;
use sspr_core::policy::lockout::LockoutPolicy;
use sspr_core::ports::{
    AdjustableClock, BreachedPasswords, Clock, DirectoryAccounts, DirectorySyncJob, Store,
    SystemClock,
};
use sspr_directory::HashPool;
use sspr_directory::breached::BreachedCorpus;
use sspr_directory::ldap::{DirectoryKind, LdapDirectory, SyncMode};
use sspr_notify::dev::DevFileChannel;
use sspr_notify::outbox_delivery::OutboxDelivery;
use sspr_notify::router::ChannelRouter;
use sspr_notify::worker::{OutboxWorker, RetryPolicy};
use sspr_store::SqlStore;
use sspr_web::{AppState, WebSettings};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{DeliveryMode, Loaded};

/// Opens the database named by the configuration and applies pending migrations.
pub async fn open_store(loaded: &Loaded) -> anyhow::Result<SqlStore> {
    if loaded.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&loaded.config.data_dir).with_context(|| {
            format!(
                "cannot create data directory {}",
                loaded.config.data_dir.display()
            )
        })?;
    }
    let connections = loaded.config.database.connections_for(&loaded.database_url);
    let store = SqlStore::connect(&loaded.database_url, connections)
        .await
        .with_context(|| {
            format!(
                "cannot open database {}",
                crate::config::redact_url(&loaded.database_url)
            )
        })?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

/// The breached-password corpus imported into `breached.dir` (empty until an import).
pub fn breached_corpus(loaded: &Loaded) -> anyhow::Result<Arc<dyn BreachedPasswords>> {
    Ok(Arc::new(open_corpus(loaded)?))
}

fn open_corpus(loaded: &Loaded) -> anyhow::Result<BreachedCorpus> {
    BreachedCorpus::open(&loaded.breached_dir).with_context(|| {
        format!(
            "cannot load the breached-password corpus in {}",
            loaded.breached_dir.display()
        )
    })
}

/// The on-premises directory of `[directory]`, or `None` when `kind = "none"`.
pub fn directory(loaded: &Loaded) -> anyhow::Result<Option<Arc<LdapDirectory>>> {
    use secrecy::ExposeSecret;
    let settings = &loaded.config.directory;
    if settings.kind == DirectoryKind::None {
        return Ok(None);
    }
    // The directory's TLS uses the process's ring provider like every other client.
    sspr_notify::install_crypto_provider();
    let password = loaded
        .directory_password
        .as_ref()
        .map(|p| p.expose_secret().to_owned())
        .unwrap_or_default();
    let directory = LdapDirectory::new(settings.clone(), password)
        .map_err(|e| anyhow::anyhow!("cannot set up the directory: {e}"))?;
    Ok(Some(Arc::new(directory)))
}

pub fn hash_pool(loaded: &Loaded) -> anyhow::Result<HashPool> {
    HashPool::start(
        loaded.hash_params(),
        loaded.config.hashing.workers,
        loaded.config.hashing.queue,
    )
    .map_err(|e| anyhow::anyhow!("cannot start password hashing: {e}"))
}

/// A server bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    worker: Option<OutboxWorker>,
    corpus: BreachedCorpus,
    corpus_reload: Duration,
    grace: Duration,
    /// Housekeeping: expired codes, ceremonies and throttle counters older than this go.
    housekeeping: (Arc<dyn Store>, Arc<dyn Clock>, time::Duration),
    /// The brand in force, refreshed from the stored policy (another instance or the CLI may
    /// have changed it).
    brand: (BrandHandle, Arc<dyn Store>),
    /// The directory and the store the scheduled sync works on.
    directory: Option<(Arc<LdapDirectory>, Arc<dyn Store>)>,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and builds everything. The clock is a
    /// parameter so tests can freeze time.
    pub async fn build(
        loaded: &Loaded,
        store: Arc<dyn Store>,
        hasher: HashPool,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        Self::build_with(loaded, store, hasher, clock, None).await
    }

    /// As [`Self::build`]; `dev_clock` (development mode only) is the clock requests see,
    /// and `/dev/clock` can move it forward.
    pub async fn build_with(
        loaded: &Loaded,
        store: Arc<dyn Store>,
        hasher: HashPool,
        clock: Arc<dyn Clock>,
        dev_clock: Option<Arc<AdjustableClock>>,
    ) -> anyhow::Result<Self> {
        let clock = match &dev_clock {
            Some(dev) => Arc::clone(dev) as Arc<dyn Clock>,
            None => clock,
        };
        // reqwest (SMS/voice gateways) needs the process's rustls provider: ring.
        sspr_notify::install_crypto_provider();
        let key = crate::keys::load_or_create(&loaded.key_file)?;
        let corpus = open_corpus(loaded)?;
        let c = &loaded.config;
        let settings = WebSettings {
            public_base_url: c.server.public_base_url.trim_end_matches('/').to_owned(),
            trusted_proxies: loaded.trusted_proxies.clone(),
            max_body_bytes: c.server.max_body_bytes,
            dev_outbox: c.delivery.mode == DeliveryMode::Development,
            session_hours: c.server.session_hours,
            phone_regions: c.limits.phone_regions.clone(),
            flow_lifetime: time::Duration::minutes(c.reset.flow_minutes),
            pow_max_number: c.reset.pow_max_number,
            response_floor: Duration::from_millis(c.reset.response_floor_ms),
        };
        // The configuration's brand, overridden by what an administrator set in the policy.
        let brand = BrandHandle::new(sspr_core::Brand {
            organisation_name: c.organisation.name.clone(),
            logo_url: c.organisation.logo_url.clone(),
            colour: c.organisation.colour.clone(),
        });
        brand.apply(&store.policy().await?);
        let limits = c.limits.to_limits();
        // The longest window is a day; keep counters for it plus the block, and a margin.
        let housekeeping = (
            Arc::clone(&store),
            Arc::clone(&clock),
            time::Duration::hours(c.limits.block_hours) + time::Duration::days(2),
        );
        let directory = directory(loaded)?;
        let sync_store = Arc::clone(&store);
        let state = AppState {
            store: Arc::clone(&store),
            hasher: Arc::new(hasher),
            clock: Arc::clone(&clock),
            settings: Arc::new(settings),
            session_key: key.derive("session"),
            lockout: LockoutPolicy {
                threshold: c.lockout.threshold,
                base: time::Duration::seconds(c.lockout.duration_seconds),
                max: time::Duration::seconds(c.lockout.max_duration_seconds),
            },
            templates: Arc::new(sspr_web::templates::Templates::new()),
            metrics: sspr_web::telemetry::metrics_handle(),
            breached: Arc::new(corpus.clone()),
            custom_banned: Arc::default(),
            delivery: Arc::new(OutboxDelivery {
                store: Arc::clone(&store),
                brand: brand.clone(),
            }),
            brand: brand.clone(),
            code_key: key.derive("one-time-codes"),
            decoy_key: key.derive("reset-decoys"),
            pow_key: key.derive("proof-of-work").keyed_hash(b"altcha"),
            sealer: Arc::new(Sealer::new(&key)),
            limits: Arc::new(limits),
            passkeys: relying_party(&c.server.public_base_url, &c.organisation.name),
            dev_clock: dev_clock.filter(|_| c.delivery.mode == DeliveryMode::Development),
            directory: directory.clone().map(|d| d as Arc<dyn DirectoryAccounts>),
            directory_sync: directory.clone().map(|d| {
                Arc::new(SyncJob {
                    directory: d,
                    store: Arc::clone(&sync_store),
                }) as Arc<dyn DirectorySyncJob>
            }),
        };
        let router = sspr_web::router(state).map_err(|e| anyhow::anyhow!(e))?;
        let worker = match c.delivery.mode {
            DeliveryMode::Development => {
                if let Some(dir) = loaded.outbox_file.parent() {
                    std::fs::create_dir_all(dir).ok();
                }
                Some(OutboxWorker {
                    store,
                    channel: Arc::new(DevFileChannel::new(&loaded.outbox_file)),
                    // Delivery runs on real time even when tests freeze the request clock:
                    // the store stamps queued messages with the wall clock.
                    clock: system_clock(),
                    retry: RetryPolicy::default(),
                    batch: 50,
                })
            }
            DeliveryMode::Production => Some(OutboxWorker {
                store,
                channel: Arc::new(channel_router(loaded)?),
                clock: system_clock(),
                retry: RetryPolicy::default(),
                batch: 50,
            }),
        };
        let listener = TcpListener::bind(loaded.listen)
            .await
            .with_context(|| format!("cannot listen on {}", loaded.listen))?;
        Ok(Self {
            listener,
            router,
            worker,
            corpus,
            corpus_reload: Duration::from_secs(c.breached.reload_seconds),
            grace: Duration::from_secs(c.server.shutdown_grace_seconds),
            brand: (brand, Arc::clone(&housekeeping.0)),
            housekeeping,
            directory: directory.map(|d| (d, sync_store)),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves; then stops accepting, lets in-flight requests
    /// finish (up to the grace period), and stops the outbox worker.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = self
            .worker
            .map(|w| tokio::spawn(w.run(Duration::from_millis(500), stop_rx.clone())));
        let (store, clock, retention) = self.housekeeping;
        let housekeeper = tokio::spawn(housekeeping(store, clock, retention, stop_rx.clone()));
        let (brand, brand_store) = self.brand;
        let brand_refresher = tokio::spawn(refresh_brand(brand, brand_store, stop_rx.clone()));
        let syncer = match self.directory {
            Some((d, s)) if d.settings().sync_interval_minutes > 0 => {
                Some(tokio::spawn(scheduled_sync(d, s, stop_rx.clone())))
            }
            _ => None,
        };
        let reloader = tokio::spawn(reload_corpus(
            self.corpus,
            self.corpus_reload,
            stop_rx.clone(),
        ));
        let mut grace_rx = stop_rx.clone();
        let grace = self.grace;
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop_tx.send(true);
        });
        // After shutdown begins, wait at most `grace` for in-flight requests.
        let limited = async move {
            let _ = grace_rx.changed().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            res = serve => res.context("server failed")?,
            _ = limited => tracing::warn!("grace period over; exiting with requests still in flight"),
        }
        if let Some(w) = worker {
            let _ = w.await;
        }
        reloader.abort();
        housekeeper.abort();
        brand_refresher.abort();
        if let Some(s) = syncer {
            s.abort();
        }
        Ok(())
    }
}

/// Every ten minutes, deletes one-time codes, WebAuthn ceremonies and throttle counters older
/// than `retention` (longer than any limit's window plus its block), so those tables stay
/// small. A failure is logged and tried again next time.
async fn housekeeping(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    retention: time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match store.prune_expired(clock.now() - retention).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "housekeeping removed expired rows"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How often an instance re-reads the policy's brand (a change made on this instance applies
/// at once; one made elsewhere within this).
const BRAND_REFRESH: Duration = Duration::from_secs(10);

async fn refresh_brand(brand: BrandHandle, store: Arc<dyn Store>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(BRAND_REFRESH) => {}
            _ = stop.changed() => return,
        }
        match store.policy().await {
            Ok(policy) => brand.apply(&policy),
            Err(e) => tracing::debug!(error = %e, "cannot refresh the brand; keeping the last one"),
        }
    }
}

/// A sync on demand (`POST /api/v1/admin/directory/sync`).
struct SyncJob {
    directory: Arc<LdapDirectory>,
    store: Arc<dyn Store>,
}

#[async_trait::async_trait]
impl DirectorySyncJob for SyncJob {
    async fn run(
        &self,
        full: bool,
        actor: &str,
    ) -> Result<serde_json::Value, sspr_core::ports::DirectoryError> {
        use sspr_core::ports::DirectoryError;
        use sspr_directory::ldap::SyncError;
        let mode = if full {
            SyncMode::Full
        } else {
            SyncMode::Incremental
        };
        match self
            .directory
            .sync(self.store.as_ref(), mode, actor, &|_| {})
            .await
        {
            Ok(report) => Ok(serde_json::to_value(&report).unwrap_or_default()),
            Err(SyncError::Directory(e)) => Err(e),
            Err(SyncError::Store(e)) => Err(DirectoryError::Unavailable(format!(
                "sspr's database failed during the sync: {e}"
            ))),
        }
    }
}

/// Syncs the directory every `sync_interval_minutes`: incrementally, with a full sync (which
/// notices deleted entries) at start and then once a day. A failure is logged and the next
/// run tries again.
async fn scheduled_sync(
    directory: Arc<LdapDirectory>,
    store: Arc<dyn Store>,
    mut stop: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(directory.settings().sync_interval_minutes * 60);
    let full_every = Duration::from_secs(24 * 3600);
    let mut last_full: Option<std::time::Instant> = None;
    loop {
        let mode = match last_full {
            Some(t) if t.elapsed() < full_every => SyncMode::Incremental,
            _ => SyncMode::Full,
        };
        match directory
            .sync(store.as_ref(), mode, "system", &|_| {})
            .await
        {
            Ok(r) => {
                if mode == SyncMode::Full {
                    last_full = Some(std::time::Instant::now());
                }
                tracing::info!(
                    ?mode,
                    read = r.read,
                    created = r.created,
                    updated = r.updated,
                    removed = r.removed,
                    skipped = r.skipped,
                    conflicts = r.conflicts,
                    "directory sync done"
                );
            }
            Err(e) => tracing::warn!(error = %e, "directory sync failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The production channels: email through SMTP, SMS and voice through their gateways. Must
/// run inside the runtime (the SMTP pool starts a task).
pub fn channel_router(loaded: &Loaded) -> anyhow::Result<ChannelRouter> {
    let c = &loaded.channels;
    let mut router = ChannelRouter::new();
    if let Some(smtp) = &c.smtp {
        let channel = sspr_notify::smtp::SmtpChannel::new(smtp)
            .map_err(|e| anyhow::anyhow!("cannot set up SMTP: {e}"))?;
        router = router.with_email(Arc::new(channel));
    }
    if let Some(sms) = &c.sms {
        router = router.with_sms(
            sms.build()
                .map_err(|e| anyhow::anyhow!("cannot set up the SMS gateway: {e}"))?,
        );
    }
    if let Some(voice) = &c.voice {
        router = router.with_voice(
            voice
                .build()
                .map_err(|e| anyhow::anyhow!("cannot set up the voice gateway: {e}"))?,
        );
    }
    tracing::info!(
        email = c.smtp.is_some(),
        sms = c.sms.is_some(),
        voice = c.voice.is_some(),
        "production delivery"
    );
    Ok(router)
}

/// Picks up a new `sspr breached import` while serving. Loading runs on a blocking thread: a
/// large corpus takes a moment to read.
async fn reload_corpus(corpus: BreachedCorpus, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let c = corpus.clone();
        match tokio::task::spawn_blocking(move || c.reload_if_changed()).await {
            Ok(Ok(true)) => {
                let s = corpus.status();
                tracing::info!(entries = s.entries, generation = ?s.generation, "loaded a new breached-password corpus");
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot load the new breached-password corpus; keeping the current one")
            }
            Err(e) => tracing::warn!(error = %e, "breached-password reload task failed"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Passkeys need a host name in the public base URL; without one they are not offered, and
/// the operator is told why once at start.
fn relying_party(
    public_base_url: &str,
    organisation: &str,
) -> Option<Arc<sspr_core::methods::passkey::RelyingParty>> {
    match sspr_core::methods::passkey::RelyingParty::new(public_base_url, organisation) {
        Ok(rp) => Some(Arc::new(rp)),
        Err(reason) => {
            tracing::warn!(%reason, "passkeys are not available");
            None
        }
    }
}
