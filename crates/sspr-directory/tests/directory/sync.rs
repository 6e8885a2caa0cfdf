//! Sync: users, groups, nested membership and contact attributes into sspr; incremental;
//! users removed or disabled in the directory lose SSPR.

use std::collections::HashSet;

use sspr_core::ports::{DirectorySyncStore, Member, Store};
use sspr_core::{GroupName, UserSource, Username};
use sspr_directory::ldap::SyncMode;

use crate::harness::*;

async fn user(world: &World, name: &str) -> Option<sspr_core::User> {
    world
        .store
        .find_user(&Username::parse(name).unwrap())
        .await
        .unwrap()
}

async fn members(world: &World, group: &str) -> Vec<Member> {
    let g = world
        .store
        .find_group(&GroupName::parse(group).unwrap())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("group {group} synced"));
    world.store.members(g.id).await.unwrap()
}

#[tokio::test]
async fn openldap_users_groups_and_contacts_are_synced_then_removed_and_disabled_users_lose_sspr() {
    let dir = openldap();
    let world = World::new().await;
    let store: &dyn DirectorySyncStore = world.store.as_ref();
    let mut root = ldap_root().await;
    let (temp, locked) = (format!("temp{}", fresh()), format!("lock{}", fresh()));
    for uid in [&temp, &locked] {
        root.add(
            &format!("uid={uid},ou=people,dc=example,dc=org"),
            vec![
                ("objectClass", HashSet::from(["inetOrgPerson"])),
                ("uid", HashSet::from([uid.as_str()])),
                ("cn", HashSet::from(["Temp User"])),
                ("sn", HashSet::from(["User"])),
                ("mobile", HashSet::from(["07700 900000"])), // no +: dropped, not fatal
            ],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    }

    let progress = |_: u64| {};
    let report = dir
        .sync(store, SyncMode::Full, "test", &progress)
        .await
        .unwrap();
    assert_eq!(report.mode, Some(SyncMode::Full));
    assert!(report.read >= 12, "{report:?}");
    assert_eq!(report.created, report.read, "{report:?}");
    assert_eq!(report.groups, 2);
    assert!(report.invalid_contacts >= 2);
    let alice = user(&world, "alice").await.expect("alice synced");
    assert_eq!(alice.source, UserSource::Directory);
    assert!(alice.enabled);
    assert_eq!(alice.email.as_ref().unwrap().as_str(), "alice@example.org");
    assert_eq!(
        alice.mobile_phone.as_ref().unwrap().as_str(),
        "+447911123415"
    );
    assert_eq!(
        alice.office_phone.as_ref().unwrap().as_str(),
        "+442071234515"
    );
    assert_eq!(alice.display_name.as_str(), "Alice Example");
    // staff ⊃ {alice, devs ⊃ {bob}}: nesting kept as a group member.
    let bob = user(&world, "bob").await.unwrap();
    let devs = world
        .store
        .find_group(&GroupName::parse("devs").unwrap())
        .await
        .unwrap()
        .unwrap();
    let staff = members(&world, "staff").await;
    assert!(staff.contains(&Member::User(alice.id)), "{staff:?}");
    assert!(staff.contains(&Member::Group(devs.id)), "{staff:?}");
    assert_eq!(members(&world, "devs").await, vec![Member::User(bob.id)]);

    // Nothing changed: an incremental sync writes nothing.
    let again = dir
        .sync(store, SyncMode::Incremental, "test", &progress)
        .await
        .unwrap();
    assert_eq!(again.mode, Some(SyncMode::Incremental));
    assert_eq!((again.created, again.updated), (0, 0), "{again:?}");
    assert!(
        again.read < report.read,
        "only changed entries are read: {again:?}"
    );

    // One user deleted, one locked by the administrator (ppolicy's disable).
    root.delete(&format!("uid={temp},ou=people,dc=example,dc=org"))
        .await
        .unwrap()
        .success()
        .unwrap();
    root.modify(
        &format!("uid={locked},ou=people,dc=example,dc=org"),
        vec![ldap3::Mod::Replace(
            "pwdAccountLockedTime",
            HashSet::from(["000001010000Z"]),
        )],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let incremental = dir
        .sync(store, SyncMode::Incremental, "test", &progress)
        .await
        .unwrap();
    assert_eq!(incremental.updated, 1, "the locked one: {incremental:?}");
    assert!(!user(&world, &locked).await.unwrap().enabled);
    assert!(
        user(&world, &temp).await.unwrap().enabled,
        "incremental cannot see deletions"
    );
    let full = dir
        .sync(store, SyncMode::Full, "test", &progress)
        .await
        .unwrap();
    assert_eq!(full.removed, 1, "{full:?}");
    assert!(!user(&world, &temp).await.unwrap().enabled);
    root.delete(&format!("uid={locked},ou=people,dc=example,dc=org"))
        .await
        .unwrap();

    let audit = world.audit().await;
    assert!(
        audit
            .iter()
            .any(|r| r.event.event_type == "Directory synchronization")
    );
}

#[tokio::test]
async fn a_cloud_user_with_the_same_name_is_not_taken_over() {
    let dir = openldap();
    let world = World::new().await;
    let audit = sspr_core::audit::AuditEvent::new(
        sspr_core::audit::events::ADD_USER,
        sspr_core::audit::Outcome::Success,
    );
    let cloud = sspr_core::NewUser::cloud(
        Username::parse("carol").unwrap(),
        sspr_core::DisplayName::parse("Cloud Carol").unwrap(),
    );
    world.store.create_user(&cloud, &audit).await.unwrap();
    let report = dir
        .sync(world.store.as_ref(), SyncMode::Full, "test", &|_| {})
        .await
        .unwrap();
    assert_eq!(report.conflicts, 1);
    let carol = user(&world, "carol").await.unwrap();
    assert_eq!(carol.source, UserSource::Cloud);
    assert_eq!(carol.display_name.as_str(), "Cloud Carol");
}

#[tokio::test]
async fn active_directory_users_groups_and_disabled_accounts_are_synced() {
    let dir = ad();
    let world = World::new().await;
    let report = dir
        .sync(world.store.as_ref(), SyncMode::Full, "test", &|_| {})
        .await
        .unwrap();
    assert!(report.created >= 8, "{report:?}");
    let alice = user(&world, "alice").await.unwrap();
    assert_eq!(
        alice.email.as_ref().unwrap().as_str(),
        "alice@samdom.example.com"
    );
    assert!(
        !user(&world, "gina").await.unwrap().enabled,
        "disabled in AD"
    );
    let bob = user(&world, "bob").await.unwrap();
    let devs = world
        .store
        .find_group(&GroupName::parse("devs").unwrap())
        .await
        .unwrap()
        .unwrap();
    let staff = members(&world, "staff").await;
    assert!(staff.contains(&Member::User(alice.id)) && staff.contains(&Member::Group(devs.id)));
    assert_eq!(members(&world, "devs").await, vec![Member::User(bob.id)]);
    let again = dir
        .sync(world.store.as_ref(), SyncMode::Incremental, "test", &|_| {})
        .await
        .unwrap();
    assert_eq!(
        (again.mode, again.created, again.updated),
        (Some(SyncMode::Incremental), 0, 0),
        "{again:?}"
    );
}
