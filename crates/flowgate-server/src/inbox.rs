//! `POST /v1/webhooks/{source}` and the inbox's workers.
//!
//! A delivery is verified (signature, timestamp), checked (a shape flowgate reads, fields
//! valid) and committed to the inbox before the sender gets its 202; nothing else happens in
//! the request. Workers claim deliveries (with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//! the workers of every replica share one inbox), decide their tickets and append their
//! events, then mark them done. A worker that dies mid-delivery leaves its lease to expire;
//! the delivery is claimed again and processing it again changes nothing (the same ticket
//! content is decided once, the same events are stored once): at least once in, exactly
//! once in effect.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::body::Bytes;
use flowgate_store::inbox::{Delivery, Received};

use crate::problem::Problem;
use crate::{AppState, now_ms};

/// How long a claimed delivery is a worker's before another may claim it (default).
pub const LEASE_MS: i64 = 60_000;
/// Claims before a delivery that keeps failing is set aside as `failed`.
pub const MAX_ATTEMPTS: i32 = 5;
/// Wait before a failed delivery is tried again.
pub const RETRY_AFTER_MS: i64 = 10_000;
/// Deliveries one worker claims at a time.
const CLAIM: i64 = 8;

pub async fn receive(
    State(s): State<Arc<AppState>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    let Some(src) = s.webhooks.get(&source) else {
        return Err(Problem::not_found(format!(
            "no webhook source named {source:?} is configured ([webhooks.NAME] in settings)"
        )));
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the body as Content-Type: application/json",
        ));
    }
    let now = now_ms();
    let delivery = crate::webhook::verify(src, &headers, &body, now.div_euclid(1000))?;
    // Refuse what workers could never process, before storing it.
    flowgate_app::inbound::parse(&body).map_err(|e| match e {
        flowgate_app::Error::Invalid(m) if m.starts_with("the body is not JSON") => {
            Problem::new(StatusCode::BAD_REQUEST, "malformed", m)
        }
        other => other.into(),
    })?;
    match s.store.inbox_put(&source, &delivery, &body, now).await? {
        Received::New(id) => {
            s.inbox_wake.notify_one();
            tracing::info!(source, delivery, inbox = id, "webhook accepted");
            Ok((
                StatusCode::ACCEPTED,
                Json(
                    serde_json::json!({"delivery": delivery, "inbox_id": id, "state": "accepted"}),
                ),
            ))
        }
        Received::Again(id) => Ok((
            StatusCode::OK,
            Json(serde_json::json!({"delivery": delivery, "inbox_id": id, "state": "duplicate"})),
        )),
        Received::Conflict(id) => Err(Problem::conflict(format!(
            "delivery {delivery:?} was received before (inbox {id}) with other bytes"
        ))),
    }
}

/// One worker: claims deliveries and processes them until told to stop; then finishes the
/// delivery in hand and returns.
pub async fn work(s: Arc<AppState>, n: usize, mut stop: tokio::sync::watch::Receiver<bool>) {
    tracing::debug!(worker = n, "inbox worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        let claimed = s.store.inbox_claim(CLAIM, now_ms(), s.inbox_lease_ms).await;
        match claimed {
            Ok(batch) if !batch.is_empty() => {
                for d in &batch {
                    process(&s, d).await;
                    if *stop.borrow() {
                        // The rest of the batch is released when its lease ends.
                        break;
                    }
                }
            }
            Ok(_) => {
                tokio::select! {
                    _ = s.inbox_wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(worker = n, error = %e, "claiming from the inbox failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
    tracing::debug!(worker = n, "inbox worker stopped");
}

/// Processes one delivery and records the outcome: done, retried later, or failed.
async fn process(s: &AppState, d: &Delivery) {
    let actor = format!("webhook:{}", d.source);
    let outcome = handle(s, d, &actor).await;
    let now = now_ms();
    let r = match &outcome {
        Ok(summary) => s.store.inbox_done(d.id, summary, now).await,
        // A delivery flowgate cannot read will never be readable: set aside at once.
        Err((false, e)) => s.store.inbox_failed(d, e, now, 0, 0).await,
        Err((true, e)) => {
            s.store
                .inbox_failed(d, e, now, MAX_ATTEMPTS, RETRY_AFTER_MS)
                .await
        }
    };
    match (&outcome, r) {
        (_, Err(e)) => {
            tracing::error!(inbox = d.id, error = %e, "recording a delivery's outcome failed")
        }
        (Ok(summary), Ok(())) => {
            tracing::info!(inbox = d.id, source = %d.source, %summary, "delivery processed")
        }
        (Err((retry, e)), Ok(())) => {
            tracing::warn!(inbox = d.id, source = %d.source, retry, error = %e, "delivery failed")
        }
    }
}

/// What the delivery asked for, done; or the error and whether trying again may help.
async fn handle(s: &AppState, d: &Delivery, actor: &str) -> Result<String, (bool, String)> {
    let inbound = flowgate_app::inbound::parse(&d.body).map_err(|e| (false, e.to_string()))?;
    let mut decided = Vec::new();
    for t in &inbound.tickets {
        let p = crate::decide(s, t, actor)
            .await
            .map_err(|p| (p.status.is_server_error(), p.detail))?;
        decided.push(p.seq);
    }
    let mut events = String::new();
    if !inbound.events.is_empty() {
        let via = format!("webhook {} delivery {}", d.source, d.delivery_id);
        let sum = flowgate_app::events::append(&s.store, &d.source, &inbound.events, actor, &via)
            .await
            .map_err(|e| {
                let retry = !matches!(e, flowgate_app::Error::Invalid(_));
                (retry, e.to_string())
            })?;
        events = format!(
            ", events {} new {} duplicate",
            sum.events_new, sum.events_duplicate
        );
    }
    Ok(format!(
        "{} {}: decisions {:?}{events}",
        inbound.shape.as_str(),
        inbound.what,
        decided
    ))
}
