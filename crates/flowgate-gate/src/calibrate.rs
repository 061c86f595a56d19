//! Per-intent thresholds: the lowest confidence at which the lower 95% bound of held-out
//! precision still meets the target.

use serde::Serialize;

use crate::interval::{Z95, clopper_pearson_lower, wilson_lower};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    Wilson,
    ClopperPearson,
}

impl Bound {
    /// Fewest all-correct items whose lower bound reaches `target`.
    pub fn items_needed(self, target: f64) -> u64 {
        match self {
            // 1 / (1 + z²/n) ≥ t  ⇔  n ≥ z² t / (1 − t)
            Bound::Wilson => (Z95 * Z95 * target / (1.0 - target)).ceil() as u64,
            // (α/2)^(1/n) ≥ t  ⇔  n ≥ ln(α/2) / ln t
            Bound::ClopperPearson => (0.025f64.ln() / target.ln()).ceil() as u64,
        }
    }

    /// Lower end of the two-sided 95% interval of `k` of `n`.
    pub fn lower(self, k: u64, n: u64) -> f64 {
        match self {
            Bound::Wilson => wilson_lower(k, n, Z95),
            Bound::ClopperPearson => clopper_pearson_lower(k, n, 0.05),
        }
    }

    /// Upper end of the two-sided 95% interval of `k` of `n`.
    pub fn upper(self, k: u64, n: u64) -> f64 {
        if n == 0 {
            return 1.0;
        }
        1.0 - self.lower(n - k, n)
    }
}

/// The longest prefix of `sorted` (most confident first) whose lower bound meets `target`,
/// as (items kept, items right); a prefix ends only where the confidence changes, so ties
/// are kept together.
fn longest_prefix(sorted: &[(f64, bool)], target: f64, bound: Bound) -> Option<(usize, u64)> {
    let mut best = None;
    let mut right = 0u64;
    for (k, &(c, ok)) in sorted.iter().enumerate() {
        right += ok as u64;
        let at_boundary = sorted.get(k + 1).is_none_or(|next| next.0 < c);
        if at_boundary && bound.lower(right, k as u64 + 1) >= target {
            best = Some((k + 1, right));
        }
    }
    best
}

/// One intent's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct IntentThreshold {
    pub intent: String,
    /// Held-out items predicted as this intent.
    pub predicted: u64,
    /// `auto` when a threshold meets the target, else `assist`.
    pub mode: &'static str,
    /// Act at or above this confidence (`None` when the intent stays `assist`).
    pub threshold: Option<f64>,
    /// Items at or above the threshold, their precision and its lower bound.
    pub kept: u64,
    pub precision: Option<f64>,
    pub lower_bound: Option<f64>,
    /// Share of this intent's predicted items the threshold keeps.
    pub coverage: f64,
    /// The threshold is the pooled one (the intent's own data was too little to vouch for
    /// a threshold of its own, and does not contradict the pooled one).
    pub pooled: bool,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    pub target: f64,
    pub bound: Bound,
    pub min_items: u64,
    pub intents: Vec<IntentThreshold>,
    /// Share of all held-out items that would be acted on.
    pub expected_coverage: f64,
    /// Precision among them (measured on the same held-out data).
    pub expected_precision: Option<f64>,
    /// The threshold over all intents together, when pooling was asked for and one exists.
    pub pooled_threshold: Option<f64>,
}

/// `items`: per held-out text, (predicted intent, confidence, whether the prediction was
/// right). Intents with fewer than `min_items` predictions stay `assist`.
pub fn calibrate(
    items: &[(String, f64, bool)],
    target: f64,
    bound: Bound,
    min_items: u64,
) -> Calibration {
    calibrate_with(items, target, bound, min_items, false)
}

