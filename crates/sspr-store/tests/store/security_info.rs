//! Security info: registered methods, one-time codes, throttle counters and WebAuthn
//! ceremonies, including the "consume once" rule under parallel submissions.

use std::sync::Arc;

use sspr_core::audit::events;
use sspr_core::ports::{Attempt, NewCode, NewOutboxMessage, Store};
use sspr_core::{MethodId, MethodType, RegisteredMethod, UserId};
use sspr_store::SqlStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::harness::{Db, audit_len, event, new_user};

conformance!(
    story_methods_belong_to_their_user,
    story_codes_are_consumed_once,
    story_an_issued_code_its_message_and_record_are_stored_together,
    story_throttle_counts_and_forgets,
    story_throttle_counts_several_limits_with_one_call,
    story_ceremonies_are_taken_once,
    story_registration_prompt_keeps_the_first_mark,
);

const NOW: OffsetDateTime = datetime!(2026-11-26 08:00:00.250 UTC);

fn method(user: UserId, kind: MethodType, label: &str) -> RegisteredMethod {
    RegisteredMethod {
        id: MethodId::new(),
        user_id: user,
        kind,
        label: label.to_owned(),
        secret: Some("sealed".into()),
        counter: 0,
        verified_at: None,
        created_at: NOW,
        last_used_at: None,
    }
}

async fn user(store: &SqlStore, name: &str) -> UserId {
    let u = new_user(name);
    store
        .create_user(&u, &event(events::ADD_USER, name))
        .await
        .unwrap();
    u.id
}

async fn story_methods_belong_to_their_user(store: SqlStore, _db: Db) {
    let ada = user(&store, "ada").await;
    let bob = user(&store, "bob").await;
    let email = method(ada, MethodType::Email, "ada@example.org");
    store.add_method(&email, None).await.unwrap();
    let mut totp = method(ada, MethodType::AuthenticatorCode, "");
    totp.created_at = NOW + Duration::seconds(1);
    store.add_method(&totp, None).await.unwrap();
    let before = audit_len(&store).await;

    let listed = store.list_methods(ada).await.unwrap();
    assert_eq!(listed, vec![email.clone(), totp.clone()], "oldest first");
    assert!(store.list_methods(bob).await.unwrap().is_empty());
    // Another user's id finds nothing, for reading, verifying and deleting.
    assert_eq!(store.get_method(bob, email.id).await.unwrap(), None);
    let ev = event("Update user security info", "bob");
    assert!(
        !store
            .mark_method_verified(bob, email.id, NOW, &ev)
            .await
            .unwrap()
    );
    assert!(!store.delete_method(bob, email.id, &ev).await.unwrap());
    assert_eq!(
        audit_len(&store).await,
        before,
        "refused changes are not audited"
    );

    // Verified once; the second attempt changes nothing.
    let ev = event("Update user security info", "ada");
    let at = NOW + Duration::minutes(1);
    assert!(
        store
            .mark_method_verified(ada, email.id, at, &ev)
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_method_verified(ada, email.id, at, &ev)
            .await
            .unwrap()
    );
    let got = store.get_method(ada, email.id).await.unwrap().unwrap();
    assert_eq!(got.verified_at, Some(at));
    assert_eq!(got.last_used_at, Some(at));
    assert_eq!(audit_len(&store).await, before + 1);

    // The counter only rises, and each value is taken once.
    assert!(
        store
            .advance_method_counter(totp.id, 100, at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_method_counter(totp.id, 100, at)
            .await
            .unwrap()
    );
    assert!(!store.advance_method_counter(totp.id, 99, at).await.unwrap());
    assert!(
        store
            .advance_method_counter(totp.id, 101, at)
            .await
            .unwrap()
    );
    let got = store.get_method(ada, totp.id).await.unwrap().unwrap();
    assert_eq!(got.counter, 101);

    // Questions are one set: replacing drops the old one.
    let q1 = method(ada, MethodType::SecurityQuestions, "");
    store.replace_methods_of_kind(&q1, &ev).await.unwrap();
    let q2 = method(ada, MethodType::SecurityQuestions, "");
    store.replace_methods_of_kind(&q2, &ev).await.unwrap();
    let kinds: Vec<_> = store
        .list_methods(ada)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == MethodType::SecurityQuestions)
        .map(|m| m.id)
        .collect();
    assert_eq!(kinds, vec![q2.id]);

    assert!(store.delete_method(ada, email.id, &ev).await.unwrap());
    assert!(!store.delete_method(ada, email.id, &ev).await.unwrap());
    assert_eq!(store.get_method(ada, email.id).await.unwrap(), None);

    // A method of a user who does not exist is refused, and deleting the user takes the
    // methods along.
    let ghost = method(UserId::new(), MethodType::Email, "x@example.org");
    assert!(store.add_method(&ghost, None).await.is_err());
    store
        .delete_user(ada, &event(events::DELETE_USER, "ada"))
        .await
        .unwrap();
    assert!(store.list_methods(ada).await.unwrap().is_empty());
}

