//! "My security info" and the registration interrupt through the JSON API (SPEC §6, §9.1).

use reqwest::StatusCode;
use serde_json::{Value, json};
use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::methods::totp;
use sspr_core::ports::Store;
use sspr_core::{DisplayName, Enablement, MethodType, NewUser, SsprPolicy, User, Username};
use time::Duration;

use crate::helpers::{TestApp, client, spawn_app};

pub(crate) const PASSWORD: &str = "Walrus-Lantern-Quiver-82";

/// SSPR on for everyone, with every method, one required.
pub(crate) async fn enable_all(app: &TestApp) {
    let policy = SsprPolicy {
        enablement: Enablement::All,
        methods_enabled: MethodType::ALL.into_iter().collect(),
        ..SsprPolicy::default()
    };
    app.store
        .put_policy(&policy, &AuditEvent::new("test", Outcome::Success))
        .await
        .unwrap();
}

/// A user with no contact data on the profile, signed in on a fresh client.
pub(crate) async fn bare_user(app: &TestApp, name: &str) -> (User, reqwest::Client) {
    let mut u = NewUser::cloud(
        Username::parse(name).unwrap(),
        DisplayName::parse(&format!("User {name}")).unwrap(),
    );
    u.password_hash = Some(
        sspr_core::ports::PasswordHasher::hash(&app.hasher, PASSWORD)
            .await
            .unwrap(),
    );
    let user = app
        .store
        .create_user(&u, &AuditEvent::new("Add user", Outcome::Success))
        .await
        .unwrap();
    let c = client();
    let r = c
        .post(app.url("/api/v1/session"))
        .json(&json!({ "username": name, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    (user, c)
}

pub(crate) async fn post(c: &reqwest::Client, url: String, body: Value) -> (StatusCode, Value) {
    let r = c.post(url).json(&body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The newest code sent to `to` (from the outbox table, which the test reads directly).
async fn last_code(app: &TestApp, to: &str) -> String {
    let messages = app.store.recent_outbox(100).await.unwrap();
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

#[tokio::test]
async fn email_is_registered_only_after_its_code() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "ines").await;
    let (s, reg) = get(&c, app.url("/api/v1/me/registration")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(reg["registration"], "required");

    let (s, added) = post(
        &c,
        app.url("/api/v1/me/methods"),
        json!({ "type": "email", "address": "ines.home@example.net" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    assert_eq!(added["type"], "email");
    assert_eq!(added["verified"], false);
    let hint = added["hint"].as_str().unwrap();
    assert!(
        !hint.contains("ines.home"),
        "the hint masks the address: {hint}"
    );
    let id = added["id"].as_str().unwrap().to_owned();

    // Unverified: still not registered.
    let (_, reg) = get(&c, app.url("/api/v1/me/registration")).await;
    assert_eq!(reg["registration"], "required");

    let code = last_code(&app, "ines.home@example.net").await;
    assert_eq!(code.len(), 8, "email codes have 8 digits");
    let wrong = if code.starts_with('1') { "2" } else { "1" }.repeat(8);
    let verify = app.url(&format!("/api/v1/me/methods/{id}/verify"));
    let (s, body) = post(&c, verify.clone(), json!({ "code": wrong })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_code");

    let (s, body) = post(&c, verify.clone(), json!({ "code": code })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["verified"], true);
    // Single use.
    let (s, _) = post(&c, verify, json!({ "code": code })).await;
    assert_eq!(s, StatusCode::CONFLICT);

    let (_, reg) = get(&c, app.url("/api/v1/me/registration")).await;
    assert_eq!(reg["registration"], "ok");
    let (_, list) = get(&c, app.url("/api/v1/me/methods")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["verified"], true);

    // The user is told about the new method at the verified address.
    let messages = app.store.recent_outbox(10).await.unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m.recipient == "ines.home@example.net"
                && m.subject != messages.last().unwrap().subject),
        "a 'method added' notice follows the code"
    );
}

async fn get(c: &reqwest::Client, url: String) -> (StatusCode, Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_expired_code_gets_the_same_answer_as_a_wrong_one() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "otto").await;
    let (_, added) = post(
        &c,
        app.url("/api/v1/me/methods"),
        json!({ "type": "mobile_sms", "number": "+44 7911 123459" }),
    )
    .await;
    let hint = added["hint"].as_str().unwrap_or_else(|| panic!("{added}"));
    assert!(hint.matches('•').count() > 3, "{hint}");
    let id = added["id"].as_str().unwrap().to_owned();
    let code = last_code(&app, "+447911123459").await;
    assert_eq!(code.len(), 6, "phone codes have 6 digits");
    app.clock.advance(Duration::minutes(5));
    let (s, expired) = post(
        &c,
        app.url(&format!("/api/v1/me/methods/{id}/verify")),
        json!({ "code": code }),
    )
    .await;
    let (s2, wrong) = post(
        &c,
        app.url(&format!("/api/v1/me/methods/{id}/verify")),
        json!({ "code": "000000" }),
    )
    .await;
    assert_eq!((s, s2), (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST));
    assert_eq!(expired["error"], wrong["error"]);
    assert_eq!(expired["message"], wrong["message"]);
}

#[tokio::test]
async fn authenticator_enrolment_needs_a_valid_code() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "tara").await;
    let (s, added) = post(
        &c,
        app.url("/api/v1/me/methods"),
        json!({ "type": "authenticator_code" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    let uri = added["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains("issuer=Example%20Org"), "{uri}");
    assert!(added["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = added["secret"].as_str().unwrap();
    let id = added["id"].as_str().unwrap().to_owned();

    // The secret is sealed at rest: the stored row does not contain it.
    let stored = app
        .store
        .list_methods(
            app.store
                .find_user(&Username::parse("tara").unwrap())
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    let sealed = stored[0].secret.as_deref().unwrap();
    assert!(!sealed.contains(secret));

    let bytes = base32_decode(secret);
    let secret = totp::TotpSecret::from_bytes(bytes).unwrap();
    let now = sspr_core::ports::Clock::now(app.clock.as_ref());
    let step = totp::step_at(now);
    let verify = app.url(&format!("/api/v1/me/methods/{id}/verify"));
    let stale = totp::code_at(&secret, step - 5);
    let (s, _) = post(&c, verify.clone(), json!({ "code": stale })).await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a code from 2.5 minutes ago is refused"
    );
    let (s, body) = post(&c, verify, json!({ "code": totp::code_at(&secret, step) })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["type"], "authenticator_code");
    assert_eq!(body["verified"], true);
}

pub(crate) fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for ch in s.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|&a| a == ch).expect("base32") as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

#[tokio::test]
async fn security_questions_are_validated_and_count_as_a_method() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "quinn").await;
    let (s, cat) = get(&c, app.url("/api/v1/me/security-questions?lng=de")).await;
    assert_eq!(s, StatusCode::OK);
    let questions = cat["questions"].as_array().unwrap();
    assert!(questions.len() >= 30);
    assert_eq!(cat["required"], 3);
    let ids: Vec<&str> = questions
        .iter()
        .take(3)
        .map(|q| q["id"].as_str().unwrap())
        .collect();

    let url = app.url("/api/v1/me/security-questions");
    let put = |body: Value| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let r = c.put(url).json(&body).send().await.unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Two answers the same (after normalising case and spaces) are refused, with the field.
    let (s, body) = put(json!({ "answers": [
        { "question_id": ids[0], "answer": "Blue  Whale" },
        { "question_id": ids[1], "answer": "blue whale" },
        { "question_id": ids[2], "answer": "Rotterdam" },
    ]}))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(!body["errors"].as_array().unwrap().is_empty());
    // Too few answers.
    let (s, _) = put(json!({ "answers": [{ "question_id": ids[0], "answer": "abc" }] })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let (s, body) = put(json!({ "answers": [
        { "question_id": ids[0], "answer": "Blue Whale" },
        { "question_id": ids[1], "answer": "Mrs Okafor" },
        { "question_id": ids[2], "answer": "Rotterdam" },
    ]}))
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (_, list) = get(&c, app.url("/api/v1/me/methods")).await;
    assert_eq!(list[0]["type"], "security_questions");
    assert_eq!(list[0]["verified"], true);
    let (_, reg) = get(&c, app.url("/api/v1/me/registration")).await;
    assert_eq!(reg["registration"], "ok");
    // Nobody can read the answers back: they are argon2id hashes.
    let user = app
        .store
        .find_user(&Username::parse("quinn").unwrap())
        .await
        .unwrap()
        .unwrap();
    let stored = app.store.list_methods(user.id).await.unwrap();
    let secret = stored[0].secret.as_deref().unwrap();
    assert!(secret.contains("$argon2id$"));
    assert!(!secret.to_lowercase().contains("whale"));
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_foreign_ids_reveal_nothing() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "bea").await;
    let (_, other) = bare_user(&app, "carl").await;
    let methods = app.url("/api/v1/me/methods");

    let (s, body) = post(
        &c,
        methods.clone(),
        json!({ "type": "email", "address": "not-an-address" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "address");
    let (s, body) = post(
        &c,
        methods.clone(),
        json!({ "type": "mobile_sms", "number": "07911 123456" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "number");
    let (s, body) = post(&c, methods.clone(), json!({ "type": "pigeon" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "type");
    let (s, _) = post(
        &c,
        methods.clone(),
        json!({ "type": "email", "address": "a@example.org", "extra": 1 }),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );

    // Oversized body → 413.
    let huge = "x".repeat(200 * 1024);
    let r = c
        .post(methods.clone())
        .header("content-type", "application/json")
        .body(format!("{{\"type\":\"email\",\"address\":\"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Carl's method, a random id and garbage all get the same 404.
    let (_, added) = post(
        &other,
        methods.clone(),
        json!({ "type": "email", "address": "carl@example.net" }),
    )
    .await;
    let carls = added["id"].as_str().unwrap();
    let mut answers = Vec::new();
    for id in [
        carls,
        "0195f0e4-8a7b-7c3d-9e2f-123456789abc",
        "..%2F..%2Fetc",
    ] {
        let r = c
            .delete(app.url(&format!("/api/v1/me/methods/{id}")))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let mut body: Value = r.json().await.unwrap();
        body["support_code"] = Value::Null;
        answers.push((status, body));
        let (s, _) = post(
            &c,
            app.url(&format!("/api/v1/me/methods/{id}/verify")),
            json!({ "code": "123456" }),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    assert_eq!(answers[0].0, StatusCode::NOT_FOUND);
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);
    // Carl's method is untouched.
    let (_, list) = get(&other, methods.clone()).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Not signed in.
    let (s, body) = get(&client(), methods).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "not_signed_in");
}

#[tokio::test]
async fn wrong_codes_count_toward_the_limit_and_a_resend_does_not_reset_it() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "vera").await;
    let (_, added) = post(
        &c,
        app.url("/api/v1/me/methods"),
        json!({ "type": "email", "address": "vera@example.net" }),
    )
    .await;
    let id = added["id"].as_str().unwrap().to_owned();
    let verify = app.url(&format!("/api/v1/me/methods/{id}/verify"));
    for i in 0..5 {
        let (s, body) = post(&c, verify.clone(), json!({ "code": "00000000" })).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "attempt {i}: {body}");
        if i == 2 {
            let r = c
                .post(app.url(&format!("/api/v1/me/methods/{id}/resend")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::ACCEPTED);
        }
    }
    // The sixth attempt is refused even with the right code.
    let code = last_code(&app, "vera@example.net").await;
    let r = c
        .post(verify.clone())
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 23 * 3600, "blocked for a day: {retry}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "blocked");

    // A day later the block is over, and the (new) right code works. (The session expired
    // meanwhile: sign in again.)
    app.clock
        .advance(Duration::hours(24) + Duration::minutes(1));
    let c = client();
    let (s, _) = post(
        &c,
        app.url("/api/v1/session"),
        json!({ "username": "vera", "password": PASSWORD }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = c
        .post(app.url(&format!("/api/v1/me/methods/{id}/resend")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let code = last_code(&app, "vera@example.net").await;
    let (s, body) = post(&c, verify, json!({ "code": code })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn emails_are_limited_to_ten_in_ten_minutes() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "wes").await;
    for i in 0..10 {
        let (s, body) = post(
            &c,
            app.url("/api/v1/me/methods"),
            json!({ "type": "email", "address": format!("wes{i}@example.net") }),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "send {i}: {body}");
    }
    let (s, body) = post(
        &c,
        app.url("/api/v1/me/methods"),
        json!({ "type": "email", "address": "wes10@example.net" }),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let sent = app.store.recent_outbox(100).await.unwrap();
    assert!(
        !sent.iter().any(|m| m.recipient == "wes10@example.net"),
        "nothing sent when blocked"
    );
}

#[tokio::test]
async fn reconfirmation_falls_due_and_skipping_has_a_deadline() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "yara").await;
    // Register questions (which counts as confirming).
    let (_, cat) = get(&c, app.url("/api/v1/me/security-questions")).await;
    let ids: Vec<String> = cat["questions"].as_array().unwrap()[..3]
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_owned())
        .collect();
    let r = c
        .put(app.url("/api/v1/me/security-questions"))
        .json(&json!({ "answers": [
            { "question_id": ids[0], "answer": "first answer" },
            { "question_id": ids[1], "answer": "second answer" },
            { "question_id": ids[2], "answer": "third answer" },
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // 180 days later (the default), sign-in asks to re-confirm.
    app.clock.advance(Duration::days(180));
    let c = client();
    let (s, body) = post(
        &c,
        app.url("/api/v1/session"),
        json!({ "username": "yara", "password": PASSWORD }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["registration"], "reconfirm");
    let (_, reg) = get(&c, app.url("/api/v1/me/registration")).await;
    assert!(reg["can_skip_until"].is_string(), "{reg}");

    // Skipping works inside the 7-day window, not after it.
    let r = c
        .post(app.url("/api/v1/me/registration/skip"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    app.clock.advance(Duration::days(8));
    let c = client();
    let (_, body) = post(
        &c,
        app.url("/api/v1/session"),
        json!({ "username": "yara", "password": PASSWORD }),
    )
    .await;
    assert_eq!(body["registration"], "reconfirm");
    let r = c
        .post(app.url("/api/v1/me/registration/skip"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Confirming ends the interrupt.
    let r = c
        .post(app.url("/api/v1/me/registration/confirm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, reg) = get(&c, app.url("/api/v1/me/registration")).await;
    assert_eq!(reg["registration"], "ok");
}

#[tokio::test]
async fn removing_a_method_tells_the_removed_address() {
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "zed").await;
    let (_, added) = post(
        &c,
        app.url("/api/v1/me/methods"),
        json!({ "type": "email", "address": "zed@example.net" }),
    )
    .await;
    let id = added["id"].as_str().unwrap().to_owned();
    let code = last_code(&app, "zed@example.net").await;
    let (s, _) = post(
        &c,
        app.url(&format!("/api/v1/me/methods/{id}/verify")),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let before = app.store.recent_outbox(100).await.unwrap().len();
    let r = c
        .delete(app.url(&format!("/api/v1/me/methods/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let after = app.store.recent_outbox(100).await.unwrap();
    assert_eq!(after.len(), before + 1);
    assert_eq!(after[0].recipient, "zed@example.net");
    let (_, list) = get(&c, app.url("/api/v1/me/methods")).await;
    assert!(list.as_array().unwrap().is_empty());
}
