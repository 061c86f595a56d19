//! Help-desk histories read as they come (ServiceNow sys_audit, Zendesk audits and
//! incremental events, Jira changelogs, Freshdesk activities, Intercom conversation parts,
//! GitHub issue events). Every fixture tells the same three tickets (see
//! tests/fixtures/helpdesks/README.md); the figures below are computed by hand from that
//! story, not from flowgate's output.

use crate::helpdesks::{baseline_json, fixture};
use crate::{flowgate, stderr, temp_dir};

/// File, preset, events the file yields (counted by hand from the fixture).
const STORIES: [(&str, &str, u64); 7] = [
    ("zendesk_ticket_audits.json", "zendesk", 16),
    ("zendesk_incremental_ticket_events.jsonl", "zendesk", 16),
    ("servicenow_sys_audit.csv", "servicenow-audit", 15),
    ("jira_issues_changelog.json", "jira", 15),
    ("freshdesk_ticket_activities.json", "freshdesk", 15),
    ("intercom_conversations.jsonl", "intercom", 19),
    ("github_issue_events.json", "github", 15),
];

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

/// The story's figures. Ticket 101: created 2 March 09:00, solved 12:00 (closed on the 5th,
/// which does not move it): 10,800 s; one handoff (group 10/Billing → 20/Tech). Ticket 102:
/// created 2 March 10:00, solved 3 March 10:00, reopened 4 March 08:00, moved to Tech at
/// 09:00 and back to Billing at 10:00 (two handoffs, a ping-pong), solved 11:00: 49 h =
/// 176,400 s. Ticket 103 stays open. So 2 resolved of 3, p50 (nearest rank 1 of 2) 10,800,
/// mean 93,600, reopen rate 1/2, handoffs 3 over 3 cases = 1.0, one ping-pong case, no
/// first-pass resolution (101 was handed off, 102 reopened).
fn assert_story(v: &serde_json::Value, what: &str, events: u64) {
    assert_eq!(v["cases"].as_u64(), Some(3), "{what}: {v}");
    assert_eq!(v["events"].as_u64(), Some(events), "{what}: {v}");
    assert_eq!(v["resolved_cases"].as_u64(), Some(2), "{what}: {v}");
    assert_eq!(v["open_cases"].as_u64(), Some(1), "{what}: {v}");
    assert!(
        close(v["cycle_time_s"]["p50"].as_f64(), 10_800.0),
        "{what}: {v}"
    );
    assert!(
        close(v["cycle_time_s"]["mean"].as_f64(), 93_600.0),
        "{what}: {v}"
    );
    assert!(close(v["reopen_rate"].as_f64(), 0.5), "{what}: {v}");
    assert!(close(v["handoffs"]["mean"].as_f64(), 1.0), "{what}: {v}");
    assert_eq!(
        v["handoffs"]["ping_pong_cases"].as_u64(),
        Some(1),
        "{what}: {v}"
    );
    assert!(
        close(v["first_pass_resolution_rate"].as_f64(), 0.0),
        "{what}: {v}"
    );
}

/// Each shape is recognised from its content (no preset named) and reads the same with its
/// preset named.
#[test]
fn every_help_desk_history_tells_the_same_story() {
    for (file, preset, events) in STORIES {
        let path = fixture(file);
        let f = path.to_str().unwrap();
        let detected = baseline_json(&[f]);
        assert_story(&detected, file, events);
        let named = baseline_json(&[f, "--preset", preset]);
        assert_story(&named, file, events);
    }
}

