//! `flowgate governance`: the controls in force, mapped to NIST AI RMF subcategories, with
//! evidence counted from the audit log (and the policy, when given).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use flowgate_gate::{Mode, Policy};
use flowgate_store::Store;
use flowgate_store::audit::verify;

use crate::config::Settings;

#[derive(clap::Args, Debug)]
pub struct GovernanceArgs {
    /// Database holding the audit log (SQLite path or postgres://…).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// The policy in force: adds its modes, targets and kill switches.
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,
    /// Write the Markdown report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

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

pub fn run(args: GovernanceArgs, settings: &Settings) -> Result<()> {
    let url = crate::db::database_url(args.db.as_deref(), settings);
    let rt = crate::db::runtime()?;
    let (entries, reviews) = rt.block_on(async {
        let s = Store::open(&url).await?;
        let e = s.audit_entries().await;
        let r = s.review_items().await;
        s.close().await;
        anyhow::Ok((e?, r?))
    })?;
    let chain = verify(&entries, None);
    let policy = args.policy.as_deref().map(Policy::load).transpose()?;
    let mut c = Counts::default();
    for e in &entries {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&e.record) else {
            c.other_records += 1;
            continue;
        };
        if v["kind"] != "decision" {
            c.other_records += 1;
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
    let md = report(&c, policy.as_ref(), &chain, entries.len(), &url, &reviews);
    crate::output::write(args.out.as_deref(), md.as_bytes())
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / d as f64)
    }
}

