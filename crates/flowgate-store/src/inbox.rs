//! The webhook inbox: deliveries committed before their sender is answered, then claimed by
//! workers (of any number of replicas) and processed at least once.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::sql::{from_row, numbered, on_pool};
use crate::{Pool, Result, Store};

/// What [`Store::inbox_put`] did with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// Stored under this inbox id (committed).
    New(i64),
    /// The same delivery id with the same bytes was stored before (a retry): nothing written.
    Again(i64),
    /// The same delivery id with other bytes: refused, nothing written.
    Conflict(i64),
}

/// A claimed delivery.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: i64,
    pub source: String,
    pub delivery_id: String,
    pub body: Vec<u8>,
    pub received_at_ms: i64,
    /// Claims so far, this one included.
    pub attempts: i32,
}

/// One row of the inbox, without its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InboxRow {
    pub id: i64,
    pub source: String,
    pub delivery_id: String,
    pub state: String,
    pub attempts: i32,
    pub received_at_ms: i64,
    pub done_at_ms: Option<i64>,
    pub outcome: Option<String>,
}

from_row!(Delivery {
    id,
    source,
    delivery_id,
    body,
    received_at_ms,
    attempts
});
from_row!(InboxRow {
    id,
    source,
    delivery_id,
    state,
    attempts,
    received_at_ms,
    done_at_ms,
    outcome
});

/// The inbox's depth and age, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InboxStats {
    pub pending: i64,
    pub done: i64,
    pub failed: i64,
    /// When the oldest pending delivery was received.
    pub oldest_pending_ms: Option<i64>,
}

const PENDING: &str = "pending";
const DONE: &str = "done";
const FAILED: &str = "failed";

/// Both back-ends' statements, with `?` placeholders (numbered for PostgreSQL).
const PUT: &str = "INSERT INTO webhook_inbox (source, delivery_id, body_sha256, body, received_at_ms) \
    VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, delivery_id) DO NOTHING RETURNING id";
const FIND: &str = "SELECT id, body_sha256 FROM webhook_inbox WHERE source = ? AND delivery_id = ?";
const FINISH: &str = "UPDATE webhook_inbox SET state = ?, done_at_ms = ?, outcome = ?, \
    lease_until_ms = NULL WHERE id = ? AND state = 'pending'";
const RETRY: &str = "UPDATE webhook_inbox SET outcome = ?, lease_until_ms = ? \
    WHERE id = ? AND state = 'pending'";
const ROWS: &str = "SELECT id, source, delivery_id, state, attempts, received_at_ms, done_at_ms, \
    outcome FROM webhook_inbox ORDER BY id";
const STATS: &str = "SELECT state, COUNT(*), MIN(received_at_ms) FROM webhook_inbox GROUP BY state";

impl Store {
    /// Runs a claiming `UPDATE … RETURNING` built by `update(row_lock)` with the binds
    /// (lease end, now, limit): on SQLite in an immediate transaction (one writer at a time,
    /// so two claimers never get the same row), on PostgreSQL with `FOR UPDATE SKIP LOCKED`.
    async fn claim_rows<T>(
        &self,
        update: &(dyn Fn(&str) -> String + Sync),
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        self.require_schema().await?;
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let rows = sqlx::query_as(&update(""))
                    .bind(now_ms + lease_ms)
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
            Pool::Postgres(p) => {
                sqlx::query_as(&numbered(&update(" FOR UPDATE SKIP LOCKED")))
                    .bind(now_ms + lease_ms)
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(p)
                    .await?
            }
        })
    }

    /// Stores a delivery and commits, unless its id was seen before: then it is a retry
    /// (same bytes, nothing written) or a conflict (other bytes, nothing written).
    pub async fn inbox_put(
        &self,
        source: &str,
        delivery_id: &str,
        body: &[u8],
        now_ms: i64,
    ) -> Result<Received> {
        use std::sync::atomic::Ordering;
        if !self.intake_checked.load(Ordering::Relaxed) {
            self.require_schema().await?;
            self.intake_checked.store(true, Ordering::Relaxed);
        }
        let sha = crate::audit::hex(&Sha256::digest(body));
        let put: Option<(i64,)> = on_pool!(
            &self.intake,
            query_as(PUT, source, delivery_id, &sha, body, now_ms).fetch_optional
        )?;
        if let Some((id,)) = put {
            return Ok(Received::New(id));
        }
        let (id, stored): (i64, String) =
            on_pool!(&self.intake, query_as(FIND, source, delivery_id).fetch_one)?;
        Ok(if stored == sha {
            Received::Again(id)
        } else {
            Received::Conflict(id)
        })
    }

    /// Claims up to `limit` pending deliveries whose lease is free, in arrival order, for
    /// `lease_ms`: no other worker (of this or another process) gets them meanwhile. A worker
    /// that dies leaves its claims to expire and be claimed again.
    pub async fn inbox_claim(
        &self,
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<Delivery>> {
        let pick = "SELECT id FROM webhook_inbox WHERE state = 'pending' \
            AND (lease_until_ms IS NULL OR lease_until_ms < ?) ORDER BY id LIMIT ?";
        let update = |lock: &str| {
            format!(
                "UPDATE webhook_inbox SET attempts = attempts + 1, lease_until_ms = ? \
                 WHERE id IN ({pick}{lock}) \
                 RETURNING id, source, delivery_id, body, received_at_ms, attempts"
            )
        };
        let mut rows: Vec<Delivery> = self.claim_rows(&update, limit, now_ms, lease_ms).await?;
        rows.sort_by_key(|d| d.id);
        Ok(rows)
    }

    /// Marks a claimed delivery processed, with what came of it.
    pub async fn inbox_done(&self, id: i64, outcome: &str, now_ms: i64) -> Result<()> {
        self.inbox_finish(id, DONE, outcome, now_ms).await
    }

    /// A delivery that could not be processed: after `max_attempts` claims it is marked
    /// failed (kept, with the error, for an operator); before, it is retried once its lease
    /// (`retry_after_ms` from now) ends.
    pub async fn inbox_failed(
        &self,
        d: &Delivery,
        error: &str,
        now_ms: i64,
        max_attempts: i32,
        retry_after_ms: i64,
    ) -> Result<()> {
        if d.attempts >= max_attempts {
            return self.inbox_finish(d.id, FAILED, error, now_ms).await;
        }
        on_pool!(
            &self.pool,
            query(RETRY, error, now_ms + retry_after_ms, d.id).execute
        )?;
        Ok(())
    }

    async fn inbox_finish(&self, id: i64, state: &str, outcome: &str, now_ms: i64) -> Result<()> {
        on_pool!(
            &self.pool,
            query(FINISH, state, now_ms, outcome, id).execute
        )?;
        Ok(())
    }

    /// Every delivery, oldest first, without bodies.
    pub async fn inbox_rows(&self) -> Result<Vec<InboxRow>> {
        self.require_schema().await?;
        Ok(on_pool!(&self.pool, query_as(ROWS).fetch_all)?)
    }

    /// Deliveries by state, and the oldest pending one's arrival.
    pub async fn inbox_stats(&self) -> Result<InboxStats> {
        self.require_schema().await?;
        let rows: Vec<(String, i64, Option<i64>)> =
            on_pool!(&self.pool, query_as(STATS).fetch_all)?;
        let mut s = InboxStats::default();
        for (state, n, oldest) in rows {
            match state.as_str() {
                PENDING => {
                    s.pending = n;
                    s.oldest_pending_ms = oldest;
                }
                DONE => s.done = n,
                FAILED => s.failed = n,
                _ => {}
            }
        }
        Ok(s)
    }
}

