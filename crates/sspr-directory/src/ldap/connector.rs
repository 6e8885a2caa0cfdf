//! The LDAP / Active Directory connector: the [`DirectoryAccounts`] port over a real
//! directory.
//!
//! Every operation is bounded by the operation timeout; a connection that failed or timed out
//! is not reused. A write that times out has an unknown outcome and is reported as a
//! retryable failure, never as a success.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use ldap3::controls::RawControl;
use ldap3::exop::PasswordModify;
use ldap3::{LdapError, Mod, Scope, SearchEntry, SearchOptions, SearchResult};
use sspr_core::User;
use sspr_core::ports::{
    BindOutcome, Check, DirectoryAccounts, DirectoryError, LockState, WritebackStatus,
};

use super::controls::{policy_hints, ppolicy_request};
use super::entry::{DirectoryEntry, login_filter, user_attributes, username_filter};
use super::errors::{bind_outcome, transport, unavailable, write_result};
use super::pool::{Conn, Pool, Secret};
use super::settings::{DirectoryKind, DirectorySettings, OpenLdapWriteMode};

/// A password write as sspr sends it: the modifications and the request controls. Built by
/// [`LdapDirectory::password_write`] so that tests can see exactly what goes on the wire.
#[derive(Debug, Clone)]
pub enum PasswordWrite {
    /// RFC 3062 Password Modify for `dn`, with these controls.
    PasswordModify {
        dn: String,
        controls: Vec<RawControl>,
    },
    /// A modify of `dn` with these controls.
    Modify {
        dn: String,
        mods: Vec<Mod<Vec<u8>>>,
        controls: Vec<RawControl>,
    },
}

impl PasswordWrite {
    pub fn controls(&self) -> &[RawControl] {
        match self {
            PasswordWrite::PasswordModify { controls, .. }
            | PasswordWrite::Modify { controls, .. } => controls,
        }
    }
}

/// AD's `unicodePwd` value: the password in double quotes, UTF-16LE.
pub fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

pub struct LdapDirectory {
    pool: Pool,
}

