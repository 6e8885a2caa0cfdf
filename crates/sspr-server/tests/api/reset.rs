//! The reset and unlock flow through the JSON API (SPEC §5, §9.1): the whole journey, one act
//! under parallel submissions, the limits, neutral answers for users sspr will not serve,
//! links that ignore forged Host headers, and bad input that changes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sspr_core::audit::{AuditEvent, Outcome, events};
use sspr_core::methods::totp;
use sspr_core::ports::{Clock, Store};
use sspr_core::{EmailAddress, LockoutState, PhoneNumber, User};
use time::Duration;

use crate::helpers::{Options, TestApp, client, spawn_app, spawn_app_with};
use crate::security_info::{PASSWORD, bare_user, base32_decode, enable_all, post};

const NEW_PASSWORD: &str = "Harbour-Violet-Compass-57";

/// A user with an email address and a mobile number on the profile (registered by the
/// organisation), enabled for SSPR with one method required.
async fn profile_user(app: &TestApp, name: &str) -> User {
    let user = app.add_user(name, PASSWORD).await;
    let update = sspr_core::ports::ProfileUpdate {
        display_name: user.display_name.clone(),
        first_name: None,
        last_name: None,
        email: user.email.clone(),
        alternate_email: Some(EmailAddress::parse(&format!("{name}.home@example.net")).unwrap()),
        mobile_phone: Some(PhoneNumber::parse("+447911123456").unwrap()),
        office_phone: None,
        roles: Default::default(),
        enabled: true,
    };
    app.store
        .update_profile(
            user.id,
            &update,
            &AuditEvent::new("Update user", Outcome::Success),
        )
        .await
        .unwrap();
    app.store.get_user(user.id).await.unwrap().unwrap()
}

