//! The 90-day pilot over a source in the store: where today falls in the plan, and pilot
//! vs baseline (raw and mix-adjusted, with intervals) in budget terms.

use flowgate_flow::demand::BucketRules;
use flowgate_value::pilot::{PilotPlan, Standing, Verdict};
use flowgate_value::{BudgetTerms, Compare, CompareInput, CompareOptions};
use serde::Serialize;

use crate::analytics::SourceLog;
use crate::{Error, Result};

/// The Pilot page's data.
#[derive(Clone, Debug, Serialize)]
pub struct PilotView {
    pub plan: PilotPlan,
    pub standing: Standing,
    /// `None` before day one, or while either period holds no case.
    pub compare: Option<Compare>,
    /// With the plan's budget.
    pub budget: Option<BudgetTerms>,
    /// Is it working: the three headline measures read from their intervals.
    pub verdict: Option<Verdict>,
    /// Why there is no comparison yet.
    pub waiting: Option<String>,
}

/// Where `today` falls in `plan`, and the comparison of the pilot so far with the baseline
/// (`resamples` bootstrap draws; segments per the plan's `by`, the intent read from
/// attribute `intent_col`).
pub fn view(
    l: &SourceLog,
    plan: &PilotPlan,
    today: jiff::civil::Date,
    intent_col: &str,
    resamples: usize,
) -> Result<PilotView> {
    let standing = plan.standing(today);
    let mut out = PilotView {
        plan: plan.clone(),
        standing,
        compare: None,
        budget: None,
        verdict: None,
        waiting: None,
    };
    let Some(pilot) = plan.pilot_period(today) else {
        out.waiting = Some(format!("the pilot starts on {}", plan.start));
        return Ok(out);
    };
    let seg = plan
        .by
        .as_deref()
        .map(|by| {
            flowgate_flow::segment::segments(
                &l.log,
                &l.records,
                by,
                intent_col,
                &BucketRules::default(),
            )
        })
        .transpose()
        .map_err(|e| Error::Invalid(format!("[pilot] by: {e}")))?;
    let sla = crate::analytics::sla_targets(l);
    let input = CompareInput {
        records: &l.records,
        segments: seg.as_ref().map(|s| (s.ids.as_slice(), s.names.as_slice())),
        sla_target_s: sla.as_deref(),
    };
    let opts = CompareOptions {
        baseline: plan.baseline_period(),
        pilot,
        resamples: resamples.max(1),
        seed: 1,
        by: plan.by.clone(),
        shortcuts: Default::default(),
    };
    let c = flowgate_value::compare(&input, &opts);
    if c.baseline_cases == 0 || c.pilot_cases == 0 {
        out.waiting = Some(format!(
            "no cases yet in the {} period ({} in the baseline, {} in the pilot)",
            if c.baseline_cases == 0 {
                "baseline"
            } else {
                "pilot"
            },
            c.baseline_cases,
            c.pilot_cases
        ));
        return Ok(out);
    }
    out.budget = plan
        .budget
        .as_ref()
        .map(|b| flowgate_value::budget_terms(&c, b, None));
    out.verdict = Some(flowgate_value::pilot::verdict(&c));
    out.compare = Some(c);
    Ok(out)
}
