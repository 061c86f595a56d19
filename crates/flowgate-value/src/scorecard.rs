//! The weekly scorecard: exactly three headline numbers per ISO week (UTC).
//!
//! - **cycle time**: p50 and p85 (nearest rank) of the cases resolved that week;
//! - **quality defects**: reviewed defects plus reopens within 7 days of a resolution, per 100
//!   cases resolved that week (a reopen counts in the week of the resolution it undid);
//! - **escalation rate**: escalated cases among the cases resolved that week.
//!
//! A week whose reopen window has not closed yet (its end + 7 days is after `as_of`) is
//! marked provisional: its defect count can still grow.

use flowgate_flow::cases::CaseRecord;
use flowgate_flow::stats::percentile_sorted;
use flowgate_flow::time::{MS_PER_DAY, MS_PER_WEEK, iso_week_label, week_start};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug)]
pub struct ScorecardOptions {
    /// How many weeks to show, ending with `last_week`.
    pub weeks: usize,
    /// Any instant inside the last week to show (default: the last complete week before
    /// `as_of`, and no later than the latest resolution).
    pub last_week: Option<i64>,
    /// The instant the data runs to (default: the last event).
    pub as_of: Option<i64>,
    /// Reopen window counted as a defect.
    pub reopen_window_ms: i64,
}

impl Default for ScorecardOptions {
    fn default() -> Self {
        ScorecardOptions {
            weeks: 12,
            last_week: None,
            as_of: None,
            reopen_window_ms: 7 * MS_PER_DAY,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekCard {
    pub week: String,
    pub start_ms: i64,
    pub resolved: u64,
    pub cycle_time_p50_s: Option<f64>,
    pub cycle_time_p85_s: Option<f64>,
    /// Reopens within the window of a resolution made this week.
    pub reopens: u64,
    pub reviewed_defects: u64,
    pub defects_per_100: Option<f64>,
    pub escalated: u64,
    pub escalation_rate: Option<f64>,
    /// The reopen window of this week's resolutions is still open.
    pub provisional: bool,
}

/// Latest week against the one before: relative change of cycle time, point change of the
/// two rates.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekChange {
    pub cycle_time_p50_rel: Option<f64>,
    pub cycle_time_p85_rel: Option<f64>,
    pub defects_per_100_abs: Option<f64>,
    pub escalation_rate_abs: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scorecard {
    pub as_of_ms: i64,
    pub reopen_window_days: f64,
    /// Oldest first; the last is the headline week.
    pub weeks: Vec<WeekCard>,
    pub change: Option<WeekChange>,
}

impl Scorecard {
    pub fn latest(&self) -> Option<&WeekCard> {
        self.weeks.last()
    }
}

/// A decision reviewed as a defect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReviewedDefect {
    /// Its case's index in the records, when the case is in the log.
    pub case: Option<usize>,
    /// The decision's time (counted there when the case is not in the log).
    pub decided_at_ms: i64,
}

/// Builds the scorecard. A reviewed defect counts in the week of its case's resolution (or
/// of the decision when the case is not in the log, or not resolved); a case that is both
/// reopened within the window and reviewed as a defect is one defect, not two, and so is a
/// case with several defect reviews.
pub fn scorecard(
    records: &[CaseRecord],
    reviewed_defects: &[ReviewedDefect],
    opts: &ScorecardOptions,
) -> Scorecard {
    let as_of = opts.as_of.unwrap_or_else(|| {
        records
            .iter()
            .map(|r| r.last_event)
            .max()
            .unwrap_or_default()
    });
    // By default the headline is the last complete week (the data runs into the week of
    // `as_of`), and no later than the last week in which something was resolved.
    let latest_resolution = records.iter().filter_map(|r| r.resolved_at).max();
    let last = match opts.last_week {
        Some(t) => week_start(t),
        None => {
            let complete = week_start(as_of) - MS_PER_WEEK;
            latest_resolution.map_or(complete, |r| week_start(r).min(complete))
        }
    };
    let n = opts.weeks.max(1);
    let first = last - (n as i64 - 1) * MS_PER_WEEK;
    let slot = |t: i64| -> Option<usize> {
        let w = week_start(t);
        (w >= first && w <= last).then(|| ((w - first) / MS_PER_WEEK) as usize)
    };
    let mut cycles: Vec<Vec<i64>> = vec![Vec::new(); n];
    let mut reopens = vec![0u64; n];
    let mut escalated = vec![0u64; n];
    let mut reviewed = vec![0u64; n];
    for r in records {
        if let Some(res) = r.resolved_at
            && let Some(i) = slot(res)
        {
            cycles[i].push(res - r.created);
            escalated[i] += r.escalated as u64;
        }
        if r.reopened_within(opts.reopen_window_ms) {
            // The resolution that was undid: the first one reopened (close enough for the
            // rare case reopened several times).
            if let Some(i) = r.first_reopened_resolution.and_then(slot) {
                reopens[i] += 1;
            }
        }
    }
    let mut counted_case = vec![false; records.len()];
    for d in reviewed_defects {
        let t = match d.case.and_then(|c| records.get(c).map(|r| (c, r))) {
            Some((c, r)) => {
                if counted_case[c] || r.reopened_within(opts.reopen_window_ms) {
                    // Already a defect of this case (a reopen, or an earlier review).
                    continue;
                }
                counted_case[c] = true;
                r.resolved_at.unwrap_or(d.decided_at_ms)
            }
            None => d.decided_at_ms,
        };
        if let Some(i) = slot(t) {
            reviewed[i] += 1;
        }
    }
    let weeks: Vec<WeekCard> = (0..n)
        .map(|i| {
            let start = first + i as i64 * MS_PER_WEEK;
            let c = &mut cycles[i];
            c.sort_unstable();
            let resolved = c.len() as u64;
            let per =
                |k: u64, scale: f64| (resolved > 0).then(|| k as f64 * scale / resolved as f64);
            WeekCard {
                week: iso_week_label(start),
                start_ms: start,
                resolved,
                cycle_time_p50_s: percentile_sorted(c, 50).map(|v| v as f64 / 1000.0),
                cycle_time_p85_s: percentile_sorted(c, 85).map(|v| v as f64 / 1000.0),
                reopens: reopens[i],
                reviewed_defects: reviewed[i],
                defects_per_100: per(reopens[i] + reviewed[i], 100.0),
                escalated: escalated[i],
                escalation_rate: per(escalated[i], 1.0),
                provisional: start + MS_PER_WEEK + opts.reopen_window_ms > as_of,
            }
        })
        .collect();
    let change = (n >= 2).then(|| {
        let (a, b) = (&weeks[n - 2], &weeks[n - 1]);
        let rel = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) if x > 0.0 => Some(y / x - 1.0),
            _ => None,
        };
        let abs = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
        WeekChange {
            cycle_time_p50_rel: rel(a.cycle_time_p50_s, b.cycle_time_p50_s),
            cycle_time_p85_rel: rel(a.cycle_time_p85_s, b.cycle_time_p85_s),
            defects_per_100_abs: abs(a.defects_per_100, b.defects_per_100),
            escalation_rate_abs: abs(a.escalation_rate, b.escalation_rate),
        }
    });
    Scorecard {
        as_of_ms: as_of,
        reopen_window_days: opts.reopen_window_ms as f64 / MS_PER_DAY as f64,
        weeks,
        change,
    }
}

/// A sparkline of values with Unicode blocks; gaps (`None`) print as a space.
pub fn sparkline(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let lo = present.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if hi <= lo => BARS[3],
            Some(x) => BARS[(((x - lo) / (hi - lo)) * 7.0).round() as usize],
        })
        .collect()
}
