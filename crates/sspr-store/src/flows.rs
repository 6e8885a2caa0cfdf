//! Reset flows (SPEC §5). A flow is one row; every change is a compare-and-set on its version,
//! so of two parallel requests that read the same flow only one can write it — the basis of
//! "32 parallel password submissions → exactly one write".

use crate::db::Row;
use sspr_core::audit::AuditEvent;
use sspr_core::flow::{Flow, FlowId};
use sspr_core::ports::{CodeSpend, FlowWrite, NewOutboxMessage, PasswordWrite, StoreError};
use sspr_core::{User, UserId};
use time::OffsetDateTime;

use crate::codes::SPEND_USER_CODES;
use crate::db;
use crate::sessions::REVOKE_USER_SESSIONS;
use crate::throttle::CLEAR_USER_LIMITS;
use crate::time_ms::to_ms;
use crate::{SqlStore, commit, commit_audited, error, rows};

impl SqlStore {
    pub(crate) async fn create_flow_impl(
        &self,
        flow: &Flow,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let state = serde_json::to_string(flow).map_err(|e| error::corrupt(e.to_string()))?;
        let mut tx = self.begin().await?;
        db::query(
            "INSERT INTO reset_flows (id, cookie_hash, user_id, stage, state, version, \
             created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(flow.id.to_string())
        .bind(flow.cookie_hash.as_str())
        .bind(flow.subject.map(|u| u.0.to_string()))
        .bind(flow.stage.as_str())
        .bind(state)
        .bind(flow.version)
        .bind(to_ms(flow.created_at))
        .bind(to_ms(flow.expires_at))
        .execute(&mut tx)
        .await
        .map_err(error::db)?;
        commit_audited(tx, audit).await
    }

    pub(crate) async fn get_flow_impl(&self, id: FlowId) -> Result<Option<Flow>, StoreError> {
        let row = db::query("SELECT state, version FROM reset_flows WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.db)
            .await
            .map_err(error::db)?;
        row.map(|row| decode(id, &row, "state", "version"))
            .transpose()
    }

    pub(crate) async fn get_flow_with_subject_impl(
        &self,
        id: FlowId,
    ) -> Result<Option<(Flow, Option<User>)>, StoreError> {
        // The flow's two columns are renamed so that they cannot clash with the user's.
        let row = db::query(
            "SELECT f.state AS flow_state, f.version AS flow_version, u.* \
             FROM reset_flows f LEFT JOIN users u ON u.id = f.user_id WHERE f.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.db)
        .await
        .map_err(error::db)?;
        let Some(row) = row else { return Ok(None) };
        let flow = decode(id, &row, "flow_state", "flow_version")?;
        let user = match rows::get::<Option<String>>(&row, "id")? {
            Some(_) => Some(crate::users::decode(&row)?),
            None => None,
        };
        Ok(Some((flow, user)))
    }

    /// Writes `flow` only if the stored version is still `flow.version`; the stored version
    /// becomes `flow.version + 1`. The audit record goes in the same transaction. Without
    /// one, the compare-and-set is a single statement and needs no transaction.
    pub(crate) async fn update_flow_impl(
        &self,
        flow: &Flow,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut next = flow.clone();
        next.version = flow.version + 1;
        let state = serde_json::to_string(&next).map_err(|e| error::corrupt(e.to_string()))?;
        let update = update_if_version(&next, &state, flow);
        let Some(audit) = audit else {
            let done = update.execute(&self.db).await.map_err(error::db)?;
            return Ok(done.rows_affected() == 1);
        };
        let mut tx = self.begin().await?;
        let done = update.execute(&mut tx).await.map_err(error::db)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        crate::audit::append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(true)
    }

    pub(crate) async fn update_flow_spending_code_impl(
        &self,
        flow: &Flow,
        audit: &AuditEvent,
        code: &CodeSpend<'_>,
    ) -> Result<FlowWrite, StoreError> {
        let mut next = flow.clone();
        next.version = flow.version + 1;
        let state = serde_json::to_string(&next).map_err(|e| error::corrupt(e.to_string()))?;
        // Dropped without a commit, the transaction is rolled back: a code spent for a flow
        // that was written meanwhile is live again.
        let mut tx = self.begin().await?;
        if !crate::codes::consume(&mut tx, code.binding, code.code_hash, code.now).await? {
            return Ok(FlowWrite::CodeRejected);
        }
        let done = update_if_version(&next, &state, flow)
            .execute(&mut tx)
            .await
            .map_err(error::db)?;
        if done.rows_affected() != 1 {
            return Ok(FlowWrite::Stale);
        }
        crate::audit::append(&mut tx, audit).await?;
        commit(tx).await?;
        Ok(FlowWrite::Written)
    }

    pub(crate) async fn finish_flow_impl(
        &self,
        flow: &Flow,
        user: UserId,
        password: Option<&PasswordWrite<'_>>,
        revoke_sessions: bool,
        now: OffsetDateTime,
        notices: &[NewOutboxMessage],
    ) -> Result<(), StoreError> {
        let mut next = flow.clone();
        next.version = flow.version + 1;
        let state = serde_json::to_string(&next).map_err(|e| error::corrupt(e.to_string()))?;
        let user_id = user;
        let user = user.0.to_string();
        let mut tx = self.begin().await?;
        if let Some(p) = password {
            crate::users::write_password(&mut tx, self.backend, user_id, p.hash, p.keep_history)
                .await?;
            crate::audit::append(&mut tx, p.audit).await?;
        }
        // Each with whether it takes the time as `$2` (all take the user as `$1`).
        let mut per_user = vec![(SPEND_USER_CODES, true), (CLEAR_USER_LIMITS, false)];
        if revoke_sessions {
            per_user.push((REVOKE_USER_SESSIONS, false));
        }
        update_if_version(&next, &state, flow)
            .execute(&mut tx)
            .await
            .map_err(error::db)?;
        for (sql, takes_time) in per_user {
            let query = db::query(sql).bind(user.as_str());
            // PostgreSQL wants every parameter of a statement used in it.
            let query = if takes_time {
                query.bind(to_ms(now))
            } else {
                query
            };
            query.execute(&mut tx).await.map_err(error::db)?;
        }
        for notice in notices {
            crate::outbox::insert(&mut tx, notice).await?;
        }
        commit(tx).await
    }
}

/// The flow stored as JSON in column `state`, with the row's `version` (the JSON's own is
/// the one it had when written, not the compare-and-set counter).
fn decode(id: FlowId, row: &Row, state: &str, version: &str) -> Result<Flow, StoreError> {
    let json: String = rows::get(row, state)?;
    let mut flow: Flow =
        serde_json::from_str(&json).map_err(|e| error::corrupt(format!("reset flow {id}: {e}")))?;
    flow.version = rows::get(row, version)?;
    Ok(flow)
}

/// `UPDATE` of the stored flow to `next` (serialised as `state`), only while its version is
/// still `flow.version`.
fn update_if_version(next: &Flow, state: &str, flow: &Flow) -> db::Query {
    db::query(
        "UPDATE reset_flows SET stage = $1, state = $2, version = $3 \
         WHERE id = $4 AND version = $5",
    )
    .bind(next.stage.as_str())
    .bind(state)
    .bind(next.version)
    .bind(flow.id.to_string())
    .bind(flow.version)
}
