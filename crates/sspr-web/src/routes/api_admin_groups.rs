//! `/api/v1/admin/groups`: groups of the built-in directory and their members (users or
//! other groups; nesting allowed). The rules live in `service::admin_groups`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sspr_core::ports::{Member, StoreError};
use sspr_core::service::admin_access::AdminAction;
use sspr_core::service::admin_groups::{self, GroupPatch, NewGroupRequest};
use sspr_core::{GroupId, UserId};

use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::routes::admin_common::{GroupView, body, load_group, not_found, uuid};
use crate::routes::openapi::Problem;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: GroupView,
    /// Direct members.
    pub members: Vec<MemberView>,
}

#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    User,
    Group,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    #[serde(rename = "type")]
    pub kind: MemberKind,
    #[schema(format = Uuid)]
    pub id: String,
    /// The username or group name.
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    #[serde(rename = "type")]
    pub kind: MemberKind,
    #[schema(format = Uuid)]
    pub id: String,
}

/// Documentation of the create body (`service::admin_groups::NewGroupRequest`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewGroupBody {
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = "^[A-Za-z0-9][A-Za-z0-9 _-]*$"
    )]
    name: String,
    #[schema(max_length = 1024)]
    description: Option<String>,
}

/// Documentation of the change body (`service::admin_groups::GroupPatch`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct GroupPatchBody {
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = "^[A-Za-z0-9][A-Za-z0-9 _-]*$"
    )]
    name: Option<String>,
    #[schema(max_length = 1024)]
    description: Option<String>,
}

async fn members_of(
    state: &AppState,
    auth: &AdminAuth,
    group: GroupId,
) -> Result<Vec<MemberView>, ApiError> {
    let store = state.store.as_ref();
    let mut out = Vec::new();
    for m in store.members(group).await.map_err(|e| auth.support(e))? {
        let view = match m {
            Member::User(id) => store
                .get_user(id)
                .await
                .map_err(|e| auth.support(e))?
                .map(|u| MemberView {
                    kind: MemberKind::User,
                    id: id.to_string(),
                    name: u.username.as_str().to_owned(),
                }),
            Member::Group(id) => store
                .get_group(id)
                .await
                .map_err(|e| auth.support(e))?
                .map(|g| MemberView {
                    kind: MemberKind::Group,
                    id: id.to_string(),
                    name: g.name.as_str().to_owned(),
                }),
        };
        out.extend(view);
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/admin/groups", tag = "admin",
    responses((status = 200, body = [GroupView]), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    auth: AdminAuth,
) -> Result<Json<Vec<GroupView>>, ApiError> {
    auth.require(AdminAction::ReadDirectory)?;
    let groups = state
        .store
        .list_groups()
        .await
        .map_err(|e| auth.support(e))?;
    Ok(Json(groups.iter().map(GroupView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/admin/groups", tag = "admin", request_body = NewGroupBody,
    responses((status = 201, body = GroupView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    req: Result<Json<NewGroupRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    auth.require(AdminAction::ManageGroups)?;
    let req = body(&auth, req)?;
    let group = admin_groups::create(state.store.as_ref(), &auth.caller, &req)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok((StatusCode::CREATED, Json(GroupView::from(&group))).into_response())
}

#[utoipa::path(get, path = "/api/v1/admin/groups/{id}", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = GroupDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn show(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<GroupDetail>, ApiError> {
    auth.require(AdminAction::ReadDirectory)?;
    let group = load_group(&auth, &state, &id).await?;
    Ok(Json(GroupDetail {
        members: members_of(&state, &auth, group.id).await?,
        group: GroupView::from(&group),
    }))
}

#[utoipa::path(patch, path = "/api/v1/admin/groups/{id}", tag = "admin", request_body = GroupPatchBody,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = GroupView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn update(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    patch: Result<Json<GroupPatch>, JsonRejection>,
) -> Result<Json<GroupView>, ApiError> {
    auth.require(AdminAction::ManageGroups)?;
    let group = load_group(&auth, &state, &id).await?;
    let patch = body(&auth, patch)?;
    let updated = admin_groups::update(state.store.as_ref(), &auth.caller, &group, &patch)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok(Json(GroupView::from(&updated)))
}

#[utoipa::path(delete, path = "/api/v1/admin/groups/{id}", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(AdminAction::ManageGroups)?;
    let group = load_group(&auth, &state, &id).await?;
    admin_groups::delete(state.store.as_ref(), &auth.caller, &group)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/admin/groups/{id}/members", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = [MemberView]), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn members(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
) -> Result<Json<Vec<MemberView>>, ApiError> {
    auth.require(AdminAction::ReadDirectory)?;
    let group = load_group(&auth, &state, &id).await?;
    Ok(Json(members_of(&state, &auth, group.id).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/groups/{id}/members", tag = "admin", request_body = AddMember,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 201, body = MemberView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn add_member(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path(id): Path<String>,
    req: Result<Json<AddMember>, JsonRejection>,
) -> Result<Response, ApiError> {
    auth.require(AdminAction::ManageGroups)?;
    let group = load_group(&auth, &state, &id).await?;
    let req = body(&auth, req)?;
    let member_id = uuid::Uuid::parse_str(&req.id).map_err(|_| {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "The member id is not valid.",
        );
        e.extra = Some(serde_json::json!({"fields": [{"field": "id", "message": "not a UUID"}]}));
        e.support(&auth.ctx.support_code)
    })?;
    let store = state.store.as_ref();
    let (member, name) = match req.kind {
        MemberKind::User => {
            let u = store
                .get_user(UserId(member_id))
                .await
                .map_err(|e| auth.support(e))?
                .ok_or_else(|| not_found(&auth, "user"))?;
            (Member::User(u.id), u.username.as_str().to_owned())
        }
        MemberKind::Group => {
            let g = store
                .get_group(GroupId(member_id))
                .await
                .map_err(|e| auth.support(e))?
                .ok_or_else(|| not_found(&auth, "group"))?;
            (Member::Group(g.id), g.name.as_str().to_owned())
        }
    };
    admin_groups::add_member(store, &auth.caller, &group, member)
        .await
        .map_err(|e| auth.admin_error(e))?;
    Ok((
        StatusCode::CREATED,
        Json(MemberView {
            kind: req.kind,
            id: member_id.to_string(),
            name,
        }),
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/admin/groups/{id}/members/{member_id}", tag = "admin",
    params(("id" = String, Path, format = Uuid), ("member_id" = String, Path, format = Uuid, description = "A user's or a group's id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []), ("session" = [])))]
pub async fn remove_member(
    State(state): State<AppState>,
    auth: AdminAuth,
    Path((id, member_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    auth.require(AdminAction::ManageGroups)?;
    let group = load_group(&auth, &state, &id).await?;
    let member_id = uuid(&auth, &member_id, "member")?;
    let store = state.store.as_ref();
    // The id says nothing of its kind: a user's and a group's ids never collide (UUIDs).
    let member = if store
        .get_user(UserId(member_id))
        .await
        .map_err(|e| auth.support(e))?
        .is_some()
    {
        Member::User(UserId(member_id))
    } else {
        Member::Group(GroupId(member_id))
    };
    match admin_groups::remove_member(store, &auth.caller, &group, member).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false)
        | Err(sspr_core::service::admin_users::AdminError::Store(StoreError::NotFound)) => {
            Err(not_found(&auth, "member of this group"))
        }
        Err(e) => Err(auth.admin_error(e)),
    }
}
