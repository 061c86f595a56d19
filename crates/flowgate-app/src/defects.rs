//! The weekly defect review: the week's reviewed act decisions, reviewed precision overall
//! and per intent (each review weighted by the inverse of its sampling rate) with its
//! interval, sticky resolution when known, the recommended threshold changes, and defects by
//! intent and failure mode — as data, and as the Markdown page `flowgate defects` prints.

use std::collections::BTreeMap;

use flowgate_gate::Policy;
use flowgate_gate::interval::{weighted_share, wilson_interval};
use flowgate_store::Store;
use flowgate_store::review::QueueItem;
use serde::Serialize;

use crate::Result;

/// A share with its 95% interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Precision {
    pub share: f64,
    pub ci95: (f64, f64),
    /// Kish's effective sample size of the weighted reviews.
    pub n_eff: f64,
}

/// Reviewed precision of one intent.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntentReview {
    pub intent: String,
    pub reviewed: usize,
    pub correct: usize,
    pub precision: Precision,
    pub target: f64,
    /// `keep`, `watch: …`, `retune: …` (with the threshold to clear), or `keep (too few …)`.
    pub recommendation: String,
    /// The most confident defect's confidence: a retuned threshold must clear it.
    pub worst_defect_confidence: Option<f64>,
    /// With `retune`: the threshold to apply — the least confidence shown to three decimals
    /// above the most confident defect (`None` when no threshold below 1 clears it).
    pub suggested_threshold: Option<f64>,
}

/// Sticky resolution of one intent (from `flowgate sticky`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StickyReview {
    pub intent: String,
    pub assessed: usize,
    pub sticky: usize,
    pub rate: f64,
    pub ci95: (f64, f64),
    pub target: f64,
    pub recommendation: String,
}

/// Defects of one intent in one failure mode (the reviewer's category).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailureMode {
    pub intent: String,
    pub mode: String,
    pub defects: usize,
}

/// The weekly defect review as data.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DefectReview {
    /// The ISO week (`2026-W48`).
    pub week: String,
    /// Act decisions of the week sampled for review.
    pub sampled: usize,
    pub reviewed: usize,
    pub pending: usize,
    pub correct: usize,
    pub defects: usize,
    /// Over every review of the week, weighted; `None` when nothing was reviewed.
    pub precision: Option<Precision>,
    pub intents: Vec<IntentReview>,
    pub sticky: Option<Vec<StickyReview>>,
    pub failure_modes: Vec<FailureMode>,
}

