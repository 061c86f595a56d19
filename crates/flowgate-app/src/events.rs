//! History events that arrive while the service runs (`POST /v1/events`, help-desk webhooks),
//! appended to a source in the store under the same identity rules as `import`: an event's
//! key is a hash of its content and its occurrence number, so the same events sent twice are
//! stored once and `baseline --db` stays current without re-importing.

use std::collections::BTreeMap;

use flowgate_flow::{EventLogBuilder, EventRow, NONE, State};
use flowgate_store::{ImportRequest, ImportSummary, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// One event in the canonical model's fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The case (ticket) the event belongs to.
    pub case: String,
    pub activity: String,
    /// RFC 3339 with an offset (`2026-11-30T09:15:00Z`).
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// One of `new`, `waiting_internal`, `waiting_customer`, `working`, `resolved`, `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub escalation: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// The mapping kept with a source fed by the service: the canonical fields themselves, so
/// `baseline --db`, `db export` and a later `import` read the source like any other.
pub const LIVE_MAPPING: &str = r#"name = "live"
description = "events sent to flowgate serve, in the canonical model's fields"
timezone = "UTC"

[columns]
case = "case"
activity = "activity"
timestamp = "time"
resource = "resource"
team = "team"
state = "state"

[states]
new = ["new"]
waiting_internal = ["waiting_internal"]
waiting_customer = ["waiting_customer"]
working = ["working"]
resolved = ["resolved"]
closed = ["closed"]
"#;

/// Checks every event and builds the rows, or says which event and field is wrong
/// (`events[3].time: expected RFC 3339 …`).
pub fn rows(events: &[Event]) -> Result<EventLogBuilder> {
    let mut b = EventLogBuilder::new(true);
    b.reserve(events.len());
    for (i, e) in events.iter().enumerate() {
        let bad =
            |field: &str, what: String| Error::Invalid(format!("events[{i}].{field}: {what}"));
        if e.case.trim().is_empty() {
            return Err(bad("case", "expected the ticket's id".into()));
        }
        if e.activity.trim().is_empty() {
            return Err(bad("activity", "expected a name".into()));
        }
        let ts = e
            .time
            .parse::<jiff::Timestamp>()
            .map_err(|x| bad("time", format!("expected RFC 3339 with an offset: {x}")))?;
        let state = match e.state.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(State::parse(s).ok_or_else(|| {
                bad(
                    "state",
                    format!(
                        "expected one of {}, got {s:?}",
                        State::ALL.map(State::as_str).join(", ")
                    ),
                )
            })?),
        };
        let mut attrs = Vec::new();
        for (k, v) in &e.attributes {
            let col = b.attr_column(k);
            if attrs.len() <= col {
                attrs.resize(col + 1, NONE);
            }
            attrs[col] = b.attr_values[col].intern(v);
        }
        let row = EventRow {
            case: b.cases.intern(&e.case),
            ts_ms: ts.as_millisecond(),
            activity: b.activities.intern(&e.activity),
            resource: e
                .resource
                .as_deref()
                .filter(|s| !s.is_empty())
                .map_or(NONE, |r| b.resources.intern(r)),
            team: e
                .team
                .as_deref()
                .filter(|s| !s.is_empty())
                .map_or(NONE, |t| b.teams.intern(t)),
            state,
            escalation: e.escalation,
        };
        b.push(row, &attrs);
    }
    Ok(b)
}

/// Appends `events` to `source` as one import (one transaction): events already stored are
/// counted as duplicates, not stored again. A source imported from a file keeps its mapping
/// (its states, SLA table, time zone): the events come in the canonical fields either way; a
/// new source gets [`LIVE_MAPPING`].
pub async fn append(
    store: &Store,
    source: &str,
    events: &[Event],
    actor: &str,
    via: &str,
) -> Result<ImportSummary> {
    let b = rows(events)?;
    let json = serde_json::to_vec(events).map_err(|e| Error::Invalid(e.to_string()))?;
    let hash: String = Sha256::digest(&json)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    let kept = store.source_mapping(source).await?;
    Ok(store
        .import(
            &ImportRequest {
                source,
                rows: &b,
                mapping_toml: kept.as_deref().unwrap_or(LIVE_MAPPING),
                mapping_hash: None,
                replace: false,
                record_empty: false,
                cursor: None,
                file: via,
                file_hash: &hash,
                username: actor,
                rows_read: events.len() as u64,
                rejected: 0,
            },
            &|_, _| {},
        )
        .await?)
}

/// A `created` event of `case` (new), for tests.
#[cfg(test)]
pub(crate) fn created(case: &str) -> Event {
    Event {
        case: case.into(),
        activity: "created".into(),
        time: "2026-11-30T10:00:00Z".into(),
        resource: None,
        team: None,
        state: Some("new".into()),
        escalation: false,
        attributes: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(time: &str, state: Option<&str>) -> Event {
        Event {
            case: "T-1".into(),
            activity: "status".into(),
            time: time.into(),
            resource: Some("a".into()),
            team: None,
            state: state.map(str::to_owned),
            escalation: false,
            attributes: BTreeMap::from([("assignee".into(), "7".into())]),
        }
    }

    #[test]
    fn the_live_mapping_is_a_mapping() {
        let m = flowgate_ingest::Mapping::from_toml(LIVE_MAPPING, "LIVE_MAPPING").unwrap();
        assert_eq!(m.states.len(), 6);
        assert_eq!(m.columns.timestamp, "time");
    }

    #[test]
    fn bad_fields_are_named_with_their_index() {
        let ok = event("2026-11-30T09:00:00Z", Some("working"));
        assert_eq!(rows(std::slice::from_ref(&ok)).unwrap().len(), 1);
        let e = rows(&[ok.clone(), event("yesterday", None)]).unwrap_err();
        assert!(e.to_string().starts_with("events[1].time:"), "{e}");
        let e = rows(&[event("2026-11-30T09:00:00Z", Some("done"))]).unwrap_err();
        assert!(e.to_string().contains("events[0].state"), "{e}");
        assert!(e.to_string().contains("waiting_customer"), "{e}");
    }

    #[tokio::test]
    async fn a_file_source_keeps_its_mapping_when_events_are_appended() {
        let dir = std::env::temp_dir().join(format!("flowgate-app-events-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir.join("e.db").display().to_string())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let e = created;
        // A new source gets the live mapping.
        append(&store, "live", &[e("L-1")], "t", "test")
            .await
            .unwrap();
        assert_eq!(
            store.source_mapping("live").await.unwrap().as_deref(),
            Some(LIVE_MAPPING)
        );
        // A source imported from a file keeps the file's mapping.
        let file_mapping =
            "name = \"helpdesk\"\n[columns]\ncase = \"id\"\nactivity = \"a\"\ntimestamp = \"t\"\n";
        let rows = rows(&[e("F-1")]).unwrap();
        store
            .import(
                &ImportRequest {
                    source: "helpdesk",
                    rows: &rows,
                    mapping_toml: file_mapping,
                    mapping_hash: None,
                    replace: false,
                    record_empty: true,
                    cursor: None,
                    file: "export.csv",
                    file_hash: "h",
                    username: "t",
                    rows_read: 1,
                    rejected: 0,
                },
                &|_, _| {},
            )
            .await
            .unwrap();
        let s = append(&store, "helpdesk", &[e("F-2")], "t", "test")
            .await
            .unwrap();
        assert_eq!(s.events_new, 1);
        assert_eq!(
            store.source_mapping("helpdesk").await.unwrap().as_deref(),
            Some(file_mapping)
        );
        assert_eq!(store.source_mapping("nope").await.unwrap(), None);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
