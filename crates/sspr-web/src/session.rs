//! Signed-in sessions. The cookie carries 256 random bits and nothing else; the database
//! stores only their keyed hash, so neither a stolen table nor a log line can be replayed.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use sspr_core::User;
use sspr_core::ports::Session;
use time::Duration;

use crate::AppState;
use crate::error::ApiError;

/// The cookie name. Over https the `__Host-` prefix pins it to this host, path `/`, Secure.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.https() {
        "__Host-sspr_session"
    } else {
        "sspr_session"
    }
}

fn hash_id(state: &AppState, raw: &str) -> String {
    state.session_key.keyed_hash(raw.as_bytes())
}

/// Starts a session for `user` and returns the cookie to set.
pub async fn start(state: &AppState, user: &User) -> Result<Cookie<'static>, ApiError> {
    let raw = hex::encode(rand::random::<[u8; 32]>());
    let now = state.clock.now();
    let hours = state.settings.session_hours;
    state
        .store
        .create_session(&Session {
            id_hash: hash_id(state, &raw),
            user_id: user.id,
            created_at: now,
            expires_at: now + Duration::hours(hours),
            revoked: false,
        })
        .await?;
    Ok(Cookie::build((cookie_name(state), raw))
        .path("/")
        .http_only(true)
        .secure(state.settings.https())
        .same_site(SameSite::Lax)
        .max_age(Duration::hours(hours))
        .build())
}

/// Revokes the session in `jar` (if any) and returns a cookie that clears it.
pub async fn end(state: &AppState, jar: &CookieJar) -> Result<Cookie<'static>, ApiError> {
    if let Some(c) = jar.get(cookie_name(state)) {
        state
            .store
            .revoke_session(&hash_id(state, c.value()))
            .await?;
    }
    Ok(Cookie::build((cookie_name(state), ""))
        .path("/")
        .http_only(true)
        .secure(state.settings.https())
        .same_site(SameSite::Lax)
        .max_age(Duration::ZERO)
        .build())
}

/// The signed-in user, if the request carries a live session.
pub struct CurrentUser(pub Option<User>);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(cookie_name(state)) else {
            return Ok(Self(None));
        };
        // Reject absurd values before touching the database.
        if cookie.value().len() != 64 {
            return Ok(Self(None));
        }
        let now = state.clock.now();
        let Some(session) = state
            .store
            .live_session(&hash_id(state, cookie.value()), now)
            .await?
        else {
            return Ok(Self(None));
        };
        let user = state.store.get_user(session.user_id).await?;
        Ok(Self(user.filter(|u| u.enabled)))
    }
}

/// A signed-in administrator holding one of the roles a route allows; anyone else gets 401
/// (not signed in) or 403 (signed in without the role).
pub fn require_role(
    user: Option<User>,
    allowed: &[sspr_core::AdminRole],
) -> Result<User, ApiError> {
    use axum::http::StatusCode;
    let Some(user) = user else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_signed_in",
            "Sign in first.",
        ));
    };
    if user.roles.iter().any(|r| allowed.contains(r)) {
        Ok(user)
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Your account may not do this.",
        ))
    }
}
