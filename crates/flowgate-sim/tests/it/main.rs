//! Integration tests of the simulator: an M/M/c queue against its analytic mean wait, the
//! levers of a scenario on a small model, and scenario file errors.

use flowgate_flow::NONE;
use flowgate_sim::des::{Capacity, Model, Step, simulate};
use flowgate_sim::erlang::erlang_c;
use flowgate_sim::scenario::Scenario;
use rand::{Rng, SeedableRng};

const HOUR: i64 = 3_600_000;

fn work(team: u32, ms: i64) -> Step {
    Step {
        work: true,
        team,
        from_team: NONE,
        dur_ms: ms,
    }
}

/// M/M/3 at 80% load: Poisson arrivals 2.4 an hour, exponential service with mean 1 hour.
/// Erlang C gives the mean wait in queue C(3, A) / (3μ − λ).
#[test]
fn mmc_queue_matches_its_analytic_mean_wait() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let services: Vec<i64> = (0..50_000)
        .map(|_| {
            let u: f64 = rng.random_range(1e-12..1.0);
            ((-u.ln()) * HOUR as f64) as i64
        })
        .collect();
    let mean_h = services.iter().sum::<i64>() as f64 / services.len() as f64 / HOUR as f64;
    let templates = services.iter().map(|&s| vec![work(0, s)]).collect();
    let model = Model::from_parts(
        vec!["desk".into()],
        vec![Capacity::Slots(3)],
        vec![2.4; 168],
        templates,
        2000,
    );
    let scenario = Scenario {
        replications: Some(4),
        ..Scenario::default()
    };
    let r = simulate(&model, &scenario, 2);
    let load = 2.4 * mean_h;
    let wq_h = erlang_c(3, load) * mean_h / (3.0 - load);
    let sim_h = r.queue_wait_mean_s.unwrap().mean / 3600.0;
    assert!(
        (sim_h / wq_h - 1.0).abs() < 0.05,
        "simulated {sim_h:.3} h, analytic {wq_h:.3} h"
    );
    // Cycle = wait + service.
    let cyc_h = r.cycle_time_mean_s.unwrap().mean / 3600.0;
    assert!((cyc_h - (wq_h + mean_h)).abs() / (wq_h + mean_h) < 0.05);
}

/// Two teams, each case: 1 h work at A, a 5 h wait after the handoff, 1 h work at B.
fn two_team_model() -> Model {
    let wait = Step {
        work: false,
        team: 1,
        from_team: 0,
        dur_ms: 5 * HOUR,
    };
    let templates = (0..100)
        .map(|_| vec![work(0, HOUR), wait, work(1, HOUR)])
        .collect();
    Model::from_parts(
        vec!["A".into(), "B".into()],
        vec![Capacity::Slots(4), Capacity::Slots(4)],
        vec![1.0; 168],
        templates,
        60,
    )
}

