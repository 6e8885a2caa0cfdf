//! sspr-directory: where passwords are checked and kept. Today that is the built-in directory
//! (the [`sspr_core::ports::Store`] holds users and groups), the bounded argon2id
//! [`hashing::HashPool`], the offline breached-password corpus ([`breached`]), and the
//! connectors to on-premises LDAP and Active Directory servers ([`ldap`]).

pub mod breached;
pub mod hashing;
pub mod ldap;

pub use hashing::{HashParams, HashPool};
