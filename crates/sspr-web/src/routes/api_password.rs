//! Password routes: live feedback while typing, the self-service change, and the
//! administrators' password-protection policy.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use sspr_core::User;
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::policy::banned::BannedList;
use sspr_core::policy::password::PasswordPolicy;
use sspr_core::service::admin_access::AdminAction;
use sspr_core::service::passwords::{
    PasswordPolicyUpdateError, PasswordRules, RuleCheck, SetBy, SetPasswordError, set_password,
    update_password_policy,
};
use sspr_core::service::signin::SignInOutcome;

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_session::authenticate;
use crate::routes::openapi::{PasswordChangedDoc, PasswordPolicyDoc, Problem};
use crate::session::{self, CurrentUser};

const MAX_PASSWORD: usize = 1024;

fn bad_json(r: JsonRejection, ctx: &RequestContext) -> ApiError {
    ApiError::new(r.status(), "invalid_request", r.body_text()).support(&ctx.support_code)
}

/// The password rules in force for one request: the stored policy and the indexed custom list
/// (cached across requests), borrowed as [`PasswordRules`].
pub(crate) struct RulesInForce {
    pub(crate) policy: PasswordPolicy,
    custom: std::sync::Arc<BannedList>,
    /// The brand in force (its organisation name counts as a banned term).
    brand: std::sync::Arc<sspr_core::Brand>,
}

impl RulesInForce {
    pub(crate) async fn load(state: &AppState, ctx: &RequestContext) -> Result<Self, ApiError> {
        let policy = state
            .store
            .password_policy()
            .await
            .map_err(|e| ApiError::from(e).support(&ctx.support_code))?;
        let custom = state.custom_banned.get(&policy);
        Ok(Self {
            policy,
            custom,
            brand: state.brand.current(),
        })
    }

    pub(crate) fn rules<'a>(&'a self, state: &'a AppState) -> PasswordRules<'a> {
        PasswordRules {
            policy: &self.policy,
            global: BannedList::global(),
            custom: &self.custom,
            breached: state.breached.as_ref(),
            organisation: &self.brand.organisation_name,
        }
    }
}

/// A candidate password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CheckRequest {
    password: String,
}

/// How guessable the candidate is (zxcvbn).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Strength {
    /// zxcvbn's 0 (too guessable) to 4 (very unguessable).
    score: u8,
    warning: Option<String>,
    suggestions: Vec<String>,
}

/// Whether the candidate would be accepted, each rule's verdict (`rule`, `passed`, `message`),
/// and its strength.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckResponse {
    accepted: bool,
    #[schema(value_type = Vec<Object>)]
    rules: Vec<RuleCheck>,
    strength: Strength,
}

/// `POST /api/v1/password/check`: which rules a candidate passes, and how strong it is. For a
/// signed-in user their names count; the answer never names a banned term.
#[utoipa::path(post, path = "/api/v1/password/check", tag = "password", request_body = CheckRequest,
    responses((status = 200, body = CheckResponse), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn check(
    State(state): State<AppState>,
    ctx: RequestContext,
    CurrentUser(user): CurrentUser,
    body: Result<Json<CheckRequest>, JsonRejection>,
) -> Result<Json<CheckResponse>, ApiError> {
    let Json(body) = body.map_err(|r| bad_json(r, &ctx))?;
    if body.password.len() > MAX_PASSWORD {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "A password has at most 256 characters.",
        )
        .support(&ctx.support_code));
    }
    let in_force = RulesInForce::load(&state, &ctx).await?;
    let mut rules = in_force
        .rules(&state)
        .explain(&body.password, user.as_ref());
    // The live feedback speaks the page's language (the request's cookie or Accept-Language).
    let english = ctx.locale == sspr_core::Locale::En;
    if !english {
        let min = in_force.policy.min_length.to_string();
        let max = sspr_core::policy::password::PasswordPolicy::MAX_LENGTH.to_string();
        for r in &mut rules {
            r.message = match &r.problem {
                Some(p) => crate::routes::pages::password_problem(&state, &ctx, p),
                None => state.templates.catalogue().format(
                    ctx.locale,
                    &format!("password.ok_{}", r.rule),
                    &[("min", &min), ("max", &max)],
                ),
            };
        }
    }
    let brand = state.brand.current();
    let mut inputs: Vec<&str> = vec![brand.organisation_name.as_str()];
    if let Some(u) = &user {
        inputs.push(u.username.as_str());
        inputs.push(u.display_name.as_str());
        inputs.extend(u.first_name.as_deref());
        inputs.extend(u.last_name.as_deref());
    }
    let estimate = zxcvbn::zxcvbn(&body.password, &inputs);
    let feedback = estimate.feedback();
    Ok(Json(CheckResponse {
        accepted: rules.iter().all(|r| r.passed),
        rules,
        strength: Strength {
            score: u8::from(estimate.score()),
            // zxcvbn's advice exists in English only: other languages get the score alone.
            warning: feedback
                .and_then(|f| f.warning())
                .filter(|_| english)
                .map(|w| w.to_string()),
            suggestions: feedback
                .filter(|_| english)
                .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
        },
    }))
}

