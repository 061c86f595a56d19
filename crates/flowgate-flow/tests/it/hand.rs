//! A four-case log whose every metric was worked out by hand from DESIGN.md's definitions.

use flowgate_flow::{BaselineOptions, EventLogBuilder, State, baseline};

use State::*;

fn s(x: i64) -> i64 {
    x * 1000
}

/// A: new → waiting_internal → (handoff X→Y) working → waiting_customer → working → resolved
///    → closed. B: handoffs X→Y→X→Z (ping-pong, 3 teams), a reopen, an escalation.
/// C: still open. D: no team, straight through.
fn log() -> flowgate_flow::EventLog {
    let mut b = EventLogBuilder::new(true);
    let ev =
        |b: &mut EventLogBuilder, c: &str, t: i64, st: State, team: Option<&str>, esc: bool| {
            b.push_str(c, s(t), st.as_str(), None, team, Some(st), esc);
        };
    ev(&mut b, "A", 0, New, Some("X"), false);
    ev(&mut b, "A", 100, WaitingInternal, Some("X"), false);
    ev(&mut b, "A", 300, Working, Some("Y"), false);
    ev(&mut b, "A", 600, WaitingCustomer, Some("Y"), false);
    ev(&mut b, "A", 1000, Working, Some("Y"), false);
    ev(&mut b, "A", 1200, Resolved, Some("Y"), false);
    ev(&mut b, "A", 1500, Closed, None, false);
    ev(&mut b, "B", 0, New, Some("X"), false);
    ev(&mut b, "B", 50, Working, Some("Y"), false);
    ev(&mut b, "B", 150, Resolved, Some("Y"), false);
    ev(&mut b, "B", 250, WaitingInternal, Some("X"), false);
    ev(&mut b, "B", 400, Working, Some("Z"), true);
    ev(&mut b, "B", 500, Resolved, Some("Z"), false);
    ev(&mut b, "C", 1000, New, None, false);
    ev(&mut b, "C", 2000, Working, None, false);
    ev(&mut b, "D", 0, New, None, false);
    ev(&mut b, "D", 10, Working, None, false);
    ev(&mut b, "D", 20, Resolved, None, false);
    // An exact duplicate of an event of B: dropped and counted.
    ev(&mut b, "B", 50, Working, Some("Y"), false);
    b.finish()
}

