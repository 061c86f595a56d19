//! Business time: working intervals in UTC and the time they cover. Calendars (zones,
//! weekday hours, holidays) are turned into these intervals outside this crate, so the metric
//! core keeps knowing no time zones.

use rustc_hash::FxHashMap;

use crate::model::State;

/// Disjoint working intervals `[start, end)` in UTC milliseconds, sorted, with the working
/// time before each one, so the working time between two instants is two binary searches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkingTime {
    starts: Vec<i64>,
    ends: Vec<i64>,
    /// Working milliseconds in the intervals before interval `i`.
    before: Vec<i64>,
}

impl WorkingTime {
    /// From intervals in any order; overlapping or touching ones are merged, empty ones
    /// dropped.
    pub fn new(mut intervals: Vec<(i64, i64)>) -> WorkingTime {
        intervals.retain(|(a, b)| b > a);
        intervals.sort_unstable();
        let mut w = WorkingTime::default();
        for (a, b) in intervals {
            if let Some(last) = w.ends.last_mut()
                && a <= *last
            {
                *last = (*last).max(b);
                continue;
            }
            w.starts.push(a);
            w.ends.push(b);
        }
        let mut acc = 0;
        for (a, b) in w.starts.iter().zip(&w.ends) {
            w.before.push(acc);
            acc += b - a;
        }
        w
    }

    /// Working milliseconds in `[0, t)` counted from the first interval.
    fn worked_until(&self, t: i64) -> i64 {
        // Intervals starting at or before t.
        let i = self.starts.partition_point(|&s| s <= t);
        if i == 0 {
            return 0;
        }
        let k = i - 1;
        self.before[k] + (t.min(self.ends[k]) - self.starts[k])
    }

    /// Working milliseconds in `[a, b)` (0 when `b <= a`).
    pub fn between(&self, a: i64, b: i64) -> i64 {
        if b <= a {
            return 0;
        }
        self.worked_until(b) - self.worked_until(a)
    }

    pub fn intervals(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.starts.iter().copied().zip(self.ends.iter().copied())
    }
}

/// The calendars a log's business time is measured with: one by default, others per team
/// (by team name), and the states during which SLA clocks stop.
#[derive(Clone, Debug, Default)]
pub struct BusinessTime {
    /// A label for reports (the default calendar's zone, say).
    pub name: String,
    pub default: WorkingTime,
    pub teams: FxHashMap<String, WorkingTime>,
    /// SLA clocks pause while the case is in one of these states.
    pub pause_on: Vec<State>,
}

impl BusinessTime {
    /// The calendar per team id of `teams` (the default where a team has none).
    pub(crate) fn per_team<'a>(&'a self, teams: &crate::model::Interner) -> Vec<&'a WorkingTime> {
        teams
            .iter()
            .map(|name| self.teams.get(name).unwrap_or(&self.default))
            .collect()
    }

    /// The calendar of team id `team` ([`crate::model::NONE`]: the default).
    pub(crate) fn of<'a>(&'a self, per_team: &[&'a WorkingTime], team: u32) -> &'a WorkingTime {
        per_team
            .get(team as usize)
            .copied()
            .unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn counts_only_the_working_part() {
        // 09–17 on two days, 24 h apart.
        let w = WorkingTime::new(vec![(33 * H, 41 * H), (9 * H, 17 * H)]);
        assert_eq!(w.between(0, 100 * H), 16 * H);
        assert_eq!(w.between(16 * H, 34 * H), 2 * H);
        assert_eq!(w.between(17 * H, 33 * H), 0);
        assert_eq!(w.between(10 * H, 10 * H), 0);
        assert_eq!(w.between(12 * H, 10 * H), 0);
        assert_eq!(w.between(-5 * H, 9 * H + 1), 1);
        // Overlapping and touching intervals merge.
        let m = WorkingTime::new(vec![(0, 10), (5, 20), (20, 30), (40, 40)]);
        assert_eq!(m.intervals().collect::<Vec<_>>(), vec![(0, 30)]);
    }
}
