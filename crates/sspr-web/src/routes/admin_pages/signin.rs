//! `GET|POST /admin/signin`: the portal's own sign-in. The same credentials check as every
//! sign-in (smart lockout, neutral failures), but a session is only started for a user who
//! holds an admin role, and there is no registration interrupt in between: an administrator
//! who must register is sent there by the self-service sign-in, not by the portal.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::context;
use sspr_core::service::signin::SignInOutcome;

use crate::AppState;
use crate::middleware::RequestContext;
use crate::routes::api_session::authenticate;
use crate::routes::pages::{SignInForm, error_page, render, tr};
use crate::session;

pub async fn signin_form(State(state): State<AppState>, ctx: RequestContext) -> Response {
    render(
        &state,
        &ctx,
        StatusCode::OK,
        "signin.html",
        context! { admin => true },
    )
}

pub async fn signin_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    let outcome = match authenticate(&state, &ctx, &form.username, &form.password).await {
        Ok(o) => o,
        Err(e) => return error_page(&state, &ctx, e),
    };
    let username: String = form.username.chars().take(256).collect();
    let refuse = |status: StatusCode, key: &str| {
        render(
            &state,
            &ctx,
            status,
            "signin.html",
            context! { admin => true, error => tr(&state, &ctx, key), username => username.clone() },
        )
    };
    match outcome {
        SignInOutcome::Success(user) if !user.roles.is_empty() => {
            match session::start(&state, &user).await {
                Ok(cookie) => (jar.add(cookie), Redirect::to("/admin")).into_response(),
                Err(e) => error_page(&state, &ctx, e),
            }
        }
        // The password was right, so saying why is no oracle.
        SignInOutcome::Success(_) => refuse(StatusCode::FORBIDDEN, "admin.not_admin"),
        SignInOutcome::InvalidCredentials => {
            refuse(StatusCode::UNAUTHORIZED, "signin.bad_credentials")
        }
        SignInOutcome::Locked { .. } => refuse(StatusCode::LOCKED, "signin.locked"),
    }
}
