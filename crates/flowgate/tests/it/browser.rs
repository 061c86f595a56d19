//! HTML reports opened in headless Chromium (playwright-core): they load without errors,
//! fetch nothing, and every chart draws. Gated by FLOWGATE_BROWSER_TESTS=1, which `.ci/run`
//! sets after installing Chromium and the npm package.

use std::path::Path;
use std::process::Command;

use crate::{flowgate, shared, stderr, temp_dir};

fn browser_tests_on() -> bool {
    if std::env::var_os("FLOWGATE_BROWSER_TESTS").is_some() {
        return true;
    }
    // Straight to the terminal: the test harness captures eprintln! of passing tests.
    use std::io::Write;
    let _ = std::io::stderr().write_all(
        b"\nFLOWGATE_BROWSER_TESTS not set: the headless-Chromium checks were SKIPPED (CI sets it)\n",
    );
    false
}

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
    if !browser_tests_on() {
        return;
    }
    let d = temp_dir("browser");
    // The demo the service tests share (3,000 tickets): its report, then the rest.
    let demo = crate::serve::demo_dir();
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

/// A day on the pages (tests/browser/day.mjs drives Chromium), on SQLite: see [`scripted_day`].
#[test]
fn a_day_on_the_pages_in_headless_chromium() {
    if !browser_tests_on() {
        return;
    }
    let dir = temp_dir("pages");
    let db = dir.join("pages.db").display().to_string();
    scripted_day(&db, &dir, "ui-screenshots");
}

/// The same day on PostgreSQL (a database of its own).
#[test]
fn a_day_on_the_pages_on_postgresql() {
    if !browser_tests_on() {
        return;
    }
    let dir = temp_dir("pages-pg");
    let (db, _drop) = crate::store::pg_url("pages");
    scripted_day(&db, &dir, "ui-screenshots-pg");
}