impl LdapDirectory {
    pub fn new(settings: DirectorySettings, bind_password: String) -> Result<Self, String> {
        if settings.kind == DirectoryKind::None {
            return Err("directory.kind is none".into());
        }
        let problems = settings
            .problems()
            .into_iter()
            .filter(|p| !p.contains("bind_password"))
            .collect::<Vec<_>>();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Self {
            pool: Pool::new(Arc::new(settings), Secret(bind_password))?,
        })
    }

    pub fn settings(&self) -> &DirectorySettings {
        self.pool.settings()
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs one operation under the operation timeout; on any failure the connection is
    /// dropped instead of reused.
    pub(crate) async fn timed<T>(
        &self,
        conn: &mut Conn<'_>,
        what: &str,
        op: impl Future<Output = Result<T, LdapError>>,
    ) -> Result<T, DirectoryError> {
        match tokio::time::timeout(self.pool.op_timeout(), op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                conn.discard();
                Err(transport(e))
            }
            Err(_) => {
                conn.discard();
                Err(unavailable(format!(
                    "no answer to the {what} within {} s",
                    self.settings().operation_timeout_seconds
                )))
            }
        }
    }

    /// The one entry `filter` matches; `None` when none or several do (a user ID must name
    /// exactly one account).
    async fn search_one(&self, filter: &str) -> Result<Option<DirectoryEntry>, DirectoryError> {
        let s = self.settings();
        let mut conn = self.pool.get().await?;
        let attrs = user_attributes(s);
        let mut ldap = conn.ldap.clone();
        // Two are enough to know it is not exactly one: a third is never fetched.
        let search = async {
            ldap.with_search_options(SearchOptions::new().sizelimit(2))
                .search(&s.user_base, Scope::Subtree, filter, attrs)
                .await
        };
        let SearchResult(entries, res) = self.timed(&mut conn, "search", search).await?;
        // 4: size limit exceeded (more than one matched); 32: the base does not exist.
        if !matches!(res.rc, 0 | 4 | 32) {
            return Err(write_result(&res)
                .err()
                .unwrap_or_else(|| unavailable(format!("search answered {}", res.rc))));
        }
        let mut found: Vec<SearchEntry> = entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(SearchEntry::construct)
            .collect();
        if found.len() != 1 || res.rc != 0 {
            return Ok(None);
        }
        Ok(DirectoryEntry::from_search(s, found.remove(0)))
    }

    /// Finds the account a typed user ID (username, UPN, email…) names: exactly one match on
    /// the configured login attributes, or nothing.
    pub async fn find(&self, login: &str) -> Result<Option<DirectoryEntry>, DirectoryError> {
        // Control characters are never part of a user ID; some servers (Samba) also end a
        // value at an escaped NUL, so "alice\0" would find alice.
        if login.is_empty() || login.len() > 256 || login.chars().any(char::is_control) {
            return Ok(None);
        }
        self.search_one(&login_filter(self.settings(), login)).await
    }

    /// The entry of an sspr user (by the username attribute).
    pub async fn entry_of(&self, user: &User) -> Result<DirectoryEntry, DirectoryError> {
        self.search_one(&username_filter(self.settings(), user.username.as_str()))
            .await?
            .ok_or(DirectoryError::NotFound)
    }

    /// What a reset of `dn`'s password to `password` sends.
    pub fn password_write(&self, dn: &str, password: &str) -> PasswordWrite {
        let s = self.settings();
        match (s.kind, s.openldap_write_mode) {
            (DirectoryKind::ActiveDirectory, _) => PasswordWrite::Modify {
                dn: dn.to_owned(),
                mods: vec![Mod::Replace(
                    b"unicodePwd".to_vec(),
                    HashSet::from([unicode_pwd(password)]),
                )],
                controls: vec![policy_hints()],
            },
            (_, OpenLdapWriteMode::UserPasswordModify) => PasswordWrite::Modify {
                dn: dn.to_owned(),
                mods: vec![Mod::Replace(
                    b"userPassword".to_vec(),
                    HashSet::from([password.as_bytes().to_vec()]),
                )],
                controls: vec![ppolicy_request()],
            },
            _ => PasswordWrite::PasswordModify {
                dn: dn.to_owned(),
                controls: vec![ppolicy_request()],
            },
        }
    }

    async fn write(
        &self,
        conn: &mut Conn<'_>,
        write: PasswordWrite,
        password: &str,
    ) -> Result<(), DirectoryError> {
        let mut ldap = conn.ldap.clone();
        let res = match write {
            PasswordWrite::PasswordModify { dn, controls } => {
                let op = async {
                    ldap.with_controls(controls)
                        .extended(PasswordModify {
                            user_id: Some(&dn),
                            old_pass: None,
                            new_pass: Some(password),
                        })
                        .await
                        .map(|r| r.1)
                };
                self.timed(conn, "password write", op).await?
            }
            PasswordWrite::Modify { dn, mods, controls } => {
                let op = async { ldap.with_controls(controls).modify(&dn, mods).await };
                self.timed(conn, "password write", op).await?
            }
        };
        write_result(&res)
    }

    async fn probe_write(&self, conn: &mut Conn<'_>) -> Check {
        let s = self.settings();
        if s.status_probe_user.is_empty() {
            return Check::Skipped {
                why: "no directory.status_probe_user configured".into(),
            };
        }
        let entry = match self
            .search_one(&username_filter(s, &s.status_probe_user))
            .await
        {
            Ok(Some(e)) => e,
            Ok(None) => {
                return Check::Failed {
                    error: format!(
                        "the probe user {} was not found (exactly one entry must match)",
                        s.status_probe_user
                    ),
                };
            }
            Err(e) => {
                return Check::Failed {
                    error: e.to_string(),
                };
            }
        };
        let mut ldap = conn.ldap.clone();
        let res = if s.kind == DirectoryKind::ActiveDirectory {
            if entry.locked {
                return Check::Skipped {
                    why: "the probe user is locked; sspr does not unlock it to test".into(),
                };
            }
            // lockoutTime = 0 on an unlocked account changes nothing, but needs the same
            // write access an unlock does.
            let op = async {
                ldap.modify(
                    &entry.dn,
                    vec![Mod::Replace(
                        b"lockoutTime".to_vec(),
                        HashSet::from([b"0".to_vec()]),
                    )],
                )
                .await
            };
            self.timed(conn, "test write", op).await
        } else {
            // Deleting a lock time the entry cannot hold: the access check runs before the
            // value is looked for, so "no such attribute" proves write access and changes
            // nothing.
            let op = async {
                ldap.modify(
                    &entry.dn,
                    vec![Mod::Delete(
                        b"pwdAccountLockedTime".to_vec(),
                        HashSet::from([b"19700101000000Z".to_vec()]),
                    )],
                )
                .await
            };
            self.timed(conn, "test write", op).await
        };
        match res {
            Ok(r) if r.rc == 0 || r.rc == 16 => Check::Ok,
            Ok(r) => Check::Failed {
                error: format!(
                    "the test write on {} was refused: result {} {}",
                    entry.dn,
                    r.rc,
                    r.text.trim()
                ),
            },
            Err(e) => Check::Failed {
                error: e.to_string(),
            },
        }
    }
}

