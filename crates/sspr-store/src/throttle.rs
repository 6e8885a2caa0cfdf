//! Attempts counted by the limits of SPEC §4, and housekeeping of expired short-lived rows.
//! The rules themselves are pure (`sspr_core::policy::throttle`); this is only the shared
//! memory every instance reads and writes.

use sspr_core::UserId;
use sspr_core::ports::{StoreError, ThrottleHit};
use time::OffsetDateTime;

use crate::db;
use crate::time_ms::to_ms;
use crate::{Backend, SqlStore, commit, error, rows};

impl SqlStore {
    pub(crate) async fn throttle_hit_impl(
        &self,
        key: &str,
        user: Option<UserId>,
        at: OffsetDateTime,
        since: OffsetDateTime,
        enough: u32,
    ) -> Result<ThrottleHit, StoreError> {
        // Insert first, then read: of two racing attempts the later one always sees the
        // earlier, so parallel requests cannot all slip under a limit.
        if self.backend == Backend::Sqlite {
            // SQLite runs one writer at a time, so the insert and the count can be one
            // statement; the attempts themselves are read only when there are enough of them
            // to matter.
            let row = db::query(
                "INSERT INTO throttle_events (key, user_id, at_ms) VALUES ($1, $2, $3) \
                 RETURNING id, (SELECT COUNT(*) FROM throttle_events AS t \
                 WHERE t.key = $1 AND t.at_ms >= $4 AND t.id <> throttle_events.id) AS others",
            )
            .bind(key)
            .bind(user.map(|u| u.0.to_string()))
            .bind(to_ms(at))
            .bind(to_ms(since))
            .fetch_one(&self.db)
            .await
            .map_err(error::db)?;
            let id: i64 = rows::get(&row, "id")?;
            let count: i64 = rows::get(&row, "others")?;
            let others = if count >= i64::from(enough) {
                self.events_if_enough(key, since, id, enough).await?
            } else {
                Vec::new()
            };
            return Ok(ThrottleHit { id, others });
        }
        // On PostgreSQL a single statement would read a snapshot taken before a parallel
        // attempt committed; two statements (each committed) cannot miss each other.
        let row = db::query(
            "INSERT INTO throttle_events (key, user_id, at_ms) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(key)
        .bind(user.map(|u| u.0.to_string()))
        .bind(to_ms(at))
        .fetch_one(&self.db)
        .await
        .map_err(error::db)?;
        let id: i64 = rows::get(&row, "id")?;
        let others = self.events_if_enough(key, since, id, enough).await?;
        Ok(ThrottleHit { id, others })
    }

    pub(crate) async fn throttle_events_impl(
        &self,
        key: &str,
        since: OffsetDateTime,
        enough: u32,
    ) -> Result<Vec<OffsetDateTime>, StoreError> {
        // Row ids start at 1: excluding id 0 excludes nothing.
        self.events_if_enough(key, since, 0, enough).await
    }

    /// The key's events at or after `since` other than `except`, or none when there are fewer
    /// than `enough`. One statement: the count is an uncorrelated subquery, evaluated once
    /// (from the index on `(key, at_ms)`), so below the limit no row is read out at all.
    async fn events_if_enough(
        &self,
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
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        .iter()
        .map(|row| rows::at(row, "at_ms"))
        .collect()
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

/// Forgets the attempts counted against user `$1` (also run as part of `finish_flow`).
pub(crate) const CLEAR_USER_LIMITS: &str = "DELETE FROM throttle_events WHERE user_id = $1";