#[test]
fn every_headline_metric_by_hand() {
    let b = baseline(&log(), &BaselineOptions::new());
    assert_eq!(b.events, 18);
    assert_eq!(b.duplicates_dropped, 1);
    assert_eq!((b.cases, b.resolved_cases, b.open_cases), (4, 3, 1));
    // Cycle times 1200, 500, 20: nearest rank p50 = 2nd, p85 = p95 = 3rd.
    assert_eq!(b.cycle_time_s.p50, Some(500.0));
    assert_eq!(b.cycle_time_s.p85, Some(1200.0));
    assert_eq!(b.cycle_time_s.p95, Some(1200.0));
    assert!((b.cycle_time_s.mean.unwrap() - 1720.0 / 3.0).abs() < 1e-9);
    let t = |st: State| b.time_in_state_s.get(&st).copied().unwrap_or(0.0);
    assert_eq!(t(New), 160.0);
    assert_eq!(t(WaitingInternal), 350.0);
    assert_eq!(t(Working), 710.0);
    assert_eq!(t(WaitingCustomer), 400.0);
    assert_eq!(t(Resolved), 100.0);
    assert_eq!(t(Closed), 0.0);
    assert!((b.flow_efficiency.unwrap() - 710.0 / 1620.0).abs() < 1e-12);
    // Touch per resolved case: A 300 + 200, B 100 + 100, D 10.
    assert_eq!(b.touch_time_s.n, 3);
    assert_eq!(b.touch_time_s.p50, Some(200.0));
    assert_eq!(b.touch_time_s.p85, Some(500.0));
    assert!((b.reopen_rate.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert!((b.first_pass_resolution_rate.unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(b.handoffs.total, 4);
    assert_eq!(b.handoffs.mean, 1.0);
    assert_eq!(b.handoffs.cases_3plus_teams, 1);
    assert_eq!(b.handoffs.ping_pong_cases, 1);
    assert_eq!(b.escalated_cases, 1);
    assert_eq!(b.rework_cases, 1);
    assert_eq!(b.repeat_activity_cases, 2);
    assert_eq!(b.dfg_edges, 8);
    assert_eq!(b.variants, 4);
}

#[test]
fn backlog_and_edges_by_hand() {
    let b = baseline(&log(), &BaselineOptions::new());
    let bl = b.backlog.as_ref().unwrap();
    assert_eq!(bl.as_of, "1970-01-01T00:33:20Z"); // the last event, t = 2000 s
    assert_eq!(bl.wip, 1);
    assert_eq!(bl.queue_age_s.p50, Some(1000.0));
    assert_eq!(bl.time_in_current_state_s.p50, Some(0.0));
    // Three resolutions in the 28 days before: backlog days = 1 / (3/28).
    assert!((bl.backlog_days.unwrap() - 28.0 / 3.0).abs() < 1e-9);
    // working → resolved happens in A (200 s), B (100 s, 100 s) and D (10 s).
    let e = b
        .dfg
        .iter()
        .find(|e| e.from == "working" && e.to == "resolved")
        .unwrap();
    assert_eq!(e.count, 4);
    assert_eq!(e.wait_median_s, 100.0); // sorted 10, 100, 100, 200: rank 2
    assert_eq!(e.wait_p90_s, 200.0);
    assert_eq!(e.wait_total_s, 410.0);
    // X → Y twice (A and B), Y → X once, X → Z once.
    let pair = |f: &str, t: &str| {
        b.handoff_pairs
            .iter()
            .find(|p| p.from == f && p.to == t)
            .map(|p| p.count)
    };
    assert_eq!(pair("X", "Y"), Some(2));
    assert_eq!(pair("Y", "X"), Some(1));
    assert_eq!(pair("X", "Z"), Some(1));
}

#[test]
fn as_of_in_the_past_sees_the_past() {
    let mut opts = BaselineOptions::new();
    opts.as_of_ms = Some(s(200));
    let b = baseline(&log(), &opts);
    let bl = b.backlog.unwrap();
    // At t = 200 s: A is waiting_internal, B was resolved at 150 s, C not created, D done.
    assert_eq!(bl.wip, 1);
    assert_eq!(bl.wip_by_state.get(&WaitingInternal), Some(&1));
}

#[test]
fn a_log_without_states_resolves_every_case_at_its_last_event() {
    let mut b = EventLogBuilder::new(false);
    b.push_str("1", s(0), "a", None, None, None, false);
    b.push_str("1", s(30), "b", None, None, None, false);
    b.push_str("2", s(5), "a", None, None, None, false);
    let r = baseline(&b.finish(), &BaselineOptions::new());
    assert_eq!(r.resolved_cases, 2);
    assert_eq!(r.cycle_time_s.p85, Some(30.0));
    assert_eq!(r.cycle_time_s.p50, Some(0.0));
    assert!(r.flow_efficiency.is_none());
    assert!(r.time_in_state_s.is_empty());
}

#[test]
fn equal_timestamps_keep_source_order() {
    let mut b = EventLogBuilder::new(false);
    b.push_str("1", s(10), "second-in-time", None, None, None, false);
    b.push_str("1", s(0), "first", None, None, None, false);
    b.push_str("1", s(10), "third-in-file", None, None, None, false);
    let log = b.finish();
    let names: Vec<&str> = log
        .activity()
        .iter()
        .map(|&a| log.activities.resolve(a))
        .collect();
    assert_eq!(names, ["first", "second-in-time", "third-in-file"]);
}

#[test]
fn appending_a_builder_equals_pushing_into_one() {
    let rows = [
        ("A", 0, "x", Some("T1"), "p"),
        ("B", 5, "y", None, "q"),
        ("A", 10, "y", Some("T2"), "p"),
        ("C", 20, "z", Some("T1"), "r"),
        ("B", 30, "x", Some("T3"), "q"),
    ];
    let push = |b: &mut EventLogBuilder, r: &(&str, i64, &str, Option<&str>, &str)| {
        let col = b.attr_column("prio");
        let v = b.attr_values[col].intern(r.4);
        let row = flowgate_flow::EventRow {
            case: b.cases.intern(r.0),
            ts_ms: s(r.1),
            activity: b.activities.intern(r.2),
            resource: flowgate_flow::NONE,
            team: r.3.map_or(flowgate_flow::NONE, |t| b.teams.intern(t)),
            state: None,
            escalation: false,
        };
        b.push(row, &[v]);
    };
    let mut whole = EventLogBuilder::new(false);
    rows.iter().for_each(|r| push(&mut whole, r));
    let mut first = EventLogBuilder::new(false);
    let mut second = EventLogBuilder::new(false);
    rows[..2].iter().for_each(|r| push(&mut first, r));
    rows[2..].iter().for_each(|r| push(&mut second, r));
    first.append(second);
    let (a, b) = (whole.finish(), first.finish());
    let names = |l: &flowgate_flow::EventLog| -> Vec<String> {
        (0..l.n_events())
            .map(|e| {
                let prio = l.attr_values[0].resolve(l.attr(0)[e]);
                format!(
                    "{}:{}:{}:{}",
                    l.ts()[e],
                    l.activities.resolve(l.activity()[e]),
                    l.teams.resolve(l.team()[e]),
                    prio
                )
            })
            .collect()
    };
    assert_eq!(names(&a), names(&b));
    assert_eq!(
        a.cases.iter().collect::<Vec<_>>(),
        b.cases.iter().collect::<Vec<_>>()
    );
}

/// Sticky resolution on the hand log, N = 7 days = 604,800 s. A: resolved at 1,200 s, never
/// reopened. B: resolved at 150 s, reopened at 250 s. C: never resolved. D: resolved at 20 s.
/// Ticket 4 (customer of A, same intent) arrives 1,200 + 604,800 s after A's resolution —
/// inside the window, on its last second; ticket 5 (customer of D, same intent) arrives one
/// second after D's window ends; ticket 6 (customer of D, other intent) arrives inside it.
#[test]
fn sticky_resolution_by_hand() {
    use flowgate_flow::sticky::{Outcome, StickyTicket, sticky};
    let log = log();
    let case = |n: &str| log.cases.get(n).map(|c| c as usize);
    let t = |c: Option<usize>, cust: &str, intent: &str, at_s: i64, acted: bool| StickyTicket {
        case: c,
        customer: cust.into(),
        intent: intent.into(),
        created_ms: s(at_s),
        acted,
    };
    let tickets = vec![
        t(case("A"), "ann", "refund", 0, true),
        t(case("B"), "bob", "refund", 0, true),
        t(case("C"), "cat", "refund", 1000, true),
        t(case("D"), "dan", "invoice", 0, true),
        t(None, "ann", "refund", 1200 + 604_800, false),
        t(None, "dan", "invoice", 20 + 604_800 + 1, false),
        t(None, "dan", "refund", 100, false),
        t(None, "eve", "refund", 100, true),
    ];
    let r = sticky(&log, &tickets, 7.0);
    assert_eq!(
        r.outcomes[0],
        Some(Outcome::ReturnedWithin {
            ticket: 4,
            days: 7.0
        })
    );
    assert_eq!(r.outcomes[1], Some(Outcome::Reopened));
    assert_eq!(r.outcomes[2], Some(Outcome::Unresolved));
    assert_eq!(r.outcomes[3], Some(Outcome::Sticky));
    assert_eq!(r.outcomes[4], None);
    assert_eq!(r.outcomes[7], Some(Outcome::NotInLog));
    assert_eq!((r.acted, r.assessed, r.sticky), (5, 4, 1));
    assert_eq!(r.sticky_rate, Some(0.25));
    // Tallies: one act of each outcome; per intent, only the assessed acts (eve's is not in
    // the log): refund A, B, C none sticky; invoice D sticky.
    let kinds: Vec<(&str, usize)> = r.by_outcome().into_iter().collect();
    assert_eq!(
        kinds,
        [
            ("not_in_log", 1),
            ("reopened", 1),
            ("returned_within_window", 1),
            ("sticky", 1),
            ("unresolved", 1)
        ]
    );
    let per: Vec<(String, usize, usize)> = r
        .by_intent(&tickets)
        .into_iter()
        .map(|i| (i.intent, i.assessed, i.sticky))
        .collect();
    assert_eq!(
        per,
        [("invoice".to_owned(), 1, 1), ("refund".to_owned(), 3, 0)]
    );
    // D acted on without an intent (or without a customer): resolved and never back, but
    // nothing says it stuck — counted apart, never sticky.
    for (cust, intent, want) in [
        ("dan", "", Outcome::NoIntent),
        ("", "invoice", Outcome::NoCustomer),
    ] {
        let mut tk = tickets.clone();
        tk[3] = t(case("D"), cust, intent, 0, true);
        let r = sticky(&log, &tk, 7.0);
        assert_eq!(r.outcomes[3], Some(want));
        assert_eq!(
            (r.acted, r.assessed, r.unassessable, r.sticky),
            (5, 3, 1, 0)
        );
        assert_eq!(r.sticky_rate, Some(0.0));
    }
}

#[test]
fn case_records_by_hand() {
    use flowgate_flow::cases::case_records;
    let log = log();
    let r = case_records(&log);
    let by = |name: &str| {
        r[(0..log.n_cases())
            .find(|&c| log.case_name(c) == name)
            .unwrap()]
    };
    let a = by("A");
    assert_eq!(
        (a.created, a.resolved_at, a.cycle_ms()),
        (0, Some(s(1200)), Some(s(1200)))
    );
    // Working 300→600 and 1000→1200; first response at 300 s.
    assert_eq!(a.touch_ms, s(500));
    assert_eq!(a.first_response_ms, Some(s(300)));
    assert_eq!(
        (a.handoffs, a.ping_pong, a.reopens, a.escalated),
        (1, false, 0, false)
    );
    assert!(!a.first_pass() && !a.rework());
    let b = by("B");
    // Resolved at 150, reopened at 250 (gap 100 s), resolved again at 500.
    assert_eq!(b.resolved_at, Some(s(500)));
    assert_eq!((b.reopens, b.fastest_reopen_ms), (1, Some(s(100))));
    assert_eq!(b.first_reopened_resolution, Some(s(150)));
    assert!(b.reopened_within(s(100)) && !b.reopened_within(s(99)));
    assert_eq!((b.handoffs, b.ping_pong, b.escalated), (3, true, true));
    assert_eq!(b.touch_ms, s(100 + 100));
    assert!(b.rework());
    let c = by("C");
    assert_eq!(
        (c.resolved_at, c.first_response_ms, c.touch_ms),
        (None, Some(s(1000)), 0)
    );
    let d = by("D");
    assert!(d.first_pass());
    assert_eq!(
        (d.cycle_ms(), d.touch_ms, d.first_team),
        (Some(s(20)), s(10), flowgate_flow::NONE)
    );
}