async fn story_codes_are_consumed_once(store: SqlStore, _db: Db) {
    let ada = user(&store, "ada").await;
    let code = |binding: &str, hash: &str, expires: OffsetDateTime| NewCode {
        id: uuid::Uuid::new_v4(),
        user_id: Some(ada),
        binding: binding.to_owned(),
        code_hash: hash.to_owned(),
        created_at: NOW,
        expires_at: expires,
    };
    let expires = NOW + Duration::minutes(5);
    store.create_code(&code("m1", "h1", expires)).await.unwrap();
    assert!(!store.consume_code("m1", "wrong", NOW).await.unwrap());
    assert!(
        !store.consume_code("m2", "h1", NOW).await.unwrap(),
        "other binding"
    );
    assert!(
        !store.consume_code("m1", "h1", expires).await.unwrap(),
        "expires_at is exclusive"
    );
    assert!(store.consume_code("m1", "h1", NOW).await.unwrap());
    assert!(
        !store.consume_code("m1", "h1", NOW).await.unwrap(),
        "single use"
    );

    // 32 parallel submissions of one valid code: exactly one succeeds.
    store.create_code(&code("m3", "h3", expires)).await.unwrap();
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.consume_code("m3", "h3", NOW).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += u32::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);

    // Revoking voids the outstanding codes.
    store.create_code(&code("m4", "h4", expires)).await.unwrap();
    store.create_code(&code("m5", "h5", expires)).await.unwrap();
    assert_eq!(store.revoke_codes(ada, NOW).await.unwrap(), 2);
    assert!(!store.consume_code("m4", "h4", NOW).await.unwrap());

    // Housekeeping deletes what expired.
    store
        .create_code(&code("m6", "h6", NOW - Duration::minutes(1)))
        .await
        .unwrap();
    assert!(store.prune_expired(NOW).await.unwrap() >= 1);
}

