//! `/api/v1/admin/users`: the built-in directory's users (SPEC §7, §9.1) — search with
//! paging, create, read, change, delete. The rules (who may touch whom, what a
//! directory-sourced user allows) live in `service::admin_users`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sspr_core::service::admin_access::AdminAction;
use sspr_core::service::admin_users::{AdminUsers, NewUserRequest, UserPatch};

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::routes::admin_common::{Paging, UserView, body, load_user, query};
use crate::routes::api_password::RulesInForce;
use crate::routes::openapi::Problem;

pub(crate) fn admin_users(state: &AppState) -> AdminUsers<'_> {
    AdminUsers {
        store: state.store.as_ref(),
        hasher: state.hasher.as_ref(),
        directory: state.directory.as_deref(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Part of the username, display name or email address (case-insensitive).
    #[param(max_length = 256)]
    pub q: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UserSearch),
    responses((status = 200, body = UserPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
    q: Result<Query<UserSearch>, QueryRejection>,
) -> Result<Json<UserPage>, ApiError> {
    auth.require(AdminAction::ReadDirectory)?;
    let q = query(&auth, q)?;
    if q.q.as_ref().is_some_and(|s| s.len() > 256) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "q has at most 256 characters",
        )
        .support(&auth.ctx.support_code));
    }
    let (page, per_page, offset) = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve(&auth)?;
    let found = state
        .store
        .search_users(q.q.as_deref(), offset, per_page)
        .await
        .map_err(|e| auth.support(e))?;
    let now = state.clock.now();
    Ok(Json(UserPage {
        items: found.items.iter().map(|u| UserView::new(u, now)).collect(),
        total: found.total,
        page,
        per_page,
    }))
}

/// An admin role's name.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // Documentation only: the handlers read `sspr_core::AdminRole`.
pub enum RoleName {
    GlobalAdmin,
    PasswordAdmin,
    HelpdeskAdmin,
    UserAdmin,
    ReportsReader,
}

/// The request body of a new user (see `service::admin_users::NewUserRequest`). The
/// patterns describe values that are certainly accepted; the server's rules are the
/// reference (usernames may also hold `' . - ! # ^ ~ @ +`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `NewUserRequest`.
pub struct NewUserBody {
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9][a-z0-9_]*$")]
    username: String,
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = "^[A-Za-z0-9][A-Za-z0-9 ]*$"
    )]
    display_name: String,
    #[schema(max_length = 64, pattern = "^[A-Za-z]+$")]
    first_name: Option<String>,
    #[schema(max_length = 64, pattern = "^[A-Za-z]+$")]
    last_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(format = Email, max_length = 254)]
    alternate_email: Option<String>,
    /// International form, e.g. `+44 20 7946 0958`.
    #[schema(pattern = "^\\+44 20 7946 0[0-9]{3}$")]
    mobile_phone: Option<String>,
    #[schema(pattern = "^\\+44 20 7946 0[0-9]{3}$")]
    office_phone: Option<String>,
    roles: Option<Vec<RoleName>>,
    enabled: Option<bool>,
    /// An initial password (the password policy applies).
    #[schema(max_length = 256)]
    password: Option<String>,
}

/// The request body of a user change: absent fields stay, `null` clears.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documentation only: the handler reads `UserPatch`.
pub struct UserPatchBody {
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = "^[A-Za-z0-9][A-Za-z0-9 ]*$"
    )]
    display_name: Option<String>,
    #[schema(max_length = 64, pattern = "^[A-Za-z]+$")]
    first_name: Option<String>,
    #[schema(max_length = 64, pattern = "^[A-Za-z]+$")]
    last_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(format = Email, max_length = 254)]
    alternate_email: Option<String>,
    #[schema(pattern = "^\\+44 20 7946 0[0-9]{3}$")]
    mobile_phone: Option<String>,
    #[schema(pattern = "^\\+44 20 7946 0[0-9]{3}$")]
    office_phone: Option<String>,
    roles: Option<Vec<RoleName>>,
    enabled: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = NewUserBody,
    responses((status = 201, body = UserView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    req: Result<Json<NewUserRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    auth.require(AdminAction::ManageUsers)?;
    let req = body(&auth, req)?;
    let in_force = RulesInForce::load(&state, &auth.ctx).await?;
    let user = admin_users(&state)
        .create(&auth.caller, &req, &in_force.rules(&state))
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok((
        StatusCode::CREATED,
        Json(UserView::new(&user, state.clock.now())),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    auth.require(AdminAction::ReadDirectory)?;
    let user = load_user(&auth, &state, &id).await?;
    Ok(Json(UserView::new(&user, state.clock.now())))
}

#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", request_body = UserPatchBody,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = UserView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn update(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    patch: Result<Json<UserPatch>, JsonRejection>,
) -> Result<Json<UserView>, ApiError> {
    auth.require(AdminAction::ManageUsers)?;
    let user = load_user(&auth, &state, &id).await?;
    let patch = body(&auth, patch)?;
    let updated = admin_users(&state)
        .update(&auth.caller, &user, &patch)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok(Json(UserView::new(&updated, state.clock.now())))
}

#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(AdminAction::ManageUsers)?;
    let user = load_user(&auth, &state, &id).await?;
    if auth.user_id() == Some(user.id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "You cannot delete your own account.",
        )
        .support(&auth.ctx.support_code));
    }
    admin_users(&state)
        .delete(&auth.caller, &user)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok(StatusCode::NO_CONTENT)
}
