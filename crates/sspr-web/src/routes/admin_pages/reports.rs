//! The portal's audit log, usage and insights, and API tokens (SPEC §9, §11). Reading goes
//! through the same store queries and report code as `/api/v1/admin/audit|reports`; the
//! export links of the pages answer with exactly what the API answers (they call its
//! handlers), so a CSV from the portal and one from a script are the same file.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use sspr_core::audit::{Outcome, events};
use sspr_core::ports::AuditFilter;
use sspr_core::service::admin_access::{AdminAction, may};
use sspr_core::service::{api_tokens, reports};
use sspr_core::{AdminRole, MethodType, User};
use time::{Date, Duration, OffsetDateTime, Time};

use super::form::FormFields;
use super::{PortalAdmin, render_admin};
use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::charts::{self, Series};
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_admin_audit::{self, AuditQuery};
use crate::routes::api_admin_reports::{self, ActivityQuery};
use crate::routes::pages::{error_page, method_labels, tr};

const AUDIT_PER_PAGE: u32 = 50;
/// The users the registration page lists (all of them are in the CSV).
const REGISTRATION_ROWS: usize = 200;

/// The event types an administrator filters by (Entra's names where one exists).
const EVENT_TYPES: &[&str] = &[
    events::RESET_FLOW_PROGRESS,
    events::RESET_PASSWORD_SELF,
    events::UNLOCK_SELF,
    events::RESET_BLOCKED,
    events::CHANGE_PASSWORD,
    events::REGISTERED_SECURITY_INFO,
    events::DELETED_SECURITY_INFO,
    events::REVIEWED_SECURITY_INFO,
    events::REGISTERED_ALL_REQUIRED,
    events::SKIPPED_REGISTRATION,
    events::SMART_LOCKOUT,
    events::POLICY_CHANGED,
    events::PASSWORD_POLICY_CHANGED,
    events::ADD_USER,
    events::UPDATE_USER,
    events::DELETE_USER,
    events::ADMIN_RESET_PASSWORD,
    events::ADMIN_UNLOCK,
    events::ADD_GROUP,
    events::ADD_MEMBER,
    events::REMOVE_MEMBER,
    events::DIRECTORY_SYNC,
];

fn day(raw: Option<&str>) -> Option<Date> {
    let raw = raw?.trim();
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

fn ymd(d: Date) -> String {
    d.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

fn bad_request(ctx: &RequestContext, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message).support(&ctx.support_code)
}

// Audit log ----------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct AuditPageQuery {
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    user: Option<String>,
    outcome: Option<String>,
    page: Option<u32>,
}

pub async fn audit(
    State(state): State<AppState>,
    ctx: RequestContext,
    q: Result<Query<AuditPageQuery>, QueryRejection>,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    let Ok(Query(q)) = q else {
        return error_page(&state, &ctx, bad_request(&ctx, "Unreadable filter."));
    };
    let from = day(q.from.as_deref());
    let to = day(q.to.as_deref());
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let filter = AuditFilter {
        from: from.map(|d| d.with_time(Time::MIDNIGHT).assume_utc()),
        // The "to" day is included: before the next midnight.
        to: to.map(|d| d.with_time(Time::MIDNIGHT).assume_utc() + Duration::days(1)),
        event_type: text(&q.event_type),
        user: text(&q.user),
        outcome: q.outcome.as_deref().and_then(Outcome::parse),
    };
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let found = match state
        .store
        .query_audit(&filter, (page - 1) * AUDIT_PER_PAGE, AUDIT_PER_PAGE)
        .await
    {
        Ok(f) => f,
        Err(e) => return error_page(&state, &ctx, ApiError::from(e).support(&ctx.support_code)),
    };
    let rows: Vec<Value> = found
        .items
        .iter()
        .map(|r| {
            context! {
                at => r.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                event_type => r.event.event_type.as_str(),
                actor => r.event.actor.clone().unwrap_or_default(),
                target => r.event.target.clone().unwrap_or_default(),
                outcome => r.event.outcome.as_str(),
                reason => r.event.reason.clone().unwrap_or_default(),
                client_ip => r.event.client_ip.clone().unwrap_or_default(),
                correlation_id => r.event.correlation_id.clone().unwrap_or_default(),
            }
        })
        .collect();
    // The filter as a query string, for paging and the export links.
    let mut params = form_urlencoded::Serializer::new(String::new());
    if let Some(d) = from {
        params.append_pair("from", &ymd(d));
    }
    if let Some(d) = to {
        params.append_pair("to", &ymd(d));
    }
    for (k, v) in [
        ("type", &filter.event_type),
        ("user", &filter.user),
        ("outcome", &filter.outcome.map(|o| o.as_str().to_owned())),
    ] {
        if let Some(v) = v {
            params.append_pair(k, v);
        }
    }
    let base = params.finish();
    let pages = found.total.div_ceil(u64::from(AUDIT_PER_PAGE)).max(1);
    let link = |p: u64| {
        format!(
            "/admin/audit?{base}{}page={p}",
            if base.is_empty() { "" } else { "&" }
        )
    };
    render_admin(
        &state,
        &ctx,
        &admin,
        StatusCode::OK,
        "audit",
        "admin_audit.html",
        context! {
            rows => rows,
            total => found.total,
            page => page,
            pages => pages,
            prev => (u64::from(page) > 1).then(|| link(u64::from(page) - 1)),
            next => (u64::from(page) < pages).then(|| link(u64::from(page) + 1)),
            f => context! {
                from => from.map(ymd).unwrap_or_default(),
                to => to.map(ymd).unwrap_or_default(),
                event_type => filter.event_type.clone().unwrap_or_default(),
                user => filter.user.clone().unwrap_or_default(),
                outcome => filter.outcome.map(|o| o.as_str()).unwrap_or(""),
            },
            event_types => EVENT_TYPES.to_vec(),
            export_csv => format!("/admin/audit/export.csv?{}", api_filter(from, to, &filter)),
            export_json => format!("/admin/audit/export.json?{}", api_filter(from, to, &filter)),
        },
    )
}

