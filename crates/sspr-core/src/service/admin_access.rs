//! Who may do what in administration: the one table every admin route, the CLI's docs and the
//! portal consult. It follows Entra's built-in roles (reference/entra-sspr.md): a role grants
//! a set of actions, and for actions on a user, a *reach* — which users (by their own admin
//! roles) it may act on, so that a helpdesk administrator cannot reset a global
//! administrator's password and so take over the organisation (R59).

use std::collections::BTreeSet;

use crate::AdminRole;

/// An administrative action; each admin route performs exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminAction {
    /// Read the SSPR and password policies and the directory status.
    ReadSettings,
    /// Change the SSPR or password policy.
    ChangeSettings,
    /// Run a directory sync now.
    SyncDirectory,
    /// List and read users and groups.
    ReadDirectory,
    /// Create, change and delete users (within the caller's reach).
    ManageUsers,
    /// Give or take admin roles.
    ChangeRoles,
    /// Create, change and delete groups and their members.
    ManageGroups,
    ResetPassword,
    Unlock,
    RequireRegistration,
    RevokeSessions,
    /// Queue a test email, SMS or voice message to any address.
    SendTestMessage,
    ReadAudit,
    ReadReports,
    /// Create, list and revoke API tokens.
    ManageTokens,
}

use AdminAction as A;
use AdminRole as R;

impl AdminAction {
    pub const ALL: [AdminAction; 15] = [
        A::ReadSettings,
        A::ChangeSettings,
        A::SyncDirectory,
        A::ReadDirectory,
        A::ManageUsers,
        A::ChangeRoles,
        A::ManageGroups,
        A::ResetPassword,
        A::Unlock,
        A::RequireRegistration,
        A::RevokeSessions,
        A::SendTestMessage,
        A::ReadAudit,
        A::ReadReports,
        A::ManageTokens,
    ];

    /// The roles that grant this action.
    pub fn roles(self) -> &'static [AdminRole] {
        match self {
            // Everyone with an admin role reads; reports readers do nothing else.
            A::ReadSettings | A::ReadDirectory | A::ReadAudit | A::ReadReports => &R::ALL,
            A::ResetPassword | A::Unlock | A::RequireRegistration | A::RevokeSessions => &[
                R::GlobalAdmin,
                R::UserAdmin,
                R::PasswordAdmin,
                R::HelpdeskAdmin,
            ],
            A::ManageUsers | A::ManageGroups | A::SyncDirectory => &[R::GlobalAdmin, R::UserAdmin],
            // Policy, roles, tokens and free-form messages to any address: the global
            // administrator only.
            A::ChangeSettings | A::ChangeRoles | A::SendTestMessage | A::ManageTokens => {
                &[R::GlobalAdmin]
            }
        }
    }

    /// Whether the action only reads.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            A::ReadSettings | A::ReadDirectory | A::ReadAudit | A::ReadReports
        )
    }
}

/// The admin roles a target may hold for `role` to act on them (the empty set — a user
/// without admin roles — is always within reach of a role that may act at all).
pub fn reach(role: AdminRole) -> &'static [AdminRole] {
    match role {
        R::GlobalAdmin => &R::ALL,
        // "Limited" administrators: everyone but global administrators.
        R::UserAdmin => &[
            R::UserAdmin,
            R::PasswordAdmin,
            R::HelpdeskAdmin,
            R::ReportsReader,
        ],
        R::PasswordAdmin => &[R::PasswordAdmin],
        R::HelpdeskAdmin => &[R::HelpdeskAdmin, R::ReportsReader],
        R::ReportsReader => &[],
    }
}

/// Whether someone holding `roles` may perform `action` at all.
pub fn may(roles: &BTreeSet<AdminRole>, action: AdminAction) -> bool {
    roles.iter().any(|r| action.roles().contains(r))
}

/// Whether someone holding `roles` may perform `action` on a user holding `target_roles`:
/// one of the caller's roles must both grant the action and reach every role of the target.
pub fn may_act_on(
    roles: &BTreeSet<AdminRole>,
    action: AdminAction,
    target_roles: &BTreeSet<AdminRole>,
) -> bool {
    if action.is_read() {
        return may(roles, action);
    }
    roles
        .iter()
        .any(|r| action.roles().contains(r) && target_roles.iter().all(|t| reach(*r).contains(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(roles: &[AdminRole]) -> BTreeSet<AdminRole> {
        roles.iter().copied().collect()
    }

    #[test]
    fn reports_readers_only_read() {
        let reader = set(&[R::ReportsReader]);
        for action in AdminAction::ALL {
            assert_eq!(may(&reader, action), action.is_read(), "{action:?}");
        }
    }

    #[test]
    fn only_global_admins_touch_policy_roles_and_tokens() {
        for action in [A::ChangeSettings, A::ChangeRoles, A::ManageTokens] {
            for role in R::ALL {
                assert_eq!(may(&set(&[role]), action), role == R::GlobalAdmin);
            }
        }
    }

    #[test]
    fn reach_follows_entra() {
        let none = set(&[]);
        let reset = A::ResetPassword;
        // Helpdesk: non-admins, helpdesk admins, reports readers.
        let helpdesk = set(&[R::HelpdeskAdmin]);
        assert!(may_act_on(&helpdesk, reset, &none));
        assert!(may_act_on(&helpdesk, reset, &set(&[R::HelpdeskAdmin])));
        assert!(may_act_on(&helpdesk, reset, &set(&[R::ReportsReader])));
        assert!(!may_act_on(&helpdesk, reset, &set(&[R::PasswordAdmin])));
        assert!(!may_act_on(&helpdesk, reset, &set(&[R::GlobalAdmin])));
        assert!(!may_act_on(
            &helpdesk,
            reset,
            &set(&[R::HelpdeskAdmin, R::UserAdmin])
        ));
        // Password admin: non-admins and password admins.
        let password = set(&[R::PasswordAdmin]);
        assert!(may_act_on(&password, reset, &none));
        assert!(may_act_on(&password, reset, &set(&[R::PasswordAdmin])));
        assert!(!may_act_on(&password, reset, &set(&[R::HelpdeskAdmin])));
        // User admin: everyone but global admins.
        let user = set(&[R::UserAdmin]);
        assert!(may_act_on(
            &user,
            reset,
            &set(&[R::PasswordAdmin, R::UserAdmin])
        ));
        assert!(!may_act_on(&user, reset, &set(&[R::GlobalAdmin])));
        // Global admin: everyone.
        assert!(may_act_on(&set(&[R::GlobalAdmin]), reset, &set(&R::ALL)));
        // A reports reader acts on no one, not even a non-admin.
        assert!(!may_act_on(&set(&[R::ReportsReader]), reset, &none));
    }

    #[test]
    fn the_role_granting_the_action_must_be_the_one_that_reaches() {
        // A helpdesk admin who is also a reports reader still cannot manage users.
        let both = set(&[R::HelpdeskAdmin, R::ReportsReader]);
        assert!(!may_act_on(&both, A::ManageUsers, &set(&[])));
        // Reads need no reach.
        assert!(may_act_on(&both, A::ReadDirectory, &set(&[R::GlobalAdmin])));
    }
}
