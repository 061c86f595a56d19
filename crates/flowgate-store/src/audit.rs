//! The append-only audit log: every record carries the SHA-256 of the one before it, so an
//! edited, removed or reordered record breaks the chain at the first position it touches.
//!
//! Version 2 (every record written by this flowgate) hashes every stored column:
//!
//! ```text
//! sha256 = SHA-256("flowgate-audit-v2\n{seq}\n{recorded_at_ms}\n{kind}\n{actor}\n{prev_sha256}\n{record}")
//! ```
//!
//! in lower-case hex, numbers in decimal, `kind` and `actor` without line breaks (refused on
//! append), `record` stored exactly as given (a JSON object). Version 1 (older flowgate) hashed
//! `"{seq}\n{prev_sha256}\n{record}"` only; such records are never rewritten: the first version-2
//! append after them writes a `chain_version` record whose `prev_sha256` is the old head. The
//! first record's `prev_sha256` is [`GENESIS`].

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::sql::on_pool;
use crate::{Result, Store, StoreError};

/// The `prev_sha256` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain version this flowgate writes.
pub const VERSION: i32 = 2;

/// The kinds of record flowgate writes.
pub mod kind {
    pub const DECISION: &str = "decision";
    pub const REVIEW: &str = "review";
    pub const POLICY_CHANGE: &str = "policy_change";
    pub const CHAIN_VERSION: &str = "chain_version";
    /// Decision texts erased (retention, or a customer's request).
    pub const ERASE: &str = "erase";
    /// Records given to `audit append` without a `kind` of their own.
    pub const NOTE: &str = "note";
    /// An API token created or revoked (its name and role, never the token).
    pub const TOKEN: &str = "token";
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub recorded_at_ms: i64,
    pub record: String,
    pub prev_sha256: String,
    pub sha256: String,
    /// 1 (hash over seq, previous hash and record) or 2 (over every column).
    pub version: i32,
    /// `decision`, `review`, `policy_change`, `chain_version`, … (empty in version 1).
    pub kind: String,
    /// Who caused it: a token's name, a reviewer, `cli:USER` (empty in version 1).
    pub actor: String,
}

/// A record to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecord {
    pub kind: String,
    pub actor: String,
    /// A JSON object, stored byte for byte.
    pub record: String,
}

impl NewRecord {
    pub fn new(kind: &str, actor: &str, record: String) -> NewRecord {
        NewRecord {
            kind: kind.to_owned(),
            actor: actor.to_owned(),
            record,
        }
    }
}

pub(crate) fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The version-1 hash of a record at `seq` after `prev`.
pub fn chain_hash(seq: i64, prev: &str, record: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{seq}\n{prev}\n").as_bytes());
    h.update(record.as_bytes());
    hex(&h.finalize())
}

/// The version-2 hash: every column of the record.
pub fn chain_hash_v2(
    seq: i64,
    recorded_at_ms: i64,
    kind: &str,
    actor: &str,
    prev: &str,
    record: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(
        format!("flowgate-audit-v2\n{seq}\n{recorded_at_ms}\n{kind}\n{actor}\n{prev}\n").as_bytes(),
    );
    h.update(record.as_bytes());
    hex(&h.finalize())
}

