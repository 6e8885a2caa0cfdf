//! "My security info" (SPEC §6): a signed-in user lists, adds, verifies and removes the
//! methods a reset can use, answers security questions, and registers or re-confirms when
//! sign-in asks them to.
//!
//! Rules that hold here:
//! * an email address or phone number counts only after the user entered the code sent to it;
//!   an authenticator app only after one valid code of its own;
//! * codes are random, stored as keyed hashes bound to the method, single use, short-lived;
//!   an expired code gets the same answer as a wrong one, and a resend never resets a counter;
//! * sends and checks are limited per user, per destination and per client IP through the
//!   store's shared counters (SPEC §4);
//! * every change is audited, and the user is told about it at every verified address.

use std::collections::BTreeSet;

use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, Outcome, events};
use crate::crypto::{Sealer, ServerKey};
use crate::methods::code::{EMAIL_CODE_LEN, OneTimeCode, PHONE_CODE_LEN, code_hash};
use crate::methods::passkey::{self, PasskeyError, RelyingParty};
use crate::methods::questions::{self, AnswerError};
use crate::methods::{qr, totp};
use crate::policy::eligibility::{Eligible, NotEligible, Registration};
use crate::policy::throttle::Limits;
use crate::ports::{
    Clock, CodePurpose, Delivery, DeliveryChannel, HashError, NewCode, Notice, PasswordHasher,
    Store, StoreError,
};
use crate::service::eligibility::evaluate;
use crate::service::throttle::{Blocked, Throttle};
use crate::{
    EmailAddress, Locale, MethodId, MethodType, PhoneNumber, RegisteredMethod, SsprPolicy, User,
};

/// Who is asking, for audit records, limits and the language of messages.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub correlation_id: Option<String>,
    pub locale: Locale,
}

impl Caller {
    /// The same caller, with a reset flow's id as the correlation id: every audit record of
    /// one reset carries it, and the pages show it as the support code.
    pub fn for_flow(&self, flow: crate::flow::FlowId) -> Caller {
        Caller {
            correlation_id: Some(flow.to_string()),
            ..self.clone()
        }
    }
}

/// A method as the user sees it: never the address in full, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MethodView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: MethodType,
    pub hint: String,
    pub verified: bool,
    /// `user` for what the user registered, `admin` for contact data an administrator or the
    /// directory put on the profile (the user cannot remove those here).
    pub source: &'static str,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

/// What the user needs to finish adding an authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TotpEnrolment {
    pub otpauth_uri: String,
    pub qr_svg: String,
    /// The secret in base32, for typing into an app that cannot scan.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Added {
    #[serde(flatten)]
    pub method: MethodView,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpEnrolment>,
}

/// What sign-in should do about registration (SPEC §2, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// Nothing to ask.
    None,
    /// Fewer methods than a reset needs: register.
    Register { skip_until: Option<OffsetDateTime> },
    /// Registered, but the re-confirmation period has passed: review.
    Reconfirm { skip_until: Option<OffsetDateTime> },
}

#[derive(Debug, thiserror::Error)]
pub enum SecurityInfoError {
    /// A field of the request is wrong; the message is for the user.
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("security question answers are not valid")]
    Answers(Vec<AnswerError>),
    /// No such method for this user (also for another user's id).
    #[error("no such method")]
    NotFound,
    #[error("this method is already verified")]
    AlreadyVerified,
    /// Wrong, expired or used code: one answer for all three.
    #[error("the code is not valid")]
    InvalidCode,
    #[error("too many attempts")]
    Blocked(Blocked),
    /// The policy does not offer this method to this user.
    #[error("this method is not available to you")]
    MethodNotAllowed,
    #[error("not enough methods registered yet")]
    NotRegistered,
    #[error("the time to skip registration has run out")]
    SkipExpired,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn expired_ceremony() -> SecurityInfoError {
    SecurityInfoError::Field {
        field: "ceremony",
        message: "this passkey request has expired; start again".into(),
    }
}

