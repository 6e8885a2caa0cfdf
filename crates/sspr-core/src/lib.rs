//! sspr-core: the domain of sspr — its types, rules and use cases — and the ports that the
//! adapters (store, directory, delivery, web) implement.
//!
//! Nothing here does I/O or knows about tokio, axum or sqlx: time comes in through the
//! [`ports::Clock`] port and every rule is a plain function, so it can be unit- and
//! property-tested with a frozen clock.

pub mod audit;
pub mod crypto;
pub mod domain;
pub mod flow;
pub mod methods;
pub mod policy;
pub mod ports;
pub mod service;

pub use domain::*;
