//! Help-desk exports as they come: ServiceNow's `?` for a missing value, the mapping a
//! source was stored with, a starting mapping guessed from a file, a team column that is
//! empty. Figures are hand-computed from the fixture (see tests/fixtures/helpdesks/README.md).

use std::path::PathBuf;

use crate::{flowgate, stderr, temp_dir};

pub(crate) fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/helpdesks")
        .join(name)
}

pub(crate) fn baseline_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["baseline"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "-q"]);
    let out = flowgate(&all);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The ServiceNow preset without its `null_values`: `?` is then a team like any other.
fn servicenow_without_nulls(dir: &std::path::Path) -> PathBuf {
    let out = flowgate(&["presets", "servicenow"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("null_values"))
        .collect();
    assert_eq!(kept.len() + 1, text.lines().count(), "one null_values line");
    let p = dir.join("servicenow-no-nulls.toml");
    std::fs::write(&p, kept.join("\n")).unwrap();
    p
}

/// Hand-computed from the fixture. Cycle times: INC1 01:16 → 11:29 = 36,780 s (the close
/// on 5 March does not move it); INC2 1 March 09:00 → its last resolution 3 March 11:00 =
/// 180,000 s; INC3 08:00 → 09:30 = 5,400 s; p50 (nearest rank 2 of 3) = 36,780 s. Reopen
/// rate 1/3 (INC2). Handoffs: with `?` as no value, INC1 56 → 70 is the only one (mean 1/3,
/// no ping-pong); with `?` as a team, INC1 56 → ? → 56 → 70 and INC2 ? → 24 → ? → 24 are
/// three each (mean 2, both ping-pong).
#[test]
fn servicenow_question_marks_are_no_team() {
    let log = fixture("servicenow_incident_event_log.csv");
    let f = log.to_str().unwrap();
    for args in [vec![f], vec![f, "--preset", "servicenow"]] {
        let v = baseline_json(&args);
        assert_eq!(v["cases"].as_u64(), Some(3), "{args:?}: {v}");
        assert_eq!(v["resolved_cases"].as_u64(), Some(3));
        assert_eq!(v["events"].as_u64(), Some(16));
        assert_eq!(v["cycle_time_s"]["p50"].as_f64(), Some(36_780.0));
        assert_eq!(
            v["cycle_time_s"]["mean"].as_f64(),
            Some((36_780.0 + 180_000.0 + 5_400.0) / 3.0)
        );
        assert!((v["reopen_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!(
            (v["handoffs"]["mean"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12,
            "{v}"
        );
        assert_eq!(v["handoffs"]["ping_pong_cases"].as_u64(), Some(0));
    }
    let d = temp_dir("servicenow-nulls");
    let no_nulls = servicenow_without_nulls(&d);
    let v = baseline_json(&[f, "--mapping", no_nulls.to_str().unwrap()]);
    assert_eq!(v["handoffs"]["mean"].as_f64(), Some(2.0), "{v}");
    assert_eq!(v["handoffs"]["ping_pong_cases"].as_u64(), Some(2));
}

/// The mapping decides each event's identity, so a source refuses an import under another
/// mapping — which would store the same events again under other keys — and `--replace`
/// rebuilds it from the new file alone.
#[test]
fn a_source_refuses_another_mapping_unless_replaced() {
    let d = temp_dir("mapping-hash");
    let db = d.join("f.db");
    let db = db.to_str().unwrap();
    let log = fixture("servicenow_incident_event_log.csv");
    let f = log.to_str().unwrap();
    let import = |extra: &[&str]| {
        let mut a = vec!["import", f, "--db", db, "--source", "sn", "-q"];
        a.extend_from_slice(extra);
        flowgate(&a)
    };
    let first = import(&["--preset", "servicenow"]);
    assert!(first.status.success(), "{}", stderr(&first));
    // The same mapping again: accepted, nothing new.
    let again = import(&["--preset", "servicenow"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let no_nulls = servicenow_without_nulls(&d);
    let other = import(&["--mapping", no_nulls.to_str().unwrap()]);
    assert!(!other.status.success());
    let err = stderr(&other);
    assert!(
        err.contains("another mapping") && err.contains("--replace"),
        "{err}"
    );
    let v = baseline_json(&["--db", db, "--source", "sn"]);
    assert!(
        (v["handoffs"]["mean"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12,
        "{v}"
    );
    let status = flowgate(&["db", "status", "--db", db]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("16 events from 2 imports"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let replaced = import(&["--mapping", no_nulls.to_str().unwrap(), "--replace"]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    let v = baseline_json(&["--db", db, "--source", "sn"]);
    assert_eq!(v["handoffs"]["mean"].as_f64(), Some(2.0), "{v}");
    let status = flowgate(&["db", "status", "--db", db]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("16 events from 3 imports"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

/// `mapping suggest` guesses ServiceNow's columns and `?`; the mapping it writes reads the
/// file (the states are left as comments to sort, so every case counts as resolved at its
/// last event).
#[test]
fn a_suggested_mapping_reads_the_file_it_was_guessed_from() {
    let d = temp_dir("suggest");
    let log = fixture("servicenow_incident_event_log.csv");
    let out_path = d.join("suggested.toml");
    let out = flowgate(&[
        "mapping",
        "suggest",
        log.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&out_path).unwrap();
    for line in [
        "case = \"number\"",
        "timestamp = \"sys_updated_at\"",
        "team = \"assignment_group\"",
        "state = \"incident_state\"",
        "null_values = [\"\", \"?\"]",
        "resource = \"sys_updated_by\"",
        "# \"Active\"  (7 rows)",
        "# \"Awaiting User Info\"  (1 rows)",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let v = baseline_json(&[
        log.to_str().unwrap(),
        "--mapping",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(v["cases"].as_u64(), Some(3), "{v}");
    // No states sorted yet: each case ends at its last event (INC1 on 5 March 12:00).
    assert!(
        (v["handoffs"]["mean"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12,
        "{v}"
    );
}

/// A mapped team column with no value anywhere makes handoffs read 0: say so.
#[test]
fn an_empty_team_column_is_warned_about() {
    let d = temp_dir("empty-team");
    let p = d.join("log.csv");
    std::fs::write(
        &p,
        "case,activity,timestamp,group\n1,open,2020-01-01 10:00,\n1,close,2020-01-02 10:00,?\n",
    )
    .unwrap();
    let m = d.join("m.toml");
    std::fs::write(
        &m,
        "null_values = [\"?\"]\n[columns]\ncase = \"case\"\nactivity = \"activity\"\ntimestamp = \"timestamp\"\nteam = \"group\"\n",
    )
    .unwrap();
    let out = flowgate(&[
        "baseline",
        p.to_str().unwrap(),
        "--mapping",
        m.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("team column \"group\" is empty on every event"),
        "{}",
        stderr(&out)
    );
}
