//! The reset and unlock flow (SPEC §5): identify, verify N methods, act.
//!
//! Rules that hold here:
//! * the start answers every user ID the same way: a user sspr will not serve (unknown,
//!   disabled, out of scope, not registered) gets a decoy flow whose methods are derived from
//!   a server secret and the typed ID (the same ID always shows the same decoys); nothing is
//!   ever sent for a decoy, and nothing verifies;
//! * the subject comes from the stored flow, never from a request, and the flow is bound to
//!   the cookie its start set;
//! * limits count per user (per decoy key for decoys, so they behave alike), per destination
//!   and per client IP, in the store, shared by every instance; a successful reset clears the
//!   user's counters;
//! * the act (password or unlock) is claimed with a compare-and-set, so of parallel
//!   submissions exactly one writes; success is reported only after the write.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::audit::{AuditEvent, Outcome, events};
use crate::crypto::{Sealer, ServerKey};
use crate::flow::{Flow, FlowError, FlowId, Offered, Stage, Target, gate};
use crate::methods::code::{EMAIL_CODE_LEN, OneTimeCode, PHONE_CODE_LEN, code_hash};
use crate::methods::mask::{mask_email, mask_phone};
use crate::methods::passkey::{self, PasskeyError, RelyingParty};
use crate::methods::questions::{self, QuestionId};
use crate::policy::eligibility::{NotEligible, Registration};
use crate::policy::password::PasswordProblem;
use crate::policy::throttle::Limits;
use crate::ports::{
    Clock, CodePurpose, CodeSpend, Delivery, DeliveryChannel, FlowWrite, HashError, NewCode,
    Notice, PasswordHasher, PasswordWrite, Store, StoreError,
};
use crate::ports::{DirectoryAccounts, DirectoryError};
use crate::service::accounts::{AccountError, Accounts};
use crate::service::eligibility::evaluate_with;
use crate::service::passwords::{PasswordRules, SetBy, SetPasswordError, checked_hash};
use crate::service::security_info::{Caller, check_totp};
use crate::service::throttle::{Blocked, Throttle};
use crate::{
    EmailAddress, LockoutState, MethodType, PasswordHash, PhoneNumber, RegisteredMethod, User,
    UserId, UserSource,
};

/// The longest user ID read (longer input is cut, not refused: the answer must not differ).
pub const MAX_LOGIN_CHARS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// Unknown flow, a flow of another cookie, or an expired one: one answer for all.
    #[error("this reset has expired or does not exist; start again")]
    NoFlow,
    #[error("no such method in this reset")]
    UnknownMethod,
    #[error("this step is not available now")]
    WrongStep,
    #[error("more methods must be verified first")]
    NotVerified,
    /// Wrong, expired or used code; wrong answers; a failed passkey: one answer.
    #[error("that is not right")]
    InvalidProof,
    #[error("too many attempts")]
    Blocked(Blocked),
    #[error("the password does not meet the policy")]
    Policy(Vec<PasswordProblem>),
    #[error("the account is not locked, or unlocking is not allowed")]
    CannotUnlock,
    /// Another request of this flow is acting right now.
    #[error("this reset is being completed by another request")]
    Busy,
    /// The password lives in a directory sspr cannot write to (no writeback).
    #[error("this account's password is managed by the on-premises directory")]
    DirectoryUser,
    /// The directory refused the password (its own policy, or sspr's history of what it set),
    /// or could not be reached (retryable; nothing is reported as done).
    #[error(transparent)]
    Directory(DirectoryError),
    #[error("this request is not valid: {0}")]
    BadInput(&'static str),
    /// Only with the policy's `explicit_messages` on (Entra's explicit messages; they tell
    /// which user IDs exist): why this user cannot reset.
    #[error("this account cannot use self-service password reset: {0:?}")]
    NotEligible(Ineligible),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Blocked> for ResetError {
    fn from(b: Blocked) -> Self {
        ResetError::Blocked(b)
    }
}

impl From<FlowError> for ResetError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::UnknownMethod => ResetError::UnknownMethod,
            FlowError::AlreadyVerified | FlowError::WrongStage => ResetError::WrongStep,
            FlowError::NotVerified => ResetError::NotVerified,
            FlowError::Expired => ResetError::NoFlow,
        }
    }
}

type Result<T> = std::result::Result<T, ResetError>;

/// Why a user ID cannot reset, for the explicit messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ineligible {
    /// No such account.
    UnknownUser,
    AccountDisabled,
    /// Outside the SSPR group, or SSPR is off (for administrators too).
    NotEnabled,
    /// Has not registered enough methods.
    NotRegistered,
}

/// What checking a proof found.
enum Checked {
    Right,
    Wrong,
    /// A sent code, right if it can still be spent: it is spent with the flow's update, in
    /// one transaction.
    Code {
        binding: String,
        hash: String,
    },
}

impl From<bool> for Checked {
    fn from(right: bool) -> Self {
        if right {
            Checked::Right
        } else {
            Checked::Wrong
        }
    }
}

/// A method as the flow shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MethodHint {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: MethodType,
    pub hint: String,
    pub verified: bool,
}

/// What the pages and the API show of a flow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowView {
    pub flow_id: String,
    pub required: u8,
    pub verified: usize,
    pub methods: Vec<MethodHint>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub stage: Stage,
    pub can_unlock: bool,
}

impl FlowView {
    pub fn of(flow: &Flow) -> Self {
        let proved = flow.gates_proved();
        Self {
            flow_id: flow.id.to_string(),
            required: flow.required,
            verified: proved.len(),
            methods: flow
                .offered
                .iter()
                .map(|m| MethodHint {
                    id: m.id.clone(),
                    kind: m.kind,
                    hint: m.hint.clone(),
                    verified: proved.contains(gate(m.kind)),
                })
                .collect(),
            expires_at: flow.expires_at,
            stage: flow.stage,
            can_unlock: flow.can_unlock,
        }
    }
}

pub struct Started {
    pub flow: Flow,
    /// The cookie value that binds the flow to this browser.
    pub cookie: String,
}

