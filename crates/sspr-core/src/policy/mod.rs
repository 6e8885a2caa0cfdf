//! Rules, as pure functions over domain values.

pub mod banned;
pub mod eligibility;
pub mod groups;
pub mod lockout;
pub mod password;
pub mod throttle;
