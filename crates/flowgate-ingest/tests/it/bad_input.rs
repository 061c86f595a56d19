//! Each kind of bad input gives its own clear error: file, line, field, expected, found.

use flowgate_ingest::{IngestError, Mapping, ReadOptions, read_log};

use crate::{gzip, temp_file};

fn err(name: &str, content: &[u8], opts: &ReadOptions<'_>) -> String {
    let p = temp_file(name, content);
    match read_log(&p, opts) {
        Ok(got) => panic!(
            "{name}: expected an error, got {} events",
            got.log.n_events()
        ),
        Err(e) => e.to_string(),
    }
}

fn helpdesk() -> ReadOptions<'static> {
    ReadOptions {
        mapping: Some(Mapping::preset("helpdesk").unwrap()),
        ..Default::default()
    }
}

#[test]
fn empty_file() {
    let e = err("empty.csv", b"", &ReadOptions::default());
    assert!(e.contains("empty.csv") && e.contains("empty"), "{e}");
}

#[test]
fn binary_file() {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..2000u32).map(|i| (i * 7919 % 256) as u8));
    let e = err("picture.csv", &bytes, &ReadOptions::default());
    assert!(e.contains("picture.csv") && e.contains("binary"), "{e}");
    // Gzipped garbage is binary too.
    let e = err("garbage.gz", &gzip(&bytes), &ReadOptions::default());
    assert!(e.contains("binary"), "{e}");
}

#[test]
fn missing_columns_name_the_column_and_the_header() {
    let e = err(
        "cols.csv",
        b"Case ID,Activity,Resource\nCase 1,Wait,Value 1\n",
        &helpdesk(),
    );
    assert!(
        e.contains("cols.csv:1") && e.contains("\"Complete Timestamp\"") && e.contains("timestamp"),
        "{e}"
    );
    assert!(e.contains("Case ID, Activity, Resource"), "{e}");
    let e = err("nomap.csv", b"a,b,c\n1,2,3\n", &ReadOptions::default());
    assert!(e.contains("--preset") && e.contains("a, b, c"), "{e}");
}

#[test]
fn unparseable_timestamps_are_diagnosed_by_line_and_field() {
    let csv = "Case ID,Activity,Resource,Complete Timestamp,workgroup\n\
               Case 1,Wait,R,2012/10/9 14:50:17,G\n\
               Case 1,Wait,R,yesterday at noon,G\n\
               Case 2,Wait,R,2012/13/40 10:00:00,G\n";
    let p = temp_file("ts.csv", csv.as_bytes());
    let got = read_log(&p, &helpdesk()).unwrap();
    assert_eq!(got.log.n_events(), 1);
    assert_eq!(got.rejected, 2);
    let d = &got.diagnostics[0];
    assert_eq!(
        (d.line, d.field.as_str(), d.found.as_str()),
        (3, "Complete Timestamp", "yesterday at noon")
    );
    assert!(d.expected.contains("timestamp"));
    assert!(
        d.to_string()
            .starts_with(&format!("{}:3: field \"Complete Timestamp\"", p.display()))
    );
    assert_eq!(got.diagnostics[1].line, 4);
    // --strict: the same file fails as a whole.
    let strict = ReadOptions {
        strict: true,
        ..helpdesk()
    };
    match read_log(&p, &strict) {
        Err(IngestError::Strict { count, first }) => {
            assert_eq!(count, 2);
            assert_eq!(first.line, 3);
        }
        other => panic!("expected a strict failure, got {other:?}"),
    }
}

#[test]
fn all_rows_bad_is_an_error_not_an_empty_report() {
    let e = err(
        "allbad.csv",
        b"case,activity,timestamp\n1,a,never\n2,b,\n",
        &ReadOptions::default(),
    );
    assert!(
        e.contains("no events") && e.contains("2 rows rejected") && e.contains("allbad.csv:2"),
        "{e}"
    );
}

#[test]
fn truncated_xes() {
    let full =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/xes.rs")).unwrap();
    let start = full.find("<?xml").unwrap();
    let xes = &full[start..full.find("</log>").unwrap() + 6];
    let cut = &xes[..xes.find("<string key=\"customer\"").unwrap()];
    let e = err("cut.xes", cut.as_bytes(), &ReadOptions::default());
    assert!(e.contains("cut.xes") && e.contains("truncated"), "{e}");
    // Cut inside a tag: the XML parser's error, with a line.
    let e = err(
        "cut2.xes.gz",
        &gzip(&cut.as_bytes()[..cut.len() - 20]),
        &ReadOptions::default(),
    );
    assert!(
        e.contains("cut2.xes.gz:") && e.contains("invalid XES"),
        "{e}"
    );
}

#[test]
fn xml_that_is_not_xes() {
    let e = err(
        "feed.xml",
        b"<?xml version=\"1.0\"?><rss><channel/></rss>",
        &ReadOptions::default(),
    );
    assert!(e.contains("<log>") && e.contains("<rss>"), "{e}");
}

#[test]
fn invalid_utf8_in_a_field_is_a_diagnostic() {
    let mut csv = b"case,activity,timestamp\n1,a,2020-01-01\n".to_vec();
    // A long valid prefix keeps the sniffer from calling the file binary.
    csv.extend(b"2,caf\xe9,2020-01-02\n");
    let p = temp_file("latin1.csv", &csv);
    let got = read_log(&p, &ReadOptions::default()).unwrap();
    assert_eq!(got.rejected, 1);
    assert_eq!(got.diagnostics[0].field, "activity");
    assert_eq!(got.diagnostics[0].expected, "UTF-8 text");
    // The rejected row left no empty case behind.
    assert_eq!(got.log.n_cases(), 1);
}

#[test]
fn bad_mapping_files_name_the_problem() {
    let e = Mapping::from_toml("[columns]\ncase = 'a'\n", "m.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("m.toml") && e.contains("activity"), "{e}");
    let e = Mapping::from_toml(
        "timezone='Mars/Olympus'\n[columns]\ncase='a'\nactivity='b'\ntimestamp='c'",
        "m.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Mars/Olympus"), "{e}");
    let e = Mapping::preset("nope").unwrap_err().to_string();
    assert!(e.contains("helpdesk") && e.contains("bpic2013"), "{e}");
}
