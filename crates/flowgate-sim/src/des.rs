//! A discrete-event simulation of the support organisation, fitted from its event log.
//!
//! **Model.** Every resolved case of the log becomes a *template*: the sequence of intervals
//! between its events up to its resolution, each either *work* (the case is `working`, owned by
//! a team) or a *delay* (any other state: in a queue, waiting for the customer, waiting on
//! another team). Reopens are part of the templates, so the reopen probability is the log's.
//! Arrivals follow the log's mean rate per hour of the week (Poisson within each hour); each
//! arrival draws a template created in the same hour of the week (any, when that hour has
//! none), which keeps the hour's mix of intents, the routes through teams (each template's
//! handoff sequence), the time per state, and how waits fall across nights and weekends. Work passes a team's *capacity* first,
//! and waits in a first-come, first-served queue when there is none:
//!
//! - fitted from a log, capacity is a **throughput**: work steps a team can start per hour of
//!   the week — the most the log shows it starting in that hour of any week (at least its
//!   mean hourly rate), so the baseline rarely queues, while a spike or fewer agents does;
//!   an agent is worth the team's rate divided by the people the log shows working for it;
//! - built from parts (textbook queues, tests), capacity is **slots**: cases worked at once.
//!
//! Delays are replayed as observed: they already hold the queueing of the log's own period,
//! so the baseline reproduces the observed cycle time, and extra queueing appears only when a
//! scenario pushes work past a team's capacity (spikes, fewer agents, shifts).
//!
//! **Scenario levers.** AI takes a share of an intent's cases (done in `ai_handle_minutes`;
//! a `1 − precision` share comes back after `reopen_delay_hours` and follows its human
//! template); merged teams pool their capacity and drop the delays that followed a handoff
//! between them; spikes multiply arrivals on given days; staffing and shifts set capacity.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use flowgate_flow::cases::CaseRecord;
use flowgate_flow::log::EventLog;
use flowgate_flow::model::{NONE, State};
use flowgate_flow::stats::nearest_rank;
use flowgate_flow::time::{MS_PER_DAY, week_start};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};
use serde::Serialize;

use crate::scenario::{Scenario, WEEKDAYS};

const HOUR: i64 = 3_600_000;
const HOURS_PER_WEEK: usize = 168;

/// One interval of a template.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Work needs a slot of `team`; a delay just passes.
    pub work: bool,
    pub team: u32,
    /// For a delay right after a handoff: the team the case came from (`NONE` otherwise).
    pub from_team: u32,
    pub dur_ms: i64,
}

#[derive(Clone, Debug)]
struct Template {
    start: u32,
    end: u32,
    intent: u32,
    sla_target_ms: Option<i64>,
    /// Hour of the week the case was created in.
    how: u16,
}

/// Observed figures of the log the model was fitted on.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Observed {
    pub resolved_cases: u64,
    pub cycle_time_p50_s: Option<f64>,
    pub cycle_time_p85_s: Option<f64>,
    pub cycle_time_p95_s: Option<f64>,
    pub sla_adherence: Option<f64>,
}

/// How much work a team can take on.
#[derive(Clone, Debug, PartialEq)]
pub enum Capacity {
    /// Cases worked at once.
    Slots(u32),
    /// Work steps started per hour of the week (168 values, Monday 00:00 UTC first), and
    /// the people the log shows working for the team (what one agent is worth).
    Rate { per_hour: Vec<f64>, agents: u32 },
}

impl Capacity {
    /// The mean over the week: slots, or starts per hour.
    pub fn mean(&self) -> f64 {
        match self {
            Capacity::Slots(n) => *n as f64,
            Capacity::Rate { per_hour, .. } => {
                per_hour.iter().sum::<f64>() / per_hour.len().max(1) as f64
            }
        }
    }
}

/// The fitted model.
#[derive(Clone, Debug)]
pub struct Model {
    pub teams: Vec<String>,
    pub intents: Vec<String>,
    /// Mean arrivals per hour of the week (0 = Monday 00:00 UTC).
    pub arrivals_per_hour: Vec<f64>,
    /// Capacity per team.
    pub capacity: Vec<Capacity>,
    /// The log's span in whole days (the default horizon).
    pub span_days: u32,
    pub observed: Observed,
    steps: Vec<Step>,
    templates: Vec<Template>,
    /// Templates by the hour of the week their case was created in (empty for models built
    /// from parts: they draw from all).
    by_how: Vec<Vec<u32>>,
}

/// Templates by hour of creation, when every hour of the week has some.
fn by_hour(templates: &[Template]) -> Vec<Vec<u32>> {
    let mut by = vec![Vec::new(); HOURS_PER_WEEK];
    for (i, t) in templates.iter().enumerate() {
        by[t.how as usize].push(i as u32);
    }
    by
}

/// The intent of cases that have none in the log.
pub const NO_INTENT: &str = "(no intent)";

