//! The audit log as a hash chain (SPEC §11).
//!
//! `audit_head` is a single row holding the last sequence number and its hash. Appending, inside
//! the caller's transaction:
//! 1. `UPDATE audit_head SET seq = seq + 1 … RETURNING seq, hash` — takes the row lock on
//!    PostgreSQL (and, on SQLite, runs under the write lock `BEGIN IMMEDIATE` took), so
//!    concurrent appenders queue here one after the other, each seeing its predecessor's
//!    committed hash: no gaps, no forks, no deadlock (every transaction takes this lock last);
//! 2. hash the record with `sspr_core::audit::chain_hash`;
//! 3. insert it into `audit_events`; a trigger (`audit_events_move_head`) stores its hash in
//!    `audit_head`, so the append costs two statements, not three.
//!
//! A transaction that rolls back takes its sequence number with it, so the chain stays
//! gap-free.

use crate::db::Row;
use crate::db::Tx;
use sspr_core::audit::{AuditEvent, AuditRecord, Outcome, chain_hash};
use sspr_core::ports::{AuditFilter, Page, StoreError};

use crate::error::{self, corrupt};
use crate::time_ms::{from_ms, now_ms, to_ms};

/// A value bound to a dynamically assembled query.
enum Param {
    Int(i64),
    Text(String),
}
use crate::db;
use crate::{SqlStore, rows};

