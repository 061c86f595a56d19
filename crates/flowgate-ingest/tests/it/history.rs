//! Help-desk histories read in two halves (large JSON-lines files) give exactly what one
//! pass gives: the same events in the same order, diagnostics on the same lines.

use flowgate_flow::{BaselineOptions, baseline};
use flowgate_ingest::{ReadOptions, read_log};

use crate::temp_file;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../flowgate/tests/fixtures/helpdesks")
            .join(name),
    )
    .unwrap()
}

fn read(bytes: &[u8], name: &str, split: u64) -> flowgate_ingest::Ingested {
    let p = temp_file(name, bytes);
    read_log(
        &p,
        &ReadOptions {
            split_min_bytes: Some(split),
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn json_lines_in_two_halves_read_as_one_pass() {
    for file in [
        "zendesk_incremental_ticket_events.jsonl",
        "intercom_conversations.jsonl",
    ] {
        let mut bytes = fixture(file);
        // A bad time on the second-to-last line, which the second half reads.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let n = lines.len();
        if file.starts_with("zendesk") {
            let bad = lines[n - 2].replacen("\"timestamp\": ", "\"timestamp\": \"x\", \"t\": ", 1);
            let mut all: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            all[n - 2] = bad;
            bytes = (all.join("\n") + "\n").into_bytes();
        }
        let one = read(&bytes, &format!("one-{file}"), u64::MAX);
        let two = read(&bytes, &format!("two-{file}"), 1);
        let (a, b) = (&one.log, &two.log);
        assert_eq!(a.n_events(), b.n_events(), "{file}");
        assert_eq!(a.ts(), b.ts(), "{file}");
        for e in 0..a.n_events() {
            assert_eq!(
                a.activities.resolve(a.activity()[e]),
                b.activities.resolve(b.activity()[e]),
                "{file}: event {e}"
            );
        }
        let ja = serde_json::to_value(baseline(a, &BaselineOptions::new())).unwrap();
        let jb = serde_json::to_value(baseline(b, &BaselineOptions::new())).unwrap();
        assert_eq!(ja, jb, "{file}");
        assert_eq!(one.rejected, two.rejected, "{file}");
        let where_ = |i: &flowgate_ingest::Ingested| -> Vec<(u64, String, String)> {
            i.diagnostics
                .iter()
                .map(|d| (d.line, d.field.clone(), d.found.clone()))
                .collect()
        };
        assert_eq!(where_(&one), where_(&two), "{file}");
        if file.starts_with("zendesk") {
            assert_eq!(two.rejected, 1);
            assert_eq!(
                two.diagnostics[0].line,
                n as u64 - 1,
                "{:?}",
                two.diagnostics
            );
        }
    }
}

/// JSON lines whose first line is longer than the sample the format is sniffed from (a Jira
/// issue with a long description) are still read as lines.
#[test]
fn json_lines_with_a_long_first_line() {
    let page: serde_json::Value =
        serde_json::from_slice(&fixture("jira_issues_changelog.json")).unwrap();
    let mut lines = Vec::new();
    for (i, issue) in page["issues"].as_array().unwrap().iter().enumerate() {
        let mut issue = issue.clone();
        if i == 0 {
            issue["fields"]["description"] = serde_json::Value::from("x".repeat(100_000));
        }
        lines.push(issue.to_string());
    }
    let text = lines.join("\n") + "\n";
    assert!(text.find('\n').unwrap() > 64 * 1024);
    let got = read(text.as_bytes(), "long-first-line.jsonl", u64::MAX);
    assert_eq!(got.log.n_cases(), 3);
    assert_eq!(got.log.n_events(), 15);
    assert_eq!(got.rejected, 0);
}