/// What a "send" step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A code is on its way (or, for a decoy, seems to be).
    Code,
    /// Nothing to send: the user enters a code from their app.
    Nothing,
    /// The questions to answer now: (id, text).
    Questions(Vec<(String, String)>),
    /// A passkey challenge: the options for `navigator.credentials.get`.
    Passkey(serde_json::Value),
}

/// A proof submitted for a method.
#[derive(Debug, Clone)]
pub enum Proof {
    Code(String),
    Answers(BTreeMap<String, String>),
    Assertion(serde_json::Value),
}

/// The outcome of a good proof.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub verified: usize,
    pub required: u8,
    pub can_unlock: bool,
}

/// The use case. Cheap to build per request.
pub struct Reset<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a dyn PasswordHasher,
    pub clock: &'a dyn Clock,
    pub delivery: &'a dyn Delivery,
    /// Keys code hashes and the flow cookie's hash.
    pub code_key: &'a ServerKey,
    /// Derives decoys from the typed user ID.
    pub decoy_key: &'a ServerKey,
    pub sealer: &'a Sealer,
    pub limits: &'a Limits,
    pub passkeys: Option<&'a RelyingParty>,
    pub flow_lifetime: Duration,
    /// The on-premises directory, for directory-sourced users' passwords and lockouts.
    pub directory: Option<&'a dyn DirectoryAccounts>,
}

fn key_failures(limit_key: &str) -> String {
    format!("reset:fail:{limit_key}")
}
fn key_gate(limit_key: &str, gate: &str) -> String {
    format!("reset:gate:{gate}:{limit_key}")
}
fn key_email(limit_key: &str) -> String {
    format!("reset:email:{limit_key}")
}
fn key_ip(kind: &str, ip: &str) -> String {
    format!("ip:{kind}:{ip}")
}

fn channel(kind: MethodType) -> Option<DeliveryChannel> {
    match kind {
        MethodType::Email => Some(DeliveryChannel::Email),
        MethodType::MobileSms => Some(DeliveryChannel::Sms),
        MethodType::MobileVoice | MethodType::OfficeVoice => Some(DeliveryChannel::Voice),
        _ => None,
    }
}

/// The user ID as looked up: trimmed, lower-case, at most [`MAX_LOGIN_CHARS`].
pub fn normalise_login(raw: &str) -> String {
    raw.trim()
        .chars()
        .take(MAX_LOGIN_CHARS)
        .collect::<String>()
        .to_lowercase()
}

