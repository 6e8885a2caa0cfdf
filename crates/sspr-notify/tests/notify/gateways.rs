//! The webhook and Twilio gateways, checked request by request against a local receiver.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use sspr_notify::gateway::{TwilioGateway, TwilioSettings, WebhookGateway, WebhookSettings};
use sspr_notify::{Channel, DeliveryError};

use crate::helpers::{Receiver, closed_port, message};

fn webhook(receiver: &Receiver) -> WebhookGateway {
    let mut s = WebhookSettings::new(format!("{}/hooks/sms?account=42", receiver.base_url));
    s.auth_header = Some(("Authorization".into(), SecretString::from("Bearer s3cret")));
    s.body_template =
        r#"{"destination": "{{to}}", "text": "{{ body }}", "kind": "{{channel}}", "reference": "{{id}}", "sender": "sspr"}"#
            .into();
    s.timeout = Duration::from_secs(2);
    WebhookGateway::new(s).expect("valid webhook settings")
}

#[tokio::test]
async fn webhook_posts_the_message_as_json() {
    let receiver = Receiver::start().await;
    let gateway = webhook(&receiver);
    let body = "Your code is \"482913\".\nIt expires in 5 minutes \\ ünïcode ✓";
    let m = message("sms", "+441632960001", body);
    gateway.deliver(&m).await.expect("delivered");

    let r = receiver.only_request();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hooks/sms?account=42");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("authorization"), Some("Bearer s3cret"));
    let id = m.id.to_string();
    assert_eq!(r.header("idempotency-key"), Some(id.as_str()));
    let sent: serde_json::Value = serde_json::from_slice(&r.body).expect("the body is JSON");
    assert_eq!(
        sent,
        json!({
            "destination": "+441632960001",
            "text": body,
            "kind": "sms",
            "reference": id,
            "sender": "sspr",
        })
    );
}

#[tokio::test]
async fn webhook_without_auth_header_sends_none() {
    let receiver = Receiver::start().await;
    let gateway =
        WebhookGateway::new(WebhookSettings::new(format!("{}/voice", receiver.base_url))).unwrap();
    let m = message("voice", "+441632960002", "Hello");
    gateway.deliver(&m).await.unwrap();
    let r = receiver.only_request();
    assert_eq!(r.path, "/voice");
    assert_eq!(r.header("authorization"), None);
    let sent: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        sent,
        json!({"to": "+441632960002", "body": "Hello", "channel": "voice", "id": m.id.to_string()})
    );
}

fn expect_temporary(result: Result<(), DeliveryError>, contains: &str) {
    match result {
        Err(DeliveryError::Temporary(e)) => assert!(e.contains(contains), "{e}"),
        other => panic!("expected a temporary failure ({contains}), got {other:?}"),
    }
}

fn expect_permanent(result: Result<(), DeliveryError>, contains: &str) {
    match result {
        Err(DeliveryError::Permanent(e)) => assert!(e.contains(contains), "{e}"),
        other => panic!("expected a permanent failure ({contains}), got {other:?}"),
    }
}

#[tokio::test]
async fn webhook_errors_are_classified() {
    let receiver = Receiver::start().await;
    let gateway = webhook(&receiver);
    let m = message("sms", "+441632960003", "x");

    receiver.reply_with(503, "maintenance", Duration::ZERO);
    expect_temporary(gateway.deliver(&m).await, "503");
    receiver.reply_with(429, "slow down", Duration::ZERO);
    expect_temporary(gateway.deliver(&m).await, "429");
    receiver.reply_with(400, r#"{"error": "invalid number"}"#, Duration::ZERO);
    expect_permanent(gateway.deliver(&m).await, "invalid number");
    receiver.reply_with(401, "", Duration::ZERO);
    expect_permanent(gateway.deliver(&m).await, "401");
    // Slower than the 2 s timeout.
    receiver.reply_with(200, "{}", Duration::from_secs(4));
    expect_temporary(gateway.deliver(&m).await, "timed out");
    assert_eq!(receiver.requests().len(), 5);

    // Nothing listening.
    let down = WebhookGateway::new(WebhookSettings::new(format!(
        "http://127.0.0.1:{}/sms",
        closed_port()
    )))
    .unwrap();
    expect_temporary(down.deliver(&m).await, "cannot connect");
}

fn twilio(receiver: &Receiver) -> TwilioGateway {
    let mut s = TwilioSettings::new(
        "ACtest123",
        SecretString::from("tok-secret"),
        "+441632960999",
    );
    s.base_url = format!("{}/", receiver.base_url);
    s.voice_language = "en-GB".into();
    s.timeout = Duration::from_secs(2);
    TwilioGateway::new(s).expect("valid twilio settings")
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).expect("a form body")
}