/// The demo's history imported; tickets sent through the API (new ids, the demo's texts);
/// a reviewer signs in, sees them on Decisions, opens one (chain verified), reviews at least
/// 5 from the queue with the keyboard — the reviews of one intent are defects, two of them —
/// then the reviewed tickets' resolutions are posted as events, and the Overview's quality
/// figure for the current week moves from nothing to the defects per 100 resolved, and the
/// gate's week shows the reviews; Flow, What-if and the Pilot page render their figures; a
/// viewer finds no review, switch or apply controls and the review form's endpoint refusing;
/// an admin applies the threshold the defect review recommends and switches one intent off,
/// and the next ticket of that intent is routed, not acted on. Screenshots of every page at
/// 1400×900 and 390 px go to the test run's target folder (`shots`).
fn scripted_day(db: &str, dir: &Path, shots: &str) {
    use crate::serve::{Server, call, post_json, tickets, token};
    use serde_json::json;
    let demo = crate::serve::demo_dir();
    let o = flowgate(&[
        "import",
        demo.join("tickets-log.csv").to_str().unwrap(),
        "--mapping",
        demo.join("demo-preset.toml").to_str().unwrap(),
        "--db",
        db,
        "--source",
        "support",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let [reviewer, viewer, admin, ingest] =
        ["reviewer", "viewer", "admin", "ingest"].map(|r| token(db, r));
    // Figures at most a second old; a pilot over the demo's history (day one 4 May, the
    // baseline the nine weeks before); an alert above 10 quality defects per 100 resolved.
    let settings = dir.join("flowgate.toml");
    std::fs::write(
        &settings,
        "[serve]\nanalytics_ttl_s = 1\n\n[alerts]\ndefects_per_100 = 10\n\n\
         [pilot]\nname = \"Support pilot\"\nstart = \"2026-05-04\"\nbaseline = \"2026-03-02..2026-05-04\"\n\
         by = \"team\"\nbudget = { loaded_cost_per_agent_hour = 38, tickets_per_month = 12000 }\n",
    )
    .unwrap();
    let server = Server::start_acts_only(db, &demo, &["--config", settings.to_str().unwrap()]);
    // The demo's policy sampling half the acts, at a 90% target (more intents act), so the
    // queue has work for the day.
    let text = std::fs::read_to_string(demo.join("policy.toml")).unwrap();
    let busy = text
        .replace("rate = 0.05", "rate = 0.5")
        .replace("target_precision = 0.98", "target_precision = 0.90");
    assert_ne!(busy, text);
    std::fs::write(dir.join("busy.toml"), busy).unwrap();
    let o = flowgate(&[
        "policy",
        "import",
        dir.join("busy.toml").to_str().unwrap(),
        "--db",
        db,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut acted: Option<(String, serde_json::Value)> = None;
    for (k, mut t) in tickets(&demo, 120).into_iter().enumerate() {
        // New tickets (not in the history), with the demo's texts.
        t["id"] = format!("DAY-{k}").into();
        let r = post_json(&server.url("/v1/tickets"), Some(&ingest), &t);
        assert_eq!(r.0, 201, "{r:?}");
        let d = &r.2["decision"];
        if acted.is_none() && d["action"] == "act" {
            acted = Some((d["intent"].as_str().unwrap().to_owned(), t.clone()));
        }
    }
    let (intent, like) = acted.expect("some demo ticket is acted on");
    let queue = call("GET", &server.url("/v1/reviews"), Some(&viewer), None);
    let items = queue.2["reviews"].as_array().unwrap().clone();
    let waiting = items.iter().filter(|i| i["verdict"].is_null()).count();
    assert!(
        waiting >= 7,
        "at least 7 sampled acts for review: {waiting}"
    );
    // The defects go to the intent sampled most often.
    let mut per: std::collections::BTreeMap<String, usize> = Default::default();
    for i in &items {
        *per.entry(i["intent"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let defect_intent = per.iter().max_by_key(|(_, n)| **n).unwrap().0.clone();
    assert!(per[&defect_intent] >= 2, "{per:?}");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join(shots);
    std::fs::create_dir_all(&shots).unwrap();
    let week = call("GET", &server.url("/v1/defects"), Some(&viewer), None).2["week"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(week.contains("-W"), "the current ISO week: {week:?}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/day.mjs");
    let out = Command::new("node")
        .arg(&script)
        .env("BASE", server.url(""))
        .env("REVIEWER", &reviewer)
        .env("VIEWER", &viewer)
        .env("ADMIN", &admin)
        .env("INGEST", &ingest)
        .env("SHOTS", &shots)
        .env("KILL_INTENT", &intent)
        .env("DEFECT_INTENT", &defect_intent)
        .env("REVIEWS", "5")
        .env("SOURCE", "support")
        .env("WEEK", &week)
        .env("PILOT_DAY", "2026-06-15")
        .output()
        .expect("node runs (FLOWGATE_BROWSER_TESTS=1 needs Node.js)");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: serde_json::Value = serde_json::from_str(said.trim()).unwrap();
    assert_eq!(
        f["cards"],
        json!(["cycle-time", "quality", "escalation"]),
        "{f}"
    );
    assert_eq!(f["decisions"], 50, "a full page of decisions: {f}");
    // The top confidence band on the pages: what the API finds at ≥ 0.95 (up to a page).
    let top = call(
        "GET",
        &server.url("/v1/decisions?min_confidence=0.95&limit=1000"),
        Some(&viewer),
        None,
    );
    let want = top.2["decisions"].as_array().unwrap().len().min(50);
    let band = f["top_band"].as_array().unwrap();
    assert_eq!(band.len(), want, "{f}");
    assert!(band.iter().all(|c| c.as_f64().unwrap() >= 0.95), "{f}");
    assert_eq!(f["queue_before"], waiting, "{f}");
    let reviewed = f["reviewed"].as_array().unwrap().clone();
    let n = reviewed.len();
    assert!(n >= 5, "{f}");
    assert_eq!(f["queue_after"], waiting - n, "{f}");
    assert_eq!(f["defect_tickets"].as_array().unwrap().len(), 2, "{f}");
    assert_eq!(f["viewer_claim_buttons"], 0, "{f}");
    assert_eq!(f["viewer_claim_status"], 403, "{f}");
    assert_eq!(f["viewer_switch_buttons"], 0, "{f}");
    assert_eq!(f["viewer_apply_buttons"], 0, "{f}");
    assert_eq!(f["forged_status"], 403, "{f}");
    assert!(f["switched"].as_str().unwrap().starts_with("off"), "{f}");
    // Every verdict is on the chain, by the reviewer who signed in; the two defects carry
    // their failure mode and note.
    let defect_tickets: Vec<&str> = f["defect_tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for seq in &reviewed {
        let d = call(
            "GET",
            &server.url(&format!("/v1/decisions/{seq}")),
            Some(&viewer),
            None,
        );
        let r = &d.2["review"];
        assert_eq!(r["reviewer"], "reviewer-1", "{d:?}");
        if defect_tickets.contains(&d.2["ticket_id"].as_str().unwrap()) {
            assert_eq!(d.2["intent"], defect_intent.as_str(), "{d:?}");
            assert_eq!(
                (&r["verdict"], &r["category"], &r["note"]),
                (
                    &json!("defect"),
                    &json!("wrong-answer"),
                    &json!("answered the wrong order")
                ),
                "{d:?}"
            );
        } else {
            assert_eq!(r["verdict"], "correct", "{d:?}");
        }
    }
    // The current week: no resolution before; then the n reviewed tickets resolved, two of
    // them reviewed defects and none reopened: 2 / n × 100 defects per 100 resolved.
    assert!(
        f["quality_before"].as_str().unwrap().starts_with('–'),
        "{f}"
    );
    assert_eq!(f["events_status"], 201, "{f}");
    let per_100 = format!("{:.1}", 200.0 / n as f64);
    assert!(
        f["quality_after"].as_str().unwrap().starts_with(&per_100),
        "{per_100}: {f}"
    );
    assert!(
        f["quality_line"]
            .as_str()
            .unwrap()
            .starts_with("0 reopened, 2 reviewed defects"),
        "{f}"
    );
    // The gate's week: every review this week, two defects.
    let g = &f["gate_week"];
    assert_eq!(g["reviewed"], n.to_string(), "{f}");
    assert_eq!(g["defects"], "2", "{f}");
    assert_eq!(g["correct"], (n - 2).to_string(), "{f}");
    assert!(g["precision"].as_str().unwrap().contains("95% CI"), "{f}");
    assert!(g["by-action"].as_str().unwrap().contains("act"), "{f}");
    assert_eq!(
        f["flow_figures"],
        json!([
            "wait-share",
            "reopen-rate",
            "handoffs",
            "wip",
            "backlog-days"
        ]),
        "{f}"
    );
    assert_eq!(f["alerts"], json!(["defects_per_100"]), "{f}");
    assert!(
        f["pilot_banner"]
            .as_str()
            .unwrap()
            .contains("complete (90 days)"),
        "{f}"
    );
    assert!(f["flow_charts"].as_u64().unwrap() >= 4, "{f}");
    assert!(
        f["flow_range"].as_str().unwrap().contains("2026-03-02"),
        "{f}"
    );
    assert!(f["whatif_rows"].as_u64().unwrap() >= 4, "{f}");
    // 15 June is day 43 (4 May + 42), in the playbook's second phase.
    assert_eq!(f["pilot_day"], "day 43 of 90", "{f}");
    assert_eq!(f["pilot_phase"], "AI inserted per intent", "{f}");
    assert!(f["pilot_tables"].as_u64().unwrap() >= 2, "{f}");
    assert!(
        ["working", "mixed", "not_working", "unclear"]
            .contains(&f["pilot_verdict"].as_str().unwrap_or("")),
        "{f}"
    );
    // The recommended threshold, applied by the admin: on the chain, in force.
    let button = f["apply_button"].as_str().expect("an Apply button");
    let applied: f64 = button.rsplit(' ').next().unwrap().parse().unwrap();
    let p = call("GET", &server.url("/v1/policy"), Some(&viewer), None);
    let row = p.2["intents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["intent"] == defect_intent.as_str())
        .cloned()
        .unwrap();
    assert_eq!(row["fixed_threshold"].as_f64(), Some(applied), "{row}");
    assert_eq!(
        f["defect_tables"],
        json!(["intent-precision", "failure-modes"]),
        "{f}"
    );
    let md = json!(["text/markdown; charset=utf-8", true]);
    assert_eq!((&f["defects_md"], &f["governance_md"]), (&md, &md), "{f}");
    assert!(f["governance_controls"].as_u64().unwrap() > 0, "{f}");
    assert_eq!(
        f["governance_controls"], f["governance_json_controls"],
        "{f}"
    );
    // The switched-off intent: the same text again is routed to a person.
    let mut again = like.clone();
    again["id"] = "PAGES-KILL-1".into();
    let r = post_json(&server.url("/v1/tickets"), Some(&ingest), &again);
    assert_eq!(r.0, 201, "{r:?}");
    assert_eq!(r.2["decision"]["intent"], intent.as_str(), "{r:?}");
    assert_eq!(r.2["decision"]["action"], "route", "{r:?}");
    assert_eq!(r.2["decision"]["rule"], "intent-kill-switch", "{r:?}");
    let v = call("GET", &server.url("/v1/audit/verify"), Some(&viewer), None);
    assert_eq!(v.2["intact"], true, "{v:?}");
    // The static report of the same store carries the risk layer's week: the 121 decisions
    // (120 tickets and the one after the switch), the n reviews, the two defects and their
    // failure mode.
    let o = flowgate(&[
        "baseline", "--db", db, "--source", "support", "--format", "json", "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &b["risk_week"];
    assert_eq!(r["week"], week.as_str(), "{r}");
    assert_eq!(r["decisions"], 121, "{r}");
    assert_eq!(
        (&r["reviewed"], &r["defects"]),
        (&json!(n), &json!(2)),
        "{r}"
    );
    assert_eq!(
        r["failure_modes"],
        json!([[defect_intent, "wrong-answer", 2]]),
        "{r}"
    );
    let html = dir.join("report.html");
    let o = flowgate(&[
        "baseline",
        "--db",
        db,
        "--source",
        "support",
        "-q",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(&format!("The gate's week {week}")),
        "no risk week in the report"
    );
    for page in [
        "overview",
        "overview-week",
        "decisions",
        "decision",
        "reviews",
        "review",
        "defects",
        "governance",
        "controls",
        "flow",
        "whatif",
        "pilot",
    ] {
        for suffix in ["", "-390"] {
            let f = shots.join(format!("{page}{suffix}.png"));
            assert!(
                std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0) > 5_000,
                "{} is missing or empty",
                f.display()
            );
        }
    }
    assert!(server.stop().success());
}
