//! Two sspr instances on one PostgreSQL database (SPEC §10): a reset started on one continues
//! on the other — the flow, its code, its cookie and its limits live in the database.
//!
//! PostgreSQL comes from `SSPR_TEST_POSTGRES_URL` (started by ./scripts/test.sh); without it
//! this test fails rather than skipping.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection};

use sspr_core::ports::Store;

use crate::helpers::{Options, client, spawn_app_in};
use crate::security_info::{enable_all, post};

async fn admin_sql(url: &str, sql: String) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to SSPR_TEST_POSTGRES_URL: {e}"));
    sqlx::query(AssertSqlSafe(sql.clone()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let start = base.find("://").map_or(0, |i| i + 3);
    let base = base[start..]
        .find('/')
        .map_or(base, |slash| &base[..start + slash]);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_started_on_one_instance_continues_on_another() {
    let admin_url = std::env::var("SSPR_TEST_POSTGRES_URL").expect(
        "SSPR_TEST_POSTGRES_URL must point at a PostgreSQL where tests may create databases \
         (./scripts/test.sh starts one)",
    );
    let name = format!("sspr_two_{}", uuid::Uuid::new_v4().simple());
    admin_sql(&admin_url, format!("CREATE DATABASE {name}")).await;
    let url = with_database(&admin_url, &name);
    let opts = || Options {
        database_url: Some(url.clone()),
        ..Options::default()
    };
    // One data directory for both: the instances of a deployment share the server key (it
    // keys cookie and code hashes), as docs/configuration.md says.
    let dir = tempfile::tempdir().unwrap();
    let one = spawn_app_in(dir.path(), opts()).await;
    let two = spawn_app_in(dir.path(), opts()).await;
    enable_all(&one).await;
    one.add_user("vera", "Walrus-Lantern-Quiver-82").await;

    let c = client();
    let (s, flow) = post(&c, one.url("/api/v1/reset"), json!({"username": "vera"})).await;
    assert_eq!(s, StatusCode::OK, "{flow}");
    let id = flow["flow_id"].as_str().unwrap();
    let m = flow["methods"][0]["id"].as_str().unwrap();
    // Sent through instance two, verified through instance one, finished on two.
    let (s, _) = post(
        &c,
        two.url(&format!("/api/v1/reset/{id}/methods/{m}/send")),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let messages = two.store.recent_outbox(10).await.unwrap();
    let code = messages
        .iter()
        .find(|x| x.recipient == "vera@example.org")
        .and_then(|x| {
            x.body
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 8)
        })
        .expect("a code")
        .to_owned();
    let (s, body) = post(
        &c,
        one.url(&format!("/api/v1/reset/{id}/methods/{m}/verify")),
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = post(
        &c,
        two.url(&format!("/api/v1/reset/{id}/password")),
        json!({"new_password": "Harbour-Violet-Compass-57"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        one.sign_in("vera", "Harbour-Violet-Compass-57")
            .await
            .status(),
        StatusCode::OK
    );
    drop(one);
    drop(two);
    admin_sql(
        &admin_url,
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await;
}