/// Like [`calibrate`]; with `pool`, an intent whose own predictions are too few for the
/// bound to vouch for any threshold (at 98% Wilson that takes 189 held-out predictions with
/// none wrong) borrows the threshold computed over all intents together, unless its own
/// predictions at or above that threshold are worse than the target even at the upper end
/// of their interval. Intents under `min_items` still stay `assist`.
pub fn calibrate_with(
    items: &[(String, f64, bool)],
    target: f64,
    bound: Bound,
    min_items: u64,
    pool: bool,
) -> Calibration {
    let pooled_threshold = if pool {
        let mut all: Vec<(f64, bool)> = items.iter().map(|i| (i.1, i.2)).collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0));
        longest_prefix(&all, target, bound).map(|(kept, _)| all[kept - 1].0)
    } else {
        None
    };
    let mut names: Vec<&str> = items.iter().map(|i| i.0.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut intents = Vec::new();
    let (mut acted, mut acted_right) = (0u64, 0u64);
    for name in names {
        let mut mine: Vec<(f64, bool)> = items
            .iter()
            .filter(|i| i.0 == name)
            .map(|i| (i.1, i.2))
            .collect();
        mine.sort_by(|a, b| b.0.total_cmp(&a.0));
        let n = mine.len() as u64;
        let best = longest_prefix(&mine, target, bound);
        let assist = |why: String| IntentThreshold {
            intent: name.to_owned(),
            predicted: n,
            mode: "assist",
            threshold: None,
            kept: 0,
            precision: None,
            lower_bound: None,
            coverage: 0.0,
            pooled: false,
            why,
        };
        let auto =
            |threshold: f64, kept: usize, right: u64, pooled: bool, why: String| IntentThreshold {
                intent: name.to_owned(),
                predicted: n,
                mode: "auto",
                threshold: Some(threshold),
                kept: kept as u64,
                precision: (kept > 0).then(|| right as f64 / kept as f64),
                lower_bound: Some(bound.lower(right, kept as u64)),
                coverage: kept as f64 / n.max(1) as f64,
                pooled,
                why,
            };
        let t = match (best, pooled_threshold) {
            _ if n < min_items => {
                assist(format!("only {n} held-out predictions (need {min_items})"))
            }
            (Some((kept, right)), _) => {
                let lb = bound.lower(right, kept as u64);
                auto(
                    mine[kept - 1].0,
                    kept,
                    right,
                    false,
                    format!(
                        "{right} of {kept} right at confidence ≥ {:.3}; lower bound {:.1}% ≥ {:.1}%",
                        mine[kept - 1].0,
                        lb * 100.0,
                        target * 100.0
                    ),
                )
            }
            (None, Some(tp)) => {
                let kept = mine.iter().take_while(|m| m.0 >= tp).count();
                let right = mine[..kept].iter().filter(|m| m.1).count() as u64;
                let upper = bound.upper(right, kept as u64);
                if kept > 0 && upper < target {
                    assist(format!(
                        "its own predictions contradict the pooled threshold {tp:.3}: {right} of {kept} right, upper bound {:.1}% < {:.1}%",
                        upper * 100.0,
                        target * 100.0
                    ))
                } else {
                    auto(
                        tp,
                        kept,
                        right,
                        true,
                        format!(
                            "pooled threshold {tp:.3} (too few predictions of its own to vouch for one); its own: {right} of {kept} right, upper bound {:.1}%",
                            upper * 100.0
                        ),
                    )
                }
            }
            (None, None) => assist(format!(
                "no confidence level where the lower bound of precision reaches {:.1}% (even with none wrong that takes {} held-out predictions)",
                target * 100.0,
                bound.items_needed(target)
            )),
        };
        acted += t.kept;
        acted_right += t
            .precision
            .map_or(0, |p| (p * t.kept as f64).round() as u64);
        intents.push(t);
    }
    Calibration {
        target,
        bound,
        min_items,
        intents,
        expected_coverage: acted as f64 / items.len().max(1) as f64,
        expected_precision: (acted > 0).then(|| acted_right as f64 / acted as f64),
        pooled_threshold,
    }
}
