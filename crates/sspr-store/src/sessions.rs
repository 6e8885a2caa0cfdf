//! Signed-in sessions, stored by the keyed hash of the cookie's value (DESIGN rules 1, 2).

use crate::db::Row;
use sspr_core::UserId;
use sspr_core::ports::{Session, StoreError};
use time::OffsetDateTime;

use crate::db;
use crate::error::{self, Violation};
use crate::time_ms::to_ms;
use crate::{SqlStore, rows};

fn decode(row: &Row) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: rows::get(row, "id_hash")?,
        user_id: UserId(rows::uuid(row, "user_id")?),
        created_at: rows::at(row, "created_at_ms")?,
        expires_at: rows::at(row, "expires_at_ms")?,
        revoked: rows::flag(row, "revoked")?,
    })
}

impl SqlStore {
    pub(crate) async fn create_session_impl(&self, session: &Session) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO sessions (id_hash, user_id, created_at_ms, expires_at_ms, revoked) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session.id_hash.as_str())
        .bind(session.user_id.0.to_string())
        .bind(to_ms(session.created_at))
        .bind(to_ms(session.expires_at))
        .bind(i64::from(session.revoked))
        .execute(&self.db)
        .await
        .map_err(|e| match error::violation(&e) {
            Some(Violation::Unique) => {
                StoreError::Conflict("a session with this id already exists".into())
            }
            // The user does not exist (any more).
            Some(Violation::ForeignKey) => StoreError::NotFound,
            _ => error::db(e),
        })?;
        Ok(())
    }

    pub(crate) async fn live_session_impl(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        db::query(
            "SELECT id_hash, user_id, created_at_ms, expires_at_ms, revoked FROM sessions \
             WHERE id_hash = $1 AND revoked = 0 AND expires_at_ms > $2",
        )
        .bind(id_hash)
        .bind(to_ms(now))
        .fetch_optional(&self.db)
        .await
        .map_err(error::db)?
        .as_ref()
        .map(decode)
        .transpose()
    }

    pub(crate) async fn revoke_session_impl(&self, id_hash: &str) -> Result<(), StoreError> {
        db::query("UPDATE sessions SET revoked = 1 WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.db)
            .await
            .map_err(error::db)?;
        Ok(())
    }

    /// Counts the sessions that were not yet revoked. (Whether they had also expired is not
    /// known here: the port passes no `now`, and the store's wall clock may disagree with the
    /// caller's clock.)
    pub(crate) async fn revoke_user_sessions_impl(&self, user: UserId) -> Result<u64, StoreError> {
        let done = db::query(REVOKE_USER_SESSIONS)
            .bind(user.0.to_string())
            .execute(&self.db)
            .await
            .map_err(error::db)?;
        Ok(done.rows_affected())
    }
}

/// Revokes the live sessions of user `$1` (also run as part of `finish_flow`).
pub(crate) const REVOKE_USER_SESSIONS: &str =
    "UPDATE sessions SET revoked = 1 WHERE user_id = $1 AND revoked = 0";
