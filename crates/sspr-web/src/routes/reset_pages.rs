//! The pages of the reset and unlock flow (SPEC §5, §9): identify, verify, act. They work
//! without JavaScript except for the proof of work (the ALTCHA widget) and passkeys: every
//! step is a form POST answered with a page or a redirect.
//!
//! The same use case as the JSON API (`api_reset`), with its rules: the flow is bound to the
//! cookie its start set, the start and send answers take the same time for every user ID, an
//! unknown, foreign or expired flow gets one neutral page, and nothing is ever said that tells
//! a decoy from a real account.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use minijinja::{Value, context};
use serde::Deserialize;

use sspr_core::flow::Stage;
use sspr_core::methods::questions::{self, QuestionId};
use sspr_core::policy::password::PasswordProblem;
use sspr_core::service::contact_admin::contact_admin;
use sspr_core::service::reset::{FlowView, MethodHint, Proof, ResetError, Sent};
use sspr_core::{HelpdeskLink, MethodType, SsprPolicy};

use sspr_core::ports::DirectoryError;

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_me::caller;
use crate::routes::api_password::RulesInForce;
use crate::routes::api_reset::{api_error, flow_cookie, hold, presented_cookie, reset};
use crate::routes::pages::{error_page, method_labels, password_problem, plural, render, tr, trf};
use crate::routes::pow;

// Rendering --------------------------------------------------------------------------------------

