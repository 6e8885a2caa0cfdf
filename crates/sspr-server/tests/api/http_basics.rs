//! Health, readiness, metrics, security headers, request ids, CSRF and body limits.

use reqwest::StatusCode;

use crate::helpers::{Options, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_ready_and_metrics() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("sspr_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/readyz\""));
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.store.close().await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Liveness is unaffected: the process still serves.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A sign-in now gets a clear, retryable error, not a crash.
    let r = app.sign_in("ada", "whatever-1A").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get("retry-after").is_some());
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    assert!(!body["support_code"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn security_headers_on_pages_and_api() {
    let app = spawn_app().await;
    for path in ["/", "/signin", "/healthz", "/api/v1/nothing"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(csp.contains("script-src 'self'"), "{path}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
        assert_eq!(h.get("cache-control").unwrap(), "no-store");
        // Served over plain http here: no HSTS.
        assert!(h.get("strict-transport-security").is_none());
    }
}

#[tokio::test]
async fn hsts_when_the_public_url_is_https() {
    let app = spawn_app_with(Options {
        public_base_url: Some("https://sspr.example.org".into()),
        ..Options::default()
    })
    .await;
    let r = app.client.get(app.url("/")).send().await.unwrap();
    assert!(
        r.headers()
            .get("strict-transport-security")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

#[tokio::test]
async fn request_ids_are_ours_not_the_clients() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "client-chosen-id")
        .send()
        .await
        .unwrap();
    let id = r.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert_ne!(id, "client-chosen-id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let other = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(other.headers().get("x-request-id").unwrap(), id);
}

#[tokio::test]
async fn cross_site_form_posts_are_refused() {
    let app = spawn_app().await;
    app.add_user("ada", "Correct-Horse-1").await;
    let form = [("username", "ada"), ("password", "Correct-Horse-1")];
    let r = app
        .client
        .post(app.url("/signin"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no session for a forged post"
    );
    // The same post from our own origin goes through.
    let r = app
        .client
        .post(app.url("/signin"))
        .header("origin", "http://127.0.0.1:8080")
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").unwrap(), "/me");
}

#[tokio::test]
async fn oversized_bodies_get_413_and_malformed_ones_a_clear_400() {
    let app = spawn_app().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let r = app
        .client
        .post(app.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body(format!("{{\"username\":\"{huge}\",\"password\":\"x\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let r = app
        .client
        .post(app.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(body["support_code"].as_str().is_some());

    // Well-formed JSON of the wrong shape: 422, still a JSON problem naming the field.
    let r = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"username": 3, "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["message"].as_str().unwrap().contains("username"),
        "{body}"
    );

    let r = app
        .client
        .post(app.url("/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=ada")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}