/// The hash an entry must carry under its own version.
pub fn entry_hash(e: &AuditEntry) -> String {
    if e.version >= 2 {
        chain_hash_v2(
            e.seq,
            e.recorded_at_ms,
            &e.kind,
            &e.actor,
            &e.prev_sha256,
            &e.record,
        )
    } else {
        chain_hash(e.seq, &e.prev_sha256, &e.record)
    }
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
/// the last record's hash: that also catches records removed from the end. A version-1
/// record after a version-2 one, or a version other than 1 and 2, is a break.
pub fn verify(entries: &[AuditEntry], expected_head: Option<&str>) -> Result<usize, ChainBreak> {
    let mut prev = GENESIS.to_owned();
    let mut seen_v2 = false;
    for (i, e) in entries.iter().enumerate() {
        let position = i + 1;
        let brk = |problem: String| ChainBreak {
            position,
            seq: e.seq,
            problem,
        };
        if e.version != 1 && e.version != 2 {
            return Err(brk(format!("chain version {} is unknown", e.version)));
        }
        if e.version == 1 && seen_v2 {
            return Err(brk(
                "a version-1 record after version-2 ones: records are never written that way"
                    .into(),
            ));
        }
        if e.version == 2 && !seen_v2 && position > 1 && e.kind != kind::CHAIN_VERSION {
            return Err(brk(
                "the first version-2 record after version-1 ones must be a chain_version record"
                    .into(),
            ));
        }
        seen_v2 |= e.version == 2;
        if e.sha256 != entry_hash(e) {
            return Err(brk(
                "the record does not match its hash: it (its time, kind, actor or content) was edited, or it was moved from another position"
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

/// Recorded times that go backwards (each record's time must be at least the one before it;
/// flowgate never writes otherwise): (seq, its time, the time before it).
pub fn times_backwards(entries: &[AuditEntry]) -> Vec<(i64, i64, i64)> {
    entries
        .windows(2)
        .filter(|w| w[1].recorded_at_ms < w[0].recorded_at_ms)
        .map(|w| (w[1].seq, w[1].recorded_at_ms, w[0].recorded_at_ms))
        .collect()
}

fn check_field(what: &str, value: &str) -> Result<()> {
    if value.contains(['\n', '\r']) {
        return Err(StoreError::Audit(format!(
            "{what} {value:?}: a line break is not allowed"
        )));
    }
    Ok(())
}

/// Appends `records` inside the open transaction `$tx`, chained to the current last record:
/// a `chain_version` record first when the chain so far is version 1. The recorded time is
/// `$now`, or the last record's when that is later (times never go backwards). Evaluates to
/// the entries written. `$q`: the back-end's placeholder style (see [`crate::sql`]).
macro_rules! append_in_tx {
    ($tx:expr, $q:expr, $records:expr, $now:expr) => {{
        const LAST: &str =
            "SELECT seq, sha256, version, recorded_at_ms FROM audit_log ORDER BY seq DESC LIMIT 1";
        let last: Option<(i64, String, i32, i64)> =
            sqlx::query_as(LAST).fetch_optional(&mut *$tx).await?;
        let (mut seq, mut prev, last_version, last_time) =
            last.unwrap_or((0, $crate::audit::GENESIS.to_owned(), $crate::audit::VERSION, i64::MIN));
        let now: i64 = ($now).max(last_time);
        let mut todo: Vec<$crate::audit::NewRecord> = Vec::new();
        if seq > 0 && last_version < $crate::audit::VERSION {
            todo.push($crate::audit::NewRecord::new(
                $crate::audit::kind::CHAIN_VERSION,
                "flowgate",
                format!(
                    r#"{{"kind":"chain_version","version":{},"previous_version":{last_version},"previous_seq":{seq},"previous_head":"{prev}"}}"#,
                    $crate::audit::VERSION
                ),
            ));
        }
        todo.extend($records.iter().cloned());
        let mut out = Vec::with_capacity(todo.len());
        for r in todo {
            seq += 1;
            let sha = $crate::audit::chain_hash_v2(seq, now, &r.kind, &r.actor, &prev, &r.record);
            sqlx::query(&$q($crate::audit::INSERT))
                .bind(seq)
                .bind(now)
                .bind(&r.record)
                .bind(&prev)
                .bind(&sha)
                .bind($crate::audit::VERSION)
                .bind(&r.kind)
                .bind(&r.actor)
                .execute(&mut *$tx)
                .await?;
            out.push($crate::audit::AuditEntry {
                seq,
                recorded_at_ms: now,
                record: r.record,
                prev_sha256: std::mem::replace(&mut prev, sha.clone()),
                sha256: sha,
                version: $crate::audit::VERSION,
                kind: r.kind,
                actor: r.actor,
            });
        }
        out
    }};
}
pub(crate) const INSERT: &str = "INSERT INTO audit_log (seq, recorded_at_ms, record, prev_sha256, sha256, version, kind, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
/// The record of the chain's last entry of a kind.
pub(crate) const LAST_OF_KIND: &str =
    "SELECT record FROM audit_log WHERE kind = ? ORDER BY seq DESC LIMIT 1";
/// The advisory lock that serialises PostgreSQL writers of the chain.
pub(crate) const PG_CHAIN_LOCK: &str = "SELECT pg_advisory_xact_lock(7243001)";

/// Runs `$body` in a write transaction that holds the chain's lock, as [`crate::sql::in_tx!`]
/// does (`$tx` the transaction, `$q` the placeholder style; the body commits). The lock is
/// where the back-ends differ: SQLite has one writer, so an immediate transaction is the
/// lock; PostgreSQL takes a transaction-scoped advisory lock every process shares.
macro_rules! in_chain_tx {
    ($pool:expr, |$tx:ident, $q:ident| $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite(p) => {
                let mut $tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let $q = $crate::sql::plain;
                $body
            }
            $crate::Pool::Postgres(p) => {
                let mut $tx = p.begin().await?;
                sqlx::query($crate::audit::PG_CHAIN_LOCK)
                    .execute(&mut *$tx)
                    .await?;
                let $q = $crate::sql::numbered;
                $body
            }
        }
    };
}

pub(crate) use {append_in_tx, in_chain_tx};

pub(crate) fn validate(records: &[NewRecord]) -> Result<()> {
    for r in records {
        if r.kind.is_empty() {
            return Err(StoreError::Audit("a record needs a kind".into()));
        }
        check_field("kind", &r.kind)?;
        check_field("actor", &r.actor)?;
    }
    Ok(())
}

impl Store {
    /// Appends records (JSON objects, stored as given) in one transaction, chained to the
    /// current last record. Concurrent writers are serialised (SQLite: an immediate write
    /// transaction; PostgreSQL: a transaction-scoped advisory lock).
    pub async fn audit_append(
        &self,
        records: &[NewRecord],
        now_ms: i64,
    ) -> Result<Vec<AuditEntry>> {
        self.require_schema().await?;
        validate(records)?;
        let out = in_chain_tx!(&self.pool, |tx, q| {
            let out = append_in_tx!(tx, q, records, now_ms);
            tx.commit().await?;
            out
        });
        Ok(out)
    }

    /// The whole log in sequence order.
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        self.require_schema().await?;
        const Q: &str = "SELECT seq, recorded_at_ms, record, prev_sha256, sha256, version, kind, actor FROM audit_log ORDER BY seq";
        type Row = (i64, i64, String, String, String, i32, String, String);
        let rows: Vec<Row> = on_pool!(&self.pool, query_as(Q).fetch_all)?;
        Ok(rows
            .into_iter()
            .map(
                |(seq, recorded_at_ms, record, prev_sha256, sha256, version, kind, actor)| {
                    AuditEntry {
                        seq,
                        recorded_at_ms,
                        record,
                        prev_sha256,
                        sha256,
                        version,
                        kind,
                        actor,
                    }
                },
            )
            .collect())
    }

    /// The record of the last entry of `kind`, if any.
    pub async fn audit_last_of_kind(&self, kind: &str) -> Result<Option<String>> {
        self.require_schema().await?;
        let r: Option<(String,)> =
            on_pool!(&self.pool, query_as(LAST_OF_KIND, kind).fetch_optional)?;
        Ok(r.map(|r| r.0))
    }
}