/// A reset page: never cached (it shows the state of a flow).
fn page(
    state: &AppState,
    ctx: &RequestContext,
    status: StatusCode,
    name: &str,
    vars: Value,
) -> Response {
    // The support code of a flow's pages is the flow's correlation id (SPEC §5.4): the id
    // every audit record of this reset carries, whichever request the user is looking at.
    let flow_ctx;
    let ctx = match vars
        .get_attr("flow_id")
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
    {
        Some(flow) if !flow.is_empty() => {
            flow_ctx = RequestContext {
                support_code: flow,
                ..ctx.clone()
            };
            &flow_ctx
        }
        _ => ctx,
    };
    let mut res = render(state, ctx, status, name, vars);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The helpdesk link of the policy, as the help block shows it (only http(s) and mailto).
fn helpdesk(policy: &SsprPolicy) -> Value {
    match &policy.helpdesk {
        HelpdeskLink::Url(u) if u.starts_with("https://") || u.starts_with("http://") => {
            context! { href => u.clone(), external => true }
        }
        HelpdeskLink::Email(e) if !e.is_empty() => {
            context! { href => format!("mailto:{e}"), external => false }
        }
        _ => Value::from(()),
    }
}

/// What every page of a flow needs: its id and the help block's data.
async fn common(state: &AppState, flow_id: Option<&str>) -> Result<Value, ApiError> {
    let policy = state.store.policy().await?;
    Ok(context! { flow_id => flow_id, helpdesk => helpdesk(&policy) })
}

/// An error of the use case as a page: the neutral "expired" page, a redirect back to the
/// verification step, or an error page.
fn problem_page(state: &AppState, ctx: &RequestContext, flow_id: &str, e: ResetError) -> Response {
    match e {
        ResetError::NoFlow => expired(state, ctx),
        ResetError::WrongStep | ResetError::NotVerified => {
            Redirect::to(&format!("/reset/{flow_id}")).into_response()
        }
        ResetError::BadInput(_) => malformed(state, ctx),
        other => error_page(
            state,
            ctx,
            api_error(other, state).support(&ctx.support_code),
        ),
    }
}

/// One neutral page for a flow that does not exist, is another browser's, or has expired.
fn expired(state: &AppState, ctx: &RequestContext) -> Response {
    page(
        state,
        ctx,
        StatusCode::NOT_FOUND,
        "reset_message.html",
        context! {
            title => tr(state, ctx, "reset.expired_title"),
            message => tr(state, ctx, "reset.expired_message"),
            link => context! { href => "/reset", label => tr(state, ctx, "reset.start_again") },
        },
    )
}

/// A form that is not what the page sent: nothing was changed.
fn malformed(state: &AppState, ctx: &RequestContext) -> Response {
    page(
        state,
        ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reset_message.html",
        context! {
            title => tr(state, ctx, "error.title_client"),
            message => tr(state, ctx, "reset.malformed"),
            link => context! { href => "/reset", label => tr(state, ctx, "reset.start_again") },
        },
    )
}

/// "Too many attempts. Try again in 3 hours." in the page's language.
fn blocked_message(state: &AppState, ctx: &RequestContext, secs: u64) -> String {
    let wait = if secs > 3600 {
        plural(
            state,
            ctx,
            "reset.wait_hours",
            u8::try_from(secs.div_ceil(3600)).unwrap_or(u8::MAX),
        )
    } else {
        plural(
            state,
            ctx,
            "reset.wait_minutes",
            u8::try_from(secs.div_ceil(60).max(1)).unwrap_or(u8::MAX),
        )
    };
    trf(state, ctx, "reset.blocked", &[("wait", &wait)])
}

/// A verification error that the page it came from shows (wrong code, blocked), with its
/// status and `Retry-After`; `None` for errors that get their own page.
fn proof_message(
    state: &AppState,
    ctx: &RequestContext,
    e: &ResetError,
) -> Option<(StatusCode, String, Option<u64>)> {
    match e {
        ResetError::InvalidProof => Some((
            StatusCode::BAD_REQUEST,
            tr(state, ctx, "reset.wrong_proof"),
            None,
        )),
        ResetError::Blocked(b) => {
            let secs = b.retry_after(state.clock.now());
            Some((
                StatusCode::TOO_MANY_REQUESTS,
                blocked_message(state, ctx, secs),
                Some(secs),
            ))
        }
        _ => None,
    }
}

fn with_retry(mut res: Response, retry: Option<u64>) -> Response {
    if let Some(secs) = retry {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// The labels of the per-method buttons of the verify page.
fn send_labels(state: &AppState, ctx: &RequestContext) -> BTreeMap<&'static str, String> {
    MethodType::ALL
        .into_iter()
        .map(|m| {
            (
                m.as_str(),
                tr(state, ctx, &format!("reset.send_{}", m.as_str())),
            )
        })
        .collect()
}

// Identify ---------------------------------------------------------------------------------------

fn altcha_strings(state: &AppState, ctx: &RequestContext) -> String {
    let s = |key: &str| tr(state, ctx, &format!("reset.altcha_{key}"));
    serde_json::json!({
        "label": s("label"),
        "verified": s("verified"),
        "verifying": s("verifying"),
        "waitAlert": s("wait"),
        "error": s("error"),
        "expired": s("expired"),
        "ariaLinkLabel": s("label"),
    })
    .to_string()
}

async fn render_start(
    state: &AppState,
    ctx: &RequestContext,
    status: StatusCode,
    username: &str,
    error: Option<String>,
) -> Response {
    let common = match common(state, None).await {
        Ok(c) => c,
        Err(e) => return error_page(state, ctx, e.support(&ctx.support_code)),
    };
    page(
        state,
        ctx,
        status,
        "reset_start.html",
        context! {
            pow => state.settings.pow_max_number > 0,
            altcha_strings => altcha_strings(state, ctx),
            username => username,
            error => error,
            ..common
        },
    )
}

/// `GET /reset`: the user ID and the proof of work.
pub async fn start_form(State(state): State<AppState>, ctx: RequestContext) -> Response {
    render_start(&state, &ctx, StatusCode::OK, "", None).await
}

#[derive(Deserialize)]
pub struct StartForm {
    username: String,
    /// The ALTCHA widget's solution (absent when the proof of work is off).
    #[serde(default)]
    altcha: String,
}

/// `POST /reset`: starts a flow and sends the browser to its verification page.
pub async fn start(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    form: Result<Form<StartForm>, FormRejection>,
) -> Response {
    let started = Instant::now();
    let Ok(Form(form)) = form else {
        return malformed(&state, &ctx);
    };
    let username: String = form.username.chars().take(256).collect();
    if username.trim().is_empty() {
        let error = tr(&state, &ctx, "reset.user_id_missing");
        return render_start(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            Some(error),
        )
        .await;
    }
    if let Err(e) = pow::verify(&state, &form.altcha).await {
        if e.status.is_server_error() {
            return error_page(&state, &ctx, e.support(&ctx.support_code));
        }
        let error = tr(&state, &ctx, "reset.pow_failed");
        return render_start(&state, &ctx, e.status, &username, Some(error)).await;
    }
    let caller = caller(&ctx, ctx.locale);
    let result = reset(&state).start(&username, &caller).await;
    hold(&state, started).await;
    match result {
        Ok(s) => {
            let to = format!("/reset/{}", s.flow.id);
            (jar.add(flow_cookie(&state, s.cookie)), Redirect::to(&to)).into_response()
        }
        Err(e) => error_page(
            &state,
            &ctx,
            api_error(e, &state).support(&ctx.support_code),
        ),
    }
}

// Verify -----------------------------------------------------------------------------------------

async fn render_verify(
    state: &AppState,
    ctx: &RequestContext,
    view: &FlowView,
    status: StatusCode,
    errors: Vec<String>,
) -> Response {
    let common = match common(state, Some(&view.flow_id)).await {
        Ok(c) => c,
        Err(e) => return error_page(state, ctx, e.support(&ctx.support_code)),
    };
    page(
        state,
        ctx,
        status,
        "reset_verify.html",
        context! {
            intro => plural(state, ctx, "reset.verify_intro", view.required),
            verified => view.verified,
            required => view.required,
            methods => minijinja::value::Serde(&view.methods),
            labels => method_labels(state, ctx),
            send_labels => send_labels(state, ctx),
            errors => errors,
            ..common
        },
    )
}

/// `GET /reset/{flow}`: the methods, each with its button, and the progress.
pub async fn verify_page(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path(flow_id): Path<String>,
) -> Response {
    let flow = match reset(&state)
        .load(&flow_id, &presented_cookie(&state, &jar))
        .await
    {
        Ok(f) => f,
        Err(e) => return problem_page(&state, &ctx, &flow_id, e),
    };
    if flow.stage != Stage::Verifying {
        return Redirect::to(&format!("/reset/{flow_id}/password")).into_response();
    }
    render_verify(&state, &ctx, &FlowView::of(&flow), StatusCode::OK, vec![]).await
}

/// The method of a flow the page works on (loaded again for every request).
async fn load_method(
    state: &AppState,
    jar: &CookieJar,
    flow_id: &str,
    method_id: &str,
) -> Result<(FlowView, MethodHint), ResetError> {
    let flow = reset(state)
        .load(flow_id, &presented_cookie(state, jar))
        .await?;
    let view = FlowView::of(&flow);
    let method = view
        .methods
        .iter()
        .find(|m| m.id == method_id)
        .cloned()
        .ok_or(ResetError::UnknownMethod)?;
    if flow.stage != Stage::Verifying || method.verified {
        return Err(ResetError::WrongStep);
    }
    Ok((view, method))
}

struct MethodPage<'a> {
    view: &'a FlowView,
    method: &'a MethodHint,
    status: StatusCode,
    errors: Vec<String>,
}

async fn render_code(state: &AppState, ctx: &RequestContext, p: MethodPage<'_>) -> Response {
    let common = match common(state, Some(&p.view.flow_id)).await {
        Ok(c) => c,
        Err(e) => return error_page(state, ctx, e.support(&ctx.support_code)),
    };
    let sent_key = match p.method.kind {
        MethodType::MobileVoice | MethodType::OfficeVoice => "reset.calling",
        _ => "reset.sent",
    };
    page(
        state,
        ctx,
        p.status,
        "reset_code.html",
        context! {
            sent => trf(state, ctx, sent_key, &[("hint", &p.method.hint)]),
            method => minijinja::value::Serde(p.method),
            verified => p.view.verified,
            required => p.view.required,
            errors => p.errors,
            ..common
        },
    )
}

/// The questions the flow asks now, in the page's language.
async fn asked_questions(
    state: &AppState,
    ctx: &RequestContext,
    asked: &[String],
) -> Result<Vec<Value>, ApiError> {
    let policy = state.store.policy().await?;
    Ok(asked
        .iter()
        .filter_map(|id| {
            let qid = QuestionId::parse(id).ok()?;
            let text = questions::text(&qid, ctx.locale, &policy.custom_questions)?;
            Some(context! { id => id.clone(), text => text })
        })
        .collect())
}

async fn render_questions(
    state: &AppState,
    ctx: &RequestContext,
    p: MethodPage<'_>,
    asked: &[String],
) -> Response {
    let loaded = async {
        Ok::<_, ApiError>((
            common(state, Some(&p.view.flow_id)).await?,
            asked_questions(state, ctx, asked).await?,
        ))
    }
    .await;
    let (common, questions) = match loaded {
        Ok(x) => x,
        Err(e) => return error_page(state, ctx, e.support(&ctx.support_code)),
    };
    page(
        state,
        ctx,
        p.status,
        "reset_questions.html",
        context! {
            method => minijinja::value::Serde(p.method),
            questions => questions,
            verified => p.view.verified,
            required => p.view.required,
            errors => p.errors,
            ..common
        },
    )
}

/// `POST /reset/{flow}/methods/{method}/send`: sends a code (then the code page), draws the
/// questions (then the questions page) or makes a passkey challenge (then the passkey page).
pub async fn send(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path((flow_id, method_id)): Path<(String, String)>,
) -> Response {
    let started = Instant::now();
    let (view, method) = match load_method(&state, &jar, &flow_id, &method_id).await {
        Ok(x) => x,
        Err(e) => return problem_page(&state, &ctx, &flow_id, e),
    };
    let caller = caller(&ctx, ctx.locale);
    let result = reset(&state)
        .send(
            &flow_id,
            &presented_cookie(&state, &jar),
            &method_id,
            &caller,
        )
        .await;
    hold(&state, started).await;
    let sent = match result {
        Ok(s) => s,
        Err(e) => {
            if let Some((status, message, retry)) = proof_message(&state, &ctx, &e) {
                let res = render_verify(&state, &ctx, &view, status, vec![message]).await;
                return with_retry(res, retry);
            }
            return problem_page(&state, &ctx, &flow_id, e);
        }
    };
    let here = format!("/reset/{flow_id}/methods/{method_id}");
    match sent {
        // The entry pages are GETs of their own: reloading them does not send again.
        Sent::Code | Sent::Nothing | Sent::Questions(_) => Redirect::to(&here).into_response(),
        Sent::Passkey(options) => {
            let common = match common(&state, Some(&flow_id)).await {
                Ok(c) => c,
                Err(e) => return error_page(&state, &ctx, e.support(&ctx.support_code)),
            };
            page(
                &state,
                &ctx,
                StatusCode::OK,
                "reset_passkey.html",
                context! {
                    options => options.to_string(),
                    method => minijinja::value::Serde(&method),
                    verified => view.verified,
                    required => view.required,
                    errors => Vec::<String>::new(),
                    ..common
                },
            )
        }
    }
}

/// `GET /reset/{flow}/methods/{method}`: the code field (after a send) or the questions drawn.
pub async fn method_page(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path((flow_id, method_id)): Path<(String, String)>,
) -> Response {
    let (view, method) = match load_method(&state, &jar, &flow_id, &method_id).await {
        Ok(x) => x,
        Err(e) => return problem_page(&state, &ctx, &flow_id, e),
    };
    let p = MethodPage {
        view: &view,
        method: &method,
        status: StatusCode::OK,
        errors: vec![],
    };
    match method.kind {
        MethodType::SecurityQuestions => {
            let asked = asked_now(&state, &jar, &flow_id).await;
            if asked.is_empty() {
                // Not drawn yet: the verify page's button does that.
                return Redirect::to(&format!("/reset/{flow_id}")).into_response();
            }
            render_questions(&state, &ctx, p, &asked).await
        }
        // A passkey challenge lives only in the page its send answered with.
        MethodType::Passkey => Redirect::to(&format!("/reset/{flow_id}")).into_response(),
        _ => render_code(&state, &ctx, p).await,
    }
}

/// The questions the flow asks now (empty when none are drawn or the flow is gone).
async fn asked_now(state: &AppState, jar: &CookieJar, flow_id: &str) -> Vec<String> {
    reset(state)
        .load(flow_id, &presented_cookie(state, jar))
        .await
        .map(|f| f.questions)
        .unwrap_or_default()
}

/// `POST /reset/{flow}/methods/{method}/verify`: a code (`code`), the answers (`q0`/`a0`, …)
/// or a passkey's assertion (`credential`, JSON).
pub async fn verify(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path((flow_id, method_id)): Path<(String, String)>,
    form: Result<Form<BTreeMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return malformed(&state, &ctx);
    };
    let (view, method) = match load_method(&state, &jar, &flow_id, &method_id).await {
        Ok(x) => x,
        Err(e) => return problem_page(&state, &ctx, &flow_id, e),
    };
    let proof = match method.kind {
        MethodType::SecurityQuestions => {
            let mut answers = BTreeMap::new();
            for i in 0..usize::from(questions::MAX_REQUIRED) {
                if let (Some(q), Some(a)) = (form.get(&format!("q{i}")), form.get(&format!("a{i}")))
                {
                    answers.insert(q.clone(), a.chars().take(200).collect());
                }
            }
            if answers.is_empty() {
                return malformed(&state, &ctx);
            }
            Proof::Answers(answers)
        }
        MethodType::Passkey => match form
            .get("credential")
            .and_then(|c| serde_json::from_str(c).ok())
        {
            Some(v) => Proof::Assertion(v),
            None => return malformed(&state, &ctx),
        },
        _ => match form.get("code") {
            Some(c) => Proof::Code(c.chars().take(32).collect()),
            None => return malformed(&state, &ctx),
        },
    };
    let caller = caller(&ctx, ctx.locale);
    let result = reset(&state)
        .verify(
            &flow_id,
            &presented_cookie(&state, &jar),
            &method_id,
            &proof,
            &caller,
        )
        .await;
    match result {
        Ok(p) if p.verified >= usize::from(p.required) => {
            Redirect::to(&format!("/reset/{flow_id}/password")).into_response()
        }
        Ok(_) => Redirect::to(&format!("/reset/{flow_id}")).into_response(),
        Err(e) => {
            let Some((status, message, retry)) = proof_message(&state, &ctx, &e) else {
                return problem_page(&state, &ctx, &flow_id, e);
            };
            let p = MethodPage {
                view: &view,
                method: &method,
                status,
                errors: vec![message],
            };
            let res = match method.kind {
                // The app's code field is on the verify page itself.
                MethodType::AuthenticatorCode => {
                    render_verify(&state, &ctx, &view, status, p.errors).await
                }
                MethodType::SecurityQuestions => {
                    // A wrong answer drew a new set of questions.
                    let asked = asked_now(&state, &jar, &flow_id).await;
                    if asked.is_empty() {
                        render_verify(&state, &ctx, &view, status, p.errors).await
                    } else {
                        render_questions(&state, &ctx, p, &asked).await
                    }
                }
                MethodType::Passkey => render_verify(&state, &ctx, &view, status, p.errors).await,
                _ => render_code(&state, &ctx, p).await,
            };
            with_retry(res, retry)
        }
    }
}

