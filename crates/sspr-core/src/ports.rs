//! Ports: what the core needs from the outside world. Adapters implement them
//! (`sspr-store`, `sspr-directory`, `sspr-notify`); tests use the same adapters on throwaway
//! databases, and [`FrozenClock`] instead of the wall clock.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::audit::{AuditEvent, AuditRecord};
use crate::policy::password::PasswordPolicy;
use crate::{
    Group, GroupId, GroupName, LockoutState, MethodId, NewGroup, NewUser, PasswordHash,
    RegisteredMethod, SsprPolicy, User, UserId, Username,
};

// ---------------------------------------------------------------------------------------------
// Time

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct FrozenClock(Mutex<OffsetDateTime>);

impl FrozenClock {
    pub fn at(t: OffsetDateTime) -> Self {
        Self(Mutex::new(t))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for FrozenClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The wall clock plus an offset that only moves forward: development mode uses it so that a
/// person (or a browser test) can see what happens days later — a re-confirmation falling
/// due, a code expiring — without waiting. Never used in production mode.
#[derive(Debug, Default)]
pub struct AdjustableClock(std::sync::atomic::AtomicI64);

impl AdjustableClock {
    /// Moves the clock forward (a negative or zero amount changes nothing).
    pub fn advance(&self, by: Duration) {
        let secs = by.whole_seconds().max(0);
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn offset(&self) -> Duration {
        Duration::seconds(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

impl Clock for AdjustableClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset()
    }
}

// ---------------------------------------------------------------------------------------------
// Password hashing

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Every hashing worker is busy and the queue is full: try again shortly (HTTP 503).
    #[error("password hashing is at capacity; try again shortly")]
    Busy,
    /// The stored hash could not be parsed.
    #[error("stored password hash is invalid: {0}")]
    InvalidHash(String),
}

/// Argon2id hashing on a bounded pool (DESIGN rule 3).
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &str) -> Result<PasswordHash, HashError>;
    async fn verify(&self, password: &str, hash: &PasswordHash) -> Result<bool, HashError>;
    /// Spends the same work as a verification without a real hash, so that an unknown user
    /// costs as much time as a known one.
    async fn verify_dummy(&self, password: &str) -> Result<(), HashError>;
    /// True when a new request would be refused as busy right now: lets a caller answer 503
    /// before doing any other work (a database lookup) for a request that cannot be served.
    fn at_capacity(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------------------------
// Storage

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated: the message names what already exists.
    #[error("{0}")]
    Conflict(String),
    /// The database could not be reached or timed out: retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data that does not parse (a bug or tampering).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

/// A member of a group: a user or another group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    User(UserId),
    Group(GroupId),
}

/// The profile fields an update may change (not password, roles or lock state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileUpdate {
    pub display_name: crate::DisplayName,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<crate::EmailAddress>,
    pub alternate_email: Option<crate::EmailAddress>,
    pub mobile_phone: Option<crate::PhoneNumber>,
    pub office_phone: Option<crate::PhoneNumber>,
    pub roles: std::collections::BTreeSet<crate::AdminRole>,
    pub enabled: bool,
}

/// A message waiting in the outbox (SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: uuid::Uuid,
    /// `email`, `sms` or `voice`.
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    /// Plain text (the whole message for SMS and voice).
    pub body: String,
    /// An HTML alternative for email, when the template has one.
    pub html_body: Option<String>,
    pub created_at: OffsetDateTime,
    /// `pending`, `sending`, `sent` or `dead`.
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxMessage {
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html_body: Option<String>,
}

/// A signed-in session. The store only ever sees the keyed hash of the cookie's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked: bool,
}

/// A one-time code waiting to be entered. Only its keyed hash is stored; the hash covers the
/// `binding` (what the code proves), so a code is worth nothing anywhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCode {
    pub id: uuid::Uuid,
    pub user_id: Option<UserId>,
    pub binding: String,
    pub code_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A new password for [`Store::finish_flow`] to store: its hash, how many earlier hashes the