#[async_trait]
impl DirectoryAccounts for LdapDirectory {
    async fn set_password(&self, user: &User, new_password: &str) -> Result<(), DirectoryError> {
        let entry = self.entry_of(user).await?;
        if !entry.enabled {
            return Err(DirectoryError::Disabled);
        }
        let write = self.password_write(&entry.dn, new_password);
        let mut conn = self.pool.get().await?;
        self.write(&mut conn, write, new_password).await
    }

    async fn unlock(&self, user: &User) -> Result<(), DirectoryError> {
        let entry = self.entry_of(user).await?;
        if !entry.enabled {
            return Err(DirectoryError::Disabled);
        }
        let mut conn = self.pool.get().await?;
        let mut ldap = conn.ldap.clone();
        let res = if self.settings().kind == DirectoryKind::ActiveDirectory {
            let op = async {
                ldap.modify(
                    &entry.dn,
                    vec![Mod::Replace(
                        b"lockoutTime".to_vec(),
                        HashSet::from([b"0".to_vec()]),
                    )],
                )
                .await
            };
            self.timed(&mut conn, "unlock", op).await?
        } else {
            // ppolicy clears pwdFailureTime along with the lock.
            let op = async {
                ldap.modify(
                    &entry.dn,
                    vec![Mod::Delete(
                        b"pwdAccountLockedTime".to_vec(),
                        HashSet::new(),
                    )],
                )
                .await
            };
            let res = self.timed(&mut conn, "unlock", op).await?;
            if res.rc == 16 {
                // noSuchAttribute: not locked (any more); nothing to do.
                return Ok(());
            }
            res
        };
        write_result(&res)
    }

    async fn lock_state(&self, user: &User) -> Result<LockState, DirectoryError> {
        let entry = self.entry_of(user).await?;
        Ok(if entry.locked {
            LockState::Locked {
                since: entry.locked_since,
            }
        } else {
            LockState::Unlocked
        })
    }

    async fn bind(&self, user: &User, password: &str) -> Result<BindOutcome, DirectoryError> {
        // An empty password would be an unauthenticated bind, which "succeeds" (RFC 4513).
        if password.is_empty() {
            return Ok(BindOutcome::InvalidCredentials);
        }
        let entry = match self.entry_of(user).await {
            Ok(e) => e,
            Err(DirectoryError::NotFound) => return Ok(BindOutcome::InvalidCredentials),
            Err(e) => return Err(e),
        };
        let (mut ldap, _permit) = self.pool.fresh().await?;
        let controls = if self.settings().kind == DirectoryKind::Openldap {
            vec![ppolicy_request()]
        } else {
            vec![]
        };
        let res = tokio::time::timeout(
            self.pool.op_timeout(),
            ldap.with_controls(controls)
                .simple_bind(&entry.dn, password),
        )
        .await
        .map_err(|_| unavailable("no answer to the bind in time"))?
        .map_err(transport)?;
        let _ = ldap.unbind().await;
        bind_outcome(&res)
    }

    fn enforces_history_on_reset(&self) -> bool {
        // ppolicy applies pwdInHistory to an administrator's Password Modify. Windows DCs
        // apply history to a reset sent with the policy hints control, but Samba 4.17 does not
        // and the two cannot be told apart reliably, so for AD sspr keeps its own history.
        self.settings().kind != DirectoryKind::ActiveDirectory
    }

    async fn status(&self) -> WritebackStatus {
        let s = self.settings();
        let directory = format!(
            "{} ({})",
            s.url,
            match s.kind {
                DirectoryKind::ActiveDirectory => "active_directory",
                DirectoryKind::Openldap => "openldap",
                DirectoryKind::None => "none",
            }
        );
        let skipped = |why: &str| Check::Skipped { why: why.into() };
        // Reachable: a TLS connection; bound: the service account on a fresh one.
        match self.pool.connect().await {
            Ok(mut ldap) => {
                let _ = ldap.unbind().await;
            }
            Err(e) => {
                return WritebackStatus {
                    directory,
                    reachable: Check::Failed {
                        error: e.to_string(),
                    },
                    bind: skipped("the directory is not reachable"),
                    write: skipped("the directory is not reachable"),
                };
            }
        }
        let mut conn = match self.pool.get().await {
            Ok(c) => c,
            Err(e) => {
                return WritebackStatus {
                    directory,
                    reachable: Check::Ok,
                    bind: Check::Failed {
                        error: e.to_string(),
                    },
                    write: skipped("the service account cannot bind"),
                };
            }
        };
        let write = self.probe_write(&mut conn).await;
        WritebackStatus {
            directory,
            reachable: Check::Ok,
            bind: Check::Ok,
            write,
        }
    }
}