/// The filter in the API's terms (`to` exclusive, as an RFC 3339 time) for the export links.
fn api_filter(from: Option<Date>, to: Option<Date>, filter: &AuditFilter) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if let Some(d) = from {
        s.append_pair("from", &ymd(d));
    }
    if let Some(d) = to {
        s.append_pair("to", &ymd(d + Duration::days(1)));
    }
    if let Some(t) = &filter.event_type {
        s.append_pair("type", t);
    }
    if let Some(u) = &filter.user {
        s.append_pair("user", u);
    }
    if let Some(o) = filter.outcome {
        s.append_pair("outcome", o.as_str());
    }
    s.append_pair("per_page", "10000");
    s.finish()
}

/// Sets `Accept`, so that the API handler answers in the export's format.
fn accepting(kind: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::ACCEPT, HeaderValue::from_static(kind));
    h
}

/// `GET /admin/audit/export.{csv|json}`: the API's answer, as a download.
pub async fn audit_export(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(file): Path<String>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let kind = match file.as_str() {
        "export.csv" => "text/csv",
        "export.json" => "application/json",
        _ => {
            return Err(bad_request(
                &auth.ctx,
                "Export as export.csv or export.json.",
            ));
        }
    };
    let q = q
        .map(|Query(q)| q)
        .map_err(|r| bad_request(&auth.ctx, &r.body_text()))?;
    let csv = kind == "text/csv";
    let mut res = api_admin_audit::answer(&state, &auth, q, csv, api_admin_audit::CSV_MAX).await?;
    if !csv {
        res.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"sspr-audit.json\""),
        );
    }
    Ok(res)
}

// Usage and insights -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct InsightsQuery {
    from: Option<String>,
    to: Option<String>,
}

