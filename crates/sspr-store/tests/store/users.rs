//! Users: CRUD, search, passwords, lockout and admin lock.

use std::collections::BTreeSet;

use sspr_core::audit::events;
use sspr_core::ports::{Member, ProfileUpdate, Session, Store, StoreError};
use sspr_core::{
    AdminRole, DisplayName, EmailAddress, GroupId, GroupName, LockoutState, NewGroup, PasswordHash,
    PhoneNumber, UserId, UserSource,
};
use sspr_store::SqlStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::harness::{Db, audit_len, event, new_user, username, verify_chain};

conformance!(
    story_user_crud,
    story_list_users_search_and_paging,
    story_delete_user_cascades,
    story_password_history,
    story_lockout_compare_and_set,
    story_parallel_lockout_updates_have_one_winner,
    story_admin_lock_and_unlock,
    story_create_users_is_all_or_nothing,
);

fn hash(n: u32) -> PasswordHash {
    PasswordHash::from_phc(format!("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$hash{n}"))
}

fn is_whole_ms(t: OffsetDateTime) -> bool {
    t.unix_timestamp_nanos() % 1_000_000 == 0
}

async fn story_user_crud(store: SqlStore, _db: Db) {
    let mut ada = new_user("Ada");
    ada.first_name = Some("Ada".into());
    ada.last_name = Some("Lovelace".into());
    ada.email = Some(EmailAddress::parse("ada@example.org").unwrap());
    ada.alternate_email = Some(EmailAddress::parse("ada@private.example").unwrap());
    ada.mobile_phone = Some(PhoneNumber::parse("+49 151 12345678").unwrap());
    ada.office_phone = Some(PhoneNumber::parse("+44 20 7946 0958").unwrap());
    ada.roles = [AdminRole::HelpdeskAdmin, AdminRole::GlobalAdmin].into();
    ada.password_hash = Some(hash(1));

    let created = store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    assert_eq!(created.id, ada.id);
    assert_eq!(created.username.as_str(), "ada");
    assert_eq!(created.display_name, ada.display_name);
    assert_eq!(created.first_name.as_deref(), Some("Ada"));
    assert_eq!(created.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(created.email, ada.email);
    assert_eq!(created.alternate_email, ada.alternate_email);
    assert_eq!(created.mobile_phone, ada.mobile_phone);
    assert_eq!(created.office_phone, ada.office_phone);
    assert_eq!(created.roles, ada.roles);
    assert!(created.enabled);
    assert_eq!(created.source, UserSource::Cloud);
    assert!(!created.admin_locked);
    assert_eq!(created.lockout, LockoutState::default());
    assert_eq!(created.password_hash, Some(hash(1)));
    assert!(created.password_changed_at.is_some());
    assert_eq!(created.registration_confirmed_at, None);
    assert!(is_whole_ms(created.created_at));
    assert_eq!(created.created_at, created.updated_at);
    let age = OffsetDateTime::now_utc() - created.created_at;
    assert!(age >= Duration::ZERO && age < Duration::minutes(1), "{age}");

    // Read back by id and by name, whatever the case of the name.
    let got = store.get_user(ada.id).await.unwrap().expect("by id");
    assert_eq!(got.username, created.username);
    assert_eq!(got.created_at, created.created_at);
    assert_eq!(got.roles, created.roles);
    let found = store
        .find_user(&username("ADA"))
        .await
        .unwrap()
        .expect("by name");
    assert_eq!(found.id, ada.id);
    assert!(store.find_user(&username("bob")).await.unwrap().is_none());
    assert!(store.get_user(UserId::new()).await.unwrap().is_none());

    // Usernames are unique case-insensitively.
    let twin = new_user("ADA");
    let err = store
        .create_user(&twin, &event(events::ADD_USER, "ADA"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict("a user named ada already exists".into())
    );
    assert!(store.get_user(twin.id).await.unwrap().is_none());

    // A directory user without password or contact details.
    let mut dir_user = new_user("grace@example.org");
    dir_user.source = UserSource::Directory;
    dir_user.enabled = false;
    let grace = store
        .create_user(&dir_user, &event(events::ADD_USER, "grace"))
        .await
        .unwrap();
    assert_eq!(grace.source, UserSource::Directory);
    assert!(!grace.enabled);
    assert!(grace.password_hash.is_none() && grace.password_changed_at.is_none());
    assert!(grace.email.is_none() && grace.roles.is_empty());

    // Profile update.
    let update = ProfileUpdate {
        display_name: DisplayName::parse("Countess of Lovelace").unwrap(),
        first_name: None,
        last_name: Some("King".into()),
        email: Some(EmailAddress::parse("countess@example.org").unwrap()),
        alternate_email: None,
        mobile_phone: None,
        office_phone: Some(PhoneNumber::parse("+44 20 7946 0000").unwrap()),
        roles: BTreeSet::new(),
        enabled: false,
    };
    store
        .update_profile(ada.id, &update, &event(events::UPDATE_USER, "ada"))
        .await
        .unwrap();
    let updated = store.get_user(ada.id).await.unwrap().unwrap();
    assert_eq!(updated.display_name, update.display_name);
    assert_eq!(updated.first_name, None);
    assert_eq!(updated.last_name.as_deref(), Some("King"));
    assert_eq!(updated.email, update.email);
    assert_eq!(updated.alternate_email, None);
    assert_eq!(updated.mobile_phone, None);
    assert_eq!(updated.office_phone, update.office_phone);
    assert!(updated.roles.is_empty());
    assert!(!updated.enabled);
    assert_eq!(
        updated.password_hash,
        Some(hash(1)),
        "not part of a profile"
    );
    assert!(updated.updated_at >= created.updated_at);

    let before = audit_len(&store).await;
    let err = store
        .update_profile(UserId::new(), &update, &event(events::UPDATE_USER, "ghost"))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
    assert_eq!(
        audit_len(&store).await,
        before,
        "no audit for a change not made"
    );

    // Registration confirmation.
    let at = datetime!(2026-11-25 08:30:15.123 UTC);
    store
        .set_registration_confirmed(ada.id, Some(at))
        .await
        .unwrap();
    let got = store.get_user(ada.id).await.unwrap().unwrap();
    assert_eq!(got.registration_confirmed_at, Some(at));
    store
        .set_registration_confirmed(ada.id, None)
        .await
        .unwrap();
    let got = store.get_user(ada.id).await.unwrap().unwrap();
    assert_eq!(got.registration_confirmed_at, None);
    assert_eq!(
        store
            .set_registration_confirmed(UserId::new(), Some(at))
            .await,
        Err(StoreError::NotFound)
    );

    assert_eq!(verify_chain(&store).await, Ok(3));
}

async fn story_list_users_search_and_paging(store: SqlStore, _db: Db) {
    for (name, display) in [
        ("carol", "Carol Åberg"),
        ("alice", "Alice Smith"),
        ("bob", "Bob Smithers"),
        ("dave_x", "Dave"),
        ("eve", "100% Eve"),
    ] {
        let mut user = new_user(name);
        user.display_name = DisplayName::parse(display).unwrap();
        store
            .create_user(&user, &event(events::ADD_USER, name))
            .await
            .unwrap();
    }
    let names = |users: Vec<sspr_core::User>| {
        users
            .into_iter()
            .map(|u| u.username.as_str().to_owned())
            .collect::<Vec<_>>()
    };

    let all = store.list_users(None, 0, 100).await.unwrap();
    assert_eq!(names(all), ["alice", "bob", "carol", "dave_x", "eve"]);
    assert_eq!(
        names(store.list_users(Some(""), 0, 100).await.unwrap()),
        ["alice", "bob", "carol", "dave_x", "eve"]
    );

    // Case-insensitive, over username and display name.
    assert_eq!(
        names(store.list_users(Some("SMITH"), 0, 100).await.unwrap()),
        ["alice", "bob"]
    );
    assert_eq!(
        names(store.list_users(Some(" ALI "), 0, 100).await.unwrap()),
        ["alice"]
    );
    assert_eq!(
        names(store.list_users(Some("ÅBERG"), 0, 100).await.unwrap()),
        ["carol"]
    );
    assert_eq!(
        names(store.list_users(Some("ave"), 0, 100).await.unwrap()),
        ["dave_x"]
    );
    // LIKE metacharacters are taken literally.
    assert_eq!(
        names(store.list_users(Some("_"), 0, 100).await.unwrap()),
        ["dave_x"]
    );
    assert_eq!(
        names(store.list_users(Some("%"), 0, 100).await.unwrap()),
        ["eve"]
    );
    assert!(
        store
            .list_users(Some("\\"), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_users(Some("zed"), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );

    // Paging.
    assert_eq!(
        names(store.list_users(None, 1, 2).await.unwrap()),
        ["bob", "carol"]
    );
    assert_eq!(names(store.list_users(None, 4, 2).await.unwrap()), ["eve"]);
    assert!(store.list_users(None, 5, 2).await.unwrap().is_empty());
    assert!(store.list_users(None, 0, 0).await.unwrap().is_empty());
    assert_eq!(
        names(store.list_users(Some("smith"), 1, 1).await.unwrap()),
        ["bob"]
    );
}

async fn story_delete_user_cascades(store: SqlStore, _db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let bob = new_user("bob");
    store
        .create_user(&bob, &event(events::ADD_USER, "bob"))
        .await
        .unwrap();
    let group = NewGroup {
        id: GroupId::new(),
        name: GroupName::parse("Staff").unwrap(),
        description: String::new(),
    };
    store
        .create_group(&group, &event(events::ADD_GROUP, "Staff"))
        .await
        .unwrap();
    for user in [&ada, &bob] {
        store
            .add_member(
                group.id,
                Member::User(user.id),
                &event(events::ADD_MEMBER, "Staff"),
            )
            .await
            .unwrap();
    }
    let now = OffsetDateTime::now_utc();
    store
        .create_session(&Session {
            id_hash: "ada-session".into(),
            user_id: ada.id,
            created_at: now,
            expires_at: now + Duration::hours(1),
            revoked: false,
        })
        .await
        .unwrap();
    for n in 1..=2 {
        store
            .set_password(
                ada.id,
                &hash(n),
                5,
                &event(events::ADMIN_RESET_PASSWORD, "ada"),
            )
            .await
            .unwrap();
    }
    assert_eq!(store.password_history(ada.id).await.unwrap().len(), 1);

    assert!(
        store
            .delete_user(ada.id, &event(events::DELETE_USER, "ada"))
            .await
            .unwrap()
    );
    assert!(store.get_user(ada.id).await.unwrap().is_none());
    assert!(store.find_user(&username("ada")).await.unwrap().is_none());
    assert_eq!(
        store.members(group.id).await.unwrap(),
        [Member::User(bob.id)]
    );
    assert!(store.groups_of_user(ada.id).await.unwrap().is_empty());
    assert!(
        store
            .live_session("ada-session", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.password_history(ada.id).await.unwrap().is_empty());
    assert!(store.get_user(bob.id).await.unwrap().is_some());

    // Deleting what is not there changes nothing and records nothing.
    let before = audit_len(&store).await;
    assert!(
        !store
            .delete_user(ada.id, &event(events::DELETE_USER, "ada"))
            .await
            .unwrap()
    );
    assert_eq!(audit_len(&store).await, before);

    // The name is free again.
    store
        .create_user(&new_user("ada"), &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    assert_eq!(verify_chain(&store).await, Ok(before as u64 + 1));
}

async fn story_password_history(store: SqlStore, _db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let audit = event(events::ADMIN_RESET_PASSWORD, "ada");

    // No previous password: nothing goes into the history.
    store
        .set_password(ada.id, &hash(1), 3, &audit)
        .await
        .unwrap();
    let user = store.get_user(ada.id).await.unwrap().unwrap();
    assert_eq!(user.password_hash, Some(hash(1)));
    let changed = user.password_changed_at.expect("password_changed_at set");
    assert!(is_whole_ms(changed));
    assert!(store.password_history(ada.id).await.unwrap().is_empty());

    // The previous hashes are kept, newest first, at most `keep_history` of them.
    for n in 2..=5 {
        store
            .set_password(ada.id, &hash(n), 3, &audit)
            .await
            .unwrap();
    }
    assert_eq!(
        store.password_history(ada.id).await.unwrap(),
        [hash(4), hash(3), hash(2)]
    );
    assert_eq!(
        store.get_user(ada.id).await.unwrap().unwrap().password_hash,
        Some(hash(5))
    );
    store
        .set_password(ada.id, &hash(6), 1, &audit)
        .await
        .unwrap();
    assert_eq!(store.password_history(ada.id).await.unwrap(), [hash(5)]);
    store
        .set_password(ada.id, &hash(7), 0, &audit)
        .await
        .unwrap();
    assert!(store.password_history(ada.id).await.unwrap().is_empty());

    // Setting a password clears smart lockout.
    let locked = LockoutState {
        failed_count: 0,
        lockout_count: 2,
        locked_until: Some(datetime!(2030-01-01 00:00 UTC)),
    };
    assert!(
        store
            .update_lockout(ada.id, &LockoutState::default(), &locked, None)
            .await
            .unwrap()
    );
    store
        .set_password(ada.id, &hash(8), 5, &audit)
        .await
        .unwrap();
    let user = store.get_user(ada.id).await.unwrap().unwrap();
    assert_eq!(user.lockout, LockoutState::default());
    assert_eq!(store.password_history(ada.id).await.unwrap(), [hash(7)]);

    // Another user's history is their own.
    let bob = new_user("bob");
    store
        .create_user(&bob, &event(events::ADD_USER, "bob"))
        .await
        .unwrap();
    store
        .set_password(bob.id, &hash(100), 5, &audit)
        .await
        .unwrap();
    store
        .set_password(bob.id, &hash(101), 5, &audit)
        .await
        .unwrap();
    assert_eq!(store.password_history(bob.id).await.unwrap(), [hash(100)]);
    assert_eq!(store.password_history(ada.id).await.unwrap(), [hash(7)]);

    let before = audit_len(&store).await;
    assert_eq!(
        store.set_password(UserId::new(), &hash(9), 5, &audit).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(audit_len(&store).await, before);
    assert_eq!(verify_chain(&store).await, Ok(before as u64));
}

async fn story_lockout_compare_and_set(store: SqlStore, _db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let start = LockoutState::default();
    let one = LockoutState {
        failed_count: 1,
        ..start
    };
    let until = datetime!(2026-11-25 09:15:00.250 UTC);
    let locked = LockoutState {
        failed_count: 0,
        lockout_count: 1,
        locked_until: Some(until),
    };

    assert!(
        store
            .update_lockout(ada.id, &start, &one, None)
            .await
            .unwrap()
    );
    assert_eq!(store.get_user(ada.id).await.unwrap().unwrap().lockout, one);
    // A stale `expected` writes nothing.
    assert!(
        !store
            .update_lockout(ada.id, &start, &locked, None)
            .await
            .unwrap()
    );
    assert_eq!(store.get_user(ada.id).await.unwrap().unwrap().lockout, one);

    // With an audit event: written together, or neither.
    let before = audit_len(&store).await;
    let audit = event(events::SMART_LOCKOUT, "ada");
    assert!(
        store
            .update_lockout(ada.id, &one, &locked, Some(&audit))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_user(ada.id).await.unwrap().unwrap().lockout,
        locked
    );
    assert_eq!(audit_len(&store).await, before + 1);
    assert!(
        !store
            .update_lockout(ada.id, &one, &start, Some(&audit))
            .await
            .unwrap()
    );
    assert_eq!(
        audit_len(&store).await,
        before + 1,
        "no audit when nothing was written"
    );

    // `locked_until` takes part in the comparison.
    let other_until = LockoutState {
        locked_until: Some(until + Duration::milliseconds(1)),
        ..locked
    };
    assert!(
        !store
            .update_lockout(ada.id, &other_until, &start, None)
            .await
            .unwrap()
    );
    let no_until = LockoutState {
        locked_until: None,
        ..locked
    };
    assert!(
        !store
            .update_lockout(ada.id, &no_until, &start, None)
            .await
            .unwrap()
    );
    assert!(
        store
            .update_lockout(ada.id, &locked, &start, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_user(ada.id).await.unwrap().unwrap().lockout,
        start
    );

    // An unknown user is never written.
    assert!(
        !store
            .update_lockout(UserId::new(), &start, &one, None)
            .await
            .unwrap()
    );
    assert_eq!(verify_chain(&store).await, Ok(before as u64 + 1));
}

/// DESIGN rule 5: N parallel compare-and-sets from the same state, one success.
async fn story_parallel_lockout_updates_have_one_winner(store: SqlStore, _db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 1..=10u32 {
        let store = store.clone();
        tasks.spawn(async move {
            let new = LockoutState {
                failed_count: n,
                ..LockoutState::default()
            };
            let audit = event(events::SMART_LOCKOUT, "ada");
            store
                .update_lockout(ada.id, &LockoutState::default(), &new, Some(&audit))
                .await
                .unwrap()
        });
    }
    let wins = tasks
        .join_all()
        .await
        .into_iter()
        .filter(|won| *won)
        .count();
    assert_eq!(wins, 1);
    assert_eq!(verify_chain(&store).await, Ok(2));
}

async fn story_admin_lock_and_unlock(store: SqlStore, _db: Db) {
    let ada = new_user("ada");
    store
        .create_user(&ada, &event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let locked = LockoutState {
        failed_count: 2,
        lockout_count: 3,
        locked_until: Some(datetime!(2030-01-01 00:00 UTC)),
    };
    assert!(
        store
            .update_lockout(ada.id, &LockoutState::default(), &locked, None)
            .await
            .unwrap()
    );

    store
        .set_admin_locked(ada.id, true, &event(events::ADMIN_LOCK, "ada"))
        .await
        .unwrap();
    let user = store.get_user(ada.id).await.unwrap().unwrap();
    assert!(user.admin_locked);
    assert_eq!(user.lockout, locked, "locking leaves smart lockout alone");
    assert!(user.is_locked(OffsetDateTime::now_utc()));

    store
        .set_admin_locked(ada.id, false, &event(events::ADMIN_UNLOCK, "ada"))
        .await
        .unwrap();
    let user = store.get_user(ada.id).await.unwrap().unwrap();
    assert!(!user.admin_locked);
    assert_eq!(
        user.lockout,
        LockoutState::default(),
        "unlocking clears smart lockout"
    );
    assert!(!user.is_locked(OffsetDateTime::now_utc()));

    assert_eq!(
        store
            .set_admin_locked(UserId::new(), true, &event(events::ADMIN_LOCK, "ghost"))
            .await,
        Err(StoreError::NotFound)
    );
    let log = crate::harness::audit_log(&store).await;
    let kinds: Vec<&str> = log.iter().map(|r| r.event.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [events::ADD_USER, events::ADMIN_LOCK, events::ADMIN_UNLOCK]
    );
    assert_eq!(verify_chain(&store).await, Ok(3));
}

async fn story_create_users_is_all_or_nothing(store: SqlStore, _db: Db) {
    let import = event(events::IMPORT_USERS, "users.csv");

    // A duplicate inside the batch (differing only in case): nobody is created.
    let batch = [new_user("x1"), new_user("x2"), new_user("X1")];
    let err = store.create_users(&batch, &import).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict("a user named x1 already exists".into())
    );
    assert!(store.list_users(None, 0, 100).await.unwrap().is_empty());
    assert_eq!(audit_len(&store).await, 0);

    // A clash with an existing user: nobody is created either.
    store
        .create_user(&new_user("x2"), &event(events::ADD_USER, "x2"))
        .await
        .unwrap();
    let batch = [new_user("y1"), new_user("x2")];
    let err = store.create_users(&batch, &import).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict("a user named x2 already exists".into())
    );
    assert_eq!(store.list_users(None, 0, 100).await.unwrap().len(), 1);

    // A clean batch: everybody, with one audit record for the import.
    let batch: Vec<_> = (1..=25)
        .map(|n| new_user(&format!("import{n:02}")))
        .collect();
    store.create_users(&batch, &import).await.unwrap();
    assert_eq!(
        store
            .list_users(Some("import"), 0, 100)
            .await
            .unwrap()
            .len(),
        25
    );
    for user in &batch {
        assert!(store.get_user(user.id).await.unwrap().is_some());
    }
    store.create_users(&[], &import).await.unwrap();
    let log = crate::harness::audit_log(&store).await;
    let kinds: Vec<&str> = log.iter().map(|r| r.event.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [events::ADD_USER, events::IMPORT_USERS, events::IMPORT_USERS]
    );
    assert_eq!(verify_chain(&store).await, Ok(3));
}