impl Model {
    /// Cases (templates) per intent, in the order of `intents`.
    pub fn cases_per_intent(&self) -> Vec<(String, usize)> {
        let mut n = vec![0usize; self.intents.len()];
        for t in &self.templates {
            if let Some(x) = n.get_mut(t.intent as usize) {
                *x += 1;
            }
        }
        self.intents.iter().cloned().zip(n).collect()
    }

    /// Fits the model. `intent_of` gives each case's intent (an index into `intents`, `None`
    /// when the case has none: such cases form an intent of their own, [`NO_INTENT`], which
    /// AI levers for `*` leave alone); `sla_target_s` each case's resolution target.
    pub fn fit(
        log: &EventLog,
        records: &[CaseRecord],
        mut intents: Vec<String>,
        intent_of: &[Option<u32>],
        sla_target_s: Option<&[Option<f64>]>,
    ) -> Model {
        let none = intents.len() as u32;
        if (0..records.len()).any(|c| intent_of.get(c).copied().flatten().is_none()) {
            intents.push(NO_INTENT.to_owned());
        }
        let mut scan = FitScan::new(log.teams.len());
        for (c, r) in records.iter().enumerate() {
            let Some(res) = r.resolved_at else { continue };
            let start = scan.steps.len() as u32;
            scan.add_case_steps(log, c, res);
            scan.templates.push(Template {
                start,
                end: scan.steps.len() as u32,
                intent: intent_of.get(c).copied().flatten().unwrap_or(none),
                sla_target_ms: sla_target_s
                    .and_then(|t| t.get(c).copied().flatten())
                    .map(|s| (s * 1000.0) as i64),
                how: hour_of_week(r.created) as u16,
            });
        }
        let (lo, hi) = log.span().unwrap_or((0, 0));
        let span_ms = (hi - lo).max(HOUR);
        let capacity = scan.capacity(span_ms);
        let FitScan {
            steps, templates, ..
        } = scan;
        Model {
            teams: log.teams.iter().map(str::to_owned).collect(),
            intents,
            arrivals_per_hour: arrivals_per_hour(records, span_ms),
            capacity,
            span_days: (span_ms as f64 / MS_PER_DAY as f64).ceil() as u32,
            observed: observed(records, &templates, &steps),
            by_how: by_hour(&templates),
            steps,
            templates,
        }
    }

    /// A model from explicit parts (tests, textbook queues): each template is a list of
    /// steps with intent 0 and no SLA.
    pub fn from_parts(
        teams: Vec<String>,
        capacity: Vec<Capacity>,
        arrivals_per_hour: Vec<f64>,
        templates: Vec<Vec<Step>>,
        span_days: u32,
    ) -> Model {
        let mut steps = Vec::new();
        let tpl = templates
            .into_iter()
            .map(|t| {
                let start = steps.len() as u32;
                steps.extend(t);
                Template {
                    start,
                    end: steps.len() as u32,
                    intent: 0,
                    sla_target_ms: None,
                    how: 0,
                }
            })
            .collect();
        Model {
            teams,
            intents: vec!["all".to_owned()],
            arrivals_per_hour,
            capacity,
            span_days,
            observed: Observed {
                resolved_cases: 0,
                cycle_time_p50_s: None,
                cycle_time_p85_s: None,
                cycle_time_p95_s: None,
                sla_adherence: None,
            },
            steps,
            templates: tpl,
            by_how: Vec::new(),
        }
    }

    pub fn templates(&self) -> usize {
        self.templates.len()
    }

    pub fn arrivals_per_day(&self) -> f64 {
        self.arrivals_per_hour.iter().sum::<f64>() / 7.0
    }
}

/// What [`Model::fit`] collects from the log's resolved cases.
struct FitScan {
    steps: Vec<Step>,
    templates: Vec<Template>,
    /// Work starts per (team, absolute hour).
    starts: Vec<rustc_hash::FxHashMap<i64, u32>>,
    /// Who worked for each team.
    people: Vec<rustc_hash::FxHashSet<u32>>,
}

impl FitScan {
    /// Nothing collected yet, for `n_teams` teams.
    fn new(n_teams: usize) -> Self {
        Self {
            steps: Vec::new(),
            templates: Vec::new(),
            starts: vec![Default::default(); n_teams],
            people: vec![Default::default(); n_teams],
        }
    }

