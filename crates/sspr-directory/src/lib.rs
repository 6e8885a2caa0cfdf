//! sspr-directory: where passwords are checked and kept. Today that is the built-in directory
//! (the [`sspr_core::ports::Store`] holds users and groups), the bounded argon2id
//! [`hashing::HashPool`] and the offline breached-password corpus ([`breached`]); the LDAP and
//! Active Directory connectors join it later.

pub mod breached;
pub mod hashing;

pub use hashing::{HashParams, HashPool};
