//! The append-only audit log: every record carries the SHA-256 of the one before it, so an
//! edited, removed or reordered record breaks the chain at the first position it touches.
//!
//! `sha256 = SHA-256("{seq}\n{prev_sha256}\n{record}")` in lower-case hex; the first record's
//! `prev_sha256` is [`GENESIS`]. `record` is stored exactly as given (a JSON object), so the
//! hash covers its bytes.

use sha2::{Digest, Sha256};

use crate::{Pool, Result, Store};

/// The `prev_sha256` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub recorded_at_ms: i64,
    pub record: String,
    pub prev_sha256: String,
    pub sha256: String,
}

/// The hash a record at `seq` after `prev` must carry.
pub fn chain_hash(seq: i64, prev: &str, record: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{seq}\n{prev}\n").as_bytes());
    h.update(record.as_bytes());
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the chain breaks first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    /// 1-based position in sequence order.
    pub position: usize,
    pub seq: i64,
    pub problem: String,
}

/// Checks a whole log in sequence order; `Ok(n)` with the number of records when intact.
/// `expected_head`, when given (a hash kept elsewhere, e.g. from an earlier export), must be
/// the last record's hash: that also catches records removed from the end.
pub fn verify(entries: &[AuditEntry], expected_head: Option<&str>) -> Result<usize, ChainBreak> {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        let position = i + 1;
        let brk = |problem: String| ChainBreak {
            position,
            seq: e.seq,
            problem,
        };
        if e.sha256 != chain_hash(e.seq, &e.prev_sha256, &e.record) {
            return Err(brk(
                "the record does not match its hash: it was edited, or moved from another position"
                    .into(),
            ));
        }
        if e.prev_sha256 != prev {
            return Err(brk(if position == 1 {
                "the first record does not start the chain: records before it were removed".into()
            } else {
                format!(
                    "the record does not follow record {}: a record between them was removed, or records were reordered",
                    position - 1
                )
            }));
        }
        if e.seq != position as i64 && entries.first().is_some_and(|f| f.seq == 1) {
            return Err(brk(format!(
                "sequence number {} at position {position}: a record was removed",
                e.seq
            )));
        }
        prev = e.sha256.clone();
    }
    if let Some(head) = expected_head
        && head != prev
    {
        return Err(ChainBreak {
            position: entries.len(),
            seq: entries.last().map_or(0, |e| e.seq),
            problem: format!(
                "the last record's hash is {prev}, not the expected {head}: records were removed from the end or the log was replaced"
            ),
        });
    }
    Ok(entries.len())
}

impl Store {
    /// Appends records (JSON objects, stored as given) in one transaction, chained to the
    /// current last record. Concurrent writers are serialised (SQLite: an immediate write
    /// transaction; PostgreSQL: a transaction-scoped advisory lock).
    pub async fn audit_append(&self, records: &[String], now_ms: i64) -> Result<Vec<AuditEntry>> {
        self.require_schema().await?;
        const LAST: &str = "SELECT seq, sha256 FROM audit_log ORDER BY seq DESC LIMIT 1";
        let mut out = Vec::with_capacity(records.len());
        macro_rules! append {
            ($tx:expr, $insert:expr) => {{
                let last: Option<(i64, String)> =
                    sqlx::query_as(LAST).fetch_optional(&mut *$tx).await?;
                let (mut seq, mut prev) = last.unwrap_or((0, GENESIS.to_owned()));
                for r in records {
                    seq += 1;
                    let sha = chain_hash(seq, &prev, r);
                    sqlx::query($insert)
                        .bind(seq)
                        .bind(now_ms)
                        .bind(r)
                        .bind(&prev)
                        .bind(&sha)
                        .execute(&mut *$tx)
                        .await?;
                    out.push(AuditEntry {
                        seq,
                        recorded_at_ms: now_ms,
                        record: r.clone(),
                        prev_sha256: std::mem::replace(&mut prev, sha.clone()),
                        sha256: sha,
                    });
                }
                $tx.commit().await?;
            }};
        }
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                append!(
                    tx,
                    "INSERT INTO audit_log (seq, recorded_at_ms, record, prev_sha256, sha256) VALUES (?, ?, ?, ?, ?)"
                );
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7243001)")
                    .execute(&mut *tx)
                    .await?;
                append!(
                    tx,
                    "INSERT INTO audit_log (seq, recorded_at_ms, record, prev_sha256, sha256) VALUES ($1, $2, $3, $4, $5)"
                );
            }
        }
        Ok(out)
    }

    /// The whole log in sequence order.
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        self.require_schema().await?;
        const Q: &str =
            "SELECT seq, recorded_at_ms, record, prev_sha256, sha256 FROM audit_log ORDER BY seq";
        let rows: Vec<(i64, i64, String, String, String)> = match &self.pool {
            Pool::Sqlite(p) => sqlx::query_as(Q).fetch_all(p).await?,
            Pool::Postgres(p) => sqlx::query_as(Q).fetch_all(p).await?,
        };
        Ok(rows
            .into_iter()
            .map(
                |(seq, recorded_at_ms, record, prev_sha256, sha256)| AuditEntry {
                    seq,
                    recorded_at_ms,
                    record,
                    prev_sha256,
                    sha256,
                },
            )
            .collect())
    }
}
