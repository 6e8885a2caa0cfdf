//! `GET /api/v1/admin/directory/status`: writeback status for administrators (SPEC §7, §9.1):
//! the directory is reachable, the service account binds and a test write works — or the
//! exact failure of each step.

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
