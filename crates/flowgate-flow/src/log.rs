//! The columnar, in-memory event log every metric reads.

use std::mem::take;
use std::ops::Range;

use crate::model::{Interner, NONE, State};

const STATE_NONE: u8 = u8::MAX;
/// Event flag: the preset marks this event as an escalation.
pub const FLAG_ESCALATION: u8 = 1;

/// One event as a reader hands it to the builder: strings already interned in the
/// builder's tables, [`NONE`] where a field is absent.
#[derive(Clone, Copy, Debug)]
pub struct EventRow {
    pub case: u32,
    pub ts_ms: i64,
    pub activity: u32,
    pub resource: u32,
    pub team: u32,
    pub state: Option<State>,
    pub escalation: bool,
}

/// Collects events in arrival order, then sorts and de-duplicates them into an [`EventLog`].
#[derive(Debug, Default)]
pub struct EventLogBuilder {
    pub cases: Interner,
    pub activities: Interner,
    pub resources: Interner,
    pub teams: Interner,
    attr_names: Vec<String>,
    pub attr_values: Vec<Interner>,
    states_mapped: bool,
    case: Vec<u32>,
    ts: Vec<i64>,
    activity: Vec<u32>,
    resource: Vec<u32>,
    team: Vec<u32>,
    state: Vec<u8>,
    flags: Vec<u8>,
    attrs: Vec<Vec<u32>>,
}

impl EventLogBuilder {
    /// `states_mapped`: whether the source's mapping names any state at all. Without states
    /// every case counts as resolved at its last event (DESIGN.md § Metric definitions).
    pub fn new(states_mapped: bool) -> Self {
        Self {
            states_mapped,
            ..Self::default()
        }
    }

    /// Adds a free-attribute column (filled with [`NONE`] for events already pushed) and
    /// returns its index; an existing column of that name is reused.
    pub fn attr_column(&mut self, name: &str) -> usize {
        if let Some(i) = self.attr_names.iter().position(|n| n == name) {
            return i;
        }
        self.attr_names.push(name.to_owned());
        self.attr_values.push(Interner::new());
        self.attrs.push(vec![NONE; self.ts.len()]);
        self.attr_names.len() - 1
    }

