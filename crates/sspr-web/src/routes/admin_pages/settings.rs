//! The settings sections of the portal: the SSPR policy of SPEC §2, split as Entra's blades
//! are, and password protection (SPEC §3). GET shows the current values to every admin role;
//! POST (global administrators) takes the section's fields, keeps every other setting, and
//! stores the whole through the same service as the API — validated, and audited with old and
//! new values. A refused form comes back with what was typed and one message per field.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use sspr_core::policy::password::PasswordPolicy;
use sspr_core::ports::Check;
use sspr_core::service::passwords::{PasswordPolicyUpdateError, update_password_policy};
use sspr_core::service::policy_admin::{PolicyUpdateError, update_policy};
use sspr_core::{
    AdminRole, Enablement, FieldError, GroupId, HelpdeskLink, MethodType, SsprPolicy, User,
};

use super::form::FormFields;
use super::{PortalAdmin, SECTIONS, may_change_settings, render_admin};
use crate::AppState;
use crate::admin_auth::AdminAuth;
use crate::error::ApiError;
use crate::middleware::RequestContext;
use crate::routes::api_admin_actions::{self, TestChannel, TestMessage};
use crate::routes::pages::{error_page, method_labels, tr, trf};

/// How many groups the target-group picker lists for one search.
const GROUP_MATCHES: usize = 50;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    /// How many settings the last save changed (the page says so).
    saved: Option<usize>,
    /// The target-group picker's search.
    group_q: Option<String>,
    /// The result of "sync now" on the on-premises page.
    synced: Option<String>,
    /// A test message was queued (to this address).
    tested: Option<String>,
}

/// What a section's form proposes: the whole SSPR policy and password policy with the
/// section's fields replaced, and the fields that could not even be read.
struct Proposal {
    policy: SsprPolicy,
    password: PasswordPolicy,
    unreadable: Vec<String>,
}

fn known(section: &str) -> bool {
    SECTIONS.contains(&section)
}

pub async fn section_page(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(section): Path<String>,
    q: Result<Query<PageQuery>, QueryRejection>,
    PortalAdmin(admin): PortalAdmin,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    if !known(&section) {
        return error_page(&state, &ctx, not_found(&ctx));
    }
    let (policy, password) = match current(&state).await {
        Ok(p) => p,
        Err(e) => return error_page(&state, &ctx, e.support(&ctx.support_code)),
    };
    let notice = match (q.saved, q.synced.as_deref(), q.tested.as_deref()) {
        (Some(0), _, _) => Some(tr(&state, &ctx, "admin.saved_nothing")),
        (Some(n), _, _) => Some(trf(
            &state,
            &ctx,
            "admin.saved",
            &[("count", &n.to_string())],
        )),
        (None, Some(s), _) => Some(trf(&state, &ctx, "admin.synced", &[("summary", s)])),
        (None, None, Some(to)) => Some(trf(&state, &ctx, "admin.test_queued", &[("to", to)])),
        _ => None,
    };
    let proposal = Proposal {
        policy,
        password,
        unreadable: Vec::new(),
    };
    page(
        &state,
        &ctx,
        &admin,
        &section,
        &proposal,
        &[],
        notice,
        q.group_q.as_deref(),
        StatusCode::OK,
    )
    .await
}

pub async fn section_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(section): Path<String>,
    PortalAdmin(admin): PortalAdmin,
    body: Bytes,
) -> Response {
    if !known(&section) {
        return error_page(&state, &ctx, not_found(&ctx));
    }
    if !may_change_settings(&admin) {
        return error_page(&state, &ctx, forbidden(&state, &ctx));
    }
    let (policy, password) = match current(&state).await {
        Ok(p) => p,
        Err(e) => return error_page(&state, &ctx, e.support(&ctx.support_code)),
    };
    let form = FormFields::parse(&body);
    let proposal = propose(&section, &form, policy, password);
    let errors: Vec<FieldError> = proposal
        .unreadable
        .iter()
        .map(|f| FieldError {
            field: f.clone(),
            message: tr(&state, &ctx, "admin.not_a_number"),
        })
        .collect();
    if !errors.is_empty() {
        return refused(&state, &ctx, &admin, &section, &proposal, &errors).await;
    }
    let actor = admin.username.as_str();
    let saved = if section == "protection" {
        match update_password_policy(state.store.as_ref(), &proposal.password, actor).await {
            Ok(changes) => changes.len(),
            Err(PasswordPolicyUpdateError::Invalid(errors)) => {
                return refused(&state, &ctx, &admin, &section, &proposal, &errors).await;
            }
            Err(PasswordPolicyUpdateError::Store(e)) => {
                return error_page(&state, &ctx, ApiError::from(e).support(&ctx.support_code));
            }
        }
    } else {
        match update_policy(state.store.as_ref(), &proposal.policy, actor).await {
            Ok(changes) => {
                state.brand.apply(&proposal.policy);
                changes.len()
            }
            Err(PolicyUpdateError::Invalid(errors)) => {
                return refused(&state, &ctx, &admin, &section, &proposal, &errors).await;
            }
            Err(PolicyUpdateError::Store(e)) => {
                return error_page(&state, &ctx, ApiError::from(e).support(&ctx.support_code));
            }
        }
    };
    // Post/redirect/get: a reload does not submit the form again.
    Redirect::to(&format!("/admin/{section}?saved={saved}")).into_response()
}

