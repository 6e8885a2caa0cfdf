//! Use cases: each one a small piece of orchestration over the ports.

pub mod accounts;
pub mod contact_admin;
pub mod eligibility;
pub mod passwords;
pub mod policy_admin;
pub mod reset;
pub mod security_info;
pub mod signin;
pub mod throttle;
