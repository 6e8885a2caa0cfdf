//! Directory sync (SPEC §7): directory-sourced users and groups, linked to their entries by
//! entryUUID / objectGUID, written in batches (one transaction and one audit record per
//! batch) so that a sync of 100,000 users takes seconds, and the incremental-sync watermark.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::json;
use sspr_core::audit::AuditEvent;
use sspr_core::ports::{
    BatchCounts, DirectoryLink, DirectorySyncStore, StoreError, SyncedGroup, SyncedUser,
};
use sspr_core::{EmailAddress, NewUser, PhoneNumber, UserId, UserSource};

use crate::db;
use crate::error;
use crate::time_ms::now_ms;
use crate::users::{insert, search_key};
use crate::{SqlStore, commit, commit_audited, rows};

const MARK_KEY: &str = "directory_sync_mark";

fn with_details(audit: &AuditEvent, details: serde_json::Value) -> AuditEvent {
    let mut event = audit.clone();
    event.details = details;
    event
}

#[async_trait]
impl DirectorySyncStore for SqlStore {
    async fn directory_links(&self) -> Result<HashMap<String, DirectoryLink>, StoreError> {
        // Read in pages (keyset, by external id): all rows at once would hold every decoded
        // row of a large directory in memory at the same time as the map.
        const PAGE: i64 = 10_000;
        let mut links = HashMap::new();
        let mut after = String::new();
        loop {
            let rows = db::query(
                "SELECT d.external_id, d.user_id, d.dn, d.digest, u.enabled \
                 FROM directory_users d JOIN users u ON u.id = d.user_id \
                 WHERE d.external_id > $1 ORDER BY d.external_id LIMIT $2",
            )
            .bind(after.as_str())
            .bind(PAGE)
            .fetch_all(&self.db)
            .await
            .map_err(error::db)?;
            for row in &rows {
                let external_id: String = rows::get(row, "external_id")?;
                after.clone_from(&external_id);
                links.insert(
                    external_id,
                    DirectoryLink {
                        user_id: UserId(rows::uuid(row, "user_id")?),
                        dn: rows::get(row, "dn")?,
                        digest: rows::get(row, "digest")?,
                        enabled: rows::flag(row, "enabled")?,
                    },
                );
            }
            if (rows.len() as i64) < PAGE {
                return Ok(links);
            }
        }
    }

