use proptest::prelude::*;
use time::macros::datetime;

use super::*;

const T0: OffsetDateTime = datetime!(2026-01-05 09:00 UTC);

fn mins(m: i64) -> OffsetDateTime {
    T0 + Duration::minutes(m)
}

fn rule(limit: u32, window_min: i64, block_min: i64) -> ThrottleRule {
    ThrottleRule::new(
        limit,
        Duration::minutes(window_min),
        Duration::minutes(block_min),
    )
}

#[test]
fn reaching_the_limit_blocks_from_that_event() {
    let r = rule(5, 60, 24 * 60);
    let events: Vec<_> = (0..5).map(|i| mins(i * 10)).collect();
    assert_eq!(
        blocked_until(&events, &r, mins(41)),
        Some(mins(40 + 24 * 60))
    );
    // Four are not enough.
    assert_eq!(blocked_until(&events[..4], &r, mins(41)), None);
    // The block ends: at its end the subject is free again.
    assert_eq!(blocked_until(&events, &r, mins(40 + 24 * 60)), None);
    assert!(blocked_until(&events, &r, mins(40 + 24 * 60 - 1)).is_some());
}

#[test]
fn the_window_is_inclusive_and_slides() {
    let r = rule(3, 60, 120);
    // First and last exactly one window apart: together.
    let inclusive = [mins(0), mins(30), mins(60)];
    assert_eq!(blocked_until(&inclusive, &r, mins(60)), Some(mins(180)));
    // One minute more: never three inside one window.
    let spread = [mins(0), mins(30), mins(61)];
    assert_eq!(blocked_until(&spread, &r, mins(61)), None);
    // Unsorted input is fine.
    let shuffled = [mins(60), mins(0), mins(30)];
    assert_eq!(blocked_until(&shuffled, &r, mins(60)), Some(mins(180)));
}

#[test]
fn the_latest_block_counts() {
    let r = rule(2, 10, 30);
    // Two bursts: the second ends later.
    let events = [mins(0), mins(5), mins(100), mins(101)];
    assert_eq!(blocked_until(&events, &r, mins(102)), Some(mins(131)));
    assert_eq!(blocked_until(&events, &r, mins(6)), Some(mins(131)));
}

#[test]
fn would_exceed_allows_the_limit_then_refuses() {
    let r = rule(5, 60, 24 * 60);
    let mut events = Vec::new();
    for i in 0..5 {
        let now = mins(i);
        assert!(
            !would_exceed(&events, &r, now),
            "action {} is allowed",
            i + 1
        );
        events.push(now);
    }
    // The 5th reached the limit: blocked, so the 6th is refused, also after the window.
    assert!(would_exceed(&events, &r, mins(5)));
    assert!(would_exceed(&events, &r, mins(120)));
    assert!(!would_exceed(&events, &r, mins(4 + 24 * 60)));
    // Old events outside the window do not count.
    let old: Vec<_> = (0..4).map(|i| mins(i - 200)).collect();
    assert!(!would_exceed(&old, &r, mins(0)));
}

#[test]
fn would_exceed_counts_only_the_window_when_block_is_short() {
    // A block shorter than the window: the window still caps the rate.
    let r = rule(2, 60, 1);
    let events = [mins(0), mins(10)];
    assert_eq!(blocked_until(&events, &r, mins(20)), None);
    assert!(would_exceed(&events, &r, mins(20)));
    assert!(!would_exceed(&events, &r, mins(71)));
}

#[test]
fn no_events_no_block() {
    let r = rule(1, 10, 10);
    assert_eq!(blocked_until(&[], &r, T0), None);
    assert!(!would_exceed(&[], &r, T0));
    // limit 1: the first event blocks.
    assert_eq!(blocked_until(&[T0], &r, T0), Some(mins(10)));
}

#[test]
fn invalid_rules_do_not_panic() {
    let zero = rule(0, 10, 10);
    assert_eq!(blocked_until(&[T0, T0], &zero, T0), None);
    let negative = rule(2, -10, 10);
    assert_eq!(blocked_until(&[T0, mins(1)], &negative, T0), None);
}

