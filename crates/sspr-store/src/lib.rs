//! sspr-store: sspr's persistence on SQLite and PostgreSQL.
//!
//! One implementation of the [`Store`] port serves both databases, with SQL written once in
//! the subset both dialects share and run through one query API (the `db` module): sqlx's
//! `Any` driver for PostgreSQL, rusqlite for SQLite (run in place, without sqlx's hand-over
//! to a connection thread per statement). Queries are built at run time (no `query!` macros,
//! which would bind the crate to one database). The backend is chosen at runtime by the
//! database URL, never by a cargo feature. Only the migrations (`migrations/sqlite`,
//! `migrations/postgres`) and a few statements (the outbox claim, a limit's attempt) differ
//! per dialect.
//!
//! Value conventions, chosen because both drivers map them alike:
//! every integer, boolean (0/1) and timestamp (unix milliseconds) is an `i64`; ids are
//! hyphenated UUID text; JSON is text. `bool`, `i32` and floats are never bound or decoded.
//!
//! Every method that takes an [`AuditEvent`] writes its change and the audit record in one
//! transaction (the `audit` module explains how the hash chain is appended).

mod api_tokens;
mod audit;
mod codes;
mod db;
mod directory_sync;
mod error;
mod flows;
mod groups;
mod methods;
mod outbox;
mod policy;
mod report_queries;
mod rows;
mod sessions;
mod sqlite_migrations;
mod throttle;
mod time_ms;
mod users;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::MigrateError;
use time::{Duration, OffsetDateTime};

use crate::db::{Db, Tx};
use sspr_core::audit::{AuditEvent, AuditRecord};
use sspr_core::flow::{Flow, FlowId};
use sspr_core::policy::password::PasswordPolicy;
use sspr_core::ports::{
    ApiToken, Attempt, AuditFilter, CodeSpend, FlowWrite, Member, NewApiToken, NewCode,
    NewOutboxMessage, OutboxMessage, Page, PasswordWrite, ProfileUpdate, Session, Store,
    StoreError, ThrottleHit,
};
use sspr_core::{
    Group, GroupId, GroupName, LockoutState, MethodId, NewGroup, NewUser, PasswordHash,
    RegisteredMethod, SsprPolicy, User, UserId, Username,
};

/// The database behind a [`SqlStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `sqlite:…`, `postgres://…` or `postgresql://…`.
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Set on the SQLite connection when it opens, because SQLite keeps most settings per
/// connection:
/// * `journal_mode=WAL`: readers do not block the writer nor it them, so pages keep loading
///   while a reset is written. (The mode is stored in the file; the first connection switches
///   it, which `connect` opens before anything else can run.)
/// * `synchronous=FULL`: a commit is on disk before it is acknowledged, even across power
///   loss. SQLite's WAL default (`NORMAL`) may lose the last commits, and here those are
///   security state: a consumed one-time code that comes back, a reset failure counter or a
///   lockout that is forgotten (R11/G9). The cost is one fsync per commit.
/// * `foreign_keys=ON`: SQLite ignores `REFERENCES` (and `ON DELETE CASCADE`) without it.
/// * `busy_timeout=5000`: a connection that finds the write lock taken (by another process,
///   such as the CLI) waits up to 5 s for it instead of failing at once with `SQLITE_BUSY`;
///   writes are serialised, and short.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;";

/// Prepared statements kept per SQLite connection: more than the store has, so that none is
/// parsed twice.
const SQLITE_STATEMENT_CACHE: usize = 256;

/// The [`Store`] on SQLite or PostgreSQL. Cheap to clone (the pool or connection is shared).
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: Db,
    backend: Backend,
}

