//! Bounds of a binomial proportion: Wilson and Clopper–Pearson intervals, and the one-sided
//! exact lower bound the gate's thresholds must clear.

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Lower end of the Wilson score interval for `k` successes in `n` trials.
pub fn wilson_lower(k: u64, n: u64, z: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let margin = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - margin) / (1.0 + z2 / n)).clamp(0.0, 1.0)
}

/// The two-sided 95% Wilson interval of `k` of `n` (`None` when `n` is 0): the one interval
/// every report shows for a share.
pub fn wilson_interval(k: u64, n: u64) -> Option<(f64, f64)> {
    (n > 0).then(|| (wilson_lower(k, n, Z95), 1.0 - wilson_lower(n - k, n, Z95)))
}

/// A share estimated from items sampled at different rates: each item weighs the inverse of
/// its sampling rate (Horvitz–Thompson), so a band sampled five times as often does not
/// count five times as much.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightedShare {
    pub share: f64,
    /// Kish's effective sample size, (Σw)² / Σw².
    pub n_eff: f64,
    /// 95% Wilson interval at the effective sample size.
    pub ci95: (f64, f64),
}

/// `items`: (sampling rate in (0, 1], hit). `None` when empty or a rate is not positive.
pub fn weighted_share(items: &[(f64, bool)]) -> Option<WeightedShare> {
    if items.is_empty() || items.iter().any(|&(r, _)| r.is_nan() || r <= 0.0) {
        return None;
    }
    let (mut sw, mut sw2, mut hit) = (0.0f64, 0.0f64, 0.0f64);
    for &(rate, ok) in items {
        let w = 1.0 / rate.min(1.0);
        sw += w;
        sw2 += w * w;
        if ok {
            hit += w;
        }
    }
    let share = hit / sw;
    let n = sw * sw / sw2;
    let z2 = Z95 * Z95;
    let centre = share + z2 / (2.0 * n);
    let margin = Z95 * (share * (1.0 - share) / n + z2 / (4.0 * n * n)).sqrt();
    let lo = ((centre - margin) / (1.0 + z2 / n)).clamp(0.0, 1.0);
    let hi = ((centre + margin) / (1.0 + z2 / n)).clamp(0.0, 1.0);
    Some(WeightedShare {
        share,
        n_eff: n,
        ci95: (lo, hi),
    })
}

/// Lower end of the Clopper–Pearson (exact) interval at level `1 − alpha` (two-sided): the
/// `alpha/2` quantile of Beta(k, n − k + 1).
pub fn clopper_pearson_lower(k: u64, n: u64, alpha: f64) -> f64 {
    clopper_pearson_lower_one_sided(k, n, alpha / 2.0)
}

/// One-sided exact lower confidence bound at level `1 − alpha`: the `alpha` quantile of
/// Beta(k, n − k + 1), so that P(bound > p) ≤ alpha whatever the true proportion p.
pub fn clopper_pearson_lower_one_sided(k: u64, n: u64, alpha: f64) -> f64 {
    if k == 0 || n == 0 {
        return 0.0;
    }
    if k == n {
        return alpha.powf(1.0 / n as f64);
    }
    let (a, b) = (k as f64, (n - k + 1) as f64);
    // The regularised incomplete beta is increasing in x: bisect.
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if inc_beta(a, b, mid) < alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn ln_gamma(x: f64) -> f64 {
    // Lanczos approximation (g = 7, n = 9).
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularised incomplete beta I_x(a, b) by its continued fraction (Lentz).
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - inc_beta(b, a, 1.0 - x);
    }
    let tiny = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..300 {
        let m = m as f64;
        let num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + num * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + num / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        f *= d * c;
        let num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + num * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = 1.0 + num / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = d * c;
        f *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    front * f / a
}
