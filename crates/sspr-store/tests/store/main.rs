//! The store conformance suite: every story runs twice, on a fresh SQLite file and on a fresh
//! PostgreSQL database, and must behave the same on both.
//!
//! PostgreSQL comes from `SSPR_TEST_POSTGRES_URL` (a server where the suite may create
//! databases); `./scripts/test.sh` starts one and sets it. Without it the PostgreSQL half of
//! the suite fails: it is not optional.

/// Generates, for each story `async fn story(store: SqlStore, db: Db)` of the calling module,
/// a test `sqlite::story` and a test `postgres::story`.
macro_rules! conformance {
    ($($story:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    crate::harness::run(sspr_store::Backend::Sqlite, super::$story).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    crate::harness::run(sspr_store::Backend::Postgres, super::$story).await;
                }
            )+
        }
    };
}

/// Stories that only make sense on PostgreSQL (several instances on one database).
macro_rules! postgres_only {
    ($($story:ident),+ $(,)?) => {
        mod postgres_only {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    crate::harness::run(sspr_store::Backend::Postgres, super::$story).await;
                }
            )+
        }
    };
}

mod harness;

mod connect;

mod admin;
mod audit;
mod corrupt;
mod directory_sync;
mod groups;
mod instances;
mod migrations;
mod outbox;
mod policy;
mod reset_flows;
mod security_info;
mod sessions;
mod users;
