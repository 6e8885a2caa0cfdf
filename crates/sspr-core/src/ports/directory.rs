//! The directory port: where a user's password lives and how it is changed, checked and
//! unlocked, whatever the user's source (SPEC §7). The built-in store implements it for
//! cloud-only users; the LDAP and Active Directory connectors of `sspr-directory` implement
//! it for directory-sourced users. The reset flow, sign-in and the admin actions call this
//! port and never care which one is behind it.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::User;

/// Why the directory refused a new password. Each variant has a message a user can act on
/// ([`PasswordRejection::message`]); `detail` keeps the directory's own words for the audit
/// log and the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRejection {
    TooShort,
    /// Not complex enough (AD complexity, ppolicy quality).
    Complexity,
    /// Used before (the directory's history, or sspr's own history of what it set).
    InHistory,
    /// Changed too recently (minimum password age).
    TooYoung,
    /// Any other policy reason the directory gave.
    Other,
}

impl PasswordRejection {
    /// What the user is told: clear, and never the banned list or the directory's internals.
    pub fn message(&self) -> &'static str {
        match self {
            PasswordRejection::TooShort => {
                "The password is too short for your organisation's directory."
            }
            PasswordRejection::Complexity => {
                "The password is not complex enough: mix upper- and lower-case letters, digits \
                 and symbols, and do not use your name."
            }
            PasswordRejection::InHistory => {
                "You used this password recently. Choose one you have not used before."
            }
            PasswordRejection::TooYoung => {
                "The password was changed too recently; try again later or contact your helpdesk."
            }
            PasswordRejection::Other => {
                "Your organisation's directory did not accept this password. Choose another."
            }
        }
    }

    /// A stable code for the API (`reasons`) and the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordRejection::TooShort => "too_short",
            PasswordRejection::Complexity => "complexity",
            PasswordRejection::InHistory => "in_history",
            PasswordRejection::TooYoung => "too_young",
            PasswordRejection::Other => "rejected",
        }
    }
}

/// Why a directory operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The directory's password policy refused the password. Nothing was changed.
    #[error("{}", .reason.message())]
    Rejected {
        reason: PasswordRejection,
        /// The directory's words (e.g. `0000052D: … too short`), for logs and audit.
        detail: String,
    },
    /// No account, or more than one, matches the user (lookup is exactly-one).
    #[error("the account was not found in the directory")]
    NotFound,
    /// The account is disabled in the directory (AD 533).
    #[error("the account is disabled")]
    Disabled,
    /// The directory could not be reached, or did not answer in time. Retryable; when it
    /// happened during a write the outcome is unknown and is not reported as success.
    #[error("the directory is unavailable: {0}")]
    Unavailable(String),
    /// The service account may not do this, or sspr is misconfigured: an administrator must
    /// act (the detail says what).
    #[error("the directory refused sspr: {0}")]
    Refused(String),
}

impl DirectoryError {
    /// True when trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DirectoryError::Unavailable(_))
    }
}

/// The lock state of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    Unlocked,
    /// Locked (by failed sign-ins or an administrator) since `since` when the directory says.
    Locked {
        since: Option<OffsetDateTime>,
    },
}

impl LockState {
    pub fn is_locked(&self) -> bool {
        matches!(self, LockState::Locked { .. })
    }
}

/// What a password check (a bind) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindOutcome {
    Success,
    InvalidCredentials,
    /// The password may or may not be right; the account is locked (AD 775, ppolicy).
    Locked,
    /// AD 533.
    Disabled,
    /// The password was right but must be changed before use (AD 773, ppolicy
    /// changeAfterReset); sspr lets the user reset it.
    MustChange,
    /// AD 532 / ppolicy passwordExpired.
    Expired,
}

/// Whether writeback works, for the admin portal (SPEC §7).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WritebackStatus {
    /// e.g. `ldaps://dc1.example.com:636 (active_directory)`.
    pub directory: String,
    pub reachable: Check,
    pub bind: Check,
    pub write: Check,
}

impl WritebackStatus {
    pub fn healthy(&self) -> bool {
        [&self.reachable, &self.bind, &self.write]
            .iter()
            .all(|c| !matches!(c, Check::Failed { .. }))
    }
}

/// One step of the writeback status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Check {
    Ok,
    Failed {
        error: String,
    },
    /// Not checked (an earlier step failed, or nothing is configured to check it with).
    Skipped {
        why: String,
    },
}

