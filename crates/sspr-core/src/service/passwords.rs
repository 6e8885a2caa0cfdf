//! Setting a cloud-only user's password on someone's authority (an administrator, the CLI,
//! an import): the base policy and the history apply, then the hash is stored with an audit
//! record.

use crate::audit::AuditEvent;
use crate::policy::password::{PasswordPolicy, PasswordProblem};
use crate::ports::{HashError, PasswordHasher, Store, StoreError};
use crate::{User, UserSource};

#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    #[error("the password does not meet the policy: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Policy(Vec<PasswordProblem>),
    #[error("this user's password lives in the on-premises directory")]
    DirectoryUser,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn set_password(
    store: &dyn Store,
    hasher: &dyn PasswordHasher,
    policy: &PasswordPolicy,
    user: &User,
    password: &str,
    audit: &AuditEvent,
) -> Result<(), SetPasswordError> {
    if user.source != UserSource::Cloud {
        return Err(SetPasswordError::DirectoryUser);
    }
    let problems = policy.check(password);
    if !problems.is_empty() {
        return Err(SetPasswordError::Policy(problems));
    }
    if policy.history > 0 {
        // The current password plus the newest `history - 1` previous ones.
        let mut recent: Vec<_> = user.password_hash.iter().cloned().collect();
        recent.extend(
            store
                .password_history(user.id)
                .await?
                .into_iter()
                .take(usize::from(policy.history).saturating_sub(1)),
        );
        for old in &recent {
            if hasher.verify(password, old).await? {
                return Err(SetPasswordError::Policy(vec![PasswordProblem::Reused]));
            }
        }
    }
    let hash = hasher.hash(password).await?;
    store
        .set_password(user.id, &hash, policy.history, audit)
        .await?;
    Ok(())
}
