//! Reset flows: stored whole, changed only by compare-and-set (of parallel writers reading
//! the same version exactly one wins), and found by username or email.

use std::sync::Arc;

use sspr_core::audit::events;
use sspr_core::flow::{Flow, FlowId, Offered, Stage, Target};
use sspr_core::ports::{
    CodeSpend, FlowWrite, NewCode, NewOutboxMessage, PasswordWrite, Session, Store, StoreError,
};
use sspr_core::{EmailAddress, MethodType, PasswordHash, UserId};
use sspr_store::SqlStore;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::harness::{Db, audit_len, event, new_user};

conformance!(
    story_flows_change_by_compare_and_set,
    story_users_are_found_by_username_or_email,
    story_finishing_a_flow_ends_what_the_old_credential_allowed,
    story_a_reset_stores_its_password_with_the_end_of_its_flow,
    story_a_code_is_spent_with_the_proof_its_flow_records,
);

const NOW: OffsetDateTime = datetime!(2026-11-26 08:00 UTC);

fn flow(subject: Option<UserId>) -> Flow {
    Flow {
        id: FlowId::new(),
        cookie_hash: "cookie-hash".into(),
        subject,
        limit_key: "k".into(),
        required: 1,
        offered: vec![Offered {
            id: "m1".into(),
            kind: MethodType::Email,
            hint: "a•••@e•••.org".into(),
            target: Target::ProfileEmail,
        }],
        verified: vec![],
        questions: vec![],
        stage: Stage::Verifying,
        can_unlock: false,
        created_at: NOW,
        expires_at: NOW + time::Duration::minutes(15),
        version: 0,
    }
}

fn started() -> sspr_core::audit::AuditEvent {
    event(events::RESET_FLOW_PROGRESS, "ada")
}

