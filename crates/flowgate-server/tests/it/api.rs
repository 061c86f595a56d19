//! The API's behaviour in process, on SQLite and PostgreSQL: decisions recorded once, the
//! route × role matrix, bad input answered with problem documents, reviews, the policy's
//! switches and thresholds.

use serde_json::{Value, json};

use crate::{Backend, TestApp, fixture, spawn_app};

fn ticket(id: &str, subject: &str, body: &str) -> Value {
    json!({"id": id, "subject": subject, "body": body, "customer": format!("c-{id}")})
}

/// Every route with a body that passes its parsing, and the roles that may call it.
fn matrix() -> Vec<(
    &'static str,
    &'static str,
    Option<Value>,
    &'static [&'static str],
)> {
    const VIEW: &[&str] = &["admin", "reviewer", "viewer"];
    const REVIEW: &[&str] = &["admin", "reviewer"];
    const ADMIN: &[&str] = &["admin"];
    const INGEST: &[&str] = &["admin", "ingest"];
    vec![
        ("GET", "/metrics", None, VIEW),
        ("GET", "/v1/decisions", None, VIEW),
        ("GET", "/v1/audit/verify", None, VIEW),
        ("GET", "/v1/reviews", None, VIEW),
        ("GET", "/v1/policy", None, VIEW),
        ("GET", "/v1/defects", None, VIEW),
        ("GET", "/v1/governance", None, VIEW),
        ("POST", "/v1/reviews/claim", None, REVIEW),
        (
            "PUT",
            "/v1/policy/kill-switch",
            Some(json!({"scope": "order_status", "engaged": false})),
            ADMIN,
        ),
        (
            "POST",
            "/v1/tickets",
            Some(ticket("m-1", "Where is my order", "It has not arrived")),
            INGEST,
        ),
        (
            "POST",
            "/v1/events",
            Some(
                json!({"events": [{"case": "m-1", "activity": "Created", "time": "2026-12-01T10:00:00Z"}]}),
            ),
            INGEST,
        ),
    ]
}

fn route_role_matrix(app: &TestApp) {
    for (method, path, body, allowed) in matrix() {
        let none = app.call(method, path, None, body.as_ref());
        none.problem(401, "unauthorized");
        assert!(
            none.header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer")),
            "{method} {path}: 401 without WWW-Authenticate"
        );
        let bad = app.raw(
            method,
            path,
            Some("fg_nope".into()),
            body.as_ref().map(|b| ("application/json", b.to_string())),
        );
        bad.problem(401, "unauthorized");
        for role in crate::ROLES {
            let a = app.call(method, path, Some(role), body.as_ref());
            if allowed.contains(&role) {
                assert!(
                    a.status < 400 || a.status == 404,
                    "{method} {path} as {role}: {} {}",
                    a.status,
                    a.text
                );
            } else {
                a.problem(403, "forbidden");
            }
        }
    }
}