/// Time in each state, where the shape has the story's states. Zendesk and ServiceNow have
/// new, working (open / In Progress), waiting on the customer (pending / On Hold) and solved:
/// 101 new 09:00–09:30 (1,800 s), working until 12:00 (9,000); 102 new 10:00–10:15 (900),
/// pending until 3 March 09:00 (81,900), open until 10:00 (3,600), solved until 4 March 08:00
/// (79,200, inside its window), open until 11:00 (10,800). Intercom has no "new": a
/// conversation is open from its start (101: 10,800; 102: 900 + 3,600 + 10,800).
#[test]
fn time_in_state_follows_each_vendors_statuses() {
    let state = |v: &serde_json::Value, s: &str| v["time_in_state_s"][s].as_f64().unwrap_or(0.0);
    for file in [
        "zendesk_ticket_audits.json",
        "zendesk_incremental_ticket_events.jsonl",
        "servicenow_sys_audit.csv",
    ] {
        let path = fixture(file);
        let v = baseline_json(&[path.to_str().unwrap()]);
        assert_eq!(state(&v, "new"), 2_700.0, "{file}: {v}");
        assert_eq!(state(&v, "working"), 23_400.0, "{file}: {v}");
        assert_eq!(state(&v, "waiting_customer"), 81_900.0, "{file}: {v}");
        assert_eq!(state(&v, "resolved"), 79_200.0, "{file}: {v}");
        // Flow efficiency: touch 23,400 / (touch + wait 84,600).
        assert!(
            close(v["flow_efficiency"].as_f64(), 23_400.0 / 108_000.0),
            "{file}: {v}"
        );
    }
    let path = fixture("intercom_conversations.jsonl");
    let v = baseline_json(&[path.to_str().unwrap()]);
    assert_eq!(state(&v, "new"), 0.0, "{v}");
    assert_eq!(state(&v, "working"), 26_100.0, "{v}");
    assert_eq!(state(&v, "waiting_customer"), 81_900.0, "{v}");
}