/// `POST /admin/onprem/sync`: a directory sync now (global and user administrators).
pub async fn sync_now(
    State(state): State<AppState>,
    ctx: RequestContext,
    PortalAdmin(admin): PortalAdmin,
    body: Bytes,
) -> Response {
    if !admin
        .roles
        .iter()
        .any(|r| matches!(r, AdminRole::GlobalAdmin | AdminRole::UserAdmin))
    {
        return error_page(&state, &ctx, forbidden(&state, &ctx));
    }
    let Some(job) = &state.directory_sync else {
        return error_page(&state, &ctx, not_found(&ctx));
    };
    let full = FormFields::parse(&body).checked("full");
    match job.run(full, admin.username.as_str()).await {
        Ok(report) => {
            let summary = summarise(&report);
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("synced", &summary)
                .finish();
            Redirect::to(&format!("/admin/onprem?{query}")).into_response()
        }
        Err(e) => error_page(
            &state,
            &ctx,
            ApiError::directory(&e).support(&ctx.support_code),
        ),
    }
}

/// `POST /admin/notifications/test`: a test message through the configured delivery, by the
/// same handler as `POST /api/v1/admin/test-message` (global administrators; fixed text).
pub async fn test_message(
    State(state): State<AppState>,
    ctx: RequestContext,
    auth: Result<AdminAuth, Response>,
    body: Bytes,
) -> Response {
    let auth = match auth {
        Ok(a) => a,
        Err(_) => return Redirect::to("/admin/signin").into_response(),
    };
    let form = FormFields::parse(&body);
    let channel = match form.text("channel") {
        "sms" => TestChannel::Sms,
        "voice" => TestChannel::Voice,
        _ => TestChannel::Email,
    };
    let to = form.text("to").to_owned();
    let request = Ok(axum::Json(TestMessage {
        channel,
        to: to.clone(),
    }));
    match api_admin_actions::test_message(State(state.clone()), auth, request).await {
        Ok(_) => {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("tested", &to)
                .finish();
            Redirect::to(&format!("/admin/notifications?{query}")).into_response()
        }
        Err(e) => error_page(&state, &ctx, e),
    }
}

/// A sync report's counts as one line ("created 3, updated 1, …").
fn summarise(report: &serde_json::Value) -> String {
    report
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| v.is_number())
                .map(|(k, v)| format!("{} {v}", k.replace('_', " ")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

async fn current(state: &AppState) -> Result<(SsprPolicy, PasswordPolicy), ApiError> {
    Ok((
        state.store.policy().await?,
        state.store.password_policy().await?,
    ))
}

fn not_found(ctx: &RequestContext) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such page.").support(&ctx.support_code)
}

fn forbidden(state: &AppState, ctx: &RequestContext) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        tr(state, ctx, "admin.read_only"),
    )
    .support(&ctx.support_code)
}

