//! Administrators managing groups of the built-in directory: create, rename, delete, and
//! add or remove members (users or groups; nesting allowed, cycles tolerated as everywhere).
//! Every change is checked against the caller's roles and audited with actor and target.

use serde::Deserialize;

use crate::audit::{Outcome, events};
use crate::ports::{Member, Store, StoreError};
use crate::service::admin_access::AdminAction;
use crate::service::admin_users::{AdminCaller, AdminError};
use crate::{FieldError, Group, GroupId, GroupName, NewGroup};

const MAX_DESCRIPTION: usize = 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGroupRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> AdminError {
    AdminError::Invalid(vec![FieldError {
        field: field.to_owned(),
        message: message.into(),
    }])
}

fn parse_name(raw: &str) -> Result<GroupName, AdminError> {
    GroupName::parse(raw).map_err(|e| invalid("name", e.to_string()))
}

fn check_description(raw: &str) -> Result<String, AdminError> {
    let d = raw.trim();
    if d.chars().count() > MAX_DESCRIPTION || d.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters, no control characters"),
        ));
    }
    Ok(d.to_owned())
}

/// The label of a member in audit records.
async fn member_label(store: &dyn Store, member: Member) -> Result<String, StoreError> {
    Ok(match member {
        Member::User(id) => store
            .get_user(id)
            .await?
            .map_or_else(|| id.to_string(), |u| u.username.as_str().to_owned()),
        Member::Group(id) => store
            .get_group(id)
            .await?
            .map_or_else(|| id.to_string(), |g| g.name.as_str().to_owned()),
    })
}

pub async fn create(
    store: &dyn Store,
    caller: &AdminCaller,
    req: &NewGroupRequest,
) -> Result<Group, AdminError> {
    caller.check(AdminAction::ManageGroups)?;
    let group = NewGroup {
        id: GroupId::new(),
        name: parse_name(&req.name)?,
        description: check_description(&req.description)?,
    };
    let audit = caller
        .audit(events::ADD_GROUP, Outcome::Success, group.name.as_str())
        .details(serde_json::json!({ "id": group.id }));
    Ok(store.create_group(&group, &audit).await?)
}

pub async fn update(
    store: &dyn Store,
    caller: &AdminCaller,
    group: &Group,
    patch: &GroupPatch,
) -> Result<Group, AdminError> {
    caller.check(AdminAction::ManageGroups)?;
    let name = match &patch.name {
        Some(n) => parse_name(n)?,
        None => group.name.clone(),
    };
    let description = match &patch.description {
        Some(d) => check_description(d)?,
        None => group.description.clone(),
    };
    if name == group.name && description == group.description {
        return Ok(group.clone());
    }
    let audit = caller
        .audit(events::UPDATE_GROUP, Outcome::Success, group.name.as_str())
        .details(serde_json::json!({
            "name": {"old": group.name, "new": name},
            "description_changed": description != group.description,
        }));
    store
        .update_group(group.id, &name, &description, &audit)
        .await?;
    Ok(Group {
        name,
        description,
        ..group.clone()
    })
}

/// Deletes a group. The group the SSPR policy targets cannot be deleted (the policy would
/// point at nothing): change the policy first.
pub async fn delete(
    store: &dyn Store,
    caller: &AdminCaller,
    group: &Group,
) -> Result<(), AdminError> {
    caller.check(AdminAction::ManageGroups)?;
    if store.policy().await?.target_group == Some(group.id) {
        return Err(AdminError::Store(StoreError::Conflict(
            "the SSPR policy targets this group; change the policy first".into(),
        )));
    }
    let audit = caller.audit(events::DELETE_GROUP, Outcome::Success, group.name.as_str());
    if !store.delete_group(group.id, &audit).await? {
        return Err(AdminError::Store(StoreError::NotFound));
    }
    Ok(())
}

pub async fn add_member(
    store: &dyn Store,
    caller: &AdminCaller,
    group: &Group,
    member: Member,
) -> Result<(), AdminError> {
    caller.check(AdminAction::ManageGroups)?;
    if member == Member::Group(group.id) {
        return Err(invalid("id", "a group cannot be a member of itself"));
    }
    let audit = caller
        .audit(events::ADD_MEMBER, Outcome::Success, group.name.as_str())
        .details(serde_json::json!({ "member": member_label(store, member).await? }));
    Ok(store.add_member(group.id, member, &audit).await?)
}

/// Returns whether the member was there.
pub async fn remove_member(
    store: &dyn Store,
    caller: &AdminCaller,
    group: &Group,
    member: Member,
) -> Result<bool, AdminError> {
    caller.check(AdminAction::ManageGroups)?;
    let audit = caller
        .audit(events::REMOVE_MEMBER, Outcome::Success, group.name.as_str())
        .details(serde_json::json!({ "member": member_label(store, member).await? }));
    Ok(store.remove_member(group.id, member, &audit).await?)
}
