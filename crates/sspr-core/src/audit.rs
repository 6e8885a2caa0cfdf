//! The audit log (SPEC §11): events are appended, never changed, and each record carries the
//! SHA-256 of its predecessor, so that altering or deleting a row breaks the chain at that row.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Event names. Where Entra has an activity for the same thing, its exact string is used, so
/// that people who know Entra's audit log find their way here.
pub mod events {
    pub const POLICY_CHANGED: &str = "Self-service password reset policy changes";
    pub const PASSWORD_POLICY_CHANGED: &str = "Password protection policy changes";
    pub const CHANGE_PASSWORD: &str = "Change password (self-service)";
    pub const BREACHED_IMPORT: &str = "Import breached-password corpus";
    pub const ADD_USER: &str = "Add user";
    pub const UPDATE_USER: &str = "Update user";
    pub const DELETE_USER: &str = "Delete user";
    pub const ADMIN_RESET_PASSWORD: &str = "Reset password (by admin)";
    pub const ADMIN_UNLOCK: &str = "Unlock user account (by admin)";
    pub const ADMIN_LOCK: &str = "Lock user account (by admin)";
    pub const ADD_GROUP: &str = "Add group";
    pub const ADD_MEMBER: &str = "Add member to group";
    pub const REMOVE_MEMBER: &str = "Remove member from group";
    pub const IMPORT_USERS: &str = "Import users";
    pub const SMART_LOCKOUT: &str = "Account locked (smart lockout)";
    pub const REGISTERED_SECURITY_INFO: &str = "User registered security info";
    pub const DELETED_SECURITY_INFO: &str = "User deleted security info";
    pub const REVIEWED_SECURITY_INFO: &str = "User reviewed security info";
    pub const REGISTERED_ALL_REQUIRED: &str = "User registered all required security info";
    pub const SKIPPED_REGISTRATION: &str = "User skipped security info registration";
    pub const RESET_FLOW_PROGRESS: &str = "Self-service password reset flow activity progress";
    pub const RESET_PASSWORD_SELF: &str = "Reset password (self-service)";
    pub const RESET_BLOCKED: &str = "Blocked from self-service password reset";
    pub const UNLOCK_SELF: &str = "Unlock user account (self-service)";
    /// A sync of users and groups from the on-premises directory (sspr's own).
    pub const DIRECTORY_SYNC: &str = "Directory synchronization";
    /// Administration API (sspr's own names where Entra has none).
    pub const CREATE_API_TOKEN: &str = "Create API token";
    pub const REVOKE_API_TOKEN: &str = "Revoke API token";
    pub const UPDATE_GROUP: &str = "Update group";
    pub const DELETE_GROUP: &str = "Delete group";
    pub const REQUIRE_REREGISTRATION: &str = "Require re-register security info (by admin)";
    pub const REVOKE_SESSIONS: &str = "Revoke user sessions (by admin)";
    pub const TEST_MESSAGE: &str = "Send test message (by admin)";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

/// An event to append. It never holds a secret: no password, code, token or answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub event_type: String,
    /// Who did it: a username, `cli:<os user>`, `system`, or none for an anonymous visitor.
    pub actor: Option<String>,
    /// What it was done to: a username, group name or setting.
    pub target: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub correlation_id: Option<String>,
    /// Structured detail, e.g. the old and new values of changed settings.
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(event_type: &str, outcome: Outcome) -> Self {
        Self {
            event_type: event_type.to_owned(),
            actor: None,
            target: None,
            client_ip: None,
            user_agent: None,
            outcome,
            reason: None,
            correlation_id: None,
            details: serde_json::Value::Null,
        }
    }

    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored event with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of the record before the first one.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Timestamps are chained at millisecond precision, the precision both stores keep.
pub fn at_millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The hash of one record: SHA-256 over a fixed-order JSON encoding of every field and the
/// previous hash. serde_json's maps are ordered, so the encoding of `details` is canonical.
pub fn chain_hash(prev_hash: &str, seq: i64, at: OffsetDateTime, event: &AuditEvent) -> String {
    #[derive(Serialize)]
    struct Canonical<'a> {
        prev_hash: &'a str,
        seq: i64,
        at_ms: i64,
        event: &'a AuditEvent,
    }
    let bytes = serde_json::to_vec(&Canonical {
        prev_hash,
        seq,
        at_ms: at_millis(at),
        event,
    })
    .expect("serialising an audit event cannot fail");
    hex::encode(Sha256::digest(&bytes))
}