impl SqlStore {
    /// Opens `url` and checks that the database answers. PostgreSQL gets a pool of at most
    /// `max_connections` connections. SQLite gets one connection whatever `max_connections`
    /// says: SQLite writes one transaction at a time anyway, and its statements run in place on
    /// the calling task's thread (see the `db` module). SQLite URLs look like
    /// `sqlite:///abs/path/sspr.db`, `sqlite://relative.db` or `sqlite::memory:`, with an
    /// optional `?mode=rwc|rw|ro|memory`; the file (not its directory) is created when missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<SqlStore, StoreError> {
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::Unavailable(
                "unsupported database URL: expected sqlite:… or postgres://…".into(),
            )
        })?;
        if backend == Backend::Sqlite {
            let conn = open_sqlite(url)?;
            return Ok(SqlStore {
                db: Db::Lite(Arc::new(tokio::sync::Mutex::new(Some(conn)))),
                backend,
            });
        }
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url).map_err(error::db)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            // Opens the first connection now, so that a wrong URL or an unreachable server is
            // reported at start.
            .connect_with(options)
            .await
            .map_err(error::db)?;
        Ok(SqlStore {
            db: Db::Any(pool),
            backend,
        })
    }

    /// Applies the migrations of this backend that have not been applied yet (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Lite(conn) => match conn.lock().await.as_mut() {
                Some(conn) => sqlite_migrations::run(conn, &sqlx::migrate!("./migrations/sqlite")),
                None => Err(StoreError::Unavailable("the database is closed".into())),
            },
            Db::Any(pool) => sqlx::migrate!("./migrations/postgres")
                .run(pool)
                .await
                .map_err(|e| match e {
                    MigrateError::Execute(e) => error::db(e),
                    // An applied migration was edited, or half applied: the schema is not what
                    // the code expects.
                    MigrateError::VersionMismatch(_) | MigrateError::Dirty(_) => {
                        StoreError::Corrupt(format!("database migration failed: {e}"))
                    }
                    // E.g. the database was migrated by a newer release than this one.
                    e => StoreError::Unavailable(format!("database migration failed: {e}")),
                }),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool (or SQLite's connection): waits for the statements running to finish
    /// and closes the connections. Every clone of the store sees it closed: later calls fail as
    /// `Unavailable`.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite, see [`Db::begin`]).
    async fn begin(&self) -> Result<Tx, StoreError> {
        self.db.begin().await.map_err(error::db)
    }
}

/// Opens the SQLite database a `sqlite:` URL names, with [`SQLITE_PRAGMAS`] set.
fn open_sqlite(url: &str) -> Result<rusqlite::Connection, StoreError> {
    use rusqlite::OpenFlags;
    let unavailable = |e: String| StoreError::Unavailable(format!("SQLite database {url}: {e}"));
    let rest = url.split_once(':').map_or("", |(_, rest)| rest);
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    let mut mode = "rwc";
    for pair in params.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("mode", m)) => mode = m,
            _ => return Err(unavailable(format!("unsupported URL parameter {pair:?}"))),
        }
    }
    let conn = if path == ":memory:" || mode == "memory" {
        rusqlite::Connection::open_in_memory()
    } else {
        let access = match mode {
            "rwc" => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            "rw" => OpenFlags::SQLITE_OPEN_READ_WRITE,
            "ro" => OpenFlags::SQLITE_OPEN_READ_ONLY,
            other => return Err(unavailable(format!("unsupported mode {other:?}"))),
        };
        if path.is_empty() {
            return Err(unavailable("no file named".into()));
        }
        rusqlite::Connection::open_with_flags(path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
    }
    .map_err(|e| unavailable(e.to_string()))?;
    conn.execute_batch(SQLITE_PRAGMAS)
        .map_err(|e| unavailable(e.to_string()))?;
    conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE);
    Ok(conn)
}

async fn commit(tx: Tx) -> Result<(), StoreError> {
    tx.commit().await.map_err(error::db)
}

