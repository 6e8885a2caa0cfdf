//! SMTP through a real aiosmtpd capture (scripts/smtp.sh).

use std::time::Duration;

use sspr_notify::smtp::{SmtpChannel, SmtpSecurity, SmtpSettings};
use sspr_notify::{Channel, DeliveryError};

use crate::helpers::{Capture, capture, closed_port, message, unique_address};

pub fn settings(c: &Capture) -> SmtpSettings {
    let mut s = SmtpSettings::new(c.host.clone(), "sspr@contoso.example");
    s.port = c.port;
    s.security = SmtpSecurity::None;
    s.from_name = Some("Contoso Ltd".into());
    s.timeout = Duration::from_secs(5);
    s
}

#[tokio::test]
async fn a_plain_text_message_arrives() {
    let c = capture();
    let channel = SmtpChannel::new(&settings(&c)).expect("smtp channel");
    let to = unique_address("plain");
    let mut m = message(
        "email",
        &to,
        "Your code is 48291373.\nIt expires in 5 minutes.",
    );
    m.subject = "Your Contoso password reset code – ünïcödé".into();
    channel.deliver(&m).await.expect("delivered");

    let got = c.wait_for(&to).await;
    assert_eq!(got["mail_from"], "sspr@contoso.example");
    assert_eq!(got["rcpt_tos"], serde_json::json!([to]));
    assert_eq!(got["to"], to);
    assert_eq!(got["from"], "Contoso Ltd <sspr@contoso.example>");
    assert_eq!(got["subject"], "Your Contoso password reset code – ünïcödé");
    assert_eq!(got["content_type"], "text/plain");
    let text = got["text"].as_str().expect("a text part");
    assert!(text.contains("Your code is 48291373."), "{text}");
    assert_eq!(got["html"], serde_json::Value::Null);
    assert_eq!(
        got["message_id"],
        format!("<{}@contoso.example>", m.id),
        "the outbox id names the message"
    );
    assert_eq!(got["tls"], false);
}

#[tokio::test]
async fn an_html_alternative_makes_a_multipart_message() {
    let c = capture();
    let channel = SmtpChannel::new(&settings(&c)).unwrap();
    let to = unique_address("html");
    let mut m = message("email", &to, "Code: 11223344");
    m.subject = "Code".into();
    m.html_body = Some("<p>Code: <b>11223344</b></p>".into());
    channel.deliver(&m).await.unwrap();

    let got = c.wait_for(&to).await;
    assert_eq!(got["content_type"], "multipart/alternative");
    assert!(got["text"].as_str().unwrap().contains("Code: 11223344"));
    assert!(
        got["html"]
            .as_str()
            .unwrap()
            .contains("<p>Code: <b>11223344</b></p>")
    );
    let raw = c.raw(&got);
    assert!(raw.contains(&format!("X-Envelope-To: {to}")));
}

#[tokio::test]
async fn starttls_with_a_private_ca() {
    let c = capture();
    let ca = c.ca.clone().unwrap_or_else(|| {
        panic!("SSPR_TEST_SMTP_CA is not set: start the capture with scripts/smtp.sh")
    });
    let mut s = settings(&c);
    s.security = SmtpSecurity::StartTls;
    // The capture's certificate is for localhost and 127.0.0.1.
    s.ca_file = Some(ca);
    let channel = SmtpChannel::new(&s).expect("smtp channel with ca_file");
    let to = unique_address("tls");
    let mut m = message("email", &to, "over TLS: 55667788");
    m.subject = "TLS".into();
    channel.deliver(&m).await.expect("delivered over STARTTLS");
    let got = c.wait_for(&to).await;
    assert_eq!(got["tls"], true);
    assert!(got["text"].as_str().unwrap().contains("55667788"));

    // Without the private CA the certificate is not trusted, and nothing is sent; that is
    // worth retrying (an operator can fix the trust), not a reason to drop the message.
    let mut untrusted = settings(&c);
    untrusted.security = SmtpSecurity::StartTls;
    let channel = SmtpChannel::new(&untrusted).unwrap();
    let to2 = unique_address("untrusted");
    match channel.deliver(&message("email", &to2, "x")).await {
        Err(DeliveryError::Temporary(e)) => {
            assert!(e.to_lowercase().contains("certificate"), "{e}")
        }
        other => panic!("expected a temporary TLS failure, got {other:?}"),
    }
    assert!(c.find(&to2).is_none());
}

#[tokio::test]
async fn a_refused_connection_is_temporary() {
    let c = capture();
    let mut s = settings(&c);
    s.port = closed_port();
    let channel = SmtpChannel::new(&s).unwrap();
    match channel
        .deliver(&message("email", &unique_address("down"), "x"))
        .await
    {
        Err(DeliveryError::Temporary(e)) => {
            assert!(e.to_lowercase().contains("refused"), "{e}")
        }
        other => panic!("expected a temporary failure, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invalid_recipient_is_permanent() {
    let c = capture();
    let channel = SmtpChannel::new(&settings(&c)).unwrap();
    for bad in ["not an address", "a@b@c", ""] {
        match channel.deliver(&message("email", bad, "x")).await {
            Err(DeliveryError::Permanent(e)) => assert!(e.contains("invalid recipient"), "{e}"),
            other => panic!("{bad:?}: expected a permanent failure, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn smtp_answers_5xx_are_permanent_and_4xx_temporary() {
    let c = capture();
    let channel = SmtpChannel::new(&settings(&c)).unwrap();
    let unknown = unique_address("unknown");
    match channel.deliver(&message("email", &unknown, "x")).await {
        Err(DeliveryError::Permanent(e)) => assert!(e.contains("550"), "{e}"),
        other => panic!("expected a permanent failure for 550, got {other:?}"),
    }
    let busy = unique_address("busy");
    match channel.deliver(&message("email", &busy, "x")).await {
        Err(DeliveryError::Temporary(e)) => assert!(e.contains("451"), "{e}"),
        other => panic!("expected a temporary failure for 451, got {other:?}"),
    }
    // The pooled connection is still good afterwards.
    let to = unique_address("after");
    channel
        .deliver(&message("email", &to, "still fine"))
        .await
        .unwrap();
    c.wait_for(&to).await;
    assert!(c.find(&unknown).is_none() && c.find(&busy).is_none());
}
