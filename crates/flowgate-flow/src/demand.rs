//! Demand joined to flow: per intent and per bucket, the flow metrics of the cases that carry
//! it, the bucket each intent belongs to (`repetitive`, `judgment`, `ambiguous`, DESIGN.md
//! "Demand buckets") with the reasons in words, and the top automation candidates.
//!
//! The caller says which intent each case carries (from labels or a model) and which cases
//! were classified without confidence; everything else is read from the log.

use crate::log::EventLog;
use crate::metrics::{BaselineOptions, baseline};
use crate::stats::Summary;

pub use crate::demand_types::{
    Bucket, BucketFlow, BucketRules, Candidate, Demand, FlowFigures, IntentFlow,
};

/// What the caller knows of the tickets.
pub struct DemandInput {
    pub intents: Vec<String>,
    /// Per case of the log: the index of its intent, `None` when no ticket matched it.
    pub case_intent: Vec<Option<u32>>,
    /// Per case: classified below the confidence threshold or out of scope.
    pub case_unclear: Vec<bool>,
    /// Per intent: mean cosine similarity of its texts to their centre, when computed.
    pub cohesion: Option<Vec<f64>>,
    /// Per intent: whether a current knowledge-base article covers it, when known.
    pub kb_covered: Option<Vec<bool>>,
}

fn ratio_of(s: &Summary) -> Option<f64> {
    match (s.p50, s.p85) {
        (Some(a), Some(b)) if a > 0.0 => Some(b / a),
        _ => None,
    }
}

fn figures(log: &EventLog, keep: impl Fn(usize) -> bool, all_tickets: u64) -> FlowFigures {
    let sub = log.select_cases(keep);
    let b = baseline(&sub, &BaselineOptions::new());
    let total = b.cycle_time_s.mean.unwrap_or(0.0) * b.cycle_time_s.n as f64;
    FlowFigures {
        tickets: b.cases,
        share: if all_tickets > 0 {
            b.cases as f64 / all_tickets as f64
        } else {
            0.0
        },
        resolved: b.resolved_cases,
        cycle_spread: ratio_of(&b.cycle_time_s),
        touch_spread: ratio_of(&b.touch_time_s),
        cycle_time_s: b.cycle_time_s,
        touch_time_s: b.touch_time_s,
        handoffs_per_ticket: b.handoffs.mean,
        reopen_rate: b.reopen_rate,
        escalation_rate: b.escalation_rate,
        first_pass_rate: b.first_pass_resolution_rate,
        cycle_time_total_s: total,
    }
}

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p != 0.0 && p.abs() < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// The bucket of one intent and why.
pub fn assign(
    f: &FlowFigures,
    unclear: f64,
    cohesion: Option<f64>,
    kb: Option<bool>,
    r: &BucketRules,
) -> (Bucket, String) {
    if unclear > r.max_unclear {
        return (
            Bucket::Ambiguous,
            format!(
                "{} of its tickets are classified without confidence (limit {})",
                pct(unclear),
                pct(r.max_unclear)
            ),
        );
    }
    if let Some(c) = cohesion.filter(|&c| c < r.min_cohesion) {
        return (
            Bucket::Ambiguous,
            format!(
                "its texts say different things (mean similarity {c:.2}, limit {:.2})",
                r.min_cohesion
            ),
        );
    }
    let mut why = Vec::new();
    if let Some(s) = f.cycle_spread.filter(|&s| s > r.max_cycle_spread) {
        why.push(format!("cycle-time p85/p50 = {s:.1}"));
    }
    if let Some(s) = f.touch_spread.filter(|&s| s > r.max_touch_spread) {
        why.push(format!("touch-time p85/p50 = {s:.1}"));
    }
    if f.handoffs_per_ticket > r.max_handoffs {
        why.push(format!("{:.2} handoffs per ticket", f.handoffs_per_ticket));
    }
    if let Some(x) = f.reopen_rate.filter(|&x| x > r.max_reopen) {
        why.push(format!("{} reopened", pct(x)));
    }
    if let Some(x) = f.escalation_rate.filter(|&x| x > r.max_escalation) {
        why.push(format!("{} escalated", pct(x)));
    }
    if !why.is_empty() {
        return (
            Bucket::Judgment,
            format!("varied or shared work: {}", why.join(", ")),
        );
    }
    if f.share < r.min_share || f.tickets < r.min_tickets {
        return (
            Bucket::Judgment,
            format!(
                "low volume ({} tickets, {} of all): too little history to automate safely",
                f.tickets,
                pct(f.share)
            ),
        );
    }
    if kb == Some(false) {
        return (
            Bucket::Judgment,
            "no current knowledge-base article covers it".to_owned(),
        );
    }
    let mut parts = vec![format!("high volume ({})", pct(f.share))];
    if let Some(s) = f.cycle_spread {
        parts.push(format!("p85/p50 = {s:.1}"));
    }
    if let Some(s) = f.touch_spread {
        parts.push(format!("touch p85/p50 = {s:.1}"));
    }
    parts.push(format!("{:.2} handoffs per ticket", f.handoffs_per_ticket));
    if let Some(x) = f.reopen_rate {
        parts.push(format!("{} reopened", pct(x)));
    }
    (Bucket::Repetitive, parts.join(", "))
}

