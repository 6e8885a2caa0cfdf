//! Use cases: each one a small piece of orchestration over the ports.

pub mod accounts;
pub mod admin_access;
pub mod admin_groups;
pub mod admin_users;
pub mod api_tokens;
pub mod contact_admin;
pub mod eligibility;
pub mod passwords;
pub mod policy_admin;
pub mod reports;
pub mod reset;
pub mod security_info;
pub mod signin;
pub mod throttle;
