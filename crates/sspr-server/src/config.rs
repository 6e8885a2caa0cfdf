//! Configuration: built-in defaults ← one TOML file ← `SSPR_*` environment variables
//! (`SSPR_SERVER__LISTEN=0.0.0.0:8080`: sections and keys joined by `__`). Secrets can be read
//! from files (`database.url_file`), so they need not sit in the TOML or the environment.
//!
//! `sspr config check` prints the effective configuration with secrets redacted, and a bad
//! value is reported with the file (or variable), the key, and the reason.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::{Figment, Metadata};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use sspr_directory::HashParams;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where sspr keeps its SQLite database, key file and development outbox.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub hashing: HashingConfig,
    pub delivery: DeliveryConfig,
    pub smtp: SmtpConfig,
    pub sms: GatewayConfig,
    pub voice: GatewayConfig,
    pub organisation: OrganisationConfig,
    pub keys: KeysConfig,
    pub lockout: LockoutConfig,
    pub limits: LimitsConfig,
    pub reset: ResetConfig,
    pub breached: BreachedConfig,
    pub log: LogConfig,
    /// The on-premises directory (`[directory]`, docs/directories.md); kind = "none" by default.
    pub directory: sspr_directory::ldap::DirectorySettings,
}

/// The reset flow (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResetConfig {
    /// How long a started reset stays usable (SPEC §4: 15 minutes).
    pub flow_minutes: i64,
    /// Proof-of-work difficulty: the largest number the browser may have to try (ALTCHA's
    /// `maxnumber`). 50,000 takes a phone about a second; 0 switches the proof of work off
    /// (for tests and load measurements only).
    pub pow_max_number: u64,
    /// Every start and send answer takes at least this long, so the time of an answer does
    /// not tell an existing user from an unknown one (security.md R1–R3).
    pub response_floor_ms: u64,
}

impl Default for ResetConfig {
    fn default() -> Self {
        Self {
            flow_minutes: 15,
            pow_max_number: 50_000,
            response_floor_ms: 250,
        }
    }
}

/// The limits of SPEC §4 on codes, sends and checks. The defaults are Entra's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// How long a one-time code is valid (at most 600).
    pub code_lifetime_seconds: i64,
    /// Failed verifications per user in 24 hours before the user is blocked.
    pub failed_verifications_per_day: u32,
    /// Sends or checks of one gate (phone, app, questions) per user per hour.
    pub gate_attempts_per_hour: u32,
    /// Emails per user in 10 minutes.
    pub emails_per_10_minutes: u32,
    /// Texts and calls to one number in 24 hours (toll-fraud defence).
    pub sends_per_number_per_day: u32,
    /// How long a user or number stays blocked once a limit is reached.
    pub block_hours: i64,
    /// Sends and checks per client IP address per hour.
    pub sends_per_ip_per_hour: u32,
    pub checks_per_ip_per_hour: u32,
    /// ISO 3166 regions phone numbers may belong to (e.g. ["GB", "DE"]); empty allows all.
    pub phone_regions: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let d = sspr_core::policy::throttle::Limits::default();
        Self {
            code_lifetime_seconds: d.code_lifetime.whole_seconds(),
            failed_verifications_per_day: d.failed_verifications.limit,
            gate_attempts_per_hour: d.gate_attempts.limit,
            emails_per_10_minutes: d.emails.limit,
            sends_per_number_per_day: d.per_destination.limit,
            block_hours: d.failed_verifications.block.whole_hours(),
            sends_per_ip_per_hour: d.per_ip_sends.limit,
            checks_per_ip_per_hour: d.per_ip_checks.limit,
            phone_regions: Vec::new(),
        }
    }
}

