//! What every directory test needs: the servers' settings from the environment, a fresh
//! SQLite store with a directory-sourced user, and the use case over both.

use std::sync::Arc;

use sspr_core::audit::{AuditEvent, AuditRecord, Outcome, events};
use sspr_core::ports::{DirectoryAccounts, Store};
use sspr_core::service::accounts::Accounts;
use sspr_core::{DisplayName, NewUser, User, UserSource, Username};
use sspr_directory::ldap::{DirectoryKind, DirectorySettings, LdapDirectory};
use sspr_directory::{HashParams, HashPool};
use sspr_store::SqlStore;

/// A required environment variable: a missing server is a failure, not a skip.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the directory tests through ./scripts/test.sh, which starts \
             slapd and the Samba AD DC (or start them with scripts/ldap.sh and scripts/samba.sh \
             and export what they print)"
        )
    })
}

pub const LDAP_BASE: &str = "dc=example,dc=org";
pub const LDAP_ADMIN_DN: &str = "cn=pwadmin,ou=system,dc=example,dc=org";
pub const LDAP_ADMIN_PW: &str = "pwadminpw";
pub const LDAP_INITIAL: &str = "InitPass1";

pub const AD_BASE: &str = "DC=samdom,DC=example,DC=com";
pub const AD_ADMIN: &str = "Administrator@samdom.example.com";
pub const AD_ADMIN_PW: &str = "Adm1n!Passw0rd";
pub const AD_INITIAL: &str = "Init!Pass123";

/// slapd over StartTLS (`ldap://`), trusting its self-signed certificate.
pub fn openldap_settings() -> DirectorySettings {
    let mut s = DirectorySettings::for_kind(DirectoryKind::Openldap);
    s.url = env("SSPR_TEST_LDAP_URL");
    s.starttls = true;
    s.ca_file = Some(env("SSPR_TEST_LDAP_CA").into());
    s.bind_dn = LDAP_ADMIN_DN.into();
    s.user_base = format!("ou=people,{LDAP_BASE}");
    s.group_base = format!("ou=groups,{LDAP_BASE}");
    s.operation_timeout_seconds = 5;
    s.connect_timeout_seconds = 3;
    s
}

pub fn openldap() -> LdapDirectory {
    LdapDirectory::new(openldap_settings(), LDAP_ADMIN_PW.into()).expect("valid settings")
}

/// Samba AD over LDAPS, trusting its certificate.
pub fn ad_settings() -> DirectorySettings {
    let mut s = DirectorySettings::for_kind(DirectoryKind::ActiveDirectory);
    s.url = env("SSPR_TEST_AD_URL");
    s.ca_file = Some(env("SSPR_TEST_AD_CA").into());
    s.bind_dn = AD_ADMIN.into();
    s.user_base = format!("CN=Users,{AD_BASE}");
    s.group_base = format!("CN=Users,{AD_BASE}");
    s.operation_timeout_seconds = 10;
    s
}

pub fn ad() -> LdapDirectory {
    LdapDirectory::new(ad_settings(), AD_ADMIN_PW.into()).expect("valid settings")
}

/// A suffix that makes this run's passwords new to the directory's history.
pub fn fresh() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// A fresh SQLite store and a cheap hashing pool.
pub struct World {
    pub store: Arc<SqlStore>,
    pub hasher: HashPool,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sspr.db", dir.path().display());
        let store = SqlStore::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        Self {
            store: Arc::new(store),
            hasher: HashPool::start(HashParams::TEST_ONLY, 1, 16).unwrap(),
            _dir: dir,
        }
    }

    /// A directory-sourced user as sync would create it.
    pub async fn directory_user(&self, username: &str) -> User {
        let mut new = NewUser::cloud(
            Username::parse(username).unwrap(),
            DisplayName::parse(username).unwrap(),
        );
        new.source = UserSource::Directory;
        let audit = AuditEvent::new(events::ADD_USER, Outcome::Success).actor("test");
        self.store.create_user(&new, &audit).await.unwrap()
    }

    pub async fn reload(&self, user: &User) -> User {
        self.store.get_user(user.id).await.unwrap().unwrap()
    }

    pub fn accounts<'a>(&'a self, directory: &'a dyn DirectoryAccounts) -> Accounts<'a> {
        Accounts {
            store: self.store.as_ref(),
            hasher: &self.hasher,
            directory: Some(directory),
            history: 3,
        }
    }

    pub async fn audit(&self) -> Vec<AuditRecord> {
        self.store.audit_page(0, 1000).await.unwrap()
    }

    /// The newest audit record of `event_type`.
    pub async fn last_audit(&self, event_type: &str) -> AuditRecord {
        self.audit()
            .await
            .into_iter()
            .rev()
            .find(|r| r.event.event_type == event_type)
            .unwrap_or_else(|| panic!("no audit record {event_type:?}"))
    }
}

