//! `/dev/outbox`: the development delivery mode's window onto sent messages (SPEC §9.1), and
//! `/dev/clock`: the development clock, which a person or a browser test can move forward to
//! see what happens days later. The routes exist only in development delivery mode.

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

#[derive(Serialize)]
pub struct ClockState {
    #[serde(with = "time::serde::rfc3339")]
    now: time::OffsetDateTime,
    offset_seconds: i64,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// Seconds to move forward (never backward: codes and counters assume time only grows).
    advance_seconds: i64,
}

fn clock_state(state: &AppState) -> Result<ClockState, ApiError> {
    let clock = state.dev_clock.as_ref().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            "No such resource.",
        )
    })?;
    Ok(ClockState {
        now: state.clock.now(),
        offset_seconds: clock.offset().whole_seconds(),
    })
}

pub async fn clock(State(state): State<AppState>) -> Result<Json<ClockState>, ApiError> {
    clock_state(&state).map(Json)
}

pub async fn advance_clock(
    State(state): State<AppState>,
    Json(body): Json<Advance>,
) -> Result<Json<ClockState>, ApiError> {
    if let Some(clock) = &state.dev_clock {
        tracing::warn!(
            seconds = body.advance_seconds,
            "development clock moved forward"
        );
        clock.advance(time::Duration::seconds(body.advance_seconds));
    }
    clock_state(&state).map(Json)
}
