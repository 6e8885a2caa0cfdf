//! The pages of the foundation: home, sign-in, "my account" and sign-out.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::{Value, context};
use serde::Deserialize;
use sspr_core::policy::eligibility::{NotEligible, Registration};
use sspr_core::policy::password::PasswordProblem;
use sspr_core::service::eligibility::evaluate;
use sspr_core::service::signin::SignInOutcome;
use sspr_core::{Locale, MethodType};

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
    let languages: Vec<Value> = Locale::ALL
        .iter()
        .map(|l| context! { code => l.as_str(), name => l.native_name() })
        .collect();
    let brand = state.brand.current();
    let base = context! {
        org => brand.organisation_name.clone(),
        brand_logo => brand.logo_url.clone(),
        brand_colour => brand.colour.clone(),
        support_code => ctx.support_code.clone(),
        lang => ctx.locale.as_str(),
        languages => languages,
    };
    match state.templates.render(name, context! { ..vars, ..base }) {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            // `?lng=` chose a language: remember it for the next pages.
            if let Some(chosen) = ctx.chosen_locale {
                let cookie = format!(
                    "{}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
                    crate::i18n::LANG_COOKIE,
                    chosen.as_str(),
                    if state.settings.https() {
                        "; Secure"
                    } else {
                        ""
                    }
                );
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Err(e) => ApiError::internal(&e)
            .support(&ctx.support_code)
            .into_response(),
    }
}

/// A text of the pages in the request's language.
pub(crate) fn tr(state: &AppState, ctx: &RequestContext, key: &str) -> String {
    state.templates.catalogue().text(ctx.locale, key).to_owned()
}

/// A text with its `{placeholders}` filled in.
pub(crate) fn trf(
    state: &AppState,
    ctx: &RequestContext,
    key: &str,
    args: &[(&str, &str)],
) -> String {
    state.templates.catalogue().format(ctx.locale, key, args)
}

/// The message of an API error as a page shows it: the catalogue's text for its code in the
/// request's language when there is one, else the error's own message.
pub(crate) fn error_message(state: &AppState, ctx: &RequestContext, e: &ApiError) -> String {
    let key = format!("error.{}", e.code);
    let catalogue = state.templates.catalogue();
    if catalogue.has(Locale::En, &key) {
        catalogue.text(ctx.locale, &key).to_owned()
    } else {
        e.message.clone()
    }
}

/// An error shown as a page rather than JSON.
pub(crate) fn error_page(state: &AppState, ctx: &RequestContext, e: ApiError) -> Response {
    let retry = e.retry_after;
    let title = if e.status.is_server_error() {
        tr(state, ctx, "error.title_server")
    } else {
        tr(state, ctx, "error.title_client")
    };
    let message = error_message(state, ctx, &e);
    let mut res = render(
        state,
        ctx,
        e.status,
        "error.html",
        context! { title => title, message => message },
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

/// The sign-in form, of the self-service and the portal sign-in pages alike.
#[derive(Deserialize)]
pub struct SignInForm {
    pub(crate) username: String,
    pub(crate) password: String,
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
            context! { error => tr(&state, &ctx, "signin.bad_credentials"), username => username },
        ),
        SignInOutcome::Locked { .. } => render(
            &state,
            &ctx,
            StatusCode::LOCKED,
            "signin.html",
            context! {
                error => tr(&state, &ctx, "signin.locked"),
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
        let errors = [tr(&state, &ctx, "me.mismatch")];
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
                Some(&tr(&state, &ctx, "me.changed")),
                &[],
            )
            .await;
            (jar.add(cookie), page).into_response()
        }
        Err(e) if e.status.is_client_error() => {
            let first = match e.code {
                "invalid_credentials" => tr(&state, &ctx, "password.wrong_current"),
                "locked" => tr(&state, &ctx, "signin.locked"),
                _ => error_message(&state, &ctx, &e),
            };
            let mut errors = vec![first];
            if let Some(reasons) = e.extra.as_ref().and_then(|x| x["reasons"].as_array()) {
                errors = reasons
                    .iter()
                    .filter_map(|r| {
                        serde_json::from_value::<PasswordProblem>(r["rule"].clone()).ok()
                    })
                    .map(|p| password_problem(&state, &ctx, &p))
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
            Registration::Registered => plural(state, ctx, "me.status_registered", e.required),
            Registration::ReconfirmDue => tr(state, ctx, "me.status_reconfirm"),
            Registration::Required => plural(state, ctx, "me.status_required", e.required),
        },
        Ok(Err(NotEligible::AdminSsprOff)) => tr(state, ctx, "me.status_admin_off"),
        Ok(Err(_)) => tr(state, ctx, "me.status_not_enabled"),
        Err(e) => return error_page(state, ctx, ApiError::from(e).support(&ctx.support_code)),
    };
    // Every method on file: what the user registered and what the organisation put on the
    // profile, as the security-info page lists them.
    let methods = match crate::routes::api_me::security_info(state).list(user).await {
        Ok(m) => m,
        Err(e) => {
            let err = crate::routes::api_me::api_error(e, state);
            return error_page(state, ctx, err.support(&ctx.support_code));
        }
    };
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
            methods => minijinja::value::Serde(&methods),
            labels => method_labels(state, ctx),
            can_change_password => user.source == sspr_core::UserSource::Cloud && user.password_hash.is_some(),
            notice => notice,
            errors => errors.to_vec(),
        },
    )
}

/// "… 1 method" or "… {count} methods": the catalogue has `_one` and `_other` forms.
pub(crate) fn plural(state: &AppState, ctx: &RequestContext, key: &str, count: u8) -> String {
    if count == 1 {
        tr(state, ctx, &format!("{key}_one"))
    } else {
        trf(
            state,
            ctx,
            &format!("{key}_other"),
            &[("count", &count.to_string())],
        )
    }
}

/// The names of the methods in the request's language, by their API names.
pub(crate) fn method_labels(
    state: &AppState,
    ctx: &RequestContext,
) -> std::collections::BTreeMap<&'static str, String> {
    MethodType::ALL
        .into_iter()
        .map(|m| {
            (
                m.as_str(),
                tr(state, ctx, &format!("methods.{}", m.as_str())),
            )
        })
        .collect()
}

/// Why a password was refused, in the request's language.
pub(crate) fn password_problem(
    state: &AppState,
    ctx: &RequestContext,
    p: &PasswordProblem,
) -> String {
    match p {
        PasswordProblem::TooShort { min } => trf(
            state,
            ctx,
            "password.too_short",
            &[("min", &min.to_string())],
        ),
        PasswordProblem::TooLong { max } => trf(
            state,
            ctx,
            "password.too_long",
            &[("max", &max.to_string())],
        ),
        PasswordProblem::DisallowedCharacter => tr(state, ctx, "password.disallowed_character"),
        PasswordProblem::TooFewClasses => tr(state, ctx, "password.too_few_classes"),
        PasswordProblem::Reused => tr(state, ctx, "password.reused"),
        PasswordProblem::SameAsCurrent => tr(state, ctx, "password.same_as_current"),
        PasswordProblem::EasilyGuessed => tr(state, ctx, "password.easily_guessed"),
        PasswordProblem::BlockedByAdministrator => {
            tr(state, ctx, "password.blocked_by_administrator")
        }
        PasswordProblem::Breached => tr(state, ctx, "password.breached"),
    }
}
