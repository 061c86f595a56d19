//! Monte Carlo forecasts from daily throughput (the approach of Vacanti's "When will it be
//! done?"): each trial draws future days from the recent daily throughput history, with
//! replacement.
//!
//! - **When will the current backlog clear?** Days until the drawn throughput sums to the
//!   backlog; "85% confidence" is the 85th percentile of those days.
//! - **How many items by a date?** The sum over the days to that date; "85% confidence" is
//!   the count reached in 85% of trials (the 15th percentile).

use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub const LEVELS: [u32; 3] = [50, 85, 95];

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Forecast {
    pub history_days: usize,
    pub mean_daily_throughput: f64,
    pub trials: usize,
    pub backlog: u64,
    /// (confidence %, days until the backlog clears); `None` when history has no throughput.
    pub clear_in_days: Vec<(u32, Option<u64>)>,
    /// Days ahead asked about, and (confidence %, items done at least).
    pub horizon_days: u64,
    pub items_by_horizon: Vec<(u32, u64)>,
}

fn nearest_rank<T: Copy + Ord>(sorted: &[T], p: u32) -> T {
    sorted[flowgate_flow::stats::nearest_rank(p, sorted.len()) - 1]
}

/// Forecasts from `daily` (items finished per day, oldest first; the last `history_days`
/// used), a current `backlog` and a horizon in days.
pub fn forecast(
    daily: &[u64],
    history_days: usize,
    backlog: u64,
    horizon_days: u64,
    trials: usize,
    seed: u64,
) -> Forecast {
    let hist = &daily[daily.len().saturating_sub(history_days.max(1))..];
    let trials = trials.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let any = hist.iter().any(|&x| x > 0);
    // A trial that has not cleared after this many days is reported as not clearing.
    let cap = 3650u64.max(horizon_days);
    let mut clear: Vec<u64> = Vec::with_capacity(trials);
    let mut items: Vec<u64> = Vec::with_capacity(trials);
    for _ in 0..trials {
        let mut done = 0u64;
        let mut by_horizon = 0u64;
        let mut day = 0u64;
        let mut cleared = None;
        while day < cap && (cleared.is_none() || day < horizon_days) {
            let x = if hist.is_empty() {
                0
            } else {
                *hist.choose(&mut rng).expect("not empty")
            };
            day += 1;
            done += x;
            if day <= horizon_days {
                by_horizon = done;
            }
            if cleared.is_none() && done >= backlog {
                cleared = Some(day);
            }
            if !any {
                break;
            }
        }
        clear.push(cleared.unwrap_or(u64::MAX));
        items.push(by_horizon);
    }
    clear.sort_unstable();
    items.sort_unstable();
    Forecast {
        history_days: hist.len(),
        mean_daily_throughput: if hist.is_empty() {
            0.0
        } else {
            hist.iter().sum::<u64>() as f64 / hist.len() as f64
        },
        trials,
        backlog,
        clear_in_days: LEVELS
            .iter()
            .map(|&p| {
                let d = if backlog == 0 {
                    0
                } else {
                    nearest_rank(&clear, p)
                };
                (p, (d != u64::MAX).then_some(d))
            })
            .collect(),
        horizon_days,
        items_by_horizon: LEVELS
            .iter()
            .map(|&p| (p, nearest_rank(&items, 100 - p)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_throughput_is_certain() {
        let f = forecast(&[10; 30], 30, 95, 7, 500, 1);
        // 95 items at 10 a day: cleared on day 10 in every trial.
        assert!(f.clear_in_days.iter().all(|&(_, d)| d == Some(10)));
        assert!(f.items_by_horizon.iter().all(|&(_, n)| n == 70));
    }

    #[test]
    fn more_confidence_means_later_and_fewer() {
        let daily: Vec<u64> = (0..60).map(|i| [0, 3, 8, 12, 20][i % 5]).collect();
        let f = forecast(&daily, 60, 300, 14, 4000, 2);
        let d: Vec<u64> = f.clear_in_days.iter().map(|x| x.1.unwrap()).collect();
        assert!(d[0] <= d[1] && d[1] <= d[2], "{d:?}");
        // Mean 8.6 a day: the median clearing time is close to 300 / 8.6 ≈ 35 days.
        assert!((33..=37).contains(&d[0]), "{d:?}");
        let n: Vec<u64> = f.items_by_horizon.iter().map(|x| x.1).collect();
        assert!(n[0] >= n[1] && n[1] >= n[2], "{n:?}");
        // Nothing ever finishes: no date.
        let f = forecast(&[0; 10], 10, 5, 7, 10, 3);
        assert!(f.clear_in_days.iter().all(|x| x.1.is_none()));
    }
}
