//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the JSON API (SPEC §9), built
//! by utoipa from the handlers' own annotations, so it cannot drift from their signatures.
//! [`ADMIN_ROUTES`] is the table of every admin route with the action it performs; a test
//! checks each one is in the document and is served.

use std::sync::LazyLock;

use axum::Json;
use axum::response::IntoResponse;
use serde::Serialize;
use sspr_core::service::admin_access::AdminAction;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{
    api_admin_actions, api_admin_audit, api_admin_directory, api_admin_groups, api_admin_policy,
    api_admin_reports, api_admin_tokens, api_admin_users, api_me, api_password, api_reset,
    api_session,
};

/// An error answer: `{"error", "message", "support_code"}` (SPEC §9.1), sometimes with
/// more (`fields`, `reasons`, `retry_after`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub error: String,
    pub message: String,
    pub support_code: String,
}

/// Declares a named schema that is "a JSON object" with a description: for bodies whose
/// types live in sspr-core, which does not depend on utoipa (their fields are listed in
/// docs/admin-api.md).
macro_rules! object_schema {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .description(Some($doc))
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

object_schema!(
    SsprPolicyDoc,
    "The whole SSPR policy of SPEC §2 (enablement, target_group, methods_required, methods_enabled, …)."
);
object_schema!(
    PasswordPolicyDoc,
    "The password policy of SPEC §3 with the custom banned terms."
);
object_schema!(
    DirectoryStatusDoc,
    "The directory's writeback status: healthy, and each check's result."
);
object_schema!(
    SyncReportDoc,
    "A directory sync's report: read, created, updated, removed, skipped, conflicts."
);

object_schema!(
    ChallengeDoc,
    "An ALTCHA proof-of-work challenge: algorithm, challenge, maxnumber, salt, signature."
);
object_schema!(
    ResetFlowDoc,
    "Where a reset flow stands: flow_id, required, verified (a count), methods (id, type, hint, verified), expires_at, stage, can_unlock."
);
object_schema!(
    SentDoc,
    "For security questions: `questions` (id and text of each question to answer); for a passkey: `publicKey` (WebAuthn request options)."
);

/// The start of a reset flow. An ID that cannot reset gets the same answer with decoy methods.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResetStartedDoc {
    pub flow_id: String,
    /// How many methods must be verified.
    pub required: u8,
    pub methods: Vec<ResetMethodDoc>,
    /// RFC 3339.
    pub expires_at: String,
}

/// A method the flow offers, masked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResetMethodDoc {
    pub id: String,
    /// email, mobile_sms, mobile_voice, office_voice, authenticator_code, security_questions,
    /// passkey.
    #[serde(rename = "type")]
    pub kind: String,
    /// A masked destination ("a•••@e•••.org"), or the method's label.
    pub hint: String,
}

/// A proof accepted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifiedDoc {
    /// Whether enough methods are verified to act.
    pub verified: bool,
    pub verified_count: usize,
    pub required: u8,
    /// Whether unlocking alone is offered (the policy allows it and the account is locked).
    pub can_unlock: bool,
}

/// The end of a flow: `reset` or `unlocked`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResetDoneDoc {
    pub status: String,
}

object_schema!(
    MethodDoc,
    "A method of the signed-in user: id, type, hint (masked), verified, source (user, or admin for profile data), created_at; a new authenticator app also otpauth_uri, qr_svg and secret."
);
object_schema!(
    PasskeyOptionsDoc,
    "ceremony (its id, valid 5 minutes) and publicKey (options for navigator.credentials.create, binary fields base64url)."
);
object_schema!(
    QuestionsDoc,
    "required (how many to answer) and questions (id and text of each, in the asked language)."
);
object_schema!(
    RegistrationDoc,
    "registration (ok, required or reconfirm) and can_skip_until (RFC 3339, or null)."
);
object_schema!(PasswordChangedDoc, "status: changed.");