/// Per intent and per bucket flow, bucket assignment and automation candidates.
/// Cases the caller marks unclear, or without an intent, count in the `ambiguous` bucket
/// whatever their intent's bucket; intent figures use the intent's confident cases.
pub fn demand(log: &EventLog, input: &DemandInput, rules: &BucketRules, top_n: usize) -> Demand {
    let n = log.n_cases();
    let intent_of = |c: usize| input.case_intent.get(c).copied().flatten();
    let unclear = |c: usize| input.case_unclear.get(c).copied().unwrap_or(false);
    let tickets = (0..n).filter(|&c| intent_of(c).is_some()).count() as u64;
    let mut per_intent_tickets = vec![0u64; input.intents.len()];
    let mut per_intent_unclear = vec![0u64; input.intents.len()];
    for c in 0..n {
        if let Some(i) = intent_of(c) {
            per_intent_tickets[i as usize] += 1;
            per_intent_unclear[i as usize] += unclear(c) as u64;
        }
    }
    let mut intents = Vec::new();
    let mut bucket_of = vec![Bucket::Ambiguous; input.intents.len()];
    for (i, name) in input.intents.iter().enumerate() {
        if per_intent_tickets[i] == 0 {
            continue;
        }
        let mut f = figures(
            log,
            |c| intent_of(c) == Some(i as u32) && !unclear(c),
            tickets,
        );
        // Volume counts every ticket of the intent, confident or not.
        f.tickets = per_intent_tickets[i];
        f.share = f.tickets as f64 / tickets.max(1) as f64;
        let unclear_share = per_intent_unclear[i] as f64 / per_intent_tickets[i] as f64;
        let cohesion = input.cohesion.as_ref().and_then(|v| v.get(i).copied());
        let kb = input.kb_covered.as_ref().and_then(|v| v.get(i).copied());
        let (bucket, explanation) = assign(&f, unclear_share, cohesion, kb, rules);
        bucket_of[i] = bucket;
        intents.push(IntentFlow {
            intent: name.clone(),
            bucket,
            explanation,
            flow: f,
            unclear_share,
            cohesion,
            kb_covered: kb,
        });
    }
    intents.sort_by(|a, b| {
        b.flow
            .tickets
            .cmp(&a.flow.tickets)
            .then(a.intent.cmp(&b.intent))
    });
    let ticket_bucket = |c: usize| -> Option<Bucket> {
        let i = intent_of(c)?;
        Some(if unclear(c) {
            Bucket::Ambiguous
        } else {
            bucket_of[i as usize]
        })
    };
    let buckets = Bucket::ALL
        .iter()
        .map(|&b| BucketFlow {
            bucket: b,
            intents: intents.iter().filter(|i| i.bucket == b).count() as u64,
            flow: figures(log, |c| ticket_bucket(c) == Some(b), tickets),
        })
        .collect();
    let all_cycle: f64 = intents.iter().map(|i| i.flow.cycle_time_total_s).sum();
    let mut candidates: Vec<Candidate> = intents
        .iter()
        .filter(|i| i.bucket == Bucket::Repetitive)
        .map(|i| {
            let rep = i.flow.first_pass_rate.unwrap_or(0.0) * (1.0 - i.unclear_share);
            Candidate {
                intent: i.intent.clone(),
                tickets: i.flow.tickets,
                repetitiveness: rep,
                score: i.flow.tickets as f64 * rep,
                cycle_time_p50_s: i.flow.cycle_time_s.p50,
                cycle_time_total_s: i.flow.cycle_time_total_s,
                cycle_time_share: if all_cycle > 0.0 {
                    i.flow.cycle_time_total_s / all_cycle
                } else {
                    0.0
                },
            }
        })
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.intent.cmp(&b.intent)));
    candidates.truncate(top_n);
    Demand {
        rules: *rules,
        tickets,
        cases_without_ticket: n as u64 - tickets,
        buckets,
        intents,
        candidates,
    }
}
