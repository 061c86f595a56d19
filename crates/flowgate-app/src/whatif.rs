//! What-if: the discrete-event simulation fitted from a source's history, run under a
//! scenario beside the same model's baseline run.

use flowgate_flow::NONE;
use flowgate_flow::segment::case_attr;
use flowgate_sim::SimResult;
use flowgate_sim::{Model, Scenario};

use crate::analytics::SourceLog;
use crate::{Error, Result};

/// Per case: its intent (an index into the names), and the names; one intent `all` when
/// the log has no column `intent_col`.
pub fn case_intents(l: &SourceLog, intent_col: &str) -> (Vec<Option<u32>>, Vec<String>) {
    match l.log.attr_index(intent_col) {
        Some(col) => {
            let per_case = case_attr(&l.log, col);
            let names: Vec<String> = l.log.attr_values[col].iter().map(str::to_owned).collect();
            (
                per_case.iter().map(|&v| (v != NONE).then_some(v)).collect(),
                names,
            )
        }
        None => (vec![Some(0); l.log.n_cases()], vec!["all".to_owned()]),
    }
}

/// Fits the simulation model from a source's log.
pub fn fit(l: &SourceLog, intent_col: &str) -> Model {
    let (intent_of, intents) = case_intents(l, intent_col);
    let sla = crate::analytics::sla_targets(l);
    Model::fit(&l.log, &l.records, intents, &intent_of, sla.as_deref())
}

/// A scenario's run beside the baseline's (the same model, replications, seed and days).
pub struct WhatIf {
    pub baseline: SimResult,
    pub scenario: SimResult,
}

/// Runs the scenario written in `text` (`origin` names it in errors) on `model`: a
/// scenario naming a team or intent the history does not have is refused.
pub fn run(model: &Model, text: &str, origin: &str, threads: usize) -> Result<WhatIf> {
    if model.templates() == 0 {
        return Err(Error::Invalid(
            "no resolved case to learn from; check the mapping's resolved/closed states".into(),
        ));
    }
    let s = Scenario::parse(text, origin).map_err(|e| Error::Invalid(e.to_string()))?;
    let unknown = s.unknown_names(&model.teams, &model.intents);
    if !unknown.is_empty() {
        return Err(Error::Invalid(format!(
            "{origin}: the history has no {}; teams: {}; intents: {}",
            unknown.join(", "),
            model.teams.join(", "),
            model.intents.join(", ")
        )));
    }
    let base = Scenario {
        replications: s.replications,
        seed: s.seed,
        days: s.days,
        ..Scenario::default()
    };
    Ok(WhatIf {
        baseline: flowgate_sim::simulate(model, &base, threads),
        scenario: flowgate_sim::simulate(model, &s, threads),
    })
}
