//! One record per case with the facts the value layer and the simulator need (DESIGN.md
//! § Metric definitions): created, resolved at, reopens and how soon they came, handoffs,
//! ping-pong, escalation, touch time and first response. Computed in one pass over the log.

use crate::log::EventLog;
use crate::model::{NONE, State};

/// What one case did, by the contract definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaseRecord {
    /// Timestamp of its first event (ms).
    pub created: i64,
    /// Resolved at (ms), for resolved cases.
    pub resolved_at: Option<i64>,
    /// Timestamp of its last event (ms).
    pub last_event: i64,
    pub reopens: u32,
    /// The shortest gap between a resolution and the reopen that undid it (ms).
    pub fastest_reopen_ms: Option<i64>,
    /// When the first resolution that was later reopened happened (ms).
    pub first_reopened_resolution: Option<i64>,
    pub handoffs: u32,
    pub ping_pong: bool,
    pub escalated: bool,
    /// Time in `working`, clipped to [created, resolved at] (to the last event when open).
    pub touch_ms: i64,
    /// From created to the first event in `working`.
    pub first_response_ms: Option<i64>,
    /// The first team that owned it (`NONE` when no event carries a team).
    pub first_team: u32,
}

impl CaseRecord {
    pub fn cycle_ms(&self) -> Option<i64> {
        self.resolved_at.map(|r| r - self.created)
    }

    /// Resolved with no reopen and no handoff (DESIGN.md: first-pass resolution).
    pub fn first_pass(&self) -> bool {
        self.resolved_at.is_some() && self.reopens == 0 && self.handoffs == 0
    }

    /// A reopen or a ping-pong (DESIGN.md: rework case).
    pub fn rework(&self) -> bool {
        self.reopens > 0 || self.ping_pong
    }

    /// Reopened within `window_ms` of a resolution.
    pub fn reopened_within(&self, window_ms: i64) -> bool {
        self.fastest_reopen_ms.is_some_and(|g| g <= window_ms)
    }
}

/// One [`CaseRecord`] per case, in case order.
pub fn case_records(log: &EventLog) -> Vec<CaseRecord> {
    let ts = log.ts();
    let team = log.team();
    let states_mapped = log.states_mapped();
    let mut seen_team = vec![u32::MAX; log.teams.len()];
    (0..log.n_cases())
        .map(|c| {
            let r = log.case_events(c);
            let created = ts[r.start];
            let last_event = ts[r.end - 1];
            let mut cur: Option<State> = None;
            let mut resolved_at = None;
            let mut last_resolution = None;
            let mut reopens = 0;
            let mut fastest_reopen_ms: Option<i64> = None;
            let mut first_reopened_resolution = None;
            let mut first_response_ms = None;
            let mut handoffs = 0;
            let mut ping_pong = false;
            let mut escalated = false;
            let mut cur_team = NONE;
            let mut first_team = NONE;
            let mut working_since: Option<i64> = None;
            let mut touch_ms = 0i64;
            for e in r.clone() {
                escalated |= log.is_escalation(e);
                let t = team[e];
                if t != NONE {
                    if first_team == NONE {
                        first_team = t;
                    }
                    if cur_team != NONE && t != cur_team {
                        handoffs += 1;
                        ping_pong |= seen_team[t as usize] == c as u32;
                    }
                    seen_team[t as usize] = c as u32;
                    cur_team = t;
                }
                let Some(s) = log.state(e) else { continue };
                if Some(s) == cur {
                    continue;
                }
                if let Some(since) = working_since.take() {
                    touch_ms += ts[e] - since;
                }
                if s == State::Working {
                    working_since = Some(ts[e]);
                    first_response_ms.get_or_insert(ts[e] - created);
                }
                let was_terminal = cur.is_some_and(State::is_terminal);
                if s.is_terminal() && !was_terminal {
                    resolved_at = Some(ts[e]);
                    last_resolution = Some(ts[e]);
                }
                if was_terminal && !s.is_terminal() {
                    reopens += 1;
                    if let Some(res) = last_resolution {
                        let gap = ts[e] - res;
                        fastest_reopen_ms = Some(fastest_reopen_ms.map_or(gap, |g| g.min(gap)));
                        first_reopened_resolution.get_or_insert(res);
                    }
                }
                cur = Some(s);
            }
            let resolved_at = if states_mapped {
                resolved_at.filter(|_| cur.is_some_and(State::is_terminal))
            } else {
                Some(last_event)
            };
            if let Some(since) = working_since {
                touch_ms += resolved_at.unwrap_or(last_event) - since;
            }
            CaseRecord {
                created,
                resolved_at,
                last_event,
                reopens,
                fastest_reopen_ms,
                first_reopened_resolution,
                handoffs,
                ping_pong,
                escalated,
                touch_ms,
                first_response_ms,
                first_team,
            }
        })
        .collect()
}
