//! The outbox worker: claim due messages, deliver, record the result.

use std::sync::Arc;

use sspr_core::ports::{Clock, Store, StoreError};
use time::Duration;

use crate::{Channel, DeliveryError};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a message is dead-lettered.
    pub max_attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claim lasts before another worker may take the message over.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            first_backoff: Duration::seconds(10),
            max_backoff: Duration::hours(1),
            lease: Duration::minutes(2),
        }
    }
}

impl RetryPolicy {
    /// Backoff after the `attempt`th failure (1-based): 10 s, 20 s, 40 s, … capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2i64.saturating_pow(attempt.saturating_sub(1).min(30));
        Duration::seconds(self.first_backoff.whole_seconds().saturating_mul(factor))
            .min(self.max_backoff)
    }
}

/// What one pass of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub sent: u32,
    pub retrying: u32,
    pub dead: u32,
}

pub struct OutboxWorker {
    pub store: Arc<dyn Store>,
    pub channel: Arc<dyn Channel>,
    pub clock: Arc<dyn Clock>,
    pub retry: RetryPolicy,
    pub batch: u32,
}

impl OutboxWorker {
    /// Claims and delivers one batch of due messages.
    pub async fn run_once(&self) -> Result<PassReport, StoreError> {
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_outbox(now, self.retry.lease, self.batch)
            .await?;
        let mut report = PassReport::default();
        let mut sent = Vec::new();
        for message in claimed {
            match self.channel.deliver(&message).await {
                Ok(()) => {
                    sent.push(message.id);
                    report.sent += 1;
                }
                Err(error) => {
                    // `attempts` already counts this attempt (the claim increments it).
                    let retry_at = match &error {
                        DeliveryError::Temporary(_)
                            if message.attempts < self.retry.max_attempts =>
                        {
                            Some(self.clock.now() + self.retry.backoff(message.attempts))
                        }
                        _ => None,
                    };
                    tracing::warn!(id = %message.id, channel = %message.channel,
                        attempts = message.attempts, dead = retry_at.is_none(), %error,
                        "delivery failed");
                    self.store
                        .mark_failed(message.id, &error.to_string(), retry_at)
                        .await?;
                    if retry_at.is_some() {
                        report.retrying += 1;
                    } else {
                        report.dead += 1;
                    }
                }
            }
        }
        // One statement for the batch. Should the process stop before it, the messages
        // delivered in this pass are delivered again when their lease runs out: at least
        // once, as for a stop between a delivery and its own mark.
        if !sent.is_empty() {
            self.store.mark_sent(&sent, self.clock.now()).await?;
        }
        Ok(report)
    }

    /// Runs until `shutdown` resolves, polling every `interval`. A store outage is logged and
    /// retried on the next tick; nothing is lost because the messages stay in the table.
    pub async fn run(
        self,
        interval: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            match self.run_once().await {
                Ok(r) if r != PassReport::default() => {
                    tracing::debug!(
                        sent = r.sent,
                        retrying = r.retrying,
                        dead = r.dead,
                        "outbox pass"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox pass failed; will retry"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let r = RetryPolicy::default();
        assert_eq!(r.backoff(1), Duration::seconds(10));
        assert_eq!(r.backoff(2), Duration::seconds(20));
        assert_eq!(r.backoff(4), Duration::seconds(80));
        assert_eq!(r.backoff(30), Duration::hours(1));
    }
}