async fn story_flows_change_by_compare_and_set(store: SqlStore, _db: Db) {
    let u = new_user("ada");
    store
        .create_user(&u, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let f = flow(Some(u.id));
    let before = audit_len(&store).await;
    store.create_flow(&f, &started()).await.unwrap();
    assert_eq!(
        audit_len(&store).await,
        before + 1,
        "stored with its record"
    );
    let decoy = flow(None);
    store.create_flow(&decoy, &started()).await.unwrap();
    // The same id again: refused, and no record without its flow.
    assert!(store.create_flow(&decoy, &started()).await.is_err());
    assert_eq!(audit_len(&store).await, before + 2);
    assert_eq!(store.get_flow(f.id).await.unwrap(), Some(f.clone()));
    assert_eq!(store.get_flow(FlowId::new()).await.unwrap(), None);
    // Read with its subject, as every step reads it: the user row as stored; none for a
    // flow about nobody (a decoy) and for no flow at all.
    let (read, subject) = store.get_flow_with_subject(f.id).await.unwrap().unwrap();
    assert_eq!(read, f);
    let subject = subject.expect("the subject");
    assert_eq!((subject.id, subject.username.as_str()), (u.id, "ada"));
    let stored = store.get_user(u.id).await.unwrap().unwrap();
    assert_eq!(format!("{subject:?}"), format!("{stored:?}"), "every field");
    let (read, subject) = store
        .get_flow_with_subject(decoy.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, decoy);
    assert!(subject.is_none());
    assert!(
        store
            .get_flow_with_subject(FlowId::new())
            .await
            .unwrap()
            .is_none()
    );

    // 32 writers read version 0 and try to move the flow: exactly one succeeds, and its
    // audit record is the only one written.
    let before = audit_len(&store).await;
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = Arc::clone(&store);
        let mut mine = f.clone();
        tasks.push(tokio::spawn(async move {
            mine.verified.push(format!("w{i}"));
            mine.stage = Stage::Verified;
            store
                .update_flow(
                    &mine,
                    Some(&event(
                        "Self-service password reset flow activity progress",
                        "ada",
                    )),
                )
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(audit_len(&store).await, before + 1);
    let stored = store.get_flow(f.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.stage, Stage::Verified);
    assert_eq!(stored.verified.len(), 1);
    // A stale version writes nothing.
    assert!(!store.update_flow(&f, None).await.unwrap());
    // Expired flows are pruned with the other short-lived rows.
    store
        .prune_expired(NOW + time::Duration::minutes(16))
        .await
        .unwrap();
    assert_eq!(store.get_flow(f.id).await.unwrap(), None);
}

async fn story_users_are_found_by_username_or_email(store: SqlStore, _db: Db) {
    let mut new_ada = new_user("ada");
    new_ada.email = Some(EmailAddress::parse("Ada.Lovelace@Example.org").unwrap());
    let ada = store
        .create_user(&new_ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    // A username that equals another user's email address makes that login ambiguous.
    let mut clash = new_user("bob@example.org");
    clash.email = None;
    store
        .create_user(&clash, &event(events::ADD_USER, "bob"))
        .await
        .unwrap();
    let mut bob = new_user("bob");
    bob.email = Some(EmailAddress::parse("bob@example.org").unwrap());
    store
        .create_user(&bob, &event(events::ADD_USER, "bob"))
        .await
        .unwrap();

    // The whole user comes back, not just an id.
    let found = |login: &'static str| {
        let store = &store;
        async move {
            store
                .find_user_by_login(login)
                .await
                .unwrap()
                .map(|u| (u.id, u.username, u.email))
        }
    };
    let expected = Some((ada.id, ada.username.clone(), ada.email.clone()));
    assert_eq!(found("ada").await, expected);
    assert_eq!(found("ada.lovelace@example.org").await, expected);
    assert_eq!(found("bob@example.org").await, None);
    assert_eq!(found("nobody").await, None);
    assert_eq!(found("*").await, None);
}

/// After the act: the flow is written, and of the user's — only theirs — outstanding codes are
/// spent, limits cleared and (after a reset, not an unlock) sessions revoked.
async fn story_finishing_a_flow_ends_what_the_old_credential_allowed(store: SqlStore, _db: Db) {
    let mut ids = Vec::new();
    for name in ["ada", "bob"] {
        let u = new_user(name);
        store
            .create_user(&u, &event(events::ADD_USER, name))
            .await
            .unwrap();
        ids.push(u.id);
        let session = Session {
            id_hash: format!("session-{name}"),
            user_id: u.id,
            created_at: NOW,
            expires_at: NOW + time::Duration::hours(8),
            revoked: false,
        };
        store.create_session(&session).await.unwrap();
        store
            .create_code(&NewCode {
                id: uuid::Uuid::new_v4(),
                user_id: Some(u.id),
                binding: format!("code-{name}"),
                code_hash: "h".into(),
                created_at: NOW,
                expires_at: NOW + time::Duration::minutes(5),
            })
            .await
            .unwrap();
        store
            .throttle_hit(&format!("limit-{name}"), Some(u.id), NOW, NOW, 1)
            .await
            .unwrap();
    }
    let (ada, bob) = (ids[0], ids[1]);
    let later = NOW + time::Duration::minutes(1);
    let has_session = |name: &'static str| {
        let store = &store;
        async move {
            store
                .live_session(&format!("session-{name}"), later)
                .await
                .unwrap()
                .is_some()
        }
    };
    let limited = |name: &'static str| {
        let store = &store;
        async move {
            !store
                .throttle_events(&format!("limit-{name}"), NOW, 1)
                .await
                .unwrap()
                .is_empty()
        }
    };

    // An unlock: codes and limits go, sessions stay.
    let mut f = flow(Some(ada));
    store.create_flow(&f, &started()).await.unwrap();
    f.stage = Stage::Done;
    let notice = |to: &str| NewOutboxMessage {
        channel: "email".into(),
        recipient: to.to_owned(),
        subject: "Your account was unlocked".into(),
        body: "…".into(),
        html_body: None,
    };
    let notices = [notice("ada@example.org"), notice("ada@home.example")];
    store
        .finish_flow(&f, ada, None, false, later, &notices)
        .await
        .unwrap();
    let mut told: Vec<String> = store
        .recent_outbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.recipient)
        .collect();
    told.sort();
    assert_eq!(
        told,
        ["ada@example.org", "ada@home.example"],
        "queued with it"
    );
    let stored = store.get_flow(f.id).await.unwrap().unwrap();
    assert_eq!((stored.stage, stored.version), (Stage::Done, 1));
    assert!(has_session("ada").await, "an unlock changes no credential");
    assert!(!limited("ada").await);
    assert!(
        !store.consume_code("code-ada", "h", later).await.unwrap(),
        "ada's code is spent"
    );

    // A reset: sessions go too. A flow written meanwhile (a stale version) is left as it is:
    // the act is done either way.
    let g = flow(Some(ada));
    store.create_flow(&g, &started()).await.unwrap();
    let mut stale = g.clone();
    stale.version = 7;
    stale.stage = Stage::Done;
    store
        .finish_flow(&stale, ada, None, true, later, &[])
        .await
        .unwrap();
    assert!(!has_session("ada").await);
    assert_eq!(store.get_flow(g.id).await.unwrap().unwrap(), g);

    // Bob's are untouched.
    assert!(has_session("bob").await);
    assert!(limited("bob").await);
    assert!(store.consume_code("code-bob", "h", later).await.unwrap());
    let _ = bob;
}

async fn story_a_reset_stores_its_password_with_the_end_of_its_flow(store: SqlStore, _db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let phc = |n: u8| PasswordHash::from_phc(format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ${n}"));
    store
        .set_password(
            ada.id,
            &phc(1),
            1,
            &event(events::ADMIN_RESET_PASSWORD, "ada"),
        )
        .await
        .unwrap();
    let later = NOW + time::Duration::minutes(1);
    let notice = NewOutboxMessage {
        channel: "email".into(),
        recipient: "ada@example.org".into(),
        subject: "Your password was reset".into(),
        body: "…".into(),
        html_body: None,
    };
    let reset = event(events::RESET_PASSWORD_SELF, "ada");

    // Written together: the password (the old one into the history), its audit record, the
    // flow and the notice.
    let f = flow(Some(ada.id));
    store.create_flow(&f, &started()).await.unwrap();
    let mut done = f.clone();
    done.stage = Stage::Done;
    let records = audit_len(&store).await;
    let password = PasswordWrite {
        hash: &phc(2),
        keep_history: 1,
        audit: &reset,
    };
    store
        .finish_flow(
            &done,
            ada.id,
            Some(&password),
            true,
            later,
            std::slice::from_ref(&notice),
        )
        .await
        .unwrap();
    let user = store.get_user(ada.id).await.unwrap().unwrap();
    assert_eq!(user.password_hash, Some(phc(2)));
    assert_eq!(store.password_history(ada.id).await.unwrap(), [phc(1)]);
    assert_eq!(
        audit_len(&store).await,
        records + 1,
        "the reset is recorded"
    );
    assert_eq!(
        store.get_flow(f.id).await.unwrap().unwrap().stage,
        Stage::Done
    );
    assert_eq!(store.recent_outbox(10).await.unwrap().len(), 1);

    // All or nothing: a password for a user who is gone fails the whole finish, and the
    // flow, the outbox and the audit log are as they were.
    let g = flow(Some(ada.id));
    store.create_flow(&g, &started()).await.unwrap();
    let mut done = g.clone();
    done.stage = Stage::Done;
    let records = audit_len(&store).await;
    let gone = UserId(uuid::Uuid::new_v4());
    let err = store
        .finish_flow(
            &done,
            gone,
            Some(&password),
            true,
            later,
            std::slice::from_ref(&notice),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.get_flow(g.id).await.unwrap().unwrap(), g);
    assert_eq!(store.recent_outbox(10).await.unwrap().len(), 1);
    assert_eq!(audit_len(&store).await, records);
    assert_eq!(
        store.get_user(ada.id).await.unwrap().unwrap().password_hash,
        Some(phc(2))
    );
}

async fn story_a_code_is_spent_with_the_proof_its_flow_records(store: SqlStore, _db: Db) {
    let u = new_user("ada");
    store
        .create_user(&u, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let f = flow(Some(u.id));
    store.create_flow(&f, &started()).await.unwrap();
    let code = |hash: &'static str| NewCode {
        id: uuid::Uuid::new_v4(),
        user_id: Some(u.id),
        binding: "reset:flow:m1".into(),
        code_hash: hash.into(),
        created_at: NOW,
        expires_at: NOW + time::Duration::minutes(5),
    };
    store.create_code(&code("right")).await.unwrap();
    let spend = |hash| CodeSpend {
        binding: "reset:flow:m1",
        code_hash: hash,
        now: NOW + time::Duration::minutes(1),
    };
    let proved = |from: &Flow| {
        let mut next = from.clone();
        next.verified.push("m1".into());
        next.stage = Stage::Verified;
        next
    };
    let verified = || event("Self-service password reset flow activity progress", "ada");
    let before = audit_len(&store).await;

    // A wrong code: nothing is written.
    let written = store
        .update_flow_spending_code(&proved(&f), &verified(), &spend("wrong"))
        .await
        .unwrap();
    assert_eq!(written, FlowWrite::CodeRejected);
    // A flow written meanwhile: the code is not spent either (the retry can spend it).
    let mut moved = f.clone();
    moved.questions = vec!["q1".into()];
    assert!(store.update_flow(&moved, None).await.unwrap());
    let written = store
        .update_flow_spending_code(&proved(&f), &verified(), &spend("right"))
        .await
        .unwrap();
    assert_eq!(written, FlowWrite::Stale);
    assert_eq!(
        audit_len(&store).await,
        before,
        "no record of a proof not stored"
    );
    let current = store.get_flow(f.id).await.unwrap().unwrap();
    assert_eq!(current.stage, Stage::Verifying);

    // 32 parallel submissions of the right code on the current flow: exactly one spends it
    // and records the proof; the others find it spent or the flow moved on.
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (store, next) = (Arc::clone(&store), proved(&current));
        tasks.push(tokio::spawn(async move {
            store
                .update_flow_spending_code(&next, &verified(), &spend("right"))
                .await
                .unwrap()
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let wins = outcomes
        .iter()
        .filter(|w| **w == FlowWrite::Written)
        .count();
    assert_eq!(wins, 1, "{outcomes:?}");
    assert_eq!(audit_len(&store).await, before + 1);
    let stored = store.get_flow(f.id).await.unwrap().unwrap();
    assert_eq!((stored.stage, stored.version), (Stage::Verified, 2));
    assert!(
        !store
            .consume_code("reset:flow:m1", "right", NOW + time::Duration::minutes(1))
            .await
            .unwrap(),
        "spent"
    );
    // An expired code is rejected too.
    store.create_code(&code("late")).await.unwrap();
    let mut late = spend("late");
    late.now = NOW + time::Duration::minutes(6);
    let written = store
        .update_flow_spending_code(&proved(&stored), &verified(), &late)
        .await
        .unwrap();
    assert_eq!(written, FlowWrite::CodeRejected);
}