/// ServiceNow lists two updates of ticket d102 in the same second out of checkpoint order
/// (the move back to Billing before the move to Tech). The preset orders ties by the record
/// checkpoint: Billing → Tech → Billing, two handoffs and a ping-pong. Without the order the
/// file order gives Billing → Billing → Tech: one handoff, no ping-pong (mean 2/3).
#[test]
fn servicenow_orders_one_seconds_updates_by_their_checkpoint() {
    let d = temp_dir("sn-order");
    let out = flowgate(&["presets", "servicenow-audit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("order")).collect();
    assert_eq!(kept.len() + 1, text.lines().count(), "one order line");
    let unordered = d.join("unordered.toml");
    std::fs::write(&unordered, kept.join("\n")).unwrap();
    let path = fixture("servicenow_sys_audit.csv");
    let f = path.to_str().unwrap();
    let v = baseline_json(&[f, "--mapping", unordered.to_str().unwrap()]);
    assert!(close(v["handoffs"]["mean"].as_f64(), 2.0 / 3.0), "{v}");
    assert_eq!(v["handoffs"]["ping_pong_cases"].as_u64(), Some(0), "{v}");
    let v = baseline_json(&[f]);
    assert!(close(v["handoffs"]["mean"].as_f64(), 1.0), "{v}");

    // The flat incident log orders ties by sys_mod_count the same way: two updates in one
    // minute listed Resolved (mod 2) before Active (mod 1) leave the incident resolved.
    let flat = d.join("incident.csv");
    std::fs::write(
        &flat,
        "number,incident_state,sys_mod_count,sys_updated_by,sys_updated_at,assignment_group\n\
         INC9,New,0,a,1/3/2016 09:00,G1\n\
         INC9,Resolved,2,a,1/3/2016 09:10,G1\n\
         INC9,Active,1,a,1/3/2016 09:10,G1\n",
    )
    .unwrap();
    let v = baseline_json(&[flat.to_str().unwrap()]);
    assert_eq!(v["resolved_cases"].as_u64(), Some(1), "{v}");
    assert!(close(v["cycle_time_s"]["p50"].as_f64(), 600.0), "{v}");
}

/// Jira changelogs carry status names. `Triage` (ticket SUP-101's first status) is not one
/// of the preset's usual names, so SUP-101 starts with no state and only SUP-102's To Do
/// (900 s) counts as new; with the instance's status list (Triage in category new) SUP-101's
/// 09:00–09:30 counts too.
#[test]
fn jira_statuses_come_from_the_instances_list() {
    let path = fixture("jira_issues_changelog.json");
    let f = path.to_str().unwrap();
    let v = baseline_json(&[f]);
    assert_eq!(v["time_in_state_s"]["new"].as_f64(), Some(900.0), "{v}");
    let statuses = fixture("jira_statuses.json");
    let v = baseline_json(&[f, "--jira-statuses", statuses.to_str().unwrap()]);
    assert_eq!(v["time_in_state_s"]["new"].as_f64(), Some(2_700.0), "{v}");
    assert_story(&v, "with statuses", 15);

    // One issue's paged changelog names the issue by its file name (SUP-7): In Progress at
    // 09:00, Done at 11:00, nothing earlier: 7,200 s.
    let paged = fixture("SUP-7.changelog.json");
    let v = baseline_json(&[paged.to_str().unwrap()]);
    assert_eq!(v["cases"].as_u64(), Some(1), "{v}");
    assert_eq!(v["events"].as_u64(), Some(2), "{v}");
    assert_eq!(v["cycle_time_s"]["p50"].as_f64(), Some(7_200.0), "{v}");
    let d = temp_dir("jira-paged");
    let db = d.join("j.db");
    let db = db.to_str().unwrap();
    let out = flowgate(&["import", paged.to_str().unwrap(), "--db", db, "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = d.join("out.csv");
    let out = flowgate(&["db", "export", "--db", db, "--out", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.matches("SUP-7,").count(), 2, "{text}");
}

/// import → db export → import into another database: the same figures from both stores
/// and from the file.
#[test]
fn histories_round_trip_through_the_store() {
    let d = temp_dir("history-round-trip");
    for (i, (file, preset, events)) in STORIES.into_iter().enumerate() {
        let path = fixture(file);
        let f = path.to_str().unwrap();
        let first = d.join(format!("first-{i}.db"));
        let first = first.to_str().unwrap();
        // A history recognised from its content is stored under its preset's name.
        let out = flowgate(&["import", f, "--db", first, "-q"]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let from_db = baseline_json(&["--db", first, "--source", preset]);
        assert_story(&from_db, file, events);
        let csv = d.join(format!("export-{i}.csv"));
        let out = flowgate(&[
            "db",
            "export",
            "--db",
            first,
            "--source",
            preset,
            "--out",
            csv.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let second = d.join(format!("second-{i}.db"));
        let second = second.to_str().unwrap();
        let mapping = format!("{}.toml", csv.display());
        let out = flowgate(&[
            "import",
            csv.to_str().unwrap(),
            "--mapping",
            &mapping,
            "--db",
            second,
            "--source",
            preset,
            "-q",
        ]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        let again = baseline_json(&["--db", second, "--source", preset]);
        let strip = |v: &serde_json::Value| {
            let mut v = v.clone();
            v.as_object_mut().unwrap().remove("source");
            v
        };
        assert_eq!(strip(&again), strip(&from_db), "{file}");
        // And back into the first store under its source: nothing new.
        let out = flowgate(&[
            "import",
            csv.to_str().unwrap(),
            "--mapping",
            &mapping,
            "--db",
            first,
            "--source",
            preset,
        ]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("0 new events"),
            "{file}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        );
    }
}

/// Bad histories: an error naming file and line, a non-zero exit, nothing stored.
#[test]
fn bad_histories_are_named_and_store_nothing() {
    let d = temp_dir("bad-history");
    let db = d.join("b.db");
    let db = db.to_str().unwrap();
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // JSON that is no history flowgate knows.
    let p = write("other.json", "{\"hello\": [1, 2, 3]}\n");
    let out = flowgate(&["import", p.to_str().unwrap(), "--db", db]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a history"), "{}", stderr(&out));
    // A page cut short: the line where the JSON stops.
    let full = std::fs::read_to_string(fixture("zendesk_ticket_audits.json")).unwrap();
    let cut: String = full.lines().take(40).collect::<Vec<_>>().join("\n");
    let p = write("cut.json", &cut);
    let out = flowgate(&["import", p.to_str().unwrap(), "--db", db]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cut.json:40") && err.contains("invalid JSON"),
        "{err}"
    );
    // The wrong preset for the shape.
    let z = fixture("zendesk_incremental_ticket_events.jsonl");
    let out = flowgate(&[
        "import",
        z.to_str().unwrap(),
        "--preset",
        "jira",
        "--db",
        db,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--preset zendesk"),
        "{}",
        stderr(&out)
    );
    // A record with a bad time: named by line and field; --strict refuses the file.
    let lines = std::fs::read_to_string(&z).unwrap();
    let bad = lines.replacen("\"timestamp\": 1772443800", "\"timestamp\": \"soon\"", 1);
    assert_ne!(bad, lines, "the fixture's second record is at 09:30");
    let p = write("bad-time.jsonl", &bad);
    let out = flowgate(&["import", p.to_str().unwrap(), "--db", db, "--strict"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bad-time.jsonl:2") && err.contains("\"time\""),
        "{err}"
    );
    let status = flowgate(&["db", "status", "--db", db]);
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        !text.contains("zendesk") && !text.contains("jira"),
        "{text}"
    );
    // Without --strict the rest is read and the rejected record is reported.
    let out = flowgate(&["baseline", p.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 of 16 rows rejected"),
        "{}",
        stderr(&out)
    );
}

/// The JSON-against-CSV benchmark's harness runs (small), and fails if the two files'
/// figures differ.
#[test]
fn the_history_benchmark_harness_runs() {
    let d = temp_dir("history-bench");
    let work = d.to_str().unwrap();
    let out = crate::bench(&["--history", "2000", "--runs", "1", "--work-dir", work]).unwrap();
    assert!(out.contains("| 2000 | JSON lines"), "{out}");
}

/// What the local help desk answers to one request.
enum Reply {
    Json(String),
    RateLimited,
    Drop,
}

/// A help desk on 127.0.0.1: answers each request by `answer(path, nth request)`, logs the
/// paths, and stops when the returned flag is set.
fn local_help_desk(
    answer: impl Fn(&str, usize) -> Reply + Send + 'static,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (log2, stop2) = (log.clone(), stop.clone());
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !stop2.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
            let Ok((mut sock, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            };
            sock.set_nonblocking(false).unwrap();
            sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req);
            let path = text.split(' ').nth(1).unwrap_or("").to_owned();
            let nth = {
                let mut l = log2.lock().unwrap();
                l.push(path.clone());
                l.len()
            };
            let out = match answer(&path, nth) {
                Reply::Json(body) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
                Reply::RateLimited => "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
                Reply::Drop => String::new(),
            };
            let _ = sock.write_all(out.as_bytes());
        }
    });
    (base, log, stop)
}

/// `flowgate sync zendesk` against a local Zendesk serving the fixture's incremental events
/// in two pages: the first run stops after one page (`--max-pages 1`, as a crash after a
/// commit would); the second resumes from the stored cursor, is rate limited once (429,
/// Retry-After: 1) and loses its connection once, and reads the rest; a third finds nothing
/// new. The events land once: the story's 16.
#[test]
fn sync_pulls_zendesk_pages_resumes_and_lands_each_event_once() {
    let text = std::fs::read_to_string(fixture("zendesk_incremental_ticket_events.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 16);
    let page = |from: usize, to: usize, end: i64, last: bool| {
        serde_json::json!({
            "ticket_events": events[from..to],
            "next_page": null,
            "count": to - from,
            "end_time": end,
            "end_of_stream": last,
        })
        .to_string()
    };
    let (p1, p2, p3) = (
        page(0, 8, 1000, false),
        page(8, 16, 2000, true),
        page(16, 16, 2000, true),
    );
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (base, log, stop) = local_help_desk(move |path, _| {
        if path.contains("start_time=0&") {
            Reply::Json(p1.clone())
        } else if path.contains("start_time=1000&") {
            match seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Reply::RateLimited,
                1 => Reply::Drop,
                _ => Reply::Json(p2.clone()),
            }
        } else {
            Reply::Json(p3.clone())
        }
    });
    let d = temp_dir("sync-zendesk");
    let db = d.join("s.db");
    let db = db.to_str().unwrap();
    let sync = |extra: &[&str]| {
        let mut a = vec!["sync", "zendesk", "--base-url", &base, "--db", db];
        a.extend_from_slice(extra);
        let out = flowgate(&a);
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = sync(&["--max-pages", "1"]);
    assert!(
        first.contains("1 pages, 8 new events") && first.contains("cursor 1000 (more"),
        "{first}"
    );
    let second = sync(&[]);
    assert!(
        second.contains("1 pages, 8 new events, 0 already stored, 2 retries; cursor 2000"),
        "{second}"
    );
    let third = sync(&[]);
    assert!(
        third.contains("0 new events") && third.contains("cursor 2000"),
        "{third}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let paths = log.lock().unwrap().clone();
    let starts: Vec<&str> = paths
        .iter()
        .map(|p| {
            p.split("start_time=")
                .nth(1)
                .unwrap_or("")
                .split('&')
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(
        starts,
        vec!["0", "1000", "1000", "1000", "2000"],
        "{paths:?}"
    );
    let v = baseline_json(&["--db", db, "--source", "zendesk"]);
    assert_story(&v, "synced", 16);
    // No credential was stored: the database holds the cursor, never a token.
    let bytes = std::fs::read(db).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"Bearer"));
}

/// `flowgate sync servicenow` pages sys_audit by offset (10 rows a page, the last short)
/// and reads the same story as the CSV export.
#[test]
fn sync_pages_servicenow_sys_audit_by_offset() {
    let path = fixture("servicenow_sys_audit.csv");
    let mut rdr = csv::Reader::from_path(&path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let rows: Vec<serde_json::Value> = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            serde_json::Value::Object(
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_owned(), serde_json::Value::String(v.to_owned())))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 22);
    let (base, log, stop) = local_help_desk(move |path, _| {
        let offset: usize = path
            .split("sysparm_offset=")
            .nth(1)
            .and_then(|v| v.split('&').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let page = &rows[offset.min(rows.len())..(offset + 10).min(rows.len())];
        Reply::Json(serde_json::json!({ "result": page }).to_string())
    });
    let d = temp_dir("sync-servicenow");
    let db = d.join("s.db");
    let db = db.to_str().unwrap();
    let out = flowgate(&[
        "sync",
        "servicenow",
        "--base-url",
        &base,
        "--db",
        db,
        "--page-size",
        "10",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("3 pages") && text.contains("cursor 2026-03-05 12:00:00"),
        "{text}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(log.lock().unwrap().len(), 3);
    let v = baseline_json(&["--db", db, "--source", "servicenow-audit"]);
    assert_story(&v, "synced sys_audit", 15);
}

/// `flowgate sync jira` pages a search by `startAt` (two issues a page), with the JQL from
/// the cursor, and reads the same story as the file; the cursor is the latest `updated`, to
/// the minute.
#[test]
fn sync_pages_jira_search_by_start_at() {
    let text = std::fs::read_to_string(fixture("jira_issues_changelog.json")).unwrap();
    let page: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut issues = page["issues"].as_array().unwrap().clone();
    for (i, updated) in issues.iter_mut().zip([
        "2026-03-05T12:00:00.000+0000",
        "2026-03-04T11:00:00.000+0000",
        "2026-03-03T08:30:00.000+0000",
    ]) {
        i["fields"]["updated"] = serde_json::Value::from(updated);
    }
    let (base, log, stop) = local_help_desk(move |path, _| {
        let start: usize = path
            .split("startAt=")
            .nth(1)
            .and_then(|v| v.split('&').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let part = &issues[start.min(3)..(start + 2).min(3)];
        Reply::Json(
            serde_json::json!({"startAt": start, "maxResults": 2, "total": 3, "issues": part})
                .to_string(),
        )
    });
    let d = temp_dir("sync-jira");
    let db = d.join("j.db");
    let db = db.to_str().unwrap();
    let out = flowgate(&[
        "sync",
        "jira",
        "--base-url",
        &base,
        "--db",
        db,
        "--page-size",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("2 pages, 15 new events") && text.contains("cursor 2026-03-05 12:00"),
        "{text}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let paths = log.lock().unwrap().clone();
    assert!(
        paths[0].contains("jql=updated%20%3E%3D%20%221970-01-01%2000%3A00%22"),
        "{paths:?}"
    );
    let v = baseline_json(&["--db", db, "--source", "jira"]);
    assert_story(&v, "synced jira", 15);
}

/// A `[calendar]` in flowgate.toml (weekdays 09:00–17:00 UTC) puts business time beside
/// calendar time. Ticket 101, Monday 2 March 09:00–12:00: 3 h either way. Ticket 102, Monday
/// 10:00 to Wednesday 11:00: Monday 7 h + Tuesday 8 h + Wednesday 2 h = 17 h = 61,200 s
/// (176,400 s by the calendar). So p50 10,800 s, mean 36,000 s.
#[test]
fn business_hours_from_the_settings_file() {
    let d = temp_dir("business-hours");
    let cfg = d.join("flowgate.toml");
    std::fs::write(
        &cfg,
        "[calendar]\ntimezone = \"UTC\"\nhours = { mon = \"09:00-17:00\", tue = \"09:00-17:00\", wed = \"09:00-17:00\", thu = \"09:00-17:00\", fri = \"09:00-17:00\" }\n",
    )
    .unwrap();
    let path = fixture("zendesk_ticket_audits.json");
    let f = path.to_str().unwrap();
    let v = baseline_json(&[f, "--config", cfg.to_str().unwrap()]);
    assert_story(&v, "with a calendar", 16);
    assert_eq!(
        v["business"]["cycle_time_s"]["p50"].as_f64(),
        Some(10_800.0),
        "{v}"
    );
    assert_eq!(
        v["business"]["cycle_time_s"]["mean"].as_f64(),
        Some(36_000.0),
        "{v}"
    );
    assert_eq!(v["business"]["calendar"].as_str(), Some("UTC"));
    // Without one, no business figures.
    let v = baseline_json(&[f]);
    assert!(v.get("business").is_none(), "{v}");
    // A bad calendar in the settings is refused with the file's name.
    std::fs::write(
        &cfg,
        "[calendar]\ntimezone = \"UTC\"\nhours = { mon = \"9-5\" }\n",
    )
    .unwrap();
    let out = flowgate(&["baseline", f, "--config", cfg.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("flowgate.toml") && stderr(&out).contains("hours.mon"),
        "{}",
        stderr(&out)
    );
}

/// SIGKILL in the middle of a sync: the local Zendesk holds the second page's answer until
/// the process is killed; a new sync resumes from the cursor the first page committed and
/// the events land once.
#[test]
fn a_killed_sync_resumes_from_its_last_committed_page() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let text = std::fs::read_to_string(fixture("zendesk_incremental_ticket_events.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let page = |from: usize, to: usize, end: i64, last: bool| {
        serde_json::json!({
            "ticket_events": events[from..to],
            "end_time": end,
            "end_of_stream": last,
        })
        .to_string()
    };
    let (p1, p2) = (page(0, 8, 1000, false), page(8, 16, 2000, true));
    let killed = std::sync::Arc::new(AtomicBool::new(false));
    let k2 = killed.clone();
    let (base, log, stop) = local_help_desk(move |path, _| {
        if path.contains("start_time=0&") {
            Reply::Json(p1.clone())
        } else {
            // Hold the second page until the first sync is dead.
            let t0 = std::time::Instant::now();
            while !k2.load(Ordering::SeqCst) && t0.elapsed() < std::time::Duration::from_secs(30) {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Reply::Json(p2.clone())
        }
    });
    let d = temp_dir("sync-kill");
    let db = d.join("k.db");
    let db = db.to_str().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .args(["sync", "zendesk", "--base-url", &base, "--db", db])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the second page is asked for: the first is committed by then.
    let t0 = std::time::Instant::now();
    while log.lock().unwrap().len() < 2 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "no second request"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    killed.store(true, Ordering::SeqCst);
    let out = flowgate(&["sync", "zendesk", "--base-url", &base, "--db", db]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("1 pages, 8 new events, 0 already stored"),
        "{text}"
    );
    stop.store(true, Ordering::Relaxed);
    let paths = log.lock().unwrap().clone();
    assert!(paths[2].contains("start_time=1000&"), "{paths:?}");
    let v = baseline_json(&["--db", db, "--source", "zendesk"]);
    assert_story(&v, "after a kill", 16);
}