/// The review of `items` (the week's sampled act decisions, reviewed or not), under
/// `policy`'s targets and sampling rates (98% and 5% without one), with sticky resolution
/// per intent (acts assessed, sticky) when given.
pub fn review(
    week: &str,
    items: &[&QueueItem],
    policy: Option<&Policy>,
    sticky: Option<&BTreeMap<String, (usize, usize)>>,
) -> DefectReview {
    let reviewed: Vec<&QueueItem> = items
        .iter()
        .copied()
        .filter(|i| i.verdict.is_some())
        .collect();
    let defects: Vec<&QueueItem> = reviewed
        .iter()
        .copied()
        .filter(|i| i.verdict.as_deref() == Some("defect"))
        .collect();
    // Each review stands for 1 / (its sampling rate) decisions: bands sampled more often
    // (low confidence) must not weigh more than the decisions they stand for.
    let rate = |i: &QueueItem| policy.map_or(0.05, |p| p.sample_rate(&i.intent, i.confidence));
    let weighted = |list: &[&QueueItem]| {
        let w: Vec<(f64, bool)> = list
            .iter()
            .map(|i| (rate(i), i.verdict.as_deref() == Some("correct")))
            .collect();
        weighted_share(&w).map(|w| Precision {
            share: w.share,
            ci95: w.ci95,
            n_eff: w.n_eff,
        })
    };
    let target = |intent: &str| policy.map_or(0.98, |p| p.intent(intent).target_precision);
    let mut per: BTreeMap<&str, Vec<&QueueItem>> = BTreeMap::new();
    for i in &reviewed {
        per.entry(i.intent.as_str()).or_default().push(i);
    }
    let intents = per
        .iter()
        .filter_map(|(intent, list)| {
            let n = list.len();
            let k = list
                .iter()
                .filter(|i| i.verdict.as_deref() == Some("correct"))
                .count();
            let w = weighted(list)?;
            let (lo, hi) = w.ci95;
            let target = target(intent);
            let worst = list
                .iter()
                .filter(|i| i.verdict.as_deref() == Some("defect"))
                .map(|i| i.confidence)
                .fold(None, |m: Option<f64>, c| Some(m.map_or(c, |m| m.max(c))));
            let recommendation = if hi < target {
                format!(
                    "retune: raise the threshold above {:.3} (the most confident defect), or switch to assist",
                    worst.unwrap_or(f64::NEG_INFINITY)
                )
            } else if lo >= target {
                "keep".to_owned()
            } else if k < n {
                format!("watch: {} defect(s); too few reviews to tell", n - k)
            } else {
                "keep (too few reviews to confirm)".to_owned()
            };
            let suggested_threshold = (hi < target)
                .then_some(worst)
                .flatten()
                .map(|c| ((c * 1000.0).floor() + 1.0) / 1000.0)
                .filter(|t| *t < 1.0);
            Some(IntentReview {
                intent: (*intent).to_owned(),
                reviewed: n,
                correct: k,
                precision: w,
                target,
                recommendation,
                worst_defect_confidence: worst,
                suggested_threshold,
            })
        })
        .collect();
    let sticky = sticky.map(|st| {
        st.iter()
            .filter(|(_, (n, _))| *n > 0)
            .map(|(intent, &(n, k))| {
                let (lo, hi) = wilson_interval(k as u64, n as u64).unwrap_or((0.0, 1.0));
                let target = target(intent);
                let recommendation = if hi < target {
                    "retune: answers do not stay answered; raise the threshold or switch to assist"
                } else if lo >= target {
                    "keep"
                } else {
                    "watch"
                };
                StickyReview {
                    intent: intent.clone(),
                    assessed: n,
                    sticky: k,
                    rate: k as f64 / n as f64,
                    ci95: (lo, hi),
                    target,
                    recommendation: recommendation.to_owned(),
                }
            })
            .collect()
    });
    let mut modes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for d in &defects {
        *modes
            .entry((
                d.intent.as_str(),
                d.category.as_deref().unwrap_or("uncategorised"),
            ))
            .or_default() += 1;
    }
    DefectReview {
        week: week.to_owned(),
        sampled: items.len(),
        reviewed: reviewed.len(),
        pending: items.len() - reviewed.len(),
        correct: reviewed.len() - defects.len(),
        defects: defects.len(),
        precision: weighted(&reviewed),
        intents,
        sticky,
        failure_modes: modes
            .into_iter()
            .map(|((i, m), c)| FailureMode {
                intent: i.to_owned(),
                mode: m.to_owned(),
                defects: c,
            })
            .collect(),
    }
}

/// The week `[from, to)`'s review from the store's queue (act decisions; shadow reviews are
/// evidence for thresholds, not defects).
pub async fn weekly(
    store: &Store,
    week: &str,
    from_ms: i64,
    to_ms: i64,
    policy: Option<&Policy>,
    sticky: Option<&BTreeMap<String, (usize, usize)>>,
) -> Result<DefectReview> {
    let items = store.review_items().await?;
    let week_items: Vec<&QueueItem> = items
        .iter()
        .filter(|i| !i.shadow && i.decided_at_ms >= from_ms && i.decided_at_ms < to_ms)
        .collect();
    Ok(review(week, &week_items, policy, sticky))
}

