//! The live path for one ticket: triage, then record the decision exactly once for the
//! same ticket and content, sampling it for review as it is made.

use flowgate_gate::{DecisionRecord, Ticket};
use flowgate_store::Store;
use flowgate_store::live::NewDecision;
use flowgate_store::review::QueueItem;

use crate::triage::{Source, Triage};
use crate::{Error, Result};

/// A ticket's decision as the service answers it.
#[derive(Clone, Debug)]
pub struct Posted {
    /// False when the same ticket with the same content had been decided before: this is
    /// that decision, and nothing new was written.
    pub created: bool,
    pub seq: i64,
    pub hash: String,
    pub record: DecisionRecord,
    pub bucket: String,
    pub answer: Option<String>,
    pub sources: Vec<Source>,
    /// Whether the decision went to the review queue.
    pub sampled: bool,
}

/// Days since the same customer's previous ticket (for repeat-contact rules), recording
/// this one as a contact at its `created_at` (or `at` when the sender gave none).
pub async fn days_since_previous(
    store: &Store,
    ticket: &Ticket,
    at: jiff::Timestamp,
) -> Result<Option<f64>> {
    let Some(customer) = ticket.customer.as_deref().filter(|c| !c.trim().is_empty()) else {
        return Ok(None);
    };
    let opened = ticket
        .created_at
        .as_deref()
        .and_then(|c| c.parse::<jiff::Timestamp>().ok())
        .unwrap_or(at)
        .as_millisecond();
    let previous = store
        .contact(customer.trim(), ticket.source_name(), &ticket.id, opened)
        .await?;
    Ok(previous.map(|p| (opened - p) as f64 / 86_400_000.0))
}

/// Triage `ticket` (its text embedded as `emb`) and record the decision: one transaction
/// writes the chain entry (after a `policy_change` when the policy in force is new to the
/// chain), the texts, the idempotency key and, when sampled, the review item. With `shadow`,
/// decisions the gate kept from acting are sampled too.
pub async fn post_ticket(
    store: &Store,
    triage: &Triage,
    ticket: &Ticket,
    emb: &[f32],
    actor: &str,
    shadow: bool,
    at: jiff::Timestamp,
) -> Result<Posted> {
    let days = days_since_previous(store, ticket, at).await?;
    let t = triage.triage(ticket, emb, days, at)?;
    record(store, &triage.gate.policy, ticket, t, actor, shadow, at).await
}

/// Record a ticket's triage made under `policy` (the second half of [`post_ticket`], for a
/// caller that triages elsewhere, e.g. on threads of its own).
pub async fn record(
    store: &Store,
    policy: &flowgate_gate::Policy,
    ticket: &Ticket,
    t: crate::triage::Triaged,
    actor: &str,
    shadow: bool,
    at: jiff::Timestamp,
) -> Result<Posted> {
    let now_ms = at.as_millisecond();
    let (_, review) = crate::review::sample_one(&t.record, 0, now_ms, policy, shadow, now_ms);
    let sampled = review.is_some();
    let change = crate::audit::policy_change_record(policy, actor, None);
    let d = store
        .decide_once(
            NewDecision {
                source: ticket.source_name(),
                ticket: &ticket.id,
                input_sha256: &t.record.input,
                policy_hash: &policy.hash,
                policy_change: change,
                record: flowgate_store::audit::NewRecord::new(
                    flowgate_store::audit::kind::DECISION,
                    actor,
                    t.record.to_json(),
                ),
                text: &t.text,
                review,
            },
            now_ms,
        )
        .await?;
    if !d.existing {
        return Ok(Posted {
            created: true,
            seq: d.entry.seq,
            hash: d.entry.sha256,
            record: t.record,
            bucket: t.bucket,
            answer: t.answer,
            sources: t.sources,
            sampled,
        });
    }
    // The earlier decision, as recorded then.
    let record = DecisionRecord::parse(&d.entry.record).ok_or_else(|| {
        Error::Internal(format!(
            "audit record {} is not a decision this version reads",
            d.entry.seq
        ))
    })?;
    let text = store.decision_text(d.entry.seq).await?;
    let sources = crate::triage::sources(text.as_ref().and_then(|t| t.sources.as_deref()));
    let queued = store
        .review_items()
        .await?
        .iter()
        .any(|i: &QueueItem| i.audit_seq == d.entry.seq);
    Ok(Posted {
        created: false,
        seq: d.entry.seq,
        hash: d.entry.sha256,
        record,
        bucket: t.bucket,
        answer: text.as_ref().and_then(|t| t.answer.clone()),
        sources,
        sampled: queued,
    })
}
