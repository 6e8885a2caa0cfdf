//! The pages of "my security info" and the registration interrupt (SPEC §6). They work
//! without JavaScript (except passkeys): every action is a form POST answered with a page.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use sspr_core::methods::questions;
use sspr_core::service::security_info::{
    Interrupt, SecurityInfoError, TotpEnrolment, allowed_methods,
};
use sspr_core::{Locale, MethodId, MethodType, User};

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_me::{api_error, caller, security_info};
use crate::routes::pages::{error_message, error_page, method_labels, render, tr, trf};
use crate::session::CurrentUser;

/// The signed-in user, or a redirect to sign in.
fn user_or_redirect(
    state: &AppState,
    ctx: &RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Result<User, Box<Response>> {
    match user {
        Ok(CurrentUser(Some(u))) => Ok(u),
        Ok(CurrentUser(None)) => Err(Box::new(Redirect::to("/signin").into_response())),
        Err(e) => Err(Box::new(error_page(state, ctx, e))),
    }
}

/// A use-case error as messages on the page it came from, or an error page.
fn messages(
    e: SecurityInfoError,
    state: &AppState,
    ctx: &RequestContext,
) -> Result<(StatusCode, Vec<String>), ApiError> {
    let err = api_error(e, state);
    if err.status.is_server_error() || err.status == StatusCode::UNAUTHORIZED {
        return Err(err);
    }
    let mut list = Vec::new();
    if let Some(errors) = err.extra.as_ref().and_then(|x| x["errors"].as_array()) {
        for e in errors {
            // English pages show the precise reason; translations a short text per field
            // (the reasons come from the domain, in English).
            if ctx.locale == Locale::En {
                list.extend(e["message"].as_str().map(sentence));
            } else {
                let field = if e.get("index").is_some() {
                    "answers"
                } else {
                    e["field"].as_str().unwrap_or("")
                };
                let text = tr(state, ctx, &format!("field.{field}"));
                if !list.contains(&text) {
                    list.push(text);
                }
            }
        }
    }
    if list.is_empty() {
        list.push(error_message(state, ctx, &err));
    }
    Ok((err.status, list))
}

fn sentence(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(f) => {
            let s: String = f.to_uppercase().chain(c).collect();
            if s.ends_with('.') { s } else { s + "." }
        }
        None => String::new(),
    }
}

struct PageState<'a> {
    status: StatusCode,
    notice: Option<String>,
    errors: Vec<String>,
    enrol: Option<(MethodId, &'a TotpEnrolment)>,
    back: &'a str,
}

