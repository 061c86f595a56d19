//! Governance evidence: the controls in force, mapped to NIST AI RMF subcategories, with
//! evidence counted from the audit log, the review queue and the policy (when given). No cell
//! is constant: a control without evidence shows as not in force and says what is missing.

use std::collections::BTreeMap;

use flowgate_gate::{Mode, Policy};
use flowgate_store::Store;
use flowgate_store::audit::{AuditEntry, verify};
use flowgate_store::review::QueueItem;

use crate::Result;

#[derive(Default)]
struct Counts {
    decisions: usize,
    by_action: BTreeMap<String, usize>,
    by_rule: BTreeMap<String, usize>,
    with_threshold: usize,
    policies: BTreeMap<String, usize>,
    models: BTreeMap<String, usize>,
    first: Option<String>,
    last: Option<String>,
    other_records: usize,
    policy_changes: usize,
}

const BUILT_IN: [&str; 10] = [
    "kill-switch",
    "intent-kill-switch",
    "out-of-scope",
    "low-confidence",
    "mode-human",
    "mode-assist",
    "no-threshold",
    "below-threshold",
    "no-kb-article",
    "threshold",
];

/// The evidence in `entries` (the whole audit log) and `reviews` (the review queue), with
/// the policy's modes, targets and kill switches when given; `audit_log` is the database's URL
/// (shown redacted).
pub fn evidence(
    entries: &[AuditEntry],
    reviews: &[QueueItem],
    policy: Option<&Policy>,
    audit_log: &str,
) -> Governance {
    let chain = verify(entries, None);
    let mut c = Counts::default();
    for e in entries {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&e.record) else {
            c.other_records += 1;
            continue;
        };
        if v["kind"] != "decision" {
            c.other_records += 1;
            c.policy_changes += (e.kind == flowgate_store::audit::kind::POLICY_CHANGE) as usize;
            continue;
        }
        c.decisions += 1;
        let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
        *c.by_action.entry(s("decision")).or_default() += 1;
        *c.by_rule.entry(s("rule")).or_default() += 1;
        c.with_threshold += v["threshold"].is_number() as usize;
        *c.policies.entry(s("policy")).or_default() += 1;
        *c.models.entry(s("model")).or_default() += 1;
        let t = s("time");
        if c.first.as_ref().is_none_or(|f| t < *f) {
            c.first = Some(t.clone());
        }
        if c.last.as_ref().is_none_or(|l| t > *l) {
            c.last = Some(t);
        }
    }
    let reviews_check = flowgate_store::review::verify_reviews(entries, reviews);
    governance(
        &c,
        policy,
        &chain,
        &reviews_check,
        entries.len(),
        audit_log,
        reviews,
    )
}

/// The evidence in `store`, under `policy`.
pub async fn collect(store: &Store, policy: Option<&Policy>) -> Result<Governance> {
    let entries = store.audit_entries().await?;
    let reviews = store.review_items().await?;
    Ok(evidence(&entries, &reviews, policy, store.url()))
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / d as f64)
    }
}

/// One control and its evidence.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Control {
    pub control: &'static str,
    pub nist: &'static str,
    /// Only when its evidence shows it working; otherwise `evidence` says what is missing.
    pub in_force: bool,
    pub evidence: String,
}

/// The governance report as data (`--format json`); the Markdown is rendered from it.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Governance {
    pub audit_log: String,
    pub records: usize,
    pub decisions: usize,
    pub other_records: usize,
    pub first: Option<String>,
    pub last: Option<String>,
    pub policies: BTreeMap<String, usize>,
    pub models: BTreeMap<String, usize>,
    pub policy_changes: usize,
    /// The guarantee thresholds carry, stated once.
    pub threshold_guarantee: String,
    pub controls: Vec<Control>,
    pub decisions_by_action: BTreeMap<String, usize>,
    pub decided_by: BTreeMap<String, usize>,
}

