use flowgate_value::scorecard::{ReviewedDefect, ScorecardOptions, scorecard, sparkline};

use crate::{DAY, HOUR, case};

/// Monday 2026-11-16 00:00 UTC (ISO week 2026-W47).
const W47: i64 = 1_794_787_200_000;

#[test]
fn three_numbers_per_week_by_hand() {
    let mut recs = Vec::new();
    // Week 47: four cases resolved, cycle 1, 2, 3, 10 hours; one escalated; one reopened
    // 2 days after its first resolution (and resolved again in week 48).
    for h in [1, 2, 3, 10] {
        recs.push(case(W47 + DAY, Some(h * HOUR)));
    }
    recs[3].escalated = true;
    let mut reopened = case(W47 + 2 * DAY, Some(7 * DAY));
    reopened.reopens = 1;
    reopened.fastest_reopen_ms = Some(2 * DAY);
    reopened.first_reopened_resolution = Some(W47 + 3 * DAY);
    recs.push(reopened);
    // A reopen 9 days after resolution is outside the 7-day window.
    let mut late = case(W47 + DAY, Some(2 * HOUR));
    late.reopens = 1;
    late.fastest_reopen_ms = Some(9 * DAY);
    late.first_reopened_resolution = Some(W47 + DAY + HOUR);
    late.resolved_at = Some(W47 + 12 * DAY);
    recs.push(late);
    // Week 48: the reopened case (cycle 7 days) and the late one (cycle 11 days - 1 h).
    let as_of = W47 + 30 * DAY;
    let opts = ScorecardOptions {
        weeks: 2,
        last_week: Some(W47 + 7 * DAY),
        as_of: Some(as_of),
        ..ScorecardOptions::default()
    };
    // One reviewed defect counted in week 47 (a decision whose case is not in the log).
    let outside = ReviewedDefect {
        case: None,
        decided_at_ms: W47 + 5 * DAY,
    };
    let s = scorecard(&recs, &[outside], &opts);
    assert_eq!(s.weeks.len(), 2);
    let w47 = &s.weeks[0];
    assert_eq!(w47.week, "2026-W47");
    assert_eq!(w47.resolved, 4);
    // Nearest rank over 1, 2, 3, 10 h: p50 = 2nd = 2 h, p85 = ceil(3.4) = 4th = 10 h.
    assert_eq!(w47.cycle_time_p50_s, Some(7200.0));
    assert_eq!(w47.cycle_time_p85_s, Some(36_000.0));
    assert_eq!((w47.reopens, w47.reviewed_defects), (1, 1));
    assert_eq!(w47.defects_per_100, Some(50.0));
    assert_eq!(w47.escalation_rate, Some(0.25));
    assert!(!w47.provisional);
    let w48 = &s.weeks[1];
    assert_eq!((w48.week.as_str(), w48.resolved), ("2026-W48", 2));
    assert_eq!(w48.defects_per_100, Some(0.0));
    let ch = s.change.as_ref().unwrap();
    assert_eq!(ch.escalation_rate_abs, Some(-0.25));
    assert_eq!(ch.defects_per_100_abs, Some(-50.0));
    // A week whose 7-day reopen window is still open is provisional.
    let s = scorecard(
        &recs,
        &[],
        &ScorecardOptions {
            as_of: Some(W47 + 10 * DAY),
            ..opts
        },
    );
    assert!(s.weeks[0].provisional && s.weeks[1].provisional);
    // The reopened case (index 4) also reviewed as a defect, twice: still one defect. Case 0
    // (resolved in week 47 after 1 h) reviewed as a defect: one more, in its resolution week.
    let on = |case: usize| ReviewedDefect {
        case: Some(case),
        decided_at_ms: W47 + 20 * DAY,
    };
    let s = scorecard(&recs, &[on(4), on(4), on(0), on(0), outside], &opts);
    let w47 = &s.weeks[0];
    assert_eq!((w47.reopens, w47.reviewed_defects), (1, 2));
    assert_eq!(w47.defects_per_100, Some(75.0));
}

#[test]
fn sparkline_scales_to_the_range() {
    assert_eq!(sparkline(&[Some(1.0), Some(8.0), None, Some(4.5)]), "▁█ ▅");
    assert_eq!(sparkline(&[Some(2.0), Some(2.0)]), "▄▄");
}
