//! Settings: JSON documents by key. The SSPR policy lives under `sspr_policy`, the password
//! policy (with the custom banned terms) under `password_policy`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sspr_core::SsprPolicy;
use sspr_core::audit::AuditEvent;
use sspr_core::policy::password::PasswordPolicy;
use sspr_core::ports::StoreError;

use crate::db;
use crate::error::{self, corrupt};
use crate::time_ms::now_ms;
use crate::{SqlStore, commit_audited, rows};

const POLICY_KEY: &str = "sspr_policy";
const PASSWORD_POLICY_KEY: &str = "password_policy";

impl SqlStore {
    /// The setting stored under `key`, or `T::default()` when none was ever stored.
    pub(crate) async fn setting<T: DeserializeOwned + Default>(
        &self,
        key: &str,
        what: &str,
    ) -> Result<T, StoreError> {
        let row = db::query("SELECT value FROM settings WHERE key = $1")
            .bind(key.to_owned())
            .fetch_optional(&self.db)
            .await
            .map_err(error::db)?;
        let Some(row) = row else {
            return Ok(T::default());
        };
        let value: String = rows::get(&row, "value")?;
        serde_json::from_str(&value)
            .map_err(|e| corrupt(format!("the stored {what} does not parse: {e}")))
    }

    /// Stores `value` under `key` and appends `audit`, in one transaction.
    pub(crate) async fn put_setting<T: Serialize>(
        &self,
        key: &str,
        what: &str,
        value: &T,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let value = serde_json::to_string(value)
            .map_err(|e| corrupt(format!("the {what} does not serialise: {e}")))?;
        let mut tx = self.begin().await?;
        db::query(
            "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(key.to_owned())
        .bind(value)
        .bind(now_ms())
        .execute(&mut tx)
        .await
        .map_err(error::db)?;
        commit_audited(tx, audit).await
    }

    pub(crate) async fn policy_impl(&self) -> Result<SsprPolicy, StoreError> {
        self.setting(POLICY_KEY, "SSPR policy").await
    }

    pub(crate) async fn put_policy_impl(
        &self,
        policy: &SsprPolicy,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.put_setting(POLICY_KEY, "SSPR policy", policy, audit)
            .await
    }

    pub(crate) async fn password_policy_impl(&self) -> Result<PasswordPolicy, StoreError> {
        self.setting(PASSWORD_POLICY_KEY, "password policy").await
    }

    pub(crate) async fn put_password_policy_impl(
        &self,
        policy: &PasswordPolicy,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.put_setting(PASSWORD_POLICY_KEY, "password policy", policy, audit)
            .await
    }
}
