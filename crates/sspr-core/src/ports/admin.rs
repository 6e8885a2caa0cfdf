//! What the administration API needs from the store beyond the user and group basics: API
//! tokens, a filtered audit query, and pages with a total (so a portal can show "page 3 of 40"
//! without loading every row).

use time::OffsetDateTime;

use crate::AdminRole;

/// An API token as the store keeps it: never the secret, only its SHA-256 (see
/// `service::api_tokens`, which makes and checks tokens).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    /// The public part of the token (`sspr_<id>_<secret>`): 32 hex characters.
    pub id: String,
    pub name: String,
    /// The one role the token acts with.
    pub role: AdminRole,
    /// Who created it (an actor string, as in the audit log).
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl ApiToken {
    /// Usable at `now`: not revoked and not expired.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A token to store: its metadata and the hex SHA-256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub token: ApiToken,
    pub secret_sha256: String,
}

/// Which audit records to return; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// Before.
    pub to: Option<OffsetDateTime>,
    /// Exactly this event type.
    pub event_type: Option<String>,
    /// Records whose actor or target is exactly this (a username, a token actor, a group).
    pub user: Option<String>,
    pub outcome: Option<crate::audit::Outcome>,
}

/// One page of a longer list, with the length of the whole list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}
