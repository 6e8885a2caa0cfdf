//! The reset pages (SPEC §5, §9) over HTTP: the start with and without the proof of work,
//! the neutral page for unknown, foreign and expired flows, skipped steps, malformed forms.
//! The journeys themselves run in a browser (tests/browser/reset.test.mjs).

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};

use crate::helpers::{Options, TestApp, client, spawn_app_with};

fn no_pow() -> Options {
    Options {
        tweak: Some(|c| {
            c.reset.pow_max_number = 0;
            c.reset.response_floor_ms = 0;
        }),
        ..Options::default()
    }
}

/// Starts a flow through the form; returns its page path (`/reset/{id}`).
async fn start(app: &TestApp, c: &reqwest::Client, username: &str) -> String {
    let r = c
        .post(app.url("/reset"))
        .form(&[("username", username)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("sspr_flow="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    r.headers()[LOCATION].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn without_the_proof_of_work_the_form_works_without_the_widget() {
    let app = spawn_app_with(no_pow()).await;
    let c = client();
    let form = c.get(app.url("/reset")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(
        !html.contains("altcha-widget") && !html.contains("altcha.js"),
        "{html}"
    );

    let flow = start(&app, &c, "nobody@example.org").await;
    assert!(flow.starts_with("/reset/"), "{flow}");
    let page = c.get(app.url(&flow)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("Verify your identity"), "{html}");
    assert!(html.contains("Verified 0 of 1."), "{html}");
    // No helpdesk link in the default policy: the contact form instead.
    assert!(
        html.contains(&format!("action=\"{flow}/contact\"")),
        "{html}"
    );

    // The password page before verification: back to the methods.
    let skipped = c
        .get(app.url(&format!("{flow}/password")))
        .send()
        .await
        .unwrap();
    assert_eq!(skipped.status(), StatusCode::SEE_OTHER);
    assert_eq!(skipped.headers()[LOCATION], flow.as_str());
    let skipped = c
        .post(app.url(&format!("{flow}/password")))
        .form(&[
            ("new", "Tangerine-Bicycle-Orbit-43"),
            ("confirm", "Tangerine-Bicycle-Orbit-43"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(skipped.status(), StatusCode::SEE_OTHER);
    let unlock = c
        .post(app.url(&format!("{flow}/unlock")))
        .send()
        .await
        .unwrap();
    assert_eq!(unlock.status(), StatusCode::SEE_OTHER);

    // A decoy's request for help is answered like any other.
    let contact = c
        .post(app.url(&format!("{flow}/contact")))
        .form(&[("message", "help")])
        .send()
        .await
        .unwrap();
    assert_eq!(contact.status(), StatusCode::OK);
    assert!(
        contact
            .text()
            .await
            .unwrap()
            .contains("Your request was sent")
    );
}

#[tokio::test]
async fn unknown_foreign_and_expired_flows_get_one_neutral_page() {
    let app = spawn_app_with(no_pow()).await;
    let c = client();
    let flow = start(&app, &c, "someone").await;

    let neutral = |status: StatusCode, html: &str| {
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            html.contains("This reset has expired or does not exist. Start again."),
            "{html}"
        );
    };
    // Another browser (no cookie), a made-up id, a malformed id.
    for (client, path) in [
        (client(), flow.clone()),
        (
            c.clone(),
            "/reset/00000000-0000-0000-0000-000000000000".into(),
        ),
        (c.clone(), "/reset/not-a-flow/password".into()),
    ] {
        let r = client.get(app.url(&path)).send().await.unwrap();
        let status = r.status();
        neutral(status, &r.text().await.unwrap());
    }
    let r = client()
        .post(app.url(&format!("{flow}/methods/m1/send")))
        .send()
        .await
        .unwrap();
    let status = r.status();
    neutral(status, &r.text().await.unwrap());

    // Expired: the flow lives 15 minutes.
    app.clock.advance(time::Duration::minutes(16));
    let r = c.get(app.url(&flow)).send().await.unwrap();
    let status = r.status();
    neutral(status, &r.text().await.unwrap());
}

#[tokio::test]
async fn malformed_forms_get_a_422_page_and_change_nothing() {
    let app = spawn_app_with(no_pow()).await;
    let c = client();
    let r = c
        .post(app.url("/reset"))
        .form(&[("user", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Nothing was changed"));

    let flow = start(&app, &c, "someone").await;
    // A verify without a code.
    let r = c
        .post(app.url(&format!("{flow}/methods/m1/verify")))
        .form(&[("nothing", "here")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A message over 500 characters.
    let long = "x".repeat(501);
    let r = c
        .post(app.url(&format!("{flow}/contact")))
        .form(&[("message", long.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The flow is as it was.
    let r = c.get(app.url(&flow)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Verified 0 of 1."));
}

#[tokio::test]
async fn with_the_proof_of_work_a_start_without_a_solution_is_refused() {
    let app = spawn_app_with(Options {
        tweak: Some(|c| c.reset.pow_max_number = 50_000),
        ..Options::default()
    })
    .await;
    let c = client();
    let html = c
        .get(app.url("/reset?lng=de"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<altcha-widget challengeurl=\"/api/v1/reset/challenge\""),
        "{html}"
    );
    assert!(html.contains("src=\"/static/altcha.js\""), "{html}");
    let r = c
        .post(app.url("/reset"))
        .form(&[("username", "someone"), ("altcha", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.headers()
            .get(SET_COOKIE)
            .is_none_or(|v| !v.to_str().unwrap().contains("sspr_flow"))
    );
    assert!(r.text().await.unwrap().contains("Sicherheitsprüfung"));
    for file in ["altcha.js", "altcha-worker.js", "altcha.css"] {
        let r = c
            .get(app.url(&format!("/static/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{file}");
        assert!(
            r.text().await.unwrap().starts_with("/*! ALTCHA widget"),
            "{file}"
        );
    }
}
