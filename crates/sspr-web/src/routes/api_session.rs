//! `POST /api/v1/session` (sign in) and `DELETE /api/v1/session` (sign out), SPEC §9.1.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use sspr_core::policy::eligibility::Registration;
use sspr_core::service::eligibility::evaluate;
use sspr_core::service::signin::{SignIn, SignInError, SignInOutcome};

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
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
    }
    .sign_in(username, password, ip.as_deref())
    .await
    .map_err(|e| {
        match e {
            SignInError::Hash(h) => ApiError::from(h),
            SignInError::Store(s) => ApiError::from(s),
        }
        .support(&ctx.support_code)
    })
}

#[derive(Deserialize)]
pub struct SignInRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
pub struct SignInResponse {
    /// `ok`, `required` (register methods first) or `reconfirm` (review them).
    registration: &'static str,
}

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
            let now = state.clock.now();
            let registration = match evaluate(state.store.as_ref(), &user, now)
                .await
                .map_err(|e| ApiError::from(e).support(&ctx.support_code))?
            {
                Ok(e) => match e.registration {
                    Registration::Registered => "ok",
                    Registration::Required if state_requires_registration(&state).await => {
                        "required"
                    }
                    Registration::Required => "ok",
                    Registration::ReconfirmDue => "reconfirm",
                },
                // Not in scope for SSPR: nothing to register.
                Err(_) => "ok",
            };
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

async fn state_requires_registration(state: &AppState) -> bool {
    state
        .store
        .policy()
        .await
        .map(|p| p.require_registration)
        .unwrap_or(true)
}

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
