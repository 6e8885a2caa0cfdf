//! Attempts counted by the limits of SPEC §4, and housekeeping of expired short-lived rows.
//! The rules themselves are pure (`sspr_core::policy::throttle`); this is only the shared
//! memory every instance reads and writes.

use sspr_core::UserId;
use sspr_core::ports::{Attempt, StoreError, ThrottleHit};
use time::OffsetDateTime;

use crate::db;
use crate::time_ms::to_ms;
use crate::{Backend, SqlStore, commit, error, rows};

impl SqlStore {
    pub(crate) async fn throttle_hits_impl(
        &self,
        attempts: &[Attempt<'_>],
        at: OffsetDateTime,
    ) -> Result<Vec<ThrottleHit>, StoreError> {
        // Insert first, then read: of two racing attempts the later one always sees the
        // earlier, so parallel requests cannot all slip under a limit. Every attempt of the
        // batch is inserted before any is read, so an attempt's others are the same on both
        // databases (including the batch's own attempts under the same key).
        let mut tx = self.begin().await?;
        let mut ids = Vec::with_capacity(attempts.len());
        for a in attempts {
            let row = db::query(
                "INSERT INTO throttle_events (key, user_id, at_ms) VALUES ($1, $2, $3) \
                 RETURNING id",
            )
            .bind(a.key)
            .bind(a.user.map(|u| u.0.to_string()))
            .bind(to_ms(at))
            .fetch_one(&mut tx)
            .await
            .map_err(error::db)?;
            ids.push(rows::get::<i64>(&row, "id")?);
        }
        let mut hits = Vec::with_capacity(attempts.len());
        if self.backend == Backend::Sqlite {
            // SQLite runs one writer at a time: reading inside the transaction misses no
            // parallel attempt, and the batch is one commit.
            for (a, &id) in attempts.iter().zip(&ids) {
                let others = events_if_enough(&mut tx, a.key, a.since, id, a.enough).await?;
                hits.push(ThrottleHit { id, others });
            }
            commit(tx).await?;
            return Ok(hits);
        }
        // On PostgreSQL a statement reads a snapshot taken before a parallel attempt
        // committed: the inserts are committed (together) first and the keys read after, so
        // that two attempts cannot miss each other.
        commit(tx).await?;
        for (a, id) in attempts.iter().zip(ids) {
            let others = events_if_enough(&self.db, a.key, a.since, id, a.enough).await?;
            hits.push(ThrottleHit { id, others });
        }
        Ok(hits)
    }

    pub(crate) async fn throttle_events_impl(
        &self,
        key: &str,
        since: OffsetDateTime,
        enough: u32,
    ) -> Result<Vec<OffsetDateTime>, StoreError> {
        // Row ids start at 1: excluding id 0 excludes nothing.
        events_if_enough(&self.db, key, since, 0, enough).await
    }

    pub(crate) async fn throttle_forget_impl(&self, id: i64) -> Result<(), StoreError> {
        db::query("DELETE FROM throttle_events WHERE id = $1")
            .bind(id)
            .execute(&self.db)
            .await
            .map_err(error::db)?;
        Ok(())
    }

    pub(crate) async fn throttle_clear_user_impl(&self, user: UserId) -> Result<u64, StoreError> {
        let done = db::query(CLEAR_USER_LIMITS)
            .bind(user.0.to_string())
            .execute(&self.db)
            .await
            .map_err(error::db)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn prune_expired_impl(
        &self,
        before: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let before = to_ms(before);
        let mut tx = self.begin().await?;
        let mut total = 0;
        for sql in [
            "DELETE FROM throttle_events WHERE at_ms < $1",
            "DELETE FROM one_time_codes WHERE expires_at_ms < $1",
            "DELETE FROM ceremonies WHERE expires_at_ms < $1",
            "DELETE FROM reset_flows WHERE expires_at_ms < $1",
        ] {
            total += db::query(sql)
                .bind(before)
                .execute(&mut tx)
                .await
                .map_err(error::db)?
                .rows_affected();
        }
        commit(tx).await?;
        Ok(total)
    }

    pub(crate) async fn put_ceremony_impl(
        &self,
        id_hash: &str,
        user: Option<UserId>,
        kind: &str,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO ceremonies (id_hash, user_id, kind, state, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(user.map(|u| u.0.to_string()))
        .bind(kind)
        .bind(state)
        .bind(to_ms(expires_at))
        .execute(&self.db)
        .await
        .map_err(|e| {
            error::write(e, error::Violation::Unique, || {
                StoreError::Conflict("a ceremony with this id already exists".into())
            })
        })?;
        Ok(())
    }

    pub(crate) async fn take_ceremony_impl(
        &self,
        id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Option<UserId>, String)>, StoreError> {
        // DELETE … RETURNING: the state is handed out once, even to parallel finishers.
        let row = db::query(
            "DELETE FROM ceremonies WHERE id_hash = $1 AND kind = $2 \
             RETURNING user_id, state, expires_at_ms",
        )
        .bind(id_hash)
        .bind(kind)
        .fetch_optional(&self.db)
        .await
        .map_err(error::db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user: Option<String> = rows::get(&row, "user_id")?;
        let state: String = rows::get(&row, "state")?;
        let expires_at_ms: i64 = rows::get(&row, "expires_at_ms")?;
        if expires_at_ms <= to_ms(now) {
            return Ok(None);
        }
        let user = user
            .map(|u| {
                uuid::Uuid::parse_str(&u)
                    .map(UserId)
                    .map_err(|e| error::corrupt(format!("ceremony user_id {u:?}: {e}")))
            })
            .transpose()?;
        Ok(Some((user, state)))
    }
}

/// The key's events at or after `since` other than `except`, or none when there are fewer
/// than `enough`. One statement: the count is an uncorrelated subquery, evaluated once
/// (from the index on `(key, at_ms)`), so below the limit no row is read out at all.
async fn events_if_enough<'a>(
    on: impl Into<db::On<'a>>,
    key: &str,
    since: OffsetDateTime,
    except: i64,
    enough: u32,
) -> Result<Vec<OffsetDateTime>, StoreError> {
    db::query(
        "SELECT at_ms FROM throttle_events WHERE key = $1 AND at_ms >= $2 AND id <> $3 \
         AND (SELECT COUNT(*) FROM throttle_events \
              WHERE key = $1 AND at_ms >= $2 AND id <> $3) >= $4 \
         ORDER BY at_ms, id",
    )
    .bind(key)
    .bind(to_ms(since))
    .bind(except)
    .bind(i64::from(enough))
    .fetch_all(on)
    .await
    .map_err(error::db)?
    .iter()
    .map(|row| rows::at(row, "at_ms"))
    .collect()
}

/// Forgets the attempts counted against user `$1` (also run as part of `finish_flow`).
pub(crate) const CLEAR_USER_LIMITS: &str = "DELETE FROM throttle_events WHERE user_id = $1";
