use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ParseError, UserId};

/// A verification method ("gate") of SPEC §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodType {
    Email,
    MobileSms,
    MobileVoice,
    OfficeVoice,
    AuthenticatorCode,
    SecurityQuestions,
    Passkey,
}

impl MethodType {
    pub const ALL: [MethodType; 7] = [
        MethodType::Email,
        MethodType::MobileSms,
        MethodType::MobileVoice,
        MethodType::OfficeVoice,
        MethodType::AuthenticatorCode,
        MethodType::SecurityQuestions,
        MethodType::Passkey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MethodType::Email => "email",
            MethodType::MobileSms => "mobile_sms",
            MethodType::MobileVoice => "mobile_voice",
            MethodType::OfficeVoice => "office_voice",
            MethodType::AuthenticatorCode => "authenticator_code",
            MethodType::SecurityQuestions => "security_questions",
            MethodType::Passkey => "passkey",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == raw.trim())
            .ok_or_else(|| {
                ParseError::new(format!(
                    "unknown method {raw:?}; expected one of {}",
                    Self::ALL.map(|m| m.as_str()).join(", ")
                ))
            })
    }

    /// Methods an administrator may use: the fixed two-gate policy forbids security
    /// questions and voice calls (SPEC §2, Entra's administrator reset policy).
    pub fn allowed_for_admins(self) -> bool {
        matches!(
            self,
            MethodType::Email
                | MethodType::MobileSms
                | MethodType::AuthenticatorCode
                | MethodType::Passkey
        )
    }
}

impl fmt::Display for MethodType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id of a registered method: random, so that one user's ids say nothing about another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MethodId(pub Uuid);

impl MethodId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses an id from a URL; anything else is `None` (answered like an unknown id).
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw.trim()).ok().map(Self)
    }
}

impl Default for MethodId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MethodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A verification method a user registered themselves (SPEC §6). Contact data an
/// administrator or the directory set on the user's profile is not a row here; it counts
/// through the profile (see `service::eligibility::prepopulated_methods`).
#[derive(Clone, PartialEq, Eq)]
pub struct RegisteredMethod {
    pub id: MethodId,
    pub user_id: UserId,
    pub kind: MethodType,
    /// The email address or E.164 number the method sends to, or the name of a passkey;
    /// empty for the authenticator app and the security questions.
    pub label: String,
    /// What verifying needs and nobody may read: the sealed TOTP secret, the passkey
    /// credential, or the argon2id hashes of the question answers (JSON).
    pub secret: Option<String>,
    /// Authenticator: the last time step accepted (a step is never accepted twice).
    /// Passkey: the authenticator's signature counter.
    pub counter: i64,
    /// When the user proved the method (entered a code sent to it, or a code of the app).
    /// An unverified method counts for nothing.
    pub verified_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl RegisteredMethod {
    pub fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }
}

impl fmt::Debug for RegisteredMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredMethod")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("counter", &self.counter)
            .field("verified_at", &self.verified_at)
            .finish_non_exhaustive()
    }
}