#[test]
fn scenario_levers_move_the_numbers_the_right_way() {
    let m = two_team_model();
    let base = simulate(
        &m,
        &Scenario {
            replications: Some(3),
            ..Scenario::default()
        },
        2,
    );
    let p50 = base.cycle_time_p50_s.unwrap().mean;
    // One arrival an hour, 4 slots per team: little queueing, cycle ≈ 7 h.
    assert!((p50 / 3600.0 - 7.0).abs() < 0.5, "{p50}");
    // Merging A and B drops the 5 h wait after the handoff.
    let merged = Scenario::parse(
        "replications = 3\n[[merge]]\nteams = [\"A\", \"B\"]\n",
        "s.toml",
    )
    .unwrap();
    let r = simulate(&m, &merged, 2);
    assert!((r.cycle_time_p50_s.unwrap().mean / 3600.0 - 2.0).abs() < 0.5);
    // One slot at A with arrivals at 1 an hour and 1 h of work: a saturated queue.
    let thin = Scenario::parse("replications = 3\n[staffing]\nA = 1\n", "s.toml").unwrap();
    let r = simulate(&m, &thin, 2);
    assert!(r.cycle_time_p85_s.unwrap().mean > 2.0 * base.cycle_time_p85_s.unwrap().mean);
    // A ×3 spike for 5 days raises the backlog on those days.
    let spike = Scenario::parse(
        "replications = 3\n[[arrivals.spikes]]\nfactor = 3.0\nstart_day = 20\ndays = 5\n",
        "s.toml",
    )
    .unwrap();
    let r = simulate(&m, &spike, 2);
    assert!(
        r.backlog[23].mean > 1.5 * base.backlog[23].mean,
        "{:?} {:?}",
        r.backlog[23],
        base.backlog[23]
    );
    // AI takes every case at 90% precision: most finish in 2 minutes, 10% come back.
    let ai = Scenario::parse(
        "replications = 3\n[[ai]]\nintent = \"*\"\nshare = 1.0\nprecision = 0.9\n",
        "s.toml",
    )
    .unwrap();
    let r = simulate(&m, &ai, 2);
    assert!(r.cycle_time_p50_s.unwrap().mean <= 120.0 + 1e-9);
    let reopen = r.ai_reopen_share.unwrap().mean;
    assert!((reopen - 0.1).abs() < 0.03, "{reopen}");
    // Shifts: A works 08–18 on weekdays only, so cycle times grow.
    let shifts = Scenario::parse(
        "replications = 3\n[[shifts]]\nteam = \"A\"\nfrom_hour = 8\nto_hour = 18\nweekdays = [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"]\nagents = 4\n",
        "s.toml",
    )
    .unwrap();
    let r = simulate(&m, &shifts, 2);
    assert!(r.cycle_time_p85_s.unwrap().mean > 2.0 * base.cycle_time_p85_s.unwrap().mean);
}

#[test]
fn bad_scenarios_say_where_and_what() {
    let err = |t: &str| Scenario::parse(t, "what-if.toml").unwrap_err().to_string();
    let e = err("replications = \"many\"\n");
    assert!(e.starts_with("what-if.toml: line 1:"), "{e}");
    let e = err("[[ai]]\nintent = \"x\"\nshare = 1.5\nprecision = 0.9\n");
    assert!(e.contains("share") && e.contains("1.5"), "{e}");
    let e = err("[[shifts]]\nteam = \"A\"\nfrom_hour = 18\nto_hour = 8\nagents = 2\n");
    assert!(e.contains("from_hour"), "{e}");
    let e = err("colour = 1\n");
    assert!(e.contains("colour"), "{e}");
    let s = Scenario::parse(
        "[staffing]\nZ = 2\n[[ai]]\nintent = \"nope\"\nshare = 0.5\nprecision = 1\n",
        "x",
    )
    .unwrap();
    assert_eq!(
        s.unknown_names(&["A".into()], &["all".into()]),
        vec!["intent \"nope\"", "team \"Z\""]
    );
}

/// The scenario example in the what-if chapter parses, names real levers, and changes something.
#[test]
fn readme_scenario_example_parses() {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/08-value-and-what-if.md"
    ))
    .unwrap();
    let start = readme
        .find("# what-if.toml")
        .expect("the README shows a scenario");
    let block = &readme[start..readme[start..].find("```").map(|e| start + e).unwrap()];
    let s = Scenario::parse(block, "README what-if.toml").unwrap();
    assert_eq!(s.replications, Some(20));
    assert_eq!(s.arrivals.spikes.len(), 1);
    assert_eq!(
        (s.ai.len(), s.merge.len(), s.shifts.len(), s.staffing.len()),
        (1, 1, 1, 1)
    );
}