    async fn upsert_directory_users(
        &self,
        users: &[SyncedUser],
        audit: &AuditEvent,
    ) -> Result<BatchCounts, StoreError> {
        let now = now_ms();
        let mut counts = BatchCounts::default();
        let (mut created, mut updated, mut conflicts) = (Vec::new(), Vec::new(), Vec::new());
        let mut tx = self.begin().await?;
        for u in users {
            let digest = u.digest.as_str();
            let link =
                db::query("SELECT user_id, digest FROM directory_users WHERE external_id = $1")
                    .bind(u.external_id.as_str())
                    .fetch_optional(&mut tx)
                    .await
                    .map_err(error::db)?;
            // Someone else holding the username (a cloud-only user, or another entry): leave
            // both alone rather than take over an account. Checked before writing, because a
            // failed statement would abort the whole transaction on PostgreSQL.
            let holder = db::query("SELECT id FROM users WHERE username = $1")
                .bind(u.username.as_str())
                .fetch_optional(&mut tx)
                .await
                .map_err(error::db)?
                .map(|row| rows::uuid(&row, "id"))
                .transpose()?;
            match link {
                Some(row) => {
                    let user_id = rows::uuid(&row, "user_id")?;
                    if rows::get::<String>(&row, "digest")? == digest {
                        continue;
                    }
                    if holder.is_some_and(|h| h != user_id) {
                        counts.conflicts += 1;
                        conflicts.push(u.username.as_str().to_owned());
                        continue;
                    }
                    db::query(
                        "UPDATE users SET username = $2, display_name = $3, display_name_lower = $4, \
                         first_name = $5, last_name = $6, email = $7, mobile_phone = $8, \
                         office_phone = $9, enabled = $10, updated_at_ms = $11 WHERE id = $1",
                    )
                    .bind(user_id.to_string())
                    .bind(u.username.as_str())
                    .bind(u.display_name.as_str())
                    .bind(search_key(&u.display_name))
                    .bind(u.first_name.as_deref())
                    .bind(u.last_name.as_deref())
                    .bind(u.email.as_ref().map(EmailAddress::as_str))
                    .bind(u.mobile_phone.as_ref().map(PhoneNumber::as_str))
                    .bind(u.office_phone.as_ref().map(PhoneNumber::as_str))
                    .bind(i64::from(u.enabled))
                    .bind(now)
                    .execute(&mut tx)
                    .await
                    .map_err(error::db)?;
                    db::query("UPDATE directory_users SET dn = $2, digest = $3 WHERE user_id = $1")
                        .bind(user_id.to_string())
                        .bind(u.dn.to_lowercase())
                        .bind(digest)
                        .execute(&mut tx)
                        .await
                        .map_err(error::db)?;
                    counts.updated += 1;
                    updated.push(u.username.as_str().to_owned());
                }
                None => {
                    if holder.is_some() {
                        counts.conflicts += 1;
                        conflicts.push(u.username.as_str().to_owned());
                        continue;
                    }
                    let mut new = NewUser::cloud(u.username.clone(), u.display_name.clone());
                    new.source = UserSource::Directory;
                    new.first_name = u.first_name.clone();
                    new.last_name = u.last_name.clone();
                    new.email = u.email.clone();
                    new.mobile_phone = u.mobile_phone.clone();
                    new.office_phone = u.office_phone.clone();
                    new.enabled = u.enabled;
                    insert(&mut tx, &new, now).await?;
                    db::query(
                        "INSERT INTO directory_users (user_id, external_id, dn, digest) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(new.id.0.to_string())
                    .bind(u.external_id.as_str())
                    .bind(u.dn.to_lowercase())
                    .bind(digest)
                    .execute(&mut tx)
                    .await
                    .map_err(error::db)?;
                    counts.created += 1;
                    created.push(u.username.as_str().to_owned());
                }
            }
        }
        if counts.created + counts.updated == 0 {
            commit(tx).await?;
        } else {
            let event = with_details(
                audit,
                json!({"created": created, "updated": updated, "conflicts": conflicts}),
            );
            commit_audited(tx, &event).await?;
        }
        Ok(counts)
    }

    async fn disable_directory_users(
        &self,
        external_ids: &[String],
        audit: &AuditEvent,
    ) -> Result<u64, StoreError> {
        if external_ids.is_empty() {
            return Ok(0);
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut disabled = Vec::new();
        for id in external_ids {
            let row = db::query(
                "SELECT u.id, u.username FROM directory_users d JOIN users u ON u.id = d.user_id \
                 WHERE d.external_id = $1 AND u.enabled = 1",
            )
            .bind(id.as_str())
            .fetch_optional(&mut tx)
            .await
            .map_err(error::db)?;
            let Some(row) = row else { continue };
            let user_id = rows::uuid(&row, "id")?;
            db::query("UPDATE users SET enabled = 0, updated_at_ms = $2 WHERE id = $1")
                .bind(user_id.to_string())
                .bind(now)
                .execute(&mut tx)
                .await
                .map_err(error::db)?;
            // Forget the digest: if the entry comes back, the next sync enables it again.
            db::query("UPDATE directory_users SET digest = '' WHERE user_id = $1")
                .bind(user_id.to_string())
                .execute(&mut tx)
                .await
                .map_err(error::db)?;
            disabled.push(rows::get::<String>(&row, "username")?);
        }
        let n = disabled.len() as u64;
        if n == 0 {
            commit(tx).await?;
        } else {
            commit_audited(tx, &with_details(audit, json!({"disabled": disabled}))).await?;
        }
        Ok(n)
    }

    async fn sync_directory_groups(
        &self,
        groups: &[SyncedGroup],
        audit: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let mut user_by_dn = HashMap::new();
        for row in db::query("SELECT dn, user_id FROM directory_users")
            .fetch_all(&mut tx)
            .await
            .map_err(error::db)?
        {
            user_by_dn.insert(
                rows::get::<String>(&row, "dn")?,
                rows::get::<String>(&row, "user_id")?,
            );
        }
        let mut group_by_dn: HashMap<String, String> = HashMap::new();
        let mut synced = Vec::new();
        let mut skipped = Vec::new();
        for g in groups {
            let existing =
                db::query("SELECT group_id FROM directory_groups WHERE external_id = $1")
                    .bind(g.external_id.as_str())
                    .fetch_optional(&mut tx)
                    .await
                    .map_err(error::db)?
                    .map(|row| rows::get::<String>(&row, "group_id"))
                    .transpose()?;
            let name_key = g.name.as_str().to_lowercase();
            let holder = db::query("SELECT id FROM groups WHERE name_lower = $1")
                .bind(name_key.as_str())
                .fetch_optional(&mut tx)
                .await
                .map_err(error::db)?
                .map(|row| rows::get::<String>(&row, "id"))
                .transpose()?;
            let id = match existing {
                Some(id) => {
                    if holder.as_ref().is_some_and(|h| *h != id) {
                        skipped.push(g.name.as_str().to_owned());
                        continue;
                    }
                    db::query("UPDATE groups SET name = $2, name_lower = $3 WHERE id = $1")
                        .bind(id.as_str())
                        .bind(g.name.as_str())
                        .bind(name_key.as_str())
                        .execute(&mut tx)
                        .await
                        .map_err(error::db)?;
                    db::query("UPDATE directory_groups SET dn = $2 WHERE group_id = $1")
                        .bind(id.as_str())
                        .bind(g.dn.to_lowercase())
                        .execute(&mut tx)
                        .await
                        .map_err(error::db)?;
                    id
                }
                None => {
                    if holder.is_some() {
                        // A built-in group of that name: the directory's does not replace it.
                        skipped.push(g.name.as_str().to_owned());
                        continue;
                    }
                    let id = uuid::Uuid::now_v7().to_string();
                    db::query(
                        "INSERT INTO groups (id, name, name_lower, description, created_at_ms) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id.as_str())
                    .bind(g.name.as_str())
                    .bind(name_key.as_str())
                    .bind("synced from the on-premises directory")
                    .bind(now_ms())
                    .execute(&mut tx)
                    .await
                    .map_err(error::db)?;
                    db::query(
                        "INSERT INTO directory_groups (group_id, external_id, dn) VALUES ($1, $2, $3)",
                    )
                    .bind(id.as_str())
                    .bind(g.external_id.as_str())
                    .bind(g.dn.to_lowercase())
                    .execute(&mut tx)
                    .await
                    .map_err(error::db)?;
                    id
                }
            };
            group_by_dn.insert(g.dn.to_lowercase(), id.clone());
            synced.push((id, g));
        }
        // Memberships of directory groups mirror the directory: replaced as a whole.
        db::query(
            "DELETE FROM group_members WHERE group_id IN (SELECT group_id FROM directory_groups)",
        )
        .execute(&mut tx)
        .await
        .map_err(error::db)?;
        for (id, g) in &synced {
            let mut seen = std::collections::HashSet::new();
            for dn in &g.member_dns {
                let dn = dn.to_lowercase();
                if !seen.insert(dn.clone()) {
                    continue;
                }
                let (user, group) = if let Some(u) = user_by_dn.get(&dn) {
                    (Some(u.as_str()), None)
                } else if let Some(child) = group_by_dn.get(&dn).filter(|c| *c != id) {
                    (None, Some(child.as_str()))
                } else {
                    continue;
                };
                db::query(
                    "INSERT INTO group_members (group_id, member_user_id, member_group_id) \
                     VALUES ($1, $2, $3)",
                )
                .bind(id.as_str())
                .bind(user)
                .bind(group)
                .execute(&mut tx)
                .await
                .map_err(error::db)?;
            }
        }
        let names: Vec<&str> = synced.iter().map(|(_, g)| g.name.as_str()).collect();
        commit_audited(
            tx,
            &with_details(audit, json!({"groups": names, "skipped": skipped})),
        )
        .await?;
        Ok(synced.len() as u64)
    }

    async fn directory_sync_mark(&self) -> Result<Option<String>, StoreError> {
        self.setting::<Option<String>>(MARK_KEY, "directory sync mark")
            .await
    }

    async fn set_directory_sync_mark(
        &self,
        mark: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.put_setting(MARK_KEY, "directory sync mark", &Some(mark), audit)
            .await
    }
}