async fn story_an_issued_code_its_message_and_record_are_stored_together(store: SqlStore, _db: Db) {
    let ada = user(&store, "ada").await;
    let code = |binding: &str| NewCode {
        id: uuid::Uuid::new_v4(),
        user_id: Some(ada),
        binding: binding.to_owned(),
        code_hash: "h".into(),
        created_at: NOW,
        expires_at: NOW + Duration::minutes(5),
    };
    let message = NewOutboxMessage {
        channel: "email".into(),
        recipient: "ada@example.org".into(),
        subject: "Your code".into(),
        body: "12345678".into(),
        html_body: None,
    };
    let sent = event(events::RESET_FLOW_PROGRESS, "ada");
    let (audit0, outbox0) = (
        audit_len(&store).await,
        store.recent_outbox(100).await.unwrap().len(),
    );
    let first = code("reset:1");
    store
        .issue_code(&first, Some(&message), &sent)
        .await
        .unwrap();
    assert_eq!(audit_len(&store).await, audit0 + 1);
    let outbox = store.recent_outbox(100).await.unwrap();
    assert_eq!(outbox.len(), outbox0 + 1);
    assert_eq!(outbox[0].recipient, "ada@example.org");
    // A decoy's code: stored and audited, nothing to send.
    store
        .issue_code(&code("decoy:reset:2"), None, &sent)
        .await
        .unwrap();
    assert_eq!(audit_len(&store).await, audit0 + 2);
    assert_eq!(store.recent_outbox(100).await.unwrap().len(), outbox0 + 1);
    // All or nothing: a code that cannot be stored (its id is taken) leaves no message and
    // no record behind.
    let again = NewCode {
        binding: "reset:3".into(),
        ..first.clone()
    };
    assert!(
        store
            .issue_code(&again, Some(&message), &sent)
            .await
            .is_err()
    );
    assert_eq!(audit_len(&store).await, audit0 + 2);
    assert_eq!(store.recent_outbox(100).await.unwrap().len(), outbox0 + 1);
    assert!(store.consume_code("reset:1", "h", NOW).await.unwrap());
    assert!(!store.consume_code("reset:3", "h", NOW).await.unwrap());
}

