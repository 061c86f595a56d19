//! What the live service keeps: each (ticket, content)'s decision for idempotent posts,
//! API tokens (hashes only), review leases, and reads of the chain by sequence.

use serde::Serialize;

use crate::audit::{
    AuditEntry, LAST_OF_KIND, NewRecord, append_in_tx, in_chain_tx, kind, validate,
};
use crate::review::QueueItem;
use crate::sql::{from_row, numbered, on_pool};
use crate::texts::DecisionText;
use crate::{Pool, Result, Store, StoreError};

/// One decision to record, unless the same ticket with the same content was decided before.
pub struct NewDecision<'a> {
    /// Where the ticket comes from: a ticket is (source, id).
    pub source: &'a str,
    pub ticket: &'a str,
    /// SHA-256 of what the gate saw (text and fields).
    pub input_sha256: &'a str,
    /// The policy in force (its content hash) and the `policy_change` record to append first
    /// when the chain's last policy change names another.
    pub policy_hash: &'a str,
    pub policy_change: NewRecord,
    pub record: NewRecord,
    pub text: &'a DecisionText,
    /// The review queue item, when the decision is sampled (its sequence and time are filled
    /// in here).
    pub review: Option<QueueItem>,
}

/// What [`Store::decide_once`] did.
#[derive(Clone, Debug)]
pub struct Decided {
    /// The decision's entry (the earlier one when `existing`).
    pub entry: AuditEntry,
    /// The same ticket and content had been decided before: nothing was written.
    pub existing: bool,
    /// Entries written, the policy change first when there was one (empty when `existing`).
    pub written: Vec<AuditEntry>,
}

/// An API token as stored (never the token itself).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApiToken {
    pub name: String,
    pub role: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

type EntryRow = (i64, i64, String, String, String, i32, String, String);

fn entry(r: EntryRow) -> AuditEntry {
    AuditEntry {
        seq: r.0,
        recorded_at_ms: r.1,
        record: r.2,
        prev_sha256: r.3,
        sha256: r.4,
        version: r.5,
        kind: r.6,
        actor: r.7,
    }
}

const ENTRY_COLUMNS: &str =
    "seq, recorded_at_ms, record, prev_sha256, sha256, version, kind, actor";

/// The `policy` field of a `policy_change` record.
fn policy_of(record: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(record)
        .ok()?
        .get("policy")?
        .as_str()
        .map(str::to_owned)
}