/// Every route of the JSON API outside `/admin`: method, path, and whether it needs a
/// signed-in user's session. The reset flow's routes are bound to the flow's cookie instead.
pub const USER_ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/api/v1/reset/challenge", false),
    ("POST", "/api/v1/reset", false),
    ("GET", "/api/v1/reset/{flow}", false),
    ("POST", "/api/v1/reset/{flow}/methods/{method}/send", false),
    (
        "POST",
        "/api/v1/reset/{flow}/methods/{method}/verify",
        false,
    ),
    ("POST", "/api/v1/reset/{flow}/password", false),
    ("POST", "/api/v1/reset/{flow}/unlock", false),
    ("POST", "/api/v1/session", false),
    ("DELETE", "/api/v1/session", true),
    ("POST", "/api/v1/password/check", false),
    ("POST", "/api/v1/me/password", true),
    ("GET", "/api/v1/me/methods", true),
    ("POST", "/api/v1/me/methods", true),
    ("DELETE", "/api/v1/me/methods/{id}", true),
    ("POST", "/api/v1/me/methods/{id}/verify", true),
    ("POST", "/api/v1/me/methods/{id}/resend", true),
    ("GET", "/api/v1/me/security-questions", true),
    ("PUT", "/api/v1/me/security-questions", true),
    ("POST", "/api/v1/me/passkeys/options", true),
    ("POST", "/api/v1/me/passkeys", true),
    ("GET", "/api/v1/me/registration", true),
    ("POST", "/api/v1/me/registration/confirm", true),
    ("POST", "/api/v1/me/registration/skip", true),
];

/// Every admin route: method, path (as in the router and the document), and the one action
/// it performs — which decides the roles that may call it (`AdminAction::roles`).
pub const ADMIN_ROUTES: &[(&str, &str, AdminAction)] = &[
    ("GET", "/api/v1/admin/policy", AdminAction::ReadSettings),
    ("PUT", "/api/v1/admin/policy", AdminAction::ChangeSettings),
    (
        "GET",
        "/api/v1/admin/password-policy",
        AdminAction::ReadSettings,
    ),
    (
        "PUT",
        "/api/v1/admin/password-policy",
        AdminAction::ChangeSettings,
    ),
    (
        "GET",
        "/api/v1/admin/directory/status",
        AdminAction::ReadSettings,
    ),
    (
        "POST",
        "/api/v1/admin/directory/sync",
        AdminAction::SyncDirectory,
    ),
    ("GET", "/api/v1/admin/users", AdminAction::ReadDirectory),
    ("POST", "/api/v1/admin/users", AdminAction::ManageUsers),
    (
        "GET",
        "/api/v1/admin/users/{id}",
        AdminAction::ReadDirectory,
    ),
    (
        "PATCH",
        "/api/v1/admin/users/{id}",
        AdminAction::ManageUsers,
    ),
    (
        "DELETE",
        "/api/v1/admin/users/{id}",
        AdminAction::ManageUsers,
    ),
    (
        "POST",
        "/api/v1/admin/users/{id}/unlock",
        AdminAction::Unlock,
    ),
    (
        "POST",
        "/api/v1/admin/users/{id}/password",
        AdminAction::ResetPassword,
    ),
    (
        "POST",
        "/api/v1/admin/users/{id}/require-registration",
        AdminAction::RequireRegistration,
    ),
    (
        "POST",
        "/api/v1/admin/users/{id}/revoke-sessions",
        AdminAction::RevokeSessions,
    ),
    ("GET", "/api/v1/admin/groups", AdminAction::ReadDirectory),
    ("POST", "/api/v1/admin/groups", AdminAction::ManageGroups),
    (
        "GET",
        "/api/v1/admin/groups/{id}",
        AdminAction::ReadDirectory,
    ),
    (
        "PATCH",
        "/api/v1/admin/groups/{id}",
        AdminAction::ManageGroups,
    ),
    (
        "DELETE",
        "/api/v1/admin/groups/{id}",
        AdminAction::ManageGroups,
    ),
    (
        "GET",
        "/api/v1/admin/groups/{id}/members",
        AdminAction::ReadDirectory,
    ),
    (
        "POST",
        "/api/v1/admin/groups/{id}/members",
        AdminAction::ManageGroups,
    ),
    (
        "DELETE",
        "/api/v1/admin/groups/{id}/members/{member_id}",
        AdminAction::ManageGroups,
    ),
    (
        "POST",
        "/api/v1/admin/test-message",
        AdminAction::SendTestMessage,
    ),
    ("GET", "/api/v1/admin/audit", AdminAction::ReadAudit),
    (
        "GET",
        "/api/v1/admin/reports/registration",
        AdminAction::ReadReports,
    ),
    (
        "GET",
        "/api/v1/admin/reports/activity",
        AdminAction::ReadReports,
    ),
    ("GET", "/api/v1/admin/tokens", AdminAction::ManageTokens),
    ("POST", "/api/v1/admin/tokens", AdminAction::ManageTokens),
    (
        "DELETE",
        "/api/v1/admin/tokens/{id}",
        AdminAction::ManageTokens,
    ),
];

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sspr_<id>_<secret>")
                    .description(Some(
                        "An API token (`sspr token create`, or POST /api/v1/admin/tokens).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "sspr_session",
                "A signed-in user's session (POST /api/v1/session; an admin's for the admin routes); `__Host-sspr_session` over https.",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sspr",
        description = "Self-service password reset: the JSON API. Admin routes take an admin session or `Authorization: Bearer <api token>`; the /me routes a user's session; the reset routes take the flow's cookie, set by its start; errors are `{error, message, support_code}`.",
    ),
    paths(
        api_admin_policy::get,
        api_admin_policy::put,
        api_password::get_policy,
        api_password::put_policy,
        api_admin_directory::status,
        api_admin_directory::sync,
        api_admin_users::list,
        api_admin_users::create,
        api_admin_users::show,
        api_admin_users::update,
        api_admin_users::delete,
        api_admin_actions::unlock,
        api_admin_actions::set_password,
        api_admin_actions::require_registration,
        api_admin_actions::revoke_sessions,
        api_admin_actions::test_message,
        api_admin_groups::list,
        api_admin_groups::create,
        api_admin_groups::show,
        api_admin_groups::update,
        api_admin_groups::delete,
        api_admin_groups::members,
        api_admin_groups::add_member,
        api_admin_groups::remove_member,
        api_admin_audit::list,
        api_admin_reports::registration,
        api_admin_reports::activity,
        api_admin_tokens::list,
        api_admin_tokens::create,
        api_admin_tokens::revoke,
        api_reset::challenge,
        api_reset::start,
        api_reset::show,
        api_reset::send,
        api_reset::verify,
        api_reset::password,
        api_reset::unlock,
        api_session::create,
        api_session::delete,
        api_password::check,
        api_password::change,
        api_me::list,
        api_me::add,
        api_me::remove,
        api_me::verify,
        api_me::resend,
        api_me::questions_catalogue,
        api_me::put_questions,
        api_me::passkey_options,
        api_me::passkey_finish,
        api_me::registration,
        api_me::confirm,
        api_me::skip,
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    tags(
        (name = "admin", description = "Administration (SPEC §9.1)"),
        (name = "reset", description = "Self-service reset and unlock (SPEC §5, §9.1): public, bound to the flow's cookie"),
        (name = "session", description = "Sign in and out"),
        (name = "me", description = "The signed-in user's password and security info (SPEC §6)"),
        (name = "password", description = "Checking a candidate password against the policy"),
    ),
)]
pub struct ApiDoc;

