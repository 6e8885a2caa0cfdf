//! The outbox (SPEC §8): messages are rows until a worker has delivered them, so a restart or
//! a provider's failure loses nothing, and several instances can share the work.
//!
//! A message is `pending` until a worker claims it: `sending`, with a lease. The worker then
//! marks it `sent`, or failed: `pending` again with a later `next_attempt_at`, or `dead`. A
//! worker that dies mid-send leaves its lease to run out, and the message is claimed again.

use crate::db::Row;
use sspr_core::ports::{NewOutboxMessage, OutboxMessage, StoreError};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::db;
use crate::error;
use crate::time_ms::{now_ms, to_ms};
use crate::{Backend, SqlStore, rows};

/// Due at `$1`: pending and due, or sending with a lease that ran out. A message never tried
/// (`attempts = 0`) is due at once, whatever the caller's clock says: `enqueue` stamps rows
/// with the store's wall clock, while the worker's `now` may be a frozen test clock.
macro_rules! due {
    () => {
        "((status = 'pending' AND (attempts = 0 OR next_attempt_at_ms <= $1)) \
          OR (status = 'sending' AND lease_until_ms <= $1))"
    };
}

/// PostgreSQL: `FOR UPDATE SKIP LOCKED` makes two workers claiming at once take disjoint
/// rows: each locks the rows it picks and skips rows another has locked; a row claimed and
/// committed meanwhile is re-checked (READ COMMITTED) and is no longer due. The CTE is
/// evaluated once, so `LIMIT` holds.
const CLAIM_POSTGRES: &str = concat!(
    "WITH picked AS (SELECT id FROM outbox WHERE ",
    due!(),
    " ORDER BY next_attempt_at_ms, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until_ms = $2 \
     FROM picked WHERE outbox.id = picked.id \
     RETURNING outbox.id, channel, recipient, subject, body, html_body, created_at_ms, status, attempts, \
     next_attempt_at_ms, last_error"
);

/// SQLite: a statement runs under the database's single write lock, so claims are
/// serialised and a second claim no longer sees the first one's rows as due.
const CLAIM_SQLITE: &str = concat!(
    "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until_ms = $2 \
     WHERE id IN (SELECT id FROM outbox WHERE ",
    due!(),
    " ORDER BY next_attempt_at_ms, id LIMIT $3) \
     RETURNING id, channel, recipient, subject, body, html_body, created_at_ms, status, attempts, \
     next_attempt_at_ms, last_error"
);

fn decode(row: &Row) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: rows::uuid(row, "id")?,
        channel: rows::get(row, "channel")?,
        recipient: rows::get(row, "recipient")?,
        subject: rows::get(row, "subject")?,
        body: rows::get(row, "body")?,
        html_body: rows::get(row, "html_body")?,
        created_at: rows::at(row, "created_at_ms")?,
        status: rows::get(row, "status")?,
        attempts: rows::count(row, "attempts")?,
        next_attempt_at: rows::at(row, "next_attempt_at_ms")?,
        last_error: rows::get(row, "last_error")?,
    })
}

impl SqlStore {
    pub(crate) async fn enqueue_impl(
        &self,
        message: &NewOutboxMessage,
    ) -> Result<Uuid, StoreError> {
        insert(&self.db, message).await
    }

    pub(crate) async fn claim_outbox_impl(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = match self.backend {
            Backend::Postgres => CLAIM_POSTGRES,
            Backend::Sqlite => CLAIM_SQLITE,
        };
        let mut claimed = db::query(sql)
            .bind(to_ms(now))
            .bind(to_ms(now + lease))
            .bind(i64::from(limit))
            .fetch_all(&self.db)
            .await
            .map_err(error::db)?
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING keeps no order.
        claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
        Ok(claimed)
    }

    pub(crate) async fn mark_sent_impl(
        &self,
        ids: &[Uuid],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut missing = false;
        // Chunks keep the statement's parameter count small on every backend.
        for chunk in ids.chunks(100) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "UPDATE outbox SET status = 'sent', sent_at_ms = $1, lease_until_ms = NULL \
                 WHERE id IN ({})",
                placeholders.join(", ")
            );
            // Only numbered placeholders are formatted in; every value is bound.
            let mut query = db::query(db::Dynamic(sql)).bind(to_ms(at));
            for id in chunk {
                query = query.bind(id.to_string());
            }
            let done = query.execute(&self.db).await.map_err(error::db)?;
            missing |= done.rows_affected() < chunk.len() as u64;
        }
        if missing {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn mark_failed_impl(
        &self,
        id: Uuid,
        message: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let query = match retry_at {
            Some(retry_at) => db::query(
                "UPDATE outbox SET status = 'pending', last_error = $2, next_attempt_at_ms = $3, \
                 lease_until_ms = NULL WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(message)
            .bind(to_ms(retry_at)),
            None => db::query(
                "UPDATE outbox SET status = 'dead', last_error = $2, lease_until_ms = NULL \
                 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(message),
        };
        let done = query.execute(&self.db).await.map_err(error::db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn recent_outbox_impl(
        &self,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        // Ids are UUIDv7: their text sorts by creation time too, which breaks ties.
        db::query(
            "SELECT id, channel, recipient, subject, body, html_body, created_at_ms, status, attempts, \
             next_attempt_at_ms, last_error FROM outbox \
             ORDER BY created_at_ms DESC, id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        .iter()
        .map(decode)
        .collect()
    }
}

/// Queues `message` on `on` (the store's pool or connection, or a transaction).
pub(crate) async fn insert<'e>(
    on: impl Into<db::On<'e>>,
    message: &NewOutboxMessage,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    let now = now_ms();
    db::query(
        "INSERT INTO outbox (id, channel, recipient, subject, body, html_body, created_at_ms, \
         status, attempts, next_attempt_at_ms, lease_until_ms, sent_at_ms, last_error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $7, NULL, NULL, NULL)",
    )
    .bind(id.to_string())
    .bind(message.channel.as_str())
    .bind(message.recipient.as_str())
    .bind(message.subject.as_str())
    .bind(message.body.as_str())
    .bind(message.html_body.as_deref())
    .bind(now)
    .execute(on)
    .await
    .map_err(error::db)?;
    Ok(id)
}
