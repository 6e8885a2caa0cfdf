//! A user ID is data, never filter or DN syntax: RFC 4515 metacharacters and DN special
//! characters find nothing and change nothing.

use sspr_core::ports::{BindOutcome, DirectoryAccounts, DirectoryError};
use sspr_core::service::accounts::AccountError;
use sspr_core::{User, Username};

use crate::harness::*;

const HOSTILE: &[&str] = &[
    "*)(uid=*))(|(uid=*",
    "*",
    "alice)(uid=*",
    "*)(|(objectClass=*",
    "alice\0",
    "alice\\2a",
    "uid=alice,ou=people,dc=example,dc=org",
    "alice,ou=people",
    "cn=pwadmin,ou=system,dc=example,dc=org",
    "alice+cn=x",
    "#alice",
    "alice\"",
    "alice;<>",
];

#[tokio::test]
async fn hostile_user_ids_find_nothing_in_openldap() {
    let dir = openldap();
    for id in HOSTILE {
        assert_eq!(dir.find(id).await.unwrap(), None, "{id:?}");
    }
    // The honest lookups still work.
    assert!(dir.find("alice").await.unwrap().is_some());
    assert!(dir.find("ALICE").await.unwrap().is_some());
}

#[tokio::test]
async fn hostile_user_ids_find_nothing_in_active_directory() {
    let dir = ad();
    for id in HOSTILE
        .iter()
        .chain(&["*)(sAMAccountName=*))(|(sAMAccountName=*", "alice@*"])
    {
        assert_eq!(dir.find(id).await.unwrap(), None, "{id:?}");
    }
    assert!(dir.find("alice").await.unwrap().is_some());
}

/// (Leading and trailing spaces are not in the list: LDAP matching ignores them by the
/// schema's rules, so " alice" is alice.)
///
/// Usernames sspr accepts may still hold DN-special characters (`+`, `#`, `'`): writing for
/// such a user touches no other account.
#[tokio::test]
async fn a_write_for_a_hostile_username_changes_nothing() {
    let dir = openldap();
    let world = World::new().await;
    let erin = world.directory_user("erin").await;
    let before = dir.bind(&erin, LDAP_INITIAL).await.unwrap();
    for name in ["erin+pwadmin", "#erin", "erin'"] {
        let _ = Username::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for name in ["erin+pwadmin", "#erin", "erin'"] {
        let user: User = world.directory_user(name).await;
        let err = world
            .accounts(&dir)
            .set_password(&user, "Hijack!1234", &reset_event(name))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AccountError::Directory(DirectoryError::NotFound)),
            "{name}: {err:?}"
        );
        assert_eq!(
            dir.bind(&user, "Hijack!1234").await.unwrap(),
            BindOutcome::InvalidCredentials
        );
    }
    // Erin's password is what it was.
    assert_eq!(dir.bind(&erin, LDAP_INITIAL).await.unwrap(), before);
}