impl Store {
    /// Records one decision — its chain entry, its texts, its ticket key and, when sampled,
    /// its review item — in one transaction under the chain's lock, unless the same ticket
    /// with the same content was decided before (then nothing is written and the earlier
    /// entry is returned). Concurrent posts of one ticket, from any number of processes,
    /// record it once.
    pub async fn decide_once(&self, d: NewDecision<'_>, now_ms: i64) -> Result<Decided> {
        self.require_schema().await?;
        validate(std::slice::from_ref(&d.record))?;
        validate(std::slice::from_ref(&d.policy_change))?;
        Ok(in_chain_tx!(&self.pool, |tx, q| {
            let known: Option<(i64,)> = sqlx::query_as(&q(FIND_DECISION))
                .bind(d.source)
                .bind(d.ticket)
                .bind(d.input_sha256)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some((seq,)) = known {
                let e: EntryRow = sqlx::query_as(&q(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq = ?"
                )))
                .bind(seq)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(Decided {
                    entry: entry(e),
                    existing: true,
                    written: Vec::new(),
                });
            }
            let last: Option<(String,)> = sqlx::query_as(&q(LAST_OF_KIND))
                .bind(kind::POLICY_CHANGE)
                .fetch_optional(&mut *tx)
                .await?;
            let mut records = Vec::with_capacity(2);
            if last.and_then(|(r,)| policy_of(&r)).as_deref() != Some(d.policy_hash) {
                records.push(d.policy_change.clone());
            }
            records.push(d.record.clone());
            let written = append_in_tx!(tx, q, records, now_ms);
            let e = written.last().expect("one record at least").clone();
            let t = d.text;
            crate::texts::insert_text!(tx, q, e, t);
            sqlx::query(&q(
                "INSERT INTO ticket_decisions (source, ticket, input_sha256, audit_seq) VALUES (?, ?, ?, ?)",
            ))
            .bind(d.source)
            .bind(d.ticket)
            .bind(d.input_sha256)
            .bind(e.seq)
            .execute(&mut *tx)
            .await?;
            if let Some(i) = &d.review {
                sqlx::query(&q(
                    "INSERT INTO review_queue (audit_seq, ticket, intent, band, confidence, decided_at_ms, sampled_at_ms, shadow) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ))
                .bind(e.seq)
                .bind(&i.ticket)
                .bind(&i.intent)
                .bind(&i.band)
                .bind(i.confidence)
                .bind(e.recorded_at_ms)
                .bind(e.recorded_at_ms)
                .bind(i.shadow)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Decided {
                entry: e,
                existing: false,
                written,
            }
        }))
    }

    /// Chain entries after `after_seq`, in order, at most `limit`.
    pub async fn audit_after(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        self.require_schema().await?;
        let rows: Vec<EntryRow> = on_pool!(
            &self.pool,
            query_as(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"
                ),
                after_seq,
                limit
            )
            .fetch_all
        )?;
        Ok(rows.into_iter().map(entry).collect())
    }

    /// The texts stored with the decision at `audit_seq`, if any.
    pub async fn decision_text(&self, audit_seq: i64) -> Result<Option<DecisionText>> {
        self.require_schema().await?;
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        const COLS: &str = "ticket, customer, text, answer, sources, reasons";
        let r: Option<Row> = on_pool!(
            &self.pool,
            query_as(
                &format!("SELECT {COLS} FROM decision_texts WHERE audit_seq = ?"),
                audit_seq
            )
            .fetch_optional
        )?;
        Ok(r.map(|r| DecisionText {
            ticket: r.0,
            customer: r.1,
            text: r.2,
            answer: r.3,
            sources: r.4,
            reasons: r.5,
        }))
    }

    /// One chain entry.
    pub async fn audit_entry(&self, seq: i64) -> Result<Option<AuditEntry>> {
        Ok(self
            .audit_after(seq - 1, 1)
            .await?
            .into_iter()
            .find(|e| e.seq == seq))
    }

    /// The length of the chain (its last sequence number).
    pub async fn audit_len(&self) -> Result<i64> {
        self.require_schema().await?;
        const Q: &str = "SELECT COALESCE(MAX(seq), 0) FROM audit_log";
        let (n,): (i64,) = on_pool!(&self.pool, query_as(Q).fetch_one)?;
        Ok(n)
    }

    /// Stores a new token's hash under `name` and appends a `token` record (name and role,
    /// never the token) in one transaction. A name in use is an error.
    pub async fn token_create(
        &self,
        name: &str,
        role: &str,
        token_sha256: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<AuditEntry> {
        self.require_schema().await?;
        let record = serde_json::json!({"kind": kind::TOKEN, "change": "create", "name": name, "role": role});
        let records = [NewRecord::new(kind::TOKEN, actor, record.to_string())];
        validate(&records)?;
        Ok(in_chain_tx!(&self.pool, |tx, q| {
            let taken: Option<(String,)> =
                sqlx::query_as(&q("SELECT name FROM api_tokens WHERE name = ?"))
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a token named {name:?} exists (revoked tokens keep their names)"
                )));
            }
            sqlx::query(&q(
                "INSERT INTO api_tokens (name, role, token_sha256, created_at_ms) VALUES (?, ?, ?, ?)",
            ))
            .bind(name)
            .bind(role)
            .bind(token_sha256)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            let out = append_in_tx!(tx, q, records, now_ms);
            tx.commit().await?;
            out.into_iter().last().expect("one record")
        }))
    }

    /// Revokes the token `name` and appends a `token` record, in one transaction.
    pub async fn token_revoke(&self, name: &str, actor: &str, now_ms: i64) -> Result<AuditEntry> {
        self.require_schema().await?;
        let record = serde_json::json!({"kind": kind::TOKEN, "change": "revoke", "name": name});
        let records = [NewRecord::new(kind::TOKEN, actor, record.to_string())];
        validate(&records)?;
        Ok(in_chain_tx!(&self.pool, |tx, q| {
            let n = sqlx::query(&q(
                "UPDATE api_tokens SET revoked_at_ms = ? WHERE name = ? AND revoked_at_ms IS NULL",
            ))
            .bind(now_ms)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "no active token named {name:?}"
                )));
            }
            let out = append_in_tx!(tx, q, records, now_ms);
            tx.commit().await?;
            out.into_iter().last().expect("one record")
        }))
    }

    /// The (name, role) of the active token with this hash.
    pub async fn token_lookup(&self, token_sha256: &str) -> Result<Option<(String, String)>> {
        const Q: &str =
            "SELECT name, role FROM api_tokens WHERE token_sha256 = ? AND revoked_at_ms IS NULL";
        Ok(on_pool!(
            &self.pool,
            query_as(Q, token_sha256).fetch_optional
        )?)
    }

    /// Every token (active and revoked), by name.
    pub async fn token_list(&self) -> Result<Vec<ApiToken>> {
        self.require_schema().await?;
        const Q: &str =
            "SELECT name, role, created_at_ms, revoked_at_ms FROM api_tokens ORDER BY name";
        let rows: Vec<(String, String, i64, Option<i64>)> =
            on_pool!(&self.pool, query_as(Q).fetch_all)?;
        Ok(rows
            .into_iter()
            .map(|(name, role, created_at_ms, revoked_at_ms)| ApiToken {
                name,
                role,
                created_at_ms,
                revoked_at_ms,
            })
            .collect())
    }

    /// Leases the next unreviewed item to `reviewer` until `now_ms + lease_ms`: the item the
    /// reviewer already holds, else the oldest that nobody holds (or whose lease ran out).
    /// `None` when nothing is left. Two reviewers never hold one item at once.
    pub async fn review_claim(
        &self,
        reviewer: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<QueueItem>> {
        self.require_schema().await?;
        let until = now_ms + lease_ms;
        // Where the back-ends differ: SQLite has one writer, so an immediate transaction
        // keeps a second claimer out; PostgreSQL locks the picked row and lets a concurrent
        // claimer skip it.
        let seq: Option<(i64,)> = match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let seq: Option<(i64,)> = sqlx::query_as(&claim_pick(""))
                    .bind(reviewer)
                    .bind(now_ms)
                    .bind(reviewer)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some((s,)) = seq {
                    sqlx::query(CLAIM_SET)
                        .bind(reviewer)
                        .bind(until)
                        .bind(s)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                seq
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                let seq: Option<(i64,)> =
                    sqlx::query_as(&numbered(&claim_pick(" FOR UPDATE SKIP LOCKED")))
                        .bind(reviewer)
                        .bind(now_ms)
                        .bind(reviewer)
                        .fetch_optional(&mut *tx)
                        .await?;
                if let Some((s,)) = seq {
                    sqlx::query(&numbered(CLAIM_SET))
                        .bind(reviewer)
                        .bind(until)
                        .bind(s)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                seq
            }
        };
        let Some((seq,)) = seq else {
            return Ok(None);
        };
        Ok(self
            .review_items()
            .await?
            .into_iter()
            .find(|i| i.audit_seq == seq))
    }

    /// Who holds the item at `audit_seq` at `now_ms`, if anyone.
    pub async fn review_lease(&self, audit_seq: i64, now_ms: i64) -> Result<Option<String>> {
        self.require_schema().await?;
        let r: Option<(Option<String>, Option<i64>)> = on_pool!(
            &self.pool,
            query_as(
                "SELECT leased_by, lease_until_ms FROM review_queue WHERE audit_seq = ?",
                audit_seq
            )
            .fetch_optional
        )?;
        Ok(r.and_then(|(by, until)| by.filter(|_| until.is_some_and(|u| u > now_ms))))
    }
}

