//! The demo runs on its own data and writes its report.

use crate::{flowgate, stderr, temp_dir};

#[test]
fn demo_generates_analyses_and_reports() {
    let d = temp_dir("demo");
    let out_dir = d.join("out");
    let out = flowgate(&[
        "demo",
        "--tickets",
        "3000",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("report.html") && text.contains("Cycle time"),
        "{text}"
    );
    for f in [
        "report.html",
        "baseline.json",
        "baseline.md",
        "tickets-log.csv",
        "tickets.csv",
        "demo-preset.toml",
        "intent-model.fgim",
        "triage.jsonl",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("baseline.json")).unwrap())
            .unwrap();
    assert_eq!(v["cases"], 3000);
    assert!(v["sla"]["resolution_adherence"].as_f64().unwrap() > 0.5);
    // The demo's intents have distinct flows: some cross three teams, some bounce.
    assert!(v["handoffs"]["cases_3plus_teams"].as_u64().unwrap() > 0);
    assert!(v["handoffs"]["ping_pong_cases"].as_u64().unwrap() > 0);
    assert!(v["reopen_rate"].as_f64().unwrap() > 0.0);
    // The demand section: every ticket joined, all three buckets in use (the generator
    // writes 4% of tickets vaguely, which the model must flag as ambiguous).
    let dm = &v["demand"];
    assert_eq!(dm["tickets"], 3000);
    let buckets = dm["buckets"].as_array().unwrap();
    let mut names: Vec<&str> = buckets
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["ambiguous", "judgment", "repetitive"], "{dm}");
    for b in buckets {
        assert!(b["tickets"].as_u64().unwrap() > 0, "empty bucket {b}");
    }
    let triaged = std::fs::read_to_string(out_dir.join("triage.jsonl")).unwrap();
    assert_eq!(triaged.lines().count(), 600);
    assert!(text.contains("Demand by bucket"), "{text}");
    // The value layer: scorecard, a simulated pilot in budget terms, a spike scenario.
    assert!(text.contains("Scorecard 2026-W"), "{text}");
    assert!(text.contains("agent hours freed a month"), "{text}");
    assert!(text.contains("Spike x2 for 3 days"), "{text}");
    let report = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    for section in [
        "Weekly scorecard",
        "Simulated pilot",
        "In budget terms",
        "Spike: twice the arrivals",
    ] {
        assert!(report.contains(section), "report.html lacks {section}");
    }
    // The written log and preset re-read through the ordinary command give the same cases.
    let again = flowgate(&[
        "baseline",
        out_dir.join("tickets-log.csv").to_str().unwrap(),
        "--mapping",
        out_dir.join("demo-preset.toml").to_str().unwrap(),
        "--format",
        "json",
        "-q",
    ]);
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(w["cycle_time_s"], v["cycle_time_s"]);
}