/// The first `n` characters (never a byte slice: names may be any text).
fn short(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl Counts {
    /// The number of logged decisions whose action was `k`.
    fn action(&self, k: &str) -> usize {
        self.by_action.get(k).copied().unwrap_or(0)
    }

    /// The number of logged decisions decided by the rule or check `k`.
    fn rule(&self, k: &str) -> usize {
        self.by_rule.get(k).copied().unwrap_or(0)
    }

    /// The number of logged decisions that went to a person.
    fn people(&self) -> usize {
        self.action("assist")
            + self.action("route")
            + self.action("clarify")
            + self.action("escalate")
    }
}

/// The governance report from the counted audit log, the chain and review checks and the queue.
fn governance(
    c: &Counts,
    policy: Option<&Policy>,
    chain: &Result<usize, flowgate_store::audit::ChainBreak>,
    reviews_check: &Result<(usize, usize), flowgate_store::review::ReviewMismatch>,
    records: usize,
    url: &str,
    reviews: &[flowgate_store::review::QueueItem],
) -> Governance {
    let threshold_guarantee = threshold_guarantee(policy);
    let reviewed = reviewed_acts(reviews);
    let controls = vec![
        thresholds_control(c, policy),
        monitoring_control(c, chain, reviews_check),
        oversight_control(c),
        kill_switch_control(c, policy),
        defect_tracking_control(reviews, &reviewed),
        periodic_review_control(&reviewed),
    ];
    Governance {
        audit_log: flowgate_store::redact_url(url),
        records,
        decisions: c.decisions,
        other_records: c.other_records,
        first: c.first.clone(),
        last: c.last.clone(),
        policies: c.policies.clone(),
        models: c.models.clone(),
        policy_changes: c.policy_changes,
        threshold_guarantee,
        controls,
        decisions_by_action: ["act", "assist", "route", "clarify", "escalate"]
            .iter()
            .map(|k| (k.to_string(), c.action(k)))
            .collect(),
        decided_by: c.by_rule.clone(),
    }
}

/// The guarantee calibrated thresholds carry under `policy`'s method, stated once.
fn threshold_guarantee(policy: Option<&Policy>) -> String {
    let method = policy.map_or(flowgate_gate::Method::ClopperPearson, |p| p.method);
    format!(
        "an intent acts only at a threshold where the {} {} lower confidence bound of its own precision meets its target (so the chance it acts where its true precision is below target is at most 5%)",
        flowgate_gate::calibrate::LEVEL,
        method.as_str()
    )
}

/// The control "risk tolerance as calibrated thresholds": the auto intents' targets in force.
fn thresholds_control(c: &Counts, policy: Option<&Policy>) -> Control {
    let (in_force, evidence) = match policy {
        Some(p) => {
            let mut targets: Vec<String> = std::iter::once(&p.defaults)
                .chain(p.intents.values())
                .filter(|i| i.mode == Mode::Auto)
                .map(|i| format!("{:.1}%", i.target_precision * 100.0))
                .collect();
            targets.sort();
            targets.dedup();
            let counts = format!(
                "{} decisions carry their threshold, {} acted at or above it, {} held back below it",
                c.with_threshold,
                c.rule("threshold"),
                c.rule("below-threshold")
            );
            let head = format!("policy {} ({})", short(&p.hash, 19), p.name);
            if targets.is_empty() {
                (
                    false,
                    format!("{head}: no intent is auto, so no threshold is in use; {counts}"),
                )
            } else if c.with_threshold == 0 {
                (
                    false,
                    format!(
                        "{head}: target precision {}; but no logged decision carries a threshold yet",
                        targets.join(", ")
                    ),
                )
            } else {
                (
                    true,
                    format!(
                        "{head}: auto intents at target precision {}; {counts}",
                        targets.join(", ")
                    ),
                )
            }
        }
        None => (
            false,
            format!(
                "no policy given (--policy): the targets in force cannot be shown; {} logged decisions carry a threshold",
                c.with_threshold
            ),
        ),
    };
    Control {
        control: "Risk tolerance as calibrated thresholds",
        nist: "GOVERN 1.3",
        in_force,
        evidence,
    }
}

/// The control "production monitoring": every decision logged, the chain and reviews intact.
fn monitoring_control(
    c: &Counts,
    chain: &Result<usize, flowgate_store::audit::ChainBreak>,
    reviews_check: &Result<(usize, usize), flowgate_store::review::ReviewMismatch>,
) -> Control {
    let n = c.decisions;
    let chain_text = match chain {
        Ok(k) => format!("hash chain verified intact over {k} records"),
        Err(b) => format!(
            "**hash chain broken at position {} (seq {}): {}**",
            b.position, b.seq, b.problem
        ),
    };
    let reviews_text = match reviews_check {
        Ok((k, _)) => format!("{k} review verdicts match the chain"),
        Err(m) => format!("**review queue and chain disagree: {}**", m.problem),
    };
    Control {
        control: "Production monitoring: every decision logged",
        nist: "MEASURE 2.4",
        in_force: n > 0 && chain.is_ok() && reviews_check.is_ok(),
        evidence: if n == 0 {
            format!("no decision logged yet; {chain_text}")
        } else {
            format!(
                "{n} decisions with time, ticket, model, policy hash, input hash, scores, rule and decision; {chain_text}; {reviews_text}"
            )
        },
    }
}

/// The control "human oversight": decisions that went to a person, and the rules that sent them.
fn oversight_control(c: &Counts) -> Control {
    let n = c.decisions;
    let people = c.people();
    let rules_fired: Vec<(String, usize)> = c
        .by_rule
        .iter()
        .filter(|(k, _)| !BUILT_IN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let fired = if rules_fired.is_empty() {
        "no escalation rule fired".to_owned()
    } else {
        rules_fired
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Control {
        control: "Human oversight: people decide what the AI may not",
        nist: "MAP 3.5, MANAGE 4.1",
        in_force: people > 0,
        evidence: if people == 0 {
            format!("no logged decision went to a person ({n} decisions)")
        } else {
            format!(
                "{people} of {n} decisions ({}) went to a person (assist {}, route {}, clarify {}, escalate {}); escalation rules fired: {fired}; out of scope {}, low confidence {}, people-only intents {}",
                pct(people, n),
                c.action("assist"),
                c.action("route"),
                c.action("clarify"),
                c.action("escalate"),
                c.rule("out-of-scope"),
                c.rule("low-confidence"),
                c.rule("mode-human")
            )
        },
    }
}

/// The control "disengagement via kill switches": the switches' state and what they stopped.
fn kill_switch_control(c: &Counts, policy: Option<&Policy>) -> Control {
    let stopped = format!(
        "decisions stopped by the global switch {}, by an intent's switch {}; policy changes on the chain {}",
        c.rule("kill-switch"),
        c.rule("intent-kill-switch"),
        c.policy_changes
    );
    let (in_force, evidence) = match policy {
        Some(p) => {
            let killed: Vec<&str> = p
                .intents
                .iter()
                .filter(|(_, i)| i.kill_switch)
                .map(|(k, _)| k.as_str())
                .collect();
            (
                true,
                format!(
                    "global kill switch {}; intents switched off: {}; {stopped}",
                    if p.kill_switch { "ON" } else { "off" },
                    if killed.is_empty() {
                        "none".into()
                    } else {
                        killed.join(", ")
                    }
                ),
            )
        }
        None => (
            false,
            format!("no policy given (--policy): the switches' state cannot be shown; {stopped}"),
        ),
    };
    Control {
        control: "Disengagement via kill switches",
        nist: "MANAGE 2.4",
        in_force,
        evidence,
    }
}

/// The act decisions (not shadow) in the review queue that carry a verdict.
fn reviewed_acts(reviews: &[QueueItem]) -> Vec<&QueueItem> {
    reviews
        .iter()
        .filter(|r| !r.shadow && r.verdict.is_some())
        .collect()
}

/// The control "defect tracking": act decisions sampled, reviewed and found defective.
fn defect_tracking_control(reviews: &[QueueItem], reviewed: &[&QueueItem]) -> Control {
    let acts_queued = reviews.iter().filter(|r| !r.shadow).count();
    let defects = reviewed
        .iter()
        .filter(|r| r.verdict.as_deref() == Some("defect"))
        .count();
    Control {
        control: "Defect tracking: reviewed samples of act decisions",
        nist: "MANAGE 4.3",
        in_force: !reviewed.is_empty(),
        evidence: format!(
            "{} act decisions sampled into the review queue, {} reviewed, {defects} defects{}",
            acts_queued,
            reviewed.len(),
            if reviewed.is_empty() {
                " (no review recorded yet: run flowgate review)".to_owned()
            } else {
                format!(
                    " (reviewed precision {})",
                    pct(reviewed.len() - defects, reviewed.len())
                )
            }
        ),
    }
}

/// The control "periodic review": the ISO weeks in which reviews were recorded.
fn periodic_review_control(reviewed: &[&QueueItem]) -> Control {
    let mut weeks: Vec<String> = reviewed
        .iter()
        .filter_map(|r| r.reviewed_at_ms)
        .map(flowgate_flow::time::iso_week_label)
        .collect();
    weeks.sort();
    weeks.dedup();
    Control {
        control: "Periodic review: the weekly defect review",
        nist: "GOVERN 1.5",
        in_force: !weeks.is_empty(),
        evidence: if weeks.is_empty() {
            "no reviews recorded yet".to_owned()
        } else {
            format!(
                "reviews recorded in {} week(s): {} (`flowgate defects --week W`)",
                weeks.len(),
                weeks.join(", ")
            )
        },
    }
}

/// The evidence as a Markdown page.
pub fn markdown(g: &Governance) -> String {
    let n = g.decisions;
    let mut s = String::from("# Governance evidence\n\n");
    s.push_str(&format!(
        "Audit log: `{}` — {} records, {n} gate decisions{}, from {} to {}. Policies in force over the period: {}; models: {}.\n\n",
        g.audit_log,
        g.records,
        if g.other_records > 0 {
            format!(" ({} other records)", g.other_records)
        } else {
            String::new()
        },
        g.first.as_deref().unwrap_or("–"),
        g.last.as_deref().unwrap_or("–"),
        list(&g.policies),
        list(&g.models)
    ));
    s.push_str(&format!("Thresholds: {}.\n\n", g.threshold_guarantee));
    s.push_str("| Control | NIST AI RMF | In force | Evidence |\n|---|---|---|---|\n");
    for c in &g.controls {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c.control,
            c.nist,
            if c.in_force { "yes" } else { "no" },
            c.evidence.replace('|', "\\|")
        ));
    }
    s.push_str(&format!(
        "\n## Decisions\n\n| decision | count | share |\n|---|---:|---:|\n{}",
        g.decisions_by_action
            .iter()
            .map(|(k, v)| format!("| {k} | {v} | {} |\n", pct(*v, n)))
            .collect::<String>()
    ));
    s.push_str("\n## Decided by\n\n| rule or check | count |\n|---|---:|\n");
    let mut by: Vec<(&String, &usize)> = g.decided_by.iter().collect();
    by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, v) in by {
        s.push_str(&format!("| {k} | {v} |\n"));
    }
    s
}

fn list(m: &BTreeMap<String, usize>) -> String {
    if m.is_empty() {
        return "–".into();
    }
    m.iter()
        .map(|(k, v)| format!("`{}` ({v})", short(k, 19)))
        .collect::<Vec<_>>()
        .join(", ")
}
