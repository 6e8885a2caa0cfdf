//! The audit chain: every change leaves a record, the chain verifies, tampering is found,
//! and concurrent appenders make one gap-free chain.

use serde_json::json;
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::ports::{Member, NewOutboxMessage, ProfileUpdate, Session, Store};
use sspr_core::{
    DisplayName, GroupId, GroupName, LockoutState, NewGroup, PasswordHash, SsprPolicy,
};
use sspr_store::SqlStore;
use time::{Duration, OffsetDateTime};

use crate::harness::{Db, audit_log, event, new_user, verify_chain};

conformance!(
    story_every_change_is_audited_and_the_chain_verifies,
    story_records_round_trip_exactly,
    story_tampering_is_found_at_its_row,
    story_concurrent_appends_make_one_chain,
);

/// Runs `change` and checks that it appended exactly one record, of `event_type`.
async fn expect_one_record(store: &SqlStore, event_type: &str) {
    let log = audit_log(store).await;
    let last = log.last().expect("a record");
    assert_eq!(last.event.event_type, event_type);
    assert_eq!(last.seq, log.len() as i64);
}

async fn story_every_change_is_audited_and_the_chain_verifies(store: SqlStore, _db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    expect_one_record(&store, events::ADD_USER).await;

    store
        .create_users(
            &[new_user("bob"), new_user("cy")],
            &event(events::IMPORT_USERS, "csv"),
        )
        .await
        .unwrap();
    expect_one_record(&store, events::IMPORT_USERS).await;

    let update = ProfileUpdate {
        display_name: DisplayName::parse("Ada L.").unwrap(),
        first_name: None,
        last_name: None,
        email: None,
        alternate_email: None,
        mobile_phone: None,
        office_phone: None,
        roles: Default::default(),
        enabled: true,
    };
    store
        .update_profile(ada.id, &update, &event(events::UPDATE_USER, "ada"))
        .await
        .unwrap();
    expect_one_record(&store, events::UPDATE_USER).await;

    let phc = PasswordHash::from_phc("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$x".into());
    store
        .set_password(ada.id, &phc, 5, &event(events::ADMIN_RESET_PASSWORD, "ada"))
        .await
        .unwrap();
    expect_one_record(&store, events::ADMIN_RESET_PASSWORD).await;

    store
        .set_admin_locked(ada.id, true, &event(events::ADMIN_LOCK, "ada"))
        .await
        .unwrap();
    expect_one_record(&store, events::ADMIN_LOCK).await;
    store
        .set_admin_locked(ada.id, false, &event(events::ADMIN_UNLOCK, "ada"))
        .await
        .unwrap();
    expect_one_record(&store, events::ADMIN_UNLOCK).await;

    let locked = LockoutState {
        failed_count: 0,
        lockout_count: 1,
        locked_until: Some(OffsetDateTime::now_utc() + Duration::minutes(1)),
    };
    let lockout = event(events::SMART_LOCKOUT, "ada");
    assert!(
        store
            .update_lockout(ada.id, &LockoutState::default(), &locked, Some(&lockout))
            .await
            .unwrap()
    );
    expect_one_record(&store, events::SMART_LOCKOUT).await;

    let group = NewGroup {
        id: GroupId::new(),
        name: GroupName::parse("Staff").unwrap(),
        description: String::new(),
    };
    store
        .create_group(&group, &event(events::ADD_GROUP, "Staff"))
        .await
        .unwrap();
    expect_one_record(&store, events::ADD_GROUP).await;
    store
        .add_member(
            group.id,
            Member::User(ada.id),
            &event(events::ADD_MEMBER, "Staff"),
        )
        .await
        .unwrap();
    expect_one_record(&store, events::ADD_MEMBER).await;
    store
        .remove_member(
            group.id,
            Member::User(ada.id),
            &event(events::REMOVE_MEMBER, "Staff"),
        )
        .await
        .unwrap();
    expect_one_record(&store, events::REMOVE_MEMBER).await;

    store
        .put_policy(
            &SsprPolicy::default(),
            &event(events::POLICY_CHANGED, "sspr_policy"),
        )
        .await
        .unwrap();
    expect_one_record(&store, events::POLICY_CHANGED).await;

    store
        .delete_user(ada.id, &event(events::DELETE_USER, "ada"))
        .await
        .unwrap();
    expect_one_record(&store, events::DELETE_USER).await;

    store.append_audit(&event("Sign-in", "bob")).await.unwrap();
    expect_one_record(&store, "Sign-in").await;

    // Calls that take no audit event leave none.
    let before = audit_log(&store).await.len();
    let bob = store
        .find_user(&crate::harness::username("bob"))
        .await
        .unwrap()
        .unwrap();
    store
        .set_registration_confirmed(bob.id, Some(OffsetDateTime::now_utc()))
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    store
        .create_session(&Session {
            id_hash: "h".into(),
            user_id: bob.id,
            created_at: now,
            expires_at: now + Duration::hours(1),
            revoked: false,
        })
        .await
        .unwrap();
    store
        .enqueue(&NewOutboxMessage {
            channel: "email".into(),
            recipient: "bob@example.org".into(),
            subject: "s".into(),
            body: "b".into(),
            html_body: None,
        })
        .await
        .unwrap();
    assert!(
        store
            .update_lockout(bob.id, &LockoutState::default(), &locked, None)
            .await
            .unwrap()
    );
    assert_eq!(audit_log(&store).await.len(), before);

    assert_eq!(verify_chain(&store).await, Ok(13));
}