impl LimitsConfig {
    pub fn to_limits(&self) -> sspr_core::policy::throttle::Limits {
        use sspr_core::policy::throttle::{Limits, ThrottleRule};
        use time::Duration;
        let block = Duration::hours(self.block_hours);
        let d = Limits::default();
        Limits {
            failed_verifications: ThrottleRule {
                limit: self.failed_verifications_per_day,
                window: Duration::hours(24),
                block,
            },
            gate_attempts: ThrottleRule {
                limit: self.gate_attempts_per_hour,
                window: Duration::hours(1),
                block,
            },
            emails: ThrottleRule {
                limit: self.emails_per_10_minutes,
                window: Duration::minutes(10),
                block,
            },
            per_destination: ThrottleRule {
                limit: self.sends_per_number_per_day,
                window: Duration::hours(24),
                block,
            },
            per_ip_sends: ThrottleRule {
                limit: self.sends_per_ip_per_hour,
                ..d.per_ip_sends
            },
            per_ip_checks: ThrottleRule {
                limit: self.checks_per_ip_per_hour,
                ..d.per_ip_checks
            },
            code_lifetime: Duration::seconds(self.code_lifetime_seconds),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreachedConfig {
    /// Where `sspr breached import` writes the filter set; default `<data_dir>/breached`.
    pub dir: Option<PathBuf>,
    /// How often a running server looks for a newer import.
    pub reload_seconds: u64,
}

impl Default for BreachedConfig {
    fn default() -> Self {
        Self {
            dir: None,
            reload_seconds: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    /// The address users reach sspr at; every link sspr builds starts with it (never with
    /// the request's Host header).
    pub public_base_url: String,
    /// Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<String>,
    pub max_body_bytes: usize,
    /// How long SIGTERM waits for in-flight requests before exiting anyway.
    pub shutdown_grace_seconds: u64,
    pub session_hours: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:///path/sspr.db` or `postgres://user:password@host/db`. Empty: SQLite in
    /// `data_dir`.
    pub url: String,
    /// Read the URL from this file instead (it holds the password).
    pub url_file: Option<PathBuf>,
    /// Connections in the PostgreSQL pool; unset:
    /// [`DatabaseConfig::DEFAULT_POSTGRES_CONNECTIONS`]. SQLite always has one connection.
    pub max_connections: Option<u32>,
}

impl DatabaseConfig {
    /// SQLite writes one transaction at a time whatever the number of connections, every
    /// commit by one connection empties the page cache of all the others, and the store runs
    /// SQLite's statements in place on the request's thread (sspr-store's `db` module): one
    /// connection is all SQLite gets.
    pub const SQLITE_CONNECTIONS: u32 = 1;
    pub const DEFAULT_POSTGRES_CONNECTIONS: u32 = 8;

    /// The number of connections to the database at `url`.
    pub fn connections_for(&self, url: &str) -> u32 {
        if url.starts_with("sqlite:") {
            Self::SQLITE_CONNECTIONS
        } else {
            self.max_connections
                .unwrap_or(Self::DEFAULT_POSTGRES_CONNECTIONS)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashingConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashing threads; 0 = one per core. Never more than the cores.
    pub workers: usize,
    /// Sign-ins that may wait for a hashing thread; beyond that the answer is 503.
    pub queue: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    /// Messages go to a file and `/dev/outbox`. Not for production.
    Development,
    /// Email through `[smtp]` (required), SMS and voice through `[sms]` and `[voice]`.
    Production,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    pub mode: DeliveryMode,
    /// The development outbox file; default `<data_dir>/outbox.jsonl`.
    pub outbox_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurityConfig {
    None,
    Starttls,
    Tls,
}

/// The mail server (`[smtp]`), used in production delivery mode. docs/delivery.md has the
/// details and examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Empty: no mail server.
    pub host: String,
    /// Default: 587 for starttls, 465 for tls, 25 for none.
    pub port: Option<u16>,
    pub security: SmtpSecurityConfig,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Read the password from this file instead.
    pub password_file: Option<PathBuf>,
    /// The sender address; the organisation's name is its display name.
    pub from: String,
    /// Extra CA certificates (PEM) to trust, for a mail server with a private CA.
    pub ca_file: Option<PathBuf>,
    pub timeout_seconds: u64,
    /// Connections kept open.
    pub pool_size: u32,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: None,
            security: SmtpSecurityConfig::Starttls,
            username: None,
            password: None,
            password_file: None,
            from: String::new(),
            ca_file: None,
            timeout_seconds: 30,
            pool_size: 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayProvider {
    Webhook,
    Twilio,
}

/// An SMS (`[sms]`) or voice (`[voice]`) gateway. Without `provider` the channel is not
/// configured and its messages fail permanently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    pub provider: Option<GatewayProvider>,
    pub timeout_seconds: u64,
    // provider = "webhook"
    pub url: String,
    pub auth_header_name: String,
    pub auth_header_value: Option<String>,
    pub auth_header_value_file: Option<PathBuf>,
    pub body_template: String,
    // provider = "twilio"
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Option<String>,
    pub auth_token_file: Option<PathBuf>,
    pub from_number: String,
    pub voice_language: String,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            provider: None,
            timeout_seconds: 10,
            url: String::new(),
            auth_header_name: "Authorization".into(),
            auth_header_value: None,
            auth_header_value_file: None,
            body_template: sspr_notify::gateway::DEFAULT_BODY_TEMPLATE.into(),
            base_url: sspr_notify::gateway::TWILIO_BASE_URL.into(),
            account_sid: String::new(),
            auth_token: None,
            auth_token_file: None,
            from_number: String::new(),
            voice_language: "en-GB".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrganisationConfig {
    pub name: String,
    /// A logo for the pages and HTML email: an `https://` URL (or `http://` for a local
    /// test). Pages allow images from its origin.
    pub logo_url: Option<String>,
    /// The brand colour, `#RRGGBB`, for page accents and email buttons.
    pub colour: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// The server key (HMAC of session ids and codes, sealing). Created with mode 0600 at
    /// first start when missing; default `<data_dir>/keys/server.key`.
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutConfig {
    pub threshold: u32,
    pub duration_seconds: i64,
    pub max_duration_seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `sspr_web=debug,info`. `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("sspr-data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            hashing: HashingConfig::default(),
            delivery: DeliveryConfig::default(),
            smtp: SmtpConfig::default(),
            sms: GatewayConfig::default(),
            voice: GatewayConfig::default(),
            organisation: OrganisationConfig::default(),
            keys: KeysConfig::default(),
            lockout: LockoutConfig::default(),
            limits: LimitsConfig::default(),
            reset: ResetConfig::default(),
            breached: BreachedConfig::default(),
            log: LogConfig::default(),
            directory: sspr_directory::ldap::DirectorySettings::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_base_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
            max_body_bytes: 64 * 1024,
            shutdown_grace_seconds: 30,
            session_hours: 8,
        }
    }
}

impl Default for HashingConfig {
    fn default() -> Self {
        let p = HashParams::default();
        Self {
            memory_kib: p.memory_kib,
            iterations: p.iterations,
            parallelism: p.parallelism,
            workers: 0,
            queue: 32,
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            mode: DeliveryMode::Development,
            outbox_file: None,
        }
    }
}

impl Default for OrganisationConfig {
    fn default() -> Self {
        Self {
            name: "sspr".into(),
            logo_url: None,
            colour: None,
        }
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            threshold: 10,
            duration_seconds: 60,
            max_duration_seconds: 24 * 3600,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// The configuration's top-level keys: only `SSPR_<KEY>…` variables for these are read, so
/// that unrelated variables (say `SSPR_TEST_POSTGRES_URL`) are not mistaken for settings.
const SECTIONS: &[&str] = &[
    "data_dir",
    "server",
    "database",
    "hashing",
    "delivery",
    "smtp",
    "sms",
    "voice",
    "organisation",
    "keys",
    "lockout",
    "breached",
    "log",
    "directory",
];

/// The channels `[smtp]`, `[sms]` and `[voice]` describe, checked and with secrets read.
#[derive(Debug, Clone, Default)]
pub struct DeliveryChannels {
    pub smtp: Option<sspr_notify::smtp::SmtpSettings>,
    pub sms: Option<sspr_notify::gateway::GatewaySettings>,
    pub voice: Option<sspr_notify::gateway::GatewaySettings>,
}

/// A configuration problem, worded for the operator: where, which key, why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The loaded configuration plus what is derived from it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The database URL (from `database.url`, `database.url_file`, or the SQLite default).
    pub database_url: String,
    pub listen: SocketAddr,
    pub trusted_proxies: Vec<IpNet>,
    pub key_file: PathBuf,
    pub outbox_file: PathBuf,
    /// The delivery channels of production mode, secrets read (all `None` in development).
    pub channels: DeliveryChannels,
    pub breached_dir: PathBuf,
    /// The directory service account's password (`directory.bind_password[_file]`).
    pub directory_password: Option<secrecy::SecretString>,
    /// Valid but unwise settings, for the operator's attention.
    pub warnings: Vec<String>,
}

fn figment(file: Option<&Path>) -> Figment {
    let mut f = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = file {
        f = f.merge(Toml::file_exact(path));
    }
    f.merge(
        Env::prefixed("SSPR_")
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                SECTIONS
                    .iter()
                    .any(|s| key == *s || key.starts_with(&format!("{s}__")))
            })
            .split("__"),
    )
}

/// Names where a key's value came from: a file, an environment variable or the defaults.
fn source_of(f: &Figment, key: &str) -> String {
    match f.find_metadata(key) {
        Some(m) if m.name.contains("environment") => format!(
            "environment variable SSPR_{}",
            key.to_ascii_uppercase().replace('.', "__")
        ),
        Some(Metadata {
            source: Some(source),
            ..
        }) => source.to_string(),
        Some(m) => m.name.to_string(),
        None => "the defaults".into(),
    }
}

/// Loads, parses and validates. `file` is the TOML file, if any.
pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigError> {
    if let Some(path) = file
        && !path.is_file()
    {
        return Err(ConfigError(format!(
            "configuration file {} does not exist",
            path.display()
        )));
    }
    let f = figment(file);
    let config: Config = f.extract().map_err(|e| {
        // figment names the key and the source; make each error one readable line.
        let lines: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        ConfigError(format!("invalid configuration: {}", lines.join("; ")))
    })?;
    validate(config, &f)
}

/// Validates a configuration built in code (the demo), with no file or environment involved.
pub fn from_config(config: Config) -> Result<Loaded, ConfigError> {
    let f = Figment::from(Serialized::defaults(config.clone()));
    validate(config, &f)
}

fn invalid(f: &Figment, key: &str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!(
        "invalid configuration: `{key}` (from {}): {reason}",
        source_of(f, key)
    ))
}

fn validate(config: Config, f: &Figment) -> Result<Loaded, ConfigError> {
    let listen: SocketAddr = config.server.listen.parse().map_err(|_| {
        invalid(
            f,
            "server.listen",
            "expected an address and port such as 127.0.0.1:8080",
        )
    })?;
    let base = &config.server.public_base_url;
    let scheme_ok = base.starts_with("http://") || base.starts_with("https://");
    let rest = base.split_once("://").map(|x| x.1).unwrap_or("");
    if !scheme_ok
        || rest.is_empty()
        || rest.starts_with('/')
        || base.contains(char::is_whitespace)
        || base.contains(['?', '#'])
    {
        return Err(invalid(
            f,
            "server.public_base_url",
            "expected an absolute http:// or https:// URL such as https://sspr.example.org",
        ));
    }
    let mut trusted_proxies = Vec::new();
    for (i, p) in config.server.trusted_proxies.iter().enumerate() {
        let net = p
            .parse::<IpNet>()
            .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| {
                invalid(
                    f,
                    "server.trusted_proxies",
                    format!("entry {i} ({p:?}) is not an IP address or CIDR range"),
                )
            })?;
        trusted_proxies.push(net);
    }
    if !(1024..=16 * 1024 * 1024).contains(&config.server.max_body_bytes) {
        return Err(invalid(
            f,
            "server.max_body_bytes",
            "must be between 1024 and 16777216",
        ));
    }
    if !(1..=24 * 30).contains(&config.server.session_hours) {
        return Err(invalid(
            f,
            "server.session_hours",
            "must be between 1 and 720",
        ));
    }
    if config.server.shutdown_grace_seconds > 3600 {
        return Err(invalid(
            f,
            "server.shutdown_grace_seconds",
            "must be at most 3600",
        ));
    }
    if let Some(n) = config.database.max_connections
        && !(1..=1000).contains(&n)
    {
        return Err(invalid(
            f,
            "database.max_connections",
            "must be between 1 and 1000",
        ));
    }
    let params = HashParams {
        memory_kib: config.hashing.memory_kib,
        iterations: config.hashing.iterations,
        parallelism: config.hashing.parallelism,
    };
    if let Err(e) = params.validate() {
        return Err(invalid(
            f,
            "hashing",
            format!("argon2 rejects these parameters: {e}"),
        ));
    }
    // Logging is not set up yet while the configuration loads: collect, and let the caller
    // report them.
    let mut warnings = Vec::new();
    if config.hashing.memory_kib < 19_456 || config.hashing.iterations < 2 {
        warnings.push(format!(
            "`hashing` (from {}): argon2id parameters below OWASP's minimum (m=19456 KiB, t=2) weaken every stored password",
            source_of(f, "hashing.memory_kib")
        ));
    }
    if !(1..=10_000).contains(&config.hashing.queue) {
        return Err(invalid(f, "hashing.queue", "must be between 1 and 10000"));
    }
    if config.organisation.name.trim().is_empty() || config.organisation.name.chars().count() > 100
    {
        return Err(invalid(
            f,
            "organisation.name",
            "must have 1 to 100 characters",
        ));
    }
    if let Some(logo) = &config.organisation.logo_url {
        let ok = url::Url::parse(logo)
            .map(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
            .unwrap_or(false);
        if !ok || logo.contains(['"', '\'', ' ', ';']) {
            return Err(invalid(
                f,
                "organisation.logo_url",
                "must be an https:// URL of an image",
            ));
        }
    }
    if let Some(colour) = &config.organisation.colour {
        let ok = colour.len() == 7
            && colour.starts_with('#')
            && colour[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !ok {
            return Err(invalid(
                f,
                "organisation.colour",
                "must be a colour as #RRGGBB, for example #1f4e79",
            ));
        }
    }
    if !(5..=60).contains(&config.reset.flow_minutes) {
        return Err(invalid(f, "reset.flow_minutes", "must be between 5 and 60"));
    }
    if config.reset.pow_max_number > 10_000_000 {
        return Err(invalid(
            f,
            "reset.pow_max_number",
            "must be at most 10000000 (0 switches the proof of work off)",
        ));
    }
    if config.reset.response_floor_ms > 5_000 {
        return Err(invalid(
            f,
            "reset.response_floor_ms",
            "must be at most 5000",
        ));
    }
    if config.lockout.threshold == 0 || config.lockout.threshold > 1000 {
        return Err(invalid(
            f,
            "lockout.threshold",
            "must be between 1 and 1000",
        ));
    }
    if config.lockout.duration_seconds < 1
        || config.lockout.max_duration_seconds < config.lockout.duration_seconds
    {
        return Err(invalid(
            f,
            "lockout.duration_seconds",
            "must be at least 1 and at most lockout.max_duration_seconds",
        ));
    }
    if config.limits.block_hours < 1 || config.limits.block_hours > 24 * 30 {
        return Err(invalid(
            f,
            "limits.block_hours",
            "must be between 1 and 720",
        ));
    }
    if let Err(errors) = config.limits.to_limits().validate() {
        let what: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return Err(invalid(f, "limits", what.join("; ")));
    }
    for region in &config.limits.phone_regions {
        if region.len() != 2 || !region.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(invalid(
                f,
                "limits.phone_regions",
                format!("{region:?} is not a two-letter ISO 3166 region code such as \"GB\""),
            ));
        }
    }
    if let Err(e) = config.log.level.parse::<tracing_subscriber::EnvFilter>() {
        return Err(invalid(f, "log.level", format!("not a valid filter: {e}")));
    }
    let database_url = match (&config.database.url_file, config.database.url.is_empty()) {
        (Some(_), false) => {
            return Err(invalid(
                f,
                "database.url_file",
                "set either database.url or database.url_file, not both",
            ));
        }
        (Some(path), true) => std::fs::read_to_string(path)
            .map_err(|e| {
                invalid(
                    f,
                    "database.url_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?
            .trim()
            .to_owned(),
        (None, false) => config.database.url.clone(),
        (None, true) => format!("sqlite://{}", config.data_dir.join("sspr.db").display()),
    };
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(invalid(
            f,
            if config.database.url_file.is_some() {
                "database.url_file"
            } else {
                "database.url"
            },
            "expected a sqlite:… or postgres://… URL",
        ));
    }
    let key_file = config
        .keys
        .key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("keys").join("server.key"));
    let outbox_file = config
        .delivery
        .outbox_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("outbox.jsonl"));
    if !(1..=86_400).contains(&config.breached.reload_seconds) {
        return Err(invalid(
            f,
            "breached.reload_seconds",
            "must be between 1 and 86400",
        ));
    }
    let breached_dir = config
        .breached
        .dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("breached"));
    if database_url.starts_with("sqlite:") && config.database.max_connections.is_some_and(|n| n > 1)
    {
        warnings.push(format!(
            "`database.max_connections` (from {}) applies to PostgreSQL only: SQLite has one connection",
            source_of(f, "database.max_connections")
        ));
    }
    let channels = delivery_channels(&config, f, &mut warnings)?;
    let mut config = config;
    let directory_password = directory_settings(&mut config.directory, f)?;
    Ok(Loaded {
        config,
        database_url,
        listen,
        trusted_proxies,
        key_file,
        outbox_file,
        channels,
        breached_dir,
        directory_password,
        warnings,
    })
}

/// Checks `[directory]`, fills in the defaults of its kind and reads the service account's
/// password.
fn directory_settings(
    d: &mut sspr_directory::ldap::DirectorySettings,
    f: &Figment,
) -> Result<Option<secrecy::SecretString>, ConfigError> {
    use sspr_directory::ldap::DirectoryKind;
    if d.kind == DirectoryKind::None {
        return Ok(None);
    }
    d.apply_kind_defaults();
    if let Some(problem) = d.problems().into_iter().next() {
        return Err(invalid(f, "directory", problem));
    }
    secret(
        f,
        "directory.bind_password",
        &d.bind_password,
        &d.bind_password_file,
    )
}

/// A required key that has no value (naming its source would only point at the defaults).
fn missing(key: &str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!(
        "invalid configuration: `{key}` is not set: {reason}"
    ))
}

/// A secret given inline (`key`) or in a file (`key_file`), not both.
fn secret(
    f: &Figment,
    key: &str,
    inline: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<secrecy::SecretString>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(invalid(
            f,
            &format!("{key}_file"),
            format!("set either {key} or {key}_file, not both"),
        )),
        (Some(v), None) => Ok(Some(v.clone().into())),
        (None, Some(path)) => {
            let v = std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    f,
                    &format!("{key}_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            // A trailing newline is the editor's, not the secret's.
            Ok(Some(v.trim_end_matches(['\r', '\n']).to_owned().into()))
        }
        (None, None) => Ok(None),
    }
}

fn timeout(f: &Figment, key: &str, seconds: u64) -> Result<std::time::Duration, ConfigError> {
    if !(1..=300).contains(&seconds) {
        return Err(invalid(f, key, "must be between 1 and 300"));
    }
    Ok(std::time::Duration::from_secs(seconds))
}

fn smtp_settings(c: &Config, f: &Figment) -> Result<sspr_notify::smtp::SmtpSettings, ConfigError> {
    use sspr_notify::smtp::{SmtpSecurity, SmtpSettings};
    let s = &c.smtp;
    if s.from.trim().is_empty() {
        return Err(missing(
            "smtp.from",
            "the sender address is required, e.g. from = \"sspr@example.org\"",
        ));
    }
    let security = match s.security {
        SmtpSecurityConfig::None => SmtpSecurity::None,
        SmtpSecurityConfig::Starttls => SmtpSecurity::StartTls,
        SmtpSecurityConfig::Tls => SmtpSecurity::Tls,
    };
    let mut settings = SmtpSettings::new(s.host.trim(), s.from.trim());
    settings.security = security;
    settings.port = s.port.unwrap_or(match security {
        SmtpSecurity::None => 25,
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::Tls => 465,
    });
    settings.username = s.username.clone().filter(|u| !u.is_empty());
    settings.password = secret(f, "smtp.password", &s.password, &s.password_file)?;
    settings.from_name = Some(c.organisation.name.clone());
    settings.ca_file = s.ca_file.clone();
    settings.timeout = timeout(f, "smtp.timeout_seconds", s.timeout_seconds)?;
    if !(1..=100).contains(&s.pool_size) {
        return Err(invalid(f, "smtp.pool_size", "must be between 1 and 100"));
    }
    settings.pool_size = s.pool_size;
    settings.validate().map_err(|e| {
        // The notify crate names the setting first ("from: …", "ca_file: …").
        let (key, reason) = match e.split_once(": ") {
            Some((k, r)) if ["from", "ca_file"].contains(&k) => (format!("smtp.{k}"), r.to_owned()),
            _ => ("smtp".to_owned(), e.clone()),
        };
        invalid(f, &key, reason)
    })?;
    Ok(settings)
}

fn gateway_settings(
    section: &str,
    g: &GatewayConfig,
    f: &Figment,
) -> Result<Option<sspr_notify::gateway::GatewaySettings>, ConfigError> {
    use sspr_notify::gateway::{GatewaySettings, TwilioSettings, WebhookSettings};
    let key = |k: &str| format!("{section}.{k}");
    let Some(provider) = g.provider else {
        return Ok(None);
    };
    let timeout = timeout(f, &key("timeout_seconds"), g.timeout_seconds)?;
    let settings = match provider {
        GatewayProvider::Webhook => {
            if g.url.trim().is_empty() {
                return Err(missing(&key("url"), "required for provider = \"webhook\""));
            }
            let value = secret(
                f,
                &key("auth_header_value"),
                &g.auth_header_value,
                &g.auth_header_value_file,
            )?;
            GatewaySettings::Webhook(WebhookSettings {
                url: g.url.trim().to_owned(),
                auth_header: value.map(|v| (g.auth_header_name.trim().to_owned(), v)),
                body_template: g.body_template.clone(),
                timeout,
            })
        }
        GatewayProvider::Twilio => {
            let token = secret(f, &key("auth_token"), &g.auth_token, &g.auth_token_file)?
                .ok_or_else(|| {
                    missing(
                        &key("auth_token"),
                        "required for provider = \"twilio\" (or auth_token_file)",
                    )
                })?;
            for (k, v) in [
                ("account_sid", &g.account_sid),
                ("from_number", &g.from_number),
            ] {
                if v.trim().is_empty() {
                    return Err(missing(&key(k), "required for provider = \"twilio\""));
                }
            }
            let mut t = TwilioSettings::new(g.account_sid.trim(), token, g.from_number.trim());
            t.base_url = g.base_url.trim().to_owned();
            t.voice_language = g.voice_language.trim().to_owned();
            t.timeout = timeout;
            GatewaySettings::Twilio(t)
        }
    };
    settings.validate().map_err(|e| {
        let (k, reason) = match e.split_once(": ") {
            Some((k, r)) if !k.contains(' ') => (key(k), r.to_owned()),
            _ => (section.to_owned(), e.clone()),
        };
        invalid(f, &k, reason)
    })?;
    Ok(Some(settings))
}

/// Checks `[smtp]`, `[sms]` and `[voice]`. Production mode needs a mail server; development
/// mode sends nothing, so configured channels only earn a warning.
fn delivery_channels(
    c: &Config,
    f: &Figment,
    warnings: &mut Vec<String>,
) -> Result<DeliveryChannels, ConfigError> {
    let smtp_set = !c.smtp.host.trim().is_empty();
    let channels = DeliveryChannels {
        smtp: if smtp_set {
            Some(smtp_settings(c, f)?)
        } else {
            None
        },
        sms: gateway_settings("sms", &c.sms, f)?,
        voice: gateway_settings("voice", &c.voice, f)?,
    };
    match c.delivery.mode {
        DeliveryMode::Production => {
            if channels.smtp.is_none() {
                return Err(missing(
                    "smtp.host",
                    "delivery.mode = \"production\" needs a mail server: set [smtp] host and from",
                ));
            }
            if channels.sms.is_none() || channels.voice.is_none() {
                warnings.push(format!(
                    "delivery: no {} gateway is configured; such messages will fail (set [sms] / [voice] provider)",
                    match (channels.sms.is_none(), channels.voice.is_none()) {
                        (true, true) => "SMS or voice",
                        (true, false) => "SMS",
                        _ => "voice",
                    }
                ));
            }
            Ok(channels)
        }
        DeliveryMode::Development => {
            if channels.smtp.is_some() || channels.sms.is_some() || channels.voice.is_some() {
                warnings.push(
                    "delivery.mode is \"development\": [smtp], [sms] and [voice] are checked but nothing is sent; set delivery.mode = \"production\" to use them"
                        .into(),
                );
            }
            Ok(DeliveryChannels::default())
        }
    }
}

/// The URL with any password replaced, for printing.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some(at) = rest.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[REDACTED]@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

impl Loaded {
    /// The effective configuration as TOML, secrets redacted.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.config.clone();
        shown.database.url = redact_url(&self.database_url);
        let hide = |v: &mut Option<String>| {
            if v.is_some() {
                *v = Some("[REDACTED]".into());
            }
        };
        hide(&mut shown.smtp.password);
        hide(&mut shown.directory.bind_password);
        for g in [&mut shown.sms, &mut shown.voice] {
            hide(&mut g.auth_header_value);
            hide(&mut g.auth_token);
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot print: {e}"))
    }

    pub fn hash_params(&self) -> HashParams {
        HashParams {
            memory_kib: self.config.hashing.memory_kib,
            iterations: self.config.hashing.iterations,
            parallelism: self.config.hashing.parallelism,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Config {
        let mut c = Config::default();
        c.delivery.mode = DeliveryMode::Production;
        c.smtp.host = "smtp.example.org".into();
        c.smtp.from = "sspr@example.org".into();
        c
    }

    #[test]
    fn a_directory_gets_the_defaults_of_its_kind_and_needs_its_secret() {
        use sspr_directory::ldap::DirectoryKind;
        let mut c = Config::default();
        c.directory.kind = DirectoryKind::ActiveDirectory;
        c.directory.url = "ldaps://dc1.example.com".into();
        c.directory.bind_dn = "svc-sspr@example.com".into();
        c.directory.user_base = "DC=example,DC=com".into();
        let err = from_config(c.clone()).unwrap_err().to_string();
        assert!(err.contains("bind_password"), "{err}");
        c.directory.bind_password = Some("s3cret".into());
        let loaded = from_config(c).unwrap();
        assert_eq!(loaded.config.directory.username_attribute, "sAMAccountName");
        assert_eq!(loaded.config.directory.group_filter, "(objectClass=group)");
        assert!(!loaded.redacted_toml().contains("s3cret"));
        let mut plain = Config {
            directory: loaded.config.directory.clone(),
            ..Config::default()
        };
        plain.directory.url = "ldap://dc1.example.com".into();
        plain.directory.starttls = false;
        assert!(
            from_config(plain)
                .unwrap_err()
                .to_string()
                .contains("clear")
        );
    }

    #[test]
    fn the_pool_size_defaults_by_database_and_a_set_one_is_checked() {
        let mut c = Config::default();
        let loaded = from_config(c.clone()).unwrap();
        assert!(loaded.database_url.starts_with("sqlite:"));
        assert_eq!(
            loaded.config.database.connections_for(&loaded.database_url),
            1
        );
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(c.database.connections_for("postgres://db.internal/sspr"), 8);
        c.database.max_connections = Some(4);
        assert_eq!(c.database.connections_for("postgres://db/sspr"), 4);
        // SQLite has one connection whatever is set, and says so.
        assert_eq!(c.database.connections_for("sqlite:///x/sspr.db"), 1);
        let loaded = from_config(c.clone()).unwrap();
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.contains("database.max_connections") && w.contains("PostgreSQL only")),
            "{:?}",
            loaded.warnings
        );
        for bad in [0, 1001] {
            c.database.max_connections = Some(bad);
            let e = from_config(c.clone()).unwrap_err().to_string();
            assert!(e.contains("database.max_connections"), "{e}");
        }
        // Written in a file, as before.
        let parsed: Config = toml::from_str("[database]\nmax_connections = 3\n").unwrap();
        assert_eq!(parsed.database.max_connections, Some(3));
    }

    #[test]
    fn production_delivery_needs_a_mail_server() {
        let mut c = production();
        c.smtp.host = String::new();
        let e = from_config(c).unwrap_err().to_string();
        assert!(e.contains("`smtp.host`") && e.contains("production"), "{e}");
        let mut c = production();
        c.smtp.from = String::new();
        assert!(
            from_config(c)
                .unwrap_err()
                .to_string()
                .contains("`smtp.from`")
        );
        let mut c = production();
        c.smtp.from = "not an address".into();
        assert!(
            from_config(c)
                .unwrap_err()
                .to_string()
                .contains("`smtp.from`")
        );
    }

    #[test]
    fn smtp_settings_are_resolved_with_secrets_from_files() {
        use secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("smtp-password");
        std::fs::write(&secret_file, "hunter2\n").unwrap();
        let mut c = production();
        c.organisation.name = "Contoso".into();
        c.smtp.username = Some("sspr".into());
        c.smtp.password_file = Some(secret_file);
        let loaded = from_config(c.clone()).unwrap();
        let smtp = loaded.channels.smtp.as_ref().unwrap();
        assert_eq!(smtp.port, 587);
        assert_eq!(smtp.password.as_ref().unwrap().expose_secret(), "hunter2");
        assert_eq!(
            smtp.from_mailbox().unwrap().name.as_deref(),
            Some("Contoso")
        );
        assert!(loaded.channels.sms.is_none());
        assert!(loaded.warnings.iter().any(|w| w.contains("SMS or voice")));

        c.smtp.password = Some("inline".into());
        let e = from_config(c.clone()).unwrap_err().to_string();
        assert!(
            e.contains("`smtp.password_file`") && e.contains("not both"),
            "{e}"
        );
        c.smtp.password_file = None;
        let shown = from_config(c).unwrap().redacted_toml();
        assert!(
            !shown.contains("inline") && shown.contains("[REDACTED]"),
            "{shown}"
        );
    }

    #[test]
    fn gateways_are_checked() {
        let mut c = production();
        c.sms.provider = Some(GatewayProvider::Webhook);
        let e = from_config(c.clone()).unwrap_err().to_string();
        assert!(e.contains("`sms.url`"), "{e}");
        c.sms.url = "https://sms.example.org/send".into();
        c.sms.body_template = r#"{"to": {{to}}}"#.into();
        let e = from_config(c.clone()).unwrap_err().to_string();
        assert!(e.contains("`sms.body_template`"), "{e}");
        c.sms.body_template = sspr_notify::gateway::DEFAULT_BODY_TEMPLATE.into();
        c.sms.auth_header_value = Some("Bearer t0ken".into());
        c.voice.provider = Some(GatewayProvider::Twilio);
        let e = from_config(c.clone()).unwrap_err().to_string();
        assert!(e.contains("`voice.auth_token`"), "{e}");
        c.voice.auth_token = Some("tok".into());
        c.voice.account_sid = "AC123".into();
        c.voice.from_number = "+441632960999".into();
        let loaded = from_config(c).unwrap();
        assert!(loaded.channels.sms.is_some() && loaded.channels.voice.is_some());
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let shown = loaded.redacted_toml();
        assert!(
            !shown.contains("t0ken") && !shown.contains("\"tok\""),
            "{shown}"
        );
    }

    #[test]
    fn development_mode_sends_nothing_but_checks_and_warns() {
        let mut c = production();
        c.delivery.mode = DeliveryMode::Development;
        let loaded = from_config(c).unwrap();
        assert!(loaded.channels.smtp.is_none());
        assert!(
            loaded
                .warnings
                .iter()
                .any(|w| w.contains("nothing is sent"))
        );
        assert!(from_config(Config::default()).unwrap().warnings.is_empty());
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://sspr:hunter2@db:5432/sspr"),
            "postgres://sspr:[REDACTED]@db:5432/sspr"
        );
        assert_eq!(redact_url("postgres://db/sspr"), "postgres://db/sspr");
        assert_eq!(redact_url("sqlite:///x.db"), "sqlite:///x.db");
        assert_eq!(
            redact_url("postgres://u:p@ss@db/x"),
            "postgres://u:[REDACTED]@db/x"
        );
    }
}
