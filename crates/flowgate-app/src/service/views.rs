//! What the service answers, as types: the API serialises them, the pages read their fields,
//! the OpenAPI document describes them. A renamed field is a compile error, not a "–".

use flowgate_gate::{Action, DecisionRecord};
use flowgate_store::audit::AuditEntry;
use flowgate_store::review::QueueItem;
use serde::Serialize;

use crate::triage::Source;

/// RFC 3339 (UTC) for a time in Unix milliseconds; empty when out of range.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// A decision as the API shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionView {
    pub action: Action,
    pub intent: String,
    pub confidence: f32,
    pub oos_score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    pub rule: String,
    pub threshold: Option<f64>,
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

impl DecisionView {
    pub fn of(
        r: &DecisionRecord,
        bucket: Option<String>,
        answer: Option<String>,
        sources: Vec<Source>,
    ) -> DecisionView {
        DecisionView {
            action: r.decision,
            intent: r.intent.clone(),
            confidence: r.confidence,
            oos_score: r.oos_score,
            bucket,
            rule: r.rule.clone(),
            threshold: r.threshold,
            reasons: vec![r.reason.clone()],
            answer,
            sources,
        }
    }
}

/// Where a record sits on the audit chain.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRef {
    pub seq: i64,
    pub hash: String,
}

impl AuditRef {
    pub fn of(e: &AuditEntry) -> AuditRef {
        AuditRef {
            seq: e.seq,
            hash: e.sha256.clone(),
        }
    }
}

/// `POST /v1/tickets`' answer.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketDecided {
    /// Where the ticket comes from: a ticket is (source, id).
    pub source: String,
    pub ticket_id: String,
    pub decision: DecisionView,
    pub audit: AuditRef,
    /// Whether the decision went to the review queue.
    pub sampled: bool,
}

/// A decision on the chain (the list, one decision, callbacks).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRow {
    pub seq: i64,
    pub hash: String,
    pub recorded_at: String,
    pub actor: String,
    /// Where the ticket comes from (null for decisions recorded before sources were kept).
    pub source: Option<String>,
    pub ticket_id: String,
    #[serde(flatten)]
    pub decision: DecisionView,
    pub policy: String,
    pub model: String,
}

impl DecisionRow {
    pub fn of(
        e: &AuditEntry,
        r: &DecisionRecord,
        answer: Option<String>,
        sources: Vec<Source>,
    ) -> DecisionRow {
        DecisionRow {
            seq: e.seq,
            hash: e.sha256.clone(),
            recorded_at: rfc3339(e.recorded_at_ms),
            actor: e.actor.clone(),
            source: r.source.clone(),
            ticket_id: r.ticket.clone(),
            policy: r.policy.clone(),
            model: r.model.clone(),
            decision: DecisionView::of(r, None, answer, sources),
        }
    }
}

/// One page of decisions.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionPage {
    pub decisions: Vec<DecisionRow>,
    /// Pass as `after_seq` for the next page (`null` at the end of the chain).
    pub next_after_seq: Option<i64>,
}

/// A review item as the API shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewView {
    pub decision_seq: i64,
    pub ticket_id: String,
    pub intent: String,
    pub band: String,
    pub confidence: f64,
    /// A decision the gate kept from acting, reviewed as evidence for its intent.
    pub shadow: bool,
    pub decided_at: String,
    pub verdict: Option<String>,
    pub category: Option<String>,
    pub reviewer: Option<String>,
    pub note: Option<String>,
    pub reviewed_at: Option<String>,
}

impl ReviewView {
    pub fn of(i: &QueueItem) -> ReviewView {
        ReviewView {
            decision_seq: i.audit_seq,
            ticket_id: i.ticket.clone(),
            intent: i.intent.clone(),
            band: i.band.clone(),
            confidence: i.confidence,
            shadow: i.shadow,
            decided_at: rfc3339(i.decided_at_ms),
            verdict: i.verdict.clone(),
            category: i.category.clone(),
            reviewer: i.reviewer.clone(),
            note: i.note.clone(),
            reviewed_at: i.reviewed_at_ms.map(rfc3339),
        }
    }
}

/// The review queue.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewList {
    pub reviews: Vec<ReviewView>,
}

/// A review item leased to its reviewer, with what they need to judge it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimedReview {
    #[serde(flatten)]
    pub item: ReviewView,
    pub lease_until: String,
    pub ticket_text: Option<String>,
    pub answer: Option<String>,
    pub reasons: Option<String>,
}

/// A verdict recorded.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Marked {
    pub decision_seq: i64,
    pub verdict: String,
    pub audit: AuditRef,
}

/// One decision in full: the row, the previous hash, the ticket's text, its review.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionDetail {
    #[serde(flatten)]
    pub row: DecisionRow,
    pub prev_hash: String,
    pub ticket_text: Option<String>,
    pub review: Option<ReviewView>,
}

/// One intent as the policy in force treats it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntentPolicy {
    pub intent: String,
    /// `auto`, `assist` or `human`.
    pub mode: String,
    pub target_precision: f64,
    /// The threshold the gate resolved (null: the intent does not act).
    pub threshold: Option<f64>,
    /// A threshold an admin fixed.
    pub fixed_threshold: Option<f64>,
    /// Why the gate resolved the threshold as it did.
    pub why: Option<String>,
    pub kill_switch: bool,
}

/// A kill switch as last set.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KillSwitchState {
    pub scope: String,
    pub engaged: bool,
    pub actor: String,
    pub changed_at: String,
    pub audit_seq: i64,
}

/// The policy in force.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyView {
    pub name: String,
    /// The hash of the policy in force (kill switches applied).
    pub policy: String,
    /// The hash of the policy imported (before kill switches).
    pub base_policy: String,
    pub kill_switch: bool,
    pub kill_switches: Vec<KillSwitchState>,
    pub intents: Vec<IntentPolicy>,
}

/// A kill switch thrown or released.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KillSwitchSet {
    pub scope: String,
    pub engaged: bool,
    pub policy: String,
    pub audit: AuditRef,
}

/// A threshold set.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThresholdSet {
    pub intent: String,
    pub threshold: Option<f64>,
    pub policy: String,
    /// The change on the chain; null when the threshold was already so.
    pub audit: Option<AuditRef>,
}

/// Events appended.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsAppended {
    pub source: String,
    /// The import record (null when every event was stored before).
    pub import_id: Option<i64>,
    pub events_new: u64,
    pub events_duplicate: u64,
}

/// A webhook delivery received.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryReceived {
    pub delivery: String,
    pub inbox_id: i64,
    /// `accepted` (new) or `duplicate` (received before: nothing stored).
    pub state: String,
}

/// The service is ready.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub status: String,
    pub database: String,
    pub audit_chain_length: i64,
    pub model: String,
    pub policy: String,
}

/// The service answers.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
}