async fn story_records_round_trip_exactly(store: SqlStore, _db: Db) {
    let rich = AuditEvent {
        event_type: "Reset password (self-service)".into(),
        actor: Some("ada".into()),
        target: Some("ada".into()),
        client_ip: Some("2001:db8::1".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) \"quoted\" ünïcödé 🔑".into()),
        outcome: Outcome::Failure,
        reason: Some("wrong code".into()),
        correlation_id: Some("req-0123456789abcdef".into()),
        details: json!({
            "zeta": [1, 2.5, -3e-7, null, true, "x"],
            "alpha": {"nested": {"deep": "ünïcödé"}, "big": 9_007_199_254_740_993_i64},
            "empty": {},
            "quote": "a \"b\" \\ c\n",
        }),
    };
    let bare = AuditEvent::new("Sign-in", Outcome::Success);
    let mut appended = Vec::new();
    for e in [&rich, &bare, &rich] {
        appended.push(store.append_audit(e).await.unwrap());
    }
    let log = audit_log(&store).await;
    assert_eq!(
        log, appended,
        "what audit_page returns is what append_audit returned"
    );
    assert_eq!(log[0].event, rich);
    assert_eq!(log[1].event, bare);
    assert_eq!(log[1].event.details, serde_json::Value::Null);
    for (i, record) in log.iter().enumerate() {
        assert_eq!(record.seq, i as i64 + 1);
        assert_eq!(
            record.at.unix_timestamp_nanos() % 1_000_000,
            0,
            "ms precision"
        );
        assert_eq!(record.hash.len(), 64);
    }
    assert_eq!(log[0].prev_hash, sspr_core::audit::GENESIS_HASH);
    assert_eq!(log[1].prev_hash, log[0].hash);

    // Paging.
    assert_eq!(store.audit_page(1, 1).await.unwrap(), [log[1].clone()]);
    assert_eq!(store.audit_page(0, 2).await.unwrap(), log[..2]);
    assert!(store.audit_page(3, 10).await.unwrap().is_empty());
    assert!(store.audit_page(0, 0).await.unwrap().is_empty());
    assert_eq!(verify_chain(&store).await, Ok(3));
}

async fn story_tampering_is_found_at_its_row(store: SqlStore, db: Db) {
    for n in 1..=4 {
        store
            .append_audit(&event(events::ADD_USER, &format!("user{n}")))
            .await
            .unwrap();
    }
    assert_eq!(verify_chain(&store).await, Ok(4));

    let changed = db
        .execute_raw("UPDATE audit_events SET target = 'x' WHERE seq = 2")
        .await;
    assert_eq!(changed, 1);
    let broken = verify_chain(&store).await.unwrap_err();
    assert_eq!(broken.seq, 2);
    assert!(broken.reason.contains("altered"), "{}", broken.reason);

    // A deleted row is found too.
    db.execute_raw("UPDATE audit_events SET target = 'user2' WHERE seq = 2")
        .await;
    assert_eq!(verify_chain(&store).await, Ok(4));
    db.execute_raw("DELETE FROM audit_events WHERE seq = 3")
        .await;
    let broken = verify_chain(&store).await.unwrap_err();
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);
}

async fn story_concurrent_appends_make_one_chain(store: SqlStore, _db: Db) {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .append_audit(&event("Sign-in", &format!("user{n}")))
                .await
                .expect("append")
        });
    }
    let mut seqs: Vec<i64> = tasks.join_all().await.into_iter().map(|r| r.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    assert_eq!(verify_chain(&store).await, Ok(20));
    let mut targets: Vec<String> = audit_log(&store)
        .await
        .into_iter()
        .map(|r| r.event.target.unwrap())
        .collect();
    targets.sort();
    targets.dedup();
    assert_eq!(targets.len(), 20);
}
