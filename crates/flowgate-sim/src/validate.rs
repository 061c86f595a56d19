//! Out-of-sample validation: a claim about the simulator that can fail.
//!
//! Fit the model on the cases that arrived before the time by which two thirds of all cases
//! had arrived (a cut by case count, not by time span: a log whose arrivals bunch up at one
//! end would leave a handful of cases on one side); drive the simulation with the remaining
//! third's *actual* arrival times; compare the simulated cycle-time p50/p85 and the open cases
//! at the end of each day with what the log shows for those cases. A second run scales the
//! last third's arrivals so load rises 20% (each arrival kept, a seeded fifth of them
//! duplicated within its hour): there the log has no answer, so it is reported, not scored.

use flowgate_flow::cases::{CaseRecord, case_records};
use flowgate_flow::log::EventLog;
use flowgate_flow::stats::nearest_rank;
use flowgate_flow::time::{MS_PER_DAY, week_start};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::des::{Model, SimResult, simulate_arrivals};
use crate::scenario::Scenario;

/// One measure, observed and simulated.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Compared {
    pub observed: f64,
    pub simulated: f64,
    /// simulated / observed − 1.
    pub relative_error: f64,
}

impl Compared {
    fn new(observed: f64, simulated: f64) -> Compared {
        Compared {
            observed,
            simulated,
            relative_error: if observed != 0.0 {
                simulated / observed - 1.0
            } else {
                f64::NAN
            },
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HoldOut {
    pub fit_cases: usize,
    pub test_cases: usize,
    /// The cut: the arrival time by which two thirds of the cases had arrived (ms).
    pub cut_ms: i64,
    pub days: u32,
    /// Of the held-out cases resolved by the end of the log's last whole day (seconds); the
    /// simulation runs to the same instant.
    pub cycle_time_p50_s: Option<Compared>,
    pub cycle_time_p85_s: Option<Compared>,
    /// The same percentiles observed on the *fitted* cases (s): when they differ from the
    /// held-out ones, the process changed between the periods (drift), which no model fitted
    /// on the past can foresee; the model's own error is then simulated vs these.
    pub fitted_observed_p50_s: Option<f64>,
    pub fitted_observed_p85_s: Option<f64>,
    /// Open held-out cases at the end of each day: the mean over days of |simulated −
    /// observed|, divided by the mean observed (a relative error that a quiet day cannot
    /// blow up), and the series itself.
    pub open_cases_error: Option<f64>,
    pub open_cases: Vec<(f64, f64)>,
    /// Mean simulated wait of a work step for its team's capacity (s): the queueing the model
    /// adds on top of the delays it replays.
    pub queue_wait_mean_s: Option<f64>,
    /// The same arrivals with load raised 20%: simulated p50/p85 (s) and mean open cases.
    pub load_plus_20: LoadRun,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LoadRun {
    pub cases: f64,
    pub cycle_time_p50_s: Option<f64>,
    pub cycle_time_p85_s: Option<f64>,
    pub open_cases_mean: f64,
}

/// The fitted model's inputs for a subset of cases.
pub struct FitInput<'a> {
    pub intents: Vec<String>,
    /// Per case of the whole log (index into `intents`, `None` without one).
    pub intent_of: &'a [Option<u32>],
    /// Per case of the whole log.
    pub sla_target_s: Option<&'a [Option<f64>]>,
}

/// The arrival time by which two thirds of the cases had arrived (a cut by count), and the
/// log's last event; `None` under 30 cases.
fn split(records: &[CaseRecord]) -> Option<(i64, i64)> {
    let n = records.len();
    if n < 30 {
        return None;
    }
    let mut created: Vec<i64> = records.iter().map(|r| r.created).collect();
    created.sort_unstable();
    let last = records.iter().map(|r| r.last_event).max()?;
    Some((created[2 * n / 3], last))
}

fn percentile(v: &mut [i64], p: u32) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[nearest_rank(p, v.len()) - 1] as f64 / 1000.0)
}

/// Runs the out-of-sample validation. `records` are the whole log's case records.
pub fn out_of_sample(
    log: &EventLog,
    records: &[CaseRecord],
    input: FitInput<'_>,
    replications: usize,
    threads: usize,
) -> Option<HoldOut> {
    let n = records.len();
    let (cut, last) = split(records)?;
    let fit = |c: usize| records[c].created < cut;
    let sub = log.select_cases(fit);
    let sub_records = case_records(&sub);
    let keep: Vec<usize> = (0..n).filter(|&c| fit(c)).collect();
    let intent_of: Vec<Option<u32>> = keep
        .iter()
        .map(|&c| input.intent_of.get(c).copied().flatten())
        .collect();
    let sla: Option<Vec<Option<f64>>> = input
        .sla_target_s
        .map(|s| keep.iter().map(|&c| s.get(c).copied().flatten()).collect());
    let model = Model::fit(
        &sub,
        &sub_records,
        input.intents,
        &intent_of,
        sla.as_deref(),
    );
    let test: Vec<&CaseRecord> = records.iter().filter(|r| r.created >= cut).collect();
    let offset = week_start(cut);
    // Both sides are censored at the same instant: the last whole day the log covers (the
    // simulation ends there; observed resolutions after it are not counted either).
    let days = ((last - offset) / MS_PER_DAY).max(1) as u32;
    let end = offset + days as i64 * MS_PER_DAY;
    let scenario = Scenario {
        replications: Some(replications.max(1)),
        days: Some(days),
        ..Scenario::default()
    };
    let arrivals: Vec<i64> = test.iter().map(|r| r.created - offset).collect();
    let sim = simulate_arrivals(&model, &scenario, &arrivals, threads);
    // Observed, for the held-out cases.
    let mut cycles: Vec<i64> = test
        .iter()
        .filter(|r| r.resolved_at.is_some_and(|t| t < end))
        .filter_map(|r| r.cycle_ms())
        .collect();
    let obs_p50 = percentile(&mut cycles, 50);
    let obs_p85 = percentile(&mut cycles, 85);
    let mut fitted: Vec<i64> = records
        .iter()
        .filter(|r| r.created < cut && r.resolved_at.is_some_and(|t| t < end))
        .filter_map(|r| r.cycle_ms())
        .collect();
    let fit_p50 = percentile(&mut fitted, 50);
    let fit_p85 = percentile(&mut fitted, 85);
    let first_day = ((cut - offset) / MS_PER_DAY) as usize;
    let mut open = Vec::new();
    for d in first_day..days as usize {
        let day_end = offset + (d as i64 + 1) * MS_PER_DAY;
        if day_end > end {
            break;
        }
        let observed = test
            .iter()
            .filter(|r| r.created < day_end && r.resolved_at.is_none_or(|t| t >= day_end))
            .count() as f64;
        let simulated = sim.backlog.get(d).map_or(0.0, |b| b.mean);
        open.push((observed, simulated));
    }
    let mean_obs = open.iter().map(|x| x.0).sum::<f64>() / open.len().max(1) as f64;
    let open_cases_error = (mean_obs > 0.0).then(|| {
        open.iter().map(|x| (x.1 - x.0).abs()).sum::<f64>() / open.len() as f64 / mean_obs
    });
    // Load +20%: every arrival, and a seeded fifth of them again within the same hour.
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let mut more = arrivals.clone();
    for &a in &arrivals {
        if rng.random_bool(0.2) {
            let hour = a - a.rem_euclid(3_600_000);
            more.push(hour + rng.random_range(0..3_600_000));
        }
    }
    let loaded = simulate_arrivals(&model, &scenario, &more, threads);
    Some(HoldOut {
        fit_cases: keep.len(),
        test_cases: test.len(),
        cut_ms: cut,
        days,
        cycle_time_p50_s: obs_p50
            .zip(sim.cycle_time_p50_s)
            .map(|(o, s)| Compared::new(o, s.mean)),
        cycle_time_p85_s: obs_p85
            .zip(sim.cycle_time_p85_s)
            .map(|(o, s)| Compared::new(o, s.mean)),
        fitted_observed_p50_s: fit_p50,
        fitted_observed_p85_s: fit_p85,
        open_cases_error,
        open_cases: open,
        queue_wait_mean_s: sim.queue_wait_mean_s.map(|b| b.mean),
        load_plus_20: load_run(&loaded, first_day),
    })
}

fn load_run(r: &SimResult, first_day: usize) -> LoadRun {
    let open: Vec<f64> = r.backlog.iter().skip(first_day).map(|b| b.mean).collect();
    LoadRun {
        cases: r.cases.mean,
        cycle_time_p50_s: r.cycle_time_p50_s.map(|b| b.mean),
        cycle_time_p85_s: r.cycle_time_p85_s.map(|b| b.mean),
        open_cases_mean: open.iter().sum::<f64>() / open.len().max(1) as f64,
    }
}

/// The cycle-time p50 and p85 of the cases that arrived in the first two thirds (by count)
/// and of the rest, each counting only cases resolved by the end of the log's last whole
/// day. A model fitted on the past reproduces the past; where these differ, the process
/// changed and a forecast from the whole log deserves less trust.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Drift {
    pub earlier_p50_s: f64,
    pub later_p50_s: f64,
    pub earlier_p85_s: f64,
    pub later_p85_s: f64,
    /// The larger of |later / earlier − 1| over p50 and p85.
    pub change: f64,
}

/// Drift between the earlier two thirds and the later third of the cases (`None` with fewer
/// than 30 cases or nothing resolved on one side).
pub fn drift(records: &[CaseRecord]) -> Option<Drift> {
    let (cut, last) = split(records)?;
    let end = last - last.rem_euclid(MS_PER_DAY);
    let side = |later: bool| -> Vec<i64> {
        records
            .iter()
            .filter(|r| (r.created >= cut) == later && r.resolved_at.is_some_and(|t| t < end))
            .filter_map(|r| r.cycle_ms())
            .collect()
    };
    let (mut a, mut b) = (side(false), side(true));
    let (a50, a85) = (percentile(&mut a, 50)?, percentile(&mut a, 85)?);
    let (b50, b85) = (percentile(&mut b, 50)?, percentile(&mut b, 85)?);
    let rel = |x: f64, y: f64| if x > 0.0 { (y / x - 1.0).abs() } else { 0.0 };
    Some(Drift {
        earlier_p50_s: a50,
        later_p50_s: b50,
        earlier_p85_s: a85,
        later_p85_s: b85,
        change: rel(a50, b50).max(rel(a85, b85)),
    })
}
