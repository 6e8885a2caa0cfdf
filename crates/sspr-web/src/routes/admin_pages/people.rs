//! Users and groups of the built-in directory in the portal (SPEC §7, §9): lists with search
//! and paging, a user's page with the admin actions (unlock, set a password, require
//! re-registration, revoke sessions, delete), groups with their nested members. Every change
//! goes through the same services as `/api/v1/admin/users|groups`, so the roles table
//! (`service::admin_access`) and the audit record are the same whichever way an admin acts.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use sspr_core::ports::{Member, StoreError};
use sspr_core::service::admin_access::{AdminAction, may, may_act_on};
use sspr_core::service::admin_groups::{self, GroupPatch, NewGroupRequest};
use sspr_core::service::admin_users::{AdminCaller, AdminError, NewUserRequest, UserPatch};
use sspr_core::{AdminRole, Group, GroupId, GroupName, User, UserId, Username};

use super::form::FormFields;
use super::{PortalAdmin, render_admin};
use crate::AppState;
use crate::admin_auth::admin_problem;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_admin_users::admin_users;
use crate::routes::api_password::RulesInForce;
use crate::routes::pages::{error_page, method_labels, password_problem, tr};

const PER_PAGE: u32 = 50;
/// The most members a group's page lists (the API pages through all of them).
const MEMBERS_SHOWN: usize = 500;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    page: Option<u32>,
    /// What the last action did (the page says so).
    done: Option<String>,
}

/// The acting administrator, for the services' checks and the audit record.
pub(crate) fn caller_of(admin: &User, ctx: &RequestContext) -> AdminCaller {
    AdminCaller {
        actor: admin.username.as_str().to_owned(),
        roles: admin.roles.clone(),
        client_ip: ctx.client_ip.map(|ip| ip.to_string()),
        user_agent: ctx.user_agent.clone(),
        correlation_id: Some(ctx.support_code.clone()),
    }
}

/// A refused or failed action as a page: field errors and password reasons are shown on the
/// form instead (see `form_errors`), everything else is an error page.
fn failed(state: &AppState, ctx: &RequestContext, e: AdminError) -> Response {
    error_page(state, ctx, admin_problem(ctx, e))
}

/// The messages of a refused form, in the order of its fields, and whether it was refused
/// at all (anything else is not a form problem).
fn form_errors(
    state: &AppState,
    ctx: &RequestContext,
    e: AdminError,
) -> Result<Vec<String>, AdminError> {
    match e {
        AdminError::Invalid(fields) => Ok(fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect()),
        AdminError::Policy(problems) => Ok(problems
            .iter()
            .map(|p| password_problem(state, ctx, p))
            .collect()),
        other => Err(other),
    }
}

/// A refused form's messages, or the error page for anything that is not a form problem.
// Built once per refused request; boxing the page would only add an allocation.
#[allow(clippy::result_large_err)]
fn refusal(state: &AppState, ctx: &RequestContext, e: AdminError) -> Result<Vec<String>, Response> {
    form_errors(state, ctx, e).map_err(|e| failed(state, ctx, e))
}

