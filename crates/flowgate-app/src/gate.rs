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