async fn render_info(
    state: &AppState,
    ctx: &RequestContext,
    user: &User,
    page: PageState<'_>,
) -> Response {
    let service = security_info(state);
    let methods = match service.list(user).await {
        Ok(m) => m,
        Err(e) => return error_page(state, ctx, api_error(e, state).support(&ctx.support_code)),
    };
    let policy = match state.store.policy().await {
        Ok(p) => p,
        Err(e) => return error_page(state, ctx, ApiError::from(e).support(&ctx.support_code)),
    };
    let allowed: Vec<&str> = allowed_methods(&policy, user)
        .into_iter()
        // Passkeys need a relying party (a host name in the public base URL).
        .filter(|m| *m != MethodType::Passkey || state.passkeys.is_some())
        .map(|m| m.as_str())
        .collect();
    let phone_kinds: Vec<&str> = allowed
        .iter()
        .copied()
        .filter(|m| ["mobile_sms", "mobile_voice", "office_voice"].contains(m))
        .collect();
    let has_questions = methods
        .iter()
        .any(|m| m.kind == MethodType::SecurityQuestions && m.verified);
    let enrol = page.enrol.map(|(id, e)| {
        context! { id => id.to_string(), secret => e.secret.clone(), qr_svg => e.qr_svg.clone() }
    });
    render(
        state,
        ctx,
        page.status,
        "security_info.html",
        context! {
            methods => minijinja::value::Serde(&methods),
            labels => method_labels(state, ctx),
            allowed => allowed,
            phone_kinds => phone_kinds,
            has_questions => has_questions,
            notice => page.notice,
            errors => page.errors,
            enrol => enrol,
            back => page.back,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct InfoQuery {
    from: Option<String>,
    /// Set by passkey.js after it added a passkey (the page itself did not post).
    added: Option<String>,
}

fn back_to(from: Option<&str>) -> &'static str {
    if from == Some("register") {
        "/register"
    } else {
        "/me"
    }
}

pub async fn info(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<InfoQuery>,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    render_info(
        &state,
        &ctx,
        &user,
        PageState {
            status: StatusCode::OK,
            notice: (q.added.as_deref() == Some("passkey"))
                .then(|| tr(&state, &ctx, "info.passkey_added")),
            errors: vec![],
            enrol: None,
            back: back_to(q.from.as_deref()),
        },
    )
    .await
}

/// Re-renders the page after an action: its notice on success, its messages on failure.
async fn after(
    state: &AppState,
    ctx: &RequestContext,
    user: &User,
    result: Result<String, SecurityInfoError>,
) -> Response {
    let (status, notice, errors) = match result {
        Ok(n) => (StatusCode::OK, Some(n), vec![]),
        Err(e) => match messages(e, state, ctx) {
            Ok((s, list)) => (s, None, list),
            Err(err) => return error_page(state, ctx, err.support(&ctx.support_code)),
        },
    };
    render_info(
        state,
        ctx,
        user,
        PageState {
            status,
            notice,
            errors,
            enrol: None,
            back: "/me",
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct EmailForm {
    address: String,
}

pub async fn add_email(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
    Form(form): Form<EmailForm>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let caller = caller(&ctx, ctx.locale);
    let result = security_info(&state)
        .add_email(&user, &form.address, &caller)
        .await
        .map(|a| trf(&state, &ctx, "info.sent_email", &[("hint", &a.method.hint)]));
    after(&state, &ctx, &user, result).await
}

#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(rename = "type")]
    kind: String,
    number: String,
}

pub async fn add_phone(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
    Form(form): Form<PhoneForm>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let caller = caller(&ctx, ctx.locale);
    let result = match MethodType::parse(&form.kind) {
        Ok(kind) => security_info(&state)
            .add_phone(&user, kind, &form.number, &caller)
            .await
            .map(|a| trf(&state, &ctx, "info.sent_phone", &[("hint", &a.method.hint)])),
        Err(e) => Err(SecurityInfoError::Field {
            field: "type",
            message: e.to_string(),
        }),
    };
    after(&state, &ctx, &user, result).await
}

pub async fn add_authenticator(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let caller = caller(&ctx, ctx.locale);
    match security_info(&state)
        .add_authenticator(&user, &caller)
        .await
    {
        Ok(added) => {
            let Some(enrol) = added.totp.as_ref() else {
                return after(&state, &ctx, &user, Ok(String::new())).await;
            };
            let id = MethodId::parse(&added.method.id).unwrap_or_default();
            render_info(
                &state,
                &ctx,
                &user,
                PageState {
                    status: StatusCode::OK,
                    notice: None,
                    errors: vec![],
                    enrol: Some((id, enrol)),
                    back: "/me",
                },
            )
            .await
        }
        Err(e) => after(&state, &ctx, &user, Err(e)).await,
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn verify(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    user: Result<CurrentUser, ApiError>,
    Form(form): Form<CodeForm>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let caller = caller(&ctx, ctx.locale);
    let result = match MethodId::parse(&id) {
        Some(id) => security_info(&state)
            .verify(&user, id, &form.code, &caller)
            .await
            .map(|m| trf(&state, &ctx, "info.verified_notice", &[("hint", &m.hint)])),
        None => Err(SecurityInfoError::NotFound),
    };
    after(&state, &ctx, &user, result).await
}

pub async fn resend(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let caller = caller(&ctx, ctx.locale);
    let result = match MethodId::parse(&id) {
        Some(id) => security_info(&state)
            .resend(&user, id, &caller)
            .await
            .map(|()| tr(&state, &ctx, "info.resent")),
        None => Err(SecurityInfoError::NotFound),
    };
    after(&state, &ctx, &user, result).await
}

pub async fn remove(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let caller = caller(&ctx, ctx.locale);
    let result = match MethodId::parse(&id) {
        Some(id) => security_info(&state)
            .remove(&user, id, &caller)
            .await
            .map(|()| tr(&state, &ctx, "info.removed")),
        None => Err(SecurityInfoError::NotFound),
    };
    after(&state, &ctx, &user, result).await
}

async fn render_questions(
    state: &AppState,
    ctx: &RequestContext,
    lang: Locale,
    status: StatusCode,
    chosen: Vec<String>,
    errors: Vec<String>,
) -> Response {
    let policy = match state.store.policy().await {
        Ok(p) => p,
        Err(e) => return error_page(state, ctx, ApiError::from(e).support(&ctx.support_code)),
    };
    let list: Vec<_> = questions::catalogue(lang, &policy.custom_questions)
        .into_iter()
        .map(|(id, text)| context! { id => id.as_str().to_owned(), text => text })
        .collect();
    let required = usize::from(policy.questions_to_register);
    let mut chosen = chosen;
    chosen.resize(required, String::new());
    render(
        state,
        ctx,
        status,
        "questions.html",
        context! { required => required, questions => list, chosen => chosen, errors => errors },
    )
}

pub async fn questions_form(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    if let Err(r) = user_or_redirect(&state, &ctx, user) {
        return *r;
    }
    render_questions(&state, &ctx, ctx.locale, StatusCode::OK, vec![], vec![]).await
}

/// The form posts `q0`, `a0`, `q1`, `a1`, …
pub async fn questions_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let lang = ctx.locale;
    let mut answers = Vec::new();
    for i in 0..5 {
        if let (Some(q), Some(a)) = (form.get(&format!("q{i}")), form.get(&format!("a{i}"))) {
            answers.push((q.clone(), a.clone()));
        }
    }
    let chosen: Vec<String> = answers.iter().map(|(q, _)| q.clone()).collect();
    match security_info(&state)
        .set_questions(&user, &answers, &caller(&ctx, lang))
        .await
    {
        Ok(()) => {
            after(
                &state,
                &ctx,
                &user,
                Ok(tr(&state, &ctx, "info.questions_saved")),
            )
            .await
        }
        Err(e) => match messages(e, &state, &ctx) {
            Ok((status, list)) => render_questions(&state, &ctx, lang, status, chosen, list).await,
            Err(err) => error_page(&state, &ctx, err.support(&ctx.support_code)),
        },
    }
}

/// "Keep your account secure": the registration interrupt after sign-in.
pub async fn register(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    render_register(&state, &ctx, &user, StatusCode::OK, vec![]).await
}

async fn render_register(
    state: &AppState,
    ctx: &RequestContext,
    user: &User,
    status: StatusCode,
    errors: Vec<String>,
) -> Response {
    let service = security_info(state);
    let loaded = async {
        let interrupt = service.interrupt(user).await?;
        let methods = service.list(user).await?;
        let eligibility = service.eligibility(user).await?;
        Ok::<_, SecurityInfoError>((interrupt, methods, eligibility))
    }
    .await;
    let (interrupt, methods, eligibility) = match loaded {
        Ok(x) => x,
        Err(e) => return error_page(state, ctx, api_error(e, state).support(&ctx.support_code)),
    };
    let (mode, skip_until) = match interrupt {
        Interrupt::None => return Redirect::to("/me").into_response(),
        Interrupt::Register { skip_until } => ("register", skip_until),
        Interrupt::Reconfirm { skip_until } => ("reconfirm", skip_until),
    };
    let (required, registered) = match &eligibility {
        Ok(e) => (usize::from(e.required), e.usable.len()),
        Err(_) => (0, 0),
    };
    // A date, not a moment: the window ends at the start of that day or later.
    let skip_until = skip_until.map(|t| t.date().to_string());
    render(
        state,
        ctx,
        status,
        "register.html",
        context! {
            mode => mode,
            required => required,
            registered => registered,
            methods => minijinja::value::Serde(&methods),
            labels => method_labels(state, ctx),
            skip_until => skip_until,
            errors => errors,
        },
    )
}

pub async fn register_confirm(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let caller = caller(&ctx, ctx.locale);
    match security_info(&state).confirm(&user, &caller).await {
        Ok(()) => Redirect::to("/me").into_response(),
        Err(e) => match messages(e, &state, &ctx) {
            Ok((status, list)) => render_register(&state, &ctx, &user, status, list).await,
            Err(err) => error_page(&state, &ctx, err.support(&ctx.support_code)),
        },
    }
}

pub async fn register_skip(
    State(state): State<AppState>,
    ctx: RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let user = match user_or_redirect(&state, &ctx, user) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let caller = caller(&ctx, ctx.locale);
    match security_info(&state).skip(&user, &caller).await {
        Ok(()) => Redirect::to("/me").into_response(),
        Err(e) => match messages(e, &state, &ctx) {
            Ok((status, list)) => render_register(&state, &ctx, &user, status, list).await,
            Err(err) => error_page(&state, &ctx, err.support(&ctx.support_code)),
        },
    }
}
