//! The audit review queue: sampled `act` decisions, keyed by their audit sequence number,
//! each reviewed once as `correct` or `defect` (with a category).

use serde::{Deserialize, Serialize};

use crate::audit::{AuditEntry, NewRecord, append_in_tx, in_chain_tx, kind, validate};
use crate::sql::{in_tx, on_pool};
use crate::{Result, Store, StoreError};

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
    /// A shadow review: the AI did not act (assist mode, or below its threshold); a person
    /// judges what it would have done. Evidence for thresholds, never an act decision.
    pub shadow: bool,
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
    bool,
);

const COLUMNS: &str = "audit_seq, ticket, intent, band, confidence, decided_at_ms, sampled_at_ms, verdict, category, reviewer, note, reviewed_at_ms, shadow";

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
        shadow: r.12,
    }
}

impl Store {
    /// Adds sampled decisions to the queue in one transaction; ones already queued are left
    /// as they are. Returns how many were new.
    pub async fn review_enqueue(&self, items: &[QueueItem]) -> Result<usize> {
        self.require_schema().await?;
        let mut added = 0;
        in_tx!(&self.pool, |tx, q| {
            let sql = q(
                "INSERT INTO review_queue (audit_seq, ticket, intent, band, confidence, decided_at_ms, sampled_at_ms, shadow) \
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (audit_seq) DO NOTHING",
            );
            for i in items {
                let r = sqlx::query(&sql)
                    .bind(i.audit_seq)
                    .bind(&i.ticket)
                    .bind(&i.intent)
                    .bind(&i.band)
                    .bind(i.confidence)
                    .bind(i.decided_at_ms)
                    .bind(i.sampled_at_ms)
                    .bind(i.shadow)
                    .execute(&mut *tx)
                    .await?;
                added += r.rows_affected() as usize;
            }
            tx.commit().await?;
        });
        Ok(added)
    }

    /// Every queued item in audit order.
    pub async fn review_items(&self) -> Result<Vec<QueueItem>> {
        self.require_schema().await?;
        let q = format!("SELECT {COLUMNS} FROM review_queue ORDER BY audit_seq");
        let rows: Vec<Row> = on_pool!(&self.pool, query_as(&q).fetch_all)?;
        Ok(rows.into_iter().map(item).collect())
    }

    /// Records a review and appends it to the audit chain (kind `review`, actor the reviewer)
    /// in one transaction. An item is reviewed once: marking one not in the queue, or already
    /// reviewed, is an error and changes nothing. Returns the chain entry written.
    pub async fn review_mark(
        &self,
        audit_seq: i64,
        verdict: &str,
        category: Option<&str>,
        reviewer: Option<&str>,
        note: Option<&str>,
        now_ms: i64,
    ) -> Result<AuditEntry> {
        self.require_schema().await?;
        if !["correct", "defect"].contains(&verdict) {
            return Err(StoreError::Review(format!(
                "verdict {verdict:?}: expected correct or defect"
            )));
        }
        let record = ReviewRecord {
            kind: kind::REVIEW,
            decision_seq: audit_seq,
            verdict,
            category,
            note,
            reviewer,
        };
        let records = [NewRecord::new(
            kind::REVIEW,
            reviewer.unwrap_or("unknown"),
            serde_json::to_string(&record).map_err(|e| StoreError::Audit(e.to_string()))?,
        )];
        validate(&records)?;
        let written = in_chain_tx!(&self.pool, |tx, q| {
            let n = sqlx::query(&q(
                "UPDATE review_queue SET verdict = ?, category = ?, reviewer = ?, note = ?, reviewed_at_ms = ? \
                 WHERE audit_seq = ? AND verdict IS NULL AND (leased_by IS NULL OR leased_by = ? OR lease_until_ms <= ?)",
            ))
            .bind(verdict)
            .bind(category)
            .bind(reviewer)
            .bind(note)
            .bind(now_ms)
            .bind(audit_seq)
            .bind(reviewer)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                None
            } else {
                let out = append_in_tx!(tx, q, records, now_ms);
                tx.commit().await?;
                out.into_iter().next()
            }
        });
        if let Some(e) = written {
            return Ok(e);
        }
        let known = self
            .review_items()
            .await?
            .into_iter()
            .find(|i| i.audit_seq == audit_seq);
        if known.as_ref().is_some_and(|i| i.verdict.is_none())
            && let Some(holder) = self.review_lease(audit_seq, now_ms).await?
        {
            return Err(StoreError::Conflict(format!(
                "decision {audit_seq} is being reviewed by {holder}"
            )));
        }
        Err(match known {
            None => {
                StoreError::NotFound(format!("decision {audit_seq} is not in the review queue"))
            }
            Some(i) => StoreError::Conflict(format!(
                "decision {audit_seq} was already reviewed ({})",
                i.verdict.unwrap_or_default()
            )),
        })
    }
}

