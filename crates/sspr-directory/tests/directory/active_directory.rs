//! Samba AD DC: reset with unicodePwd and the policy hints control, the directory's
//! complexity and length refusals, sspr's own history (Samba ignores history on a reset),
//! lockout (775) and unlock, disabled (533) and must-change (773) accounts.

use sspr_core::audit::{Outcome, events};
use sspr_core::ports::{
    BindOutcome, Check, DirectoryAccounts, DirectoryError, LockState, PasswordRejection,
};
use sspr_core::service::accounts::AccountError;
use sspr_directory::ldap::{LdapDirectory, PasswordWrite, unicode_pwd};

use crate::harness::*;

fn rejection(e: AccountError) -> (PasswordRejection, String) {
    match e {
        AccountError::Directory(DirectoryError::Rejected { reason, detail }) => (reason, detail),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn reset_with_unicode_pwd_and_the_old_password_no_longer_binds() {
    let dir = ad();
    let world = World::new().await;
    let alice = world.directory_user("alice").await;
    let new = format!("New!Pass{}", fresh());

    world
        .accounts(&dir)
        .set_password(&alice, &new, &reset_event("alice"))
        .await
        .expect("reset");

    assert_eq!(dir.bind(&alice, &new).await.unwrap(), BindOutcome::Success);
    // `old password allowed period = 0` (scripts/samba.sh): the old one is refused at once.
    assert_eq!(
        dir.bind(&alice, AD_INITIAL).await.unwrap(),
        BindOutcome::InvalidCredentials
    );
    assert_eq!(
        world
            .last_audit(events::ADMIN_RESET_PASSWORD)
            .await
            .event
            .outcome,
        Outcome::Success
    );
}

#[test]
fn the_reset_carries_the_policy_hints_control() {
    // The request sspr builds (no server needed, but the settings are the real ones).
    let dir = LdapDirectory::new(
        {
            let mut s = sspr_directory::ldap::DirectorySettings::for_kind(
                sspr_directory::ldap::DirectoryKind::ActiveDirectory,
            );
            s.url = "ldaps://dc1.example.com".into();
            s.bind_dn = "svc-sspr@example.com".into();
            s.user_base = "DC=example,DC=com".into();
            s
        },
        "x".into(),
    )
    .unwrap();
    let write = dir.password_write("CN=alice,CN=Users,DC=example,DC=com", "N3w!pass");
    let hints: Vec<_> = write
        .controls()
        .iter()
        .filter(|c| c.ctype == "1.2.840.113556.1.4.2239")
        .collect();
    assert_eq!(hints.len(), 1, "{write:?}");
    assert_eq!(
        hints[0].val.as_deref(),
        Some(&[0x30, 0x03, 0x02, 0x01, 0x01][..])
    );
    match write {
        PasswordWrite::Modify { dn, mods, .. } => {
            assert_eq!(dn, "CN=alice,CN=Users,DC=example,DC=com");
            assert_eq!(mods.len(), 1);
            match &mods[0] {
                ldap3::Mod::Replace(attr, values) => {
                    assert_eq!(attr, b"unicodePwd");
                    assert!(values.contains(&unicode_pwd("N3w!pass")));
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    // "\"ab\"" in UTF-16LE.
    assert_eq!(unicode_pwd("ab"), b"\"\0a\0b\0\"\0");
}

#[tokio::test]
async fn complexity_and_length_are_refused_with_the_directorys_reason() {
    let dir = ad();
    let world = World::new().await;
    let bob = world.directory_user("bob").await;
    let accounts = world.accounts(&dir);

    let (reason, detail) = rejection(
        accounts
            .set_password(&bob, "alllowercase", &reset_event("bob"))
            .await
            .unwrap_err(),
    );
    assert_eq!(reason, PasswordRejection::Complexity);
    assert!(detail.contains("0000052D"), "{detail}");

    let (reason, detail) = rejection(
        accounts
            .set_password(&bob, "Ab1!x", &reset_event("bob"))
            .await
            .unwrap_err(),
    );
    assert_eq!(reason, PasswordRejection::TooShort);
    assert!(detail.contains("too short"), "{detail}");
    assert_eq!(
        dir.bind(&bob, AD_INITIAL).await.unwrap(),
        BindOutcome::Success
    );
    let failures = world
        .audit()
        .await
        .into_iter()
        .filter(|r| r.event.outcome == Outcome::Failure)
        .count();
    assert_eq!(failures, 2);
}

#[tokio::test]
async fn reusing_a_password_sspr_set_is_refused_by_sspr_history() {
    let dir = ad();
    let world = World::new().await;
    let carol = world.directory_user("carol").await;
    let accounts = world.accounts(&dir);
    let (first, second) = (
        format!("First!{}a", fresh()),
        format!("Second!{}b", fresh()),
    );

    accounts
        .set_password(&carol, &first, &reset_event("carol"))
        .await
        .unwrap();
    let carol = world.reload(&carol).await;
    accounts
        .set_password(&carol, &second, &reset_event("carol"))
        .await
        .unwrap();
    let carol = world.reload(&carol).await;

    let (reason, detail) = rejection(
        accounts
            .set_password(&carol, &first, &reset_event("carol"))
            .await
            .unwrap_err(),
    );
    assert_eq!(reason, PasswordRejection::InHistory);
    assert!(detail.contains("sspr"), "{detail}");
    // Refused before writing: the directory still has the second password.
    assert_eq!(
        dir.bind(&carol, &second).await.unwrap(),
        BindOutcome::Success
    );
    assert_eq!(
        dir.bind(&carol, &first).await.unwrap(),
        BindOutcome::InvalidCredentials
    );
    // The current one is refused too.
    assert!(
        accounts
            .set_password(&carol, &second, &reset_event("carol"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_locked_account_775_is_unlocked_through_sspr() {
    let dir = ad();
    let world = World::new().await;
    let dave = world.directory_user("dave").await;

    // A clean start when the tests run again against the same DC.
    dir.unlock(&dave).await.unwrap();
    assert_eq!(
        dir.bind(&dave, "Wrong!Pass1").await.unwrap(),
        BindOutcome::InvalidCredentials
    );
    for _ in 0..2 {
        // Samba answers 52e or, once the threshold is reached, 775.
        let outcome = dir.bind(&dave, "Wrong!Pass1").await.unwrap();
        assert!(
            matches!(
                outcome,
                BindOutcome::InvalidCredentials | BindOutcome::Locked
            ),
            "{outcome:?}"
        );
    }
    assert!(dir.lock_state(&dave).await.unwrap().is_locked());
    assert_eq!(
        dir.bind(&dave, AD_INITIAL).await.unwrap(),
        BindOutcome::Locked
    );

    world
        .accounts(&dir)
        .unlock(&dave, &unlock_event("dave"))
        .await
        .expect("unlock");
    assert_eq!(dir.lock_state(&dave).await.unwrap(), LockState::Unlocked);
    assert_eq!(
        dir.bind(&dave, AD_INITIAL).await.unwrap(),
        BindOutcome::Success
    );
}

#[tokio::test]
async fn a_disabled_account_533_is_neither_signed_in_nor_reset() {
    let dir = ad();
    let world = World::new().await;
    let gina = world.directory_user("gina").await;

    assert_eq!(
        dir.bind(&gina, AD_INITIAL).await.unwrap(),
        BindOutcome::Disabled
    );
    let err = world
        .accounts(&dir)
        .set_password(&gina, "Valid!Pass99", &reset_event("gina"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AccountError::Directory(DirectoryError::Disabled)),
        "{err:?}"
    );
    assert!(!dir.find("gina").await.unwrap().unwrap().enabled);
}

#[tokio::test]
async fn a_must_change_account_773_can_reset_and_then_sign_in() {
    let dir = ad();
    let world = World::new().await;
    let hank = world.directory_user("hank").await;
    // scripts/samba.sh leaves hank so; set it again for a second run against the same DC.
    ad_make_must_change("hank", AD_INITIAL).await;

    assert_eq!(
        dir.bind(&hank, AD_INITIAL).await.unwrap(),
        BindOutcome::MustChange
    );
    assert_eq!(
        dir.bind(&hank, "Wrong!Pass1").await.unwrap(),
        BindOutcome::InvalidCredentials,
        "773 is only said for the right password"
    );
    let new = format!("Hank!{}q", fresh());
    world
        .accounts(&dir)
        .set_password(&hank, &new, &reset_event("hank"))
        .await
        .unwrap();
    assert_eq!(dir.bind(&hank, &new).await.unwrap(), BindOutcome::Success);
}

#[tokio::test]
async fn lookup_by_upn_and_writeback_status() {
    let mut s = ad_settings();
    s.status_probe_user = "frank".into();
    let dir = LdapDirectory::new(s, AD_ADMIN_PW.into()).unwrap();
    let by_upn = dir
        .find("frank@samdom.example.com")
        .await
        .unwrap()
        .expect("UPN");
    assert_eq!(by_upn.username, "frank");
    assert_eq!(by_upn.email.as_deref(), Some("frank@samdom.example.com"));
    assert_eq!(by_upn.id.len(), 36, "objectGUID as text: {}", by_upn.id);
    let status = dir.status().await;
    assert_eq!(
        (&status.reachable, &status.bind, &status.write),
        (&Check::Ok, &Check::Ok, &Check::Ok),
        "{status:?}"
    );
}

#[tokio::test]
async fn starttls_with_a_private_ca_works() {
    let mut s = ad_settings();
    s.url = env("SSPR_TEST_AD_STARTTLS_URL");
    let dir = LdapDirectory::new(s, AD_ADMIN_PW.into()).unwrap();
    assert!(dir.find("erin").await.unwrap().is_some());
}
