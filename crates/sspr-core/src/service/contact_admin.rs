//! "Contact your administrator" from a reset flow (SPEC §5.4): when the policy names no
//! helpdesk link, a stuck user can ask the organisation's administrators for help. The
//! request goes by email to the helpdesk and password administrators, else to the user
//! administrators, else to the global administrators, at most [`MAX_RECIPIENTS`] of them.
//!
//! A decoy flow (a user ID sspr will not serve) answers exactly the same and sends nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use time::Duration;

use crate::AdminRole;
use crate::audit::{AuditEvent, Outcome, events};
use crate::policy::throttle::ThrottleRule;
use crate::ports::{DeliveryChannel, Notice};
use crate::service::reset::{Reset, ResetError};
use crate::service::security_info::Caller;
use crate::service::throttle::Throttle;

/// The longest message a user may add to the request.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// The most administrators one request is sent to.
pub const MAX_RECIPIENTS: usize = 100;
/// Requests per flow owner (user or decoy key): 3 an hour, then an hour's pause.
pub const CONTACT_RULE: ThrottleRule = ThrottleRule::new(3, Duration::hours(1), Duration::hours(1));

/// Whom a request for help goes to: the addresses of the first tier that has anyone in it —
/// helpdesk or password administrators, then user administrators, then global
/// administrators — sorted, without duplicates, at most [`MAX_RECIPIENTS`].
///
/// `admins` are the candidates that may receive mail (enabled, with an address, not the
/// requester), each with their roles and address.
pub fn admin_recipients<'a>(
    admins: impl IntoIterator<Item = (&'a BTreeSet<AdminRole>, &'a str)>,
) -> Vec<String> {
    let tier = |roles: &BTreeSet<AdminRole>| -> Option<u8> {
        if roles.contains(&AdminRole::HelpdeskAdmin) || roles.contains(&AdminRole::PasswordAdmin) {
            Some(0)
        } else if roles.contains(&AdminRole::UserAdmin) {
            Some(1)
        } else if roles.contains(&AdminRole::GlobalAdmin) {
            Some(2)
        } else {
            None
        }
    };
    let mut tiers: BTreeMap<u8, BTreeSet<String>> = BTreeMap::new();
    for (roles, address) in admins {
        if let Some(t) = tier(roles)
            && !address.is_empty()
        {
            tiers.entry(t).or_default().insert(address.to_owned());
        }
    }
    tiers
        .into_values()
        .next()
        .map(|set| set.into_iter().take(MAX_RECIPIENTS).collect())
        .unwrap_or_default()
}

/// Queues the request of the flow's user to their administrators. Answers alike for decoys
/// (which send nothing). `message` is the user's optional note (at most
/// [`MAX_MESSAGE_CHARS`] characters).
pub async fn contact_admin(
    reset: &Reset<'_>,
    flow_id: &str,
    cookie: &str,
    message: &str,
    caller: &Caller,
) -> Result<(), ResetError> {
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ResetError::BadInput("the message is too long"));
    }
    let flow = reset.load(flow_id, cookie).await?;
    let user = match flow.subject {
        Some(id) => reset.store.get_user(id).await?.filter(|u| u.enabled),
        None => None,
    };
    let throttle = Throttle {
        store: reset.store,
        clock: reset.clock,
    };
    throttle
        .attempt(
            &format!("reset:contact:{}", flow.limit_key),
            user.as_ref().map(|u| u.id),
            &CONTACT_RULE,
        )
        .await??;
    let mut sent = 0;
    if let Some(user) = &user {
        let mut candidates = Vec::new();
        let mut offset = 0;
        loop {
            let page = reset.store.list_users(None, offset, 500).await?;
            if page.is_empty() {
                break;
            }
            offset += 500;
            candidates.extend(
                page.into_iter()
                    .filter(|u| u.id != user.id && u.enabled && u.is_admin())
                    .filter(|u| u.email.is_some()),
            );
        }
        let recipients = admin_recipients(
            candidates
                .iter()
                .filter_map(|u| u.email.as_ref().map(|e| (&u.roles, e.as_str()))),
        );
        let notice = Notice::ContactAdministrator {
            username: user.username.as_str().to_owned(),
            support_code: caller.correlation_id.clone().unwrap_or_default(),
            message: message.trim().to_owned(),
        };
        for to in &recipients {
            reset
                .delivery
                .queue(DeliveryChannel::Email, to, &notice, caller.locale)
                .await?;
        }
        sent = recipients.len();
    }
    let target = user
        .as_ref()
        .map_or_else(|| "-".to_owned(), |u| u.username.as_str().to_owned());
    let mut audit = AuditEvent::new(events::RESET_FLOW_PROGRESS, Outcome::Success)
        .actor(target.clone())
        .target(target)
        .details(json!({ "step": "contacted_admin", "flow": flow.id, "recipients": sent }));
    audit.client_ip = caller.client_ip.clone();
    audit.user_agent = caller.user_agent.clone();
    audit.correlation_id = caller.correlation_id.clone();
    reset.store.append_audit(&audit).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(list: &[AdminRole]) -> BTreeSet<AdminRole> {
        list.iter().copied().collect()
    }

    #[test]
    fn helpdesk_and_password_admins_first_then_user_admins_then_global_admins() {
        let global = roles(&[AdminRole::GlobalAdmin]);
        let users = roles(&[AdminRole::UserAdmin]);
        let helpdesk = roles(&[AdminRole::HelpdeskAdmin]);
        let password = roles(&[AdminRole::PasswordAdmin, AdminRole::GlobalAdmin]);
        let reader = roles(&[AdminRole::ReportsReader]);
        let all = [
            (&global, "g@x.org"),
            (&users, "u@x.org"),
            (&helpdesk, "h@x.org"),
            (&password, "p@x.org"),
            (&reader, "r@x.org"),
        ];
        assert_eq!(admin_recipients(all), ["h@x.org", "p@x.org"]);
        assert_eq!(
            admin_recipients([
                (&global, "g@x.org"),
                (&users, "u@x.org"),
                (&reader, "r@x.org")
            ]),
            ["u@x.org"]
        );
        assert_eq!(
            admin_recipients([
                (&global, "g2@x.org"),
                (&global, "g@x.org"),
                (&global, "g@x.org")
            ]),
            ["g2@x.org", "g@x.org"]
        );
        // Readers are no helpdesk; nobody left means nobody is mailed.
        assert!(admin_recipients([(&reader, "r@x.org")]).is_empty());
        assert!(admin_recipients([(&helpdesk, "")]).is_empty());
    }

    #[test]
    fn at_most_a_hundred_recipients() {
        let global = roles(&[AdminRole::GlobalAdmin]);
        let addresses: Vec<String> = (0..250).map(|i| format!("a{i:03}@x.org")).collect();
        let list = admin_recipients(addresses.iter().map(|a| (&global, a.as_str())));
        assert_eq!(list.len(), MAX_RECIPIENTS);
        assert_eq!(list[0], "a000@x.org");
    }
}
