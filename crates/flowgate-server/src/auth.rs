//! Bearer tokens and roles. A token is shown once when created; the store keeps its SHA-256.
//! Roles nest — `admin` ⊇ `reviewer` ⊇ `viewer` — and `ingest` may only post tickets and
//! events (as may `admin`).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, StatusCode, header};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// What a route needs of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Viewer,
    Reviewer,
    Admin,
    /// Posting tickets and events: `ingest` or `admin`.
    Ingest,
}

/// The roles a token can have.
pub const ROLES: [&str; 4] = ["admin", "reviewer", "viewer", "ingest"];

/// Whether `role` may do what `need` asks.
pub fn allows(role: &str, need: Need) -> bool {
    match need {
        Need::Viewer => matches!(role, "viewer" | "reviewer" | "admin"),
        Need::Reviewer => matches!(role, "reviewer" | "admin"),
        Need::Admin => role == "admin",
        Need::Ingest => matches!(role, "ingest" | "admin"),
    }
}

/// A new token: `fg_` and 32 random bytes in hex.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!("fg_{}", hex(&b))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SHA-256 (hex) a token is stored as.
pub fn token_sha256(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The caller, once authenticated.
#[derive(Clone, Debug)]
pub struct Caller {
    pub name: String,
    pub role: String,
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// A fixed one-minute window per token name.
pub struct RateLimit {
    per_minute: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimit {
    pub fn new(per_minute: u32) -> RateLimit {
        RateLimit {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `name` at `now_ms`; a 429 problem when over the limit.
    pub fn check(&self, name: &str, now_ms: i64) -> Result<(), Problem> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let minute = now_ms.div_euclid(60_000);
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() > 10_000 {
            w.retain(|_, (m, _)| *m == minute);
        }
        let slot = w.entry(name.to_owned()).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 += 1;
        if slot.1 > self.per_minute {
            let mut p = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!(
                    "more than {} requests this minute for token {name:?}",
                    self.per_minute
                ),
            );
            p.retry_after = Some((60 - now_ms.rem_euclid(60_000) / 1000).max(1) as u64);
            return Err(p);
        }
        Ok(())
    }
}
