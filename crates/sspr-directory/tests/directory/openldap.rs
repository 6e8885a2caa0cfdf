//! OpenLDAP slapd with ppolicy: reset through sspr, the directory's own refusals, lockout by
//! failed binds and unlock, LDAPS with a private CA, the writeback status.

use sspr_core::audit::{Outcome, events};
use sspr_core::ports::{
    BindOutcome, Check, DirectoryAccounts, DirectoryError, LockState, PasswordRejection,
};
use sspr_core::service::accounts::AccountError;
use sspr_directory::ldap::{LdapDirectory, OpenLdapWriteMode};

use crate::harness::*;

fn rejection(e: AccountError) -> (PasswordRejection, String) {
    match e {
        AccountError::Directory(DirectoryError::Rejected { reason, detail }) => (reason, detail),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn reset_through_sspr_then_the_new_password_binds() {
    let dir = openldap();
    let world = World::new().await;
    let alice = world.directory_user("alice").await;
    let new = format!("Alice{}x", fresh());

    world
        .accounts(&dir)
        .set_password(&alice, &new, &reset_event("alice"))
        .await
        .expect("reset");

    assert_eq!(dir.bind(&alice, &new).await.unwrap(), BindOutcome::Success);
    assert_eq!(
        dir.bind(&alice, LDAP_INITIAL).await.unwrap(),
        BindOutcome::InvalidCredentials
    );
    let record = world.last_audit(events::ADMIN_RESET_PASSWORD).await;
    assert_eq!(record.event.outcome, Outcome::Success);
    // sspr keeps a hash of what it set (its own history), never the password.
    let stored = world.reload(&alice).await;
    assert!(stored.password_hash.is_some());
    assert!(!format!("{:?}", world.audit().await).contains(&new));
}

#[tokio::test]
async fn too_short_is_refused_with_the_directorys_reason() {
    let dir = openldap();
    let world = World::new().await;
    let bob = world.directory_user("bob").await;

    let err = world
        .accounts(&dir)
        .set_password(&bob, "Sh0rt!", &reset_event("bob"))
        .await
        .unwrap_err();
    let (reason, detail) = rejection(err);
    assert_eq!(reason, PasswordRejection::TooShort);
    assert!(detail.contains("quality"), "{detail}");
    let record = world.last_audit(events::ADMIN_RESET_PASSWORD).await;
    assert_eq!(record.event.outcome, Outcome::Failure);
    assert_eq!(record.event.details["code"], "too_short");
    // Unchanged in the directory.
    assert_eq!(
        dir.bind(&bob, LDAP_INITIAL).await.unwrap(),
        BindOutcome::Success
    );
}

#[tokio::test]
async fn a_password_in_the_directorys_history_is_refused_with_its_reason() {
    let dir = openldap();
    let world = World::new().await;
    let dave = world.directory_user("dave").await;
    let accounts = world.accounts(&dir);
    let (first, second) = (format!("First{}a", fresh()), format!("Second{}b", fresh()));

    accounts
        .set_password(&dave, &first, &reset_event("dave"))
        .await
        .unwrap();
    accounts
        .set_password(&dave, &second, &reset_event("dave"))
        .await
        .unwrap();
    // A fresh store: sspr's own history is empty, so this refusal is the directory's.
    let other = World::new().await;
    let dave2 = other.directory_user("dave").await;
    let err = other
        .accounts(&dir)
        .set_password(&dave2, &first, &reset_event("dave"))
        .await
        .unwrap_err();
    let (reason, detail) = rejection(err);
    assert_eq!(reason, PasswordRejection::InHistory);
    assert!(detail.contains("history"), "{detail}");
    assert_eq!(
        dir.bind(&dave, &second).await.unwrap(),
        BindOutcome::Success
    );
}

#[tokio::test]
async fn failed_binds_lock_the_account_and_sspr_unlocks_it() {
    let dir = openldap();
    let world = World::new().await;
    let carol = world.directory_user("carol").await;
    // A clean start when the tests run again against the same server.
    dir.unlock(&carol).await.unwrap();
    assert_eq!(dir.lock_state(&carol).await.unwrap(), LockState::Unlocked);

    for _ in 0..3 {
        assert_eq!(
            dir.bind(&carol, "wrong-password").await.unwrap(),
            BindOutcome::InvalidCredentials
        );
    }
    assert!(dir.lock_state(&carol).await.unwrap().is_locked());
    assert_eq!(
        dir.bind(&carol, LDAP_INITIAL).await.unwrap(),
        BindOutcome::Locked,
        "the right password does not open a locked account"
    );

    world
        .accounts(&dir)
        .unlock(&carol, &unlock_event("carol"))
        .await
        .expect("unlock");
    assert_eq!(dir.lock_state(&carol).await.unwrap(), LockState::Unlocked);
    assert_eq!(
        dir.bind(&carol, LDAP_INITIAL).await.unwrap(),
        BindOutcome::Success
    );
    assert_eq!(
        world.last_audit(events::ADMIN_UNLOCK).await.event.outcome,
        Outcome::Success
    );
}

#[tokio::test]
async fn ldaps_with_a_private_ca_and_a_userpassword_modify() {
    let mut s = openldap_settings();
    s.url = env("SSPR_TEST_LDAPS_URL");
    s.openldap_write_mode = OpenLdapWriteMode::UserPasswordModify;
    let dir = LdapDirectory::new(s, LDAP_ADMIN_PW.into()).unwrap();
    let world = World::new().await;
    let ivan = world.directory_user("ivan").await;

    let found = dir
        .find("ivan@example.org")
        .await
        .unwrap()
        .expect("by mail");
    assert_eq!(found.dn, "uid=ivan,ou=people,dc=example,dc=org");
    assert_eq!(found.mobile.as_deref(), Some("+44 7911 123414"));
    let new = format!("Ivan{}zz", fresh());
    world
        .accounts(&dir)
        .set_password(&ivan, &new, &reset_event("ivan"))
        .await
        .unwrap();
    assert_eq!(dir.bind(&ivan, &new).await.unwrap(), BindOutcome::Success);
    // ppolicy answers the plain modify too.
    let err = world
        .accounts(&dir)
        .set_password(&ivan, "abc", &reset_event("ivan"))
        .await
        .unwrap_err();
    assert_eq!(rejection(err).0, PasswordRejection::TooShort);
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused() {
    let mut s = openldap_settings();
    s.url = env("SSPR_TEST_LDAPS_URL");
    s.ca_file = Some(env("SSPR_TEST_AD_CA").into()); // a valid CA, but not slapd's
    let dir = LdapDirectory::new(s, LDAP_ADMIN_PW.into()).unwrap();
    let err = dir.find("alice").await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let status = dir.status().await;
    assert!(
        matches!(status.reachable, Check::Failed { .. }),
        "{status:?}"
    );
    assert!(!status.healthy());
}

#[tokio::test]
async fn writeback_status_reports_each_step() {
    let mut s = openldap_settings();
    s.status_probe_user = "frank".into();
    let dir = LdapDirectory::new(s.clone(), LDAP_ADMIN_PW.into()).unwrap();
    let status = dir.status().await;
    assert_eq!(
        (&status.reachable, &status.bind, &status.write),
        (&Check::Ok, &Check::Ok, &Check::Ok),
        "{status:?}"
    );

    let wrong = LdapDirectory::new(s.clone(), "not-the-password".into()).unwrap();
    let status = wrong.status().await;
    assert_eq!(status.reachable, Check::Ok);
    match &status.bind {
        Check::Failed { error } => assert!(error.contains("cannot bind"), "{error}"),
        other => panic!("{other:?}"),
    }

    // The rootdn-less anonymous-ish account that may read but not write: Frank himself.
    let mut as_frank = s;
    as_frank.bind_dn = "uid=frank,ou=people,dc=example,dc=org".into();
    as_frank.status_probe_user = "alice".into();
    let frank = LdapDirectory::new(as_frank, LDAP_INITIAL.into()).unwrap();
    let status = frank.status().await;
    assert_eq!(status.bind, Check::Ok);
    assert!(
        matches!(&status.write, Check::Failed { .. }),
        "frank may not write another's lock: {status:?}"
    );
}
