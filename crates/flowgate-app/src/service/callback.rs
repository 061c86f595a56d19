//! Decisions sent back to a webhook source's callback URL, signed as Standard Webhooks
//! (`webhook-id` = `decision-<seq>`, so a receiver can drop a repeat). At least once: a
//! decision is marked sent only after a 2xx.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Service, now_ms};

/// A source's outbound callback: each decision made for one of its deliveries is POSTed
/// there, signed as a Standard Webhook with `secret` (`whsec_` + base64).
#[derive(Clone, Debug)]
pub struct Callback {
    pub url: String,
    pub secret: String,
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

/// Whether `secret` is a Standard Webhooks secret (`whsec_` and base64 of 16 bytes or more).
pub fn is_standard_secret(secret: &str) -> bool {
    secret
        .strip_prefix("whsec_")
        .is_some_and(|b| B64.decode(b).is_ok_and(|k| k.len() >= 16))
}

/// Signs `body` as a Standard Webhook (the `webhook-signature` header's value); `None` when
/// the secret is not a `whsec_` secret.
pub fn standard_signature(secret: &str, id: &str, ts: i64, body: &[u8]) -> Option<String> {
    let k = B64.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&k).ok()?;
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// Sends queued decisions to their sources' callback URLs until told to stop.
pub async fn send_decisions(s: Arc<Service>, mut stop: tokio::sync::watch::Receiver<bool>) {
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

async fn send_one(s: &Service, o: &flowgate_store::inbox::Outgoing) -> Result<(), String> {
    let Some(cb) = s.opts.callbacks.get(&o.source).cloned() else {
        return Err(format!("source {:?} has no callback any more", o.source));
    };
    let data = s
        .decision_row(o.audit_seq)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("audit record {} is not a decision", o.audit_seq))?;
    let ts = now_ms().div_euclid(1000);
    let body = serde_json::json!({
        "type": "decision.created",
        "timestamp": jiff::Timestamp::from_second(ts).map(|t| t.to_string()).unwrap_or_default(),
        "data": data,
    })
    .to_string();
    let id = format!("decision-{}", o.audit_seq);
    let sig = standard_signature(&cb.secret, &id, ts, body.as_bytes())
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
