//! Migrations: applied on start and by `sspr migrate`, so running them again must be harmless.

use sspr_core::SsprPolicy;
use sspr_core::audit::events;
use sspr_core::ports::Store;
use sspr_store::SqlStore;

use crate::harness::{Db, event, new_user, verify_chain};

conformance!(story_migrations_are_idempotent);

async fn story_migrations_are_idempotent(store: SqlStore, db: Db) {
    assert_eq!(store.backend(), db.backend);
    store.ping().await.unwrap();
    store
        .create_user(&new_user("ada"), &event(events::ADD_USER, "ada"))
        .await
        .unwrap();

    // Twice more, once through another pool (a second instance starting).
    store.migrate().await.unwrap();
    let other = db.connect().await;
    other.migrate().await.unwrap();
    other.ping().await.unwrap();

    // Nothing was reset: the data and the audit head survive.
    assert!(
        other
            .find_user(&crate::harness::username("ada"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(other.policy().await.unwrap(), SsprPolicy::default());
    other.append_audit(&event("Sign-in", "ada")).await.unwrap();
    assert_eq!(verify_chain(&store).await, Ok(2));
    other.close().await;
}
