use flowgate_flow::{BaselineOptions, State, baseline};
use flowgate_ingest::{Mapping, ReadOptions, read_log};

use crate::temp_file;

fn mapping() -> Mapping {
    Mapping::from_toml(
        r#"
[columns]
case = "Ticket"
activity = "Step"
timestamp = "When"
team = "Queue"
[states]
new = ["open"]
working = ["work"]
resolved = ["done"]
"#,
        "test",
    )
    .unwrap()
}

#[test]
fn bom_crlf_quoted_newlines_and_semicolons() {
    let csv = "\u{feff}Ticket;Step;When;Queue;Note\r\n\
               T1;open;2024-01-01 10:00:00;A;\"first line\r\nsecond; line\"\r\n\
               T1;work;2024-01-01 11:00:00;B;x\r\n\
               T1;done;2024-01-01 12:30:00;B;\r\n\
               T2;open;2024/1/2 9:05:00;A;y\r\n";
    let p = temp_file("bom.csv", csv.as_bytes());
    let got = read_log(
        &p,
        &ReadOptions {
            mapping: Some(mapping()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(got.rejected, 0, "{:?}", got.diagnostics);
    let log = &got.log;
    assert_eq!(log.n_events(), 4);
    assert_eq!(log.n_cases(), 2);
    let note = log.attr_index("Note").unwrap();
    assert_eq!(
        log.attr_values[note].resolve(log.attr(note)[0]),
        "first line\r\nsecond; line"
    );
    let b = baseline(log, &BaselineOptions::new());
    assert_eq!(b.cycle_time_s.p50, Some(9000.0));
    assert_eq!(b.handoffs.total, 1);
    assert_eq!(log.state(0), Some(State::New));
}

#[test]
fn detects_the_mapping_from_usual_headers() {
    let csv = "CaseID,ActivityID,CompleteTimestamp\n1,a,2012-04-03 16:55:38\n1,b,2012-04-03 16:55:53\n2,a,2012-04-05 17:15:52\n";
    let p = temp_file("detect.csv", csv.as_bytes());
    let got = read_log(&p, &ReadOptions::default()).unwrap();
    assert!(got.detected);
    assert_eq!(got.mapping.columns.case, "CaseID");
    assert!(!got.log.states_mapped());
    let b = baseline(&got.log, &BaselineOptions::new());
    assert_eq!(b.resolved_cases, 2);
    assert_eq!(b.cycle_time_s.max, Some(15.0));
}

#[test]
fn duplicates_dropped_even_when_not_adjacent() {
    let csv = "case,activity,timestamp\n1,a,2020-01-01T00:00:00Z\n1,b,2020-01-01T00:00:00Z\n1,a,2020-01-01T00:00:00Z\n2,a,1577836800\n";
    let p = temp_file("dups.csv", csv.as_bytes());
    let got = read_log(&p, &ReadOptions::default()).unwrap();
    assert_eq!(got.log.n_events(), 3);
    assert_eq!(got.log.duplicates_dropped(), 1);
    // Epoch seconds and RFC 3339 name the same instant.
    assert_eq!(got.log.ts()[0], got.log.ts()[2]);
}

#[test]
fn gzipped_csv_reads_the_same() {
    let csv = "case,activity,timestamp\n1,a,2020-01-01T00:00:00Z\n1,b,2020-01-01T01:00:00+01:00\n";
    let p = temp_file("log.csv.gz", &crate::gzip(csv.as_bytes()));
    let got = read_log(&p, &ReadOptions::default()).unwrap();
    assert_eq!(got.log.n_events(), 2);
    assert_eq!(got.log.ts()[0], got.log.ts()[1]);
}

#[test]
fn naive_timestamps_take_the_mapping_zone() {
    let mut m = mapping();
    m.timezone = Some("Europe/Rome".into());
    let csv = "Ticket,Step,When,Queue\nT1,open,2024-07-01 12:00:00,A\n";
    let p = temp_file("zone.csv", csv.as_bytes());
    let got = read_log(
        &p,
        &ReadOptions {
            mapping: Some(m),
            ..Default::default()
        },
    )
    .unwrap();
    // 12:00 in Rome in July is 10:00 UTC.
    assert_eq!(
        flowgate_flow::time::format_utc(got.log.ts()[0]),
        "2024-07-01T10:00:00Z"
    );
}

#[test]
fn the_readme_mapping_example_is_valid() {
    let readme = include_str!("../../../../docs/02-baseline.md");
    let start = readme
        .find("name = \"my-desk\"")
        .expect("the baseline chapter has the mapping example");
    let end = start + readme[start..].find("```").unwrap();
    let m = Mapping::from_toml(&readme[start..end], "docs/02-baseline.md").unwrap();
    assert_eq!(m.columns.activity.names(), vec!["Status"]);
    assert_eq!(m.sla_config().unwrap().targets.len(), 2);
    assert_eq!(m.escalation.len(), 1);
}

fn read_both(name: &str, csv: &str) -> (flowgate_ingest::Ingested, flowgate_ingest::Ingested) {
    let p = temp_file(name, csv.as_bytes());
    let seq = read_log(
        &p,
        &ReadOptions {
            split_min_bytes: Some(u64::MAX),
            ..Default::default()
        },
    )
    .unwrap();
    let par = read_log(
        &p,
        &ReadOptions {
            split_min_bytes: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    (seq, par)
}

fn dump(g: &flowgate_ingest::Ingested) -> Vec<String> {
    let l = &g.log;
    let note = l.attr_index("note").unwrap();
    (0..l.n_cases())
        .flat_map(|c| {
            l.case_events(c).map(move |e| {
                format!(
                    "{}|{}|{}|{}",
                    l.case_name(c),
                    l.ts()[e],
                    l.activities.resolve(l.activity()[e]),
                    l.attr_values[note].resolve(l.attr(note)[e])
                )
            })
        })
        .collect()
}

#[test]
fn two_threads_read_exactly_what_one_reads() {
    let mut csv = String::from("case,activity,timestamp,note\n");
    for i in 0..6000 {
        // Cases interleave and span the middle of the file; a few rows are bad.
        let ts = if i % 997 == 0 {
            "not a time".to_string()
        } else {
            format!("{}", 1_600_000_000 + i * 60)
        };
        csv.push_str(&format!("c{},a{},{ts},n{}\n", i % 37, i % 5, i % 3));
    }
    let (seq, par) = read_both("split.csv", &csv);
    assert_eq!(dump(&seq), dump(&par));
    assert_eq!(seq.rejected, 7);
    assert_eq!(par.rejected, seq.rejected);
    assert_eq!(par.rows, seq.rows);
    let lines =
        |g: &flowgate_ingest::Ingested| g.diagnostics.iter().map(|d| d.line).collect::<Vec<_>>();
    assert_eq!(lines(&seq), vec![2, 999, 1996, 2993, 3990, 4987, 5984]);
    assert_eq!(lines(&par), lines(&seq));
}

#[test]
fn a_split_inside_a_quoted_field_falls_back_to_one_reader() {
    let mut csv = String::from("case,activity,timestamp,note\n1,a,2020-01-01,short\n");
    let long: String = (0..4000).map(|i| format!("line {i}\n")).collect();
    csv.push_str(&format!("1,b,2020-01-02,\"{long}\"\n2,a,2020-01-03,x\n"));
    let (seq, par) = read_both("quoted.csv", &csv);
    assert_eq!(dump(&seq), dump(&par));
    assert_eq!(par.log.n_events(), 3);
    let l = &par.log;
    let note = l.attr_index("note").unwrap();
    assert_eq!(l.attr_values[note].resolve(l.attr(note)[1]), long);
}
