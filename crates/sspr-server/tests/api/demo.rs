//! `sspr demo`: seeds once, reuses its data, and serves the demo accounts.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::sspr_bin;

fn start(dir: &std::path::Path) -> (Child, String, Vec<String>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(sspr_bin())
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // Read the banner up to "Stop with Ctrl-C".
    while reader.read_line(&mut line).unwrap() > 0 {
        lines.push(line.trim_end().to_owned());
        if line.contains("Stop with Ctrl-C") {
            break;
        }
        line.clear();
    }
    // Keep draining stdout: a closed pipe would kill the demo at its next line.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (child, format!("http://127.0.0.1:{port}"), lines)
}

fn stop(mut child: Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_serves_and_reuses_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (child, base, banner) = start(&data);
    let text = banner.join("\n");
    assert!(text.contains("new data"), "{text}");
    // Printed as localhost: the address a browser can register passkeys at.
    let port = base.rsplit(':').next().unwrap();
    assert!(
        text.contains(&format!("http://localhost:{port}/")),
        "prints the URL: {text}"
    );
    for account in ["ada", "grace", "admin", "Demo-Reset-2026!"] {
        assert!(text.contains(account), "prints {account}: {text}");
    }
    sspr_notify::install_crypto_provider();
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": "ada", "password": "Demo-Reset-2026!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let outbox = client
        .get(format!("{base}/dev/outbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        outbox.status(),
        200,
        "development delivery mode serves /dev/outbox"
    );
    // The key file was created private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("keys/server.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    stop(child);

    let (child, base, banner) = start(&data);
    assert!(banner.join("\n").contains("existing data"), "{banner:?}");
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"username": "admin", "password": "Demo-Admin-2026!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(10)).await;
    stop(child);
}