impl From<Blocked> for SecurityInfoError {
    fn from(b: Blocked) -> Self {
        SecurityInfoError::Blocked(b)
    }
}

type Result<T> = std::result::Result<T, SecurityInfoError>;

/// The use case. Cheap to build per request.
pub struct SecurityInfo<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a dyn PasswordHasher,
    pub clock: &'a dyn Clock,
    pub delivery: &'a dyn Delivery,
    /// Keys the hashes of one-time codes.
    pub code_key: &'a ServerKey,
    /// Seals authenticator secrets at rest.
    pub sealer: &'a Sealer,
    pub limits: &'a Limits,
    /// ISO regions phone numbers may belong to; empty allows every region.
    pub phone_regions: &'a [String],
    /// The issuer shown in authenticator apps (the organisation's name).
    pub issuer: &'a str,
    /// Passkeys, when the public base URL has a host name.
    pub passkeys: Option<&'a RelyingParty>,
}

/// The first half of adding a passkey: what the browser passes to `navigator.credentials.create`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PasskeyChallenge {
    /// Names the ceremony in the second request.
    pub ceremony: String,
    #[serde(rename = "publicKey")]
    pub public_key: serde_json::Value,
}

/// The longest name a user may give a passkey.
pub const PASSKEY_NAME_MAX: usize = 64;

/// Counter keys. Registration keeps its own counters (`reg:`), apart from the reset flow's,
/// so a user who mistypes while registering is not locked out of resetting.
fn key_email(user: &User) -> String {
    format!("reg:email:{}", user.id)
}
fn key_gate(user: &User, gate: &str) -> String {
    format!("reg:gate:{gate}:{}", user.id)
}
fn key_failures(user: &User) -> String {
    format!("reg:fail:{}", user.id)
}
fn key_ip(kind: &str, ip: &str) -> String {
    format!("ip:{kind}:{ip}")
}

/// The gate a method's sends and checks count against.
fn gate(kind: MethodType) -> &'static str {
    match kind {
        MethodType::Email => "email",
        MethodType::MobileSms | MethodType::MobileVoice | MethodType::OfficeVoice => "phone",
        MethodType::AuthenticatorCode => "app",
        MethodType::SecurityQuestions => "questions",
        MethodType::Passkey => "passkey",
    }
}

fn channel(kind: MethodType) -> Option<DeliveryChannel> {
    match kind {
        MethodType::Email => Some(DeliveryChannel::Email),
        MethodType::MobileSms => Some(DeliveryChannel::Sms),
        MethodType::MobileVoice | MethodType::OfficeVoice => Some(DeliveryChannel::Voice),
        _ => None,
    }
}

/// The methods the policy lets this user register (admins: the fixed two-gate set).
pub fn allowed_methods(policy: &SsprPolicy, user: &User) -> BTreeSet<MethodType> {
    if user.is_admin() {
        MethodType::ALL
            .into_iter()
            .filter(|m| m.allowed_for_admins())
            .collect()
    } else {
        policy.methods_enabled.clone()
    }
}

fn hint(m: &RegisteredMethod) -> String {
    match m.kind {
        MethodType::Email => EmailAddress::parse(&m.label)
            .map(|e| e.masked())
            .unwrap_or_default(),
        MethodType::MobileSms | MethodType::MobileVoice | MethodType::OfficeVoice => {
            PhoneNumber::parse(&m.label)
                .map(|p| p.masked())
                .unwrap_or_default()
        }
        MethodType::AuthenticatorCode => "Authenticator app".into(),
        MethodType::SecurityQuestions => "Security questions".into(),
        MethodType::Passkey => m.label.clone(),
    }
}

pub fn view(m: &RegisteredMethod) -> MethodView {
    MethodView {
        id: m.id.to_string(),
        kind: m.kind,
        hint: hint(m),
        verified: m.is_verified(),
        source: "user",
        created_at: Some(m.created_at),
    }
}

