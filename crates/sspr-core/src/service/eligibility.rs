//! Resolves a stored user's SSPR eligibility and registration state: loads the policy, the
//! user's nested group membership and registered methods, and applies
//! `policy::eligibility::decide`.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::policy::eligibility::{Eligible, NotEligible, Subject, decide};
use crate::policy::groups::is_transitive_member;
use crate::ports::{Store, StoreError};
use crate::{MethodType, RegisteredMethod, SsprPolicy, User};

/// The methods a user holds through contact data an administrator or the directory
/// prepopulated, which count as registered (SPEC §6, as in Entra). `evaluate` adds the
/// methods the user registered and verified themselves.
pub fn prepopulated_methods(user: &User) -> BTreeSet<MethodType> {
    let mut methods = BTreeSet::new();
    if user.email.is_some() || user.alternate_email.is_some() {
        methods.insert(MethodType::Email);
    }
    if user.mobile_phone.is_some() {
        methods.insert(MethodType::MobileSms);
        methods.insert(MethodType::MobileVoice);
    }
    if user.office_phone.is_some() {
        methods.insert(MethodType::OfficeVoice);
    }
    methods
}

pub async fn evaluate(
    store: &dyn Store,
    user: &User,
    now: OffsetDateTime,
) -> Result<Result<Eligible, NotEligible>, StoreError> {
    let policy = store.policy().await?;
    let methods = store.list_methods(user.id).await?;
    evaluate_with(store, &policy, user, &methods, now).await
}

/// [`evaluate`] with the policy and the user's registered methods already loaded (the reset
/// flow's start needs both anyway, and reads each once).
pub async fn evaluate_with(
    store: &dyn Store,
    policy: &SsprPolicy,
    user: &User,
    methods: &[RegisteredMethod],
    now: OffsetDateTime,
) -> Result<Result<Eligible, NotEligible>, StoreError> {
    let in_target_group = match policy.target_group {
        Some(target) => {
            let direct = store.groups_of_user(user.id).await?;
            let parents = if direct.is_empty() {
                Default::default()
            } else {
                store.group_parents().await?
            };
            is_transitive_member(&direct, &parents, target)
        }
        None => false,
    };
    let mut registered = prepopulated_methods(user);
    registered.extend(methods.iter().filter(|m| m.is_verified()).map(|m| m.kind));
    Ok(decide(
        policy,
        &Subject {
            enabled: user.enabled,
            is_admin: user.is_admin(),
            in_target_group,
            registered: &registered,
            registration_confirmed_at: user.registration_confirmed_at,
        },
        now,
    ))
}
