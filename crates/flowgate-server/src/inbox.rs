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
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use flowgate_store::inbox::{Delivery, Received};

use crate::problem::Problem;
use crate::{AppState, now_ms};

/// How long a claimed delivery is a worker's before another may claim it (default).
pub const LEASE_MS: i64 = 60_000;
/// Claims before a delivery that keeps failing is set aside as `failed`.
pub const MAX_ATTEMPTS: i32 = 5;
/// Wait before a failed delivery is tried again.
pub const RETRY_AFTER_MS: i64 = 10_000;
/// Deliveries one worker claims, and decides concurrently, at a time.
const CLAIM: i64 = 16;

/// A help desk's delivery, authenticated by its signature (see the README's table of schemes).
#[utoipa::path(
    post,
    path = "/v1/webhooks/{source}",
    tag = "webhooks",
    params(
        ("source" = String, Path, description = "the webhook source's name ([webhooks.NAME] in settings)"),
        ("X-Zendesk-Webhook-Signature" = Option<String>, Header, description = "zendesk: base64 HMAC-SHA256 of timestamp + body"),
        ("X-Zendesk-Webhook-Signature-Timestamp" = Option<String>, Header, description = "zendesk: the signed time"),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "hub-signature-256: sha256=<hex HMAC-SHA256 of the body>"),
        ("webhook-id" = Option<String>, Header, description = "standard-webhooks: the delivery id"),
        ("webhook-timestamp" = Option<String>, Header, description = "standard-webhooks: the signed time (seconds)"),
        ("webhook-signature" = Option<String>, Header, description = "standard-webhooks: v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
    ),
    request_body(content = Object, description = "flowgate's {type, data}, a Zendesk ticket event, a Jira issue webhook or a GitHub issues event", content_type = "application/json"),
    responses(
        (status = 202, description = "committed to the inbox", body = Object),
        (status = 200, description = "the same delivery was received before: nothing stored", body = Object),
        (status = 400, description = "not JSON", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "bad signature or stale timestamp", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "no such source", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "the delivery id was received with other bytes", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "a shape flowgate does not read, or invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    State(s): State<Arc<AppState>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
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
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "the body is larger than the service accepts",
            )
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "malformed", r.body_text())
        }
    })?;
    let now = now_ms();
    let delivery = crate::webhook::verify(src, &headers, &body, now.div_euclid(1000))?;
    // Refuse what workers could never process, before storing it.
    flowgate_app::inbound::parse(
        &body,
        jiff::Timestamp::from_millisecond(now).unwrap_or_else(|_| jiff::Timestamp::now()),
    )
    .map_err(|e| match e {
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
/// deliveries in hand and returns.
pub async fn work(s: Arc<AppState>, n: usize, mut stop: tokio::sync::watch::Receiver<bool>) {
    tracing::debug!(worker = n, "inbox worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        let claimed = s.store.inbox_claim(CLAIM, now_ms(), s.inbox_lease_ms).await;
        match claimed {
            Ok(batch) if !batch.is_empty() => {
                // Claimed together, decided together: their texts reach the encoder at once
                // and are embedded as one batch. A stop lets the claimed ones finish.
                let mut running = tokio::task::JoinSet::new();
                for d in batch {
                    let s = s.clone();
                    running.spawn(async move { process(&s, &d).await });
                }
                while let Some(r) = running.join_next().await {
                    if let Err(e) = r {
                        tracing::error!(worker = n, error = %e, "processing a delivery panicked");
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
    let inbound = flowgate_app::inbound::parse(
        &d.body,
        jiff::Timestamp::from_millisecond(d.received_at_ms)
            .unwrap_or_else(|_| jiff::Timestamp::now()),
    )
    .map_err(|e| (false, e.to_string()))?;
    let mut decided = Vec::new();
    let calls_back = s
        .webhooks
        .get(&d.source)
        .is_some_and(|w| w.callback.is_some());
    for t in &inbound.tickets {
        let p = crate::decide(s, t, actor)
            .await
            .map_err(|p| (p.status.is_server_error(), p.detail))?;
        if calls_back {
            // Queued once however often the delivery is processed.
            s.store
                .outbox_put(&d.source, p.seq, now_ms())
                .await
                .map_err(|e| (true, e.to_string()))?;
            s.outbox_wake.notify_one();
        }
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

/// Attempts at sending one decision before it is set aside as `failed`.
pub const CALLBACK_ATTEMPTS: i32 = 12;
/// How long a claimed decision is the sender's (longer than one attempt's timeout).
const CALLBACK_LEASE_MS: i64 = 30_000;
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Wait before attempt `n + 1` after `n` failed: 1 s, 2 s, 4 s … at most 10 minutes.
pub fn backoff_ms(attempts: i32) -> i64 {
    1000 * (1i64 << attempts.clamp(1, 20).saturating_sub(1)).min(600)
}

/// Sends queued decisions to their sources' callback URLs, signed as Standard Webhooks
/// (`webhook-id` = `decision-<seq>`, so a receiver can drop a repeat), until told to stop.
/// At least once: a decision is marked sent only after a 2xx.
pub async fn send_decisions(s: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            break;
        }
        let now = now_ms();
        let batch = match s.store.outbox_claim(16, now, CALLBACK_LEASE_MS).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "claiming from the outbox failed");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = s.outbox_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        for o in batch {
            let r = send_one(&s, &o).await;
            let now = now_ms();
            let recorded = match &r {
                Ok(()) => s.store.outbox_sent(o.id, now).await,
                Err(e) => {
                    s.store
                        .outbox_retry(&o, e, now + backoff_ms(o.attempts), CALLBACK_ATTEMPTS)
                        .await
                }
            };
            match (r, recorded) {
                (_, Err(e)) => tracing::error!(error = %e, "recording a callback failed"),
                (Ok(()), Ok(())) => {
                    tracing::info!(source = %o.source, seq = o.audit_seq, "decision sent back")
                }
                (Err(e), Ok(())) => {
                    tracing::warn!(source = %o.source, seq = o.audit_seq, attempts = o.attempts, error = %e, "sending a decision back failed")
                }
            }
        }
    }
}

async fn send_one(s: &AppState, o: &flowgate_store::inbox::Outgoing) -> Result<(), String> {
    let Some(cb) = s.webhooks.get(&o.source).and_then(|w| w.callback.clone()) else {
        return Err(format!("source {:?} has no callback any more", o.source));
    };
    let data = crate::decision_json(s, o.audit_seq)
        .await
        .map_err(|p| p.detail)?
        .ok_or_else(|| format!("audit record {} is not a decision", o.audit_seq))?;
    let ts = now_ms().div_euclid(1000);
    let body = serde_json::json!({
        "type": "decision.created",
        "timestamp": jiff::Timestamp::from_second(ts).map(|t| t.to_string()).unwrap_or_default(),
        "data": data,
    })
    .to_string();
    let id = format!("decision-{}", o.audit_seq);
    let sig = crate::webhook::standard_signature(&cb.secret, &id, ts, body.as_bytes())
        .ok_or("the callback secret is not a whsec_ secret")?;
    tokio::task::spawn_blocking(move || {
        let r = ureq::post(&cb.url)
            .timeout(CALLBACK_TIMEOUT)
            .set("Content-Type", "application/json")
            .set("webhook-id", &id)
            .set("webhook-timestamp", &ts.to_string())
            .set("webhook-signature", &sig)
            .send_string(&body);
        match r {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, _)) => Err(format!("the receiver answered {code}")),
            Err(e) => Err(format!("sending failed: {}", e.kind())),
        }
    })
    .await
    .map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        let waits: Vec<i64> = (1..=12).map(super::backoff_ms).collect();
        assert_eq!(&waits[..4], &[1000, 2000, 4000, 8000]);
        assert_eq!(waits[11], 600_000);
    }
}
