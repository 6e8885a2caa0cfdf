//! One-time codes (SPEC §4, DESIGN rule 5): stored as keyed hashes, consumed by one
//! conditional write so that of any number of parallel submissions exactly one succeeds.

use sspr_core::UserId;
use sspr_core::audit::AuditEvent;
use sspr_core::ports::{NewCode, NewOutboxMessage, StoreError};
use time::OffsetDateTime;

use crate::db;
use crate::error;
use crate::time_ms::to_ms;
use crate::{SqlStore, commit_audited};

impl SqlStore {
    pub(crate) async fn create_code_impl(&self, code: &NewCode) -> Result<(), StoreError> {
        insert(&self.db, code).await
    }

    /// A code, the message that carries it (none for a decoy) and the record that it was
    /// sent, in one transaction: one commit instead of three.
    pub(crate) async fn issue_code_impl(
        &self,
        code: &NewCode,
        message: Option<&NewOutboxMessage>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        insert(&mut tx, code).await?;
        if let Some(message) = message {
            crate::outbox::insert(&mut tx, message).await?;
        }
        commit_audited(tx, audit).await
    }

    pub(crate) async fn consume_code_impl(
        &self,
        binding: &str,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        consume(&self.db, binding, code_hash, now).await
    }

    pub(crate) async fn revoke_codes_impl(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let done = db::query(SPEND_USER_CODES)
            .bind(user.0.to_string())
            .bind(to_ms(now))
            .execute(&self.db)
            .await
            .map_err(error::db)?;
        Ok(done.rows_affected())
    }
}

/// Spends the live code of `binding` with this hash, if there is one; returns whether it did.
pub(crate) async fn consume<'a>(
    on: impl Into<db::On<'a>>,
    binding: &str,
    code_hash: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    // One row at most: two live codes of one binding with the same hash would be the same
    // code sent twice, and either may be consumed. The sub-select picks one id so that the
    // UPDATE touches one row on both backends.
    let done = db::query(
        "UPDATE one_time_codes SET used_at_ms = $3 WHERE id = (\
           SELECT id FROM one_time_codes WHERE binding = $1 AND code_hash = $2 \
           AND used_at_ms IS NULL AND expires_at_ms > $3 ORDER BY id LIMIT 1) \
         AND used_at_ms IS NULL",
    )
    .bind(binding)
    .bind(code_hash)
    .bind(to_ms(now))
    .execute(on)
    .await
    .map_err(error::db)?;
    Ok(done.rows_affected() == 1)
}

async fn insert<'e>(on: impl Into<db::On<'e>>, code: &NewCode) -> Result<(), StoreError> {
    db::query(
        "INSERT INTO one_time_codes (id, user_id, binding, code_hash, created_at_ms, \
         expires_at_ms, used_at_ms) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
    )
    .bind(code.id.to_string())
    .bind(code.user_id.map(|u| u.0.to_string()))
    .bind(code.binding.as_str())
    .bind(code.code_hash.as_str())
    .bind(to_ms(code.created_at))
    .bind(to_ms(code.expires_at))
    .execute(on)
    .await
    .map_err(error::db)?;
    Ok(())
}

/// Spends (at `$2`) the outstanding codes of user `$1` (also run as part of `finish_flow`).
pub(crate) const SPEND_USER_CODES: &str =
    "UPDATE one_time_codes SET used_at_ms = $2 WHERE user_id = $1 AND used_at_ms IS NULL";
