//! Web sign-in sessions: a token exchanged for a random session id (kept as its SHA-256),
//! with the session's CSRF secret. The role is read from the token at every lookup, so a
//! revoked token's sessions end with it.

use crate::sql::on_pool;
use crate::{Result, Store};

/// A live session: whose token, its role, and the CSRF secret its forms carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub token_name: String,
    pub role: String,
    pub csrf: String,
    pub expires_at_ms: i64,
}

const PUT: &str = "INSERT INTO web_sessions (id_sha256, token_name, csrf, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)";
const GET: &str = "SELECT t.name, t.role, s.csrf, s.expires_at_ms FROM web_sessions s \
    JOIN api_tokens t ON t.name = s.token_name \
    WHERE s.id_sha256 = ? AND s.expires_at_ms > ? AND t.revoked_at_ms IS NULL";
const END: &str = "DELETE FROM web_sessions WHERE id_sha256 = ? OR expires_at_ms <= ?";

impl Store {
    /// Starts a session for the token named `token_name`.
    pub async fn session_create(
        &self,
        id_sha256: &str,
        token_name: &str,
        csrf: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<()> {
        self.require_schema().await?;
        on_pool!(
            &self.pool,
            query(PUT, id_sha256, token_name, csrf, now_ms, expires_at_ms).execute
        )?;
        Ok(())
    }

    /// The session with this id hash, unless it expired or its token was revoked.
    pub async fn session(&self, id_sha256: &str, now_ms: i64) -> Result<Option<Session>> {
        type Row = (String, String, String, i64);
        let row: Option<Row> =
            on_pool!(&self.pool, query_as(GET, id_sha256, now_ms).fetch_optional)?;
        Ok(row.map(|(token_name, role, csrf, expires_at_ms)| Session {
            token_name,
            role,
            csrf,
            expires_at_ms,
        }))
    }

    /// Ends the session with this id hash (and forgets every expired one).
    pub async fn session_end(&self, id_sha256: &str, now_ms: i64) -> Result<()> {
        on_pool!(&self.pool, query(END, id_sha256, now_ms).execute)?;
        Ok(())
    }
}
