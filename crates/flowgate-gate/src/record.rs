//! A gate decision as the audit log keeps it: the one writer and reader of `decision`
//! records (the store chains their bytes; this type says what the bytes mean).

use serde::{Deserialize, Serialize};

use crate::policy::Action;

/// The `kind` a decision record carries inside its JSON.
pub const DECISION: &str = "decision";

/// One decision of the gate on one ticket. Field order is the JSON's: records written by
/// earlier versions read back unchanged (a missing `text_sha256` reads as empty).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Always [`DECISION`].
    pub kind: String,
    /// When the gate decided (RFC 3339, UTC).
    pub time: String,
    pub ticket: String,
    /// Where the ticket comes from (records since the ticket's source was kept; earlier
    /// records read `None`): a ticket is (source, id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The intent model's id.
    pub model: String,
    /// The policy's content hash.
    pub policy: String,
    /// SHA-256 of the text and the other fields the gate saw.
    pub input: String,
    /// SHA-256 of the text alone: the text itself is kept apart (erasable), its hash here.
    #[serde(default)]
    pub text_sha256: String,
    pub intent: String,
    pub confidence: f32,
    pub oos_score: f32,
    pub threshold: Option<f64>,
    pub rule: String,
    pub decision: Action,
    pub reason: String,
}

impl DecisionRecord {
    /// The ticket as one key: `source/id`, or the bare id for a record without a source.
    /// A source name holds no `/`, so two tickets never share a key.
    pub fn ticket_key(&self) -> String {
        match &self.source {
            Some(s) => format!("{s}/{}", self.ticket),
            None => self.ticket.clone(),
        }
    }

    /// The record's JSON, as it is chained.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a decision record always serialises")
    }

    /// The decision a record's JSON holds, or `None` when it is another kind of record (or
    /// not a decision this version can read).
    pub fn parse(json: &str) -> Option<DecisionRecord> {
        serde_json::from_str::<DecisionRecord>(json)
            .ok()
            .filter(|r| r.kind == DECISION)
    }
}
