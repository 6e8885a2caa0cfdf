//! Directory sync's store side: links by external id, batched upserts that skip unchanged
//! entries, username conflicts with cloud users, disabling, groups with nested members, and
//! the watermark — the same on both databases.

use sspr_core::audit::events;
use sspr_core::ports::{DirectorySyncStore, Member, Store, SyncedGroup, SyncedUser};
use sspr_core::{DisplayName, EmailAddress, GroupName, UserSource, Username};
use sspr_store::SqlStore;

use crate::harness::{Db, audit_len, event, new_user, verify_chain};

conformance!(story_directory_sync);

fn synced(n: u32, name: &str) -> SyncedUser {
    SyncedUser {
        external_id: format!("00000000-0000-0000-0000-{n:012}"),
        dn: format!("uid={name},ou=People,dc=example,dc=org"),
        username: Username::parse(name).unwrap(),
        display_name: DisplayName::parse(&format!("{name} example")).unwrap(),
        first_name: None,
        last_name: None,
        email: Some(EmailAddress::parse(&format!("{name}@example.org")).unwrap()),
        mobile_phone: None,
        office_phone: None,
        enabled: true,
        digest: format!("digest of {name}"),
    }
}

async fn story_directory_sync(store: SqlStore, _db: Db) {
    let audit = event(events::DIRECTORY_SYNC, "directory");
    store
        .create_user(&new_user("carol"), &event(events::ADD_USER, "carol"))
        .await
        .unwrap();
    let users: Vec<_> = ["alice", "bob", "carol"]
        .iter()
        .enumerate()
        .map(|(i, n)| synced(i as u32, n))
        .collect();
    let before = audit_len(&store).await;
    let counts = store.upsert_directory_users(&users, &audit).await.unwrap();
    assert_eq!(
        (counts.created, counts.updated, counts.conflicts),
        (2, 0, 1)
    );
    assert_eq!(audit_len(&store).await, before + 1, "one record per batch");
    let alice = store
        .find_user(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.source, UserSource::Directory);
    let carol = store
        .find_user(&Username::parse("carol").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        carol.source,
        UserSource::Cloud,
        "a cloud user is not taken over"
    );

    // Unchanged: no write, no record. Changed: one update.
    let counts = store.upsert_directory_users(&users, &audit).await.unwrap();
    assert_eq!((counts.created, counts.updated), (0, 0));
    let mut renamed = users[0].clone();
    renamed.username = Username::parse("alice2").unwrap();
    renamed.enabled = false;
    renamed.digest = "changed".into();
    let counts = store
        .upsert_directory_users(std::slice::from_ref(&renamed), &audit)
        .await
        .unwrap();
    assert_eq!(counts.updated, 1);
    let alice2 = store.get_user(alice.id).await.unwrap().unwrap();
    assert_eq!(alice2.username.as_str(), "alice2");
    assert!(!alice2.enabled);

    let links = store.directory_links().await.unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[&renamed.external_id].digest, renamed.digest);
    assert_eq!(links[&renamed.external_id].user_id, alice.id);
    assert_eq!(
        links[&renamed.external_id].dn,
        "uid=alice,ou=people,dc=example,dc=org"
    );

    // Gone from the directory: disabled, and enabled again when it comes back.
    let bob_id = users[1].external_id.clone();
    assert_eq!(
        store
            .disable_directory_users(std::slice::from_ref(&bob_id), &audit)
            .await
            .unwrap(),
        1
    );
    let bob = store
        .find_user(&Username::parse("bob").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!bob.enabled);
    let counts = store
        .upsert_directory_users(&users[1..2], &audit)
        .await
        .unwrap();
    assert_eq!(counts.updated, 1);
    assert!(store.get_user(bob.id).await.unwrap().unwrap().enabled);

    // Groups: staff ⊃ {alice, devs ⊃ {bob}}; unknown DNs ignored; a cloud group kept.
    let groups = vec![
        SyncedGroup {
            external_id: "g1".into(),
            dn: "cn=staff,ou=groups,dc=example,dc=org".into(),
            name: GroupName::parse("staff").unwrap(),
            member_dns: vec![
                "UID=alice,ou=people,dc=example,dc=org".into(),
                "cn=devs,ou=groups,dc=example,dc=org".into(),
                "uid=nobody,ou=people,dc=example,dc=org".into(),
            ],
        },
        SyncedGroup {
            external_id: "g2".into(),
            dn: "cn=devs,ou=groups,dc=example,dc=org".into(),
            name: GroupName::parse("devs").unwrap(),
            member_dns: vec!["uid=bob,ou=people,dc=example,dc=org".into()],
        },
    ];
    assert_eq!(
        store.sync_directory_groups(&groups, &audit).await.unwrap(),
        2
    );
    assert_eq!(
        store.sync_directory_groups(&groups, &audit).await.unwrap(),
        2
    );
    let staff = store
        .find_group(&GroupName::parse("staff").unwrap())
        .await
        .unwrap()
        .unwrap();
    let devs = store
        .find_group(&GroupName::parse("devs").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut members = store.members(staff.id).await.unwrap();
    members.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(members.contains(&Member::User(alice.id)));
    assert!(members.contains(&Member::Group(devs.id)));
    assert_eq!(
        store.members(devs.id).await.unwrap(),
        vec![Member::User(bob.id)]
    );

    assert_eq!(store.directory_sync_mark().await.unwrap(), None);
    store
        .set_directory_sync_mark("20261126010000Z", &audit)
        .await
        .unwrap();
    assert_eq!(
        store.directory_sync_mark().await.unwrap().as_deref(),
        Some("20261126010000Z")
    );
    verify_chain(&store).await.unwrap();
}
