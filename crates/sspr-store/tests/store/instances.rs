//! Several instances of the service on one PostgreSQL database share all state (DESIGN rule 1).

use sspr_core::audit::events;
use sspr_core::ports::{NewOutboxMessage, Store};
use sspr_core::{Enablement, LockoutState, SsprPolicy};
use sspr_store::SqlStore;
use time::Duration;
use time::macros::datetime;

use crate::harness::{Db, event, new_user, username, verify_chain};

postgres_only!(story_two_instances_share_state);

async fn story_two_instances_share_state(first: SqlStore, db: Db) {
    let second = db.connect().await;

    let ada = new_user("ada");
    first
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let seen = second
        .find_user(&username("ada"))
        .await
        .unwrap()
        .expect("seen by the second");
    assert_eq!(seen.id, ada.id);

    // A compare-and-set on one instance makes the other's expectation stale.
    let one = LockoutState {
        failed_count: 1,
        ..LockoutState::default()
    };
    assert!(
        second
            .update_lockout(ada.id, &LockoutState::default(), &one, None)
            .await
            .unwrap()
    );
    assert!(
        !first
            .update_lockout(ada.id, &LockoutState::default(), &one, None)
            .await
            .unwrap()
    );

    let policy = SsprPolicy {
        enablement: Enablement::All,
        ..SsprPolicy::default()
    };
    second
        .put_policy(&policy, &event(events::POLICY_CHANGED, "sspr_policy"))
        .await
        .unwrap();
    assert_eq!(first.policy().await.unwrap(), policy);

    // Both append to one chain, concurrently.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..10u32 {
        let store = if n.is_multiple_of(2) {
            first.clone()
        } else {
            second.clone()
        };
        tasks.spawn(async move { store.append_audit(&event("Sign-in", "ada")).await.unwrap() });
    }
    tasks.join_all().await;
    assert_eq!(verify_chain(&first).await, Ok(12));

    // A message queued by one is delivered by the other, once.
    let id = first
        .enqueue(&NewOutboxMessage {
            channel: "email".into(),
            recipient: "ada@example.org".into(),
            subject: "s".into(),
            body: "b".into(),
            html_body: None,
        })
        .await
        .unwrap();
    let now = datetime!(2026-11-25 08:00 UTC);
    let claimed = second
        .claim_outbox(now, Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|m| m.id).collect::<Vec<_>>(), [id]);
    assert!(
        first
            .claim_outbox(now, Duration::minutes(1), 10)
            .await
            .unwrap()
            .is_empty()
    );

    second.close().await;
}
