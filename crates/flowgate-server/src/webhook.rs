//! Help-desk webhooks, authenticated by their signature alone: the raw bytes are verified
//! before anything is parsed, with a constant-time compare, against each of a source's
//! secrets (two during a rotation).
//!
//! - `zendesk`: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body)),
//!   the timestamp in `X-Zendesk-Webhook-Signature-Timestamp`; delivery id
//!   `X-Zendesk-Webhook-Invocation-Id`.
//! - `hub-signature-256` (GitHub, Jira and others): `X-Hub-Signature-256` =
//!   `sha256=` + hex(HMAC-SHA256(secret, body)); no signed timestamp; delivery id
//!   `X-GitHub-Delivery`, `X-Atlassian-Webhook-Identifier` or `X-Request-Id`.
//! - `standard-webhooks`: `webhook-signature` = space-separated `v1,` + base64(HMAC-SHA256(key,
//!   `{webhook-id}.{webhook-timestamp}.{body}`)), the key being the secret after `whsec_`,
//!   base64-decoded; delivery id `webhook-id`.
//!
//! A signed timestamp must be within [`WINDOW_S`] of the server's clock. A delivery without
//! an id of the sender's is identified by the SHA-256 of its bytes.

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// Seconds a signed timestamp may be off the server's clock, either way.
pub const WINDOW_S: i64 = 300;

/// How a source signs its deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    Zendesk,
    #[serde(rename = "hub-signature-256")]
    HubSignature256,
    StandardWebhooks,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Zendesk => "zendesk",
            Scheme::HubSignature256 => "hub-signature-256",
            Scheme::StandardWebhooks => "standard-webhooks",
        }
    }
}

/// One configured source (`[webhooks.NAME]`).
#[derive(Clone, Debug)]
pub struct WebhookSource {
    pub scheme: Scheme,
    /// One secret, or two while rotating (either verifies).
    pub secrets: Vec<String>,
    /// Where the source's decisions are sent, when it asks for them.
    pub callback: Option<Callback>,
}

pub use flowgate_app::service::callback::{Callback, is_standard_secret, standard_signature};

type HmacSha256 = Hmac<Sha256>;

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "bad-signature", detail)
}

fn stale(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "stale-timestamp", detail)
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The key a secret stands for: Standard Webhooks' `whsec_<base64>` decoded, any other
/// secret's own bytes.
fn key(scheme: Scheme, secret: &str) -> Option<Vec<u8>> {
    match (scheme, secret.strip_prefix("whsec_")) {
        (Scheme::StandardWebhooks, Some(b)) => B64.decode(b).ok(),
        _ => Some(secret.as_bytes().to_vec()),
    }
}

/// Whether `sig` is the HMAC of `parts` under any of the keys (constant-time per compare).
fn any_verifies(keys: &[Vec<u8>], parts: &[&[u8]], sig: &[u8]) -> bool {
    keys.iter().any(|k| {
        let Ok(mut mac) = HmacSha256::new_from_slice(k) else {
            return false;
        };
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(sig).is_ok()
    })
}

fn within_window(ts: i64, now_s: i64) -> Result<(), Problem> {
    if (now_s - ts).abs() > WINDOW_S {
        return Err(stale(format!(
            "the signed timestamp is {} s from the server's clock; at most {WINDOW_S} s is accepted",
            now_s - ts
        )));
    }
    Ok(())
}