    /// Appends the steps of case `c` up to its resolution at `res`, counting the work starts
    /// and the people of each team on the way.
    fn add_case_steps(&mut self, log: &EventLog, c: usize, res: i64) {
        let (ts, team, resource) = (log.ts(), log.team(), log.resource());
        let steps = &mut self.steps;
        let ev = log.case_events(c);
        let start = steps.len() as u32;
        let mut cur_state: Option<State> = None;
        let mut cur_team = NONE;
        let mut handoff_from = NONE;
        for e in ev.clone() {
            if let Some(s) = log.state(e) {
                cur_state = Some(s);
            }
            let t = team[e];
            if t != NONE {
                if cur_team != NONE && t != cur_team {
                    handoff_from = cur_team;
                }
                cur_team = t;
            }
            if e + 1 >= ev.end || ts[e] >= res {
                break;
            }
            let (a, b) = (ts[e], ts[e + 1].min(res));
            if b <= a {
                continue;
            }
            let work = cur_state == Some(State::Working) && cur_team != NONE;
            if work {
                let starts_here = !(steps.len() as u32 > start
                    && steps
                        .last()
                        .is_some_and(|l: &Step| l.work && l.team == cur_team));
                if starts_here {
                    *self.starts[cur_team as usize]
                        .entry(a.div_euclid(HOUR))
                        .or_default() += 1;
                }
                if resource[e] != NONE {
                    self.people[cur_team as usize].insert(resource[e]);
                }
                handoff_from = NONE;
            }
            let from_team = if work { NONE } else { handoff_from };
            let same = steps.len() as u32 > start
                && steps.last().is_some_and(|l: &Step| {
                    l.work == work && l.team == cur_team && l.from_team == from_team
                });
            if same {
                steps.last_mut().expect("checked").dur_ms += b - a;
            } else {
                steps.push(Step {
                    work,
                    team: cur_team,
                    from_team,
                    dur_ms: b - a,
                });
            }
        }
    }

    /// Capacity per team: per hour of the week, the most work starts seen in that hour of
    /// any week, and never below the team's mean hourly rate over `span_ms`.
    fn capacity(&self, span_ms: i64) -> Vec<Capacity> {
        let hours = (span_ms as f64 / HOUR as f64).max(1.0);
        self.starts
            .iter()
            .zip(&self.people)
            .map(|(by_hour, who)| {
                let total: u32 = by_hour.values().sum();
                let mean = total as f64 / hours;
                let mut per_hour = vec![mean.max(1e-9); HOURS_PER_WEEK];
                for (&h, &n) in by_hour {
                    let how = hour_of_week(h * HOUR);
                    per_hour[how] = per_hour[how].max(n as f64);
                }
                Capacity::Rate {
                    per_hour,
                    agents: who.len().max(1) as u32,
                }
            })
            .collect()
    }
}

/// Arrivals per hour of the week, averaged over the weeks `span_ms` spans.
fn arrivals_per_hour(records: &[CaseRecord], span_ms: i64) -> Vec<f64> {
    let mut per_how = vec![0.0; HOURS_PER_WEEK];
    for r in records {
        per_how[hour_of_week(r.created)] += 1.0;
    }
    let weeks = span_ms as f64 / (7.0 * MS_PER_DAY as f64);
    for x in per_how.iter_mut() {
        *x /= weeks.max(1.0 / HOURS_PER_WEEK as f64);
    }
    per_how
}

/// The log's cycle-time percentiles and, from the templates, its SLA adherence.
fn observed(records: &[CaseRecord], templates: &[Template], steps: &[Step]) -> Observed {
    let mut cycles: Vec<i64> = records.iter().filter_map(CaseRecord::cycle_ms).collect();
    cycles.sort_unstable();
    let pct = |p: u32| -> Option<f64> {
        (!cycles.is_empty()).then(|| cycles[nearest_rank(p, cycles.len()) - 1] as f64 / 1000.0)
    };
    let (met, with) = templates
        .iter()
        .filter_map(|t| {
            let cyc: i64 = steps[t.start as usize..t.end as usize]
                .iter()
                .map(|s| s.dur_ms)
                .sum();
            t.sla_target_ms.map(|g| (cyc <= g) as u64)
        })
        .fold((0, 0), |(m, w), x| (m + x, w + 1));
    Observed {
        resolved_cases: cycles.len() as u64,
        cycle_time_p50_s: pct(50),
        cycle_time_p85_s: pct(85),
        cycle_time_p95_s: pct(95),
        sla_adherence: (with > 0).then(|| met as f64 / with as f64),
    }
}

/// The hour of the week (0 = Monday 00:00 UTC) of instant `ms`.
fn hour_of_week(ms: i64) -> usize {
    ((ms - week_start(ms)) / HOUR) as usize % HOURS_PER_WEEK
}

