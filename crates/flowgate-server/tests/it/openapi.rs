//! The OpenAPI document says what the server enforces: read from the document itself, every
//! operation is called without a token, with a wrong method, and with each constrained
//! query parameter out of its documented range; every answer must be a status the document
//! lists for the operation, carrying a problem document where it is an error.

use serde_json::Value;

use crate::{Backend, TestApp, spawn_app};

/// A value the parameter's schema refuses, if the schema constrains it.
fn refused(schema: &Value) -> Option<String> {
    if let Some(min) = schema["minimum"].as_f64() {
        return Some(format!("{}", min - 1.0));
    }
    if let Some(max) = schema["maximum"].as_f64() {
        return Some(format!("{}", max + 1.0));
    }
    if schema["pattern"].is_string() || schema["format"].is_string() || schema["enum"].is_array() {
        return Some("not-valid-%20at-all".into());
    }
    if schema["minLength"].as_u64().is_some_and(|n| n > 0) {
        return Some(String::new());
    }
    None
}

fn documented(op: &Value, status: u16) -> bool {
    op["responses"].get(status.to_string()).is_some()
}

#[track_caller]
fn check(op: &Value, what: &str, a: &crate::Answer) {
    assert!(
        documented(op, a.status),
        "{what}: answered {} which the document does not list ({})",
        a.status,
        a.text
    );
    if a.status >= 400 {
        assert!(
            a.content_type.starts_with("application/problem+json"),
            "{what}: {} without a problem document: {:?}",
            a.status,
            a.text
        );
    }
}

fn schema_of(doc: &Value, s: &Value) -> Value {
    match s["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            doc["components"]["schemas"][name].clone()
        }
        None => s.clone(),
    }
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

fn concrete(path: &str) -> String {
    path.replace("{seq}", "1").replace("{source}", "nowhere")
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

/// Where in `v` (at `at`) an object schema says nothing of its fields: no properties, no
/// `additionalProperties`, no composition (what `body = Object` or `value_type = Object` writes).
fn untyped_objects(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let object = m.get("type").is_some_and(|t| {
                t == "object"
                    || t.as_array()
                        .is_some_and(|a| a.iter().any(|x| x == "object"))
            });
            let described = [
                "properties",
                "additionalProperties",
                "oneOf",
                "allOf",
                "anyOf",
            ]
            .iter()
            .any(|k| m.contains_key(*k));
            if object && !described {
                out.push(at.to_owned());
            }
            for (k, x) in m {
                untyped_objects(x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                untyped_objects(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn the_document_matches(app: &TestApp) {
    let doc = app.call("GET", "/openapi.json", None, None).json;
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let mut untyped = Vec::new();
    untyped_objects(&doc["paths"], "#/paths", &mut untyped);
    untyped_objects(&doc["components"], "#/components", &mut untyped);
    assert!(untyped.is_empty(), "objects without a schema: {untyped:#?}");
    // The webhook's body: flowgate's envelope and each help desk's shape, by name.
    let webhook = &doc["paths"]["/v1/webhooks/{source}"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    let body = schema_of(&doc, webhook);
    let shapes: Vec<&str> = body["oneOf"]
        .as_array()
        .expect("the webhook body is one of its shapes")
        .iter()
        .filter_map(|s| s["title"].as_str())
        .collect();
    for shape in [
        "flowgate",
        "zendesk",
        "jira",
        "github",
        "freshdesk",
        "intercom",
        "servicenow",
    ] {
        assert!(
            shapes.contains(&shape),
            "webhook body shape {shape} missing: {shapes:?}"
        );
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    let ops = operations(&doc);
    assert!(ops.len() >= 20, "{} operations", ops.len());
    for (method, path, op) in &ops {
        if path == "/openapi.json" {
            continue;
        }
        let url = concrete(path);
        let what = format!("{method} {path}");
        let secured = op["security"].is_array();
        // Every response is described by a schema with properties or a reference.
        for (status, r) in op["responses"].as_object().unwrap() {
            for (ct, c) in r["content"].as_object().into_iter().flatten() {
                let s = schema_of(&doc, &c["schema"]);
                if ct == "application/json" {
                    assert!(
                        s["properties"].is_object()
                            || s["allOf"].is_array()
                            || s["oneOf"].is_array(),
                        "{what} {status}: an untyped JSON body {s}"
                    );
                }
            }
        }
        // Without a token.
        let body = op["requestBody"]
            .is_object()
            .then(|| ("application/json", "{}".to_owned()));
        let a = app.raw(method, &url, None, body.clone());
        if secured {
            assert_eq!(a.status, 401, "{what} without a token: {}", a.text);
        }
        check(op, &format!("{what} without a token"), &a);
        // With the admin's token (every role's power), each constrained parameter refused.
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] != "query" {
                continue;
            }
            let name = p["name"].as_str().unwrap();
            let schema = schema_of(&doc, &p["schema"]);
            let Some(bad) = refused(&schema) else {
                continue;
            };
            let a = app.raw(
                method,
                &format!("{url}?{name}={bad}"),
                Some(app.token("admin").to_owned()),
                body.clone(),
            );
            assert!(
                a.status == 400 || a.status == 422,
                "{what}?{name}={bad}: the document refuses it, the server answered {} {}",
                a.status,
                a.text
            );
            check(op, &format!("{what}?{name}={bad}"), &a);
        }
        // Where a route takes query parameters, an unknown one is refused, not ignored.
        let takes_query = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
        if takes_query {
            let a = app.raw(
                method,
                &format!("{url}?no_such_parameter=1"),
                Some(app.token("admin").to_owned()),
                None,
            );
            assert_eq!(a.status, 400, "{what}?no_such_parameter=1: {}", a.text);
            check(op, &format!("{what}?no_such_parameter"), &a);
        }
    }
    // A method a route does not take: 405 with a problem document.
    let a = app.raw(
        "PATCH",
        "/v1/tickets",
        Some(app.token("admin").to_owned()),
        None,
    );
    a.problem(405, "method-not-allowed");
}

#[test]
fn the_openapi_document_says_what_the_server_enforces() {
    let app = spawn_app(Backend::Sqlite);
    the_document_matches(&app);
}
