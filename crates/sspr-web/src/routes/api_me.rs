//! "My security info" in the JSON API (SPEC §9.1): `GET|POST /api/v1/me/methods`,
//! `POST /api/v1/me/methods/{id}/verify`, `POST /api/v1/me/methods/{id}/resend`,
//! `DELETE /api/v1/me/methods/{id}`, `GET|PUT /api/v1/me/security-questions`,
//! `GET /api/v1/me/registration`, `POST /api/v1/me/registration/confirm|skip`,
//! `POST /api/v1/me/passkeys/options`, `POST /api/v1/me/passkeys`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sspr_core::methods::questions;
use sspr_core::service::security_info::{Caller, Interrupt, SecurityInfo, SecurityInfoError};
use sspr_core::{Locale, MethodId, MethodType, User};

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::openapi::{
    MethodDoc, PasskeyOptionsDoc, Problem, QuestionsDoc, RegistrationDoc,
};
use crate::session::CurrentUser;

/// The use case with this server's dependencies.
pub fn security_info(state: &AppState) -> SecurityInfo<'_> {
    SecurityInfo {
        store: state.store.as_ref(),
        hasher: state.hasher.as_ref(),
        clock: state.clock.as_ref(),
        delivery: state.delivery.as_ref(),
        code_key: &state.code_key,
        sealer: &state.sealer,
        limits: &state.limits,
        phone_regions: &state.settings.phone_regions,
        // The configuration's name: an authenticator app keeps the issuer it was enrolled
        // with, so it should not follow later renames.
        issuer: &state.brand.defaults().organisation_name,
        passkeys: state.passkeys.as_deref(),
    }
}

/// The language of a request: `?lng=` first, then `Accept-Language`.
pub fn locale(headers: &HeaderMap, lng: Option<&str>) -> Locale {
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Locale::negotiate(lng, accept)
}

pub fn caller(ctx: &RequestContext, locale: Locale) -> Caller {
    Caller {
        client_ip: ctx.client_ip.map(|ip| ip.to_string()),
        user_agent: ctx.user_agent.clone(),
        correlation_id: Some(ctx.support_code.clone()),
        locale,
    }
}

/// The API's answer to each error of the use case.
pub fn api_error(e: SecurityInfoError, state: &AppState) -> ApiError {
    match e {
        SecurityInfoError::Field { field, message } => {
            let mut err =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", &message);
            err.extra = Some(json!({ "errors": [{ "field": field, "message": message }] }));
            err
        }
        SecurityInfoError::Answers(errors) => {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "Some answers are not valid.",
            );
            let list: Vec<_> = errors
                .iter()
                .map(|a| json!({ "index": a.index, "field": a.field, "message": a.message }))
                .collect();
            err.extra = Some(json!({ "errors": list }));
            err
        }
        // The same answer for a method that does not exist and another user's method.
        SecurityInfoError::NotFound => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such method.")
        }
        SecurityInfoError::AlreadyVerified => ApiError::new(
            StatusCode::CONFLICT,
            "already_verified",
            "This method is already verified.",
        ),
        SecurityInfoError::InvalidCode => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_code",
            "That code is not right, or it has expired. Check it, or ask for a new one.",
        ),
        SecurityInfoError::Blocked(b) => {
            let retry = b.retry_after(state.clock.now());
            let mut err = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "blocked",
                "Too many attempts. Please wait before trying again.",
            );
            err.retry_after = Some(retry);
            err
        }
        SecurityInfoError::MethodNotAllowed => ApiError::new(
            StatusCode::FORBIDDEN,
            "method_not_allowed",
            "Your organisation does not offer this method to you.",
        ),
        SecurityInfoError::NotRegistered => ApiError::new(
            StatusCode::CONFLICT,
            "not_registered",
            "Register the methods you need first.",
        ),
        SecurityInfoError::SkipExpired => ApiError::new(
            StatusCode::CONFLICT,
            "skip_expired",
            "Registration can no longer be postponed.",
        ),
        SecurityInfoError::Hash(h) => h.into(),
        SecurityInfoError::Store(s) => s.into(),
    }
}

pub fn signed_in(user: Result<CurrentUser, ApiError>) -> Result<User, ApiError> {
    match user? {
        CurrentUser(Some(u)) => Ok(u),
        CurrentUser(None) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_signed_in",
            "Sign in first.",
        )),
    }
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lng: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me/methods", tag = "me",
    responses((status = 200, body = [MethodDoc], description = "Registered methods, then profile contact data set by an administrator"),
        (status = 401, body = Problem)), security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Result<Response, ApiError> {
    let user = signed_in(user).map_err(|e| e.support(&ctx.support_code))?;
    let methods = security_info(&state)
        .list(&user)
        .await
        .map_err(|e| api_error(e, &state).support(&ctx.support_code))?;
    Ok(Json(methods).into_response())
}

