//! The roles table (`sspr_web::routes::ADMIN_ROUTES` with `AdminAction::roles`) enforced on
//! every admin route: each role, no credential, a revoked and an expired token. A refused
//! request must change nothing (no audit record: every change writes one); an allowed one
//! must not be refused.

use reqwest::{Method, StatusCode};
use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::ports::Member;
use sspr_core::ports::{Clock, Store};
use sspr_core::service::api_tokens;
use sspr_core::{AdminRole, GroupId, GroupName, NewGroup};
use sspr_web::routes::ADMIN_ROUTES;
use time::Duration;

use crate::helpers::{TestApp, client, spawn_app};

/// A token made straight in the store (the API's own token routes are under test too).
pub async fn token(app: &TestApp, role: AdminRole) -> String {
    api_tokens::issue(
        app.store.as_ref(),
        &format!("test {role}"),
        role,
        None,
        "test",
        app.clock.now(),
    )
    .await
    .unwrap()
    .secret
}

#[derive(Debug, Clone, Copy)]
enum Caller {
    Nobody,
    Revoked,
    Expired,
    Role(AdminRole),
}

/// Fresh things for one request to act on: a non-admin user (a member of a group) and a
/// token, so that what one request deletes does not break the next.
struct Fixture {
    user: String,
    group: String,
    token_id: String,
}

async fn fixture(app: &TestApp, n: usize) -> Fixture {
    let user = app
        .add_user(&format!("target{n}"), "Tangerine-Bicycle-Orbit-43")
        .await;
    let e = AuditEvent::new("fixture", Outcome::Success);
    let group = app
        .store
        .create_group(
            &NewGroup {
                id: GroupId::new(),
                name: GroupName::parse(&format!("group{n}")).unwrap(),
                description: String::new(),
            },
            &e,
        )
        .await
        .unwrap();
    app.store
        .add_member(group.id, Member::User(user.id), &e)
        .await
        .unwrap();
    let token = api_tokens::issue(
        app.store.as_ref(),
        "fixture",
        AdminRole::ReportsReader,
        None,
        "test",
        app.clock.now(),
    )
    .await
    .unwrap();
    Fixture {
        user: user.id.to_string(),
        group: group.id.to_string(),
        token_id: token.token.id,
    }
}

async fn body_for(
    app: &TestApp,
    method: &str,
    path: &str,
    f: &Fixture,
    n: usize,
) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match (method, path) {
        ("PUT", "/api/v1/admin/policy") => {
            let mut p = serde_json::to_value(app.store.policy().await.unwrap()).unwrap();
            p["reconfirm_days"] = json!(100 + n);
            p
        }
        ("PUT", "/api/v1/admin/password-policy") => {
            let mut p = serde_json::to_value(app.store.password_policy().await.unwrap()).unwrap();
            p["min_length"] = json!(8 + (n % 8));
            p
        }
        ("POST", "/api/v1/admin/users") => {
            json!({"username": format!("new{n}"), "display_name": "New"})
        }
        ("PATCH", "/api/v1/admin/users/{id}") => json!({"display_name": format!("Renamed {n}")}),
        ("POST", "/api/v1/admin/users/{id}/password") => {
            json!({"new_password": "Marigold-Telescope-Anchor-58"})
        }
        ("POST", "/api/v1/admin/groups") => json!({"name": format!("newgroup{n}")}),
        ("PATCH", "/api/v1/admin/groups/{id}") => json!({"description": format!("d{n}")}),
        ("POST", "/api/v1/admin/groups/{id}/members") => {
            let other = app
                .add_user(&format!("member{n}"), "Tangerine-Bicycle-Orbit-43")
                .await;
            json!({"type": "user", "id": other.id.to_string()})
        }
        ("POST", "/api/v1/admin/test-message") => {
            json!({"channel": "email", "to": "someone@example.org"})
        }
        ("POST", "/api/v1/admin/tokens") => json!({"name": "made", "role": "reports_reader"}),
        _ => {
            let _ = f;
            return None;
        }
    })
}

fn fill(path: &str, f: &Fixture) -> String {
    let id = if path.starts_with("/api/v1/admin/groups") {
        &f.group
    } else if path.starts_with("/api/v1/admin/tokens") {
        &f.token_id
    } else {
        &f.user
    };
    path.replace("{id}", id).replace("{member_id}", &f.user)
}

