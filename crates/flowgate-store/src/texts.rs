//! The texts behind decisions: what the ticket said, the proposed answer, its sources and the
//! reasons — what a reviewer must see to judge a decision. They are personal data, so they
//! are kept apart from the audit chain: the decision's audit record carries the text's
//! SHA-256, and erasing a text (retention, or a customer's request) leaves the chain intact
//! and appends an `erase` record saying what went.

use sha2::{Digest, Sha256};

use crate::audit::{AuditEntry, NewRecord, append_in_tx, in_chain_tx, kind, validate};
use crate::sql::on_pool;
use crate::{Result, Store};

/// A decision's texts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecisionText {
    pub ticket: String,
    pub customer: Option<String>,
    pub text: Option<String>,
    pub answer: Option<String>,
    /// JSON list of the sources (article ids and titles).
    pub sources: Option<String>,
    pub reasons: Option<String>,
}

/// A stored decision text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredText {
    pub audit_seq: i64,
    pub text: DecisionText,
    pub stored_at_ms: i64,
    /// Set once erased (retention or request): the texts are then `None`.
    pub erased_at_ms: Option<i64>,
}

/// `sha256:` and the hex SHA-256 of a text (what decision records carry as `text_sha256`).
pub fn text_sha256(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// What an erasure removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    pub texts: usize,
    /// The `erase` record on the chain (a retention pass that erased nothing writes none).
    pub record: Option<AuditEntry>,
}

type Row = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
);

const COLUMNS: &str =
    "audit_seq, ticket, customer, text, answer, sources, reasons, stored_at_ms, erased_at_ms";

/// Stores one decision's texts.
pub(crate) const INSERT: &str = "INSERT INTO decision_texts (audit_seq, ticket, customer, text, answer, sources, reasons, stored_at_ms) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/// Writes decision `$e`'s texts `$t` in the open transaction `$tx` (`$q`: its placeholders).
macro_rules! insert_text {
    ($tx:ident, $q:ident, $e:expr, $t:expr) => {
        sqlx::query(&$q($crate::texts::INSERT))
            .bind($e.seq)
            .bind(&$t.ticket)
            .bind(&$t.customer)
            .bind(&$t.text)
            .bind(&$t.answer)
            .bind(&$t.sources)
            .bind(&$t.reasons)
            .bind($e.recorded_at_ms)
            .execute(&mut *$tx)
            .await?
    };
}
pub(crate) use insert_text;

impl Store {
    /// Appends decision records and stores their texts in one transaction. `texts` pairs an
    /// index into `records` with that decision's texts. Returns the chain entries written.
    pub async fn audit_append_with_texts(
        &self,
        records: &[NewRecord],
        texts: &[(usize, DecisionText)],
        now_ms: i64,
    ) -> Result<Vec<AuditEntry>> {
        self.require_schema().await?;
        validate(records)?;
        Ok(in_chain_tx!(&self.pool, |tx, q| {
            let out = append_in_tx!(tx, q, records, now_ms);
            // A chain_version record may come first: the records are the last entries.
            let first = out.len() - records.len();
            for (i, t) in texts {
                let e = &out[first + i];
                insert_text!(tx, q, e, t);
            }
            tx.commit().await?;
            out
        }))
    }

    /// Every stored decision text, in audit order.
    pub async fn decision_texts(&self) -> Result<Vec<StoredText>> {
        self.require_schema().await?;
        let q = format!("SELECT {COLUMNS} FROM decision_texts ORDER BY audit_seq");
        let rows: Vec<Row> = on_pool!(&self.pool, query_as(&q).fetch_all)?;
        Ok(rows
            .into_iter()
            .map(|r| StoredText {
                audit_seq: r.0,
                text: DecisionText {
                    ticket: r.1,
                    customer: r.2,
                    text: r.3,
                    answer: r.4,
                    sources: r.5,
                    reasons: r.6,
                },
                stored_at_ms: r.7,
                erased_at_ms: r.8,
            })
            .collect())
    }

    /// Erases the texts of one customer (`customer` given) or of every decision stored
    /// before `before_ms` (retention), and appends an `erase` record (the customer only as
    /// a SHA-256) in the same transaction. Audit records and their hashes stay.
    pub async fn erase_texts(
        &self,
        customer: Option<&str>,
        before_ms: Option<i64>,
        actor: &str,
        now_ms: i64,
    ) -> Result<Erased> {
        self.require_schema().await?;
        let record = match (customer, before_ms) {
            (Some(c), _) => format!(
                r#"{{"kind":"erase","reason":"request","customer_sha256":"{}"}}"#,
                text_sha256(c)
            ),
            (None, Some(t)) => {
                format!(r#"{{"kind":"erase","reason":"retention","stored_before_ms":{t}}}"#)
            }
            (None, None) => {
                return Err(crate::StoreError::Audit(
                    "erase: name a customer or a retention cut-off".into(),
                ));
            }
        };
        let records = [NewRecord::new(kind::ERASE, actor, record)];
        validate(&records)?;
        const SET: &str = "text = NULL, answer = NULL, sources = NULL, reasons = NULL";
        let erase = |which: &str| {
            format!(
                "UPDATE decision_texts SET {SET}, customer = NULL, erased_at_ms = ? \
                 WHERE {which} AND erased_at_ms IS NULL"
            )
        };
        let (by_customer, by_time) = (erase("customer = ?"), erase("stored_at_ms < ?"));
        let (texts, out) = in_chain_tx!(&self.pool, |tx, q| {
            let n = match (customer, before_ms) {
                (Some(c), _) => {
                    sqlx::query(&q(&by_customer))
                        .bind(now_ms)
                        .bind(c)
                        .execute(&mut *tx)
                        .await?
                }
                (None, t) => {
                    sqlx::query(&q(&by_time))
                        .bind(now_ms)
                        .bind(t.unwrap_or(i64::MIN))
                        .execute(&mut *tx)
                        .await?
                }
            }
            .rows_affected() as usize;
            if n == 0 && customer.is_none() {
                (0, Vec::new())
            } else {
                let out = append_in_tx!(tx, q, records, now_ms);
                tx.commit().await?;
                (n, out)
            }
        });
        Ok(Erased {
            texts,
            record: out.into_iter().last(),
        })
    }
}
