use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{EmailAddress, ParseError, PhoneNumber, Username};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The admin roles of SPEC §1. Holding any of them makes a user an admin, and admins fall
/// under the two-gate reset policy whatever the user policy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    GlobalAdmin,
    PasswordAdmin,
    HelpdeskAdmin,
    UserAdmin,
    ReportsReader,
}

impl AdminRole {
    pub const ALL: [AdminRole; 5] = [
        AdminRole::GlobalAdmin,
        AdminRole::PasswordAdmin,
        AdminRole::HelpdeskAdmin,
        AdminRole::UserAdmin,
        AdminRole::ReportsReader,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::GlobalAdmin => "global_admin",
            AdminRole::PasswordAdmin => "password_admin",
            AdminRole::HelpdeskAdmin => "helpdesk_admin",
            AdminRole::UserAdmin => "user_admin",
            AdminRole::ReportsReader => "reports_reader",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim())
            .ok_or_else(|| {
                ParseError::new(format!(
                    "unknown admin role {raw:?}; expected one of {}",
                    Self::ALL.map(|r| r.as_str()).join(", ")
                ))
            })
    }
}

impl fmt::Display for AdminRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the account lives: in sspr's own store, or in an on-premises directory that sspr
/// writes passwords back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserSource {
    Cloud,
    Directory,
}

impl UserSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSource::Cloud => "cloud",
            UserSource::Directory => "directory",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "cloud" => Ok(UserSource::Cloud),
            "directory" => Ok(UserSource::Directory),
            other => Err(ParseError::new(format!("unknown user source {other:?}"))),
        }
    }
}

/// A person's name as shown on pages and in messages: 1–256 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(ParseError::new("a name may not be empty"));
        }
        if value.chars().count() > 256 {
            return Err(ParseError::new("a name has at most 256 characters"));
        }
        if value.chars().any(char::is_control) {
            return Err(ParseError::new("a name may not contain control characters"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An argon2id hash in PHC string form. Its `Debug` never prints the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// Smart-lockout bookkeeping for cloud-only sign-in (SPEC §4); see `policy::lockout`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutState {
    /// Failed sign-ins since the last success or the last lockout.
    pub failed_count: u32,
    /// Lockouts since the last successful sign-in; each one lasts twice as long as the last.
    pub lockout_count: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: DisplayName,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<EmailAddress>,
    pub alternate_email: Option<EmailAddress>,
    pub mobile_phone: Option<PhoneNumber>,
    pub office_phone: Option<PhoneNumber>,
    pub roles: BTreeSet<AdminRole>,
    pub enabled: bool,
    pub source: UserSource,
    /// Locked by an administrator (or the directory): stays locked until unlocked.
    pub admin_locked: bool,
    pub lockout: LockoutState,
    pub password_hash: Option<PasswordHash>,
    pub password_changed_at: Option<OffsetDateTime>,
    /// When the user last registered or re-confirmed their security info.
    pub registration_confirmed_at: Option<OffsetDateTime>,
    /// When sign-in first interrupted the user to register (or re-confirm) since they last
    /// confirmed: the skip window of SPEC §2 counts from here.
    pub registration_prompted_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl User {
    pub fn is_admin(&self) -> bool {
        !self.roles.is_empty()
    }

    /// Locked now, either by an administrator or by smart lockout.
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.admin_locked || self.lockout.locked_until.is_some_and(|until| until > now)
    }
}

/// What it takes to create a user; the store assigns nothing but timestamps.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub username: Username,
    pub display_name: DisplayName,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<EmailAddress>,
    pub alternate_email: Option<EmailAddress>,
    pub mobile_phone: Option<PhoneNumber>,
    pub office_phone: Option<PhoneNumber>,
    pub roles: BTreeSet<AdminRole>,
    pub enabled: bool,
    pub source: UserSource,
    pub password_hash: Option<PasswordHash>,
}

impl NewUser {
    /// A cloud-only user with just a name; callers fill in the rest.
    pub fn cloud(username: Username, display_name: DisplayName) -> Self {
        Self {
            id: UserId::new(),
            username,
            display_name,
            first_name: None,
            last_name: None,
            email: None,
            alternate_email: None,
            mobile_phone: None,
            office_phone: None,
            roles: BTreeSet::new(),
            enabled: true,
            source: UserSource::Cloud,
            password_hash: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in AdminRole::ALL {
            assert_eq!(AdminRole::parse(role.as_str()).unwrap(), role);
        }
        assert!(AdminRole::parse("root").is_err());
    }

    #[test]
    fn hashes_are_not_printed() {
        let h = PasswordHash::from_phc("$argon2id$secret".into());
        assert!(!format!("{h:?}").contains("secret"));
    }

    #[test]
    fn display_names_refuse_control_characters() {
        assert!(DisplayName::parse("Ada\nLovelace").is_err());
        assert!(DisplayName::parse("   ").is_err());
        assert_eq!(DisplayName::parse(" Ada ").unwrap().as_str(), "Ada");
    }
}
