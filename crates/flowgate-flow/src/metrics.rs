//! Every process-layer metric of DESIGN.md § Metric definitions, in one linear pass per
//! metric family over an [`EventLog`].

use std::collections::BTreeMap;
use std::ops::Range;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::log::EventLog;
use crate::model::{NONE, State};
use crate::stats::{Summary, ms_to_s, percentiles_select, ratio};
use crate::time::{self, MS_PER_DAY};

/// Service-level targets per priority, read from a case attribute.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlaConfig {
    /// Free-attribute column holding the priority (its first value in a case counts).
    pub priority_attr: String,
    pub targets: Vec<SlaTarget>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SlaTarget {
    pub priority: String,
    pub first_response_s: Option<f64>,
    pub resolution_s: Option<f64>,
}

#[derive(Clone, Debug, Default)]
pub struct BaselineOptions {
    /// The instant for backlog aging and WIP; default: the last event of the log.
    pub as_of_ms: Option<i64>,
    pub sla: Option<SlaConfig>,
    /// How many variants to list (all are counted).
    pub top_variants: usize,
    /// How many slowest edges, handoff pairs and oldest open cases to list.
    pub top_n: usize,
    /// Business calendars: cycle, touch and wait time and the SLA are reported in business
    /// time too ([`Baseline::business`]).
    pub business: Option<crate::business::BusinessTime>,
}

