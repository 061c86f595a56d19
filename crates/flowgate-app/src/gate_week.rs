//! The gate's week: the week's decisions by action, act coverage, and the automation rate
//! (acted on, and the ticket not reopened afterwards) — counted from the audit chain, joined
//! to a source's history for the reopens.

use std::collections::BTreeMap;

use flowgate_flow::cases::CaseRecord;
use flowgate_gate::DecisionRecord;
use flowgate_store::Store;
use serde::Serialize;

use crate::Result;
use crate::analytics::SourceLog;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GateWeek {
    pub decisions: u64,
    /// Decisions per action (`act`, `assist`, `route`, `clarify`, `escalate`).
    pub by_action: BTreeMap<String, u64>,
    /// Acted on / decisions.
    pub act_coverage: Option<f64>,
    /// Acts whose ticket is in the history and was reopened after the decision.
    pub acted_reopened: u64,
    /// Acts whose ticket the history does not hold (yet): counted as not reopened.
    pub acted_unmatched: u64,
    /// (Acted − acted and reopened) / decisions.
    pub automation_rate: Option<f64>,
}

/// One decision, as the tally reads it.
pub struct Decided<'a> {
    pub ticket: &'a str,
    pub action: &'a str,
    pub decided_at_ms: i64,
}

/// Whether the case was reopened after `at_ms`: a resolution made at or after the decision
/// was later undone (the first such, as the case records keep it).
fn reopened_after(r: &CaseRecord, at_ms: i64) -> bool {
    r.reopens > 0 && r.first_reopened_resolution.is_some_and(|t| t >= at_ms)
}

/// Tallies `decisions` against the history in `l` (when given).
pub fn tally<'a>(
    decisions: impl IntoIterator<Item = Decided<'a>>,
    l: Option<&SourceLog>,
) -> GateWeek {
    let mut w = GateWeek::default();
    let mut acted = 0u64;
    for d in decisions {
        w.decisions += 1;
        *w.by_action.entry(d.action.to_owned()).or_default() += 1;
        if d.action != "act" {
            continue;
        }
        acted += 1;
        match l.and_then(|l| l.log.cases.get(d.ticket).map(|c| &l.records[c as usize])) {
            Some(r) if reopened_after(r, d.decided_at_ms) => w.acted_reopened += 1,
            Some(_) => {}
            None => w.acted_unmatched += 1,
        }
    }
    let share = |k: u64| (w.decisions > 0).then(|| k as f64 / w.decisions as f64);
    w.act_coverage = share(acted);
    w.automation_rate = share(acted - w.acted_reopened);
    w
}

/// The first audit sequence number recorded at or after `at_ms` (the chain is in time
/// order): a binary search, so a week's tally reads that week only.
async fn first_seq_at(store: &Store, at_ms: i64) -> Result<i64> {
    let (mut lo, mut hi) = (1i64, store.audit_len().await? + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match store.audit_entry(mid).await? {
            Some(e) if e.recorded_at_ms < at_ms => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// The gate's week `[from_ms, to_ms)` from the store's audit chain.
pub async fn weekly(
    store: &Store,
    from_ms: i64,
    to_ms: i64,
    l: Option<&SourceLog>,
) -> Result<GateWeek> {
    let mut cursor = first_seq_at(store, from_ms).await? - 1;
    let mut rows: Vec<(String, String, i64)> = Vec::new();
    'scan: loop {
        let page = store.audit_after(cursor, 2000).await?;
        if page.is_empty() {
            break;
        }
        for e in page {
            cursor = e.seq;
            if e.recorded_at_ms >= to_ms {
                break 'scan;
            }
            if e.recorded_at_ms < from_ms {
                continue;
            }
            if let Some(r) = DecisionRecord::parse(&e.record) {
                rows.push((r.ticket, r.decision.as_str().to_owned(), e.recorded_at_ms));
            }
        }
    }
    Ok(tally(
        rows.iter().map(|(t, a, at)| Decided {
            ticket: t,
            action: a,
            decided_at_ms: *at,
        }),
        l,
    ))
}

/// The risk layer's latest week: the ISO week of the newest audit record, its gate's week
/// and defect review under the policy in force. `None` when the chain is empty.
pub async fn latest(
    store: &Store,
    l: Option<&SourceLog>,
) -> Result<Option<(GateWeek, crate::defects::DefectReview)>> {
    let n = store.audit_len().await?;
    let Some(last) = store.audit_entry(n).await? else {
        return Ok(None);
    };
    let label = flowgate_flow::time::iso_week_label(last.recorded_at_ms);
    let from = crate::analytics::parse_week(&label)?;
    let to = from + flowgate_flow::time::MS_PER_WEEK;
    let policy = crate::policy::stored(store).await?;
    let gate = weekly(store, from, to, l).await?;
    let review = crate::defects::weekly(store, &label, from, to, policy.as_ref(), None).await?;
    Ok(Some((gate, review)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_and_automation_by_hand() {
        // Six decisions: three acts (T1 not in the history, T2 reopened after the decision,
        // T3 reopened only before it), one route, one assist, one escalate.
        let mut b = flowgate_flow::EventLogBuilder::new(true);
        use flowgate_flow::State::*;
        let h = 3_600_000;
        // T2: resolved at 10 h, reopened at 11 h, resolved again at 12 h; decided at 5 h.
        b.push_str("T2", 0, "created", None, None, Some(New), false);
        b.push_str("T2", 10 * h, "solved", None, None, Some(Resolved), false);
        b.push_str("T2", 11 * h, "reopened", None, None, Some(Working), false);
        b.push_str("T2", 12 * h, "solved", None, None, Some(Resolved), false);
        // T3: resolved at 1 h, reopened at 2 h, resolved at 3 h; decided at 5 h.
        b.push_str("T3", 0, "created", None, None, Some(New), false);
        b.push_str("T3", h, "solved", None, None, Some(Resolved), false);
        b.push_str("T3", 2 * h, "reopened", None, None, Some(Working), false);
        b.push_str("T3", 3 * h, "solved", None, None, Some(Resolved), false);
        let log = b.finish();
        let records = flowgate_flow::cases::case_records(&log);
        let l = SourceLog {
            source: "t".into(),
            log,
            mapping: flowgate_ingest::Mapping::default(),
            records,
        };
        let d = |ticket, action| Decided {
            ticket,
            action,
            decided_at_ms: 5 * h,
        };
        let w = tally(
            [
                d("T1", "act"),
                d("T2", "act"),
                d("T3", "act"),
                d("T4", "route"),
                d("T5", "assist"),
                d("T6", "escalate"),
            ],
            Some(&l),
        );
        assert_eq!(w.decisions, 6);
        assert_eq!(w.by_action["act"], 3);
        assert_eq!((w.acted_reopened, w.acted_unmatched), (1, 1));
        assert_eq!(w.act_coverage, Some(0.5));
        // (3 − 1) / 6.
        assert_eq!(w.automation_rate, Some(2.0 / 6.0));
        assert_eq!(tally([], None).act_coverage, None);
    }
}
