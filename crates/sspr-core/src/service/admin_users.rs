//! Administrators acting on users of the built-in directory: create, change, delete, reset a
//! password, unlock, require re-registration, revoke sessions (SPEC §7, §9 "admin actions").
//! Each action checks the caller's reach over the target (`admin_access`), validates its
//! input, writes, and leaves an audit record naming the caller and the target. The web API,
//! the admin portal and the CLI call these and so cannot differ in what they allow.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::audit::{AuditEvent, Outcome, events};
use crate::policy::password::PasswordProblem;
use crate::ports::{
    DirectoryAccounts, DirectoryError, HashError, PasswordHasher, ProfileUpdate, Store, StoreError,
};
use crate::service::accounts::{AccountError, Accounts};
use crate::service::admin_access::{AdminAction, may, may_act_on};
use crate::service::passwords::{PasswordRules, SetBy, SetPasswordError, set_password};
use crate::{
    AdminRole, DisplayName, EmailAddress, FieldError, NewUser, PhoneNumber, User, UserSource,
    Username,
};

/// Who is acting, for the access checks and the audit record.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    /// The audit actor: a username, or `token:<name>:<id>`.
    pub actor: String,
    pub roles: BTreeSet<AdminRole>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub correlation_id: Option<String>,
}

impl AdminCaller {
    pub fn audit(&self, event: &str, outcome: Outcome, target: &str) -> AuditEvent {
        let mut e = AuditEvent::new(event, outcome)
            .actor(self.actor.as_str())
            .target(target);
        e.client_ip = self.client_ip.clone();
        e.user_agent = self.user_agent.clone();
        e.correlation_id = self.correlation_id.clone();
        e
    }

    /// Refuses an action the caller's roles do not grant.
    pub fn check(&self, action: AdminAction) -> Result<(), AdminError> {
        if may(&self.roles, action) {
            Ok(())
        } else {
            Err(AdminError::Forbidden(
                "your role does not allow this action".into(),
            ))
        }
    }

    /// Refuses an action on `target` outside the caller's reach.
    pub fn check_on(&self, action: AdminAction, target: &User) -> Result<(), AdminError> {
        self.check(action)?;
        if may_act_on(&self.roles, action, &target.roles) {
            Ok(())
        } else {
            Err(AdminError::Forbidden(
                "your role does not allow this action on this user".into(),
            ))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The user lives in the on-premises directory, which owns this field or action.
    #[error("{0}")]
    DirectoryOwned(String),
    #[error("the password does not meet the policy")]
    Policy(Vec<PasswordProblem>),
    #[error(transparent)]
    Directory(DirectoryError),
    #[error("this account lives in an on-premises directory that sspr is not connected to")]
    NoDirectory,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccountError> for AdminError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Directory(d) => AdminError::Directory(d),
            AccountError::NoDirectory => AdminError::NoDirectory,
            AccountError::Hash(h) => AdminError::Hash(h),
            AccountError::Store(s) => AdminError::Store(s),
        }
    }
}

fn field(name: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: name.to_owned(),
        message: message.into(),
    }
}

/// Deserialises a field that may be absent (leave unchanged), `null` (clear) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A new user as an administrator describes it (the JSON body of `POST /admin/users`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub alternate_email: Option<String>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    #[serde(default)]
    pub office_phone: Option<String>,
    #[serde(default)]
    pub roles: BTreeSet<AdminRole>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// An initial password; the password rules apply.
    #[serde(default)]
    pub password: Option<String>,
}

fn yes() -> bool {
    true
}

/// A change to a user (the JSON body of `PATCH /admin/users/{id}`): absent fields stay as
/// they are, `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub alternate_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub mobile_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub office_phone: Option<Option<String>>,
    #[serde(default)]
    pub roles: Option<BTreeSet<AdminRole>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl UserPatch {
    /// Whether the patch touches a field the directory owns for directory-sourced users
    /// (everything but sspr's own admin roles).
    fn touches_directory_fields(&self) -> bool {
        self.display_name.is_some()
            || self.first_name.is_some()
            || self.last_name.is_some()
            || self.email.is_some()
            || self.alternate_email.is_some()
            || self.mobile_phone.is_some()
            || self.office_phone.is_some()
            || self.enabled.is_some()
    }
}