pub async fn insights(
    State(state): State<AppState>,
    ctx: RequestContext,
    q: Result<Query<InsightsQuery>, QueryRejection>,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let today = state.clock.now().date();
    let to = day(q.to.as_deref()).unwrap_or(today).min(today);
    let from = day(q.from.as_deref())
        .unwrap_or(to - Duration::days(29))
        .max(to - Duration::days(365))
        .min(to);
    let rows = match reports::registration_report(state.store.as_ref(), state.clock.now()).await {
        Ok(r) => r,
        Err(e) => return error_page(&state, &ctx, ApiError::from(e).support(&ctx.support_code)),
    };
    let summary = reports::summarise(&rows);
    let labels = method_labels(&state, &ctx);
    let label = |m: MethodType| labels.get(m.as_str()).cloned().unwrap_or_default();
    let by_method: Vec<(String, u64)> = MethodType::ALL
        .iter()
        .map(|m| (label(*m), summary.by_method.get(m).copied().unwrap_or(0)))
        .collect();
    let method_chart = charts::horizontal_bars(
        "chart-methods",
        &tr(&state, &ctx, "admin.chart_methods"),
        &tr(&state, &ctx, "admin.chart_methods_desc"),
        &by_method,
    );
    let start = from.with_time(Time::MIDNIGHT).assume_utc();
    let end = to.with_time(Time::MIDNIGHT).assume_utc() + Duration::days(1);
    let days = match reports::activity_report(state.store.as_ref(), Some(start), Some(end)).await {
        Ok(d) => d,
        Err(e) => return error_page(&state, &ctx, ApiError::from(e).support(&ctx.support_code)),
    };
    // Every day of the window, with zeros where nothing happened, so the chart's axis is time.
    let by_day: BTreeMap<&str, &reports::DayActivity> =
        days.iter().map(|d| (d.date.as_str(), d)).collect();
    let mut dates = Vec::new();
    let mut d = from;
    while d <= to {
        dates.push(ymd(d));
        d += Duration::days(1);
    }
    let pick = |f: fn(&reports::DayActivity) -> u64| -> Vec<u64> {
        dates
            .iter()
            .map(|d| by_day.get(d.as_str()).map_or(0, |a| f(a)))
            .collect()
    };
    let names = [
        tr(&state, &ctx, "admin.act_resets"),
        tr(&state, &ctx, "admin.act_unlocks"),
        tr(&state, &ctx, "admin.act_blocked"),
        tr(&state, &ctx, "admin.act_abandoned"),
    ];
    let activity_chart = charts::stacked_bars(
        "chart-activity",
        &tr(&state, &ctx, "admin.chart_activity"),
        &tr(&state, &ctx, "admin.chart_activity_desc"),
        &dates,
        &[
            Series {
                name: &names[0],
                values: pick(|a| a.resets),
            },
            Series {
                name: &names[1],
                values: pick(|a| a.unlocks),
            },
            Series {
                name: &names[2],
                values: pick(|a| a.blocked),
            },
            Series {
                name: &names[3],
                values: pick(|a| a.abandoned),
            },
        ],
    );
    let mut per_method: BTreeMap<MethodType, (u64, u64)> = BTreeMap::new();
    for a in &days {
        for (m, c) in &a.by_method {
            let e = per_method.entry(*m).or_default();
            e.0 += c.verified;
            e.1 += c.failed;
        }
    }
    let method_rows: Vec<Value> = per_method
        .iter()
        .map(|(m, (ok, bad))| context! { method => label(*m), verified => ok, failed => bad })
        .collect();
    let day_rows: Vec<Value> = days
        .iter()
        .map(|a| {
            context! {
                date => a.date.as_str(), started => a.started, resets => a.resets,
                failures => a.reset_failures, unlocks => a.unlocks, blocked => a.blocked,
                abandoned => a.abandoned,
            }
        })
        .collect();
    let users: Vec<Value> = rows
        .iter()
        .take(REGISTRATION_ROWS)
        .map(|r| {
            context! {
                id => r.user_id.to_string(), username => r.username.as_str(),
                display_name => r.display_name.as_str(), registered => r.registered,
                enabled => r.enabled, capable => r.capable,
                methods => r.methods.iter().map(|m| label(*m)).collect::<Vec<_>>(),
            }
        })
        .collect();
    let range = format!("from={}&to={}", ymd(from), ymd(to + Duration::days(1)));
    render_admin(
        &state,
        &ctx,
        &admin,
        StatusCode::OK,
        "insights",
        "admin_insights.html",
        context! {
            summary => Value::from(minijinja::value::Serde(&summary)),
            method_chart => Value::from_safe_string(method_chart),
            activity_chart => Value::from_safe_string(activity_chart),
            method_rows => method_rows,
            day_rows => day_rows,
            users => users,
            users_total => rows.len(),
            users_shown => rows.len().min(REGISTRATION_ROWS),
            from => ymd(from),
            to => ymd(to),
            registration_csv => "/admin/insights/registration.csv",
            activity_csv => format!("/admin/insights/activity.csv?{range}"),
        },
    )
}

