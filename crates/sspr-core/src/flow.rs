//! The reset flow as a state machine (SPEC §5), pure: no I/O, no clock.
//!
//! A flow is started for a user ID and bound to a cookie. It offers methods (for a user sspr
//! will not serve: decoys, indistinguishable in shape), collects proofs, and allows one act —
//! a new password or an unlock — only when `required` different gates were proved *in this
//! flow*. The subject is fixed at the start and never taken from a later request.
//!
//! Stages: `Verifying` → (enough gates proved) `Verified` → (an act is claimed) `Acting` →
//! `Done`. A failed act (the password was refused, the directory did not answer) goes back
//! from `Acting` to `Verified`, so the user can try another password without proving
//! themselves again. The store keeps the flow with a version number and writes every change
//! with a compare-and-set, so two parallel requests cannot both move the same flow.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{MethodId, MethodType, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlowId(pub uuid::Uuid);

impl FlowId {
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn parse(raw: &str) -> Option<Self> {
        uuid::Uuid::parse_str(raw).ok().map(Self)
    }
}

impl Default for FlowId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for FlowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Verifying,
    Verified,
    Acting,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Verifying => "verifying",
            Stage::Verified => "verified",
            Stage::Acting => "acting",
            Stage::Done => "done",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "verifying" => Stage::Verifying,
            "verified" => Stage::Verified,
            "acting" => Stage::Acting,
            "done" => Stage::Done,
            _ => return None,
        })
    }
}

/// Where a method's code goes or what it checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Target {
    /// A method the user registered.
    Registered(MethodId),
    /// Contact data on the profile (set by an administrator or the directory).
    ProfileEmail,
    ProfileAlternateEmail,
    ProfileMobile,
    ProfileOffice,
    /// A decoy: there is nothing behind it; nothing is sent and nothing verifies.
    Decoy,
}

/// A method the flow offers, under an id that means something only in this flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offered {
    pub id: String,
    pub kind: MethodType,
    pub hint: String,
    pub target: Target,
}

/// What the flow remembers between requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub id: FlowId,
    /// Keyed hash of the cookie the start set: the flow id alone is not enough.
    pub cookie_hash: String,
    /// The user; `None` for a decoy flow (unknown, disabled, out of scope, unregistered).
    pub subject: Option<UserId>,
    /// Counter key for the limits: the user's id, or a stable decoy key for the user ID typed
    /// (so decoys are throttled exactly like real users).
    pub limit_key: String,
    pub required: u8,
    pub offered: Vec<Offered>,
    /// Ids of offered methods proved in this flow.
    pub verified: Vec<String>,
    /// The security questions currently asked (ids), for `security_questions`.
    pub questions: Vec<String>,
    pub stage: Stage,
    /// Whether the account was locked (unlock-only is offered) when proofs completed.
    pub can_unlock: bool,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Compare-and-set counter of the stored row.
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("no such method in this flow")]
    UnknownMethod,
    #[error("this method is already verified")]
    AlreadyVerified,
    #[error("the flow is not at this step")]
    WrongStage,
    #[error("more methods must be verified first")]
    NotVerified,
    #[error("this flow has expired")]
    Expired,
}

/// The "gate" a method belongs to: two proofs count as two only from different gates
/// (Entra: an SMS and a call to the same mobile phone are one method).
pub fn gate(kind: MethodType) -> &'static str {
    match kind {
        MethodType::Email => "email",
        MethodType::MobileSms | MethodType::MobileVoice => "mobile",
        MethodType::OfficeVoice => "office",
        MethodType::AuthenticatorCode => "app",
        MethodType::SecurityQuestions => "questions",
        MethodType::Passkey => "passkey",
    }
}

