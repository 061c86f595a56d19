//! Splitting cases into segments (by first team, demand bucket, or any attribute), for
//! comparisons and scorecards per segment.

use std::collections::HashMap;

use crate::cases::CaseRecord;
use crate::demand::{BucketRules, DemandInput, demand};
use crate::{EventLog, NONE};

/// Each case's segment id (an index into `names`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segments {
    pub ids: Vec<u32>,
    pub names: Vec<String>,
}

/// A segmentation the log cannot give.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what}: the log has no column {name:?}; its attribute columns are: {} (or use team)",
    if available.is_empty() { "none".to_owned() } else { available.join(", ") }
)]
pub struct SegmentError {
    pub what: String,
    pub name: String,
    pub available: Vec<String>,
}

/// The first non-empty value of attribute `col` in each case (`NONE` where none).
pub fn case_attr(log: &EventLog, col: usize) -> Vec<u32> {
    let values = log.attr(col);
    (0..log.n_cases())
        .map(|c| {
            log.case_events(c)
                .map(|e| values[e])
                .find(|&v| v != NONE && !log.attr_values[col].resolve(v).is_empty())
                .unwrap_or(NONE)
        })
        .collect()
}

fn attr_col(log: &EventLog, name: &str, what: &str) -> Result<usize, SegmentError> {
    log.attr_index(name).ok_or_else(|| SegmentError {
        what: what.to_owned(),
        name: name.to_owned(),
        available: log.attr_names.clone(),
    })
}

/// Per-case segments for `by`: `team` (the case's first team), `bucket` (the demand bucket
/// of the case's intent, read from attribute `intent_col`, bucketed by `rules`), or any
/// attribute column (its first non-empty value in the case).
pub fn segments(
    log: &EventLog,
    records: &[CaseRecord],
    by: &str,
    intent_col: &str,
    rules: &BucketRules,
) -> Result<Segments, SegmentError> {
    let mut names: Vec<String> = Vec::new();
    let mut ids = Vec::with_capacity(log.n_cases());
    let mut index = HashMap::new();
    let mut id_of = |name: &str, names: &mut Vec<String>| -> u32 {
        *index.entry(name.to_owned()).or_insert_with(|| {
            names.push(name.to_owned());
            (names.len() - 1) as u32
        })
    };
    match by {
        "team" => {
            for r in records {
                let name = if r.first_team == NONE {
                    "(no team)"
                } else {
                    log.teams.resolve(r.first_team)
                };
                ids.push(id_of(name, &mut names));
            }
        }
        "bucket" => {
            let col = attr_col(log, intent_col, "--by bucket needs the intent of each case")?;
            let per_case = case_attr(log, col);
            let mut intents: Vec<String> = log.attr_values[col].iter().map(str::to_owned).collect();
            intents.sort();
            intents.dedup();
            let case_intent = per_case
                .iter()
                .map(|&v| {
                    (v != NONE).then(|| {
                        intents
                            .binary_search(&log.attr_values[col].resolve(v).to_owned())
                            .unwrap_or(0) as u32
                    })
                })
                .collect::<Vec<_>>();
            let input = DemandInput {
                intents: intents.clone(),
                case_intent: case_intent.clone(),
                case_unclear: vec![false; log.n_cases()],
                cohesion: None,
                kb_covered: None,
            };
            let d = demand(log, &input, rules, 0);
            for ci in case_intent {
                let bucket = ci
                    .and_then(|i| d.intents.iter().find(|x| x.intent == intents[i as usize]))
                    .map_or("ambiguous", |x| x.bucket.as_str());
                ids.push(id_of(bucket, &mut names));
            }
        }
        attr => {
            let col = attr_col(log, attr, "--by")?;
            for v in case_attr(log, col) {
                let name = if v == NONE {
                    "(none)"
                } else {
                    log.attr_values[col].resolve(v)
                };
                ids.push(id_of(name, &mut names));
            }
        }
    }
    Ok(Segments { ids, names })
}
