//! Business outcomes beside cycle time: churn, conversion lag and on-time delivery of the
//! customers behind the cases, by cycle-time band.
//!
//! A case counts toward the band of its own cycle time (resolved cases only). Per band:
//! - **churn**: the share of cases whose customer churned within `churn_window_days` after the
//!   case was resolved (Wilson 95% interval);
//! - **conversion lag**: for customers who converted after the case was created, the time from
//!   creation to conversion — median with a distribution-free 95% interval (order statistics);
//! - **on time**: the share of cases whose customer's delivery was on time (Wilson interval).

use flowgate_flow::cases::CaseRecord;
use flowgate_flow::time::MS_PER_DAY;
use flowgate_gate::interval::{Z95, wilson_interval};
use serde::Serialize;

/// One customer's outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    pub churned_at: Option<i64>,
    pub converted_at: Option<i64>,
    pub delivered_on_time: Option<bool>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Share {
    pub k: u64,
    pub n: u64,
    pub share: Option<f64>,
    pub ci95: Option<(f64, f64)>,
}

impl Share {
    fn of(k: u64, n: u64) -> Share {
        Share {
            k,
            n,
            share: (n > 0).then(|| k as f64 / n as f64),
            ci95: wilson_interval(k, n),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Band {
    pub label: String,
    /// Cycle time at least this (s) …
    pub from_s: f64,
    /// … and below this (s); `None` = no upper bound.
    pub to_s: Option<f64>,
    pub cases: u64,
    pub churn: Share,
    pub conversion_lag_median_s: Option<f64>,
    pub conversion_lag_ci95: Option<(f64, f64)>,
    pub conversions: u64,
    pub on_time: Share,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outcomes {
    pub churn_window_days: f64,
    pub cases_with_customer: u64,
    pub cases_without_outcome: u64,
    pub bands: Vec<Band>,
}

/// Outcomes by cycle-time band. `customer` maps each case to an index into `outcomes`
/// (`None` when the case has no customer or the customer has no outcome row); `edges_s` are
/// the band boundaries in seconds, ascending.
pub fn outcomes(
    records: &[CaseRecord],
    customer: &[Option<usize>],
    table: &[Outcome],
    edges_s: &[f64],
    churn_window_days: f64,
) -> Outcomes {
    let nb = edges_s.len() + 1;
    let mut cases = vec![0u64; nb];
    let mut churn = vec![(0u64, 0u64); nb];
    let mut on_time = vec![(0u64, 0u64); nb];
    let mut lags: Vec<Vec<f64>> = vec![Vec::new(); nb];
    let mut with_customer = 0;
    let mut without = 0;
    let window = (churn_window_days * MS_PER_DAY as f64) as i64;
    for (c, r) in records.iter().enumerate() {
        let Some(res) = r.resolved_at else { continue };
        let cyc = (res - r.created) as f64 / 1000.0;
        let b = edges_s.partition_point(|&e| e <= cyc);
        let Some(o) = customer
            .get(c)
            .copied()
            .flatten()
            .and_then(|i| table.get(i))
        else {
            without += 1;
            continue;
        };
        with_customer += 1;
        cases[b] += 1;
        churn[b].1 += 1;
        if o.churned_at.is_some_and(|t| t >= res && t - res <= window) {
            churn[b].0 += 1;
        }
        if let Some(t) = o.converted_at
            && t >= r.created
        {
            lags[b].push((t - r.created) as f64 / 1000.0);
        }
        if let Some(ok) = o.delivered_on_time {
            on_time[b].1 += 1;
            on_time[b].0 += ok as u64;
        }
    }
    let label = |i: usize| -> String {
        let d = |s: f64| crate::outcomes::short(s);
        match (i.checked_sub(1).map(|j| edges_s[j]), edges_s.get(i)) {
            (None, Some(&hi)) => format!("< {}", d(hi)),
            (Some(lo), Some(&hi)) => format!("{}–{}", d(lo), d(hi)),
            (Some(lo), None) => format!("≥ {}", d(lo)),
            (None, None) => "all".into(),
        }
    };
    let bands = (0..nb)
        .map(|i| {
            let l = &mut lags[i];
            l.sort_unstable_by(f64::total_cmp);
            let (median, ci) = median_ci(l);
            Band {
                label: label(i),
                from_s: if i == 0 { 0.0 } else { edges_s[i - 1] },
                to_s: edges_s.get(i).copied(),
                cases: cases[i],
                churn: Share::of(churn[i].0, churn[i].1),
                conversion_lag_median_s: median,
                conversion_lag_ci95: ci,
                conversions: l.len() as u64,
                on_time: Share::of(on_time[i].0, on_time[i].1),
            }
        })
        .collect();
    Outcomes {
        churn_window_days,
        cases_with_customer: with_customer,
        cases_without_outcome: without,
        bands,
    }
}

/// The median (nearest rank) and a distribution-free 95% interval from order statistics:
/// ranks n/2 ∓ 1.96·√n/2.
fn median_ci(sorted: &[f64]) -> (Option<f64>, Option<(f64, f64)>) {
    let n = sorted.len();
    if n == 0 {
        return (None, None);
    }
    let med = sorted[flowgate_flow::stats::nearest_rank(50, n) - 1];
    let half = Z95 * (n as f64).sqrt() / 2.0;
    let lo = ((n as f64 / 2.0 - half).floor() as isize).max(1) as usize;
    let hi = ((n as f64 / 2.0 + half).ceil() as usize).min(n);
    (Some(med), Some((sorted[lo - 1], sorted[hi - 1])))
}

/// `4h`, `1d`, `90m`: a band edge in the largest whole unit.
pub fn short(s: f64) -> String {
    if s >= 86_400.0 && s % 86_400.0 == 0.0 {
        format!("{}d", s / 86_400.0)
    } else if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s / 3600.0)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        format!("{s}s")
    }
}

/// Shares of the resolved cases created in `period` falling in each cycle-time band.
pub fn band_shares(
    records: &[CaseRecord],
    period: &crate::compare::Period,
    edges_s: &[f64],
) -> Vec<f64> {
    let mut counts = vec![0u64; edges_s.len() + 1];
    for r in records.iter().filter(|r| period.contains(r.created)) {
        if let Some(ms) = r.cycle_ms() {
            counts[edges_s.partition_point(|&e| e <= ms as f64 / 1000.0)] += 1;
        }
    }
    let n: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&c| if n > 0 { c as f64 / n as f64 } else { 0.0 })
        .collect()
}

/// Expected churn per case under the baseline's and the pilot's cycle-time mix, from the
/// churn observed in each band; returns (pilot − baseline) and a conservative interval from
/// the bands' Wilson bounds. This is an association, not a measured effect: it assumes a
/// case moved to a faster band takes that band's churn.
pub fn churn_shift(o: &Outcomes, base: &[f64], pilot: &[f64]) -> Option<(f64, (f64, f64))> {
    let mut mid = 0.0;
    let (mut lo, mut hi) = (0.0, 0.0);
    let mut any = false;
    for ((b, &sb), &sp) in o.bands.iter().zip(base).zip(pilot) {
        let d = sp - sb;
        let (Some(c), Some((cl, ch))) = (b.churn.share, b.churn.ci95) else {
            continue;
        };
        any = true;
        mid += d * c;
        let (x, y) = (d * cl, d * ch);
        lo += x.min(y);
        hi += x.max(y);
    }
    any.then_some((mid, (lo, hi)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(created: i64, hours: i64) -> CaseRecord {
        CaseRecord {
            created,
            resolved_at: Some(created + hours * 3_600_000),
            last_event: created + hours * 3_600_000,
            reopens: 0,
            fastest_reopen_ms: None,
            first_reopened_resolution: None,
            handoffs: 0,
            ping_pong: false,
            escalated: false,
            touch_ms: 0,
            first_response_ms: None,
            first_team: flowgate_flow::NONE,
        }
    }

    #[test]
    fn bands_by_hand() {
        let day = MS_PER_DAY;
        // Four cases: 2 h and 3 h (fast band), 30 h and 50 h (slow band, edge at 24 h).
        let recs = [case(0, 2), case(0, 3), case(0, 30), case(0, 50)];
        let table = [
            // Churned 10 days after the 2 h case: inside a 30-day window.
            Outcome {
                churned_at: Some(10 * day),
                converted_at: Some(day),
                delivered_on_time: Some(true),
            },
            // Never churned, converted before the case: no lag.
            Outcome {
                churned_at: None,
                converted_at: None,
                delivered_on_time: Some(true),
            },
            // Churned 40 days later: outside the window.
            Outcome {
                churned_at: Some(42 * day),
                converted_at: Some(3 * day),
                delivered_on_time: Some(false),
            },
            Outcome {
                churned_at: Some(5 * day),
                converted_at: Some(5 * day),
                delivered_on_time: None,
            },
        ];
        let cust = [Some(0), Some(1), Some(2), Some(3)];
        let o = outcomes(&recs, &cust, &table, &[86_400.0], 30.0);
        let (fast, slow) = (&o.bands[0], &o.bands[1]);
        assert_eq!((fast.label.as_str(), slow.label.as_str()), ("< 1d", "≥ 1d"));
        assert_eq!((fast.cases, slow.cases), (2, 2));
        assert_eq!((fast.churn.k, fast.churn.n), (1, 2));
        assert_eq!((slow.churn.k, slow.churn.n), (1, 2));
        assert_eq!(fast.conversion_lag_median_s, Some(86_400.0));
        // Slow lags: 3 d and 5 d → nearest-rank median = 3 d.
        assert_eq!(slow.conversion_lag_median_s, Some(3.0 * 86_400.0));
        assert_eq!((fast.on_time.k, fast.on_time.n), (2, 2));
        assert_eq!((slow.on_time.k, slow.on_time.n), (0, 1));
        let (lo, hi) = fast.churn.ci95.unwrap();
        assert!(lo < 0.5 && hi > 0.5 && lo >= 0.0 && hi <= 1.0);
        assert_eq!(short(14_400.0), "4h");
    }

    #[test]
    fn churn_shift_by_hand() {
        let band = |k, n| Band {
            label: String::new(),
            from_s: 0.0,
            to_s: None,
            cases: n,
            churn: Share::of(k, n),
            conversion_lag_median_s: None,
            conversion_lag_ci95: None,
            conversions: 0,
            on_time: Share::of(0, 0),
        };
        let o = Outcomes {
            churn_window_days: 90.0,
            cases_with_customer: 2000,
            cases_without_outcome: 0,
            bands: vec![band(100, 1000), band(300, 1000)],
        };
        // 30 points of cases move from the slow band (30% churn) to the fast one (10%):
        // 0.3 · 0.10 − 0.3 · 0.30 = −0.06 churn per case.
        let (d, (lo, hi)) = churn_shift(&o, &[0.5, 0.5], &[0.8, 0.2]).unwrap();
        assert!((d + 0.06).abs() < 1e-12, "{d}");
        assert!(lo < d && d < hi && hi < 0.0, "{lo} {hi}");
        let b = crate::Budget::parse(
            "loaded_cost_per_agent_hour = 1\ntickets_per_month = 1000\nrevenue_per_customer = 500\n",
            "b",
        )
        .unwrap();
        let c = crate::compare::Compare {
            baseline: crate::Period {
                from_ms: 0,
                to_ms: 1,
            },
            pilot: crate::Period {
                from_ms: 1,
                to_ms: 2,
            },
            baseline_cases: 1,
            pilot_cases: 1,
            baseline_open: 0,
            pilot_open: 0,
            resamples: 0,
            by: None,
            measures: Vec::new(),
            cycle_time_rank_test: None,
            segments: Vec::new(),
            notes: Vec::new(),
        };
        let t = crate::budget_terms(&c, &b, Some((d, (lo, hi))));
        let kept = t.terms.iter().find(|t| t.name == "customers_kept").unwrap();
        // 0.06 × 1,000 tickets = 60 customers a month, × 500 = 30,000.
        assert!((kept.value.unwrap() - 60.0).abs() < 1e-9);
        assert!((kept.money.unwrap() - 30_000.0).abs() < 1e-6);
        assert_eq!(t.money_per_month, None);
    }
}
