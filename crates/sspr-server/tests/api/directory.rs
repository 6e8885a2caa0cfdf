//! The on-premises directory through the binary and the server: `sspr directory sync` and
//! `status` against the real slapd that `./scripts/test.sh` starts, then sign-in of a synced
//! directory user by an LDAP bind through the sign-in API; and an outage during sign-in.

use std::process::Command;

use serde_json::{Value, json};
use sspr_core::audit::{AuditEvent, Outcome};
use sspr_core::ports::Store;
use sspr_core::{DisplayName, NewUser, UserSource, Username};
use sspr_directory::ldap::{DirectoryKind, DirectorySettings};

use crate::helpers::{Options, spawn_app_with, sspr_bin};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through ./scripts/test.sh, which starts slapd")
    })
}

fn slapd() -> DirectorySettings {
    let mut s = DirectorySettings::for_kind(DirectoryKind::Openldap);
    s.url = env("SSPR_TEST_LDAP_URL");
    s.ca_file = Some(env("SSPR_TEST_LDAP_CA").into());
    s.bind_dn = "cn=pwadmin,ou=system,dc=example,dc=org".into();
    s.bind_password = Some("pwadminpw".into());
    s.user_base = "ou=people,dc=example,dc=org".into();
    s.group_base = "ou=groups,dc=example,dc=org".into();
    s.sync_interval_minutes = 0;
    s.status_probe_user = "leo".into();
    s
}

