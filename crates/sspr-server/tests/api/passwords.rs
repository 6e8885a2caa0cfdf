//! Password protection through the HTTP API: live feedback, the self-service change, the
//! administrators' policy, and the breached corpus picked up by a running server.

use reqwest::StatusCode;
use sspr_core::ports::Store;

use crate::helpers::{Options, client, spawn_app, spawn_app_with};

async fn check(app: &crate::helpers::TestApp, password: &str) -> serde_json::Value {
    let r = app
        .client
        .post(app.url("/api/v1/password/check"))
        .json(&serde_json::json!({ "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn rule<'a>(body: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == name)
        .unwrap_or_else(|| panic!("rule {name} missing in {body}"))
}

#[tokio::test]
async fn feedback_reports_each_rule_and_a_strength() {
    let app = spawn_app().await;
    let weak = check(&app, "Password1!").await;
    assert_eq!(weak["accepted"], false);
    assert_eq!(rule(&weak, "length")["passed"], true);
    assert_eq!(rule(&weak, "classes")["passed"], true);
    assert_eq!(rule(&weak, "guessable")["passed"], false);
    assert!(weak["strength"]["score"].as_u64().unwrap() <= 1);
    // The answer says why, never which term matched.
    assert!(!weak.to_string().to_lowercase().contains("\"password\""));

    let short = check(&app, "aB1!").await;
    assert_eq!(rule(&short, "length")["passed"], false);

    let strong = check(&app, "Tangerine-Bicycle-Orbit-42").await;
    assert_eq!(strong["accepted"], true, "{strong}");
    assert!(strong["strength"]["score"].as_u64().unwrap() >= 3);

    // The organisation's name counts as a banned term ("Example Org").
    let org = check(&app, "Example#2024").await;
    assert_eq!(rule(&org, "guessable")["passed"], false, "{org}");
}

#[tokio::test]
async fn a_signed_in_users_own_names_count() {
    let app = spawn_app().await;
    app.add_user("brontevald", "Tangerine-Bicycle-Orbit-42")
        .await;
    let body = check(&app, "Brontevald!23").await;
    assert_eq!(
        rule(&body, "guessable")["passed"],
        true,
        "anonymous: no names known"
    );
    app.sign_in("brontevald", "Tangerine-Bicycle-Orbit-42")
        .await;
    let body = check(&app, "Brontevald!23").await;
    assert_eq!(rule(&body, "guessable")["passed"], false, "{body}");
}

async fn change(app: &crate::helpers::TestApp, current: &str, new: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/me/password"))
        .json(&serde_json::json!({ "current": current, "new": new }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn changing_a_password_applies_every_rule_and_signs_out_other_devices() {
    let app = spawn_app().await;
    app.add_user("ada", "Tangerine-Bicycle-Orbit-42").await;
    // Not signed in.
    assert_eq!(
        change(&app, "x", "y").await.status(),
        StatusCode::UNAUTHORIZED
    );

    app.sign_in("ada", "Tangerine-Bicycle-Orbit-42").await;
    let other_device = client();
    other_device
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": "ada", "password": "Tangerine-Bicycle-Orbit-42"}))
        .send()
        .await
        .unwrap();

    let r = change(&app, "wrong", "Another-Fine-Phrase-77").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = change(
        &app,
        "Tangerine-Bicycle-Orbit-42",
        "Tangerine-Bicycle-Orbit-42",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "password_policy");
    assert_eq!(body["reasons"][0]["rule"]["rule"], "same_as_current");

    let r = change(&app, "Tangerine-Bicycle-Orbit-42", "Welcome2024!").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["reasons"][0]["rule"]["rule"], "easily_guessed",
        "{body}"
    );

    let r = change(&app, "Tangerine-Bicycle-Orbit-42", "Another-Fine-Phrase-77").await;
    assert_eq!(r.status(), StatusCode::OK);
    // This client got a fresh session; the other device was signed out.
    let me = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me = other_device.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.sign_in("ada", "Another-Fine-Phrase-77").await.status(),
        StatusCode::OK
    );

    // Audited, without the password, with Entra's failure reason for the refusals.
    let events = app.store.audit_page(0, 100).await.unwrap();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.event.event_type == "Change password (self-service)")
        .collect();
    assert_eq!(changes.len(), 3, "two refusals and one success");
    assert!(
        changes
            .iter()
            .any(|e| e.event.reason.as_deref() == Some("FuzzyPolicyViolationInvalidPassword"))
    );
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains("Another-Fine-Phrase-77") && !all.contains("Welcome2024"));
}

#[tokio::test]
async fn the_password_policy_is_for_admins_and_validated() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/admin/password-policy");
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    app.add_user("ada", "Tangerine-Bicycle-Orbit-42").await;
    app.sign_in("ada", "Tangerine-Bicycle-Orbit-42").await;
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    let admin = app.admin_client().await;
    let policy: serde_json::Value = admin.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(policy["min_length"], 8);
    assert_eq!(policy["history"], 1);

    let mut bad = policy.clone();
    bad["min_length"] = 4.into();
    bad["custom_banned_terms"] = serde_json::json!(["contoso", "abc"]);
    let r = admin.put(&url).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"min_length"), "{body}");
    assert!(
        fields.iter().any(|f| f.starts_with("custom_banned_terms")),
        "{body}"
    );
    assert_eq!(
        app.store.password_policy().await.unwrap().min_length,
        8,
        "nothing stored"
    );

    let mut good = policy.clone();
    good["custom_banned_terms"] = serde_json::json!(["contoso", "Contoso", "london"]);
    let r = admin.put(&url).json(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let stored: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        stored["custom_banned_terms"],
        serde_json::json!(["contoso", "london"])
    );
    // The custom list now applies (Entra's example D2).
    let body = check(&app, "C0ntos0@London").await;
    assert_eq!(rule(&body, "guessable")["passed"], false);
    assert!(
        rule(&body, "guessable")["message"]
            .as_str()
            .unwrap()
            .contains("administrator")
    );
    let events = app.store.audit_page(0, 100).await.unwrap();
    assert!(events.iter().any(
        |e| e.event.event_type == "Password protection policy changes"
            && e.event.actor.as_deref() == Some("root")
    ));
}

