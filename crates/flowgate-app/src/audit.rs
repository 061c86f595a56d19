//! Decisions onto the audit chain.

use flowgate_gate::Policy;
use flowgate_store::Store;
use flowgate_store::audit::{AuditEntry, NewRecord, kind};

use crate::{Error, Result, Triaged};

/// Appends the decisions of `triaged` (each with its texts, in the same transaction),
/// preceded by a `policy_change` record when the policy in force differs from the one the
/// chain last recorded (so every switch of policy is on the chain). Returns the entries
/// appended, the policy change first when there is one.
pub async fn append_decisions(
    store: &Store,
    policy: &Policy,
    actor: &str,
    triaged: &[Triaged],
    now_ms: i64,
) -> Result<Vec<AuditEntry>> {
    let mut records = Vec::with_capacity(triaged.len() + 1);
    if let Some(change) = policy_change(store, policy, actor).await? {
        records.push(change);
    }
    let shift = records.len();
    let mut texts = Vec::with_capacity(triaged.len());
    for (i, t) in triaged.iter().enumerate() {
        records.push(NewRecord::new(kind::DECISION, actor, t.record.to_json()));
        texts.push((i + shift, t.text.clone()));
    }
    Ok(store
        .audit_append_with_texts(&records, &texts, now_ms)
        .await?)
}

/// The `policy_change` record to append before decisions under `policy`, when the chain's
/// last one names another policy (or there is none).
pub async fn policy_change(
    store: &Store,
    policy: &Policy,
    actor: &str,
) -> Result<Option<NewRecord>> {
    let last = store.audit_last_of_kind(kind::POLICY_CHANGE).await?;
    let previous = last
        .as_deref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
        .and_then(|v| v.get("policy").and_then(|p| p.as_str()).map(str::to_owned));
    if previous.as_deref() == Some(policy.hash.as_str()) {
        return Ok(None);
    }
    Ok(Some(policy_change_record(policy, actor, previous)))
}

/// A `policy_change` record putting `policy` in force.
pub fn policy_change_record(policy: &Policy, actor: &str, previous: Option<String>) -> NewRecord {
    let change = serde_json::json!({
        "kind": "policy_change",
        "change": "policy_in_force",
        "policy": policy.hash,
        "name": policy.name,
        "previous": previous,
    });
    NewRecord::new(kind::POLICY_CHANGE, actor, change.to_string())
}

/// What `audit verify` found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    pub intact: bool,
    pub records: usize,
    /// Records of chain version 1 (before the hash covered every column).
    pub version1: usize,
    pub head: Option<String>,
    /// Reviews in the chain that match the review queue, when the queue was checked; and
    /// reviews older than chained reviews (counted, not matched).
    pub reviews_matched: Option<usize>,
    pub older_reviews: usize,
    /// The first problem, and the sequence number it was found at.
    pub problem: Option<String>,
    pub first_bad_seq: Option<i64>,
    /// Records whose recorded time goes backwards: (seq, time, the preceding record's time).
    pub times_backwards: Vec<(i64, i64, i64)>,
}

/// Verifies a chain: every hash, the expected head (when given), the review queue against
/// the chain's review records (when given) and that recorded times never go backwards.
pub fn verify(
    entries: &[AuditEntry],
    reviews: Option<&[flowgate_store::review::QueueItem]>,
    expected_head: Option<&str>,
) -> Verification {
    let mut v = Verification {
        intact: true,
        records: entries.len(),
        version1: entries.iter().filter(|e| e.version == 1).count(),
        head: entries.last().map(|e| e.sha256.clone()),
        reviews_matched: None,
        older_reviews: 0,
        problem: None,
        first_bad_seq: None,
        times_backwards: Vec::new(),
    };
    if let Err(b) = flowgate_store::audit::verify(entries, expected_head) {
        v.intact = false;
        v.problem = Some(format!(
            "audit log broken at position {} (seq {}): {}",
            b.position, b.seq, b.problem
        ));
        v.first_bad_seq = Some(b.seq);
        return v;
    }
    if let Some(items) = reviews {
        match flowgate_store::review::verify_reviews(entries, items) {
            Ok((n, older)) => {
                v.reviews_matched = Some(n);
                v.older_reviews = older;
            }
            Err(m) => {
                v.intact = false;
                v.problem = Some(format!(
                    "audit log and review queue disagree: {}",
                    m.problem
                ));
                v.first_bad_seq = Some(m.decision_seq);
                return v;
            }
        }
    }
    v.times_backwards = flowgate_store::audit::times_backwards(entries);
    if let Some(first) = v.times_backwards.first() {
        v.intact = false;
        v.first_bad_seq = Some(first.0);
        v.problem = Some(format!(
            "audit log: {} recorded times go backwards (first at seq {})",
            v.times_backwards.len(),
            first.0
        ));
    }
    v
}

/// [`verify`] on a store's chain and review queue.
pub async fn verify_store(store: &Store) -> Result<Verification> {
    let entries = store.audit_entries().await?;
    let items = store.review_items().await?;
    Ok(verify(&entries, Some(&items), None))
}

