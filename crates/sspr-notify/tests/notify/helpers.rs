//! Shared fixtures: outbox messages, the SMTP capture, and an HTTP receiver.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use sspr_core::ports::OutboxMessage;

pub fn message(channel: &str, recipient: &str, body: &str) -> OutboxMessage {
    let now = time::OffsetDateTime::now_utc();
    OutboxMessage {
        id: uuid::Uuid::new_v4(),
        channel: channel.into(),
        recipient: recipient.into(),
        subject: String::new(),
        body: body.into(),
        html_body: None,
        created_at: now,
        status: "sending".into(),
        attempts: 1,
        next_attempt_at: now,
        last_error: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The SMTP capture (scripts/smtp.sh)

pub struct Capture {
    /// host:port
    pub host: String,
    pub port: u16,
    pub dir: PathBuf,
    /// The capture's self-signed STARTTLS certificate.
    pub ca: Option<PathBuf>,
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set, so the SMTP tests cannot run (they are not optional). Run \
             ./scripts/test.sh, which starts an SMTP capture, or start one with \
             `eval \"$(scripts/smtp.sh start)\"` and export SSPR_TEST_SMTP, SSPR_TEST_SMTP_DIR \
             and SSPR_TEST_SMTP_CA."
        )
    })
}

pub fn capture() -> Capture {
    let addr = required("SSPR_TEST_SMTP");
    let (host, port) = addr
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("SSPR_TEST_SMTP={addr:?} is not host:port"));
    Capture {
        host: host.to_owned(),
        port: port
            .parse()
            .unwrap_or_else(|_| panic!("SSPR_TEST_SMTP={addr:?}: bad port")),
        dir: required("SSPR_TEST_SMTP_DIR").into(),
        ca: std::env::var("SSPR_TEST_SMTP_CA").ok().map(PathBuf::from),
    }
}

impl Capture {
    /// Waits (up to 10 s) for the message sent to `recipient` and returns its JSON record.
    /// Recipients are unique per test, so tests running in parallel do not see each other's
    /// mail.
    pub async fn wait_for(&self, recipient: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(found) = self.find(recipient) {
                return found;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no message to {recipient} arrived in {}",
                self.dir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn find(&self, recipient: &str) -> Option<serde_json::Value> {
        let entries = std::fs::read_dir(&self.dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.dir.display()));
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).expect("read capture json");
                let v: serde_json::Value = serde_json::from_str(&text).expect("capture json");
                if v["rcpt_tos"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x == recipient))
                {
                    return Some(v);
                }
            }
        }
        None
    }

    /// The raw message as received (with the X-Envelope-* headers added by the capture).
    pub fn raw(&self, record: &serde_json::Value) -> String {
        let name = record["eml"].as_str().expect("eml name");
        std::fs::read_to_string(self.dir.join(name)).expect("read eml")
    }
}

/// A recipient address no other test uses.
pub fn unique_address(tag: &str) -> String {
    format!("{tag}-{}@example.org", uuid::Uuid::new_v4().simple())
}

/// A TCP port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

// ---------------------------------------------------------------------------------------------
// An HTTP receiver standing in for an SMS/voice provider

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub delay: Duration,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    reply: Mutex<Option<Reply>>,
}

pub struct Receiver {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Starts a receiver on 127.0.0.1:0 that answers every request with 201 `{}` until told
    /// otherwise.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(record)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver");
        });
        Self {
            base_url: format!("http://{addr}"),
            shared,
        }
    }

    pub fn reply_with(&self, status: u16, body: &str, delay: Duration) {
        *self.shared.reply.lock().unwrap() = Some(Reply {
            status: StatusCode::from_u16(status).unwrap(),
            body: body.into(),
            delay,
        });
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The one request received so far.
    pub fn only_request(&self) -> Recorded {
        let r = self.requests();
        assert_eq!(r.len(), 1, "expected exactly one request, got {r:#?}");
        r.into_iter().next().unwrap()
    }
}

async fn record(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .expect("read body")
        .to_vec();
    shared.requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    });
    let reply = shared.reply.lock().unwrap().clone().unwrap_or(Reply {
        status: StatusCode::CREATED,
        body: "{}".into(),
        delay: Duration::ZERO,
    });
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    (
        reply.status,
        [("content-type", "application/json")],
        reply.body,
    )
        .into_response()
}