/// The current password and the new one.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChangeRequest {
    current: String,
    new: String,
}

/// Maps a refused password to `422 password_policy` with one reason per broken rule.
pub fn policy_error(e: SetPasswordError, ctx: &RequestContext) -> ApiError {
    match e {
        SetPasswordError::Policy(problems) => {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "password_policy",
                "The new password does not meet the password policy.",
            );
            err.extra = Some(serde_json::json!({
                "reasons": problems
                    .iter()
                    .map(|p| serde_json::json!({"rule": p, "message": p.to_string()}))
                    .collect::<Vec<_>>(),
            }));
            err
        }
        SetPasswordError::DirectoryUser => ApiError::new(
            StatusCode::CONFLICT,
            "directory_user",
            "Your password is managed by your organisation's directory.",
        ),
        SetPasswordError::Hash(h) => ApiError::from(h),
        SetPasswordError::Store(s) => ApiError::from(s),
    }
    .support(&ctx.support_code)
}

/// Changes a signed-in user's password: the current one is checked like a sign-in (a wrong
/// one counts toward smart lockout), then every rule applies; on success every session of the
/// user is revoked and a fresh one is returned, so other devices are signed out.
pub async fn change_password(
    state: &AppState,
    ctx: &RequestContext,
    user: &User,
    current: &str,
    new: &str,
) -> Result<axum_extra::extract::cookie::Cookie<'static>, ApiError> {
    if new.len() > MAX_PASSWORD {
        return Err(policy_error(
            SetPasswordError::Policy(vec![
                sspr_core::policy::password::PasswordProblem::TooLong {
                    max: PasswordPolicy::MAX_LENGTH,
                },
            ]),
            ctx,
        ));
    }
    let user: User = match authenticate(state, ctx, user.username.as_str(), current).await? {
        SignInOutcome::Success(u) => *u,
        SignInOutcome::InvalidCredentials => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Your current password is not correct.",
            )
            .support(&ctx.support_code));
        }
        SignInOutcome::Locked { .. } => {
            return Err(ApiError::new(
                StatusCode::LOCKED,
                "locked",
                "Your account is temporarily locked to prevent unauthorized use. Try again later.",
            )
            .support(&ctx.support_code));
        }
    };
    let mut audit = AuditEvent::new(events::CHANGE_PASSWORD, Outcome::Success)
        .actor(user.username.as_str())
        .target(user.username.as_str());
    audit.client_ip = ctx.client_ip.map(|ip| ip.to_string());
    audit.user_agent = ctx.user_agent.clone();
    audit.correlation_id = Some(ctx.support_code.clone());
    let in_force = RulesInForce::load(state, ctx).await?;
    let rules = in_force.rules(state);
    if let Err(e) = set_password(
        state.store.as_ref(),
        state.hasher.as_ref(),
        &rules,
        &user,
        new,
        SetBy::SelfChange,
        &audit,
    )
    .await
    {
        if matches!(e, SetPasswordError::Policy(_)) {
            // Entra's failure reason for a refused password; the rules, never the password.
            let mut failed = audit.clone();
            failed.outcome = Outcome::Failure;
            failed.reason = Some("FuzzyPolicyViolationInvalidPassword".into());
            failed.details = serde_json::json!({ "rules": e.to_string() });
            let _ = state.store.append_audit(&failed).await;
        }
        return Err(policy_error(e, ctx));
    }
    state
        .store
        .revoke_user_sessions(user.id)
        .await
        .map_err(|e| ApiError::from(e).support(&ctx.support_code))?;
    session::start(state, &user)
        .await
        .map_err(|e| e.support(&ctx.support_code))
}

