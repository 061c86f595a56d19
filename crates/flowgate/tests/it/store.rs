//! The database through the command line: import, baseline --db, export, and an import
//! killed with SIGKILL half-way that leaves the database exactly as it was.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::{flowgate, shared, stderr, temp_dir};

pub fn pg_url(tag: &str) -> (String, impl Drop) {
    let admin = std::env::var("FLOWGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("fg_cli_{}_{tag}", std::process::id());
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .args([admin.as_str(), "-qAtc", sql])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "PostgreSQL must answer at {admin}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"));
    psql(&format!("CREATE DATABASE {name}"));
    struct DropDb(String, String);
    impl Drop for DropDb {
        fn drop(&mut self) {
            let _ = Command::new("psql")
                .args([
                    self.0.as_str(),
                    "-qAtc",
                    &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.1),
                ])
                .output();
        }
    }
    let base = admin.rsplit_once('/').unwrap().0.to_owned();
    (format!("{base}/{name}"), DropDb(admin, name))
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = flowgate(args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn count_events(url: &str) -> u64 {
    let out = flowgate(&["db", "status", "--db", url]);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once(": ")
                .and_then(|(_, r)| r.split(' ').next()?.parse::<u64>().ok())
        })
        .sum()
}

#[test]
fn import_baseline_and_export_through_the_cli() {
    let d = temp_dir("cli-db");
    let sqlite = d.join("flowgate.db").display().to_string();
    let (pg, _guard) = pg_url("cli");
    let data = shared().join("data/helpdesk/helpdesk_full_attributes_jingyi0126.csv");
    let file = data.to_str().unwrap();
    let from_file = json(&[
        "baseline", file, "--preset", "helpdesk", "--format", "json", "-q",
    ]);
    for url in [sqlite.as_str(), pg.as_str()] {
        let out = flowgate(&["import", file, "--preset", "helpdesk", "--db", url]);
        assert!(out.status.success(), "{}", stderr(&out));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("21348 new events") && said.contains("4580 new cases"),
            "{said}"
        );
        let out = flowgate(&["import", file, "--preset", "helpdesk", "--db", url]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("0 new events") && said.contains("already imported"),
            "{said}"
        );
        let mut from_db = json(&["baseline", "--db", url, "--format", "json", "-q"]);
        let mut want = from_file.clone();
        for v in [&mut from_db, &mut want] {
            v.as_object_mut().unwrap().remove("source");
        }
        assert_eq!(from_db, want, "baseline from {url} differs from the file's");
        // Export and re-import under the same source name: nothing new.
        let out_csv = d.join(format!(
            "export-{}.csv",
            if url.starts_with("postgres") {
                "pg"
            } else {
                "lite"
            }
        ));
        let out = flowgate(&[
            "db",
            "export",
            "--db",
            url,
            "--source",
            "helpdesk",
            "--out",
            out_csv.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mapping = format!("{}.toml", out_csv.display());
        let out = flowgate(&[
            "import",
            out_csv.to_str().unwrap(),
            "--mapping",
            &mapping,
            "--source",
            "helpdesk",
            "--db",
            url,
        ]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("0 new events"),
            "{}",
            stderr(&out)
        );
    }
    let out = flowgate(&["baseline", "--db", &sqlite, "--source", "nope"]);
    assert!(
        !out.status.success() && stderr(&out).contains("helpdesk"),
        "{}",
        stderr(&out)
    );
}

/// What the database holds: `db status` (sources, counts, imports) and the one source's
/// events exported as CSV (the export fails if the killed import left a second source).
fn snapshot(url: &str) -> (String, Vec<u8>) {
    let status = flowgate(&["db", "status", "--db", url]);
    assert!(status.status.success(), "{}", stderr(&status));
    let dir = temp_dir("kill-snapshot");
    let file = dir.join("events.csv");
    let out = flowgate(&["db", "export", "--db", url, "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    (
        String::from_utf8_lossy(&status.stdout).into_owned(),
        std::fs::read(&file).unwrap(),
    )
}

/// Starts an import of a large log, kills it with SIGKILL once some events are stored, and
/// checks the database holds exactly what it held before; then imports again, completely.
fn kill_midway(url: &str, big: &str, mapping: &str) {
    let small = shared().join("data/helpdesk/helpdesk_full_attributes_jingyi0126.csv");
    let out = flowgate(&[
        "import",
        small.to_str().unwrap(),
        "--preset",
        "helpdesk",
        "--db",
        url,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = count_events(url);
    assert_eq!(before, 21_348);
    let snapshot_before = snapshot(url);
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .args([
            "import",
            big,
            "--mapping",
            mapping,
            "--source",
            "demo",
            "--db",
            url,
        ])
        .env("FLOWGATE_PROGRESS", "lines")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut killed_at = None;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("progress: stored ") {
            let mut it = rest.split(" of ");
            let done: u64 = it.next().unwrap().parse().unwrap();
            let total: u64 = it
                .next()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            if done > 0 && done < total {
                child.kill().unwrap(); // SIGKILL
                killed_at = Some((done, total));
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    let (done, total) = killed_at.expect("the import reported progress before finishing");
    assert!(
        !status.success(),
        "the import was killed at {done} of {total}"
    );
    assert_eq!(
        count_events(url),
        before,
        "a killed import left events behind in {url}"
    );
    // Not just the counts: the sources listed and every stored event, byte for byte.
    assert!(
        snapshot(url) == snapshot_before,
        "a killed import changed what {url} holds"
    );
    let out = flowgate(&[
        "import",
        big,
        "--mapping",
        mapping,
        "--source",
        "demo",
        "--db",
        url,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(count_events(url), before + total, "{url}");
    let out = flowgate(&[
        "import",
        big,
        "--mapping",
        mapping,
        "--source",
        "demo",
        "--db",
        url,
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 new events"));
}

#[test]
fn a_killed_import_leaves_nothing_behind() {
    let d = temp_dir("kill");
    let out = flowgate(&[
        "demo",
        "--tickets",
        "40000",
        "--out",
        d.join("demo").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let big = d.join("demo/tickets-log.csv");
    let mapping = d.join("demo/demo-preset.toml");
    let sqlite = d.join("kill.db").display().to_string();
    kill_midway(&sqlite, big.to_str().unwrap(), mapping.to_str().unwrap());
    let (pg, _guard) = pg_url("kill");
    kill_midway(&pg, big.to_str().unwrap(), mapping.to_str().unwrap());
}