impl BaselineOptions {
    pub fn new() -> Self {
        Self {
            as_of_ms: None,
            sla: None,
            top_variants: 20,
            top_n: 15,
            business: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handoffs {
    /// Handoffs per case, over all cases.
    pub mean: f64,
    pub total: u64,
    pub cases_with_handoff: u64,
    pub cases_3plus_teams: u64,
    pub ping_pong_cases: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StateTime {
    pub state: State,
    pub total_s: f64,
    /// Share of all state time of resolved cases.
    pub share: f64,
    /// Resolved cases that spent any time in this state.
    pub cases: u64,
    pub mean_per_case_s: f64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamTime {
    pub team: String,
    pub events: u64,
    pub cases: u64,
    /// Time the team owned resolved cases (from the event that gave it the case to the
    /// next handoff), clipped to [created, resolved at].
    pub total_s: f64,
    pub touch_s: f64,
    pub wait_s: f64,
    pub handoffs_in: u64,
    pub handoffs_out: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub count: u64,
    pub wait_median_s: f64,
    pub wait_mean_s: f64,
    pub wait_p90_s: f64,
    pub wait_total_s: f64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamedCount {
    pub name: String,
    pub count: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityStat {
    pub name: String,
    pub events: u64,
    pub cases: u64,
    pub state: Option<State>,
    /// Mean 0-based position of its first occurrence in a case (over cases that have it):
    /// where the activity typically sits in the flow.
    pub mean_position: f64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variant {
    pub activities: Vec<String>,
    pub count: u64,
    pub share: f64,
    pub cumulative_share: f64,
    pub cycle_time_p50_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantCoverage {
    /// Share of cases covered by the most frequent 1, 5, 10 and 20 variants.
    pub top1: f64,
    pub top5: f64,
    pub top10: f64,
    pub top20: f64,
    /// How many variants it takes to cover 80% of cases.
    pub variants_for_80pct: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoffPair {
    pub from: String,
    pub to: String,
    pub count: u64,
    /// Time from the handoff until the case is next `working` (next event without states).
    pub wait_median_s: Option<f64>,
    pub wait_mean_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgingBucket {
    pub label: &'static str,
    pub upper_s: Option<f64>,
    pub cases: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenCase {
    pub case: String,
    pub queue_age_s: f64,
    pub state: Option<State>,
    pub time_in_state_s: f64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Backlog {
    pub as_of_ms: i64,
    pub as_of: String,
    /// WIP(t): cases created ≤ t and not resolved at t.
    pub wip: u64,
    /// WIP by state at t; a case with no state yet counts as `new`.
    pub wip_by_state: BTreeMap<State, u64>,
    pub queue_age_s: Summary,
    pub time_in_current_state_s: Summary,
    pub aging: Vec<AgingBucket>,
    /// Resolved cases per day over the 28 days before t.
    pub mean_daily_throughput_28d: f64,
    /// WIP(t) / mean daily throughput over the 28 days before t.
    pub backlog_days: Option<f64>,
    pub oldest: Vec<OpenCase>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Week {
    pub week: String,
    pub start_ms: i64,
    pub arrivals: u64,
    pub throughput: u64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CumulativeFlow {
    /// `day` or `week`.
    pub bucket: &'static str,
    /// Start of each bucket (UTC ms); counts are taken at the end of the bucket.
    pub t_ms: Vec<i64>,
    /// Cases in each state at the end of each bucket (no state yet counts as `new`).
    pub series: BTreeMap<State, Vec<u64>>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaRow {
    pub priority: String,
    pub cases: u64,
    pub first_response_target_s: Option<f64>,
    pub first_response_met: Option<f64>,
    pub resolution_target_s: Option<f64>,
    pub resolution_met: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaReport {
    pub priority_attr: String,
    pub rows: Vec<SlaRow>,
    /// Share of resolved cases with a target that met their resolution target.
    pub resolution_adherence: Option<f64>,
    /// Share of cases with a target and a first response that met it.
    pub first_response_adherence: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistogramBin {
    pub lower_s: f64,
    pub upper_s: f64,
    pub cases: u64,
}

/// The process-layer baseline of one event log. Field names follow DESIGN.md.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Baseline {
    pub events: u64,
    pub cases: u64,
    pub duplicates_dropped: u64,
    pub resolved_cases: u64,
    pub open_cases: u64,
    /// False for a bare case/activity/timestamp log: every case counts as resolved at its
    /// last event, so cycle time is the case duration.
    pub states_mapped: bool,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub cycle_time_s: Summary,
    pub cycle_time_histogram: Vec<HistogramBin>,
    pub reopen_rate: Option<f64>,
    pub reopened_cases: u64,
    pub first_pass_resolution_rate: Option<f64>,
    pub handoffs: Handoffs,
    pub escalated_cases: u64,
    pub escalation_rate: Option<f64>,
    pub rework_cases: u64,
    pub repeat_activity_cases: u64,
    pub flow_efficiency: Option<f64>,
    pub touch_s: f64,
    pub wait_s: f64,
    /// Touch (working) time per resolved case; empty without mapped states.
    pub touch_time_s: Summary,
    pub time_in_state_s: BTreeMap<State, f64>,
    pub states: Vec<StateTime>,
    pub teams: Vec<TeamTime>,
    pub dfg_edges: u64,
    pub dfg: Vec<Edge>,
    pub slowest_edges: Vec<Edge>,
    pub start_activities: Vec<NamedCount>,
    pub end_activities: Vec<NamedCount>,
    pub activities: Vec<ActivityStat>,
    pub variants: u64,
    pub variant_coverage: VariantCoverage,
    pub top_variants: Vec<Variant>,
    pub handoff_pairs: Vec<HandoffPair>,
    pub backlog: Option<Backlog>,
    pub weekly: Vec<Week>,
    pub cumulative_flow: Option<CumulativeFlow>,
    pub sla: Option<SlaReport>,
    /// The same figures in business time, when calendars are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business: Option<BusinessFigures>,
    /// Demand joined to flow, when tickets with intents were given (see [`crate::demand`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demand: Option<crate::demand_types::Demand>,
}

/// Cycle, touch and wait time and the SLA measured in business time: only the working
/// intervals of the calendar of the team that owns the case at each moment count.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusinessFigures {
    pub calendar: String,
    pub cycle_time_s: Summary,
    pub time_in_state_s: BTreeMap<State, f64>,
    pub touch_s: f64,
    pub wait_s: f64,
    pub flow_efficiency: Option<f64>,
    /// SLA clocks stop while the case is in one of these states.
    pub sla_paused_on: Vec<State>,
    /// The SLA targets read as business hours, with the pauses.
    pub sla: Option<SlaReport>,
}

/// What one case contributes, computed once and reused by the later passes.
#[derive(Clone, Copy)]
struct CaseFacts {
    created: i64,
    /// Resolved at, for resolved cases.
    resolved_at: Option<i64>,
}

struct EdgeAcc {
    from: u32,
    to: u32,
    waits: Vec<i64>,
}

struct PairAcc {
    count: u64,
    waits: Vec<i64>,
}

/// Case counts of the headline rates, summed over all cases.
#[derive(Default)]
struct CaseCounts {
    reopened: u64,
    first_pass: u64,
    handoff_total: u64,
    cases_with_handoff: u64,
    three_plus: u64,
    ping_pong: u64,
    escalated: u64,
    rework: u64,
    repeat_activity: u64,
}

/// Per-team tallies, indexed by team id.
struct TeamTally {
    /// The last case (its index) that counted the team, to count each case once.
    stamp: Vec<u32>,
    events: Vec<u64>,
    cases: Vec<u64>,
    /// Owned time of resolved cases: total, touch, wait.
    ms: Vec<[i128; 3]>,
    handoffs_in: Vec<u64>,
    handoffs_out: Vec<u64>,
}

impl TeamTally {
    /// Empty tallies for `n` teams.
    fn new(n: usize) -> Self {
        Self {
            stamp: vec![u32::MAX; n],
            events: vec![0; n],
            cases: vec![0; n],
            ms: vec![[0; 3]; n],
            handoffs_in: vec![0; n],
            handoffs_out: vec![0; n],
        }
    }
}

/// Per-activity tallies, indexed by activity id.
struct ActivityTally {
    /// The last case (its index) that counted the activity, to count each case once.
    stamp: Vec<u32>,
    events: Vec<u64>,
    cases: Vec<u64>,
    /// Sum over cases of the 0-based position of the activity's first occurrence.
    pos: Vec<u64>,
    /// The state of the activity's first event that has one.
    state: Vec<Option<State>>,
    start_counts: Vec<u64>,
    end_counts: Vec<u64>,
}

impl ActivityTally {
    /// Empty tallies for `n` activities.
    fn new(n: usize) -> Self {
        Self {
            stamp: vec![u32::MAX; n],
            events: vec![0; n],
            cases: vec![0; n],
            pos: vec![0; n],
            state: vec![None; n],
            start_counts: vec![0; n],
            end_counts: vec![0; n],
        }
    }

    /// Counts one event of activity `a` at `pos` in case `stamp`; true if the case already
    /// had the activity (a repeat).
    fn visit(&mut self, a: usize, stamp: u32, pos: usize) -> bool {
        self.events[a] += 1;
        if self.stamp[a] == stamp {
            return true;
        }
        self.stamp[a] = stamp;
        self.cases[a] += 1;
        self.pos[a] += pos as u64;
        false
    }
}

/// Directly-follows edges (activity pairs) with the waits observed on each.
#[derive(Default)]
struct EdgeTally {
    index: FxHashMap<u64, u32>,
    edges: Vec<EdgeAcc>,
}

impl EdgeTally {
    /// Records one wait on the edge `from → to`.
    fn push(&mut self, from: u32, to: u32, wait: i64) {
        let key = (from as u64) << 32 | to as u64;
        let edges = &mut self.edges;
        let idx = *self.index.entry(key).or_insert_with(|| {
            edges.push(EdgeAcc {
                from,
                to,
                waits: Vec::new(),
            });
            (edges.len() - 1) as u32
        });
        edges[idx as usize].waits.push(wait);
    }
}

/// Handoffs between team pairs with the waits until the case was worked again.
#[derive(Default)]
struct PairTally {
    index: FxHashMap<u64, u32>,
    pairs: Vec<(u32, u32, PairAcc)>,
}

impl PairTally {
    /// The index of the pair `from → to`, added on first sight.
    fn index_of(&mut self, from: u32, to: u32) -> u32 {
        let key = (from as u64) << 32 | to as u64;
        let pairs = &mut self.pairs;
        *self.index.entry(key).or_insert_with(|| {
            pairs.push((
                from,
                to,
                PairAcc {
                    count: 0,
                    waits: Vec::new(),
                },
            ));
            (pairs.len() - 1) as u32
        })
    }

    /// The accumulator of pair `p`.
    fn acc(&mut self, p: u32) -> &mut PairAcc {
        &mut self.pairs[p as usize].2
    }
}

/// One case's running state while its events are walked (see [`Scan::add_case`]).
struct CaseWalk {
    handoffs: u32,
    distinct_teams: u32,
    pinged: bool,
    esc: bool,
    repeat: bool,
    cur_state: Option<State>,
    cur_team: u32,
    /// A handoff (pair index, since) waiting for the case to be worked again.
    pending_pair: Option<(u32, i64)>,
    state_seen: [bool; 6],
    touch_ms: i64,
}

impl CaseWalk {
    /// The state before a case's first event.
    fn new() -> Self {
        Self {
            handoffs: 0,
            distinct_teams: 0,
            pinged: false,
            esc: false,
            repeat: false,
            cur_state: None,
            cur_team: NONE,
            pending_pair: None,
            state_seen: [false; 6],
            touch_ms: 0,
        }
    }
}

/// When a case was resolved (`None` if open) and how often it was reopened.
fn resolution(log: &EventLog, r: Range<usize>) -> (Option<i64>, u32) {
    let ts = log.ts();
    let mut cur: Option<State> = None;
    let mut resolved_at = None;
    let mut reopens = 0u32;
    for e in r.clone() {
        if let Some(s) = log.state(e)
            && Some(s) != cur
        {
            let was_terminal = cur.is_some_and(State::is_terminal);
            if s.is_terminal() && !was_terminal {
                resolved_at = Some(ts[e]);
            }
            if was_terminal && !s.is_terminal() {
                reopens += 1;
            }
            cur = Some(s);
        }
    }
    let resolved_at = if log.states_mapped() {
        if cur.is_some_and(State::is_terminal) {
            resolved_at
        } else {
            None
        }
    } else {
        Some(ts[r.end - 1])
    };
    (resolved_at, reopens)
}

/// Everything the per-case pass of [`baseline`] accumulates.
struct Scan<'a> {
    log: &'a EventLog,
    ts: &'a [i64],
    act: &'a [u32],
    team: &'a [u32],
    states_mapped: bool,
    facts: Vec<CaseFacts>,
    /// Cycle time of each resolved case.
    cycle_ms: Vec<i64>,
    /// Touch time of each resolved case (with mapped states).
    touch_case_ms: Vec<i64>,
    /// Time of resolved cases per state, and resolved cases that spent time in it.
    state_ms: [i128; 6],
    state_cases: [u64; 6],
    counts: CaseCounts,
    teams: TeamTally,
    acts: ActivityTally,
    edges: EdgeTally,
    pairs: PairTally,
    /// Per activity sequence: cases, and cycle times of the resolved ones.
    variants: FxHashMap<&'a [u32], (u64, Vec<i64>)>,
}

impl<'a> Scan<'a> {
    /// Empty accumulators sized for `log`.
    fn new(log: &'a EventLog) -> Self {
        let n_cases = log.n_cases();
        Self {
            log,
            ts: log.ts(),
            act: log.activity(),
            team: log.team(),
            states_mapped: log.states_mapped(),
            facts: Vec::with_capacity(n_cases),
            cycle_ms: Vec::with_capacity(n_cases),
            touch_case_ms: Vec::with_capacity(n_cases),
            state_ms: [0; 6],
            state_cases: [0; 6],
            counts: CaseCounts::default(),
            teams: TeamTally::new(log.teams.len()),
            acts: ActivityTally::new(log.activities.len()),
            edges: EdgeTally::default(),
            pairs: PairTally::default(),
            variants: FxHashMap::default(),
        }
    }

    /// Adds case `c`: its resolution, then teams, handoffs, activities, edges, and (resolved
    /// cases) time per state and per team over consecutive-event intervals.
    fn add_case(&mut self, c: usize) {
        let r = self.log.case_events(c);
        let stamp = c as u32;
        let created = self.ts[r.start];
        let (resolved_at, reopens) = resolution(self.log, r.clone());
        let mut w = CaseWalk::new();
        self.acts.start_counts[self.act[r.start] as usize] += 1;
        self.acts.end_counts[self.act[r.end - 1] as usize] += 1;
        for e in r.clone() {
            self.add_event(&mut w, stamp, r.start, e);
            if e + 1 < r.end {
                self.add_interval(&mut w, e, created, resolved_at);
            }
        }
        self.close_case(&w, r, created, resolved_at, reopens);
    }

    /// Event `e` of the case `stamp` starting at event `start`: activity, escalation, state,
    /// a pending handoff's wait, and the team.
    fn add_event(&mut self, w: &mut CaseWalk, stamp: u32, start: usize, e: usize) {
        let a = self.act[e] as usize;
        if self.acts.visit(a, stamp, e - start) {
            w.repeat = true;
        }
        w.esc |= self.log.is_escalation(e);
        let st = self.log.state(e);
        if self.acts.state[a].is_none() {
            self.acts.state[a] = st;
        }
        let entered_working = match st {
            Some(s) => s == State::Working && w.cur_state != Some(State::Working),
            None => false,
        };
        if let Some(s) = st {
            w.cur_state = Some(s);
        }
        // A pending handoff waits for the case to be worked again.
        if let Some((p, since)) = w.pending_pair
            && (entered_working || !self.states_mapped)
        {
            self.pairs.acc(p).waits.push(self.ts[e] - since);
            w.pending_pair = None;
        }
        let t = self.team[e];
        if t != NONE {
            self.add_team_event(w, stamp, e, t, st);
        }
    }

    /// Event `e` of case `stamp` names team `t`: its counts, and a handoff if the team
    /// changed.
    fn add_team_event(
        &mut self,
        w: &mut CaseWalk,
        stamp: u32,
        e: usize,
        t: u32,
        st: Option<State>,
    ) {
        let ti = t as usize;
        self.teams.events[ti] += 1;
        if w.cur_team != NONE && t != w.cur_team {
            w.handoffs += 1;
            self.teams.handoffs_out[w.cur_team as usize] += 1;
            self.teams.handoffs_in[ti] += 1;
            if self.teams.stamp[ti] == stamp {
                w.pinged = true;
            }
            let p = self.pairs.index_of(w.cur_team, t);
            self.pairs.acc(p).count += 1;
            if self.states_mapped && st == Some(State::Working) {
                self.pairs.acc(p).waits.push(0);
            } else {
                w.pending_pair = Some((p, self.ts[e]));
            }
        }
        if self.teams.stamp[ti] != stamp {
            self.teams.stamp[ti] = stamp;
            w.distinct_teams += 1;
            self.teams.cases[ti] += 1;
        }
        w.cur_team = t;
    }

    /// The interval from event `e` to the next: its edge, and (resolved cases) its time per
    /// state and per team, clipped to [created, resolved at].
    fn add_interval(&mut self, w: &mut CaseWalk, e: usize, created: i64, resolved_at: Option<i64>) {
        let ts = self.ts;
        self.edges
            .push(self.act[e], self.act[e + 1], ts[e + 1] - ts[e]);
        let Some(res) = resolved_at else { return };
        let lo = ts[e].max(created);
        let hi = ts[e + 1].min(res);
        let dt = (hi - lo).max(0) as i128;
        if let Some(s) = w.cur_state {
            self.state_ms[s.index()] += dt;
            if s == State::Working {
                w.touch_ms += dt as i64;
            }
            if dt > 0 {
                w.state_seen[s.index()] = true;
            }
        }
        if w.cur_team != NONE {
            let tm = &mut self.teams.ms[w.cur_team as usize];
            tm[0] += dt;
            match w.cur_state {
                Some(State::Working) => tm[1] += dt,
                Some(s) if s.is_wait() => tm[2] += dt,
                _ => {}
            }
        }
    }

    /// Adds what the walked case contributes to the case counts, its variant, cycle time
    /// and facts.
    fn close_case(
        &mut self,
        w: &CaseWalk,
        r: Range<usize>,
        created: i64,
        resolved_at: Option<i64>,
        reopens: u32,
    ) {
        let n = &mut self.counts;
        if w.handoffs > 0 {
            n.cases_with_handoff += 1;
        }
        n.handoff_total += w.handoffs as u64;
        if w.distinct_teams >= 3 {
            n.three_plus += 1;
        }
        if w.pinged {
            n.ping_pong += 1;
        }
        if w.esc {
            n.escalated += 1;
        }
        if reopens > 0 || w.pinged {
            n.rework += 1;
        }
        if w.repeat {
            n.repeat_activity += 1;
        }
        let act = self.act;
        let variant = self
            .variants
            .entry(&act[r])
            .or_insert_with(|| (0, Vec::new()));
        variant.0 += 1;
        if let Some(res) = resolved_at {
            let ct = res - created;
            self.cycle_ms.push(ct);
            if self.states_mapped {
                self.touch_case_ms.push(w.touch_ms);
            }
            variant.1.push(ct);
            if reopens > 0 {
                n.reopened += 1;
            }
            if reopens == 0 && w.handoffs == 0 {
                n.first_pass += 1;
            }
            for (i, seen) in w.state_seen.iter().enumerate() {
                self.state_cases[i] += *seen as u64;
            }
        }
        self.facts.push(CaseFacts {
            created,
            resolved_at,
        });
    }
}

/// Time per state of resolved cases, and the touch / wait split it gives.
struct StateFigures {
    time_in_state_s: BTreeMap<State, f64>,
    states: Vec<StateTime>,
    touch_ms: i128,
    wait_ms: i128,
    flow_efficiency: Option<f64>,
}

/// [`StateFigures`] from the time per state and the resolved cases that spent any in each.
fn state_figures(
    state_ms: &[i128; 6],
    state_cases: &[u64; 6],
    resolved: u64,
    states_mapped: bool,
) -> StateFigures {
    let all_state_ms: i128 = state_ms.iter().sum();
    let mut time_in_state_s = BTreeMap::new();
    let mut states = Vec::new();
    if states_mapped {
        for s in State::ALL {
            let i = s.index();
            if state_ms[i] > 0 || state_cases[i] > 0 {
                time_in_state_s.insert(s, ms_to_s(state_ms[i]));
            }
            states.push(StateTime {
                state: s,
                total_s: ms_to_s(state_ms[i]),
                share: if all_state_ms > 0 {
                    state_ms[i] as f64 / all_state_ms as f64
                } else {
                    0.0
                },
                cases: state_cases[i],
                mean_per_case_s: if resolved > 0 {
                    ms_to_s(state_ms[i]) / resolved as f64
                } else {
                    0.0
                },
            });
        }
    }
    let touch_ms = state_ms[State::Working.index()];
    let wait_ms: i128 = State::ALL
        .iter()
        .filter(|s| s.is_wait())
        .map(|s| state_ms[s.index()])
        .sum();
    let flow_efficiency = (states_mapped && touch_ms + wait_ms > 0)
        .then(|| touch_ms as f64 / (touch_ms + wait_ms) as f64);
    StateFigures {
        time_in_state_s,
        states,
        touch_ms,
        wait_ms,
        flow_efficiency,
    }
}

/// Time and handoffs per team, the team owning the most time first.
fn team_times(log: &EventLog, t: &TeamTally) -> Vec<TeamTime> {
    let mut teams: Vec<TeamTime> = (0..log.teams.len())
        .map(|i| TeamTime {
            team: log.teams.resolve(i as u32).to_owned(),
            events: t.events[i],
            cases: t.cases[i],
            total_s: ms_to_s(t.ms[i][0]),
            touch_s: ms_to_s(t.ms[i][1]),
            wait_s: ms_to_s(t.ms[i][2]),
            handoffs_in: t.handoffs_in[i],
            handoffs_out: t.handoffs_out[i],
        })
        .collect();
    teams.sort_by(|a, b| {
        b.total_s
            .total_cmp(&a.total_s)
            .then(b.events.cmp(&a.events))
    });
    teams
}

/// The name of activity `a`.
fn activity_name(log: &EventLog, a: u32) -> String {
    log.activities.resolve(a).to_owned()
}

/// The directly-follows graph, most frequent edge first, and its `top_n` edges with the
/// most total wait.
fn directly_follows(log: &EventLog, edges: Vec<EdgeAcc>, top_n: usize) -> (Vec<Edge>, Vec<Edge>) {
    let mut dfg: Vec<Edge> = edges
        .into_iter()
        .map(|mut e| {
            let count = e.waits.len() as u64;
            let total: i128 = e.waits.iter().map(|&w| w as i128).sum();
            let p = percentiles_select(&mut e.waits, &[50, 90]);
            Edge {
                from: activity_name(log, e.from),
                to: activity_name(log, e.to),
                count,
                wait_median_s: ms_to_s(p[0]),
                wait_mean_s: ms_to_s(total) / count as f64,
                wait_p90_s: ms_to_s(p[1]),
                wait_total_s: ms_to_s(total),
            }
        })
        .collect();
    dfg.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
    });
    let mut slowest_edges = dfg.clone();
    slowest_edges.sort_by(|a, b| b.wait_total_s.total_cmp(&a.wait_total_s));
    slowest_edges.truncate(top_n);
    (dfg, slowest_edges)
}

/// The activities with a nonzero count, most frequent first.
fn named_counts(log: &EventLog, counts: &[u64]) -> Vec<NamedCount> {
    let mut v: Vec<NamedCount> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(a, &count)| NamedCount {
            name: activity_name(log, a as u32),
            count,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

/// Events, cases, first state and mean position per activity, most frequent first.
fn activity_stats(log: &EventLog, t: &ActivityTally) -> Vec<ActivityStat> {
    let mut activities: Vec<ActivityStat> = (0..log.activities.len())
        .filter(|&a| t.events[a] > 0)
        .map(|a| ActivityStat {
            name: activity_name(log, a as u32),
            events: t.events[a],
            cases: t.cases[a],
            state: t.state[a],
            mean_position: t.pos[a] as f64 / t.cases[a].max(1) as f64,
        })
        .collect();
    activities.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
    activities
}

/// The variant figures of [`Baseline`]: how many, their coverage, the most frequent.
struct VariantFigures {
    count: u64,
    coverage: VariantCoverage,
    top: Vec<Variant>,
}

/// [`VariantFigures`] from the cases and cycle times per activity sequence.
fn variant_figures(
    log: &EventLog,
    variants: FxHashMap<&[u32], (u64, Vec<i64>)>,
    cases: u64,
    top_variants: usize,
) -> VariantFigures {
    let n_variants = variants.len() as u64;
    let mut vlist: Vec<(&[u32], u64, Vec<i64>)> = variants
        .into_iter()
        .map(|(k, (n, ct))| (k, n, ct))
        .collect();
    vlist.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let share = |n: u64| {
        if cases > 0 {
            n as f64 / cases as f64
        } else {
            0.0
        }
    };
    let top_k = |k: usize| share(vlist.iter().take(k).map(|v| v.1).sum());
    let mut cum = 0u64;
    let mut variants_for_80pct = 0u64;
    for v in &vlist {
        if share(cum) >= 0.8 {
            break;
        }
        cum += v.1;
        variants_for_80pct += 1;
    }
    let coverage = VariantCoverage {
        top1: top_k(1),
        top5: top_k(5),
        top10: top_k(10),
        top20: top_k(20),
        variants_for_80pct,
    };
    let mut cum = 0u64;
    let top = vlist
        .iter_mut()
        .take(top_variants)
        .map(|(seq, n, ct)| {
            cum += *n;
            Variant {
                activities: seq.iter().map(|&a| activity_name(log, a)).collect(),
                count: *n,
                share: share(*n),
                cumulative_share: share(cum),
                cycle_time_p50_s: percentiles_select(ct, &[50]).first().map(|&v| ms_to_s(v)),
            }
        })
        .collect();
    VariantFigures {
        count: n_variants,
        coverage,
        top,
    }
}

/// Handoffs per team pair with their waits until worked, most frequent first; at least
/// 20 and at least `top_n` of them.
fn handoff_pairs(
    log: &EventLog,
    pairs: Vec<(u32, u32, PairAcc)>,
    top_n: usize,
) -> Vec<HandoffPair> {
    let mut handoff_pairs: Vec<HandoffPair> = pairs
        .into_iter()
        .map(|(from, to, mut acc)| {
            let n = acc.waits.len();
            let mean = (n > 0)
                .then(|| ms_to_s(acc.waits.iter().map(|&w| w as i128).sum::<i128>()) / n as f64);
            HandoffPair {
                from: log.teams.resolve(from).to_owned(),
                to: log.teams.resolve(to).to_owned(),
                count: acc.count,
                wait_median_s: percentiles_select(&mut acc.waits, &[50])
                    .first()
                    .map(|&v| ms_to_s(v)),
                wait_mean_s: mean,
            }
        })
        .collect();
    handoff_pairs.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
    });
    handoff_pairs.truncate(top_n.max(20));
    handoff_pairs
}

/// The SLA report in calendar time: from creation to the first working event and to
/// resolution.
fn calendar_sla(log: &EventLog, facts: &[CaseFacts], cfg: &SlaConfig) -> SlaReport {
    let ts = log.ts();
    sla_report(log, cfg, |c, first_working| {
        let f = facts[c];
        (
            first_working.map(|e| ts[e] - f.created),
            f.resolved_at.map(|r| r - f.created),
        )
    })
}

/// Computes the whole baseline. Linear in events (plus sorting the per-case cycle times).
pub fn baseline(log: &EventLog, opts: &BaselineOptions) -> Baseline {
    let mut scan = Scan::new(log);
    for c in 0..log.n_cases() {
        scan.add_case(c);
    }
    let Scan {
        states_mapped,
        facts,
        mut cycle_ms,
        mut touch_case_ms,
        state_ms,
        state_cases,
        counts: n,
        teams,
        acts,
        edges,
        pairs,
        variants,
        ..
    } = scan;

    let resolved = cycle_ms.len() as u64;
    let cases = log.n_cases() as u64;
    let span = log.span();

    let st = state_figures(&state_ms, &state_cases, resolved, states_mapped);
    let teams = team_times(log, &teams);
    let (dfg, slowest_edges) = directly_follows(log, edges.edges, opts.top_n);
    let start_activities = named_counts(log, &acts.start_counts);
    let end_activities = named_counts(log, &acts.end_counts);
    let activities = activity_stats(log, &acts);
    let vf = variant_figures(log, variants, cases, opts.top_variants);
    let handoff_pairs = handoff_pairs(log, pairs.pairs, opts.top_n);

    let cycle_time_histogram = histogram(&mut cycle_ms.clone());
    let cycle_time_s = Summary::of_ms(&mut cycle_ms);

    let as_of = opts.as_of_ms.or(span.map(|s| s.1));
    let backlog = as_of.map(|t| backlog_at(log, &facts, t, opts.top_n));
    let weekly = weekly(&facts);
    let cumulative_flow = span.map(|(lo, hi)| cumulative_flow(log, &facts, lo, hi));
    let sla = opts.sla.as_ref().map(|cfg| calendar_sla(log, &facts, cfg));
    let business = opts
        .business
        .as_ref()
        .map(|bt| business_figures(log, &facts, bt, opts.sla.as_ref()));

    Baseline {
        events: log.n_events() as u64,
        cases,
        duplicates_dropped: log.duplicates_dropped(),
        resolved_cases: resolved,
        open_cases: cases - resolved,
        states_mapped,
        first_event: span.map(|s| time::format_utc(s.0)),
        last_event: span.map(|s| time::format_utc(s.1)),
        cycle_time_s,
        cycle_time_histogram,
        reopen_rate: ratio(n.reopened, resolved),
        reopened_cases: n.reopened,
        first_pass_resolution_rate: ratio(n.first_pass, resolved),
        handoffs: Handoffs {
            mean: ratio(n.handoff_total, cases).unwrap_or(0.0),
            total: n.handoff_total,
            cases_with_handoff: n.cases_with_handoff,
            cases_3plus_teams: n.three_plus,
            ping_pong_cases: n.ping_pong,
        },
        escalated_cases: n.escalated,
        escalation_rate: ratio(n.escalated, cases),
        rework_cases: n.rework,
        repeat_activity_cases: n.repeat_activity,
        flow_efficiency: st.flow_efficiency,
        touch_s: ms_to_s(st.touch_ms),
        touch_time_s: Summary::of_ms(&mut touch_case_ms),
        wait_s: ms_to_s(st.wait_ms),
        time_in_state_s: st.time_in_state_s,
        states: st.states,
        teams,
        dfg_edges: dfg.len() as u64,
        dfg,
        slowest_edges,
        start_activities,
        end_activities,
        activities,
        variants: vf.count,
        variant_coverage: vf.coverage,
        top_variants: vf.top,
        handoff_pairs,
        backlog,
        weekly,
        cumulative_flow,
        sla,
        business,
        demand: None,
    }
}

/// [`BusinessFigures`]: one more pass over the events, each interval between two events
/// measured with the calendar of the team the case belongs to during it.
fn business_figures(
    log: &EventLog,
    facts: &[CaseFacts],
    bt: &crate::business::BusinessTime,
    sla: Option<&SlaConfig>,
) -> BusinessFigures {
    let per_team = bt.per_team(&log.teams);
    let (ts, team) = (log.ts(), log.team());
    let mut cycle_ms = Vec::new();
    let mut state_ms = [0i128; 6];
    // Per case: the SLA clocks (business time, pauses excluded) at the first response and
    // at resolution.
    let mut clocks: Vec<(Option<i64>, Option<i64>)> = Vec::with_capacity(facts.len());
    for (c, f) in facts.iter().enumerate() {
        let r = log.case_events(c);
        let (mut cur_state, mut cur_team) = (None, NONE);
        let (mut cycle, mut clock, mut res_clock) = (0i64, 0i64, 0i64);
        let mut first_response = None;
        for e in r.clone() {
            if let Some(s) = log.state(e) {
                if s == State::Working && first_response.is_none() {
                    first_response = Some(clock);
                }
                cur_state = Some(s);
            }
            if team[e] != NONE {
                cur_team = team[e];
            }
            if e + 1 == r.end {
                break;
            }
            let cal = bt.of(&per_team, cur_team);
            let paused = cur_state.is_some_and(|s| bt.pause_on.contains(&s));
            if !paused {
                clock += cal.between(ts[e], ts[e + 1]);
            }
            if let Some(res) = f.resolved_at {
                let d = cal.between(ts[e].max(f.created), ts[e + 1].min(res));
                cycle += d;
                if !paused {
                    res_clock += d;
                }
                if let Some(s) = cur_state {
                    state_ms[s.index()] += d as i128;
                }
            }
        }
        if f.resolved_at.is_some() {
            cycle_ms.push(cycle);
        }
        clocks.push((first_response, f.resolved_at.map(|_| res_clock)));
    }
    let states_mapped = log.states_mapped();
    let mut time_in_state_s = BTreeMap::new();
    if states_mapped {
        for s in State::ALL {
            if state_ms[s.index()] > 0 {
                time_in_state_s.insert(s, ms_to_s(state_ms[s.index()]));
            }
        }
    }
    let touch_ms = state_ms[State::Working.index()];
    let wait_ms: i128 = State::ALL
        .iter()
        .filter(|s| s.is_wait())
        .map(|s| state_ms[s.index()])
        .sum();
    BusinessFigures {
        calendar: bt.name.clone(),
        cycle_time_s: Summary::of_ms(&mut cycle_ms),
        time_in_state_s,
        touch_s: ms_to_s(touch_ms),
        wait_s: ms_to_s(wait_ms),
        flow_efficiency: (states_mapped && touch_ms + wait_ms > 0)
            .then(|| touch_ms as f64 / (touch_ms + wait_ms) as f64),
        sla_paused_on: bt.pause_on.clone(),
        sla: sla.map(|cfg| sla_report(log, cfg, |c, _| clocks[c])),
    }
}

/// 30 equal bins from 0 to the 99th percentile; the last bin also holds everything above.
fn histogram(values: &mut [i64]) -> Vec<HistogramBin> {
    const BINS: usize = 30;
    if values.is_empty() {
        return Vec::new();
    }
    let top = percentiles_select(values, &[99])[0].max(1);
    let width = (top as f64 / BINS as f64).max(1.0);
    let mut counts = [0u64; BINS];
    for &v in values.iter() {
        let i = ((v.max(0) as f64 / width) as usize).min(BINS - 1);
        counts[i] += 1;
    }
    counts
        .iter()
        .enumerate()
        .map(|(i, &n)| HistogramBin {
            lower_s: i as f64 * width / 1000.0,
            upper_s: (i + 1) as f64 * width / 1000.0,
            cases: n,
        })
        .collect()
}

/// The state and time of last state change of a case as of `t` (events after `t` unseen).
fn state_at(log: &EventLog, case: usize, t: i64) -> (Option<State>, i64) {
    let r = log.case_events(case);
    let ts = log.ts();
    let mut cur = None;
    let mut since = ts[r.start];
    for e in r {
        if ts[e] > t {
            break;
        }
        if let Some(s) = log.state(e)
            && Some(s) != cur
        {
            cur = Some(s);
            since = ts[e];
        }
    }
    (cur, since)
}

/// Whether a case counts as open at `t`: created ≤ t and not in a terminal state at t
/// (without states: before its last event).
fn open_at(log: &EventLog, case: usize, f: &CaseFacts, t: i64) -> Option<(Option<State>, i64)> {
    if f.created > t {
        return None;
    }
    if !log.states_mapped() {
        let last = log.ts()[log.case_events(case).end - 1];
        return (last > t).then_some((None, f.created));
    }
    let (s, since) = state_at(log, case, t);
    (!s.is_some_and(State::is_terminal)).then_some((s, since))
}

fn backlog_at(log: &EventLog, facts: &[CaseFacts], t: i64, top_n: usize) -> Backlog {
    const BUCKETS: [(&str, Option<i64>); 7] = [
        ("< 1 day", Some(MS_PER_DAY)),
        ("1–3 days", Some(3 * MS_PER_DAY)),
        ("3–7 days", Some(7 * MS_PER_DAY)),
        ("1–2 weeks", Some(14 * MS_PER_DAY)),
        ("2–4 weeks", Some(28 * MS_PER_DAY)),
        ("1–3 months", Some(90 * MS_PER_DAY)),
        ("> 3 months", None),
    ];
    let mut wip_by_state = BTreeMap::new();
    let mut ages = Vec::new();
    let mut in_state = Vec::new();
    let mut counts = [0u64; BUCKETS.len()];
    let mut open = Vec::new();
    let mut resolved_28d = 0u64;
    for (c, f) in facts.iter().enumerate() {
        if let Some(r) = f.resolved_at
            && r <= t
            && r > t - 28 * MS_PER_DAY
        {
            resolved_28d += 1;
        }
        let Some((state, since)) = open_at(log, c, f, t) else {
            continue;
        };
        *wip_by_state.entry(state.unwrap_or(State::New)).or_insert(0) += 1;
        let age = t - f.created;
        ages.push(age);
        in_state.push(t - since);
        let b = BUCKETS
            .iter()
            .position(|(_, up)| up.is_none_or(|u| age < u))
            .unwrap_or(BUCKETS.len() - 1);
        counts[b] += 1;
        open.push((age, c, state, t - since));
    }
    open.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let wip = ages.len() as u64;
    let thr = resolved_28d as f64 / 28.0;
    Backlog {
        as_of_ms: t,
        as_of: time::format_utc(t),
        wip,
        wip_by_state,
        queue_age_s: Summary::of_ms(&mut ages),
        time_in_current_state_s: Summary::of_ms(&mut in_state),
        aging: BUCKETS
            .iter()
            .zip(counts)
            .map(|((label, up), cases)| AgingBucket {
                label,
                upper_s: up.map(ms_to_s),
                cases,
            })
            .collect(),
        mean_daily_throughput_28d: thr,
        backlog_days: (thr > 0.0).then(|| wip as f64 / thr),
        oldest: open
            .into_iter()
            .take(top_n)
            .map(|(age, c, state, in_state)| OpenCase {
                case: log.case_name(c).to_owned(),
                queue_age_s: ms_to_s(age),
                state,
                time_in_state_s: ms_to_s(in_state),
            })
            .collect(),
    }
}

fn weekly(facts: &[CaseFacts]) -> Vec<Week> {
    let Some(first) = facts.iter().map(|f| f.created).min() else {
        return Vec::new();
    };
    let last = facts
        .iter()
        .map(|f| f.resolved_at.unwrap_or(f.created).max(f.created))
        .max()
        .unwrap_or(first);
    let w0 = time::week_start(first);
    let n = ((time::week_start(last) - w0) / time::MS_PER_WEEK + 1) as usize;
    let mut arrivals = vec![0u64; n];
    let mut throughput = vec![0u64; n];
    for f in facts {
        arrivals[((time::week_start(f.created) - w0) / time::MS_PER_WEEK) as usize] += 1;
        if let Some(r) = f.resolved_at {
            throughput[((time::week_start(r) - w0) / time::MS_PER_WEEK) as usize] += 1;
        }
    }
    (0..n)
        .map(|i| {
            let start = w0 + i as i64 * time::MS_PER_WEEK;
            Week {
                week: time::iso_week_label(start),
                start_ms: start,
                arrivals: arrivals[i],
                throughput: throughput[i],
            }
        })
        .collect()
}

/// Cases per state at the end of each day (or week, for logs longer than 400 days).
fn cumulative_flow(log: &EventLog, facts: &[CaseFacts], lo: i64, hi: i64) -> CumulativeFlow {
    let weekly = hi - lo > 400 * MS_PER_DAY;
    let (start, width) = if weekly {
        (time::week_start(lo), time::MS_PER_WEEK)
    } else {
        (time::day_start(lo), MS_PER_DAY)
    };
    let n = ((hi - start) / width + 1) as usize;
    let mut delta = vec![[0i64; 6]; n + 1];
    let bucket = |t: i64| (((t - start) / width) as usize).min(n - 1);
    let ts = log.ts();
    for (c, f) in facts.iter().enumerate() {
        let r = log.case_events(c);
        if !log.states_mapped() {
            delta[bucket(f.created)][State::New.index()] += 1;
            let b = bucket(ts[r.end - 1]);
            delta[b][State::New.index()] -= 1;
            delta[b][State::Resolved.index()] += 1;
            continue;
        }
        let mut cur = State::New;
        delta[bucket(f.created)][cur.index()] += 1;
        for e in r {
            if let Some(s) = log.state(e)
                && s != cur
            {
                let b = bucket(ts[e]);
                delta[b][cur.index()] -= 1;
                delta[b][s.index()] += 1;
                cur = s;
            }
        }
    }
    let mut series: BTreeMap<State, Vec<u64>> = State::ALL
        .iter()
        .map(|&s| (s, Vec::with_capacity(n)))
        .collect();
    let mut running = [0i64; 6];
    for d in delta.iter().take(n) {
        for s in State::ALL {
            running[s.index()] += d[s.index()];
            if let Some(v) = series.get_mut(&s) {
                v.push(running[s.index()].max(0) as u64);
            }
        }
    }
    series.retain(|_, v| v.iter().any(|&x| x > 0));
    CumulativeFlow {
        bucket: if weekly { "week" } else { "day" },
        t_ms: (0..n).map(|i| start + i as i64 * width).collect(),
        series,
    }
}

/// Adherence per priority; `durations(case, first working event)` gives the case's time to
/// first response and to resolution (milliseconds), on whichever clock the report uses.
fn sla_report(
    log: &EventLog,
    cfg: &SlaConfig,
    durations: impl Fn(usize, Option<usize>) -> (Option<i64>, Option<i64>),
) -> SlaReport {
    let col = log.attr_index(&cfg.priority_attr);
    // Per target priority: cases, response met / with response, resolution met / resolved.
    let mut acc = vec![[0u64; 5]; cfg.targets.len()];
    let target_of: FxHashMap<&str, usize> = cfg
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.priority.as_str(), i))
        .collect();
    if let Some(col) = col {
        let values = log.attr(col);
        for c in 0..log.n_cases() {
            let r = log.case_events(c);
            let Some(p) = r.clone().map(|e| values[e]).find(|&v| v != NONE) else {
                continue;
            };
            let Some(&ti) = target_of.get(log.attr_values[col].resolve(p)) else {
                continue;
            };
            let t = &cfg.targets[ti];
            let a = &mut acc[ti];
            a[0] += 1;
            let first_working = r.clone().find(|&e| log.state(e) == Some(State::Working));
            let (first_response, resolution) = durations(c, first_working);
            if let (Some(target), Some(fr)) = (t.first_response_s, first_response) {
                a[1] += 1;
                a[2] += (fr as f64 / 1000.0 <= target) as u64;
            }
            if let (Some(target), Some(res)) = (t.resolution_s, resolution) {
                a[3] += 1;
                a[4] += (res as f64 / 1000.0 <= target) as u64;
            }
        }
    }
    let rows: Vec<SlaRow> = cfg
        .targets
        .iter()
        .zip(&acc)
        .map(|(t, a)| SlaRow {
            priority: t.priority.clone(),
            cases: a[0],
            first_response_target_s: t.first_response_s,
            first_response_met: ratio(a[2], a[1]),
            resolution_target_s: t.resolution_s,
            resolution_met: ratio(a[4], a[3]),
        })
        .collect();
    let sum = |i: usize| acc.iter().map(|a| a[i]).sum::<u64>();
    SlaReport {
        priority_attr: cfg.priority_attr.clone(),
        rows,
        resolution_adherence: ratio(sum(4), sum(3)),
        first_response_adherence: ratio(sum(2), sum(1)),
    }
}
