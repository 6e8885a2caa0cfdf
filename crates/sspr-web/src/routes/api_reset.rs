//! The reset and unlock flow in the JSON API (SPEC §5, §9.1):
//! `GET /api/v1/reset/challenge`, `POST /api/v1/reset`, `GET /api/v1/reset/{flow}`,
//! `POST /api/v1/reset/{flow}/methods/{method}/send|verify`,
//! `POST /api/v1/reset/{flow}/password`, `POST /api/v1/reset/{flow}/unlock`.
//!
//! The flow is bound to the cookie its start sets; the id alone is not enough.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde_json::json;
use sspr_core::service::reset::{FlowView, Ineligible, Proof, Reset, ResetError, Sent};

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_me::caller;
use crate::routes::api_password::RulesInForce;
use crate::routes::openapi::{
    ChallengeDoc, Problem, ResetDoneDoc, ResetFlowDoc, ResetStartedDoc, SentDoc, VerifiedDoc,
};
use crate::routes::pow;

/// The use case with this server's dependencies.
pub fn reset(state: &AppState) -> Reset<'_> {
    Reset {
        store: state.store.as_ref(),
        hasher: state.hasher.as_ref(),
        clock: state.clock.as_ref(),
        delivery: state.delivery.as_ref(),
        code_key: &state.code_key,
        decoy_key: &state.decoy_key,
        sealer: &state.sealer,
        limits: &state.limits,
        passkeys: state.passkeys.as_deref(),
        flow_lifetime: state.settings.flow_lifetime,
        directory: state.directory.as_deref(),
    }
}

/// The flow cookie's name. Over https the `__Host-` prefix pins it to this host.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.https() {
        "__Host-sspr_flow"
    } else {
        "sspr_flow"
    }
}

pub fn flow_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build((cookie_name(state), value))
        .path("/")
        .http_only(true)
        .secure(state.settings.https())
        .same_site(SameSite::Strict)
        .max_age(state.settings.flow_lifetime)
        .build()
}

/// The flow cookie of the request ("" when there is none: it then matches no flow).
pub fn presented_cookie(state: &AppState, jar: &CookieJar) -> String {
    jar.get(cookie_name(state))
        .map(|c| c.value().chars().take(128).collect())
        .unwrap_or_default()
}

/// Waits until `floor` has passed since `started`: the start and send answers take the same
/// time for every user ID (the real work is well below the floor).
pub async fn hold(state: &AppState, started: Instant) {
    let floor = state.settings.response_floor;
    let elapsed = started.elapsed();
    if elapsed < floor {
        tokio::time::sleep(floor - elapsed).await;
    }
}

/// The API's answer to each error of the flow.
pub fn api_error(e: ResetError, state: &AppState) -> ApiError {
    match e {
        ResetError::NoFlow => ApiError::new(
            StatusCode::NOT_FOUND,
            "flow_not_found",
            "This reset has expired or does not exist. Start again.",
        ),
        ResetError::UnknownMethod => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such method in this reset.",
        ),
        ResetError::WrongStep => ApiError::new(
            StatusCode::CONFLICT,
            "wrong_step",
            "This step is not available now.",
        ),
        ResetError::NotVerified => ApiError::new(
            StatusCode::CONFLICT,
            "not_verified",
            "Verify the required methods first.",
        ),
        ResetError::InvalidProof => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_code",
            "That is not right, or it has expired. Check it, or ask for a new code.",
        ),
        ResetError::Blocked(b) => {
            let retry = b.retry_after(state.clock.now());
            let mut err = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "blocked",
                "Too many attempts. Please wait before trying again.",
            );
            err.retry_after = Some(retry);
            err
        }
        ResetError::Policy(problems) => {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "password_policy",
                "The new password does not meet the password policy.",
            );
            err.extra = Some(json!({
                "reasons": problems
                    .iter()
                    .map(|p| json!({"rule": p, "message": p.to_string()}))
                    .collect::<Vec<_>>(),
            }));
            err
        }
        ResetError::CannotUnlock => ApiError::new(
            StatusCode::CONFLICT,
            "cannot_unlock",
            "The account is not locked, or unlocking alone is not allowed.",
        ),
        ResetError::Busy => ApiError::new(
            StatusCode::CONFLICT,
            "busy",
            "This reset is being completed by another request.",
        ),
        ResetError::DirectoryUser => ApiError::new(
            StatusCode::CONFLICT,
            "directory_user",
            "Your password is managed by your organisation's directory, which sspr cannot write to. Contact your helpdesk.",
        ),
        ResetError::BadInput(what) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", what)
        }
        ResetError::NotEligible(why) => {
            let message = match why {
                Ineligible::UnknownUser => "We could not find an account with this user ID.",
                Ineligible::AccountDisabled => {
                    "This account is disabled. Contact your administrator."
                }
                Ineligible::NotEnabled => {
                    "Your administrator has not enabled you to reset your password yourself. Contact your administrator."
                }
                Ineligible::NotRegistered => {
                    "You have not registered the information needed to reset your password. Contact your administrator."
                }
            };
            let mut err = ApiError::new(StatusCode::FORBIDDEN, "not_eligible", message);
            err.extra = Some(json!({ "reason": why }));
            err
        }
        ResetError::Directory(d) => match &d {
            sspr_core::ports::DirectoryError::Rejected { reason, .. } => {
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "password_policy",
                    "Your organisation's directory did not accept the new password.",
                );
                err.extra = Some(json!({
                    "reasons": [{ "rule": reason.code(), "message": reason.message() }],
                }));
                err
            }
            sspr_core::ports::DirectoryError::Unavailable(_) => ApiError::directory(&d),
            other => ApiError::new(StatusCode::CONFLICT, "directory_account", other.to_string()),
        },
        ResetError::Hash(h) => h.into(),
        ResetError::Store(s) => s.into(),
    }
}