#[tokio::test]
async fn sync_by_cli_then_a_directory_user_signs_in_by_bind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let secret = dir.path().join("bind.secret");
    std::fs::write(&secret, "pwadminpw\n").unwrap();
    let toml = format!(
        "data_dir = {data:?}\n[hashing]\nmemory_kib = 64\niterations = 1\n\
         [directory]\nkind = \"openldap\"\nurl = {url:?}\nca_file = {ca:?}\n\
         bind_dn = \"cn=pwadmin,ou=system,dc=example,dc=org\"\nbind_password_file = {secret:?}\n\
         user_base = \"ou=people,dc=example,dc=org\"\ngroup_base = \"ou=groups,dc=example,dc=org\"\n\
         status_probe_user = \"leo\"\n",
        url = env("SSPR_TEST_LDAP_URL"),
        ca = env("SSPR_TEST_LDAP_CA"),
    );
    let config = dir.path().join("sspr.toml");
    std::fs::write(&config, toml).unwrap();
    let sspr = |args: &[&str]| {
        Command::new(sspr_bin())
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    };

    let out = sspr(&["directory", "sync", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["mode"], "full");
    assert!(report["created"].as_u64().unwrap() >= 12, "{report}");
    assert_eq!(report["groups"], 2);
    let again = sspr(&["directory", "sync"]);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("incremental sync done"), "{text}");
    assert!(text.contains("users created    0"), "{text}");

    let status = sspr(&["directory", "status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(
        text.contains("bind        ok") && text.contains("test write  ok"),
        "{text}"
    );
    // The secret never shows.
    let check = sspr(&["config", "check"]);
    assert!(!String::from_utf8_lossy(&check.stdout).contains("pwadminpw"));

    // The server on the same data: sign-in of the synced user binds to slapd.
    let mut settings = slapd();
    settings.bind_password = Some("pwadminpw".into());
    let app = spawn_app_with(Options {
        directory: Some(settings),
        ..Default::default()
    })
    .await;
    // A fresh database: an administrator syncs it through the API.
    let admin = app.admin_client().await;
    let res = admin
        .post(app.url("/api/v1/admin/directory/sync"))
        .json(&json!({"full": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert!(report["created"].as_u64().unwrap() >= 12, "{report}");
    let kate = app
        .store
        .find_user(&Username::parse("kate").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kate.source, UserSource::Directory);
    assert!(
        kate.password_hash.is_none(),
        "sspr holds no directory password"
    );

    let wrong = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "kate", "password": "not-her-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "kate", "password": "InitPass1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200, "{}", right.text().await.unwrap());

    // Writeback status for administrators, through the API.
    let status: Value = admin
        .get(app.url("/api/v1/admin/directory/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["healthy"], true, "{status}");
    assert_eq!(status["write"]["state"], "ok", "{status}");
    // Not for a plain user.
    let plain = app
        .client
        .get(app.url("/api/v1/admin/directory/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 403);
}

#[tokio::test]
async fn sign_in_during_a_directory_outage_is_a_clear_retryable_error() {
    // A port nothing listens on: the directory is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut settings = slapd();
    settings.url = format!("ldap://127.0.0.1:{port}");
    settings.connect_timeout_seconds = 2;
    let app = spawn_app_with(Options {
        directory: Some(settings),
        ..Default::default()
    })
    .await;
    let mut new = NewUser::cloud(
        Username::parse("kate").unwrap(),
        DisplayName::parse("Kate").unwrap(),
    );
    new.source = UserSource::Directory;
    app.store
        .create_user(&new, &AuditEvent::new("Add user", Outcome::Success))
        .await
        .unwrap();

    let res = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "kate", "password": "InitPass1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "directory_unavailable", "{body}");
    assert!(body.get("support_code").is_some(), "{body}");

    let admin = app.admin_client().await;
    let status: Value = admin
        .get(app.url("/api/v1/admin/directory/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["healthy"], false, "{status}");
    assert_eq!(status["reachable"]["state"], "failed", "{status}");
    assert!(
        status["reachable"]["error"]
            .as_str()
            .unwrap()
            .contains("unavailable"),
        "{status}"
    );
}

/// One reset of a directory user through the flow: the code by email, then the new password.
async fn reset_directory_user(
    app: &crate::helpers::TestApp,
    user: &str,
    new_password: &str,
) -> (reqwest::StatusCode, Value) {
    let c = crate::helpers::client();
    let (s, flow) =
        crate::security_info::post(&c, app.url("/api/v1/reset"), json!({"username": user})).await;
    assert_eq!(s, 200, "{flow}");
    let id = flow["flow_id"].as_str().unwrap().to_owned();
    let m = flow["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "email")
        .unwrap_or_else(|| panic!("no email method: {flow}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before: Vec<uuid::Uuid> = app
        .store
        .recent_outbox(500)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    let (s, _) = crate::security_info::post(
        &c,
        app.url(&format!("/api/v1/reset/{id}/methods/{m}/send")),
        json!({}),
    )
    .await;
    assert_eq!(s, 202);
    let code = app
        .store
        .recent_outbox(500)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.recipient == format!("{user}@example.org") && !before.contains(&x.id))
        .and_then(|x| {
            x.body
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 8)
                .map(str::to_owned)
        })
        .expect("a code");
    let (s, body) = crate::security_info::post(
        &c,
        app.url(&format!("/api/v1/reset/{id}/methods/{m}/verify")),
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    crate::security_info::post(
        &c,
        app.url(&format!("/api/v1/reset/{id}/password")),
        json!({"new_password": new_password}),
    )
    .await
}

#[tokio::test]
async fn a_directory_user_resets_through_the_flow_and_the_directory_policy_applies() {
    let app = spawn_app_with(Options {
        directory: Some(slapd()),
        ..Default::default()
    })
    .await;
    crate::security_info::enable_all(&app).await;
    let admin = app.admin_client().await;
    let res = admin
        .post(app.url("/api/v1/admin/directory/sync"))
        .json(&json!({"full": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Hank (slapd; no other test writes his password there) resets by emailed code: the new
    // password is written to slapd and binds, the old one does not.
    let new = format!("Lantern-Quiver-{}-Harbour", std::process::id());
    let (s, body) = reset_directory_user(&app, "hank", &new).await;
    assert_eq!(s, 200, "{body}");
    let sign_in = |password: String| {
        let c = crate::helpers::client();
        let url = app.url("/api/v1/session");
        async move {
            c.post(url)
                .json(&json!({"username": "hank", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(sign_in(new.clone()).await, 200);
    assert_eq!(sign_in("InitPass1".into()).await, 401);

    // The same password again: slapd's history (ppolicy) refuses it, and the reason reaches
    // the user; the flow stays verified and nothing changed.
    let (s, body) = reset_directory_user(&app, "hank", &new).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["reasons"][0]["rule"], "in_history", "{body}");
    assert_eq!(sign_in(new).await, 200);
}

/// An administrator acting on a directory-sourced user through the admin API: the password
/// is written back to the directory (and binds there), directory-owned fields stay
/// read-only, and sspr's own admin roles can still be given.
#[tokio::test]
async fn an_admin_sets_a_directory_users_password_through_the_api() {
    let app = spawn_app_with(Options {
        directory: Some(slapd()),
        ..Default::default()
    })
    .await;
    let token = crate::admin_roles::token(&app, sspr_core::AdminRole::GlobalAdmin).await;
    let http = crate::helpers::client();
    let res = http
        .post(app.url("/api/v1/admin/directory/sync"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a token may sync");
    // Leo is only the status probe of the shared slapd (its test write keeps his password):
    // no other test binds as him.
    let leo = app
        .store
        .find_user(&Username::parse("leo").unwrap())
        .await
        .unwrap()
        .expect("synced");
    let user_url = app.url(&format!("/api/v1/admin/users/{}", leo.id));

    // sspr's own rules come first and refuse a weak password with their reasons.
    let res = http
        .post(format!("{user_url}/password"))
        .bearer_auth(&token)
        .json(&json!({"new_password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "password_policy", "{body}");

    // A unique password each run: slapd keeps a history of three.
    let new_password = format!(
        "Marigold-Telescope-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let res = http
        .post(format!("{user_url}/password"))
        .bearer_auth(&token)
        .json(&json!({"new_password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let signed_in = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "leo", "password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed_in.status(),
        200,
        "the directory has the new password"
    );

    // Directory-owned fields are read-only here; sspr's roles are not.
    let res = http
        .patch(&user_url)
        .bearer_auth(&token)
        .json(&json!({"email": "elsewhere@example.org"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = http
        .patch(&user_url)
        .bearer_auth(&token)
        .json(&json!({"roles": ["reports_reader"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .delete(&user_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
}
