//! Property tests: invariants that hold for any log.

use flowgate_flow::{BaselineOptions, EventLogBuilder, State, baseline};
use proptest::prelude::*;

/// Per event: (seconds after the previous event, activity, team, state).
type Ev = (u32, u8, Option<u8>, Option<u8>);

/// Cases of events; times strictly increase per case.
fn arb_log() -> impl Strategy<Value = Vec<Vec<Ev>>> {
    let event = (
        1u32..5_000,
        0u8..6,
        prop::option::of(0u8..4),
        prop::option::of(0u8..6),
    );
    prop::collection::vec(prop::collection::vec(event, 1..12), 1..25)
}

fn build(cases: &[Vec<Ev>], first_state: bool, order: &[usize]) -> flowgate_flow::EventLog {
    let mut flat = Vec::new();
    for (c, evs) in cases.iter().enumerate() {
        let mut t = c as i64 * 7_000;
        for (k, (dt, act, team, st)) in evs.iter().enumerate() {
            t += *dt as i64;
            let st = if k == 0 && first_state {
                Some(st.unwrap_or(0))
            } else {
                *st
            };
            flat.push((
                format!("case{c}"),
                t * 1000,
                format!("a{act}"),
                team.map(|x| format!("team{x}")),
                st.map(|s| State::ALL[s as usize]),
            ));
        }
    }
    let mut b = EventLogBuilder::new(true);
    for &i in order.iter().filter(|&&i| i < flat.len()) {
        let (c, t, a, team, st) = &flat[i];
        b.push_str(c, *t, a, None, team.as_deref(), *st, false);
    }
    b.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn invariants(cases in arb_log()) {
        let n: usize = cases.iter().map(Vec::len).sum();
        let order: Vec<usize> = (0..n).collect();
        let log = build(&cases, true, &order);
        let b = baseline(&log, &BaselineOptions::new());
        prop_assert_eq!(b.events as usize, n);
        prop_assert_eq!(b.resolved_cases + b.open_cases, b.cases);
        prop_assert!(b.handoffs.total <= b.events - b.cases);
        prop_assert_eq!(b.dfg.iter().map(|e| e.count).sum::<u64>(), b.events - b.cases);
        prop_assert!(b.handoffs.ping_pong_cases <= b.cases && b.rework_cases <= b.cases);
        for r in [b.reopen_rate, b.first_pass_resolution_rate, b.flow_efficiency].into_iter().flatten() {
            prop_assert!((0.0..=1.0).contains(&r));
        }
        let c = &b.cycle_time_s;
        if let (Some(p50), Some(p85), Some(p95), Some(max)) = (c.p50, c.p85, c.p95, c.max) {
            prop_assert!(p50 <= p85 && p85 <= p95 && p95 <= max);
        }
        // Every case starts in a state, so state time covers [created, resolved at] exactly.
        let state_total: f64 = b.time_in_state_s.values().sum();
        let cycle_total = c.mean.unwrap_or(0.0) * b.resolved_cases as f64;
        prop_assert!((state_total - cycle_total).abs() < 1e-6 * cycle_total.max(1.0));
        // Per-case records agree with the aggregate baseline.
        let rec = flowgate_flow::cases::case_records(&log);
        let count = |f: &dyn Fn(&flowgate_flow::cases::CaseRecord) -> bool| rec.iter().filter(|r| f(r)).count() as u64;
        prop_assert_eq!(count(&|r| r.resolved_at.is_some()), b.resolved_cases);
        prop_assert_eq!(count(&|r| r.rework()), b.rework_cases);
        prop_assert_eq!(count(&|r| r.escalated), b.escalated_cases);
        prop_assert_eq!(count(&|r| r.ping_pong), b.handoffs.ping_pong_cases);
        prop_assert_eq!(rec.iter().map(|r| r.handoffs as u64).sum::<u64>(), b.handoffs.total);
        let touch: i64 = rec.iter().filter(|r| r.resolved_at.is_some()).map(|r| r.touch_ms).sum();
        prop_assert!((touch as f64 / 1000.0 - b.touch_s).abs() < 1e-6 * b.touch_s.max(1.0));
    }

    #[test]
    fn arrival_order_does_not_matter(cases in arb_log(), seed in any::<u64>()) {
        let n: usize = cases.iter().map(Vec::len).sum();
        let forward: Vec<usize> = (0..n).collect();
        // A deterministic shuffle: times within a case are distinct, so order is recoverable.
        let mut shuffled = forward.clone();
        let mut x = seed | 1;
        for i in (1..n).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let a = baseline(&build(&cases, false, &forward), &BaselineOptions::new());
        let b = baseline(&build(&cases, false, &shuffled), &BaselineOptions::new());
        prop_assert_eq!(a.cycle_time_s, b.cycle_time_s);
        prop_assert_eq!(a.time_in_state_s, b.time_in_state_s);
        prop_assert_eq!(a.handoffs.total, b.handoffs.total);
        prop_assert_eq!(a.variants, b.variants);
        prop_assert_eq!(a.dfg_edges, b.dfg_edges);
        prop_assert_eq!(a.reopen_rate, b.reopen_rate);
    }
}
