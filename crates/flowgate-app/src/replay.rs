//! Replay: the gate over labelled tickets — what it would have decided, how often it would
//! have acted and how precisely, per intent (`flowgate replay`, the demo's report).

use std::collections::BTreeMap;

use flowgate_demand::{IntentModel, Prediction, texts};
use flowgate_gate::{Action, Decision, Gate};
use serde::Serialize;

use crate::Result;

#[derive(Serialize)]
pub struct Replay {
    pub tickets: usize,
    pub model: String,
    pub policy: String,
    /// Share of tickets the AI answers itself.
    pub act_coverage: f64,
    /// Share of `act` decisions whose intent matched the label.
    pub act_precision: Option<f64>,
    /// 95% Wilson interval of `act_precision`.
    pub act_precision_interval: Option<(f64, f64)>,
    /// Counts by decision kind.
    pub decisions: BTreeMap<&'static str, usize>,
    /// Counts by the rule or check that decided.
    pub rules: BTreeMap<String, usize>,
    /// Per intent (by label): tickets, acted, acted right.
    pub intents: Vec<ReplayIntent>,
    /// Per intent the model knows: the gate in effect and the evidence behind it.
    pub per_intent: Vec<PerIntent>,
}

/// One intent's gate: the mode in effect (after calibration, kill switches and `human`
/// modes; `auto` only where it may act), its threshold and the evidence that earned it.
#[derive(Serialize)]
pub struct PerIntent {
    pub intent: String,
    pub mode: &'static str,
    pub threshold: Option<f64>,
    /// Predictions at or above the threshold in the evidence used (all of the intent's
    /// predictions when it has no threshold).
    pub n: u64,
    pub precision: Option<f64>,
    /// One-sided 95% lower bound of precision at the threshold (null without one).
    pub lower_bound: Option<f64>,
    pub target: f64,
    pub method: flowgate_gate::Method,
    pub evidence: flowgate_gate::Evidence,
}

/// The per-intent gate table of `gate` for `labels`.
pub fn per_intent(gate: &Gate, labels: &[String]) -> Vec<PerIntent> {
    labels
        .iter()
        .map(|l| {
            let c = gate.calibration.get(l);
            let threshold = gate.thresholds.get(l).and_then(|r| r.threshold);
            PerIntent {
                intent: l.clone(),
                mode: gate.effective_mode(l),
                threshold,
                n: c.map_or(0, |c| c.kept),
                precision: c.and_then(|c| c.precision),
                lower_bound: threshold.and(c.and_then(|c| c.lower_bound)),
                target: gate.policy.intent(l).target_precision,
                method: gate.policy.method,
                evidence: c.map_or(flowgate_gate::Evidence::HeldOut, |c| c.evidence),
            }
        })
        .collect()
}

#[derive(Serialize)]
pub struct ReplayIntent {
    pub intent: String,
    pub tickets: usize,
    pub acted: usize,
    pub acted_right: usize,
    pub threshold: Option<f64>,
}

/// The gate's decision for ticket `i` of `data`.
pub fn decide(
    gate: &Gate,
    data: &texts::Labelled,
    i: usize,
    p: &Prediction,
    days_since_previous: Option<f64>,
    kb_article: Option<bool>,
) -> Result<Decision> {
    Ok(gate.decide(
        &crate::tickets::ticket(data, i, None),
        days_since_previous,
        &crate::triage::verdict(p),
        kb_article,
    )?)
}

/// The replay figures from predictions already made.
pub fn replay_predictions(
    gate: &Gate,
    model: &IntentModel,
    data: &texts::Labelled,
    preds: &[Prediction],
    days: &[Option<f64>],
) -> Result<Replay> {
    let mut decisions: BTreeMap<&'static str, usize> =
        Action::ALL.iter().map(|a| (a.as_str(), 0)).collect();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    let mut per: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for (i, p) in preds.iter().enumerate() {
        let d = decide(gate, data, i, p, days[i], None)?;
        *decisions.entry(d.action.as_str()).or_default() += 1;
        *rules.entry(d.rule.clone()).or_default() += 1;
        let e = per.entry(data.labels[i].as_str()).or_default();
        e.0 += 1;
        if d.action == Action::Act {
            e.1 += 1;
            if p.intent == data.labels[i] {
                e.2 += 1;
            }
        }
    }
    let acted: usize = per.values().map(|v| v.1).sum();
    let right: usize = per.values().map(|v| v.2).sum();
    let interval = flowgate_gate::interval::wilson_interval(right as u64, acted as u64);
    Ok(Replay {
        tickets: preds.len(),
        model: model.header.model_id.clone(),
        policy: gate.policy.hash.clone(),
        act_coverage: acted as f64 / preds.len().max(1) as f64,
        act_precision: (acted > 0).then(|| right as f64 / acted as f64),
        act_precision_interval: interval,
        decisions,
        rules,
        intents: per
            .into_iter()
            .map(|(k, v)| ReplayIntent {
                intent: k.to_owned(),
                tickets: v.0,
                acted: v.1,
                acted_right: v.2,
                threshold: gate.thresholds.get(k).and_then(|r| r.threshold),
            })
            .collect(),
        per_intent: per_intent(gate, &model.header.labels),
    })
}