#[tokio::test]
async fn every_role_against_every_admin_route() {
    let app = spawn_app().await;
    let mut credentials = vec![(Caller::Nobody, None)];
    let revoked = token(&app, AdminRole::GlobalAdmin).await;
    let (rid, _) = api_tokens::parse(&revoked).unwrap();
    api_tokens::revoke(app.store.as_ref(), rid, "test", app.clock.now())
        .await
        .unwrap();
    credentials.push((Caller::Revoked, Some(revoked)));
    let expired = api_tokens::issue(
        app.store.as_ref(),
        "old",
        AdminRole::GlobalAdmin,
        Some(1),
        "test",
        app.clock.now() - Duration::days(2),
    )
    .await
    .unwrap()
    .secret;
    credentials.push((Caller::Expired, Some(expired)));
    for role in AdminRole::ALL {
        credentials.push((Caller::Role(role), Some(token(&app, role).await)));
    }
    let http = client();
    let mut n = 0;
    let mut checked = 0;
    for (method, path, action) in ADMIN_ROUTES {
        for (caller, credential) in &credentials {
            n += 1;
            let f = fixture(&app, n).await;
            let url = app.url(&fill(path, &f));
            let mut req = http.request(Method::from_bytes(method.as_bytes()).unwrap(), &url);
            if let Some(t) = credential {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body_for(&app, method, path, &f, n).await {
                req = req.json(&b);
            }
            let (seq_before, _) = app.store.audit_head().await.unwrap();
            let r = req.send().await.unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            let (seq_after, _) = app.store.audit_head().await.unwrap();
            let allowed = match caller {
                Caller::Role(role) => action.roles().contains(role),
                _ => false,
            };
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{caller:?} must be allowed {method} {path}: {status} {text}"
                );
                assert!(
                    !status.is_server_error(),
                    "{caller:?} {method} {path}: {status} {text}"
                );
            } else {
                let expected = match caller {
                    Caller::Role(_) => StatusCode::FORBIDDEN,
                    _ => StatusCode::UNAUTHORIZED,
                };
                assert_eq!(status, expected, "{caller:?} {method} {path}: {text}");
                let body: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert!(body["error"] == "forbidden" || body["error"] == "unauthenticated");
                assert_eq!(
                    seq_before, seq_after,
                    "{caller:?} was refused {method} {path} but something was audited"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ADMIN_ROUTES.len() * (3 + AdminRole::ALL.len()));
}

#[tokio::test]
async fn sessions_follow_the_same_table_as_tokens() {
    let app = spawn_app().await;
    // A helpdesk administrator signed in with a cookie: may unlock a user, may not read
    // tokens or change the policy.
    let helper = app.add_admin("helper", "Tangerine-Bicycle-Orbit-43").await;
    let mut update = sspr_core::ports::ProfileUpdate {
        display_name: helper.display_name.clone(),
        first_name: None,
        last_name: None,
        email: helper.email.clone(),
        alternate_email: None,
        mobile_phone: None,
        office_phone: None,
        roles: [AdminRole::HelpdeskAdmin].into(),
        enabled: true,
    };
    app.store
        .update_profile(helper.id, &update, &AuditEvent::new("t", Outcome::Success))
        .await
        .unwrap();
    let r = app.sign_in("helper", "Tangerine-Bicycle-Orbit-43").await;
    assert_eq!(r.status(), StatusCode::OK);
    let target = app.add_user("plain", "Tangerine-Bicycle-Orbit-43").await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/admin/users/{}/unlock", target.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .get(app.url("/api/v1/admin/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A signed-in user without any admin role is forbidden, not unauthenticated.
    update.roles = Default::default();
    app.store
        .update_profile(helper.id, &update, &AuditEvent::new("t", Outcome::Success))
        .await
        .unwrap();
    let r = app
        .client
        .get(app.url("/api/v1/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn helpdesk_and_password_admins_cannot_reach_higher_admins() {
    let app = spawn_app().await;
    let global = app.add_admin("boss", "Tangerine-Bicycle-Orbit-43").await;
    let http = client();
    for role in [AdminRole::HelpdeskAdmin, AdminRole::PasswordAdmin] {
        let t = token(&app, role).await;
        for action in [
            "password",
            "unlock",
            "require-registration",
            "revoke-sessions",
        ] {
            let (before, _) = app.store.audit_head().await.unwrap();
            let r = http
                .post(app.url(&format!("/api/v1/admin/users/{}/{action}", global.id)))
                .bearer_auth(&t)
                .json(&serde_json::json!({"new_password": "Marigold-Telescope-Anchor-58"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role} {action}");
            let (after, _) = app.store.audit_head().await.unwrap();
            assert_eq!(before, after, "{role} {action}: nothing happened");
        }
    }
    // The global admin's password is unchanged: the old one still signs in.
    assert_eq!(
        app.sign_in("boss", "Tangerine-Bicycle-Orbit-43")
            .await
            .status(),
        StatusCode::OK
    );
    // A user admin cannot give roles.
    let ua = token(&app, AdminRole::UserAdmin).await;
    let plain = app.add_user("plain", "Tangerine-Bicycle-Orbit-43").await;
    let r = http
        .patch(app.url(&format!("/api/v1/admin/users/{}", plain.id)))
        .bearer_auth(&ua)
        .json(&serde_json::json!({"roles": ["global_admin"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        app.store
            .get_user(plain.id)
            .await
            .unwrap()
            .unwrap()
            .roles
            .is_empty()
    );
}
