//! Smart lockout for cloud-only sign-in (SPEC §4, Entra's defaults): 10 failed sign-ins lock
//! the account for 60 seconds; each later lockout, before a successful sign-in, lasts twice as
//! long as the one before, up to a cap. A successful sign-in or self-service reset clears it.

use time::{Duration, OffsetDateTime};

use crate::LockoutState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub threshold: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 10,
            base: Duration::seconds(60),
            max: Duration::hours(24),
        }
    }
}

impl LockoutPolicy {
    /// How long the `n`th lockout (1-based) lasts.
    pub fn duration_of(&self, n: u32) -> Duration {
        let factor = 2i64.saturating_pow(n.saturating_sub(1).min(40));
        let secs = self.base.whole_seconds().saturating_mul(factor);
        Duration::seconds(secs).min(self.max)
    }

    /// The state after one more failed sign-in at `now`. Failures while locked do not count:
    /// an attacker hammering a locked account must not extend the lock of its owner forever.
    pub fn after_failure(&self, state: LockoutState, now: OffsetDateTime) -> LockoutState {
        if state.locked_until.is_some_and(|until| until > now) {
            return state;
        }
        let failed = state.failed_count + 1;
        // After a first lockout, a single further failure re-locks (Entra: "each later
        // failure re-locks, with longer durations").
        let limit = if state.lockout_count > 0 {
            1
        } else {
            self.threshold
        };
        if failed >= limit {
            let n = state.lockout_count + 1;
            LockoutState {
                failed_count: 0,
                lockout_count: n,
                locked_until: Some(now + self.duration_of(n)),
            }
        } else {
            LockoutState {
                failed_count: failed,
                ..state
            }
        }
    }

    /// The state after a successful sign-in or reset: everything cleared.
    pub fn after_success(&self) -> LockoutState {
        LockoutState::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

    #[test]
    fn ten_failures_lock_for_a_minute() {
        let p = LockoutPolicy::default();
        let mut s = LockoutState::default();
        for _ in 0..9 {
            s = p.after_failure(s, T0);
            assert_eq!(s.locked_until, None);
        }
        s = p.after_failure(s, T0);
        assert_eq!(s.locked_until, Some(T0 + Duration::seconds(60)));
        assert_eq!(s.lockout_count, 1);
    }

    #[test]
    fn failures_while_locked_change_nothing() {
        let p = LockoutPolicy::default();
        let locked = LockoutState {
            failed_count: 0,
            lockout_count: 1,
            locked_until: Some(T0 + Duration::seconds(30)),
        };
        assert_eq!(p.after_failure(locked, T0), locked);
    }

    #[test]
    fn later_lockouts_escalate_and_are_capped() {
        let p = LockoutPolicy::default();
        let mut s = LockoutState::default();
        let mut now = T0;
        for _ in 0..10 {
            s = p.after_failure(s, now);
        }
        let mut last = Duration::seconds(60);
        for n in 2..=20 {
            now = s.locked_until.unwrap() + Duration::seconds(1);
            s = p.after_failure(s, now);
            let lasted = s.locked_until.unwrap() - now;
            assert_eq!(s.lockout_count, n);
            assert!(lasted >= last, "lockout {n} must not be shorter");
            assert!(lasted <= p.max);
            last = lasted;
        }
        assert_eq!(last, p.max);
    }

    #[test]
    fn success_clears_everything() {
        assert_eq!(
            LockoutPolicy::default().after_success(),
            LockoutState::default()
        );
    }
}
