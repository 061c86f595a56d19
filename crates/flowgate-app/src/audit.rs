//! Decisions onto the audit chain.

use flowgate_gate::Policy;
use flowgate_store::Store;
use flowgate_store::audit::{AuditEntry, NewRecord, kind};

use crate::{Result, Triaged};

/// Appends the decisions of `triaged` (each with its texts, in the same transaction),
/// preceded by a `policy_change` record when the policy in force differs from the one the
/// chain last recorded (so every switch of policy is on the chain). Returns the entries
/// appended, the policy change first when there is one.
pub async fn append_decisions(
    store: &Store,
    policy: &Policy,
    actor: &str,
    triaged: &[Triaged],
    now_ms: i64,
) -> Result<Vec<AuditEntry>> {
    let mut records = Vec::with_capacity(triaged.len() + 1);
    if let Some(change) = policy_change(store, policy, actor).await? {
        records.push(change);
    }
    let shift = records.len();
    let mut texts = Vec::with_capacity(triaged.len());
    for (i, t) in triaged.iter().enumerate() {
        records.push(NewRecord::new(kind::DECISION, actor, t.record.to_json()));
        texts.push((i + shift, t.text.clone()));
    }
    Ok(store
        .audit_append_with_texts(&records, &texts, now_ms)
        .await?)
}

/// The `policy_change` record to append before decisions under `policy`, when the chain's
/// last one names another policy (or there is none).
pub async fn policy_change(
    store: &Store,
    policy: &Policy,
    actor: &str,
) -> Result<Option<NewRecord>> {
    let last = store.audit_last_of_kind(kind::POLICY_CHANGE).await?;
    let previous = last
        .as_deref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
        .and_then(|v| v.get("policy").and_then(|p| p.as_str()).map(str::to_owned));
    if previous.as_deref() == Some(policy.hash.as_str()) {
        return Ok(None);
    }
    Ok(Some(policy_change_record(policy, actor, previous)))
}

/// A `policy_change` record putting `policy` in force.
pub fn policy_change_record(policy: &Policy, actor: &str, previous: Option<String>) -> NewRecord {
    let change = serde_json::json!({
        "kind": "policy_change",
        "change": "policy_in_force",
        "policy": policy.hash,
        "name": policy.name,
        "previous": previous,
    });
    NewRecord::new(kind::POLICY_CHANGE, actor, change.to_string())
}

/// What `audit verify` found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    pub intact: bool,
    pub records: usize,
    /// Records of chain version 1 (before the hash covered every column).
    pub version1: usize,
    pub head: Option<String>,
    /// Reviews in the chain that match the review queue, when the queue was checked; and
    /// reviews older than chained reviews (counted, not matched).
    pub reviews_matched: Option<usize>,
    pub older_reviews: usize,
    /// The first problem, and the sequence number it was found at.
    pub problem: Option<String>,
    pub first_bad_seq: Option<i64>,
    /// Records whose recorded time goes backwards: (seq, time, the preceding record's time).
    pub times_backwards: Vec<(i64, i64, i64)>,
}

/// Verifies a chain: every hash, the expected head (when given), the review queue against
/// the chain's review records (when given) and that recorded times never go backwards.
pub fn verify(
    entries: &[AuditEntry],
    reviews: Option<&[flowgate_store::review::QueueItem]>,
    expected_head: Option<&str>,
) -> Verification {
    let mut v = Verification {
        intact: true,
        records: entries.len(),
        version1: entries.iter().filter(|e| e.version == 1).count(),
        head: entries.last().map(|e| e.sha256.clone()),
        reviews_matched: None,
        older_reviews: 0,
        problem: None,
        first_bad_seq: None,
        times_backwards: Vec::new(),
    };
    if let Err(b) = flowgate_store::audit::verify(entries, expected_head) {
        v.intact = false;
        v.problem = Some(format!(
            "audit log broken at position {} (seq {}): {}",
            b.position, b.seq, b.problem
        ));
        v.first_bad_seq = Some(b.seq);
        return v;
    }
    if let Some(items) = reviews {
        match flowgate_store::review::verify_reviews(entries, items) {
            Ok((n, older)) => {
                v.reviews_matched = Some(n);
                v.older_reviews = older;
            }
            Err(m) => {
                v.intact = false;
                v.problem = Some(format!(
                    "audit log and review queue disagree: {}",
                    m.problem
                ));
                v.first_bad_seq = Some(m.decision_seq);
                return v;
            }
        }
    }
    v.times_backwards = flowgate_store::audit::times_backwards(entries);
    if let Some(first) = v.times_backwards.first() {
        v.intact = false;
        v.first_bad_seq = Some(first.0);
        v.problem = Some(format!(
            "audit log: {} recorded times go backwards (first at seq {})",
            v.times_backwards.len(),
            first.0
        ));
    }
    v
}

/// [`verify`] on a store's chain and review queue.
pub async fn verify_store(store: &Store) -> Result<Verification> {
    let entries = store.audit_entries().await?;
    let items = store.review_items().await?;
    Ok(verify(&entries, Some(&items), None))
}
