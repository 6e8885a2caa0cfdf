//! `GET|PUT /api/v1/admin/policy`: the SSPR policy of SPEC §2 through the API (Entra has no
//! supported API for these settings; sspr does). Reading needs any admin role, changing needs
//! a global administrator; every change is validated per field and audited with old and new
//! values.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use sspr_core::service::policy_admin::{PolicyUpdateError, update_policy};
use sspr_core::{AdminRole, SsprPolicy};

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::session::{CurrentUser, require_role};

pub async fn get(
    State(state): State<AppState>,
    ctx: RequestContext,
    CurrentUser(user): CurrentUser,
) -> Result<Json<SsprPolicy>, ApiError> {
    require_role(user, &AdminRole::ALL).map_err(|e| e.support(&ctx.support_code))?;
    let policy = state
        .store
        .policy()
        .await
        .map_err(|e| ApiError::from(e).support(&ctx.support_code))?;
    Ok(Json(policy))
}

pub async fn put(
    State(state): State<AppState>,
    ctx: RequestContext,
    CurrentUser(user): CurrentUser,
    body: Result<Json<SsprPolicy>, JsonRejection>,
) -> Result<Json<SsprPolicy>, ApiError> {
    let admin =
        require_role(user, &[AdminRole::GlobalAdmin]).map_err(|e| e.support(&ctx.support_code))?;
    let Json(policy) = body.map_err(|r| {
        ApiError::new(r.status(), "invalid_request", r.body_text()).support(&ctx.support_code)
    })?;
    match update_policy(state.store.as_ref(), &policy, admin.username.as_str()).await {
        Ok(_) => {
            Ok(Json(state.store.policy().await.map_err(|e| {
                ApiError::from(e).support(&ctx.support_code)
            })?))
        }
        Err(PolicyUpdateError::Invalid(errors)) => {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_policy",
                "Some settings are not valid; nothing was changed.",
            );
            e.extra = Some(serde_json::json!({ "fields": errors }));
            Err(e.support(&ctx.support_code))
        }
        Err(PolicyUpdateError::Store(s)) => Err(ApiError::from(s).support(&ctx.support_code)),
    }
}
