use flowgate_value::budget::{Budget, budget_terms};
use flowgate_value::compare::{CompareInput, CompareOptions, Period, compare};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{DAY, HOUR, case};

fn periods() -> (Period, Period) {
    (
        Period {
            from_ms: 0,
            to_ms: 28 * DAY,
        },
        Period {
            from_ms: 28 * DAY,
            to_ms: 56 * DAY,
        },
    )
}

fn opts(resamples: usize, seed: u64, by: Option<&str>) -> CompareOptions {
    let (baseline, pilot) = periods();
    CompareOptions {
        baseline,
        pilot,
        resamples,
        seed,
        by: by.map(str::to_owned),
        shortcuts: Default::default(),
    }
}

/// Coverage of a known difference in escalation rate (−0.05) and in mean cycle time (−1 h)
/// over 200 synthetic trials, with the exact draws and with the shortcuts switched on early
/// (the normal draw above a variance of 5, 32 equal-count bins for 800 distinct cycle
/// times), so the test exercises the approximations production uses at scale.
fn coverage(shortcuts: flowgate_value::boot::Shortcuts) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let trials = 200;
    let (mut cover_rate, mut cover_mean) = (0, 0);
    for t in 0..trials {
        let mut recs = Vec::new();
        for (p, esc, mean_h) in [(0, 0.20, 5.0), (1, 0.15, 4.0)] {
            for _ in 0..400 {
                let created = p * 28 * DAY + rng.random_range(0..27 * DAY);
                // Exponential cycle times with the period's mean.
                let u: f64 = rng.random_range(1e-12..1.0);
                let cycle = (-u.ln() * mean_h * HOUR as f64) as i64;
                let mut c = case(created, Some(cycle.max(1)));
                c.escalated = rng.random_bool(esc);
                recs.push(c);
            }
        }
        let input = CompareInput {
            records: &recs,
            segments: None,
            sla_target_s: None,
        };
        let o = CompareOptions {
            shortcuts,
            ..opts(400, t, None)
        };
        let c = compare(&input, &o);
        let (lo, hi) = c.measure("escalation_rate").unwrap().ci95.unwrap();
        cover_rate += (lo <= -0.05 && -0.05 <= hi) as u32;
        let (lo, hi) = c.measure("cycle_time_mean").unwrap().ci95.unwrap();
        cover_mean += (lo <= -3600.0 && -3600.0 <= hi) as u32;
    }
    let share = |k: u32| k as f64 / trials as f64;
    (share(cover_rate), share(cover_mean))
}

#[test]
fn bootstrap_intervals_cover_a_known_difference() {
    let exact = coverage(flowgate_value::boot::Shortcuts::default());
    let shortcuts = coverage(flowgate_value::boot::Shortcuts {
        normal_above: 5.0,
        max_bins: 32,
    });
    eprintln!("coverage (rate, mean): exact {exact:?}, shortcuts {shortcuts:?}");
    // 95% nominal; with 200 trials the binomial spread is ±3 points.
    for (what, (rate, mean)) in [("exact", exact), ("shortcuts", shortcuts)] {
        assert!(
            (0.89..=0.99).contains(&rate),
            "{what}: rate coverage {rate}"
        );
        assert!(
            (0.88..=0.99).contains(&mean),
            "{what}: mean coverage {mean}"
        );
    }
}

/// Throughput and backlog days resample whole weeks: with exactly the same weekly rhythm in
/// both periods (10 resolutions a weekday, none at weekends, eight whole weeks each) every
/// resample keeps that rhythm, so the interval of the difference is exactly zero; resampling
/// single days would mix weekend and weekday counts and give a wide interval.
#[test]
fn throughput_intervals_resample_whole_weeks() {
    let mut recs = Vec::new();
    // Day 0 is a Thursday (1970-01-01): start both periods on a Monday (day 4).
    for d in 4..(4 + 112) {
        let weekday = (d + 3) % 7; // 0 = Monday
        if weekday < 5 {
            for k in 0..10 {
                recs.push(case(d * DAY + k * HOUR, Some(HOUR / 2)));
            }
        }
    }
    let o = CompareOptions {
        baseline: Period {
            from_ms: 4 * DAY,
            to_ms: 60 * DAY,
        },
        pilot: Period {
            from_ms: 60 * DAY,
            to_ms: 116 * DAY,
        },
        ..opts(500, 3, None)
    };
    let input = CompareInput {
        records: &recs,
        segments: None,
        sla_target_s: None,
    };
    let c = compare(&input, &o);
    let t = c.measure("throughput").unwrap();
    assert_eq!(t.difference, Some(0.0));
    let (lo, hi) = t.ci95.unwrap();
    assert!(lo.abs() < 1e-9 && hi.abs() < 1e-9, "{lo} {hi}");
    assert!((t.baseline.unwrap() - 50.0 / 7.0).abs() < 1e-9);
}

