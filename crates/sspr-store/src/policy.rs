//! Settings: JSON documents by key. The SSPR policy lives under `sspr_policy`.

use sspr_core::SsprPolicy;
use sspr_core::audit::AuditEvent;
use sspr_core::ports::StoreError;

use crate::error::{self, corrupt};
use crate::time_ms::now_ms;
use crate::{SqlStore, audit, commit, rows};

const POLICY_KEY: &str = "sspr_policy";

impl SqlStore {
    pub(crate) async fn policy_impl(&self) -> Result<SsprPolicy, StoreError> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(POLICY_KEY)
            .fetch_optional(&self.pool)
            .await
            .map_err(error::db)?;
        let Some(row) = row else {
            return Ok(SsprPolicy::default());
        };
        let value: String = rows::get(&row, "value")?;
        serde_json::from_str(&value)
            .map_err(|e| corrupt(format!("the stored SSPR policy does not parse: {e}")))
    }

    pub(crate) async fn put_policy_impl(
        &self,
        policy: &SsprPolicy,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let value = serde_json::to_string(policy)
            .map_err(|e| corrupt(format!("the SSPR policy does not serialise: {e}")))?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(POLICY_KEY)
        .bind(value)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(error::db)?;
        audit::append(&mut tx, audit).await?;
        commit(tx).await
    }
}
