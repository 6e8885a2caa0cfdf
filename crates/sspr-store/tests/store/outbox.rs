//! The outbox: enqueue, claim with a lease, sent, retried, dead.

use std::collections::HashSet;

use sspr_core::ports::{NewOutboxMessage, Store, StoreError};
use sspr_store::SqlStore;
use time::Duration;
use time::macros::datetime;

use crate::harness::Db;

conformance!(story_outbox_lifecycle, story_concurrent_claims_are_disjoint);

fn message(n: u32) -> NewOutboxMessage {
    NewOutboxMessage {
        channel: if n.is_multiple_of(2) { "email" } else { "sms" }.into(),
        recipient: format!("user{n}@example.org"),
        subject: format!("Subject {n}"),
        body: format!("Body {n}: ünïcödé"),
        html_body: n.is_multiple_of(2).then(|| format!("<p>Body {n}</p>")),
    }
}

async fn story_outbox_lifecycle(store: SqlStore, _db: Db) {
    let a = store.enqueue(&message(1)).await.unwrap();
    let b = store.enqueue(&message(2)).await.unwrap();
    let c = store.enqueue(&message(3)).await.unwrap();

    let recent = store.recent_outbox(10).await.unwrap();
    let ids: Vec<_> = recent.iter().map(|m| m.id).collect();
    assert_eq!(ids, [c, b, a], "newest first");
    let first = recent.last().unwrap();
    assert_eq!(first.channel, "sms");
    assert_eq!(first.recipient, "user1@example.org");
    assert_eq!(first.subject, "Subject 1");
    assert_eq!(first.body, "Body 1: ünïcödé");
    assert_eq!(first.html_body, None);
    assert_eq!(recent[1].html_body.as_deref(), Some("<p>Body 2</p>"));
    assert_eq!(first.status, "pending");
    assert_eq!(first.attempts, 0);
    assert_eq!(first.last_error, None);
    assert_eq!(store.recent_outbox(1).await.unwrap()[0].id, c);

    // The worker's clock may be frozen anywhere: a new message is due at once.
    let now = datetime!(2026-11-25 08:00 UTC);
    let lease = Duration::seconds(60);
    let claimed = store.claim_outbox(now, lease, 2).await.unwrap();
    let claimed_ids: HashSet<_> = claimed.iter().map(|m| m.id).collect();
    assert_eq!(claimed_ids, [a, b].into());
    for m in &claimed {
        assert_eq!(m.html_body, (m.id == b).then(|| "<p>Body 2</p>".to_owned()));
        assert_eq!(m.status, "sending");
        assert_eq!(m.attempts, 1);
    }
    let rest = store.claim_outbox(now, lease, 10).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), [c]);
    // Claimed messages are not claimed again while their lease runs.
    assert!(
        store
            .claim_outbox(now + Duration::seconds(59), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.claim_outbox(now, lease, 0).await.unwrap().is_empty());

    // a is sent; b fails and is retried in five minutes; c's worker died.
    store
        .mark_sent(&[a], now + Duration::seconds(1))
        .await
        .unwrap();
    let retry_at = now + Duration::minutes(5);
    store
        .mark_failed(b, "connection refused", Some(retry_at))
        .await
        .unwrap();

    // After the lease: only c (its lease ran out); b waits for its retry time.
    let later = now + Duration::seconds(61);
    let again = store
        .claim_outbox(later, Duration::minutes(10), 10)
        .await
        .unwrap();
    assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), [c]);
    assert_eq!(again[0].attempts, 2);

    let retried = store.claim_outbox(retry_at, lease, 10).await.unwrap();
    assert_eq!(retried.iter().map(|m| m.id).collect::<Vec<_>>(), [b]);
    assert_eq!(retried[0].attempts, 2);
    assert_eq!(retried[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(retried[0].next_attempt_at, retry_at);

    // Given up: dead, never claimed again.
    store
        .mark_failed(b, "mailbox unavailable", None)
        .await
        .unwrap();
    store.mark_failed(c, "rejected", None).await.unwrap();
    assert!(
        store
            .claim_outbox(now + Duration::days(365), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let recent = store.recent_outbox(100).await.unwrap();
    let by_id = |id| recent.iter().find(|m| m.id == id).unwrap();
    assert_eq!((by_id(a).status.as_str(), by_id(a).attempts), ("sent", 1));
    assert_eq!(by_id(b).status, "dead");
    assert_eq!(by_id(b).last_error.as_deref(), Some("mailbox unavailable"));
    assert_eq!((by_id(c).status.as_str(), by_id(c).attempts), ("dead", 2));

    let unknown = uuid::Uuid::new_v4();
    assert_eq!(
        store.mark_sent(&[unknown], now).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.mark_failed(unknown, "x", Some(now)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.mark_failed(unknown, "x", None).await,
        Err(StoreError::NotFound)
    );
}

/// Four workers claim at once until nothing is left: every message is claimed exactly once.
/// Then all are marked sent in one call (more than one statement's chunk of 100).
async fn story_concurrent_claims_are_disjoint(store: SqlStore, _db: Db) {
    let mut all = HashSet::new();
    for n in 0..130 {
        all.insert(store.enqueue(&message(n)).await.unwrap());
    }
    let now = datetime!(2026-11-25 08:00 UTC);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let store = store.clone();
        workers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_outbox(now, Duration::minutes(5), 9)
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    return mine;
                }
                assert!(batch.len() <= 9);
                mine.extend(batch.into_iter().map(|m| m.id));
                tokio::task::yield_now().await;
            }
        });
    }
    let claimed: Vec<_> = workers.join_all().await.into_iter().flatten().collect();
    let unique: HashSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), unique.len(), "a message was claimed twice");
    assert_eq!(unique, all);

    // An unknown id among them is reported; the known ones are marked all the same.
    let mut batch = claimed.clone();
    batch.insert(57, uuid::Uuid::new_v4());
    assert_eq!(
        store.mark_sent(&batch, now).await,
        Err(StoreError::NotFound)
    );
    let recent = store.recent_outbox(500).await.unwrap();
    assert_eq!(recent.len(), 130);
    assert!(recent.iter().all(|m| m.status == "sent"), "all 130 sent");
    store.mark_sent(&[], now).await.unwrap();
}
