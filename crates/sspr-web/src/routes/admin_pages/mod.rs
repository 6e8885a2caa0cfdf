//! The admin portal (SPEC §9): server-rendered pages for administrators, in the languages of
//! the self-service pages, usable without JavaScript. Every page needs a signed-in user with an
//! admin role; changes go through the same services as the JSON API, so they are validated and
//! audited (old and new values, the acting admin) in exactly the same way.

mod form;
mod people;
mod reports;
mod settings;
mod signin;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use sspr_core::{AdminRole, User};

use crate::AppState;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::pages::{error_page, render, tr};
use crate::session::CurrentUser;

pub(crate) use people::{
    create_group, create_user, group_action, group_detail, groups, update_user, user_action,
    user_detail, users,
};
pub(crate) use reports::{
    audit, audit_export, create_token, insights, insights_export, revoke_token, tokens,
};
pub(crate) use settings::{section_page, section_submit, sync_now, test_message};
pub(crate) use signin::{signin_form, signin_submit};

/// The portal's sections in the order of its navigation (their slugs are the URL paths
/// `/admin/<slug>` and the catalogue keys `admin.nav_<slug>`).
const SECTIONS: &[&str] = &[
    "properties",
    "methods",
    "registration",
    "notifications",
    "customisation",
    "onprem",
    "protection",
];

/// The portal's other pages, after the settings in the navigation.
const PAGES: &[&str] = &["users", "groups", "audit", "insights", "tokens"];

/// The signed-in administrator of a portal request, or the response that sends anyone else
/// away: to the admin sign-in when there is no session, a 403 page for a user without roles.
// The response is built once per refused request; boxing it would only add an allocation.
#[allow(clippy::result_large_err)]
pub(crate) fn admin_user(
    state: &AppState,
    ctx: &RequestContext,
    user: Result<CurrentUser, ApiError>,
) -> Result<User, Response> {
    match user {
        Ok(CurrentUser(Some(u))) if !u.roles.is_empty() => Ok(u),
        Ok(CurrentUser(Some(_))) => Err(error_page(
            state,
            ctx,
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                tr(state, ctx, "admin.not_admin"),
            )
            .support(&ctx.support_code),
        )),
        Ok(CurrentUser(None)) => Err(Redirect::to("/admin/signin").into_response()),
        Err(e) => Err(error_page(state, ctx, e.support(&ctx.support_code))),
    }
}

/// The signed-in administrator of a portal page, as an extractor: anyone else is answered by
/// the rejection — the admin sign-in without a session, a 403 page for an account without an
/// admin role.
pub(crate) struct PortalAdmin(pub User);

impl FromRequestParts<AppState> for PortalAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx = RequestContext::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        let user = CurrentUser::from_request_parts(parts, state).await;
        admin_user(state, &ctx, user).map(PortalAdmin)
    }
}

/// Global administrators change the settings; every other role sees them read-only.
pub(crate) fn may_change_settings(admin: &User) -> bool {
    admin.roles.contains(&AdminRole::GlobalAdmin)
}

/// A portal page: the section's template inside the portal's frame (navigation with the
/// current section marked, who is signed in, whether the forms may be submitted).
pub(crate) fn render_admin(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    status: StatusCode,
    section: &str,
    template: &str,
    vars: Value,
) -> Response {
    let nav: Vec<Value> = SECTIONS
        .iter()
        .chain(PAGES)
        .map(|s| {
            context! {
                slug => *s,
                label => tr(state, ctx, &format!("admin.nav_{s}")),
                current => *s == section,
            }
        })
        .collect();
    let roles: Vec<&str> = admin.roles.iter().map(|r| r.as_str()).collect();
    let frame = context! {
        nav => nav,
        section => section,
        section_title => tr(state, ctx, &format!("admin.nav_{section}")),
        admin_name => admin.display_name.as_str(),
        admin_roles => roles,
        can_edit => may_change_settings(admin),
    };
    render(state, ctx, status, template, context! { ..vars, ..frame })
}

/// `GET /admin`: the first section.
pub async fn home() -> Redirect {
    Redirect::to("/admin/properties")
}