#[test]
fn defaults_follow_entra() {
    let l = Limits::default();
    assert_eq!(l.failed_verifications, rule(5, 24 * 60, 24 * 60));
    assert_eq!(l.gate_attempts, rule(5, 60, 24 * 60));
    assert_eq!(l.emails, rule(10, 10, 24 * 60));
    assert_eq!(l.per_destination, rule(10, 24 * 60, 24 * 60));
    assert_eq!(l.per_ip_sends, rule(60, 60, 60));
    assert_eq!(l.per_ip_checks, rule(120, 60, 60));
    assert_eq!(l.code_lifetime, Duration::minutes(5));
    assert_eq!(l.validate(), Ok(()));
}

#[test]
fn validate_reports_every_problem() {
    let mut l = Limits::default();
    l.emails.limit = 0;
    l.gate_attempts.window = Duration::ZERO;
    l.per_ip_sends.block = Duration::minutes(-1);
    l.code_lifetime = Duration::minutes(11);
    let fields: Vec<String> = l
        .validate()
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "gate_attempts.window",
            "emails.limit",
            "per_ip_sends.block",
            "code_lifetime"
        ]
    );
    l = Limits {
        code_lifetime: Duration::minutes(10),
        ..Limits::default()
    };
    assert_eq!(l.validate(), Ok(()));
    l.code_lifetime = Duration::ZERO;
    assert!(l.validate().is_err());
}

fn arb_events() -> impl Strategy<Value = Vec<OffsetDateTime>> {
    prop::collection::vec(0i64..3_000, 0..40).prop_map(|ms| ms.into_iter().map(mins).collect())
}

fn arb_rule() -> impl Strategy<Value = ThrottleRule> {
    (1u32..8, 1i64..500, 0i64..2_000).prop_map(|(l, w, b)| rule(l, w, b))
}

proptest! {
    #[test]
    fn adding_an_event_never_shortens_a_block(
        events in arb_events(),
        extra in 0i64..3_000,
        r in arb_rule(),
        now in 0i64..5_000,
    ) {
        let before = blocked_until(&events, &r, mins(now));
        let mut more = events.clone();
        more.push(mins(extra));
        let after = blocked_until(&more, &r, mins(now));
        prop_assert!(after >= before, "{before:?} -> {after:?}");
        if before.is_some() {
            prop_assert!(would_exceed(&more, &r, mins(now)));
        }
    }

    #[test]
    fn events_further_apart_than_the_window_never_block(
        gaps in prop::collection::vec(1i64..100, 0..30),
        limit in 2u32..8,
        window in 1i64..100,
    ) {
        let r = rule(limit, window, 1_000);
        let mut t = 0;
        let events: Vec<_> = gaps.iter().map(|g| { t += window + g; mins(t) }).collect();
        prop_assert_eq!(blocked_until(&events, &r, mins(0)), None);
        prop_assert!(!would_exceed(&events, &r, mins(t + window + 1)));
    }

    #[test]
    fn a_block_is_in_the_future_and_ends_after_an_event(
        events in arb_events(),
        r in arb_rule(),
        now in 0i64..5_000,
    ) {
        if let Some(until) = blocked_until(&events, &r, mins(now)) {
            prop_assert!(until > mins(now));
            prop_assert!(events.iter().any(|&e| e + r.block == until));
            prop_assert!(events.len() >= r.limit as usize);
        }
    }

    #[test]
    fn would_exceed_agrees_with_recording_and_checking(
        events in arb_events(),
        r in arb_rule(),
        now in 3_000i64..5_000,
    ) {
        // For events all in the past: if the action is allowed, recording it leaves at most
        // `limit` events in the window.
        if !would_exceed(&events, &r, mins(now)) {
            let mut more = events.clone();
            more.push(mins(now));
            let from = mins(now) - r.window;
            let n = more.iter().filter(|&&e| e >= from).count();
            prop_assert!(n <= r.limit as usize);
        }
    }
}
