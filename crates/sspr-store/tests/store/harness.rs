//! Fresh databases for each story, and the fixtures stories share.

use std::future::Future;

use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use sspr_core::audit::{AuditEvent, AuditRecord, BrokenLink, ChainVerifier, Outcome};
use sspr_core::ports::Store;
use sspr_core::{DisplayName, NewUser, Username};
use sspr_store::{Backend, SqlStore};

const PG_URL_VAR: &str = "SSPR_TEST_POSTGRES_URL";

/// The database a story runs on.
#[derive(Debug, Clone)]
pub struct Db {
    pub url: String,
    pub backend: Backend,
}

impl Db {
    /// Another store (pool) on the same database, as a second instance of the service has.
    pub async fn connect(&self) -> SqlStore {
        SqlStore::connect(&self.url, 4)
            .await
            .expect("connect a second store")
    }

    /// Runs SQL behind the store's back (to tamper with rows).
    pub async fn execute_raw(&self, sql: &'static str) -> u64 {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(&self.url)
            .await
            .expect("raw connection");
        let done = sqlx::query(sql).execute(&mut conn).await.expect(sql);
        conn.close().await.ok();
        done.rows_affected()
    }
}

impl Db {
    /// The first column of the first row of `sql`, as text, behind the store's back.
    pub async fn fetch_text(&self, sql: &'static str) -> String {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(&self.url)
            .await
            .expect("raw connection");
        let row = sqlx::query(sql).fetch_one(&mut conn).await.expect(sql);
        conn.close().await.ok();
        sqlx::Row::try_get::<String, _>(&row, 0).expect("a text column")
    }
}

/// Runs `story` on a fresh, migrated database of `backend`, then throws the database away.
pub async fn run<F, Fut>(backend: Backend, story: F)
where
    F: FnOnce(SqlStore, Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let db = Db {
                url: format!("sqlite://{}/sspr.db?mode=rwc", dir.path().display()),
                backend,
            };
            let store = fresh_store(&db).await;
            story(store, db).await;
            drop(dir);
        }
        Backend::Postgres => {
            let admin_url = std::env::var(PG_URL_VAR).unwrap_or_else(|_| {
                panic!(
                    "{PG_URL_VAR} is not set, so the PostgreSQL half of the store conformance \
                     suite cannot run (it is not optional). Run ./scripts/test.sh, which starts a \
                     throwaway PostgreSQL, or start one with `scripts/pg.sh start` and export \
                     {PG_URL_VAR}=<the URL it prints>."
                )
            });
            let name = format!("sspr_test_{}", uuid::Uuid::new_v4().simple());
            admin(&admin_url, format!("CREATE DATABASE {name}")).await;
            let db = Db {
                url: with_database(&admin_url, &name),
                backend,
            };
            let store = fresh_store(&db).await;
            // On its own task so that a failing story still lets us drop the database.
            let outcome = tokio::spawn(story(store, db)).await;
            admin(
                &admin_url,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .await;
            if let Err(e) = outcome {
                match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(e) => panic!("story task failed: {e}"),
                }
            }
        }
    }
}

async fn fresh_store(db: &Db) -> SqlStore {
    let store = SqlStore::connect(&db.url, 5)
        .await
        .unwrap_or_else(|e| panic!("connect to the {} test database: {e}", db.backend));
    assert_eq!(store.backend(), db.backend);
    store.migrate().await.expect("migrate");
    store
}

async fn admin(admin_url: &str, sql: String) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {PG_URL_VAR}: {e}"));
    sqlx::query(AssertSqlSafe(sql.clone()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:55432/postgres", "x"),
        "postgres://postgres@127.0.0.1:55432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}

// Fixtures ------------------------------------------------------------------------------------

pub fn username(name: &str) -> Username {
    Username::parse(name).expect("valid username")
}

pub fn new_user(name: &str) -> NewUser {
    NewUser::cloud(
        username(name),
        DisplayName::parse(&format!("{name} display")).expect("valid display name"),
    )
}

pub fn event(event_type: &str, target: &str) -> AuditEvent {
    AuditEvent::new(event_type, Outcome::Success)
        .actor("cli:test")
        .target(target)
        .details(json!({"story": true}))
}

/// Every audit record, oldest first (read in small pages, to exercise paging).
pub async fn audit_log(store: &SqlStore) -> Vec<AuditRecord> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |r: &AuditRecord| r.seq);
        let page = store.audit_page(after, 7).await.expect("audit page");
        if page.is_empty() {
            return all;
        }
        assert!(page.len() <= 7);
        all.extend(page);
    }
}

/// Verifies the whole chain; returns how many records it holds.
pub async fn verify_chain(store: &SqlStore) -> Result<u64, BrokenLink> {
    let mut verifier = ChainVerifier::new();
    for record in audit_log(store).await {
        verifier.check(&record)?;
    }
    Ok(verifier.checked())
}

pub async fn audit_len(store: &SqlStore) -> usize {
    audit_log(store).await.len()
}
