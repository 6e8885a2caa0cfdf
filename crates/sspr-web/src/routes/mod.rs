//! The router: every route of the service and the middleware stack around them.

mod admin_common;
mod admin_pages;
mod api_admin_actions;
mod api_admin_audit;
mod api_admin_directory;
mod api_admin_groups;
mod api_admin_policy;
mod api_admin_reports;
mod api_admin_tokens;
mod api_admin_users;
pub(crate) mod api_me;
pub(crate) mod api_password;
pub(crate) mod api_reset;
mod api_session;
mod assets;
mod dev;
mod health;
pub mod openapi;
pub(crate) mod pages;
pub(crate) mod pow;
mod reset_pages;
mod security_pages;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

pub use openapi::{ADMIN_ROUTES, USER_ROUTES};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::middleware::{client_ip, request_metrics, security_headers};

/// Builds the whole application. Fails only on a configuration the CSRF layer rejects (a
/// public base URL that is not an origin).
pub fn router(state: AppState) -> Result<Router, String> {
    let csrf = CsrfLayer::new()
        .add_trusted_origin(state.settings.public_origin())
        .map_err(|e| format!("public_base_url is not a valid origin for CSRF checks: {e}"))?;
    let limit = state.settings.max_body_bytes;

    let mut app = Router::new()
        .route("/", get(pages::home))
        .route(
            "/signin",
            get(pages::signin_form).post(pages::signin_submit),
        )
        .route("/signout", post(pages::signout))
        .route("/me", get(pages::me))
        .route("/me/password", post(pages::change_password))
        .route("/me/security-info", get(security_pages::info))
        .route("/me/security-info/email", post(security_pages::add_email))
        .route("/me/security-info/phone", post(security_pages::add_phone))
        .route(
            "/me/security-info/authenticator",
            post(security_pages::add_authenticator),
        )
        .route(
            "/me/security-info/{id}/verify",
            post(security_pages::verify),
        )
        .route(
            "/me/security-info/{id}/resend",
            post(security_pages::resend),
        )
        .route(
            "/me/security-info/{id}/remove",
            post(security_pages::remove),
        )
        .route(
            "/me/security-questions",
            get(security_pages::questions_form).post(security_pages::questions_submit),
        )
        .route(
            "/reset",
            get(reset_pages::start_form).post(reset_pages::start),
        )
        .route("/reset/{flow}", get(reset_pages::verify_page))
        .route(
            "/reset/{flow}/methods/{method}",
            get(reset_pages::method_page),
        )
        .route(
            "/reset/{flow}/methods/{method}/send",
            post(reset_pages::send),
        )
        .route(
            "/reset/{flow}/methods/{method}/verify",
            post(reset_pages::verify),
        )
        .route(
            "/reset/{flow}/password",
            get(reset_pages::password_page).post(reset_pages::set_password),
        )
        .route("/reset/{flow}/unlock", post(reset_pages::unlock))
        .route("/reset/{flow}/contact", post(reset_pages::contact))
        .route("/admin", get(admin_pages::home))
        .route(
            "/admin/signin",
            get(admin_pages::signin_form).post(admin_pages::signin_submit),
        )
        .route("/admin/onprem/sync", post(admin_pages::sync_now))
        .route("/admin/notifications/test", post(admin_pages::test_message))
        .route(
            "/admin/users",
            get(admin_pages::users).post(admin_pages::create_user),
        )
        .route(
            "/admin/users/{id}",
            get(admin_pages::user_detail).post(admin_pages::update_user),
        )
        .route("/admin/users/{id}/{action}", post(admin_pages::user_action))
        .route(
            "/admin/groups",
            get(admin_pages::groups).post(admin_pages::create_group),
        )
        .route("/admin/groups/{id}", get(admin_pages::group_detail))
        .route(
            "/admin/groups/{id}/{action}",
            post(admin_pages::group_action),
        )
        .route("/admin/audit", get(admin_pages::audit))
        .route("/admin/audit/{file}", get(admin_pages::audit_export))
        .route("/admin/insights", get(admin_pages::insights))
        .route("/admin/insights/{file}", get(admin_pages::insights_export))
        .route(
            "/admin/tokens",
            get(admin_pages::tokens).post(admin_pages::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(admin_pages::revoke_token))
        .route(
            "/admin/{section}",
            get(admin_pages::section_page).post(admin_pages::section_submit),
        )
        .route("/register", get(security_pages::register))
        .route("/register/confirm", post(security_pages::register_confirm))
        .route("/register/skip", post(security_pages::register_skip))
        .route(
            "/api/v1/session",
            post(api_session::create).delete(api_session::delete),
        )
        .route(
            "/api/v1/admin/policy",
            get(api_admin_policy::get).put(api_admin_policy::put),
        )
        .route(
            "/api/v1/admin/directory/status",
            get(api_admin_directory::status),
        )
        .route(
            "/api/v1/admin/directory/sync",
            post(api_admin_directory::sync),
        )
        .route(
            "/api/v1/admin/users",
            get(api_admin_users::list).post(api_admin_users::create),
        )
        .route(
            "/api/v1/admin/users/{id}",
            get(api_admin_users::show)
                .patch(api_admin_users::update)
                .delete(api_admin_users::delete),
        )
        .route(
            "/api/v1/admin/users/{id}/unlock",
            post(api_admin_actions::unlock),
        )
        .route(
            "/api/v1/admin/users/{id}/password",
            post(api_admin_actions::set_password),
        )
        .route(
            "/api/v1/admin/users/{id}/require-registration",
            post(api_admin_actions::require_registration),
        )
        .route(
            "/api/v1/admin/users/{id}/revoke-sessions",
            post(api_admin_actions::revoke_sessions),
        )
        .route(
            "/api/v1/admin/test-message",
            post(api_admin_actions::test_message),
        )
        .route(
            "/api/v1/admin/groups",
            get(api_admin_groups::list).post(api_admin_groups::create),
        )
        .route(
            "/api/v1/admin/groups/{id}",
            get(api_admin_groups::show)
                .patch(api_admin_groups::update)
                .delete(api_admin_groups::delete),
        )
        .route(
            "/api/v1/admin/groups/{id}/members",
            get(api_admin_groups::members).post(api_admin_groups::add_member),
        )
        .route(
            "/api/v1/admin/groups/{id}/members/{member_id}",
            delete(api_admin_groups::remove_member),
        )
        .route("/api/v1/admin/audit", get(api_admin_audit::list))
        .route(
            "/api/v1/admin/reports/registration",
            get(api_admin_reports::registration),
        )
        .route(
            "/api/v1/admin/reports/activity",
            get(api_admin_reports::activity),
        )
        .route(
            "/api/v1/admin/tokens",
            get(api_admin_tokens::list).post(api_admin_tokens::create),
        )
        .route(
            "/api/v1/admin/tokens/{id}",
            delete(api_admin_tokens::revoke),
        )
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route("/api/v1/password/check", post(api_password::check))
        .route("/api/v1/me/password", post(api_password::change))
        .route("/api/v1/me/methods", get(api_me::list).post(api_me::add))
        .route("/api/v1/me/methods/{id}", delete(api_me::remove))
        .route("/api/v1/me/methods/{id}/verify", post(api_me::verify))
        .route("/api/v1/me/methods/{id}/resend", post(api_me::resend))
        .route(
            "/api/v1/me/security-questions",
            get(api_me::questions_catalogue).put(api_me::put_questions),
        )
        .route("/api/v1/reset/challenge", get(api_reset::challenge))
        .route("/api/v1/reset", post(api_reset::start))
        .route("/api/v1/reset/{flow}", get(api_reset::show))
        .route(
            "/api/v1/reset/{flow}/methods/{method}/send",
            post(api_reset::send),
        )
        .route(
            "/api/v1/reset/{flow}/methods/{method}/verify",
            post(api_reset::verify),
        )
        .route("/api/v1/reset/{flow}/password", post(api_reset::password))
        .route("/api/v1/reset/{flow}/unlock", post(api_reset::unlock))
        .route("/api/v1/me/passkeys/options", post(api_me::passkey_options))
        .route("/api/v1/me/passkeys", post(api_me::passkey_finish))
        .route("/api/v1/me/registration", get(api_me::registration))
        .route("/api/v1/me/registration/confirm", post(api_me::confirm))
        .route("/api/v1/me/registration/skip", post(api_me::skip))
        .route(
            "/api/v1/admin/password-policy",
            get(api_password::get_policy).put(api_password::put_policy),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/static/brand.css", get(assets::brand_css))
        .route("/static/{file}", get(assets::serve));
    if state.settings.dev_outbox {
        app = app.route("/dev/outbox", get(dev::outbox));
        if state.dev_clock.is_some() {
            app = app.route("/dev/clock", get(dev::clock).post(dev::advance_clock));
        }
    }
    let app = app
        .fallback(not_found)
        .route_layer(from_fn(request_metrics::layer))
        .with_state(state.clone());

    Ok(app.layer(
        ServiceBuilder::new()
            // A client-chosen request id would let anyone write into our logs and support
            // codes; always make our own.
            .map_request(|mut req: Request<axum::body::Body>| {
                req.headers_mut().remove("x-request-id");
                req
            })
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    // The path only: queries never carry secrets here, but keep logs lean.
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                }),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(from_fn_with_state(state.clone(), security_headers::layer))
            .layer(from_fn_with_state(state.clone(), client_ip::layer))
            .layer(csrf)
            .layer(DefaultBodyLimit::max(limit))
            .layer(RequestBodyLimitLayer::new(limit)),
    ))
}

async fn not_found(req: Request<axum::body::Body>) -> Response {
    if req.uri().path().starts_with("/api/") {
        crate::error::ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
            .into_response()
    } else {
        (StatusCode::NOT_FOUND, "Not found").into_response()
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let mut res = crate::error::ApiError::internal(&"handler panicked").into_response();
    res.headers_mut()
        .insert("x-sspr-panic", HeaderValue::from_static("1"));
    res
}
