//! `GET /api/v1/admin/reports/registration` and `/reports/activity`: usage and insights
//! (SPEC §9), as JSON or CSV. The numbers come from `service::reports`, which the admin
//! portal's charts use too.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sspr_core::MethodType;
use sspr_core::service::admin_access::AdminAction;
use sspr_core::service::reports::{self, DayActivity, RegistrationRow, RegistrationSummary};

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::csv_export;
use crate::error::ApiError;
use crate::routes::admin_common::{parse_time, query, wants_csv};
use crate::routes::openapi::Problem;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrationReport {
    #[schema(value_type = Object)]
    pub summary: RegistrationSummary,
    /// One row per user: user_id, username, display_name, is_admin, registered, enabled,
    /// capable, methods.
    #[schema(value_type = Vec<Object>)]
    pub users: Vec<RegistrationRow>,
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

#[utoipa::path(get, path = "/api/v1/admin/reports/registration", tag = "admin",
    responses((status = 200, body = RegistrationReport), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn registration(
    State(state): State<AppState>,
    auth: AdminAuth,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth.require(AdminAction::ReadReports)?;
    let rows = reports::registration_report(state.store.as_ref(), state.clock.now())
        .await
        .map_err(|e| auth.support(e))?;
    if wants_csv(&headers) {
        let csv_rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.user_id.to_string(),
                    r.username.clone(),
                    r.display_name.clone(),
                    yes_no(r.is_admin),
                    yes_no(r.registered),
                    yes_no(r.enabled),
                    yes_no(r.capable),
                    r.methods
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ]
            })
            .collect();
        return Ok(csv_export::response(
            "sspr-registration.csv",
            &[
                "user_id",
                "username",
                "display_name",
                "admin",
                "registered",
                "enabled",
                "capable",
                "methods",
            ],
            &csv_rows,
        ));
    }
    Ok(Json(RegistrationReport {
        summary: reports::summarise(&rows),
        users: rows,
    })
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// At or after: RFC 3339 time or YYYY-MM-DD (default: 30 days before `to`).
    pub from: Option<String>,
    /// Before: RFC 3339 time or YYYY-MM-DD (default: now).
    pub to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActivityReport {
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    /// Per UTC day with activity: date, started, resets, reset_failures, unlocks, blocked,
    /// abandoned, by_method, by_outcome.
    #[schema(value_type = Vec<Object>)]
    pub days: Vec<DayActivity>,
}

/// The longest window one report covers.
const MAX_DAYS: i64 = 400;

#[utoipa::path(get, path = "/api/v1/admin/reports/activity", tag = "admin", params(ActivityQuery),
    responses((status = 200, body = ActivityReport), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn activity(
    State(state): State<AppState>,
    auth: AdminAuth,
    headers: HeaderMap,
    q: Result<Query<ActivityQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    auth.require(AdminAction::ReadReports)?;
    let q = query(&auth, q)?;
    let to = parse_time(&auth, "to", q.to.as_deref())?.unwrap_or_else(|| state.clock.now());
    let from =
        parse_time(&auth, "from", q.from.as_deref())?.unwrap_or(to - time::Duration::days(30));
    if from > to || to - from > time::Duration::days(MAX_DAYS) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("from must be before to, at most {MAX_DAYS} days apart"),
        )
        .support(&auth.ctx.support_code));
    }
    let days = reports::activity_report(state.store.as_ref(), Some(from), Some(to))
        .await
        .map_err(|e| auth.support(e))?;
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    if wants_csv(&headers) {
        let mut header: Vec<String> = [
            "date",
            "started",
            "resets",
            "reset_failures",
            "unlocks",
            "blocked",
            "abandoned",
            "success",
            "failure",
        ]
        .map(str::to_owned)
        .to_vec();
        for m in MethodType::ALL {
            header.push(format!("{}_verified", m.as_str()));
            header.push(format!("{}_failed", m.as_str()));
        }
        let rows: Vec<Vec<String>> = days
            .iter()
            .map(|d| {
                let mut row = vec![
                    d.date.clone(),
                    d.started.to_string(),
                    d.resets.to_string(),
                    d.reset_failures.to_string(),
                    d.unlocks.to_string(),
                    d.blocked.to_string(),
                    d.abandoned.to_string(),
                    d.by_outcome
                        .get("success")
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                    d.by_outcome
                        .get("failure")
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                ];
                for m in MethodType::ALL {
                    let c = d.by_method.get(&m).cloned().unwrap_or_default();
                    row.push(c.verified.to_string());
                    row.push(c.failed.to_string());
                }
                row
            })
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        return Ok(csv_export::response("sspr-activity.csv", &header, &rows));
    }
    Ok(Json(ActivityReport {
        from: rfc(from),
        to: rfc(to),
        days,
    })
    .into_response())
}
