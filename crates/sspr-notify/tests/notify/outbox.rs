//! The outbox worker with a real store and a real SMTP capture: a mail server that is down
//! delays a message, it never loses it.

use std::sync::Arc;

use sspr_core::ports::{Clock, FrozenClock, NewOutboxMessage, Store};
use sspr_notify::smtp::SmtpChannel;
use sspr_notify::worker::{OutboxWorker, PassReport, RetryPolicy};
use sspr_store::SqlStore;
use time::Duration;

use crate::helpers::{capture, closed_port, unique_address};

async fn sqlite_store(dir: &tempfile::TempDir) -> SqlStore {
    let url = format!("sqlite://{}/sspr.db?mode=rwc", dir.path().display());
    let store = SqlStore::connect(&url, 2).await.expect("open sqlite");
    store.migrate().await.expect("migrate");
    store
}

#[tokio::test]
async fn smtp_down_then_up_delivers_once_and_loses_nothing() {
    let c = capture();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(sqlite_store(&dir).await);
    // Whole seconds: the store keeps milliseconds.
    let start = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let clock = Arc::new(FrozenClock::at(start));
    let to = unique_address("outbox");
    let id = store
        .enqueue(&NewOutboxMessage {
            channel: "email".into(),
            recipient: to.clone(),
            subject: "Your code".into(),
            body: "Your code is 99887766.".into(),
            html_body: Some("<p>Your code is <b>99887766</b>.</p>".into()),
        })
        .await
        .unwrap();

    // The mail server is down.
    let mut down = crate::smtp::settings(&c);
    down.port = closed_port();
    let retry = RetryPolicy::default();
    let worker = OutboxWorker {
        store: Arc::clone(&store),
        channel: Arc::new(SmtpChannel::new(&down).unwrap()),
        clock: clock.clone() as Arc<dyn Clock>,
        retry,
        batch: 10,
    };
    let report = worker.run_once().await.unwrap();
    assert_eq!(
        report,
        PassReport {
            sent: 0,
            retrying: 1,
            dead: 0
        }
    );
    let m = store.recent_outbox(10).await.unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].id, id);
    assert_eq!(m[0].status, "pending");
    assert_eq!(m[0].attempts, 1);
    let error = m[0].last_error.as_deref().expect("the error is recorded");
    assert!(error.contains("temporary"), "{error}");
    assert_eq!(m[0].next_attempt_at, clock.now() + retry.backoff(1));

    // Not due yet: a pass before the backoff does nothing, even with the server back.
    let up = OutboxWorker {
        store: Arc::clone(&store),
        channel: Arc::new(SmtpChannel::new(&crate::smtp::settings(&c)).unwrap()),
        clock: clock.clone() as Arc<dyn Clock>,
        retry,
        batch: 10,
    };
    clock.advance(retry.backoff(1) - Duration::seconds(1));
    assert_eq!(up.run_once().await.unwrap(), PassReport::default());
    assert!(c.find(&to).is_none());

    // Past the backoff, with the mail server up: delivered.
    clock.advance(Duration::seconds(2));
    assert_eq!(
        up.run_once().await.unwrap(),
        PassReport {
            sent: 1,
            retrying: 0,
            dead: 0
        }
    );
    let got = c.wait_for(&to).await;
    assert!(got["text"].as_str().unwrap().contains("99887766"));
    assert!(got["html"].as_str().unwrap().contains("<b>99887766</b>"));
    let m = store.recent_outbox(10).await.unwrap();
    assert_eq!(m[0].status, "sent");
    assert_eq!(m[0].attempts, 2);

    // And never again.
    clock.advance(Duration::hours(2));
    assert_eq!(up.run_once().await.unwrap(), PassReport::default());
}
