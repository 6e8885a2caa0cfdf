//! Sign-in (SPEC §4, §6): cloud-only users by their argon2id hash with smart lockout;
//! directory-sourced users by an LDAP bind through the [`DirectoryAccounts`] port (the
//! directory keeps its own lockout).
//!
//! Every failure looks the same to the caller ("invalid credentials"), and an unknown user
//! costs one hash like a known one, so neither the answer nor its timing tells a stranger
//! whether an account exists. "Locked" is only said once the password was right.

use time::OffsetDateTime;

use crate::audit::{AuditEvent, Outcome, events};
use crate::policy::lockout::LockoutPolicy;
use crate::ports::{
    BindOutcome, Clock, DirectoryAccounts, DirectoryError, HashError, PasswordHasher, Store,
    StoreError,
};
use crate::{User, UserSource, Username};

#[derive(Debug)]
pub enum SignInOutcome {
    Success(Box<User>),
    InvalidCredentials,
    /// The password was right but the account is locked.
    Locked {
        until: Option<OffsetDateTime>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The directory could not check a directory user's password (an outage): retryable.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

pub struct SignIn<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a dyn PasswordHasher,
    pub clock: &'a dyn Clock,
    pub lockout: LockoutPolicy,
    /// Where directory-sourced users' passwords are checked; `None` when no directory is
    /// connected (they then cannot sign in).
    pub directory: Option<&'a dyn DirectoryAccounts>,
}

impl SignIn<'_> {
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client_ip: Option<&str>,
    ) -> Result<SignInOutcome, SignInError> {
        // Under overload, refuse before any work: no database lookup for a request that the
        // hashing pool would turn away anyway.
        if self.hasher.at_capacity() {
            return Err(HashError::Busy.into());
        }
        let user = match Username::parse(username) {
            Ok(name) => self.store.find_user(&name).await?,
            Err(_) => None,
        };
        if let (Some(u), Some(directory)) = (&user, self.directory)
            && u.source == UserSource::Directory
        {
            return self.sign_in_directory(u.clone(), password, directory).await;
        }
        let Some((user, hash)) = user.and_then(|u| match (&u.password_hash, u.source) {
            (Some(h), UserSource::Cloud) => Some((u.clone(), h.clone())),
            _ => None,
        }) else {
            self.hasher.verify_dummy(password).await?;
            return Ok(SignInOutcome::InvalidCredentials);
        };
        let password_ok = self.hasher.verify(password, &hash).await?;
        let now = self.clock.now();
        if password_ok {
            if !user.enabled {
                return Ok(SignInOutcome::InvalidCredentials);
            }
            if user.is_locked(now) {
                let until = if user.admin_locked {
                    None
                } else {
                    user.lockout.locked_until
                };
                return Ok(SignInOutcome::Locked { until });
            }
            if user.lockout != Default::default() {
                // Losing this race to a concurrent failure is harmless: the success still
                // stands, and the failure is counted.
                self.store
                    .update_lockout(user.id, &user.lockout, &self.lockout.after_success(), None)
                    .await?;
            }
            return Ok(SignInOutcome::Success(Box::new(user)));
        }
        self.count_failure(user, now, client_ip).await?;
        Ok(SignInOutcome::InvalidCredentials)
    }

    /// A directory user: the directory's bind decides. It also spends one dummy hash, so that
    /// the answer takes at least as long as for a cloud-only or unknown user.
    async fn sign_in_directory(
        &self,
        user: User,
        password: &str,
        directory: &dyn DirectoryAccounts,
    ) -> Result<SignInOutcome, SignInError> {
        self.hasher.verify_dummy(password).await?;
        if !user.enabled {
            return Ok(SignInOutcome::InvalidCredentials);
        }
        Ok(match directory.bind(&user, password).await? {
            // The password is right; the directory only wants it changed, which sspr offers.
            BindOutcome::Success | BindOutcome::MustChange => {
                SignInOutcome::Success(Box::new(user))
            }
            // AD (775) and ppolicy say "locked" whether or not the password was right, and
            // sspr says "locked" only after a right password: so it says nothing here. The
            // reset flow offers the unlock.
            BindOutcome::Locked
            | BindOutcome::InvalidCredentials
            | BindOutcome::Disabled
            | BindOutcome::Expired => SignInOutcome::InvalidCredentials,
        })
    }

    /// Adds one failure with compare-and-set, re-reading on a lost race so that parallel
    /// failures are all counted.
    async fn count_failure(
        &self,
        mut user: User,
        now: OffsetDateTime,
        client_ip: Option<&str>,
    ) -> Result<(), SignInError> {
        // Every lost race means another failure was counted, so with N sign-ins racing on one
        // account this loops at most N times; the bound only guards against a broken store.
        for _ in 0..64 {
            let next = self.lockout.after_failure(user.lockout, now);
            if next == user.lockout {
                return Ok(());
            }
            let audit = (next.lockout_count > user.lockout.lockout_count).then(|| {
                let mut e = AuditEvent::new(events::SMART_LOCKOUT, Outcome::Success)
                    .actor("system")
                    .target(user.username.as_str())
                    .reason("too many failed sign-ins")
                    .details(serde_json::json!({
                        "lockout_count": next.lockout_count,
                        "locked_until": next.locked_until.map(|t| t.unix_timestamp()),
                    }));
                e.client_ip = client_ip.map(str::to_owned);
                e
            });
            if self
                .store
                .update_lockout(user.id, &user.lockout, &next, audit.as_ref())
                .await?
            {
                return Ok(());
            }
            match self.store.get_user(user.id).await? {
                Some(fresh) => user = fresh,
                None => return Ok(()),
            }
        }
        Ok(())
    }
}
