//! The static files the pages use, compiled into the binary.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "sspr.css" => (
            include_str!("../../assets/sspr.css"),
            "text/css; charset=utf-8",
        ),
        "password-feedback.js" => (
            include_str!("../../assets/password-feedback.js"),
            "text/javascript; charset=utf-8",
        ),
        "passkey.js" => (
            include_str!("../../assets/passkey.js"),
            "text/javascript; charset=utf-8",
        ),
        // The ALTCHA proof-of-work widget (MIT, vendored from the npm package `altcha`, its
        // "external" build: no inline style or script, so the strict CSP holds).
        "altcha.js" => (
            include_str!("../../assets/altcha.js"),
            "text/javascript; charset=utf-8",
        ),
        "altcha-worker.js" => (
            include_str!("../../assets/altcha-worker.js"),
            "text/javascript; charset=utf-8",
        ),
        "altcha.css" => (
            include_str!("../../assets/altcha.css"),
            "text/css; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The organisation's colour as a stylesheet (the CSP allows no inline style). The setting is
/// checked to be `#RRGGBB` when the configuration is loaded.
pub async fn brand_css(State(state): State<AppState>) -> Response {
    let body = match &state.brand.current().colour {
        Some(c) => format!(":root {{ --brand: {c}; }}\n"),
        None => String::new(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}
