//! Per-intent thresholds with a stated guarantee.
//!
//! **The promise.** For every intent, the probability that calibration gives it a threshold at
//! which its true precision is below the target is at most 5%. Each intent earns its threshold
//! from *its own* evidence: the one-sided 95% Clopper–Pearson lower bound of its precision at
//! the threshold must meet the target.
//!
//! **The search does not void it.** Looking for the lowest threshold that passes is a multiple
//! comparison. The scan is a fixed-sequence test: candidate thresholds are visited from the most
//! confident down, each tested at the full 5% level, and the scan stops at the first one that
//! fails; the threshold is the last that passed. The candidates (prefix sizes of the
//! confidence-sorted evidence: the fewest items that could pass at all, then 25% more each step,
//! ties kept together) depend only on the confidences, never on which predictions were right,
//! so given the confidences the sequence is fixed and the family-wise error stays at 5%
//! (a simulation in the tests checks it).

use serde::{Deserialize, Serialize};

use crate::interval::{clopper_pearson_lower_one_sided, inc_beta};

/// Error level of every bound: one-sided, 95% confidence.
pub const ALPHA: f64 = 0.05;

/// How a threshold's lower bound of precision is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The intent's own evidence alone, exact binomial (Clopper–Pearson) one-sided 95% bound.
    ClopperPearson,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::ClopperPearson => "clopper-pearson",
        }
    }

    /// One-sided 95% lower bound of precision for `k` right of `n`.
    pub fn lower(self, k: u64, n: u64) -> f64 {
        match self {
            Method::ClopperPearson => clopper_pearson_lower_one_sided(k, n, ALPHA),
        }
    }

    /// Whether the lower bound of `k` of `n` meets `target`, without computing it: the bound
    /// is the α quantile of Beta(k, n − k + 1), so it reaches `target` exactly when that
    /// distribution puts at most α below `target`.
    pub fn meets(self, k: u64, n: u64, target: f64) -> bool {
        match self {
            Method::ClopperPearson => {
                k > 0 && inc_beta(k as f64, (n - k + 1) as f64, target) <= ALPHA
            }
        }
    }

    /// Fewest all-correct items whose lower bound reaches `target`: α^(1/n) ≥ t ⇔
    /// n ≥ ln α / ln t (149 at 98%).
    pub fn items_needed(self, target: f64) -> u64 {
        match self {
            Method::ClopperPearson => (ALPHA.ln() / target.ln() - 1e-9).ceil().max(1.0) as u64,
        }
    }

    /// Further consecutive right decisions that would lift `k` of `n` to the target
    /// (`None` when no number would within a million).
    pub fn more_needed(self, k: u64, n: u64, target: f64) -> Option<u64> {
        if self.meets(k, n, target) {
            return Some(0);
        }
        // The bound grows with each right decision: double, then bisect.
        let mut hi = 1u64;
        while !self.meets(k + hi, n + hi, target) {
            hi *= 2;
            if hi > 1 << 20 {
                return None;
            }
        }
        let mut lo = hi / 2;
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if self.meets(k + mid, n + mid, target) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }
}

/// Where an intent's evidence came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// Out-of-fold or held-out predictions of labelled texts.
    HeldOut,
    /// Decisions in production judged by people.
    Production,
    Both,
}

/// One piece of evidence: an intent predicted at a confidence, right or not.
pub type Item = (String, f64, bool);

/// One prefix the scan tested.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Step {
    pub threshold: f64,
    pub n: u64,
    pub right: u64,
    pub lower_bound: f64,
    pub passed: bool,
}

/// The fixed sequence of prefix sizes for `sorted` (most confident first): the fewest items
/// that could meet `target`, then 25% more (at least one) each step, each cut extended to
/// the end of its tie, ending with everything. Depends on the confidences alone.
pub fn candidate_prefixes(sorted: &[(f64, bool)], target: f64, method: Method) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let mut want = method.items_needed(target) as usize;
    while want <= sorted.len() {
        let mut end = want;
        while end < sorted.len() && sorted[end].0 == sorted[end - 1].0 {
            end += 1;
        }
        if out.last().is_none_or(|&last| end > last) {
            out.push(end);
        }
        if end == sorted.len() {
            break;
        }
        want = (end + end / 4).max(end + 1).min(sorted.len());
    }
    out
}