/// history keeps (as for [`Store::set_password`]) and the audit record of the change.
#[derive(Debug, Clone, Copy)]
pub struct PasswordWrite<'a> {
    pub hash: &'a PasswordHash,
    pub keep_history: u8,
    pub audit: &'a AuditEvent,
}

/// A one-time code to spend with a flow's update ([`Store::update_flow_spending_code`]).
#[derive(Debug, Clone, Copy)]
pub struct CodeSpend<'a> {
    pub binding: &'a str,
    pub code_hash: &'a str,
    pub now: OffsetDateTime,
}

/// What [`Store::update_flow_spending_code`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowWrite {
    /// The code was spent and the flow written.
    Written,
    /// The flow was written by someone else since it was read: nothing was changed.
    Stale,
    /// No such code could be spent (wrong, expired or already used): nothing was changed.
    CodeRejected,
}

/// An attempt to record with [`Store::throttle_hits`]: its key and user, and which of the
/// key's other attempts to read back (those at or after `since`, if there are at least
/// `enough` of them).
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub key: &'a str,
    pub user: Option<UserId>,
    pub since: OffsetDateTime,
    pub enough: u32,
}

/// An attempt recorded by [`Store::throttle_hit`]: its row id (to forget it again when the
/// attempt was refused) and the other attempts under the same key in the window asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleHit {
    pub id: i64,
    /// Ascending; without this attempt. Empty when there were fewer than the `enough` asked
    /// for (see [`Store::throttle_events`]).
    pub others: Vec<OffsetDateTime>,
}

