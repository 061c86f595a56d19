//! The inbox: webhook deliveries committed before the sender gets its answer, and the
//! workers that process them.
//!
//! A delivery is verified by the surface (signature, timestamp), checked here (a shape
//! flowgate reads, fields valid) and committed to the inbox; nothing else happens in the
//! request. Workers claim deliveries (with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so the
//! workers of every replica share one inbox), decide their tickets and append their events,
//! then mark them done. A worker that dies mid-delivery leaves its lease to expire; the
//! delivery is claimed again and processing it again changes nothing (the same ticket
//! content is decided once, the same events are stored once): at least once in, exactly
//! once in effect.

use std::sync::Arc;
use std::time::Duration;

use flowgate_store::inbox::{Delivery, Received};

use super::views::DeliveryReceived;
use super::{Service, now_ms};
use crate::{Error, Result};

/// How long a claimed delivery is a worker's before another may claim it (default).
pub const LEASE_MS: i64 = 60_000;
/// Claims before a delivery that keeps failing is set aside as `failed`.
pub const MAX_ATTEMPTS: i32 = 5;
/// Wait before a failed delivery is tried again.
pub const RETRY_AFTER_MS: i64 = 10_000;
/// Deliveries one worker claims, and decides concurrently, at a time.
const CLAIM: i64 = 16;

/// What [`Service::receive`] did with a delivery.
#[derive(Clone, Debug)]
pub enum Receipt {
    /// Committed to the inbox.
    Accepted(DeliveryReceived),
    /// The same delivery was received before: nothing stored.
    Duplicate(DeliveryReceived),
}

impl Service {
    /// Checks a verified delivery's body (a shape flowgate reads) and commits it to the
    /// inbox under `delivery` (the sender's id, or the body's hash).
    pub async fn receive(&self, source: &str, delivery: &str, body: &[u8]) -> Result<Receipt> {
        let now = now_ms();
        // Refuse what workers could never process, before storing it.
        crate::inbound::parse(
            body,
            jiff::Timestamp::from_millisecond(now).unwrap_or_else(|_| jiff::Timestamp::now()),
        )?;
        let view = |id: i64, state: &str| DeliveryReceived {
            delivery: delivery.to_owned(),
            inbox_id: id,
            state: state.to_owned(),
        };
        match self.store.inbox_put(source, delivery, body, now).await? {
            Received::New(id) => {
                self.inbox_wake.notify_one();
                tracing::info!(source, delivery, inbox = id, "webhook accepted");
                Ok(Receipt::Accepted(view(id, "accepted")))
            }
            Received::Again(id) => Ok(Receipt::Duplicate(view(id, "duplicate"))),
            Received::Conflict(id) => Err(Error::Conflict(format!(
                "delivery {delivery:?} was received before (inbox {id}) with other bytes"
            ))),
        }
    }

    /// Processes one delivery and records the outcome: done, retried later, or failed.
    async fn process(&self, d: &Delivery) {
        let actor = format!("webhook:{}", d.source);
        let outcome = self.handle(d, &actor).await;
        let now = now_ms();
        let r = match &outcome {
            Ok(summary) => self.store.inbox_done(d.id, summary, now).await,
            // A delivery flowgate cannot read will never be readable: set aside at once.
            Err(e) if !e.is_retryable() => {
                self.store.inbox_failed(d, &e.to_string(), now, 0, 0).await
            }
            Err(e) => {
                self.store
                    .inbox_failed(d, &e.to_string(), now, MAX_ATTEMPTS, RETRY_AFTER_MS)
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
            (Err(e), Ok(())) => {
                tracing::warn!(inbox = d.id, source = %d.source, retry = e.is_retryable(), error = %e, "delivery failed")
            }
        }
    }

    /// What the delivery asked for, done.
    async fn handle(&self, d: &Delivery, actor: &str) -> Result<String> {
        let inbound = crate::inbound::parse(
            &d.body,
            jiff::Timestamp::from_millisecond(d.received_at_ms)
                .unwrap_or_else(|_| jiff::Timestamp::now()),
        )?;
        let mut decided = Vec::new();
        let calls_back = self.opts.callbacks.contains_key(&d.source);
        for t in &inbound.tickets {
            // A delivery's tickets are its source's, whatever the payload says.
            let mut t = t.clone();
            t.source = Some(d.source.parse().map_err(Error::Invalid)?);
            let p = self.decide(&t, actor).await?;
            if calls_back {
                // Queued once however often the delivery is processed.
                self.store.outbox_put(&d.source, p.seq, now_ms()).await?;
                self.outbox_wake.notify_one();
            }
            decided.push(p.seq);
        }
        let mut events = String::new();
        if !inbound.events.is_empty() {
            let via = format!("webhook {} delivery {}", d.source, d.delivery_id);
            let sum =
                crate::events::append(&self.store, &d.source, &inbound.events, actor, &via).await?;
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
}

/// One worker: claims deliveries and processes them until told to stop; then finishes the
/// deliveries in hand and returns.
pub async fn work(s: Arc<Service>, n: usize, mut stop: tokio::sync::watch::Receiver<bool>) {
    tracing::debug!(worker = n, "inbox worker started");
    let lease = i64::try_from(s.opts.inbox_lease.as_millis()).unwrap_or(i64::MAX);
    loop {
        if *stop.borrow() {
            break;
        }
        match s.store.inbox_claim(CLAIM, now_ms(), lease).await {
            Ok(batch) if !batch.is_empty() => {
                // Claimed together, decided together: their texts reach the encoder at once
                // and are embedded as one batch. A stop lets the claimed ones finish.
                let mut running = tokio::task::JoinSet::new();
                for d in batch {
                    let s = s.clone();
                    running.spawn(async move { s.process(&d).await });
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
