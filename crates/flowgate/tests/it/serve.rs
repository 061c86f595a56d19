//! `flowgate serve` as it runs: a real server process on 127.0.0.1 over SQLite and
//! PostgreSQL, real HTTP, the demo's model, policy and knowledge base. Tickets in, decisions
//! out and audited once, problem documents for bad input, the role matrix, review leases,
//! two servers on one PostgreSQL chain, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::store::pg_url;
use crate::{flowgate, stderr, temp_dir};

/// A running `flowgate serve`; killed if the test fails before stopping it.
pub(crate) struct Server {
    pub(crate) child: Child,
    base: String,
}

impl Server {
    pub(crate) fn start(db: &str, demo: &Path) -> Server {
        Server::start_with(db, demo, &[])
    }

    /// With more arguments (`--config FILE`…) after the usual ones.
    pub(crate) fn start_with(db: &str, demo: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["--shadow-reviews"];
        args.extend_from_slice(extra);
        Server::start_acts_only(db, demo, &args)
    }

    /// Sampling acts only for review (no shadow reviews), with `extra` arguments.
    pub(crate) fn start_acts_only(db: &str, demo: &Path, extra: &[&str]) -> Server {
        let s = |p: &str| demo.join(p).display().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_flowgate"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--db",
                db,
                "--model",
                &s("intent-model.fgim"),
                "--policy",
                &s("policy.toml"),
                "--kb",
                &s("kb.fgkb"),
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("flowgate serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .rsplit_once("listening on ")
            .map(|(_, a)| a.to_owned())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Server { child, base }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A POST that announces `len` bytes of JSON and asks `Expect: 100-continue` (as curl
    /// does for large bodies), sending the body only if the service says continue. The
    /// service's first answer: (status, body).
    pub(crate) fn announce(&self, path: &str, token: &str, len: usize) -> (u16, String) {
        use std::io::{Read, Write};
        let host = self.base.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(host).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        let text = String::from_utf8_lossy(&got).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        (status, body)
    }

    /// SIGTERM, then the exit status (within 20 s).
    #[allow(unsafe_code)]
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP exchange: (status, content type, body as JSON or `Value::String`).
pub(crate) fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> (u16, String, Value) {
    let mut r = ureq::request(method, url).timeout(Duration::from_secs(60));
    if let Some(t) = token {
        r = r.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some((ct, bytes)) => r.set("Content-Type", ct).send_bytes(&bytes),
        None => r.call(),
    };
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let ct = resp.content_type().to_owned();
    let text = resp.into_string().unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, ct, v)
}

pub(crate) fn post_json(url: &str, token: Option<&str>, v: &Value) -> (u16, String, Value) {
    call(
        "POST",
        url,
        token,
        Some(("application/json", v.to_string().into_bytes())),
    )
}

/// A problem document of the given status and type slug.
pub(crate) fn assert_problem(got: &(u16, String, Value), status: u16, slug: &str) {
    assert_eq!(got.0, status, "{got:?}");
    assert_eq!(got.1, "application/problem+json", "{got:?}");
    assert_eq!(
        got.2["type"],
        format!("urn:flowgate:problem:{slug}"),
        "{got:?}"
    );
    assert_eq!(got.2["status"], status, "{got:?}");
}

pub(crate) fn token(db: &str, role: &str) -> String {
    let o = flowgate(&[
        "token",
        "create",
        "--role",
        role,
        "--name",
        &format!("{role}-1"),
        "--db",
        db,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    assert!(t.starts_with("fg_") && t.len() == 67, "{t}");
    t
}

/// The demo's newest tickets as API requests.
pub(crate) fn tickets(demo: &Path, n: usize) -> Vec<Value> {
    let mut r = csv::Reader::from_path(demo.join("tickets.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    rows[rows.len() - n..]
        .iter()
        .map(|x| {
            json!({"id": x[0], "customer": x[7], "subject": x[2], "body": x[3],
                   "priority": x[5], "channel": x[6], "created_at": x[1]})
        })
        .collect()
}

/// The demo's model, policy and knowledge base, made once per test run.
pub(crate) fn demo_dir() -> PathBuf {
    static DEMO: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DEMO.get_or_init(|| {
        let d = temp_dir("serve-demo");
        let out = flowgate(&[
            "demo",
            "--tickets",
            "3000",
            "--out",
            d.join("demo").to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        d.join("demo")
    })
    .clone()
}

#[test]
fn the_service_decides_audits_and_refuses_on_sqlite_and_postgres() {
    let demo = demo_dir();
    let sqlite = temp_dir("serve-sqlite")
        .join("live.db")
        .display()
        .to_string();
    let (pg, _guard) = pg_url("serve");
    for db in [sqlite.as_str(), pg.as_str()] {
        one_backend(db, &demo);
    }
    // Two servers on one PostgreSQL: 8 clients each, one chain, every ticket once.
    let (pg2, _guard2) = pg_url("serve_two");
    let ingest = token(&pg2, "ingest");
    let viewer = token(&pg2, "viewer");
    let a = Server::start(&pg2, &demo);
    let b = Server::start(&pg2, &demo);
    let all = tickets(&demo, 64);
    std::thread::scope(|scope| {
        for c in 0..16 {
            let (server, ingest, all) = (if c % 2 == 0 { &a } else { &b }, &ingest, &all);
            scope.spawn(move || {
                // Every client posts every fourth ticket, so each ticket is posted by four
                // clients on both servers at about the same time.
                for t in all.iter().skip(c % 4).step_by(4) {
                    let r = post_json(&server.url("/v1/tickets"), Some(ingest), t);
                    assert!(r.0 == 201 || r.0 == 200, "{r:?}");
                }
            });
        }
    });
    let page = call(
        "GET",
        &a.url("/v1/decisions?limit=1000"),
        Some(&viewer),
        None,
    );
    let rows = page.2["decisions"].as_array().unwrap();
    let mut ids: Vec<&str> = rows
        .iter()
        .map(|r| r["ticket_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!((n, ids.len()), (64, 64), "each ticket decided once");
    let v = call("GET", &b.url("/v1/audit/verify"), Some(&viewer), None);
    assert_eq!(v.2["intact"], true, "{v:?}");
    assert!(a.stop().success());
    assert!(b.stop().success());
    let o = flowgate(&["audit", "verify", "--db", &pg2]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn one_backend(db: &str, demo: &Path) {
    let admin = token(db, "admin");
    let reviewer = token(db, "reviewer");
    let viewer = token(db, "viewer");
    let ingest = token(db, "ingest");
    let server = Server::start(db, demo);
    let u = |p: &str| server.url(p);
    // No token needed for health; readiness names the model and policy.
    assert_eq!(call("GET", &u("/healthz"), None, None).0, 200);
    let ready = call("GET", &u("/readyz"), None, None);
    assert_eq!(ready.0, 200, "{ready:?}");
    assert!(!ready.2["policy"].as_str().unwrap().is_empty(), "{ready:?}");
    // A ticket: decided, audited, answered.
    let all = tickets(demo, 40);
    let first = post_json(&u("/v1/tickets"), Some(&ingest), &all[0]);
    assert_eq!(first.0, 201, "{first:?}");
    let d = &first.2["decision"];
    assert!(
        ["act", "assist", "route", "clarify", "escalate"].contains(&d["action"].as_str().unwrap())
    );
    assert!(d["intent"].as_str().is_some() && d["confidence"].as_f64().is_some());
    assert!(d["reasons"].as_array().unwrap().len() == 1);
    let seq = first.2["audit"]["seq"].as_i64().unwrap();
    // The same ticket again: the same decision, audited once.
    let again = post_json(&u("/v1/tickets"), Some(&ingest), &all[0]);
    assert_eq!(again.0, 200, "{again:?}");
    assert_eq!(again.2["audit"], first.2["audit"]);
    assert_eq!(again.2["decision"]["action"], d["action"]);
    // Changed content is a new decision.
    let mut changed = all[0].clone();
    changed["body"] = json!("Actually, can you also tell me where my parcel is?");
    let c = post_json(&u("/v1/tickets"), Some(&ingest), &changed);
    assert_eq!(c.0, 201, "{c:?}");
    assert!(c.2["audit"]["seq"].as_i64().unwrap() > seq);
    // What needs the process: a body over the limit answered before it is read (the
    // service's API behaviour — bad input, the role matrix, reviews, switches, the cursor —
    // is tested in process, in flowgate-server's tests).
    let t = u("/v1/tickets");
    let huge = json!({"id": "X3", "body": "a".repeat(1_100_000)});
    assert_problem(&post_json(&t, Some(&ingest), &huge), 413, "too-large");
    // A client that asks before sending gets the 413 without sending the body.
    let (status, body) = server.announce("/v1/tickets", &ingest, 50 << 20);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("urn:flowgate:problem:too-large"), "{body}");
    // More tickets through the real encoder, concurrently (8 clients); sampled for review.
    std::thread::scope(|scope| {
        for c in 0..8 {
            let (all, ingest, t) = (&all, &ingest, &t);
            scope.spawn(move || {
                for x in all.iter().skip(1 + c).step_by(8) {
                    let r = post_json(t, Some(ingest), x);
                    assert_eq!(r.0, 201, "{r:?}");
                }
            });
        }
    });
    let queue = call("GET", &u("/v1/reviews"), Some(&viewer), None);
    assert!(
        !queue.2["reviews"].as_array().unwrap().is_empty(),
        "{queue:?}"
    );
    let claimed = call("POST", &u("/v1/reviews/claim"), Some(&reviewer), None);
    assert_eq!(claimed.0, 200, "{claimed:?}");
    let item = claimed.2["decision_seq"].as_i64().unwrap();
    let done = post_json(
        &u(&format!("/v1/reviews/{item}")),
        Some(&reviewer),
        &json!({"verdict": "defect", "category": "wrong-answer", "note": "asked for the parcel"}),
    );
    assert_eq!(done.0, 200, "{done:?}");
    let k = call(
        "PUT",
        &u("/v1/policy/kill-switch"),
        Some(&admin),
        Some((
            "application/json",
            json!({"scope": "*", "engaged": false})
                .to_string()
                .into_bytes(),
        )),
    );
    assert_eq!(k.0, 200, "{k:?}");
    // The chain holds: through the API and through the CLI after a clean stop.
    let v = call("GET", &u("/v1/audit/verify"), Some(&viewer), None);
    assert_eq!(v.2["intact"], true, "{v:?}");
    assert_eq!(v.2["reviews_matched"], 1, "{v:?}");
    let m = call("GET", &u("/metrics"), Some(&viewer), None);
    assert!(
        m.2.as_str()
            .unwrap()
            .contains("flowgate_decisions_total{action="),
        "{m:?}"
    );
    assert!(server.stop().success(), "SIGTERM stops the server cleanly");
    let o = flowgate(&["audit", "verify", "--db", db]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Token creation and revocation are on the chain; a revoked token is refused.
    let o = flowgate(&["token", "revoke", "viewer-1", "--db", db]);
    assert!(o.status.success(), "{}", stderr(&o));
    let server = Server::start(db, demo);
    assert_problem(
        &call("GET", &server.url("/v1/decisions"), Some(&viewer), None),
        401,
        "unauthorized",
    );
    assert!(server.stop().success());
    let o = flowgate(&["audit", "export", "--db", db]);
    let text = String::from_utf8_lossy(&o.stdout);
    let changes: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            let r = match &v["record"] {
                Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
                other => other.clone(),
            };
            (r["kind"] == "token").then(|| r["change"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert_eq!(
        changes,
        ["create", "create", "create", "create", "revoke"],
        "{text}"
    );
    assert!(
        !text.contains(&viewer[3..]),
        "a token leaked into the audit log"
    );
}

/// The systemd unit in `deploy/` passes `systemd-analyze verify` with this build's binary in
/// place of the installed one, and its command line is one `flowgate` accepts.
#[test]
fn the_systemd_unit_verifies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let unit = std::fs::read_to_string(root.join("deploy/flowgate.service")).unwrap();
    let bin = env!("CARGO_BIN_EXE_flowgate");
    let dir = temp_dir("systemd");
    let path = dir.join("flowgate.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/flowgate", bin)).unwrap();
    let o = Command::new("systemd-analyze")
        .args(["verify", path.to_str().unwrap()])
        .output()
        .expect("systemd-analyze runs (Debian package systemd)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success() && said.trim().is_empty(), "{said}");
    // The ExecStart line parses as flowgate arguments (everything up to `serve`'s flags).
    let exec: String = unit
        .split("ExecStart=")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('\\').trim().to_owned() + " ")
        .take_while(|l| !l.contains('='))
        .collect();
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert!(args.contains(&"serve"), "{exec}");
    let mut help = args.clone();
    help.push("--help");
    let o = Command::new(bin).args(&help).output().unwrap();
    assert!(o.status.success(), "{exec}: {}", stderr(&o));
}

/// The policy in force lives in the database: a file imported while two servers run holds for
/// the next ticket on both, each import is one `policy_change` record, importing the policy
/// in force changes nothing, and a policy that does not parse changes nothing either.
#[test]
fn a_policy_imported_while_two_servers_run_holds_on_both() {
    let demo = demo_dir();
    let (pg, _guard) = pg_url("policy_db");
    let ingest = token(&pg, "ingest");
    let viewer = token(&pg, "viewer");
    let a = Server::start(&pg, &demo);
    let b = Server::start(&pg, &demo);
    // A ticket of an intent the demo policy lets the AI handle (mode auto), not routed.
    let auto = [
        "password_reset",
        "order_status",
        "invoice_copy",
        "address_change",
    ];
    let all = tickets(&demo, 200);
    let acted = all
        .iter()
        .find(|t| {
            let r = post_json(&a.url("/v1/tickets"), Some(&ingest), t);
            assert!(r.0 == 201 || r.0 == 200, "{r:?}");
            let d = &r.2["decision"];
            auto.iter().any(|i| d["intent"] == *i) && d["action"] != "route"
        })
        .expect("some demo ticket of an auto intent is not routed")
        .clone();
    let text = std::fs::read_to_string(demo.join("policy.toml")).unwrap();
    let human = text.replace("mode = \"auto\"", "mode = \"human\"");
    assert_ne!(human, text);
    let dir = temp_dir("policy-db");
    let file = dir.join("human.toml");
    std::fs::write(&file, &human).unwrap();
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "name = \n").unwrap();
    let o = flowgate(&["policy", "import", broken.to_str().unwrap(), "--db", &pg]);
    assert!(
        !o.status.success() && stderr(&o).contains("broken.toml"),
        "{}",
        stderr(&o)
    );
    let len = |s: &Server| {
        call("GET", &s.url("/readyz"), None, None).2["audit_chain_length"]
            .as_i64()
            .unwrap()
    };
    let before = len(&a);
    let o = flowgate(&["policy", "import", file.to_str().unwrap(), "--db", &pg]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(len(&a), before + 1, "one policy_change record");
    let o = flowgate(&["policy", "import", file.to_str().unwrap(), "--db", &pg]);
    assert!(
        o.status.success() && stderr(&o).contains("already in force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        len(&a),
        before + 1,
        "the policy in force again: nothing written"
    );
    // The same text as a new ticket, on either server: its intent is human-only now.
    for (i, s) in [&a, &b].into_iter().enumerate() {
        let mut t = acted.clone();
        t["id"] = json!(format!("{}-after-{i}", acted["id"].as_str().unwrap()));
        let r = post_json(&s.url("/v1/tickets"), Some(&ingest), &t);
        assert_eq!(r.0, 201, "{r:?}");
        assert_eq!(r.2["decision"]["action"], "route", "{r:?}");
        let seq = r.2["audit"]["seq"].as_i64().unwrap();
        let d = call(
            "GET",
            &s.url(&format!("/v1/decisions/{seq}")),
            Some(&viewer),
            None,
        );
        let p = call("GET", &s.url("/v1/policy"), Some(&viewer), None);
        assert_eq!(d.2["policy"], p.2["policy"], "{d:?} {p:?}");
        assert_ne!(p.2["base_policy"].as_str(), None);
        let o = flowgate(&["policy", "show", "--db", &pg]);
        let shown = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            shown.contains(p.2["base_policy"].as_str().unwrap()),
            "{shown}"
        );
        assert!(shown.contains("mode = \"human\""), "{shown}");
    }
    let v = call("GET", &b.url("/v1/audit/verify"), Some(&viewer), None);
    assert_eq!(v.2["intact"], true, "{v:?}");
    assert!(a.stop().success());
    assert!(b.stop().success());
}

#[test]
fn repeat_contacts_on_the_live_path_count_from_the_customers_earlier_tickets() {
    let demo = demo_dir();
    let dir = temp_dir("serve-repeat");
    let db = dir.join("repeat.db").display().to_string();
    let ingest = token(&db, "ingest");
    let server = Server::start(&db, &demo);
    // The demo policy plus a repeat-contact rule, imported while the server runs.
    let text = std::fs::read_to_string(demo.join("policy.toml")).unwrap();
    let repeat = format!(
        "{text}\n[[rules]]\nname = \"repeat\"\nrepeat_within_days = 2\naction = \"route\"\n"
    );
    let file = dir.join("repeat.toml");
    std::fs::write(&file, repeat).unwrap();
    let o = flowgate(&["policy", "import", file.to_str().unwrap(), "--db", &db]);
    assert!(o.status.success(), "{}", stderr(&o));
    let post = |id: &str, customer: &str, at: &str| {
        let t = json!({"id": id, "customer": customer, "subject": "Where is my order", "priority": "normal",
                       "body": format!("Order for ticket {id} has not arrived."),
                       "created_at": at});
        let r = post_json(&server.url("/v1/tickets"), Some(&ingest), &t);
        assert!(r.0 == 201 || r.0 == 200, "{r:?}");
        r.2["decision"]["rule"].as_str().unwrap().to_owned()
    };
    let first = post("R-0", "cust-0", "2026-03-01T09:00:00Z");
    assert_ne!(first, "urgent", "the tickets pass the demo's other rules");
    // Hand-worked: A first (no earlier ticket); B 1 day after A (repeat); C 8 days after B
    // (not); D another customer's; E 47 hours after C (repeat, within 2 days); A again is
    // A's first decision (A's contact stays the first of cust-1's).
    assert_ne!(post("R-A", "cust-1", "2026-03-01T09:00:00Z"), "repeat");
    assert_eq!(post("R-B", "cust-1", "2026-03-02T09:00:00Z"), "repeat");
    assert_ne!(post("R-C", "cust-1", "2026-03-10T09:00:00Z"), "repeat");
    assert_ne!(post("R-D", "cust-2", "2026-03-10T10:00:00Z"), "repeat");
    assert_eq!(post("R-E", "cust-1", "2026-03-12T08:00:00Z"), "repeat");
    assert_ne!(post("R-A", "cust-1", "2026-03-01T09:00:00Z"), "repeat");
    // A time that is not RFC 3339 is refused, naming the field.
    let bad = json!({"id": "R-F", "customer": "cust-1", "body": "Where is my order?",
                     "created_at": "yesterday"});
    let r = post_json(&server.url("/v1/tickets"), Some(&ingest), &bad);
    assert_problem(&r, 422, "invalid");
    assert!(
        r.2["detail"].as_str().unwrap().contains("created_at"),
        "{r:?}"
    );
    assert!(server.stop().success());
}

/// The benchmark harnesses run to the end (their figures are recorded in BENCHMARKS.md from
/// release builds; here, in the test build, only that they work and what they check): the
/// log replication, the service timings, and a short soak, which fails on any error, an
/// inbox that does not drain, or a chain that does not verify.
#[test]
fn the_benchmark_harnesses_run() {
    let demo = demo_dir();
    let dir = temp_dir("bench-harness");
    let input = crate::shared().join("data/helpdesk/helpdesk_tax2017_verenich.csv");
    let work = dir.display().to_string();
    crate::bench(&[
        "--input",
        input.to_str().unwrap(),
        "--times",
        "2",
        "--runs",
        "1",
        "--work-dir",
        &work,
    ])
    .unwrap();
    let demo_s = demo.display().to_string();
    let out = crate::bench(&[
        "--serve",
        &demo_s,
        "--seconds",
        "1",
        "--events",
        "20000",
        "--work-dir",
        &work,
    ])
    .unwrap();
    for row in [
        "| 1 |",
        "| 8 |",
        "| 32 |",
        "`GET /v1/baseline`",
        "`GET /ui/`",
        "| SQLite | paused |",
    ] {
        assert!(out.contains(row), "{row} missing in:\n{out}");
    }
    let out = crate::bench(&["--serve", &demo_s, "--soak", "15", "--work-dir", &work]).unwrap();
    assert!(out.contains("server RSS: 0 s:"), "{out}");
    assert!(out.contains(" anon + "), "{out}");
    assert!(out.contains("intact true; errors 0"), "{out}");
    // The bounded store: every call repeats one of 10 ids after the first round, so the
    // repeats are idempotent (200s) and nothing new is stored.
    let out = crate::bench(&[
        "--serve",
        &demo_s,
        "--soak",
        "8",
        "--distinct",
        "10",
        "--work-dir",
        &work,
    ])
    .unwrap();
    assert!(out.contains("10 distinct ids per kind"), "{out}");
    assert!(out.contains("intact true; errors 0"), "{out}");
    // Compaction: 50 requests' blocks (50 event blocks, 50 string blocks) become one each,
    // and the harness fails if the loaded events differ.
    let out = crate::bench(&["--compact", "50", "--work-dir", &work]).unwrap();
    assert!(out.contains("| 50 | 150 |"), "{out}");
    assert!(
        out.contains("(50 + 50 string)") && out.contains("(1 + 1 string)"),
        "{out}"
    );
}

/// One settings path for business hours: the same `[calendar]` (weekdays 09:00–17:00 UTC)
/// gives the same business-time figures through `baseline --db` and `GET /v1/baseline`.
/// Hand-worked as in `business_hours_from_the_settings_file`: ticket 101 takes 3 business
/// hours, ticket 102 (Monday 10:00 to Wednesday 11:00) 7 + 8 + 2 = 17 h; p50 10,800 s, mean
/// 36,000 s. Without the settings file neither surface has business figures.
#[test]
fn the_settings_calendar_gives_the_same_figures_on_the_cli_and_the_service() {
    let demo = demo_dir();
    let d = temp_dir("serve-calendar");
    let cfg = d.join("flowgate.toml");
    std::fs::write(
        &cfg,
        "[calendar]\ntimezone = \"UTC\"\nhours = { mon = \"09:00-17:00\", tue = \"09:00-17:00\", wed = \"09:00-17:00\", thu = \"09:00-17:00\", fri = \"09:00-17:00\" }\n",
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let db = d.join("calendar.db").display().to_string();
    let file = crate::helpdesks::fixture("zendesk_ticket_audits.json");
    let o = flowgate(&["import", file.to_str().unwrap(), "--db", &db, "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cli = crate::helpdesks::baseline_json(&["--db", &db, "--config", cfg]);
    assert_eq!(
        cli["business"]["cycle_time_s"]["p50"].as_f64(),
        Some(10_800.0)
    );
    assert_eq!(
        cli["business"]["cycle_time_s"]["mean"].as_f64(),
        Some(36_000.0)
    );
    let viewer = token(&db, "viewer");
    let baseline_of = |server: &Server| {
        let r = call("GET", &server.url("/v1/baseline"), Some(&viewer), None);
        assert_eq!(r.0, 200, "{r:?}");
        r.2["baseline"].clone()
    };
    let server = Server::start_with(&db, &demo, &["--config", cfg]);
    let served = baseline_of(&server);
    assert!(server.stop().success());
    assert_eq!(served["business"], cli["business"], "{served}");
    assert_eq!(served["cycle_time_s"], cli["cycle_time_s"]);
    // Without the settings: no business figures on either surface.
    let cli = crate::helpdesks::baseline_json(&["--db", &db]);
    assert!(cli.get("business").is_none(), "{cli}");
    let server = Server::start(&db, &demo);
    let served = baseline_of(&server);
    assert!(server.stop().success());
    assert!(served.get("business").is_none(), "{served}");
}