/// Simpson's paradox: easy and hard work; the pilot is faster on each, but its mix shifted to
/// the hard kind, so the pooled figure gets worse. The mix-adjusted figure shows the
/// improvement and the report says the two disagree.
#[test]
fn mix_adjustment_resolves_a_simpsons_paradox() {
    let mut recs = Vec::new();
    let mut seg = Vec::new();
    let mut push = |p: i64, s: u32, n: usize, hours: i64, esc_every: usize| {
        for i in 0..n {
            let mut c = case(
                p * 28 * DAY + (i as i64 % 27) * DAY,
                Some(hours * HOUR + i as i64 % 3 * 60_000),
            );
            c.escalated = esc_every > 0 && i % esc_every == 0;
            recs.push(c);
            seg.push(s);
        }
    };
    // Baseline: 900 easy (2 h, 10% escalated), 100 hard (20 h, 50% escalated).
    push(0, 0, 900, 2, 10);
    push(0, 1, 100, 20, 2);
    // Pilot: 100 easy (1 h, 5%), 900 hard (16 h, 40%).
    push(1, 0, 100, 1, 20);
    push(1, 1, 900, 16, 5 / 2);
    let names = vec!["easy".to_owned(), "hard".to_owned()];
    let input = CompareInput {
        records: &recs,
        segments: Some((&seg, &names)),
        sla_target_s: None,
    };
    let c = compare(&input, &opts(500, 1, Some("kind")));
    let m = c.measure("cycle_time_mean").unwrap();
    // Raw: baseline (900·2 + 100·20)/1000 = 3.8 h, pilot (100·1 + 900·16)/1000 = 14.5 h.
    assert!(
        (m.baseline.unwrap() / 3600.0 - 3.8).abs() < 0.05,
        "{:?}",
        m.baseline
    );
    assert!(
        (m.pilot.unwrap() / 3600.0 - 14.5).abs() < 0.05,
        "{:?}",
        m.pilot
    );
    assert!(m.difference.unwrap() > 0.0 && m.significant());
    // Adjusted to the baseline mix: 0.9·1 + 0.1·16 = 2.5 h against 3.8 h.
    let a = m.adjusted.as_ref().unwrap();
    assert!(
        (a.pilot.unwrap() / 3600.0 - 2.5).abs() < 0.05,
        "{:?}",
        a.pilot
    );
    assert!(a.difference.unwrap() < 0.0);
    let (_, hi) = a.ci95.unwrap();
    assert!(hi < 0.0, "adjusted interval {:?}", a.ci95);
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("cycle_time_mean:") && n.contains("demand mix")),
        "{:?}",
        c.notes
    );
    let e = c.measure("escalation_rate").unwrap();
    // Raw escalation: baseline (90 + 50)/1000 = 0.14, pilot (5 + 450)/1000 = 0.455; adjusted
    // pilot 0.9·0.05 + 0.1·0.5 = 0.095.
    assert!((e.baseline.unwrap() - 0.14).abs() < 1e-9);
    assert!((e.pilot.unwrap() - 0.455).abs() < 1e-9);
    assert!((e.adjusted.as_ref().unwrap().pilot.unwrap() - 0.095).abs() < 1e-9);
    assert_eq!(c.segments.len(), 2);
    assert!((c.segments[1].pilot_share - 0.9).abs() < 1e-9);
    // The rank test sees the raw slowdown.
    let r = c.cycle_time_rank_test.as_ref().unwrap();
    assert!(r.p_value < 1e-6 && r.prob_pilot_faster < 0.5);
}

#[test]
fn budget_terms_scale_the_differences_and_bad_budgets_say_where() {
    let mut recs = Vec::new();
    for p in 0..2 {
        for i in 0..200 {
            let mut c = case(p * 28 * DAY + (i % 27) * DAY, Some((6 - 2 * p) * HOUR));
            // Touch: 30 min in the baseline, 20 min in the pilot.
            c.touch_ms = (30 - 10 * p) * 60_000;
            recs.push(c);
        }
    }
    let input = CompareInput {
        records: &recs,
        segments: None,
        sla_target_s: None,
    };
    let c = compare(&input, &opts(200, 3, None));
    let b = Budget::parse(
        "currency = \"EUR\"\nloaded_cost_per_agent_hour = 40.0\ntickets_per_month = 6000\n",
        "budget.toml",
    )
    .unwrap();
    let t = budget_terms(&c, &b, None);
    let hours = t
        .terms
        .iter()
        .find(|t| t.name == "agent_hours_freed")
        .unwrap();
    // 10 minutes × 6000 tickets = 1000 hours a month, at 40 = 40,000.
    assert!(
        (hours.value.unwrap() - 1000.0).abs() < 1e-6,
        "{:?}",
        hours.value
    );
    assert!((hours.money.unwrap() - 40_000.0).abs() < 1e-3);
    let faster = t.terms.iter().find(|t| t.name == "faster_closure").unwrap();
    assert!((faster.value.unwrap() - 2.0 / 24.0).abs() < 1e-9);
    assert_eq!(t.money_per_month, hours.money);

    let err = Budget::parse(
        "loaded_cost_per_agent_hour = \"lots\"\ntickets_per_month = 1\n",
        "b.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("b.toml: line 1:"), "{err}");
    let err = Budget::parse(
        "loaded_cost_per_agent_hour = 1\ntickets_per_month = 1\nchurn_rate = 3\n",
        "b.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("churn_rate"), "{err}");
    let err = Budget::parse("loaded_cost_per_agent_hour = 1\n", "b.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("tickets_per_month"), "{err}");
}

#[test]
fn readme_budget_example_parses() {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/08-value-and-what-if.md"
    ))
    .unwrap();
    let start = readme
        .find("# budget.toml")
        .expect("the README shows a budget");
    let block = &readme[start..readme[start..].find("```").map(|e| start + e).unwrap()];
    let b = Budget::parse(block, "README budget.toml").unwrap();
    assert_eq!(
        (b.currency.as_str(), b.loaded_cost_per_agent_hour),
        ("EUR", 38.0)
    );
    assert_eq!(b.churn_rate, Some(0.015));
}
