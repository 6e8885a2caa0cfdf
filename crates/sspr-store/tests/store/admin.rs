//! What the administration API needs: user search with a total, forced re-registration,
//! group rename and delete, the filtered audit query, and API tokens.

use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::ports::{ApiToken, AuditFilter, Member, NewApiToken, Store, StoreError};
use sspr_core::{
    AdminRole, EmailAddress, GroupId, GroupName, MethodId, MethodType, NewGroup, RegisteredMethod,
};
use sspr_store::SqlStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::harness::{Db, audit_len, audit_log, event, new_user, verify_chain};

conformance!(
    story_search_users_counts_every_match,
    story_require_reregistration_forgets_methods_and_confirmation,
    story_groups_are_renamed_and_deleted,
    story_audit_query_filters_and_pages,
    story_api_tokens_are_stored_hashed_and_revoked_once,
    story_whole_population_reads_for_reports,
);

const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

async fn story_search_users_counts_every_match(store: SqlStore, _db: Db) {
    for i in 0..7 {
        let mut u = new_user(&format!("user{i}"));
        if i % 2 == 0 {
            u.email = Some(EmailAddress::parse(&format!("Even{i}@Example.org")).unwrap());
        }
        store
            .create_user(&u, &event(events::ADD_USER, "u"))
            .await
            .unwrap();
    }
    let all = store.search_users(None, 0, 3).await.unwrap();
    assert_eq!(all.total, 7);
    assert_eq!(
        all.items
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["user0", "user1", "user2"]
    );
    let last = store.search_users(None, 6, 3).await.unwrap();
    assert_eq!((last.items.len(), last.total), (1, 7));
    // By email, whatever the case; by display name; LIKE characters are literal.
    let even = store.search_users(Some("EVEN"), 0, 10).await.unwrap();
    assert_eq!(even.total, 4);
    assert_eq!(even.items.len(), 4);
    let one = store
        .search_users(Some("user3 DISPLAY"), 0, 10)
        .await
        .unwrap();
    assert_eq!(one.total, 1);
    assert_eq!(store.search_users(Some("%"), 0, 10).await.unwrap().total, 0);
    assert_eq!(store.search_users(Some("_"), 0, 10).await.unwrap().total, 0);
}