// Act --------------------------------------------------------------------------------------------

async fn render_password(
    state: &AppState,
    ctx: &RequestContext,
    view: &FlowView,
    status: StatusCode,
    errors: Vec<String>,
) -> Response {
    let common = match common(state, Some(&view.flow_id)).await {
        Ok(c) => c,
        Err(e) => return error_page(state, ctx, e.support(&ctx.support_code)),
    };
    page(
        state,
        ctx,
        status,
        "reset_password.html",
        context! { can_unlock => view.can_unlock, errors => errors, ..common },
    )
}

/// The verified flow of this cookie, or why not.
async fn verified_flow(
    state: &AppState,
    jar: &CookieJar,
    flow_id: &str,
) -> Result<FlowView, ResetError> {
    let flow = reset(state)
        .load(flow_id, &presented_cookie(state, jar))
        .await?;
    if flow.stage == Stage::Verifying {
        return Err(ResetError::NotVerified);
    }
    Ok(FlowView::of(&flow))
}

/// `GET /reset/{flow}/password`: the new password (and "unlock only" when it applies).
pub async fn password_page(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path(flow_id): Path<String>,
) -> Response {
    match verified_flow(&state, &jar, &flow_id).await {
        Ok(view) => render_password(&state, &ctx, &view, StatusCode::OK, vec![]).await,
        Err(e) => problem_page(&state, &ctx, &flow_id, e),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    new: String,
    confirm: String,
}

/// The flow is over: a page that says so, the flow cookie cleared, and no sign-in.
fn done(state: &AppState, ctx: &RequestContext, jar: CookieJar, unlocked: bool) -> Response {
    let mut gone = flow_cookie(state, String::new());
    gone.set_max_age(time::Duration::ZERO);
    let (title, message) = if unlocked {
        ("reset.unlocked_title", "reset.unlocked_message")
    } else {
        ("reset.done_title", "reset.done_message")
    };
    let res = page(
        state,
        ctx,
        StatusCode::OK,
        "reset_message.html",
        context! {
            title => tr(state, ctx, title),
            message => tr(state, ctx, message),
            link => context! { href => "/signin", label => tr(state, ctx, "reset.sign_in") },
        },
    );
    (jar.add(gone), res).into_response()
}

/// `POST /reset/{flow}/password`.
pub async fn set_password(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path(flow_id): Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return malformed(&state, &ctx);
    };
    let view = match verified_flow(&state, &jar, &flow_id).await {
        Ok(v) => v,
        Err(e) => return problem_page(&state, &ctx, &flow_id, e),
    };
    if form.new != form.confirm {
        let errors = vec![tr(&state, &ctx, "reset.mismatch")];
        return render_password(
            &state,
            &ctx,
            &view,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        )
        .await;
    }
    let in_force = match RulesInForce::load(&state, &ctx).await {
        Ok(r) => r,
        Err(e) => return error_page(&state, &ctx, e),
    };
    let rules = in_force.rules(&state);
    let caller = caller(&ctx, ctx.locale);
    let result = reset(&state)
        .set_new_password(
            &flow_id,
            &presented_cookie(&state, &jar),
            &form.new,
            &rules,
            &caller,
        )
        .await;
    match result {
        Ok(()) => done(&state, &ctx, jar, false),
        Err(ResetError::Policy(problems)) => {
            let errors = problems
                .iter()
                .map(|p: &PasswordProblem| password_problem(&state, &ctx, p))
                .collect();
            render_password(
                &state,
                &ctx,
                &view,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
        Err(ResetError::DirectoryUser) => {
            let errors = vec![tr(&state, &ctx, "reset.directory_user")];
            render_password(&state, &ctx, &view, StatusCode::CONFLICT, errors).await
        }
        Err(ResetError::Directory(d)) => {
            let (status, key) = directory_problem(&d);
            let errors = vec![tr(&state, &ctx, &key)];
            render_password(&state, &ctx, &view, status, errors).await
        }
        Err(e) => problem_page(&state, &ctx, &flow_id, e),
    }
}

/// A directory's refusal or outage, as the password page says it.
fn directory_problem(d: &DirectoryError) -> (StatusCode, String) {
    match d {
        DirectoryError::Rejected { reason, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("reset.directory_{}", reason.code()),
        ),
        DirectoryError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "reset.directory_unavailable".into(),
        ),
        _ => (StatusCode::CONFLICT, "reset.directory_user".into()),
    }
}

/// `POST /reset/{flow}/unlock`: unlock only, the password unchanged.
pub async fn unlock(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path(flow_id): Path<String>,
) -> Response {
    let view = match verified_flow(&state, &jar, &flow_id).await {
        Ok(v) => v,
        Err(e) => return problem_page(&state, &ctx, &flow_id, e),
    };
    let caller = caller(&ctx, ctx.locale);
    match reset(&state)
        .unlock(&flow_id, &presented_cookie(&state, &jar), &caller)
        .await
    {
        Ok(()) => done(&state, &ctx, jar, true),
        Err(ResetError::Directory(d)) => {
            let (status, key) = directory_problem(&d);
            let errors = vec![tr(&state, &ctx, &key)];
            render_password(&state, &ctx, &view, status, errors).await
        }
        Err(e @ (ResetError::CannotUnlock | ResetError::DirectoryUser)) => {
            let key = if matches!(e, ResetError::CannotUnlock) {
                "reset.cannot_unlock"
            } else {
                "reset.directory_user"
            };
            let errors = vec![tr(&state, &ctx, key)];
            render_password(&state, &ctx, &view, StatusCode::CONFLICT, errors).await
        }
        Err(e) => problem_page(&state, &ctx, &flow_id, e),
    }
}

// Help -------------------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    message: String,
}

