//! Review sampling: which decisions a person checks. Acts are sampled at the policy's rate
//! for their intent and confidence band (reproducibly, from the policy's seed and the
//! ticket id); with `shadow`, so are the decisions the gate kept from acting (assist mode,
//! no threshold yet, below the threshold) — evidence for the intent's own bound.

use flowgate_gate::decide::sample_key;
use flowgate_gate::{Action, DecisionRecord, Policy};
use flowgate_store::Store;
use flowgate_store::audit::AuditEntry;
use flowgate_store::review::QueueItem;

use crate::Result;

/// The rules by which the gate kept a decision from acting that a shadow review can judge.
pub const SHADOW_RULES: [&str; 3] = ["mode-assist", "no-threshold", "below-threshold"];

/// What a sampling pass found.
#[derive(Clone, Debug, Default)]
pub struct Sampled {
    /// Act decisions seen, and shadow candidates seen.
    pub acts: usize,
    pub shadows: usize,
    /// The sampled ones, as queue items.
    pub items: Vec<QueueItem>,
}

/// Whether a decision is reviewed, as a queue item (`None`: not sampled, or a decision no
/// review judges).
pub fn sample_one(
    r: &DecisionRecord,
    seq: i64,
    decided_at_ms: i64,
    policy: &Policy,
    shadow: bool,
    now_ms: i64,
) -> (bool, Option<QueueItem>) {
    let is_shadow =
        shadow && r.decision == Action::Assist && SHADOW_RULES.contains(&r.rule.as_str());
    if r.decision != Action::Act && !is_shadow {
        return (false, None);
    }
    let conf = r.confidence as f64;
    let take =
        sample_key(policy.sampling.seed, &r.ticket_key()) < policy.sample_rate(&r.intent, conf);
    let item = take.then(|| QueueItem {
        audit_seq: seq,
        ticket: r.ticket.clone(),
        band: policy.band(conf),
        intent: r.intent.clone(),
        confidence: conf,
        decided_at_ms,
        sampled_at_ms: now_ms,
        verdict: None,
        category: None,
        reviewer: None,
        note: None,
        reviewed_at_ms: None,
        shadow: is_shadow,
    });
    (true, item)
}

/// Samples the decisions of an audit log.
pub fn sample(entries: &[AuditEntry], policy: &Policy, shadow: bool, now_ms: i64) -> Sampled {
    let mut out = Sampled::default();
    for e in entries {
        let Some(r) = DecisionRecord::parse(&e.record) else {
            continue;
        };
        let (counted, item) = sample_one(&r, e.seq, e.recorded_at_ms, policy, shadow, now_ms);
        if counted {
            if r.decision == Action::Act {
                out.acts += 1;
            } else {
                out.shadows += 1;
            }
        }
        out.items.extend(item);
    }
    out
}

/// Samples a store's audit log into its review queue; returns what was sampled and how many
/// items were new in the queue.
pub async fn enqueue(
    store: &Store,
    policy: &Policy,
    shadow: bool,
    now_ms: i64,
) -> Result<(Sampled, usize)> {
    let entries = store.audit_entries().await?;
    let sampled = sample(&entries, policy, shadow, now_ms);
    let added = store.review_enqueue(&sampled.items).await?;
    Ok((sampled, added))
}

/// A reviewer's verdict, checked once wherever it comes from (the API, the review screen,
/// the CLI): `correct`, or `defect` with a failure mode. A category may go with `correct`
/// too (a note on what was nearly wrong); blank ones count as none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    defect: bool,
    category: Option<String>,
}

impl Verdict {
    /// The failure modes the review screen offers; others are accepted as written.
    pub const CATEGORIES: [&str; 5] = ["wrong-intent", "wrong-answer", "tone", "policy", "other"];

    pub fn parse(verdict: &str, category: Option<&str>) -> Result<Verdict> {
        let category = category
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let defect = match verdict.trim() {
            "correct" => false,
            "defect" => true,
            other => {
                return Err(crate::Error::Invalid(format!(
                    "verdict {other:?}: expected correct or defect"
                )));
            }
        };
        if defect && category.is_none() {
            return Err(crate::Error::Invalid(format!(
                "category: a defect needs a failure mode ({}…)",
                Verdict::CATEGORIES.join(", ")
            )));
        }
        Ok(Verdict { defect, category })
    }

    pub fn as_str(&self) -> &'static str {
        if self.defect { "defect" } else { "correct" }
    }

    pub fn is_defect(&self) -> bool {
        self.defect
    }

    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }
}

/// Records `verdict` on decision `seq` (audited; once per item).
pub async fn mark(
    store: &Store,
    seq: i64,
    verdict: &Verdict,
    reviewer: Option<&str>,
    note: Option<&str>,
    now_ms: i64,
) -> Result<AuditEntry> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    Ok(store
        .review_mark(
            seq,
            verdict.as_str(),
            verdict.category(),
            reviewer,
            note,
            now_ms,
        )
        .await?)
}

#[cfg(test)]
mod verdict_tests {
    use super::Verdict;

    #[test]
    fn a_verdict_is_correct_or_a_defect_with_a_failure_mode() {
        assert_eq!(Verdict::parse("correct", None).unwrap().as_str(), "correct");
        let d = Verdict::parse("defect", Some(" tone ")).unwrap();
        assert!(d.is_defect());
        assert_eq!(d.category(), Some("tone"));
        assert!(Verdict::parse("defect", Some("  ")).is_err());
        assert!(Verdict::parse("defect", None).is_err());
        assert!(Verdict::parse("maybe", None).is_err());
        assert!(Verdict::parse("", None).is_err());
    }
}
