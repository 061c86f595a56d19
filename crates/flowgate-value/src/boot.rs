//! The nonparametric bootstrap, drawn without touching every case per resample.
//!
//! Resampling n cases with replacement gives, for a yes/no property, a count distributed
//! Binomial(n, p̂) and, for a duration, counts over its distinct values distributed
//! Multinomial(n, p̂₁…p̂ₖ). Drawing those counts directly is the same bootstrap at a cost
//! independent of n. Durations with more than [`MAX_BINS`] distinct values are grouped into
//! that many equal-count bins, each represented by its mean (a resampled p50 then moves in
//! steps of at most 1/MAX_BINS of the distribution, far inside its interval).

use rand::Rng;
use rand_distr::{Binomial, Distribution};

pub const MAX_BINS: usize = 2048;

/// Where the bootstrap's documented shortcuts switch on: exact binomial draws up to a
/// variance of `normal_above` (then the normal approximation), and one bin per distinct
/// duration up to `max_bins` (then equal-count bins). Parameters so that a small test can
/// exercise both shortcuts; the defaults are [`NORMAL_ABOVE`] and [`MAX_BINS`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shortcuts {
    pub normal_above: f64,
    pub max_bins: usize,
}

impl Default for Shortcuts {
    fn default() -> Self {
        Shortcuts {
            normal_above: NORMAL_ABOVE,
            max_bins: MAX_BINS,
        }
    }
}

/// Bins shared by every group of one comparison, so mixtures of groups are sums of counts.
/// With at most [`MAX_BINS`] distinct values each bin is one value (exact); otherwise bins
/// hold equal shares of the pooled values and stand for their mean.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bins {
    /// The value each bin stands for, ascending.
    pub values: Vec<f64>,
    /// The largest pooled value in each bin.
    upper: Vec<f64>,
}

impl Bins {
    /// Bins for the pooled values (sorted in place).
    pub fn new(values: &mut [f64]) -> Bins {
        Bins::with_max(values, MAX_BINS)
    }

    /// [`Bins::new`] with at most `max_bins` bins.
    pub fn with_max(values: &mut [f64], max_bins: usize) -> Bins {
        let max_bins = max_bins.max(1);
        values.sort_unstable_by(f64::total_cmp);
        let mut b = Bins::default();
        let distinct = values.windows(2).filter(|w| w[0] != w[1]).count() + 1;
        if values.is_empty() {
            return b;
        }
        if distinct <= max_bins {
            for (i, &v) in values.iter().enumerate() {
                if i == 0 || v != values[i - 1] {
                    b.values.push(v);
                    b.upper.push(v);
                }
            }
            return b;
        }
        let n = values.len();
        let mut start = 0;
        for k in 1..=max_bins {
            let mut end = n * k / max_bins;
            // Equal values stay in one bin.
            while end < n && end > 0 && values[end] == values[end - 1] {
                end += 1;
            }
            if end > start {
                let slice = &values[start..end];
                b.values
                    .push(slice.iter().sum::<f64>() / slice.len() as f64);
                b.upper.push(slice[slice.len() - 1]);
                start = end;
            }
        }
        b
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The bin of `v` (values above every bin go to the last).
    pub fn index(&self, v: f64) -> usize {
        self.upper
            .partition_point(|&u| u < v)
            .min(self.upper.len().saturating_sub(1))
    }
}

/// One bootstrap resample of a group given its counts per bin: Multinomial(n, counts / n)
/// drawn as a chain of binomials, skipping empty bins.
pub fn resample_counts(counts: &[u64], rng: &mut impl Rng, out: &mut Vec<u64>) {
    resample_counts_with(counts, rng, out, NORMAL_ABOVE)
}

/// [`resample_counts`] switching to the normal draw above variance `normal_above`.
pub fn resample_counts_with(
    counts: &[u64],
    rng: &mut impl Rng,
    out: &mut Vec<u64>,
    normal_above: f64,
) {
    out.clear();
    out.resize(counts.len(), 0);
    let mut mass_left: u64 = counts.iter().sum();
    let mut left = mass_left;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        if left == 0 {
            break;
        }
        let k = if c >= mass_left {
            left
        } else {
            binomial_with(rng, left, c as f64 / mass_left as f64, normal_above)
        };
        out[i] = k;
        left -= k;
        mass_left -= c;
    }
}

/// A draw from Binomial(n, p), with the edge cases the distribution refuses. When the
/// variance n·p·(1−p) exceeds [`NORMAL_ABOVE`] the normal approximation is drawn instead
/// (its error in any probability is below 1/√variance ≈ 2%, far under the bootstrap's own
/// Monte Carlo error at these sizes); exact draws are kept for smaller counts.
pub fn binomial(rng: &mut impl Rng, n: u64, p: f64) -> u64 {
    binomial_with(rng, n, p, NORMAL_ABOVE)
}

/// [`binomial`] switching to the normal draw above variance `normal_above`.
pub fn binomial_with(rng: &mut impl Rng, n: u64, p: f64, normal_above: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    let mean = n as f64 * p;
    let var = mean * (1.0 - p);
    if var > normal_above {
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        return (mean + var.sqrt() * z).round().clamp(0.0, n as f64) as u64;
    }
    Binomial::new(n, p).map_or(0, |d| d.sample(rng))
}

