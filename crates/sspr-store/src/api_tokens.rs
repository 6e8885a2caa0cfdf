//! API tokens: metadata and the SHA-256 of the secret (never the secret itself).

use crate::db::Row;
use sspr_core::AdminRole;
use sspr_core::audit::AuditEvent;
use sspr_core::ports::{ApiToken, NewApiToken, StoreError};
use time::OffsetDateTime;

use crate::db;
use crate::error::{self, Violation};
use crate::time_ms::{opt_to_ms, to_ms};
use crate::{SqlStore, commit_audited, rows};

const COLUMNS: &str = "id, name, role, secret_sha256, created_by, created_at_ms, expires_at_ms, \
                       revoked_at_ms, last_used_at_ms";

fn decode(row: &Row) -> Result<(ApiToken, String), StoreError> {
    Ok((
        ApiToken {
            id: rows::get(row, "id")?,
            name: rows::get(row, "name")?,
            role: rows::parsed(row, "role", AdminRole::parse)?,
            created_by: rows::get(row, "created_by")?,
            created_at: rows::at(row, "created_at_ms")?,
            expires_at: rows::opt_at(row, "expires_at_ms")?,
            revoked_at: rows::opt_at(row, "revoked_at_ms")?,
            last_used_at: rows::opt_at(row, "last_used_at_ms")?,
        },
        rows::get(row, "secret_sha256")?,
    ))
}

impl SqlStore {
    pub(crate) async fn create_api_token_impl(
        &self,
        new: &NewApiToken,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let t = &new.token;
        let mut tx = self.begin().await?;
        db::query(
            "INSERT INTO api_tokens (id, name, role, secret_sha256, created_by, created_at_ms, \
             expires_at_ms, revoked_at_ms, last_used_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)",
        )
        .bind(t.id.as_str())
        .bind(t.name.as_str())
        .bind(t.role.as_str())
        .bind(new.secret_sha256.as_str())
        .bind(t.created_by.as_str())
        .bind(to_ms(t.created_at))
        .bind(opt_to_ms(t.expires_at))
        .execute(&mut tx)
        .await
        .map_err(|e| {
            error::write(e, Violation::Unique, || {
                StoreError::Conflict("a token with this id already exists".into())
            })
        })?;
        commit_audited(tx, audit).await
    }

    pub(crate) async fn api_token_impl(
        &self,
        id: &str,
    ) -> Result<Option<(ApiToken, String)>, StoreError> {
        db::query(db::Dynamic(format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.db)
        .await
        .map_err(error::db)?
        .as_ref()
        .map(decode)
        .transpose()
    }

    pub(crate) async fn list_api_tokens_impl(&self) -> Result<Vec<ApiToken>, StoreError> {
        db::query(db::Dynamic(format!(
            "SELECT {COLUMNS} FROM api_tokens ORDER BY created_at_ms DESC, id"
        )))
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        .iter()
        .map(|r| decode(r).map(|(t, _)| t))
        .collect()
    }

    pub(crate) async fn revoke_api_token_impl(
        &self,
        id: &str,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = db::query(
            "UPDATE api_tokens SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL",
        )
        .bind(id)
        .bind(to_ms(at))
        .execute(&mut tx)
        .await
        .map_err(error::db)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        commit_audited(tx, audit).await?;
        Ok(true)
    }

    pub(crate) async fn touch_api_token_impl(
        &self,
        id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        db::query("UPDATE api_tokens SET last_used_at_ms = $2 WHERE id = $1")
            .bind(id)
            .bind(to_ms(at))
            .execute(&self.db)
            .await
            .map_err(error::db)?;
        Ok(())
    }
}