static DOCUMENT: LazyLock<serde_json::Value> = LazyLock::new(|| {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(&doc).unwrap_or_default();
    name_operations(&mut doc);
    link_created_resources(&mut doc);
    doc
});

/// utoipa names an operation after its handler, and several handlers share a name (`list`,
/// `create`…); operation ids must be unique, so each is named after its method and path
/// instead: `get_admin_users_id`.
fn name_operations(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let name: String = path
                .trim_start_matches("/api/v1/")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let name = name.replace("__", "_");
            op["operationId"] = serde_json::json!(format!("{method}_{}", name.trim_matches('_')));
        }
    }
}

/// OpenAPI links from "create" to what acts on the created resource, so a stateful client
/// (schemathesis's stateful phase) can walk create → read → change → act → delete.
fn link_created_resources(doc: &mut serde_json::Value) {
    let links = |targets: &[&str]| -> serde_json::Value {
        targets
            .iter()
            .map(|op| {
                (
                    (*op).to_owned(),
                    serde_json::json!({
                        "operationId": op,
                        "parameters": {"id": "$response.body#/id"},
                    }),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    doc["paths"]["/api/v1/admin/users"]["post"]["responses"]["201"]["links"] = links(&[
        "get_admin_users_id",
        "patch_admin_users_id",
        "delete_admin_users_id",
        "post_admin_users_id_password",
        "post_admin_users_id_unlock",
        "post_admin_users_id_require_registration",
        "post_admin_users_id_revoke_sessions",
    ]);
    doc["paths"]["/api/v1/admin/groups"]["post"]["responses"]["201"]["links"] = links(&[
        "get_admin_groups_id",
        "patch_admin_groups_id",
        "delete_admin_groups_id",
        "get_admin_groups_id_members",
        "post_admin_groups_id_members",
    ]);
    doc["paths"]["/api/v1/admin/tokens"]["post"]["responses"]["201"]["links"] =
        links(&["delete_admin_tokens_id"]);
}

/// The document as JSON (built once).
pub fn document() -> &'static serde_json::Value {
    &DOCUMENT
}

pub async fn serve() -> impl IntoResponse {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_route_is_documented_with_its_access_and_errors() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        for (method, path, needs_session) in USER_ROUTES {
            let op = &paths[*path][method.to_ascii_lowercase()];
            assert!(
                op.is_object(),
                "{method} {path} is not in the OpenAPI document"
            );
            let responses = op["responses"].as_object().unwrap();
            assert_eq!(
                op["security"].to_string().contains("session"),
                *needs_session,
                "{method} {path}: session"
            );
            if *needs_session && *method != "DELETE" {
                assert!(responses.contains_key("401"), "{method} {path}: 401");
            }
            if path.starts_with("/api/v1/reset/{flow}") {
                assert!(responses.contains_key("404"), "{method} {path}: 404");
            }
            if path.ends_with("/send") || path.ends_with("/verify") {
                assert!(responses.contains_key("429"), "{method} {path}: 429");
            }
        }
        // And nothing documented outside /admin that the table lacks.
        for (path, item) in paths.iter().filter(|(p, _)| !p.contains("/admin/")) {
            for method in item.as_object().unwrap().keys() {
                assert!(
                    USER_ROUTES
                        .iter()
                        .any(|(m, p, _)| p == path && m.eq_ignore_ascii_case(method)),
                    "{method} {path} is documented but not in USER_ROUTES"
                );
            }
        }
        // Two request bodies named alike in the code are two schemas in the document.
        let schemas = &doc["components"]["schemas"];
        for field in ["code", "answers", "assertion"] {
            assert!(
                schemas["VerifyRequest"]["properties"][field].is_object(),
                "VerifyRequest.{field}"
            );
        }
        assert!(schemas["MethodVerifyRequest"]["properties"]["code"].is_object());
    }

    #[test]
    fn every_admin_route_is_documented_with_its_method_and_security() {
        let doc = document();
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
        let paths = doc["paths"].as_object().expect("paths");
        for (method, path, _) in ADMIN_ROUTES {
            let op = paths
                .get(*path)
                .and_then(|p| p.get(method.to_ascii_lowercase()))
                .unwrap_or_else(|| panic!("{method} {path} is not in the OpenAPI document"));
            assert!(
                op["security"].to_string().contains("bearer"),
                "{method} {path} names the bearer scheme"
            );
            assert!(op["responses"].get("401").is_some(), "{method} {path}: 401");
        }
        // And nothing documented under /admin that the table (and so the router) lacks.
        for (path, item) in paths.iter().filter(|(p, _)| p.contains("/admin/")) {
            for method in item.as_object().unwrap().keys() {
                assert!(
                    ADMIN_ROUTES
                        .iter()
                        .any(|(m, p, _)| p == path && m.eq_ignore_ascii_case(method)),
                    "{method} {path} is documented but not in ADMIN_ROUTES"
                );
            }
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        // Operation ids are unique, and every link names one that exists.
        let mut ids = std::collections::BTreeSet::new();
        for item in paths.values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(ids.insert(id.clone()), "duplicate operationId {id}");
            }
        }
        let mut links = 0;
        for item in paths.values() {
            for op in item.as_object().unwrap().values() {
                for response in op["responses"].as_object().unwrap().values() {
                    for link in response["links"].as_object().into_iter().flatten() {
                        let target = link.1["operationId"].as_str().unwrap();
                        assert!(ids.contains(target), "link to unknown {target}");
                        links += 1;
                    }
                }
            }
        }
        assert_eq!(links, 13);
    }
}
