//! No input makes a reader panic: random bytes, random CSV-ish text, mangled XES, mangled
//! help-desk histories (every fixture shape, cut and spliced).

use flowgate_ingest::{Mapping, ReadOptions, read_log};
use proptest::prelude::*;

use crate::temp_file;

fn read(name: &str, bytes: &[u8], mapping: Option<Mapping>) {
    let p = temp_file(name, bytes);
    // Either outcome is fine; a panic fails the test.
    let _ = read_log(
        &p,
        &ReadOptions {
            mapping,
            ..Default::default()
        },
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        read("fuzz-bytes.csv", &bytes, None);
    }

    #[test]
    fn csv_like_text(rows in prop::collection::vec("[a-c0-9,;:\"/ \\-TZ+\r\n]{0,40}", 0..20)) {
        let text = format!("case,activity,timestamp\n{}", rows.join("\n"));
        read("fuzz-text.csv", text.as_bytes(), None);
        read("fuzz-text2.csv", text.as_bytes(), Some(Mapping::preset("helpdesk").unwrap()));
    }

    #[test]
    fn mangled_xes(cut in 0usize..1500, junk in "[<>/=\"a-z ]{0,12}") {
        let full = include_str!("xes.rs");
        let xes = &full[full.find("<?xml").unwrap()..full.find("</log>").unwrap() + 6];
        let mut s = xes[..cut.min(xes.len())].to_string();
        s.push_str(&junk);
        s.push_str(&xes[cut.min(xes.len())..]);
        read("fuzz.xes", s.as_bytes(), None);
        read("fuzz2.xes", s.as_bytes(), Some(Mapping::preset("bpic2013").unwrap()));
    }

    #[test]
    fn mangled_histories(which in 0usize..8, cut in 0usize..9000, junk in "[{}\\[\\],:\"a-z0-9 \n]{0,16}") {
        let files = [
            "zendesk_ticket_audits.json",
            "zendesk_incremental_ticket_events.jsonl",
            "servicenow_sys_audit.csv",
            "jira_issues_changelog.json",
            "SUP-7.changelog.json",
            "freshdesk_ticket_activities.json",
            "intercom_conversations.jsonl",
            "github_issue_events.json",
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../flowgate/tests/fixtures/helpdesks");
        let full = std::fs::read(dir.join(files[which])).unwrap();
        let at = cut.min(full.len());
        let mut bytes = full[..at].to_vec();
        bytes.extend_from_slice(junk.as_bytes());
        bytes.extend_from_slice(&full[at..]);
        read(files[which], &bytes, None);
        read("cut.json", &full[..at], None);
        read("preset.json", &bytes, Some(Mapping::preset("zendesk").unwrap()));
    }
}
