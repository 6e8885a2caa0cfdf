use std::path::PathBuf;
use std::sync::Arc;

use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::ports::{Clock, FrozenClock, PasswordHasher, Store};
use sspr_core::{AdminRole, DisplayName, EmailAddress, NewUser, User, Username};
use sspr_directory::{HashParams, HashPool};
use sspr_server::app::Application;
use sspr_server::config::{Config, Loaded, from_config};
use sspr_store::SqlStore;
use time::macros::datetime;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<SqlStore>,
    pub clock: Arc<FrozenClock>,
    pub hasher: HashPool,
    pub loaded: Loaded,
    pub _dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Options {
    pub public_base_url: Option<String>,
    pub trusted_proxies: Vec<String>,
    pub hashing: HashParams,
    pub workers: usize,
    pub queue: usize,
    /// Any other change to the configuration.
    pub tweak: Option<fn(&mut Config)>,
    /// A database other than SQLite in the data directory.
    pub database_url: Option<String>,
    /// An on-premises directory to connect (the directory tests).
    pub directory: Option<sspr_directory::ldap::DirectorySettings>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            public_base_url: None,
            trusted_proxies: vec![],
            hashing: HashParams::TEST_ONLY,
            workers: 2,
            queue: 64,
            tweak: None,
            database_url: None,
            directory: None,
        }
    }
}

pub fn config_in(dir: &std::path::Path, opts: &Options) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.server.listen = "127.0.0.1:0".into();
    c.server.public_base_url = opts
        .public_base_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    c.server.trusted_proxies = opts.trusted_proxies.clone();
    c.server.shutdown_grace_seconds = 5;
    c.hashing.memory_kib = opts.hashing.memory_kib;
    c.hashing.iterations = opts.hashing.iterations;
    c.hashing.parallelism = opts.hashing.parallelism;
    c.hashing.workers = opts.workers;
    c.hashing.queue = opts.queue;
    c.organisation.name = "Example Org".into();
    c.breached.reload_seconds = 1;
    // No proof of work and no response floor unless a test asks for them: they are tested
    // on their own, and would only slow the other tests down.
    c.reset.pow_max_number = 0;
    c.reset.response_floor_ms = 0;
    if let Some(url) = &opts.database_url {
        c.database.url = url.clone();
    }
    if let Some(d) = &opts.directory {
        c.directory = d.clone();
    }
    if let Some(tweak) = opts.tweak {
        tweak(&mut c);
    }
    c
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(opts: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = spawn_app_in(dir.path(), opts).await;
    app._dir = Some(dir);
    app
}

/// A server on the data in `dir` (which the caller keeps): a second one on the same
/// directory sees what the first one stored, as after a restart.
pub async fn spawn_app_in(dir: &std::path::Path, opts: Options) -> TestApp {
    let loaded = from_config(config_in(dir, &opts)).expect("valid test config");
    let store = Arc::new(sspr_server::app::open_store(&loaded).await.expect("store"));
    let hasher = HashPool::start(opts.hashing, opts.workers, opts.queue).expect("hash pool");
    let clock = Arc::new(FrozenClock::at(datetime!(2026-11-25 08:00 UTC)));
    let app = Application::build(
        &loaded,
        store.clone() as Arc<dyn Store>,
        hasher.clone(),
        clock.clone() as Arc<dyn Clock>,
    )
    .await
    .expect("build app");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        client: client(),
        store,
        clock,
        hasher,
        loaded,
        _dir: None,
        stop: Some(stop),
    }
}

/// A client that keeps cookies and never follows redirects.
pub fn client() -> reqwest::Client {
    // reqwest is built with rustls but no provider of its own (see sspr-notify).
    sspr_notify::install_crypto_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a cloud-only user with a password.
    pub async fn add_user(&self, username: &str, password: &str) -> User {
        let mut u = NewUser::cloud(
            Username::parse(username).unwrap(),
            DisplayName::parse(&format!("User {username}")).unwrap(),
        );
        u.email = Some(EmailAddress::parse(&format!("{username}@example.org")).unwrap());
        u.password_hash = Some(self.hasher.hash(password).await.unwrap());
        self.store
            .create_user(
                &u,
                &AuditEvent::new("Add user", Outcome::Success).actor("test"),
            )
            .await
            .unwrap()
    }

    pub async fn add_admin(&self, username: &str, password: &str) -> User {
        let user = self.add_user(username, password).await;
        let update = sspr_core::ports::ProfileUpdate {
            display_name: user.display_name.clone(),
            first_name: None,
            last_name: None,
            email: user.email.clone(),
            alternate_email: None,
            mobile_phone: None,
            office_phone: None,
            roles: [AdminRole::GlobalAdmin].into(),
            enabled: true,
        };
        self.store
            .update_profile(
                user.id,
                &update,
                &AuditEvent::new("Update user", Outcome::Success),
            )
            .await
            .unwrap();
        self.store.get_user(user.id).await.unwrap().unwrap()
    }

    /// A new client signed in as a freshly created global administrator.
    pub async fn admin_client(&self) -> reqwest::Client {
        self.add_admin("root", "Tangerine-Bicycle-Orbit-43").await;
        let admin = client();
        let r = admin
            .post(self.url("/api/v1/session"))
            .json(
                &serde_json::json!({"username": "root", "password": "Tangerine-Bicycle-Orbit-43"}),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), reqwest::StatusCode::OK, "the admin signs in");
        admin
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("request")
    }
}

/// The `sspr` binary built for these tests.
pub fn sspr_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sspr"))
}
