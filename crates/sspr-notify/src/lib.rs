//! sspr-notify: delivery of messages through the durable outbox (SPEC §8).
//!
//! Nothing sends a message directly: use cases enqueue a row, and the [`worker::OutboxWorker`]
//! of any instance claims it, hands it to a [`Channel`], and marks it sent, or schedules a
//! retry with backoff, or after the last attempt moves it to the dead-letter state.

pub mod dev;
pub mod gateway;
pub mod messages;
pub mod outbox_delivery;
pub mod router;
pub mod smtp;
pub mod worker;

use async_trait::async_trait;
use sspr_core::ports::OutboxMessage;

/// A way to deliver a message (development file, SMTP, SMS gateway, …).
#[async_trait]
pub trait Channel: Send + Sync {
    async fn deliver(&self, message: &OutboxMessage) -> Result<(), DeliveryError>;
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth another try later (a provider down, a timeout).
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    /// Retrying cannot help (a rejected recipient).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Installs rustls' ring provider as the process default, once. reqwest is built without a
/// provider of its own (so the tree holds ring only, no aws-lc-rs) and panics when a client
/// is built before one is installed: call this at start-up and before building any
/// `reqwest::Client` (the gateway constructors do). Safe to call any number of times, also
/// when something else installed ring already.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is installed already, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