impl Reset<'_> {
    fn throttle(&self) -> Throttle<'_> {
        Throttle {
            store: self.store,
            clock: self.clock,
        }
    }

    fn audit(&self, caller: &Caller, target: &str, event: &str, outcome: Outcome) -> AuditEvent {
        let mut e = AuditEvent::new(event, outcome).actor(target).target(target);
        e.client_ip = caller.client_ip.clone();
        e.user_agent = caller.user_agent.clone();
        e.correlation_id = caller.correlation_id.clone();
        e
    }

    /// The record of a step with one of the flow's methods ("method_sent", "method_failed",
    /// "method_verified"), about the flow's user or "-" for a decoy.
    fn method_step(
        &self,
        caller: &Caller,
        user: Option<&User>,
        step: &str,
        outcome: Outcome,
        method: MethodType,
        flow: FlowId,
    ) -> AuditEvent {
        let target = user.map_or("-", |u| u.username.as_str());
        self.audit(caller, target, events::RESET_FLOW_PROGRESS, outcome)
            .details(json!({ "step": step, "method": method, "flow": flow }))
    }

    fn cookie_hash(&self, cookie: &str) -> String {
        self.code_key
            .keyed_hash(format!("flow:{cookie}").as_bytes())
    }

    // Identify ---------------------------------------------------------------------------------

    /// Starts a flow for the typed user ID. The answer has the same shape for every ID.
    pub async fn start(&self, login: &str, caller: &Caller) -> Result<Started> {
        let login = normalise_login(login);
        let now = self.clock.now();
        let policy = self.store.policy().await?;
        let user = self.store.find_user_by_login(&login).await?;
        // Read once: eligibility counts the verified ones, the offer lists them.
        let methods = match &user {
            Some(u) if u.enabled => self.store.list_methods(u.id).await?,
            _ => Vec::new(),
        };
        let (served, why_not) = match &user {
            Some(u) if u.enabled => {
                match evaluate_with(self.store, &policy, u, &methods, now).await? {
                    Ok(e) if e.registration != Registration::Required => (Some((u, e)), None),
                    Ok(_) => (None, Some(Ineligible::NotRegistered)),
                    Err(NotEligible::AccountDisabled) => (None, Some(Ineligible::AccountDisabled)),
                    Err(_) => (None, Some(Ineligible::NotEnabled)),
                }
            }
            Some(_) => (None, Some(Ineligible::AccountDisabled)),
            None => (None, Some(Ineligible::UnknownUser)),
        };
        if policy.explicit_messages
            && served.is_none()
            && let Some(why) = why_not
        {
            return Err(ResetError::NotEligible(why));
        }
        let decoy_seed = self
            .decoy_key
            .keyed_hash(format!("decoy:{login}").as_bytes());
        // A user registered on paper (profile data) but without enough usable gates now is
        // not served either.
        let real = match served {
            Some((u, e)) => {
                let offered = self.offer(u, &methods, &e.allowed, policy.questions_to_reset);
                let gates: BTreeSet<_> = offered.iter().map(|m| gate(m.kind)).collect();
                (gates.len() >= usize::from(e.required))
                    .then(|| (Some(u.id), u.id.to_string(), e.required, offered))
            }
            None => None,
        };
        let (subject, limit_key, required, offered) = real.unwrap_or_else(|| {
            (
                None,
                format!("decoy:{}", &decoy_seed[..32]),
                policy.methods_required,
                decoys(&decoy_seed, policy.methods_required),
            )
        });
        let cookie = hex::encode(rand::random::<[u8; 32]>());
        let flow = Flow {
            id: FlowId::new(),
            cookie_hash: self.cookie_hash(&cookie),
            subject,
            limit_key,
            required,
            offered,
            verified: vec![],
            questions: vec![],
            stage: Stage::Verifying,
            can_unlock: false,
            created_at: now,
            expires_at: now + self.flow_lifetime,
            version: 0,
        };
        let caller = &caller.for_flow(flow.id);
        // Audited alike for every ID (the record says nothing the answer does not).
        let target: String = login.chars().take(64).collect();
        let started = self
            .audit(
                caller,
                &target,
                events::RESET_FLOW_PROGRESS,
                Outcome::Success,
            )
            .details(json!({ "step": "started", "flow": flow.id }));
        self.store.create_flow(&flow, &started).await?;
        Ok(Started { flow, cookie })
    }

    /// The methods a served user can use, in a stable order, under per-flow ids.
    fn offer(
        &self,
        user: &User,
        methods: &[RegisteredMethod],
        allowed: &BTreeSet<MethodType>,
        questions_to_reset: u8,
    ) -> Vec<Offered> {
        let mut list: Vec<(MethodType, String, Target)> = Vec::new();
        let mut seen: BTreeSet<(MethodType, String)> = BTreeSet::new();
        let mut push = |kind: MethodType, label: String, hint: String, target: Target| {
            if allowed.contains(&kind) && seen.insert((kind, label)) {
                list.push((kind, hint, target));
            }
        };
        if let Some(e) = &user.email {
            push(
                MethodType::Email,
                e.as_str().to_owned(),
                mask_email(e),
                Target::ProfileEmail,
            );
        }
        if let Some(e) = &user.alternate_email {
            push(
                MethodType::Email,
                e.as_str().to_owned(),
                mask_email(e),
                Target::ProfileAlternateEmail,
            );
        }
        if let Some(p) = &user.mobile_phone {
            for kind in [MethodType::MobileSms, MethodType::MobileVoice] {
                push(
                    kind,
                    p.as_str().to_owned(),
                    mask_phone(p),
                    Target::ProfileMobile,
                );
            }
        }
        if let Some(p) = &user.office_phone {
            push(
                MethodType::OfficeVoice,
                p.as_str().to_owned(),
                mask_phone(p),
                Target::ProfileOffice,
            );
        }
        let mut app_offered = false;
        for m in methods {
            if !m.is_verified() {
                continue;
            }
            let target = Target::Registered(m.id);
            match m.kind {
                MethodType::Email => {
                    if let Ok(e) = EmailAddress::parse(&m.label) {
                        push(m.kind, m.label.clone(), mask_email(&e), target);
                    }
                }
                MethodType::MobileSms | MethodType::MobileVoice | MethodType::OfficeVoice => {
                    if let Ok(p) = PhoneNumber::parse(&m.label) {
                        push(m.kind, m.label.clone(), mask_phone(&p), target);
                    }
                }
                // One entry for the app however many are registered: any of them may answer.
                MethodType::AuthenticatorCode if !app_offered => {
                    app_offered = true;
                    push(m.kind, String::new(), "Authenticator app".into(), target);
                }
                MethodType::AuthenticatorCode => {}
                MethodType::SecurityQuestions => {
                    if question_count(m) >= usize::from(questions_to_reset) {
                        push(m.kind, String::new(), "Security questions".into(), target);
                    }
                }
                MethodType::Passkey if self.passkeys.is_some() => {
                    push(m.kind, String::new(), "Passkey".into(), target);
                }
                MethodType::Passkey => {}
            }
        }
        list.into_iter()
            .enumerate()
            .map(|(i, (kind, hint, target))| Offered {
                id: format!("m{}", i + 1),
                kind,
                hint,
                target,
            })
            .collect()
    }

    // Load -------------------------------------------------------------------------------------

    /// The live flow of this cookie. Unknown, foreign (another cookie) and expired flows get
    /// the same error.
    pub async fn load(&self, id: &str, cookie: &str) -> Result<Flow> {
        let Some(id) = FlowId::parse(id) else {
            return Err(ResetError::NoFlow);
        };
        let Some(flow) = self.store.get_flow(id).await? else {
            return Err(ResetError::NoFlow);
        };
        self.check_cookie_and_life(&flow, cookie)?;
        Ok(flow)
    }

    /// [`Self::load`] and the flow's subject (enabled users only), read together.
    async fn load_with_subject(&self, id: &str, cookie: &str) -> Result<(Flow, Option<User>)> {
        let Some(id) = FlowId::parse(id) else {
            return Err(ResetError::NoFlow);
        };
        let Some((flow, user)) = self.store.get_flow_with_subject(id).await? else {
            return Err(ResetError::NoFlow);
        };
        self.check_cookie_and_life(&flow, cookie)?;
        // A flow's subject is fixed when it starts; the user row is read as it is now.
        let user = user.filter(|u| flow.subject == Some(u.id) && u.enabled);
        Ok((flow, user))
    }

    fn check_cookie_and_life(&self, flow: &Flow, cookie: &str) -> Result<()> {
        let presented = self.cookie_hash(cookie);
        let same = subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), flow.cookie_hash.as_bytes());
        if !bool::from(same) || !flow.is_live(self.clock.now()) {
            return Err(ResetError::NoFlow);
        }
        Ok(())
    }

    async fn subject(&self, flow: &Flow) -> Result<Option<User>> {
        match flow.subject {
            Some(id) => Ok(self.store.get_user(id).await?.filter(|u| u.enabled)),
            None => Ok(None),
        }
    }

    // Verify -----------------------------------------------------------------------------------

    /// Sends a code to a method (or asks the questions, or makes a passkey challenge).
    pub async fn send(
        &self,
        flow_id: &str,
        cookie: &str,
        method_id: &str,
        caller: &Caller,
    ) -> Result<Sent> {
        let (mut flow, user) = self.load_with_subject(flow_id, cookie).await?;
        let caller = &caller.for_flow(flow.id);
        let now = self.clock.now();
        let method = flow.may_use(method_id, now)?.clone();
        let throttle = self.throttle();
        throttle
            .check(
                &key_failures(&flow.limit_key),
                &self.limits.failed_verifications,
            )
            .await??;
        let audit = self.method_step(
            caller,
            user.as_ref(),
            "method_sent",
            Outcome::Success,
            method.kind,
            flow.id,
        );
        let sent = match method.kind {
            MethodType::Email
            | MethodType::MobileSms
            | MethodType::MobileVoice
            | MethodType::OfficeVoice => {
                // Audited with the code, in its transaction.
                self.send_code(&flow, &method, user.as_ref(), caller, &audit)
                    .await?;
                return Ok(Sent::Code);
            }
            MethodType::AuthenticatorCode => Sent::Nothing,
            MethodType::SecurityQuestions => {
                let policy = self.store.policy().await?;
                let asked = self
                    .draw_questions(&flow, &method, user.as_ref(), policy.questions_to_reset)
                    .await?;
                flow.questions = asked.clone();
                if !self.store.update_flow(&flow, None).await? {
                    return Err(ResetError::Busy);
                }
                Sent::Questions(
                    asked
                        .iter()
                        .filter_map(|id| {
                            let qid = QuestionId::parse(id).ok()?;
                            let text =
                                questions::text(&qid, caller.locale, &policy.custom_questions)?;
                            Some((id.clone(), text))
                        })
                        .collect(),
                )
            }
            MethodType::Passkey => {
                let rp = self.passkeys.ok_or(ResetError::UnknownMethod)?;
                let user = user.as_ref().ok_or(ResetError::UnknownMethod)?;
                let keys = self.user_passkeys(user).await?;
                let (options, state) = rp
                    .start_authentication(&keys)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                // One challenge per method of a flow: a new one replaces the last.
                let hash = self.ceremony_hash(&flow, &method);
                self.store
                    .take_ceremony(&hash, passkey::AUTHENTICATION, now)
                    .await?;
                self.store
                    .put_ceremony(
                        &hash,
                        Some(user.id),
                        passkey::AUTHENTICATION,
                        &state,
                        now + Duration::seconds(passkey::CEREMONY_SECONDS),
                    )
                    .await?;
                Sent::Passkey(options.get("publicKey").cloned().unwrap_or_default())
            }
        };
        self.store.append_audit(&audit).await?;
        Ok(sent)
    }

    fn ceremony_hash(&self, flow: &Flow, method: &Offered) -> String {
        self.code_key.keyed_hash(
            format!(
                "reset-passkey:{}:{}:{}",
                flow.id, method.id, flow.cookie_hash
            )
            .as_bytes(),
        )
    }

    async fn user_passkeys(&self, user: &User) -> Result<Vec<webauthn_rs::prelude::Passkey>> {
        Ok(self
            .store
            .list_methods(user.id)
            .await?
            .iter()
            .filter(|m| m.kind == MethodType::Passkey && m.is_verified())
            .filter_map(|m| m.secret.as_deref().and_then(|s| passkey::decode(s).ok()))
            .collect())
    }

    /// Where a code for this method goes (the full address; never shown).
    async fn destination(&self, user: &User, target: &Target) -> Result<Option<String>> {
        Ok(match target {
            Target::ProfileEmail => user.email.as_ref().map(|e| e.as_str().to_owned()),
            Target::ProfileAlternateEmail => {
                user.alternate_email.as_ref().map(|e| e.as_str().to_owned())
            }
            Target::ProfileMobile => user.mobile_phone.as_ref().map(|p| p.as_str().to_owned()),
            Target::ProfileOffice => user.office_phone.as_ref().map(|p| p.as_str().to_owned()),
            Target::Registered(id) => self
                .store
                .get_method(user.id, *id)
                .await?
                .filter(RegisteredMethod::is_verified)
                .map(|m| m.label),
            Target::Decoy => None,
        })
    }

    fn binding(flow: &Flow, method: &Offered) -> String {
        format!("reset:{}:{}", flow.id, method.id)
    }

    async fn send_code(
        &self,
        flow: &Flow,
        method: &Offered,
        user: Option<&User>,
        caller: &Caller,
        audit: &AuditEvent,
    ) -> Result<()> {
        let user_id = user.map(|u| u.id);
        let destination = match user {
            Some(u) => self.destination(u, &method.target).await?,
            None => None,
        };
        // Every limit the send counts toward, in one commit: per address, per user (emails,
        // or the gate's attempts) and, for a phone, per destination.
        let send_key = caller.client_ip.as_ref().map(|ip| key_ip("send", ip));
        let user_key = if method.kind == MethodType::Email {
            (key_email(&flow.limit_key), &self.limits.emails)
        } else {
            (
                key_gate(&flow.limit_key, gate(method.kind)),
                &self.limits.gate_attempts,
            )
        };
        let dest_key = destination
            .as_ref()
            .filter(|_| method.kind != MethodType::Email)
            .map(|to| format!("dest:{}", self.code_key.keyed_hash(to.as_bytes())));
        let mut limits = Vec::with_capacity(3);
        if let Some(key) = &send_key {
            limits.push((key.as_str(), None, &self.limits.per_ip_sends));
        }
        limits.push((user_key.0.as_str(), user_id, user_key.1));
        if let Some(key) = &dest_key {
            limits.push((key.as_str(), None, &self.limits.per_destination));
        }
        self.throttle().attempt_all(&limits).await??;
        let len = if method.kind == MethodType::Email {
            EMAIL_CODE_LEN
        } else {
            PHONE_CODE_LEN
        };
        let code = OneTimeCode::generate(len);
        let now = self.clock.now();
        let binding = Self::binding(flow, method);
        // A decoy gets a code row too (the same writes as a real send), but its hash is of
        // nothing anyone was told, so it can never be entered.
        let hash = match &destination {
            Some(_) => code_hash(self.code_key, &binding, &code),
            None => code_hash(self.code_key, &format!("decoy:{binding}"), &code),
        };
        let message = match (destination, channel(method.kind)) {
            (Some(to), Some(channel)) => {
                let minutes = u32::try_from(self.limits.code_lifetime.whole_minutes()).unwrap_or(5);
                Some(self.delivery.render(
                    channel,
                    &to,
                    &Notice::VerificationCode {
                        code: code.as_str().to_owned(),
                        minutes,
                        purpose: CodePurpose::Reset,
                    },
                    caller.locale,
                ))
            }
            _ => None,
        };
        self.store
            .issue_code(
                &NewCode {
                    id: uuid::Uuid::new_v4(),
                    user_id,
                    code_hash: hash,
                    binding,
                    created_at: now,
                    expires_at: now + self.limits.code_lifetime,
                },
                message.as_ref(),
                audit,
            )
            .await?;
        Ok(())
    }

    /// A fresh random subset of the user's registered questions (for a decoy: of the
    /// predefined ones, so the page looks the same).
    async fn draw_questions(
        &self,
        flow: &Flow,
        method: &Offered,
        user: Option<&User>,
        count: u8,
    ) -> Result<Vec<String>> {
        let mut pool: Vec<String> = match (user, &method.target) {
            (Some(u), Target::Registered(id)) => self
                .store
                .get_method(u.id, *id)
                .await?
                .map(|m| stored_answers(&m).into_iter().map(|(q, _)| q).collect())
                .unwrap_or_default(),
            _ => questions::catalogue(crate::Locale::En, &[])
                .into_iter()
                .map(|(id, _)| id.as_str().to_owned())
                .collect(),
        };
        // Fisher–Yates with the OS RNG; avoid repeating the exact set just asked when possible.
        for i in (1..pool.len()).rev() {
            let j = (rand::random::<u64>() % (i as u64 + 1)) as usize;
            pool.swap(i, j);
        }
        pool.truncate(usize::from(count));
        if pool == flow.questions && pool.len() > 1 {
            pool.rotate_left(1);
        }
        Ok(pool)
    }

    /// Checks a proof for a method of the flow.
    pub async fn verify(
        &self,
        flow_id: &str,
        cookie: &str,
        method_id: &str,
        proof: &Proof,
        caller: &Caller,
    ) -> Result<Progress> {
        let (mut flow, user) = self.load_with_subject(flow_id, cookie).await?;
        let caller = &caller.for_flow(flow.id);
        let now = self.clock.now();
        let method = flow.may_use(method_id, now)?.clone();
        let user_id = user.as_ref().map(|u| u.id);
        let throttle = self.throttle();
        throttle
            .check(
                &key_failures(&flow.limit_key),
                &self.limits.failed_verifications,
            )
            .await??;
        if let Some(ip) = &caller.client_ip {
            throttle
                .attempt(&key_ip("check", ip), None, &self.limits.per_ip_checks)
                .await??;
        }
        if method.kind != MethodType::Email {
            throttle
                .attempt(
                    &key_gate(&flow.limit_key, gate(method.kind)),
                    user_id,
                    &self.limits.gate_attempts,
                )
                .await??;
        }
        let checked = match &user {
            Some(u) => self.check_proof(&flow, &method, u, proof, now).await?,
            // A decoy: nothing verifies. The answers are still hashed, so the time taken
            // does not tell a decoy from a real user with wrong answers.
            None => {
                if let Proof::Answers(a) = proof {
                    for answer in a.values().take(usize::from(questions::MAX_REQUIRED)) {
                        let _ = self.hasher.hash(&questions::normalise_answer(answer)).await;
                    }
                }
                Checked::Wrong
            }
        };
        let code = match &checked {
            Checked::Wrong => {
                return Err(self
                    .proof_failed(&mut flow, &method, user.as_ref(), caller)
                    .await?);
            }
            Checked::Right => None,
            Checked::Code { binding, hash } => Some(CodeSpend {
                binding,
                code_hash: hash,
                now,
            }),
        };
        let audit = self.method_step(
            caller,
            user.as_ref(),
            "method_verified",
            Outcome::Success,
            method.kind,
            flow.id,
        );
        // The proof is recorded even if a parallel request of this flow (a questions draw,
        // another proof) wrote the flow meanwhile: read it again and retry. A code is spent
        // in the same transaction, so a lost race leaves it live for the retry.
        let mut attempts = 0;
        loop {
            let mut next = flow.clone();
            next.record_proof(method_id, now)?;
            if next.stage == Stage::Verified
                && let Some(u) = &user
            {
                next.can_unlock = self.may_unlock(u, now).await?;
            }
            let written = match &code {
                Some(code) => {
                    self.store
                        .update_flow_spending_code(&next, &audit, code)
                        .await?
                }
                None if self.store.update_flow(&next, Some(&audit)).await? => FlowWrite::Written,
                None => FlowWrite::Stale,
            };
            match written {
                FlowWrite::Written => {
                    flow = next;
                    break;
                }
                // Wrong, expired, or spent by a parallel submission of the same code.
                FlowWrite::CodeRejected => {
                    return Err(self
                        .proof_failed(&mut flow, &method, user.as_ref(), caller)
                        .await?);
                }
                FlowWrite::Stale => {}
            }
            attempts += 1;
            if attempts == 3 {
                return Err(ResetError::Busy);
            }
            flow = self.load(flow_id, cookie).await?;
        }
        Ok(Progress {
            verified: flow.gates_proved().len(),
            required: flow.required,
            can_unlock: flow.can_unlock,
        })
    }

    /// A proof that failed: counted toward the flow's limit on failed verifications (and
    /// audited, with the block it may start); a wrong answer draws new questions. Returns
    /// the error to answer with.
    async fn proof_failed(
        &self,
        flow: &mut Flow,
        method: &Offered,
        user: Option<&User>,
        caller: &Caller,
    ) -> Result<ResetError> {
        let throttle = self.throttle();
        let user_id = user.map(|u| u.id);
        let target = user.map_or_else(|| "-".to_owned(), |u| u.username.as_str().to_owned());
        throttle
            .record(
                &key_failures(&flow.limit_key),
                user_id,
                &self.limits.failed_verifications,
            )
            .await?;
        // This failure may be the one that blocks (it was not blocked before the check).
        let hit = throttle
            .check(
                &key_failures(&flow.limit_key),
                &self.limits.failed_verifications,
            )
            .await?;
        self.store
            .append_audit(&self.method_step(
                caller,
                user,
                "method_failed",
                Outcome::Failure,
                method.kind,
                flow.id,
            ))
            .await?;
        if let Err(blocked) = hit {
            self.store
                .append_audit(
                    &self
                        .audit(caller, &target, events::RESET_BLOCKED, Outcome::Success)
                        .details(json!({ "flow": flow.id, "until": blocked.until.to_string() })),
                )
                .await?;
        }
        if method.kind == MethodType::SecurityQuestions {
            // Any wrong answer draws a new subset.
            let policy = self.store.policy().await?;
            flow.questions = self
                .draw_questions(flow, method, user, policy.questions_to_reset)
                .await?;
            let _ = self.store.update_flow(flow, None).await?;
        }
        Ok(ResetError::InvalidProof)
    }

    async fn check_proof(
        &self,
        flow: &Flow,
        method: &Offered,
        user: &User,
        proof: &Proof,
        now: OffsetDateTime,
    ) -> Result<Checked> {
        if let (
            MethodType::Email
            | MethodType::MobileSms
            | MethodType::MobileVoice
            | MethodType::OfficeVoice,
            Proof::Code(code),
        ) = (method.kind, proof)
        {
            // Whether it is right is known when it is spent, with the flow's update.
            return Ok(match OneTimeCode::parse(code) {
                Ok(code) => {
                    let binding = Self::binding(flow, method);
                    let hash = code_hash(self.code_key, &binding, &code);
                    Checked::Code { binding, hash }
                }
                Err(_) => Checked::Wrong,
            });
        }
        Ok(self
            .check_other_proof(flow, method, user, proof, now)
            .await?
            .into())
    }

    /// Checks a proof other than a sent code (an app's code, answers, a passkey).
    async fn check_other_proof(
        &self,
        flow: &Flow,
        method: &Offered,
        user: &User,
        proof: &Proof,
        now: OffsetDateTime,
    ) -> Result<bool> {
        match (method.kind, proof) {
            (MethodType::AuthenticatorCode, Proof::Code(code)) => {
                // Any of the user's verified apps may answer.
                for m in self.store.list_methods(user.id).await? {
                    if m.kind == MethodType::AuthenticatorCode
                        && m.is_verified()
                        && check_totp(self.store, self.sealer, &m, code, now).await?
                    {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            (MethodType::SecurityQuestions, Proof::Answers(given)) => {
                let Target::Registered(id) = &method.target else {
                    return Ok(false);
                };
                let Some(m) = self.store.get_method(user.id, *id).await? else {
                    return Ok(false);
                };
                if flow.questions.is_empty() {
                    return Err(ResetError::WrongStep);
                }
                let stored: BTreeMap<String, PasswordHash> =
                    stored_answers(&m).into_iter().collect();
                let mut all_right = true;
                // Every asked question is checked (no early exit: the time does not tell which
                // answer was wrong).
                for q in &flow.questions {
                    let right = match (given.get(q), stored.get(q)) {
                        (Some(a), Some(hash)) => {
                            self.hasher
                                .verify(&questions::normalise_answer(a), hash)
                                .await?
                        }
                        _ => false,
                    };
                    all_right &= right;
                }
                Ok(all_right)
            }
            (MethodType::Passkey, Proof::Assertion(answer)) => {
                let Some(rp) = self.passkeys else {
                    return Ok(false);
                };
                let Some((Some(owner), state)) = self
                    .store
                    .take_ceremony(
                        &self.ceremony_hash(flow, method),
                        passkey::AUTHENTICATION,
                        now,
                    )
                    .await?
                else {
                    return Ok(false);
                };
                if owner != user.id {
                    return Ok(false);
                }
                let methods = self.store.list_methods(user.id).await?;
                let keys: Vec<(RegisteredMethod, webauthn_rs::prelude::Passkey)> = methods
                    .into_iter()
                    .filter(|m| m.kind == MethodType::Passkey && m.is_verified())
                    .filter_map(|m| {
                        let key = passkey::decode(m.secret.as_deref()?).ok()?;
                        Some((m, key))
                    })
                    .collect();
                let creds: Vec<_> = keys.iter().map(|(_, k)| k.clone()).collect();
                let used = passkey::parse_assertion(answer)
                    .and_then(|a| rp.finish_authentication(&a, &state, &creds));
                match used {
                    Ok(updated) => {
                        if let Some((m, _)) =
                            keys.iter().find(|(_, k)| k.cred_id() == updated.cred_id())
                            && let Ok(secret) = passkey::encode(&updated)
                        {
                            self.store
                                .update_method_secret(user.id, m.id, &secret, now)
                                .await?;
                        }
                        Ok(true)
                    }
                    Err(PasskeyError::Rejected) => Ok(false),
                    Err(PasskeyError::Corrupt(e)) => Err(StoreError::Corrupt(e).into()),
                }
            }
            _ => Err(ResetError::BadInput(
                "this kind of proof does not fit this method",
            )),
        }
    }

    // Act --------------------------------------------------------------------------------------

    fn accounts(&self, history: u8) -> Accounts<'_> {
        Accounts {
            store: self.store,
            hasher: self.hasher,
            directory: self.directory,
            history,
        }
    }

    /// Whether unlock-only may be offered: the policy allows it and the account is locked.
    /// The cheaper question first: a cloud user's lock is on the row already read, a
    /// directory user's is a question to the directory.
    async fn may_unlock(&self, user: &User, now: OffsetDateTime) -> Result<bool> {
        if user.source == UserSource::Cloud {
            return Ok(self.is_locked(user, now).await && self.store.policy().await?.allow_unlock);
        }
        Ok(self.store.policy().await?.allow_unlock && self.is_locked(user, now).await)
    }

    /// Whether the account is locked now (smart lockout, or the directory's lockout). A
    /// directory that cannot be asked counts as "not locked": unlock-only is then not offered,
    /// and a new password still is.
    async fn is_locked(&self, user: &User, now: OffsetDateTime) -> bool {
        if user.source == UserSource::Cloud {
            return user.lockout.locked_until.is_some_and(|t| t > now);
        }
        // A directory that cannot tell is reported by the write that follows, or by the
        // writeback status page.
        self.accounts(0)
            .lock_state(user, now)
            .await
            .is_ok_and(|state| state.is_locked())
    }

    /// Claims the flow's act, or explains why not. `subject` is the flow's user when the
    /// caller has just read it.
    async fn claim(&self, flow: &mut Flow, subject: Option<User>) -> Result<User> {
        let now = self.clock.now();
        flow.claim_act(now)?;
        let user = match subject {
            Some(u) => u,
            None => self.subject(flow).await?.ok_or(ResetError::NotVerified)?,
        };
        if !self.store.update_flow(flow, None).await? {
            return Err(ResetError::Busy);
        }
        flow.version += 1;
        Ok(user)
    }

    async fn release(&self, flow: &mut Flow) -> Result<()> {
        flow.release_act();
        if self.store.update_flow(flow, None).await? {
            flow.version += 1;
        }
        Ok(())
    }

    /// Sets a new password. Success only after the store (or directory) confirmed the write.
    pub async fn set_new_password(
        &self,
        flow_id: &str,
        cookie: &str,
        new_password: &str,
        rules: &PasswordRules<'_>,
        caller: &Caller,
    ) -> Result<()> {
        if new_password.len() > 1024 {
            return Err(ResetError::Policy(vec![PasswordProblem::TooLong {
                max: crate::policy::password::PasswordPolicy::MAX_LENGTH,
            }]));
        }
        let (mut flow, subject) = self.load_with_subject(flow_id, cookie).await?;
        let caller = &caller.for_flow(flow.id);
        // Cheap rule checks before claiming: a refused password leaves the flow as it was.
        if flow.stage == Stage::Verified
            && let Some(user) = &subject
        {
            let problems = rules.check(new_password, Some(user));
            if !problems.is_empty() {
                return Err(ResetError::Policy(problems));
            }
        }
        let user = self.claim(&mut flow, subject).await?;
        let audit = self
            .audit(
                caller,
                user.username.as_str(),
                events::RESET_PASSWORD_SELF,
                Outcome::Success,
            )
            .details(json!({ "flow": flow.id }));
        if user.source != UserSource::Cloud {
            // sspr's rules passed above; the directory applies its own (and sspr its history
            // of what it set, where the directory would not). The accounts service audits
            // success and failure itself.
            let written = self
                .accounts(rules.policy.history)
                .set_password(&user, new_password, &audit)
                .await;
            if let Err(e) = written {
                self.release(&mut flow).await?;
                return Err(account_error(e));
            }
            return self
                .after_act(&mut flow, &user, caller, ActKind::Reset, None)
                .await;
        }
        let hashed = checked_hash(
            self.store,
            self.hasher,
            rules,
            &user,
            new_password,
            SetBy::OnBehalf,
        )
        .await;
        let hash = match hashed {
            Ok(hash) => hash,
            Err(e) => {
                self.release(&mut flow).await?;
                let failed = self
                    .audit(
                        caller,
                        user.username.as_str(),
                        events::RESET_PASSWORD_SELF,
                        Outcome::Failure,
                    )
                    .details(json!({ "flow": flow.id, "reason": e.to_string() }));
                self.store.append_audit(&failed).await?;
                return Err(match e {
                    SetPasswordError::Policy(p) => ResetError::Policy(p),
                    SetPasswordError::DirectoryUser => ResetError::DirectoryUser,
                    SetPasswordError::Hash(h) => ResetError::Hash(h),
                    SetPasswordError::Store(s) => ResetError::Store(s),
                });
            }
        };
        // The password is stored with the end of the flow, in one transaction: never changed
        // without its sessions revoked, its codes spent and its notices queued.
        let password = PasswordWrite {
            hash: &hash,
            keep_history: rules.policy.history,
            audit: &audit,
        };
        let finished = self
            .after_act(&mut flow, &user, caller, ActKind::Reset, Some(&password))
            .await;
        if finished.is_err() {
            // Nothing was stored: the flow is verified again, so that the user can retry.
            let _ = self.release(&mut flow).await;
        }
        finished
    }

    /// Unlocks the account without changing the password (when the policy allows and the
    /// account was locked).
    pub async fn unlock(&self, flow_id: &str, cookie: &str, caller: &Caller) -> Result<()> {
        let mut flow = self.load(flow_id, cookie).await?;
        let caller = &caller.for_flow(flow.id);
        let policy = self.store.policy().await?;
        if flow.stage == Stage::Verified && !(flow.can_unlock && policy.allow_unlock) {
            return Err(ResetError::CannotUnlock);
        }
        let user = self.claim(&mut flow, None).await?;
        let audit = self
            .audit(
                caller,
                user.username.as_str(),
                events::UNLOCK_SELF,
                Outcome::Success,
            )
            .details(json!({ "flow": flow.id }));
        if user.source != UserSource::Cloud {
            if let Err(e) = self.accounts(0).unlock(&user, &audit).await {
                self.release(&mut flow).await?;
                return Err(account_error(e));
            }
            return self
                .after_act(&mut flow, &user, caller, ActKind::Unlock, None)
                .await;
        }
        let cleared = self
            .store
            .update_lockout(
                user.id,
                &user.lockout,
                &LockoutState::default(),
                Some(&audit),
            )
            .await;
        match cleared {
            Ok(true) => {}
            Ok(false) => {
                // The lockout changed meanwhile (a sign-in attempt): let the user try again.
                self.release(&mut flow).await?;
                return Err(ResetError::Busy);
            }
            Err(e) => {
                self.release(&mut flow).await?;
                return Err(e.into());
            }
        }
        self.after_act(&mut flow, &user, caller, ActKind::Unlock, None)
            .await
    }

    async fn after_act(
        &self,
        flow: &mut Flow,
        user: &User,
        caller: &Caller,
        kind: ActKind,
        password: Option<&PasswordWrite<'_>>,
    ) -> Result<()> {
        let now = self.clock.now();
        let policy = self.store.policy().await?;
        let at = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let notice = match kind {
            ActKind::Reset => Notice::PasswordReset {
                username: user.username.as_str().to_owned(),
                at: at.clone(),
            },
            ActKind::Unlock => Notice::Unlocked { at: at.clone() },
        };
        let mut messages = Vec::new();
        if policy.notify_user_on_reset || kind == ActKind::Unlock {
            for to in self.user_addresses(user).await? {
                messages.push(self.delivery.render(
                    DeliveryChannel::Email,
                    &to,
                    &notice,
                    caller.locale,
                ));
            }
        }
        if kind == ActKind::Reset && user.is_admin() && policy.notify_admins_on_admin_reset {
            let notice = Notice::AdminPasswordReset {
                admin: user.username.as_str().to_owned(),
                at: at.clone(),
            };
            for to in self.other_admin_addresses(user.id).await? {
                messages.push(self.delivery.render(
                    DeliveryChannel::Email,
                    &to,
                    &notice,
                    caller.locale,
                ));
            }
        }
        // Finished in memory only once stored: a caller that fails here can still release it.
        let mut done = flow.clone();
        done.finish();
        // Sessions elsewhere end with a new password; an unlock changes no credential. The
        // notices are queued in the same transaction: told if and only if finished.
        self.store
            .finish_flow(
                &done,
                user.id,
                password,
                kind == ActKind::Reset,
                now,
                &messages,
            )
            .await?;
        *flow = done;
        Ok(())
    }

    /// The user's primary and alternate addresses and their verified registered ones.
    async fn user_addresses(&self, user: &User) -> Result<BTreeSet<String>> {
        let mut out: BTreeSet<String> = [&user.email, &user.alternate_email]
            .into_iter()
            .flatten()
            .map(|e| e.as_str().to_owned())
            .collect();
        out.extend(
            self.store
                .list_methods(user.id)
                .await?
                .into_iter()
                .filter(|m| m.kind == MethodType::Email && m.is_verified())
                .map(|m| m.label),
        );
        Ok(out)
    }

    /// Every other administrator's primary address (at most 100).
    async fn other_admin_addresses(&self, except: UserId) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.store.list_users(None, offset, 500).await?;
            if page.is_empty() {
                break;
            }
            offset += 500;
            out.extend(
                page.iter()
                    .filter(|u| u.id != except && u.enabled && u.is_admin())
                    .filter_map(|u| u.email.as_ref().map(|e| e.as_str().to_owned())),
            );
            if out.len() >= 100 {
                out.truncate(100);
                break;
            }
        }
        Ok(out)
    }
}

