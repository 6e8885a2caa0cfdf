//! `GET|PUT /api/v1/admin/policy`: the SSPR policy of SPEC §2 through the API (Entra has no
//! supported API for these settings; sspr does). Reading needs any admin role, changing needs
//! a global administrator (session or API token); every change is validated per field and audited with old and new
//! values.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use sspr_core::SsprPolicy;
use sspr_core::service::admin_access::AdminAction;
use sspr_core::service::policy_admin::{PolicyUpdateError, update_policy};

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::routes::openapi::{Problem, SsprPolicyDoc};

#[utoipa::path(get, path = "/api/v1/admin/policy", tag = "admin",
    responses((status = 200, body = SsprPolicyDoc), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    auth: AdminAuth,
) -> Result<Json<SsprPolicy>, ApiError> {
    auth.require(AdminAction::ReadSettings)?;
    let ctx = &auth.ctx;
    let policy = state
        .store
        .policy()
        .await
        .map_err(|e| ApiError::from(e).support(&ctx.support_code))?;
    Ok(Json(policy))
}

#[utoipa::path(put, path = "/api/v1/admin/policy", tag = "admin", request_body = SsprPolicyDoc,
    responses((status = 200, body = SsprPolicyDoc), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn put(
    State(state): State<AppState>,
    auth: AdminAuth,
    body: Result<Json<SsprPolicy>, JsonRejection>,
) -> Result<Json<SsprPolicy>, ApiError> {
    auth.require(AdminAction::ChangeSettings)?;
    let ctx = &auth.ctx;
    let Json(policy) = body.map_err(|r| {
        ApiError::new(r.status(), "invalid_request", r.body_text()).support(&ctx.support_code)
    })?;
    match update_policy(state.store.as_ref(), &policy, &auth.caller.actor).await {
        Ok(_) => {
            let stored = state
                .store
                .policy()
                .await
                .map_err(|e| ApiError::from(e).support(&ctx.support_code))?;
            // This instance shows a new brand at once; others within their refresh interval.
            state.brand.apply(&stored);
            Ok(Json(stored))
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
