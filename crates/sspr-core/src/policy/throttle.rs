//! Sliding-window throttles: the limits of SPEC §4 (Entra's defaults) as pure rules over the
//! timestamps of past events (security.md R15–R22).
//!
//! The events themselves live in the database, shared by every instance (SPEC §4, DESIGN
//! rule 1); the caller loads the relevant ones — those of one user, one gate, one number or
//! one client IP since the subject's last successful reset — and asks:
//!
//! * [`would_exceed`] *before* acting (sending a code, checking an answer): if it says yes,
//!   refuse with the same neutral answer as a normal one (R21, R22);
//! * otherwise record the event first (R19: count before verifying), then act.
//!
//! A rule `limit` / `window` / `block` reads "`limit` events within any `window` → blocked
//! for `block` from the event that reached the limit". The event that reaches the limit is
//! itself allowed (the 5th failed code is evaluated, then the user is blocked), matching
//! Entra's "5 … in 1 hour → blocked 24 hours".

use time::{Duration, OffsetDateTime};

use crate::FieldError;

/// `limit` events within any trailing `window` (inclusive) block the subject for `block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    pub limit: u32,
    pub window: Duration,
    pub block: Duration,
}

impl ThrottleRule {
    pub const fn new(limit: u32, window: Duration, block: Duration) -> Self {
        Self {
            limit,
            window,
            block,
        }
    }

    fn validate(&self, name: &str, errors: &mut Vec<FieldError>) {
        if self.limit < 1 {
            errors.push(field(name, "limit", "must be at least 1"));
        }
        if self.window <= Duration::ZERO {
            errors.push(field(name, "window", "must be longer than zero"));
        }
        if self.block < Duration::ZERO {
            errors.push(field(name, "block", "may not be negative"));
        }
    }
}

fn field(rule: &str, part: &str, message: &str) -> FieldError {
    FieldError {
        field: format!("{rule}.{part}"),
        message: message.to_owned(),
    }
}

/// Until when the subject is blocked: the latest `event + block` over the events at which
/// the trailing window `[event − window, event]` held `limit` events or more — if that is
/// after `now`. Events need not be sorted.
pub fn blocked_until(
    events: &[OffsetDateTime],
    rule: &ThrottleRule,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    // Invalid rules (refused by `Limits::validate`) block nothing rather than panic.
    if rule.limit == 0 || rule.window < Duration::ZERO {
        return None;
    }
    let mut sorted = events.to_vec();
    sorted.sort_unstable();
    let limit = rule.limit as usize;
    let mut start = 0;
    let mut until: Option<OffsetDateTime> = None;
    for (i, &event) in sorted.iter().enumerate() {
        let from = event.saturating_sub(rule.window);
        while start < i && sorted[start] < from {
            start += 1;
        }
        if i + 1 - start >= limit {
            let end = event.saturating_add(rule.block);
            until = until.max(Some(end));
        }
    }
    until.filter(|&end| end > now)
}

/// Whether an action at `now` must be refused: the subject is blocked, or one more event now
/// would be more than `limit` within the trailing window. When this is false, record the
/// event and act; the event that reaches the limit is allowed and starts the block.
pub fn would_exceed(events: &[OffsetDateTime], rule: &ThrottleRule, now: OffsetDateTime) -> bool {
    if blocked_until(events, rule, now).is_some() {
        return true;
    }
    let from = now.saturating_sub(rule.window);
    let recent = events.iter().filter(|&&e| e >= from && e <= now).count();
    recent + 1 > rule.limit as usize
}

/// The throttles of SPEC §4 with Entra's defaults. All configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed verifications of any gate by one user: 5 in 24 h → blocked from SSPR for 24 h.
    pub failed_verifications: ThrottleRule,
    /// Sends or checks of one gate (phone, app, questions) by one user: 5 in 1 h → 24 h.
    pub gate_attempts: ThrottleRule,
    /// Emails sent to one user: 10 in 10 min → 24 h.
    pub emails: ThrottleRule,
    /// SMS or voice calls to one number (toll-fraud defence, R22): 10 in 24 h → 24 h.
    pub per_destination: ThrottleRule,
    /// Code sends requested from one client IP (flood shield): 60 in 1 h → 1 h.
    pub per_ip_sends: ThrottleRule,
    /// Code or answer checks from one client IP: 120 in 1 h → 1 h.
    pub per_ip_checks: ThrottleRule,
    /// How long a one-time code stays valid: 5 min, at most 10.
    pub code_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        let day = Duration::hours(24);
        let hour = Duration::hours(1);
        Self {
            failed_verifications: ThrottleRule::new(5, day, day),
            gate_attempts: ThrottleRule::new(5, hour, day),
            emails: ThrottleRule::new(10, Duration::minutes(10), day),
            per_destination: ThrottleRule::new(10, day, day),
            per_ip_sends: ThrottleRule::new(60, hour, hour),
            per_ip_checks: ThrottleRule::new(120, hour, hour),
            code_lifetime: crate::methods::code::CODE_LIFETIME,
        }
    }
}

impl Limits {
    /// Every problem, with the field path (`emails.window`, `code_lifetime`).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for (name, rule) in [
            ("failed_verifications", &self.failed_verifications),
            ("gate_attempts", &self.gate_attempts),
            ("emails", &self.emails),
            ("per_destination", &self.per_destination),
            ("per_ip_sends", &self.per_ip_sends),
            ("per_ip_checks", &self.per_ip_checks),
        ] {
            rule.validate(name, &mut errors);
        }
        let max = crate::methods::code::MAX_CODE_LIFETIME;
        if self.code_lifetime <= Duration::ZERO || self.code_lifetime > max {
            errors.push(FieldError {
                field: "code_lifetime".to_owned(),
                message: format!(
                    "must be longer than zero and at most {} minutes",
                    max.whole_minutes()
                ),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests;