/// Persistence. One implementation serves SQLite and PostgreSQL; every method that changes
/// security state takes the audit event that records it and writes both in one transaction,
/// so a change is never stored without its audit record. It also holds what directory sync
/// needs ([`DirectorySyncStore`], in `ports/directory.rs`).
#[async_trait]
pub trait Store: DirectorySyncStore + Send + Sync {
    /// Checks that the database answers (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    // Users ----------------------------------------------------------------------------------
    async fn create_user(&self, user: &NewUser, audit: &AuditEvent) -> Result<User, StoreError>;
    /// Creates all users or none (CSV import).
    async fn create_users(&self, users: &[NewUser], audit: &AuditEvent) -> Result<(), StoreError>;
    async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn find_user(&self, username: &Username) -> Result<Option<User>, StoreError>;
    /// Users whose username or display name contains `search` (case-insensitive), ordered by
    /// username, paged.
    async fn list_users(
        &self,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;
    async fn update_profile(
        &self,
        id: UserId,
        update: &ProfileUpdate,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Sets the password hash, clears smart lockout, and keeps the previous hash in the
    /// history (trimmed to the newest `keep_history` entries).
    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep_history: u8,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Previous password hashes, newest first.
    async fn password_history(&self, id: UserId) -> Result<Vec<PasswordHash>, StoreError>;
    /// Locks (admin lock) or unlocks; unlocking also clears smart lockout.
    async fn set_admin_locked(
        &self,
        id: UserId,
        locked: bool,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Compare-and-set of the smart-lockout state: writes `new` only if the stored state still
    /// equals `expected`, and returns whether it did. `audit` is appended when given.
    async fn update_lockout(
        &self,
        id: UserId,
        expected: &LockoutState,
        new: &LockoutState,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError>;
    async fn set_registration_confirmed(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
    /// Deletes the user with their memberships, sessions and history. Returns whether a user
    /// was deleted.
    async fn delete_user(&self, id: UserId, audit: &AuditEvent) -> Result<bool, StoreError>;

    /// As [`Store::list_users`], but also matching the email address, with the number of all
    /// matching users (for paging).
    async fn search_users(
        &self,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Page<User>, StoreError>;
    /// "Register again": deletes the user's registered methods and forgets when they last
    /// confirmed and were prompted, so the next sign-in asks them to register (or, when
    /// prepopulated contact data still covers the policy, to re-confirm). Returns how many
    /// methods were removed.
    async fn require_reregistration(
        &self,
        id: UserId,
        audit: &AuditEvent,
    ) -> Result<u64, StoreError>;

    // Groups ---------------------------------------------------------------------------------
    async fn create_group(&self, group: &NewGroup, audit: &AuditEvent)
    -> Result<Group, StoreError>;
    async fn get_group(&self, id: GroupId) -> Result<Option<Group>, StoreError>;
    /// Case-insensitive lookup by name.
    async fn find_group(&self, name: &GroupName) -> Result<Option<Group>, StoreError>;
    async fn list_groups(&self) -> Result<Vec<Group>, StoreError>;
    /// Conflict if already a member; NotFound if the group or member does not exist.
    async fn add_member(
        &self,
        group: GroupId,
        member: Member,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    async fn remove_member(
        &self,
        group: GroupId,
        member: Member,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError>;
    /// Renames a group or changes its description. NotFound, or Conflict for a taken name.
    async fn update_group(
        &self,
        id: GroupId,
        name: &GroupName,
        description: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Deletes a group with its memberships (in both directions). Returns whether it existed.
    async fn delete_group(&self, id: GroupId, audit: &AuditEvent) -> Result<bool, StoreError>;
    /// Direct members of a group.
    async fn members(&self, group: GroupId) -> Result<Vec<Member>, StoreError>;
    /// The groups a user is directly in.
    async fn groups_of_user(&self, user: UserId) -> Result<Vec<GroupId>, StoreError>;
    /// Every group-in-group edge, as child → parents (for `policy::groups`).
    async fn group_parents(&self) -> Result<HashMap<GroupId, Vec<GroupId>>, StoreError>;

    // Policy ---------------------------------------------------------------------------------
    /// The stored SSPR policy, or the defaults when none was ever stored.
    async fn policy(&self) -> Result<SsprPolicy, StoreError>;
    async fn put_policy(&self, policy: &SsprPolicy, audit: &AuditEvent) -> Result<(), StoreError>;
    /// The stored password policy (with the custom banned terms), or the defaults.
    async fn password_policy(&self) -> Result<PasswordPolicy, StoreError>;
    async fn put_password_policy(
        &self,
        policy: &PasswordPolicy,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;

    // Audit ----------------------------------------------------------------------------------
    async fn append_audit(&self, event: &AuditEvent) -> Result<AuditRecord, StoreError>;
    /// Records with `seq > after_seq`, oldest first, at most `limit`.
    async fn audit_page(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;
    /// The sequence number and hash of the newest record (0 and the genesis hash when empty),
    /// kept apart from the records so that removing the newest rows is detectable.
    async fn audit_head(&self) -> Result<(i64, String), StoreError>;

    /// The kinds of every user's verified methods, in one query (reports over all users).
    async fn verified_method_kinds(
        &self,
    ) -> Result<HashMap<UserId, std::collections::BTreeSet<crate::MethodType>>, StoreError>;
    /// Every user's direct groups, in one query (reports over all users).
    async fn user_groups(&self) -> Result<HashMap<UserId, Vec<GroupId>>, StoreError>;

    /// Records matching `filter`, newest first, with the number of all matching records.
    async fn query_audit(
        &self,
        filter: &AuditFilter,
        offset: u32,
        limit: u32,
    ) -> Result<Page<AuditRecord>, StoreError>;

    // API tokens -----------------------------------------------------------------------------
    async fn create_api_token(
        &self,
        token: &NewApiToken,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// The token with this id and the hex SHA-256 of its secret.
    async fn api_token(&self, id: &str) -> Result<Option<(ApiToken, String)>, StoreError>;
    /// Every token, newest first (revoked and expired ones too).
    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes a live token; false when there is none or it was already revoked.
    async fn revoke_api_token(
        &self,
        id: &str,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError>;
    /// Stamps `last_used_at`.
    async fn touch_api_token(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError>;

    // Sessions -------------------------------------------------------------------------------
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// A session that exists, is not revoked and has not expired at `now`.
    async fn live_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError>;
    async fn revoke_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Revokes every session of a user; returns how many were live.
    async fn revoke_user_sessions(&self, user: UserId) -> Result<u64, StoreError>;

    /// Marks the first registration interrupt (only when none is marked), so the skip window
    /// has a start; `None` clears it (after the user registered or confirmed).
    async fn set_registration_prompted(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;

    // Registered methods ---------------------------------------------------------------------
    /// Stores a new method; audited when given (an unverified method is not yet an event).
    async fn add_method(
        &self,
        method: &RegisteredMethod,
        audit: Option<&AuditEvent>,
    ) -> Result<(), StoreError>;
    /// Stores `method` and deletes the user's other methods of the same kind, in one
    /// transaction (the security questions are one set, replaced as a whole).
    async fn replace_methods_of_kind(
        &self,
        method: &RegisteredMethod,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// The user's methods, oldest first.
    async fn list_methods(&self, user: UserId) -> Result<Vec<RegisteredMethod>, StoreError>;
    /// A method of this user (another user's id finds nothing).
    async fn get_method(
        &self,
        user: UserId,
        id: MethodId,
    ) -> Result<Option<RegisteredMethod>, StoreError>;
    /// Marks an unverified method verified; true for exactly one caller.
    async fn mark_method_verified(
        &self,
        user: UserId,
        id: MethodId,
        at: OffsetDateTime,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError>;
    async fn delete_method(
        &self,
        user: UserId,
        id: MethodId,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError>;
    /// Raises the method's counter to `value` if it is below it, and stamps `last_used_at`;
    /// true for exactly one caller per value (an authenticator time step is used once).
    /// Replaces a method's stored secret (a passkey's credential after its counter moved).
    async fn update_method_secret(
        &self,
        user: UserId,
        id: MethodId,
        secret: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn advance_method_counter(
        &self,
        id: MethodId,
        value: i64,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    // One-time codes -------------------------------------------------------------------------
    async fn create_code(&self, code: &NewCode) -> Result<(), StoreError>;
    /// A code, the message that carries it (`None`: nothing is sent, as for a decoy) and the
    /// record that it was sent, in one transaction.
    async fn issue_code(
        &self,
        code: &NewCode,
        message: Option<&NewOutboxMessage>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Consumes an unused code for `binding` with this hash that has not expired at `now`:
    /// one conditional write, so of many parallel submissions exactly one gets `true`.
    async fn consume_code(
        &self,
        binding: &str,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Voids every outstanding code of the user; returns how many.
    async fn revoke_codes(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StoreError>;

    // Throttling (SPEC §4: counters live in the database so every instance shares them) -----
    /// Records an attempt under `key` at `at` and returns it with the key's other attempts
    /// at or after `since` — all of them if there are at least `enough`, none otherwise (as
    /// for [`Store::throttle_events`]).
    async fn throttle_hit(
        &self,
        key: &str,
        user: Option<UserId>,
        at: OffsetDateTime,
        since: OffsetDateTime,
        enough: u32,
    ) -> Result<ThrottleHit, StoreError> {
        let attempt = Attempt {
            key,
            user,
            since,
            enough,
        };
        let mut hits = self.throttle_hits(&[attempt], at).await?;
        hits.pop()
            .ok_or_else(|| StoreError::Corrupt("no attempt was recorded".into()))
    }
    /// Records several attempts at `at` with one commit (an action that counts toward
    /// several limits at once, such as a send: per address, per user and per destination),
    /// and returns them in the same order, each as [`Store::throttle_hit`] would. Each
    /// attempt is stored before any of the keys' attempts are read, so that parallel actions
    /// cannot all slip under a limit.
    async fn throttle_hits(
        &self,
        attempts: &[Attempt<'_>],
        at: OffsetDateTime,
    ) -> Result<Vec<ThrottleHit>, StoreError>;
    /// The attempts under `key` at or after `since`, ascending: all of them if there are at
    /// least `enough`, none otherwise. A rule that allows `limit` attempts cannot block on
    /// fewer than `limit` events, so the throttle asks for `limit` and is spared reading them
    /// one by one. (A key shared by many users, such as the one address a whole office
    /// reaches sspr from, may hold thousands of attempts under generous per-address limits.)
    async fn throttle_events(
        &self,
        key: &str,
        since: OffsetDateTime,
        enough: u32,
    ) -> Result<Vec<OffsetDateTime>, StoreError>;
    /// Forgets one attempt (it was refused, so it must not count).
    async fn throttle_forget(&self, id: i64) -> Result<(), StoreError>;
    /// Forgets every attempt about the user (after a successful reset).
    async fn throttle_clear_user(&self, user: UserId) -> Result<u64, StoreError>;
    /// Deletes attempts, codes and ceremonies older than `before` (housekeeping).
    async fn prune_expired(&self, before: OffsetDateTime) -> Result<u64, StoreError>;

    // WebAuthn ceremonies --------------------------------------------------------------------
    async fn put_ceremony(
        &self,
        id_hash: &str,
        user: Option<UserId>,
        kind: &str,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Takes (reads and deletes) a live ceremony of this kind: it can be finished once.
    async fn take_ceremony(
        &self,
        id_hash: &str,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Option<UserId>, String)>, StoreError>;

    // Reset flows ----------------------------------------------------------------------------
    /// Stores a new flow and its audit record, in one transaction.
    async fn create_flow(
        &self,
        flow: &crate::flow::Flow,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    async fn get_flow(
        &self,
        id: crate::flow::FlowId,
    ) -> Result<Option<crate::flow::Flow>, StoreError>;
    /// The flow and, when it has one, its subject as stored now (in one statement: every
    /// step of a flow needs both).
    async fn get_flow_with_subject(
        &self,
        id: crate::flow::FlowId,
    ) -> Result<Option<(crate::flow::Flow, Option<User>)>, StoreError>;
    /// Compare-and-set: writes `flow` (and `audit`, in the same transaction) only if the
    /// stored version still equals `flow.version`. Returns whether it did.
    async fn update_flow(
        &self,
        flow: &crate::flow::Flow,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError>;
    /// A proof by one-time code, recorded in one transaction: spends the code bound to
    /// `code.binding` whose hash is `code.code_hash` (as [`Store::consume_code`]), then
    /// writes `flow` compare-and-set (as [`Store::update_flow`]) with `audit`. All or
    /// nothing: a code is never spent without the flow recording its proof, and a flow never
    /// records a proof whose code was not spent.
    async fn update_flow_spending_code(
        &self,
        flow: &crate::flow::Flow,
        audit: &AuditEvent,
        code: &CodeSpend<'_>,
    ) -> Result<FlowWrite, StoreError>;
    /// The end of a flow's act, in one transaction: the new `password`, if any, is stored as
    /// [`Store::set_password`] stores it (with its audit record), `flow` is written
    /// (compare-and-set, as [`Store::update_flow`]; a lost race is not an error, since the act
    /// is done), the user's outstanding codes are spent, their sessions revoked when
    /// `revoke_sessions`, the limits counted against them cleared, and `notices` queued in the
    /// outbox. All or nothing: a password is never changed without the rest.
    async fn finish_flow(
        &self,
        flow: &crate::flow::Flow,
        user: UserId,
        password: Option<&PasswordWrite<'_>>,
        revoke_sessions: bool,
        now: OffsetDateTime,
        notices: &[NewOutboxMessage],
    ) -> Result<(), StoreError>;
    /// The one user whose username or email address is `login` (lower-case); `None` when
    /// none or several match. The whole user, in one statement: the start of every reset
    /// flow asks this.
    async fn find_user_by_login(&self, login: &str) -> Result<Option<User>, StoreError>;

    // Outbox ---------------------------------------------------------------------------------
    async fn enqueue(&self, message: &NewOutboxMessage) -> Result<uuid::Uuid, StoreError>;
    /// Claims up to `limit` messages due at `now` (pending, or `sending` whose lease ran out)
    /// by setting them `sending` until `now + lease`. Two workers never claim the same message.
    async fn claim_outbox(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Marks delivered messages sent, a batch in one statement. `NotFound` if any id is
    /// unknown (the others are still marked).
    async fn mark_sent(&self, ids: &[uuid::Uuid], at: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failed attempt; the message is retried at `retry_at`, or is dead when `None`.
    async fn mark_failed(
        &self,
        id: uuid::Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError>;
    /// Newest first.
    async fn recent_outbox(&self, limit: u32) -> Result<Vec<OutboxMessage>, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Delivery

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryChannel {
    Email,
    Sms,
    Voice,
}

impl DeliveryChannel {
    /// The outbox's name for the channel.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Email => "email",
            DeliveryChannel::Sms => "sms",
            DeliveryChannel::Voice => "voice",
        }
    }
}

/// Why a code was sent: the wording differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    Registration,
    Reset,
}

/// What a message says, independent of language, channel and branding (which the delivery
/// adapter applies). Holds a code only in `VerificationCode`, and only until it is rendered
/// into the outbox.
#[derive(Clone, PartialEq, Eq)]
pub enum Notice {
    VerificationCode {
        code: String,
        minutes: u32,
        purpose: CodePurpose,
    },
    MethodAdded {
        method: crate::MethodType,
    },
    MethodRemoved {
        method: crate::MethodType,
    },
    /// To the user: their password was reset (`at` already formatted).
    PasswordReset {
        username: String,
        at: String,
    },
    /// To the other administrators: `admin`'s password was reset.
    AdminPasswordReset {
        admin: String,
        at: String,
    },
    /// To the user: their account was unlocked.
    Unlocked {
        at: String,
    },
    /// To the helpdesk: a user asks for help.
    ContactAdministrator {
        username: String,
        support_code: String,
        message: String,
    },
}

impl std::fmt::Debug for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::VerificationCode {
                minutes, purpose, ..
            } => f
                .debug_struct("VerificationCode")
                .field("code", &"[REDACTED]")
                .field("minutes", minutes)
                .field("purpose", purpose)
                .finish(),
            Notice::MethodAdded { method } => write!(f, "MethodAdded({method})"),
            Notice::MethodRemoved { method } => write!(f, "MethodRemoved({method})"),
            Notice::PasswordReset { .. } => f.write_str("PasswordReset"),
            Notice::AdminPasswordReset { .. } => f.write_str("AdminPasswordReset"),
            Notice::Unlocked { .. } => f.write_str("Unlocked"),
            Notice::ContactAdministrator { .. } => f.write_str("ContactAdministrator"),
        }
    }
}

/// Queues a message for delivery (SPEC §8): the adapter renders it in the recipient's
/// language with the organisation's branding and writes it to the durable outbox. Nothing is
/// sent synchronously, so a provider's failure never changes what the user sees.
#[async_trait]
pub trait Delivery: Send + Sync {
    /// The message a notice makes for `to`: rendered in `locale` with the organisation's
    /// branding, ready for the outbox (for a caller that stores it in its own transaction).
    fn render(
        &self,
        channel: DeliveryChannel,
        to: &str,
        notice: &Notice,
        locale: crate::Locale,
    ) -> NewOutboxMessage;
    /// Renders the notice and writes it to the outbox.
    async fn queue(
        &self,
        channel: DeliveryChannel,
        to: &str,
        notice: &Notice,
        locale: crate::Locale,
    ) -> Result<(), StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Breached passwords

/// An approximate-membership set of passwords known from breaches (SPEC §3), such as the Have I
/// Been Pwned corpus. A `true` answer may rarely be a false positive (about 1 in 65,536); a
/// `false` answer is certain for the imported corpus. Implementations answer from memory in
/// about a microsecond, so callers may ask synchronously; with nothing imported they say `false`.
pub trait BreachedPasswords: Send + Sync {
    fn is_breached(&self, password: &str) -> bool;
}

// ---------------------------------------------------------------------------------------------
// Directories (SPEC §7): the port every user source implements, in its own file.

mod directory;
pub use directory::*;

// Administration (API tokens, audit queries, pages), in its own file.

mod admin;
pub use admin::*;