    pub fn attr_names(&self) -> &[String] {
        &self.attr_names
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn states_mapped(&self) -> bool {
        self.states_mapped
    }

    /// Row `i` in arrival order (for writers that keep source order, such as the store).
    pub fn row(&self, i: usize) -> EventRow {
        EventRow {
            case: self.case[i],
            ts_ms: self.ts[i],
            activity: self.activity[i],
            resource: self.resource[i],
            team: self.team[i],
            state: State::from_code(self.state[i]),
            escalation: self.flags[i] & FLAG_ESCALATION != 0,
        }
    }

    /// Value id of attribute column `col` at row `i` ([`NONE`] where absent).
    pub fn attr_at(&self, col: usize, i: usize) -> u32 {
        self.attrs[col][i]
    }

    /// Room for about `events` more events (a reader's estimate from the file size).
    pub fn reserve(&mut self, events: usize) {
        self.case.reserve(events);
        self.ts.reserve(events);
        self.activity.reserve(events);
        self.resource.reserve(events);
        self.team.reserve(events);
        self.state.reserve(events);
        self.flags.reserve(events);
        for col in &mut self.attrs {
            col.reserve(events);
        }
        self.cases.reserve(events / 4);
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Appends one event. `attrs[i]` is the value id of attribute column `i` ([`NONE`] when
    /// absent); columns beyond `attrs.len()` get [`NONE`].
    pub fn push(&mut self, row: EventRow, attrs: &[u32]) {
        self.case.push(row.case);
        self.ts.push(row.ts_ms);
        self.activity.push(row.activity);
        self.resource.push(row.resource);
        self.team.push(row.team);
        self.state
            .push(row.state.map_or(STATE_NONE, |s| s.index() as u8));
        self.flags
            .push(if row.escalation { FLAG_ESCALATION } else { 0 });
        for (i, col) in self.attrs.iter_mut().enumerate() {
            col.push(attrs.get(i).copied().unwrap_or(NONE));
        }
    }

    /// Puts the events in the order `perm` lists them (a permutation of `0..len`): event `k`
    /// becomes the one that was at `perm[k]`.
    pub fn permute(&mut self, perm: &[u32]) {
        fn apply<T: Copy>(col: &mut Vec<T>, perm: &[u32]) {
            let out = perm.iter().map(|&i| col[i as usize]).collect();
            *col = out;
        }
        assert_eq!(perm.len(), self.ts.len(), "a permutation of every event");
        apply(&mut self.case, perm);
        apply(&mut self.ts, perm);
        apply(&mut self.activity, perm);
        apply(&mut self.resource, perm);
        apply(&mut self.team, perm);
        apply(&mut self.state, perm);
        apply(&mut self.flags, perm);
        for col in &mut self.attrs {
            apply(col, perm);
        }
    }

    /// Appends every event of `other` after this builder's events, as if they had been
    /// pushed here: strings are re-interned, attribute columns matched by name. Lets
    /// readers parse parts of a file in parallel and join them in file order.
    pub fn append(&mut self, mut other: EventLogBuilder) {
        fn remap(dst: &mut Interner, src: &Interner) -> Vec<u32> {
            src.iter().map(|s| dst.intern(s)).collect()
        }
        let map = |m: &[u32], v: u32| if v == NONE { NONE } else { m[v as usize] };
        let cases = remap(&mut self.cases, &other.cases);
        let acts = remap(&mut self.activities, &other.activities);
        let res = remap(&mut self.resources, &other.resources);
        let teams = remap(&mut self.teams, &other.teams);
        let before = self.ts.len();
        self.case.extend(other.case.iter().map(|&v| map(&cases, v)));
        self.activity
            .extend(other.activity.iter().map(|&v| map(&acts, v)));
        self.resource
            .extend(other.resource.iter().map(|&v| map(&res, v)));
        self.team.extend(other.team.iter().map(|&v| map(&teams, v)));
        self.ts.extend_from_slice(&other.ts);
        self.state.extend_from_slice(&other.state);
        self.flags.extend_from_slice(&other.flags);
        let mut filled = vec![false; self.attrs.len()];
        for (j, name) in other.attr_names.iter().enumerate() {
            let i = self.attr_column(name);
            if i >= filled.len() {
                filled.resize(i + 1, false);
            }
            filled[i] = true;
            let m = remap(&mut self.attr_values[i], &other.attr_values[j]);
            let col = &mut self.attrs[i];
            col.truncate(before);
            col.extend(take(&mut other.attrs[j]).into_iter().map(|v| map(&m, v)));
        }
        for (i, col) in self.attrs.iter_mut().enumerate() {
            if !filled.get(i).copied().unwrap_or(false) {
                col.resize(self.ts.len(), NONE);
            }
        }
    }

    /// Convenience for tests and small producers: interns the strings itself.
    #[allow(clippy::too_many_arguments)]
    pub fn push_str(
        &mut self,
        case: &str,
        ts_ms: i64,
        activity: &str,
        resource: Option<&str>,
        team: Option<&str>,
        state: Option<State>,
        escalation: bool,
    ) {
        let row = EventRow {
            case: self.cases.intern(case),
            ts_ms,
            activity: self.activities.intern(activity),
            resource: resource.map_or(NONE, |r| self.resources.intern(r)),
            team: team.map_or(NONE, |t| self.teams.intern(t)),
            state,
            escalation,
        };
        self.push(row, &[]);
    }

    /// Sorts events by case (in order of first appearance) then time, keeping source order
    /// for equal times, and drops exact duplicates (every field equal), keeping the first.
    pub fn finish(self) -> EventLog {
        let n = self.ts.len();
        let n_cases = self.cases.len();
        // Counting sort by case: linear and stable.
        let mut start = vec![0u32; n_cases + 1];
        for &c in &self.case {
            start[c as usize + 1] += 1;
        }
        for i in 0..n_cases {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut perm = vec![0u32; n];
        for (i, &c) in self.case.iter().enumerate() {
            let slot = &mut next[c as usize];
            perm[*slot as usize] = i as u32;
            *slot += 1;
        }
        drop(next);
        // Within a case, a stable sort by time (most exports are already in order).
        for c in 0..n_cases {
            let slice = &mut perm[start[c] as usize..start[c + 1] as usize];
            if !slice
                .windows(2)
                .all(|w| self.ts[w[0] as usize] <= self.ts[w[1] as usize])
            {
                slice.sort_by_key(|&i| self.ts[i as usize]);
            }
        }
        // Drop exact duplicates: they share case and time, so they sit in one run.
        let mut kept = Vec::with_capacity(n);
        let mut case_start = Vec::with_capacity(n_cases + 1);
        let mut duplicates = 0u64;
        for c in 0..n_cases {
            case_start.push(kept.len() as u32);
            let slice = &perm[start[c] as usize..start[c + 1] as usize];
            let mut run_begin = kept.len();
            for (k, &i) in slice.iter().enumerate() {
                if k > 0 && self.ts[i as usize] != self.ts[slice[k - 1] as usize] {
                    run_begin = kept.len();
                }
                let dup = kept[run_begin..]
                    .iter()
                    .any(|&j: &u32| self.same_event(i as usize, j as usize));
                if dup {
                    duplicates += 1;
                } else {
                    kept.push(i);
                }
            }
        }
        case_start.push(kept.len() as u32);
        drop(perm);
        drop(start);

        let mut b = self;
        // Exports are usually grouped by case and sorted by time already: then `kept` is
        // increasing and the columns are compacted in place, without a second copy.
        let in_order = kept.windows(2).all(|w| w[0] < w[1]);
        let ts = reorder(std::mem::take(&mut b.ts), &kept, in_order);
        let activity = reorder(std::mem::take(&mut b.activity), &kept, in_order);
        let resource = reorder(std::mem::take(&mut b.resource), &kept, in_order);
        let team = reorder(std::mem::take(&mut b.team), &kept, in_order);
        let state = reorder(std::mem::take(&mut b.state), &kept, in_order);
        let flags = reorder(std::mem::take(&mut b.flags), &kept, in_order);
        let attrs = std::mem::take(&mut b.attrs)
            .into_iter()
            .map(|c| reorder(c, &kept, in_order))
            .collect();
        EventLog {
            ts,
            activity,
            resource,
            team,
            state,
            flags,
            attrs,
            case_start,
            cases: b.cases,
            activities: b.activities,
            resources: b.resources,
            teams: b.teams,
            attr_names: b.attr_names,
            attr_values: b.attr_values,
            duplicates_dropped: duplicates,
            states_mapped: b.states_mapped,
        }
    }

    fn same_event(&self, a: usize, b: usize) -> bool {
        self.case[a] == self.case[b]
            && self.ts[a] == self.ts[b]
            && self.activity[a] == self.activity[b]
            && self.resource[a] == self.resource[b]
            && self.team[a] == self.team[b]
            && self.state[a] == self.state[b]
            && self.flags[a] == self.flags[b]
            && self.attrs.iter().all(|col| col[a] == col[b])
    }
}

/// Events sorted by case, then time; strings interned; one column per field.
///
/// Invariants: the events of case `c` are `case_events(c)`, a non-empty contiguous range,
/// sorted by time (ties in source order); no two events of a case are exact duplicates.
#[derive(Clone, Debug)]
pub struct EventLog {
    pub cases: Interner,
    pub activities: Interner,
    pub resources: Interner,
    pub teams: Interner,
    pub attr_names: Vec<String>,
    pub attr_values: Vec<Interner>,
    case_start: Vec<u32>,
    ts: Vec<i64>,
    activity: Vec<u32>,
    resource: Vec<u32>,
    team: Vec<u32>,
    state: Vec<u8>,
    flags: Vec<u8>,
    attrs: Vec<Vec<u32>>,
    duplicates_dropped: u64,
    states_mapped: bool,
}

impl EventLog {
    pub fn n_events(&self) -> usize {
        self.ts.len()
    }

    pub fn n_cases(&self) -> usize {
        self.case_start.len().saturating_sub(1)
    }

    pub fn duplicates_dropped(&self) -> u64 {
        self.duplicates_dropped
    }

    /// Whether the source mapping names states (see [`EventLogBuilder::new`]).
    pub fn states_mapped(&self) -> bool {
        self.states_mapped
    }

    pub fn case_events(&self, case: usize) -> Range<usize> {
        self.case_start[case] as usize..self.case_start[case + 1] as usize
    }

    pub fn case_name(&self, case: usize) -> &str {
        self.cases.resolve(case as u32)
    }

    pub fn ts(&self) -> &[i64] {
        &self.ts
    }

    pub fn activity(&self) -> &[u32] {
        &self.activity
    }

    pub fn resource(&self) -> &[u32] {
        &self.resource
    }

    pub fn team(&self) -> &[u32] {
        &self.team
    }

    pub fn state(&self, event: usize) -> Option<State> {
        State::from_code(self.state[event])
    }

    pub fn is_escalation(&self, event: usize) -> bool {
        self.flags[event] & FLAG_ESCALATION != 0
    }

    /// Values of free-attribute column `col`, one per event ([`NONE`] where absent).
    pub fn attr(&self, col: usize) -> &[u32] {
        &self.attrs[col]
    }

    pub fn attr_index(&self, name: &str) -> Option<usize> {
        self.attr_names.iter().position(|n| n == name)
    }

    /// The sub-log of the cases where `keep(case)` holds, in the same order, with every
    /// event of each kept case. String tables are shared in content (ids stay valid) except
    /// the case table, which holds only the kept cases.
    pub fn select_cases(&self, keep: impl Fn(usize) -> bool) -> EventLog {
        let mut cases = Interner::new();
        let mut case_start = vec![0u32];
        let mut idx: Vec<u32> = Vec::new();
        for c in 0..self.n_cases() {
            if keep(c) {
                cases.intern(self.case_name(c));
                idx.extend(self.case_events(c).map(|e| e as u32));
                case_start.push(idx.len() as u32);
            }
        }
        let pick = |col: &[u32]| idx.iter().map(|&i| col[i as usize]).collect::<Vec<u32>>();
        EventLog {
            cases,
            activities: self.activities.clone(),
            resources: self.resources.clone(),
            teams: self.teams.clone(),
            attr_names: self.attr_names.clone(),
            attr_values: self.attr_values.clone(),
            case_start,
            ts: idx.iter().map(|&i| self.ts[i as usize]).collect(),
            activity: pick(&self.activity),
            resource: pick(&self.resource),
            team: pick(&self.team),
            state: idx.iter().map(|&i| self.state[i as usize]).collect(),
            flags: idx.iter().map(|&i| self.flags[i as usize]).collect(),
            attrs: self.attrs.iter().map(|c| pick(c)).collect(),
            duplicates_dropped: 0,
            states_mapped: self.states_mapped,
        }
    }

    /// First and last event time, `None` for an empty log.
    pub fn span(&self) -> Option<(i64, i64)> {
        let min = self.ts.iter().copied().min()?;
        let max = self.ts.iter().copied().max()?;
        Some((min, max))
    }
}

/// The values of `col` at positions `kept`, in that order. With `in_place` (`kept` strictly
/// increasing) the column is compacted where it is.
fn reorder<T: Copy>(mut col: Vec<T>, kept: &[u32], in_place: bool) -> Vec<T> {
    if in_place {
        for (w, &k) in kept.iter().enumerate() {
            col[w] = col[k as usize];
        }
        col.truncate(kept.len());
        col.shrink_to_fit();
        col
    } else {
        kept.iter().map(|&i| col[i as usize]).collect()
    }
}
