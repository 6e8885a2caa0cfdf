//! sspr-web: the HTTP face of sspr on axum — server-rendered pages, the JSON API under
//! `/api/v1`, and the middleware every request passes (request id, client IP, security
//! headers, CSRF, body limits, metrics).

pub mod admin_auth;
pub mod charts;
pub mod csv_export;
pub mod error;
pub mod i18n;
pub mod middleware;
pub mod routes;
pub mod session;
pub mod state;
pub mod telemetry;
pub mod templates;

pub use routes::router;
pub use state::{AppState, WebSettings};
