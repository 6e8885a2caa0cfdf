//! The administration API (SPEC §9.1) end to end: tokens, users, groups, actions, audit,
//! reports and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sspr_core::AdminRole;
use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::ports::{Clock, Store};

use crate::admin_roles::token;
use crate::helpers::{TestApp, client, spawn_app};

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn last_audit(app: &TestApp) -> AuditEvent {
    let page = app
        .store
        .query_audit(&Default::default(), 0, 1)
        .await
        .unwrap();
    page.items[0].event.clone()
}

#[tokio::test]
async fn a_global_admin_makes_a_token_that_works_until_revoked() {
    let app = spawn_app().await;
    let admin = app.admin_client().await;
    let (status, created) =
        send(admin.post(app.url("/api/v1/admin/tokens")).json(
            &json!({"name": "nightly export", "role": "reports_reader", "expires_days": 30}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with(&format!("sspr_{id}_")));
    assert_eq!(created["role"], "reports_reader");
    let audit = last_audit(&app).await;
    assert_eq!(audit.event_type, "Create API token");
    assert_eq!(audit.actor.as_deref(), Some("root"));
    assert!(
        !serde_json::to_string(&audit)
            .unwrap()
            .contains(&secret[38..])
    );

    // The list never shows the secret.
    let (_, list) = send(admin.get(app.url("/api/v1/admin/tokens"))).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&secret[38..]));

    // A script with no cookies uses it; a reports reader reads but may not write.
    let script = client();
    let (status, users) = send(
        script
            .get(app.url("/api/v1/admin/users"))
            .bearer_auth(&secret),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert_eq!(users["total"], 1);
    let (status, body) = send(
        script
            .post(app.url("/api/v1/admin/groups"))
            .bearer_auth(&secret)
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    // A tampered secret is refused like an unknown token.
    let mut wrong = secret.clone();
    wrong.replace_range(
        wrong.len() - 1..,
        if secret.ends_with('0') { "1" } else { "0" },
    );
    let r = script
        .get(app.url("/api/v1/admin/users"))
        .bearer_auth(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");

    let r = admin
        .delete(app.url(&format!("/api/v1/admin/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(last_audit(&app).await.event_type, "Revoke API token");
    let (status, body) = send(
        script
            .get(app.url("/api/v1/admin/users"))
            .bearer_auth(&secret),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let r = admin
        .delete(app.url(&format!("/api/v1/admin/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bearer_requests_pass_csrf_but_cross_site_cookie_posts_do_not() {
    let app = spawn_app().await;
    let t = token(&app, AdminRole::GlobalAdmin).await;
    // A script: no Origin, no Sec-Fetch-Site.
    let (status, body) = send(
        client()
            .post(app.url("/api/v1/admin/groups"))
            .bearer_auth(&t)
            .json(&json!({"name": "Staff"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = send(
        client()
            .put(app.url("/api/v1/admin/password-policy"))
            .bearer_auth(&t)
            .json(&serde_json::to_value(app.store.password_policy().await.unwrap()).unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A browser tricked by another site: the admin's cookie rides along, the Origin is
    // foreign. Refused, and nothing is created.
    let admin = app.admin_client().await;
    let r = admin
        .post(app.url("/api/v1/admin/groups"))
        .header("origin", "https://evil.example")
        .json(&json!({"name": "Evil"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = admin
        .post(app.url("/api/v1/admin/groups"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"name": "Evil"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let groups = app.store.list_groups().await.unwrap();
    assert_eq!(groups.len(), 1, "only Staff exists");
}

#[tokio::test]
async fn users_are_created_searched_changed_and_deleted() {
    let app = spawn_app().await;
    let t = token(&app, AdminRole::UserAdmin).await;
    let http = client();
    let (status, ada) = send(
        http.post(app.url("/api/v1/admin/users"))
            .bearer_auth(&t)
            .json(&json!({
                "username": "ada", "display_name": "Ada Lovelace", "email": "ada@example.org",
                "mobile_phone": "+49 151 12345678", "password": "Marigold-Telescope-Anchor-58",
            })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ada}");
    assert_eq!(ada["has_password"], true);
    assert!(ada.get("password_hash").is_none());
    let id = ada["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.sign_in("ada", "Marigold-Telescope-Anchor-58")
            .await
            .status(),
        StatusCode::OK
    );

    // Every bad field at once, with its name.
    let (status, body) = send(
        http.post(app.url("/api/v1/admin/users"))
            .bearer_auth(&t)
            .json(&json!({"username": "bad name", "display_name": "", "email": "nope"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "display_name", "email"]);
    // A weak initial password: the policy's reasons, and no user.
    let (status, body) = send(
        http.post(app.url("/api/v1/admin/users"))
            .bearer_auth(&t)
            .json(&json!({"username": "bob", "display_name": "Bob", "password": "password"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password_policy"))
    );
    assert!(!body["reasons"].as_array().unwrap().is_empty());
    // A taken name; unknown fields (mass assignment); malformed JSON; wrong types.
    let (status, _) = send(
        http.post(app.url("/api/v1/admin/users"))
            .bearer_auth(&t)
            .json(&json!({"username": "ADA", "display_name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = send(
        http.post(app.url("/api/v1/admin/users"))
            .bearer_auth(&t)
            .json(&json!({"username": "eve", "display_name": "x", "source": "directory"})),
    )
    .await;
    assert!(
        status.is_client_error() && body["error"] == "invalid_request",
        "{status} {body}"
    );
    let (status, body) = send(
        http.post(app.url("/api/v1/admin/users"))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (status, _) = send(
        http.post(app.url("/api/v1/admin/users"))
            .bearer_auth(&t)
            .json(&json!({"username": 5, "display_name": []})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A user admin cannot make admins.
    let (status, _) = send(
        http.post(app.url("/api/v1/admin/users"))
            .bearer_auth(&t)
            .json(&json!({"username": "eve", "display_name": "Eve", "roles": ["global_admin"]})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for i in 0..4 {
        app.add_user(&format!("zed{i}"), "Tangerine-Bicycle-Orbit-43")
            .await;
    }
    let (_, page) = send(
        http.get(app.url("/api/v1/admin/users?q=zed&page=2&per_page=3"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(
        (
            page["total"].as_u64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(4), 1)
    );
    assert_eq!(page["items"][0]["username"], "zed3");
    let (_, by_mail) = send(
        http.get(app.url("/api/v1/admin/users?q=ADA@EXAMPLE"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(by_mail["total"], 1);
    let (status, _) = send(
        http.get(app.url("/api/v1/admin/users?per_page=0"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        http.get(app.url("/api/v1/admin/users?page=abc"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, changed) = send(
        http.patch(app.url(&format!("/api/v1/admin/users/{id}")))
            .bearer_auth(&t)
            .json(&json!({"display_name": "Ada King", "mobile_phone": null, "enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (
            changed["display_name"].as_str(),
            changed["mobile_phone"].as_str(),
            changed["enabled"].as_bool()
        ),
        (Some("Ada King"), None, Some(false))
    );
    assert_eq!(changed["email"], "ada@example.org", "absent fields stay");
    let audit = last_audit(&app).await;
    assert_eq!(audit.event_type, "Update user");
    assert!(audit.actor.unwrap().starts_with("token:"));
    assert_eq!(audit.target.as_deref(), Some("ada"));

    let (status, _) = send(
        http.get(app.url("/api/v1/admin/users/not-a-uuid"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        http.get(app.url(&format!("/api/v1/admin/users/{}", uuid::Uuid::new_v4())))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = http
        .delete(app.url(&format!("/api/v1/admin/users/{id}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        app.store
            .find_user(&sspr_core::Username::parse("ada").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // A huge body is refused before it is read.
    let huge = "x".repeat(app.loaded.config.server.max_body_bytes + 1);
    let r = http
        .post(app.url("/api/v1/admin/users"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn groups_nest_and_members_come_and_go() {
    let app = spawn_app().await;
    let t = token(&app, AdminRole::UserAdmin).await;
    let http = client();
    let ada = app.add_user("ada", "Tangerine-Bicycle-Orbit-43").await;
    let (_, staff) = send(
        http.post(app.url("/api/v1/admin/groups"))
            .bearer_auth(&t)
            .json(&json!({"name": "Staff"})),
    )
    .await;
    let (_, sales) = send(
        http.post(app.url("/api/v1/admin/groups"))
            .bearer_auth(&t)
            .json(&json!({"name": "Sales", "description": "EMEA"})),
    )
    .await;
    let (staff, sales) = (
        staff["id"].as_str().unwrap().to_owned(),
        sales["id"].as_str().unwrap().to_owned(),
    );
    let members = |g: &str| app.url(&format!("/api/v1/admin/groups/{g}/members"));
    let (status, m) = send(
        http.post(members(&staff))
            .bearer_auth(&t)
            .json(&json!({"type": "group", "id": sales})),
    )
    .await;
    assert_eq!(
        (status, m["name"].as_str()),
        (StatusCode::CREATED, Some("Sales"))
    );
    let (status, _) = send(
        http.post(members(&sales))
            .bearer_auth(&t)
            .json(&json!({"type": "user", "id": ada.id.to_string()})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // A cycle is tolerated; a duplicate is a conflict; itself is invalid; unknown is 404.
    let (status, _) = send(
        http.post(members(&sales))
            .bearer_auth(&t)
            .json(&json!({"type": "group", "id": staff})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = send(
        http.post(members(&sales))
            .bearer_auth(&t)
            .json(&json!({"type": "user", "id": ada.id.to_string()})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(
        http.post(members(&sales))
            .bearer_auth(&t)
            .json(&json!({"type": "group", "id": sales})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = send(
        http.post(members(&sales))
            .bearer_auth(&t)
            .json(&json!({"type": "user", "id": uuid::Uuid::new_v4().to_string()})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, detail) = send(
        http.get(app.url(&format!("/api/v1/admin/groups/{sales}")))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(detail["description"], "EMEA");
    let mut names: Vec<&str> = detail["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Staff", "ada"]);

    let (status, renamed) = send(
        http.patch(app.url(&format!("/api/v1/admin/groups/{sales}")))
            .bearer_auth(&t)
            .json(&json!({"name": "Sales EMEA"})),
    )
    .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (StatusCode::OK, Some("Sales EMEA"))
    );
    let (status, _) = send(
        http.patch(app.url(&format!("/api/v1/admin/groups/{sales}")))
            .bearer_auth(&t)
            .json(&json!({"name": "staff"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let r = http
        .delete(app.url(&format!("/api/v1/admin/groups/{sales}/members/{}", ada.id)))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = http
        .delete(app.url(&format!("/api/v1/admin/groups/{sales}/members/{}", ada.id)))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        last_audit(&app).await.event_type,
        "Remove member from group"
    );

    // The policy's target group cannot be deleted; another can.
    let mut policy = app.store.policy().await.unwrap();
    policy.enablement = sspr_core::Enablement::Selected;
    policy.target_group = Some(sspr_core::GroupId(staff.parse().unwrap()));
    app.store
        .put_policy(&policy, &AuditEvent::new("t", Outcome::Success))
        .await
        .unwrap();
    let r = http
        .delete(app.url(&format!("/api/v1/admin/groups/{staff}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = http
        .delete(app.url(&format!("/api/v1/admin/groups/{sales}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, list) = send(http.get(app.url("/api/v1/admin/groups")).bearer_auth(&t)).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn admin_actions_reset_unlock_reregister_and_sign_out() {
    let app = spawn_app().await;
    let t = token(&app, AdminRole::HelpdeskAdmin).await;
    let http = client();
    let ada = app.add_user("ada", "Tangerine-Bicycle-Orbit-43").await;
    let act = |what: &str| app.url(&format!("/api/v1/admin/users/{}/{what}", ada.id));

    // Ada is signed in elsewhere.
    assert_eq!(
        app.sign_in("ada", "Tangerine-Bicycle-Orbit-43")
            .await
            .status(),
        StatusCode::OK
    );
    let (status, body) = send(
        http.post(act("password"))
            .bearer_auth(&t)
            .json(&json!({"new_password": "password1"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password_policy")),
        "{body}"
    );
    let failed = last_audit(&app).await;
    assert_eq!(
        (failed.event_type.as_str(), failed.outcome),
        ("Reset password (by admin)", Outcome::Failure)
    );
    let (status, body) = send(
        http.post(act("password"))
            .bearer_auth(&t)
            .json(&json!({"new_password": "Marigold-Telescope-Anchor-58"})),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("reset")),
        "{body}"
    );
    let done = last_audit(&app).await;
    assert_eq!(
        (done.event_type.as_str(), done.target.as_deref()),
        ("Reset password (by admin)", Some("ada"))
    );
    // The old session is gone; the new password works, the old one does not.
    let r = app
        .client
        .get(app.url("/api/v1/me/methods"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.sign_in("ada", "Tangerine-Bicycle-Orbit-43")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.sign_in("ada", "Marigold-Telescope-Anchor-58")
            .await
            .status(),
        StatusCode::OK
    );

    app.store
        .set_admin_locked(ada.id, true, &AuditEvent::new("t", Outcome::Success))
        .await
        .unwrap();
    let (status, _) = send(http.post(act("unlock")).bearer_auth(&t)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !app.store
            .get_user(ada.id)
            .await
            .unwrap()
            .unwrap()
            .admin_locked
    );

    let (status, body) = send(http.post(act("revoke-sessions")).bearer_auth(&t)).await;
    assert_eq!((status, body["count"].as_u64()), (StatusCode::OK, Some(1)));
    let r = app
        .client
        .get(app.url("/api/v1/me/methods"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    app.store
        .set_registration_confirmed(ada.id, Some(app.clock.now()))
        .await
        .unwrap();
    let (status, body) = send(http.post(act("require-registration")).bearer_auth(&t)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("registration_required"))
    );
    assert_eq!(
        app.store
            .get_user(ada.id)
            .await
            .unwrap()
            .unwrap()
            .registration_confirmed_at,
        None
    );
    assert_eq!(
        last_audit(&app).await.event_type,
        "Require re-register security info (by admin)"
    );
}

#[tokio::test]
async fn a_test_message_goes_through_the_outbox() {
    let app = spawn_app().await;
    let t = token(&app, AdminRole::GlobalAdmin).await;
    let http = client();
    let (status, _) = send(
        http.post(app.url("/api/v1/admin/test-message"))
            .bearer_auth(&t)
            .json(&json!({"channel": "email", "to": "ops@example.org"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let queued = app.store.recent_outbox(10).await.unwrap();
    assert_eq!(
        (queued[0].channel.as_str(), queued[0].recipient.as_str()),
        ("email", "ops@example.org")
    );
    let (status, body) = send(
        http.post(app.url("/api/v1/admin/test-message"))
            .bearer_auth(&t)
            .json(&json!({"channel": "sms", "to": "ops@example.org"})),
    )
    .await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("to"))
    );
    let (status, _) = send(
        http.post(app.url("/api/v1/admin/test-message"))
            .bearer_auth(&t)
            .json(&json!({"channel": "pigeon", "to": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_audit_log_is_filtered_and_exported_without_formulas() {
    let app = spawn_app().await;
    let t = token(&app, AdminRole::ReportsReader).await;
    let g = token(&app, AdminRole::GlobalAdmin).await;
    let http = client();
    // A user agent an attacker chose ends up in the audit log.
    let (status, _) = send(
        http.post(app.url("/api/v1/admin/groups"))
            .bearer_auth(&g)
            .header("user-agent", "=HYPERLINK(\"http://evil.example\",\"x\")")
            .json(&json!({"name": "Staff"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.add_user("ada", "Tangerine-Bicycle-Orbit-43").await;

    let (status, page) = send(
        http.get(app.url("/api/v1/admin/audit?type=Add%20group"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["target"], "Staff");
    let (_, all) = send(
        http.get(app.url("/api/v1/admin/audit?per_page=2"))
            .bearer_auth(&t),
    )
    .await;
    assert!(all["total"].as_u64().unwrap() >= 4);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert!(
        all["items"][0]["seq"].as_i64() > all["items"][1]["seq"].as_i64(),
        "newest first"
    );
    let (_, failures) = send(
        http.get(app.url("/api/v1/admin/audit?outcome=failure"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(failures["total"], 0);
    let (_, future) = send(
        http.get(app.url("/api/v1/admin/audit?from=2999-01-01"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(future["total"], 0);
    for bad in ["from=yesterday", "outcome=maybe", "per_page=201", "page=0"] {
        let (status, body) = send(
            http.get(app.url(&format!("/api/v1/admin/audit?{bad}")))
                .bearer_auth(&t),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}"
        );
    }

    let r = http
        .get(app.url("/api/v1/admin/audit?type=Add%20group"))
        .bearer_auth(&t)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("seq,at,event_type,actor,target,outcome")
    );
    let row = lines.next().unwrap();
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
        "{row}"
    );
    assert!(!row.contains(",=HYPERLINK"));
}

#[tokio::test]
async fn reports_show_registration_and_activity() {
    let app = spawn_app().await;
    let t = token(&app, AdminRole::ReportsReader).await;
    let http = client();
    let mut policy = app.store.policy().await.unwrap();
    policy.enablement = sspr_core::Enablement::All;
    app.store
        .put_policy(&policy, &AuditEvent::new("t", Outcome::Success))
        .await
        .unwrap();
    app.add_user("ada", "Tangerine-Bicycle-Orbit-43").await; // has an email: registered
    let (status, report) = send(
        http.get(app.url("/api/v1/admin/reports/registration"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let ada = &report["users"][0];
    assert_eq!(
        (
            ada["username"].as_str(),
            ada["registered"].as_bool(),
            ada["enabled"].as_bool(),
            ada["capable"].as_bool()
        ),
        (Some("ada"), Some(true), Some(true), Some(true))
    );
    assert_eq!(ada["methods"], json!(["email"]));
    assert_eq!(report["summary"]["capable"], 1);
    let r = http
        .get(app.url("/api/v1/admin/reports/registration"))
        .bearer_auth(&t)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with(
            "user_id,username,display_name,admin,registered,enabled,capable,methods\r\n"
        )
    );
    assert!(
        csv.contains(",ada,User ada,no,yes,yes,yes,email\r\n"),
        "{csv}"
    );

    // Selected enablement: only members of the target group (nested) are enabled.
    let bob = app.add_user("bob", "Tangerine-Bicycle-Orbit-43").await;
    let e = AuditEvent::new("t", Outcome::Success);
    let new_group = |name: &str| sspr_core::NewGroup {
        id: sspr_core::GroupId::new(),
        name: sspr_core::GroupName::parse(name).unwrap(),
        description: String::new(),
    };
    let staff = app
        .store
        .create_group(&new_group("Staff"), &e)
        .await
        .unwrap();
    let devs = app
        .store
        .create_group(&new_group("Devs"), &e)
        .await
        .unwrap();
    app.store
        .add_member(staff.id, sspr_core::ports::Member::Group(devs.id), &e)
        .await
        .unwrap();
    app.store
        .add_member(devs.id, sspr_core::ports::Member::User(bob.id), &e)
        .await
        .unwrap();
    policy.enablement = sspr_core::Enablement::Selected;
    policy.target_group = Some(staff.id);
    app.store.put_policy(&policy, &e).await.unwrap();
    let (_, report) = send(
        http.get(app.url("/api/v1/admin/reports/registration"))
            .bearer_auth(&t),
    )
    .await;
    let enabled: Vec<(&str, bool)> = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap(),
                u["enabled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(enabled, [("ada", false), ("bob", true)]);

    // One self-service reset recorded the way the reset flow records it.
    let flow = uuid::Uuid::new_v4();
    for (event, d) in [
        (
            "Self-service password reset flow activity progress",
            json!({"step": "started", "flow": flow}),
        ),
        (
            "Self-service password reset flow activity progress",
            json!({"step": "method_verified", "method": "email", "flow": flow}),
        ),
        ("Reset password (self-service)", json!({"flow": flow})),
    ] {
        app.store
            .append_audit(&AuditEvent::new(event, Outcome::Success).details(d))
            .await
            .unwrap();
    }
    let today = time::OffsetDateTime::now_utc().date();
    let (status, act) = send(
        http.get(app.url(&format!(
            "/api/v1/admin/reports/activity?from={}&to={}",
            today,
            today.next_day().unwrap()
        )))
        .bearer_auth(&t),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{act}");
    let day = &act["days"][0];
    assert_eq!(
        (
            day["started"].as_u64(),
            day["resets"].as_u64(),
            day["abandoned"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(day["by_method"]["email"]["verified"], 1);
    let (status, _) = send(
        http.get(app.url("/api/v1/admin/reports/activity?from=2026-02-01&to=2026-01-01"))
            .bearer_auth(&t),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_openapi_document_is_served_and_covers_every_admin_route() {
    let app = spawn_app().await;
    let (status, doc) = send(client().get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for (method, path, _) in sspr_web::routes::ADMIN_ROUTES {
        assert!(
            doc["paths"][path][method.to_ascii_lowercase()].is_object(),
            "{method} {path}"
        );
        // And the route is served: without credentials it answers 401, not 404/405.
        let r = client()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(
                    &path
                        .replace("{id}", &uuid::Uuid::new_v4().to_string())
                        .replace("{member_id}", &uuid::Uuid::new_v4().to_string()),
                ),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

#[tokio::test]
async fn the_user_routes_are_served_as_documented() {
    let app = spawn_app().await;
    let (_, doc) = send(client().get(app.url("/api/v1/openapi.json"))).await;
    let flow = uuid::Uuid::new_v4().to_string();
    for (method, path, _) in sspr_web::routes::USER_ROUTES {
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path}");
        // A stranger's request (no session, no flow cookie, an unknown flow or method, an
        // empty body) is answered by the route itself, with a status the document lists and,
        // for an error, its code.
        let url = app.url(
            &path
                .replace("{flow}", &flow)
                .replace("{method}", "m1")
                .replace("{id}", &flow),
        );
        let mut request =
            client().request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if *method == "POST" {
            request = request.json(&json!({}));
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
        };
        assert!(
            op["responses"].get(status.as_str()).is_some(),
            "{method} {path} answered {status}, which the document does not list: {body}"
        );
        if !status.is_success() {
            assert!(body["error"].is_string(), "{method} {path}: {body}");
        }
    }
}

#[tokio::test]
async fn the_last_global_admin_stays() {
    let app = spawn_app().await;
    let root = app.add_admin("root", "Tangerine-Bicycle-Orbit-43").await;
    let t = token(&app, AdminRole::GlobalAdmin).await;
    let http = client();
    let url = app.url(&format!("/api/v1/admin/users/{}", root.id));
    for change in [json!({"roles": []}), json!({"enabled": false})] {
        let (status, body) = send(http.patch(&url).bearer_auth(&t).json(&change)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{change}: {body}");
    }
    let r = http.delete(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // With a second global admin, the first may step down.
    app.add_admin("deputy", "Tangerine-Bicycle-Orbit-43").await;
    let (status, body) = send(
        http.patch(&url)
            .bearer_auth(&t)
            .json(&json!({"roles": ["reports_reader"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["reports_reader"]));
}
