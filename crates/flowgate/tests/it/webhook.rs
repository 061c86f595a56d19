//! Help-desk webhooks through a real `flowgate serve`: signatures checked on the raw bytes
//! (Zendesk, X-Hub-Signature-256, Standard Webhooks), deliveries committed to the inbox
//! before the 2xx, duplicates and conflicts, bad input refused with nothing stored, workers
//! turning deliveries into decisions and history events — and a SIGKILL part-way through
//! 2,000 deliveries after which every acknowledged one is processed exactly once.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::serve::{Server, assert_problem, call, demo_dir, post_json, tickets, token};
use crate::store::pg_url;
use crate::{flowgate, stderr, temp_dir};

const ZD_OLD: &str = "zd-secret-old";
const ZD_NEW: &str = "zd-secret-new";
const GH: &str = "gh-secret-1";
const SW: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const CALLBACK: &str = "whsec_c2VjcmV0LWZvci1jYWxsYmFja3MtMTIzNDU2";

fn settings(dir: &Path, callback: Option<&str>) -> String {
    let p = dir.join("flowgate.toml");
    let cb = callback.map_or(String::new(), |u| {
        format!("callback_url = \"{u}\"\ncallback_secret = \"{CALLBACK}\"\n")
    });
    // Standard Webhooks sources: flowgate's own payloads, and the Freshdesk, Intercom and
    // ServiceNow shapes (their senders sign through a relay).
    let standard: String = ["desk", "fd", "ic", "sn"]
        .iter()
        .map(|n| {
            format!("\n[webhooks.{n}]\nscheme = \"standard-webhooks\"\nsecrets = [\"{SW}\"]\n")
        })
        .collect();
    std::fs::write(
        &p,
        format!(
            r#"
[serve]
workers = 2
inbox_lease_s = 2
rate_per_minute = 0

[webhooks.zendesk]
scheme = "zendesk"
secrets = ["{ZD_NEW}", "{ZD_OLD}"]
{cb}
[webhooks.github]
scheme = "hub-signature-256"
secrets = ["{GH}"]

{standard}"#
        ),
    )
    .unwrap();
    p.display().to_string()
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rfc3339(s: i64) -> String {
    // Seconds since the epoch as UTC RFC 3339, by the civil-from-days algorithm.
    let (days, secs) = (s.div_euclid(86_400), s.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Headers for a delivery signed by `scheme`'s rules.
fn signed(scheme: &str, secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<(String, String)> {
    let h = |k: &str, v: String| (k.to_owned(), v);
    match scheme {
        "zendesk" => {
            let t = rfc3339(ts);
            vec![
                h(
                    "X-Zendesk-Webhook-Signature",
                    B64.encode(hmac(secret.as_bytes(), &[t.as_bytes(), body])),
                ),
                h("X-Zendesk-Webhook-Signature-Timestamp", t),
                h("X-Zendesk-Webhook-Invocation-Id", id.to_owned()),
            ]
        }
        "hub" => {
            let sig: String = hmac(secret.as_bytes(), &[body])
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            vec![
                h("X-Hub-Signature-256", format!("sha256={sig}")),
                h("X-GitHub-Delivery", id.to_owned()),
            ]
        }
        _ => {
            let key = B64.decode(secret.trim_start_matches("whsec_")).unwrap();
            let ts = ts.to_string();
            let sig = hmac(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
            vec![
                h("webhook-id", id.to_owned()),
                h("webhook-timestamp", ts),
                h("webhook-signature", format!("v1,{}", B64.encode(sig))),
            ]
        }
    }
}

/// POSTs a delivery: `None` when the connection failed (no answer at all).
fn deliver(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(String, String)],
    content_type: &str,
    body: &[u8],
) -> Option<(u16, Value)> {
    let mut r = agent
        .post(url)
        .timeout(Duration::from_secs(30))
        .set("Content-Type", content_type);
    for (k, v) in headers {
        r = r.set(k, v);
    }
    let resp = match r.send_bytes(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return None,
    };
    let status = resp.status();
    let text = resp.into_string().unwrap_or_default();
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn problem_of(got: Option<(u16, Value)>) -> (u16, String, Value) {
    let (s, v) = got.expect("the server answers");
    (s, "application/problem+json".into(), v)
}

/// `flowgate_inbox_deliveries{state=…}` from `/metrics`.
fn inbox(server: &Server, viewer: &str) -> (i64, i64, i64) {
    let m = call("GET", &server.url("/metrics"), Some(viewer), None);
    let text = m.2.as_str().unwrap_or_default().to_owned();
    let get = |state: &str| {
        let key = format!("flowgate_inbox_deliveries{{state=\"{state}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(-1)
    };
    (get("pending"), get("done"), get("failed"))
}

fn wait_until_processed(server: &Server, viewer: &str, done: i64, within: Duration) {
    let t0 = Instant::now();
    loop {
        let (p, d, f) = inbox(server, viewer);
        if p == 0 && d + f >= done {
            assert_eq!((d, f), (done, 0), "every delivery processed, none failed");
            return;
        }
        assert!(
            t0.elapsed() < within,
            "the inbox did not drain: pending {p}, done {d}, failed {f}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every decision on the chain: (ticket id, actor's seq).
fn decisions(server: &Server, viewer: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = call(
            "GET",
            &server.url(&format!("/v1/decisions?after_seq={after}&limit=1000")),
            Some(viewer),
            None,
        );
        assert_eq!(page.0, 200, "{page:?}");
        for d in page.2["decisions"].as_array().unwrap() {
            out.push((
                d["ticket_id"].as_str().unwrap().to_owned(),
                d["seq"].as_i64().unwrap(),
            ));
        }
        match page.2["next_after_seq"].as_i64() {
            Some(n) => after = n,
            None => return out,
        }
    }
}

fn zendesk_created(id: &str, t: &Value, at: i64) -> Vec<u8> {
    json!({
        "type": "zen:event-type:ticket.created", "account_id": 1, "id": format!("ev-{id}"),
        "time": rfc3339(at), "zendesk_event_version": "2022-11-06",
        "subject": format!("zen:ticket:{id}"),
        "detail": {"id": id, "subject": t["subject"], "description": t["body"], "status": "NEW",
                   "priority": "LOW", "requester_id": "c-1", "group_id": "tier1",
                   "actor_id": "a-1", "created_at": rfc3339(at), "via": {"channel": "email"}},
        "event": {}
    })
    .to_string()
    .into_bytes()
}

#[test]
fn webhooks_are_verified_stored_and_processed_on_sqlite_and_postgres() {
    let demo = demo_dir();
    let dir = temp_dir("webhooks");
    let sqlite = dir.join("live.db").display().to_string();
    let (pg, _guard) = pg_url("webhooks");
    for db in [sqlite.as_str(), pg.as_str()] {
        let receiver = Receiver::start();
        let config = settings(&dir, Some(&receiver.url));
        one_backend(db, &demo, &config, &receiver);
    }
}

/// A help desk's end of the callbacks: a plain HTTP server on 127.0.0.1 that records each
/// request (headers lower-cased, body) and answers 500 to the first, 200 to the rest.
struct Receiver {
    url: String,
    got: std::sync::Arc<Mutex<Vec<Request>>>,
}

/// One request as received: its headers (lower-case names) and body.
type Request = (Vec<(String, String)>, Vec<u8>);

impl Receiver {
    fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let got = std::sync::Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { return };
                let mut r = BufReader::new(c.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim().split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
                let n: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; n];
                let _ = r.read_exact(&mut body);
                let first = {
                    let mut g = g.lock().unwrap();
                    g.push((headers, body));
                    g.len() == 1
                };
                let status = if first {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                let _ = write!(
                    c,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver { url, got }
    }
}

fn one_backend(db: &str, demo: &Path, config: &str, receiver: &Receiver) {
    let viewer = token(db, "viewer");
    let ingest = token(db, "ingest");
    let server = Server::start_with(db, demo, &["--config", config]);
    check_openapi(&server);
    let agent = ureq::AgentBuilder::new().build();
    let zd = server.url("/v1/webhooks/zendesk");
    let ts = tickets(demo, 6);
    let now = now_s();

    // Zendesk, signed with the old secret during a rotation: accepted into the inbox.
    let body = zendesk_created("ZD-1", &ts[0], now - 60);
    let h = signed("zendesk", ZD_OLD, "inv-1", now, &body);
    let r = deliver(&agent, &zd, &h, "application/json", &body).unwrap();
    assert_eq!(r.0, 202, "{r:?}");
    // The sender retries: same id, same bytes → 200, nothing stored again.
    let r = deliver(&agent, &zd, &h, "application/json", &body).unwrap();
    assert_eq!(
        (r.0, r.1["state"].as_str()),
        (200, Some("duplicate")),
        "{r:?}"
    );
    // Same id, other bytes → 409.
    let other = zendesk_created("ZD-1", &ts[1], now - 60);
    let h2 = signed("zendesk", ZD_NEW, "inv-1", now, &other);
    assert_problem(
        &problem_of(deliver(&agent, &zd, &h2, "application/json", &other)),
        409,
        "conflict",
    );
    // Refused, nothing stored: a bad signature, a stale timestamp, a wrong content type,
    // malformed JSON, a shape flowgate does not read, an unknown source.
    let forged = signed("zendesk", "not-the-secret", "inv-2", now, &body);
    assert_problem(
        &problem_of(deliver(&agent, &zd, &forged, "application/json", &body)),
        401,
        "bad-signature",
    );
    let stale = signed("zendesk", ZD_NEW, "inv-3", now - 400, &body);
    assert_problem(
        &problem_of(deliver(&agent, &zd, &stale, "application/json", &body)),
        401,
        "stale-timestamp",
    );
    let h = signed("zendesk", ZD_NEW, "inv-4", now, &body);
    assert_problem(
        &problem_of(deliver(&agent, &zd, &h, "text/plain", &body)),
        415,
        "unsupported-media-type",
    );
    let junk = b"{\"type\": ".to_vec();
    let h = signed("zendesk", ZD_NEW, "inv-5", now, &junk);
    assert_problem(
        &problem_of(deliver(&agent, &zd, &h, "application/json", &junk)),
        400,
        "malformed",
    );
    let odd = br#"{"hello": "world"}"#.to_vec();
    let h = signed("zendesk", ZD_NEW, "inv-6", now, &odd);
    assert_problem(
        &problem_of(deliver(&agent, &zd, &h, "application/json", &odd)),
        422,
        "invalid",
    );
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(1_100_000)).into_bytes();
    let h = signed("zendesk", ZD_NEW, "inv-9", now, &big);
    assert_problem(
        &problem_of(deliver(&agent, &zd, &h, "application/json", &big)),
        413,
        "too-large",
    );
    let h = signed("zendesk", ZD_NEW, "inv-7", now, &body);
    let nowhere = server.url("/v1/webhooks/freshdesk");
    assert_problem(
        &problem_of(deliver(&agent, &nowhere, &h, "application/json", &body)),
        404,
        "not-found",
    );
    // Then a status change (a history event, no decision).
    let solved = json!({
        "type": "zen:event-type:ticket.status_changed", "id": "ev-2", "time": rfc3339(now),
        "detail": {"id": "ZD-1", "group_id": "tier1", "actor_id": "a-2"},
        "event": {"current": "SOLVED", "previous": "NEW"}
    })
    .to_string()
    .into_bytes();
    let h = signed("zendesk", ZD_NEW, "inv-8", now, &solved);
    assert_eq!(
        deliver(&agent, &zd, &h, "application/json", &solved)
            .unwrap()
            .0,
        202
    );

    // GitHub (X-Hub-Signature-256) and a flowgate ticket as a Standard Webhook.
    let issue = json!({"action": "opened", "repository": {"full_name": "acme/help"},
        "sender": {"login": "dana"},
        "issue": {"number": 7, "title": ts[1]["subject"], "body": ts[1]["body"],
                  "user": {"login": "dana"}, "created_at": rfc3339(now), "updated_at": rfc3339(now),
                  "labels": [{"name": "team:billing"}]}})
    .to_string()
    .into_bytes();
    let h = signed("hub", GH, "gh-1", now, &issue);
    assert_eq!(
        deliver(
            &agent,
            &server.url("/v1/webhooks/github"),
            &h,
            "application/json",
            &issue
        )
        .unwrap()
        .0,
        202
    );
    let mut t = ts[2].clone();
    t["id"] = json!("SW-1");
    let sw = json!({"type": "ticket.created", "timestamp": rfc3339(now), "data": t})
        .to_string()
        .into_bytes();
    let h = signed("standard", SW, "msg-1", now, &sw);
    assert_eq!(
        deliver(
            &agent,
            &server.url("/v1/webhooks/desk"),
            &h,
            "application/json; charset=utf-8",
            &sw
        )
        .unwrap()
        .0,
        202
    );

    // Freshdesk, Intercom and ServiceNow shapes, each as its vendor sends a new ticket.
    let fd = json!({"freshdesk_webhook": {"ticket_id": 41, "ticket_subject": ts[3]["subject"],
        "ticket_description": format!("<div>{}</div>", ts[3]["body"].as_str().unwrap()),
        "ticket_status": "Open", "ticket_priority": "Low", "ticket_source": "Email",
        "ticket_group_name": "Billing", "ticket_requester_email": "ana@example.com",
        "triggered_event": "{ticket_action:created}"}});
    let ic = json!({"type": "notification_event", "topic": "conversation.user.created",
        "created_at": now, "data": {"item": {"type": "conversation", "id": "ic-9",
        "created_at": now, "state": "open",
        "source": {"type": "conversation", "delivered_as": "customer_initiated",
                   "subject": "", "body": format!("<p>{}</p>", ts[4]["body"].as_str().unwrap()),
                   "author": {"type": "user", "id": "u-77"}}}}});
    let sn_time = jiff::Timestamp::from_second(now)
        .unwrap()
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string();
    let sn = json!({"result": {"sys_id": "9d385017c611228701d22104cc95c371",
        "number": "INC0010001", "sys_mod_count": "0", "state": "1",
        "short_description": ts[5]["subject"], "description": ts[5]["body"],
        "caller_id": {"link": "https://x.service-now.com/api/now/table/sys_user/6816", "value": "6816"},
        "assignment_group": {"display_value": "Service Desk", "value": "d625dccec0a8016700a222a0f7900d06"},
        "sys_created_on": sn_time, "sys_updated_on": sn_time}});
    for (source, id, body) in [
        ("fd", "fd-1", &fd),
        ("ic", "ic-1", &ic),
        ("sn", "sn-1", &sn),
    ] {
        let bytes = body.to_string().into_bytes();
        let h = signed("standard", SW, id, now, &bytes);
        let url = server.url(&format!("/v1/webhooks/{source}"));
        let r = deliver(&agent, &url, &h, "application/json", &bytes).unwrap();
        assert_eq!(r.0, 202, "{source}: {r:?}");
    }

    // The workers turn seven stored deliveries into six decisions and six events.
    wait_until_processed(&server, &viewer, 7, Duration::from_secs(120));
    let mut ids: Vec<String> = decisions(&server, &viewer)
        .into_iter()
        .map(|d| d.0)
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["41", "INC0010001", "SW-1", "ZD-1", "acme/help#7", "ic-9"]
    );
    let one = call(
        "GET",
        &server.url("/v1/decisions?limit=10"),
        Some(&viewer),
        None,
    );
    let actors: Vec<&str> = one.2["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["actor"].as_str())
        .collect();
    assert!(actors.contains(&"webhook:zendesk"), "{one:?}");
    // ZD-1's decision went back to Zendesk's callback, signed as a Standard Webhook: refused
    // once (500), sent again after the backoff, then left alone.
    let t0 = Instant::now();
    while receiver.got.lock().unwrap().len() < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the callback was not retried"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one refusal, one delivery, nothing more");
    let key = B64.decode(CALLBACK.trim_start_matches("whsec_")).unwrap();
    for (headers, body) in &got {
        let h = |k: &str| {
            headers
                .iter()
                .find(|x| x.0 == k)
                .map(|x| x.1.clone())
                .unwrap()
        };
        let (id, ts) = (h("webhook-id"), h("webhook-timestamp"));
        let sig = B64.encode(hmac(
            &key,
            &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
        ));
        assert_eq!(h("webhook-signature"), format!("v1,{sig}"));
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["type"], "decision.created");
        assert_eq!(v["data"]["ticket_id"], "ZD-1", "{v}");
        assert_eq!(id, format!("decision-{}", v["data"]["seq"]));
        assert!(v["data"]["action"].is_string(), "{v}");
    }

    // History events by API: stored once under import's identity rules.
    let events = json!({"events": [
        {"case": "L-1", "activity": "created", "time": "2026-11-30T09:00:00Z", "state": "new", "team": "tier1"},
        {"case": "L-1", "activity": "work", "time": "2026-11-30T10:00:00Z", "state": "working", "team": "tier1", "resource": "a-1"},
        {"case": "L-1", "activity": "solved", "time": "2026-11-30T12:00:00Z", "state": "resolved", "team": "tier2"}
    ]});
    let r = post_json(&server.url("/v1/events"), Some(&ingest), &events);
    assert_eq!((r.0, r.2["events_new"].as_u64()), (201, Some(3)), "{r:?}");
    let r = post_json(&server.url("/v1/events"), Some(&ingest), &events);
    assert_eq!(
        (r.0, r.2["events_duplicate"].as_u64()),
        (200, Some(3)),
        "{r:?}"
    );
    let bad = json!({"events": [{"case": "L-2", "activity": "x", "time": "noon"}]});
    let r = post_json(&server.url("/v1/events"), Some(&ingest), &bad);
    assert_problem(&r, 422, "invalid");
    assert!(
        r.2["detail"].as_str().unwrap().contains("events[0].time"),
        "{r:?}"
    );
    let r = post_json(&server.url("/v1/events"), Some(&viewer), &events);
    assert_problem(&r, 403, "forbidden");
    // The hand-computed case, through the API: L-1 from new at 09:00 to resolved at 12:00
    // is 3 hours (10,800 s), 1 hour of it waiting as new; one handoff (tier1 → tier2).
    let b = call(
        "GET",
        &server.url("/v1/baseline?source=live"),
        Some(&viewer),
        None,
    );
    assert_eq!(b.0, 200, "{b:?}");
    let bl = &b.2["baseline"];
    assert_eq!(
        (bl["cases"].as_u64(), bl["resolved_cases"].as_u64()),
        (Some(1), Some(1)),
        "{b:?}"
    );
    assert_eq!(bl["cycle_time_s"]["p50"].as_f64(), Some(10_800.0), "{b:?}");
    assert_eq!(bl["handoffs"]["total"].as_u64(), Some(1), "{b:?}");
    assert_eq!(bl["wait_s"].as_f64(), Some(3_600.0), "{b:?}");
    assert_eq!(b.2["max_staleness_s"], 60);
    // Several sources: the scorecard needs one named.
    let c = call("GET", &server.url("/v1/scorecard"), Some(&viewer), None);
    assert_problem(&c, 422, "invalid");
    let c = call(
        "GET",
        &server.url("/v1/scorecard?source=live&weeks=4"),
        Some(&viewer),
        None,
    );
    assert_eq!(c.0, 200, "{c:?}");
    assert!(
        c.2["scorecard"]["weeks"]
            .as_array()
            .is_some_and(|w| !w.is_empty()),
        "{c:?}"
    );
    let c = call(
        "GET",
        &server.url("/v1/scorecard?source=live&week=soon"),
        Some(&viewer),
        None,
    );
    assert_problem(&c, 400, "bad-query");
    let c = call(
        "GET",
        &server.url("/v1/baseline?source=live"),
        Some(&ingest),
        None,
    );
    assert_problem(&c, 403, "forbidden");
    // A source the store does not hold is not found (not a server error).
    let c = call(
        "GET",
        &server.url("/v1/scorecard?source=nowhere"),
        Some(&viewer),
        None,
    );
    assert_problem(&c, 404, "not-found");
    assert!(server.stop().success());

    // The events are in the store, per source: the webhook's own and the API's.
    let o = flowgate(&["db", "status", "--db", db]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let events_of = |source: &str| -> Option<i64> {
        let key = format!("source {source:?}: ");
        out.lines()
            .find_map(|l| l.trim().strip_prefix(&key))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    assert_eq!(events_of("zendesk"), Some(2), "{out}");
    assert_eq!(events_of("github"), Some(1), "{out}");
    for source in ["fd", "ic", "sn"] {
        assert_eq!(events_of(source), Some(1), "{source}: {out}");
    }
    assert_eq!(events_of("live"), Some(3), "{out}");
    // The CLI reads the live source like any imported one.
    let o = flowgate(&[
        "baseline", "--db", db, "--source", "live", "--format", "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        b["baseline"]["cycle_time_s"]["p50"]
            .as_f64()
            .or(b["cycle_time_s"]["p50"].as_f64()),
        Some(10_800.0),
        "{b}"
    );
}

#[test]
fn sigkill_part_way_through_2000_webhooks_loses_and_doubles_nothing() {
    let demo = demo_dir();
    let dir = temp_dir("webhook-kill");
    let config = settings(&dir, None);
    let sqlite = dir.join("kill.db").display().to_string();
    let (pg, _guard) = pg_url("webhook_kill");
    for db in [sqlite.as_str(), pg.as_str()] {
        kill_one(db, &demo, &config);
    }
}

fn kill_one(db: &str, demo: &Path, config: &str) {
    const N: usize = 2000;
    let viewer = token(db, "viewer");
    // Short tickets (each still triaged, gated and audited): the test is about the inbox,
    // and short texts keep the encoder from setting its pace.
    let subjects = [
        "Where is my order",
        "Reset my password",
        "Send the invoice",
        "New address",
    ];
    let bodies: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            let t = json!({"id": format!("K-{i}"), "customer": format!("C-{}", i % 97),
                           "subject": subjects[i % subjects.len()],
                           "body": format!("Ticket {i}, please help.")});
            json!({"type": "ticket.created", "data": t})
                .to_string()
                .into_bytes()
        })
        .collect();
    let acked: Mutex<Vec<Option<u16>>> = Mutex::new(vec![None; N]);
    let sent = AtomicUsize::new(0);
    let server = Server::start_with(db, demo, &["--config", config]);
    let url = server.url("/v1/webhooks/desk");
    let send = |i: usize, agent: &ureq::Agent| {
        let h = signed("standard", SW, &format!("d-{i}"), now_s(), &bodies[i]);
        deliver(agent, &url, &h, "application/json", &bodies[i]).map(|r| r.0)
    };
    let server = Mutex::new(Some(server));
    std::thread::scope(|scope| {
        for c in 0..4 {
            let (acked, sent, send) = (&acked, &sent, &send);
            scope.spawn(move || {
                let agent = ureq::AgentBuilder::new().build();
                for i in (c..N).step_by(4) {
                    let r = send(i, &agent);
                    acked.lock().unwrap()[i] = r.filter(|s| (200..300).contains(s));
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        // SIGKILL part-way: after about 40% were answered.
        while sent.load(Ordering::SeqCst) < N * 2 / 5 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut s = server.lock().unwrap().take().unwrap();
        s.child.kill().unwrap();
        s.child.wait().unwrap();
    });
    let acked = acked.into_inner().unwrap();
    let before: Vec<usize> = (0..N).filter(|&i| acked[i].is_some()).collect();
    assert!(
        before.len() >= N / 5 && before.len() < N,
        "the kill came part-way: {} of {N} acknowledged",
        before.len()
    );
    // Restart; the senders retry what got no 2xx (as help desks do), and a few that did.
    let server = Server::start_with(db, demo, &["--config", config]);
    let agent = ureq::AgentBuilder::new().build();
    let url = server.url("/v1/webhooks/desk");
    let resend = |i: usize| {
        let h = signed("standard", SW, &format!("d-{i}"), now_s(), &bodies[i]);
        deliver(&agent, &url, &h, "application/json", &bodies[i])
            .unwrap()
            .0
    };
    for i in (0..N).filter(|&i| acked[i].is_none()) {
        let s = resend(i);
        assert!(s == 202 || s == 200, "retry of delivery {i}: {s}");
    }
    for &i in before.iter().take(20) {
        assert_eq!(resend(i), 200, "an acknowledged delivery is a duplicate");
    }
    wait_until_processed(&server, &viewer, N as i64, Duration::from_secs(600));
    let got = decisions(&server, &viewer);
    let mut ids: Vec<&str> = got.iter().map(|d| d.0.as_str()).collect();
    ids.sort_unstable();
    let total = ids.len();
    ids.dedup();
    assert_eq!(
        (total, ids.len()),
        (N, N),
        "every delivery decided exactly once"
    );
    for i in &before {
        assert!(
            ids.binary_search(&format!("K-{i}").as_str()).is_ok(),
            "acknowledged delivery {i} was lost"
        );
    }
    let v = call("GET", &server.url("/v1/audit/verify"), Some(&viewer), None);
    assert_eq!(v.2["intact"], true, "{v:?}");
    assert!(server.stop().success());
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// `/openapi.json`: OpenAPI 3.1, every route the service chapter lists (and no other), every schema
/// reference resolvable, bearer security on every route that needs a token.
fn check_openapi(server: &Server) {
    let (status, ct, doc) = call("GET", &server.url("/openapi.json"), None, None);
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    // The document's version is the binary's.
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    // The routes as the service chapter's table (docs/06-service-and-api.md) lists them.
    let expected = [
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
        ("post", "/v1/tickets"),
        ("post", "/v1/events"),
        ("post", "/v1/webhooks/{source}"),
        ("get", "/v1/decisions"),
        ("get", "/v1/decisions/{seq}"),
        ("get", "/v1/baseline"),
        ("get", "/v1/scorecard"),
        ("get", "/v1/pilot"),
        ("get", "/v1/defects"),
        ("get", "/v1/governance"),
        ("get", "/v1/reviews"),
        ("post", "/v1/reviews/claim"),
        ("post", "/v1/reviews/{seq}"),
        ("get", "/v1/audit/verify"),
        ("get", "/v1/policy"),
        ("put", "/v1/policy/kill-switch"),
        ("put", "/v1/policy/threshold"),
    ];
    let mut got: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            got.push((method.clone(), path.clone()));
            let open = [
                "/healthz",
                "/readyz",
                "/openapi.json",
                "/v1/webhooks/{source}",
            ];
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            assert_eq!(
                secured,
                !open.contains(&path.as_str()),
                "{method} {path}: security"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
        }
    }
    got.sort();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want);
    // Each documented route is really served (no fallback 404 "no such route").
    for (m, p) in &expected {
        let path = p.replace("{source}", "zendesk").replace("{seq}", "1");
        let (s, _, body) = call(&m.to_uppercase(), &server.url(&path), None, None);
        assert!(
            !(s == 404 && body["detail"] == "no such route"),
            "{m} {p} is documented but not routed"
        );
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // The request schemas refuse unknown fields, as the service does.
    assert_eq!(
        doc["components"]["schemas"]["Ticket"]["additionalProperties"], false,
        "{}",
        doc["components"]["schemas"]["Ticket"]
    );
}
