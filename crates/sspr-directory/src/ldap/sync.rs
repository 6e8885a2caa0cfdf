//! Sync (SPEC §7): a paged import of the directory's users, groups and nested memberships into
//! sspr as directory-sourced users, full or incremental.
//!
//! * **Full**: every user entry is read; users whose entry is gone are disabled in sspr (they
//!   lose SSPR; their audit trail stays).
//! * **Incremental**: only entries changed since the last sync's watermark
//!   (`modifyTimestamp>=` on OpenLDAP, `uSNChanged>=` on AD) are read. A deletion leaves no
//!   entry to read, so only a full sync notices it: the scheduler runs one regularly.
//!
//! Entries are streamed page by page (the simple paged results control) and written in
//! batches; only new or changed entries (by digest) cost a write, so memory stays bounded by
//! the links table and a batch, and a repeated sync of an unchanged directory writes nothing.

use std::collections::HashSet;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Scope, SearchEntry};
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::ports::{DirectoryError, DirectorySyncStore, StoreError, SyncedGroup, SyncedUser};
use sspr_core::{DisplayName, EmailAddress, GroupName, PhoneNumber, Username};

use super::connector::LdapDirectory;
use super::entry::{DirectoryEntry, user_attributes};
use super::errors::transport;
use super::settings::DirectoryKind;

/// Users written per transaction.
const BATCH: usize = 500;
/// Examples of skipped entries kept for the report.
const EXAMPLES: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    Full,
    /// Falls back to full when there is no watermark yet.
    Incremental,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub mode: Option<SyncMode>,
    /// User entries read from the directory.
    pub read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Gone from the directory (full sync): disabled in sspr.
    pub removed: u64,
    /// Username already held by a cloud-only user or another entry.
    pub conflicts: u64,
    /// Entries sspr cannot hold (e.g. a username with characters sspr does not allow).
    pub skipped: u64,
    pub skipped_examples: Vec<String>,
    /// Contact values dropped because they do not parse (a phone number without +…).
    pub invalid_contacts: u64,
    pub groups: u64,
    pub mark: Option<String>,
}

/// Progress while reading: entries read so far.
pub type Progress<'a> = &'a (dyn Fn(u64) + Send + Sync);

fn event(actor: &str, mode: SyncMode) -> AuditEvent {
    AuditEvent::new(events::DIRECTORY_SYNC, Outcome::Success)
        .actor(actor)
        .target("directory")
        .details(serde_json::json!({ "mode": mode }))
}

impl SyncReport {
    fn skip(&mut self, what: String) {
        self.skipped += 1;
        if self.skipped_examples.len() < EXAMPLES {
            self.skipped_examples.push(what);
        }
    }
}

/// A contact value parsed, or `None` (counted in `bad` when there was a value that does not
/// parse: it is dropped, the user is still synced).
fn contact<T>(raw: &Option<String>, parse: impl Fn(&str) -> Option<T>, bad: &mut u64) -> Option<T> {
    let parsed = raw.as_deref().and_then(parse);
    if raw.is_some() && parsed.is_none() {
        *bad += 1;
    }
    parsed
}

/// A digest of the entry as read (the mapped attributes and the state): parsing, the costly
/// part, is only done for entries whose digest changed.
fn entry_digest(e: &DirectoryEntry) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::json!([
        1, // the digest's own version: bump it when what sync stores changes
        e.dn,
        e.username,
        e.display_name,
        e.first_name,
        e.last_name,
        e.email,
        e.mobile,
        e.office_phone,
        e.enabled,
    ])
    .to_string();
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The user as sspr holds it, or why it cannot.
fn synced_user(
    e: &DirectoryEntry,
    digest: String,
    report: &mut SyncReport,
) -> Result<SyncedUser, String> {
    let username = Username::parse(&e.username).map_err(|err| format!("{}: {err}", e.username))?;
    let display = e
        .display_name
        .clone()
        .or_else(|| match (&e.first_name, &e.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            _ => None,
        })
        .and_then(|d| DisplayName::parse(&d).ok())
        .unwrap_or_else(|| {
            DisplayName::parse(username.as_str()).expect("a username is a valid display name")
        });
    // Each value is parsed once (phone numbers are the costly part of a sync).
    let bad = &mut report.invalid_contacts;
    let email = contact(&e.email, |v| EmailAddress::parse(v).ok(), bad);
    let mobile = contact(&e.mobile, |v| PhoneNumber::parse(v).ok(), bad);
    let office = contact(&e.office_phone, |v| PhoneNumber::parse(v).ok(), bad);
    Ok(SyncedUser {
        external_id: e.id.clone(),
        dn: e.dn.clone(),
        username,
        display_name: display,
        first_name: e.first_name.clone(),
        last_name: e.last_name.clone(),
        email,
        mobile_phone: mobile,
        office_phone: office,
        enabled: e.enabled,
        digest,
    })
}

