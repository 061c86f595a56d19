//! The 90-day pilot over a source in the store: where today falls in the plan, and pilot
//! vs baseline (raw and mix-adjusted, with intervals) in budget terms.

use flowgate_flow::demand::BucketRules;
use flowgate_value::pilot::{PilotPlan, Standing, Verdict};
use flowgate_value::{BudgetTerms, Compare, CompareInput, CompareOptions, Period};
use serde::Serialize;

use crate::analytics::SourceLog;
use crate::{Error, Result};

/// The Pilot page's data.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
/// attribute `intent_col`, demand buckets by the settings' `buckets`).
pub fn view(
    l: &SourceLog,
    plan: &PilotPlan,
    today: jiff::civil::Date,
    intent_col: &str,
    buckets: &BucketRules,
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
    let c = compare(
        l,
        &Periods {
            baseline: plan.baseline_period(),
            pilot,
            by: plan.by.as_deref(),
            intent_col,
            buckets,
            resamples,
            seed: 1,
        },
    )?;
    if let Some(why) = empty_period(&c) {
        out.waiting = Some(why);
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

/// Two periods of a source to compare, and how (`flowgate compare`, the Pilot page).
pub struct Periods<'a> {
    pub baseline: Period,
    pub pilot: Period,
    /// Segments for the mix adjustment: an attribute, `intent` or `bucket`.
    pub by: Option<&'a str>,
    /// The attribute holding each case's intent.
    pub intent_col: &'a str,
    /// The settings' demand buckets (for `by = "bucket"`).
    pub buckets: &'a BucketRules,
    /// Bootstrap draws, and their seed.
    pub resamples: usize,
    pub seed: u64,
}

/// Pilot against baseline over `l`: raw and mix-adjusted differences with intervals.
pub fn compare(l: &SourceLog, p: &Periods<'_>) -> Result<Compare> {
    let seg = p
        .by
        .map(|by| flowgate_flow::segment::segments(&l.log, &l.records, by, p.intent_col, p.buckets))
        .transpose()
        .map_err(|e| Error::Invalid(format!("by: {e}")))?;
    let sla = crate::analytics::sla_targets(l);
    let input = CompareInput {
        records: &l.records,
        segments: seg.as_ref().map(|s| (s.ids.as_slice(), s.names.as_slice())),
        sla_target_s: sla.as_deref(),
    };
    let opts = CompareOptions {
        baseline: p.baseline,
        pilot: p.pilot,
        resamples: p.resamples.max(1),
        seed: p.seed,
        by: p.by.map(str::to_owned),
        shortcuts: Default::default(),
    };
    Ok(flowgate_value::compare(&input, &opts))
}

/// Which period holds no case, when one does: nothing can be compared yet.
pub fn empty_period(c: &Compare) -> Option<String> {
    (c.baseline_cases == 0 || c.pilot_cases == 0).then(|| {
        format!(
            "no cases in the {} period ({} in the baseline, {} in the pilot)",
            if c.baseline_cases == 0 {
                "baseline"
            } else {
                "pilot"
            },
            c.baseline_cases,
            c.pilot_cases
        )
    })
}