async fn story_require_reregistration_forgets_methods_and_confirmation(store: SqlStore, _db: Db) {
    let ada = store
        .create_user(&new_user("ada"), &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let bob = store
        .create_user(&new_user("bob"), &event(events::ADD_USER, "bob"))
        .await
        .unwrap();
    for (user, kind) in [
        (ada.id, MethodType::AuthenticatorCode),
        (ada.id, MethodType::Email),
        (bob.id, MethodType::Email),
    ] {
        let m = RegisteredMethod {
            id: MethodId::new(),
            user_id: user,
            kind,
            label: "x@example.org".into(),
            secret: None,
            counter: 0,
            verified_at: Some(NOW),
            created_at: NOW,
            last_used_at: None,
        };
        store.add_method(&m, None).await.unwrap();
    }
    store
        .set_registration_confirmed(ada.id, Some(NOW))
        .await
        .unwrap();
    store
        .set_registration_prompted(ada.id, Some(NOW))
        .await
        .unwrap();
    let before = audit_len(&store).await;
    let removed = store
        .require_reregistration(ada.id, &event(events::REQUIRE_REREGISTRATION, "ada"))
        .await
        .unwrap();
    assert_eq!(removed, 2);
    let ada = store.get_user(ada.id).await.unwrap().unwrap();
    assert_eq!(ada.registration_confirmed_at, None);
    assert_eq!(ada.registration_prompted_at, None);
    assert!(store.list_methods(ada.id).await.unwrap().is_empty());
    assert_eq!(
        store.list_methods(bob.id).await.unwrap().len(),
        1,
        "others keep theirs"
    );
    let log = audit_log(&store).await;
    assert_eq!(log.len(), before + 1);
    let last = log.last().unwrap();
    assert_eq!(last.event.event_type, events::REQUIRE_REREGISTRATION);
    assert_eq!(last.event.details["methods_removed"], 2);
    let missing = store
        .require_reregistration(
            sspr_core::UserId::new(),
            &event(events::REQUIRE_REREGISTRATION, "x"),
        )
        .await;
    assert_eq!(missing, Err(StoreError::NotFound));
    assert_eq!(
        audit_len(&store).await,
        before + 1,
        "nothing audited for nothing done"
    );
    verify_chain(&store).await.unwrap();
}

async fn group(store: &SqlStore, name: &str) -> GroupId {
    store
        .create_group(
            &NewGroup {
                id: GroupId::new(),
                name: GroupName::parse(name).unwrap(),
                description: String::new(),
            },
            &event(events::ADD_GROUP, name),
        )
        .await
        .unwrap()
        .id
}

async fn story_groups_are_renamed_and_deleted(store: SqlStore, _db: Db) {
    let staff = group(&store, "Staff").await;
    let sales = group(&store, "Sales").await;
    let ada = store
        .create_user(&new_user("ada"), &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let e = |n| event(n, "g");
    store
        .add_member(staff, Member::Group(sales), &e(events::ADD_MEMBER))
        .await
        .unwrap();
    store
        .add_member(sales, Member::User(ada.id), &e(events::ADD_MEMBER))
        .await
        .unwrap();
    store
        .update_group(
            sales,
            &GroupName::parse("Sales EMEA").unwrap(),
            "the EMEA team",
            &e(events::UPDATE_GROUP),
        )
        .await
        .unwrap();
    let g = store.get_group(sales).await.unwrap().unwrap();
    assert_eq!(
        (g.name.as_str(), g.description.as_str()),
        ("Sales EMEA", "the EMEA team")
    );
    assert!(
        store
            .find_group(&GroupName::parse("sales emea").unwrap())
            .await
            .unwrap()
            .is_some(),
        "the case-insensitive name follows the rename"
    );
    let taken = store
        .update_group(
            sales,
            &GroupName::parse("STAFF").unwrap(),
            "",
            &e(events::UPDATE_GROUP),
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let unknown = store
        .update_group(
            GroupId::new(),
            &GroupName::parse("X").unwrap(),
            "",
            &e(events::UPDATE_GROUP),
        )
        .await;
    assert_eq!(unknown, Err(StoreError::NotFound));

    let before = audit_len(&store).await;
    assert!(
        store
            .delete_group(sales, &e(events::DELETE_GROUP))
            .await
            .unwrap()
    );
    assert!(store.get_group(sales).await.unwrap().is_none());
    assert!(
        store.members(staff).await.unwrap().is_empty(),
        "its membership in Staff went too"
    );
    assert!(store.groups_of_user(ada.id).await.unwrap().is_empty());
    assert!(
        !store
            .delete_group(sales, &e(events::DELETE_GROUP))
            .await
            .unwrap()
    );
    assert_eq!(audit_len(&store).await, before + 1);
    verify_chain(&store).await.unwrap();
}

async fn story_audit_query_filters_and_pages(store: SqlStore, _db: Db) {
    let start = OffsetDateTime::now_utc() - Duration::seconds(1);
    let mut failed = AuditEvent::new(events::RESET_PASSWORD_SELF, Outcome::Failure)
        .actor("anonymous")
        .target("ada");
    failed.reason = Some("policy".into());
    store.append_audit(&failed).await.unwrap();
    for i in 0..5 {
        store
            .append_audit(
                &AuditEvent::new(events::ADD_USER, Outcome::Success)
                    .actor("root")
                    .target(format!("user{i}")),
            )
            .await
            .unwrap();
    }
    store
        .append_audit(
            &AuditEvent::new(events::ADMIN_UNLOCK, Outcome::Success)
                .actor("helpdesk")
                .target("ada"),
        )
        .await
        .unwrap();
    let end = OffsetDateTime::now_utc() + Duration::seconds(1);

    let all = store
        .query_audit(&AuditFilter::default(), 0, 100)
        .await
        .unwrap();
    assert_eq!(all.total, 7);
    assert!(
        all.items.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first"
    );

    let page = store
        .query_audit(&AuditFilter::default(), 2, 2)
        .await
        .unwrap();
    assert_eq!(page.items.iter().map(|r| r.seq).collect::<Vec<_>>(), [5, 4]);
    assert_eq!(page.total, 7);

    let by_type = AuditFilter {
        event_type: Some(events::ADD_USER.into()),
        ..Default::default()
    };
    assert_eq!(store.query_audit(&by_type, 0, 100).await.unwrap().total, 5);

    // `user` matches the actor or the target.
    let ada = AuditFilter {
        user: Some("ada".into()),
        ..Default::default()
    };
    let r = store.query_audit(&ada, 0, 100).await.unwrap();
    assert_eq!(r.total, 2);
    let root = AuditFilter {
        user: Some("root".into()),
        ..Default::default()
    };
    assert_eq!(store.query_audit(&root, 0, 100).await.unwrap().total, 5);

    let failures = AuditFilter {
        outcome: Some(Outcome::Failure),
        user: Some("ada".into()),
        ..Default::default()
    };
    let r = store.query_audit(&failures, 0, 100).await.unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(r.items[0].event.reason.as_deref(), Some("policy"));

    let in_window = AuditFilter {
        from: Some(start),
        to: Some(end),
        ..Default::default()
    };
    assert_eq!(
        store.query_audit(&in_window, 0, 100).await.unwrap().total,
        7
    );
    let future = AuditFilter {
        from: Some(end),
        ..Default::default()
    };
    let none = store.query_audit(&future, 0, 100).await.unwrap();
    assert_eq!((none.total, none.items.len()), (0, 0));
    let past = AuditFilter {
        to: Some(start),
        ..Default::default()
    };
    assert_eq!(store.query_audit(&past, 0, 100).await.unwrap().total, 0);
    // A quote in a filter value is a value, not SQL.
    let odd = AuditFilter {
        user: Some("x' OR '1'='1".into()),
        ..Default::default()
    };
    assert_eq!(store.query_audit(&odd, 0, 100).await.unwrap().total, 0);
}

fn token(id: &str, role: AdminRole) -> NewApiToken {
    NewApiToken {
        token: ApiToken {
            id: id.into(),
            name: format!("token {id}"),
            role,
            created_by: "root".into(),
            created_at: NOW,
            expires_at: Some(NOW + Duration::days(30)),
            revoked_at: None,
            last_used_at: None,
        },
        secret_sha256: format!("{id}-hash"),
    }
}

async fn story_api_tokens_are_stored_hashed_and_revoked_once(store: SqlStore, db: Db) {
    let e = |n| event(n, "token");
    let a = token("aaaa", AdminRole::ReportsReader);
    let mut b = token("bbbb", AdminRole::GlobalAdmin);
    b.token.created_at = NOW + Duration::minutes(1);
    b.token.expires_at = None;
    store
        .create_api_token(&a, &e(events::CREATE_API_TOKEN))
        .await
        .unwrap();
    store
        .create_api_token(&b, &e(events::CREATE_API_TOKEN))
        .await
        .unwrap();
    let again = store
        .create_api_token(&a, &e(events::CREATE_API_TOKEN))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    let (got, hash) = store.api_token("aaaa").await.unwrap().expect("stored");
    assert_eq!(got, a.token);
    assert_eq!(hash, "aaaa-hash");
    assert!(store.api_token("cccc").await.unwrap().is_none());
    let listed = store.list_api_tokens().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["bbbb", "aaaa"],
        "newest first"
    );
    assert_eq!(listed[0].expires_at, None);

    store
        .touch_api_token("aaaa", NOW + Duration::hours(1))
        .await
        .unwrap();
    let before = audit_len(&store).await;
    assert!(
        store
            .revoke_api_token(
                "aaaa",
                NOW + Duration::hours(2),
                &e(events::REVOKE_API_TOKEN)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_api_token(
                "aaaa",
                NOW + Duration::hours(3),
                &e(events::REVOKE_API_TOKEN)
            )
            .await
            .unwrap(),
        "a second revocation changes nothing"
    );
    assert!(
        !store
            .revoke_api_token("zzzz", NOW, &e(events::REVOKE_API_TOKEN))
            .await
            .unwrap()
    );
    assert_eq!(
        audit_len(&store).await,
        before + 1,
        "only the real revocation is audited"
    );
    let (got, _) = store.api_token("aaaa").await.unwrap().unwrap();
    assert_eq!(got.revoked_at, Some(NOW + Duration::hours(2)));
    assert_eq!(got.last_used_at, Some(NOW + Duration::hours(1)));
    assert!(!got.is_live(NOW + Duration::hours(2)));
    // The secret's hash is what is stored, in its own column.
    assert_eq!(
        db.fetch_text("SELECT secret_sha256 FROM api_tokens WHERE id = 'bbbb'")
            .await,
        "bbbb-hash"
    );
    verify_chain(&store).await.unwrap();
}

async fn story_whole_population_reads_for_reports(store: SqlStore, _db: Db) {
    let ada = store
        .create_user(&new_user("ada"), &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let bob = store
        .create_user(&new_user("bob"), &event(events::ADD_USER, "bob"))
        .await
        .unwrap();
    let method = |user, kind, verified: bool| RegisteredMethod {
        id: MethodId::new(),
        user_id: user,
        kind,
        label: String::new(),
        secret: None,
        counter: 0,
        verified_at: verified.then_some(NOW),
        created_at: NOW,
        last_used_at: None,
    };
    for m in [
        method(ada.id, MethodType::AuthenticatorCode, true),
        method(ada.id, MethodType::Passkey, true),
        method(ada.id, MethodType::Passkey, true),
        method(ada.id, MethodType::Email, false),
        method(bob.id, MethodType::MobileSms, false),
    ] {
        store.add_method(&m, None).await.unwrap();
    }
    let kinds = store.verified_method_kinds().await.unwrap();
    assert_eq!(
        kinds[&ada.id],
        [MethodType::AuthenticatorCode, MethodType::Passkey].into(),
        "verified methods only, each kind once"
    );
    assert!(
        !kinds.contains_key(&bob.id),
        "an unverified method counts for nothing"
    );

    let staff = group(&store, "Staff").await;
    let devs = group(&store, "Devs").await;
    let e = event(events::ADD_MEMBER, "g");
    store
        .add_member(staff, Member::User(ada.id), &e)
        .await
        .unwrap();
    store
        .add_member(devs, Member::User(ada.id), &e)
        .await
        .unwrap();
    store
        .add_member(staff, Member::Group(devs), &e)
        .await
        .unwrap();
    let groups = store.user_groups().await.unwrap();
    let mut of_ada = groups[&ada.id].clone();
    of_ada.sort();
    let mut expected = vec![staff, devs];
    expected.sort();
    assert_eq!(
        of_ada, expected,
        "direct user memberships, not group-in-group edges"
    );
    assert!(!groups.contains_key(&bob.id));
}