/// A decision to send back to a source, claimed for sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub id: i64,
    pub source: String,
    pub audit_seq: i64,
    /// Claims so far, this one included.
    pub attempts: i32,
}

/// One row of the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub source: String,
    pub audit_seq: i64,
    pub state: String,
    pub attempts: i32,
    pub sent_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

from_row!(Outgoing {
    id,
    source,
    audit_seq,
    attempts
});
from_row!(OutboxRow {
    id,
    source,
    audit_seq,
    state,
    attempts,
    sent_at_ms,
    last_error
});

const OUT_PUT: &str = "INSERT INTO webhook_outbox (source, audit_seq, next_attempt_ms) VALUES (?, ?, ?) \
    ON CONFLICT (source, audit_seq) DO NOTHING";
const OUT_SENT: &str = "UPDATE webhook_outbox SET state = 'sent', sent_at_ms = ?, last_error = NULL \
    WHERE id = ? AND state = 'pending'";
const OUT_RETRY: &str = "UPDATE webhook_outbox SET state = ?, last_error = ?, next_attempt_ms = ? WHERE id = ? AND state = 'pending'";
const OUT_ROWS: &str = "SELECT id, source, audit_seq, state, attempts, sent_at_ms, last_error \
    FROM webhook_outbox ORDER BY id";

impl Store {
    /// Queues decision `audit_seq` for `source` (once: queuing it again changes nothing).
    pub async fn outbox_put(&self, source: &str, audit_seq: i64, now_ms: i64) -> Result<()> {
        on_pool!(
            &self.pool,
            query(OUT_PUT, source, audit_seq, now_ms).execute
        )?;
        Ok(())
    }

    /// Claims up to `limit` decisions due for sending, oldest first, for `lease_ms` (a sender
    /// that dies leaves them to be claimed again then).
    pub async fn outbox_claim(
        &self,
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<Outgoing>> {
        let update = |lock: &str| {
            format!(
                "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_ms = ? \
                 WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' \
                 AND next_attempt_ms <= ? ORDER BY id LIMIT ?{lock}) \
                 RETURNING id, source, audit_seq, attempts"
            )
        };
        let mut rows: Vec<Outgoing> = self.claim_rows(&update, limit, now_ms, lease_ms).await?;
        rows.sort_by_key(|o| o.id);
        Ok(rows)
    }

    /// The receiver answered 2xx.
    pub async fn outbox_sent(&self, id: i64, now_ms: i64) -> Result<()> {
        on_pool!(&self.pool, query(OUT_SENT, now_ms, id).execute)?;
        Ok(())
    }

    /// Sending failed: try again at `next_ms`, or give up (state `failed`, kept with the
    /// error) once `o.attempts` reached `max_attempts`.
    pub async fn outbox_retry(
        &self,
        o: &Outgoing,
        error: &str,
        next_ms: i64,
        max_attempts: i32,
    ) -> Result<()> {
        let state = if o.attempts >= max_attempts {
            "failed"
        } else {
            "pending"
        };
        on_pool!(
            &self.pool,
            query(OUT_RETRY, state, error, next_ms, o.id).execute
        )?;
        Ok(())
    }

    /// Every queued decision, oldest first.
    pub async fn outbox_rows(&self) -> Result<Vec<OutboxRow>> {
        self.require_schema().await?;
        Ok(on_pool!(&self.pool, query_as(OUT_ROWS).fetch_all)?)
    }
}
