//! Applies the limits of SPEC §4 through the store's shared counters, so that every instance
//! sees every attempt. The rules are pure (`policy::throttle`); this is where attempts are
//! recorded and refused.

use time::{Duration, OffsetDateTime};

use crate::UserId;
use crate::policy::throttle::{ThrottleRule, blocked_until};
use crate::ports::{Attempt, Clock, Store, StoreError};

/// An action was refused by a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    pub until: OffsetDateTime,
}

impl Blocked {
    /// Whole seconds to wait, at least 1 (for `Retry-After`).
    pub fn retry_after(&self, now: OffsetDateTime) -> u64 {
        u64::try_from((self.until - now).whole_seconds())
            .unwrap_or(0)
            .max(1)
    }
}

pub struct Throttle<'a> {
    pub store: &'a dyn Store,
    pub clock: &'a dyn Clock,
}

fn horizon(rule: &ThrottleRule) -> Duration {
    rule.window + rule.block
}

impl Throttle<'_> {
    /// Counts an attempt (a send, or a check of a gate) and allows it unless the key is
    /// blocked. The attempt is recorded before the decision, so that parallel requests see
    /// each other; a refused attempt is forgotten again and does not extend the block.
    pub async fn attempt(
        &self,
        key: &str,
        user: Option<UserId>,
        rule: &ThrottleRule,
    ) -> Result<Result<(), Blocked>, StoreError> {
        self.attempt_all(&[(key, user, rule)]).await
    }

    /// Counts one action against several limits at once (one commit for all of them), as
    /// [`Throttle::attempt`] would one after another: the first limit in the list that
    /// blocks refuses the action, and its attempt and those after it are forgotten again;
    /// the attempts before it count.
    pub async fn attempt_all(
        &self,
        limits: &[(&str, Option<UserId>, &ThrottleRule)],
    ) -> Result<Result<(), Blocked>, StoreError> {
        let now = self.clock.now();
        let attempts: Vec<Attempt<'_>> = limits
            .iter()
            .map(|(key, user, rule)| Attempt {
                key,
                user: *user,
                since: now - horizon(rule),
                enough: rule.limit,
            })
            .collect();
        let hits = self.store.throttle_hits(&attempts, now).await?;
        let refused = hits
            .iter()
            .zip(limits)
            .enumerate()
            .find_map(|(i, (hit, (_, _, rule)))| Some((i, blocked_until(&hit.others, rule, now)?)));
        let Some((first, until)) = refused else {
            return Ok(Ok(()));
        };
        for hit in &hits[first..] {
            self.store.throttle_forget(hit.id).await?;
        }
        Ok(Err(Blocked { until }))
    }

    /// Whether the key is blocked now, without counting anything (e.g. before checking a
    /// code, when only a failure counts).
    pub async fn check(
        &self,
        key: &str,
        rule: &ThrottleRule,
    ) -> Result<Result<(), Blocked>, StoreError> {
        let now = self.clock.now();
        let events = self
            .store
            .throttle_events(key, now - horizon(rule), rule.limit)
            .await?;
        Ok(match blocked_until(&events, rule, now) {
            Some(until) => Err(Blocked { until }),
            None => Ok(()),
        })
    }

    /// Records an event that counts toward a limit (e.g. a failed verification).
    pub async fn record(
        &self,
        key: &str,
        user: Option<UserId>,
        rule: &ThrottleRule,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        // The other events are not needed here: ask for more than can exist.
        self.store
            .throttle_hit(key, user, now, now - horizon(rule), u32::MAX)
            .await
            .map(drop)
    }
}
