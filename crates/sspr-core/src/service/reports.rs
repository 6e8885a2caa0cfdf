//! Usage and insights (SPEC §9 "admin portal"): registration status per user and reset/unlock
//! activity per day, per method and per outcome. The aggregation is pure (records in, rows
//! out) so the JSON API, CSV export and the portal's charts share it; the loaders at the end
//! read what it needs from the store.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditRecord, Outcome, events};
use crate::policy::eligibility::{Registration, Subject, decide};
use crate::policy::groups::is_transitive_member;
use crate::ports::{AuditFilter, Store, StoreError};
use crate::service::eligibility::prepopulated_methods;
use crate::{GroupId, MethodType, SsprPolicy, User, UserId};

// ---------------------------------------------------------------------------------------------
// Registration

/// One user's registration status, Entra's "User registration details".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationRow {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    /// Holds at least as many methods (of any kind) as a reset would require.
    pub registered: bool,
    /// In SSPR scope: account enabled and covered by the policy (or admin SSPR).
    pub enabled: bool,
    /// Enabled and registered with enough methods the policy allows: can reset now.
    pub capable: bool,
    /// The methods the user holds (registered or prepopulated).
    pub methods: Vec<MethodType>,
}

/// The row of one user, from the policy, whether they are in the target group, and the
/// methods they hold.
pub fn registration_row(
    policy: &SsprPolicy,
    user: &User,
    in_target_group: bool,
    methods: &BTreeSet<MethodType>,
    now: OffsetDateTime,
) -> RegistrationRow {
    let decision = decide(
        policy,
        &Subject {
            enabled: user.enabled,
            is_admin: user.is_admin(),
            in_target_group,
            registered: methods,
            registration_confirmed_at: user.registration_confirmed_at,
        },
        now,
    );
    let required = if user.is_admin() {
        2
    } else {
        usize::from(policy.methods_required)
    };
    RegistrationRow {
        user_id: user.id,
        username: user.username.as_str().to_owned(),
        display_name: user.display_name.as_str().to_owned(),
        is_admin: user.is_admin(),
        registered: methods.len() >= required,
        enabled: decision.is_ok(),
        capable: decision
            .as_ref()
            .is_ok_and(|e| e.capable() && e.registration != Registration::Required),
        methods: methods.iter().copied().collect(),
    }
}

/// Counts over registration rows, for the summary tiles of the portal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegistrationSummary {
    pub users: u64,
    pub registered: u64,
    pub enabled: u64,
    pub capable: u64,
    /// How many users hold each method.
    pub by_method: BTreeMap<MethodType, u64>,
}

pub fn summarise(rows: &[RegistrationRow]) -> RegistrationSummary {
    let mut s = RegistrationSummary::default();
    for r in rows {
        s.users += 1;
        s.registered += u64::from(r.registered);
        s.enabled += u64::from(r.enabled);
        s.capable += u64::from(r.capable);
        for m in &r.methods {
            *s.by_method.entry(*m).or_default() += 1;
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Activity

/// Verifications of one method.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MethodCounts {
    pub verified: u64,
    pub failed: u64,
}

/// What happened on one (UTC) day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayActivity {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Reset flows started.
    pub started: u64,
    /// Passwords reset (self-service, confirmed).
    pub resets: u64,
    /// Resets refused or failed (policy, directory).
    pub reset_failures: u64,
    /// Accounts unlocked without a reset.
    pub unlocks: u64,
    /// Users blocked from SSPR by the throttles.
    pub blocked: u64,
    /// Flows started that day that ended in neither a reset nor an unlock.
    pub abandoned: u64,
    pub by_method: BTreeMap<MethodType, MethodCounts>,
    /// Every reset-flow event by its outcome (`success` / `failure`).
    pub by_outcome: BTreeMap<&'static str, u64>,
}

/// The events the reset flow writes (see `service::reset`) that the activity report reads.
pub const ACTIVITY_EVENTS: [&str; 4] = [
    events::RESET_FLOW_PROGRESS,
    events::RESET_PASSWORD_SELF,
    events::UNLOCK_SELF,
    events::RESET_BLOCKED,
];

fn day_of(at: OffsetDateTime) -> String {
    let d = at.to_offset(time::UtcOffset::UTC).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn detail_str<'a>(r: &'a AuditRecord, key: &str) -> Option<&'a str> {
    r.event.details.get(key).and_then(|v| v.as_str())
}

