//! `GET /api/v1/admin/audit`: the audit log filtered and paged, as JSON or (with
//! `Accept: text/csv`) as a CSV download (SPEC §11 "export is CSV and JSON").

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sspr_core::audit::{AuditRecord, Outcome};
use sspr_core::ports::AuditFilter;
use sspr_core::service::admin_access::AdminAction;

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::csv_export;
use crate::error::ApiError;
use crate::routes::admin_common::{Paging, parse_time, query, wants_csv};
use crate::routes::openapi::Problem;

/// The most records one CSV export holds (page through `page` for more).
pub(crate) const CSV_MAX: u32 = 10_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// At or after: RFC 3339 time or YYYY-MM-DD.
    pub from: Option<String>,
    /// Before: RFC 3339 time or YYYY-MM-DD.
    pub to: Option<String>,
    /// The exact event type, e.g. "Reset password (self-service)".
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Records whose actor or target is exactly this.
    pub user: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// 1–200 for JSON (default 50); CSV exports up to 10,000 records a page.
    #[param(minimum = 1, maximum = 10000)]
    pub per_page: Option<u32>,
}

/// One audit record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub seq: i64,
    #[schema(format = DateTime)]
    pub at: String,
    pub event_type: String,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    pub reason: Option<String>,
    pub correlation_id: Option<String>,
    /// Structured detail (old and new values, …); `null` when the event has none.
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
    pub hash: String,
}

impl From<&AuditRecord> for AuditView {
    fn from(r: &AuditRecord) -> Self {
        let e = &r.event;
        Self {
            seq: r.seq,
            at: r
                .at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            event_type: e.event_type.clone(),
            actor: e.actor.clone(),
            target: e.target.clone(),
            client_ip: e.client_ip.clone(),
            user_agent: e.user_agent.clone(),
            outcome: e.outcome.as_str().to_owned(),
            reason: e.reason.clone(),
            correlation_id: e.correlation_id.clone(),
            details: e.details.clone(),
            hash: r.hash.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditView>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

fn bad(auth: &AdminAuth, m: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m).support(&auth.ctx.support_code)
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditQuery),
    responses(
        (status = 200, body = AuditPage, content_type = "application/json"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
    headers: HeaderMap,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(&auth, q)?;
    let csv = wants_csv(&headers);
    answer(&state, &auth, q, csv, Paging::MAX).await
}

/// The records matching `q`, as CSV or as a JSON page of at most `json_max` records (the API
/// pages by 200; the portal's JSON download takes as many as a CSV).
pub(crate) async fn answer(
    state: &AppState,
    auth: &AdminAuth,
    q: AuditQuery,
    csv: bool,
    json_max: u32,
) -> Result<Response, ApiError> {
    auth.require(AdminAction::ReadAudit)?;
    let outcome = match q
        .outcome
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(o) => Some(Outcome::parse(o).ok_or_else(|| bad(auth, "outcome: success or failure"))?),
    };
    let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        from: parse_time(auth, "from", q.from.as_deref())?,
        to: parse_time(auth, "to", q.to.as_deref())?,
        event_type: text(q.event_type),
        user: text(q.user),
        outcome,
    };
    let max = if csv { CSV_MAX } else { json_max };
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(if csv { CSV_MAX } else { 50 });
    if page == 0 || per_page == 0 || per_page > max {
        return Err(bad(
            auth,
            &format!("page starts at 1; per_page is between 1 and {max}"),
        ));
    }
    let offset = (page - 1)
        .checked_mul(per_page)
        .ok_or_else(|| bad(auth, "page is too large"))?;
    let found = state
        .store
        .query_audit(&filter, offset, per_page)
        .await
        .map_err(|e| auth.support(e))?;
    if csv {
        let rows: Vec<Vec<String>> = found
            .items
            .iter()
            .map(|r| {
                let v = AuditView::from(r);
                vec![
                    v.seq.to_string(),
                    v.at,
                    v.event_type,
                    v.actor.unwrap_or_default(),
                    v.target.unwrap_or_default(),
                    v.outcome,
                    v.reason.unwrap_or_default(),
                    v.client_ip.unwrap_or_default(),
                    v.user_agent.unwrap_or_default(),
                    v.correlation_id.unwrap_or_default(),
                    if v.details.is_null() {
                        String::new()
                    } else {
                        v.details.to_string()
                    },
                    v.hash,
                ]
            })
            .collect();
        return Ok(csv_export::response(
            "sspr-audit.csv",
            &[
                "seq",
                "at",
                "event_type",
                "actor",
                "target",
                "outcome",
                "reason",
                "client_ip",
                "user_agent",
                "correlation_id",
                "details",
                "hash",
            ],
            &rows,
        ));
    }
    Ok(Json(AuditPage {
        items: found.items.iter().map(AuditView::from).collect(),
        total: found.total,
        page,
        per_page,
    })
    .into_response())
}
