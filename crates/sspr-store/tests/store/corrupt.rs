//! Rows that no longer parse are reported as `Corrupt`, not as a panic or a wrong value.

use sspr_core::audit::events;
use sspr_core::ports::{Store, StoreError};
use sspr_core::{SsprPolicy, UserId};
use sspr_store::SqlStore;

use crate::harness::{Db, event, new_user, username};

conformance!(story_corrupt_rows_are_reported);

async fn story_corrupt_rows_are_reported(store: SqlStore, db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    db.execute_raw("UPDATE users SET username = 'not valid!' WHERE username = 'ada'")
        .await;
    let err = store.get_user(ada.id).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("username")),
        "{err:?}"
    );
    assert!(matches!(
        store.list_users(None, 0, 10).await,
        Err(StoreError::Corrupt(_))
    ));

    db.execute_raw("UPDATE users SET username = 'ada', roles = 'root' WHERE roles = ''")
        .await;
    assert!(matches!(
        store.find_user(&username("ada")).await,
        Err(StoreError::Corrupt(_))
    ));
    db.execute_raw("UPDATE users SET roles = '', id = 'not-a-uuid'")
        .await;
    assert!(matches!(
        store.list_users(None, 0, 10).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(store.get_user(UserId::new()).await.unwrap().is_none());

    store
        .put_policy(
            &SsprPolicy::default(),
            &event(events::POLICY_CHANGED, "sspr_policy"),
        )
        .await
        .unwrap();
    db.execute_raw("UPDATE settings SET value = '{\"enablment\": \"all\"}'")
        .await;
    assert!(matches!(store.policy().await, Err(StoreError::Corrupt(_))));

    db.execute_raw("UPDATE audit_events SET details = 'not json' WHERE seq = 1")
        .await;
    assert!(matches!(
        store.audit_page(0, 10).await,
        Err(StoreError::Corrupt(_))
    ));
}
