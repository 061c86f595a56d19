//! Evaluation measures: accuracy, macro-F1, expected calibration error, AUROC, and the
//! coverage a model reaches at a precision.

use serde::Serialize;

pub fn accuracy(pred: &[usize], gold: &[usize]) -> f64 {
    if gold.is_empty() {
        return 0.0;
    }
    pred.iter().zip(gold).filter(|(p, g)| p == g).count() as f64 / gold.len() as f64
}

/// Mean over classes present in `gold` of F1.
pub fn macro_f1(pred: &[usize], gold: &[usize], n_classes: usize) -> f64 {
    let mut tp = vec![0usize; n_classes];
    let mut fp = vec![0usize; n_classes];
    let mut fn_ = vec![0usize; n_classes];
    for (&p, &g) in pred.iter().zip(gold) {
        if p == g {
            tp[g] += 1;
        } else {
            fp[p] += 1;
            fn_[g] += 1;
        }
    }
    let mut sum = 0.0;
    let mut n = 0;
    for c in 0..n_classes {
        if tp[c] + fn_[c] == 0 {
            continue;
        }
        n += 1;
        let denom = 2 * tp[c] + fp[c] + fn_[c];
        if denom > 0 {
            sum += 2.0 * tp[c] as f64 / denom as f64;
        }
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

#[derive(Clone, Debug, Serialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    pub confidence: f64,
    pub accuracy: f64,
}

/// Expected calibration error over `bins` equal-width confidence bins, and the curve.
pub fn ece(confidence: &[f64], correct: &[bool], bins: usize) -> (f64, Vec<ReliabilityBin>) {
    let n = confidence.len();
    let mut curve = Vec::with_capacity(bins);
    let mut e = 0.0;
    for b in 0..bins {
        let (lo, hi) = (b as f64 / bins as f64, (b + 1) as f64 / bins as f64);
        let idx: Vec<usize> = (0..n)
            .filter(|&i| {
                confidence[i] > lo && confidence[i] <= hi || (b == 0 && confidence[i] == 0.0)
            })
            .collect();
        if idx.is_empty() {
            curve.push(ReliabilityBin {
                lower: lo,
                upper: hi,
                count: 0,
                confidence: 0.0,
                accuracy: 0.0,
            });
            continue;
        }
        let conf = idx.iter().map(|&i| confidence[i]).sum::<f64>() / idx.len() as f64;
        let acc = idx.iter().filter(|&&i| correct[i]).count() as f64 / idx.len() as f64;
        e += idx.len() as f64 / n as f64 * (conf - acc).abs();
        curve.push(ReliabilityBin {
            lower: lo,
            upper: hi,
            count: idx.len(),
            confidence: conf,
            accuracy: acc,
        });
    }
    (e, curve)
}

/// Area under the ROC curve: the chance a positive scores above a negative (ties half).
pub fn auroc(positive: &[f64], negative: &[f64]) -> f64 {
    if positive.is_empty() || negative.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<(f64, bool)> = positive
        .iter()
        .map(|&s| (s, true))
        .chain(negative.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mann–Whitney U with average ranks for ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += all[i..=j].iter().filter(|e| e.1).count() as f64 * avg;
        i = j + 1;
    }
    let (p, q) = (positive.len() as f64, negative.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * q)
}

#[derive(Clone, Debug, Serialize)]
pub struct CoverageAt {
    pub precision: f64,
    /// Share of items answered when only the most confident are kept.
    pub coverage: f64,
    /// The lowest confidence kept.
    pub threshold: f64,
}

/// For each target precision, the largest share of items (most confident first) whose
/// precision still meets it.
pub fn coverage_at_precision(
    confidence: &[f64],
    correct: &[bool],
    targets: &[f64],
) -> Vec<CoverageAt> {
    let mut order: Vec<usize> = (0..confidence.len()).collect();
    order.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]));
    let n = order.len().max(1) as f64;
    targets
        .iter()
        .map(|&t| {
            let mut ok = 0usize;
            let mut best = (0usize, 1.0f64);
            for (k, &i) in order.iter().enumerate() {
                ok += correct[i] as usize;
                if ok as f64 / (k + 1) as f64 >= t {
                    best = (k + 1, confidence[i]);
                }
            }
            CoverageAt {
                precision: t,
                coverage: best.0 as f64 / n,
                threshold: best.1,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        assert_eq!(accuracy(&[0, 1, 1], &[0, 1, 0]), 2.0 / 3.0);
        // class 0: tp 1, fn 1 → F1 2/3; class 1: tp 1, fp 1 → 2/3.
        assert!((macro_f1(&[0, 1, 1], &[0, 1, 0], 2) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(auroc(&[0.9, 0.8], &[0.1, 0.2]), 1.0);
        assert_eq!(auroc(&[0.1], &[0.9]), 0.0);
        assert_eq!(auroc(&[0.5], &[0.5]), 0.5);
        let (e, _) = ece(&[0.9, 0.9, 0.6, 0.6], &[true, true, true, false], 10);
        // bin 0.9: conf 0.9, acc 1 → 0.1 × 0.5; bin 0.6: conf 0.6, acc 0.5 → 0.1 × 0.5.
        assert!((e - 0.1).abs() < 1e-12);
        let c = coverage_at_precision(
            &[0.9, 0.8, 0.7, 0.6],
            &[true, true, false, true],
            &[1.0, 0.75],
        );
        assert_eq!(c[0].coverage, 0.5);
        assert_eq!(c[1].coverage, 1.0);
    }
}

/// What `flowgate eval` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub texts: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub ece: f64,
    pub reliability: Vec<ReliabilityBin>,
    /// AUROC of the out-of-scope score, in-scope texts vs `--oos` texts.
    pub oos_auroc: Option<f64>,
    /// Share of out-of-scope texts flagged at the model's threshold, and of in-scope ones.
    pub oos_flagged: Option<f64>,
    pub in_scope_flagged: f64,
    pub coverage_at_precision: Vec<CoverageAt>,
    /// Texts whose label the model does not know (counted as errors).
    pub unknown_labels: usize,
}

pub fn evaluate(
    model: &crate::IntentModel,
    encoder: &crate::Encoder,
    texts: &[&str],
    labels: &[&str],
    oos: &[&str],
) -> crate::Result<Report> {
    let preds = model.predict(encoder, texts)?;
    let names = &model.header.labels;
    let idx = |l: &str| names.iter().position(|n| n == l);
    let unknown_labels = labels.iter().filter(|l| idx(l).is_none()).count();
    let n = names.len();
    let gold: Vec<usize> = labels.iter().map(|l| idx(l).unwrap_or(n)).collect();
    let pred: Vec<usize> = preds.iter().map(|p| idx(&p.intent).unwrap_or(n)).collect();
    let correct: Vec<bool> = pred.iter().zip(&gold).map(|(p, g)| p == g).collect();
    let conf: Vec<f64> = preds.iter().map(|p| p.confidence as f64).collect();
    let (e, reliability) = ece(&conf, &correct, 15);
    let in_scores: Vec<f64> = preds.iter().map(|p| p.oos_score as f64).collect();
    let (oos_auroc, oos_flagged) = if oos.is_empty() {
        (None, None)
    } else {
        let op = model.predict(encoder, oos)?;
        let s: Vec<f64> = op.iter().map(|p| p.oos_score as f64).collect();
        let flagged = op.iter().filter(|p| p.out_of_scope).count() as f64 / op.len() as f64;
        (Some(auroc(&s, &in_scores)), Some(flagged))
    };
    Ok(Report {
        texts: texts.len(),
        accuracy: accuracy(&pred, &gold),
        macro_f1: macro_f1(&pred, &gold, n + 1),
        ece: e,
        reliability,
        oos_auroc,
        oos_flagged,
        in_scope_flagged: preds.iter().filter(|p| p.out_of_scope).count() as f64
            / preds.len().max(1) as f64,
        coverage_at_precision: coverage_at_precision(&conf, &correct, &[0.90, 0.95, 0.98, 0.99]),
        unknown_labels,
    })
}