/// The section's fields read into the current policies; every other setting is kept.
fn propose(
    section: &str,
    form: &FormFields,
    mut policy: SsprPolicy,
    mut password: PasswordPolicy,
) -> Proposal {
    let mut unreadable = Vec::new();
    let mut number = |name: &str, into: &mut dyn FnMut(u16)| match form.number::<u16>(name) {
        Ok(n) => into(n),
        Err(f) => unreadable.push(f),
    };
    match section {
        "properties" => {
            policy.enablement = match form.text("enablement") {
                "selected" => Enablement::Selected,
                "all" => Enablement::All,
                _ => Enablement::None,
            };
            policy.target_group = form
                .get("target_group")
                .and_then(|g| uuid::Uuid::parse_str(g).ok())
                .map(GroupId);
            policy.admin_sspr = form.checked("admin_sspr");
            policy.explicit_messages = form.checked("explicit_messages");
        }
        "methods" => {
            number("methods_required", &mut |n| {
                policy.methods_required = n.min(255) as u8
            });
            policy.methods_enabled = form
                .all("methods_enabled")
                .filter_map(|m| MethodType::parse(m).ok())
                .collect();
            number("questions_to_register", &mut |n| {
                policy.questions_to_register = n.min(255) as u8
            });
            number("questions_to_reset", &mut |n| {
                policy.questions_to_reset = n.min(255) as u8
            });
            policy.custom_questions = form.lines("custom_questions");
        }
        "registration" => {
            policy.require_registration = form.checked("require_registration");
            number("reconfirm_days", &mut |n| policy.reconfirm_days = n);
            number("skip_registration_days", &mut |n| {
                policy.skip_registration_days = n.min(255) as u8
            });
        }
        "notifications" => {
            policy.notify_user_on_reset = form.checked("notify_user_on_reset");
            policy.notify_admins_on_admin_reset = form.checked("notify_admins_on_admin_reset");
            policy.notify_on_method_change = form.checked("notify_on_method_change");
        }
        "customisation" => {
            let set = |name: &str| form.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
            policy.organisation_name = set("organisation_name");
            policy.logo_url = set("logo_url");
            policy.brand_colour = set("brand_colour").map(|c| c.to_ascii_lowercase());
            let value = form.text("helpdesk_value").to_owned();
            policy.helpdesk = match form.text("helpdesk_kind") {
                "url" => HelpdeskLink::Url(value),
                "email" => HelpdeskLink::Email(value),
                _ => HelpdeskLink::Off,
            };
        }
        "onprem" => {
            policy.writeback = form.checked("writeback");
            policy.allow_unlock = form.checked("allow_unlock");
        }
        "protection" => {
            number("min_length", &mut |n| password.min_length = n);
            number("history", &mut |n| password.history = n.min(255) as u8);
            password.allow_unicode = form.checked("allow_unicode");
            password.require_three_classes = form.checked("require_three_classes");
            password.enforce_custom_list = form.checked("enforce_custom_list");
            password.custom_banned_terms = form.lines("custom_banned_terms");
            password.check_breached = form.checked("check_breached");
        }
        _ => {}
    }
    Proposal {
        policy,
        password,
        unreadable,
    }
}