/// Where verification found the chain broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// Checks records in order. Returns how many were checked, or the first broken link.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    expected_prev: Option<String>,
    expected_seq: i64,
    checked: u64,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self {
            expected_prev: Some(GENESIS_HASH.to_owned()),
            expected_seq: 1,
            checked: 0,
        }
    }

    pub fn check(&mut self, record: &AuditRecord) -> Result<(), BrokenLink> {
        let broken = |reason: &str| BrokenLink {
            seq: record.seq,
            reason: reason.to_owned(),
        };
        if record.seq != self.expected_seq {
            return Err(BrokenLink {
                seq: self.expected_seq,
                reason: format!(
                    "record {} is missing (the next record is {})",
                    self.expected_seq, record.seq
                ),
            });
        }
        if self.expected_prev.as_deref() != Some(record.prev_hash.as_str()) {
            return Err(broken(
                "its previous-hash does not match the record before it",
            ));
        }
        if chain_hash(&record.prev_hash, record.seq, record.at, &record.event) != record.hash {
            return Err(broken("its content does not match its hash (altered)"));
        }
        self.expected_prev = Some(record.hash.clone());
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// After the last record: checks that the chain ends where the stored head says it does,
    /// so that deleting the newest records is found too.
    pub fn finish(&self, head_seq: i64, head_hash: &str) -> Result<u64, BrokenLink> {
        let last_seq = self.expected_seq - 1;
        if last_seq != head_seq {
            return Err(BrokenLink {
                seq: last_seq + 1,
                reason: format!(
                    "the log ends at record {last_seq} but {head_seq} records were written (the newest were removed)"
                ),
            });
        }
        if self.expected_prev.as_deref() != Some(head_hash) {
            return Err(BrokenLink {
                seq: last_seq,
                reason: "the last record does not match the recorded head of the chain".into(),
            });
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let at = datetime!(2026-11-25 08:00 UTC) + time::Duration::seconds(seq);
                let event = AuditEvent::new(events::ADD_USER, Outcome::Success)
                    .actor("cli:root")
                    .target(format!("user{seq}"))
                    .details(serde_json::json!({"b": 1, "a": [seq]}));
                let hash = chain_hash(&prev, seq, at, &event);
                let r = AuditRecord {
                    seq,
                    at,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                r
            })
            .collect()
    }

    fn verify(records: &[AuditRecord]) -> Result<u64, BrokenLink> {
        let mut v = ChainVerifier::new();
        for r in records {
            v.check(r)?;
        }
        Ok(v.checked())
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn an_altered_field_is_found_at_its_row() {
        let mut records = chain(5);
        records[2].event.target = Some("mallory".into());
        assert_eq!(verify(&records).unwrap_err().seq, 3);
        let mut records = chain(5);
        records[3].event.outcome = Outcome::Failure;
        assert_eq!(verify(&records).unwrap_err().seq, 4);
    }

    #[test]
    fn a_deleted_row_is_found() {
        let mut records = chain(5);
        records.remove(1);
        let broken = verify(&records).unwrap_err();
        assert_eq!(broken.seq, 2);
        assert!(broken.reason.contains("missing"));
    }

    #[test]
    fn removing_the_newest_records_is_found_against_the_head() {
        let records = chain(5);
        let head = (5, records[4].hash.clone());
        let mut v = ChainVerifier::new();
        for r in &records[..3] {
            v.check(r).unwrap();
        }
        let broken = v.finish(head.0, &head.1).unwrap_err();
        assert_eq!(broken.seq, 4);
        assert!(broken.reason.contains("removed"));
        let mut v = ChainVerifier::new();
        for r in &records {
            v.check(r).unwrap();
        }
        assert_eq!(v.finish(head.0, &head.1), Ok(5));
        assert_eq!(ChainVerifier::new().finish(0, GENESIS_HASH), Ok(0));
    }

    #[test]
    fn a_rehashed_row_breaks_the_next_link() {
        let mut records = chain(5);
        records[1].event.reason = Some("edited".into());
        records[1].hash = chain_hash(&records[1].prev_hash, 2, records[1].at, &records[1].event);
        assert_eq!(verify(&records).unwrap_err().seq, 3);
    }
}
