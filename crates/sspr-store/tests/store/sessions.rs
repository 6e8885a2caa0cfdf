//! Sessions: live, expired, revoked.

use sspr_core::UserId;
use sspr_core::audit::events;
use sspr_core::ports::{Session, Store, StoreError};
use sspr_store::SqlStore;
use time::Duration;
use time::macros::datetime;

use crate::harness::{Db, event, new_user};

conformance!(story_sessions);

async fn story_sessions(store: SqlStore, _db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let bob = new_user("bob");
    store
        .create_user(&bob, &event(events::ADD_USER, "bob"))
        .await
        .unwrap();
    // A frozen clock, as the service's tests use: the store must not consult its own.
    let now = datetime!(2026-11-25 08:00:00.123 UTC);
    let session = |id: &str, user: UserId, expires_in: Duration, revoked: bool| Session {
        id_hash: id.to_owned(),
        user_id: user,
        created_at: now - Duration::minutes(5),
        expires_at: now + expires_in,
        revoked,
    };

    let live = session("live", ada.id, Duration::hours(8), false);
    store.create_session(&live).await.unwrap();
    store
        .create_session(&session("expired", ada.id, Duration::ZERO, false))
        .await
        .unwrap();
    store
        .create_session(&session("revoked", ada.id, Duration::hours(8), true))
        .await
        .unwrap();
    store
        .create_session(&session("bob", bob.id, Duration::hours(8), false))
        .await
        .unwrap();

    assert_eq!(
        store.live_session("live", now).await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        store.live_session("expired", now).await.unwrap(),
        None,
        "expires_at is exclusive"
    );
    assert!(
        store
            .live_session("expired", now - Duration::milliseconds(1))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.live_session("revoked", now).await.unwrap(), None);
    assert_eq!(store.live_session("unknown", now).await.unwrap(), None);
    assert_eq!(
        store
            .live_session("live", now + Duration::hours(8))
            .await
            .unwrap(),
        None
    );

    assert_eq!(
        store.create_session(&live).await,
        Err(StoreError::Conflict(
            "a session with this id already exists".into()
        ))
    );
    assert_eq!(
        store
            .create_session(&session("orphan", UserId::new(), Duration::hours(1), false))
            .await,
        Err(StoreError::NotFound)
    );

    store.revoke_session("live").await.unwrap();
    assert_eq!(store.live_session("live", now).await.unwrap(), None);
    store.revoke_session("unknown").await.unwrap();

    store
        .create_session(&session("live2", ada.id, Duration::hours(1), false))
        .await
        .unwrap();
    store
        .create_session(&session("live3", ada.id, Duration::hours(1), false))
        .await
        .unwrap();
    // Every session not yet revoked: live2, live3 and the expired one.
    assert_eq!(store.revoke_user_sessions(ada.id).await.unwrap(), 3);
    assert_eq!(store.live_session("live2", now).await.unwrap(), None);
    assert_eq!(store.live_session("live3", now).await.unwrap(), None);
    assert_eq!(store.revoke_user_sessions(ada.id).await.unwrap(), 0);
    // Other users keep theirs.
    assert!(store.live_session("bob", now).await.unwrap().is_some());
    assert_eq!(store.revoke_user_sessions(UserId::new()).await.unwrap(), 0);
}
