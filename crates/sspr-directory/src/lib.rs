//! sspr-directory: where passwords are checked and kept. Today that is the built-in directory
//! (the [`sspr_core::ports::Store`] holds users and groups) and the bounded argon2id
//! [`hashing::HashPool`]; the LDAP and Active Directory connectors join it later.

pub mod hashing;

pub use hashing::{HashParams, HashPool};
