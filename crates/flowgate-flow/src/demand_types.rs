//! Demand joined to flow, as data: the figures [`crate::demand::demand`] computes and a
//! [`crate::Baseline`] carries (`Baseline::demand`), and the bucket rules' thresholds.
//!
//! They live apart from the computation so that `metrics` (whose `Baseline` holds a
//! [`Demand`]) and `demand` (which measures each intent's cases with `baseline()`) do not
//! import each other. `flowgate_flow::demand` re-exports every item.

use serde::{Deserialize, Serialize};

use crate::stats::Summary;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Repetitive,
    Judgment,
    Ambiguous,
}

impl Bucket {
    pub const ALL: [Bucket; 3] = [Bucket::Repetitive, Bucket::Judgment, Bucket::Ambiguous];

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Repetitive => "repetitive",
            Bucket::Judgment => "judgment",
            Bucket::Ambiguous => "ambiguous",
        }
    }
}

/// Thresholds of the bucket rules (all configurable, `[demand]` in flowgate.toml).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct BucketRules {
    /// Below this share of tickets an intent is too small to automate.
    pub min_share: f64,
    /// Below this many tickets likewise.
    pub min_tickets: u64,
    /// Cycle-time p85/p50 above this: the work varies too much.
    pub max_cycle_spread: f64,
    /// Touch-time p85/p50 above this: the effort varies too much.
    pub max_touch_spread: f64,
    /// Handoffs per ticket above this.
    pub max_handoffs: f64,
    /// Reopened share of resolved tickets above this.
    pub max_reopen: f64,
    /// Escalated share of tickets above this.
    pub max_escalation: f64,
    /// Share of an intent's tickets classified without confidence (or out of scope) above
    /// this: the intent itself is unclear.
    pub max_unclear: f64,
    /// Mean text similarity to the intent's centre below this (when known): the texts say
    /// different things.
    pub min_cohesion: f64,
}

impl Default for BucketRules {
    fn default() -> Self {
        Self {
            min_share: 0.02,
            min_tickets: 30,
            max_cycle_spread: 4.0,
            max_touch_spread: 2.5,
            max_handoffs: 0.5,
            max_reopen: 0.10,
            max_escalation: 0.10,
            max_unclear: 0.25,
            min_cohesion: 0.35,
        }
    }
}

/// Flow metrics of a set of tickets.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowFigures {
    pub tickets: u64,
    pub share: f64,
    pub resolved: u64,
    pub cycle_time_s: Summary,
    /// Cycle-time p85 / p50.
    pub cycle_spread: Option<f64>,
    pub touch_time_s: Summary,
    /// Touch-time p85 / p50.
    pub touch_spread: Option<f64>,
    pub handoffs_per_ticket: f64,
    pub reopen_rate: Option<f64>,
    pub escalation_rate: Option<f64>,
    pub first_pass_rate: Option<f64>,
    /// Sum of cycle times of the resolved tickets: the time this work holds.
    pub cycle_time_total_s: f64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntentFlow {
    pub intent: String,
    pub bucket: Bucket,
    /// The rule outcome in words, with its numbers.
    pub explanation: String,
    #[serde(flatten)]
    pub flow: FlowFigures,
    /// Share of this intent's tickets classified without confidence.
    pub unclear_share: f64,
    pub cohesion: Option<f64>,
    pub kb_covered: Option<bool>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BucketFlow {
    pub bucket: Bucket,
    pub intents: u64,
    #[serde(flatten)]
    pub flow: FlowFigures,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    pub intent: String,
    pub tickets: u64,
    /// First-pass share × confidently classified share.
    pub repetitiveness: f64,
    /// tickets × repetitiveness.
    pub score: f64,
    pub cycle_time_p50_s: Option<f64>,
    pub cycle_time_total_s: f64,
    /// Share of all resolved tickets' cycle time.
    pub cycle_time_share: f64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Demand {
    pub rules: BucketRules,
    /// Cases of the log that carry an intent.
    pub tickets: u64,
    /// Cases of the log without a matching ticket.
    pub cases_without_ticket: u64,
    pub buckets: Vec<BucketFlow>,
    pub intents: Vec<IntentFlow>,
    pub candidates: Vec<Candidate>,
}
