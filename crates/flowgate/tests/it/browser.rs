//! HTML reports opened in headless Chromium (playwright-core): they load without errors,
//! fetch nothing, and every chart draws. Gated by FLOWGATE_BROWSER_TESTS=1, which `.ci/run`
//! sets after installing Chromium and the npm package.

use std::path::Path;
use std::process::Command;

use crate::{flowgate, shared, stderr, temp_dir};

fn check(report: &Path, expect: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/check-report.mjs");
    let shot = report.with_extension("png");
    let out = Command::new("node")
        .arg(&script)
        .arg(report)
        .arg(&shot)
        .args(expect)
        .output()
        .expect("node runs (FLOWGATE_BROWSER_TESTS=1 needs Node.js)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{}: {said}", report.display());
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "the screenshot is empty"
    );
}

#[test]
fn reports_render_in_headless_chromium() {
    if std::env::var_os("FLOWGATE_BROWSER_TESTS").is_none() {
        // Straight to the terminal: the test harness captures eprintln! of passing tests.
        use std::io::Write;
        let _ = std::io::stderr().write_all(
            b"\nFLOWGATE_BROWSER_TESTS not set: the headless-Chromium checks were SKIPPED (CI sets it)\n",
        );
        return;
    }
    let d = temp_dir("browser");
    let demo = d.join("demo");
    let out = flowgate(&["demo", "--tickets", "3000", "--out", demo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    check(&demo.join("report.html"), &["demand"]);
    let bpic = d.join("bpic2013.html");
    let data = shared().join("data/bpic2013/bpi_challenge_2013_incidents.xes.gz");
    let out = flowgate(&[
        "baseline",
        data.to_str().unwrap(),
        "--preset",
        "bpic2013",
        "-o",
        bpic.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    check(&bpic, &[]);
    // The value layer's pages: the weekly scorecard and the executive summary.
    let log = demo.join("tickets-log.csv");
    let preset = demo.join("demo-preset.toml");
    let card = d.join("scorecard.html");
    let out = flowgate(&[
        "scorecard",
        log.to_str().unwrap(),
        "--mapping",
        preset.to_str().unwrap(),
        "-q",
        "-o",
        card.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    check(&card, &["scorecard"]);
    let budget = d.join("budget.toml");
    std::fs::write(
        &budget,
        "loaded_cost_per_agent_hour = 38\ntickets_per_month = 12000\n",
    )
    .unwrap();
    let exec = d.join("exec.html");
    let out = flowgate(&[
        "compare",
        log.to_str().unwrap(),
        "--mapping",
        preset.to_str().unwrap(),
        "-q",
        "--baseline",
        "2026-03-02..2026-05-04",
        "--pilot",
        "2026-05-04..2026-07-06",
        "--by",
        "intent",
        "--resamples",
        "200",
        "--budget",
        budget.to_str().unwrap(),
        "--report",
        exec.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    check(&exec, &["exec"]);
}
