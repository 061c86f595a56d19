//! What each fuzz target does with one input. The fuzz targets (`fuzz/fuzz_targets/*.rs`) and
//! the corpus replay test (`crates/flowgate/tests/it/fuzz.rs`, part of `cargo test`) include
//! this one file, so CI replays exactly what the fuzzers ran. Each function must return
//! normally on any input: errors are fine, panics are findings.

use std::io::Write;

use flowgate_ingest::{Mapping, ReadOptions, read_log};

/// A per-process, per-thread scratch file (in memory where `/dev/shm` exists).
fn scratch(ext: &str) -> std::path::PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    dir.join(format!(
        "flowgate-fuzz-{}-{:?}.{ext}",
        std::process::id(),
        std::thread::current().id()
    ))
    .with_extension(ext)
}

/// The CSV and XES readers (the format is sniffed from the content) with a detected mapping
/// and with a preset; an odd first byte makes even a tiny file take the two-thread path.
pub fn log_file(data: &[u8]) {
    let path = scratch("log");
    {
        let mut f = std::fs::File::create(&path).expect("scratch file");
        f.write_all(data).expect("scratch write");
    }
    let split = data.first().is_some_and(|b| b & 1 == 1);
    let opts = ReadOptions {
        split_min_bytes: split.then_some(1),
        ..ReadOptions::default()
    };
    if let Ok(got) = read_log(&path, &opts) {
        let _ = got.log.n_cases();
    }
    let preset = ReadOptions {
        mapping: Mapping::preset("helpdesk").ok(),
        strict: data.len().is_multiple_of(3),
        split_min_bytes: split.then_some(1),
        ..ReadOptions::default()
    };
    let _ = read_log(&path, &preset);
    let _ = std::fs::remove_file(&path);
}

/// Mapping TOML: parse; a mapping that parses writes back to TOML that parses again.
pub fn mapping_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Mapping::from_toml(text, "fuzz.toml") {
        let again = m.to_toml();
        if let Err(e) = Mapping::from_toml(&again, "fuzz-again.toml") {
            panic!("a parsed mapping wrote TOML that does not parse: {e}\n{again}");
        }
    }
}

/// Policy TOML: parse; a policy that parses is checked against columns and decides a ticket
/// whose text and fields are the input itself.
pub fn policy_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = flowgate_gate::Policy::parse(text, "fuzz.toml") else {
        return;
    };
    let columns: Vec<String> = ["id", "text", "amount", "tier", "language"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let _ = policy.check_columns(&columns, "fuzz.toml");
    let labels = vec!["refund".to_owned(), "other".to_owned()];
    let held: Vec<(String, f64, bool)> = (0..200)
        .map(|i| ("refund".to_owned(), 1.0 - i as f64 / 400.0, i % 50 != 7))
        .collect();
    let gate = flowgate_gate::Gate::new(policy, &held, &labels);
    let ticket = flowgate_gate::Ticket {
        id: "fuzz".into(),
        body: text.to_owned(),
        attributes: [
            (
                "amount".to_owned(),
                flowgate_gate::Attribute::Text(text.chars().take(12).collect()),
            ),
            (
                "tier".to_owned(),
                flowgate_gate::Attribute::Text(text.chars().rev().take(8).collect()),
            ),
        ]
        .into(),
        ..Default::default()
    };
    let days = Some(data.len() as f64 / 10.0);
    for (intent, confidence) in [("refund", 0.99), ("other", 0.5)] {
        let verdict = flowgate_gate::Verdict {
            intent,
            confidence,
            out_of_scope: false,
            ambiguous: false,
            runner_up: Some("other"),
        };
        let _ = gate.decide(&ticket, days, &verdict, Some(data.len().is_multiple_of(2)));
    }
    let _ = flowgate_gate::decide::personal_data(text);
}

/// A knowledge-base article (TOML front matter between `+++` lines, then Markdown).
pub fn kb_article(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = flowgate_kb::article::parse(text, "fuzz.md");
}

/// Timestamps: the input as a timestamp in UTC; when it has a first line, that line is a
/// zone (or a strftime format) and the rest is parsed with it.
pub fn timestamp(data: &[u8]) {
    use flowgate_ingest::timestamp::{TimestampParser, Zone};
    let _ = TimestampParser::new(Zone::Utc, None).parse(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((first, rest)) = text.split_once('\n') {
        if let Ok(zone) = Zone::parse(first) {
            let _ = TimestampParser::new(zone, None).parse(rest.as_bytes());
        }
        let _ = TimestampParser::new(Zone::Utc, Some(first.to_owned())).parse(rest.as_bytes());
    }
}
