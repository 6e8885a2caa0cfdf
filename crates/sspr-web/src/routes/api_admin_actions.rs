//! Admin actions on one user (SPEC §9 "admin actions"): unlock, set a password, require
//! re-registration, revoke sessions — and a test message through the outbox. Each is
//! audited with its actor and target by `service::admin_users`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sspr_core::audit::{Outcome, events};
use sspr_core::ports::NewOutboxMessage;
use sspr_core::service::admin_access::AdminAction;
use sspr_core::{EmailAddress, PhoneNumber};

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::routes::admin_common::{body, load_user};
use crate::routes::api_admin_users::admin_users;
use crate::routes::api_password::RulesInForce;
use crate::routes::openapi::Problem;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionDone {
    /// `unlocked`, `reset`, `registration_required`, `sessions_revoked` or `queued`.
    pub status: &'static str,
    /// For `registration_required`: methods removed; for `sessions_revoked`: live sessions
    /// ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

fn done(status: &'static str, count: Option<u64>) -> Json<ActionDone> {
    Json(ActionDone { status, count })
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/unlock", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ActionDone), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn unlock(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<ActionDone>, ApiError> {
    auth.require(AdminAction::Unlock)?;
    let user = load_user(&auth, &state, &id).await?;
    admin_users(&state)
        .unlock(&auth.caller, &user)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok(done("unlocked", None))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// The password rules apply (length, classes, banned and breached passwords, history);
    /// the pattern describes passwords that pass them.
    #[schema(pattern = "^Zq[a-z]{8}-Xv[a-z]{8}-[0-9]{4}$")]
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/password", tag = "admin", request_body = NewPassword,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ActionDone), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn set_password(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    req: Result<Json<NewPassword>, JsonRejection>,
) -> Result<Json<ActionDone>, ApiError> {
    auth.require(AdminAction::ResetPassword)?;
    let user = load_user(&auth, &state, &id).await?;
    let req = body(&auth, req)?;
    let in_force = RulesInForce::load(&state, &auth.ctx).await?;
    admin_users(&state)
        .reset_password(
            &auth.caller,
            &user,
            &req.new_password,
            &in_force.rules(&state),
            state.clock.now(),
        )
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok(done("reset", None))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/require-registration", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ActionDone), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn require_registration(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<ActionDone>, ApiError> {
    auth.require(AdminAction::RequireRegistration)?;
    let user = load_user(&auth, &state, &id).await?;
    let removed = admin_users(&state)
        .require_registration(&auth.caller, &user)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok(done("registration_required", Some(removed)))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/revoke-sessions", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ActionDone), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<ActionDone>, ApiError> {
    auth.require(AdminAction::RevokeSessions)?;
    let user = load_user(&auth, &state, &id).await?;
    let n = admin_users(&state)
        .revoke_sessions(&auth.caller, &user)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok(done("sessions_revoked", Some(n)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestChannel {
    Email,
    Sms,
    Voice,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestMessage {
    pub channel: TestChannel,
    /// An email address, or a phone number in international form.
    pub to: String,
}

/// Queues a fixed test message through the outbox, so an administrator can check that email,
/// SMS or voice delivery works end to end. The text is fixed: the endpoint must not become a
/// way to send arbitrary content from the organisation's sender.
#[utoipa::path(post, path = "/api/v1/admin/test-message", tag = "admin", request_body = TestMessage,
    responses((status = 202, body = ActionDone), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn test_message(
    State(state): State<AppState>,
    auth: AdminAuth,
    req: Result<Json<TestMessage>, JsonRejection>,
) -> Result<Response, ApiError> {
    auth.require(AdminAction::SendTestMessage)?;
    let req = body(&auth, req)?;
    let invalid = |m: String| {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "The address is not valid for this channel.",
        );
        e.extra = Some(serde_json::json!({"fields": [{"field": "to", "message": m}]}));
        e.support(&auth.ctx.support_code)
    };
    let (channel, recipient) = match req.channel {
        TestChannel::Email => (
            "email",
            EmailAddress::parse(&req.to)
                .map_err(|e| invalid(e.to_string()))?
                .as_str()
                .to_owned(),
        ),
        TestChannel::Sms | TestChannel::Voice => (
            if matches!(req.channel, TestChannel::Sms) {
                "sms"
            } else {
                "voice"
            },
            PhoneNumber::parse(&req.to)
                .map_err(|e| invalid(e.to_string()))?
                .as_str()
                .to_owned(),
        ),
    };
    let org = state.brand.current().organisation_name.clone();
    let text =
        format!("This is a test message from {org}'s password reset service. No action is needed.");
    state
        .store
        .enqueue(&NewOutboxMessage {
            channel: channel.to_owned(),
            recipient: recipient.clone(),
            subject: format!("{org}: test message"),
            body: text,
            html_body: None,
        })
        .await
        .map_err(|e| auth.support(e))?;
    let audit = auth
        .caller
        .audit(events::TEST_MESSAGE, Outcome::Success, &recipient)
        .details(serde_json::json!({ "channel": channel }));
    state
        .store
        .append_audit(&audit)
        .await
        .map_err(|e| auth.support(e))?;
    Ok((StatusCode::ACCEPTED, done("queued", None)).into_response())
}