/// Appends `event` to the chain within the transaction `conn` is in.
pub(crate) async fn append(conn: &mut Tx, event: &AuditEvent) -> Result<AuditRecord, StoreError> {
    let head = db::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_optional(&mut *conn)
        .await
        .map_err(error::db)?
        .ok_or_else(|| corrupt("the audit_head row is missing"))?;
    let seq: i64 = rows::get(&head, "seq")?;
    let prev_hash: String = rows::get(&head, "hash")?;
    // At millisecond precision, the precision that is stored and chained.
    let at = from_ms(now_ms())?;
    let details = serde_json::to_string(&event.details)
        .map_err(|e| corrupt(format!("audit details do not serialise: {e}")))?;
    // Hash the event as it will be read back: serde_json's float parsing is not always exact
    // to the last bit, so a float that changed on its way through the text would otherwise
    // make an intact record fail verification.
    let event = AuditEvent {
        details: serde_json::from_str(&details)
            .map_err(|e| corrupt(format!("audit details do not parse back: {e}")))?,
        ..event.clone()
    };
    let hash = chain_hash(&prev_hash, seq, at, &event);
    db::query(
        "INSERT INTO audit_events (seq, at_ms, event_type, actor, target, client_ip, user_agent, \
         outcome, reason, correlation_id, details, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(seq)
    .bind(sspr_core::audit::at_millis(at))
    .bind(event.event_type.as_str())
    .bind(event.actor.as_deref())
    .bind(event.target.as_deref())
    .bind(event.client_ip.as_deref())
    .bind(event.user_agent.as_deref())
    .bind(event.outcome.as_str())
    .bind(event.reason.as_deref())
    .bind(event.correlation_id.as_deref())
    .bind(details)
    .bind(prev_hash.as_str())
    .bind(hash.as_str())
    .execute(&mut *conn)
    .await
    .map_err(error::db)?;
    // The trigger `audit_events_move_head` has stored `hash` in `audit_head`.
    Ok(AuditRecord {
        seq,
        at,
        event,
        prev_hash,
        hash,
    })
}

fn decode(row: &Row) -> Result<AuditRecord, StoreError> {
    let details: String = rows::get(row, "details")?;
    let details = serde_json::from_str(&details)
        .map_err(|e| corrupt(format!("stored audit details are not JSON: {e}")))?;
    Ok(AuditRecord {
        seq: rows::get(row, "seq")?,
        at: rows::at(row, "at_ms")?,
        event: AuditEvent {
            event_type: rows::get(row, "event_type")?,
            actor: rows::get(row, "actor")?,
            target: rows::get(row, "target")?,
            client_ip: rows::get(row, "client_ip")?,
            user_agent: rows::get(row, "user_agent")?,
            outcome: rows::parsed(row, "outcome", |raw| {
                Outcome::parse(raw).ok_or("not success or failure")
            })?,
            reason: rows::get(row, "reason")?,
            correlation_id: rows::get(row, "correlation_id")?,
            details,
        },
        prev_hash: rows::get(row, "prev_hash")?,
        hash: rows::get(row, "hash")?,
    })
}

impl SqlStore {
    pub(crate) async fn audit_page_impl(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        db::query(
            "SELECT seq, at_ms, event_type, actor, target, client_ip, user_agent, outcome, \
             reason, correlation_id, details, prev_hash, hash FROM audit_events \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        .iter()
        .map(decode)
        .collect()
    }

    pub(crate) async fn query_audit_impl(
        &self,
        filter: &AuditFilter,
        offset: u32,
        limit: u32,
    ) -> Result<Page<AuditRecord>, StoreError> {
        // The WHERE clause is built from fixed fragments only; every value is a parameter.
        let mut clauses: Vec<String> = Vec::new();
        let mut ints: Vec<(usize, i64)> = Vec::new();
        let mut texts: Vec<(usize, String)> = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if let Some(from) = filter.from {
            let i = next();
            clauses.push(format!("at_ms >= ${i}"));
            ints.push((i, to_ms(from)));
        }
        if let Some(to) = filter.to {
            let i = next();
            clauses.push(format!("at_ms < ${i}"));
            ints.push((i, to_ms(to)));
        }
        if let Some(t) = &filter.event_type {
            let i = next();
            clauses.push(format!("event_type = ${i}"));
            texts.push((i, t.clone()));
        }
        if let Some(u) = &filter.user {
            let (a, b) = (next(), next());
            clauses.push(format!("(actor = ${a} OR target = ${b})"));
            texts.push((a, u.clone()));
            texts.push((b, u.clone()));
        }
        if let Some(o) = filter.outcome {
            let i = next();
            clauses.push(format!("outcome = ${i}"));
            texts.push((i, o.as_str().to_owned()));
        }
        let (limit_i, offset_i) = (next(), next());
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        // Parameters must be bound in the order of their numbers.
        let mut params: Vec<(usize, Param)> = ints
            .into_iter()
            .map(|(i, v)| (i, Param::Int(v)))
            .chain(texts.into_iter().map(|(i, v)| (i, Param::Text(v))))
            .collect();
        params.sort_by_key(|(i, _)| *i);
        let select = format!(
            "SELECT seq, at_ms, event_type, actor, target, client_ip, user_agent, outcome, \
             reason, correlation_id, details, prev_hash, hash FROM audit_events{where_sql} \
             ORDER BY seq DESC LIMIT ${limit_i} OFFSET ${offset_i}"
        );
        let mut q = db::query(db::Dynamic(select));
        for (_, p) in &params {
            q = match p {
                Param::Int(v) => q.bind(*v),
                Param::Text(v) => q.bind(v.clone()),
            };
        }
        let items = q
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.db)
            .await
            .map_err(error::db)?
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        let mut c = db::query(db::Dynamic(format!(
            "SELECT COUNT(*) AS n FROM audit_events{where_sql}"
        )));
        for (_, p) in &params {
            c = match p {
                Param::Int(v) => c.bind(*v),
                Param::Text(v) => c.bind(v.clone()),
            };
        }
        let row = c.fetch_one(&self.db).await.map_err(error::db)?;
        let total: i64 = rows::get(&row, "n")?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    pub(crate) async fn audit_head_impl(&self) -> Result<(i64, String), StoreError> {
        let row = db::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.db)
            .await
            .map_err(error::db)?
            .ok_or_else(|| corrupt("the audit_head row is missing"))?;
        Ok((rows::get(&row, "seq")?, rows::get(&row, "hash")?))
    }
}
