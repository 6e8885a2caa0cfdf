//! Setting a password, unlocking, reading the lock state and checking a password wherever the
//! account lives: in the built-in store (cloud-only users) or in the on-premises directory
//! (directory-sourced users, through the [`DirectoryAccounts`] port). The reset flow, the
//! admin actions and sign-in call this and never branch on the user's source themselves.
//!
//! Honest writes (DESIGN rule 7): a directory write counts only once the directory confirmed
//! it; every attempt, refused or failed, leaves an audit record; an outage is a retryable error,
//! never a success.
//!
//! The password rules of sspr (`service::passwords::PasswordRules`) are the caller's job and
//! run before this: what this adds is the directory's own policy, and sspr's own history of
//! the passwords it set for directories that do not apply history to a reset (Samba AD).

use crate::audit::{AuditEvent, Outcome};
use crate::ports::{
    BindOutcome, DirectoryAccounts, DirectoryError, HashError, LockState, PasswordHasher,
    PasswordRejection, Store, StoreError,
};
use crate::{User, UserSource};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The directory refused or failed; its message is meant for the user.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// A directory-sourced user, but no directory is configured.
    #[error("this account lives in an on-premises directory that sspr is not connected to")]
    NoDirectory,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The use case. `history` is the password policy's history length: for directory users sspr
/// keeps the hashes of the passwords it set, and refuses a reuse before writing when the
/// directory would not (see [`DirectoryAccounts::enforces_history_on_reset`]).
pub struct Accounts<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a dyn PasswordHasher,
    pub directory: Option<&'a dyn DirectoryAccounts>,
    pub history: u8,
}

impl Accounts<'_> {
    fn directory_of(&self, user: &User) -> Result<Option<&dyn DirectoryAccounts>, AccountError> {
        match user.source {
            UserSource::Cloud => Ok(None),
            UserSource::Directory => self.directory.map(Some).ok_or(AccountError::NoDirectory),
        }
    }

    /// Sets `password` as the user's new password (the caller checked sspr's rules). `audit`
    /// names the event (self-service reset, admin reset, …) with its actor and context; it is
    /// stored with outcome success once the write is confirmed, or failure with the reason.
    pub async fn set_password(
        &self,
        user: &User,
        password: &str,
        audit: &AuditEvent,
    ) -> Result<(), AccountError> {
        let Some(directory) = self.directory_of(user)? else {
            let hash = self.hasher.hash(password).await?;
            self.store
                .set_password(user.id, &hash, self.history, audit)
                .await?;
            return Ok(());
        };
        if !directory.enforces_history_on_reset() && self.used_before(user, password).await? {
            let err = DirectoryError::Rejected {
                reason: PasswordRejection::InHistory,
                detail: "refused by sspr: the password is in sspr's history of passwords it set"
                    .into(),
            };
            self.record_failure(audit, &err).await?;
            return Err(err.into());
        }
        // Hash before writing: once the directory has the new password, a busy hashing pool
        // must not turn a confirmed write into an error.
        let hash = self.hasher.hash(password).await?;
        if let Err(err) = directory.set_password(user, password).await {
            self.record_failure(audit, &err).await?;
            return Err(err.into());
        }
        // Confirmed: keep the hash (sspr's own history) with the success record, in one
        // transaction. Sign-in of directory users never uses it (they bind).
        self.store
            .set_password(user.id, &hash, self.history, audit)
            .await?;
        Ok(())
    }

    /// Unlocks without changing the password (SPEC §5 unlock-only, admin unlock).
    pub async fn unlock(&self, user: &User, audit: &AuditEvent) -> Result<(), AccountError> {
        let Some(directory) = self.directory_of(user)? else {
            self.store.set_admin_locked(user.id, false, audit).await?;
            return Ok(());
        };
        if let Err(err) = directory.unlock(user).await {
            self.record_failure(audit, &err).await?;
            return Err(err.into());
        }
        self.store.append_audit(audit).await?;
        Ok(())
    }

    /// Whether the account is locked now: the directory's lockout for directory users.
    pub async fn lock_state(
        &self,
        user: &User,
        now: time::OffsetDateTime,
    ) -> Result<LockState, AccountError> {
        match self.directory_of(user)? {
            None => Ok(if user.is_locked(now) {
                LockState::Locked { since: None }
            } else {
                LockState::Unlocked
            }),
            Some(directory) => Ok(directory.lock_state(user).await?),
        }
    }

    /// Checks a directory user's password by a bind. (Cloud users sign in through
    /// `service::signin`, which adds smart lockout.)
    pub async fn bind(&self, user: &User, password: &str) -> Result<BindOutcome, AccountError> {
        match self.directory_of(user)? {
            Some(directory) => Ok(directory.bind(user, password).await?),
            None => Err(AccountError::NoDirectory),
        }
    }

    /// True when `password` is the last one sspr set for the user or among the `history − 1`
    /// before it (the same meaning as the cloud history).
    async fn used_before(&self, user: &User, password: &str) -> Result<bool, AccountError> {
        if self.history == 0 {
            return Ok(false);
        }
        if let Some(current) = &user.password_hash
            && self.hasher.verify(password, current).await?
        {
            return Ok(true);
        }
        let older = usize::from(self.history).saturating_sub(1);
        for old in self
            .store
            .password_history(user.id)
            .await?
            .iter()
            .take(older)
        {
            if self.hasher.verify(password, old).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn record_failure(
        &self,
        audit: &AuditEvent,
        err: &DirectoryError,
    ) -> Result<(), StoreError> {
        self.store.append_audit(&failure_event(audit, err)).await?;
        Ok(())
    }
}

/// The failure record of an attempt: the directory's detail for administrators, a stable
/// reason code, and whether trying again may help. Never the password.
pub fn failure_event(audit: &AuditEvent, err: &DirectoryError) -> AuditEvent {
    let mut event = audit.clone();
    event.outcome = Outcome::Failure;
    let (code, detail) = match err {
        DirectoryError::Rejected { reason, detail } => (reason.code(), detail.clone()),
        DirectoryError::NotFound => ("not_found", String::new()),
        DirectoryError::Disabled => ("disabled", String::new()),
        DirectoryError::Unavailable(d) => ("directory_unavailable", d.clone()),
        DirectoryError::Refused(d) => ("directory_refused", d.clone()),
    };
    event.reason = Some(err.to_string());
    event.details = serde_json::json!({
        "code": code,
        "detail": detail,
        "retryable": err.is_retryable(),
    });
    event
}
