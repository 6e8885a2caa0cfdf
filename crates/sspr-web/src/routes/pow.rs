//! The proof of work in front of the reset start (SPEC §5 step 1): ALTCHA challenges, made
//! and checked here (no third-party service at run time). A solution is accepted once: its
//! signature is remembered until the challenge expires.

use axum::http::StatusCode;
use base64::Engine;
use sspr_core::ports::StoreError;

use crate::AppState;
use crate::error::ApiError;

/// How long a challenge may be solved and used.
const CHALLENGE_MINUTES: i64 = 10;

/// A fresh challenge in ALTCHA's JSON format (what the widget's `challengeurl` returns).
pub fn challenge(state: &AppState) -> Result<altcha_lib_rs::Challenge, String> {
    altcha_lib_rs::create_challenge(altcha_lib_rs::ChallengeOptions {
        hmac_key: &state.pow_key,
        // 0 switches the proof off; the widget still gets a (trivial) challenge.
        max_number: Some(state.settings.pow_max_number.max(1)),
        expires: Some(chrono::Utc::now() + chrono::TimeDelta::minutes(CHALLENGE_MINUTES)),
        ..Default::default()
    })
    .map_err(|e| format!("cannot make a proof-of-work challenge: {e:?}"))
}

fn refused() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_pow",
        "The security check did not pass. Reload the page and try again.",
    )
}

/// Checks a solution: the widget's base64 payload (or the same JSON unencoded).
pub async fn verify(state: &AppState, payload: &str) -> Result<(), ApiError> {
    if state.settings.pow_max_number == 0 {
        return Ok(());
    }
    if payload.is_empty() || payload.len() > 4096 {
        return Err(refused());
    }
    let json = match base64::engine::general_purpose::STANDARD.decode(payload.trim()) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| refused())?,
        Err(_) => payload.to_owned(),
    };
    let parsed: altcha_lib_rs::Payload = serde_json::from_str(&json).map_err(|_| refused())?;
    altcha_lib_rs::verify_solution(&parsed, &state.pow_key, true).map_err(|_| refused())?;
    // Once only: the signature is remembered for as long as the challenge could be used.
    let used = state
        .code_key
        .keyed_hash(format!("pow:{}", parsed.signature).as_bytes());
    let until = state.clock.now() + time::Duration::minutes(CHALLENGE_MINUTES + 1);
    match state
        .store
        .put_ceremony(&used, None, "pow", "", until)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(refused()),
        Err(e) => Err(e.into()),
    }
}
