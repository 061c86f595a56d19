//! Demand joined to the process: each ticket's intent (from its label or a model) laid on the
//! log's case of the same id, so the demand section can weigh intents by the flow they cause
//! and sort them into buckets; the buckets kept in the model for triage.

use flowgate_demand::{IntentBucket, IntentModel, texts::Labelled};
use flowgate_flow::EventLog;
use flowgate_flow::demand::{BucketRules, Demand, DemandInput};

use crate::{Error, Result};

/// Tickets with an intent each, to be joined to a log's cases by id.
pub struct Joined<'a> {
    pub intents: Vec<String>,
    pub ids: &'a [String],
    /// Per ticket: index into `intents`.
    pub per_ticket: &'a [u32],
    /// Per ticket: classified without confidence (missing: confident).
    pub unclear: &'a [bool],
    pub cohesion: Option<Vec<f64>>,
}

impl Joined<'_> {
    /// The demand section and how many tickets matched no case.
    pub fn demand(self, log: &EventLog, rules: &BucketRules) -> (Demand, usize) {
        let n = log.n_cases();
        let mut case_intent = vec![None; n];
        let mut case_unclear = vec![false; n];
        let mut unmatched = 0usize;
        for (k, id) in self.ids.iter().enumerate() {
            match log.cases.get(id) {
                Some(c) => {
                    case_intent[c as usize] = Some(self.per_ticket[k]);
                    case_unclear[c as usize] = self.unclear.get(k).copied().unwrap_or(false);
                }
                None => unmatched += 1,
            }
        }
        let input = DemandInput {
            intents: self.intents,
            case_intent,
            case_unclear,
            cohesion: self.cohesion,
            kb_covered: None,
        };
        (
            flowgate_flow::demand::demand(log, &input, rules, 5),
            unmatched,
        )
    }
}

/// Keeps each intent's bucket in the model (for triage); returns intents per bucket.
pub fn store_buckets(model: &mut IntentModel, d: &Demand) -> [usize; 3] {
    let mut counts = [0usize; 3];
    for i in &d.intents {
        counts[i.bucket as usize] += 1;
        model.header.buckets.insert(
            i.intent.clone(),
            IntentBucket {
                bucket: i.bucket.as_str().to_owned(),
                explanation: i.explanation.clone(),
            },
        );
    }
    counts
}

/// Per label of the model: the cohesion of its training texts, when stored.
pub fn model_cohesion(m: &IntentModel) -> Option<Vec<f64>> {
    (m.header.cohesion.len() == m.header.labels.len())
        .then(|| m.header.cohesion.iter().map(|&c| c as f64).collect())
}

/// The demand section from labelled texts (their own labels, all confident) and a log.
pub fn labelled(
    log: &EventLog,
    data: &Labelled,
    model: &IntentModel,
    rules: &BucketRules,
) -> Result<Demand> {
    let labels = &model.header.labels;
    let per_ticket: Vec<u32> = data
        .labels
        .iter()
        .map(|l| labels.iter().position(|x| x == l).unwrap_or(0) as u32)
        .collect();
    let joined = Joined {
        intents: labels.clone(),
        ids: &data.ids,
        per_ticket: &per_ticket,
        unclear: &[],
        cohesion: model_cohesion(model),
    };
    let (d, unmatched) = joined.demand(log, rules);
    if unmatched == data.ids.len() {
        return Err(Error::Invalid(
            "no text's id matches a case of the log; name the case id column with --id-col".into(),
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowgate_flow::{EventLogBuilder, State};

    /// Three cases; four tickets, one of which names no case.
    #[test]
    fn tickets_join_their_cases_by_id() {
        let mut b = EventLogBuilder::new(true);
        for (case, hours) in [("a", 1), ("b", 2), ("c", 4)] {
            b.push_str(case, 0, "Open", None, None, Some(State::New), false);
            let done = hours * 3_600_000;
            b.push_str(
                case,
                done,
                "Solve",
                None,
                None,
                Some(State::Resolved),
                false,
            );
        }
        let log = b.finish();
        let ids = ["a", "b", "c", "zz"].map(String::from);
        let joined = Joined {
            intents: vec!["billing".into(), "refund".into()],
            ids: &ids,
            per_ticket: &[0, 0, 1, 1],
            unclear: &[],
            cohesion: None,
        };
        let (d, unmatched) = joined.demand(&log, &BucketRules::default());
        assert_eq!(unmatched, 1, "ticket zz names no case");
        let of = |name: &str| d.intents.iter().find(|i| i.intent == name).unwrap();
        // billing: cases a (1 h) and b (2 h); refund: case c (4 h), zz unmatched.
        assert_eq!(of("billing").flow.tickets, 2);
        assert_eq!(of("refund").flow.tickets, 1);
        assert_eq!(of("refund").flow.cycle_time_s.p50, Some(4.0 * 3600.0));
    }
}
