//! `POST /api/v1/session` (sign in) and `DELETE /api/v1/session` (sign out), SPEC §9.1.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use sspr_core::service::security_info::Interrupt;
use sspr_core::service::signin::{SignIn, SignInError, SignInOutcome};

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_me::{api_error, security_info};
use crate::routes::openapi::Problem;
use crate::session;

/// Longest username and password we will even look at; anything longer is a wrong credential
/// (and is refused before any hashing work is spent on it).
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 1024;

/// Runs the sign-in use case, turning its errors into API errors.
pub async fn authenticate(
    state: &AppState,
    ctx: &RequestContext,
    username: &str,
    password: &str,
) -> Result<SignInOutcome, ApiError> {
    if username.len() > MAX_USERNAME || password.len() > MAX_PASSWORD || password.is_empty() {
        return Ok(SignInOutcome::InvalidCredentials);
    }
    let ip = ctx.client_ip.map(|ip| ip.to_string());
    SignIn {
        store: state.store.as_ref(),
        hasher: state.hasher.as_ref(),
        clock: state.clock.as_ref(),
        lockout: state.lockout,
        directory: state.directory.as_deref(),
    }
    .sign_in(username, password, ip.as_deref())
    .await
    .map_err(|e| {
        match e {
            SignInError::Hash(h) => ApiError::from(h),
            SignInError::Store(s) => ApiError::from(s),
            SignInError::Directory(d) => ApiError::directory(&d),
        }
        .support(&ctx.support_code)
    })
}

/// A username (or UPN or email) and its password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignInRequest {
    username: String,
    password: String,
}

/// Whether the user must register methods, or review them, before going on.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignInResponse {
    /// `ok`, `required` (register methods first) or `reconfirm` (review them).
    #[schema(value_type = String)]
    registration: &'static str,
}

#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = SignInRequest,
    responses((status = 200, body = SignInResponse, description = "Sets the session cookie"),
        (status = 400, body = Problem),
        (status = 401, body = Problem, description = "invalid_credentials, for every failure"),
        (status = 422, body = Problem),
        (status = 423, body = Problem, description = "locked: only after a right password"),
        (status = 503, body = Problem, description = "busy or directory_unavailable, with Retry-After")))]
pub async fn create(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    body: Result<Json<SignInRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|r| {
        ApiError::new(r.status(), "invalid_request", r.body_text()).support(&ctx.support_code)
    })?;
    let outcome = authenticate(&state, &ctx, &body.username, &body.password).await?;
    match outcome {
        SignInOutcome::Success(user) => {
            let registration = registration_status(&state, &user)
                .await
                .map_err(|e| e.support(&ctx.support_code))?;
            let cookie = session::start(&state, &user)
                .await
                .map_err(|e| e.support(&ctx.support_code))?;
            Ok((jar.add(cookie), Json(SignInResponse { registration })).into_response())
        }
        SignInOutcome::InvalidCredentials => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Incorrect username or password.",
        )
        .support(&ctx.support_code)),
        SignInOutcome::Locked { .. } => Err(ApiError::new(
            StatusCode::LOCKED,
            "locked",
            "Your account is temporarily locked to prevent unauthorized use. Try again later.",
        )
        .support(&ctx.support_code)),
    }
}

/// What sign-in answers about registration: `ok`, `required` or `reconfirm`. Showing the
/// interrupt starts the skip window (SPEC §2).
pub async fn registration_status(
    state: &AppState,
    user: &sspr_core::User,
) -> Result<&'static str, ApiError> {
    let service = security_info(state);
    let interrupt = service
        .interrupt(user)
        .await
        .map_err(|e| api_error(e, state))?;
    if interrupt != Interrupt::None {
        service
            .prompted(user)
            .await
            .map_err(|e| api_error(e, state))?;
    }
    Ok(match interrupt {
        Interrupt::None => "ok",
        Interrupt::Register { .. } => "required",
        Interrupt::Reconfirm { .. } => "reconfirm",
    })
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Signed out; the cookie is cleared")), security(("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
) -> Result<Response, ApiError> {
    let cookie = session::end(&state, &jar)
        .await
        .map_err(|e| e.support(&ctx.support_code))?;
    Ok((jar.add(cookie), StatusCode::NO_CONTENT).into_response())
}
