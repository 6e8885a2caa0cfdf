//! `/dev/outbox`: the development delivery mode's window onto sent messages (SPEC §9.1).
//! The route exists only when the server runs in development delivery mode.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;

#[derive(Serialize)]
pub struct OutboxEntry {
    id: String,
    channel: String,
    to: String,
    subject: String,
    body: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    status: String,
}

pub async fn outbox(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Json<Vec<OutboxEntry>>, ApiError> {
    let messages = state
        .store
        .recent_outbox(200)
        .await
        .map_err(|e| ApiError::from(e).support(&ctx.support_code))?;
    Ok(Json(
        messages
            .into_iter()
            .map(|m| OutboxEntry {
                id: m.id.to_string(),
                channel: m.channel,
                to: m.recipient,
                subject: m.subject,
                body: m.body,
                created_at: m.created_at,
                status: m.status,
            })
            .collect(),
    ))
}
