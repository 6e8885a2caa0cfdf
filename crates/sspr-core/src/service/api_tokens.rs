//! API tokens for scripts and integrations (SPEC §9.1 "a scoped API token"). A token reads
//! `sspr_<id>_<secret>`: the id (128 random bits, hex) finds the row, the secret (256 random
//! bits, hex) proves possession. Only the SHA-256 of the secret is stored — a salted, slow hash
//! buys nothing for a secret of 256 random bits — and it is compared in constant time. The
//! whole token is shown once, when it is made.

use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::AdminRole;
use crate::audit::{AuditEvent, Outcome, events};
use crate::ports::{ApiToken, NewApiToken, Store, StoreError};

const PREFIX: &str = "sspr_";
const ID_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;

/// The longest lifetime an expiring token may be given (ten years: effectively "until
/// revoked" without overflowing anything).
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// A token as handed to its creator: the metadata and the whole token text. The text is in
/// no `Debug` output.
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &self.token)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The audit actor of a token: its name and id, so a record says which token did it.
pub fn actor_of(token: &ApiToken) -> String {
    format!("token:{}:{}", token.name, token.id)
}

fn sha256_hex(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// Splits a presented token into id and secret; `None` for anything not shaped like one.
pub fn parse(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex_of = |s: &str, bytes: usize| {
        s.len() == bytes * 2
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    (hex_of(id, ID_BYTES) && hex_of(secret, SECRET_BYTES)).then_some((id, secret))
}

/// A token's name: 1–100 printable characters.
pub fn validate_name(name: &str) -> Result<String, TokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(TokenError::Invalid(
            "a token name has 1 to 100 characters and no control characters".into(),
        ));
    }
    Ok(name.to_owned())
}

/// Makes and stores a token, audited. `expires_days` of `None` means "until revoked".
pub async fn issue(
    store: &dyn Store,
    name: &str,
    role: AdminRole,
    expires_days: Option<u32>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<IssuedToken, TokenError> {
    let name = validate_name(name)?;
    if let Some(days) = expires_days
        && !(1..=MAX_EXPIRY_DAYS).contains(&days)
    {
        return Err(TokenError::Invalid(format!(
            "expires_days must be between 1 and {MAX_EXPIRY_DAYS}"
        )));
    }
    let id = hex::encode(rand::random::<[u8; ID_BYTES]>());
    let secret = hex::encode(rand::random::<[u8; SECRET_BYTES]>());
    let token = ApiToken {
        id: id.clone(),
        name,
        role,
        created_by: actor.to_owned(),
        created_at: now,
        expires_at: expires_days.map(|d| now + Duration::days(i64::from(d))),
        revoked_at: None,
        last_used_at: None,
    };
    let audit = AuditEvent::new(events::CREATE_API_TOKEN, Outcome::Success)
        .actor(actor)
        .target(actor_of(&token))
        .details(serde_json::json!({
            "id": token.id,
            "name": token.name,
            "role": role,
            "expires_at": token.expires_at.map(|t| t.unix_timestamp()),
        }));
    store
        .create_api_token(
            &NewApiToken {
                token: token.clone(),
                secret_sha256: sha256_hex(&secret),
            },
            &audit,
        )
        .await?;
    Ok(IssuedToken {
        secret: format!("{PREFIX}{id}_{secret}"),
        token,
    })
}

/// The live token a presented string proves, or `None` (malformed, unknown, wrong secret,
/// revoked or expired — the caller answers all alike). Stamps `last_used_at` at most once a
/// minute, so a busy script does not turn every read into a write.
pub async fn authenticate(
    store: &dyn Store,
    raw: &str,
    now: OffsetDateTime,
) -> Result<Option<ApiToken>, StoreError> {
    let Some((id, secret)) = parse(raw) else {
        return Ok(None);
    };
    let Some((token, stored)) = store.api_token(id).await? else {
        return Ok(None);
    };
    let presented = sha256_hex(secret);
    if !bool::from(presented.as_bytes().ct_eq(stored.as_bytes())) || !token.is_live(now) {
        return Ok(None);
    }
    if token
        .last_used_at
        .is_none_or(|at| now - at >= Duration::minutes(1))
    {
        store.touch_api_token(&token.id, now).await?;
    }
    Ok(Some(token))
}

/// Revokes a token, audited. False when there is no live token with this id.
pub async fn revoke(
    store: &dyn Store,
    id: &str,
    actor: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let Some((token, _)) = store.api_token(id).await? else {
        return Ok(false);
    };
    let audit = AuditEvent::new(events::REVOKE_API_TOKEN, Outcome::Success)
        .actor(actor)
        .target(actor_of(&token))
        .details(serde_json::json!({ "id": token.id, "name": token.name, "role": token.role }));
    store.revoke_api_token(id, now, &audit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_tokens_parse() {
        let id = "0123456789abcdef0123456789abcdef";
        let secret = "ab".repeat(32);
        let raw = format!("sspr_{id}_{secret}");
        assert_eq!(parse(&raw), Some((id, secret.as_str())));
        assert_eq!(parse(&raw[1..]), None, "prefix");
        assert_eq!(
            parse(&format!("sspr_{id}_{}", &secret[1..])),
            None,
            "length"
        );
        assert_eq!(parse(&raw.to_uppercase()), None, "upper-case hex");
        assert_eq!(parse(&format!("sspr_{id}{secret}")), None, "separator");
        assert_eq!(parse(&format!("{raw}_x")), None, "trailing");
    }

    #[test]
    fn liveness_follows_revocation_and_expiry() {
        let now = time::macros::datetime!(2026-11-25 08:00 UTC);
        let mut t = ApiToken {
            id: "x".into(),
            name: "n".into(),
            role: AdminRole::ReportsReader,
            created_by: "a".into(),
            created_at: now,
            expires_at: Some(now + Duration::days(1)),
            revoked_at: None,
            last_used_at: None,
        };
        assert!(t.is_live(now));
        assert!(!t.is_live(now + Duration::days(1)), "expiry is exclusive");
        t.expires_at = None;
        assert!(t.is_live(now + Duration::days(9999)));
        t.revoked_at = Some(now);
        assert!(!t.is_live(now));
    }

    #[test]
    fn names_are_bounded() {
        assert_eq!(validate_name("  ci  ").unwrap(), "ci");
        assert!(validate_name("").is_err());
        assert!(validate_name("a\nb").is_err());
        assert!(validate_name(&"x".repeat(101)).is_err());
    }
}
