//! The admin portal's settings pages (SPEC §9, issue 7): who gets in, what each role may
//! change, that a change is validated, stored and audited with old and new values — through
//! real HTTP forms, as a browser sends them.

use reqwest::StatusCode;
use sspr_core::audit::events;
use sspr_core::ports::Store;
use sspr_core::{AdminRole, Enablement, GroupId, GroupName, HelpdeskLink, MethodType, NewGroup};

use crate::helpers::{TestApp, client, spawn_app};

const ADMIN_PASSWORD: &str = "Tangerine-Bicycle-Orbit-43";

/// A client signed in through the portal's own sign-in as a new admin holding `role`.
pub(crate) async fn portal_client(app: &TestApp, name: &str, role: AdminRole) -> reqwest::Client {
    let admin = app.add_admin(name, ADMIN_PASSWORD).await;
    if role != AdminRole::GlobalAdmin {
        let update = sspr_core::ports::ProfileUpdate {
            display_name: admin.display_name.clone(),
            first_name: None,
            last_name: None,
            email: admin.email.clone(),
            alternate_email: None,
            mobile_phone: None,
            office_phone: None,
            roles: [role].into(),
            enabled: true,
        };
        app.store
            .update_profile(
                admin.id,
                &update,
                &sspr_core::audit::AuditEvent::new("t", sspr_core::audit::Outcome::Success),
            )
            .await
            .unwrap();
    }
    let c = client();
    let r = c
        .post(app.url("/admin/signin"))
        .form(&[("username", name), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{name} signs in to the portal"
    );
    assert_eq!(r.headers()["location"], "/admin");
    c
}

pub(crate) async fn page(c: &reqwest::Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

pub(crate) async fn submit(
    c: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
) -> reqwest::Response {
    c.post(url).form(form).send().await.unwrap()
}

#[tokio::test]
async fn only_admins_get_in() {
    let app = spawn_app().await;
    // No session: sent to the portal's sign-in.
    let r = client()
        .get(app.url("/admin/properties"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/admin/signin");
    let (status, body) = page(&client(), app.url("/admin/signin")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("action=\"/admin/signin\""));

    // A user without a role, right password: refused, and no session is started.
    app.add_user("ursula", ADMIN_PASSWORD).await;
    let c = client();
    let r = submit(
        &c,
        app.url("/admin/signin"),
        &[("username", "ursula"), ("password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("set-cookie").is_none());
    // Wrong password: the usual neutral refusal.
    let r = submit(
        &c,
        app.url("/admin/signin"),
        &[("username", "nobody"), ("password", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Signed in through the self-service sign-in without a role: the portal says no.
    let r = c
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": "ursula", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, _) = page(&c, app.url("/admin/properties")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Unknown sections are 404, for admins too.
    let admin = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;
    let (status, _) = page(&admin, app.url("/admin/nonsense")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = admin.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/admin/properties");
}

#[tokio::test]
async fn every_section_renders_with_the_stored_values() {
    let app = spawn_app().await;
    let c = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;
    for section in [
        "properties",
        "methods",
        "registration",
        "notifications",
        "customisation",
        "onprem",
        "protection",
    ] {
        let (status, body) = page(&c, app.url(&format!("/admin/{section}"))).await;
        assert_eq!(status, StatusCode::OK, "{section}");
        assert!(
            body.contains(&format!("action=\"/admin/{section}\"")),
            "{section} has its form"
        );
        assert!(
            body.contains("aria-current=\"page\""),
            "{section} marks itself in the navigation"
        );
    }
    let (status, _) = page(&c, app.url("/admin/registration?saved=lots")).await;
    assert_eq!(status, StatusCode::OK, "an unreadable query is ignored");
    let (_, body) = page(&c, app.url("/admin/registration")).await;
    assert!(
        body.contains("name=\"reconfirm_days\" value=\"180\""),
        "the default is shown"
    );
    let (_, body) = page(&c, app.url("/admin/properties?lng=de")).await;
    assert!(
        body.contains("Alle Benutzer"),
        "the portal speaks German on request"
    );
}

#[tokio::test]
async fn a_global_admin_changes_a_section_and_the_change_is_audited() {
    let app = spawn_app().await;
    let group = app
        .store
        .create_group(
            &NewGroup {
                id: GroupId(uuid::Uuid::new_v4()),
                name: GroupName::parse("Finance").unwrap(),
                description: "Money people".into(),
            },
            &sspr_core::audit::AuditEvent::new("Add group", sspr_core::audit::Outcome::Success),
        )
        .await
        .unwrap();
    let c = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;

    // The group picker finds the group by part of its name.
    let (_, body) = page(&c, app.url("/admin/properties?group_q=fin")).await;
    assert!(body.contains(&group.id.0.to_string()));
    let (_, body) = page(&c, app.url("/admin/properties?group_q=zzz")).await;
    assert!(!body.contains(&group.id.0.to_string()));

    let gid = group.id.0.to_string();
    let r = submit(
        &c,
        app.url("/admin/properties"),
        &[
            ("enablement", "selected"),
            ("target_group", &gid),
            ("admin_sspr", "on"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/admin/properties?saved=2");
    let policy = app.store.policy().await.unwrap();
    assert_eq!(policy.enablement, Enablement::Selected);
    assert_eq!(policy.target_group, Some(group.id));
    assert!(policy.admin_sspr);
    // Settings of other sections are untouched.
    assert_eq!(policy.methods_required, 1);
    let (_, body) = page(&c, app.url("/admin/properties?saved=2")).await;
    assert!(body.contains("role=\"status\""));

    let r = submit(
        &c,
        app.url("/admin/methods"),
        &[
            ("methods_required", "2"),
            ("methods_enabled", "email"),
            ("methods_enabled", "authenticator_code"),
            ("methods_enabled", "passkey"),
            ("questions_to_register", "3"),
            ("questions_to_reset", "3"),
            ("custom_questions", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let policy = app.store.policy().await.unwrap();
    assert_eq!(policy.methods_required, 2);
    assert_eq!(
        policy.methods_enabled,
        [
            MethodType::Email,
            MethodType::AuthenticatorCode,
            MethodType::Passkey
        ]
        .into()
    );

    let r = submit(
        &c,
        app.url("/admin/customisation"),
        &[
            ("helpdesk_kind", "url"),
            ("helpdesk_value", "https://help.example.org/"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.store.policy().await.unwrap().helpdesk,
        HelpdeskLink::Url("https://help.example.org/".into())
    );

    let r = submit(
        &c,
        app.url("/admin/protection"),
        &[
            ("min_length", "12"),
            ("history", "5"),
            ("require_three_classes", "on"),
            ("enforce_custom_list", "on"),
            ("custom_banned_terms", "contoso\r\nfabrikam\r\n"),
            ("check_breached", "on"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let pp = app.store.password_policy().await.unwrap();
    assert_eq!((pp.min_length, pp.history), (12, 5));
    assert_eq!(pp.custom_banned_terms, ["contoso", "fabrikam"]);

    // Every change is audited with the acting admin and old and new values.
    let events = app.store.audit_page(0, 500).await.unwrap();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.event.event_type == events::POLICY_CHANGED)
        .collect();
    assert_eq!(changes.len(), 3);
    assert!(
        changes
            .iter()
            .all(|e| e.event.actor.as_deref() == Some("gina"))
    );
    let first = serde_json::to_value(&changes[0].event.details).unwrap();
    let enablement = first["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["setting"] == "enablement")
        .expect("the enablement change is recorded");
    assert_eq!(
        (enablement["old"].as_str(), enablement["new"].as_str()),
        (Some("none"), Some("selected"))
    );
    assert!(
        events
            .iter()
            .any(|e| e.event.event_type == events::PASSWORD_POLICY_CHANGED
                && e.event.actor.as_deref() == Some("gina"))
    );
}

#[tokio::test]
async fn a_bad_form_is_refused_field_by_field_and_changes_nothing() {
    let app = spawn_app().await;
    let c = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;
    let before = app.store.policy().await.unwrap();
    let r = submit(
        &c,
        app.url("/admin/methods"),
        &[
            ("methods_required", "3"),
            ("questions_to_register", "3"),
            ("questions_to_reset", "lots"),
            ("custom_questions", "ok?"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("href=\"#f-questions_to_reset\""),
        "the unreadable number is named"
    );
    assert_eq!(app.store.policy().await.unwrap(), before);

    let r = submit(
        &c,
        app.url("/admin/methods"),
        &[
            ("methods_required", "3"),
            ("questions_to_register", "3"),
            ("questions_to_reset", "3"),
            ("custom_questions", "ok"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("href=\"#f-methods_required\""));
    assert!(
        body.contains("href=\"#f-methods_enabled\""),
        "no method ticked"
    );
    assert!(
        body.contains("href=\"#f-custom_questions\""),
        "a question of 2 characters"
    );
    assert!(body.contains(">ok</textarea>"), "what was typed is kept");
    assert_eq!(app.store.policy().await.unwrap(), before);

    let r = submit(
        &c,
        app.url("/admin/customisation"),
        &[
            ("helpdesk_kind", "url"),
            ("helpdesk_value", "javascript:alert(1)"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store.policy().await.unwrap(), before);
    // Nothing was audited as a change.
    let events = app.store.audit_page(0, 500).await.unwrap();
    assert!(
        !events
            .iter()
            .any(|e| e.event.event_type == events::POLICY_CHANGED)
    );
}

#[tokio::test]
async fn other_roles_read_but_cannot_change() {
    let app = spawn_app().await;
    let before = app.store.policy().await.unwrap();
    for (name, role) in [
        ("rita", AdminRole::ReportsReader),
        ("hank", AdminRole::HelpdeskAdmin),
        ("pam", AdminRole::PasswordAdmin),
        ("ulf", AdminRole::UserAdmin),
    ] {
        let c = portal_client(&app, name, role).await;
        let (status, body) = page(&c, app.url("/admin/notifications")).await;
        assert_eq!(status, StatusCode::OK, "{name} reads");
        assert!(
            body.contains("id=\"read-only\""),
            "{name} is told the page is read-only"
        );
        assert!(body.contains(" disabled>"), "{name}'s form is disabled");
        let r = submit(&c, app.url("/admin/notifications"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{name} cannot change");
    }
    assert_eq!(app.store.policy().await.unwrap(), before);
}

#[tokio::test]
async fn a_foreign_site_cannot_submit_the_forms() {
    let app = spawn_app().await;
    let c = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;
    let before = app.store.policy().await.unwrap();
    let r = c
        .post(app.url("/admin/notifications"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("notify_user_on_reset", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.store.policy().await.unwrap(), before);
}

#[tokio::test]
async fn a_global_admin_sends_a_test_message_from_the_portal() {
    let app = spawn_app().await;
    let c = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;
    let r = submit(
        &c,
        app.url("/admin/notifications/test"),
        &[("channel", "email"), ("to", "check@example.org")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let outbox = app.store.recent_outbox(10).await.unwrap();
    assert!(outbox.iter().any(|m| m.recipient == "check@example.org"));
    let (_, body) = page(&c, app.url(r.headers()["location"].to_str().unwrap())).await;
    assert!(
        body.contains("check@example.org"),
        "the page says where it went"
    );

    let r = submit(
        &c,
        app.url("/admin/notifications/test"),
        &[("channel", "sms"), ("to", "not a number")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let reader = portal_client(&app, "rita", AdminRole::ReportsReader).await;
    let r = submit(
        &reader,
        app.url("/admin/notifications/test"),
        &[("channel", "email"), ("to", "x@example.org")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let outbox = app.store.recent_outbox(10).await.unwrap();
    assert!(!outbox.iter().any(|m| m.recipient == "x@example.org"));
}

#[tokio::test]
async fn branding_set_in_the_portal_shows_on_pages_and_in_messages() {
    let app = spawn_app().await;
    let c = portal_client(&app, "gina", AdminRole::GlobalAdmin).await;
    let form = |name: &'static str, logo: &'static str, colour: &'static str| {
        [
            ("helpdesk_kind", "off"),
            ("helpdesk_value", ""),
            ("organisation_name", name),
            ("logo_url", logo),
            ("brand_colour", colour),
        ]
    };
    // Refused: a colour that is not #RRGGBB, a logo that is not an http(s) URL.
    let r = submit(
        &c,
        app.url("/admin/customisation"),
        &form("Fabrikam", "javascript:alert(1)", "red"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("href=\"#f-brand_colour\"") && body.contains("href=\"#f-logo_url\""));
    assert_eq!(app.store.policy().await.unwrap().organisation_name, None);

    let r = submit(
        &c,
        app.url("/admin/customisation"),
        &form(
            "Fabrikam",
            "https://cdn.fabrikam.example/logo.svg",
            "#AA3300",
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let policy = app.store.policy().await.unwrap();
    assert_eq!(policy.brand_colour.as_deref(), Some("#aa3300"));

    // Pages: the name, the logo (allowed by the CSP), the colour.
    let r = client().get(app.url("/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src 'self' data: https://cdn.fabrikam.example"),
        "{csp}"
    );
    let home = r.text().await.unwrap();
    assert!(home.contains("Fabrikam"), "{home}");
    assert!(home.contains("cdn.fabrikam.example"));
    let css = client()
        .get(app.url("/static/brand.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(css.contains("#aa3300"));
    // Messages: a test message is signed with the new name.
    let r = submit(
        &c,
        app.url("/admin/notifications/test"),
        &[("channel", "email"), ("to", "check@example.org")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let outbox = app.store.recent_outbox(5).await.unwrap();
    assert!(
        outbox[0].subject.contains("Fabrikam"),
        "{}",
        outbox[0].subject
    );
    // The organisation's name now counts as a banned word in passwords.
    let r = client()
        .post(app.url("/api/v1/password/check"))
        .json(&serde_json::json!({"password": "Fabrikam1!"}))
        .send()
        .await
        .unwrap();
    let verdict: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        verdict["accepted"],
        serde_json::Value::Bool(false),
        "{verdict}"
    );

    // Emptied fields fall back to the configuration's values.
    let r = submit(&c, app.url("/admin/customisation"), &form("", "", "")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let home = client()
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("Fabrikam"));
}
