//! Budget terms: a comparison restated as what an executive budgets for.
//!
//! Inputs come from a small TOML file:
//!
//! ```toml
//! currency = "EUR"
//! loaded_cost_per_agent_hour = 38.0
//! tickets_per_month = 12000
//! revenue_per_customer = 1200.0   # a year; valued with customer outcomes (optional)
//! churn_rate = 0.015              # a month, for context (optional)
//! ```
//!
//! Every term carries the interval of the measure it comes from, scaled the same way (the
//! scaling is linear, so the bootstrap interval maps through exactly).

use serde::{Deserialize, Serialize};

use crate::compare::Compare;

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Budget {
    #[serde(default = "default_currency")]
    pub currency: String,
    pub loaded_cost_per_agent_hour: f64,
    pub tickets_per_month: f64,
    #[serde(default)]
    pub revenue_per_customer: Option<f64>,
    #[serde(default)]
    pub churn_rate: Option<f64>,
}

fn default_currency() -> String {
    "USD".to_owned()
}

impl Budget {
    /// Parses and checks the TOML; `path` names the file in errors (with line and column).
    pub fn parse(text: &str, path: &str) -> Result<Budget, BudgetError> {
        let invalid = |message: String| BudgetError::Invalid {
            path: path.to_owned(),
            message,
        };
        let b: Budget = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            invalid(format!("{at}{}", e.message()))
        })?;
        b.check(path)?;
        Ok(b)
    }

    /// The figures make sense: costs and volumes ≥ 0, churn a share.
    pub fn check(&self, path: &str) -> Result<(), BudgetError> {
        let b = self;
        let invalid = |message: String| BudgetError::Invalid {
            path: path.to_owned(),
            message,
        };
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(invalid(format!("{name}: expected a number ≥ 0, found {v}")))
            }
        };
        positive("loaded_cost_per_agent_hour", b.loaded_cost_per_agent_hour)?;
        positive("tickets_per_month", b.tickets_per_month)?;
        if let Some(r) = b.revenue_per_customer {
            positive("revenue_per_customer", r)?;
        }
        if let Some(c) = b.churn_rate
            && !(0.0..=1.0).contains(&c)
        {
            return Err(invalid(format!(
                "churn_rate: expected a share between 0 and 1, found {c}"
            )));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Term {
    pub name: &'static str,
    pub unit: &'static str,
    /// Positive = the pilot is better.
    pub value: Option<f64>,
    pub ci95: Option<(f64, f64)>,
    /// Money a month, where the term has a price.
    pub money: Option<f64>,
    pub money_ci95: Option<(f64, f64)>,
    pub how: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetTerms {
    pub currency: String,
    pub inputs: Budget,
    pub terms: Vec<Term>,
    /// Agent time freed, in money a month.
    pub money_per_month: Option<f64>,
    pub notes: Vec<String>,
}

/// Maps a difference (pilot − baseline) and its interval through `x ↦ k · x`.
fn scaled(v: Option<f64>, ci: Option<(f64, f64)>, k: f64) -> (Option<f64>, Option<(f64, f64)>) {
    let ci = ci.map(|(lo, hi)| {
        let (a, b) = (lo * k, hi * k);
        (a.min(b), a.max(b))
    });
    (v.map(|x| x * k), ci)
}

/// The comparison in budget terms. `churn`, from [`crate::outcomes::churn_shift`], is the
/// change in churn per case the pilot's cycle-time mix implies, with its interval.
pub fn budget_terms(c: &Compare, b: &Budget, churn: Option<(f64, (f64, f64))>) -> BudgetTerms {
    let mut terms = Vec::new();
    // Like with like: where the comparison is mix-adjusted, the adjusted difference.
    let adjusted: Vec<crate::compare::Measure> = c
        .measures
        .iter()
        .map(|x| {
            let mut x = x.clone();
            if let Some(a) = &x.adjusted {
                x.difference = a.difference;
                x.ci95 = a.ci95;
            }
            x
        })
        .collect();
    let m = |name: &str| adjusted.iter().find(|x| x.name == name);
    let cost = b.loaded_cost_per_agent_hour;
    let tpm = b.tickets_per_month;
    let mut notes = Vec::new();
    if let Some(t) = m("touch_time_mean") {
        // Seconds saved per ticket → hours a month.
        let (v, ci) = scaled(t.difference, t.ci95, -tpm / 3600.0);
        let (money, money_ci) = scaled(v, ci, cost);
        terms.push(Term {
            name: "agent_hours_freed",
            unit: "hours a month",
            value: v,
            ci95: ci,
            money,
            money_ci95: money_ci,
            how: format!(
                "touch time saved per ticket × {tpm:.0} tickets a month, at {cost} {} an hour",
                b.currency
            ),
        });
    }
    let mut add = |name, unit, measure: &str, k: f64, how: String| {
        if let Some(x) = m(measure) {
            let (v, ci) = scaled(x.difference, x.ci95, k);
            terms.push(Term {
                name,
                unit,
                value: v,
                ci95: ci,
                money: None,
                money_ci95: None,
                how,
            });
        }
    };
    add(
        "backlog_days_reduced",
        "days",
        "backlog_days",
        -1.0,
        "mean WIP / mean daily throughput, baseline − pilot".into(),
    );
    add(
        "faster_closure",
        "days per ticket",
        "cycle_time_mean",
        -1.0 / 86_400.0,
        "mean cycle time, baseline − pilot".into(),
    );
    add(
        "faster_closure_p50",
        "days per ticket",
        "cycle_time_p50",
        -1.0 / 86_400.0,
        "median cycle time, baseline − pilot".into(),
    );
    add(
        "fewer_reworked_tickets",
        "tickets a month",
        "rework_rate",
        -tpm,
        format!(
            "rework rate reduction × {tpm:.0} tickets a month (their agent time is already in the hours freed)"
        ),
    );
    add(
        "sla_points_gained",
        "points",
        "sla_adherence",
        100.0,
        "resolution SLA adherence, pilot − baseline, in percentage points".into(),
    );
    if c.measures.iter().any(|x| x.adjusted.is_some()) {
        notes.push(format!(
            "differences are mix-adjusted (the pilot re-weighted to the baseline's mix of {})",
            c.by.as_deref().unwrap_or("segments")
        ));
    }
    match (churn, b.revenue_per_customer) {
        (Some((d, (lo, hi))), Some(rev)) => {
            // Customers kept a month: fewer churning per ticket × tickets a month.
            let (v, ci) = scaled(Some(d), Some((lo, hi)), -tpm);
            let (money, money_ci) = scaled(v, ci, rev);
            terms.push(Term {
                name: "customers_kept",
                unit: "customers a month",
                value: v,
                ci95: ci,
                money,
                money_ci95: money_ci,
                how: format!(
                    "churn by cycle-time band (customer outcomes) applied to the pilot's cycle-time mix × {tpm:.0} tickets a month; money = a year's revenue of those customers at {rev} {} each; an association, not a measured effect",
                    b.currency
                ),
            });
        }
        (None, Some(_)) => notes.push(
            "revenue_per_customer is valued only with a customer outcomes file (compare --outcomes: churn by cycle-time band); without it no revenue figure is claimed"
                .to_owned(),
        ),
        _ => {}
    }
    if let Some(rate) = b.churn_rate {
        notes.push(format!(
            "churn_rate {:.1}% a month is shown for context; the churn difference comes from the outcomes file",
            rate * 100.0
        ));
    }
    // Money a month is agent time; revenue kept is a year's revenue of the customers kept
    // each month, shown on its own line and not added in.
    let money_per_month = terms
        .iter()
        .find(|t| t.name == "agent_hours_freed")
        .and_then(|t| t.money);
    BudgetTerms {
        currency: b.currency.clone(),
        inputs: b.clone(),
        terms,
        money_per_month,
        notes,
    }
}

/// Budget terms of a simulated scenario against its baseline. Both ran on the same seeds, so
/// each replication's difference pairs up; the interval is the 2.5–97.5% range of those
/// paired differences (with few replications, close to their minimum and maximum).
pub fn simulated_terms(
    b: &Budget,
    baseline: &flowgate_sim::SimResult,
    scenario: &flowgate_sim::SimResult,
) -> BudgetTerms {
    let pairs: Vec<(
        &flowgate_sim::des::RepFigures,
        &flowgate_sim::des::RepFigures,
    )> = baseline
        .per_replication
        .iter()
        .zip(&scenario.per_replication)
        .collect();
    let diff = |f: &dyn Fn(&flowgate_sim::des::RepFigures) -> Option<f64>| {
        let mut d: Vec<f64> = pairs
            .iter()
            .filter_map(|(a, s)| Some(f(s)? - f(a)?))
            .collect();
        let mean = (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64);
        (mean, crate::boot::percentile_interval(&mut d))
    };
    let cost = b.loaded_cost_per_agent_hour;
    let month = 365.25 / 12.0;
    let mut terms = Vec::new();
    let (d, ci) = diff(&|r| Some(r.work_hours_per_day));
    let (v, ci) = scaled(d, ci, -month);
    let (money, money_ci) = scaled(v, ci, cost);
    terms.push(Term {
        name: "agent_hours_freed",
        unit: "hours a month",
        value: v,
        ci95: ci,
        money,
        money_ci95: money_ci,
        how: format!(
            "simulated agent (work-step) hours a day, baseline − scenario, × {month:.1} days, at {cost} {} an hour",
            b.currency
        ),
    });
    for (name, unit, k, f, how) in [
        (
            "faster_closure",
            "days per ticket",
            -1.0 / 86_400.0,
            (&|r: &flowgate_sim::des::RepFigures| r.cycle_time_mean_s)
                as &dyn Fn(&flowgate_sim::des::RepFigures) -> Option<f64>,
            "simulated mean cycle time, baseline − scenario",
        ),
        (
            "faster_closure_p50",
            "days per ticket",
            -1.0 / 86_400.0,
            &|r: &flowgate_sim::des::RepFigures| r.cycle_time_p50_s,
            "simulated median cycle time, baseline − scenario",
        ),
        (
            "sla_points_gained",
            "points",
            100.0,
            &|r: &flowgate_sim::des::RepFigures| r.sla_adherence,
            "simulated resolution SLA adherence, scenario − baseline",
        ),
        (
            "backlog_reduced",
            "cases",
            -1.0,
            &|r: &flowgate_sim::des::RepFigures| Some(r.backlog_end),
            "open cases at the end of the horizon, baseline − scenario",
        ),
    ] {
        let (d, ci) = diff(f);
        if d.is_none() {
            continue;
        }
        let (v, ci) = scaled(d, ci, k);
        terms.push(Term {
            name,
            unit,
            value: v,
            ci95: ci,
            money: None,
            money_ci95: None,
            how: how.to_owned(),
        });
    }
    let money_per_month = terms[0].money;
    BudgetTerms {
        currency: b.currency.clone(),
        inputs: b.clone(),
        terms,
        money_per_month,
        notes: vec![format!(
            "simulated: {} paired replications; intervals are the range of their differences",
            pairs.len()
        )],
    }
}
