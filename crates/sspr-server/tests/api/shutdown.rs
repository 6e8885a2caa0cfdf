//! `sspr serve` stops gracefully on SIGTERM: in-flight requests finish first.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::sspr_bin;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A deliberately slow hash keeps a sign-in in flight while we send SIGTERM.
    std::fs::write(
        dir.path().join("sspr.toml"),
        format!(
            "data_dir = {:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\n[hashing]\nmemory_kib = 65536\niterations = 12\nworkers = 1\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let mut child = Command::new(sspr_bin())
        .args(["serve", "--config"])
        .arg(dir.path().join("sspr.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    sspr_notify::install_crypto_provider();
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not start");

    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/api/v1/session");
        async move {
            client
                .post(url)
                .json(&serde_json::json!({"username": "nobody", "password": "Whatever-123"}))
                .send()
                .await
                .map(|r| r.status())
        }
    });
    // Give the request time to reach the hashing thread, then ask the server to stop.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let status = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got an answer");
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
    // New connections are refused once it is gone.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
    let _ = BufReader::new(std::io::empty()).lines();
}
