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
