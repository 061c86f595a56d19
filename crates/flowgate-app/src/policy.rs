//! The policy in force while the service runs: the policy imported into the database (from a
//! file; every import audited), with the kill switches an admin threw on top — both kept in
//! the database, so every replica decides under the same policy.

use flowgate_gate::Policy;
use flowgate_store::Store;
use flowgate_store::audit::{AuditEntry, NewRecord, kind};
use flowgate_store::live::KillSwitch;

use crate::Result;

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
    let policy = Policy::parse(text, origin)?;
    let previous = store.policy_current().await?.map(|p| p.hash);
    let record = serde_json::json!({
        "kind": kind::POLICY_CHANGE,
        "change": "policy_imported",
        "policy": policy.hash,
        "name": policy.name,
        "origin": origin,
        "previous": previous,
    });
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