fn bad_json(r: JsonRejection, support: &str) -> ApiError {
    ApiError::new(r.status(), "invalid_request", r.body_text()).support(support)
}

/// `GET /api/v1/reset/challenge`: a proof-of-work challenge for the start (ALTCHA).
#[utoipa::path(get, path = "/api/v1/reset/challenge", tag = "reset",
    responses((status = 200, body = ChallengeDoc), (status = 500, body = Problem)))]
pub async fn challenge(State(state): State<AppState>) -> Response {
    match pow::challenge(&state) {
        Ok(c) => Json(c).into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// The user ID (username, UPN or email) and the solved challenge (base64 ALTCHA payload;
/// may be left out when the proof of work is switched off).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    username: String,
    #[serde(default)]
    pow: String,
}

/// `POST /api/v1/reset`: starts a flow and sets its cookie. Every user ID gets the same
/// answer in the same time; an ID that cannot reset gets decoy methods.
#[utoipa::path(post, path = "/api/v1/reset", tag = "reset", request_body = StartRequest,
    responses((status = 200, body = ResetStartedDoc, description = "Sets the flow cookie."),
        (status = 400, body = Problem, description = "invalid_request, invalid_pow"),
        (status = 403, body = Problem, description = "not_eligible (only when the policy's explicit messages are on)"),
        (status = 422, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn start(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    body: Result<Json<StartRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let sc = ctx.support_code.clone();
    let Json(body) = body.map_err(|r| bad_json(r, &sc))?;
    pow::verify(&state, &body.pow)
        .await
        .map_err(|e| e.support(&sc))?;
    let caller = caller(&ctx, ctx.locale);
    let result = reset(&state).start(&body.username, &caller).await;
    hold(&state, started).await;
    let s = result.map_err(|e| api_error(e, &state).support(&sc))?;
    let view = FlowView::of(&s.flow);
    let body = json!({
        "flow_id": view.flow_id,
        "required": view.required,
        "methods": view.methods.iter().map(|m| json!({"id": m.id, "type": m.kind, "hint": m.hint})).collect::<Vec<_>>(),
        "expires_at": view.expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    Ok((jar.add(flow_cookie(&state, s.cookie)), Json(body)).into_response())
}

/// `GET /api/v1/reset/{flow}`: where the flow stands (with its cookie).
#[utoipa::path(get, path = "/api/v1/reset/{flow}", tag = "reset",
    params(("flow" = String, Path, description = "The flow's id")),
    responses((status = 200, body = ResetFlowDoc),
        (status = 404, body = Problem, description = "flow_not_found: unknown, expired, or without its cookie")))]
pub async fn show(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path(flow): Path<String>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let f = reset(&state)
        .load(&flow, &presented_cookie(&state, &jar))
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(Json(FlowView::of(&f)).into_response())
}

/// `POST /api/v1/reset/{flow}/methods/{method}/send`: sends a code (email, SMS, voice), draws
/// the security questions, or starts a passkey assertion.
#[utoipa::path(post, path = "/api/v1/reset/{flow}/methods/{method}/send", tag = "reset",
    params(("flow" = String, Path, description = "The flow's id"),
        ("method" = String, Path, description = "A method id from the flow")),
    responses((status = 202, description = "A code is on its way (or nothing needs sending: an app's code)."),
        (status = 200, body = SentDoc),
        (status = 404, body = Problem, description = "flow_not_found, not_found"),
        (status = 409, body = Problem, description = "wrong_step, busy"),
        (status = 429, body = Problem, description = "blocked, with Retry-After"),
        (status = 503, body = Problem)))]
pub async fn send(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path((flow, method)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let sc = ctx.support_code.clone();
    let caller = caller(&ctx, ctx.locale);
    let result = reset(&state)
        .send(&flow, &presented_cookie(&state, &jar), &method, &caller)
        .await;
    hold(&state, started).await;
    let sent = result.map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(match sent {
        Sent::Code | Sent::Nothing => (StatusCode::ACCEPTED, Json(json!({}))).into_response(),
        Sent::Questions(list) => Json(json!({
            "questions": list.iter().map(|(id, text)| json!({"id": id, "text": text})).collect::<Vec<_>>()
        }))
        .into_response(),
        Sent::Passkey(options) => Json(json!({ "publicKey": options })).into_response(),
    })
}

/// Exactly one of: the code (sent, or an authenticator app's), the answers by question id
/// (at most 10), or a passkey's assertion (WebAuthn `PublicKeyCredential` as JSON).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    code: Option<String>,
    answers: Option<BTreeMap<String, String>>,
    #[schema(value_type = Option<Object>)]
    assertion: Option<serde_json::Value>,
}

/// `POST /api/v1/reset/{flow}/methods/{method}/verify`: proves one method.
#[utoipa::path(post, path = "/api/v1/reset/{flow}/methods/{method}/verify", tag = "reset",
    request_body = VerifyRequest,
    params(("flow" = String, Path, description = "The flow's id"),
        ("method" = String, Path, description = "A method id from the flow")),
    responses((status = 200, body = VerifiedDoc),
        (status = 400, body = Problem, description = "invalid_code (also for wrong answers or a refused passkey), invalid_request"),
        (status = 404, body = Problem, description = "flow_not_found, not_found"),
        (status = 409, body = Problem, description = "wrong_step, busy"),
        (status = 422, body = Problem, description = "invalid_request"),
        (status = 429, body = Problem, description = "blocked, with Retry-After"),
        (status = 503, body = Problem)))]