/// First and last names: at most 64 characters, no control characters (as the CLI).
fn short_name(name: &str, raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = raw.map(str::trim).filter(|s| !s.is_empty())?;
    if v.chars().count() > 64 || v.chars().any(char::is_control) {
        errors.push(field(name, "at most 64 characters, no control characters"));
        return None;
    }
    Some(v.to_owned())
}

fn parsed<T>(
    name: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, crate::ParseError>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let v = raw.map(str::trim).filter(|s| !s.is_empty())?;
    match parse(v) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(field(name, e.to_string()));
            None
        }
    }
}

/// Parses every field of a new user, reporting all bad ones at once.
pub fn validate_new_user(req: &NewUserRequest) -> Result<NewUser, AdminError> {
    let mut errors = Vec::new();
    let username = Username::parse(&req.username)
        .map_err(|e| errors.push(field("username", e.to_string())))
        .ok();
    let display_name = DisplayName::parse(&req.display_name)
        .map_err(|e| errors.push(field("display_name", e.to_string())))
        .ok();
    let first_name = short_name("first_name", req.first_name.as_deref(), &mut errors);
    let last_name = short_name("last_name", req.last_name.as_deref(), &mut errors);
    let email = parsed(
        "email",
        req.email.as_deref(),
        EmailAddress::parse,
        &mut errors,
    );
    let alternate_email = parsed(
        "alternate_email",
        req.alternate_email.as_deref(),
        EmailAddress::parse,
        &mut errors,
    );
    let mobile_phone = parsed(
        "mobile_phone",
        req.mobile_phone.as_deref(),
        PhoneNumber::parse,
        &mut errors,
    );
    let office_phone = parsed(
        "office_phone",
        req.office_phone.as_deref(),
        PhoneNumber::parse,
        &mut errors,
    );
    match (username, display_name) {
        (Some(username), Some(display_name)) if errors.is_empty() => {
            let mut user = NewUser::cloud(username, display_name);
            user.first_name = first_name;
            user.last_name = last_name;
            user.email = email;
            user.alternate_email = alternate_email;
            user.mobile_phone = mobile_phone;
            user.office_phone = office_phone;
            user.roles = req.roles.clone();
            user.enabled = req.enabled;
            Ok(user)
        }
        _ => Err(AdminError::Invalid(errors)),
    }
}

/// The profile `user` has after `patch`, every bad field reported at once.
pub fn apply_patch(user: &User, patch: &UserPatch) -> Result<ProfileUpdate, AdminError> {
    let mut errors = Vec::new();
    let display_name = match &patch.display_name {
        None => Some(user.display_name.clone()),
        Some(raw) => DisplayName::parse(raw)
            .map_err(|e| errors.push(field("display_name", e.to_string())))
            .ok(),
    };
    fn keep_or<T: Clone>(
        current: &Option<T>,
        change: &Option<Option<String>>,
        f: impl FnOnce(Option<&str>) -> Option<T>,
    ) -> Option<T> {
        match change {
            None => current.clone(),
            Some(v) => f(v.as_deref()),
        }
    }
    let first_name = keep_or(&user.first_name, &patch.first_name, |v| {
        short_name("first_name", v, &mut errors)
    });
    let last_name = keep_or(&user.last_name, &patch.last_name, |v| {
        short_name("last_name", v, &mut errors)
    });
    let email = keep_or(&user.email, &patch.email, |v| {
        parsed("email", v, EmailAddress::parse, &mut errors)
    });
    let alternate_email = keep_or(&user.alternate_email, &patch.alternate_email, |v| {
        parsed("alternate_email", v, EmailAddress::parse, &mut errors)
    });
    let mobile_phone = keep_or(&user.mobile_phone, &patch.mobile_phone, |v| {
        parsed("mobile_phone", v, PhoneNumber::parse, &mut errors)
    });
    let office_phone = keep_or(&user.office_phone, &patch.office_phone, |v| {
        parsed("office_phone", v, PhoneNumber::parse, &mut errors)
    });
    match display_name {
        Some(display_name) if errors.is_empty() => Ok(ProfileUpdate {
            display_name,
            first_name,
            last_name,
            email,
            alternate_email,
            mobile_phone,
            office_phone,
            roles: patch.roles.clone().unwrap_or_else(|| user.roles.clone()),
            enabled: patch.enabled.unwrap_or(user.enabled),
        }),
        _ => Err(AdminError::Invalid(errors)),
    }
}

