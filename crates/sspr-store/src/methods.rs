//! The verification methods users register (SPEC §6). A method row belongs to one user, and
//! every lookup is by user and id together, so another user's id finds nothing (and the web
//! layer answers it like an unknown id).

use crate::db::Row;
use sspr_core::audit::AuditEvent;
use sspr_core::ports::StoreError;
use sspr_core::{MethodId, MethodType, RegisteredMethod, UserId};
use time::OffsetDateTime;

use crate::db;
use crate::error::{self, Violation};
use crate::time_ms::{opt_to_ms, to_ms};
use crate::{SqlStore, commit_audited, rows};

/// The columns [`decode`] reads.
macro_rules! columns {
    () => {
        "id, user_id, kind, label, secret, counter, verified_at_ms, created_at_ms, last_used_at_ms"
    };
}

fn decode(row: &Row) -> Result<RegisteredMethod, StoreError> {
    Ok(RegisteredMethod {
        id: MethodId(rows::uuid(row, "id")?),
        user_id: UserId(rows::uuid(row, "user_id")?),
        kind: rows::parsed(row, "kind", MethodType::parse)?,
        label: rows::get(row, "label")?,
        secret: rows::get(row, "secret")?,
        counter: rows::get(row, "counter")?,
        verified_at: rows::opt_at(row, "verified_at_ms")?,
        created_at: rows::at(row, "created_at_ms")?,
        last_used_at: rows::opt_at(row, "last_used_at_ms")?,
    })
}

fn insert_error(e: db::DbError) -> StoreError {
    match error::violation(&e) {
        Some(Violation::Unique) => StoreError::Conflict("this method already exists".into()),
        // The user does not exist (any more).
        Some(Violation::ForeignKey) => StoreError::NotFound,
        _ => error::db(e),
    }
}

async fn insert<'e>(on: impl Into<db::On<'e>>, m: &RegisteredMethod) -> Result<(), StoreError> {
    db::query(
        "INSERT INTO methods (id, user_id, kind, label, secret, counter, verified_at_ms, \
         created_at_ms, last_used_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(m.id.to_string())
    .bind(m.user_id.0.to_string())
    .bind(m.kind.as_str())
    .bind(m.label.as_str())
    .bind(m.secret.as_deref())
    .bind(m.counter)
    .bind(opt_to_ms(m.verified_at))
    .bind(to_ms(m.created_at))
    .bind(opt_to_ms(m.last_used_at))
    .execute(on)
    .await
    .map_err(insert_error)?;
    Ok(())
}

impl SqlStore {
    pub(crate) async fn add_method_impl(
        &self,
        method: &RegisteredMethod,
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError> {
        match audit {
            None => insert(&self.db, method).await,
            Some(audit) => {
                let mut tx = self.begin().await?;
                insert(&mut tx, method).await?;
                commit_audited(tx, audit).await
            }
        }
    }

    pub(crate) async fn replace_methods_of_kind_impl(
        &self,
        method: &RegisteredMethod,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        db::query("DELETE FROM methods WHERE user_id = $1 AND kind = $2")
            .bind(method.user_id.0.to_string())
            .bind(method.kind.as_str())
            .execute(&mut tx)
            .await
            .map_err(error::db)?;
        insert(&mut tx, method).await?;
        commit_audited(tx, audit).await
    }

    pub(crate) async fn list_methods_impl(
        &self,
        user: UserId,
    ) -> Result<Vec<RegisteredMethod>, StoreError> {
        db::query(concat!(
            "SELECT ",
            columns!(),
            " FROM methods WHERE user_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(user.0.to_string())
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        .iter()
        .map(decode)
        .collect()
    }

    pub(crate) async fn get_method_impl(
        &self,
        user: UserId,
        id: MethodId,
    ) -> Result<Option<RegisteredMethod>, StoreError> {
        db::query(concat!(
            "SELECT ",
            columns!(),
            " FROM methods WHERE id = $1 AND user_id = $2"
        ))
        .bind(id.to_string())
        .bind(user.0.to_string())
        .fetch_optional(&self.db)
        .await
        .map_err(error::db)?
        .as_ref()
        .map(decode)
        .transpose()
    }

    pub(crate) async fn mark_method_verified_impl(
        &self,
        user: UserId,
        id: MethodId,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = db::query(
            "UPDATE methods SET verified_at_ms = $3, last_used_at_ms = $3 \
             WHERE id = $1 AND user_id = $2 AND verified_at_ms IS NULL",
        )
        .bind(id.to_string())
        .bind(user.0.to_string())
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

    pub(crate) async fn delete_method_impl(
        &self,
        user: UserId,
        id: MethodId,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let done = db::query("DELETE FROM methods WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.0.to_string())
            .execute(&mut tx)
            .await
            .map_err(error::db)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        commit_audited(tx, audit).await?;
        Ok(true)
    }

    pub(crate) async fn advance_method_counter_impl(
        &self,
        id: MethodId,
        value: i64,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE methods SET counter = $2, last_used_at_ms = $3 WHERE id = $1 AND counter < $2",
        )
        .bind(id.to_string())
        .bind(value)
        .bind(to_ms(at))
        .execute(&self.db)
        .await
        .map_err(error::db)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn update_method_secret_impl(
        &self,
        user: UserId,
        id: MethodId,
        secret: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = db::query(
            "UPDATE methods SET secret = $1, last_used_at_ms = $2 WHERE id = $3 AND user_id = $4",
        )
        .bind(secret)
        .bind(to_ms(at))
        .bind(id.0.to_string())
        .bind(user.0.to_string())
        .execute(&self.db)
        .await
        .map_err(error::db)?;
        Ok(done.rows_affected() == 1)
    }
}
