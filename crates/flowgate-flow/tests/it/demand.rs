//! Demand joined to flow on a constructed log whose figures were worked out by hand.

use flowgate_flow::demand::{Bucket, BucketRules, DemandInput, demand};
use flowgate_flow::{EventLogBuilder, State};

use State::*;

/// reset-1..10: one team, working from 10 s, resolved at 100·k s.
/// dispute-1..4: team X then team Y (one handoff), resolved at 150 s.
/// misc-1..3: one team, resolved at 60 s (classified without confidence).
/// orphan: no ticket.
fn log() -> flowgate_flow::EventLog {
    let mut b = EventLogBuilder::new(true);
    let mut ev = |c: &str, t: i64, st: State, team: &str| {
        b.push_str(c, t * 1000, st.as_str(), None, Some(team), Some(st), false);
    };
    for k in 1..=10 {
        let c = format!("reset-{k:02}");
        ev(&c, 0, New, "X");
        ev(&c, 10, Working, "X");
        ev(&c, 100 * k, Resolved, "X");
    }
    for k in 1..=4 {
        let c = format!("dispute-{k}");
        ev(&c, 0, New, "X");
        ev(&c, 50, Working, "Y");
        ev(&c, 150, Resolved, "Y");
    }
    for k in 1..=3 {
        let c = format!("misc-{k}");
        ev(&c, 0, New, "X");
        ev(&c, 60, Resolved, "X");
    }
    ev("orphan", 0, New, "X");
    b.finish()
}

fn input(log: &flowgate_flow::EventLog) -> DemandInput {
    let intents = vec!["reset".to_owned(), "dispute".to_owned(), "misc".to_owned()];
    let mut case_intent = Vec::new();
    let mut case_unclear = Vec::new();
    for c in 0..log.n_cases() {
        let name = log.case_name(c);
        let i = intents.iter().position(|i| name.starts_with(i.as_str()));
        case_intent.push(i.map(|i| i as u32));
        case_unclear.push(name.starts_with("misc"));
    }
    DemandInput {
        intents,
        case_intent,
        case_unclear,
        cohesion: None,
        kb_covered: None,
    }
}

#[test]
fn buckets_and_figures_by_hand() {
    let log = log();
    let rules = BucketRules {
        min_tickets: 5,
        min_share: 0.1,
        ..BucketRules::default()
    };
    let d = demand(&log, &input(&log), &rules, 5);
    assert_eq!(d.tickets, 17);
    assert_eq!(d.cases_without_ticket, 1);

    let reset = d.intents.iter().find(|i| i.intent == "reset").unwrap();
    assert_eq!(reset.bucket, Bucket::Repetitive);
    assert_eq!(reset.flow.tickets, 10);
    assert!((reset.flow.share - 10.0 / 17.0).abs() < 1e-12);
    // Cycle times 100..1000: nearest-rank p50 = 5th = 500, p85 = 9th = 900.
    assert_eq!(reset.flow.cycle_time_s.p50, Some(500.0));
    assert_eq!(reset.flow.cycle_time_s.p85, Some(900.0));
    assert!((reset.flow.cycle_spread.unwrap() - 1.8).abs() < 1e-12);
    // Touch = cycle − 10: p50 490, p85 890.
    assert!((reset.flow.touch_spread.unwrap() - 890.0 / 490.0).abs() < 1e-12);
    assert_eq!(reset.flow.handoffs_per_ticket, 0.0);
    assert!(
        reset.explanation.contains("high volume (59%)"),
        "{}",
        reset.explanation
    );
    assert!(
        reset.explanation.contains("p85/p50 = 1.8"),
        "{}",
        reset.explanation
    );

    let dispute = d.intents.iter().find(|i| i.intent == "dispute").unwrap();
    assert_eq!(dispute.bucket, Bucket::Judgment);
    assert_eq!(dispute.flow.handoffs_per_ticket, 1.0);
    assert!(
        dispute.explanation.contains("1.00 handoffs per ticket"),
        "{}",
        dispute.explanation
    );

    let misc = d.intents.iter().find(|i| i.intent == "misc").unwrap();
    assert_eq!(misc.bucket, Bucket::Ambiguous);
    assert_eq!(misc.unclear_share, 1.0);

    let count = |b: Bucket| {
        d.buckets
            .iter()
            .find(|x| x.bucket == b)
            .unwrap()
            .flow
            .tickets
    };
    assert_eq!(count(Bucket::Repetitive), 10);
    assert_eq!(count(Bucket::Judgment), 4);
    assert_eq!(count(Bucket::Ambiguous), 3);

    // Only repetitive intents are candidates; reset holds 5,500 s of the 6,100 s of
    // confidently classified cycle time (dispute 4 × 150 s; misc has no confident case).
    assert_eq!(d.candidates.len(), 1);
    let c = &d.candidates[0];
    assert_eq!(c.intent, "reset");
    assert_eq!(c.repetitiveness, 1.0);
    assert!((c.cycle_time_total_s - 5500.0).abs() < 1e-9);
    assert!((c.cycle_time_share - 5500.0 / 6100.0).abs() < 1e-12);
}

#[test]
fn thresholds_move_intents_between_buckets() {
    let log = log();
    // A stricter spread limit sends reset to judgment; a minimum volume above its
    // ticket count does too, with the reason in words.
    let strict = BucketRules {
        min_tickets: 5,
        min_share: 0.1,
        max_cycle_spread: 1.5,
        ..BucketRules::default()
    };
    let d = demand(&log, &input(&log), &strict, 5);
    let reset = d.intents.iter().find(|i| i.intent == "reset").unwrap();
    assert_eq!(reset.bucket, Bucket::Judgment);
    assert!(reset.explanation.contains("cycle-time p85/p50 = 1.8"));
    let small = BucketRules {
        min_tickets: 11,
        ..BucketRules::default()
    };
    let d = demand(&log, &input(&log), &small, 5);
    let reset = d.intents.iter().find(|i| i.intent == "reset").unwrap();
    assert_eq!(reset.bucket, Bucket::Judgment);
    assert!(
        reset.explanation.starts_with("low volume (10 tickets"),
        "{}",
        reset.explanation
    );
    assert!(d.candidates.is_empty());
}

#[test]
fn select_cases_keeps_whole_cases() {
    let log = log();
    let sub = log.select_cases(|c| log.case_name(c).starts_with("dispute"));
    assert_eq!(sub.n_cases(), 4);
    assert_eq!(sub.n_events(), 12);
    assert_eq!(sub.case_name(0), "dispute-1");
    assert_eq!(sub.case_events(3), 9..12);
}
