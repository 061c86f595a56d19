//! Assist for one ticket: the model's intent, the knowledge base's proposed answer and its
//! sources, and the gate's decision — `flowgate assist`. Only the gate lets an intent act:
//! without a policy the proposal is a suggestion for an agent (`assist`, or `clarify` when
//! the model is unsure), never `act`.

use std::collections::BTreeMap;

use flowgate_demand::{IntentModel, Prediction};
use flowgate_gate::{Action, Decision, Gate, Ticket};
use flowgate_kb::template::Answer;
use flowgate_kb::{Ask, Hit, Kb};

use crate::Result;

/// What to assist with.
pub struct AssistRequest<'a> {
    pub ticket: &'a Ticket,
    /// The ticket's text as the classifier reads it, and its sentence embedding.
    pub text: &'a str,
    pub emb: &'a [f32],
    /// The ticket's fields by lower-case name, for the answer template and the rules.
    pub fields: &'a BTreeMap<String, String>,
    pub today: jiff::civil::Date,
    /// An article reviewed longer ago than this does not count as current.
    pub stale_days: i64,
    /// Passages to show.
    pub k: usize,
}

/// The proposal for one ticket.
pub struct Assisted {
    pub prediction: Prediction,
    pub decision: Decision,
    /// Why, in order: the decision's reason, then what the knowledge base holds.
    pub reasons: Vec<String>,
    /// The article whose answer is proposed (an index into `kb.articles`).
    pub article: Option<usize>,
    pub answer: Option<Answer>,
    pub passages: Vec<Hit>,
}

/// The model's intent, the knowledge base's proposal and the decision: the gate's when a
/// `gate` is given, else a suggestion that never acts.
pub fn assist(
    model: &IntentModel,
    kb: &Kb,
    gate: Option<&Gate>,
    req: &AssistRequest<'_>,
) -> Result<Assisted> {
    let p = model.predict_one(req.text, req.emb);
    let proposal = kb.propose(&Ask {
        intent: &p.intent,
        text: req.text,
        emb: req.emb,
        fields: req.fields,
        today: req.today,
        stale_days: req.stale_days,
        k: req.k,
    })?;
    let decision = match gate {
        Some(g) => g.decide(
            req.ticket,
            None,
            &crate::triage::verdict(&p),
            Some(proposal.current),
        )?,
        None => suggestion(model, &p),
    };
    let mut reasons = vec![decision.reason.clone()];
    match proposal.article {
        Some(a) if proposal.current => {
            reasons.push(format!("article {} covers {}", kb.articles[a].id, p.intent))
        }
        Some(a) => reasons.push(format!(
            "article {} covers {} but was last reviewed {} (stale after {} days)",
            kb.articles[a].id,
            p.intent,
            kb.articles[a].reviewed.as_deref().unwrap_or("never"),
            req.stale_days
        )),
        None => reasons.push(format!("no article covers {}", p.intent)),
    }
    if let Some(a) = &proposal.answer
        && !a.unfilled.is_empty()
    {
        reasons.push(format!(
            "the answer needs values the ticket does not hold: {}",
            a.unfilled.join(", ")
        ));
    }
    Ok(Assisted {
        prediction: p,
        decision,
        reasons,
        article: proposal.article,
        answer: proposal.answer,
        passages: proposal.hits,
    })
}

/// Without a policy: a draft for an agent (`assist`), or `clarify` when the model is unsure.
/// Acting is the gate's to allow, so this never says `act`.
fn suggestion(model: &IntentModel, p: &Prediction) -> Decision {
    let (bucket, why) = model.bucket(p);
    Decision {
        action: if p.ambiguous {
            Action::Clarify
        } else {
            Action::Assist
        },
        rule: "no-policy".into(),
        reason: format!(
            "no policy given: a suggestion for an agent ({bucket}: {why}); only the gate lets an intent act — pass --policy for its decision"
        ),
        threshold: None,
        team: None,
    }
}
