//! The ticket the gate decides on and the decision record the audit log keeps.

use flowgate_gate::{Action, Attribute, DecisionRecord, Ticket};

/// A record as flowgate 0.1 wrote it (before `text_sha256`) still reads, and a record of
/// another kind does not read as a decision.
#[test]
fn decision_records_read_back_old_and_new() {
    let old = r#"{"kind":"decision","time":"2026-11-20T10:00:00Z","ticket":"T1","model":"m","policy":"p","input":"ab","intent":"refund","confidence":0.93,"oos_score":0.1,"threshold":0.9,"rule":"threshold","decision":"act","reason":"r"}"#;
    let r = DecisionRecord::parse(old).unwrap();
    assert_eq!(
        (r.ticket.as_str(), r.decision, r.text_sha256.as_str()),
        ("T1", Action::Act, "")
    );
    assert_eq!(r.threshold, Some(0.9));
    // Written and read back: the same record, with the field order of the JSON above.
    let again = DecisionRecord::parse(&r.to_json()).unwrap();
    assert_eq!(again, r);
    assert!(r.to_json().starts_with(r#"{"kind":"decision","time":"#));
    // A record without a source is keyed by its bare id; one with a source by both, and the
    // source is written right after the ticket (old records' bytes are unchanged).
    assert_eq!((r.source.as_deref(), r.ticket_key().as_str()), (None, "T1"));
    assert!(!r.to_json().contains("source"));
    let mut sourced = r.clone();
    sourced.source = Some("zendesk".into());
    assert_eq!(sourced.ticket_key(), "zendesk/T1");
    assert!(
        sourced
            .to_json()
            .contains(r#""ticket":"T1","source":"zendesk","model""#)
    );
    assert_eq!(DecisionRecord::parse(&sourced.to_json()).unwrap(), sourced);
    let review = r#"{"kind":"review","ticket":"T1","verdict":"correct"}"#;
    assert!(DecisionRecord::parse(review).is_none());
    assert!(DecisionRecord::parse("not json").is_none());
}

/// A ticket as the API receives it: unknown top-level fields are refused (a typo must not
/// drop a field a rule tests), attributes may be strings, numbers or booleans.
#[test]
fn tickets_parse_strictly_and_expose_their_fields() {
    let t: Ticket = serde_json::from_str(
        r#"{"id":"Z-1","customer":"c9","subject":"Refund","body":"My order came broken","priority":"high","attributes":{"Amount":120.5,"vip":true,"tier":"gold"}}"#,
    )
    .unwrap();
    assert_eq!(t.text(), "Refund. My order came broken");
    let f = t.fields();
    assert_eq!(f["amount"], "120.5");
    assert_eq!(f["vip"], "true");
    assert_eq!(f["priority"], "high");
    assert_eq!(f["customer"], "c9");
    assert!(!f.contains_key("channel"));
    let e = serde_json::from_str::<Ticket>(r#"{"id":"Z-2","body":"x","prioriy":"high"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("prioriy"), "{e}");
    assert!(serde_json::from_str::<Ticket>(r#"{"id":"Z-3"}"#).is_err());
    // A ticket names its source or is the API's.
    assert_eq!(t.source_name(), "api");
    let z: Ticket = serde_json::from_str(r#"{"id":"Z-4","body":"x","source":"zendesk"}"#).unwrap();
    assert_eq!(z.source_name(), "zendesk");
    assert!(flowgate_gate::ticket::valid_source("zendesk-eu_2.prod"));
    // A bad source name is refused where the ticket is read.
    let e = serde_json::from_str::<Ticket>(r#"{"id":"Z-5","body":"x","source":"a/b"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("source"), "{e}");
    for bad in ["", "a/b", "-x", "has space", &"x".repeat(101)] {
        assert!(!flowgate_gate::ticket::valid_source(bad), "{bad:?}");
    }
    // The same content hashes the same; any field changes the hash.
    let mut u = t.clone();
    assert_eq!(u.input_hash(), t.input_hash());
    u.attributes
        .insert("tier".into(), Attribute::Text("silver".into()));
    assert_ne!(u.input_hash(), t.input_hash());
    // A row of a table: named columns fill the fields, the rest are attributes.
    let cols: Vec<String> = ["id", "text", "customer", "amount"]
        .map(String::from)
        .to_vec();
    let row: Vec<String> = ["R1", "hello", "c1", "5"].map(String::from).to_vec();
    let r = Ticket::from_row("R1", "hello", &cols, &row);
    assert_eq!(r.customer.as_deref(), Some("c1"));
    assert_eq!(r.body, "hello");
    assert_eq!(r.fields()["amount"], "5");
}
