//! sspr-notify's black-box tests: SMTP against a real aiosmtpd capture (started by
//! `scripts/smtp.sh`), the SMS/voice gateways against a local HTTP receiver, and the outbox
//! worker with a real store. One binary, one module per subject.

mod gateways;
mod helpers;
mod outbox;
mod smtp;