/// `POST /reset/{flow}/contact`: asks the administrators for help (a decoy flow answers the
/// same and sends nothing).
pub async fn contact(
    State(state): State<AppState>,
    ctx: RequestContext,
    jar: CookieJar,
    Path(flow_id): Path<String>,
    form: Result<Form<ContactForm>, FormRejection>,
) -> Response {
    let started = Instant::now();
    let Ok(Form(form)) = form else {
        return malformed(&state, &ctx);
    };
    let caller = caller(&ctx, ctx.locale);
    let result = contact_admin(
        &reset(&state),
        &flow_id,
        &presented_cookie(&state, &jar),
        &form.message,
        &caller,
    )
    .await;
    hold(&state, started).await;
    match result {
        Ok(()) => {
            let common = match common(&state, Some(&flow_id)).await {
                Ok(c) => c,
                Err(e) => return error_page(&state, &ctx, e.support(&ctx.support_code)),
            };
            page(
                &state,
                &ctx,
                StatusCode::OK,
                "reset_message.html",
                context! {
                    title => tr(&state, &ctx, "reset.contacted_title"),
                    message => tr(&state, &ctx, "reset.contacted_message"),
                    link => context! {
                        href => format!("/reset/{flow_id}"),
                        label => tr(&state, &ctx, "reset.back_to_reset"),
                    },
                    ..common
                },
            )
        }
        Err(ResetError::Blocked(b)) => {
            let secs = b.retry_after(state.clock.now());
            let res = page(
                &state,
                &ctx,
                StatusCode::TOO_MANY_REQUESTS,
                "reset_message.html",
                context! {
                    title => tr(&state, &ctx, "error.title_client"),
                    message => blocked_message(&state, &ctx, secs),
                    link => context! {
                        href => format!("/reset/{flow_id}"),
                        label => tr(&state, &ctx, "reset.back_to_reset"),
                    },
                },
            );
            with_retry(res, Some(secs))
        }
        Err(e) => problem_page(&state, &ctx, &flow_id, e),
    }
}
