//! The pages of the foundation: home, sign-in, "my account" and sign-out.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::{Value, context};
use serde::Deserialize;
use sspr_core::policy::eligibility::{NotEligible, Registration};
use sspr_core::service::eligibility::{evaluate, prepopulated_methods};
use sspr_core::service::signin::SignInOutcome;

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_session::{authenticate, registration_status};
use crate::session::{self, CurrentUser};

pub(crate) fn render(
    state: &AppState,
    ctx: &RequestContext,
    status: StatusCode,
    name: &str,
    vars: Value,
) -> Response {
    let base = context! { org => state.settings.organisation_name.clone(), support_code => ctx.support_code.clone() };
    match state.templates.render(name, context! { ..vars, ..base }) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => ApiError::internal(&e)
            .support(&ctx.support_code)
            .into_response(),
    }
}

/// An error shown as a page rather than JSON.
pub(crate) fn error_page(state: &AppState, ctx: &RequestContext, e: ApiError) -> Response {
    let retry = e.retry_after;
    let title = if e.status.is_server_error() {
        "Please try again"
    } else {
        "Something is not right"
    };
    let mut res = render(
        state,
        ctx,
        e.status,
        "error.html",
        context! { title => title, message => e.message },
    );
    if let Some(secs) = retry {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

pub async fn home(State(state): State<AppState>, ctx: RequestContext) -> Response {
    render(&state, &ctx, StatusCode::OK, "home.html", context! {})
}

pub async fn signin_form(State(state): State<AppState>, ctx: RequestContext) -> Response {
    render(&state, &ctx, StatusCode::OK, "signin.html", context! {})
}

#[derive(Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
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
    match outcome {
        SignInOutcome::Success(user) => {
            // "Keep your account secure" when registration or re-confirmation is due.
            let next = match registration_status(&state, &user).await {
                Ok("ok") => "/me",
                Ok(_) => "/register",
                Err(e) => return error_page(&state, &ctx, e.support(&ctx.support_code)),
            };
            match session::start(&state, &user).await {
                Ok(cookie) => (jar.add(cookie), Redirect::to(next)).into_response(),
                Err(e) => error_page(&state, &ctx, e),
            }
        }
        SignInOutcome::InvalidCredentials => render(
            &state,
            &ctx,
            StatusCode::UNAUTHORIZED,
            "signin.html",
            context! { error => "Incorrect username or password.", username => username },
        ),
        SignInOutcome::Locked { .. } => render(
            &state,
            &ctx,
            StatusCode::LOCKED,
            "signin.html",
            context! {
                error => "Your account is temporarily locked to prevent unauthorized use. Try again later, and if you still have trouble, contact your administrator.",
                username => username,
            },
        ),
    }
}

pub async fn signout(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
) -> Response {
    match session::end(&state, &jar).await {
        Ok(cookie) => (jar.add(cookie), Redirect::to("/")).into_response(),
        Err(e) => error_page(&state, &ctx, e),
    }
}

pub async fn me(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    match user {
        Ok(CurrentUser(Some(u))) => render_me(&state, &ctx, &u, StatusCode::OK, None, &[]).await,
        Ok(CurrentUser(None)) => Redirect::to("/signin").into_response(),
        Err(e) => error_page(&state, &ctx, e),
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    current: String,
    new: String,
    confirm: String,
}

/// `POST /me/password`: the change-password form (works without JavaScript; with it, the
/// page shows each rule's state while the user types).
pub async fn change_password(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    user: Result<CurrentUser, ApiError>,
    Form(form): Form<ChangeForm>,
) -> Response {
    let user = match user {
        Ok(CurrentUser(Some(u))) => u,
        Ok(CurrentUser(None)) => return Redirect::to("/signin").into_response(),
        Err(e) => return error_page(&state, &ctx, e),
    };
    if form.new != form.confirm {
        let errors = ["The new password and its confirmation differ.".to_owned()];
        return render_me(
            &state,
            &ctx,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            &errors,
        )
        .await;
    }
    match crate::routes::api_password::change_password(
        &state,
        &ctx,
        &user,
        &form.current,
        &form.new,
    )
    .await
    {
        Ok(cookie) => {
            let page = render_me(
                &state,
                &ctx,
                &user,
                StatusCode::OK,
                Some("Your password was changed. Other devices were signed out."),
                &[],
            )
            .await;
            (jar.add(cookie), page).into_response()
        }
        Err(e) if e.status.is_client_error() => {
            let mut errors = vec![e.message.clone()];
            if let Some(reasons) = e.extra.as_ref().and_then(|x| x["reasons"].as_array()) {
                errors = reasons
                    .iter()
                    .filter_map(|r| r["message"].as_str())
                    .map(|m| {
                        let mut c = m.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect::<String>() + ".")
                            .unwrap_or_default()
                    })
                    .collect();
            }
            render_me(&state, &ctx, &user, e.status, None, &errors).await
        }
        Err(e) => error_page(&state, &ctx, e),
    }
}

async fn render_me(
    state: &AppState,
    ctx: &RequestContext,
    user: &sspr_core::User,
    code: StatusCode,
    notice: Option<&str>,
    errors: &[String],
) -> Response {
    let now = state.clock.now();
    let status = match evaluate(state.store.as_ref(), user, now).await {
        Ok(Ok(e)) => match e.registration {
            Registration::Registered => format!(
                "Enabled. You are registered: a reset needs {} verification method{}.",
                e.required,
                if e.required == 1 { "" } else { "s" }
            ),
            Registration::ReconfirmDue => {
                "Enabled. Please review and confirm your security info.".to_owned()
            }
            Registration::Required => format!(
                "Enabled, but you need to register {} verification method{} before you can use it.",
                e.required,
                if e.required == 1 { "" } else { "s" }
            ),
        },
        Ok(Err(NotEligible::AdminSsprOff)) => {
            "Not available for administrator accounts here.".to_owned()
        }
        Ok(Err(_)) => "Not enabled for your account. Contact your administrator.".to_owned(),
        Err(e) => return error_page(state, ctx, ApiError::from(e).support(&ctx.support_code)),
    };
    let mut methods: Vec<String> = Vec::new();
    for m in prepopulated_methods(user) {
        let hint = match m {
            sspr_core::MethodType::Email => user
                .email
                .as_ref()
                .or(user.alternate_email.as_ref())
                .map(|e| e.masked()),
            sspr_core::MethodType::MobileSms | sspr_core::MethodType::MobileVoice => {
                user.mobile_phone.as_ref().map(|p| p.masked())
            }
            sspr_core::MethodType::OfficeVoice => user.office_phone.as_ref().map(|p| p.masked()),
            _ => None,
        };
        methods.push(format!(
            "{}: {}",
            m.as_str().replace('_', " "),
            hint.unwrap_or_default()
        ));
    }
    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
    render(
        state,
        ctx,
        code,
        "me.html",
        context! {
            display_name => user.display_name.as_str(),
            username => user.username.as_str(),
            roles => roles,
            sspr_status => status,
            methods => methods,
            can_change_password => user.source == sspr_core::UserSource::Cloud && user.password_hash.is_some(),
            notice => notice,
            errors => errors.to_vec(),
        },
    )
}
