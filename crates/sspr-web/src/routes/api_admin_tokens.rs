//! `GET|POST /api/v1/admin/tokens`, `DELETE /api/v1/admin/tokens/{id}`: API tokens for
//! scripts (global administrators only). The token text is in the creation answer and
//! nowhere else, ever.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sspr_core::AdminRole;
use sspr_core::ports::ApiToken;
use sspr_core::service::admin_access::AdminAction;
use sspr_core::service::api_tokens::{self, TokenError};

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::routes::admin_common::{body, not_found};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, e.g. "nightly report export".
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[A-Za-z0-9][A-Za-z0-9 _-]*$"
    )]
    pub name: String,
    /// The one admin role the token acts with.
    #[schema(value_type = crate::routes::api_admin_users::RoleName)]
    pub role: AdminRole,
    /// Days until it expires (1–3650); absent: until revoked.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_days: Option<u32>,
}

/// A token's metadata (never its secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    #[schema(value_type = String)]
    pub role: AdminRole,
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            role: t.role,
            created_by: t.created_by.clone(),
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The whole token, `sspr_<id>_<secret>`: shown this once, store it safely.
    pub token: String,
    #[serde(flatten)]
    pub meta: TokenView,
}

#[utoipa::path(get, path = "/api/v1/admin/tokens", tag = "admin",
    responses((status = 200, body = [TokenView]), (status = 401, body = crate::routes::openapi::Problem), (status = 403, body = crate::routes::openapi::Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    auth.require(AdminAction::ManageTokens)?;
    let tokens = state
        .store
        .list_api_tokens()
        .await
        .map_err(|e| auth.support(e))?;
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/admin/tokens", tag = "admin", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = crate::routes::openapi::Problem), (status = 401, body = crate::routes::openapi::Problem), (status = 403, body = crate::routes::openapi::Problem), (status = 422, body = crate::routes::openapi::Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    req: Result<Json<CreateToken>, JsonRejection>,
) -> Result<Response, ApiError> {
    auth.require(AdminAction::ManageTokens)?;
    let req = body(&auth, req)?;
    let issued = api_tokens::issue(
        state.store.as_ref(),
        &req.name,
        req.role,
        req.expires_days,
        &auth.caller.actor,
        state.clock.now(),
    )
    .await
    .map_err(|e| match e {
        TokenError::Invalid(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", m)
                .support(&auth.ctx.support_code)
        }
        TokenError::Store(s) => auth.support(s),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: issued.secret.clone(),
            meta: TokenView::from(&issued.token),
        }),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/admin/tokens/{id}", tag = "admin",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 204), (status = 401, body = crate::routes::openapi::Problem), (status = 403, body = crate::routes::openapi::Problem), (status = 404, body = crate::routes::openapi::Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(AdminAction::ManageTokens)?;
    let revoked = api_tokens::revoke(
        state.store.as_ref(),
        &id,
        &auth.caller.actor,
        state.clock.now(),
    )
    .await
    .map_err(|e| auth.support(e))?;
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&auth, "live token"))
    }
}
