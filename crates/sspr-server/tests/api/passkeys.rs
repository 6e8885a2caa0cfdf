//! Passkey registration through the JSON API: the ceremony is the server's, lives in the
//! database, belongs to one user and is used once; a forged answer counts as a failure.
//! (A real authenticator registers one in the browser test, through Chromium's virtual
//! authenticator.)

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Options, spawn_app, spawn_app_with};
use crate::security_info::{bare_user, enable_all, post};

fn forged() -> Value {
    json!({
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": { "attestationObject": "o2NmbXRkbm9uZQ", "clientDataJSON": "e30" }
    })
}

#[tokio::test]
async fn passkeys_need_a_host_name_in_the_public_url() {
    // The default test URL is http://127.0.0.1:8080: an IP cannot be a relying party ID.
    let app = spawn_app().await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "ip").await;
    let (status, body) = post(&c, app.url("/api/v1/me/passkeys/options"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "type");
}

#[tokio::test]
async fn a_ceremony_belongs_to_one_user_and_is_used_once() {
    let app = spawn_app_with(Options {
        public_base_url: Some("http://localhost:8080".into()),
        ..Options::default()
    })
    .await;
    enable_all(&app).await;
    let (_, ada) = bare_user(&app, "ada").await;
    let (_, eve) = bare_user(&app, "eve").await;

    let (status, challenge) = post(&ada, app.url("/api/v1/me/passkeys/options"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{challenge}");
    let pk = &challenge["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["user"]["name"], "ada");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert!(pk["challenge"].as_str().unwrap().len() >= 43);
    let ceremony = challenge["ceremony"].as_str().unwrap().to_owned();
    assert_eq!(ceremony.len(), 64);

    // Another user cannot finish it. A ceremony is taken by whoever presents it first (its
    // id is 256 random bits, so only its owner can know it): it is gone afterwards.
    let (status, body) = post(
        &eve,
        app.url("/api/v1/me/passkeys"),
        json!({ "ceremony": ceremony, "name": "stolen", "credential": forged() }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "ceremony");
    let (status, body) = post(
        &ada,
        app.url("/api/v1/me/passkeys"),
        json!({ "ceremony": ceremony, "name": "laptop", "credential": forged() }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "ceremony", "used once: {body}");

    // A fresh ceremony with a forged answer: rejected, nothing registered.
    let (_, challenge) = post(&ada, app.url("/api/v1/me/passkeys/options"), json!({})).await;
    let (status, body) = post(
        &ada,
        app.url("/api/v1/me/passkeys"),
        json!({ "ceremony": challenge["ceremony"], "name": "laptop", "credential": forged() }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "credential");
    let list: Value = ada
        .get(app.url("/api/v1/me/methods"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|m| m["type"] != "passkey"),
        "{list}"
    );

    // Garbage: an unknown ceremony, a malformed body, an overlong name.
    let (status, body) = post(
        &ada,
        app.url("/api/v1/me/passkeys"),
        json!({ "ceremony": "00".repeat(32), "credential": forged() }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = post(&ada, app.url("/api/v1/me/passkeys"), json!({ "x": 1 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, challenge) = post(&ada, app.url("/api/v1/me/passkeys/options"), json!({})).await;
    let (status, body) = post(
        &ada,
        app.url("/api/v1/me/passkeys"),
        json!({ "ceremony": challenge["ceremony"], "name": "x".repeat(65), "credential": forged() }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "name");
}

#[tokio::test]
async fn forged_answers_count_toward_the_failure_limit() {
    let app = spawn_app_with(Options {
        public_base_url: Some("http://localhost:8080".into()),
        ..Options::default()
    })
    .await;
    enable_all(&app).await;
    let (_, c) = bare_user(&app, "mallory").await;
    let mut statuses = vec![];
    for _ in 0..6 {
        let (_, challenge) = post(&c, app.url("/api/v1/me/passkeys/options"), json!({})).await;
        let (status, _) = post(
            &c,
            app.url("/api/v1/me/passkeys"),
            json!({ "ceremony": challenge["ceremony"], "credential": forged() }),
        )
        .await;
        statuses.push(status);
    }
    // Five failures in 24 hours, then the block (SPEC §4).
    assert_eq!(&statuses[..5], &[StatusCode::UNPROCESSABLE_ENTITY; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}
