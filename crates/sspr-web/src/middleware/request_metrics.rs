//! Request count and latency per route and status, for Prometheus.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

pub async fn layer(req: Request, next: Next) -> Response {
    // The route template, not the raw path: ids in paths must not explode label cardinality.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("sspr_http_requests_total", &labels).increment(1);
    metrics::histogram!("sspr_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}