#[tokio::test]
async fn a_running_server_picks_up_a_new_breached_corpus() {
    let app = spawn_app_with(Options::default()).await;
    let pw = "Zebra-Quantum-Harbour-19";
    assert_eq!(rule(&check(&app, pw).await, "breached")["passed"], true);
    let report = sspr_directory::breached::import(
        std::io::Cursor::new(format!("{pw}\nanother-one\n")),
        &app.loaded.breached_dir,
        sspr_directory::breached::ImportOptions {
            format: sspr_directory::breached::InputFormat::Plain,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.entries, 2);
    // The server reloads every second in tests; wait for it (bounded).
    let mut passed = true;
    for _ in 0..100 {
        passed = rule(&check(&app, pw).await, "breached")["passed"]
            .as_bool()
            .unwrap();
        if !passed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!passed, "the new corpus is in service");
}

#[tokio::test]
async fn the_sspr_policy_through_the_api() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/admin/policy");
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    app.add_user("ada", "Tangerine-Bicycle-Orbit-42").await;
    app.sign_in("ada", "Tangerine-Bicycle-Orbit-42").await;
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.client
            .put(&url)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );

    let admin = app.admin_client().await;
    let policy: serde_json::Value = admin.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(policy["enablement"], "none");
    assert_eq!(policy["reconfirm_days"], 180);

    let mut bad = policy.clone();
    bad["enablement"] = "selected".into();
    bad["methods_required"] = 3.into();
    let r = admin.put(&url).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["target_group", "methods_required"], "{body}");

    let mut good = policy.clone();
    good["enablement"] = "all".into();
    good["helpdesk"] = serde_json::json!({"kind": "email", "value": "help@example.org"});
    let r = admin.put(&url).json(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.store.policy().await.unwrap().enablement,
        sspr_core::Enablement::All
    );
    let events = app.store.audit_page(0, 100).await.unwrap();
    let change = events
        .iter()
        .find(|e| e.event.event_type == "Self-service password reset policy changes")
        .expect("audited");
    assert_eq!(change.event.actor.as_deref(), Some("root"));
    assert!(
        change
            .event
            .details
            .to_string()
            .contains("\"old\":\"none\""),
        "{}",
        change.event.details
    );
}