impl Flow {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }

    pub fn method(&self, id: &str) -> Result<&Offered, FlowError> {
        self.offered
            .iter()
            .find(|m| m.id == id)
            .ok_or(FlowError::UnknownMethod)
    }

    /// The gates proved so far.
    pub fn gates_proved(&self) -> BTreeSet<&'static str> {
        self.offered
            .iter()
            .filter(|m| self.verified.contains(&m.id))
            .map(|m| gate(m.kind))
            .collect()
    }

    /// A method may be sent to or checked only while proofs are being collected, and only
    /// if its gate is not proved yet.
    pub fn may_use(&self, id: &str, now: OffsetDateTime) -> Result<&Offered, FlowError> {
        if !self.is_live(now) {
            return Err(FlowError::Expired);
        }
        if self.stage != Stage::Verifying {
            return Err(FlowError::WrongStage);
        }
        let m = self.method(id)?;
        if self.gates_proved().contains(gate(m.kind)) {
            return Err(FlowError::AlreadyVerified);
        }
        Ok(m)
    }

    /// Records a successful proof; the flow becomes `Verified` when enough gates are proved.
    pub fn record_proof(&mut self, id: &str, now: OffsetDateTime) -> Result<(), FlowError> {
        self.may_use(id, now)?;
        self.verified.push(id.to_owned());
        if self.gates_proved().len() >= usize::from(self.required) {
            self.stage = Stage::Verified;
        }
        Ok(())
    }

    /// Claims the one act of this flow (`Verified` → `Acting`). Only a flow whose proofs in
    /// this flow reach `required` gates can be claimed.
    pub fn claim_act(&mut self, now: OffsetDateTime) -> Result<(), FlowError> {
        if !self.is_live(now) {
            return Err(FlowError::Expired);
        }
        match self.stage {
            Stage::Verified if self.gates_proved().len() >= usize::from(self.required) => {
                self.stage = Stage::Acting;
                Ok(())
            }
            Stage::Verifying => Err(FlowError::NotVerified),
            _ => Err(FlowError::WrongStage),
        }
    }

    /// The act failed without effect (a refused password, a directory that did not answer):
    /// back to `Verified`.
    pub fn release_act(&mut self) {
        if self.stage == Stage::Acting {
            self.stage = Stage::Verified;
        }
    }

    pub fn finish(&mut self) {
        self.stage = Stage::Done;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-26 08:00 UTC);

    fn flow(required: u8, kinds: &[MethodType]) -> Flow {
        Flow {
            id: FlowId::new(),
            cookie_hash: "c".into(),
            subject: Some(UserId::new()),
            limit_key: "k".into(),
            required,
            offered: kinds
                .iter()
                .enumerate()
                .map(|(i, k)| Offered {
                    id: format!("m{i}"),
                    kind: *k,
                    hint: String::new(),
                    target: Target::Decoy,
                })
                .collect(),
            verified: vec![],
            questions: vec![],
            stage: Stage::Verifying,
            can_unlock: false,
            created_at: NOW,
            expires_at: NOW + time::Duration::minutes(15),
            version: 0,
        }
    }

    #[test]
    fn two_gates_for_two_required() {
        let mut f = flow(
            2,
            &[
                MethodType::MobileSms,
                MethodType::MobileVoice,
                MethodType::Email,
            ],
        );
        assert_eq!(f.claim_act(NOW), Err(FlowError::NotVerified));
        f.record_proof("m0", NOW).unwrap();
        // A call to the same phone is the same gate.
        assert_eq!(f.record_proof("m1", NOW), Err(FlowError::AlreadyVerified));
        assert_eq!(f.claim_act(NOW), Err(FlowError::NotVerified));
        f.record_proof("m2", NOW).unwrap();
        assert_eq!(f.stage, Stage::Verified);
        f.claim_act(NOW).unwrap();
        assert_eq!(f.claim_act(NOW), Err(FlowError::WrongStage), "one act");
        f.release_act();
        f.claim_act(NOW).unwrap();
        f.finish();
        assert_eq!(f.claim_act(NOW), Err(FlowError::WrongStage));
    }

    #[test]
    fn an_expired_flow_does_nothing() {
        let mut f = flow(1, &[MethodType::Email]);
        let late = f.expires_at;
        assert_eq!(f.record_proof("m0", late), Err(FlowError::Expired));
        f.record_proof("m0", NOW).unwrap();
        assert_eq!(f.claim_act(late), Err(FlowError::Expired));
        assert_eq!(f.record_proof("zz", NOW), Err(FlowError::WrongStage));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Prove(usize),
        Claim,
        Release,
        Finish,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..6).prop_map(Op::Prove),
            Just(Op::Claim),
            Just(Op::Release),
            Just(Op::Finish),
        ]
    }

    proptest! {
        /// No sequence of requests reaches "act" without `required` different gates proved in
        /// this flow, and at most one act is in progress or done at a time.
        #[test]
        fn no_act_without_enough_proofs(
            required in 1u8..=2,
            kinds in proptest::collection::vec(0usize..7, 1..6),
            ops in proptest::collection::vec(op(), 0..30),
        ) {
            let kinds: Vec<MethodType> = kinds.iter().map(|i| MethodType::ALL[*i]).collect();
            let mut f = flow(required, &kinds);
            let mut claims = 0;
            for o in ops {
                match o {
                    Op::Prove(i) => { let _ = f.record_proof(&format!("m{i}"), NOW); }
                    Op::Claim => {
                        let before = f.gates_proved().len();
                        if f.claim_act(NOW).is_ok() {
                            prop_assert!(before >= usize::from(required));
                            claims += 1;
                        }
                    }
                    Op::Release => { if f.stage == Stage::Acting { f.release_act(); claims -= 1; } }
                    Op::Finish => { if f.stage == Stage::Acting { f.finish(); } }
                }
                prop_assert!(claims <= 1);
                // Every proof is of an offered method, one per gate.
                let gates: Vec<_> = f.verified.iter().map(|id| gate(f.method(id).unwrap().kind)).collect();
                let distinct: BTreeSet<_> = gates.iter().collect();
                prop_assert_eq!(gates.len(), distinct.len());
            }
        }
    }
}