/// Per day, oldest first, from the records of [`ACTIVITY_EVENTS`] (others are ignored). A flow
/// counts as abandoned when it was started and no reset or unlock of it succeeded among
/// `records`; a flow still in progress at the end of the window counts as abandoned too.
pub fn activity(records: &[AuditRecord]) -> Vec<DayActivity> {
    let mut days: BTreeMap<String, DayActivity> = BTreeMap::new();
    let mut started: HashMap<String, String> = HashMap::new();
    let mut finished: HashSet<String> = HashSet::new();
    for r in records {
        let e = &r.event;
        if !ACTIVITY_EVENTS.contains(&e.event_type.as_str()) {
            continue;
        }
        let date = day_of(r.at);
        let day = days.entry(date.clone()).or_insert_with(|| DayActivity {
            date: date.clone(),
            ..Default::default()
        });
        *day.by_outcome.entry(e.outcome.as_str()).or_default() += 1;
        let flow = detail_str(r, "flow").map(str::to_owned);
        match (e.event_type.as_str(), e.outcome) {
            (events::RESET_PASSWORD_SELF, Outcome::Success) => {
                day.resets += 1;
                finished.extend(flow);
            }
            (events::RESET_PASSWORD_SELF, Outcome::Failure) => day.reset_failures += 1,
            (events::UNLOCK_SELF, Outcome::Success) => {
                day.unlocks += 1;
                finished.extend(flow);
            }
            (events::RESET_BLOCKED, _) => day.blocked += 1,
            (events::RESET_FLOW_PROGRESS, _) => {
                let method = e
                    .details
                    .get("method")
                    .and_then(|m| serde_json::from_value::<MethodType>(m.clone()).ok());
                match detail_str(r, "step") {
                    Some("started") => {
                        day.started += 1;
                        if let Some(f) = flow {
                            started.insert(f, date.clone());
                        }
                    }
                    Some("method_verified") => {
                        if let Some(m) = method {
                            day.by_method.entry(m).or_default().verified += 1;
                        }
                    }
                    Some("method_failed") => {
                        if let Some(m) = method {
                            day.by_method.entry(m).or_default().failed += 1;
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    for (flow, date) in started {
        if !finished.contains(&flow)
            && let Some(day) = days.get_mut(&date)
        {
            day.abandoned += 1;
        }
    }
    days.into_values().collect()
}

// ---------------------------------------------------------------------------------------------
// Loaders

/// Every user's registration row, in username order. Users are read a page at a time; the
/// methods and memberships of all users come in one query each, not one per user.
pub async fn registration_report(
    store: &dyn Store,
    now: OffsetDateTime,
) -> Result<Vec<RegistrationRow>, StoreError> {
    const PAGE: u32 = 500;
    let policy = store.policy().await?;
    let (parents, memberships): (
        HashMap<GroupId, Vec<GroupId>>,
        HashMap<UserId, Vec<GroupId>>,
    ) = match policy.target_group {
        Some(_) => (store.group_parents().await?, store.user_groups().await?),
        None => Default::default(),
    };
    let verified = store.verified_method_kinds().await?;
    let mut rows = Vec::new();
    let mut offset = 0;
    loop {
        let users = store.list_users(None, offset, PAGE).await?;
        for user in &users {
            let in_target_group = policy.target_group.is_some_and(|target| {
                let direct = memberships.get(&user.id).map_or(&[][..], Vec::as_slice);
                is_transitive_member(direct, &parents, target)
            });
            let mut methods = prepopulated_methods(user);
            methods.extend(verified.get(&user.id).into_iter().flatten().copied());
            rows.push(registration_row(
                &policy,
                user,
                in_target_group,
                &methods,
                now,
            ));
        }
        if users.len() < PAGE as usize {
            return Ok(rows);
        }
        offset += PAGE;
    }
}

/// The activity between `from` (inclusive) and `to` (exclusive), per day.
pub async fn activity_report(
    store: &dyn Store,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
) -> Result<Vec<DayActivity>, StoreError> {
    const PAGE: u32 = 1000;
    let mut records = Vec::new();
    for event in ACTIVITY_EVENTS {
        let filter = AuditFilter {
            from,
            to,
            event_type: Some(event.to_owned()),
            ..Default::default()
        };
        let mut offset = 0;
        loop {
            let page = store.query_audit(&filter, offset, PAGE).await?;
            let n = page.items.len();
            records.extend(page.items);
            if n < PAGE as usize {
                break;
            }
            offset += PAGE;
        }
    }
    records.sort_by_key(|r| r.seq);
    Ok(activity(&records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditEvent;
    use crate::{DisplayName, Enablement, NewUser, Username};
    use serde_json::json;
    use time::macros::datetime;

    fn record(
        seq: i64,
        at: OffsetDateTime,
        event: &str,
        outcome: Outcome,
        d: serde_json::Value,
    ) -> AuditRecord {
        AuditRecord {
            seq,
            at,
            event: AuditEvent::new(event, outcome).details(d),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn activity_counts_per_day_method_and_outcome() {
        let d1 = datetime!(2026-11-24 23:59 UTC);
        let d2 = datetime!(2026-11-25 00:01 UTC);
        let p = events::RESET_FLOW_PROGRESS;
        let records = vec![
            record(
                1,
                d1,
                p,
                Outcome::Success,
                json!({"step": "started", "flow": "a"}),
            ),
            record(
                2,
                d1,
                p,
                Outcome::Success,
                json!({"step": "method_sent", "method": "email", "flow": "a"}),
            ),
            record(
                3,
                d1,
                p,
                Outcome::Failure,
                json!({"step": "method_failed", "method": "email", "flow": "a"}),
            ),
            record(
                4,
                d2,
                p,
                Outcome::Success,
                json!({"step": "method_verified", "method": "email", "flow": "a"}),
            ),
            record(
                5,
                d2,
                events::RESET_PASSWORD_SELF,
                Outcome::Success,
                json!({"flow": "a"}),
            ),
            record(
                6,
                d2,
                p,
                Outcome::Success,
                json!({"step": "started", "flow": "b"}),
            ),
            record(
                7,
                d2,
                events::RESET_BLOCKED,
                Outcome::Success,
                json!({"flow": "b"}),
            ),
            record(
                8,
                d2,
                p,
                Outcome::Success,
                json!({"step": "started", "flow": "c"}),
            ),
            record(
                9,
                d2,
                events::UNLOCK_SELF,
                Outcome::Success,
                json!({"flow": "c"}),
            ),
            record(
                10,
                d2,
                events::RESET_PASSWORD_SELF,
                Outcome::Failure,
                json!({"flow": "d"}),
            ),
            record(11, d2, events::ADD_USER, Outcome::Success, json!({})),
        ];
        let days = activity(&records);
        assert_eq!(days.len(), 2);
        let (a, b) = (&days[0], &days[1]);
        assert_eq!(a.date, "2026-11-24");
        assert_eq!(
            (a.started, a.resets, a.abandoned),
            (1, 0, 0),
            "flow a finished the next day"
        );
        assert_eq!(
            a.by_method[&MethodType::Email],
            MethodCounts {
                verified: 0,
                failed: 1
            }
        );
        assert_eq!(a.by_outcome["failure"], 1);
        assert_eq!(b.date, "2026-11-25");
        assert_eq!((b.started, b.resets, b.unlocks, b.blocked), (2, 1, 1, 1));
        assert_eq!(b.reset_failures, 1);
        assert_eq!(b.abandoned, 1, "flow b was blocked and never finished");
        assert_eq!(b.by_method[&MethodType::Email].verified, 1);
        assert_eq!(b.by_outcome["success"], 6);
    }

    fn user(admin: bool) -> User {
        let new = NewUser::cloud(
            Username::parse("ada").unwrap(),
            DisplayName::parse("Ada").unwrap(),
        );
        let now = datetime!(2026-11-25 08:00 UTC);
        User {
            id: new.id,
            username: new.username,
            display_name: new.display_name,
            first_name: None,
            last_name: None,
            email: None,
            alternate_email: None,
            mobile_phone: None,
            office_phone: None,
            roles: if admin {
                [crate::AdminRole::HelpdeskAdmin].into()
            } else {
                BTreeSet::new()
            },
            enabled: true,
            source: crate::UserSource::Cloud,
            admin_locked: false,
            lockout: Default::default(),
            password_hash: None,
            password_changed_at: None,
            registration_confirmed_at: Some(now),
            registration_prompted_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn registered_enabled_and_capable_are_distinct() {
        let now = datetime!(2026-11-25 08:00 UTC);
        let mut policy = SsprPolicy {
            enablement: Enablement::All,
            ..Default::default()
        };
        policy.methods_required = 1;
        policy.methods_enabled = [MethodType::Email].into();
        let questions: BTreeSet<_> = [MethodType::SecurityQuestions].into();
        // Registered with a method the policy does not allow: registered, enabled, not capable.
        let row = registration_row(&policy, &user(false), false, &questions, now);
        assert!(row.registered && row.enabled && !row.capable);
        let email: BTreeSet<_> = [MethodType::Email].into();
        let row = registration_row(&policy, &user(false), false, &email, now);
        assert!(row.registered && row.enabled && row.capable);
        // Out of scope: registered but neither enabled nor capable.
        policy.enablement = Enablement::None;
        let row = registration_row(&policy, &user(false), false, &email, now);
        assert!(row.registered && !row.enabled && !row.capable);
        // Admins need two methods whatever the policy says.
        let row = registration_row(&policy, &user(true), false, &email, now);
        assert!(!row.registered && row.enabled && !row.capable);
        let s = summarise(&[row.clone(), row]);
        assert_eq!(
            (s.users, s.enabled, s.by_method[&MethodType::Email]),
            (2, 2, 2)
        );
    }
}
