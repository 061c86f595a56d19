//! Triage one ticket: the demand layer's prediction, the gate's decision, the knowledge
//! base's proposal, and the audit record and reviewer's texts that go with them.

use flowgate_demand::{Embed, IntentModel, Prediction};
use flowgate_gate::{Action, Decision, DecisionRecord, Gate, Ticket, Verdict};
use flowgate_kb::Kb;
use flowgate_store::texts::DecisionText;
use serde::{Deserialize, Serialize};

use crate::Result;

/// Everything a decision needs: the intent model, the gate (policy with thresholds resolved)
/// and, optionally, the knowledge base answers come from.
pub struct Triage {
    pub model: IntentModel,
    pub gate: Gate,
    pub kb: Option<Kb>,
    /// A knowledge-base article reviewed longer ago than this does not count as current.
    pub stale_days: i64,
}

/// A source passage shown with a proposed answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Source {
    pub article: String,
    pub title: String,
}

/// Sources as kept beside a decision (JSON), read back; none when absent or unreadable.
pub fn sources(json: Option<&str>) -> Vec<Source> {
    json.and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

/// One ticket triaged.
#[derive(Clone, Debug)]
pub struct Triaged {
    pub prediction: Prediction,
    /// `repetitive`, `judgment`, `ambiguous` or `unassessed`, and why.
    pub bucket: String,
    pub bucket_reason: String,
    pub decision: Decision,
    /// The knowledge base's answer, filled from the ticket (acts and assists, with a
    /// knowledge base).
    pub answer: Option<String>,
    pub sources: Vec<Source>,
    /// The audit record of the decision.
    pub record: DecisionRecord,
    /// What a reviewer sees (kept beside the chain, erasable).
    pub text: DecisionText,
}

/// The gate's view of a prediction.
pub fn verdict(p: &Prediction) -> Verdict<'_> {
    Verdict {
        intent: &p.intent,
        confidence: p.confidence as f64,
        out_of_scope: p.out_of_scope,
        ambiguous: p.ambiguous,
        runner_up: p.top3.get(1).map(|t| t.0.as_str()),
    }
}

impl Triage {
    /// Triage tickets in one batch through the encoder. `days_since_previous` is per ticket
    /// (empty: unknown for all); `at` is the decision time the records carry.
    pub fn triage_batch(
        &self,
        encoder: &dyn Embed,
        tickets: &[Ticket],
        days_since_previous: &[Option<f64>],
        at: jiff::Timestamp,
    ) -> Result<Vec<Triaged>> {
        let texts: Vec<String> = tickets.iter().map(Ticket::text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let emb = encoder.embed(&refs)?;
        tickets
            .iter()
            .zip(&emb)
            .enumerate()
            .map(|(i, (t, e))| {
                let days = days_since_previous.get(i).copied().flatten();
                self.triage(t, e, days, at)
            })
            .collect()
    }

    /// Triage one ticket whose text embedding is `emb`.
    pub fn triage(
        &self,
        ticket: &Ticket,
        emb: &[f32],
        days_since_previous: Option<f64>,
        at: jiff::Timestamp,
    ) -> Result<Triaged> {
        let text = ticket.text();
        let p = self.model.predict_one(&text, emb);
        let (bucket, bucket_reason) = self.model.bucket(&p);
        let (bucket, bucket_reason) = (bucket.to_owned(), bucket_reason);
        let today = at.to_zoned(jiff::tz::TimeZone::UTC).date();
        let kb_article = self
            .kb
            .as_ref()
            .map(|kb| kb.current_article(&p.intent, today, self.stale_days));
        let decision = self
            .gate
            .decide(ticket, days_since_previous, &verdict(&p), kb_article)?;
        let (mut answer, mut sources) = (None, Vec::new());
        if let (Some(kb), Action::Act | Action::Assist) = (&self.kb, decision.action) {
            let fields = ticket.fields();
            let proposal = kb.propose(&flowgate_kb::Ask {
                intent: &p.intent,
                text: &text,
                emb,
                fields: &fields,
                today,
                stale_days: self.stale_days,
                k: 3,
            })?;
            answer = proposal.answer.map(|a| a.text);
            sources = proposal
                .hits
                .iter()
                .map(|h| {
                    let a = &kb.articles[h.article];
                    Source {
                        article: a.id.clone(),
                        title: a.title.clone(),
                    }
                })
                .collect();
        }
        let record = DecisionRecord {
            kind: flowgate_gate::record::DECISION.to_owned(),
            time: at.to_string(),
            ticket: ticket.id.clone(),
            source: ticket.source.clone().map(String::from),
            model: self.model.header.model_id.clone(),
            policy: self.gate.policy.hash.clone(),
            input: ticket.input_hash(),
            text_sha256: flowgate_store::texts::text_sha256(&text),
            intent: p.intent.clone(),
            confidence: p.confidence,
            oos_score: p.oos_score,
            threshold: decision.threshold,
            rule: decision.rule.clone(),
            decision: decision.action,
            reason: decision.reason.clone(),
        };
        let text = DecisionText {
            ticket: ticket.id.clone(),
            customer: ticket
                .customer
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            text: Some(text),
            answer: answer.clone(),
            sources: (!sources.is_empty())
                .then(|| serde_json::to_string(&sources).expect("sources serialise")),
            reasons: Some(decision.reason.clone()),
        };
        Ok(Triaged {
            prediction: p,
            bucket,
            bucket_reason,
            decision,
            answer,
            sources,
            record,
            text,
        })
    }
}
