//! Every place a password is set — a self-service change, an administrator, the CLI, an
//! import, and later the reset flow — goes through the same checks (SPEC §3): the base policy,
//! Entra-style banned-password scoring against the global list, the administrator's custom
//! terms and the user's and organisation's names, the breached corpus, and the history.

use crate::audit::{AuditEvent, Outcome, events};
use crate::policy::banned::{BannedList, TermSource, score};
use crate::policy::password::{PasswordPolicy, PasswordProblem};
use crate::ports::{BreachedPasswords, HashError, PasswordHasher, Store, StoreError};
use crate::{FieldError, PasswordHash, User, UserSource};

/// The rules in force, gathered once per request.
pub struct PasswordRules<'a> {
    pub policy: &'a PasswordPolicy,
    pub global: &'a BannedList,
    /// The administrator's terms, indexed (built from `policy.custom_banned_terms`).
    pub custom: &'a BannedList,
    pub breached: &'a dyn BreachedPasswords,
    pub organisation: &'a str,
}

/// One rule and whether a candidate passes it, for feedback while the user types.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleCheck {
    /// `length`, `characters`, `classes`, `guessable` or `breached`.
    pub rule: &'static str,
    pub passed: bool,
    pub message: String,
    /// The problem found, when the rule failed (for callers that word it themselves).
    #[serde(skip)]
    pub problem: Option<PasswordProblem>,
}

/// The names of a user a password may not be built on: first and last name, display name
/// (Entra's "friendly name") and the username (its local part for UPN-style names).
pub fn user_names(user: &User) -> Vec<&str> {
    let username = user.username.as_str();
    user.first_name
        .as_deref()
        .into_iter()
        .chain(user.last_name.as_deref())
        .chain([
            user.display_name.as_str(),
            username.split('@').next().unwrap_or(username),
        ])
        .collect()
}

impl PasswordRules<'_> {
    /// Every rule the password breaks except history (which needs the stored hashes).
    pub fn check(&self, password: &str, user: Option<&User>) -> Vec<PasswordProblem> {
        self.check_with_names(password, &user.map(user_names).unwrap_or_default())
    }

    /// As [`Self::check`], for a user who does not exist yet (an import) and so is known only
    /// by their names. The organisation's name is always added.
    pub fn check_with_names(&self, password: &str, user_names: &[&str]) -> Vec<PasswordProblem> {
        let mut problems = self.policy.check(password);
        // Names are matched word by word: "Contoso Ltd" bans "contoso", "Ada Lovelace" both
        // words (words shorter than 4 characters are ignored by the scoring).
        let names: Vec<&str> = user_names
            .iter()
            .chain([&self.organisation])
            .flat_map(|n| n.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .collect();
        let custom = if self.policy.enforce_custom_list {
            self.custom
        } else {
            &EMPTY
        };
        let verdict = score(password, self.global, custom, &names);
        if !verdict.accepted {
            // Say which kind of term made it guessable, never the term itself.
            if verdict.matched.contains(&TermSource::Custom) {
                problems.push(PasswordProblem::BlockedByAdministrator);
            } else {
                problems.push(PasswordProblem::EasilyGuessed);
            }
        }
        if self.policy.check_breached && self.breached.is_breached(password) {
            problems.push(PasswordProblem::Breached);
        }
        problems
    }

    /// Each rule with pass/fail, for the feedback endpoint.
    pub fn explain(&self, password: &str, user: Option<&User>) -> Vec<RuleCheck> {
        let problems = self.check(password, user);
        let failed = |pred: &dyn Fn(&PasswordProblem) -> bool| problems.iter().find(|p| pred(p));
        let rule =
            |name: &'static str, ok_text: String, found: Option<&PasswordProblem>| RuleCheck {
                rule: name,
                passed: found.is_none(),
                message: found.map_or(ok_text, ToString::to_string),
                problem: found.cloned(),
            };
        let mut rules = vec![
            rule(
                "length",
                format!(
                    "between {} and {} characters",
                    self.policy.min_length,
                    PasswordPolicy::MAX_LENGTH
                ),
                failed(&|p| {
                    matches!(
                        p,
                        PasswordProblem::TooShort { .. } | PasswordProblem::TooLong { .. }
                    )
                }),
            ),
            rule(
                "characters",
                "only allowed characters".into(),
                failed(&|p| matches!(p, PasswordProblem::DisallowedCharacter)),
            ),
        ];
        if self.policy.require_three_classes {
            rules.push(rule(
                "classes",
                "at least three of: upper case, lower case, digits, symbols".into(),
                failed(&|p| matches!(p, PasswordProblem::TooFewClasses)),
            ));
        }
        rules.push(rule(
            "guessable",
            "not based on common passwords or names".into(),
            failed(&|p| {
                matches!(
                    p,
                    PasswordProblem::EasilyGuessed | PasswordProblem::BlockedByAdministrator
                )
            }),
        ));
        if self.policy.check_breached {
            rules.push(rule(
                "breached",
                "not found in known data breaches".into(),
                failed(&|p| matches!(p, PasswordProblem::Breached)),
            ));
        }
        rules
    }
}