/// Checks a delivery's signature (and signed timestamp) and returns its delivery id.
pub fn verify(
    source: &WebhookSource,
    headers: &HeaderMap,
    body: &[u8],
    now_s: i64,
) -> Result<String, Problem> {
    let keys: Vec<Vec<u8>> = source
        .secrets
        .iter()
        .filter_map(|s| key(source.scheme, s))
        .collect();
    let body_id = || format!("sha256:{}", crate::auth::hex(&Sha256::digest(body)));
    match source.scheme {
        Scheme::Zendesk => {
            let sig = header(headers, "x-zendesk-webhook-signature")
                .ok_or_else(|| bad("X-Zendesk-Webhook-Signature is missing"))?;
            let ts = header(headers, "x-zendesk-webhook-signature-timestamp")
                .ok_or_else(|| bad("X-Zendesk-Webhook-Signature-Timestamp is missing"))?;
            let sig = B64
                .decode(sig)
                .map_err(|_| bad("X-Zendesk-Webhook-Signature is not base64"))?;
            if !any_verifies(&keys, &[ts.as_bytes(), body], &sig) {
                return Err(bad("the signature does not match the body"));
            }
            let t: jiff::Timestamp = ts.parse().map_err(|_| {
                bad("X-Zendesk-Webhook-Signature-Timestamp is not an RFC 3339 time")
            })?;
            within_window(t.as_second(), now_s)?;
            Ok(header(headers, "x-zendesk-webhook-invocation-id")
                .map_or_else(body_id, str::to_owned))
        }
        Scheme::HubSignature256 => {
            let sig = header(headers, "x-hub-signature-256")
                .ok_or_else(|| bad("X-Hub-Signature-256 is missing"))?;
            let sig = sig
                .strip_prefix("sha256=")
                .and_then(hex_decode)
                .ok_or_else(|| bad("X-Hub-Signature-256 is not sha256=<hex>"))?;
            if !any_verifies(&keys, &[body], &sig) {
                return Err(bad("the signature does not match the body"));
            }
            Ok([
                "x-github-delivery",
                "x-atlassian-webhook-identifier",
                "x-request-id",
            ]
            .iter()
            .find_map(|h| header(headers, h))
            .map_or_else(body_id, str::to_owned))
        }
        Scheme::StandardWebhooks => {
            let id = header(headers, "webhook-id").ok_or_else(|| bad("webhook-id is missing"))?;
            let ts = header(headers, "webhook-timestamp")
                .ok_or_else(|| bad("webhook-timestamp is missing"))?;
            let sigs = header(headers, "webhook-signature")
                .ok_or_else(|| bad("webhook-signature is missing"))?;
            let ok = sigs.split(' ').any(|s| {
                s.strip_prefix("v1,")
                    .and_then(|b| B64.decode(b).ok())
                    .is_some_and(|sig| {
                        any_verifies(
                            &keys,
                            &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
                            &sig,
                        )
                    })
            });
            if !ok {
                return Err(bad("no v1 signature matches the body"));
            }
            let t: i64 = ts
                .parse()
                .map_err(|_| bad("webhook-timestamp is not whole seconds"))?;
            within_window(t, now_s)?;
            Ok(id.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    // Vectors computed independently with Python's hmac module:
    //   base64.b64encode(hmac.new(b"zd-secret", b"2026-12-01T12:00:00Z" + body, sha256).digest())
    //   "sha256=" + hmac.new(b"hub-secret", body, sha256).hexdigest()
    //   base64.b64encode(hmac.new(base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    //       b"msg_1.1764590400." + body, sha256).digest())
    const BODY: &[u8] = br#"{"type":"ticket.created"}"#;
    const NOW: i64 = 1_764_590_400; // 2025-12-01T12:00:00Z

    const ZD: &str = "0OiTG4PtNZ6XeXULWG2msTzlM/LTCVybSU2ZRhaOc/A=";
    const HUB: &str = "sha256=92ad680277b3ab4710295690018dc23bcfef0899cdf709d7c148f51d23dbbc4a";
    const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SW: &str = "v1,i9XaEfsnIqjLwp8dL4qMTDTRyjVwevySHvHF0rMKwYQ=";

    fn source(scheme: Scheme, secrets: &[&str]) -> WebhookSource {
        WebhookSource {
            scheme,
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
            callback: None,
        }
    }

    fn slug(r: Result<String, Problem>) -> &'static str {
        r.err().map_or("ok", |p| p.slug)
    }

    #[test]
    fn zendesk_vector_rotation_window_and_tamper() {
        let h = headers(&[
            ("x-zendesk-webhook-signature", ZD),
            (
                "x-zendesk-webhook-signature-timestamp",
                "2025-12-01T12:00:00Z",
            ),
            ("x-zendesk-webhook-invocation-id", "inv-1"),
        ]);
        let zd = source(Scheme::Zendesk, &["zd-secret"]);
        assert_eq!(verify(&zd, &h, BODY, NOW).unwrap(), "inv-1");
        // Rotation: the old secret still verifies beside a new one, in either order.
        let rotating = source(Scheme::Zendesk, &["new-secret", "zd-secret"]);
        assert!(verify(&rotating, &h, BODY, NOW + 299).is_ok());
        assert_eq!(
            slug(verify(&rotating, &h, BODY, NOW + 301)),
            "stale-timestamp"
        );
        assert_eq!(
            slug(verify(&rotating, &h, BODY, NOW - 301)),
            "stale-timestamp"
        );
        let mut tampered = BODY.to_vec();
        tampered[3] ^= 1;
        assert_eq!(slug(verify(&zd, &h, &tampered, NOW)), "bad-signature");
        assert_eq!(
            slug(verify(&source(Scheme::Zendesk, &["other"]), &h, BODY, NOW)),
            "bad-signature"
        );
        // The timestamp is signed: changing it breaks the signature, not only the window.
        let moved = headers(&[
            ("x-zendesk-webhook-signature", ZD),
            (
                "x-zendesk-webhook-signature-timestamp",
                "2025-12-01T12:00:01Z",
            ),
        ]);
        assert_eq!(slug(verify(&zd, &moved, BODY, NOW)), "bad-signature");
    }

    #[test]
    fn hub_vector_and_delivery_ids() {
        let hub = source(Scheme::HubSignature256, &["hub-secret"]);
        let h = headers(&[("x-hub-signature-256", HUB), ("x-github-delivery", "d-7")]);
        assert_eq!(verify(&hub, &h, BODY, 0).unwrap(), "d-7");
        // No id of the sender's: the bytes' hash identifies the delivery.
        let h = headers(&[("x-hub-signature-256", HUB)]);
        let id = verify(&hub, &h, BODY, 0).unwrap();
        assert!(id.starts_with("sha256:") && id.len() == 7 + 64, "{id}");
        let h = headers(&[("x-hub-signature-256", &HUB.replace("sha256=9", "sha256=8"))]);
        assert_eq!(slug(verify(&hub, &h, BODY, 0)), "bad-signature");
        assert_eq!(
            slug(verify(&hub, &HeaderMap::new(), BODY, 0)),
            "bad-signature"
        );
    }

    #[test]
    fn standard_webhooks_vector_and_signing_agree() {
        let sw = source(Scheme::StandardWebhooks, &[SW_SECRET]);
        let ts = NOW.to_string();
        let h = headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &format!("v1,bm90IGl0 {SW}")),
        ]);
        assert_eq!(verify(&sw, &h, BODY, NOW).unwrap(), "msg_1");
        assert_eq!(
            standard_signature(SW_SECRET, "msg_1", NOW, BODY).as_deref(),
            Some(SW)
        );
        assert_eq!(slug(verify(&sw, &h, BODY, NOW + 400)), "stale-timestamp");
        // The id is signed too.
        let h = headers(&[
            ("webhook-id", "msg_2"),
            ("webhook-timestamp", &ts),
            ("webhook-signature", SW),
        ]);
        assert_eq!(slug(verify(&sw, &h, BODY, NOW)), "bad-signature");
    }
}