/// `GET /admin/insights/{registration|activity}.csv`: the API's CSV, as a download.
pub async fn insights_export(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(file): Path<String>,
    q: Result<Query<ActivityQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    match file.as_str() {
        "registration.csv" => {
            api_admin_reports::registration(State(state), auth, accepting("text/csv")).await
        }
        "activity.csv" => {
            api_admin_reports::activity(State(state), auth, accepting("text/csv"), q).await
        }
        _ => Err(bad_request(&auth.ctx, "No such export.")),
    }
}

// API tokens ---------------------------------------------------------------------------------

pub async fn tokens(
    State(state): State<AppState>,
    ctx: RequestContext,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    tokens_page(&state, &ctx, &admin, None, &[], StatusCode::OK).await
}

async fn tokens_page(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    issued: Option<String>,
    errors: &[String],
    status: StatusCode,
) -> Response {
    let manage = may(&admin.roles, AdminAction::ManageTokens);
    let now = state.clock.now();
    let list = if manage {
        match state.store.list_api_tokens().await {
            Ok(l) => l,
            Err(e) => return error_page(state, ctx, ApiError::from(e).support(&ctx.support_code)),
        }
    } else {
        Vec::new()
    };
    let when = |t: Option<OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|t| {
            context! {
                id => t.id.as_str(), name => t.name.as_str(), role => t.role.as_str(),
                created_by => t.created_by.as_str(), created_at => when(Some(t.created_at)),
                expires_at => when(t.expires_at), last_used_at => when(t.last_used_at),
                live => t.is_live(now), revoked => t.revoked_at.is_some(),
            }
        })
        .collect();
    let roles: Vec<Value> = AdminRole::ALL
        .iter()
        .map(|r| context! { id => r.as_str(), label => tr(state, ctx, &format!("admin.role_{}", r.as_str())) })
        .collect();
    render_admin(
        state,
        ctx,
        admin,
        status,
        "tokens",
        "admin_tokens.html",
        context! {
            manage => manage, rows => rows, roles => roles, issued => issued, errors => errors.to_vec(),
        },
    )
}

pub async fn create_token(
    State(state): State<AppState>,
    ctx: RequestContext,
    PortalAdmin(admin): PortalAdmin,
    body: Bytes,
) -> Response {
    if !may(&admin.roles, AdminAction::ManageTokens) {
        return error_page(&state, &ctx, forbidden(&state, &ctx));
    }
    let form = FormFields::parse(&body);
    let Some(role) = AdminRole::ALL
        .into_iter()
        .find(|r| r.as_str() == form.text("role"))
    else {
        let errors = [tr(&state, &ctx, "admin.token_role_missing")];
        return tokens_page(
            &state,
            &ctx,
            &admin,
            None,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let days = match form.text("expires_days") {
        "" => None,
        d => match d.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let errors = [format!(
                    "{}: {}",
                    tr(&state, &ctx, "admin.token_expires"),
                    tr(&state, &ctx, "admin.not_a_number")
                )];
                return tokens_page(
                    &state,
                    &ctx,
                    &admin,
                    None,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
    };
    match api_tokens::issue(
        state.store.as_ref(),
        form.text("name"),
        role,
        days,
        admin.username.as_str(),
        state.clock.now(),
    )
    .await
    {
        // Shown once, on this answer only: no redirect that would have to carry the secret.
        Ok(issued) => {
            let mut res = tokens_page(
                &state,
                &ctx,
                &admin,
                Some(issued.secret),
                &[],
                StatusCode::CREATED,
            )
            .await;
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(api_tokens::TokenError::Store(e)) => {
            error_page(&state, &ctx, ApiError::from(e).support(&ctx.support_code))
        }
        Err(e) => {
            let errors = [e.to_string()];
            tokens_page(
                &state,
                &ctx,
                &admin,
                None,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    if !may(&admin.roles, AdminAction::ManageTokens) {
        return error_page(&state, &ctx, forbidden(&state, &ctx));
    }
    match api_tokens::revoke(
        state.store.as_ref(),
        &id,
        admin.username.as_str(),
        state.clock.now(),
    )
    .await
    {
        Ok(_) => Redirect::to("/admin/tokens").into_response(),
        Err(e) => error_page(&state, &ctx, ApiError::from(e).support(&ctx.support_code)),
    }
}

fn forbidden(state: &AppState, ctx: &RequestContext) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        tr(state, ctx, "admin.forbidden"),
    )
    .support(&ctx.support_code)
}
