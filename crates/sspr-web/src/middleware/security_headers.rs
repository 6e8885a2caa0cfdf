//! Security headers on every response. The pages load nothing but their own stylesheet and
//! scripts, so the CSP can be strict: no inline script or style, no framing, no foreign hosts
//! (but the organisation's logo, when it is configured on another host).

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // The organisation's logo may live on its own web server: allow images from there.
    let csp = match &state.brand.current().logo_url {
        Some(logo) => HeaderValue::from_str(&CSP.replace(
            "img-src 'self' data:",
            &format!("img-src 'self' data: {}", crate::state::origin_of(logo)),
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(CSP)),
        None => HeaderValue::from_static(CSP),
    };
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    let mut set = |name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if !is_static {
        // Pages and API answers may carry personal data: never cache them.
        set(header::CACHE_CONTROL, "no-store");
    }
    if state.settings.https() {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    res
}