/// One line of an audit export (JSON lines): every stored field of a chain entry, so the
/// export verifies on its own (`flowgate audit verify --file`).
#[derive(serde::Serialize, serde::Deserialize)]
struct ExportLine {
    seq: i64,
    recorded_at: String,
    recorded_at_ms: i64,
    /// The record exactly as stored (the hash covers these bytes).
    record: String,
    prev_sha256: String,
    sha256: String,
    /// Chain version (1 in exports of older flowgate, which lacked the three fields below).
    #[serde(default = "version_one")]
    version: i32,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    actor: String,
}

fn version_one() -> i32 {
    1
}

/// The chain as an export: one JSON line per entry.
pub fn export_jsonl(entries: &[AuditEntry]) -> String {
    let mut text = String::new();
    for e in entries {
        let line = ExportLine {
            seq: e.seq,
            recorded_at: flowgate_flow::time::format_utc_ms(e.recorded_at_ms),
            recorded_at_ms: e.recorded_at_ms,
            record: e.record.clone(),
            prev_sha256: e.prev_sha256.clone(),
            sha256: e.sha256.clone(),
            version: e.version,
            kind: e.kind.clone(),
            actor: e.actor.clone(),
        };
        text.push_str(&serde_json::to_string(&line).expect("an export line always serialises"));
        text.push('\n');
    }
    text
}

/// Reads an export back (`origin` names it in errors, with the line).
pub fn parse_export(text: &str, origin: &str) -> Result<Vec<AuditEntry>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let x: ExportLine = serde_json::from_str(l).map_err(|e| {
                Error::Malformed(format!(
                    "{origin}:{}: expected an audit export line (seq, recorded_at_ms, record, prev_sha256, sha256): {e}",
                    i + 1
                ))
            })?;
            Ok(AuditEntry {
                seq: x.seq,
                recorded_at_ms: x.recorded_at_ms,
                record: x.record,
                prev_sha256: x.prev_sha256,
                sha256: x.sha256,
                version: x.version,
                kind: x.kind,
                actor: x.actor,
            })
        })
        .collect()
}

/// The prefix of the kinds other systems' records are appended under (`external.deploy`).
pub const EXTERNAL: &str = "external.";

/// Whether `audit append` may write a record of `kind`: `note`, or `external.` and a name on
/// one line — never a kind flowgate writes itself, so no decision, review or policy change
/// can be forged onto the chain.
pub fn appendable(kind: &str) -> bool {
    kind == kind::NOTE
        || kind
            .strip_prefix(EXTERNAL)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(['\n', '\r']))
}

/// Records to append from JSON lines, one object per line (its `kind`, when it has one,
/// [`appendable`]; else a `note`), all or none: the first bad line is an error naming
/// `origin` and the line.
pub fn parse_records(text: &str, origin: &str, actor: &str) -> Result<Vec<NewRecord>> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |what: String| Error::Malformed(format!("{origin}:{}: {what}", i + 1));
        let v = serde_json::from_str::<serde_json::Value>(line)
            .map_err(|e| at(format!("not JSON: {e}")))?;
        if !v.is_object() {
            return Err(at("expected a JSON object".into()));
        }
        let kind = match v.get("kind") {
            None => kind::NOTE.to_owned(),
            Some(serde_json::Value::String(k)) if appendable(k) => k.clone(),
            Some(serde_json::Value::String(k)) if !k.is_empty() && !k.contains(['\n', '\r']) => {
                return Err(Error::Invalid(format!(
                    "{origin}:{}: field \"kind\": {k:?} is not a kind records may be appended under: \
                     use \"{}\" or a kind starting with \"{EXTERNAL}\" (decisions, reviews, policy \
                     changes and the rest are written by flowgate itself)",
                    i + 1,
                    kind::NOTE
                )));
            }
            Some(_) => {
                return Err(at(
                    "field \"kind\": expected a non-empty string on one line".into(),
                ));
            }
        };
        records.push(NewRecord::new(&kind, actor, line.trim().to_owned()));
    }
    Ok(records)
}

#[cfg(test)]
mod append_tests {
    use super::*;

    #[test]
    fn only_notes_and_external_kinds_are_appended() {
        let ok =
            "{\"text\": \"a\"}\n{\"kind\": \"note\"}\n{\"kind\": \"external.deploy\", \"v\": 2}\n";
        let r = parse_records(ok, "in.jsonl", "cli:me").unwrap();
        let kinds: Vec<&str> = r.iter().map(|x| x.kind.as_str()).collect();
        assert_eq!(kinds, ["note", "note", "external.deploy"]);
        // Every kind flowgate writes itself is refused, naming the line; nothing is returned.
        for (n, forged) in [
            kind::DECISION,
            kind::REVIEW,
            kind::POLICY_CHANGE,
            kind::CHAIN_VERSION,
            kind::ERASE,
            kind::TOKEN,
            "external.",
            "External.deploy",
        ]
        .into_iter()
        .enumerate()
        {
            let text = format!("{{\"text\": \"fine\"}}\n{{\"kind\": \"{forged}\"}}\n");
            let e = parse_records(&text, "in.jsonl", "cli:me")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("in.jsonl:2: field \"kind\""),
                "{n} {forged}: {e}"
            );
            assert!(e.contains("external."), "{forged}: {e}");
        }
    }
}