fn account_error(e: AccountError) -> ResetError {
    match e {
        AccountError::Directory(d) => ResetError::Directory(d),
        AccountError::NoDirectory => ResetError::DirectoryUser,
        AccountError::Hash(h) => ResetError::Hash(h),
        AccountError::Store(s) => ResetError::Store(s),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActKind {
    Reset,
    Unlock,
}

/// The stored question answers of a method: (question id, answer hash).
fn stored_answers(m: &RegisteredMethod) -> Vec<(String, PasswordHash)> {
    let Some(secret) = &m.secret else {
        return vec![];
    };
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(secret)
    else {
        return vec![];
    };
    items
        .iter()
        .filter_map(|i| {
            Some((
                i["q"].as_str()?.to_owned(),
                PasswordHash::from_phc(i["h"].as_str()?.to_owned()),
            ))
        })
        .collect()
}

fn question_count(m: &RegisteredMethod) -> usize {
    stored_answers(m).len()
}

/// Decoy methods for a user ID sspr will not serve: derived from a keyed hash of the ID, so
/// the same ID always shows the same methods, with hints shaped exactly like real ones.
pub fn decoys(seed_hex: &str, required: u8) -> Vec<Offered> {
    let bytes: Vec<u8> = (0..seed_hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&seed_hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    let b = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let letters = "abcdefghijklmnopqrstuvwxyz";
    let letter = |i: usize| letters.as_bytes()[usize::from(b(i)) % 26] as char;
    let local: String = (0..5 + usize::from(b(1) % 8))
        .map(|i| letter(2 + i))
        .collect();
    let domains = [
        "gmail.com",
        "outlook.com",
        "yahoo.com",
        "icloud.com",
        "proton.me",
        "gmx.de",
    ];
    let domain = domains[usize::from(b(12)) % domains.len()];
    let email = EmailAddress::parse(&format!("{local}@{domain}"))
        .map(|e| mask_email(&e))
        .unwrap_or_default();
    // A UK mobile in the 7911 range (libphonenumber accepts these), last digits from the seed.
    let phone = PhoneNumber::parse(&format!(
        "+4479111{:02}{:03}",
        b(13) % 100,
        u16::from_be_bytes([b(14), b(15)]) % 1000
    ))
    .map(|p| mask_phone(&p))
    .unwrap_or_default();
    let mut kinds = vec![(MethodType::Email, email)];
    kinds.push((MethodType::MobileSms, phone.clone()));
    if b(16) % 2 == 0 {
        kinds.push((MethodType::MobileVoice, phone));
    }
    if required > 1 || b(17) % 3 == 0 {
        kinds.push((MethodType::AuthenticatorCode, "Authenticator app".into()));
    }
    kinds
        .into_iter()
        .enumerate()
        .map(|(i, (kind, hint))| Offered {
            id: format!("m{}", i + 1),
            kind,
            hint,
            target: Target::Decoy,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoys_are_stable_per_id_and_shaped_like_real_hints() {
        let a = decoys(&"ab".repeat(32), 1);
        assert_eq!(a, decoys(&"ab".repeat(32), 1));
        assert_ne!(a, decoys(&"cd".repeat(32), 1));
        assert!(a.iter().all(|m| m.target == Target::Decoy));
        let email = &a[0].hint;
        assert!(email.contains('@') && email.contains('•'), "{email}");
        let phone = &a[1].hint;
        assert!(phone.starts_with("+44 ") && phone.contains('•'), "{phone}");
        // Enough different gates for two required methods.
        let two = decoys(&"ef".repeat(32), 2);
        let gates: BTreeSet<_> = two.iter().map(|m| gate(m.kind)).collect();
        assert!(gates.len() >= 2);
    }

    #[test]
    fn logins_are_normalised_and_cut() {
        assert_eq!(normalise_login("  Ada@Example.ORG "), "ada@example.org");
        assert_eq!(normalise_login(&"x".repeat(1000)).len(), MAX_LOGIN_CHARS);
    }
}