/// `POST /api/v1/me/password` `{current, new}`.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", request_body = ChangeRequest,
    responses((status = 200, body = PasswordChangedDoc), (status = 400, body = Problem),
        (status = 401, body = Problem, description = "not_signed_in, or a wrong current password (counted toward lockout)"),
        (status = 409, body = Problem), (status = 422, body = Problem, description = "password_policy, with the reasons"),
        (status = 423, body = Problem), (status = 503, body = Problem)), security(("session" = [])))]
pub async fn change(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    CurrentUser(user): CurrentUser,
    body: Result<Json<ChangeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Some(user) = user else {
        return Err(
            ApiError::new(StatusCode::UNAUTHORIZED, "not_signed_in", "Sign in first.")
                .support(&ctx.support_code),
        );
    };
    let Json(body) = body.map_err(|r| bad_json(r, &ctx))?;
    let cookie = change_password(&state, &ctx, &user, &body.current, &body.new).await?;
    Ok((
        jar.add(cookie),
        Json(serde_json::json!({"status": "changed"})),
    )
        .into_response())
}

/// `GET /api/v1/admin/password-policy` (any admin role).
#[utoipa::path(get, path = "/api/v1/admin/password-policy", tag = "admin",
    responses((status = 200, body = PasswordPolicyDoc), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn get_policy(
    State(state): State<AppState>,
    auth: AdminAuth,
) -> Result<Json<PasswordPolicy>, ApiError> {
    auth.require(AdminAction::ReadSettings)?;
    Ok(Json(
        state
            .store
            .password_policy()
            .await
            .map_err(|e| auth.support(e))?,
    ))
}

/// `PUT /api/v1/admin/password-policy` (global administrators): the whole policy, custom
/// banned terms included; every bad field is reported, nothing is stored unless all are good.
#[utoipa::path(put, path = "/api/v1/admin/password-policy", tag = "admin", request_body = PasswordPolicyDoc,
    responses((status = 200, body = PasswordPolicyDoc), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn put_policy(
    State(state): State<AppState>,
    auth: AdminAuth,
    body: Result<Json<PasswordPolicy>, JsonRejection>,
) -> Result<Json<PasswordPolicy>, ApiError> {
    auth.require(AdminAction::ChangeSettings)?;
    let ctx = &auth.ctx;
    let Json(policy) = body.map_err(|r| bad_json(r, ctx))?;
    match update_password_policy(state.store.as_ref(), &policy, &auth.caller.actor).await {
        Ok(_) => Ok(Json(
            state
                .store
                .password_policy()
                .await
                .map_err(|e| auth.support(e))?,
        )),
        Err(PasswordPolicyUpdateError::Invalid(errors)) => {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_policy",
                "Some settings are not valid; nothing was changed.",
            );
            e.extra = Some(serde_json::json!({ "fields": errors }));
            Err(e.support(&ctx.support_code))
        }
        Err(PasswordPolicyUpdateError::Store(s)) => {
            Err(ApiError::from(s).support(&ctx.support_code))
        }
    }
}
