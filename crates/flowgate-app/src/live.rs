//! The live path for one ticket: triage, then record the decision exactly once for the
//! same ticket and content, sampling it for review as it is made.

use flowgate_gate::{DecisionRecord, Ticket};
use flowgate_store::Store;
use flowgate_store::live::NewDecision;
use flowgate_store::review::QueueItem;

use crate::triage::Source;
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

/// When a decision is sampled for review.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    /// As it is recorded (the service): acts by the policy's rates; with `shadow`, the
    /// decisions the gate kept from acting too.
    Now { shadow: bool },
    /// Later, by `flowgate review queue` over the chain (reproducible by the policy's seed).
    Later,
}

/// Records a ticket's triage made under `policy`, exactly once for the same ticket (source
/// and id) and content: one transaction writes the chain entry (after a `policy_change` when
/// the policy in force is new to the chain), the texts, the idempotency key and, when
/// sampled, the review item. A ticket decided before keeps that decision (returned, with
/// `created` false).
pub async fn record(
    store: &Store,
    policy: &flowgate_gate::Policy,
    ticket: &Ticket,
    t: crate::triage::Triaged,
    actor: &str,
    sampling: Sampling,
    at: jiff::Timestamp,
) -> Result<Posted> {
    let now_ms = at.as_millisecond();
    let review = match sampling {
        Sampling::Now { shadow } => {
            crate::review::sample_one(&t.record, 0, now_ms, policy, shadow, now_ms).1
        }
        Sampling::Later => None,
    };
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

/// What recording a batch of triaged tickets did.
#[derive(Clone, Debug, Default)]
pub struct BatchRecorded {
    /// Decisions written now.
    pub created: usize,
    /// Tickets (same source, id and content) decided before: nothing was written for them.
    pub existing: usize,
    /// The hash of the last decision written or found.
    pub head: Option<String>,
}

/// Records each ticket's triage made under `policy` through [`record`], the service's
/// once-only path: a ticket decided before with the same content keeps its decision, so a
/// rerun over the same file writes nothing new.
pub async fn record_batch(
    store: &Store,
    policy: &flowgate_gate::Policy,
    decided: Vec<(Ticket, crate::triage::Triaged)>,
    actor: &str,
    sampling: Sampling,
    at: jiff::Timestamp,
) -> Result<BatchRecorded> {
    let mut out = BatchRecorded::default();
    for (ticket, t) in decided {
        let p = record(store, policy, &ticket, t, actor, sampling, at).await?;
        if p.created {
            out.created += 1;
        } else {
            out.existing += 1;
        }
        out.head = Some(p.hash);
    }
    Ok(out)
}
