//! The [`Delivery`] port: a notice is rendered in the recipient's language with the
//! organisation's branding and written to the durable outbox, where a worker picks it up.
//! Nothing is sent while the user waits, so a slow or failing provider never changes what
//! they see (SPEC §8).

use std::sync::Arc;

use async_trait::async_trait;
use sspr_core::Locale;
use sspr_core::ports::{
    CodePurpose, Delivery, DeliveryChannel, NewOutboxMessage, Notice, Store, StoreError,
};

use crate::messages::{self, Brand, Message, MessageChannel};

pub struct OutboxDelivery {
    pub store: Arc<dyn Store>,
    /// The organisation's name, logo and colour in force when a message is queued.
    pub brand: sspr_core::BrandHandle,
}

impl OutboxDelivery {
    /// The brand a message is rendered with now (a colour that is not `#RRGGBB` falls back
    /// to the default: the policy and the configuration check it, this is a last guard).
    fn brand(&self) -> Brand {
        let b = self.brand.current();
        Brand {
            logo_url: b.logo_url.clone().filter(|u| sspr_core::is_web_url(u)),
            primary_colour: b
                .colour
                .clone()
                .filter(|c| sspr_core::is_hex_colour(c))
                .unwrap_or_else(|| messages::DEFAULT_COLOUR.into()),
            ..Brand::new(b.organisation_name.clone())
        }
    }
}

fn message(notice: &Notice) -> Message {
    match notice {
        Notice::VerificationCode {
            code,
            minutes,
            purpose,
        } => Message::VerificationCode {
            code: code.clone(),
            minutes: *minutes,
            purpose: match purpose {
                CodePurpose::Registration => messages::CodePurpose::Registration,
                CodePurpose::Reset => messages::CodePurpose::Reset,
            },
        },
        Notice::MethodAdded { method } => Message::MethodAdded {
            method: method.as_str().to_owned(),
        },
        Notice::MethodRemoved { method } => Message::MethodRemoved {
            method: method.as_str().to_owned(),
        },
        Notice::PasswordReset { username, at } => Message::PasswordReset {
            at: at.clone(),
            username: username.clone(),
        },
        Notice::AdminPasswordReset { admin, at } => Message::AdminPasswordReset {
            admin: admin.clone(),
            at: at.clone(),
        },
        Notice::Unlocked { at } => Message::Unlocked { at: at.clone() },
        Notice::ContactAdministrator {
            username,
            support_code,
            message,
        } => Message::ContactAdministrator {
            username: username.clone(),
            support_code: support_code.clone(),
            message: message.clone(),
        },
    }
}

#[async_trait]
impl Delivery for OutboxDelivery {
    fn render(
        &self,
        channel: DeliveryChannel,
        to: &str,
        notice: &Notice,
        locale: Locale,
    ) -> NewOutboxMessage {
        let rendered = messages::render(
            &message(notice),
            match channel {
                DeliveryChannel::Email => MessageChannel::Email,
                DeliveryChannel::Sms => MessageChannel::Sms,
                DeliveryChannel::Voice => MessageChannel::Voice,
            },
            locale.as_str(),
            &self.brand(),
        );
        NewOutboxMessage {
            channel: channel.as_str().to_owned(),
            recipient: to.to_owned(),
            subject: rendered.subject,
            body: rendered.text,
            html_body: rendered.html,
        }
    }

    async fn queue(
        &self,
        channel: DeliveryChannel,
        to: &str,
        notice: &Notice,
        locale: Locale,
    ) -> Result<(), StoreError> {
        let message = self.render(channel, to, notice, locale);
        self.store.enqueue(&message).await.map(drop)
    }
}
