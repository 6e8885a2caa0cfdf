//! The directory goes away in the middle of a reset: a clear, retryable error, no success,
//! nothing half-written, and an audit record of the failed attempt.

use sspr_core::audit::{Outcome, events};
use sspr_core::ports::{BindOutcome, DirectoryAccounts, DirectoryError};
use sspr_core::service::accounts::AccountError;
use sspr_directory::ldap::LdapDirectory;

use crate::harness::*;

async fn through_relay(relay: &Relay) -> LdapDirectory {
    let mut s = openldap_settings();
    s.url = format!("ldap://{}", relay.addr);
    s.operation_timeout_seconds = 2;
    s.connect_timeout_seconds = 2;
    LdapDirectory::new(s, LDAP_ADMIN_PW.into()).unwrap()
}

fn assert_unavailable(err: AccountError) -> String {
    match err {
        AccountError::Directory(e @ DirectoryError::Unavailable(_)) => {
            assert!(e.is_retryable());
            e.to_string()
        }
        other => panic!("expected a retryable outage, got {other:?}"),
    }
}

#[tokio::test]
async fn the_directory_stops_mid_flow() {
    let relay = Relay::start(host_port(&env("SSPR_TEST_LDAP_URL"))).await;
    let dir = through_relay(&relay).await;
    let direct = openldap();
    let world = World::new().await;
    let judy = world.directory_user("judy").await;
    // The flow has started: the account was found through the (pooled) connection.
    assert!(dir.find("judy").await.unwrap().is_some());

    relay.stop();
    let err = world
        .accounts(&dir)
        .set_password(&judy, "Never!Written1", &reset_event("judy"))
        .await
        .unwrap_err();
    let message = assert_unavailable(err);
    assert!(message.contains("unavailable"), "{message}");

    // Nothing was written: not in the directory, not in sspr.
    assert_eq!(
        direct.bind(&judy, LDAP_INITIAL).await.unwrap(),
        BindOutcome::Success
    );
    assert!(world.reload(&judy).await.password_hash.is_none());
    let record = world.last_audit(events::ADMIN_RESET_PASSWORD).await;
    assert_eq!(record.event.outcome, Outcome::Failure);
    assert_eq!(record.event.details["code"], "directory_unavailable");
    assert_eq!(record.event.details["retryable"], true);
    // The status page says so too.
    assert!(!dir.status().await.healthy());
}

#[tokio::test]
async fn a_directory_that_stops_answering_times_out() {
    let relay = Relay::start(host_port(&env("SSPR_TEST_LDAP_URL"))).await;
    let dir = through_relay(&relay).await;
    let world = World::new().await;
    let judy = world.directory_user("judy").await;
    assert!(dir.find("judy").await.unwrap().is_some());

    relay.hang();
    let err = world
        .accounts(&dir)
        .unlock(&judy, &unlock_event("judy"))
        .await
        .unwrap_err();
    assert_unavailable(err);
    let record = world.last_audit(events::ADMIN_UNLOCK).await;
    assert_eq!(record.event.outcome, Outcome::Failure);
    assert_eq!(record.event.details["retryable"], true);
    // A bind (sign-in) in the outage is an error, not "wrong password".
    assert!(
        dir.bind(&judy, LDAP_INITIAL)
            .await
            .unwrap_err()
            .is_retryable()
    );
}
