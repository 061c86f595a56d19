//! The webhook inbox: deliveries committed before their sender is answered, then claimed by
//! workers (of any number of replicas) and processed at least once.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::common::numbered;
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

type DeliveryRow = (i64, String, String, Vec<u8>, i64, i32);
type Row = (
    i64,
    String,
    String,
    String,
    i32,
    i64,
    Option<i64>,
    Option<String>,
);

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
    /// Stores a delivery and commits, unless its id was seen before: then it is a retry
    /// (same bytes, nothing written) or a conflict (other bytes, nothing written).
    pub async fn inbox_put(
        &self,
        source: &str,
        delivery_id: &str,
        body: &[u8],
        now_ms: i64,
    ) -> Result<Received> {
        self.require_schema().await?;
        let sha = crate::audit::hex(&Sha256::digest(body));
        let put: Option<(i64,)> = match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query_as(PUT)
                    .bind(source)
                    .bind(delivery_id)
                    .bind(&sha)
                    .bind(body)
                    .bind(now_ms)
                    .fetch_optional(p)
                    .await?
            }
            Pool::Postgres(p) => {
                sqlx::query_as(&numbered(PUT))
                    .bind(source)
                    .bind(delivery_id)
                    .bind(&sha)
                    .bind(body)
                    .bind(now_ms)
                    .fetch_optional(p)
                    .await?
            }
        };
        if let Some((id,)) = put {
            return Ok(Received::New(id));
        }
        let (id, stored): (i64, String) = match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query_as(FIND)
                    .bind(source)
                    .bind(delivery_id)
                    .fetch_one(p)
                    .await?
            }
            Pool::Postgres(p) => {
                sqlx::query_as(&numbered(FIND))
                    .bind(source)
                    .bind(delivery_id)
                    .fetch_one(p)
                    .await?
            }
        };
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
        self.require_schema().await?;
        let pick = "SELECT id FROM webhook_inbox WHERE state = 'pending' \
            AND (lease_until_ms IS NULL OR lease_until_ms < ?) ORDER BY id LIMIT ?";
        let update = |lock: &str| {
            format!(
                "UPDATE webhook_inbox SET attempts = attempts + 1, lease_until_ms = ? \
                 WHERE id IN ({pick}{lock}) \
                 RETURNING id, source, delivery_id, body, received_at_ms, attempts"
            )
        };
        let mut rows: Vec<DeliveryRow> = match &self.pool {
            Pool::Sqlite(p) => {
                // An immediate transaction: one writer at a time, so two workers never
                // claim the same row.
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
        };
        rows.sort_by_key(|r| r.0);
        Ok(rows
            .into_iter()
            .map(|r| Delivery {
                id: r.0,
                source: r.1,
                delivery_id: r.2,
                body: r.3,
                received_at_ms: r.4,
                attempts: r.5,
            })
            .collect())
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
        match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query(RETRY)
                    .bind(error)
                    .bind(now_ms + retry_after_ms)
                    .bind(d.id)
                    .execute(p)
                    .await?;
            }
            Pool::Postgres(p) => {
                sqlx::query(&numbered(RETRY))
                    .bind(error)
                    .bind(now_ms + retry_after_ms)
                    .bind(d.id)
                    .execute(p)
                    .await?;
            }
        }
        Ok(())
    }

    async fn inbox_finish(&self, id: i64, state: &str, outcome: &str, now_ms: i64) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query(FINISH)
                    .bind(state)
                    .bind(now_ms)
                    .bind(outcome)
                    .bind(id)
                    .execute(p)
                    .await?;
            }
            Pool::Postgres(p) => {
                sqlx::query(&numbered(FINISH))
                    .bind(state)
                    .bind(now_ms)
                    .bind(outcome)
                    .bind(id)
                    .execute(p)
                    .await?;
            }
        }
        Ok(())
    }

    /// Every delivery, oldest first, without bodies.
    pub async fn inbox_rows(&self) -> Result<Vec<InboxRow>> {
        self.require_schema().await?;
        let rows: Vec<Row> = match &self.pool {
            Pool::Sqlite(p) => sqlx::query_as(ROWS).fetch_all(p).await?,
            Pool::Postgres(p) => sqlx::query_as(ROWS).fetch_all(p).await?,
        };
        Ok(rows
            .into_iter()
            .map(|r| InboxRow {
                id: r.0,
                source: r.1,
                delivery_id: r.2,
                state: r.3,
                attempts: r.4,
                received_at_ms: r.5,
                done_at_ms: r.6,
                outcome: r.7,
            })
            .collect())
    }

    /// Deliveries by state, and the oldest pending one's arrival.
    pub async fn inbox_stats(&self) -> Result<InboxStats> {
        self.require_schema().await?;
        let rows: Vec<(String, i64, Option<i64>)> = match &self.pool {
            Pool::Sqlite(p) => sqlx::query_as(STATS).fetch_all(p).await?,
            Pool::Postgres(p) => sqlx::query_as(STATS).fetch_all(p).await?,
        };
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