// base64("ACtest123:tok-secret")
const BASIC: &str = "Basic QUN0ZXN0MTIzOnRvay1zZWNyZXQ=";

#[tokio::test]
async fn twilio_sends_sms_through_the_messages_resource() {
    let receiver = Receiver::start().await;
    let gateway = twilio(&receiver);
    let m = message("sms", "+441632960004", "Contoso code: 482913 & more");
    gateway.deliver(&m).await.expect("delivered");

    let r = receiver.only_request();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/2010-04-01/Accounts/ACtest123/Messages.json");
    assert_eq!(r.header("authorization"), Some(BASIC));
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.header("idempotency-key"), Some(m.id.to_string().as_str()));
    assert_eq!(
        form(&r.body),
        [
            ("To".to_owned(), "+441632960004".to_owned()),
            ("From".to_owned(), "+441632960999".to_owned()),
            ("Body".to_owned(), "Contoso code: 482913 & more".to_owned()),
        ]
    );
}

#[tokio::test]
async fn twilio_calls_and_says_the_code_digit_by_digit_twice() {
    let receiver = Receiver::start().await;
    let gateway = twilio(&receiver);
    let m = message(
        "voice",
        "+441632960005",
        "Your <Contoso> code is 482913. It expires in 10 minutes.",
    );
    gateway.deliver(&m).await.expect("delivered");

    let r = receiver.only_request();
    assert_eq!(r.path, "/2010-04-01/Accounts/ACtest123/Calls.json");
    assert_eq!(r.header("authorization"), Some(BASIC));
    let said = "Your &lt;Contoso&gt; code is 4, 8, 2, 9, 1, 3. It expires in 10 minutes.";
    assert_eq!(
        form(&r.body),
        [
            ("To".to_owned(), "+441632960005".to_owned()),
            ("From".to_owned(), "+441632960999".to_owned()),
            (
                "Twiml".to_owned(),
                format!(
                    "<Response><Say language=\"en-GB\">{said}</Say><Pause length=\"1\"/>\
                     <Say language=\"en-GB\">{said}</Say></Response>"
                )
            ),
        ]
    );
}

#[tokio::test]
async fn twilio_errors_are_classified_with_the_providers_message() {
    let receiver = Receiver::start().await;
    let gateway = twilio(&receiver);
    let m = message("sms", "+441632960006", "x");

    receiver.reply_with(
        400,
        r#"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#,
        Duration::ZERO,
    );
    expect_permanent(
        gateway.deliver(&m).await,
        "error 21211: The 'To' number is not a valid phone number.",
    );
    receiver.reply_with(
        429,
        r#"{"code": 20429, "message": "Too Many Requests"}"#,
        Duration::ZERO,
    );
    expect_temporary(gateway.deliver(&m).await, "Too Many Requests");
    receiver.reply_with(500, "oops", Duration::ZERO);
    expect_temporary(gateway.deliver(&m).await, "500");
    receiver.reply_with(201, "{}", Duration::from_secs(4));
    expect_temporary(gateway.deliver(&m).await, "timed out");
    // Email is not Twilio's business.
    expect_permanent(
        gateway
            .deliver(&message("email", "a@example.org", "x"))
            .await,
        "cannot deliver",
    );
}
