//! Groups and their members: users and other groups (nesting; cycles are allowed, the core's
//! `policy::groups` walks the graph with a visited set).

use std::collections::HashMap;

use crate::db::Row;
use sspr_core::audit::AuditEvent;
use sspr_core::ports::{Member, StoreError};
use sspr_core::{Group, GroupId, GroupName, NewGroup, UserId};

use crate::db;
use crate::error::{self, Violation, corrupt};
use crate::time_ms::{from_ms, now_ms};
use crate::{SqlStore, commit_audited, rows};

fn decode(row: &Row) -> Result<Group, StoreError> {
    Ok(Group {
        id: GroupId(rows::uuid(row, "id")?),
        name: rows::parsed(row, "name", GroupName::parse)?,
        description: rows::get(row, "description")?,
        created_at: rows::at(row, "created_at_ms")?,
    })
}

/// Names are unique case-insensitively; lower-cased in Rust so that both dialects agree.
fn name_key(name: &GroupName) -> String {
    name.as_str().to_lowercase()
}

/// The member as the two columns of `group_members` (`member_user_id`, `member_group_id`).
fn member_columns(member: Member) -> (Option<String>, Option<String>) {
    match member {
        Member::User(id) => (Some(id.0.to_string()), None),
        Member::Group(id) => (None, Some(id.0.to_string())),
    }
}

impl SqlStore {
    pub(crate) async fn create_group_impl(
        &self,
        group: &NewGroup,
        audit: &AuditEvent,
    ) -> Result<Group, StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        db::query(
            "INSERT INTO groups (id, name, name_lower, description, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(group.id.0.to_string())
        .bind(group.name.as_str())
        .bind(name_key(&group.name))
        .bind(group.description.as_str())
        .bind(now)
        .execute(&mut tx)
        .await
        .map_err(|e| {
            error::write(e, Violation::Unique, || {
                StoreError::Conflict(format!("a group named {} already exists", group.name))
            })
        })?;
        commit_audited(tx, audit).await?;
        Ok(Group {
            id: group.id,
            name: group.name.clone(),
            description: group.description.clone(),
            created_at: from_ms(now)?,
        })
    }

