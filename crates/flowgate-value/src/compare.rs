//! Pilot vs baseline: each measure as baseline, pilot, difference and a 95% bootstrap
//! interval of the difference, a Mann–Whitney test for cycle time, and — when segments are
//! given — the pilot re-weighted to the baseline's demand mix beside the raw figure.
//!
//! A case belongs to the period in which it was **created** (an arrival cohort); duration
//! and resolution measures use the cohort's resolved cases, so a pilot that ends recently
//! reports how many of its cases are still open. Throughput and backlog days are per day of
//! the period (backlog days = mean WIP at the end of each day / mean daily throughput) and are
//! bootstrapped over whole weeks (a block bootstrap: days are not independent).

use flowgate_flow::cases::CaseRecord;
use flowgate_flow::time::MS_PER_DAY;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::boot::{
    Bins, RankTest, binomial_with, mann_whitney, percentile_interval, resample_counts_with,
    weighted_mean, weighted_percentile,
};

/// A half-open interval of time `[from, to)` in UTC milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Period {
    pub fn contains(&self, t: i64) -> bool {
        t >= self.from_ms && t < self.to_ms
    }
}

/// Per-case inputs, all indexed by case.
pub struct CompareInput<'a> {
    pub records: &'a [CaseRecord],
    /// Segment of each case (an index into `segment_names`), for the mix adjustment.
    pub segments: Option<(&'a [u32], &'a [String])>,
    /// The resolution target of each case in seconds, where its priority has one.
    pub sla_target_s: Option<&'a [Option<f64>]>,
}

#[derive(Clone, Debug)]
pub struct CompareOptions {
    pub baseline: Period,
    pub pilot: Period,
    pub resamples: usize,
    pub seed: u64,
    /// What the segments are (`intent`, `team`, …), for the report.
    pub by: Option<String>,
    /// Where the bootstrap's shortcuts switch on (the defaults in production).
    pub shortcuts: crate::boot::Shortcuts,
}

/// Whether a higher value is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Adjusted {
    /// The pilot re-weighted to the baseline's mix.
    pub pilot: Option<f64>,
    pub difference: Option<f64>,
    pub ci95: Option<(f64, f64)>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Measure {
    pub name: &'static str,
    /// `s` (seconds), `share` (0–1) or `per_day`, `days`.
    pub unit: &'static str,
    pub better: Better,
    pub baseline: Option<f64>,
    pub pilot: Option<f64>,
    /// pilot − baseline.
    pub difference: Option<f64>,
    pub ci95: Option<(f64, f64)>,
    pub adjusted: Option<Adjusted>,
}

impl Measure {
    /// The interval excludes zero.
    pub fn significant(&self) -> bool {
        self.ci95.is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0)
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentRow {
    pub segment: String,
    pub baseline_cases: u64,
    pub pilot_cases: u64,
    pub baseline_share: f64,
    pub pilot_share: f64,
    pub baseline_cycle_p50_s: Option<f64>,
    pub pilot_cycle_p50_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Compare {
    pub baseline: Period,
    pub pilot: Period,
    pub baseline_cases: u64,
    pub pilot_cases: u64,
    pub baseline_open: u64,
    pub pilot_open: u64,
    pub resamples: usize,
    pub by: Option<String>,
    pub measures: Vec<Measure>,
    pub cycle_time_rank_test: Option<RankTest>,
    pub segments: Vec<SegmentRow>,
    /// Plain-language warnings: raw and mix-adjusted figures disagree, segments missing
    /// from one period, open cases.
    pub notes: Vec<String>,
}

impl Compare {
    pub fn measure(&self, name: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.name == name)
    }
}

/// Bootstrap replicates of every measure's difference: raw, and mix-adjusted.
type Replicates = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// Every figure of [`figures`] for both periods: baseline, pilot.
type PeriodFigures = [Vec<Option<f64>>; 2];

/// The bootstrap runs in this many independent chunks (one thread each).
const BOOT_CHUNKS: usize = 8;

const BINARY: [(&str, Better); 5] = [
    ("first_pass_resolution", Better::Higher),
    ("reopen_rate", Better::Lower),
    ("rework_rate", Better::Lower),
    ("escalation_rate", Better::Lower),
    ("sla_adherence", Better::Higher),
];

/// One period's figures for one segment.
#[derive(Clone, Default)]
struct Group {
    cases: u64,
    cycle: Vec<u64>,
    /// Touch time of resolved cases: (n, sum, sum of squares), seconds.
    touch: (u64, f64, f64),
    /// (successes, trials) per `BINARY` measure.
    binary: [(u64, u64); 5],
}

impl Group {
    fn new(cb: usize) -> Group {
        Group {
            cycle: vec![0; cb],
            ..Group::default()
        }
    }