/// Appends the audit record of the change made in `tx` and commits both: the one way a
/// security-state change is stored, so that none is ever stored without its record.
async fn commit_audited(mut tx: Tx, audit: &AuditEvent) -> Result<(), StoreError> {
    audit::append(&mut tx, audit).await?;
    commit(tx).await
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        db::query("SELECT 1")
            .execute(&self.db)
            .await
            .map(drop)
            .map_err(error::db)
    }

    // Users --------------------------------------------------------------------------------

    async fn create_user(&self, user: &NewUser, audit: &AuditEvent) -> Result<User, StoreError> {
        self.create_user_impl(user, audit).await
    }

    async fn create_users(&self, users: &[NewUser], audit: &AuditEvent) -> Result<(), StoreError> {
        self.create_users_impl(users, audit).await
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.get_user_impl(id).await
    }

    async fn find_user(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.find_user_impl(username).await
    }

    async fn list_users(
        &self,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        self.list_users_impl(search, offset, limit).await
    }

    async fn search_users(
        &self,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Page<User>, StoreError> {
        self.search_users_impl(search, offset, limit).await
    }

    async fn require_reregistration(
        &self,
        id: UserId,
        audit: &AuditEvent,
    ) -> Result<u64, StoreError> {
        self.require_reregistration_impl(id, audit).await
    }

    async fn update_group(
        &self,
        id: GroupId,
        name: &GroupName,
        description: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.update_group_impl(id, name, description, audit).await
    }

    async fn delete_group(&self, id: GroupId, audit: &AuditEvent) -> Result<bool, StoreError> {
        self.delete_group_impl(id, audit).await
    }

    async fn verified_method_kinds(
        &self,
    ) -> Result<HashMap<UserId, std::collections::BTreeSet<sspr_core::MethodType>>, StoreError>
    {
        self.verified_method_kinds_impl().await
    }

    async fn user_groups(&self) -> Result<HashMap<UserId, Vec<GroupId>>, StoreError> {
        self.user_groups_impl().await
    }

    async fn query_audit(
        &self,
        filter: &AuditFilter,
        offset: u32,
        limit: u32,
    ) -> Result<Page<AuditRecord>, StoreError> {
        self.query_audit_impl(filter, offset, limit).await
    }

    async fn create_api_token(
        &self,
        token: &NewApiToken,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.create_api_token_impl(token, audit).await
    }

    async fn api_token(&self, id: &str) -> Result<Option<(ApiToken, String)>, StoreError> {
        self.api_token_impl(id).await
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.list_api_tokens_impl().await
    }

    async fn revoke_api_token(
        &self,
        id: &str,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.revoke_api_token_impl(id, at, audit).await
    }

    async fn touch_api_token(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        self.touch_api_token_impl(id, at).await
    }

    async fn update_profile(
        &self,
        id: UserId,
        update: &ProfileUpdate,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.update_profile_impl(id, update, audit).await
    }

    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep_history: u8,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.set_password_impl(id, hash, keep_history, audit).await
    }

    async fn password_history(&self, id: UserId) -> Result<Vec<PasswordHash>, StoreError> {
        self.password_history_impl(id).await
    }

    async fn set_admin_locked(
        &self,
        id: UserId,
        locked: bool,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.set_admin_locked_impl(id, locked, audit).await
    }

    async fn update_lockout(
        &self,
        id: UserId,
        expected: &LockoutState,
        new: &LockoutState,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        self.update_lockout_impl(id, expected, new, audit).await
    }

    async fn set_registration_confirmed(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.set_registration_confirmed_impl(id, at).await
    }

    async fn delete_user(&self, id: UserId, audit: &AuditEvent) -> Result<bool, StoreError> {
        self.delete_user_impl(id, audit).await
    }

    // Groups -------------------------------------------------------------------------------

    async fn create_group(
        &self,
        group: &NewGroup,
        audit: &AuditEvent,
    ) -> Result<Group, StoreError> {
        self.create_group_impl(group, audit).await
    }

    async fn get_group(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        self.get_group_impl(id).await
    }

    async fn find_group(&self, name: &GroupName) -> Result<Option<Group>, StoreError> {
        self.find_group_impl(name).await
    }

    async fn list_groups(&self) -> Result<Vec<Group>, StoreError> {
        self.list_groups_impl().await
    }

    async fn add_member(
        &self,
        group: GroupId,
        member: Member,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.add_member_impl(group, member, audit).await
    }

    async fn remove_member(
        &self,
        group: GroupId,
        member: Member,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.remove_member_impl(group, member, audit).await
    }

    async fn members(&self, group: GroupId) -> Result<Vec<Member>, StoreError> {
        self.members_impl(group).await
    }

    async fn groups_of_user(&self, user: UserId) -> Result<Vec<GroupId>, StoreError> {
        self.groups_of_user_impl(user).await
    }

    async fn group_parents(&self) -> Result<HashMap<GroupId, Vec<GroupId>>, StoreError> {
        self.group_parents_impl().await
    }

    // Policy -------------------------------------------------------------------------------

    async fn policy(&self) -> Result<SsprPolicy, StoreError> {
        self.policy_impl().await
    }

    async fn put_policy(&self, policy: &SsprPolicy, audit: &AuditEvent) -> Result<(), StoreError> {
        self.put_policy_impl(policy, audit).await
    }

    async fn password_policy(&self) -> Result<PasswordPolicy, StoreError> {
        self.password_policy_impl().await
    }

    async fn put_password_policy(
        &self,
        policy: &PasswordPolicy,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.put_password_policy_impl(policy, audit).await
    }

    // Audit --------------------------------------------------------------------------------

    async fn append_audit(&self, event: &AuditEvent) -> Result<AuditRecord, StoreError> {
        let mut tx = self.begin().await?;
        let record = audit::append(&mut tx, event).await?;
        commit(tx).await?;
        Ok(record)
    }

    async fn audit_page(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_page_impl(after_seq, limit).await
    }

    async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        self.audit_head_impl().await
    }

    // Sessions -----------------------------------------------------------------------------

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.create_session_impl(session).await
    }

    async fn live_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        self.live_session_impl(id_hash, now).await
    }

    async fn revoke_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.revoke_session_impl(id_hash).await
    }

    async fn revoke_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        self.revoke_user_sessions_impl(user).await
    }

    async fn set_registration_prompted(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.set_registration_prompted_impl(id, at).await
    }

    // Registered methods -------------------------------------------------------------------

    async fn add_method(
        &self,
        method: &RegisteredMethod,
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        self.add_method_impl(method, audit).await
    }

    async fn replace_methods_of_kind(
        &self,
        method: &RegisteredMethod,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.replace_methods_of_kind_impl(method, audit).await
    }

    async fn list_methods(&self, user: UserId) -> Result<Vec<RegisteredMethod>, StoreError> {
        self.list_methods_impl(user).await
    }

    async fn get_method(
        &self,
        user: UserId,
        id: MethodId,
    ) -> Result<Option<RegisteredMethod>, StoreError> {
        self.get_method_impl(user, id).await
    }

    async fn mark_method_verified(
        &self,
        user: UserId,
        id: MethodId,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.mark_method_verified_impl(user, id, at, audit).await
    }

    async fn delete_method(
        &self,
        user: UserId,
        id: MethodId,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.delete_method_impl(user, id, audit).await
    }

    async fn advance_method_counter(
        &self,
        id: MethodId,
        value: i64,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.advance_method_counter_impl(id, value, at).await
    }

    // One-time codes -----------------------------------------------------------------------

    async fn create_code(&self, code: &NewCode) -> Result<(), StoreError> {
        self.create_code_impl(code).await
    }

    async fn issue_code(
        &self,
        code: &NewCode,
        message: Option<&NewOutboxMessage>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.issue_code_impl(code, message, audit).await
    }

    async fn consume_code(
        &self,
        binding: &str,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.consume_code_impl(binding, code_hash, now).await
    }

    async fn revoke_codes(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.revoke_codes_impl(user, now).await
    }

    // Throttling ---------------------------------------------------------------------------

    async fn throttle_hits(
        &self,
        attempts: &[Attempt<'_>],
        at: OffsetDateTime,
    ) -> Result<Vec<ThrottleHit>, StoreError> {
        self.throttle_hits_impl(attempts, at).await
    }

    async fn throttle_events(
        &self,
        key: &str,
        since: OffsetDateTime,
        enough: u32,
    ) -> Result<Vec<OffsetDateTime>, StoreError> {
        self.throttle_events_impl(key, since, enough).await
    }

    async fn throttle_forget(&self, id: i64) -> Result<(), StoreError> {
        self.throttle_forget_impl(id).await
    }

    async fn throttle_clear_user(&self, user: UserId) -> Result<u64, StoreError> {
        self.throttle_clear_user_impl(user).await
    }

    // Reset flows ---------------------------------------------------------------------------

    async fn create_flow(&self, flow: &Flow, audit: &AuditEvent) -> Result<(), StoreError> {
        self.create_flow_impl(flow, audit).await
    }

    async fn get_flow(&self, id: FlowId) -> Result<Option<Flow>, StoreError> {
        self.get_flow_impl(id).await
    }

    async fn update_flow_spending_code(
        &self,
        flow: &Flow,
        audit: &AuditEvent,
        code: &CodeSpend<'_>,
    ) -> Result<FlowWrite, StoreError> {
        self.update_flow_spending_code_impl(flow, audit, code).await
    }

    async fn update_flow(
        &self,
        flow: &Flow,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        self.update_flow_impl(flow, audit).await
    }

    async fn get_flow_with_subject(
        &self,
        id: FlowId,
    ) -> Result<Option<(Flow, Option<User>)>, StoreError> {
        self.get_flow_with_subject_impl(id).await
    }

    async fn finish_flow(
        &self,
        flow: &Flow,
        user: UserId,
        password: Option<&PasswordWrite<'_>>,
        revoke_sessions: bool,
        now: OffsetDateTime,
        notices: &[NewOutboxMessage],
    ) -> Result<(), StoreError> {
        self.finish_flow_impl(flow, user, password, revoke_sessions, now, notices)
            .await
    }

    async fn find_user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        self.find_user_by_login_impl(login).await
    }

    async fn update_method_secret(
        &self,
        user: UserId,
        id: MethodId,
        secret: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.update_method_secret_impl(user, id, secret, at).await
    }

    async fn prune_expired(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        self.prune_expired_impl(before).await
    }

    // WebAuthn ceremonies ------------------------------------------------------------------

    async fn put_ceremony(
        &self,
        id_hash: &str,
        user: Option<UserId>,
        kind: &str,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.put_ceremony_impl(id_hash, user, kind, state, expires_at)
            .await
    }

    async fn take_ceremony(
        &self,
        id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Option<UserId>, String)>, StoreError> {
        self.take_ceremony_impl(id_hash, kind, now).await
    }

    // Outbox -------------------------------------------------------------------------------

    async fn enqueue(&self, message: &NewOutboxMessage) -> Result<uuid::Uuid, StoreError> {
        self.enqueue_impl(message).await
    }

    async fn claim_outbox(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.claim_outbox_impl(now, lease, limit).await
    }

    async fn mark_sent(&self, ids: &[uuid::Uuid], at: OffsetDateTime) -> Result<(), StoreError> {
        self.mark_sent_impl(ids, at).await
    }

    async fn mark_failed(
        &self,
        id: uuid::Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        self.mark_failed_impl(id, error, retry_at).await
    }

    async fn recent_outbox(&self, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        self.recent_outbox_impl(limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings of `SQLITE_PRAGMAS` hold on the store's connection.
    #[tokio::test]
    async fn the_sqlite_connection_gets_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sspr.db", dir.path().display());
        let store = SqlStore::connect(&url, 3).await.unwrap();
        // Each pragma answers one row, its column named after the setting.
        for (pragma, column, value) in [
            ("PRAGMA synchronous", "synchronous", 2), // FULL
            ("PRAGMA foreign_keys", "foreign_keys", 1),
            ("PRAGMA busy_timeout", "timeout", 5000),
        ] {
            let row = db::query(pragma).fetch_one(&store.db).await.unwrap();
            assert_eq!(row.get::<i64>(column).unwrap(), value, "{pragma}");
        }
        let row = db::query("PRAGMA journal_mode")
            .fetch_one(&store.db)
            .await
            .unwrap();
        assert_eq!(row.get::<String>("journal_mode").unwrap(), "wal");
    }
}
