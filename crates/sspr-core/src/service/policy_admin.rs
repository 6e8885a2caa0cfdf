//! Changing the SSPR policy: validate every field, check the target group exists, store, and
//! audit the change with old and new values — in one transaction.

use crate::audit::{AuditEvent, Outcome, events};
use crate::ports::{Store, StoreError};
use crate::{FieldError, SsprPolicy};

#[derive(Debug, thiserror::Error)]
pub enum PolicyUpdateError {
    #[error("invalid policy: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores `new` if it is valid and differs from the stored policy. Returns the changes made as
/// `(setting, old, new)`; nothing is written or audited when there are none.
pub async fn update_policy(
    store: &dyn Store,
    new: &SsprPolicy,
    actor: &str,
) -> Result<Vec<(String, serde_json::Value, serde_json::Value)>, PolicyUpdateError> {
    new.validate().map_err(PolicyUpdateError::Invalid)?;
    if let Some(group) = new.target_group
        && store.get_group(group).await?.is_none()
    {
        return Err(PolicyUpdateError::Invalid(vec![FieldError {
            field: "target_group".into(),
            message: "no such group".into(),
        }]));
    }
    let old = store.policy().await?;
    let changes = old.diff(new);
    if changes.is_empty() {
        return Ok(changes);
    }
    let details = serde_json::json!({
        "changes": changes
            .iter()
            .map(|(k, o, n)| serde_json::json!({"setting": k, "old": o, "new": n}))
            .collect::<Vec<_>>(),
    });
    let audit = AuditEvent::new(events::POLICY_CHANGED, Outcome::Success)
        .actor(actor)
        .target("sspr_policy")
        .details(details);
    store.put_policy(new, &audit).await?;
    Ok(changes)
}
