//! Middleware and the request context every handler can extract.

pub mod client_ip;
pub mod request_metrics;
pub mod security_headers;

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;

pub use client_ip::ClientIp;
use sspr_core::Locale;

/// Who is asking and how to refer to this request in a support call.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The request id (`x-request-id`), shown to users as the support code.
    pub support_code: String,
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The language of the pages and messages for this request.
    pub locale: Locale,
    /// Set when the request chose a language with `?lng=` (the page then remembers it).
    pub chosen_locale: Option<Locale>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let support_code = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let client_ip = parts.extensions.get::<ClientIp>().map(|c| c.0);
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect());
        let query = parts.uri.query();
        Ok(Self {
            support_code,
            client_ip,
            user_agent,
            locale: crate::i18n::request_locale(query, &parts.headers),
            chosen_locale: crate::i18n::query_locale(query),
        })
    }
}