/// A figure over replications: the mean, and the 5th and 95th percentiles (nearest rank).
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Band {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Band {
    fn of(mut v: Vec<f64>) -> Option<Band> {
        v.retain(|x| x.is_finite());
        if v.is_empty() {
            return None;
        }
        v.sort_unstable_by(f64::total_cmp);
        let at = |p| v[nearest_rank(p, v.len()) - 1];
        Some(Band {
            mean: v.iter().sum::<f64>() / v.len() as f64,
            lo: at(5),
            hi: at(95),
        })
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Check {
    pub measure: &'static str,
    pub observed_s: f64,
    pub simulated_s: f64,
    pub relative_error: f64,
    pub within_10pct: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SimResult {
    pub replications: usize,
    pub days: u32,
    pub cases: Band,
    pub cycle_time_p50_s: Option<Band>,
    pub cycle_time_p85_s: Option<Band>,
    pub cycle_time_p95_s: Option<Band>,
    pub cycle_time_mean_s: Option<Band>,
    /// Mean time a work step waited for the team's capacity.
    pub queue_wait_mean_s: Option<Band>,
    pub sla_adherence: Option<Band>,
    pub ai_handled_share: Option<Band>,
    pub ai_reopen_share: Option<Band>,
    /// Cases open at the end of each day of the horizon.
    pub backlog: Vec<Band>,
    pub capacity: Vec<(String, f64)>,
    /// Each replication's figures, in seed order (a scenario and its baseline run on the
    /// same seeds, so their differences pair up).
    pub per_replication: Vec<RepFigures>,
    pub observed: Observed,
    /// The scenario's figures against the observed log (meaningful for the baseline).
    pub validation: Vec<Check>,
}

/// One replication's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RepFigures {
    pub cycle_time_mean_s: Option<f64>,
    pub cycle_time_p50_s: Option<f64>,
    pub sla_adherence: Option<f64>,
    /// Agent time (work steps) per day of the horizon, in hours.
    pub work_hours_per_day: f64,
    pub backlog_end: f64,
}

/// The scenario resolved against one model.
struct Plan {
    days: u32,
    rate: Vec<f64>,
    spikes: Vec<(u32, u32, f64)>,
    ai_share: Vec<f64>,
    ai_precision: Vec<f64>,
    ai_handle_ms: i64,
    reopen_delay_ms: i64,
    team_map: Vec<u32>,
    /// Capacity per (merged) team and hour of the week: slots, or starts per hour.
    cap: Vec<[f64; HOURS_PER_WEEK]>,
    /// Whether a team's capacity is slots (else a rate).
    slots: Vec<bool>,
    has_shifts: bool,
    /// Arrival times given (ms from time 0, a Monday 00:00, sorted) instead of drawn.
    fixed_arrivals: Option<Vec<i64>>,
    /// Cases resolved at or after this instant (ms) do not count in the cycle times or SLA
    /// (they are still open at the horizon, as the log's own cases are).
    censor_ms: Option<i64>,
}

fn plan(m: &Model, s: &Scenario) -> Plan {
    let n_teams = m.teams.len();
    let idx = |name: &str| m.teams.iter().position(|t| t == name);
    let mut team_map: Vec<u32> = (0..n_teams as u32).collect();
    for g in &s.merge {
        let ids: Vec<usize> = g.teams.iter().filter_map(|t| idx(t)).collect();
        if let Some(&first) = ids.first() {
            for &i in &ids {
                team_map[i] = first as u32;
            }
        }
    }
    let scale = s.capacity_scale.unwrap_or(1.0);
    // Per team, in its own unit (slots, or starts per hour): the week's profile, and what
    // one agent is worth.
    let mut profile: Vec<[f64; HOURS_PER_WEEK]> = Vec::with_capacity(n_teams);
    let mut per_agent: Vec<f64> = Vec::with_capacity(n_teams);
    for c in &m.capacity {
        match c {
            Capacity::Slots(n) => {
                profile.push([*n as f64 * scale; HOURS_PER_WEEK]);
                per_agent.push(1.0);
            }
            Capacity::Rate { per_hour, agents } => {
                let mut p = [0.0; HOURS_PER_WEEK];
                for (a, b) in p.iter_mut().zip(per_hour) {
                    *a = b * scale;
                }
                profile.push(p);
                per_agent.push(c.mean() / (*agents).max(1) as f64);
            }
        }
    }
    for (t, &agents) in &s.staffing {
        let Some(i) = idx(t) else { continue };
        match &m.capacity[i] {
            Capacity::Slots(_) => profile[i] = [agents; HOURS_PER_WEEK],
            Capacity::Rate { agents: seen, .. } => {
                // The same weekly shape, scaled to the new head count.
                let k = agents / (*seen).max(1) as f64 / scale.max(1e-12);
                for x in profile[i].iter_mut() {
                    *x *= k;
                }
            }
        }
    }
    let mut has_shifts = false;
    let mut shifted = vec![false; n_teams];
    for sh in &s.shifts {
        let Some(i) = idx(&sh.team) else { continue };
        if !shifted[i] {
            shifted[i] = true;
            profile[i] = [0.0; HOURS_PER_WEEK];
        }
        has_shifts = true;
        for (d, name) in WEEKDAYS.iter().enumerate() {
            if !sh.weekdays.is_empty() && !sh.weekdays.iter().any(|w| w.eq_ignore_ascii_case(name))
            {
                continue;
            }
            for h in sh.from_hour..sh.to_hour {
                profile[i][d * 24 + h as usize] += sh.agents * per_agent[i];
            }
        }
    }
    let mut cap = vec![[0.0; HOURS_PER_WEEK]; n_teams];
    for (i, p) in profile.iter().enumerate() {
        let target = team_map[i] as usize;
        for (a, b) in cap[target].iter_mut().zip(p) {
            *a += b;
        }
    }
    let slots: Vec<bool> = (0..n_teams)
        .map(|i| matches!(m.capacity[team_map[i] as usize], Capacity::Slots(_)))
        .collect();
    let n_int = m.intents.len().max(1);
    let mut ai_share = vec![0.0; n_int];
    let mut ai_precision = vec![1.0; n_int];
    for a in &s.ai {
        for (i, name) in m.intents.iter().enumerate() {
            if (a.intent == "*" && name != NO_INTENT) || &a.intent == name {
                ai_share[i] = a.share;
                ai_precision[i] = a.precision;
            }
        }
    }
    let arrival_scale = s.arrivals.scale.unwrap_or(1.0);
    Plan {
        days: s.days.unwrap_or(m.span_days).max(1),
        rate: m
            .arrivals_per_hour
            .iter()
            .map(|r| r * arrival_scale)
            .collect(),
        spikes: s
            .arrivals
            .spikes
            .iter()
            .map(|sp| (sp.start_day, sp.start_day + sp.days, sp.factor))
            .collect(),
        ai_share,
        ai_precision,
        ai_handle_ms: (s.ai_handle_minutes.unwrap_or(2.0) * 60_000.0) as i64,
        reopen_delay_ms: (s.reopen_delay_hours.unwrap_or(24.0) * HOUR as f64) as i64,
        team_map,
        cap,
        slots,
        has_shifts,
        fixed_arrivals: None,
        censor_ms: None,
    }
}

#[derive(Clone, Copy)]
struct Case {
    template: u32,
    step: u32,
    created: i64,
    /// 0 human, 1 AI answer (right), 2 AI answer that comes back as a reopen.
    ai: u8,
    working_team: u32,
    queued_at: i64,
}

struct Rep {
    cycles: Vec<i64>,
    /// Cycle-time p50, p85 and p95 (s), selected in place when the run ends.
    pct: [Option<f64>; 3],
    /// Agent time: the work steps done (ms).
    work_ms: i128,
    sla: (u64, u64),
    queue_wait: (i128, u64),
    ai: (u64, u64),
    backlog: Vec<f64>,
    cases: u64,
}

/// The heap entry of the hourly tick (in place of a case slot).
const TICK: u32 = u32::MAX;

fn run_one(m: &Model, p: &Plan, seed: u64) -> Rep {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let arrivals = draw_arrivals(p, &mut rng);
    let mut run = Run::new(m, p, rng, arrivals);
    if m.templates.is_empty() {
        return run.rep;
    }
    run.run_events();
    run.finish()
}

/// The arrival times of one replication: the plan's fixed ones, else drawn hour by hour
/// (time 0 is a Monday 00:00, so hour h is hour-of-week h % 168).
fn draw_arrivals(p: &Plan, rng: &mut ChaCha8Rng) -> Vec<i64> {
    let mut arrivals: Vec<i64> = p.fixed_arrivals.clone().unwrap_or_default();
    let drawn = if p.fixed_arrivals.is_some() {
        0
    } else {
        p.days as usize * 24
    };
    for h in 0..drawn {
        let day = (h / 24) as u32;
        let spike: f64 = p
            .spikes
            .iter()
            .filter(|(a, b, _)| day >= *a && day < *b)
            .map(|s| s.2)
            .product();
        let lambda = p.rate[h % HOURS_PER_WEEK] * spike;
        if lambda <= 0.0 {
            continue;
        }
        let n = Poisson::new(lambda).map_or(0.0, |d| d.sample(rng)) as usize;
        let base = h as i64 * HOUR;
        let from = arrivals.len();
        arrivals.extend((0..n).map(|_| base + rng.random_range(0..HOUR)));
        arrivals[from..].sort_unstable();
    }
    arrivals
}

/// One replication in progress: the teams' capacity in use, their queues, the cases in
/// flight and the event heap.
struct Run<'a> {
    m: &'a Model,
    p: &'a Plan,
    rng: ChaCha8Rng,
    arrivals: Vec<i64>,
    /// Slots in use per team (slot teams).
    busy: Vec<u32>,
    queues: Vec<VecDeque<u32>>,
    cases: Vec<Case>,
    /// Slots of `cases` free for reuse.
    free: Vec<u32>,
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    /// Work starts left this hour per team (rate teams).
    tokens: Vec<f64>,
    rep: Rep,
    done_per_day: Vec<u64>,
    next_arrival: usize,
    in_flight: usize,
}

impl<'a> Run<'a> {
    /// A replication at time 0 with the given arrivals and nothing in flight.
    fn new(m: &'a Model, p: &'a Plan, rng: ChaCha8Rng, arrivals: Vec<i64>) -> Self {
        let n_teams = m.teams.len();
        let mut heap: BinaryHeap<Reverse<(i64, u32)>> = BinaryHeap::new();
        // Rate-limited teams get their hour's starts at each tick; slot teams need ticks only
        // when shifts change their slots.
        let any_rate = p.slots.iter().any(|s| !s);
        let tokens: Vec<f64> = (0..n_teams)
            .map(|t| {
                if p.slots[t] {
                    0.0
                } else {
                    p.cap[t][0].max(0.0)
                }
            })
            .collect();
        if p.has_shifts || any_rate {
            heap.push(Reverse((HOUR, TICK)));
        }
        let rep = Rep {
            cycles: Vec::with_capacity(arrivals.len()),
            pct: [None; 3],
            work_ms: 0,
            sla: (0, 0),
            queue_wait: (0, 0),
            ai: (0, 0),
            backlog: vec![0.0; p.days as usize],
            cases: arrivals.len() as u64,
        };
        Run {
            m,
            p,
            rng,
            arrivals,
            busy: vec![0u32; n_teams],
            queues: vec![VecDeque::new(); n_teams],
            cases: Vec::with_capacity(1024),
            free: Vec::new(),
            heap,
            tokens,
            rep,
            done_per_day: vec![0u64; p.days as usize],
            next_arrival: 0,
            in_flight: 0,
        }
    }

    /// Processes arrivals and heap events in time order (an arrival first on a tie) until
    /// both run out.
    fn run_events(&mut self) {
        loop {
            let next_event = self.heap.peek().map(|r| r.0.0);
            let take_arrival = match (self.arrivals.get(self.next_arrival), next_event) {
                (Some(&a), Some(e)) => a <= e,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_arrival {
                self.arrive();
                continue;
            }
            let Reverse((now, slot)) = self.heap.pop().expect("peeked");
            if slot == TICK {
                self.tick(now);
            } else {
                self.wake(slot, now);
            }
        }
    }

    /// Team `t`'s capacity (slots) at `now`.
    fn cap(&self, t: usize, now: i64) -> u32 {
        self.p.cap[t][((now / HOUR) as usize) % HOURS_PER_WEEK].floor() as u32
    }

    /// Whether team `t` can start work at `now`: a free slot, or a start left this hour.
    fn can_start(&self, t: usize, now: i64) -> bool {
        if self.p.slots[t] {
            self.busy[t] < self.cap(t, now)
        } else {
            self.tokens[t] >= 1.0
        }
    }

    /// Creates the next arriving case: its template, whether the AI takes it, and its
    /// first move.
    fn arrive(&mut self) {
        let (m, p) = (self.m, self.p);
        let now = self.arrivals[self.next_arrival];
        self.next_arrival += 1;
        // A case created in this hour of the week (keeping the hour's intent mix and how
        // its waits fall across nights and weekends); any case when the hour has none.
        let how = ((now / HOUR) as usize) % HOURS_PER_WEEK;
        let template = match m.by_how.get(how) {
            Some(list) if !list.is_empty() => list[self.rng.random_range(0..list.len())],
            _ => self.rng.random_range(0..m.templates.len()) as u32,
        };
        let intent = m.templates[template as usize].intent as usize;
        let share = p.ai_share.get(intent).copied().unwrap_or(0.0);
        let mut case = Case {
            template,
            step: 0,
            created: now,
            ai: 0,
            working_team: NONE,
            queued_at: now,
        };
        if share > 0.0 && self.rng.random_bool(share.min(1.0)) {
            self.rep.ai.0 += 1;
            let wrong = !self.rng.random_bool(p.ai_precision[intent].clamp(0.0, 1.0));
            case.ai = if wrong { 2 } else { 1 };
        }
        let slot = match self.free.pop() {
            Some(s) => {
                self.cases[s as usize] = case;
                s
            }
            None => {
                self.cases.push(case);
                (self.cases.len() - 1) as u32
            }
        };
        self.in_flight += 1;
        match case.ai {
            1 => self.heap.push(Reverse((now + p.ai_handle_ms, slot))),
            2 => {
                self.rep.ai.1 += 1;
                self.heap
                    .push(Reverse((now + p.ai_handle_ms + p.reopen_delay_ms, slot)))
            }
            _ => self.advance(slot, now),
        }
    }

    /// The hourly tick: rate teams get the hour's starts, every team starts queued work, and
    /// the next tick is due while anything is left to happen.
    fn tick(&mut self, now: i64) {
        let how = ((now / HOUR) as usize) % HOURS_PER_WEEK;
        for t in 0..self.m.teams.len() {
            if !self.p.slots[t] {
                let r = self.p.cap[t][how].max(0.0);
                self.tokens[t] = (self.tokens[t] + r).min(r.max(1.0));
            }
            self.drain(t, now);
        }
        if self.in_flight > 0 || self.next_arrival < self.arrivals.len() {
            self.heap.push(Reverse((now + HOUR, TICK)));
        }
    }

    /// Case `slot`'s timer went off at `now`: an AI answer held or came back, or a step
    /// ended (freeing its slot); the case moves on.
    fn wake(&mut self, slot: u32, now: i64) {
        let c = self.cases[slot as usize];
        match c.ai {
            1 => {
                // The AI's answer held: done.
                let tpl = &self.m.templates[c.template as usize];
                self.cases[slot as usize].step = tpl.end - tpl.start;
                self.cases[slot as usize].ai = 0;
                self.advance(slot, now);
                return;
            }
            2 => {
                // A wrong answer came back: the human path from the start.
                self.cases[slot as usize].ai = 0;
                self.advance(slot, now);
                return;
            }
            _ => {}
        }
        if c.working_team != NONE {
            let t = c.working_team as usize;
            self.busy[t] -= 1;
            self.cases[slot as usize].working_team = NONE;
            self.drain(t, now);
        }
        self.advance(slot, now);
    }

    /// Moves case `slot` forward from its current step at `now` until it waits on something.
    fn advance(&mut self, slot: u32, now: i64) {
        let (m, p) = (self.m, self.p);
        loop {
            let c = self.cases[slot as usize];
            let tpl = &m.templates[c.template as usize];
            if c.start_step_done(tpl) {
                self.complete(slot, now, c.created, tpl.sla_target_ms);
                break;
            }
            let st = m.steps[(tpl.start + c.step) as usize];
            if !st.work {
                self.cases[slot as usize].step += 1;
                let merged_away = st.from_team != NONE
                    && st.team != NONE
                    && p.team_map[st.from_team as usize] == p.team_map[st.team as usize];
                if merged_away || st.dur_ms == 0 {
                    continue;
                }
                self.heap.push(Reverse((now + st.dur_ms, slot)));
                break;
            }
            let t = p.team_map[st.team as usize] as usize;
            if self.can_start(t, now) && self.queues[t].is_empty() {
                self.start_work(t, slot, st.dur_ms, now);
            } else {
                self.cases[slot as usize].queued_at = now;
                self.queues[t].push_back(slot);
            }
            break;
        }
    }

    /// Case `slot`, created at `created`, is resolved at `now`: its cycle time and SLA
    /// (unless censored), and its slot is freed.
    fn complete(&mut self, slot: u32, now: i64, created: i64, sla_target_ms: Option<i64>) {
        let cyc = now - created;
        if self.p.censor_ms.is_none_or(|end| now < end) {
            self.rep.cycles.push(cyc);
            if let Some(g) = sla_target_ms {
                self.rep.sla.0 += (cyc <= g) as u64;
                self.rep.sla.1 += 1;
            }
        }
        let d = (now / MS_PER_DAY) as usize;
        if d < self.done_per_day.len() {
            self.done_per_day[d] += 1;
        }
        self.free.push(slot);
        self.in_flight -= 1;
    }

    /// Case `slot` starts a work step of `dur_ms` at team `t` at `now`, taking a slot or a
    /// start.
    fn start_work(&mut self, t: usize, slot: u32, dur_ms: i64, now: i64) {
        let case = &mut self.cases[slot as usize];
        if self.p.slots[t] {
            self.busy[t] += 1;
            case.working_team = t as u32;
        } else {
            self.tokens[t] -= 1.0;
        }
        case.step += 1;
        self.rep.work_ms += dur_ms as i128;
        self.rep.queue_wait.1 += 1;
        self.heap.push(Reverse((now + dur_ms, slot)));
    }

    /// Starts queued work at team `t` while it has free capacity.
    fn drain(&mut self, t: usize, now: i64) {
        let m = self.m;
        while self.can_start(t, now) {
            let Some(q) = self.queues[t].pop_front() else {
                break;
            };
            let c = self.cases[q as usize];
            let tpl = &m.templates[c.template as usize];
            let st = m.steps[(tpl.start + c.step) as usize];
            self.rep.queue_wait.0 += (now - c.queued_at) as i128;
            self.start_work(t, q, st.dur_ms, now);
        }
    }

    /// The replication's figures: the backlog at the end of each day (arrivals so far minus
    /// completions so far) and the cycle-time percentiles.
    fn finish(self) -> Rep {
        let Run {
            mut rep,
            arrivals,
            done_per_day,
            ..
        } = self;
        let mut arrived = 0usize;
        let mut done = 0u64;
        for (d, (&finished, backlog)) in done_per_day.iter().zip(rep.backlog.iter_mut()).enumerate()
        {
            let end = (d as i64 + 1) * MS_PER_DAY;
            while arrived < arrivals.len() && arrivals[arrived] < end {
                arrived += 1;
            }
            done += finished;
            *backlog = (arrived as f64 - done as f64).max(0.0);
        }
        let v = flowgate_flow::stats::percentiles_select(&mut rep.cycles, &[50, 85, 95]);
        rep.pct = [0, 1, 2].map(|i| v.get(i).map(|&x| x as f64 / 1000.0));
        rep
    }
}

impl Case {
    fn start_step_done(&self, tpl: &Template) -> bool {
        tpl.start + self.step >= tpl.end
    }
}

/// Runs the scenario `replications` times (on up to `threads` threads) and summarises.
pub fn simulate(m: &Model, s: &Scenario, threads: usize) -> SimResult {
    run_plan(m, s, plan(m, s), threads)
}

/// Like [`simulate`], but the cases arrive at the given times (ms after time 0, a Monday
/// 00:00 UTC; any order) instead of being drawn; each still draws its template from those
/// created in the same hour of the week. The horizon is the scenario's `days`, else up to the
/// last arrival's day. With `days` given, the run is censored there as a log is: a case not
/// resolved by the horizon counts as open and not in the cycle times or SLA.
pub fn simulate_arrivals(m: &Model, s: &Scenario, arrivals: &[i64], threads: usize) -> SimResult {
    let mut p = plan(m, s);
    let mut a: Vec<i64> = arrivals.iter().copied().filter(|&t| t >= 0).collect();
    a.sort_unstable();
    if s.days.is_none() {
        p.days = a.last().map_or(1, |&t| (t / MS_PER_DAY + 1) as u32);
    } else {
        p.censor_ms = Some(p.days as i64 * MS_PER_DAY);
    }
    p.fixed_arrivals = Some(a);
    run_plan(m, s, p, threads)
}

fn run_plan(m: &Model, s: &Scenario, p: Plan, threads: usize) -> SimResult {
    let reps_n = s.replications.unwrap_or(20).max(1);
    let seed = s.seed.unwrap_or(1);
    let threads = threads.clamp(1, reps_n);
    let mut reps: Vec<Option<Rep>> = (0..reps_n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let chunks: Vec<&mut [Option<Rep>]> = reps.chunks_mut(reps_n.div_ceil(threads)).collect();
        let mut offset = 0;
        for chunk in chunks {
            let base = offset;
            offset += chunk.len();
            let (m, p) = (&m, &p);
            scope.spawn(move || {
                for (i, slot) in chunk.iter_mut().enumerate() {
                    let r = base + i;
                    *slot = Some(run_one(m, p, seed.wrapping_add(r as u64 * 0x9E37_79B9)));
                }
            });
        }
    });
    let reps: Vec<Rep> = reps.into_iter().flatten().collect();
    let per = |f: &dyn Fn(&Rep) -> Option<f64>| Band::of(reps.iter().filter_map(f).collect());
    let pct = |r: &Rep, q: u32| -> Option<f64> {
        match q {
            50 => r.pct[0],
            85 => r.pct[1],
            _ => r.pct[2],
        }
    };
    let p50 = per(&|r| pct(r, 50));
    let p85 = per(&|r| pct(r, 85));
    let mut validation = Vec::new();
    for (measure, obs, sim) in [
        ("cycle_time_p50", m.observed.cycle_time_p50_s, p50),
        ("cycle_time_p85", m.observed.cycle_time_p85_s, p85),
    ] {
        if let (Some(o), Some(b)) = (obs, sim)
            && o > 0.0
        {
            let rel = b.mean / o - 1.0;
            validation.push(Check {
                measure,
                observed_s: o,
                simulated_s: b.mean,
                relative_error: rel,
                within_10pct: rel.abs() <= 0.10,
            });
        }
    }
    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    SimResult {
        replications: reps.len(),
        days: p.days,
        cases: Band::of(reps.iter().map(|r| r.cases as f64).collect()).unwrap_or(Band {
            mean: 0.0,
            lo: 0.0,
            hi: 0.0,
        }),
        cycle_time_p50_s: p50,
        cycle_time_p85_s: p85,
        cycle_time_p95_s: per(&|r| pct(r, 95)),
        cycle_time_mean_s: per(&|r| {
            (!r.cycles.is_empty()).then(|| {
                r.cycles.iter().map(|&c| c as f64).sum::<f64>() / r.cycles.len() as f64 / 1000.0
            })
        }),
        queue_wait_mean_s: per(&|r| {
            (r.queue_wait.1 > 0).then(|| r.queue_wait.0 as f64 / r.queue_wait.1 as f64 / 1000.0)
        }),
        sla_adherence: per(&|r| ratio(r.sla.0, r.sla.1)),
        ai_handled_share: per(&|r| ratio(r.ai.0, r.cases)).filter(|b| b.hi > 0.0),
        ai_reopen_share: per(&|r| ratio(r.ai.1, r.ai.0)),
        backlog: (0..p.days as usize)
            .filter_map(|d| Band::of(reps.iter().map(|r| r.backlog[d]).collect()))
            .collect(),
        capacity: (0..m.teams.len())
            .filter(|&t| p.team_map[t] as usize == t)
            .map(|t| {
                (
                    m.teams[t].clone(),
                    p.cap[t].iter().sum::<f64>() / HOURS_PER_WEEK as f64,
                )
            })
            .collect(),
        per_replication: reps
            .iter()
            .map(|r| RepFigures {
                cycle_time_mean_s: (!r.cycles.is_empty()).then(|| {
                    r.cycles.iter().map(|&c| c as f64).sum::<f64>() / r.cycles.len() as f64 / 1000.0
                }),
                cycle_time_p50_s: pct(r, 50),
                sla_adherence: ratio(r.sla.0, r.sla.1),
                work_hours_per_day: r.work_ms as f64 / 3_600_000.0 / p.days as f64,
                backlog_end: r.backlog.last().copied().unwrap_or(0.0),
            })
            .collect(),
        observed: m.observed.clone(),
        validation,
    }
}