pub async fn verify(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path((flow, method)): Path<(String, String)>,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let Json(body) = body.map_err(|r| bad_json(r, &sc))?;
    let proof = match (body.code, body.answers, body.assertion) {
        (Some(c), None, None) => Proof::Code(c),
        (None, Some(a), None) if a.len() <= 10 => Proof::Answers(a),
        (None, None, Some(a)) => Proof::Assertion(a),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "Send one of: code, answers, assertion.",
            )
            .support(&sc));
        }
    };
    let caller = caller(&ctx, ctx.locale);
    let progress = reset(&state)
        .verify(
            &flow,
            &presented_cookie(&state, &jar),
            &method,
            &proof,
            &caller,
        )
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(Json(json!({
        "verified": progress.verified >= usize::from(progress.required),
        "verified_count": progress.verified,
        "required": progress.required,
        "can_unlock": progress.can_unlock,
    }))
    .into_response())
}

/// The new password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    new_password: String,
}

/// `POST /api/v1/reset/{flow}/password`: sets the new password once the required methods are
/// verified. Success only after the store or the directory confirmed the write; the flow's
/// cookie is cleared.
#[utoipa::path(post, path = "/api/v1/reset/{flow}/password", tag = "reset",
    request_body = PasswordRequest,
    params(("flow" = String, Path, description = "The flow's id")),
    responses((status = 200, body = ResetDoneDoc, description = "status \"reset\""),
        (status = 400, body = Problem, description = "invalid_request"),
        (status = 404, body = Problem, description = "flow_not_found"),
        (status = 409, body = Problem, description = "not_verified, busy, directory_user, directory_account"),
        (status = 422, body = Problem, description = "password_policy, with the reasons; invalid_request"),
        (status = 503, body = Problem, description = "the directory or the hashing is unavailable")))]
pub async fn password(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path(flow): Path<String>,
    body: Result<Json<PasswordRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let Json(body) = body.map_err(|r| bad_json(r, &sc))?;
    let in_force = RulesInForce::load(&state, &ctx).await?;
    let rules = in_force.rules(&state);
    let caller = caller(&ctx, ctx.locale);
    reset(&state)
        .set_new_password(
            &flow,
            &presented_cookie(&state, &jar),
            &body.new_password,
            &rules,
            &caller,
        )
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(done(&state, jar, "reset"))
}

/// `POST /api/v1/reset/{flow}/unlock`: unlocks the account without changing its password, when
/// the policy allows it and the account is locked.
#[utoipa::path(post, path = "/api/v1/reset/{flow}/unlock", tag = "reset",
    params(("flow" = String, Path, description = "The flow's id")),
    responses((status = 200, body = ResetDoneDoc, description = "status \"unlocked\""),
        (status = 404, body = Problem, description = "flow_not_found"),
        (status = 409, body = Problem, description = "not_verified, cannot_unlock, busy"),
        (status = 503, body = Problem)))]
pub async fn unlock(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path(flow): Path<String>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let caller = caller(&ctx, ctx.locale);
    reset(&state)
        .unlock(&flow, &presented_cookie(&state, &jar), &caller)
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(done(&state, jar, "unlocked"))
}

/// The flow is over: its cookie is cleared (no automatic sign-in).
fn done(state: &AppState, jar: CookieJar, status: &str) -> Response {
    let mut gone = flow_cookie(state, String::new());
    gone.set_max_age(time::Duration::ZERO);
    let mut res = (jar.add(gone), Json(json!({ "status": status }))).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
