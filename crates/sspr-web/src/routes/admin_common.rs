//! What the admin API handlers share: reading bodies, queries and ids into clear 4xx JSON
//! errors (never axum's plain-text rejections), the JSON shape of a user, and paging.

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use sspr_core::{Group, GroupId, User, UserId};
use time::OffsetDateTime;

use crate::admin_auth::AdminAuth;
use crate::error::ApiError;

pub fn body<T>(auth: &AdminAuth, body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(|r| {
        ApiError::new(r.status(), "invalid_request", r.body_text()).support(&auth.ctx.support_code)
    })
}

pub fn query<T>(auth: &AdminAuth, q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|r| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text())
            .support(&auth.ctx.support_code)
    })
}

pub fn not_found(auth: &AdminAuth, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("No such {what}."),
    )
    .support(&auth.ctx.support_code)
}

/// An id from the path; anything that is not a UUID names nothing, so it is a 404.
pub fn uuid(auth: &AdminAuth, raw: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| not_found(auth, what))
}

pub async fn load_user(
    auth: &AdminAuth,
    state: &crate::AppState,
    raw: &str,
) -> Result<User, ApiError> {
    let id = UserId(uuid(auth, raw, "user")?);
    state
        .store
        .get_user(id)
        .await
        .map_err(|e| auth.support(e))?
        .ok_or_else(|| not_found(auth, "user"))
}

pub async fn load_group(
    auth: &AdminAuth,
    state: &crate::AppState,
    raw: &str,
) -> Result<Group, ApiError> {
    let id = GroupId(uuid(auth, raw, "group")?);
    state
        .store
        .get_group(id)
        .await
        .map_err(|e| auth.support(e))?
        .ok_or_else(|| not_found(auth, "group"))
}

/// A user as administrators see it: never the password hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub alternate_email: Option<String>,
    pub mobile_phone: Option<String>,
    pub office_phone: Option<String>,
    /// Admin roles: global_admin, password_admin, helpdesk_admin, user_admin, reports_reader.
    pub roles: Vec<String>,
    pub enabled: bool,
    /// `cloud` or `directory`.
    pub source: String,
    /// Locked now (by an administrator or smart lockout; a directory's lockout is not read).
    pub locked: bool,
    pub has_password: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub password_changed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub registration_confirmed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl UserView {
    pub fn new(u: &User, now: OffsetDateTime) -> Self {
        Self {
            id: u.id,
            username: u.username.as_str().to_owned(),
            display_name: u.display_name.as_str().to_owned(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.as_ref().map(|e| e.as_str().to_owned()),
            alternate_email: u.alternate_email.as_ref().map(|e| e.as_str().to_owned()),
            mobile_phone: u.mobile_phone.as_ref().map(|p| p.as_str().to_owned()),
            office_phone: u.office_phone.as_ref().map(|p| p.as_str().to_owned()),
            roles: u.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            enabled: u.enabled,
            source: u.source.as_str().to_owned(),
            locked: u.is_locked(now),
            has_password: u.password_hash.is_some(),
            password_changed_at: u.password_changed_at,
            registration_confirmed_at: u.registration_confirmed_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    #[schema(value_type = String, format = Uuid)]
    pub id: GroupId,
    pub name: String,
    pub description: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> Self {
        Self {
            id: g.id,
            name: g.name.as_str().to_owned(),
            description: g.description.clone(),
            created_at: g.created_at,
        }
    }
}

/// `?page=&per_page=`: pages count from 1; at most 200 items a page.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// From 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

impl Paging {
    pub const MAX: u32 = 200;

    /// `(page, per_page, offset)`, or a 400 for values out of range.
    pub fn resolve(self, auth: &AdminAuth) -> Result<(u32, u32, u32), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page == 0 || !(1..=Self::MAX).contains(&per_page) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "page starts at 1; per_page is between 1 and 200",
            )
            .support(&auth.ctx.support_code));
        }
        let offset = (page - 1).checked_mul(per_page).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "page is too large",
            )
            .support(&auth.ctx.support_code)
        })?;
        Ok((page, per_page, offset))
    }
}

/// Whether the caller asked for CSV (`Accept: text/csv`).
pub fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")))
}

/// A timestamp query parameter: RFC 3339, or a plain date (midnight UTC).
pub fn parse_time(
    auth: &AdminAuth,
    name: &str,
    raw: Option<&str>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let rfc3339 = time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(raw, &rfc3339) {
        return Ok(Some(t));
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(raw, &date_format)
        .map(|d| Some(d.midnight().assume_utc()))
        .map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("{name}: expected an RFC 3339 time or a YYYY-MM-DD date"),
            )
            .support(&auth.ctx.support_code)
        })
}