/// What an administrator may change depends on the store, the hasher, the directory (for
/// directory-sourced users) and the password rules in force.
pub struct AdminUsers<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a dyn PasswordHasher,
    pub directory: Option<&'a dyn DirectoryAccounts>,
}

impl AdminUsers<'_> {
    /// Refuses a change that would leave no enabled global administrator: nobody could then
    /// change the policy or make tokens through the API (only the CLI could repair it).
    async fn keep_a_global_admin(&self, user: &User, remains: bool) -> Result<(), AdminError> {
        let is_one = user.enabled && user.roles.contains(&AdminRole::GlobalAdmin);
        if !is_one || remains {
            return Ok(());
        }
        const PAGE: u32 = 500;
        let mut offset = 0;
        loop {
            let users = self.store.list_users(None, offset, PAGE).await?;
            if users
                .iter()
                .any(|u| u.id != user.id && u.enabled && u.roles.contains(&AdminRole::GlobalAdmin))
            {
                return Ok(());
            }
            if users.len() < PAGE as usize {
                return Err(AdminError::Store(StoreError::Conflict(
                    "this is the last enabled global administrator; make another one first".into(),
                )));
            }
            offset += PAGE;
        }
    }

    /// Creates a cloud-only user, with an initial password when one is given.
    pub async fn create(
        &self,
        caller: &AdminCaller,
        req: &NewUserRequest,
        rules: &PasswordRules<'_>,
    ) -> Result<User, AdminError> {
        caller.check(AdminAction::ManageUsers)?;
        if !req.roles.is_empty() {
            caller.check(AdminAction::ChangeRoles)?;
        }
        let mut new = validate_new_user(req)?;
        if let Some(password) = &req.password {
            // The names of the user-to-be count as for an existing user.
            let names: Vec<&str> = [
                new.first_name.as_deref(),
                new.last_name.as_deref(),
                Some(new.display_name.as_str()),
                new.username.as_str().split('@').next(),
            ]
            .into_iter()
            .flatten()
            .collect();
            if password.len() > 1024 {
                return Err(AdminError::Policy(vec![PasswordProblem::TooLong {
                    max: crate::policy::password::PasswordPolicy::MAX_LENGTH,
                }]));
            }
            let problems = rules.check_with_names(password, &names);
            if !problems.is_empty() {
                return Err(AdminError::Policy(problems));
            }
            new.password_hash = Some(self.hasher.hash(password).await?);
        }
        let audit = caller
            .audit(events::ADD_USER, Outcome::Success, new.username.as_str())
            .details(serde_json::json!({
                "id": new.id,
                "roles": new.roles,
                "enabled": new.enabled,
                "with_password": new.password_hash.is_some(),
            }));
        Ok(self.store.create_user(&new, &audit).await?)
    }

    /// Changes a user's profile, roles or enabled flag. Directory-sourced users: only the
    /// admin roles (everything else comes from the directory and the next sync would undo it).
    pub async fn update(
        &self,
        caller: &AdminCaller,
        user: &User,
        patch: &UserPatch,
    ) -> Result<User, AdminError> {
        caller.check_on(AdminAction::ManageUsers, user)?;
        let roles_change = patch.roles.as_ref().filter(|r| **r != user.roles);
        if roles_change.is_some() {
            caller.check(AdminAction::ChangeRoles)?;
        }
        if user.source == UserSource::Directory && patch.touches_directory_fields() {
            return Err(AdminError::DirectoryOwned(
                "this user comes from the on-premises directory: change it there (only admin roles can be changed here)".into(),
            ));
        }
        let update = apply_patch(user, patch)?;
        self.keep_a_global_admin(
            user,
            update.enabled && update.roles.contains(&AdminRole::GlobalAdmin),
        )
        .await?;
        let mut changed = Vec::new();
        let mut note = |name: &str, differs: bool| {
            if differs {
                changed.push(name.to_owned());
            }
        };
        note("display_name", update.display_name != user.display_name);
        note("first_name", update.first_name != user.first_name);
        note("last_name", update.last_name != user.last_name);
        note("email", update.email != user.email);
        note(
            "alternate_email",
            update.alternate_email != user.alternate_email,
        );
        note("mobile_phone", update.mobile_phone != user.mobile_phone);
        note("office_phone", update.office_phone != user.office_phone);
        note("roles", update.roles != user.roles);
        note("enabled", update.enabled != user.enabled);
        if changed.is_empty() {
            return Ok(user.clone());
        }
        let audit = caller
            .audit(
                events::UPDATE_USER,
                Outcome::Success,
                user.username.as_str(),
            )
            .details(serde_json::json!({
                "changed": changed,
                "roles": {"old": user.roles, "new": update.roles},
                "enabled": {"old": user.enabled, "new": update.enabled},
            }));
        self.store.update_profile(user.id, &update, &audit).await?;
        if !update.enabled && user.enabled {
            // A disabled account keeps no live session.
            self.store.revoke_user_sessions(user.id).await?;
        }
        self.store
            .get_user(user.id)
            .await?
            .ok_or(AdminError::Store(StoreError::NotFound))
    }

    pub async fn delete(&self, caller: &AdminCaller, user: &User) -> Result<(), AdminError> {
        caller.check_on(AdminAction::ManageUsers, user)?;
        if user.source == UserSource::Directory {
            return Err(AdminError::DirectoryOwned(
                "this user comes from the on-premises directory: delete or disable it there".into(),
            ));
        }
        self.keep_a_global_admin(user, false).await?;
        let audit = caller.audit(
            events::DELETE_USER,
            Outcome::Success,
            user.username.as_str(),
        );
        if !self.store.delete_user(user.id, &audit).await? {
            return Err(AdminError::Store(StoreError::NotFound));
        }
        Ok(())
    }

    /// Sets a new password chosen by the administrator: sspr's rules (banned and breached
    /// included) and history apply; directory users are written back. All the user's
    /// sessions and outstanding codes are revoked afterwards (R14, R42).
    pub async fn reset_password(
        &self,
        caller: &AdminCaller,
        user: &User,
        password: &str,
        rules: &PasswordRules<'_>,
        now: time::OffsetDateTime,
    ) -> Result<(), AdminError> {
        caller.check_on(AdminAction::ResetPassword, user)?;
        if password.len() > 1024 {
            return Err(AdminError::Policy(vec![PasswordProblem::TooLong {
                max: crate::policy::password::PasswordPolicy::MAX_LENGTH,
            }]));
        }
        let audit = caller.audit(
            events::ADMIN_RESET_PASSWORD,
            Outcome::Success,
            user.username.as_str(),
        );
        let refused = |problems: &[PasswordProblem]| {
            let mut failed = audit.clone();
            failed.outcome = Outcome::Failure;
            failed.reason = Some("FuzzyPolicyViolationInvalidPassword".into());
            failed.details = serde_json::json!({
                "rules": problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            failed
        };
        if user.source == UserSource::Directory {
            let problems = rules.check(password, Some(user));
            if !problems.is_empty() {
                self.store.append_audit(&refused(&problems)).await?;
                return Err(AdminError::Policy(problems));
            }
            Accounts {
                store: self.store,
                hasher: self.hasher,
                directory: self.directory,
                history: rules.policy.history,
            }
            .set_password(user, password, &audit)
            .await?;
        } else {
            match set_password(
                self.store,
                self.hasher,
                rules,
                user,
                password,
                SetBy::OnBehalf,
                &audit,
            )
            .await
            {
                Ok(()) => {}
                Err(SetPasswordError::Policy(problems)) => {
                    self.store.append_audit(&refused(&problems)).await?;
                    return Err(AdminError::Policy(problems));
                }
                Err(SetPasswordError::DirectoryUser) => return Err(AdminError::NoDirectory),
                Err(SetPasswordError::Hash(h)) => return Err(h.into()),
                Err(SetPasswordError::Store(s)) => return Err(s.into()),
            }
        }
        self.store.revoke_user_sessions(user.id).await?;
        self.store.revoke_codes(user.id, now).await?;
        Ok(())
    }

    /// Unlocks the account: an administrator lock and smart lockout here, the directory's
    /// lockout for directory users.
    pub async fn unlock(&self, caller: &AdminCaller, user: &User) -> Result<(), AdminError> {
        caller.check_on(AdminAction::Unlock, user)?;
        let audit = caller.audit(
            events::ADMIN_UNLOCK,
            Outcome::Success,
            user.username.as_str(),
        );
        Accounts {
            store: self.store,
            hasher: self.hasher,
            directory: self.directory,
            history: 0,
        }
        .unlock(user, &audit)
        .await?;
        Ok(())
    }

    /// The user must register their security info again at the next sign-in. Returns how
    /// many registered methods were removed.
    pub async fn require_registration(
        &self,
        caller: &AdminCaller,
        user: &User,
    ) -> Result<u64, AdminError> {
        caller.check_on(AdminAction::RequireRegistration, user)?;
        let audit = caller.audit(
            events::REQUIRE_REREGISTRATION,
            Outcome::Success,
            user.username.as_str(),
        );
        Ok(self.store.require_reregistration(user.id, &audit).await?)
    }

    /// Signs the user out everywhere. Returns how many sessions were live.
    pub async fn revoke_sessions(
        &self,
        caller: &AdminCaller,
        user: &User,
    ) -> Result<u64, AdminError> {
        caller.check_on(AdminAction::RevokeSessions, user)?;
        let n = self.store.revoke_user_sessions(user.id).await?;
        let audit = caller
            .audit(
                events::REVOKE_SESSIONS,
                Outcome::Success,
                user.username.as_str(),
            )
            .details(serde_json::json!({ "sessions": n }));
        self.store.append_audit(&audit).await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> NewUserRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn every_bad_field_of_a_new_user_is_reported() {
        let req = request(serde_json::json!({
            "username": "bad name!",
            "display_name": "",
            "email": "not-an-email",
            "mobile_phone": "0151",
        }));
        let Err(AdminError::Invalid(errors)) = validate_new_user(&req) else {
            panic!("expected invalid");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["username", "display_name", "email", "mobile_phone"]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        // Mass assignment (attack row 28): nothing outside the documented fields is taken.
        let r: Result<NewUserRequest, _> = serde_json::from_value(serde_json::json!({
            "username": "ada", "display_name": "Ada", "password_hash": "x"
        }));
        assert!(r.is_err());
        let p: Result<UserPatch, _> =
            serde_json::from_value(serde_json::json!({"source": "cloud"}));
        assert!(p.is_err());
    }

    #[test]
    fn a_patch_keeps_absent_fields_and_clears_nulls() {
        let req = request(serde_json::json!({
            "username": "ada", "display_name": "Ada", "email": "ada@example.org",
            "mobile_phone": "+49 151 12345678",
        }));
        let new = validate_new_user(&req).unwrap();
        let now = time::macros::datetime!(2026-11-25 08:00 UTC);
        let user = User {
            id: new.id,
            username: new.username,
            display_name: new.display_name,
            first_name: None,
            last_name: None,
            email: new.email,
            alternate_email: None,
            mobile_phone: new.mobile_phone,
            office_phone: None,
            roles: BTreeSet::new(),
            enabled: true,
            source: UserSource::Cloud,
            admin_locked: false,
            lockout: Default::default(),
            password_hash: None,
            password_changed_at: None,
            registration_confirmed_at: None,
            registration_prompted_at: None,
            created_at: now,
            updated_at: now,
        };
        let patch: UserPatch = serde_json::from_value(serde_json::json!({
            "email": null, "display_name": "Ada L."
        }))
        .unwrap();
        let update = apply_patch(&user, &patch).unwrap();
        assert_eq!(update.email, None);
        assert_eq!(update.display_name.as_str(), "Ada L.");
        assert_eq!(update.mobile_phone, user.mobile_phone, "absent: kept");
        let bad: UserPatch = serde_json::from_value(serde_json::json!({"email": "x"})).unwrap();
        assert!(matches!(
            apply_patch(&user, &bad),
            Err(AdminError::Invalid(_))
        ));
    }
}
