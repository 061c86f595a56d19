//! The command line: errors, exit codes, nothing half-written, formats.

use crate::{flowgate, shared, stderr, temp_dir};

#[test]
fn bad_input_exits_non_zero_with_file_and_line() {
    let d = temp_dir("bad");
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.csv", b"", "empty"),
        (
            "bin.csv",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0",
            "binary",
        ),
        ("cols.csv", b"Case ID,Activity\nCase 1,Wait\n", "cols.csv:1"),
        (
            "trunc.xes",
            b"<?xml version=\"1.0\"?>\n<log>\n<trace>\n<event>\n",
            "truncated",
        ),
    ];
    for (name, content, needle) in cases {
        let p = d.join(name);
        std::fs::write(&p, content).unwrap();
        let out_file = d.join(format!("{name}.json"));
        let out = flowgate(&[
            "baseline",
            p.to_str().unwrap(),
            "--preset",
            "helpdesk",
            "--out",
            out_file.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{name} should fail");
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{name}: {err}"
        );
        assert!(!out_file.exists(), "{name}: nothing may be written");
    }
}

#[test]
fn strict_fails_on_a_bad_row_and_writes_nothing() {
    let d = temp_dir("strict");
    let p = d.join("log.csv");
    std::fs::write(
        &p,
        "case,activity,timestamp\n1,a,2020-01-01\n1,b,31/02/2020 10:00\n",
    )
    .unwrap();
    let out_file = d.join("report.html");
    let args = [
        "baseline",
        p.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ];
    // Lenient: a warning with file, line and field, and a report.
    let out = flowgate(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("log.csv:3: field \"timestamp\""),
        "{}",
        stderr(&out)
    );
    assert!(std::fs::read_to_string(&out_file).unwrap().contains("<svg"));
    // Strict: failure, and the earlier report is left as it was.
    std::fs::write(&out_file, "earlier").unwrap();
    let mut strict = args.to_vec();
    strict.push("--strict");
    let out = flowgate(&strict);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--strict"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "earlier");
}

#[test]
fn presets_list_and_print() {
    let out = flowgate(&["presets"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("helpdesk") && text.contains("bpic2013"),
        "{text}"
    );
    let out = flowgate(&["presets", "bpic2013"]);
    let toml = String::from_utf8_lossy(&out.stdout);
    assert!(toml.contains("[xes]") && toml.contains("Wait - User"));
    // What `presets NAME` prints is a mapping file that works as --mapping.
    let d = temp_dir("presets");
    let m = d.join("mine.toml");
    std::fs::write(&m, toml.as_bytes()).unwrap();
    let data = shared().join("data/bpic2013/VINST-new_ibm.csv");
    let out = flowgate(&[
        "baseline",
        data.to_str().unwrap(),
        "--mapping",
        m.to_str().unwrap(),
        "--format",
        "json",
        "-q",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cases"], 7554);
    let out = flowgate(&["presets", "nope"]);
    assert!(!out.status.success() && stderr(&out).contains("helpdesk"));
}

#[test]
fn formats_and_as_of() {
    let data = shared().join("data/helpdesk/helpdesk_full_attributes_jingyi0126.csv");
    let f = data.to_str().unwrap();
    let d = temp_dir("formats");
    let html = d.join("r.html");
    let out = flowgate(&[
        "baseline",
        f,
        "--preset",
        "helpdesk",
        "-o",
        html.to_str().unwrap(),
        "-q",
    ]);
    assert!(out.status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    for needle in [
        "Cycle-time distribution",
        "Process map",
        "Backlog aging",
        "Weekly arrivals",
        "Cumulative flow",
        "p85",
    ] {
        assert!(page.contains(needle), "the HTML report lacks {needle}");
    }
    // Self-contained: no scripts, nothing fetched from elsewhere.
    assert!(
        !page.contains("<script") && !page.contains("src=\"http") && !page.contains("href=\"http")
    );
    let md = String::from_utf8(
        flowgate(&[
            "baseline", f, "--preset", "helpdesk", "--format", "md", "-q",
        ])
        .stdout,
    )
    .unwrap();
    assert!(md.starts_with("# Process baseline") && md.contains("| Cycle time |"));
    // Backlog at an earlier instant: fewer events seen, a different WIP.
    let out = flowgate(&[
        "baseline",
        f,
        "--preset",
        "helpdesk",
        "--format",
        "json",
        "--as-of",
        "2012-01-01",
        "-q",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["backlog"]["as_of"], "2012-01-01T00:00:00Z");
    assert!(v["backlog"]["wip"].as_u64().unwrap() > 12);
    let out = flowgate(&["baseline", f, "--preset", "helpdesk", "--as-of", "soon"]);
    assert!(!out.status.success() && stderr(&out).contains("--as-of"));
}

/// `flowgate --version` names the version and the commit it was built from (checked against
/// git itself).
#[test]
fn version_names_the_commit() {
    let out = flowgate(&["--version"]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.starts_with(&format!("flowgate {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{said}"
    );
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Ok(g) = git
        && g.status.success()
    {
        let head = String::from_utf8_lossy(&g.stdout).trim().to_owned();
        // Built from this checkout: the same commit (a build older than HEAD would differ,
        // but cargo rebuilds when the branch moves).
        assert!(
            said.contains(&format!("(commit {head})")),
            "{said} vs {head}"
        );
    }
}
