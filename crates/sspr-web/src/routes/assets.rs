//! The static files the pages use, compiled into the binary.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

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