/// The fixed-sequence scan: test each candidate prefix from the top, stop at the first
/// failure. Returns the steps tested (the last one failed unless every one passed).
pub fn scan(sorted: &[(f64, bool)], target: f64, method: Method) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut right = 0u64;
    let mut counted = 0usize;
    for end in candidate_prefixes(sorted, target, method) {
        right += sorted[counted..end].iter().filter(|s| s.1).count() as u64;
        counted = end;
        let passed = method.meets(right, end as u64, target);
        let lower_bound = method.lower(right, end as u64);
        steps.push(Step {
            threshold: sorted[end - 1].0,
            n: end as u64,
            right,
            lower_bound,
            passed,
        });
        if !passed {
            break;
        }
    }
    steps
}

/// One intent's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct IntentThreshold {
    pub intent: String,
    /// Items of evidence predicted as this intent.
    pub predicted: u64,
    /// `auto` when a threshold meets the target, else `assist`.
    pub mode: &'static str,
    /// Act at or above this confidence (`None` when the intent stays `assist`).
    pub threshold: Option<f64>,
    /// Items at or above the threshold (the scan's last passing prefix, or for a fixed
    /// threshold the items at or above it; every item when no threshold was earned), right
    /// among them, precision, and the lower bound where a threshold was tested.
    pub kept: u64,
    pub right: u64,
    pub precision: Option<f64>,
    pub lower_bound: Option<f64>,
    /// Share of this intent's predicted items the threshold keeps.
    pub coverage: f64,
    pub method: Method,
    pub evidence: Evidence,
    /// Whether the threshold was fixed (policy or admin) rather than searched.
    pub fixed: bool,
    /// Further right decisions in a row at the top confidence that would open the gate
    /// (0 when open; `None` when no number would).
    pub more_needed: Option<u64>,
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    pub target: f64,
    pub method: Method,
    /// `"one-sided 95%"`: the level and sidedness of every bound.
    pub level: &'static str,
    pub min_items: u64,
    pub intents: Vec<IntentThreshold>,
    /// Share of all evidence items that would be acted on.
    pub expected_coverage: f64,
    /// Precision among them (measured on the same evidence).
    pub expected_precision: Option<f64>,
}

pub const LEVEL: &str = "one-sided 95%";

/// The evidence of one intent, most confident first.
pub fn intent_evidence(items: &[Item], intent: &str) -> Vec<(f64, bool)> {
    let mut mine: Vec<(f64, bool)> = items
        .iter()
        .filter(|i| i.0 == intent)
        .map(|i| (i.1, i.2))
        .collect();
    mine.sort_by(|a, b| b.0.total_cmp(&a.0));
    mine
}

