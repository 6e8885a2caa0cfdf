//! The verification methods ("gates", SPEC §1) as pure domain code: one-time codes for email,
//! SMS and voice, TOTP, security questions, passkeys (WebAuthn), the QR code for TOTP enrolment and the masked
//! hints that tell a user where a code went without revealing the address.
//!
//! Nothing here does I/O or reads the clock: time is passed in, so the rules can be tested
//! with a frozen clock. Storage, delivery and throttling live elsewhere (the store, the
//! outbox, [`crate::policy::throttle`]).

pub mod code;
pub mod mask;
pub mod passkey;
pub mod qr;
pub mod questions;
pub mod totp;
