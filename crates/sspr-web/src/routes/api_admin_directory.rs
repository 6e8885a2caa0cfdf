//! `GET /api/v1/admin/directory/status`: writeback status for administrators (SPEC §7, §9.1):
//! the directory is reachable, the service account binds and a test write works — or the
//! exact failure of each step. `POST /api/v1/admin/directory/sync`: a sync now.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sspr_core::AdminRole;
use sspr_core::ports::WritebackStatus;

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::session::{CurrentUser, require_role};

#[derive(serde::Serialize)]
pub struct StatusResponse {
    healthy: bool,
    #[serde(flatten)]
    status: WritebackStatus,
}

pub async fn status(
    State(state): State<AppState>,
    ctx: RequestContext,
    CurrentUser(user): CurrentUser,
) -> Result<Json<StatusResponse>, ApiError> {
    require_role(user, &AdminRole::ALL).map_err(|e| e.support(&ctx.support_code))?;
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

#[derive(serde::Deserialize, Default)]
pub struct SyncRequest {
    /// Read every entry (and disable users whose entry is gone), not only the changed ones.
    #[serde(default)]
    full: bool,
}

/// Runs a sync and answers with its report (counts). Global and user administrators only.
pub async fn sync(
    State(state): State<AppState>,
    ctx: RequestContext,
    CurrentUser(user): CurrentUser,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let admin = require_role(user, &[AdminRole::GlobalAdmin, AdminRole::UserAdmin])
        .map_err(|e| e.support(&ctx.support_code))?;
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
    job.run(request.full, admin.username.as_str())
        .await
        .map(Json)
        .map_err(|e| ApiError::directory(&e).support(&ctx.support_code))
}
