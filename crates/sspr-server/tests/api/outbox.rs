//! The development delivery mode: queued messages reach the file and `/dev/outbox`.

use sspr_core::ports::{NewOutboxMessage, Store};

use crate::helpers::spawn_app;

#[tokio::test]
async fn queued_messages_reach_the_dev_outbox_file_and_page() {
    let app = spawn_app().await;
    app.store
        .enqueue(&NewOutboxMessage {
            channel: "email".into(),
            recipient: "ada@example.org".into(),
            subject: "Your code".into(),
            body: "Your code is 12345678".into(),
            html_body: None,
        })
        .await
        .unwrap();
    // The worker polls every 500 ms; wait for it (bounded).
    let mut delivered = String::new();
    for _ in 0..100 {
        delivered = std::fs::read_to_string(&app.loaded.outbox_file).unwrap_or_default();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let line: serde_json::Value =
        serde_json::from_str(delivered.lines().next().expect("a line")).unwrap();
    assert_eq!(line["to"], "ada@example.org");
    assert_eq!(line["subject"], "Your code");

    // The file is written before the row is marked sent; wait for both (bounded).
    let mut page = serde_json::Value::Null;
    for _ in 0..100 {
        page = app
            .client
            .get(app.url("/dev/outbox"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if page[0]["status"] == "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(page[0]["to"], "ada@example.org");
    assert_eq!(page[0]["body"], "Your code is 12345678");
    assert_eq!(page[0]["status"], "sent");
}