    fn touch_mean(&self) -> Option<f64> {
        (self.touch.0 > 0).then(|| self.touch.1 / self.touch.0 as f64)
    }

    fn add(&mut self, other: &Group) {
        self.cases += other.cases;
        for (a, b) in self.cycle.iter_mut().zip(&other.cycle) {
            *a += b;
        }
        self.touch.0 += other.touch.0;
        self.touch.1 += other.touch.1;
        self.touch.2 += other.touch.2;
        for (a, b) in self.binary.iter_mut().zip(&other.binary) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}

/// Figures of a (possibly resampled) distribution: p50, p85, mean.
fn dist_stats(bins: &Bins, weights: &[f64]) -> [Option<f64>; 3] {
    [
        weighted_percentile(&bins.values, weights, 50.0),
        weighted_percentile(&bins.values, weights, 85.0),
        weighted_mean(&bins.values, weights),
    ]
}

fn as_f64(c: &[u64]) -> Vec<f64> {
    c.iter().map(|&x| x as f64).collect()
}

/// Every figure of one period from per-segment groups, either raw (pooled) or re-weighted
/// to `mix` (segment weights summing to 1).
fn figures(groups: &[Group], cbins: &Bins, mix: Option<&[f64]>) -> Vec<Option<f64>> {
    let mut out = Vec::with_capacity(10);
    let (cw, tw, rates) = match mix {
        None => {
            let mut all = Group::new(cbins.len());
            for g in groups {
                all.add(g);
            }
            let rates: Vec<Option<f64>> = all
                .binary
                .iter()
                .map(|&(k, n)| (n > 0).then(|| k as f64 / n as f64))
                .collect();
            (as_f64(&all.cycle), all.touch_mean(), rates)
        }
        Some(w) => {
            let mut cw = vec![0.0; cbins.len()];
            let (mut tw, mut tw_sum) = (0.0, 0.0);
            let mut rates = vec![Some(0.0); 5];
            let mut rate_w = [0.0; 5];
            for (g, &ws) in groups.iter().zip(w) {
                if ws <= 0.0 {
                    continue;
                }
                let nc: u64 = g.cycle.iter().sum();
                if nc > 0 {
                    for (a, &c) in cw.iter_mut().zip(&g.cycle) {
                        *a += ws * c as f64 / nc as f64;
                    }
                }
                if let Some(t) = g.touch_mean() {
                    tw += ws * t;
                    tw_sum += ws;
                }
                for (i, &(k, n)) in g.binary.iter().enumerate() {
                    if n > 0 {
                        rates[i] = rates[i].map(|r| r + ws * k as f64 / n as f64);
                        rate_w[i] += ws;
                    }
                }
            }
            for (r, w) in rates.iter_mut().zip(rate_w) {
                *r = if w > 0.0 { r.map(|x| x / w) } else { None };
            }
            (cw, (tw_sum > 0.0).then(|| tw / tw_sum), rates)
        }
    };
    out.extend(dist_stats(cbins, &cw));
    out.push(tw);
    out.extend(rates);
    out
}

const NAMES: [(&str, &str, Better); 9] = [
    ("cycle_time_p50", "s", Better::Lower),
    ("cycle_time_p85", "s", Better::Lower),
    ("cycle_time_mean", "s", Better::Lower),
    ("touch_time_mean", "s", Better::Lower),
    (BINARY[0].0, "share", BINARY[0].1),
    (BINARY[1].0, "share", BINARY[1].1),
    (BINARY[2].0, "share", BINARY[2].1),
    (BINARY[3].0, "share", BINARY[3].1),
    (BINARY[4].0, "share", BINARY[4].1),
];

fn resample_group(
    g: &Group,
    rng: &mut ChaCha8Rng,
    buf: &mut Vec<u64>,
    sc: crate::boot::Shortcuts,
) -> Group {
    let mut r = Group::new(g.cycle.len());
    r.cases = g.cases;
    resample_counts_with(&g.cycle, rng, buf, sc.normal_above);
    r.cycle.copy_from_slice(buf);
    // Touch time only feeds a mean: its resampled mean is drawn from the normal the central
    // limit theorem gives (mean, sd/√n), which spares a second multinomial per group.
    let (n, sum, sumsq) = g.touch;
    if n > 0 {
        let nf = n as f64;
        let mean = sum / nf;
        let var = (sumsq / nf - mean * mean).max(0.0);
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        r.touch = (n, nf * (mean + (var / nf).sqrt() * z), sumsq);
    }
    for (i, &(k, n)) in g.binary.iter().enumerate() {
        r.binary[i] = (
            binomial_with(
                rng,
                n,
                if n > 0 { k as f64 / n as f64 } else { 0.0 },
                sc.normal_above,
            ),
            n,
        );
    }
    r
}

/// The period (0 baseline, 1 pilot) a case belongs to by its creation, if any.
fn period_of(opts: &CompareOptions, r: &CaseRecord) -> Option<usize> {
    if opts.baseline.contains(r.created) {
        Some(0)
    } else if opts.pilot.contains(r.created) {
        Some(1)
    } else {
        None
    }
}

/// The segment of case `c` (0 without segments).
fn segment_of(input: &CompareInput, c: usize) -> usize {
    match input.segments {
        Some((ids, _)) => ids.get(c).map_or(0, |&s| s as usize),
        None => 0,
    }
}

impl Group {
    /// Counts case `r` (`sla_target_s` its resolution target); false if it is still open.
    fn add_case(&mut self, cbins: &Bins, r: &CaseRecord, sla_target_s: Option<f64>) -> bool {
        self.cases += 1;
        let mut tally = |i: usize, yes: bool| {
            self.binary[i].0 += yes as u64;
            self.binary[i].1 += 1;
        };
        tally(2, r.rework());
        tally(3, r.escalated);
        let Some(ms) = r.cycle_ms() else {
            return false;
        };
        let s = ms as f64 / 1000.0;
        tally(0, r.first_pass());
        tally(1, r.reopens > 0);
        if let Some(t) = sla_target_s {
            tally(4, s <= t);
        }
        self.cycle[cbins.index(s)] += 1;
        let t = r.touch_ms as f64 / 1000.0;
        self.touch.0 += 1;
        self.touch.1 += t;
        self.touch.2 += t * t;
        true
    }
}

/// Both periods' cases, tallied.
struct Tallies {
    /// Cycle-time bins shared by both periods.
    cbins: Bins,
    /// Per period, per segment.
    groups: Vec<Vec<Group>>,
    /// Open cases per period.
    open: [u64; 2],
    /// Cycle times (s) of each period's resolved cases.
    raw_cycles: [Vec<f64>; 2],
}

/// Tallies the cases of both periods into `n_seg` segments each.
fn tally_periods(input: &CompareInput, opts: &CompareOptions, n_seg: usize) -> Tallies {
    let recs = input.records;
    // Shared bins over both periods.
    let mut cyc_vals = Vec::new();
    let mut raw_cycles: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for r in recs {
        if let (Some(p), Some(ms)) = (period_of(opts, r), r.cycle_ms()) {
            cyc_vals.push(ms as f64 / 1000.0);
            raw_cycles[p].push(ms as f64 / 1000.0);
        }
    }
    let cbins = Bins::with_max(&mut cyc_vals, opts.shortcuts.max_bins);
    let mut groups = vec![vec![Group::new(cbins.len()); n_seg]; 2];
    let mut open = [0u64; 2];
    for (c, r) in recs.iter().enumerate() {
        let Some(p) = period_of(opts, r) else {
            continue;
        };
        let g = &mut groups[p][segment_of(input, c).min(n_seg - 1)];
        let target = input.sla_target_s.and_then(|t| t.get(c).copied().flatten());
        if !g.add_case(&cbins, r, target) {
            open[p] += 1;
        }
    }
    Tallies {
        cbins,
        groups,
        open,
        raw_cycles,
    }
}

/// Raw point estimates of both periods, with exact nearest-rank percentiles from the raw
/// cycle times (which this sorts).
fn point_estimates(t: &mut Tallies) -> PeriodFigures {
    let mut point = [
        figures(&t.groups[0], &t.cbins, None),
        figures(&t.groups[1], &t.cbins, None),
    ];
    for (p, v) in t.raw_cycles.iter_mut().enumerate() {
        v.sort_unstable_by(f64::total_cmp);
        if !v.is_empty() {
            let at = |q: u32| v[flowgate_flow::stats::nearest_rank(q, v.len()) - 1];
            point[p][0] = Some(at(50));
            point[p][1] = Some(at(85));
        }
    }
    point
}

/// The segment weights of the mix adjustment: the baseline's mix over the segments the
/// pilot has, renormalised (segments missing from the pilot cannot be re-weighted).
fn adjusted_mix(groups: &[Vec<Group>], nb: u64) -> Vec<f64> {
    // Baseline mix: each segment's share of baseline cases.
    let mix: Vec<f64> = groups[0]
        .iter()
        .map(|g| {
            if nb > 0 {
                g.cases as f64 / nb as f64
            } else {
                0.0
            }
        })
        .collect();
    let shared: Vec<f64> = mix
        .iter()
        .zip(&groups[1])
        .map(|(&w, g)| if g.cases > 0 { w } else { 0.0 })
        .collect();
    let shared_total: f64 = shared.iter().sum();
    shared
        .iter()
        .map(|w| w / shared_total.max(1e-300))
        .collect()
}

/// `count` bootstrap replicates of every difference, from random stream `chunk`; the
/// mix-adjusted ones only with `adj_mix`.
fn bootstrap_chunk(
    t: &Tallies,
    adj_mix: Option<&[f64]>,
    opts: &CompareOptions,
    chunk: usize,
    count: usize,
) -> Replicates {
    let k = NAMES.len();
    let mut raw: Vec<Vec<f64>> = vec![Vec::with_capacity(count); k];
    let mut adj: Vec<Vec<f64>> = vec![Vec::with_capacity(count); k];
    let mut rng =
        ChaCha8Rng::seed_from_u64(opts.seed ^ (chunk as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut buf = Vec::new();
    for _ in 0..count {
        let mut f = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        for p in 0..2 {
            let rs: Vec<Group> = t.groups[p]
                .iter()
                .map(|g| resample_group(g, &mut rng, &mut buf, opts.shortcuts))
                .collect();
            f[p] = figures(&rs, &t.cbins, None);
            if let Some(w) = adj_mix {
                f[2 + p] = figures(&rs, &t.cbins, Some(w));
            }
        }
        for i in 0..k {
            if let (Some(a), Some(b)) = (f[0][i], f[1][i]) {
                raw[i].push(b - a);
            }
            if adj_mix.is_some()
                && let (Some(a), Some(b)) = (f[2][i], f[3][i])
            {
                adj[i].push(b - a);
            }
        }
    }
    (raw, adj)
}

/// Bootstrap replicates of every difference, in a fixed number of chunks with their own
/// random streams (so the result does not depend on how many threads ran them), on scoped
/// threads.
fn bootstrap(t: &Tallies, adj_mix: Option<&[f64]>, opts: &CompareOptions) -> Replicates {
    let k = NAMES.len();
    let chunk_reps: Vec<usize> = (0..BOOT_CHUNKS)
        .map(|c| opts.resamples / BOOT_CHUNKS + usize::from(c < opts.resamples % BOOT_CHUNKS))
        .collect();
    let parts: Vec<Replicates> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunk_reps
            .iter()
            .enumerate()
            .map(|(c, &n)| scope.spawn(move || bootstrap_chunk(t, adj_mix, opts, c, n)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a bootstrap chunk does not panic"))
            .collect()
    });
    let mut reps_raw: Vec<Vec<f64>> = vec![Vec::with_capacity(opts.resamples); k];
    let mut reps_adj: Vec<Vec<f64>> = vec![Vec::with_capacity(opts.resamples); k];
    for (raw, adj) in parts {
        for i in 0..k {
            reps_raw[i].extend(&raw[i]);
            reps_adj[i].extend(&adj[i]);
        }
    }
    (reps_raw, reps_adj)
}

/// The measures of [`NAMES`] from the point estimates, the mix-adjusted figures of both
/// periods (when segmented) and the bootstrap replicates.
fn point_measures(
    point: &PeriodFigures,
    adjusted: Option<&PeriodFigures>,
    reps: &mut Replicates,
) -> Vec<Measure> {
    let (reps_raw, reps_adj) = reps;
    let diff = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    NAMES
        .iter()
        .enumerate()
        .map(|(i, &(name, unit, better))| Measure {
            name,
            unit,
            better,
            baseline: point[0][i],
            pilot: point[1][i],
            difference: diff(point[0][i], point[1][i]),
            ci95: percentile_interval(&mut reps_raw[i]),
            adjusted: adjusted.map(|[ab, ap]| Adjusted {
                pilot: ap[i],
                // The adjusted difference compares like with like: both periods
                // re-weighted to the shared segments' baseline mix.
                difference: diff(ab[i], ap[i]),
                ci95: percentile_interval(&mut reps_adj[i]),
            }),
        })
        .collect()
}

/// Warnings where the raw and the mix-adjusted difference disagree in direction or
/// significance.
fn mix_notes(measures: &[Measure]) -> Vec<String> {
    let mut notes = Vec::new();
    for m in measures {
        let Some(a) = &m.adjusted else { continue };
        let (Some(raw), Some(adj)) = (m.difference, a.difference) else {
            continue;
        };
        let raw_sig = m.significant();
        let adj_sig = a.ci95.is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0);
        if (raw_sig || adj_sig) && raw.signum() != adj.signum() {
            notes.push(format!(
                "{}: the raw figure says {} but within segments it {} — the demand mix changed; trust the mix-adjusted figure",
                m.name,
                direction(raw, m.better),
                direction(adj, m.better)
            ));
        } else if raw_sig != adj_sig {
            notes.push(format!(
                "{}: the raw difference is {}significant, the mix-adjusted one is {}— part of the raw change comes from the demand mix",
                m.name,
                if raw_sig { "" } else { "not " },
                if adj_sig { "" } else { "not " }
            ));
        }
    }
    notes
}

/// One row per segment with cases in either period (`nb`, `np`: all cases per period);
/// notes the segments the pilot lacks.
fn segment_rows(
    seg_names: &[String],
    t: &Tallies,
    (nb, np): (u64, u64),
    notes: &mut Vec<String>,
) -> Vec<SegmentRow> {
    let mut segments = Vec::new();
    for (s, name) in seg_names.iter().enumerate() {
        let (b, p) = (&t.groups[0][s], &t.groups[1][s]);
        if b.cases == 0 && p.cases == 0 {
            continue;
        }
        let p50 = |g: &Group| weighted_percentile(&t.cbins.values, &as_f64(&g.cycle), 50.0);
        segments.push(SegmentRow {
            segment: name.clone(),
            baseline_cases: b.cases,
            pilot_cases: p.cases,
            baseline_share: ratio(b.cases, nb),
            pilot_share: ratio(p.cases, np),
            baseline_cycle_p50_s: p50(b),
            pilot_cycle_p50_s: p50(p),
        });
        if b.cases > 0 && p.cases == 0 {
            notes.push(format!(
                "segment {name:?} has {} baseline cases and none in the pilot: left out of the mix adjustment",
                b.cases
            ));
        }
    }
    segments
}

/// Compares the two periods.
pub fn compare(input: &CompareInput, opts: &CompareOptions) -> Compare {
    let seg_names: Vec<String> = match input.segments {
        Some((_, names)) => names.to_vec(),
        None => vec!["all".to_owned()],
    };
    let n_seg = seg_names.len().max(1);
    let mut t = tally_periods(input, opts, n_seg);
    let cases = |p: usize| t.groups[p].iter().map(|g| g.cases).sum::<u64>();
    let (nb, np) = (cases(0), cases(1));
    let segmented = input.segments.is_some() && n_seg > 1;

    let point = point_estimates(&mut t);
    let adj_mix = adjusted_mix(&t.groups, nb);
    let adjusted = segmented.then(|| {
        [
            figures(&t.groups[0], &t.cbins, Some(&adj_mix)),
            figures(&t.groups[1], &t.cbins, Some(&adj_mix)),
        ]
    });
    let mut reps = bootstrap(&t, segmented.then_some(&adj_mix[..]), opts);
    let mut measures = point_measures(&point, adjusted.as_ref(), &mut reps);
    if input.sla_target_s.is_none() {
        measures.retain(|m| m.name != "sla_adherence");
    }
    measures.extend(daily_measures(input.records, opts));

    let mut notes = mix_notes(&measures);
    let segments = if segmented {
        segment_rows(&seg_names, &t, (nb, np), &mut notes)
    } else {
        Vec::new()
    };
    for (p, label, n) in [(0, "baseline", nb), (1, "pilot", np)] {
        if n > 0 && t.open[p] as f64 > 0.05 * n as f64 {
            notes.push(format!(
                "{} of {} {label} cases are still open: its duration figures cover resolved cases only",
                t.open[p], n
            ));
        }
    }
    Compare {
        baseline: opts.baseline,
        pilot: opts.pilot,
        baseline_cases: nb,
        pilot_cases: np,
        baseline_open: t.open[0],
        pilot_open: t.open[1],
        resamples: opts.resamples,
        by: opts.by.clone(),
        measures,
        cycle_time_rank_test: mann_whitney(&t.raw_cycles[0], &t.raw_cycles[1]),
        segments,
        notes,
    }
}

fn ratio(k: u64, n: u64) -> f64 {
    if n == 0 { 0.0 } else { k as f64 / n as f64 }
}

fn direction(d: f64, better: Better) -> &'static str {
    let improved = match better {
        Better::Lower => d < 0.0,
        Better::Higher => d > 0.0,
    };
    if d == 0.0 {
        "no change"
    } else if improved {
        "improved"
    } else {
        "got worse"
    }
}

/// Throughput per day and backlog days, bootstrapped over the weeks of each period.
fn daily_measures(recs: &[CaseRecord], opts: &CompareOptions) -> Vec<Measure> {
    let lo = opts
        .baseline
        .from_ms
        .min(opts.pilot.from_ms)
        .div_euclid(MS_PER_DAY);
    let hi = opts
        .baseline
        .to_ms
        .max(opts.pilot.to_ms)
        .div_euclid(MS_PER_DAY)
        + 1;
    let n_days = (hi - lo).max(0) as usize;
    if n_days == 0 || n_days > 100_000 {
        return Vec::new();
    }
    // WIP at the end of day d = created ≤ end(d) and not resolved by end(d).
    let mut delta = vec![0i64; n_days + 1];
    let mut resolved = vec![0u64; n_days];
    let mut wip_before = 0i64;
    let day = |t: i64| t.div_euclid(MS_PER_DAY) - lo;
    for r in recs {
        let dc = day(r.created);
        if dc < 0 {
            wip_before += 1;
        } else if (dc as usize) < n_days {
            delta[dc as usize] += 1;
        }
        if let Some(res) = r.resolved_at {
            let dr = day(res);
            if dr < 0 {
                wip_before -= 1;
            } else if (dr as usize) < n_days {
                delta[dr as usize] -= 1;
                resolved[dr as usize] += 1;
            }
        }
    }
    let mut wip = Vec::with_capacity(n_days);
    let mut acc = wip_before;
    for d in delta.iter().take(n_days) {
        acc += d;
        wip.push(acc.max(0) as f64);
    }
    let days_of = |p: &Period| -> Vec<usize> {
        (0..n_days)
            .filter(|&d| {
                let start = (lo + d as i64) * MS_PER_DAY;
                start >= p.from_ms && start + MS_PER_DAY <= p.to_ms
            })
            .collect()
    };
    let (db, dp) = (days_of(&opts.baseline), days_of(&opts.pilot));
    if db.is_empty() || dp.is_empty() {
        return Vec::new();
    }
    let stats = |days: &[usize]| -> (f64, Option<f64>) {
        let n = days.len() as f64;
        let tp = days.iter().map(|&d| resolved[d] as f64).sum::<f64>() / n;
        let w = days.iter().map(|&d| wip[d]).sum::<f64>() / n;
        (tp, (tp > 0.0).then(|| w / tp))
    };
    let (b, p) = (stats(&db), stats(&dp));
    // A block bootstrap: days are not independent (a weekly rhythm, backlogs carried from
    // one day to the next), so whole weeks of each period are resampled, never single days.
    let (wb, wp): (Vec<&[usize]>, Vec<&[usize]>) = (db.chunks(7).collect(), dp.chunks(7).collect());
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5eed);
    let mut reps = [Vec::new(), Vec::new()];
    let (mut sb, mut sp) = (
        Vec::with_capacity(db.len() + 7),
        Vec::with_capacity(dp.len() + 7),
    );
    for _ in 0..opts.resamples {
        sb.clear();
        sp.clear();
        for _ in 0..wb.len() {
            sb.extend_from_slice(wb.choose(&mut rng).expect("not empty"));
        }
        for _ in 0..wp.len() {
            sp.extend_from_slice(wp.choose(&mut rng).expect("not empty"));
        }
        let (rb, rp) = (stats(&sb), stats(&sp));
        reps[0].push(rp.0 - rb.0);
        if let (Some(x), Some(y)) = (rb.1, rp.1) {
            reps[1].push(y - x);
        }
    }
    let [mut r0, mut r1] = reps;
    vec![
        Measure {
            name: "throughput",
            unit: "per_day",
            better: Better::Higher,
            baseline: Some(b.0),
            pilot: Some(p.0),
            difference: Some(p.0 - b.0),
            ci95: percentile_interval(&mut r0),
            adjusted: None,
        },
        Measure {
            name: "backlog_days",
            unit: "days",
            better: Better::Lower,
            baseline: b.1,
            pilot: p.1,
            difference: match (b.1, p.1) {
                (Some(x), Some(y)) => Some(y - x),
                _ => None,
            },
            ci95: percentile_interval(&mut r1),
            adjusted: None,
        },
    ]
}
