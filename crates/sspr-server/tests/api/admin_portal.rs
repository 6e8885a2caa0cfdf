//! The admin portal's object pages (issue 7): users and groups with the admin actions, the
//! audit log with its exports, usage and insights, API tokens — through real HTTP forms with a
//! signed-in administrator, checking what is stored and audited, and what each role may do.

use reqwest::StatusCode;
use sspr_core::AdminRole;
use sspr_core::audit::events;
use sspr_core::ports::Store;

use crate::admin_pages::{page, portal_client, submit};
use crate::helpers::{TestApp, spawn_app};

async fn user_id(app: &TestApp, name: &str) -> String {
    app.store
        .find_user(&sspr_core::Username::parse(name).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

#[tokio::test]
async fn a_user_admin_creates_edits_and_acts_on_a_user() {
    let app = spawn_app().await;
    let c = portal_client(&app, "ulla", AdminRole::UserAdmin).await;

    // Create, with a password the rules refuse: the form says why and nothing is created.
    let r = submit(
        &c,
        app.url("/admin/users"),
        &[
            ("username", "bob"),
            ("display_name", "Bob Builder"),
            ("email", "bob@example.org"),
            ("password", "password1"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("id=\"errors\""));
    assert!(body.contains("value=\"bob\""), "what was typed is kept");
    assert!(
        app.store
            .find_user(&sspr_core::Username::parse("bob").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    let r = submit(
        &c,
        app.url("/admin/users"),
        &[
            ("username", "bob"),
            ("display_name", "Bob Builder"),
            ("email", "bob@example.org"),
            ("password", "Lighthouse-Marble-Canyon-61"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = user_id(&app, "bob").await;
    assert_eq!(
        r.headers()["location"],
        format!("/admin/users/{id}?done=created")
    );
    assert_eq!(
        app.sign_in("bob", "Lighthouse-Marble-Canyon-61")
            .await
            .status(),
        StatusCode::OK
    );

    // The list finds him; his page shows the actions a user admin may take.
    let (_, list) = page(&c, app.url("/admin/users?q=build")).await;
    assert!(list.contains(&format!("/admin/users/{id}")));
    let (status, detail) = page(&c, app.url(&format!("/admin/users/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    for action in [
        "unlock",
        "require-registration",
        "revoke-sessions",
        "set-password",
        "delete-user",
    ] {
        assert!(
            detail.contains(&format!("id=\"{action}\"")),
            "{action} offered"
        );
    }
    // A user admin cannot give roles: that fieldset is disabled.
    assert!(detail.contains("<fieldset id=\"roles\" disabled>"));

    // Edit the profile.
    let r = submit(
        &c,
        app.url(&format!("/admin/users/{id}")),
        &[
            ("display_name", "Robert Builder"),
            ("email", "robert@example.org"),
            ("enabled", "on"),
            ("roles", "global_admin"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let bob = app
        .store
        .find_user(&sspr_core::Username::parse("bob").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.display_name.as_str(), "Robert Builder");
    assert_eq!(bob.email.as_ref().unwrap().as_str(), "robert@example.org");
    assert!(bob.roles.is_empty(), "the smuggled role was ignored");

    // Set a password: mismatch, then the rules, then a good one.
    let url = app.url(&format!("/admin/users/{id}/password"));
    let r = submit(
        &c,
        url.clone(),
        &[
            ("new_password", "Quartz-Harbour-Violet-77"),
            ("confirm", "other"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = submit(
        &c,
        url.clone(),
        &[("new_password", "Robert2024"), ("confirm", "Robert2024")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = submit(
        &c,
        url,
        &[
            ("new_password", "Quartz-Harbour-Violet-77"),
            ("confirm", "Quartz-Harbour-Violet-77"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.sign_in("bob", "Quartz-Harbour-Violet-77")
            .await
            .status(),
        StatusCode::OK
    );

    for (action, done) in [
        ("unlock", "unlocked"),
        ("require-registration", "registration"),
        ("revoke-sessions", "sessions"),
    ] {
        let r = submit(&c, app.url(&format!("/admin/users/{id}/{action}")), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{action}");
        assert_eq!(
            r.headers()["location"],
            format!("/admin/users/{id}?done={done}")
        );
    }
    let r = submit(&c, app.url(&format!("/admin/users/{id}/nonsense")), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Everything is audited with the acting admin.
    let records = app.store.audit_page(0, 1000).await.unwrap();
    for event in [
        events::ADD_USER,
        events::UPDATE_USER,
        events::ADMIN_RESET_PASSWORD,
        events::ADMIN_UNLOCK,
    ] {
        assert!(
            records
                .iter()
                .any(|r| r.event.event_type == event && r.event.actor.as_deref() == Some("ulla")),
            "{event} audited with the actor"
        );
    }

    let r = submit(&c, app.url(&format!("/admin/users/{id}/delete")), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        app.store
            .find_user(&sspr_core::Username::parse("bob").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_helpdesk_admin_cannot_act_on_a_global_admin() {
    let app = spawn_app().await;
    let root = app.add_admin("gwen", "Tangerine-Bicycle-Orbit-43").await;
    let c = portal_client(&app, "hank", AdminRole::HelpdeskAdmin).await;
    let (status, body) = page(&c, app.url(&format!("/admin/users/{}", root.id))).await;
    assert_eq!(status, StatusCode::OK, "reading is allowed");
    assert!(
        !body.contains("id=\"set-password\""),
        "no password form offered"
    );
    let r = submit(
        &c,
        app.url(&format!("/admin/users/{}/password", root.id)),
        &[
            ("new_password", "Quartz-Harbour-Violet-77"),
            ("confirm", "Quartz-Harbour-Violet-77"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.sign_in("gwen", "Tangerine-Bicycle-Orbit-43")
            .await
            .status(),
        StatusCode::OK
    );
    let r = submit(
        &c,
        app.url("/admin/users"),
        &[("username", "eve"), ("display_name", "Eve")],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a helpdesk admin creates no users"
    );
}

#[tokio::test]
async fn groups_with_nested_members() {
    let app = spawn_app().await;
    app.add_user("carol", "Lighthouse-Marble-Canyon-61").await;
    let c = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;
    let mut ids = Vec::new();
    for name in ["Staff", "Finance"] {
        let r = submit(
            &c,
            app.url("/admin/groups"),
            &[("name", name), ("description", "people")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name}");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        ids.push(
            location
                .trim_start_matches("/admin/groups/")
                .split('?')
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    let r = submit(
        &c,
        app.url("/admin/groups"),
        &[("name", "Staff"), ("description", "again")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "names are unique");
    let (staff, finance) = (&ids[0], &ids[1]);
    for member in ["Finance", "carol"] {
        let r = submit(
            &c,
            app.url(&format!("/admin/groups/{staff}/add")),
            &[("member", member)],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{member}");
    }
    let r = submit(
        &c,
        app.url(&format!("/admin/groups/{staff}/add")),
        &[("member", "nobody-here")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, body) = page(&c, app.url(&format!("/admin/groups/{staff}"))).await;
    assert!(
        body.contains(&format!("/admin/groups/{finance}")),
        "the nested group is listed"
    );
    assert!(body.contains(">carol<"));
    let carol = user_id(&app, "carol").await;
    let r = submit(
        &c,
        app.url(&format!("/admin/groups/{staff}/remove")),
        &[("kind", "user"), ("id", &carol)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, body) = page(&c, app.url(&format!("/admin/groups/{staff}"))).await;
    assert!(!body.contains(">carol<"));
    let r = submit(&c, app.url(&format!("/admin/groups/{finance}/delete")), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = page(&c, app.url(&format!("/admin/groups/{finance}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_audit_log_filters_and_exports() {
    let app = spawn_app().await;
    let c = portal_client(&app, "rita", AdminRole::ReportsReader).await;
    app.add_user("dave", "Lighthouse-Marble-Canyon-61").await;
    let (status, body) = page(&c, app.url("/admin/audit?type=Add+user")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<td>Add user</td>"));
    assert!(!body.contains("<td>Update user</td>"), "filtered by type");
    let (_, body) = page(&c, app.url("/admin/audit?from=2000-01-01&to=2000-01-02")).await;
    assert!(body.contains("id=\"audit-count\""));
    assert!(!body.contains("<td>Add user</td>"), "filtered by time");

    let r = c
        .get(app.url("/admin/audit/export.csv?type=Add+user"))
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
    assert!(csv.lines().count() >= 2, "a header and records: {csv}");
    assert!(csv.contains("Add user"));
    let r = c
        // The page's JSON link asks for as many records as a CSV holds (the API pages by 200).
        .get(app.url("/admin/audit/export.json?type=Add+user&per_page=10000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let json: serde_json::Value = r.json().await.unwrap();
    assert!(json.to_string().contains("Add user"));
    // Without a session there is nothing to export.
    let r = crate::helpers::client()
        .get(app.url("/admin/audit/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn insights_draw_the_reports() {
    let app = spawn_app().await;
    let c = portal_client(&app, "rita", AdminRole::ReportsReader).await;
    let (status, body) = page(&c, app.url("/admin/insights")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<svg")
            && body.contains("id=\"chart-methods\"")
            && body.contains("id=\"chart-activity\"")
    );
    assert!(body.contains("id=\"registration\""));
    let r = c
        .get(app.url("/admin/insights/registration.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().starts_with("user_id,username"));
    let r = c
        .get(app.url("/admin/insights/activity.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn tokens_are_shown_once_work_and_are_revoked() {
    let app = spawn_app().await;
    let c = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;
    let r = submit(
        &c,
        app.url("/admin/tokens"),
        &[
            ("name", "nightly report"),
            ("role", "reports_reader"),
            ("expires_days", "30"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.text().await.unwrap();
    let start = body
        .find("id=\"token-secret\">")
        .expect("the secret is shown")
        + "id=\"token-secret\">".len();
    let secret: String = body[start..].chars().take_while(|c| *c != '<').collect();
    assert!(secret.starts_with("sspr_"));
    // Shown once: the list does not have it.
    let (_, list) = page(&c, app.url("/admin/tokens")).await;
    assert!(!list.contains(&secret));
    assert!(list.contains("nightly report"));

    let api = reqwest::Client::new();
    let r = api
        .get(app.url("/api/v1/admin/policy"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the token reads");
    let tokens = app.store.list_api_tokens().await.unwrap();
    let r = submit(
        &c,
        app.url(&format!("/admin/tokens/{}/revoke", tokens[0].id)),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = api
        .get(app.url("/api/v1/admin/policy"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "revoked");

    // Only global administrators manage tokens.
    let other = portal_client(&app, "ulla", AdminRole::UserAdmin).await;
    let r = submit(
        &other,
        app.url("/admin/tokens"),
        &[("name", "x"), ("role", "global_admin")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.store.list_api_tokens().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_group_list_is_searched_and_paged() {
    let app = spawn_app().await;
    for i in 0..55 {
        app.store
            .create_group(
                &sspr_core::NewGroup {
                    id: sspr_core::GroupId(uuid::Uuid::new_v4()),
                    name: sspr_core::GroupName::parse(&format!("Team-{i:02}")).unwrap(),
                    description: String::new(),
                },
                &sspr_core::audit::AuditEvent::new("Add group", sspr_core::audit::Outcome::Success),
            )
            .await
            .unwrap();
    }
    let c = portal_client(&app, "rita", AdminRole::ReportsReader).await;
    let (_, first) = page(&c, app.url("/admin/groups?q=team")).await;
    assert!(first.contains("55 groups"));
    assert_eq!(
        first.matches("<tr><td><a href=\"/admin/groups/").count(),
        50
    );
    assert!(first.contains("rel=\"next\""));
    let (_, second) = page(&c, app.url("/admin/groups?q=team&page=2")).await;
    assert_eq!(
        second.matches("<tr><td><a href=\"/admin/groups/").count(),
        5
    );
    assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));
    // A hand-typed page that is not a number shows the first page, not an error.
    let (status, odd) = page(&c, app.url("/admin/groups?q=team&page=x")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(odd.matches("<tr><td><a href=\"/admin/groups/").count(), 50);
    let (_, one) = page(&c, app.url("/admin/groups?q=team-07")).await;
    assert!(
        one.contains(">1 group</p>"),
        "the count in the singular: {one}"
    );
    assert!(first.contains(">55 groups</p>"));
    assert_eq!(one.matches("<tr><td><a href=\"/admin/groups/").count(), 1);
}