/// A kill switch as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KillSwitch {
    /// `*` for the global switch, else an intent.
    pub scope: String,
    pub engaged: bool,
    pub actor: String,
    pub changed_at_ms: i64,
    /// The `policy_change` record that threw it.
    pub audit_seq: i64,
}

impl Store {
    /// Throws (or releases) the kill switch `scope` and appends `record` (a `policy_change`
    /// saying so) in one transaction under the chain's lock.
    pub async fn kill_switch_set(
        &self,
        scope: &str,
        engaged: bool,
        record: NewRecord,
        now_ms: i64,
    ) -> Result<AuditEntry> {
        self.require_schema().await?;
        let records = [record];
        validate(&records)?;
        let actor = records[0].actor.clone();
        Ok(in_chain_tx!(&self.pool, |tx, q| {
            let out = append_in_tx!(tx, q, records, now_ms);
            let e = out.into_iter().last().expect("one record");
            sqlx::query(&q(
                "INSERT INTO kill_switches (scope, engaged, actor, changed_at_ms, audit_seq) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (scope) DO UPDATE SET engaged = excluded.engaged, actor = excluded.actor, \
                 changed_at_ms = excluded.changed_at_ms, audit_seq = excluded.audit_seq",
            ))
            .bind(scope)
            .bind(engaged)
            .bind(&actor)
            .bind(e.recorded_at_ms)
            .bind(e.seq)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            e
        }))
    }