fn report(
    c: &Counts,
    policy: Option<&Policy>,
    chain: &Result<usize, flowgate_store::audit::ChainBreak>,
    records: usize,
    url: &str,
    reviews: &[flowgate_store::review::QueueItem],
) -> String {
    let n = c.decisions;
    let get = |k: &str| c.by_action.get(k).copied().unwrap_or(0);
    let rule = |k: &str| c.by_rule.get(k).copied().unwrap_or(0);
    let people = get("assist") + get("route") + get("clarify") + get("escalate");
    let rules_fired: Vec<(String, usize)> = c
        .by_rule
        .iter()
        .filter(|(k, _)| !BUILT_IN.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let mut s = String::from("# Governance evidence\n\n");
    s.push_str(&format!(
        "Audit log: `{}` — {records} records, {n} gate decisions{}, from {} to {}. Policies in force over the period: {}; models: {}.\n\n",
        redact(url),
        if c.other_records > 0 {
            format!(" ({} other records)", c.other_records)
        } else {
            String::new()
        },
        c.first.as_deref().unwrap_or("–"),
        c.last.as_deref().unwrap_or("–"),
        list(&c.policies),
        list(&c.models)
    ));
    s.push_str("| Control | NIST AI RMF | In force | Evidence |\n|---|---|---|---|\n");
    // Risk tolerance as thresholds.
    let tolerance = match policy {
        Some(p) => {
            let mut targets: Vec<String> = std::iter::once(&p.defaults)
                .chain(p.intents.values())
                .filter(|i| i.mode == Mode::Auto)
                .map(|i| format!("{:.1}%", i.target_precision * 100.0))
                .collect();
            targets.sort();
            targets.dedup();
            format!(
                "policy {} ({}): auto intents act only above a threshold whose lower 95% bound ({:?}) meets the target precision ({})",
                &p.hash[..19.min(p.hash.len())],
                p.name,
                p.bound,
                if targets.is_empty() {
                    "no intent is auto".into()
                } else {
                    targets.join(", ")
                }
            )
        }
        None => "target precision per intent (give --policy to list them)".into(),
    };
    s.push_str(&format!(
        "| Risk tolerance as calibrated thresholds | GOVERN 1.3 | yes | {tolerance}; {} decisions carry their threshold, {} acted at or above it, {} held back below it |\n",
        c.with_threshold,
        rule("threshold"),
        rule("below-threshold")
    ));
    let chain_text = match chain {
        Ok(k) => format!("hash chain verified intact over {k} records"),
        Err(b) => format!(
            "**hash chain broken at position {} (seq {}): {}**",
            b.position, b.seq, b.problem
        ),
    };
    s.push_str(&format!(
        "| Production monitoring: every decision logged | MEASURE 2.4 | {} | {n} decisions with time, ticket, model, policy hash, input hash, scores, rule and decision; {chain_text} |\n",
        if n > 0 && chain.is_ok() { "yes" } else { "no" }
    ));
    let fired = if rules_fired.is_empty() {
        "no escalation rule fired".to_owned()
    } else {
        rules_fired
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    s.push_str(&format!(
        "| Human oversight: people decide what the AI may not | MAP 3.5, MANAGE 4.1 | {} | {people} of {n} decisions ({}) went to a person (assist {}, route {}, clarify {}, escalate {}); escalation rules fired: {fired}; out of scope {}, low confidence {}, people-only intents {} |\n",
        if n > 0 { "yes" } else { "no" },
        pct(people, n),
        get("assist"),
        get("route"),
        get("clarify"),
        get("escalate"),
        rule("out-of-scope"),
        rule("low-confidence"),
        rule("mode-human")
    ));
    let switches = match policy {
        Some(p) => {
            let killed: Vec<&str> = p
                .intents
                .iter()
                .filter(|(_, i)| i.kill_switch)
                .map(|(k, _)| k.as_str())
                .collect();
            format!(
                "global kill switch {}; intents switched off: {}",
                if p.kill_switch { "ON" } else { "off" },
                if killed.is_empty() {
                    "none".into()
                } else {
                    killed.join(", ")
                }
            )
        }
        None => "a global and a per-intent kill switch in every policy".into(),
    };
    s.push_str(&format!(
        "| Disengagement via kill switches | MANAGE 2.4 | yes | {switches}; decisions stopped by the global switch {}, by an intent's switch {} |\n",
        rule("kill-switch"),
        rule("intent-kill-switch")
    ));
    let reviewed: Vec<&flowgate_store::review::QueueItem> =
        reviews.iter().filter(|r| r.verdict.is_some()).collect();
    let defects = reviewed
        .iter()
        .filter(|r| r.verdict.as_deref() == Some("defect"))
        .count();
    s.push_str(&format!(
        "| Defect tracking: reviewed samples of act decisions | MANAGE 4.3 | {} | {} act decisions sampled into the review queue, {} reviewed, {defects} defects{} |\n",
        if reviewed.is_empty() { "no" } else { "yes" },
        reviews.len(),
        reviewed.len(),
        if reviewed.is_empty() {
            String::new()
        } else {
            format!(
                " (reviewed precision {})",
                pct(reviewed.len() - defects, reviewed.len())
            )
        }
    ));
    let mut weeks: Vec<String> = reviewed
        .iter()
        .filter_map(|r| r.reviewed_at_ms)
        .filter_map(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| {
            let d = t.to_zoned(jiff::tz::TimeZone::UTC).date().iso_week_date();
            format!("{}-W{:02}", d.year(), d.week())
        })
        .collect();
    weeks.sort();
    weeks.dedup();
    s.push_str(&format!(
        "| Periodic review: the weekly defect review | GOVERN 1.5 | {} | {} |\n",
        if weeks.is_empty() { "no" } else { "yes" },
        if weeks.is_empty() {
            "no reviews recorded yet".to_owned()
        } else {
            format!(
                "reviews recorded in {} week(s): {} (`flowgate defects --week W`)",
                weeks.len(),
                weeks.join(", ")
            )
        }
    ));
    s.push_str(&format!(
        "\n## Decisions\n\n| decision | count | share |\n|---|---:|---:|\n{}",
        ["act", "assist", "route", "clarify", "escalate"]
            .iter()
            .map(|k| format!("| {k} | {} | {} |\n", get(k), pct(get(k), n)))
            .collect::<String>()
    ));
    s.push_str("\n## Decided by\n\n| rule or check | count |\n|---|---:|\n");
    let mut by: Vec<(&String, &usize)> = c.by_rule.iter().collect();
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
        .map(|(k, v)| format!("`{}` ({v})", &k[..k.len().min(19)]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A database URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
