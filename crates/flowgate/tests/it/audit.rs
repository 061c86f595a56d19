//! `flowgate audit`: append, export, and verify both a database and an export file.

use crate::{flowgate, stderr, temp_dir};

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn exported_logs_verify_and_tampering_names_the_first_bad_line() {
    let d = temp_dir("audit-cli");
    let db = d.join("audit.db");
    let recs = d.join("recs.jsonl");
    let lines: Vec<String> = (1..=5)
        .map(|i| format!(r#"{{"ticket":"T-{i}","decision":"act","rule":"threshold"}}"#))
        .collect();
    std::fs::write(&recs, lines.join("\n")).unwrap();
    let out = flowgate(&["audit", "append", "--db", s(&db), s(&recs)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = flowgate(&["audit", "verify", "--db", s(&db)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 5 records"));

    let export = d.join("export.jsonl");
    let out = flowgate(&["audit", "export", "--db", s(&db), "-o", s(&export)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&export).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 5);
    let out = flowgate(&["audit", "verify", "--file", s(&export)]);
    assert!(out.status.success(), "{}", stderr(&out));

    let check = |name: &str, body: String, want: &str| {
        let p = d.join(name);
        std::fs::write(&p, body).unwrap();
        let out = flowgate(&["audit", "verify", "--file", s(&p)]);
        assert!(!out.status.success(), "{name} verified");
        let err = stderr(&out);
        assert!(err.contains(want), "{name}: {err}");
    };
    // One byte changed in record 4.
    let mut edited: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    edited[3] = edited[3].replacen("T-4", "T-5", 1);
    check("edited.jsonl", edited.join("\n"), "position 4");
    // Record 3 moved a week later: its recorded time is inside its hash.
    let mut moved: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    let mut v: serde_json::Value = serde_json::from_str(&moved[2]).unwrap();
    v["recorded_at_ms"] = (v["recorded_at_ms"].as_i64().unwrap() + 7 * 86_400_000).into();
    moved[2] = v.to_string();
    check("moved.jsonl", moved.join("\n"), "position 3");
    // Record 2 removed.
    let removed: Vec<&str> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, r)| *r)
        .collect();
    check("removed.jsonl", removed.join("\n"), "position 2");
    // Records 2 and 3 swapped.
    let mut swapped = rows.clone();
    swapped.swap(1, 2);
    check("swapped.jsonl", swapped.join("\n"), "position 2");
    // The last record removed: only the remembered head catches it.
    let head = text
        .lines()
        .last()
        .unwrap()
        .split("\"sha256\":\"")
        .nth(1)
        .unwrap()[..64]
        .to_owned();
    let short = d.join("short.jsonl");
    std::fs::write(&short, rows[..4].join("\n")).unwrap();
    let out = flowgate(&["audit", "verify", "--file", s(&short)]);
    assert!(out.status.success());
    let out = flowgate(&["audit", "verify", "--file", s(&short), "--head", &head]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("removed from the end"),
        "{}",
        stderr(&out)
    );

    // A bad line appends nothing.
    let bad = d.join("bad.jsonl");
    std::fs::write(&bad, "{\"ok\":1}\nnot json\n").unwrap();
    let out = flowgate(&["audit", "append", "--db", s(&db), s(&bad)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bad.jsonl:2"), "{}", stderr(&out));
    let out = flowgate(&["audit", "verify", "--db", s(&db)]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 5 records"));

    // A forged decision is refused: flowgate's own kinds are not appended by hand.
    let forged = d.join("forged.jsonl");
    std::fs::write(
        &forged,
        "{\"kind\":\"external.deploy\"}\n{\"kind\":\"decision\",\"ticket\":\"T-9\",\"decision\":\"act\"}\n",
    )
    .unwrap();
    let out = flowgate(&["audit", "append", "--db", s(&db), s(&forged)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("forged.jsonl:2: field \"kind\": \"decision\""),
        "{}",
        stderr(&out)
    );
    let out = flowgate(&["audit", "verify", "--db", s(&db)]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 5 records"));
}