/// The threshold of one intent from its own evidence (sorted, most confident first):
/// searched by [`scan`], or `fixed` and then only checked against the same bound.
pub fn intent_threshold(
    intent: &str,
    sorted: &[(f64, bool)],
    target: f64,
    method: Method,
    min_items: u64,
    fixed: Option<f64>,
    evidence: Evidence,
) -> IntentThreshold {
    let n = sorted.len() as u64;
    let total_right = sorted.iter().filter(|s| s.1).count() as u64;
    let top_right = sorted.iter().take_while(|s| s.1).count() as u64;
    let assist = |why: String, kept: u64, right: u64, lb: Option<f64>| IntentThreshold {
        intent: intent.to_owned(),
        predicted: n,
        mode: "assist",
        threshold: None,
        kept,
        right,
        precision: (kept > 0).then(|| right as f64 / kept as f64),
        lower_bound: lb,
        coverage: 0.0,
        method,
        evidence,
        fixed: fixed.is_some(),
        more_needed: None,
        why,
    };
    let auto = |threshold: f64, kept: u64, right: u64, why: String| IntentThreshold {
        intent: intent.to_owned(),
        predicted: n,
        mode: "auto",
        threshold: Some(threshold),
        kept,
        right,
        precision: Some(right as f64 / kept as f64),
        lower_bound: Some(method.lower(right, kept)),
        coverage: kept as f64 / n.max(1) as f64,
        method,
        evidence,
        fixed: fixed.is_some(),
        more_needed: Some(0),
        why,
    };
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    if n < min_items {
        let mut t = assist(
            format!("only {n} predictions in evidence (need {min_items})"),
            n,
            total_right,
            None,
        );
        t.more_needed = method
            .more_needed(top_right, top_right, target)
            .map(|m| m.max(min_items - n));
        return t;
    }
    if let Some(th) = fixed {
        let kept = sorted.iter().take_while(|s| s.0 >= th).count() as u64;
        let right = sorted[..kept as usize].iter().filter(|s| s.1).count() as u64;
        let lb = method.lower(right, kept);
        if method.meets(right, kept, target) {
            return auto(
                th,
                kept,
                right,
                format!(
                    "fixed threshold {th:.3}: {right} of {kept} right, lower bound {} ≥ {}",
                    pct(lb),
                    pct(target)
                ),
            );
        }
        let mut t = assist(
            format!(
                "fixed threshold {th:.3} does not clear the bound: {right} of {kept} right, lower bound {} < {}",
                pct(lb),
                pct(target)
            ),
            kept,
            right,
            (kept > 0).then_some(lb),
        );
        t.more_needed = method.more_needed(right, kept, target);
        return t;
    }
    let steps = scan(sorted, target, method);
    match steps.iter().rev().find(|s| s.passed) {
        Some(s) => {
            let stopped = steps.last().filter(|l| !l.passed).map_or(
                String::from("every candidate passed"),
                |l| {
                    format!(
                        "the next candidate ({} of {} at ≥ {:.3}) fell to {}",
                        l.right,
                        l.n,
                        l.threshold,
                        pct(l.lower_bound)
                    )
                },
            );
            auto(
                s.threshold,
                s.n,
                s.right,
                format!(
                    "{} of {} right at confidence ≥ {:.3}; lower bound {} ≥ {}; {stopped}",
                    s.right,
                    s.n,
                    s.threshold,
                    pct(s.lower_bound),
                    pct(target)
                ),
            )
        }
        None => {
            let why = match steps.first() {
                None => format!(
                    "{n} predictions; at {} even all right needs {} ({LEVEL} bound)",
                    pct(target),
                    method.items_needed(target)
                ),
                Some(f) => format!(
                    "the most confident {} hold {} right: lower bound {} < {}",
                    f.n,
                    f.right,
                    pct(f.lower_bound),
                    pct(target)
                ),
            };
            let mut t = assist(why, n, total_right, None);
            t.more_needed = method.more_needed(top_right, top_right, target);
            t
        }
    }
}

/// `items`: per piece of evidence, (predicted intent, confidence, whether the prediction was
/// right). Intents with fewer than `min_items` predictions stay `assist`.
pub fn calibrate(items: &[Item], target: f64, method: Method, min_items: u64) -> Calibration {
    let mut names: Vec<&str> = items.iter().map(|i| i.0.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let intents: Vec<IntentThreshold> = names
        .into_iter()
        .map(|name| {
            let mine = intent_evidence(items, name);
            intent_threshold(
                name,
                &mine,
                target,
                method,
                min_items,
                None,
                Evidence::HeldOut,
            )
        })
        .collect();
    summarise(target, method, min_items, intents, items.len())
}

/// Totals over intents already calibrated.
pub fn summarise(
    target: f64,
    method: Method,
    min_items: u64,
    intents: Vec<IntentThreshold>,
    items: usize,
) -> Calibration {
    let (acted, right) = intents
        .iter()
        .filter(|t| t.mode == "auto")
        .fold((0, 0), |(a, r), t| (a + t.kept, r + t.right));
    Calibration {
        target,
        method,
        level: LEVEL,
        min_items,
        intents,
        expected_coverage: acted as f64 / items.max(1) as f64,
        expected_precision: (acted > 0).then(|| right as f64 / acted as f64),
    }
}
