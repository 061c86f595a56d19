//! Timing the value layer: a year of simulation, a comparison of a million cases, and the
//! bootstrap's coverage at that scale.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use crate::*;

/// The value layer's two targets: simulation (one year, 100,000 tickets a month, 20
/// replications, fitted from the demo organisation) and compare (1,000,000 cases, 2,000
/// resamples, with and without 12 segments).
pub(crate) fn value_bench(work_dir: Option<&Path>, out: &mut dyn Write) -> Result<()> {
    use flowgate_flow::cases::CaseRecord;
    use rand::{Rng, SeedableRng};
    let dir = work_dir
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::env::temp_dir().join("flowgate-bench-value"));
    std::fs::create_dir_all(&dir)?;
    let g = flowgate_synth::generate(&flowgate_synth::Config {
        tickets: 20_000,
        ..Default::default()
    });
    let log_path = dir.join("demo-log.csv");
    flowgate_synth::write_log_csv(&log_path, &g)?;
    let mapping = flowgate_ingest::Mapping::from_toml(flowgate_synth::PRESET_TOML, "demo")?;
    let got = read_rows(&log_path, Some(mapping), true)?.finish();
    let loaded = flowgate_app::analytics::SourceLog {
        records: flowgate_flow::cases::case_records(&got.log),
        log: got.log,
        mapping: got.mapping,
        source: "demo".into(),
    };
    let t0 = Instant::now();
    let model = flowgate_app::whatif::fit(&loaded, "intent");
    let fit_s = t0.elapsed().as_secs_f64();
    let per_month = model.arrivals_per_day() * 365.25 / 12.0;
    let scale = 100_000.0 / per_month;
    let sc = flowgate_sim::Scenario {
        replications: Some(20),
        days: Some(365),
        capacity_scale: Some(scale),
        arrivals: flowgate_sim::scenario::Arrivals {
            scale: Some(scale),
            spikes: Vec::new(),
        },
        ..Default::default()
    };
    let t0 = Instant::now();
    let r = flowgate_sim::simulate(&model, &sc, 2);
    let sim_s = t0.elapsed().as_secs_f64();
    say!(
        out,
        "simulate: fitted from {} demo cases in {:.3} s; 365 days x 20 replications at {:.0} tickets a month ({:.2} M cases in all): {:.2} s (target 30 s); p50 {:.0} s",
        loaded.log.n_cases(),
        fit_s,
        r.cases.mean / 365.0 * 365.25 / 12.0,
        r.cases.mean * r.replications as f64 / 1e6,
        sim_s,
        r.cycle_time_p50_s.map_or(0.0, |b| b.mean)
    );

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let n = 1_000_000usize;
    const DAY: i64 = 86_400_000;
    let records: Vec<CaseRecord> = (0..n)
        .map(|i| {
            let created = (i % 2) as i64 * 90 * DAY + rng.random_range(0..89 * DAY);
            let u: f64 = rng.random_range(1e-9..1.0);
            let cycle = (-u.ln() * 20.0 * 3_600_000.0) as i64 + 60_000;
            let resolved = rng.random_bool(0.97);
            CaseRecord {
                created,
                resolved_at: resolved.then_some(created + cycle),
                last_event: created + cycle,
                reopens: rng.random_bool(0.05) as u32,
                fastest_reopen_ms: None,
                first_reopened_resolution: None,
                handoffs: rng.random_range(0..3),
                ping_pong: rng.random_bool(0.03),
                escalated: rng.random_bool(0.08),
                touch_ms: rng.random_range(60_000..3_600_000),
                first_response_ms: None,
                first_team: flowgate_flow::NONE,
            }
        })
        .collect();
    let seg: Vec<u32> = (0..n as u32)
        .map(|i| i.wrapping_mul(2_654_435_761) % 12)
        .collect();
    let names: Vec<String> = (0..12).map(|i| format!("intent-{i}")).collect();
    let targets: Vec<Option<f64>> = (0..n).map(|_| Some(24.0 * 3600.0)).collect();
    let opts = two_quarters(2000, 1);
    for segmented in [false, true] {
        let input = flowgate_value::CompareInput {
            records: &records,
            segments: segmented.then_some((seg.as_slice(), names.as_slice())),
            sla_target_s: Some(&targets),
        };
        let t0 = Instant::now();
        let c = flowgate_value::compare(&input, &opts);
        say!(
            out,
            "compare: {} cases, 2,000 bootstrap resamples{}: {:.2} s (target 5 s); cycle p50 difference {:.0} s, 95% CI {:?}",
            c.baseline_cases + c.pilot_cases,
            if segmented {
                ", mix-adjusted over 12 segments"
            } else {
                ""
            },
            t0.elapsed().as_secs_f64(),
            c.measure("cycle_time_p50")
                .and_then(|m| m.difference)
                .unwrap_or(0.0),
            c.measure("cycle_time_p50").and_then(|m| m.ci95)
        );
    }
    bootstrap_coverage_at_scale(out)?;
    Ok(())
}