/// A user's page again, with the messages of a refused form (422).
async fn user_refused(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    target: &User,
    errors: &[String],
) -> Response {
    user_page(
        state,
        ctx,
        admin,
        target,
        errors,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// A group's page again, with the messages of a refused form.
async fn group_refused(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    group: &Group,
    errors: &[String],
    status: StatusCode,
) -> Response {
    group_page(state, ctx, admin, group, errors, None, status).await
}

fn not_found(state: &AppState, ctx: &RequestContext) -> Response {
    error_page(
        state,
        ctx,
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such user or group.")
            .support(&ctx.support_code),
    )
}

async fn load_user(state: &AppState, ctx: &RequestContext, raw: &str) -> Result<User, Response> {
    let Ok(id) = uuid::Uuid::parse_str(raw) else {
        return Err(not_found(state, ctx));
    };
    match state.store.get_user(UserId(id)).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(not_found(state, ctx)),
        Err(e) => Err(error_page(
            state,
            ctx,
            ApiError::from(e).support(&ctx.support_code),
        )),
    }
}

async fn load_group(state: &AppState, ctx: &RequestContext, raw: &str) -> Result<Group, Response> {
    let Ok(id) = uuid::Uuid::parse_str(raw) else {
        return Err(not_found(state, ctx));
    };
    match state.store.get_group(GroupId(id)).await {
        Ok(Some(g)) => Ok(g),
        Ok(None) => Err(not_found(state, ctx)),
        Err(e) => Err(error_page(
            state,
            ctx,
            ApiError::from(e).support(&ctx.support_code),
        )),
    }
}

fn store_error(state: &AppState, ctx: &RequestContext, e: StoreError) -> Response {
    error_page(state, ctx, ApiError::from(e).support(&ctx.support_code))
}

fn done_notice(state: &AppState, ctx: &RequestContext, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "created" => "admin.done_created",
        "updated" => "admin.done_updated",
        "unlocked" => "admin.done_unlocked",
        "password" => "admin.done_password",
        "registration" => "admin.done_registration",
        "sessions" => "admin.done_sessions",
        "deleted" => "admin.done_deleted",
        "member_added" => "admin.done_member_added",
        "member_removed" => "admin.done_member_removed",
        _ => return None,
    };
    Some(tr(state, ctx, key))
}

fn optional(form: &FormFields, name: &str) -> Option<String> {
    form.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// The previous and next links of a paged list, keeping its search.
fn page_links(
    path: &str,
    search: Option<&str>,
    page: u64,
    pages: u64,
) -> (Option<String>, Option<String>) {
    let link = |p: u64| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(q) = search {
            s.append_pair("q", q);
        }
        s.append_pair("page", &p.to_string());
        format!("{path}?{}", s.finish())
    };
    (
        (page > 1).then(|| link(page - 1)),
        (page < pages).then(|| link(page + 1)),
    )
}

// Users --------------------------------------------------------------------------------------

pub async fn users(
    State(state): State<AppState>,
    ctx: RequestContext,
    q: Result<Query<ListQuery>, QueryRejection>,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    // An unreadable query (a hand-typed `page=x`) shows the first page, not an error.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    users_page(&state, &ctx, &admin, &q, &[], None, StatusCode::OK).await
}

async fn users_page(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    q: &ListQuery,
    errors: &[String],
    typed: Option<&FormFields>,
    status: StatusCode,
) -> Response {
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let found = match state
        .store
        .search_users(search, (page - 1) * PER_PAGE, PER_PAGE)
        .await
    {
        Ok(p) => p,
        Err(e) => return store_error(state, ctx, e),
    };
    let now = state.clock.now();
    let rows: Vec<Value> = found
        .items
        .iter()
        .map(|u| {
            context! {
                id => u.id.to_string(),
                username => u.username.as_str(),
                display_name => u.display_name.as_str(),
                email => u.email.as_ref().map(|e| e.as_str().to_owned()),
                source => u.source.as_str(),
                roles => u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                enabled => u.enabled,
                locked => u.is_locked(now),
            }
        })
        .collect();
    let pages = found.total.div_ceil(u64::from(PER_PAGE)).max(1);
    let (prev, next) = page_links("/admin/users", search, u64::from(page), pages);
    let typed = |name: &str| typed.map(|f| f.text(name).to_owned()).unwrap_or_default();
    render_admin(
        state,
        ctx,
        admin,
        status,
        "users",
        "admin_users.html",
        context! {
            rows => rows,
            q => search.unwrap_or(""),
            total => found.total,
            page => page,
            pages => pages,
            prev => prev,
            next => next,
            can_create => may(&admin.roles, AdminAction::ManageUsers),
            errors => errors.to_vec(),
            notice => done_notice(state, ctx, q.done.as_deref()),
            new_username => typed("username"),
            new_display_name => typed("display_name"),
            new_email => typed("email"),
            new_mobile => typed("mobile_phone"),
        },
    )
}