/// The later of two watermarks of the same kind.
fn later(kind: DirectoryKind, a: Option<String>, b: &str) -> Option<String> {
    let newer = match (&a, kind) {
        (None, _) => true,
        (Some(a), DirectoryKind::ActiveDirectory) => {
            b.parse::<u64>().unwrap_or(0) > a.parse::<u64>().unwrap_or(0)
        }
        // GeneralizedTime of one format orders as text.
        (Some(a), _) => b > a.as_str(),
    };
    if newer { Some(b.to_owned()) } else { a }
}

impl LdapDirectory {
    /// Runs one sync. `actor` is who asked (`system` for the scheduler, `cli:<user>`).
    pub async fn sync(
        &self,
        store: &dyn DirectorySyncStore,
        mode: SyncMode,
        actor: &str,
        progress: Progress<'_>,
    ) -> Result<SyncReport, SyncError> {
        let s = self.settings();
        let previous = match mode {
            SyncMode::Incremental => store.directory_sync_mark().await?.filter(|m| !m.is_empty()),
            SyncMode::Full => None,
        };
        let mode = if previous.is_some() {
            SyncMode::Incremental
        } else {
            SyncMode::Full
        };
        let mut report = SyncReport {
            mode: Some(mode),
            ..Default::default()
        };
        let filter = match (&previous, s.kind) {
            (None, _) => s.user_filter.clone(),
            (Some(m), DirectoryKind::ActiveDirectory) => {
                let next = m.parse::<u64>().unwrap_or(0) + 1;
                format!("(&{}(uSNChanged>={next}))", s.user_filter)
            }
            (Some(m), _) => format!(
                "(&{}(modifyTimestamp>={}))",
                s.user_filter,
                ldap3::ldap_escape(m)
            ),
        };
        let links = store.directory_links().await?;
        let mut seen = HashSet::new();
        let mut batch = Vec::with_capacity(BATCH);
        let mut mark = previous.clone();
        let audit = event(actor, mode);

        let mut conn = self.pool().get().await?;
        let mut ldap = conn.ldap.clone();
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(s.page_size)),
        ];
        let mut stream = match tokio::time::timeout(
            self.pool().op_timeout(),
            ldap.streaming_search_with(
                adapters,
                &s.user_base,
                Scope::Subtree,
                &filter,
                user_attributes(s),
            ),
        )
        .await
        {
            Ok(r) => r.map_err(transport)?,
            Err(_) => {
                conn.discard();
                return Err(DirectoryError::Unavailable("the sync search timed out".into()).into());
            }
        };
        loop {
            let next = tokio::time::timeout(self.pool().op_timeout(), stream.next()).await;
            let entry = match next {
                Ok(Ok(Some(entry))) => entry,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    conn.discard();
                    return Err(transport(e).into());
                }
                Err(_) => {
                    conn.discard();
                    return Err(DirectoryError::Unavailable(
                        "the directory stopped answering during the sync".into(),
                    )
                    .into());
                }
            };
            let Some(entry) = DirectoryEntry::from_search(s, SearchEntry::construct(entry)) else {
                report.skip("an entry without a username attribute".into());
                continue;
            };
            report.read += 1;
            if report.read.is_multiple_of(1000) {
                progress(report.read);
            }
            if let Some(m) = &entry.change_mark {
                mark = later(s.kind, mark, m);
            }
            seen.insert(entry.id.clone());
            let digest = entry_digest(&entry);
            if links.get(&entry.id).map(|l| l.digest.as_str()) == Some(digest.as_str()) {
                report.unchanged += 1;
                continue;
            }
            let user = match synced_user(&entry, digest, &mut report) {
                Ok(u) => u,
                Err(why) => {
                    report.skip(why);
                    continue;
                }
            };
            batch.push(user);
            if batch.len() >= BATCH {
                let counts = store.upsert_directory_users(&batch, &audit).await?;
                report.created += counts.created;
                report.updated += counts.updated;
                report.conflicts += counts.conflicts;
                batch.clear();
            }
        }
        let res = stream.finish().await;
        if res.rc != 0 {
            conn.discard();
            return Err(DirectoryError::Unavailable(format!(
                "the sync search ended with {}: {}",
                res.rc,
                res.text.trim()
            ))
            .into());
        }
        drop(conn);
        if !batch.is_empty() {
            let counts = store.upsert_directory_users(&batch, &audit).await?;
            report.created += counts.created;
            report.updated += counts.updated;
            report.conflicts += counts.conflicts;
        }
        progress(report.read);

        if mode == SyncMode::Full {
            let gone: Vec<String> = links
                .iter()
                .filter(|(id, link)| link.enabled && !seen.contains(*id))
                .map(|(id, _)| id.clone())
                .collect();
            report.removed = store.disable_directory_users(&gone, &audit).await?;
        }
        if !s.group_base.is_empty() {
            let groups = self.read_groups().await?;
            report.groups = store.sync_directory_groups(&groups, &audit).await?;
        }
        report.mark = mark.clone();
        let summary = audit
            .clone()
            .details(serde_json::to_value(&report).unwrap_or_default());
        store
            .set_directory_sync_mark(mark.as_deref().unwrap_or(""), &summary)
            .await?;
        Ok(report)
    }

    /// Every group under `group_base` with its direct members (users and groups by DN);
    /// nesting is resolved by sspr's group graph, cycles included.
    async fn read_groups(&self) -> Result<Vec<SyncedGroup>, SyncError> {
        let s = self.settings();
        let id_attr = if s.kind == DirectoryKind::ActiveDirectory {
            "objectGUID"
        } else {
            "entryUUID"
        };
        let attrs = vec![
            s.group_name_attribute.clone(),
            s.member_attribute.clone(),
            id_attr.to_owned(),
        ];
        let mut conn = self.pool().get().await?;
        let mut ldap = conn.ldap.clone();
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(s.page_size)),
        ];
        let op = async {
            let mut stream = ldap
                .streaming_search_with(
                    adapters,
                    &s.group_base,
                    Scope::Subtree,
                    &s.group_filter,
                    attrs,
                )
                .await?;
            let mut entries = Vec::new();
            while let Some(e) = stream.next().await? {
                entries.push(SearchEntry::construct(e));
            }
            let res = stream.finish().await;
            res.success()?;
            Ok(entries)
        };
        let entries = self.timed(&mut conn, "group search", op).await?;
        let mut groups = Vec::new();
        for e in entries {
            let value = |attr: &str| -> Vec<String> {
                e.attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let Some(name) = value(&s.group_name_attribute)
                .first()
                .and_then(|n| GroupName::parse(n).ok())
            else {
                continue;
            };
            let external_id = e
                .bin_attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(id_attr))
                .and_then(|(_, v)| v.first())
                .map(|b| hex_id(b))
                .or_else(|| value(id_attr).first().cloned())
                .unwrap_or_else(|| e.dn.to_lowercase());
            groups.push(SyncedGroup {
                external_id,
                name,
                member_dns: value(&s.member_attribute),
                dn: e.dn.clone(),
            });
        }
        Ok(groups)
    }
}

fn hex_id(b: &[u8]) -> String {
    // Only identity matters here, not the Windows spelling of the GUID.
    b.iter().map(|x| format!("{x:02x}")).collect()
}
