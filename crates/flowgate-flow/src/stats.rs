//! Small statistics helpers with the exact conventions of DESIGN.md.

use serde::Serialize;

/// 1-based nearest rank of the `p`-th percentile of `n` values: `ceil(p/100 · n)`, at least 1.
pub fn nearest_rank(p: u32, n: usize) -> usize {
    let r = (p as u128 * n as u128).div_ceil(100) as usize;
    r.clamp(1, n.max(1))
}

/// Nearest-rank percentile of already sorted values; `None` when empty.
pub fn percentile_sorted(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[nearest_rank(p, sorted.len()) - 1])
}

/// Nearest-rank percentiles of unsorted values without a full sort (`select_nth_unstable`).
/// `ps` must be ascending. Reorders `values`.
pub fn percentiles_select(values: &mut [i64], ps: &[u32]) -> Vec<i64> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(ps.len());
    let mut lo = 0;
    for &p in ps {
        let k = nearest_rank(p, n) - 1;
        if k < lo {
            out.push(values[k]);
            continue;
        }
        let (_, v, _) = values[lo..].select_nth_unstable(k - lo);
        out.push(*v);
        lo = k;
    }
    out
}

/// The p50 / p85 / p95 / mean summary of durations, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub n: u64,
    pub p50: Option<f64>,
    pub p85: Option<f64>,
    pub p95: Option<f64>,
    pub mean: Option<f64>,
    pub max: Option<f64>,
}

impl Summary {
    /// Summarises millisecond durations (sorted in place).
    pub fn of_ms(values: &mut [i64]) -> Summary {
        values.sort_unstable();
        let s = |v: Option<i64>| v.map(ms_to_s);
        let sum: i128 = values.iter().map(|&v| v as i128).sum();
        Summary {
            n: values.len() as u64,
            p50: s(percentile_sorted(values, 50)),
            p85: s(percentile_sorted(values, 85)),
            p95: s(percentile_sorted(values, 95)),
            mean: (!values.is_empty()).then(|| sum as f64 / values.len() as f64 / 1000.0),
            max: s(values.last().copied()),
        }
    }
}

/// Milliseconds (any integer width; totals are summed in `i128`) to seconds.
pub fn ms_to_s(ms: impl Into<i128>) -> f64 {
    ms.into() as f64 / 1000.0
}

/// `num / den`, `None` when `den` is zero.
pub fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_by_hand() {
        // n = 20: p50 → rank 10, p85 → 17, p95 → 19; n = 1 → rank 1 always.
        assert_eq!(nearest_rank(50, 20), 10);
        assert_eq!(nearest_rank(85, 20), 17);
        assert_eq!(nearest_rank(95, 20), 19);
        assert_eq!(nearest_rank(50, 1), 1);
        assert_eq!(nearest_rank(85, 7), 6); // ceil(5.95)
        let v: Vec<i64> = (1..=7).collect();
        assert_eq!(percentile_sorted(&v, 50), Some(4));
    }

    #[test]
    fn select_matches_sort() {
        let mut v = vec![9, 1, 8, 2, 7, 3, 6, 4, 5, 10, 0];
        let got = percentiles_select(&mut v.clone(), &[50, 90]);
        v.sort();
        assert_eq!(
            got,
            vec![
                percentile_sorted(&v, 50).unwrap(),
                percentile_sorted(&v, 90).unwrap()
            ]
        );
    }
}
