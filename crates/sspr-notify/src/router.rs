//! One [`Channel`] for the outbox worker that hands each message to the channel configured
//! for its kind (`email`, `sms`, `voice`).

use std::sync::Arc;

use async_trait::async_trait;
use sspr_core::ports::OutboxMessage;

use crate::{Channel, DeliveryError};

#[derive(Default, Clone)]
pub struct ChannelRouter {
    pub email: Option<Arc<dyn Channel>>,
    pub sms: Option<Arc<dyn Channel>>,
    pub voice: Option<Arc<dyn Channel>>,
}

impl ChannelRouter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_email(mut self, channel: Arc<dyn Channel>) -> Self {
        self.email = Some(channel);
        self
    }

    pub fn with_sms(mut self, channel: Arc<dyn Channel>) -> Self {
        self.sms = Some(channel);
        self
    }

    pub fn with_voice(mut self, channel: Arc<dyn Channel>) -> Self {
        self.voice = Some(channel);
        self
    }
}

impl std::fmt::Debug for ChannelRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelRouter")
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .field("voice", &self.voice.is_some())
            .finish()
    }
}

#[async_trait]
impl Channel for ChannelRouter {
    async fn deliver(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        let channel = match message.channel.as_str() {
            "email" => &self.email,
            "sms" => &self.sms,
            "voice" => &self.voice,
            other => {
                return Err(DeliveryError::Permanent(format!(
                    "unknown message channel {other:?}"
                )));
            }
        };
        match channel {
            Some(c) => c.deliver(message).await,
            None => Err(DeliveryError::Permanent(format!(
                "no {} channel configured",
                message.channel
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    #[async_trait]
    impl Channel for Recorder {
        async fn deliver(&self, m: &OutboxMessage) -> Result<(), DeliveryError> {
            self.0.lock().unwrap().push(m.recipient.clone());
            Ok(())
        }
    }

    fn message(channel: &str) -> OutboxMessage {
        let now = time::OffsetDateTime::now_utc();
        OutboxMessage {
            id: uuid::Uuid::new_v4(),
            channel: channel.into(),
            recipient: format!("{channel}-recipient"),
            subject: String::new(),
            body: "hello".into(),
            html_body: None,
            created_at: now,
            status: "sending".into(),
            attempts: 1,
            next_attempt_at: now,
            last_error: None,
        }
    }

    #[tokio::test]
    async fn messages_go_to_their_channel() {
        let email = Arc::new(Recorder::default());
        let sms = Arc::new(Recorder::default());
        let router = ChannelRouter::new()
            .with_email(email.clone())
            .with_sms(sms.clone());
        router.deliver(&message("email")).await.unwrap();
        router.deliver(&message("sms")).await.unwrap();
        assert_eq!(*email.0.lock().unwrap(), ["email-recipient"]);
        assert_eq!(*sms.0.lock().unwrap(), ["sms-recipient"]);
        match router.deliver(&message("voice")).await {
            Err(DeliveryError::Permanent(e)) => assert_eq!(e, "no voice channel configured"),
            other => panic!("expected a permanent error, got {other:?}"),
        }
        assert!(matches!(
            router.deliver(&message("fax")).await,
            Err(DeliveryError::Permanent(_))
        ));
    }
}