    /// Every kill switch ever thrown, by scope.
    pub async fn kill_switches(&self) -> Result<Vec<KillSwitch>> {
        self.require_schema().await?;
        const Q: &str = "SELECT scope, engaged, actor, changed_at_ms, audit_seq FROM kill_switches ORDER BY scope";
        let rows: Vec<(String, bool, String, i64, i64)> =
            on_pool!(&self.pool, query_as(Q).fetch_all)?;
        Ok(rows
            .into_iter()
            .map(
                |(scope, engaged, actor, changed_at_ms, audit_seq)| KillSwitch {
                    scope,
                    engaged,
                    actor,
                    changed_at_ms,
                    audit_seq,
                },
            )
            .collect())
    }

    /// A number that changes whenever a kill switch does (the last change's sequence).
    pub async fn kill_switch_version(&self) -> Result<i64> {
        const Q: &str = "SELECT COALESCE(MAX(audit_seq), 0) FROM kill_switches";
        let (n,): (i64,) = on_pool!(&self.pool, query_as(Q).fetch_one)?;
        Ok(n)
    }
}

/// The decision recorded for a (ticket, input hash).
const FIND_DECISION: &str =
    "SELECT audit_seq FROM ticket_decisions WHERE source = ? AND ticket = ? AND input_sha256 = ?";
/// The item a reviewer holds, else the oldest nobody holds; its binds are (reviewer, now,
/// reviewer). `lock`: PostgreSQL's row lock.
fn claim_pick(lock: &str) -> String {
    format!(
        "SELECT audit_seq FROM review_queue WHERE verdict IS NULL \
         AND (leased_by = ? OR leased_by IS NULL OR lease_until_ms <= ?) \
         ORDER BY (leased_by IS NOT DISTINCT FROM ?) DESC, audit_seq LIMIT 1{lock}"
    )
}
const CLAIM_SET: &str =
    "UPDATE review_queue SET leased_by = ?, lease_until_ms = ? WHERE audit_seq = ?";