/// The audit event a reset would carry.
pub fn reset_event(target: &str) -> AuditEvent {
    AuditEvent::new(events::ADMIN_RESET_PASSWORD, Outcome::Success)
        .actor("test")
        .target(target)
}

pub fn unlock_event(target: &str) -> AuditEvent {
    AuditEvent::new(events::ADMIN_UNLOCK, Outcome::Success)
        .actor("test")
        .target(target)
}

/// A TCP relay in front of a directory, so a test can take the directory away mid-flow
/// without stopping the server the other tests share: `stop` drops every connection and
/// refuses new ones (as a stopped server does); `hang` keeps connections open but silent (as
/// an overloaded or half-dead server does).
pub struct Relay {
    pub addr: std::net::SocketAddr,
    state: tokio::sync::watch::Sender<RelayState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RelayState {
    Forward,
    Hang,
    Stopped,
}

impl Relay {
    pub async fn start(target: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (state, rx) = tokio::sync::watch::channel(RelayState::Forward);
        tokio::spawn(async move {
            let mut accept_rx = rx.clone();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { return };
                        let target = target.clone();
                        let mut rx = rx.clone();
                        tokio::spawn(async move {
                            let forwarding = *rx.borrow() == RelayState::Forward;
                            if !forwarding {
                                let _stopped = rx.wait_for(|s| *s == RelayState::Stopped).await.is_ok();
                                return;
                            }
                            let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else { return };
                            let mut client = client;
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = async { rx.wait_for(|s| *s != RelayState::Forward).await.is_ok() } => {
                                    // Hang: hold both ends open, say nothing, until stopped.
                                    let _stopped = rx.wait_for(|s| *s == RelayState::Stopped).await.is_ok();
                                }
                            }
                        });
                    }
                    _ = async { accept_rx.wait_for(|s| *s == RelayState::Stopped).await.is_ok() } => return,
                }
            }
        });
        Relay { addr, state }
    }

    pub fn stop(&self) {
        let _ = self.state.send(RelayState::Stopped);
    }

    pub fn hang(&self) {
        let _ = self.state.send(RelayState::Hang);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `ldap://127.0.0.1:PORT` → `127.0.0.1:PORT`.
pub fn host_port(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap()
        .trim_end_matches('/')
        .to_owned()
}

/// Puts an AD account into "must change password at next logon" with a known password, as
/// an administrator would (so the test can run again against the same DC).
pub async fn ad_make_must_change(sam: &str, password: &str) {
    use std::collections::HashSet;
    let settings = ldap3::LdapConnSettings::new().set_config(std::sync::Arc::new(
        sspr_directory::ldap::pool::tls_config(&ad_settings()).unwrap(),
    ));
    let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, &env("SSPR_TEST_AD_URL"))
        .await
        .unwrap();
    tokio::spawn(conn.drive());
    ldap.simple_bind(AD_ADMIN, AD_ADMIN_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    let dn = format!("CN={sam},CN=Users,{AD_BASE}");
    ldap.modify(
        &dn,
        vec![ldap3::Mod::Replace(
            b"unicodePwd".to_vec(),
            HashSet::from([sspr_directory::ldap::unicode_pwd(password)]),
        )],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    ldap.modify(
        &dn,
        vec![ldap3::Mod::Replace(
            b"pwdLastSet".to_vec(),
            HashSet::from([b"0".to_vec()]),
        )],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let _ = ldap.unbind().await;
}

/// An LDAP connection as the rootdn (not sspr), for tests that change the directory itself.
pub async fn ldap_root() -> ldap3::Ldap {
    let settings = ldap3::LdapConnSettings::new();
    let (conn, mut ldap) =
        ldap3::LdapConnAsync::with_settings(settings, &env("SSPR_TEST_LDAP_URL"))
            .await
            .unwrap();
    tokio::spawn(conn.drive());
    ldap.simple_bind("cn=admin,dc=example,dc=org", "admin")
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap
}