/// The profile's contact data as methods (counted as registered, SPEC §6).
fn profile_views(user: &User) -> Vec<MethodView> {
    let mut out = Vec::new();
    let mut push = |id: &str, kind, hint: String| {
        out.push(MethodView {
            id: id.to_owned(),
            kind,
            hint,
            verified: true,
            source: "admin",
            created_at: None,
        })
    };
    if let Some(e) = &user.email {
        push("profile-email", MethodType::Email, e.masked());
    }
    if let Some(e) = &user.alternate_email {
        push("profile-alternate-email", MethodType::Email, e.masked());
    }
    if let Some(p) = &user.mobile_phone {
        push("profile-mobile", MethodType::MobileSms, p.masked());
    }
    if let Some(p) = &user.office_phone {
        push("profile-office", MethodType::OfficeVoice, p.masked());
    }
    out
}

impl SecurityInfo<'_> {
    fn audit(&self, caller: &Caller, user: &User, event: &str, outcome: Outcome) -> AuditEvent {
        let mut e = AuditEvent::new(event, outcome)
            .actor(user.username.as_str())
            .target(user.username.as_str());
        e.client_ip = caller.client_ip.clone();
        e.user_agent = caller.user_agent.clone();
        e.correlation_id = caller.correlation_id.clone();
        e
    }

    fn throttle(&self) -> Throttle<'_> {
        Throttle {
            store: self.store,
            clock: self.clock,
        }
    }

    /// The user's methods: what they registered (oldest first), then the profile's.
    pub async fn list(&self, user: &User) -> Result<Vec<MethodView>> {
        let mut views: Vec<MethodView> = self
            .store
            .list_methods(user.id)
            .await?
            .iter()
            .map(view)
            .collect();
        views.extend(profile_views(user));
        Ok(views)
    }

    async fn require_allowed(&self, user: &User, kind: MethodType) -> Result<SsprPolicy> {
        let policy = self.store.policy().await?;
        if allowed_methods(&policy, user).contains(&kind) {
            Ok(policy)
        } else {
            Err(SecurityInfoError::MethodNotAllowed)
        }
    }

    /// Adds an email address and sends it a code; the method counts once the code is entered.
    pub async fn add_email(&self, user: &User, address: &str, caller: &Caller) -> Result<Added> {
        let address = EmailAddress::parse(address).map_err(|e| SecurityInfoError::Field {
            field: "address",
            message: e.to_string(),
        })?;
        self.require_allowed(user, MethodType::Email).await?;
        self.add_contact(user, MethodType::Email, address.as_str().to_owned(), caller)
            .await
    }

    /// Adds a phone number (SMS, or a voice call to a mobile or office phone).
    pub async fn add_phone(
        &self,
        user: &User,
        kind: MethodType,
        number: &str,
        caller: &Caller,
    ) -> Result<Added> {
        if channel(kind).is_none() || kind == MethodType::Email {
            return Err(SecurityInfoError::Field {
                field: "type",
                message: "not a phone method".into(),
            });
        }
        let number = PhoneNumber::parse(number).map_err(|e| SecurityInfoError::Field {
            field: "number",
            message: e.to_string(),
        })?;
        if !self.phone_regions.is_empty() {
            let region = number.region().unwrap_or_default();
            if !self
                .phone_regions
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&region))
            {
                return Err(SecurityInfoError::Field {
                    field: "number",
                    message: "numbers from this country are not accepted here".into(),
                });
            }
        }
        self.require_allowed(user, kind).await?;
        self.add_contact(user, kind, number.as_str().to_owned(), caller)
            .await
    }

    async fn add_contact(
        &self,
        user: &User,
        kind: MethodType,
        label: String,
        caller: &Caller,
    ) -> Result<Added> {
        let existing = self.store.list_methods(user.id).await?;
        if existing
            .iter()
            .any(|m| m.kind == kind && m.label == label && m.is_verified())
        {
            return Err(SecurityInfoError::Field {
                field: if kind == MethodType::Email {
                    "address"
                } else {
                    "number"
                },
                message: "this is already one of your methods".into(),
            });
        }
        // Re-adding a pending address reuses its row instead of piling up copies.
        let method = match existing
            .into_iter()
            .find(|m| m.kind == kind && m.label == label)
        {
            Some(m) => m,
            None => {
                let m = RegisteredMethod {
                    id: MethodId::new(),
                    user_id: user.id,
                    kind,
                    label,
                    secret: None,
                    counter: 0,
                    verified_at: None,
                    created_at: self.clock.now(),
                    last_used_at: None,
                };
                self.store.add_method(&m, None).await?;
                m
            }
        };
        self.send_code(user, &method, caller).await?;
        Ok(Added {
            method: view(&method),
            totp: None,
        })
    }

    /// Sends a new code to an unverified email or phone method. The earlier code stays valid
    /// until it expires; counters are never reset by a resend.
    pub async fn resend(&self, user: &User, id: MethodId, caller: &Caller) -> Result<()> {
        let method = self
            .store
            .get_method(user.id, id)
            .await?
            .ok_or(SecurityInfoError::NotFound)?;
        if method.is_verified() {
            return Err(SecurityInfoError::AlreadyVerified);
        }
        if channel(method.kind).is_none() {
            return Err(SecurityInfoError::Field {
                field: "type",
                message: "this method has no code to send".into(),
            });
        }
        self.send_code(user, &method, caller).await
    }

    async fn send_code(
        &self,
        user: &User,
        method: &RegisteredMethod,
        caller: &Caller,
    ) -> Result<()> {
        let Some(channel) = channel(method.kind) else {
            return Ok(());
        };
        let throttle = self.throttle();
        if let Some(ip) = &caller.client_ip {
            throttle
                .attempt(&key_ip("send", ip), None, &self.limits.per_ip_sends)
                .await??;
        }
        if method.kind == MethodType::Email {
            throttle
                .attempt(&key_email(user), Some(user.id), &self.limits.emails)
                .await??;
        } else {
            throttle
                .attempt(
                    &key_gate(user, gate(method.kind)),
                    Some(user.id),
                    &self.limits.gate_attempts,
                )
                .await??;
            // Toll-fraud defence: one number cannot be made to receive endless calls.
            let dest = format!("dest:{}", self.code_key.keyed_hash(method.label.as_bytes()));
            throttle
                .attempt(&dest, None, &self.limits.per_destination)
                .await??;
        }
        let len = if method.kind == MethodType::Email {
            EMAIL_CODE_LEN
        } else {
            PHONE_CODE_LEN
        };
        let code = OneTimeCode::generate(len);
        let now = self.clock.now();
        let binding = format!("register:{}", method.id);
        self.store
            .create_code(&NewCode {
                id: uuid::Uuid::new_v4(),
                user_id: Some(user.id),
                code_hash: code_hash(self.code_key, &binding, &code),
                binding,
                created_at: now,
                expires_at: now + self.limits.code_lifetime,
            })
            .await?;
        let minutes = u32::try_from(self.limits.code_lifetime.whole_minutes()).unwrap_or(5);
        self.delivery
            .queue(
                channel,
                &method.label,
                &Notice::VerificationCode {
                    code: code.as_str().to_owned(),
                    minutes,
                    purpose: CodePurpose::Registration,
                },
                caller.locale,
            )
            .await?;
        Ok(())
    }

    /// Starts adding an authenticator app: a new secret, sealed at rest, shown once as a QR
    /// code and text. The method counts once a code from the app is verified.
    pub async fn add_authenticator(&self, user: &User, caller: &Caller) -> Result<Added> {
        let _ = caller;
        self.require_allowed(user, MethodType::AuthenticatorCode)
            .await?;
        let id = MethodId::new();
        let secret = totp::TotpSecret::generate();
        let method = RegisteredMethod {
            id,
            user_id: user.id,
            kind: MethodType::AuthenticatorCode,
            label: String::new(),
            // The method id is the associated data: a sealed secret moved to another row
            // does not open.
            secret: Some(
                self.sealer
                    .seal(secret.as_bytes(), id.to_string().as_bytes()),
            ),
            counter: 0,
            verified_at: None,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        self.store.add_method(&method, None).await?;
        let uri = totp::otpauth_uri(&secret, self.issuer, user.username.as_str());
        let enrolment = TotpEnrolment {
            qr_svg: qr::qr_svg(&uri, "QR code for your authenticator app"),
            otpauth_uri: uri,
            secret: secret.base32(),
        };
        Ok(Added {
            method: view(&method),
            totp: Some(enrolment),
        })
    }

    fn relying_party(&self) -> Result<&RelyingParty> {
        self.passkeys.ok_or(SecurityInfoError::Field {
            field: "type",
            message: "passkeys are not available on this server".into(),
        })
    }

    fn ceremony_hash(&self, ceremony: &str) -> String {
        self.code_key
            .keyed_hash(format!("ceremony:{ceremony}").as_bytes())
    }

    /// Starts adding a passkey: a fresh challenge, its state kept in the store for
    /// [`passkey::CEREMONY_SECONDS`]. The user's passkeys are excluded, so one authenticator
    /// is not registered twice.
    pub async fn start_passkey(&self, user: &User, caller: &Caller) -> Result<PasskeyChallenge> {
        let rp = self.relying_party()?;
        self.require_allowed(user, MethodType::Passkey).await?;
        if let Some(ip) = &caller.client_ip {
            self.throttle()
                .attempt(&key_ip("check", ip), None, &self.limits.per_ip_checks)
                .await??;
        }
        let existing = self.user_passkeys(user).await?;
        let display = user.display_name.as_str();
        let (options, state) = rp
            .start_registration(user.id.0, user.username.as_str(), display, &existing)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ceremony = hex::encode(rand::random::<[u8; 32]>());
        let expires = self.clock.now() + time::Duration::seconds(passkey::CEREMONY_SECONDS);
        self.store
            .put_ceremony(
                &self.ceremony_hash(&ceremony),
                Some(user.id),
                passkey::REGISTRATION,
                &state,
                expires,
            )
            .await?;
        let public_key = options
            .get("publicKey")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        Ok(PasskeyChallenge {
            ceremony,
            public_key,
        })
    }

    /// Finishes adding a passkey with the browser's answer. The ceremony is used up whatever
    /// the outcome; a rejected answer counts as a failed verification.
    pub async fn finish_passkey(
        &self,
        user: &User,
        ceremony: &str,
        name: &str,
        credential: &serde_json::Value,
        caller: &Caller,
    ) -> Result<MethodView> {
        let rp = self.relying_party()?;
        let name = name.trim();
        let name = if name.is_empty() { "Passkey" } else { name };
        if name.chars().count() > PASSKEY_NAME_MAX || name.chars().any(char::is_control) {
            return Err(SecurityInfoError::Field {
                field: "name",
                message: format!("use at most {PASSKEY_NAME_MAX} characters"),
            });
        }
        let throttle = self.throttle();
        throttle
            .check(&key_failures(user), &self.limits.failed_verifications)
            .await??;
        let now = self.clock.now();
        let taken = if ceremony.len() == 64 {
            self.store
                .take_ceremony(&self.ceremony_hash(ceremony), passkey::REGISTRATION, now)
                .await?
        } else {
            None
        };
        // Another user's ceremony is as unknown as one that never was.
        let Some((Some(owner), state)) = taken else {
            return Err(expired_ceremony());
        };
        if owner != user.id {
            return Err(expired_ceremony());
        }
        let existing = self.user_passkeys(user).await?;
        let verified = passkey::parse_registration(credential)
            .and_then(|response| rp.finish_registration(&response, &state));
        let new = match verified {
            Ok(p) if !existing.iter().any(|e| e.cred_id() == p.cred_id()) => p,
            Ok(_) | Err(PasskeyError::Rejected) => {
                throttle
                    .record(
                        &key_failures(user),
                        Some(user.id),
                        &self.limits.failed_verifications,
                    )
                    .await?;
                return Err(SecurityInfoError::Field {
                    field: "credential",
                    message: "the passkey could not be verified; try again".into(),
                });
            }
            Err(e @ PasskeyError::Corrupt(_)) => {
                return Err(StoreError::Corrupt(e.to_string()).into());
            }
        };
        let method = RegisteredMethod {
            id: MethodId::new(),
            user_id: user.id,
            kind: MethodType::Passkey,
            label: name.to_owned(),
            secret: Some(passkey::encode(&new).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            counter: 0,
            verified_at: Some(now),
            created_at: now,
            last_used_at: None,
        };
        let audit = self
            .audit(
                caller,
                user,
                events::REGISTERED_SECURITY_INFO,
                Outcome::Success,
            )
            .details(json!({ "method": MethodType::Passkey, "method_id": method.id }));
        self.store.add_method(&method, Some(&audit)).await?;
        self.after_change(
            user,
            Notice::MethodAdded {
                method: MethodType::Passkey,
            },
            None,
            caller,
        )
        .await?;
        Ok(view(&method))
    }

    /// The user's registered passkeys as credentials.
    async fn user_passkeys(&self, user: &User) -> Result<Vec<webauthn_rs::prelude::Passkey>> {
        self.store
            .list_methods(user.id)
            .await?
            .iter()
            .filter(|m| m.kind == MethodType::Passkey && m.is_verified())
            .filter_map(|m| m.secret.as_deref())
            .map(|s| passkey::decode(s).map_err(|e| StoreError::Corrupt(e.to_string()).into()))
            .collect()
    }

    /// Checks the code that proves a pending method, and makes it count.
    pub async fn verify(
        &self,
        user: &User,
        id: MethodId,
        code: &str,
        caller: &Caller,
    ) -> Result<MethodView> {
        let method = self
            .store
            .get_method(user.id, id)
            .await?
            .ok_or(SecurityInfoError::NotFound)?;
        if method.is_verified() {
            return Err(SecurityInfoError::AlreadyVerified);
        }
        let throttle = self.throttle();
        throttle
            .check(&key_failures(user), &self.limits.failed_verifications)
            .await??;
        if let Some(ip) = &caller.client_ip {
            throttle
                .attempt(&key_ip("check", ip), None, &self.limits.per_ip_checks)
                .await??;
        }
        if method.kind != MethodType::Email {
            throttle
                .attempt(
                    &key_gate(user, gate(method.kind)),
                    Some(user.id),
                    &self.limits.gate_attempts,
                )
                .await??;
        }
        let now = self.clock.now();
        let accepted = match method.kind {
            MethodType::Email
            | MethodType::MobileSms
            | MethodType::MobileVoice
            | MethodType::OfficeVoice => match OneTimeCode::parse(code) {
                Ok(code) => {
                    let binding = format!("register:{}", method.id);
                    let hash = code_hash(self.code_key, &binding, &code);
                    self.store.consume_code(&binding, &hash, now).await?
                }
                Err(_) => false,
            },
            MethodType::AuthenticatorCode => {
                check_totp(self.store, self.sealer, &method, code, now).await?
            }
            MethodType::SecurityQuestions | MethodType::Passkey => {
                return Err(SecurityInfoError::Field {
                    field: "code",
                    message: "this method is not verified with a code".into(),
                });
            }
        };
        if !accepted {
            throttle
                .record(
                    &key_failures(user),
                    Some(user.id),
                    &self.limits.failed_verifications,
                )
                .await?;
            return Err(SecurityInfoError::InvalidCode);
        }
        let audit = self
            .audit(
                caller,
                user,
                events::REGISTERED_SECURITY_INFO,
                Outcome::Success,
            )
            .details(json!({ "method": method.kind, "method_id": method.id }));
        if !self
            .store
            .mark_method_verified(user.id, id, now, &audit)
            .await?
        {
            // A parallel request verified it first.
            return Err(SecurityInfoError::AlreadyVerified);
        }
        let mut method = method;
        method.verified_at = Some(now);
        self.after_change(
            user,
            Notice::MethodAdded {
                method: method.kind,
            },
            None,
            caller,
        )
        .await?;
        Ok(view(&method))
    }

    /// Registers (or replaces) the security question answers. Answers are normalised and
    /// hashed with argon2id; nobody can read them back.
    pub async fn set_questions(
        &self,
        user: &User,
        answers: &[(String, String)],
        caller: &Caller,
    ) -> Result<()> {
        let policy = self
            .require_allowed(user, MethodType::SecurityQuestions)
            .await?;
        let valid = questions::validate_registration(
            answers,
            policy.questions_to_register,
            &policy.custom_questions,
        )
        .map_err(SecurityInfoError::Answers)?;
        let mut stored = Vec::with_capacity(valid.len());
        for (id, normalised) in &valid {
            let hash = self.hasher.hash(normalised).await?;
            stored.push(json!({ "q": id.as_str(), "h": hash.as_phc() }));
        }
        let now = self.clock.now();
        let method = RegisteredMethod {
            id: MethodId::new(),
            user_id: user.id,
            kind: MethodType::SecurityQuestions,
            label: String::new(),
            secret: Some(serde_json::Value::Array(stored).to_string()),
            counter: 0,
            verified_at: Some(now),
            created_at: now,
            last_used_at: None,
        };
        let audit = self
            .audit(
                caller,
                user,
                events::REGISTERED_SECURITY_INFO,
                Outcome::Success,
            )
            .details(json!({ "method": MethodType::SecurityQuestions, "questions": valid.len() }));
        self.store.replace_methods_of_kind(&method, &audit).await?;
        self.after_change(
            user,
            Notice::MethodAdded {
                method: MethodType::SecurityQuestions,
            },
            None,
            caller,
        )
        .await
    }

    /// Removes a method the user registered.
    pub async fn remove(&self, user: &User, id: MethodId, caller: &Caller) -> Result<()> {
        let method = self
            .store
            .get_method(user.id, id)
            .await?
            .ok_or(SecurityInfoError::NotFound)?;
        let audit = self
            .audit(
                caller,
                user,
                events::DELETED_SECURITY_INFO,
                Outcome::Success,
            )
            .details(json!({ "method": method.kind, "method_id": method.id }));
        if !self.store.delete_method(user.id, id, &audit).await? {
            return Err(SecurityInfoError::NotFound);
        }
        if method.is_verified() {
            // The removed address hears about it too: if someone else removed it, its owner
            // must learn that.
            let extra = (method.kind == MethodType::Email).then_some(method.label.as_str());
            self.after_change(
                user,
                Notice::MethodRemoved {
                    method: method.kind,
                },
                extra,
                caller,
            )
            .await?;
        }
        Ok(())
    }

    /// Tells the user about a change at every verified address (SPEC §2 "notify users when a
    /// method is added or removed"), and marks the registration complete when it now is.
    async fn after_change(
        &self,
        user: &User,
        notice: Notice,
        extra_address: Option<&str>,
        caller: &Caller,
    ) -> Result<()> {
        let policy = self.store.policy().await?;
        if policy.notify_on_method_change {
            let mut addresses: BTreeSet<String> = self
                .store
                .list_methods(user.id)
                .await?
                .into_iter()
                .filter(|m| m.kind == MethodType::Email && m.is_verified())
                .map(|m| m.label)
                .collect();
            addresses.extend(
                [&user.email, &user.alternate_email]
                    .into_iter()
                    .flatten()
                    .map(|e| e.as_str().to_owned()),
            );
            addresses.extend(extra_address.map(str::to_owned));
            for to in addresses {
                self.delivery
                    .queue(DeliveryChannel::Email, &to, &notice, caller.locale)
                    .await?;
            }
        }
        if let Ok(e) = self.eligibility(user).await?
            && e.registration != Registration::Required
            && user.registration_confirmed_at.is_none()
        {
            self.confirm_inner(user, caller, events::REGISTERED_ALL_REQUIRED)
                .await?;
        }
        Ok(())
    }

    pub async fn eligibility(
        &self,
        user: &User,
    ) -> Result<std::result::Result<Eligible, NotEligible>> {
        Ok(evaluate(self.store, user, self.clock.now()).await?)
    }

    /// What sign-in should ask of this user, and the start of the skip window.
    pub async fn interrupt(&self, user: &User) -> Result<Interrupt> {
        let policy = self.store.policy().await?;
        if !policy.require_registration {
            return Ok(Interrupt::None);
        }
        let Ok(eligible) = self.eligibility(user).await? else {
            return Ok(Interrupt::None);
        };
        let now = self.clock.now();
        let skip_until = |prompted: Option<OffsetDateTime>| {
            let days = i64::from(policy.skip_registration_days);
            let until = prompted.unwrap_or(now) + time::Duration::days(days);
            (days > 0 && until > now).then_some(until)
        };
        Ok(match eligible.registration {
            Registration::Registered => Interrupt::None,
            Registration::Required => Interrupt::Register {
                skip_until: skip_until(user.registration_prompted_at),
            },
            Registration::ReconfirmDue => Interrupt::Reconfirm {
                skip_until: skip_until(user.registration_prompted_at),
            },
        })
    }

    /// Marks that the interrupt was shown (the skip window starts at the first time).
    pub async fn prompted(&self, user: &User) -> Result<()> {
        self.store
            .set_registration_prompted(user.id, Some(self.clock.now()))
            .await?;
        Ok(())
    }

    /// "Looks good": the user reviewed their methods.
    pub async fn confirm(&self, user: &User, caller: &Caller) -> Result<()> {
        match self.eligibility(user).await? {
            Ok(e) if e.registration == Registration::Required => {
                Err(SecurityInfoError::NotRegistered)
            }
            _ => {
                self.confirm_inner(user, caller, events::REVIEWED_SECURITY_INFO)
                    .await
            }
        }
    }

    async fn confirm_inner(&self, user: &User, caller: &Caller, event: &str) -> Result<()> {
        let now = self.clock.now();
        self.store
            .set_registration_confirmed(user.id, Some(now))
            .await?;
        self.store.set_registration_prompted(user.id, None).await?;
        self.store
            .append_audit(&self.audit(caller, user, event, Outcome::Success))
            .await?;
        Ok(())
    }

    /// "Skip for now": allowed while the skip window lasts.
    pub async fn skip(&self, user: &User, caller: &Caller) -> Result<()> {
        match self.interrupt(user).await? {
            Interrupt::Register {
                skip_until: Some(_),
            }
            | Interrupt::Reconfirm {
                skip_until: Some(_),
            } => {
                self.prompted(user).await?;
                self.store
                    .append_audit(&self.audit(
                        caller,
                        user,
                        events::SKIPPED_REGISTRATION,
                        Outcome::Success,
                    ))
                    .await?;
                Ok(())
            }
            Interrupt::None => Ok(()),
            _ => Err(SecurityInfoError::SkipExpired),
        }
    }
}

/// An authenticator code: right for this moment (±1 step) and of a step never used. The
/// conditional write of the step makes it single-use across parallel requests too.
pub(crate) async fn check_totp(
    store: &dyn Store,
    sealer: &Sealer,
    method: &RegisteredMethod,
    code: &str,
    now: OffsetDateTime,
) -> std::result::Result<bool, StoreError> {
    let Some(sealed) = &method.secret else {
        return Ok(false);
    };
    let raw = sealer
        .open(sealed, method.id.to_string().as_bytes())
        .map_err(|e| StoreError::Corrupt(format!("authenticator secret: {e}")))?;
    let secret = totp::TotpSecret::from_bytes(raw.to_vec())
        .map_err(|e| StoreError::Corrupt(format!("authenticator secret: {e}")))?;
    let last = u64::try_from(method.counter).ok().filter(|c| *c > 0);
    let Some(step) = totp::verify(&secret, code, now, last) else {
        return Ok(false);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    store.advance_method_counter(method.id, step, now).await
}