fn decisions_are_recorded_once(app: &TestApp) {
    let fx = fixture::get();
    let mut seen_actions = std::collections::BTreeSet::new();
    for (id, subject, body, _) in fx.fresh.iter().take(40) {
        let t = json!({"id": id, "subject": subject, "body": body});
        let first = app.call("POST", "/v1/tickets", Some("ingest"), Some(&t));
        assert_eq!(first.status, 201, "{}", first.text);
        let again = app.call("POST", "/v1/tickets", Some("ingest"), Some(&t));
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(first.json["audit"], again.json["audit"]);
        assert_eq!(
            first.json["decision"]["action"],
            again.json["decision"]["action"]
        );
        seen_actions.insert(
            first.json["decision"]["action"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Another text under the same id is a new decision.
    let (id, subject, _, _) = &fx.fresh[0];
    let changed = app.call(
        "POST",
        "/v1/tickets",
        Some("ingest"),
        Some(&json!({"id": id, "subject": subject, "body": "something else entirely"})),
    );
    assert_eq!(changed.status, 201, "{}", changed.text);
    let page = app.call("GET", "/v1/decisions?limit=1000", Some("viewer"), None);
    assert_eq!(page.status, 200);
    assert_eq!(page.json["decisions"].as_array().unwrap().len(), 41);
    assert!(page.json["next_after_seq"].is_null());
    let verify = app.call("GET", "/v1/audit/verify", Some("viewer"), None);
    assert_eq!(verify.json["intact"], true, "{}", verify.text);
    // The escalation rule decides whatever the model says.
    let esc = app.call(
        "POST",
        "/v1/tickets",
        Some("ingest"),
        Some(&ticket(
            "e-1",
            "Chargeback",
            "I will file a chargeback and call my lawyer",
        )),
    );
    assert_eq!(esc.json["decision"]["action"], "escalate", "{}", esc.text);
    assert!(
        seen_actions.len() >= 2,
        "only {seen_actions:?} among 40 tickets"
    );
    // One decision in full.
    let seq = esc.json["audit"]["seq"].as_i64().unwrap();
    let one = app.call("GET", &format!("/v1/decisions/{seq}"), Some("viewer"), None);
    assert_eq!(one.status, 200);
    assert_eq!(one.json["ticket_id"], "e-1");
    assert_eq!(one.json["seq"], seq);
    assert!(
        one.json["ticket_text"]
            .as_str()
            .unwrap()
            .contains("chargeback")
    );
    // The decisions as a cursor: pages of 10 cover all 42, each once, in order.
    let (mut after, mut seen) = (0, Vec::new());
    loop {
        let p = app.call(
            "GET",
            &format!("/v1/decisions?after_seq={after}&limit=10"),
            Some("viewer"),
            None,
        );
        assert_eq!(p.status, 200, "{}", p.text);
        seen.extend(
            p.json["decisions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["seq"].as_i64().unwrap()),
        );
        match p.json["next_after_seq"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seen.len(), 42);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    // Decisions by action are counted in the metrics.
    let m = app.call("GET", "/metrics", Some("viewer"), None);
    assert!(
        m.text
            .contains("flowgate_decisions_total{action=\"escalate\"} 1"),
        "{}",
        m.text
    );
    assert!(
        m.text.contains("flowgate_audit_chain_length "),
        "{}",
        m.text
    );
    // Filters.
    let only = app.call("GET", "/v1/decisions?action=escalate", Some("viewer"), None);
    assert!(
        only.json["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["action"] == "escalate")
    );
    assert!(!only.json["decisions"].as_array().unwrap().is_empty());
}

fn bad_input_is_refused(app: &TestApp) {
    let post = |path: &str, body: &str| {
        app.raw(
            "POST",
            path,
            Some(app.token("admin").to_owned()),
            Some(("application/json", body.to_owned())),
        )
    };
    post("/v1/tickets", "{not json").problem(400, "malformed");
    post("/v1/tickets", r#"{"id": "x"}"#).problem(422, "invalid");
    post("/v1/tickets", r#"{"id": "", "body": "hello"}"#).problem(422, "invalid");
    post("/v1/tickets", r#"{"id": "x", "body": "hi", "surprise": 1}"#).problem(422, "invalid");
    app.raw(
        "POST",
        "/v1/tickets",
        Some(app.token("admin").to_owned()),
        Some(("text/plain", "{}".into())),
    )
    .problem(415, "unsupported-media-type");
    post("/v1/events", r#"{"events": []}"#).problem(422, "invalid");
    post("/v1/events", r#"{"source": "", "events": [{"case": "a", "activity": "b", "time": "2026-12-01T10:00:00Z"}]}"#)
        .problem(422, "invalid");
    let get = |path: &str| app.call("GET", path, Some("viewer"), None);
    get("/v1/decisions?limit=0").problem(400, "bad-query");
    get("/v1/decisions?limit=-3").problem(400, "bad-query");
    get("/v1/decisions?limit=1001").problem(400, "bad-query");
    get("/v1/decisions?after_seq=-1").problem(400, "bad-query");
    get("/v1/decisions?action=shout").problem(400, "bad-query");
    get("/v1/decisions?since=yesterday").problem(400, "bad-query");
    get("/v1/decisions?min_confidence=2").problem(400, "bad-query");
    get("/v1/decisions?colour=red").problem(400, "bad-query");
    get("/v1/decisions/abc").problem(404, "not-found");
    get("/v1/decisions/0").problem(404, "not-found");
    get("/v1/decisions/999999").problem(404, "not-found");
    get("/v1/reviews?state=maybe").problem(400, "bad-query");
    get("/v1/defects?week=last").problem(400, "bad-query");
    get("/v1/defects?format=pdf").problem(400, "bad-query");
    get("/v1/governance?week=2026-W01").problem(400, "bad-query");
    get("/v1/baseline?weeks=3").problem(400, "bad-query");
    get("/v1/scorecard?weeks=0").problem(400, "bad-query");
    get("/v1/pilot").problem(404, "not-found");
    get("/v1/nothing-here").problem(404, "not-found");
    app.call("DELETE", "/v1/decisions", Some("admin"), None)
        .problem(405, "method-not-allowed");
    let put = |path: &str, body: Value| app.call("PUT", path, Some("admin"), Some(&body));
    put(
        "/v1/policy/threshold",
        json!({"intent": "order_status", "threshold": 1.5}),
    )
    .problem(422, "invalid");
    put(
        "/v1/policy/threshold",
        json!({"intent": "no_such", "threshold": 0.9}),
    )
    .problem(422, "invalid");
    put(
        "/v1/policy/kill-switch",
        json!({"scope": "", "engaged": true}),
    )
    .problem(422, "invalid");
    let mark = |seq: &str, body: Value| {
        app.call(
            "POST",
            &format!("/v1/reviews/{seq}"),
            Some("reviewer"),
            Some(&body),
        )
    };
    mark("1", json!({"verdict": "maybe"})).problem(422, "invalid");
    mark("1", json!({"verdict": "defect"})).problem(422, "invalid");
    mark("1", json!({"verdict": "defect", "category": "  "})).problem(422, "invalid");
    mark("abc", json!({"verdict": "correct"})).problem(404, "not-found");
    mark("999999", json!({"verdict": "correct"})).problem(404, "not-found");
    // A markdown report is markdown.
    let md = get("/v1/defects?format=markdown");
    assert_eq!(md.status, 200);
    assert!(
        md.content_type.starts_with("text/markdown"),
        "{}",
        md.content_type
    );
}

fn reviews_and_switches(app: &TestApp) {
    // Shadow reviews are on: at least one of these decisions is sampled.
    let fx = fixture::get();
    for (id, subject, body, _) in fx.fresh.iter().skip(100).take(60) {
        let t = json!({"id": id, "subject": subject, "body": body});
        assert!(
            app.call("POST", "/v1/tickets", Some("admin"), Some(&t))
                .status
                < 300
        );
    }
    let pending = app.call("GET", "/v1/reviews", Some("viewer"), None);
    let n = pending.json["reviews"].as_array().unwrap().len();
    assert!(n > 0, "nothing sampled: {}", pending.text);
    let claimed = app.call("POST", "/v1/reviews/claim", Some("reviewer"), None);
    assert_eq!(claimed.status, 200, "{}", claimed.text);
    let seq = claimed.json["decision_seq"].as_i64().unwrap();
    // Another reviewer cannot mark what this one holds.
    app.call(
        "POST",
        &format!("/v1/reviews/{seq}"),
        Some("admin"),
        Some(&json!({"verdict": "correct"})),
    )
    .problem(409, "conflict");
    let marked = app.call(
        "POST",
        &format!("/v1/reviews/{seq}"),
        Some("reviewer"),
        Some(
            &json!({"verdict": "defect", "category": "wrong-answer", "note": "the wrong article"}),
        ),
    );
    assert_eq!(marked.status, 200, "{}", marked.text);
    assert_eq!(marked.json["verdict"], "defect");
    app.call(
        "POST",
        &format!("/v1/reviews/{seq}"),
        Some("reviewer"),
        Some(&json!({"verdict": "correct"})),
    )
    .problem(409, "conflict");
    let reviewed = app.call("GET", "/v1/reviews?state=reviewed", Some("viewer"), None);
    let r = &reviewed.json["reviews"][0];
    assert_eq!(r["decision_seq"], seq);
    assert_eq!(r["category"], "wrong-answer");
    assert_eq!(r["note"], "the wrong article");
    // An intent's switch routes its tickets to a person; released, they are decided as
    // before.
    let sample = fx.fresh.iter().find(|f| f.3 == "order_status").unwrap();
    let post = |id: &str| {
        let t = json!({"id": id, "subject": sample.1, "body": sample.2});
        let d = app.call("POST", "/v1/tickets", Some("admin"), Some(&t));
        assert_eq!(d.status, 201, "{}", d.text);
        d.json["decision"].clone()
    };
    let plain = post("K-0");
    let on = app.call(
        "PUT",
        "/v1/policy/kill-switch",
        Some("admin"),
        Some(&json!({"scope": plain["intent"], "engaged": true})),
    );
    assert_eq!(on.status, 200, "{}", on.text);
    let killed = post("K-1");
    assert_eq!(
        (killed["rule"].as_str(), killed["action"].as_str()),
        (Some("intent-kill-switch"), Some("route")),
        "{killed}"
    );
    let pol = app.call("GET", "/v1/policy", Some("viewer"), None).json;
    assert_eq!(pol["kill_switches"][0]["actor"], "admin-1", "{pol}");
    let off = app.call(
        "PUT",
        "/v1/policy/kill-switch",
        Some("admin"),
        Some(&json!({"scope": plain["intent"], "engaged": false})),
    );
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(post("K-2")["rule"], plain["rule"]);
    // The global switch: every decision after it is kept from acting.
    let off = app.call(
        "PUT",
        "/v1/policy/kill-switch",
        Some("admin"),
        Some(&json!({"scope": "*", "engaged": true})),
    );
    assert_eq!(off.status, 200, "{}", off.text);
    let policy = app.call("GET", "/v1/policy", Some("viewer"), None);
    assert_eq!(policy.json["kill_switch"], true);
    assert_eq!(policy.json["policy"], off.json["policy"]);
    for (id, subject, body, _) in fx.fresh.iter().skip(200).take(20) {
        let t = json!({"id": id, "subject": subject, "body": body});
        let d = app.call("POST", "/v1/tickets", Some("admin"), Some(&t));
        assert_ne!(d.json["decision"]["action"], "act", "{}", d.text);
    }
    // A threshold set twice is audited once.
    let set = |v: f64| {
        app.call(
            "PUT",
            "/v1/policy/threshold",
            Some("admin"),
            Some(&json!({"intent": "order_status", "threshold": v})),
        )
    };
    let first = set(0.97);
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.json["audit"]["seq"].as_i64().is_some());
    assert!(set(0.97).json["audit"].is_null());
    let verify = app.call("GET", "/v1/audit/verify", Some("viewer"), None);
    assert_eq!(verify.json["intact"], true, "{}", verify.text);
    assert_eq!(verify.json["reviews_matched"], 1, "{}", verify.text);
    // A revoked token is refused at once.
    app.revoke("viewer-1");
    app.call("GET", "/v1/decisions", Some("viewer"), None)
        .problem(401, "unauthorized");
}

fn on_both(f: impl Fn(&TestApp)) {
    for b in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_app(b);
        f(&app);
    }
}

#[test]
fn the_route_role_matrix_holds() {
    on_both(route_role_matrix);
}

#[test]
fn a_ticket_is_decided_once_for_its_content() {
    on_both(decisions_are_recorded_once);
}

#[test]
fn bad_input_gets_a_problem_document() {
    on_both(bad_input_is_refused);
}

#[test]
fn reviews_switches_and_thresholds_hold() {
    on_both(reviews_and_switches);
}

#[test]
fn liveness_and_readiness() {
    let app = spawn_app(Backend::Sqlite);
    let h = app.call("GET", "/healthz", None, None);
    assert_eq!(h.json["status"], "ok");
    let r = app.call("GET", "/readyz", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "ready");
    assert!(r.json["model"].as_str().unwrap().starts_with("intent-"));
}

/// A ticket is (source, id): ticket 42 from the API, from a CRM and from the Zendesk webhook
/// are three tickets with a decision each; the same one again from its source is the same.
fn tickets_know_their_source(app: &TestApp) {
    let t = |source: Option<&str>| {
        let mut v = ticket("42", "Where is my order", "It has not arrived yet");
        if let Some(s) = source {
            v["source"] = json!(s);
        }
        v
    };
    let api = app.call("POST", "/v1/tickets", Some("ingest"), Some(&t(None)));
    assert_eq!(
        (api.status, api.json["source"].as_str()),
        (201, Some("api")),
        "{}",
        api.text
    );
    let crm = app.call("POST", "/v1/tickets", Some("ingest"), Some(&t(Some("crm"))));
    assert_eq!(
        (crm.status, crm.json["source"].as_str()),
        (201, Some("crm")),
        "{}",
        crm.text
    );
    assert_ne!(api.json["audit"]["seq"], crm.json["audit"]["seq"]);
    for (body, first) in [
        (t(None), &api),
        (t(Some("api")), &api),
        (t(Some("crm")), &crm),
    ] {
        let again = app.call("POST", "/v1/tickets", Some("ingest"), Some(&body));
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.json["audit"], first.json["audit"]);
    }
    app.call("POST", "/v1/tickets", Some("ingest"), Some(&t(Some("a/b"))))
        .problem(422, "invalid");
    // The same ticket by webhook: the delivery's source is the ticket's, whatever it says.
    let mut data = t(Some("crm"));
    data.as_object_mut().unwrap().remove("customer");
    let hook = json!({"type": "ticket.created", "data": data});
    for _ in 0..2 {
        let a = app.deliver("msg-42", &hook);
        assert!(a.status == 202 || a.status == 200, "{}", a.text);
    }
    let t0 = std::time::Instant::now();
    let zendesk = loop {
        let page = app.call("GET", "/v1/decisions?source=zendesk", Some("viewer"), None);
        let rows = page.json["decisions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !rows.is_empty() || t0.elapsed() > std::time::Duration::from_secs(30) {
            break rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(zendesk.len(), 1, "{zendesk:?}");
    assert_eq!(zendesk[0]["ticket_id"], "42");
    assert_eq!(zendesk[0]["actor"], "webhook:zendesk");
    let all = app.call("GET", "/v1/decisions?ticket=42", Some("viewer"), None);
    let mut sources: Vec<String> = all.json["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["source"].as_str().unwrap().to_owned())
        .collect();
    sources.sort();
    assert_eq!(sources, ["api", "crm", "zendesk"]);
}

#[test]
fn a_ticket_is_known_by_its_source_and_id() {
    on_both(tickets_know_their_source);
}

/// Text retention runs in the service: with `text_retention_days = 0` and a pass every
/// second, a decision's ticket text is erased within seconds of being stored, the decision
/// record stays, and an `erase` record joins the chain, which still verifies.
#[test]
fn the_service_erases_texts_past_their_retention() {
    let app = crate::spawn_app_with(
        Backend::Sqlite,
        flowgate_app::service::Options {
            text_retention_days: Some(0),
            retention_every: std::time::Duration::from_secs(1),
            ..Default::default()
        },
    );
    let posted = app.call(
        "POST",
        "/v1/tickets",
        Some("ingest"),
        Some(&ticket(
            "r-1",
            "Where is my order",
            "Order 123456 has not arrived",
        )),
    );
    assert_eq!(posted.status, 201, "{}", posted.text);
    let seq = posted.json["audit"]["seq"].as_i64().unwrap();
    let t0 = std::time::Instant::now();
    let detail = loop {
        let d = app.call("GET", &format!("/v1/decisions/{seq}"), Some("viewer"), None);
        assert_eq!(d.status, 200, "{}", d.text);
        if d.json["ticket_text"].is_null() {
            break d;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "the text is still there after 20 s: {}",
            d.text
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(detail.json["ticket_id"], "r-1");
    let verify = app.call("GET", "/v1/audit/verify", Some("viewer"), None);
    assert_eq!(verify.json["intact"], true, "{}", verify.text);
    let records = verify.json["records"].as_i64().unwrap();
    // policy_change, the decision, and at least one erase.
    assert!(records >= 3, "{}", verify.text);
}
