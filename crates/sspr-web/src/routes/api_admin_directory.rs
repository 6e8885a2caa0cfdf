//! `GET /api/v1/admin/directory/status`: writeback status for administrators (SPEC §7, §9.1):
//! the directory is reachable, the service account binds and a test write works — or the
//! exact failure of each step. `POST /api/v1/admin/directory/sync`: a sync now.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sspr_core::ports::WritebackStatus;
use sspr_core::service::admin_access::AdminAction;

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::routes::openapi::{DirectoryStatusDoc, Problem, SyncReportDoc};

#[derive(serde::Serialize)]
pub struct StatusResponse {
    healthy: bool,
    #[serde(flatten)]
    status: WritebackStatus,
}

#[utoipa::path(get, path = "/api/v1/admin/directory/status", tag = "admin",
    responses((status = 200, body = DirectoryStatusDoc), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn status(
    State(state): State<AppState>,
    auth: AdminAuth,
) -> Result<Json<StatusResponse>, ApiError> {
    auth.require(AdminAction::ReadSettings)?;
    let ctx = &auth.ctx;
    let Some(directory) = &state.directory else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_directory",
            "No on-premises directory is connected.",
        )
        .support(&ctx.support_code));
    };
    let status = directory.status().await;
    Ok(Json(StatusResponse {
        healthy: status.healthy(),
        status,
    }))
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Read every entry (and disable users whose entry is gone), not only the changed ones.
    #[serde(default)]
    full: bool,
}

/// Runs a sync and answers with its report (counts). Global and user administrators only.
#[utoipa::path(post, path = "/api/v1/admin/directory/sync", tag = "admin",
    request_body(content = SyncRequest, description = "Optional; `{\"full\": true}` reads every entry"),
    responses((status = 200, body = SyncReportDoc), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn sync(
    State(state): State<AppState>,
    auth: AdminAuth,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    auth.require(AdminAction::SyncDirectory)?;
    let ctx = &auth.ctx;
    // The body is optional: none means an incremental sync.
    let request = if body.is_empty() {
        SyncRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
                .support(&ctx.support_code)
        })?
    };
    let Some(job) = &state.directory_sync else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_directory",
            "No on-premises directory is connected.",
        )
        .support(&ctx.support_code));
    };
    job.run(request.full, &auth.caller.actor)
        .await
        .map(Json)
        .map_err(|e| ApiError::directory(&e).support(&ctx.support_code))
}