pub async fn create_user(
    State(state): State<AppState>,
    ctx: RequestContext,
    PortalAdmin(admin): PortalAdmin,
    body: Bytes,
) -> Response {
    let form = FormFields::parse(&body);
    let req = NewUserRequest {
        username: form.text("username").to_owned(),
        display_name: form.text("display_name").to_owned(),
        first_name: None,
        last_name: None,
        email: optional(&form, "email"),
        alternate_email: None,
        mobile_phone: optional(&form, "mobile_phone"),
        office_phone: None,
        roles: Default::default(),
        enabled: true,
        password: form
            .get("password")
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    };
    let in_force = match RulesInForce::load(&state, &ctx).await {
        Ok(r) => r,
        Err(e) => return error_page(&state, &ctx, e),
    };
    match admin_users(&state)
        .create(&caller_of(&admin, &ctx), &req, &in_force.rules(&state))
        .await
    {
        Ok(u) => Redirect::to(&format!("/admin/users/{}?done=created", u.id)).into_response(),
        Err(e) => match form_errors(&state, &ctx, e) {
            Ok(errors) => {
                users_page(
                    &state,
                    &ctx,
                    &admin,
                    &ListQuery::default(),
                    &errors,
                    Some(&form),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => failed(&state, &ctx, e),
        },
    }
}

pub async fn user_detail(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    // An unreadable query (a hand-typed `page=x`) shows the first page, not an error.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let target = match load_user(&state, &ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let notice = done_notice(&state, &ctx, q.done.as_deref());
    user_page(&state, &ctx, &admin, &target, &[], notice, StatusCode::OK).await
}

async fn user_page(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    target: &User,
    errors: &[String],
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let groups = match group_names(state, target.id).await {
        Ok(g) => g,
        Err(e) => return store_error(state, ctx, e),
    };
    let labels = method_labels(state, ctx);
    let methods: Vec<Value> = match state.store.list_methods(target.id).await {
        Ok(list) => list
            .iter()
            .map(|m| {
                context! {
                    label => labels.get(m.kind.as_str()).cloned().unwrap_or_default(),
                    verified => m.is_verified(),
                }
            })
            .collect(),
        Err(e) => return store_error(state, ctx, e),
    };
    let may_on = |a: AdminAction| may_act_on(&admin.roles, a, &target.roles);
    let fmt = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    };
    let roles: Vec<Value> = AdminRole::ALL
        .iter()
        .map(|r| {
            context! {
                id => r.as_str(),
                label => tr(state, ctx, &format!("admin.role_{}", r.as_str())),
                on => target.roles.contains(r),
            }
        })
        .collect();
    render_admin(
        state,
        ctx,
        admin,
        status,
        "users",
        "admin_user.html",
        context! {
            u => context! {
                id => target.id.to_string(),
                username => target.username.as_str(),
                display_name => target.display_name.as_str(),
                first_name => target.first_name.clone().unwrap_or_default(),
                last_name => target.last_name.clone().unwrap_or_default(),
                email => target.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
                alternate_email => target.alternate_email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
                mobile_phone => target.mobile_phone.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
                office_phone => target.office_phone.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
                enabled => target.enabled,
                source => target.source.as_str(),
                locked => target.is_locked(state.clock.now()),
                password_changed_at => fmt(target.password_changed_at),
                registration_confirmed_at => fmt(target.registration_confirmed_at),
            },
            roles => roles,
            groups => groups,
            methods => methods,
            may_edit => may_on(AdminAction::ManageUsers),
            may_roles => may(&admin.roles, AdminAction::ChangeRoles),
            may_unlock => may_on(AdminAction::Unlock),
            may_password => may_on(AdminAction::ResetPassword),
            may_registration => may_on(AdminAction::RequireRegistration),
            may_sessions => may_on(AdminAction::RevokeSessions),
            may_delete => may_on(AdminAction::ManageUsers) && target.source.as_str() != "directory",
            errors => errors.to_vec(),
            notice => notice,
        },
    )
}

async fn group_names(state: &AppState, user: UserId) -> Result<Vec<Value>, StoreError> {
    let mut out = Vec::new();
    for id in state.store.groups_of_user(user).await? {
        if let Some(g) = state.store.get_group(id).await? {
            out.push(context! { id => g.id.0.to_string(), name => g.name.as_str() });
        }
    }
    Ok(out)
}

/// `POST /admin/users/{id}`: the profile form.
pub async fn update_user(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    PortalAdmin(admin): PortalAdmin,
    body: Bytes,
) -> Response {
    let target = match load_user(&state, &ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let form = FormFields::parse(&body);
    let text = |name: &str| Some(optional(&form, name));
    let roles = may(&admin.roles, AdminAction::ChangeRoles).then(|| {
        form.all("roles")
            .filter_map(|r| AdminRole::ALL.into_iter().find(|x| x.as_str() == r))
            .collect()
    });
    let patch = UserPatch {
        display_name: Some(form.text("display_name").to_owned()),
        first_name: text("first_name"),
        last_name: text("last_name"),
        email: text("email"),
        alternate_email: text("alternate_email"),
        mobile_phone: text("mobile_phone"),
        office_phone: text("office_phone"),
        roles,
        enabled: Some(form.checked("enabled")),
    };
    // A directory user's profile belongs to the directory: only the roles are sspr's.
    let patch = if target.source.as_str() == "directory" {
        UserPatch {
            roles: patch.roles,
            ..UserPatch::default()
        }
    } else {
        patch
    };
    match admin_users(&state)
        .update(&caller_of(&admin, &ctx), &target, &patch)
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/users/{}?done=updated", target.id)).into_response(),
        Err(e) => match refusal(&state, &ctx, e) {
            Ok(errors) => user_refused(&state, &ctx, &admin, &target, &errors).await,
            Err(page) => page,
        },
    }
}

/// `POST /admin/users/{id}/{action}`: the buttons of a user's page.
pub async fn user_action(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((id, action)): Path<(String, String)>,
    PortalAdmin(admin): PortalAdmin,
    body: Bytes,
) -> Response {
    let target = match load_user(&state, &ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let caller = caller_of(&admin, &ctx);
    let service = admin_users(&state);
    let back = |done: &str| {
        Redirect::to(&format!("/admin/users/{}?done={done}", target.id)).into_response()
    };
    let result = match action.as_str() {
        "unlock" => service.unlock(&caller, &target).await.map(|_| "unlocked"),
        "require-registration" => service
            .require_registration(&caller, &target)
            .await
            .map(|_| "registration"),
        "revoke-sessions" => service
            .revoke_sessions(&caller, &target)
            .await
            .map(|_| "sessions"),
        "delete" => match service.delete(&caller, &target).await {
            Ok(()) => return Redirect::to("/admin/users?done=deleted").into_response(),
            Err(e) => Err(e),
        },
        "password" => {
            let form = FormFields::parse(&body);
            if form.text("new_password") != form.text("confirm") {
                let errors = [tr(&state, &ctx, "me.mismatch")];
                return user_refused(&state, &ctx, &admin, &target, &errors).await;
            }
            let in_force = match RulesInForce::load(&state, &ctx).await {
                Ok(r) => r,
                Err(e) => return error_page(&state, &ctx, e),
            };
            service
                .reset_password(
                    &caller,
                    &target,
                    form.text("new_password"),
                    &in_force.rules(&state),
                    state.clock.now(),
                )
                .await
                .map(|_| "password")
        }
        _ => return not_found(&state, &ctx),
    };
    match result {
        Ok(done) => back(done),
        Err(e) => match refusal(&state, &ctx, e) {
            Ok(errors) => user_refused(&state, &ctx, &admin, &target, &errors).await,
            Err(page) => page,
        },
    }
}

// Groups -------------------------------------------------------------------------------------

pub async fn groups(
    State(state): State<AppState>,
    ctx: RequestContext,
    q: Result<Query<ListQuery>, QueryRejection>,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    // An unreadable query (a hand-typed `page=x`) shows the first page, not an error.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    groups_page(&state, &ctx, &admin, &q, &[], StatusCode::OK).await
}

async fn groups_page(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    q: &ListQuery,
    errors: &[String],
    status: StatusCode,
) -> Response {
    let all = match state.store.list_groups().await {
        Ok(g) => g,
        Err(e) => return store_error(state, ctx, e),
    };
    let typed = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let search = typed.unwrap_or("").to_lowercase();
    let matching: Vec<&Group> = all
        .iter()
        .filter(|g| search.is_empty() || g.name.as_str().to_lowercase().contains(&search))
        .collect();
    let total = matching.len() as u64;
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let pages = total.div_ceil(u64::from(PER_PAGE)).max(1);
    let (prev, next) = page_links("/admin/groups", typed, u64::from(page), pages);
    let rows: Vec<Value> = matching
        .iter()
        .skip(((page - 1) * PER_PAGE) as usize)
        .take(PER_PAGE as usize)
        .map(|g| {
            context! {
                id => g.id.0.to_string(),
                name => g.name.as_str(),
                description => g.description.as_str(),
            }
        })
        .collect();
    render_admin(
        state,
        ctx,
        admin,
        status,
        "groups",
        "admin_groups.html",
        context! {
            rows => rows,
            q => typed.unwrap_or(""),
            total => total,
            page => page,
            pages => pages,
            prev => prev,
            next => next,
            can_create => may(&admin.roles, AdminAction::ManageGroups),
            errors => errors.to_vec(),
            notice => done_notice(state, ctx, q.done.as_deref()),
        },
    )
}

pub async fn create_group(
    State(state): State<AppState>,
    ctx: RequestContext,
    PortalAdmin(admin): PortalAdmin,
    body: Bytes,
) -> Response {
    let form = FormFields::parse(&body);
    let req = NewGroupRequest {
        name: form.text("name").to_owned(),
        description: form.text("description").to_owned(),
    };
    match admin_groups::create(state.store.as_ref(), &caller_of(&admin, &ctx), &req).await {
        Ok(g) => Redirect::to(&format!("/admin/groups/{}?done=created", g.id.0)).into_response(),
        Err(e) => match form_errors(&state, &ctx, e) {
            Ok(errors) => {
                groups_page(
                    &state,
                    &ctx,
                    &admin,
                    &ListQuery::default(),
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(AdminError::Store(StoreError::Conflict(m))) => {
                groups_page(
                    &state,
                    &ctx,
                    &admin,
                    &ListQuery::default(),
                    &[m],
                    StatusCode::CONFLICT,
                )
                .await
            }
            Err(e) => failed(&state, &ctx, e),
        },
    }
}

pub async fn group_detail(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    // An unreadable query (a hand-typed `page=x`) shows the first page, not an error.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let group = match load_group(&state, &ctx, &id).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let notice = done_notice(&state, &ctx, q.done.as_deref());
    group_page(&state, &ctx, &admin, &group, &[], notice, StatusCode::OK).await
}

async fn group_page(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    group: &Group,
    errors: &[String],
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let members = match state.store.members(group.id).await {
        Ok(m) => m,
        Err(e) => return store_error(state, ctx, e),
    };
    let total = members.len();
    let mut rows = Vec::new();
    for m in members.into_iter().take(MEMBERS_SHOWN) {
        let row = match m {
            Member::User(id) => match state.store.get_user(id).await {
                Ok(Some(u)) => context! {
                    kind => "user", id => u.id.to_string(), name => u.username.as_str(),
                    label => u.display_name.as_str(),
                },
                Ok(None) => continue,
                Err(e) => return store_error(state, ctx, e),
            },
            Member::Group(id) => match state.store.get_group(id).await {
                Ok(Some(g)) => context! {
                    kind => "group", id => g.id.0.to_string(), name => g.name.as_str(),
                    label => g.description.as_str(),
                },
                Ok(None) => continue,
                Err(e) => return store_error(state, ctx, e),
            },
        };
        rows.push(row);
    }
    render_admin(
        state,
        ctx,
        admin,
        status,
        "groups",
        "admin_group.html",
        context! {
            g => context! {
                id => group.id.0.to_string(),
                name => group.name.as_str(),
                description => group.description.as_str(),
            },
            members => rows,
            total => total,
            shown => total.min(MEMBERS_SHOWN),
            may_edit => may(&admin.roles, AdminAction::ManageGroups),
            errors => errors.to_vec(),
            notice => notice,
        },
    )
}

/// `POST /admin/groups/{id}/{action}`: rename, delete, add or remove a member.
pub async fn group_action(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((id, action)): Path<(String, String)>,
    PortalAdmin(admin): PortalAdmin,
    body: Bytes,
) -> Response {
    let group = match load_group(&state, &ctx, &id).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let form = FormFields::parse(&body);
    let caller = caller_of(&admin, &ctx);
    let store = state.store.as_ref();
    let result = match action.as_str() {
        "update" => {
            let patch = GroupPatch {
                name: Some(form.text("name").to_owned()),
                description: Some(form.text("description").to_owned()),
            };
            admin_groups::update(store, &caller, &group, &patch)
                .await
                .map(|_| "updated")
        }
        "delete" => match admin_groups::delete(store, &caller, &group).await {
            Ok(()) => return Redirect::to("/admin/groups?done=deleted").into_response(),
            Err(e) => Err(e),
        },
        "add" => match resolve_member(&state, form.text("member")).await {
            Ok(Some(member)) => admin_groups::add_member(store, &caller, &group, member)
                .await
                .map(|_| "member_added"),
            Ok(None) => {
                let errors = [tr(&state, &ctx, "admin.no_such_member")];
                return group_refused(
                    &state,
                    &ctx,
                    &admin,
                    &group,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            Err(e) => return store_error(&state, &ctx, e),
        },
        "remove" => {
            let member = match (form.text("kind"), uuid::Uuid::parse_str(form.text("id"))) {
                ("user", Ok(id)) => Member::User(UserId(id)),
                ("group", Ok(id)) => Member::Group(GroupId(id)),
                _ => return not_found(&state, &ctx),
            };
            admin_groups::remove_member(store, &caller, &group, member)
                .await
                .map(|_| "member_removed")
        }
        _ => return not_found(&state, &ctx),
    };
    match result {
        Ok(done) => {
            Redirect::to(&format!("/admin/groups/{}?done={done}", group.id.0)).into_response()
        }
        Err(AdminError::Store(StoreError::Conflict(m))) => {
            group_page(
                &state,
                &ctx,
                &admin,
                &group,
                &[m],
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => match refusal(&state, &ctx, e) {
            Ok(errors) => {
                group_refused(
                    &state,
                    &ctx,
                    &admin,
                    &group,
                    &errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(page) => page,
        },
    }
}

/// A member typed by name: a username first, else a group name.
async fn resolve_member(state: &AppState, typed: &str) -> Result<Option<Member>, StoreError> {
    let typed = typed.trim();
    if let Ok(name) = Username::parse(typed)
        && let Some(u) = state.store.find_user(&name).await?
    {
        return Ok(Some(Member::User(u.id)));
    }
    if let Ok(name) = GroupName::parse(typed)
        && let Some(g) = state.store.find_group(&name).await?
    {
        return Ok(Some(Member::Group(g.id)));
    }
    Ok(None)
}
