//! The audit review queue: sampled `act` decisions, keyed by their audit sequence number,
//! each reviewed once as `correct` or `defect` (with a category).

use crate::{Pool, Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct QueueItem {
    pub audit_seq: i64,
    pub ticket: String,
    pub intent: String,
    pub band: String,
    pub confidence: f64,
    pub decided_at_ms: i64,
    pub sampled_at_ms: i64,
    pub verdict: Option<String>,
    pub category: Option<String>,
    pub reviewer: Option<String>,
    pub note: Option<String>,
    pub reviewed_at_ms: Option<i64>,
}

type Row = (
    i64,
    String,
    String,
    String,
    f64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

const COLUMNS: &str = "audit_seq, ticket, intent, band, confidence, decided_at_ms, sampled_at_ms, verdict, category, reviewer, note, reviewed_at_ms";

fn item(r: Row) -> QueueItem {
    QueueItem {
        audit_seq: r.0,
        ticket: r.1,
        intent: r.2,
        band: r.3,
        confidence: r.4,
        decided_at_ms: r.5,
        sampled_at_ms: r.6,
        verdict: r.7,
        category: r.8,
        reviewer: r.9,
        note: r.10,
        reviewed_at_ms: r.11,
    }
}

impl Store {
    /// Adds sampled decisions to the queue in one transaction; ones already queued are left
    /// as they are. Returns how many were new.
    pub async fn review_enqueue(&self, items: &[QueueItem]) -> Result<usize> {
        self.require_schema().await?;
        let mut added = 0;
        macro_rules! insert {
            ($tx:expr, $sql:expr) => {{
                for i in items {
                    let r = sqlx::query($sql)
                        .bind(i.audit_seq)
                        .bind(&i.ticket)
                        .bind(&i.intent)
                        .bind(&i.band)
                        .bind(i.confidence)
                        .bind(i.decided_at_ms)
                        .bind(i.sampled_at_ms)
                        .execute(&mut *$tx)
                        .await?;
                    added += r.rows_affected() as usize;
                }
                $tx.commit().await?;
            }};
        }
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin().await?;
                insert!(
                    tx,
                    "INSERT INTO review_queue (audit_seq, ticket, intent, band, confidence, decided_at_ms, sampled_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (audit_seq) DO NOTHING"
                );
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                insert!(
                    tx,
                    "INSERT INTO review_queue (audit_seq, ticket, intent, band, confidence, decided_at_ms, sampled_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (audit_seq) DO NOTHING"
                );
            }
        }
        Ok(added)
    }

    /// Every queued item in audit order.
    pub async fn review_items(&self) -> Result<Vec<QueueItem>> {
        self.require_schema().await?;
        let q = format!("SELECT {COLUMNS} FROM review_queue ORDER BY audit_seq");
        let rows: Vec<Row> = match &self.pool {
            Pool::Sqlite(p) => sqlx::query_as(&q).fetch_all(p).await?,
            Pool::Postgres(p) => sqlx::query_as(&q).fetch_all(p).await?,
        };
        Ok(rows.into_iter().map(item).collect())
    }

    /// Records a review. An item is reviewed once: marking one not in the queue, or already
    /// reviewed, is an error and changes nothing.
    pub async fn review_mark(
        &self,
        audit_seq: i64,
        verdict: &str,
        category: Option<&str>,
        reviewer: Option<&str>,
        note: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        self.require_schema().await?;
        if !["correct", "defect"].contains(&verdict) {
            return Err(StoreError::Review(format!(
                "verdict {verdict:?}: expected correct or defect"
            )));
        }
        let n = match &self.pool {
            Pool::Sqlite(p) => sqlx::query(
                "UPDATE review_queue SET verdict = ?, category = ?, reviewer = ?, note = ?, reviewed_at_ms = ? WHERE audit_seq = ? AND verdict IS NULL",
            )
            .bind(verdict)
            .bind(category)
            .bind(reviewer)
            .bind(note)
            .bind(now_ms)
            .bind(audit_seq)
            .execute(p)
            .await?
            .rows_affected(),
            Pool::Postgres(p) => sqlx::query(
                "UPDATE review_queue SET verdict = $1, category = $2, reviewer = $3, note = $4, reviewed_at_ms = $5 WHERE audit_seq = $6 AND verdict IS NULL",
            )
            .bind(verdict)
            .bind(category)
            .bind(reviewer)
            .bind(note)
            .bind(now_ms)
            .bind(audit_seq)
            .execute(p)
            .await?
            .rows_affected(),
        };
        if n == 0 {
            let known = self
                .review_items()
                .await?
                .into_iter()
                .find(|i| i.audit_seq == audit_seq);
            return Err(StoreError::Review(match known {
                None => format!("decision {audit_seq} is not in the review queue"),
                Some(i) => format!(
                    "decision {audit_seq} was already reviewed ({})",
                    i.verdict.unwrap_or_default()
                ),
            }));
        }
        Ok(())
    }
}
