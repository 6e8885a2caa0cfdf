//! Cloud-only sign-in: sessions, neutral failures, smart lockout, overload.

use reqwest::StatusCode;
use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::ports::Store;
use sspr_directory::HashParams;
use time::Duration;

use crate::helpers::{Options, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_right_password_starts_a_session_that_signs_out() {
    let app = spawn_app().await;
    app.add_user("ada", "Correct-Horse-1").await;
    let r = app.sign_in("ADA", "Correct-Horse-1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    // Enablement is `none` by default: nothing to register.
    assert_eq!(body["registration"], "ok");

    let me = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert!(me.text().await.unwrap().contains("User ada"));

    let out = app
        .client
        .delete(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = app.client.get(app.url("/me")).send().await.unwrap();
    assert_eq!(
        me.status(),
        StatusCode::SEE_OTHER,
        "signed out: back to sign-in"
    );
}

#[tokio::test]
async fn the_session_cookie_alone_is_no_key_to_the_database() {
    let app = spawn_app().await;
    app.add_user("ada", "Correct-Horse-1").await;
    let r = app.sign_in("ada", "Correct-Horse-1").await;
    let raw = r.cookies().next().unwrap().value().to_owned();
    // The stored id is a keyed hash: a session row looked up by the raw value finds nothing.
    assert!(
        app.store
            .live_session(&raw, app.clock_now())
            .await
            .unwrap()
            .is_none()
    );
}

trait Now {
    fn clock_now(&self) -> time::OffsetDateTime;
}
impl Now for crate::helpers::TestApp {
    fn clock_now(&self) -> time::OffsetDateTime {
        use sspr_core::ports::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn every_failure_looks_the_same() {
    let app = spawn_app().await;
    let user = app.add_user("ada", "Correct-Horse-1").await;
    app.add_user("bob", "Correct-Horse-2").await;
    // Disable bob.
    let bob = app
        .store
        .find_user(&sspr_core::Username::parse("bob").unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut update = profile(&bob);
    update.enabled = false;
    app.store
        .update_profile(
            bob.id,
            &update,
            &AuditEvent::new("Update user", Outcome::Success),
        )
        .await
        .unwrap();

    let cases = [
        ("ada", "wrong-password"),     // known user, wrong password
        ("nobody", "Correct-Horse-1"), // unknown user
        ("bob", "Correct-Horse-2"),    // disabled user, right password
        ("*)(uid=*))(|(uid=*", "x"),   // not even a valid username
        ("ada", ""),                   // empty password
    ];
    let mut bodies = Vec::new();
    for (u, p) in cases {
        let r = app.sign_in(u, p).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{u}");
        assert!(r.headers().get("set-cookie").is_none());
        let mut body: serde_json::Value = r.json().await.unwrap();
        body.as_object_mut().unwrap().remove("support_code");
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(bodies[0]["error"], "invalid_credentials");
    let _ = user;
}

fn profile(u: &sspr_core::User) -> sspr_core::ports::ProfileUpdate {
    sspr_core::ports::ProfileUpdate {
        display_name: u.display_name.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        email: u.email.clone(),
        alternate_email: u.alternate_email.clone(),
        mobile_phone: u.mobile_phone.clone(),
        office_phone: u.office_phone.clone(),
        roles: u.roles.clone(),
        enabled: u.enabled,
    }
}

#[tokio::test]
async fn ten_failures_lock_and_locked_is_said_only_to_the_right_password() {
    let app = spawn_app().await;
    app.add_user("ada", "Correct-Horse-1").await;
    for i in 0..10 {
        let r = app.sign_in("ada", &format!("guess-{i}")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked now: the right password hears "locked", a wrong one still hears nothing new.
    let r = app.sign_in("ada", "Correct-Horse-1").await;
    assert_eq!(r.status(), StatusCode::LOCKED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "locked");
    let r = app.sign_in("ada", "guess-x").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The lockout is audited with the client's address.
    let events = app.store.audit_page(0, 100).await.unwrap();
    let lock = events
        .iter()
        .find(|e| e.event.event_type == "Account locked (smart lockout)")
        .expect("a lockout event");
    assert_eq!(lock.event.target.as_deref(), Some("ada"));
    assert_eq!(lock.event.client_ip.as_deref(), Some("127.0.0.1"));

    // A minute later the right password works again and clears the counters.
    app.clock.advance(Duration::seconds(61));
    let r = app.sign_in("ada", "Correct-Horse-1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let ada = app
        .store
        .find_user(&sspr_core::Username::parse("ada").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.lockout, Default::default());
}

#[tokio::test]
async fn later_lockouts_last_longer() {
    let app = spawn_app().await;
    app.add_user("ada", "Correct-Horse-1").await;
    for i in 0..10 {
        app.sign_in("ada", &format!("guess-{i}")).await;
    }
    app.clock.advance(Duration::seconds(61));
    // One more failure after the first lockout locks again, now for two minutes.
    app.sign_in("ada", "guess-again").await;
    app.clock.advance(Duration::seconds(90));
    assert_eq!(
        app.sign_in("ada", "Correct-Horse-1").await.status(),
        StatusCode::LOCKED
    );
    app.clock.advance(Duration::seconds(31));
    assert_eq!(
        app.sign_in("ada", "Correct-Horse-1").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn parallel_failures_are_all_counted() {
    let app = spawn_app().await;
    app.add_user("ada", "Correct-Horse-1").await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let client = crate::helpers::client();
        let url = app.url("/api/v1/session");
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&serde_json::json!({"username": "ada", "password": format!("p{i}")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    // Ten concurrent failures reached the threshold: no lost update.
    assert_eq!(
        app.sign_in("ada", "Correct-Horse-1").await.status(),
        StatusCode::LOCKED
    );
}

#[tokio::test]
async fn an_admin_lock_holds_until_unlocked() {
    let app = spawn_app().await;
    let ada = app.add_user("ada", "Correct-Horse-1").await;
    app.store
        .set_admin_locked(
            ada.id,
            true,
            &AuditEvent::new("Lock user account (by admin)", Outcome::Success),
        )
        .await
        .unwrap();
    app.clock.advance(Duration::days(30));
    assert_eq!(
        app.sign_in("ada", "Correct-Horse-1").await.status(),
        StatusCode::LOCKED
    );
    app.store
        .set_admin_locked(
            ada.id,
            false,
            &AuditEvent::new("Unlock user account (by admin)", Outcome::Success),
        )
        .await
        .unwrap();
    assert_eq!(
        app.sign_in("ada", "Correct-Horse-1").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_sign_in_page_works_without_javascript() {
    let app = spawn_app().await;
    app.add_user("ada", "Correct-Horse-1").await;
    let r = app
        .client
        .post(app.url("/signin"))
        .form(&[("username", "ada"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = r.text().await.unwrap();
    assert!(html.contains("Incorrect username or password."));
    assert!(html.contains("value=\"ada\""), "the username is kept");
    assert!(!html.contains("nope"), "the password is never echoed");
    let r = app
        .client
        .post(app.url("/signin"))
        .form(&[("username", "ada"), ("password", "Correct-Horse-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let me = app
        .client
        .get(app.url("/me"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(me.contains("User ada"));
    assert!(
        me.contains("Not enabled for your account"),
        "enablement is none by default"
    );
}

#[tokio::test]
async fn overload_is_refused_at_once_with_retry_after() {
    // One hashing thread, a queue of one, and a costly hash: most of a burst must be refused.
    let app = spawn_app_with(Options {
        hashing: HashParams {
            memory_kib: 16 * 1024,
            iterations: 4,
            parallelism: 1,
        },
        workers: 1,
        queue: 1,
        ..Options::default()
    })
    .await;
    app.add_user("ada", "Correct-Horse-1").await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let client = crate::helpers::client();
        let url = app.url("/api/v1/session");
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .json(&serde_json::json!({"username": "ada", "password": "Correct-Horse-1"}))
                .send()
                .await
                .unwrap();
            (r.status(), r.headers().get("retry-after").cloned())
        }));
    }
    let mut ok = 0;
    let mut busy = 0;
    for t in tasks {
        let (status, retry) = t.await.unwrap();
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert!(retry.is_some(), "503 carries Retry-After");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(ok >= 1, "some sign-ins succeed");
    assert!(busy >= 1, "the excess is refused");
    assert_eq!(ok + busy, 24);
}

#[tokio::test]
async fn sign_in_reports_the_registration_state() {
    let app = spawn_app().await;
    // An admin is in scope even with enablement `none`, and needs two methods: with only an
    // email on file, they must register.
    app.add_admin("root", "Correct-Horse-9").await;
    let r = app.sign_in("root", "Correct-Horse-9").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["registration"], "required");

    // Everyone enabled: a user with a confirmed email is registered…
    let policy = sspr_core::SsprPolicy {
        enablement: sspr_core::Enablement::All,
        ..sspr_core::SsprPolicy::default()
    };
    sspr_core::service::policy_admin::update_policy(app.store.as_ref(), &policy, "test")
        .await
        .unwrap();
    let ada = app.add_user("ada", "Correct-Horse-1").await;
    use sspr_core::ports::Clock;
    app.store
        .set_registration_confirmed(ada.id, Some(app.clock.now()))
        .await
        .unwrap();
    let body: serde_json::Value = app
        .sign_in("ada", "Correct-Horse-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["registration"], "ok");
    // …until the re-confirmation period (180 days) has passed.
    app.clock.advance(Duration::days(180));
    let body: serde_json::Value = app
        .sign_in("ada", "Correct-Horse-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["registration"], "reconfirm");
}
