use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

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