/// A policy as imported into the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredPolicy {
    pub version: i64,
    pub hash: String,
    pub toml: String,
    /// Where it came from (a file's name).
    pub origin: String,
    pub actor: String,
    pub imported_at_ms: i64,
    pub audit_seq: i64,
}

from_row!(StoredPolicy {
    version,
    hash,
    toml,
    origin,
    actor,
    imported_at_ms,
    audit_seq
});

const POLICY_COLUMNS: &str = "version, hash, toml, origin, actor, imported_at_ms, audit_seq";

impl Store {
    /// Makes the policy `toml` (content hash `hash`) the one in force, with its
    /// `policy_change` record, unless it already is (then nothing is written and `None` is
    /// returned).
    pub async fn policy_import(
        &self,
        hash: &str,
        toml: &str,
        origin: &str,
        record: NewRecord,
        now_ms: i64,
    ) -> Result<Option<AuditEntry>> {
        self.require_schema().await?;
        let records = [record];
        validate(&records)?;
        let actor = records[0].actor.clone();
        Ok(in_chain_tx!(&self.pool, |tx, q| {
            let current: Option<(String,)> =
                sqlx::query_as("SELECT hash FROM policies ORDER BY version DESC LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            if current.is_some_and(|(h,)| h == hash) {
                tx.commit().await?;
                return Ok(None);
            }
            let out = append_in_tx!(tx, q, records, now_ms);
            let e = out.into_iter().last().expect("one record");
            sqlx::query(&q(
                "INSERT INTO policies (hash, toml, origin, actor, imported_at_ms, audit_seq) VALUES (?, ?, ?, ?, ?, ?)",
            ))
            .bind(hash)
            .bind(toml)
            .bind(origin)
            .bind(&actor)
            .bind(e.recorded_at_ms)
            .bind(e.seq)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Some(e)
        }))
    }

    /// The policy in force (the newest imported), if one was imported.
    pub async fn policy_current(&self) -> Result<Option<StoredPolicy>> {
        self.require_schema().await?;
        let q = format!("SELECT {POLICY_COLUMNS} FROM policies ORDER BY version DESC LIMIT 1");
        Ok(on_pool!(&self.pool, query_as(&q).fetch_optional)?)
    }

    /// Grows whenever the policy in force changes (an import or a kill switch): a server
    /// compares it before each decision and reloads when it moved.
    pub async fn policy_version(&self) -> Result<i64> {
        const Q: &str = "SELECT COALESCE(MAX(audit_seq), 0) FROM \
            (SELECT audit_seq FROM kill_switches UNION ALL SELECT audit_seq FROM policies) AS v";
        let (n,): (i64,) = on_pool!(&self.pool, query_as(Q).fetch_one)?;
        Ok(n)
    }
}

impl Store {
    /// Records that `customer` contacted about `ticket` at `at_ms` (the first time seen is
    /// kept: an update of the ticket is not a new contact) and returns the time of the same
    /// customer's latest earlier contact about another ticket, if any.
    pub async fn contact(
        &self,
        customer: &str,
        source: &str,
        ticket: &str,
        at_ms: i64,
    ) -> Result<Option<i64>> {
        self.require_schema().await?;
        const PUT: &str = "INSERT INTO customer_contacts (customer, source, ticket, at_ms) \
            VALUES (?, ?, ?, ?) ON CONFLICT (customer, source, ticket) DO NOTHING";
        const PREV: &str = "SELECT MAX(c.at_ms) FROM customer_contacts c \
            WHERE c.customer = ? AND (c.source <> ? OR c.ticket <> ?) AND c.at_ms <= \
            (SELECT at_ms FROM customer_contacts WHERE customer = ? AND source = ? AND ticket = ?)";
        on_pool!(
            &self.pool,
            query(PUT, customer, source, ticket, at_ms).execute
        )?;
        let (prev,): (Option<i64>,) = on_pool!(
            &self.pool,
            query_as(PREV, customer, source, ticket, customer, source, ticket).fetch_one
        )?;
        Ok(prev)
    }
}