/// `type` (email, mobile_sms, mobile_voice, office_voice, authenticator_code) with `address`
/// for an email or `number` for a phone.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    #[serde(rename = "type")]
    kind: String,
    address: Option<String>,
    number: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/me/methods", tag = "me", request_body = AddRequest,
    params(("lng" = Option<String>, Query, description = "The language of the code's message")),
    responses((status = 201, body = MethodDoc, description = "Not verified yet: a code is sent (email, phone); an app gets otpauth_uri, qr_svg and secret"),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "method_not_allowed"),
        (status = 422, body = Problem, description = "invalid_field, with errors"),
        (status = 429, body = Problem, description = "blocked, with Retry-After"), (status = 503, body = Problem)), security(("session" = [])))]
pub async fn add(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    user: Result<CurrentUser, ApiError>,
    body: Result<Json<AddRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    let Json(body) = body.map_err(|r| bad_json(r, &sc))?;
    let caller = caller(&ctx, locale(&headers, q.lng.as_deref()));
    let service = security_info(&state);
    let kind = MethodType::parse(&body.kind).map_err(|e| {
        api_error(
            SecurityInfoError::Field {
                field: "type",
                message: e.to_string(),
            },
            &state,
        )
        .support(&sc)
    })?;
    let missing = |field: &'static str| SecurityInfoError::Field {
        field,
        message: "required".into(),
    };
    let added = match kind {
        MethodType::Email => match &body.address {
            Some(a) => service.add_email(&user, a, &caller).await,
            None => Err(missing("address")),
        },
        MethodType::MobileSms | MethodType::MobileVoice | MethodType::OfficeVoice => {
            match &body.number {
                Some(n) => service.add_phone(&user, kind, n, &caller).await,
                None => Err(missing("number")),
            }
        }
        MethodType::AuthenticatorCode => service.add_authenticator(&user, &caller).await,
        MethodType::SecurityQuestions => Err(SecurityInfoError::Field {
            field: "type",
            message: "register security questions with PUT /api/v1/me/security-questions".into(),
        }),
        MethodType::Passkey => Err(SecurityInfoError::Field {
            field: "type",
            message: "register a passkey with POST /api/v1/me/passkeys/options, then POST /api/v1/me/passkeys"
                .into(),
        }),
    }
    .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

fn bad_json(r: JsonRejection, support: &str) -> ApiError {
    ApiError::new(r.status(), "invalid_request", r.body_text()).support(support)
}

/// An id from the URL; one that does not parse is answered like an unknown one.
fn method_id(raw: &str, state: &AppState, support: &str) -> Result<MethodId, ApiError> {
    MethodId::parse(raw)
        .ok_or_else(|| api_error(SecurityInfoError::NotFound, state).support(support))
}

/// The code sent to the method (or shown by the app).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = MethodVerifyRequest)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    code: String,
}

#[utoipa::path(post, path = "/api/v1/me/methods/{id}/verify", tag = "me", request_body = VerifyRequest,
    params(("id" = String, Path, description = "The method's id")),
    responses((status = 200, body = MethodDoc, description = "The method, now verified"),
        (status = 400, body = Problem, description = "invalid_code, invalid_request"), (status = 401, body = Problem),
        (status = 404, body = Problem, description = "not_found (also another user's method)"),
        (status = 409, body = Problem, description = "already_verified"),
        (status = 422, body = Problem), (status = 429, body = Problem)), security(("session" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    user: Result<CurrentUser, ApiError>,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    let id = method_id(&id, &state, &sc)?;
    let Json(body) = body.map_err(|r| bad_json(r, &sc))?;
    let caller = caller(&ctx, locale(&headers, None));
    let method = security_info(&state)
        .verify(&user, id, &body.code, &caller)
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(Json(method).into_response())
}

#[utoipa::path(post, path = "/api/v1/me/methods/{id}/resend", tag = "me",
    params(("id" = String, Path, description = "The method's id")),
    responses((status = 202, description = "A new code is on its way"), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "already_verified"),
        (status = 429, body = Problem)), security(("session" = [])))]
pub async fn resend(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    user: Result<CurrentUser, ApiError>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    let id = method_id(&id, &state, &sc)?;
    let caller = caller(&ctx, locale(&headers, None));
    security_info(&state)
        .resend(&user, id, &caller)
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[utoipa::path(delete, path = "/api/v1/me/methods/{id}", tag = "me",
    params(("id" = String, Path, description = "The method's id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)), security(("session" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    user: Result<CurrentUser, ApiError>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    let id = method_id(&id, &state, &sc)?;
    let caller = caller(&ctx, locale(&headers, None));
    security_info(&state)
        .remove(&user, id, &caller)
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// First half of adding a passkey: the options for `navigator.credentials.create`.
#[utoipa::path(post, path = "/api/v1/me/passkeys/options", tag = "me",
    responses((status = 200, body = PasskeyOptionsDoc), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "method_not_allowed"),
        (status = 422, body = Problem), (status = 429, body = Problem)), security(("session" = [])))]
pub async fn passkey_options(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    user: Result<CurrentUser, ApiError>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    let caller = caller(&ctx, locale(&headers, None));
    let challenge = security_info(&state)
        .start_passkey(&user, &caller)
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(Json(challenge).into_response())
}

/// The ceremony from the options, a name for the passkey (1–64 characters), and the
/// browser's answer.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRequest {
    ceremony: String,
    #[serde(default)]
    name: String,
    /// The `PublicKeyCredential` the browser returned, in its JSON form (`toJSON()`).
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

/// Second half: the browser's answer; the passkey is registered when it verifies.
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "me", request_body = PasskeyRequest,
    responses((status = 201, body = MethodDoc), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 422, body = Problem, description = "invalid_field: ceremony, credential or name"),
        (status = 429, body = Problem)), security(("session" = [])))]
