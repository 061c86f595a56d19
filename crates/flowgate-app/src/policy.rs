//! The policy in force while the service runs: the policy imported into the database (from a
//! file; every import audited), with the kill switches an admin threw on top — both kept in
//! the database, so every replica decides under the same policy.

use flowgate_gate::Policy;
use flowgate_store::Store;
use flowgate_store::audit::{AuditEntry, NewRecord, kind};
use flowgate_store::live::KillSwitch;

use crate::{Error, Result};

/// Parses the policy `text` (read from `origin`) and makes it the one in force in the store,
/// with a `policy_change` record — unless it already is. Returns the policy and the record's
/// entry (`None` when nothing changed). A policy that does not parse changes nothing.
pub async fn import(
    store: &Store,
    text: &str,
    origin: &str,
    actor: &str,
    now_ms: i64,
) -> Result<(Policy, Option<AuditEntry>)> {
    put(
        store,
        text,
        origin,
        actor,
        now_ms,
        serde_json::json!({"change": "policy_imported"}),
    )
    .await
}

/// Makes `text` the policy in force, with a `policy_change` record carrying `change`'s
/// fields besides the policy's hash, name, origin and the previous hash.
async fn put(
    store: &Store,
    text: &str,
    origin: &str,
    actor: &str,
    now_ms: i64,
    change: serde_json::Value,
) -> Result<(Policy, Option<AuditEntry>)> {
    let policy = Policy::parse(text, origin)?;
    let previous = store.policy_current().await?.map(|p| p.hash);
    let mut record = serde_json::json!({
        "kind": kind::POLICY_CHANGE,
        "policy": policy.hash,
        "name": policy.name,
        "origin": origin,
        "previous": previous,
    });
    if let (Some(r), serde_json::Value::Object(c)) = (record.as_object_mut(), change) {
        r.extend(c);
    }
    let e = store
        .policy_import(
            &policy.hash,
            text,
            origin,
            NewRecord::new(kind::POLICY_CHANGE, actor, record.to_string()),
            now_ms,
        )
        .await?;
    Ok((policy, e))
}

/// The policy imported into the store (the newest import), parsed.
pub async fn stored(store: &Store) -> Result<Option<Policy>> {
    match store.policy_current().await? {
        None => Ok(None),
        Some(p) => Ok(Some(Policy::parse(
            &p.toml,
            &format!(
                "the policy imported from {} (version {})",
                p.origin, p.version
            ),
        )?)),
    }
}

/// `base` with the engaged switches of `switches` on top.
pub fn effective(base: &Policy, switches: &[KillSwitch]) -> Policy {
    let global = switches.iter().any(|s| s.scope == "*" && s.engaged);
    let intents: Vec<String> = switches
        .iter()
        .filter(|s| s.scope != "*" && s.engaged)
        .map(|s| s.scope.clone())
        .collect();
    base.with_kill_switches(global, &intents)
}

/// The policy in force now.
pub async fn in_force(store: &Store, base: &Policy) -> Result<Policy> {
    Ok(effective(base, &store.kill_switches().await?))
}

/// Throws (`engaged`) or releases the kill switch `scope` (`*` or an intent): a
/// `policy_change` record naming the scope, who, and the policy hash now in force. Returns
/// the record's entry and that policy.
pub async fn set_kill_switch(
    store: &Store,
    base: &Policy,
    scope: &str,
    engaged: bool,
    actor: &str,
    now_ms: i64,
) -> Result<(AuditEntry, Policy)> {
    let mut switches = store.kill_switches().await?;
    let before = effective(base, &switches);
    match switches.iter_mut().find(|s| s.scope == scope) {
        Some(s) => s.engaged = engaged,
        None => switches.push(KillSwitch {
            scope: scope.to_owned(),
            engaged,
            actor: actor.to_owned(),
            changed_at_ms: now_ms,
            audit_seq: 0,
        }),
    }
    let after = effective(base, &switches);
    let record = serde_json::json!({
        "kind": kind::POLICY_CHANGE,
        "change": "kill_switch",
        "scope": scope,
        "engaged": engaged,
        "policy": after.hash,
        "previous": before.hash,
        "base_policy": base.hash,
    });
    let e = store
        .kill_switch_set(
            scope,
            engaged,
            NewRecord::new(kind::POLICY_CHANGE, actor, record.to_string()),
            now_ms,
        )
        .await?;
    Ok((e, after))
}