/// Cases without an intent are an intent of their own, never the first intent.
#[test]
fn cases_without_an_intent_are_not_given_one() {
    use flowgate_flow::{EventLogBuilder, State};
    let mut b = EventLogBuilder::new(true);
    for (k, case) in ["A", "B", "C", "D"].iter().enumerate() {
        let t0 = k as i64 * HOUR;
        for (dt, st) in [
            (0, State::New),
            (HOUR / 2, State::Working),
            (HOUR, State::Resolved),
        ] {
            b.push_str(case, t0 + dt, st.as_str(), None, Some("T"), Some(st), false);
        }
    }
    let log = b.finish();
    let records = flowgate_flow::cases::case_records(&log);
    let intents = vec!["refund".to_owned(), "login".to_owned()];
    // A refund, B and D without an intent, C a login.
    let m = Model::fit(
        &log,
        &records,
        intents,
        &[Some(0), None, Some(1), None],
        None,
    );
    assert_eq!(
        m.cases_per_intent(),
        vec![
            ("refund".to_owned(), 1),
            ("login".to_owned(), 1),
            (flowgate_sim::des::NO_INTENT.to_owned(), 2)
        ]
    );
    // Every case has an intent: no extra one.
    let intents = vec!["refund".to_owned()];
    let m = Model::fit(&log, &records, intents, &[Some(0); 4], None);
    assert_eq!(m.cases_per_intent(), vec![("refund".to_owned(), 4)]);
}

/// Drift by hand: 30 cases a day apart; the first 20 take 1 h, the last 10 take 2 h (p50 and
/// p85 double: change 100%); the same log with every case at 1 h has none. The last case
/// resolves on the log's last day, so it is not counted (censored like the rest).
#[test]
fn drift_compares_the_earlier_and_later_cases() {
    use flowgate_flow::cases::CaseRecord;
    let day = 86_400_000i64;
    let rec = |k: i64, hours: i64| CaseRecord {
        created: k * day,
        resolved_at: Some(k * day + hours * HOUR),
        last_event: k * day + hours * HOUR,
        reopens: 0,
        fastest_reopen_ms: None,
        first_reopened_resolution: None,
        handoffs: 0,
        ping_pong: false,
        escalated: false,
        touch_ms: 0,
        first_response_ms: None,
        first_team: NONE,
    };
    let changed: Vec<CaseRecord> = (0..30)
        .map(|k| rec(k, if k < 20 { 1 } else { 2 }))
        .collect();
    let d = flowgate_sim::validate::drift(&changed).unwrap();
    assert_eq!((d.earlier_p50_s, d.later_p50_s), (3600.0, 7200.0));
    assert!((d.change - 1.0).abs() < 1e-12);
    let steady: Vec<CaseRecord> = (0..30).map(|k| rec(k, 1)).collect();
    assert_eq!(flowgate_sim::validate::drift(&steady).unwrap().change, 0.0);
    assert!(flowgate_sim::validate::drift(&steady[..29]).is_none());
}

/// A simulation driven by given arrivals over a horizon is censored there, as the log it is
/// compared with is: 200 cases arrive in the first hour; half take 1 h, half 10 days. Over a
/// 3-day horizon only the 1 h cases are resolved (p85 = 1 h); without a horizon every case
/// counts (p85 = 10 days). Counting cases resolved after the horizon made the out-of-sample
/// check compare a simulation's long cases with a log that cannot contain them.
#[test]
fn a_horizon_censors_the_cycle_times_as_the_log_is_censored() {
    let delay = |ms: i64| Step {
        work: false,
        team: 0,
        from_team: NONE,
        dur_ms: ms,
    };
    let templates = vec![vec![delay(HOUR)], vec![delay(240 * HOUR)]];
    let model = Model::from_parts(
        vec!["desk".into()],
        vec![Capacity::Slots(1)],
        vec![0.0; 168],
        templates,
        30,
    );
    let arrivals: Vec<i64> = (0..200).map(|k| k * 10_000).collect();
    let within = Scenario {
        replications: Some(3),
        days: Some(3),
        ..Scenario::default()
    };
    let r = flowgate_sim::des::simulate_arrivals(&model, &within, &arrivals, 2);
    assert_eq!(r.cycle_time_p85_s.unwrap().mean, 3600.0);
    assert!(r.backlog[2].mean > 50.0, "{:?}", r.backlog[2]);
    let open = Scenario {
        replications: Some(3),
        ..Scenario::default()
    };
    let r = flowgate_sim::des::simulate_arrivals(&model, &open, &arrivals, 2);
    assert_eq!(r.cycle_time_p85_s.unwrap().mean, 240.0 * 3600.0);
}
