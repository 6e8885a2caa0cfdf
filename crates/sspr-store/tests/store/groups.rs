//! Groups, nested membership and their error cases.

use std::collections::HashMap;

use sspr_core::audit::events;
use sspr_core::ports::{Member, Store, StoreError};
use sspr_core::{GroupId, GroupName, NewGroup, UserId};
use sspr_store::SqlStore;

use crate::harness::{Db, audit_len, event, new_user, verify_chain};

conformance!(story_groups_and_nested_membership);

fn new_group(name: &str) -> NewGroup {
    NewGroup {
        id: GroupId::new(),
        name: GroupName::parse(name).unwrap(),
        description: format!("The {name} group"),
    }
}

async fn story_groups_and_nested_membership(store: SqlStore, _db: Db) {
    let staff = new_group("Staff");
    let admins = new_group("Admins");
    let ops = new_group("Ops Team");
    for group in [&staff, &admins, &ops] {
        let created = store
            .create_group(group, &event(events::ADD_GROUP, group.name.as_str()))
            .await
            .unwrap();
        assert_eq!(created.id, group.id);
        assert_eq!(created.name, group.name);
        assert_eq!(created.description, group.description);
        let got = store.get_group(group.id).await.unwrap().expect("get_group");
        assert_eq!(got, created);
    }

    // Names are unique case-insensitively; lookups ignore case.
    let err = store
        .create_group(&new_group("STAFF"), &event(events::ADD_GROUP, "STAFF"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict("a group named STAFF already exists".into())
    );
    let found = store
        .find_group(&GroupName::parse("ops team").unwrap())
        .await
        .unwrap()
        .expect("find_group");
    assert_eq!(found.id, ops.id);
    assert_eq!(found.name.as_str(), "Ops Team");
    assert!(
        store
            .find_group(&GroupName::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_group(GroupId::new()).await.unwrap().is_none());
    let listed: Vec<String> = store
        .list_groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name.as_str().to_owned())
        .collect();
    assert_eq!(listed, ["Admins", "Ops Team", "Staff"]);

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
    let add = event(events::ADD_MEMBER, "group");

    store
        .add_member(staff.id, Member::User(ada.id), &add)
        .await
        .unwrap();
    store
        .add_member(staff.id, Member::Group(admins.id), &add)
        .await
        .unwrap();
    store
        .add_member(admins.id, Member::User(bob.id), &add)
        .await
        .unwrap();
    store
        .add_member(admins.id, Member::Group(ops.id), &add)
        .await
        .unwrap();
    store
        .add_member(ops.id, Member::User(ada.id), &add)
        .await
        .unwrap();
    // A cycle through other groups is allowed (the core tolerates it).
    store
        .add_member(ops.id, Member::Group(staff.id), &add)
        .await
        .unwrap();
    let recorded = audit_len(&store).await;

    // Error cases, none of which records anything.
    assert_eq!(
        store.add_member(staff.id, Member::User(ada.id), &add).await,
        Err(StoreError::Conflict(
            "already a member of this group".into()
        ))
    );
    assert_eq!(
        store
            .add_member(staff.id, Member::Group(admins.id), &add)
            .await,
        Err(StoreError::Conflict(
            "already a member of this group".into()
        ))
    );
    assert_eq!(
        store
            .add_member(staff.id, Member::Group(staff.id), &add)
            .await,
        Err(StoreError::Conflict("a group cannot contain itself".into()))
    );
    assert_eq!(
        store
            .add_member(GroupId::new(), Member::User(ada.id), &add)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .add_member(staff.id, Member::User(UserId::new()), &add)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .add_member(staff.id, Member::Group(GroupId::new()), &add)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(audit_len(&store).await, recorded);

    // Direct members: users first, then groups.
    assert_eq!(
        store.members(staff.id).await.unwrap(),
        [Member::User(ada.id), Member::Group(admins.id)]
    );
    assert_eq!(
        store.members(admins.id).await.unwrap(),
        [Member::User(bob.id), Member::Group(ops.id)]
    );
    assert!(store.members(GroupId::new()).await.unwrap().is_empty());
    let mut ada_groups = store.groups_of_user(ada.id).await.unwrap();
    ada_groups.sort();
    let mut expected = vec![staff.id, ops.id];
    expected.sort();
    assert_eq!(ada_groups, expected);
    assert_eq!(store.groups_of_user(bob.id).await.unwrap(), [admins.id]);

    let parents = store.group_parents().await.unwrap();
    let expected: HashMap<GroupId, Vec<GroupId>> = [
        (admins.id, vec![staff.id]),
        (ops.id, vec![admins.id]),
        (staff.id, vec![ops.id]),
    ]
    .into();
    assert_eq!(parents, expected);

    // Removing.
    let remove = event(events::REMOVE_MEMBER, "group");
    assert!(
        store
            .remove_member(staff.id, Member::User(ada.id), &remove)
            .await
            .unwrap()
    );
    assert!(
        store
            .remove_member(ops.id, Member::Group(staff.id), &remove)
            .await
            .unwrap()
    );
    let recorded = audit_len(&store).await;
    assert!(
        !store
            .remove_member(staff.id, Member::User(ada.id), &remove)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_member(staff.id, Member::User(bob.id), &remove)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_member(ops.id, Member::Group(staff.id), &remove)
            .await
            .unwrap()
    );
    assert_eq!(
        audit_len(&store).await,
        recorded,
        "nothing removed, nothing recorded"
    );
    assert_eq!(
        store.members(staff.id).await.unwrap(),
        [Member::Group(admins.id)]
    );
    assert_eq!(store.groups_of_user(ada.id).await.unwrap(), [ops.id]);
    assert!(!store.group_parents().await.unwrap().contains_key(&staff.id));

    // 3 groups + 2 users + 6 memberships + 2 removals.
    assert_eq!(verify_chain(&store).await, Ok(13));
}
