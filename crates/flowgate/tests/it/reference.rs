//! `flowgate baseline` reproduces the independent reference values in
//! `../shared/reference/*.baseline.json`: counts exactly, times within 1 s, rates within 1e-9.

use serde_json::Value;

use crate::{flowgate, shared, stderr};

fn check(data: &str, preset: &str, reference: &str) {
    let shared = shared();
    let file = shared.join("data").join(data);
    let out = flowgate(&[
        "baseline",
        file.to_str().unwrap(),
        "--preset",
        preset,
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("reference").join(reference)).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    compare(&want, &got, "", &mut checked);
    assert!(checked >= 25, "only {checked} reference values compared");
}

fn compare(want: &Value, got: &Value, path: &str, checked: &mut usize) {
    match want {
        Value::Object(map) => {
            for (k, w) in map {
                let g = got
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}.{k} missing from the output"));
                compare(w, g, &format!("{path}.{k}"), checked);
            }
        }
        Value::Number(w) => {
            let g = got
                .as_f64()
                .unwrap_or_else(|| panic!("{path}: expected a number, got {got}"));
            let w = w.as_f64().unwrap();
            let is_time = path.contains("_s.") || path.ends_with("_s");
            let is_rate = path.contains("rate")
                || path.contains("efficiency")
                || path.ends_with(".mean") && path.contains("handoffs");
            let tol = if is_time {
                1.0
            } else if is_rate {
                1e-9
            } else {
                0.0
            };
            assert!((g - w).abs() <= tol, "{path}: reference {w}, flowgate {g}");
            *checked += 1;
        }
        other => assert_eq!(other, got, "{path}"),
    }
}

#[test]
fn helpdesk_csv() {
    check(
        "helpdesk/helpdesk_full_attributes_jingyi0126.csv",
        "helpdesk",
        "helpdesk.baseline.json",
    );
}

#[test]
fn bpic2013_csv() {
    check(
        "bpic2013/VINST-new_ibm.csv",
        "bpic2013",
        "bpic2013.baseline.json",
    );
}

#[test]
fn bpic2013_xes() {
    check(
        "bpic2013/bpi_challenge_2013_incidents.xes.gz",
        "bpic2013",
        "bpic2013.baseline.json",
    );
}

#[test]
fn published_counts_of_the_raw_logs() {
    // data/README.md: helpdesk 21,348 rows (127 exact duplicates), 4,580 cases, 14 activities;
    // bpic2013 incidents 65,533 events, 7,554 cases.
    let shared = shared();
    let out = flowgate(&[
        "baseline",
        shared
            .join("data/helpdesk/helpdesk_full_attributes_jingyi0126.csv")
            .to_str()
            .unwrap(),
        "--preset",
        "helpdesk",
        "--format",
        "json",
        "-q",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["events"].as_u64().unwrap() + v["duplicates_dropped"].as_u64().unwrap(),
        21_348
    );
    assert_eq!(v["activities"].as_array().unwrap().len(), 14);
    // The same log without the preset: detected columns, no states, PM4Py-style durations.
    let out = flowgate(&[
        "baseline",
        shared
            .join("data/helpdesk/helpdesk_tax2017_verenich.csv")
            .to_str()
            .unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("detected mapping: case=\"CaseID\""),
        "{}",
        stderr(&out)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["states_mapped"], Value::Bool(false));
    assert_eq!(v["resolved_cases"], v["cases"]);
}