async fn story_throttle_counts_several_limits_with_one_call(store: SqlStore, _db: Db) {
    let ada = user(&store, "ada").await;
    let since = NOW - Duration::hours(1);
    let attempt = |key, user| Attempt {
        key,
        user,
        since,
        enough: 1,
    };
    // A send from one address for Ada: per address, per user, and the address again (an
    // action may count twice under one key).
    let batch = [
        attempt("ip", None),
        attempt("ada", Some(ada)),
        attempt("ip", None),
    ];
    let first = store.throttle_hits(&batch, NOW).await.unwrap();
    assert_eq!(first.len(), 3, "one hit per attempt, in order");
    assert!(first[1].others.is_empty(), "nothing else under Ada's key");
    assert_eq!(
        (first[0].others.clone(), first[2].others.clone()),
        (vec![NOW], vec![NOW]),
        "every attempt of the batch is stored before any is read"
    );
    let later = NOW + Duration::seconds(1);
    let second = store
        .throttle_hits(&[attempt("ada", Some(ada)), attempt("other", None)], later)
        .await
        .unwrap();
    assert_eq!(second[0].others, vec![NOW]);
    assert!(second[1].others.is_empty());
    assert_eq!(
        store.throttle_events("ip", since, 1).await.unwrap(),
        vec![NOW, NOW]
    );
    // Each can be forgotten on its own, and the user's are cleared with her.
    store.throttle_forget(first[0].id).await.unwrap();
    assert_eq!(
        store.throttle_events("ip", since, 1).await.unwrap(),
        vec![NOW]
    );
    assert_eq!(store.throttle_clear_user(ada).await.unwrap(), 2);
    assert!(
        store
            .throttle_events("ada", since, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.throttle_hits(&[], later).await.unwrap().is_empty());
}

async fn story_throttle_counts_and_forgets(store: SqlStore, _db: Db) {
    let ada = user(&store, "ada").await;
    let since = NOW - Duration::hours(1);
    let first = store
        .throttle_hit("k", Some(ada), NOW - Duration::hours(2), since, 1)
        .await
        .unwrap();
    assert!(
        first.others.is_empty(),
        "the attempt itself is not among the others"
    );
    let second = store
        .throttle_hit("k", Some(ada), NOW, since, 1)
        .await
        .unwrap();
    assert!(second.others.is_empty(), "the first is before `since`");
    let third = store
        .throttle_hit(
            "k",
            Some(ada),
            NOW + Duration::seconds(1),
            NOW - Duration::hours(3),
            1,
        )
        .await
        .unwrap();
    assert_eq!(third.others, vec![NOW - Duration::hours(2), NOW]);
    // Fewer events than `enough`: none are read out (they could not block a rule that
    // allows that many); exactly `enough`: all of them.
    let three = vec![NOW - Duration::hours(2), NOW, NOW + Duration::seconds(1)];
    let wide = NOW - Duration::hours(3);
    assert!(
        store
            .throttle_events("k", wide, 4)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.throttle_events("k", wide, 3).await.unwrap(), three);
    assert_eq!(store.throttle_events("k", wide, 0).await.unwrap(), three);
    let fourth = store
        .throttle_hit("k", None, NOW + Duration::seconds(2), wide, 4)
        .await
        .unwrap();
    assert!(fourth.others.is_empty(), "three others, four asked for");
    store.throttle_forget(fourth.id).await.unwrap();
    let fifth = store
        .throttle_hit("k", None, NOW + Duration::seconds(2), wide, 3)
        .await
        .unwrap();
    assert_eq!(
        fifth.others, three,
        "the attempt itself is still not counted"
    );
    store.throttle_forget(fifth.id).await.unwrap();
    store
        .throttle_hit("other", None, NOW, since, 1)
        .await
        .unwrap();

    assert_eq!(
        store.throttle_events("k", since, 1).await.unwrap(),
        vec![NOW, NOW + Duration::seconds(1)]
    );
    store.throttle_forget(third.id).await.unwrap();
    assert_eq!(
        store.throttle_events("k", since, 1).await.unwrap(),
        vec![NOW]
    );

    assert_eq!(store.throttle_clear_user(ada).await.unwrap(), 2);
    assert!(
        store
            .throttle_events("k", NOW - Duration::days(1), 1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .throttle_events("other", since, 1)
            .await
            .unwrap()
            .len(),
        1,
        "attempts about nobody in particular stay"
    );
    store
        .prune_expired(NOW + Duration::seconds(1))
        .await
        .unwrap();
    assert!(
        store
            .throttle_events("other", since, 1)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn story_ceremonies_are_taken_once(store: SqlStore, _db: Db) {
    let ada = user(&store, "ada").await;
    let expires = NOW + Duration::minutes(5);
    store
        .put_ceremony(
            "c1",
            Some(ada),
            "passkey_registration",
            "{\"s\":1}",
            expires,
        )
        .await
        .unwrap();
    assert!(
        store
            .put_ceremony("c1", Some(ada), "passkey_registration", "{}", expires)
            .await
            .is_err()
    );
    assert_eq!(
        store
            .take_ceremony("c1", "passkey_authentication", NOW)
            .await
            .unwrap(),
        None,
        "another kind finds nothing"
    );
    assert_eq!(
        store
            .take_ceremony("c1", "passkey_registration", NOW)
            .await
            .unwrap(),
        Some((Some(ada), "{\"s\":1}".to_owned()))
    );
    assert_eq!(
        store
            .take_ceremony("c1", "passkey_registration", NOW)
            .await
            .unwrap(),
        None,
        "taken once"
    );
    store
        .put_ceremony("c2", None, "passkey_authentication", "{}", expires)
        .await
        .unwrap();
    assert_eq!(
        store
            .take_ceremony("c2", "passkey_authentication", expires)
            .await
            .unwrap(),
        None,
        "expired"
    );
}

async fn story_registration_prompt_keeps_the_first_mark(store: SqlStore, _db: Db) {
    let ada = user(&store, "ada").await;
    let first = NOW;
    store
        .set_registration_prompted(ada, Some(first))
        .await
        .unwrap();
    store
        .set_registration_prompted(ada, Some(first + Duration::days(2)))
        .await
        .unwrap();
    let got = store.get_user(ada).await.unwrap().unwrap();
    assert_eq!(got.registration_prompted_at, Some(first));
    store.set_registration_prompted(ada, None).await.unwrap();
    let got = store.get_user(ada).await.unwrap().unwrap();
    assert_eq!(got.registration_prompted_at, None);
    assert!(
        store
            .set_registration_prompted(UserId::new(), Some(first))
            .await
            .is_err()
    );
}
