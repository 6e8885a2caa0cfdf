//! Who may use self-service password reset, with which methods, and whether they must
//! register first (SPEC §2, Entra's user and administrator policies).

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

use crate::{Enablement, MethodType, SsprPolicy};

/// What the decision needs to know about one user. The caller resolves group membership
/// (see `policy::groups`) and the user's registered methods.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub enabled: bool,
    pub is_admin: bool,
    /// Transitively a member of the policy's target group.
    pub in_target_group: bool,
    /// The distinct method types the user has registered (verified contact data, an
    /// authenticator, enough question answers, passkeys).
    pub registered: &'a BTreeSet<MethodType>,
    pub registration_confirmed_at: Option<OffsetDateTime>,
}

/// Why a user may not use SSPR. Only ever shown to them when the admin turned on explicit
/// messages; otherwise the flow answers neutrally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEligible {
    AccountDisabled,
    /// Enablement is `none`, or the user is outside the target group.
    NotInScope,
    /// An administrator, and admin SSPR is switched off.
    AdminSsprOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Holds at least `required` allowed methods and confirmed them recently enough.
    Registered,
    /// Holds fewer allowed methods than required.
    Required,
    /// Registered, but the re-confirmation period has passed.
    ReconfirmDue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligible {
    /// How many methods a reset must verify.
    pub required: u8,
    /// The methods this user may use.
    pub allowed: BTreeSet<MethodType>,
    /// The user's registered methods that are allowed: what a reset may offer.
    pub usable: BTreeSet<MethodType>,
    pub registration: Registration,
    /// Under the administrator two-gate policy.
    pub admin_policy: bool,
}

impl Eligible {
    /// Registered and allowed by policy: Entra's `isSsprCapable`.
    pub fn capable(&self) -> bool {
        self.usable.len() >= usize::from(self.required)
    }
}