/// The review as the Markdown page `flowgate defects` prints.
pub fn markdown(r: &DefectReview) -> String {
    let mut s = format!("# Weekly defect review, {}\n\n", r.week);
    s.push_str(&format!(
        "{} act decisions of this week were sampled for review; {} reviewed, {} pending. ",
        r.sampled, r.reviewed, r.pending
    ));
    if let Some(w) = &r.precision {
        s.push_str(&format!(
            "Reviewed precision {:.1}% (95% CI {:.1}–{:.1}%; each review weighted by the inverse of its sampling rate, effective n {:.1}; unweighted {} of {} correct), {} defects.\n\n",
            w.share * 100.0,
            w.ci95.0 * 100.0,
            w.ci95.1 * 100.0,
            w.n_eff,
            r.correct,
            r.reviewed,
            r.defects
        ));
    } else {
        s.push_str("Nothing reviewed yet.\n\n");
    }
    s.push_str("## Reviewed precision by intent\n\nPrecision and interval weigh each review by the inverse of its sampling rate.\n\n| intent | reviewed | correct | precision | 95% CI | target | recommendation |\n|---|---:|---:|---:|---|---:|---|\n");
    for i in &r.intents {
        s.push_str(&format!(
            "| {} | {} | {} | {:.1}% | {:.1}–{:.1}% | {:.1}% | {} |\n",
            i.intent,
            i.reviewed,
            i.correct,
            i.precision.share * 100.0,
            i.precision.ci95.0 * 100.0,
            i.precision.ci95.1 * 100.0,
            i.target * 100.0,
            i.recommendation
        ));
    }
    if let Some(st) = &r.sticky {
        s.push_str("\n## Sticky resolution by intent\n\n| intent | acts assessed | sticky | rate | 95% CI | target | recommendation |\n|---|---:|---:|---:|---|---:|---|\n");
        for x in st {
            s.push_str(&format!(
                "| {} | {} | {} | {:.1}% | {:.1}–{:.1}% | {:.1}% | {} |\n",
                x.intent,
                x.assessed,
                x.sticky,
                x.rate * 100.0,
                x.ci95.0 * 100.0,
                x.ci95.1 * 100.0,
                x.target * 100.0,
                x.recommendation
            ));
        }
    }
    s.push_str("\n## Defects by intent and failure mode\n\n");
    if r.failure_modes.is_empty() {
        s.push_str("No defects.\n");
    } else {
        s.push_str("| intent | failure mode | defects |\n|---|---|---:|\n");
        for m in &r.failure_modes {
            s.push_str(&format!("| {} | {} | {} |\n", m.intent, m.mode, m.defects));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use flowgate_store::review::QueueItem;

    fn item(seq: i64, confidence: f64, verdict: &str) -> QueueItem {
        QueueItem {
            audit_seq: seq,
            ticket: format!("T{seq}"),
            intent: "refund".into(),
            band: "high".into(),
            confidence,
            decided_at_ms: 0,
            sampled_at_ms: 0,
            verdict: Some(verdict.into()),
            category: (verdict == "defect").then(|| "wrong-answer".into()),
            reviewer: Some("r".into()),
            note: None,
            reviewed_at_ms: Some(1),
            shadow: false,
        }
    }

    #[test]
    fn a_retune_suggests_the_least_threshold_above_the_worst_defect() {
        // Two of four right (every review at the same 5% rate): the interval's top is far
        // below a 98% target, so the intent must be retuned above its most confident defect,
        // 0.8734 → 0.874 (the next three-decimal step up).
        let items = [
            item(1, 0.95, "correct"),
            item(2, 0.8734, "defect"),
            item(3, 0.91, "correct"),
            item(4, 0.61, "defect"),
        ];
        let refs: Vec<&QueueItem> = items.iter().collect();
        let r = super::review("2026-W48", &refs, None, None);
        let i = &r.intents[0];
        assert_eq!((i.reviewed, i.correct), (4, 2));
        assert!(i.recommendation.starts_with("retune"), "{i:?}");
        assert_eq!(i.worst_defect_confidence, Some(0.8734));
        assert_eq!(i.suggested_threshold, Some(0.874));
        // A defect at 0.9995: no threshold below 1 clears it — switch to assist instead.
        let items = [item(1, 0.9995, "defect"), item(2, 0.99, "correct")];
        let refs: Vec<&QueueItem> = items.iter().collect();
        let r = super::review("2026-W48", &refs, None, None);
        assert_eq!(r.intents[0].suggested_threshold, None);
        // Nothing to retune: no suggestion.
        let items: Vec<QueueItem> = (1..=3).map(|k| item(k, 0.9, "correct")).collect();
        let refs: Vec<&QueueItem> = items.iter().collect();
        let r = super::review("2026-W48", &refs, None, None);
        assert_eq!(r.intents[0].suggested_threshold, None);
    }
}
