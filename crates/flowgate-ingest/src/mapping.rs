//! Column mappings and presets: which column is the case, the activity, the time, the team,
//! which values mean which state, and what marks an escalation.

use std::collections::BTreeMap;
use std::path::Path;

use flowgate_flow::{SlaConfig, SlaTarget, State};
use serde::{Deserialize, Serialize};

use crate::error::{IngestError, Result};

/// A mapping from a source's columns to the canonical model. Presets are mappings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Zone for timestamps without an offset: `UTC`, `+01:00` or an IANA name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// strftime-style format for timestamps the automatic parser does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<String>,
    /// CSV delimiter; detected from the header line when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Values that mean "no value" in the team, resource, state and attribute columns (an
    /// export's `?`, `NULL`, `N/A`, `-`). The empty value always does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub null_values: Vec<String>,
    /// The identity of the mapping whose events this file holds again (`db export` writes
    /// it): such a file imports into its source like the original. See [`Mapping::identity_hash`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The file is a help desk's history, flattened to change rows before mapping (the
    /// columns then name [`crate::history::COLUMNS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<crate::vendor::History>,
    pub columns: Columns,
    /// Column overrides when the input is XES.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xes: Option<Columns>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub states: BTreeMap<State, Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation: Vec<EscalationRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<Sla>,
    /// Business hours: figures in business time beside calendar time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<crate::calendar::Calendar>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub case: String,
    pub activity: OneOrMany,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The column whose value decides the state; the activity when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Joins several activity columns (default `-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_separator: Option<String>,
    /// An integer column that orders events at the same time (ServiceNow's
    /// `sys_mod_count`); it is kept as an attribute too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// One column name, or several joined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::One(String::new())
    }
}

impl OneOrMany {
    pub fn names(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// An event matching this rule marks its case as escalated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    /// `activity`, `team`, `resource`, or any source column.
    pub field: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ends_with: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<String>,
}

impl EscalationRule {
    pub fn matches(&self, value: &[u8]) -> bool {
        self.equals.iter().any(|v| v.as_bytes() == value)
            || self.ends_with.iter().any(|v| value.ends_with(v.as_bytes()))
            || self
                .contains
                .iter()
                .any(|v| value.windows(v.len().max(1)).any(|w| w == v.as_bytes()))
    }
}

/// Service-level targets per priority.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    /// The column holding the priority.
    pub priority: String,
    pub targets: BTreeMap<String, SlaHours>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaHours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_hours: Option<f64>,
}

/// The built-in presets: name and TOML text.
pub const PRESETS: &[(&str, &str)] = &[
    ("helpdesk", include_str!("../presets/helpdesk.toml")),
    ("bpic2013", include_str!("../presets/bpic2013.toml")),
    ("servicenow", include_str!("../presets/servicenow.toml")),
    (
        "servicenow-audit",
        include_str!("../presets/servicenow-audit.toml"),
    ),
    ("zendesk", include_str!("../presets/zendesk.toml")),
    ("jira", include_str!("../presets/jira.toml")),
    ("freshdesk", include_str!("../presets/freshdesk.toml")),
    ("intercom", include_str!("../presets/intercom.toml")),
    ("github", include_str!("../presets/github.toml")),
];

impl Mapping {
    /// Parses a mapping; `origin` names the file in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Mapping> {
        let m: Mapping = toml::from_str(text).map_err(|e| IngestError::Mapping {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        m.validate(origin)?;
        Ok(m)
    }

    pub fn from_file(path: &Path) -> Result<Mapping> {
        let text = std::fs::read_to_string(path).map_err(|e| IngestError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut m = Mapping::from_toml(&text, &path.display().to_string())?;
        if let Some(c) = &mut m.calendar {
            c.inline_ical(path.parent().unwrap_or(Path::new(".")))?;
        }
        Ok(m)
    }

    /// A built-in preset by name.
    pub fn preset(name: &str) -> Result<Mapping> {
        let (_, text) =
            PRESETS
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| IngestError::UnknownPreset {
                    name: name.to_owned(),
                    known: PRESETS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        Mapping::from_toml(text, &format!("preset {name}"))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// What decides the events a file yields, as a hash: the mapping's content, not its text
    /// (comments, key order and layout do not count). The store keeps it per source and
    /// refuses an import under another one, which would give the same events other keys.
    pub fn identity_hash(&self) -> String {
        use sha2::Digest;
        if let Some(id) = &self.identity {
            return id.clone();
        }
        // Business hours change figures, never which events a file holds.
        let events_only = Mapping {
            calendar: None,
            ..self.clone()
        };
        let json = serde_json::to_vec(&events_only).unwrap_or_default();
        sha2::Sha256::digest(&json)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |message: String| IngestError::Mapping {
            origin: origin.to_owned(),
            message,
        };
        for cols in std::iter::once(&self.columns).chain(self.xes.as_ref()) {
            if cols.case.is_empty() || cols.timestamp.is_empty() {
                return Err(bad(
                    "columns.case and columns.timestamp must name a column".into()
                ));
            }
            if cols.activity.names().iter().all(|n| n.is_empty()) {
                return Err(bad("columns.activity must name at least one column".into()));
            }
        }
        let mut seen: BTreeMap<&str, State> = BTreeMap::new();
        for (state, values) in &self.states {
            for v in values {
                if let Some(prev) = seen.insert(v, *state)
                    && prev != *state
                {
                    return Err(bad(format!(
                        "value {v:?} is listed under both states.{prev} and states.{state}"
                    )));
                }
            }
        }
        if let Some(tz) = &self.timezone {
            crate::timestamp::Zone::parse(tz).map_err(bad)?;
        }
        if let Some(c) = &self.calendar {
            c.validate(origin)?;
        }
        for r in &self.escalation {
            if r.equals.is_empty() && r.ends_with.is_empty() && r.contains.is_empty() {
                return Err(bad(format!(
                    "escalation rule on {:?} has no equals, ends_with or contains",
                    r.field
                )));
            }
        }
        Ok(())
    }

    /// The columns for a given input kind.
    /// Without an `[xes]` section an XES input uses `[columns]` when they name XES keys
    /// (`case:…`), else the standard extensions (concept, time, org).
    pub fn columns_for(&self, xes: bool) -> &Columns {
        static STANDARD: std::sync::LazyLock<Columns> =
            std::sync::LazyLock::new(|| xes_default_mapping().columns);
        match (&self.xes, xes) {
            (Some(x), true) => x,
            (None, true) if !self.columns.case.starts_with("case:") => &STANDARD,
            _ => &self.columns,
        }
    }

    /// value → state, from the `[states]` table.
    pub fn state_lookup(&self) -> rustc_hash::FxHashMap<Vec<u8>, State> {
        self.states
            .iter()
            .flat_map(|(s, vs)| vs.iter().map(move |v| (v.as_bytes().to_vec(), *s)))
            .collect()
    }

    pub fn sla_config(&self) -> Option<SlaConfig> {
        self.sla.as_ref().map(|s| SlaConfig {
            priority_attr: s.priority.clone(),
            targets: s
                .targets
                .iter()
                .map(|(p, h)| SlaTarget {
                    priority: p.clone(),
                    first_response_s: h.first_response_hours.map(|x| x * 3600.0),
                    resolution_s: h.resolution_hours.map(|x| x * 3600.0),
                })
                .collect(),
        })
    }

    /// Guesses a mapping from header names (`case_id`, `CaseID`, `Case ID`,
    /// `case:concept:name`, `activity`, `concept:name`, `timestamp`, …). `None` when no
    /// case, activity or timestamp column is recognised.
    pub fn detect(header: &[String]) -> Option<Mapping> {
        // A help desk's own export shape, recognised by its field names, reads with its
        // preset (states, "no value" spellings, time format included).
        for name in ["servicenow"] {
            if let Ok(m) = Mapping::preset(name) {
                let c = &m.columns;
                let mut need = vec![c.case.as_str(), c.timestamp.as_str()];
                need.extend(c.state.as_deref());
                need.extend(c.team.as_deref());
                if need.iter().all(|n| header.iter().any(|h| h == n)) {
                    return Some(m);
                }
            }
        }
        let norm = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect()
        };
        let normed: Vec<String> = header.iter().map(|h| norm(h)).collect();
        let find = |cands: &[&str]| -> Option<String> {
            cands.iter().find_map(|c| {
                normed
                    .iter()
                    .position(|h| h == c)
                    .map(|i| header[i].clone())
            })
        };
        let case = find(&[
            "caseconceptname",
            "caseid",
            "case",
            "ticketid",
            "ticket",
            "ticketnumber",
            "srnumber",
            "incidentid",
            "issueid",
            "traceid",
        ])?;
        let activity = find(&[
            "activity",
            "conceptname",
            "activityid",
            "activityname",
            "eventname",
            "event",
            "action",
            "task",
        ])?;
        let timestamp = find(&[
            "timestamp",
            "timetimestamp",
            "completetimestamp",
            "endtimestamp",
            "endtime",
            "eventtime",
            "datetime",
            "changedatetime",
            "time",
            "date",
            "starttimestamp",
        ])?;
        let resource = find(&[
            "orgresource",
            "resource",
            "agent",
            "user",
            "assignee",
            "owner",
            "performer",
        ]);
        let team = find(&[
            "orggroup",
            "team",
            "group",
            "workgroup",
            "queue",
            "assignmentgroup",
            "department",
        ]);
        Some(Mapping {
            name: Some("detected".into()),
            columns: Columns {
                case,
                activity: OneOrMany::One(activity),
                timestamp,
                resource,
                team,
                ..Columns::default()
            },
            ..Mapping::default()
        })
    }

    /// One line naming the columns in use, for the "detected mapping" message.
    pub fn describe(&self, xes: bool) -> String {
        let c = self.columns_for(xes);
        let mut s = format!(
            "case={:?} activity={:?} timestamp={:?}",
            c.case,
            c.activity.names().join("+"),
            c.timestamp
        );
        if let Some(r) = &c.resource {
            s += &format!(" resource={r:?}");
        }
        if let Some(t) = &c.team {
            s += &format!(" team={t:?}");
        }
        if let Some(st) = &c.state {
            s += &format!(" state={st:?}");
        }
        s
    }
}

/// The XES standard extensions: concept, time, org.
pub fn xes_default_mapping() -> Mapping {
    Mapping {
        name: Some("xes".into()),
        columns: Columns {
            case: "case:concept:name".into(),
            activity: OneOrMany::One("concept:name".into()),
            timestamp: "time:timestamp".into(),
            resource: Some("org:resource".into()),
            team: Some("org:group".into()),
            ..Columns::default()
        },
        ..Mapping::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse() {
        for (name, _) in PRESETS {
            let m = Mapping::preset(name).unwrap();
            assert_eq!(m.name.as_deref(), Some(*name));
            assert!(!m.states.is_empty());
        }
    }

    #[test]
    fn detects_usual_headers() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = Mapping::detect(&h(&["CaseID", "ActivityID", "CompleteTimestamp"])).unwrap();
        assert_eq!(m.columns.case, "CaseID");
        assert_eq!(m.columns.timestamp, "CompleteTimestamp");
        let m = Mapping::detect(&h(&[
            "case:concept:name",
            "concept:name",
            "time:timestamp",
            "org:resource",
        ]))
        .unwrap();
        assert_eq!(m.columns.activity.names(), vec!["concept:name"]);
        assert_eq!(m.columns.resource.as_deref(), Some("org:resource"));
        let m = Mapping::detect(&h(&["case_id", "activity", "timestamp"])).unwrap();
        assert_eq!(m.columns.case, "case_id");
        assert!(Mapping::detect(&h(&["a", "b"])).is_none());
    }

    #[test]
    fn rejects_unknown_keys_and_conflicting_states() {
        let e = Mapping::from_toml(
            "[columns]\ncase='a'\nactivity='b'\ntimestamp='c'\ncolour='x'",
            "m.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("m.toml") && e.contains("colour"), "{e}");
        let e = Mapping::from_toml(
            "[columns]\ncase='a'\nactivity='b'\ntimestamp='c'\n[states]\nnew=['x']\nclosed=['x']",
            "m.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("both"), "{e}");
    }
}