/// Where the passwords of one source live.
#[async_trait]
pub trait DirectoryAccounts: Send + Sync {
    /// Sets a new password (an administrative reset, as in a self-service reset): success only
    /// once the directory confirmed the write.
    async fn set_password(&self, user: &User, new_password: &str) -> Result<(), DirectoryError>;
    /// Clears the lock (failed-sign-in lockout) without touching the password.
    async fn unlock(&self, user: &User) -> Result<(), DirectoryError>;
    async fn lock_state(&self, user: &User) -> Result<LockState, DirectoryError>;
    /// Checks a password (sign-in). Failures count towards the directory's lockout.
    async fn bind(&self, user: &User, password: &str) -> Result<BindOutcome, DirectoryError>;
    /// True when the directory itself refuses a reset to a password in its history. When it
    /// does not (Samba AD on an admin reset), sspr keeps its own history of what it set.
    fn enforces_history_on_reset(&self) -> bool;
    /// Reachable, bind works, a test write path works: or the exact failure.
    async fn status(&self) -> WritebackStatus;
}

// ---------------------------------------------------------------------------------------------
// Sync: directory users and groups in sspr's store.

/// A user as read from the directory, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedUser {
    /// entryUUID / objectGUID: stable across renames and moves.
    pub external_id: String,
    pub dn: String,
    pub username: crate::Username,
    pub display_name: crate::DisplayName,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<crate::EmailAddress>,
    pub mobile_phone: Option<crate::PhoneNumber>,
    pub office_phone: Option<crate::PhoneNumber>,
    /// False when disabled (AD) or locked by an administrator (ppolicy): no SSPR.
    pub enabled: bool,
    /// A digest of the entry as read from the directory: when it equals the stored one the
    /// entry is unchanged, and the sync skips it without even parsing it.
    pub digest: String,
}

/// A group as read from the directory, with its members' DNs (users and groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedGroup {
    pub external_id: String,
    pub dn: String,
    pub name: crate::GroupName,
    pub member_dns: Vec<String>,
}

/// A synced user's link to its directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryLink {
    pub user_id: crate::UserId,
    pub dn: String,
    pub digest: String,
    pub enabled: bool,
}

/// What one batch of a sync changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchCounts {
    pub created: u64,
    pub updated: u64,
    /// A cloud-only user (or another entry) already holds the username: left alone.
    pub conflicts: u64,
}

/// The store side of sync: batched, so that 100,000 users take seconds.
#[async_trait]
pub trait DirectorySyncStore: Send + Sync {
    /// Every synced user's link, by external id (the sync compares digests against it).
    async fn directory_links(
        &self,
    ) -> Result<std::collections::HashMap<String, DirectoryLink>, crate::ports::StoreError>;
    /// Creates or updates the users in one transaction, with `audit` (whose details the store
    /// completes with the counts and usernames) when anything changed.
    async fn upsert_directory_users(
        &self,
        users: &[SyncedUser],
        audit: &crate::audit::AuditEvent,
    ) -> Result<BatchCounts, crate::ports::StoreError>;
    /// Disables these synced users (they left the directory), in one audited transaction.
    async fn disable_directory_users(
        &self,
        external_ids: &[String],
        audit: &crate::audit::AuditEvent,
    ) -> Result<u64, crate::ports::StoreError>;
    /// Creates or renames the directory's groups and replaces their members (users and groups
    /// named by DN; DNs sspr does not know are ignored). Returns how many groups were synced.
    async fn sync_directory_groups(
        &self,
        groups: &[SyncedGroup],
        audit: &crate::audit::AuditEvent,
    ) -> Result<u64, crate::ports::StoreError>;
    /// The incremental-sync watermark (modifyTimestamp or uSNChanged), if any.
    async fn directory_sync_mark(&self) -> Result<Option<String>, crate::ports::StoreError>;
    async fn set_directory_sync_mark(
        &self,
        mark: &str,
        audit: &crate::audit::AuditEvent,
    ) -> Result<(), crate::ports::StoreError>;
}

/// A sync on demand (the admin API): the server wires the directory and the store into it.
#[async_trait]
pub trait DirectorySyncJob: Send + Sync {
    /// Runs one sync (`full`, or incremental when a watermark exists) and returns its report.
    async fn run(&self, full: bool, actor: &str) -> Result<serde_json::Value, DirectoryError>;
}
