//! How errors leave the web layer: JSON problems for the API
//! (`{"error", "message", "support_code"}`, SPEC §9.1) and pages for browsers. 5xx answers
//! carry a support code (the request id) that matches the log line holding the cause.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sspr_core::ports::{HashError, StoreError};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub support_code: String,
    pub retry_after: Option<u64>,
    pub extra: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    support_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extra: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            support_code: String::new(),
            retry_after: None,
            extra: None,
        }
    }

    pub fn support(mut self, code: &str) -> Self {
        self.support_code = code.to_owned();
        self
    }

    pub fn busy() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "The service is busy. Please try again in a moment.",
        );
        e.retry_after = Some(1);
        e
    }

    pub fn internal(what: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %what, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Quote the support code if you contact your administrator.",
        )
    }

    pub fn unavailable(what: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %what, "dependency unavailable");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service cannot reach its database right now. Nothing was changed; please try again shortly.",
        );
        e.retry_after = Some(5);
        e
    }
}

impl ApiError {
    /// The on-premises directory failed (an outage, or sspr's service account was refused).
    /// Nothing was changed; the message is safe to show.
    pub fn directory(e: &sspr_core::ports::DirectoryError) -> Self {
        tracing::error!(error = %e, "directory unavailable");
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "directory_unavailable",
            "Your organisation's directory cannot be reached right now. Nothing was changed; please try again shortly.",
        );
        if e.is_retryable() {
            err.retry_after = Some(30);
        }
        err
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => ApiError::unavailable(&e),
            StoreError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found."),
            StoreError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, "conflict", msg),
            StoreError::Corrupt(_) => ApiError::internal(&e),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => ApiError::busy(),
            HashError::InvalidHash(_) => ApiError::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(Body {
                error: self.code,
                message: &self.message,
                support_code: &self.support_code,
                retry_after: self.retry_after,
                extra: self.extra.as_ref(),
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