static EMPTY: std::sync::LazyLock<BannedList> =
    std::sync::LazyLock::new(|| BannedList::new(Vec::<String>::new()));

/// Why a password was not set.
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

/// Who is setting the password: the user themselves (who must not keep the current one), or
/// someone on their behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetBy {
    SelfChange,
    OnBehalf,
}

/// Checks every rule and, if the password passes, stores its hash with the audit record.
pub async fn set_password(
    store: &dyn Store,
    hasher: &dyn PasswordHasher,
    rules: &PasswordRules<'_>,
    user: &User,
    password: &str,
    by: SetBy,
    audit: &AuditEvent,
) -> Result<(), SetPasswordError> {
    let hash = checked_hash(store, hasher, rules, user, password, by).await?;
    store
        .set_password(user.id, &hash, rules.policy.history, audit)
        .await?;
    Ok(())
}

/// Checks every rule (the history against the current and earlier hashes) and returns the
/// new password's hash, for the caller to store: [`set_password`], or a reset, which stores
/// it with the end of its flow.
pub async fn checked_hash(
    store: &dyn Store,
    hasher: &dyn PasswordHasher,
    rules: &PasswordRules<'_>,
    user: &User,
    password: &str,
    by: SetBy,
) -> Result<PasswordHash, SetPasswordError> {
    if user.source != UserSource::Cloud {
        return Err(SetPasswordError::DirectoryUser);
    }
    // Cheap checks first: no hashing work for a password that fails them anyway.
    let problems = rules.check(password, Some(user));
    if !problems.is_empty() {
        return Err(SetPasswordError::Policy(problems));
    }
    if let Some(current) = &user.password_hash
        && (by == SetBy::SelfChange || rules.policy.history > 0)
        && hasher.verify(password, current).await?
    {
        return Err(SetPasswordError::Policy(vec![if by == SetBy::SelfChange {
            PasswordProblem::SameAsCurrent
        } else {
            PasswordProblem::Reused
        }]));
    }
    // History N: the current password plus the N − 1 before it.
    let older = usize::from(rules.policy.history).saturating_sub(1);
    if older > 0 {
        for old in store.password_history(user.id).await?.iter().take(older) {
            if hasher.verify(password, old).await? {
                return Err(SetPasswordError::Policy(vec![PasswordProblem::Reused]));
            }
        }
    }
    Ok(hasher.hash(password).await?)
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordPolicyUpdateError {
    #[error("invalid password policy: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates and stores a new password policy (custom terms cleaned: trimmed, deduplicated),
/// auditing old and new values. Returns the names of the settings that changed.
pub async fn update_password_policy(
    store: &dyn Store,
    new: &PasswordPolicy,
    actor: &str,
) -> Result<Vec<String>, PasswordPolicyUpdateError> {
    new.validate().map_err(PasswordPolicyUpdateError::Invalid)?;
    let mut new = new.clone();
    new.custom_banned_terms =
        crate::policy::banned::validate_custom_terms(&new.custom_banned_terms)
            .map_err(PasswordPolicyUpdateError::Invalid)?;
    let old = store.password_policy().await?;
    let (old_v, new_v) = (
        serde_json::to_value(&old).unwrap_or_default(),
        serde_json::to_value(&new).unwrap_or_default(),
    );
    let mut changes = Vec::new();
    let mut details = Vec::new();
    for (k, o) in old_v.as_object().into_iter().flatten() {
        let n = new_v.get(k).cloned().unwrap_or_default();
        if *o != n {
            changes.push(k.clone());
            details.push(serde_json::json!({"setting": k, "old": o, "new": n}));
        }
    }
    if changes.is_empty() {
        return Ok(changes);
    }
    let audit = AuditEvent::new(events::PASSWORD_POLICY_CHANGED, Outcome::Success)
        .actor(actor)
        .target("password_policy")
        .details(serde_json::json!({ "changes": details }));
    store.put_password_policy(&new, &audit).await?;
    Ok(changes)
}