/// The policy `text` with `intent`'s fixed threshold set to `threshold`; every other line is
/// kept as written (comments too). The gate still holds a fixed threshold to the precision
/// bound: one that does not clear it leaves the intent on `assist`.
pub fn with_threshold(text: &str, intent: &str, threshold: f64) -> Result<String> {
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(Error::Invalid(format!(
            "threshold: expected a confidence between 0 and 1 (exclusive), got {threshold}"
        )));
    }
    if intent.trim().is_empty() {
        return Err(Error::Invalid("intent: expected an intent name".into()));
    }
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Error::Invalid(format!("the policy in force does not parse as TOML: {e}")))?;
    let intents = doc
        .entry("intents")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    let Some(intents) = intents.as_table_like_mut() else {
        return Err(Error::Invalid(
            "the policy's `intents` is not a table".into(),
        ));
    };
    let entry = intents.entry(intent).or_insert(toml_edit::table());
    let Some(table) = entry.as_table_like_mut() else {
        return Err(Error::Invalid(format!(
            "the policy's `intents.{intent}` is not a table"
        )));
    };
    // Three decimals, as the defect review shows confidences.
    let rounded = (threshold * 1000.0).round() / 1000.0;
    table.insert("threshold", toml_edit::value(rounded));
    Ok(doc.to_string())
}

/// Applies a threshold to one intent of the policy in force (a recommendation of the weekly
/// defect review): the new policy text is stored and made the one in force with a
/// `policy_change` record (`change: threshold_set`, the intent, the threshold before and
/// after). Returns the policy and the record's entry (`None` when it was already so).
pub async fn set_threshold(
    store: &Store,
    intent: &str,
    threshold: f64,
    actor: &str,
    now_ms: i64,
) -> Result<(Policy, Option<AuditEntry>)> {
    let Some(current) = store.policy_current().await? else {
        return Err(Error::Invalid(
            "no policy is in force: import one first".into(),
        ));
    };
    let before = Policy::parse(&current.toml, &current.origin)?
        .intent(intent)
        .threshold;
    let text = with_threshold(&current.toml, intent, threshold)?;
    put(
        store,
        &text,
        &format!("the defect review: threshold for {intent} set by {actor}"),
        actor,
        now_ms,
        serde_json::json!({
            "change": "threshold_set",
            "intent": intent,
            "threshold": (threshold * 1000.0).round() / 1000.0,
            "threshold_before": before,
        }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use flowgate_gate::Policy;

    const TEXT: &str = "# the team's policy\nname = \"support\"\n\n[defaults]\nmode = \"auto\"\ntarget_precision = 0.98\n\n[intents.refund]\nmode = \"human\" # money moves\n\n[intents.order_status]\nthreshold = 0.9\n";

    #[test]
    fn a_threshold_is_set_and_everything_else_kept() {
        let new = super::with_threshold(TEXT, "password_reset", 0.8734).unwrap();
        // Comments and the other intents as written; the new table added.
        assert!(new.starts_with("# the team's policy\n"), "{new}");
        assert!(new.contains("mode = \"human\" # money moves"), "{new}");
        let p = Policy::parse(&new, "test").unwrap();
        assert_eq!(p.intent("password_reset").threshold, Some(0.873));
        assert_eq!(p.intent("order_status").threshold, Some(0.9));
        assert_eq!(p.intent("refund").threshold, None);
        // An existing threshold is replaced, not duplicated.
        let new = super::with_threshold(TEXT, "order_status", 0.95).unwrap();
        let p = Policy::parse(&new, "test").unwrap();
        assert_eq!(p.intent("order_status").threshold, Some(0.95));
        assert_eq!(new.matches("threshold").count(), 1, "{new}");
        // Out of range, or no intent: refused.
        assert!(super::with_threshold(TEXT, "refund", 1.0).is_err());
        assert!(super::with_threshold(TEXT, "refund", f64::NAN).is_err());
        assert!(super::with_threshold(TEXT, " ", 0.5).is_err());
    }

    #[tokio::test]
    async fn setting_a_threshold_is_an_audited_policy_change() {
        let dir =
            std::env::temp_dir().join(format!("flowgate-app-threshold-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = flowgate_store::Store::open(&dir.join("t.db").display().to_string())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        assert!(
            super::set_threshold(&store, "refund", 0.9, "admin-1", 1)
                .await
                .is_err()
        );
        let (p0, e0) = super::import(&store, TEXT, "policy.toml", "admin-1", 1)
            .await
            .unwrap();
        assert!(e0.is_some());
        let (p1, e1) = super::set_threshold(&store, "order_status", 0.95, "admin-1", 2)
            .await
            .unwrap();
        let e1 = e1.expect("a change is audited");
        assert_eq!(e1.seq, e0.unwrap().seq + 1);
        assert_ne!(p1.hash, p0.hash);
        assert_eq!(super::stored(&store).await.unwrap().unwrap().hash, p1.hash);
        let rec = store.audit_entry(e1.seq).await.unwrap().unwrap();
        assert_eq!(rec.kind, "policy_change");
        let v: serde_json::Value = serde_json::from_str(&rec.record).unwrap();
        assert_eq!(v["change"], "threshold_set");
        assert_eq!(v["intent"], "order_status");
        assert_eq!(
            (v["threshold"].as_f64(), v["threshold_before"].as_f64()),
            (Some(0.95), Some(0.9))
        );
        assert_eq!(v["previous"], p0.hash.as_str());
        assert_eq!(rec.actor, "admin-1");
        // The same again changes nothing.
        let (_, again) = super::set_threshold(&store, "order_status", 0.95, "admin-1", 3)
            .await
            .unwrap();
        assert!(again.is_none());
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
