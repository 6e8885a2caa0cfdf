//! Who is calling an admin route: a signed-in administrator (the session cookie) or a script
//! with an API token (`Authorization: Bearer sspr_…`). Every admin handler takes an
//! [`AdminAuth`] and asks it for the one action it performs (`service::admin_access`), so the
//! roles table is enforced in one place for both kinds of caller.
//!
//! A bearer token is not sent by browsers on their own, so token requests need no CSRF
//! defence; cookie requests keep the CSRF layer's Origin / Sec-Fetch-Site check.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sspr_core::ports::ApiToken;
use sspr_core::service::admin_access::AdminAction;
use sspr_core::service::admin_users::{AdminCaller, AdminError};
use sspr_core::service::api_tokens;
use sspr_core::{User, UserId};

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::session::CurrentUser;

/// The acting identity.
#[derive(Debug, Clone)]
pub enum Principal {
    User(Box<User>),
    Token(ApiToken),
}

/// An authenticated admin caller (any admin role; each route then demands its action).
#[derive(Debug, Clone)]
pub struct AdminAuth {
    pub principal: Principal,
    pub caller: AdminCaller,
    pub ctx: RequestContext,
}

/// 401 for a missing or unusable credential. The JSON `error` is `unauthenticated`; the
/// `WWW-Authenticate` header tells a script that a bearer token is expected.
pub struct Unauthenticated(ApiError);

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        let mut res = self.0.into_response();
        res.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        res
    }
}

fn unauthenticated(ctx: &RequestContext, message: &str) -> Response {
    Unauthenticated(
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
            .support(&ctx.support_code),
    )
    .into_response()
}

pub fn forbidden(ctx: &RequestContext, message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).support(&ctx.support_code)
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx = RequestContext::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let caller = |actor: String, roles| AdminCaller {
            actor,
            roles,
            client_ip: ctx.client_ip.map(|ip| ip.to_string()),
            user_agent: ctx.user_agent.clone(),
            correlation_id: Some(ctx.support_code.clone()),
        };
        if let Some(header) = parts.headers.get(AUTHORIZATION) {
            // A request that names a credential is judged by it alone: a bad token is not
            // rescued by a cookie that happens to ride along.
            let raw = header.to_str().unwrap_or("");
            let Some(token) = raw
                .strip_prefix("Bearer ")
                .or_else(|| raw.strip_prefix("bearer "))
            else {
                return Err(unauthenticated(
                    &ctx,
                    "Use `Authorization: Bearer <api token>`.",
                ));
            };
            let now = state.clock.now();
            let token = api_tokens::authenticate(state.store.as_ref(), token.trim(), now)
                .await
                .map_err(|e| ApiError::from(e).support(&ctx.support_code).into_response())?;
            let Some(token) = token else {
                return Err(unauthenticated(
                    &ctx,
                    "The API token is not valid (unknown, revoked or expired).",
                ));
            };
            let caller = caller(api_tokens::actor_of(&token), [token.role].into());
            return Ok(Self {
                principal: Principal::Token(token),
                caller,
                ctx,
            });
        }
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state)
            .await
            .map_err(|e| e.support(&ctx.support_code).into_response())?;
        let Some(user) = user else {
            return Err(unauthenticated(
                &ctx,
                "Sign in as an administrator or send an API token.",
            ));
        };
        if !user.is_admin() {
            return Err(forbidden(&ctx, "Your account is not an administrator.").into_response());
        }
        let caller = caller(user.username.as_str().to_owned(), user.roles.clone());
        Ok(Self {
            principal: Principal::User(Box::new(user)),
            caller,
            ctx,
        })
    }
}

impl AdminAuth {
    /// Refuses (403) an action none of the caller's roles grants.
    pub fn require(&self, action: AdminAction) -> Result<(), ApiError> {
        self.caller.check(action).map_err(|e| self.admin_error(e))
    }

    /// The signed-in administrator's own id (none for a token).
    pub fn user_id(&self) -> Option<UserId> {
        match &self.principal {
            Principal::User(u) => Some(u.id),
            Principal::Token(_) => None,
        }
    }

    pub fn support(&self, e: impl Into<ApiError>) -> ApiError {
        e.into().support(&self.ctx.support_code)
    }

    /// The JSON problem for an error of an admin use case.
    pub fn admin_error(&self, e: AdminError) -> ApiError {
        admin_problem(&self.ctx, e)
    }
}

/// The problem (status, code, message) for an error of an admin use case: what the API
/// answers and what the portal's pages show.
pub fn admin_problem(ctx: &RequestContext, e: AdminError) -> ApiError {
    {
        let err = match e {
            AdminError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            AdminError::Invalid(fields) => {
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request",
                    "Some fields are not valid; nothing was changed.",
                );
                err.extra = Some(serde_json::json!({ "fields": fields }));
                err
            }
            AdminError::DirectoryOwned(m) => {
                ApiError::new(StatusCode::CONFLICT, "directory_user", m)
            }
            AdminError::Policy(problems) => {
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
            AdminError::Directory(d) => match d {
                sspr_core::ports::DirectoryError::Rejected { .. } => {
                    let mut err = ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "password_policy",
                        "The directory refused the new password.",
                    );
                    err.extra = Some(serde_json::json!({
                        "reasons": [{"rule": "directory", "message": d.to_string()}],
                    }));
                    err
                }
                other => ApiError::directory(&other),
            },
            AdminError::NoDirectory => ApiError::new(
                StatusCode::CONFLICT,
                "no_directory",
                "This user lives in an on-premises directory that sspr is not connected to.",
            ),
            AdminError::Hash(h) => ApiError::from(h),
            AdminError::Store(s) => ApiError::from(s),
        };
        err.support(&ctx.support_code)
    }
}