    pub(crate) async fn update_group_impl(
        &self,
        id: GroupId,
        name: &GroupName,
        description: &str,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = db::query(
            "UPDATE groups SET name = $2, name_lower = $3, description = $4 WHERE id = $1",
        )
        .bind(id.0.to_string())
        .bind(name.as_str())
        .bind(name_key(name))
        .bind(description)
        .execute(&mut tx)
        .await
        .map_err(|e| {
            error::write(e, Violation::Unique, || {
                StoreError::Conflict(format!("a group named {name} already exists"))
            })
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        commit_audited(tx, audit).await
    }

    pub(crate) async fn delete_group_impl(
        &self,
        id: GroupId,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        // Its memberships, in both directions, go with it (ON DELETE CASCADE).
        let done = db::query("DELETE FROM groups WHERE id = $1")
            .bind(id.0.to_string())
            .execute(&mut tx)
            .await
            .map_err(error::db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commit_audited(tx, audit).await?;
        Ok(true)
    }

    pub(crate) async fn get_group_impl(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        db::query("SELECT id, name, description, created_at_ms FROM groups WHERE id = $1")
            .bind(id.0.to_string())
            .fetch_optional(&self.db)
            .await
            .map_err(error::db)?
            .as_ref()
            .map(decode)
            .transpose()
    }

    pub(crate) async fn find_group_impl(
        &self,
        name: &GroupName,
    ) -> Result<Option<Group>, StoreError> {
        db::query("SELECT id, name, description, created_at_ms FROM groups WHERE name_lower = $1")
            .bind(name_key(name))
            .fetch_optional(&self.db)
            .await
            .map_err(error::db)?
            .as_ref()
            .map(decode)
            .transpose()
    }

    pub(crate) async fn list_groups_impl(&self) -> Result<Vec<Group>, StoreError> {
        db::query("SELECT id, name, description, created_at_ms FROM groups ORDER BY name_lower")
            .fetch_all(&self.db)
            .await
            .map_err(error::db)?
            .iter()
            .map(decode)
            .collect()
    }

    pub(crate) async fn add_member_impl(
        &self,
        group: GroupId,
        member: Member,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        if member == Member::Group(group) {
            return Err(StoreError::Conflict("a group cannot contain itself".into()));
        }
        let (user_id, group_id) = member_columns(member);
        let mut tx = self.begin().await?;
        // A missing group or member fails the foreign keys; an existing membership fails
        // UNIQUE (group_id, member_…).
        db::query(
            "INSERT INTO group_members (group_id, member_user_id, member_group_id) \
             VALUES ($1, $2, $3)",
        )
        .bind(group.0.to_string())
        .bind(user_id)
        .bind(group_id)
        .execute(&mut tx)
        .await
        .map_err(|e| match error::violation(&e) {
            Some(Violation::Unique) => {
                StoreError::Conflict("already a member of this group".into())
            }
            Some(Violation::ForeignKey) => StoreError::NotFound,
            _ => error::db(e),
        })?;
        commit_audited(tx, audit).await
    }

    pub(crate) async fn remove_member_impl(
        &self,
        group: GroupId,
        member: Member,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let sql = match member {
            Member::User(_) => {
                "DELETE FROM group_members WHERE group_id = $1 AND member_user_id = $2"
            }
            Member::Group(_) => {
                "DELETE FROM group_members WHERE group_id = $1 AND member_group_id = $2"
            }
        };
        let member_id = match member {
            Member::User(id) => id.0,
            Member::Group(id) => id.0,
        };
        let mut tx = self.begin().await?;
        let done = db::query(sql)
            .bind(group.0.to_string())
            .bind(member_id.to_string())
            .execute(&mut tx)
            .await
            .map_err(error::db)?;
        if done.rows_affected() == 0 {
            // Nothing changed, so nothing to audit.
            return Ok(false);
        }
        commit_audited(tx, audit).await?;
        Ok(true)
    }

    pub(crate) async fn members_impl(&self, group: GroupId) -> Result<Vec<Member>, StoreError> {
        db::query(
            "SELECT member_user_id, member_group_id FROM group_members WHERE group_id = $1 \
             ORDER BY member_user_id IS NULL, member_user_id, member_group_id",
        )
        .bind(group.0.to_string())
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        .iter()
        // Users first, then groups (NULLs sort differently per dialect, `IS NULL` does not).
        .map(|row| {
            let user = rows::opt_uuid(row, "member_user_id")?;
            let group = rows::opt_uuid(row, "member_group_id")?;
            match (user, group) {
                (Some(user), None) => Ok(Member::User(UserId(user))),
                (None, Some(group)) => Ok(Member::Group(GroupId(group))),
                _ => Err(corrupt(
                    "a group membership names both or neither of a user and a group",
                )),
            }
        })
        .collect()
    }

    pub(crate) async fn groups_of_user_impl(
        &self,
        user: UserId,
    ) -> Result<Vec<GroupId>, StoreError> {
        db::query("SELECT group_id FROM group_members WHERE member_user_id = $1 ORDER BY group_id")
            .bind(user.0.to_string())
            .fetch_all(&self.db)
            .await
            .map_err(error::db)?
            .iter()
            .map(|row| rows::uuid(row, "group_id").map(GroupId))
            .collect()
    }

    pub(crate) async fn group_parents_impl(
        &self,
    ) -> Result<HashMap<GroupId, Vec<GroupId>>, StoreError> {
        let edges = db::query(
            "SELECT member_group_id, group_id FROM group_members \
             WHERE member_group_id IS NOT NULL ORDER BY member_group_id, group_id",
        )
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?;
        let mut parents: HashMap<GroupId, Vec<GroupId>> = HashMap::new();
        for row in &edges {
            let child = GroupId(rows::uuid(row, "member_group_id")?);
            let parent = GroupId(rows::uuid(row, "group_id")?);
            parents.entry(child).or_default().push(parent);
        }
        Ok(parents)
    }
}