pub async fn passkey_finish(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    user: Result<CurrentUser, ApiError>,
    body: Result<Json<PasskeyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    let Json(body) = body.map_err(|r| bad_json(r, &sc))?;
    let caller = caller(&ctx, locale(&headers, None));
    let method = security_info(&state)
        .finish_passkey(&user, &body.ceremony, &body.name, &body.credential, &caller)
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok((StatusCode::CREATED, Json(method)).into_response())
}

/// The questions a user may choose from, in their language, and how many to answer.
#[utoipa::path(get, path = "/api/v1/me/security-questions", tag = "me",
    params(("lng" = Option<String>, Query, description = "The language of the questions")),
    responses((status = 200, body = QuestionsDoc), (status = 401, body = Problem)), security(("session" = [])))]
pub async fn questions_catalogue(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    user: Result<CurrentUser, ApiError>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    signed_in(user).map_err(|e| e.support(&sc))?;
    let policy = state
        .store
        .policy()
        .await
        .map_err(|e| ApiError::from(e).support(&sc))?;
    let lang = locale(&headers, q.lng.as_deref());
    let list: Vec<_> = questions::catalogue(lang, &policy.custom_questions)
        .into_iter()
        .map(|(id, text)| json!({ "id": id.as_str(), "text": text }))
        .collect();
    Ok(Json(json!({
        "required": policy.questions_to_register,
        "questions": list,
    }))
    .into_response())
}

/// One answer to one question of the catalogue.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    question_id: String,
    answer: String,
}

/// The answers to the questions the user chose (as many as the policy requires).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersRequest {
    answers: Vec<Answer>,
}

#[utoipa::path(put, path = "/api/v1/me/security-questions", tag = "me", request_body = AnswersRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 422, body = Problem, description = "invalid_field, with errors by index"), (status = 503, body = Problem)), security(("session" = [])))]
pub async fn put_questions(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    user: Result<CurrentUser, ApiError>,
    body: Result<Json<AnswersRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    let Json(body) = body.map_err(|r| bad_json(r, &sc))?;
    let answers: Vec<(String, String)> = body
        .answers
        .into_iter()
        .map(|a| (a.question_id, a.answer))
        .collect();
    let caller = caller(&ctx, locale(&headers, None));
    security_info(&state)
        .set_questions(&user, &answers, &caller)
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `registration`: `ok`, `required` or `reconfirm`, as sign-in answers, with the skip window.
pub fn interrupt_json(i: Interrupt) -> serde_json::Value {
    let (status, until) = match i {
        Interrupt::None => ("ok", None),
        Interrupt::Register { skip_until } => ("required", skip_until),
        Interrupt::Reconfirm { skip_until } => ("reconfirm", skip_until),
    };
    let until = until.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    json!({ "registration": status, "can_skip_until": until })
}

#[utoipa::path(get, path = "/api/v1/me/registration", tag = "me",
    responses((status = 200, body = RegistrationDoc), (status = 401, body = Problem)), security(("session" = [])))]
pub async fn registration(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    let i = security_info(&state)
        .interrupt(&user)
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(Json(interrupt_json(i)).into_response())
}

#[utoipa::path(post, path = "/api/v1/me/registration/confirm", tag = "me",
    responses((status = 204, description = "The methods are confirmed (\"looks good\")"), (status = 401, body = Problem),
        (status = 409, body = Problem, description = "not_registered")), security(("session" = [])))]
pub async fn confirm(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    security_info(&state)
        .confirm(&user, &caller(&ctx, Locale::En))
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/me/registration/skip", tag = "me",
    responses((status = 204), (status = 401, body = Problem),
        (status = 409, body = Problem, description = "skip_expired")), security(("session" = [])))]
pub async fn skip(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Result<Response, ApiError> {
    let sc = ctx.support_code.clone();
    let user = signed_in(user).map_err(|e| e.support(&sc))?;
    security_info(&state)
        .skip(&user, &caller(&ctx, Locale::En))
        .await
        .map_err(|e| api_error(e, &state).support(&sc))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
