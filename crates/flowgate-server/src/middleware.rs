//! What every request goes through: timing and counting, the timeout, security headers,
//! and the body limit answered before the body is read.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Shared;
use crate::problem::Problem;

/// Times every request, abandons one that takes too long, counts it by route and status,
/// and sets the security headers. Logs ids and routes, never bodies.
pub async fn observe(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = req.method().to_string();
    let t0 = Instant::now();
    let mut r = match tokio::time::timeout(s.timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {} s and was abandoned",
                s.timeout.as_secs()
            ),
        )
        .into_response(),
    };
    let secs = t0.elapsed().as_secs_f64();
    s.metrics
        .request(&method, &route, r.status().as_u16(), secs);
    tracing::debug!(%method, %route, status = r.status().as_u16(), ms = secs * 1000.0, "request");
    let h = r.headers_mut();
    h.insert("x-content-type-options", "nosniff".parse().expect("static"));
    h.insert("cache-control", "no-store".parse().expect("static"));
    r
}

/// How much of a body announced as too large is read and thrown away before the 413, so
/// that a client still writing it reads the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 16 << 20;

/// Answers 413 for a body whose `Content-Length` is over the limit before reading it. A
/// client that asked `Expect: 100-continue` never sends it; one that did not gets its body
/// read and discarded (up to [`DRAIN_LIMIT`]) first: closing a connection with unread bytes
/// makes the kernel reset it, and the client would see a broken pipe, not the problem
/// document. Bodies without a length still meet the extractors' limit.
pub async fn refuse_oversize(limit: usize, req: Request, next: Next) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(len) = announced.filter(|&n| n > limit as u64) else {
        return next.run(req).await;
    };
    let expects = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if !expects && len <= DRAIN_LIMIT as u64 {
        drain(req.into_body()).await;
    }
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!("the body is {len} bytes; the service accepts at most {limit}"),
    )
    .into_response()
}

/// Reads a body to its end (at most [`DRAIN_LIMIT`] bytes), keeping nothing.
async fn drain(mut body: axum::body::Body) {
    use axum::body::HttpBody;
    let mut seen = 0usize;
    while seen <= DRAIN_LIMIT {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}