/// Production evidence for the gate: every reviewed item (act or shadow) as (intent,
/// confidence, whether the AI was right).
pub fn evidence(items: &[QueueItem]) -> Vec<(String, f64, bool)> {
    items
        .iter()
        .filter_map(|i| {
            let v = i.verdict.as_deref()?;
            Some((i.intent.clone(), i.confidence, v == "correct"))
        })
        .collect()
}

/// A review as the audit chain keeps it.
#[derive(Serialize, Deserialize)]
struct ReviewRecord<'a> {
    kind: &'a str,
    decision_seq: i64,
    verdict: &'a str,
    category: Option<&'a str>,
    note: Option<&'a str>,
    reviewer: Option<&'a str>,
}

/// Where the review queue and the audit chain disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewMismatch {
    /// The reviewed decision's audit sequence number.
    pub decision_seq: i64,
    pub problem: String,
}

/// Checks the review queue against the chain's `review` records: every review in the chain
/// must be in the queue with the same verdict and category, and every reviewed queue item
/// must have its review in the chain (items reviewed before the chain's first version-2
/// record are older than review records and are only counted). `Ok` with (reviews matched,
/// older reviews without a record).
pub fn verify_reviews(
    entries: &[AuditEntry],
    items: &[QueueItem],
) -> Result<(usize, usize), ReviewMismatch> {
    let mut in_chain = std::collections::BTreeMap::new();
    for e in entries.iter().filter(|e| e.kind == kind::REVIEW) {
        let r: ReviewRecord = serde_json::from_str(&e.record).map_err(|err| ReviewMismatch {
            decision_seq: 0,
            problem: format!("audit record {} is not a review record: {err}", e.seq),
        })?;
        in_chain.insert(
            r.decision_seq,
            (e.seq, r.verdict.to_owned(), r.category.map(str::to_owned)),
        );
    }
    let by_seq: std::collections::BTreeMap<i64, &QueueItem> =
        items.iter().map(|i| (i.audit_seq, i)).collect();
    for (&decision_seq, (rec_seq, verdict, category)) in &in_chain {
        let bad = |problem: String| ReviewMismatch {
            decision_seq,
            problem,
        };
        match by_seq.get(&decision_seq) {
            None => {
                return Err(bad(format!(
                    "the review of decision {decision_seq} (audit record {rec_seq}) is missing from the review queue: it was deleted"
                )));
            }
            Some(i) if i.verdict.as_deref() != Some(verdict.as_str()) => {
                return Err(bad(format!(
                    "decision {decision_seq}: the audit chain (record {rec_seq}) says {verdict}, the review queue says {}: the verdict was changed or deleted",
                    i.verdict.as_deref().unwrap_or("not reviewed")
                )));
            }
            Some(i) if i.category != *category => {
                return Err(bad(format!(
                    "decision {decision_seq}: the audit chain (record {rec_seq}) gives category {category:?}, the review queue {:?}: it was changed",
                    i.category
                )));
            }
            Some(_) => {}
        }
    }
    let v2_from = entries
        .iter()
        .find(|e| e.version >= 2)
        .map_or(i64::MAX, |e| e.recorded_at_ms);
    let mut older = 0;
    for i in items.iter().filter(|i| i.verdict.is_some()) {
        if in_chain.contains_key(&i.audit_seq) {
            continue;
        }
        if i.reviewed_at_ms.is_some_and(|t| t < v2_from) {
            older += 1;
            continue;
        }
        return Err(ReviewMismatch {
            decision_seq: i.audit_seq,
            problem: format!(
                "decision {} is reviewed ({}) in the queue but no review of it is in the audit chain: the review was written behind flowgate's back",
                i.audit_seq,
                i.verdict.as_deref().unwrap_or_default()
            ),
        });
    }
    Ok((in_chain.len(), older))
}