pub fn decide(
    policy: &SsprPolicy,
    subject: &Subject<'_>,
    now: OffsetDateTime,
) -> Result<Eligible, NotEligible> {
    if !subject.enabled {
        return Err(NotEligible::AccountDisabled);
    }
    let (required, allowed, admin_policy) = if subject.is_admin {
        // Admins are on regardless of enablement, with a fixed policy that does not follow
        // the user policy's method list.
        if !policy.admin_sspr {
            return Err(NotEligible::AdminSsprOff);
        }
        let allowed = MethodType::ALL
            .into_iter()
            .filter(|m| m.allowed_for_admins())
            .collect();
        (2, allowed, true)
    } else {
        let in_scope = match policy.enablement {
            Enablement::None => false,
            Enablement::All => true,
            Enablement::Selected => policy.target_group.is_some() && subject.in_target_group,
        };
        if !in_scope {
            return Err(NotEligible::NotInScope);
        }
        (
            policy.methods_required,
            policy.methods_enabled.clone(),
            false,
        )
    };
    let usable: BTreeSet<MethodType> = subject.registered.intersection(&allowed).copied().collect();
    let registration = if usable.len() < usize::from(required) {
        Registration::Required
    } else if policy.reconfirm_days > 0
        && subject
            .registration_confirmed_at
            .is_none_or(|at| now - at >= Duration::days(i64::from(policy.reconfirm_days)))
    {
        Registration::ReconfirmDue
    } else {
        Registration::Registered
    };
    Ok(Eligible {
        required,
        allowed,
        usable,
        registration,
        admin_policy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GroupId;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

    fn methods(ms: &[MethodType]) -> BTreeSet<MethodType> {
        ms.iter().copied().collect()
    }

    fn user<'a>(registered: &'a BTreeSet<MethodType>) -> Subject<'a> {
        Subject {
            enabled: true,
            is_admin: false,
            in_target_group: true,
            registered,
            registration_confirmed_at: Some(NOW - Duration::days(1)),
        }
    }

    fn selected() -> SsprPolicy {
        SsprPolicy {
            enablement: Enablement::Selected,
            target_group: Some(GroupId::new()),
            ..SsprPolicy::default()
        }
    }

    #[test]
    fn enablement_none_serves_nobody_but_admins() {
        let reg = methods(&[MethodType::Email, MethodType::AuthenticatorCode]);
        let p = SsprPolicy::default();
        assert_eq!(decide(&p, &user(&reg), NOW), Err(NotEligible::NotInScope));
        let admin = Subject {
            is_admin: true,
            ..user(&reg)
        };
        let e = decide(&p, &admin, NOW).unwrap();
        assert!(e.admin_policy);
        assert_eq!(e.required, 2);
        assert_eq!(e.registration, Registration::Registered);
    }

    #[test]
    fn selected_serves_only_the_target_group() {
        let reg = methods(&[MethodType::Email]);
        let p = selected();
        assert!(decide(&p, &user(&reg), NOW).is_ok());
        let outside = Subject {
            in_target_group: false,
            ..user(&reg)
        };
        assert_eq!(decide(&p, &outside, NOW), Err(NotEligible::NotInScope));
        // A "selected" policy whose group was removed serves nobody.
        let p = SsprPolicy {
            target_group: None,
            ..selected()
        };
        assert_eq!(decide(&p, &user(&reg), NOW), Err(NotEligible::NotInScope));
    }

    #[test]
    fn all_serves_everyone_enabled() {
        let reg = methods(&[MethodType::Email]);
        let p = SsprPolicy {
            enablement: Enablement::All,
            ..SsprPolicy::default()
        };
        let outside = Subject {
            in_target_group: false,
            ..user(&reg)
        };
        assert!(decide(&p, &outside, NOW).is_ok());
        let disabled = Subject {
            enabled: false,
            ..user(&reg)
        };
        assert_eq!(
            decide(&p, &disabled, NOW),
            Err(NotEligible::AccountDisabled)
        );
    }

    #[test]
    fn admins_need_two_methods_and_never_questions_or_voice() {
        let reg = methods(&[
            MethodType::Email,
            MethodType::SecurityQuestions,
            MethodType::MobileVoice,
            MethodType::OfficeVoice,
        ]);
        let p = SsprPolicy {
            enablement: Enablement::All,
            methods_enabled: MethodType::ALL.into(),
            ..SsprPolicy::default()
        };
        let admin = Subject {
            is_admin: true,
            ..user(&reg)
        };
        let e = decide(&p, &admin, NOW).unwrap();
        assert_eq!(e.required, 2);
        assert!(!e.allowed.contains(&MethodType::SecurityQuestions));
        assert!(!e.allowed.contains(&MethodType::MobileVoice));
        assert!(!e.allowed.contains(&MethodType::OfficeVoice));
        // Only email counts, so the admin is not registered.
        assert_eq!(e.usable, methods(&[MethodType::Email]));
        assert_eq!(e.registration, Registration::Required);
        assert!(!e.capable());
        // The same user without the admin role would be registered with one method.
        let e = decide(&p, &user(&reg), NOW).unwrap();
        assert_eq!(e.registration, Registration::Registered);
    }

    #[test]
    fn admin_sspr_off_excludes_admins() {
        let reg = methods(&[MethodType::Email, MethodType::MobileSms]);
        let p = SsprPolicy {
            admin_sspr: false,
            ..SsprPolicy::default()
        };
        let admin = Subject {
            is_admin: true,
            ..user(&reg)
        };
        assert_eq!(decide(&p, &admin, NOW), Err(NotEligible::AdminSsprOff));
    }

    #[test]
    fn only_enabled_methods_count_toward_registration() {
        let reg = methods(&[MethodType::SecurityQuestions, MethodType::Email]);
        let p = SsprPolicy {
            methods_required: 2,
            ..selected()
        };
        let e = decide(&p, &user(&reg), NOW).unwrap();
        assert_eq!(e.registration, Registration::Required);
        let reg = methods(&[MethodType::MobileSms, MethodType::Email]);
        let e = decide(&p, &user(&reg), NOW).unwrap();
        assert_eq!(e.registration, Registration::Registered);
        assert!(e.capable());
    }

    #[test]
    fn reconfirmation_falls_due_after_the_period() {
        let reg = methods(&[MethodType::Email]);
        let p = selected();
        let at = |days: i64| Subject {
            registration_confirmed_at: Some(NOW - Duration::days(days)),
            ..user(&reg)
        };
        assert_eq!(
            decide(&p, &at(179), NOW).unwrap().registration,
            Registration::Registered
        );
        assert_eq!(
            decide(&p, &at(180), NOW).unwrap().registration,
            Registration::ReconfirmDue
        );
        let never = Subject {
            registration_confirmed_at: None,
            ..user(&reg)
        };
        assert_eq!(
            decide(&p, &never, NOW).unwrap().registration,
            Registration::ReconfirmDue
        );
        let p = SsprPolicy {
            reconfirm_days: 0,
            ..selected()
        };
        assert_eq!(
            decide(&p, &at(10_000), NOW).unwrap().registration,
            Registration::Registered
        );
    }
}