async fn start(app: &TestApp, c: &reqwest::Client, username: &str) -> Value {
    let (status, body) = post(c, app.url("/api/v1/reset"), json!({ "username": username })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn method_id(flow: &Value, kind: &str) -> String {
    flow["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} method in {flow}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn flow_url(app: &TestApp, flow: &Value, rest: &str) -> String {
    app.url(&format!(
        "/api/v1/reset/{}{rest}",
        flow["flow_id"].as_str().unwrap()
    ))
}

/// The newest message to `to`, and the code in it.
async fn newest_code(app: &TestApp, to: &str) -> String {
    let messages = app.store.recent_outbox(200).await.unwrap();
    let m = messages
        .iter()
        .find(|m| m.recipient == to && m.body.chars().any(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no message to {to}"));
    m.body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| (6..=8).contains(&w.len()))
        .unwrap_or_else(|| panic!("no code in {:?}", m.body))
        .to_owned()
}

/// Sends a code and reads it from the one new message to `to` (messages queued in the same
/// millisecond have no reliable order, so "the newest" would not do).
async fn send_and_read(
    app: &TestApp,
    c: &reqwest::Client,
    flow: &Value,
    m: &str,
    to: &str,
) -> String {
    let before: Vec<uuid::Uuid> = app
        .store
        .recent_outbox(1000)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    let (s, body) = send(app, c, flow, m).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let after = app.store.recent_outbox(1000).await.unwrap();
    let new: Vec<_> = after
        .iter()
        .filter(|x| x.recipient == to && !before.contains(&x.id))
        .collect();
    assert_eq!(new.len(), 1, "one new message to {to}");
    new[0]
        .body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| (6..=8).contains(&w.len()))
        .expect("a code")
        .to_owned()
}

async fn send(app: &TestApp, c: &reqwest::Client, flow: &Value, m: &str) -> (StatusCode, Value) {
    post(
        c,
        flow_url(app, flow, &format!("/methods/{m}/send")),
        json!({}),
    )
    .await
}

async fn verify(
    app: &TestApp,
    c: &reqwest::Client,
    flow: &Value,
    m: &str,
    body: Value,
) -> (StatusCode, Value) {
    post(
        c,
        flow_url(app, flow, &format!("/methods/{m}/verify")),
        body,
    )
    .await
}

async fn count_events(app: &TestApp, event: &str, outcome: Outcome) -> usize {
    let mut n = 0;
    let mut after = 0;
    loop {
        let page = app.store.audit_page(after, 500).await.unwrap();
        if page.is_empty() {
            return n;
        }
        after = page.last().unwrap().seq;
        n += page
            .iter()
            .filter(|r| r.event.event_type == event && r.event.outcome == outcome)
            .count();
    }
}

#[tokio::test]
async fn a_user_resets_with_an_emailed_code() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let user = profile_user(&app, "nina").await;
    // A session elsewhere, to be revoked by the reset.
    let other = client();
    let (s, _) = post(
        &other,
        app.url("/api/v1/session"),
        json!({"username": "nina", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    let c = client();
    let flow = start(&app, &c, "NINA@example.org").await;
    assert_eq!(flow["required"], 1);
    let hints: Vec<&str> = flow["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["hint"].as_str().unwrap())
        .collect();
    assert!(hints.contains(&"ni••@ex•••••.org"), "{hints:?}");
    assert!(
        hints.iter().all(|h| !h.contains("nina@")),
        "hints never show an address"
    );
    let email = method_id(&flow, "email");

    // The password step is refused before a method is verified.
    let (s, body) = post(
        &c,
        flow_url(&app, &flow, "/password"),
        json!({"new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "not_verified");

    let (s, _b) = send(&app, &c, &flow, &email).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{_b}");
    let code = newest_code(&app, "nina@example.org").await;
    assert_eq!(code.len(), 8);
    let (s, body) = verify(&app, &c, &flow, &email, json!({ "code": code })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);

    // The password policy applies, and a refusal keeps the flow verified.
    let (s, body) = post(
        &c,
        flow_url(&app, &flow, "/password"),
        json!({"new_password": "password1"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "password_policy");
    let (s, body) = post(
        &c,
        flow_url(&app, &flow, "/password"),
        json!({"new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "reset");

    // The new password works, the old one does not; the other session is gone.
    assert_eq!(
        app.sign_in("nina", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.sign_in("nina", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let me = other
        .get(app.url("/api/v1/me/methods"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "other sessions are revoked"
    );
    // The flow is over: nothing more can be done with it.
    let (s, _) = post(
        &c,
        flow_url(&app, &flow, "/password"),
        json!({"new_password": "Another-Fresh-Pass-99"}),
    )
    .await;
    assert_ne!(s, StatusCode::OK);
    // Told at both addresses; audited with Entra's names.
    let outbox = app.store.recent_outbox(50).await.unwrap();
    for to in ["nina@example.org", "nina.home@example.net"] {
        assert!(
            outbox
                .iter()
                .any(|m| m.recipient == to && m.subject.to_lowercase().contains("password")),
            "no reset notice to {to}"
        );
    }
    assert_eq!(
        count_events(&app, events::RESET_PASSWORD_SELF, Outcome::Success).await,
        1
    );
    assert!(count_events(&app, events::RESET_FLOW_PROGRESS, Outcome::Success).await >= 3);
    // Every record of the flow carries its id as the correlation id (the pages' support code).
    let all = app.store.audit_page(0, 1000).await.unwrap();
    let of_flow: Vec<&str> = all
        .iter()
        .filter(|r| r.event.correlation_id.as_deref() == flow["flow_id"].as_str())
        .map(|r| r.event.event_type.as_str())
        .collect();
    assert!(
        of_flow.contains(&events::RESET_PASSWORD_SELF),
        "{of_flow:?}"
    );
    assert!(
        of_flow.len() >= 4,
        "started, sent, verified, reset: {of_flow:?}"
    );
    let _ = user;
}

/// Registers an authenticator app for a signed-in client; returns its secret.
async fn add_app(app: &TestApp, c: &reqwest::Client) -> totp::TotpSecret {
    let (s, added) = post(
        c,
        app.url("/api/v1/me/methods"),
        json!({"type": "authenticator_code"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    let secret =
        totp::TotpSecret::from_bytes(base32_decode(added["secret"].as_str().unwrap())).unwrap();
    let step = totp::step_at(app.clock.now());
    let (s, body) = post(
        c,
        app.url(&format!(
            "/api/v1/me/methods/{}/verify",
            added["id"].as_str().unwrap()
        )),
        json!({"code": totp::code_at(&secret, step)}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    secret
}

#[tokio::test]
async fn an_admin_needs_two_methods_and_the_other_admins_hear_of_it() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let boss = app.add_admin("boss", PASSWORD).await;
    app.add_admin("colleague", PASSWORD).await;
    let c = client();
    let (s, _) = post(
        &c,
        app.url("/api/v1/session"),
        json!({"username": "boss", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let secret = add_app(&app, &c).await;
    app.clock.advance(Duration::seconds(60));

    let r = client();
    let flow = start(&app, &r, "boss").await;
    assert_eq!(flow["required"], 2);
    let types: Vec<&str> = flow["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert!(
        !types.contains(&"security_questions") && !types.contains(&"mobile_voice"),
        "{types:?}"
    );
    let email = method_id(&flow, "email");
    let app_id = method_id(&flow, "authenticator_code");
    send(&app, &r, &flow, &email).await;
    let code = newest_code(&app, "boss@example.org").await;
    let (s, body) = verify(&app, &r, &flow, &email, json!({"code": code})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["verified"], false, "one of two: {body}");
    let (s, _) = post(
        &r,
        flow_url(&app, &flow, "/password"),
        json!({"new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let code = totp::code_at(&secret, totp::step_at(app.clock.now()));
    let (s, body) = verify(&app, &r, &flow, &app_id, json!({"code": code})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);
    let (s, body) = post(
        &r,
        flow_url(&app, &flow, "/password"),
        json!({"new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let outbox = app.store.recent_outbox(50).await.unwrap();
    assert!(
        outbox
            .iter()
            .any(|m| m.recipient == "colleague@example.org" && m.body.contains("boss")),
        "the other admin is told"
    );
    let _ = boss;
}

#[tokio::test]
async fn a_used_authenticator_step_is_refused_and_questions_must_all_be_right() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let mut policy = app.store.policy().await.unwrap();
    policy.methods_required = 2;
    policy.questions_to_reset = 3;
    app.store
        .put_policy(&policy, &AuditEvent::new("test", Outcome::Success))
        .await
        .unwrap();
    let (_, c) = bare_user(&app, "quinn").await;
    let secret = add_app(&app, &c).await;
    let catalogue: Value = c
        .get(app.url("/api/v1/me/security-questions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = catalogue["questions"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|q| q["id"].as_str().unwrap().to_owned())
        .collect();
    let answers: Vec<Value> = ids
        .iter()
        .zip(["Blue Whale", "Kingston", "Mrs Okafor"])
        .map(|(q, a)| json!({"question_id": q, "answer": a}))
        .collect();
    let r = c
        .put(app.url("/api/v1/me/security-questions"))
        .json(&json!({"answers": answers}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let f = client();
    let flow = start(&app, &f, "quinn").await;
    let app_id = method_id(&flow, "authenticator_code");
    // The step used to register the app is spent.
    let (s, _) = verify(
        &app,
        &f,
        &flow,
        &app_id,
        json!({"code": totp::code_at(&secret, totp::step_at(app.clock.now()))}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    app.clock.advance(Duration::seconds(30));
    let (s, body) = verify(
        &app,
        &f,
        &flow,
        &app_id,
        json!({"code": totp::code_at(&secret, totp::step_at(app.clock.now()))}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let q = method_id(&flow, "security_questions");
    let (s, asked) = send(&app, &f, &flow, &q).await;
    assert_eq!(s, StatusCode::OK, "{asked}");
    let asked: Vec<String> = asked["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(asked.len(), 3);
    let right = |id: &str| match ids.iter().position(|x| x == id).unwrap() {
        0 => "blue   WHALE",
        1 => "Kingston",
        _ => "Mrs Okafor",
    };
    // One wrong answer fails the whole set.
    let mut given: serde_json::Map<String, Value> = asked
        .iter()
        .map(|id| (id.clone(), json!(right(id))))
        .collect();
    given.insert(asked[0].clone(), json!("wrong answer"));
    let (s, _) = verify(&app, &f, &flow, &q, json!({"answers": given})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Normalised answers (case, spaces) pass.
    let (_, asked) = send(&app, &f, &flow, &q).await;
    let given: serde_json::Map<String, Value> = asked["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let id = x["id"].as_str().unwrap();
            (id.to_owned(), json!(right(id)))
        })
        .collect();
    let (s, body) = verify(&app, &f, &flow, &q, json!({"answers": given})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);
}

#[tokio::test]
async fn one_valid_code_submitted_32_times_verifies_once_and_32_passwords_write_once() {
    let app = spawn_app().await;
    enable_all(&app).await;
    profile_user(&app, "olga").await;
    let c = client();
    let flow = start(&app, &c, "olga").await;
    let email = method_id(&flow, "email");
    send(&app, &c, &flow, &email).await;
    let code = newest_code(&app, "olga@example.org").await;
    let url = flow_url(&app, &flow, &format!("/methods/{email}/verify"));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (c, url, code) = (c.clone(), url.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .json(&json!({"code": code}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap() == StatusCode::OK);
    }
    assert_eq!(ok, 1, "exactly one verification");

    let before = count_events(&app, events::RESET_PASSWORD_SELF, Outcome::Success).await;
    let url = flow_url(&app, &flow, "/password");
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (c, url) = (c.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            c.post(url)
                .json(&json!({"new_password": format!("Parallel-Lantern-{i:02}-Quartz")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap() == StatusCode::OK);
    }
    assert_eq!(ok, 1, "exactly one write");
    assert_eq!(
        count_events(&app, events::RESET_PASSWORD_SELF, Outcome::Success).await,
        before + 1
    );
    let history = app
        .store
        .password_history(
            app.store
                .find_user(&sspr_core::Username::parse("olga").unwrap())
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "one previous password: one write");
}

#[tokio::test]
async fn the_limits_block_and_a_successful_reset_clears_them() {
    let app = spawn_app().await;
    enable_all(&app).await;
    profile_user(&app, "pia").await;
    let c = client();
    let flow = start(&app, &c, "pia").await;
    let email = method_id(&flow, "email");
    send(&app, &c, &flow, &email).await;
    // Five wrong codes, then blocked for 24 hours, whatever is sent.
    for _ in 0..5 {
        let (s, body) = verify(&app, &c, &flow, &email, json!({"code": "00000000"})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    }
    let (s, body) = verify(&app, &c, &flow, &email, json!({"code": "00000000"})).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["retry_after"].as_u64().unwrap() > 23 * 3600);
    // A new flow does not escape the block: it is the user's.
    let again = start(&app, &c, "pia").await;
    let (s, _) = send(&app, &c, &again, &method_id(&again, "email")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        count_events(&app, events::RESET_BLOCKED, Outcome::Success).await,
        1
    );

    // 24 hours later: allowed again; SMS sends are limited to 5 per hour.
    app.clock
        .advance(Duration::hours(24) + Duration::minutes(1));
    let flow = start(&app, &c, "pia").await;
    let sms = method_id(&flow, "mobile_sms");
    for _ in 0..5 {
        assert_eq!(send(&app, &c, &flow, &sms).await.0, StatusCode::ACCEPTED);
    }
    assert_eq!(
        send(&app, &c, &flow, &sms).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Emails: 10 in 10 minutes.
    let email = method_id(&flow, "email");
    for _ in 0..10 {
        assert_eq!(send(&app, &c, &flow, &email).await.0, StatusCode::ACCEPTED);
    }
    assert_eq!(
        send(&app, &c, &flow, &email).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Reaching the email limit blocks for 24 hours too. After that: four wrong codes, a right
    // one and a reset: the counters are cleared.
    app.clock
        .advance(Duration::hours(24) + Duration::minutes(1));
    let flow = start(&app, &c, "pia").await;
    let email = method_id(&flow, "email");
    let code = send_and_read(&app, &c, &flow, &email, "pia@example.org").await;
    for _ in 0..4 {
        verify(&app, &c, &flow, &email, json!({"code": "11111111"})).await;
    }
    assert_eq!(
        verify(&app, &c, &flow, &email, json!({"code": code}))
            .await
            .0,
        StatusCode::OK
    );
    let (s, _) = post(
        &c,
        flow_url(&app, &flow, "/password"),
        json!({"new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let flow = start(&app, &c, "pia").await;
    let email = method_id(&flow, "email");
    send(&app, &c, &flow, &email).await;
    for _ in 0..4 {
        let (s, _) = verify(&app, &c, &flow, &email, json!({"code": "22222222"})).await;
        assert_eq!(
            s,
            StatusCode::BAD_REQUEST,
            "the earlier failures were forgotten"
        );
    }
}

#[tokio::test]
async fn users_sspr_will_not_serve_get_decoys_and_nothing_is_sent() {
    let app = spawn_app().await;
    // In scope: members of a group; "outsider" is not in it.
    enable_all(&app).await;
    profile_user(&app, "real").await;
    let disabled = profile_user(&app, "gone").await;
    let update = sspr_core::ports::ProfileUpdate {
        display_name: disabled.display_name.clone(),
        first_name: None,
        last_name: None,
        email: disabled.email.clone(),
        alternate_email: None,
        mobile_phone: None,
        office_phone: None,
        roles: Default::default(),
        enabled: false,
    };
    app.store
        .update_profile(
            disabled.id,
            &update,
            &AuditEvent::new("Update user", Outcome::Success),
        )
        .await
        .unwrap();
    bare_user(&app, "unregistered").await;

    let c = client();
    let real = start(&app, &c, "real").await;
    let mut shapes = Vec::new();
    for id in [
        "real",
        "nobody-at-all",
        "gone",
        "unregistered",
        "*)(uid=*))(|(uid=*",
    ] {
        let flow = start(&app, &client(), id).await;
        let keys: Vec<&String> = flow.as_object().unwrap().keys().collect();
        shapes.push((id, keys.len(), flow["required"].clone()));
        for m in flow["methods"].as_array().unwrap() {
            let hint = m["hint"].as_str().unwrap();
            assert!(
                hint.contains('•') || m["type"] == "authenticator_code",
                "{id}: {hint}"
            );
        }
    }
    assert!(
        shapes
            .iter()
            .all(|(_, n, r)| *n == shapes[0].1 && *r == shapes[0].2),
        "{shapes:?}"
    );
    // The same unknown ID shows the same decoys every time.
    let a = start(&app, &client(), "nobody-at-all").await;
    let b = start(&app, &client(), "Nobody-At-All").await;
    assert_eq!(a["methods"], b["methods"]);
    assert_ne!(a["methods"], real["methods"]);

    // Sending to a decoy answers like a real send, and nothing leaves.
    let before = app.store.recent_outbox(500).await.unwrap().len();
    let c2 = client();
    let decoy = start(&app, &c2, "nobody-at-all").await;
    let (s, _) = send(&app, &c2, &decoy, &method_id(&decoy, "email")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = verify(
        &app,
        &c2,
        &decoy,
        &method_id(&decoy, "email"),
        json!({"code": "12345678"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(app.store.recent_outbox(500).await.unwrap().len(), before);
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    let app = spawn_app().await;
    enable_all(&app).await;
    profile_user(&app, "rosa").await;
    let owner = client();
    let flow = start(&app, &owner, "rosa").await;
    let email = method_id(&flow, "email");

    // Another browser (no cookie, or its own cookie) cannot use the flow id.
    let stranger = client();
    start(&app, &stranger, "rosa").await;
    for c in [&client(), &stranger] {
        let (s, body) = send(&app, c, &flow, &email).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"], "flow_not_found");
    }
    // Garbage ids, unknown methods, malformed bodies.
    let (s, _) = post(
        &owner,
        app.url("/api/v1/reset/not-a-flow/methods/m1/send"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = send(&app, &owner, &flow, "m99").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, _) = verify(&app, &owner, &flow, &email, json!({"code": 1})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = verify(
        &app,
        &owner,
        &flow,
        &email,
        json!({"code": "1", "answers": {}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = post(&owner, app.url("/api/v1/reset"), json!({"user": "rosa"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let big = "x".repeat(2 * 1024 * 1024);
    let r = owner
        .post(app.url("/api/v1/reset"))
        .json(&json!({"username": big}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Skipped steps.
    let (s, _) = post(&owner, flow_url(&app, &flow, "/unlock"), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Nothing of the above moved the flow.
    let view: Value = owner
        .get(flow_url(&app, &flow, ""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["stage"], "verifying");
    assert_eq!(view["verified"], 0);
    // An expired flow is gone.
    app.clock.advance(Duration::minutes(16));
    let (s, _) = send(&app, &owner, &flow, &email).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_locked_user_can_unlock_without_a_new_password() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let mut policy = app.store.policy().await.unwrap();
    policy.allow_unlock = true;
    app.store
        .put_policy(&policy, &AuditEvent::new("test", Outcome::Success))
        .await
        .unwrap();
    let user = profile_user(&app, "sam").await;
    let locked = LockoutState {
        failed_count: 0,
        lockout_count: 1,
        locked_until: Some(app.clock.now() + Duration::minutes(30)),
    };
    assert!(
        app.store
            .update_lockout(user.id, &user.lockout, &locked, None)
            .await
            .unwrap()
    );
    assert_eq!(
        app.sign_in("sam", PASSWORD).await.status(),
        StatusCode::LOCKED
    );

    let c = client();
    let flow = start(&app, &c, "sam").await;
    let email = method_id(&flow, "email");
    send(&app, &c, &flow, &email).await;
    let code = newest_code(&app, "sam@example.org").await;
    let (s, body) = verify(&app, &c, &flow, &email, json!({"code": code})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["can_unlock"], true);
    let (s, body) = post(&c, flow_url(&app, &flow, "/unlock"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "unlocked");
    assert_eq!(
        app.sign_in("sam", PASSWORD).await.status(),
        StatusCode::OK,
        "same password, unlocked"
    );
    assert_eq!(
        count_events(&app, events::UNLOCK_SELF, Outcome::Success).await,
        1
    );
}

#[tokio::test]
async fn a_forged_host_header_changes_no_link() {
    let app = spawn_app_with(Options {
        public_base_url: Some("https://reset.example.org".into()),
        ..Options::default()
    })
    .await;
    enable_all(&app).await;
    profile_user(&app, "tom").await;
    let c = client();
    let r = c
        .post(app.url("/api/v1/reset"))
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("Forwarded", "host=evil.example")
        .json(&json!({"username": "tom"}))
        .send()
        .await
        .unwrap();
    let flow: Value = r.json().await.unwrap();
    let email = method_id(&flow, "email");
    let r = c
        .post(flow_url(&app, &flow, &format!("/methods/{email}/send")))
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    for m in app.store.recent_outbox(50).await.unwrap() {
        let all = format!(
            "{} {} {}",
            m.subject,
            m.body,
            m.html_body.clone().unwrap_or_default()
        );
        assert!(!all.contains("evil.example"), "{all}");
    }
}

#[tokio::test]
async fn the_proof_of_work_is_required_and_used_once() {
    let app = spawn_app_with(Options {
        tweak: Some(|c| c.reset.pow_max_number = 2000),
        ..Options::default()
    })
    .await;
    enable_all(&app).await;
    let c = client();
    let (s, body) = post(&c, app.url("/api/v1/reset"), json!({"username": "x"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_pow");
    let ch: Value = c
        .get(app.url("/api/v1/reset/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = altcha_lib_rs::solve_challenge(
        ch["challenge"].as_str().unwrap(),
        ch["salt"].as_str().unwrap(),
        None,
        ch["maxnumber"].as_u64(),
        0,
    )
    .unwrap();
    let payload = json!({
        "algorithm": ch["algorithm"], "challenge": ch["challenge"], "number": number,
        "salt": ch["salt"], "signature": ch["signature"],
    });
    use base64::Engine;
    let pow = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
    let (s, body) = post(
        &c,
        app.url("/api/v1/reset"),
        json!({"username": "x", "pow": pow}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = post(
        &c,
        app.url("/api/v1/reset"),
        json!({"username": "x", "pow": pow}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a solution is used once: {body}"
    );
    // A wrong number fails.
    let mut wrong = payload.clone();
    wrong["number"] = json!(number + 1);
    let (s, _) = post(
        &c,
        app.url("/api/v1/reset"),
        json!({"username": "x", "pow": wrong.to_string()}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_flow_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let (flow, email) = {
        let app = crate::helpers::spawn_app_in(dir.path(), Options::default()).await;
        enable_all(&app).await;
        profile_user(&app, "uma").await;
        let flow = start(&app, &c, "uma").await;
        let email = method_id(&flow, "email");
        send(&app, &c, &flow, &email).await;
        (flow, email)
    };
    // Same data directory, a new server: the flow, its code and the cookie still work.
    let app = crate::helpers::spawn_app_in(dir.path(), Options::default()).await;
    let code = newest_code(&app, "uma@example.org").await;
    let flow = json!({"flow_id": flow["flow_id"], "methods": flow["methods"]});
    let url = flow_url(&app, &flow, &format!("/methods/{email}/verify"));
    let r = c
        .post(url)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn explicit_messages_say_why_when_the_administrator_wants_them() {
    let app = spawn_app().await;
    enable_all(&app).await;
    bare_user(&app, "newbie").await;
    let mut policy = app.store.policy().await.unwrap();
    policy.explicit_messages = true;
    app.store
        .put_policy(&policy, &AuditEvent::new("test", Outcome::Success))
        .await
        .unwrap();
    for (id, reason) in [("newbie", "not_registered"), ("ghost", "unknown_user")] {
        let (s, body) = post(&client(), app.url("/api/v1/reset"), json!({"username": id})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "not_eligible");
        assert_eq!(body["reason"], reason);
    }
}
