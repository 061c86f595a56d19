//! `flowgate kb`: build the demo's knowledge base, search it, report coverage, refuse bad
//! articles without touching an existing build.

use std::path::Path;

use crate::{flowgate, stderr, temp_dir};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_demo_kb_builds_searches_and_reports_its_gaps() {
    let dir = temp_dir("kb-cli");
    let src = dir.join("kb");
    flowgate_synth::write_kb(&src).unwrap();
    let out = dir.join("kb.fgkb");
    let o = flowgate(&["kb", "build", s(&src), "-o", s(&out), "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("from 6 articles"));
    for (q, want) in [
        (
            "I forgot my password and the reset mail never came",
            "password-reset",
        ),
        ("where is my parcel, it has not arrived", "order-status"),
        ("please send me a copy of my invoice as pdf", "invoice-copy"),
    ] {
        let o = flowgate(&["kb", "search", "--kb", s(&out), q, "--format", "json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let hits: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(hits[0]["article"], want, "{q}: {hits}");
        let scores: Vec<f64> = hits
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["score"].as_f64().unwrap())
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    }
    // Coverage against the generated tickets' own intent labels. From the articles' front
    // matter: address_change's article was reviewed 2025-12-01 (stale after 180 days on
    // 2026-11-27), and refund_request, billing_dispute, cancel_subscription, damaged_item,
    // technical_issue and data_privacy have none.
    let g = flowgate_synth::generate(&flowgate_synth::Config {
        tickets: 2000,
        ..Default::default()
    });
    let tickets = dir.join("tickets.csv");
    flowgate_synth::write_tickets_csv(&tickets, &g).unwrap();
    let o = flowgate(&[
        "kb",
        "coverage",
        "--kb",
        s(&out),
        "--tickets",
        s(&tickets),
        "--today",
        "2026-11-27",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let status = |i: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["intent"] == i)
            .map(|r| r["status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status("address_change"), "stale");
    assert_eq!(status("password_reset"), "ok");
    for i in [
        "refund_request",
        "billing_dispute",
        "cancel_subscription",
        "damaged_item",
        "technical_issue",
        "data_privacy",
    ] {
        assert_eq!(status(i), "missing", "{i}");
    }
    let counts: Vec<u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tickets"].as_u64().unwrap())
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "most tickets first"
    );
    assert_eq!(counts.iter().sum::<u64>(), 2000);
    // A broken article: the build fails naming it, and the earlier build stays.
    std::fs::write(
        src.join("zz-bad.md"),
        "+++\nid = \"bad\"\nrisk = \"extreme\"\n+++\n",
    )
    .unwrap();
    let o = flowgate(&["kb", "build", s(&src), "-o", s(&out), "-q"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("zz-bad.md:3") && e.contains("low, medium or high"),
        "{e}"
    );
    let o = flowgate(&["kb", "search", "--kb", s(&out), "invoice"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = flowgate(&["kb", "search", "--kb", s(&dir), "invoice"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a flowgate knowledge base"),
        "{}",
        stderr(&o)
    );
}
