//! The development delivery mode: messages are appended, one JSON object per line, to a file
//! a person or a test can read (and they stay in the outbox table, which `/dev/outbox` shows).
//! Never for production: it logs a loud warning when it starts.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use sspr_core::ports::OutboxMessage;

use crate::{Channel, DeliveryError};

pub struct DevFileChannel {
    /// The path, behind the lock that keeps one writer at a time (so lines never interleave).
    file: Arc<Mutex<PathBuf>>,
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
            file: Arc::new(Mutex::new(path)),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.file.lock().unwrap_or_else(|e| e.into_inner()).clone()
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
        // Open, append and close in one trip to the blocking pool (tokio's file API makes a
        // trip for each step).
        let file = Arc::clone(&self.file);
        tokio::task::spawn_blocking(move || {
            let path = file.lock().unwrap_or_else(|e| e.into_inner());
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&*path)
                .and_then(|mut f| f.write_all(&line))
                .map_err(|e| DeliveryError::Temporary(format!("{}: {e}", path.display())))
        })
        .await
        .map_err(|e| DeliveryError::Temporary(e.to_string()))??;
        Ok(())
    }
}