/// Variance above which [`binomial`] draws from the normal approximation.
pub const NORMAL_ABOVE: f64 = 2500.0;

/// Nearest-rank percentile of a weighted distribution: the smallest value whose cumulative
/// weight reaches `p/100` of the total.
pub fn weighted_percentile(values: &[f64], weights: &[f64], p: f64) -> Option<f64> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let target = p / 100.0 * total;
    let mut acc = 0.0;
    for (v, w) in values.iter().zip(weights) {
        acc += w;
        if acc >= target - 1e-9 * total && *w > 0.0 {
            return Some(*v);
        }
    }
    values.last().copied()
}

/// The weighted mean.
pub fn weighted_mean(values: &[f64], weights: &[f64]) -> Option<f64> {
    let total: f64 = weights.iter().sum();
    (total > 0.0).then(|| values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total)
}

/// The 2.5% and 97.5% quantiles of bootstrap replicates (NaNs dropped).
pub fn percentile_interval(reps: &mut Vec<f64>) -> Option<(f64, f64)> {
    reps.retain(|x| x.is_finite());
    if reps.is_empty() {
        return None;
    }
    reps.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| reps[((q * reps.len() as f64).ceil() as usize).clamp(1, reps.len()) - 1];
    Some((at(0.025), at(0.975)))
}

/// Mann–Whitney U test of two samples (normal approximation with tie correction).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankTest {
    pub u: f64,
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// P(a pilot case is faster than a baseline case) + half the ties: U / (n₁ n₂).
    pub prob_pilot_faster: f64,
}

/// `a` = baseline, `b` = pilot. `None` when either is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<RankTest> {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, false))
        .chain(b.iter().map(|&x| (x, true)))
        .collect();
    all.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len();
    let mut rank_sum_b = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + 1 + j) as f64 / 2.0;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        rank_sum_b += avg * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    // U of the pilot: pairs where the pilot case is larger (slower).
    let u_b = rank_sum_b - n2 * (n2 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let nn = n1 + n2;
    let var = n1 * n2 / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0)).max(1.0));
    let z = if var > 0.0 {
        let cc = if u_b > mean {
            -0.5
        } else if u_b < mean {
            0.5
        } else {
            0.0
        };
        (u_b - mean + cc) / var.sqrt()
    } else {
        0.0
    };
    Some(RankTest {
        u: u_b,
        z,
        p_value: 2.0 * normal_sf(z.abs()),
        prob_pilot_faster: 1.0 - u_b / (n1 * n2),
    })
}

/// Upper tail of the standard normal, via erfc (W. J. Cody's rational approximation is
/// overkill here; Abramowitz–Stegun 7.1.26 is accurate to 1.5e-7).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    poly * (-x * x).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn bins_keep_distinct_values_exactly() {
        let mut v = vec![3.0, 1.0, 2.0, 2.0, 3.0, 3.0];
        let b = Bins::new(&mut v);
        assert_eq!(b.values, vec![1.0, 2.0, 3.0]);
        assert_eq!(
            (b.index(1.0), b.index(2.0), b.index(3.0), b.index(9.0)),
            (0, 1, 2, 2)
        );
        let counts = [1, 2, 3];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut out = Vec::new();
        let mut mean_first = 0.0;
        for _ in 0..2000 {
            resample_counts(&counts, &mut rng, &mut out);
            assert_eq!(out.iter().sum::<u64>(), 6);
            mean_first += out[0] as f64 / 2000.0;
        }
        // E[count of the first value] = 6 · 1/6 = 1.
        assert!((mean_first - 1.0).abs() < 0.1, "{mean_first}");
    }

    #[test]
    fn many_values_go_to_equal_count_bins() {
        let mut v: Vec<f64> = (0..100_000).map(|i| i as f64).collect();
        let b = Bins::new(&mut v);
        assert_eq!(b.len(), MAX_BINS);
        let mut w = vec![0.0; b.len()];
        for i in 0..100_000 {
            w[b.index(i as f64)] += 1.0;
        }
        let p50 = weighted_percentile(&b.values, &w, 50.0).unwrap();
        assert!((p50 - 50_000.0).abs() < 100.0, "{p50}");
    }

    #[test]
    fn mann_whitney_matches_a_hand_computed_case() {
        // Baseline 1,2,3 and pilot 4,5: every pilot value is larger, U = 6 = n1·n2.
        let t = mann_whitney(&[1.0, 2.0, 3.0], &[4.0, 5.0]).unwrap();
        assert_eq!(t.u, 6.0);
        assert_eq!(t.prob_pilot_faster, 0.0);
        // Identical samples: U = n1 n2 / 2, z = 0, p = 1.
        let t = mann_whitney(&[1.0, 2.0], &[1.0, 2.0]).unwrap();
        assert_eq!(t.u, 2.0);
        assert!((t.p_value - 1.0).abs() < 1e-9);
        assert!((normal_sf(1.959_964) - 0.025).abs() < 1e-6);
    }
}