async fn refused(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    section: &str,
    proposal: &Proposal,
    errors: &[FieldError],
) -> Response {
    page(
        state,
        ctx,
        admin,
        section,
        proposal,
        errors,
        None,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn page(
    state: &AppState,
    ctx: &RequestContext,
    admin: &User,
    section: &str,
    proposal: &Proposal,
    errors: &[FieldError],
    notice: Option<String>,
    group_q: Option<&str>,
    status: StatusCode,
) -> Response {
    let policy = &proposal.policy;
    // One message per field, named by the field's label, for the list at the top (each
    // links to its field) and next to the field itself.
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    for e in errors {
        let entry = by_field.entry(field_key(&e.field)).or_default();
        if !entry.is_empty() {
            entry.push_str("; ");
        }
        entry.push_str(&e.message);
    }
    let error_list: Vec<Value> = errors
        .iter()
        .map(|e| {
            let anchor = field_key(&e.field);
            let label = tr(state, ctx, &format!("admin.field_{anchor}"));
            context! { anchor => anchor, text => format!("{label}: {}", e.message) }
        })
        .collect();
    let (helpdesk_kind, helpdesk_value) = match &policy.helpdesk {
        HelpdeskLink::Off => ("off", ""),
        HelpdeskLink::Url(u) => ("url", u.as_str()),
        HelpdeskLink::Email(e) => ("email", e.as_str()),
    };
    let mut extra = context! {};
    match section {
        "properties" => match group_choices(state, policy, group_q).await {
            Ok(groups) => {
                extra = context! { groups => groups, group_q => group_q.unwrap_or("") };
            }
            Err(e) => return error_page(state, ctx, e.support(&ctx.support_code)),
        },
        "methods" => {
            let labels = method_labels(state, ctx);
            let methods: Vec<Value> = MethodType::ALL
                .iter()
                .map(|m| {
                    context! {
                        id => m.as_str(),
                        label => labels.get(m.as_str()).cloned().unwrap_or_default(),
                        on => policy.methods_enabled.contains(m),
                    }
                })
                .collect();
            extra = context! { methods => methods };
        }
        "onprem" => {
            let directory = match &state.directory {
                Some(d) => {
                    let s = d.status().await;
                    let check = |c: &Check| match c {
                        Check::Ok => {
                            context! { ok => true, text => tr(state, ctx, "admin.check_ok") }
                        }
                        Check::Failed { error } => context! { ok => false, text => error.clone() },
                        Check::Skipped { why } => {
                            context! { ok => Value::UNDEFINED, text => why.clone() }
                        }
                    };
                    Some(context! {
                        name => s.directory.clone(),
                        healthy => s.healthy(),
                        reachable => check(&s.reachable),
                        bind => check(&s.bind),
                        write => check(&s.write),
                    })
                }
                None => None,
            };
            let may_sync = admin
                .roles
                .iter()
                .any(|r| matches!(r, AdminRole::GlobalAdmin | AdminRole::UserAdmin));
            extra = context! {
                directory => directory,
                may_sync => may_sync && state.directory_sync.is_some(),
            };
        }
        _ => {}
    }
    let vars = context! {
        policy => Value::from(minijinja::value::Serde(policy)),
        password => Value::from(minijinja::value::Serde(&proposal.password)),
        custom_questions => policy.custom_questions.join("\n"),
        custom_banned_terms => proposal.password.custom_banned_terms.join("\n"),
        helpdesk_kind => helpdesk_kind,
        helpdesk_value => helpdesk_value,
        errors => by_field,
        error_list => error_list,
        notice => notice,
        defaults => context! {
            organisation_name => state.brand.defaults().organisation_name.clone(),
            logo_url => state.brand.defaults().logo_url.clone(),
            colour => state.brand.defaults().colour.clone(),
        },
        ..extra
    };
    render_admin(
        state,
        ctx,
        admin,
        status,
        section,
        &format!("admin_{section}.html"),
        vars,
    )
}

/// The catalogue key of a field named in an error (`helpdesk` for `helpdesk.value`, …).
fn field_key(field: &str) -> String {
    field.split(['.', '[']).next().unwrap_or(field).to_owned()
}

/// The groups the target-group picker offers: the current target first, then those whose name
/// contains the search (case-insensitive), at most `GROUP_MATCHES`.
async fn group_choices(
    state: &AppState,
    policy: &SsprPolicy,
    q: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let groups = state.store.list_groups().await?;
    let needle = q.unwrap_or("").trim().to_lowercase();
    let mut out: Vec<Value> = Vec::new();
    if let Some(current) = policy
        .target_group
        .and_then(|id| groups.iter().find(|g| g.id == id))
    {
        out.push(context! { id => current.id.0.to_string(), name => current.name.as_str(), description => current.description.as_str(), on => true });
    }
    for g in groups
        .iter()
        .filter(|g| Some(g.id) != policy.target_group)
        .filter(|g| needle.is_empty() || g.name.as_str().to_lowercase().contains(&needle))
        .take(GROUP_MATCHES)
    {
        out.push(context! { id => g.id.0.to_string(), name => g.name.as_str(), description => g.description.as_str(), on => false });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> FormFields {
        FormFields::parse(s.as_bytes())
    }

    #[test]
    fn a_section_changes_only_its_own_settings() {
        let before = SsprPolicy::default();
        let p = propose(
            "methods",
            &form(
                "methods_required=2&methods_enabled=email&methods_enabled=passkey&methods_enabled=bogus&questions_to_register=4&questions_to_reset=3&custom_questions=First+pet%3F%0D%0A%0D%0A",
            ),
            before.clone(),
            PasswordPolicy::default(),
        );
        assert!(p.unreadable.is_empty());
        assert_eq!(p.policy.methods_required, 2);
        assert_eq!(
            p.policy.methods_enabled,
            [MethodType::Email, MethodType::Passkey].into()
        );
        assert_eq!(p.policy.custom_questions, ["First pet?"]);
        assert_eq!(p.policy.enablement, before.enablement);
        assert_eq!(p.policy.helpdesk, before.helpdesk);
        assert_eq!(p.password, PasswordPolicy::default());
    }

    #[test]
    fn unticked_boxes_switch_off_and_bad_numbers_are_named() {
        let p = propose(
            "registration",
            &form("reconfirm_days=ninety&skip_registration_days=3"),
            SsprPolicy::default(),
            PasswordPolicy::default(),
        );
        assert!(!p.policy.require_registration);
        assert_eq!(p.policy.skip_registration_days, 3);
        assert_eq!(p.unreadable, ["reconfirm_days"]);
        assert_eq!(
            p.policy.reconfirm_days,
            SsprPolicy::default().reconfirm_days
        );
    }

    #[test]
    fn helpdesk_kinds() {
        let p = propose(
            "customisation",
            &form("helpdesk_kind=email&helpdesk_value=+help%40example.org+"),
            SsprPolicy::default(),
            PasswordPolicy::default(),
        );
        assert_eq!(
            p.policy.helpdesk,
            HelpdeskLink::Email("help@example.org".into())
        );
        let p = propose(
            "customisation",
            &form("helpdesk_kind=nonsense&helpdesk_value=x"),
            SsprPolicy::default(),
            PasswordPolicy::default(),
        );
        assert_eq!(p.policy.helpdesk, HelpdeskLink::Off);
    }

    #[test]
    fn error_fields_map_to_their_labels() {
        assert_eq!(field_key("helpdesk.value"), "helpdesk");
        assert_eq!(field_key("custom_questions[3]"), "custom_questions");
        assert_eq!(field_key("min_length"), "min_length");
    }
}
