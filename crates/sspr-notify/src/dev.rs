//! The development delivery mode: messages are appended, one JSON object per line, to a file
//! a person or a test can read (and they stay in the outbox table, which `/dev/outbox` shows).
//! Never for production: it logs a loud warning when it starts.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::Serialize;
use sspr_core::ports::OutboxMessage;
use tokio::io::AsyncWriteExt;

use crate::{Channel, DeliveryError};

pub struct DevFileChannel {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl DevFileChannel {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        tracing::warn!(
            file = %path.display(),
            "DEVELOPMENT DELIVERY MODE: messages are written to a file and shown at /dev/outbox, \
             not sent. Never use this mode in production."
        );
        Self {
            path,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

#[derive(Serialize)]
struct Line<'a> {
    id: String,
    channel: &'a str,
    to: &'a str,
    subject: &'a str,
    body: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
}

#[async_trait]
impl Channel for DevFileChannel {
    async fn deliver(&self, m: &OutboxMessage) -> Result<(), DeliveryError> {
        let mut line = serde_json::to_vec(&Line {
            id: m.id.to_string(),
            channel: &m.channel,
            to: &m.recipient,
            subject: &m.subject,
            body: &m.body,
            created_at: m.created_at,
        })
        .map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        line.push(b'\n');
        // One writer at a time so lines never interleave.
        let _guard = self.lock.lock().await;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| DeliveryError::Temporary(format!("{}: {e}", self.path.display())))?;
        file.write_all(&line)
            .await
            .map_err(|e| DeliveryError::Temporary(e.to_string()))?;
        file.flush()
            .await
            .map_err(|e| DeliveryError::Temporary(e.to_string()))?;
        Ok(())
    }
}
