//! The gate in force: a policy with its thresholds resolved against the model's held-out
//! predictions and the production evidence gathered by reviews.

use flowgate_demand::IntentModel;
use flowgate_gate::{Gate, Mode, Policy};

use crate::{Error, Result};

/// Resolves `policy` against the model's held-out predictions and `production` evidence
/// (reviewed decisions as (intent, confidence, right)). Refused when an intent may act at a
/// calibrated threshold but there is nothing to calibrate on.
pub fn resolve(
    model: &IntentModel,
    policy: Policy,
    production: &[(String, f64, bool)],
) -> Result<Gate> {
    let labels = &model.header.labels;
    let needs_calibration = labels.iter().any(|l| {
        let p = policy.intent(l);
        p.mode == Mode::Auto && p.threshold.is_none()
    });
    if needs_calibration && model.header.held_out.is_empty() && production.is_empty() {
        return Err(Error::Invalid(
            "the policy lets intents act at a calibrated threshold, but the model holds no held-out predictions to calibrate on (it was trained with --gate-folds 0 or by an older flowgate): retrain it, or fix each auto intent's threshold in the policy".into(),
        ));
    }
    for name in policy.intents.keys() {
        if !labels.contains(name) {
            tracing::warn!("policy names intent {name:?}, which the model does not know");
        }
    }
    Ok(Gate::with_evidence(
        policy,
        &model.held_out_items(),
        production,
        labels,
    ))
}

/// One intent's standing under the gate in force: its evidence, the threshold it earns, the
/// mode in effect and what would open its gate (`flowgate gate status`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct IntentStatus {
    pub intent: String,
    /// The mode the policy gives it.
    pub policy_mode: &'static str,
    /// The mode in effect (after thresholds and kill switches).
    pub mode: &'static str,
    pub held_out: u64,
    pub production: u64,
    pub evidence: flowgate_gate::Evidence,
    pub target: f64,
    /// The threshold its evidence earns (whatever its mode).
    pub threshold: Option<f64>,
    pub n: u64,
    pub right: u64,
    pub lower_bound: Option<f64>,
    /// Further agreeing decisions in a row that would open the gate (0: open).
    pub more_needed: Option<u64>,
    pub note: String,
}

/// Every intent's standing under `policy`, resolved as the service resolves it
/// ([`resolve`]: the model's held-out predictions and the `production` evidence).
pub fn status(
    model: &IntentModel,
    policy: Policy,
    production: &[(String, f64, bool)],
) -> Result<(Gate, Vec<IntentStatus>)> {
    let gate = resolve(model, policy, production)?;
    let held = model.held_out_items();
    let count =
        |items: &[(String, f64, bool)], l: &str| items.iter().filter(|i| i.0 == *l).count() as u64;
    let rows = model
        .header
        .labels
        .iter()
        .map(|l| {
            let p = gate.policy.intent(l);
            let c = &gate.calibration[l];
            let mode = gate.effective_mode(l);
            let note = match (p.mode, c.threshold, mode) {
                (_, _, "off") => "a kill switch is on".to_owned(),
                (Mode::Human, _, _) => "people only, by policy".to_owned(),
                (Mode::Assist, Some(t), _) => format!(
                    "its evidence earns a threshold ({t:.3}): an admin may switch it to auto (a policy change)"
                ),
                (_, None, _) => match c.more_needed {
                    Some(k) => format!("{k} more agreeing decisions in a row would open its gate"),
                    None => {
                        "no run of agreeing decisions would open its gate at this target".to_owned()
                    }
                },
                (_, Some(_), _) => "acting".to_owned(),
            };
            IntentStatus {
                intent: l.clone(),
                policy_mode: p.mode.as_str(),
                mode,
                held_out: count(&held, l),
                production: count(production, l),
                evidence: c.evidence,
                target: p.target_precision,
                threshold: c.threshold,
                n: c.kept,
                right: c.right,
                lower_bound: c.lower_bound,
                more_needed: c.more_needed,
                note,
            }
        })
        .collect();
    Ok((gate, rows))
}