/// Baseline days 0–90 against pilot days 90–180, the bench's synthetic periods.
fn two_quarters(resamples: usize, seed: u64) -> flowgate_value::CompareOptions {
    const DAY: i64 = 86_400_000;
    flowgate_value::CompareOptions {
        baseline: flowgate_value::Period {
            from_ms: 0,
            to_ms: 90 * DAY,
        },
        pilot: flowgate_value::Period {
            from_ms: 90 * DAY,
            to_ms: 180 * DAY,
        },
        resamples,
        seed,
        by: None,
        shortcuts: Default::default(),
    }
}

/// Coverage of the bootstrap at 1,000,000 cases, where both shortcuts are in force (the
/// normal draw for counts, 2,048 equal-count bins for cycle times): 60 trials with a known
/// difference (escalation 8% → 7%, mean cycle time 20 h → 18 h), 400 resamples each.
fn bootstrap_coverage_at_scale(out: &mut dyn Write) -> Result<()> {
    use flowgate_flow::cases::CaseRecord;
    use rand::{Rng, SeedableRng};
    const DAY: i64 = 86_400_000;
    const HOUR: f64 = 3_600_000.0;
    let trials = 60u64;
    let t0 = Instant::now();
    let (mut rate, mut mean) = (0, 0);
    for t in 0..trials {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1000 + t);
        let records: Vec<CaseRecord> = (0..1_000_000usize)
            .map(|i| {
                let pilot = i % 2 == 1;
                let created = pilot as i64 * 90 * DAY + rng.random_range(0..89 * DAY);
                let u: f64 = rng.random_range(1e-12..1.0);
                let mean_h = if pilot { 18.0 } else { 20.0 };
                let cycle = (-u.ln() * mean_h * HOUR) as i64;
                CaseRecord {
                    created,
                    resolved_at: Some(created + cycle),
                    last_event: created + cycle,
                    reopens: 0,
                    fastest_reopen_ms: None,
                    first_reopened_resolution: None,
                    handoffs: 0,
                    ping_pong: false,
                    escalated: rng.random_bool(if pilot { 0.07 } else { 0.08 }),
                    touch_ms: 0,
                    first_response_ms: None,
                    first_team: flowgate_flow::NONE,
                }
            })
            .collect();
        let opts = two_quarters(400, t);
        let input = flowgate_value::CompareInput {
            records: &records,
            segments: None,
            sla_target_s: None,
        };
        let c = flowgate_value::compare(&input, &opts);
        let covers = |m: &str, truth: f64| {
            c.measure(m)
                .and_then(|m| m.ci95)
                .is_some_and(|(lo, hi)| lo <= truth && truth <= hi)
        };
        rate += covers("escalation_rate", -0.01) as u32;
        mean += covers("cycle_time_mean", -2.0 * 3600.0) as u32;
    }
    say!(
        out,
        "bootstrap coverage at 1,000,000 cases (shortcuts in force), {trials} trials × 400 resamples: escalation rate {:.0}%, mean cycle time {:.0}% (nominal 95%); {:.1} s",
        rate as f64 * 100.0 / trials as f64,
        mean as f64 * 100.0 / trials as f64,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
