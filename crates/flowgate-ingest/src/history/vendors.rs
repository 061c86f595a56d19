//! Each vendor's records, as its documentation shapes them, flattened into [`Change`]s.
//! Only the fields flowgate reads are declared; everything else is skipped.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Change, History, Sink, Text, Vendor, any_text, typed};
use crate::error::{IngestError, Result};

/// What flattening needs across records.
pub(super) struct State {
    /// The case of records that do not name their ticket (a paged Jira changelog, a GitHub
    /// timeline): the file name up to its first dot.
    file_case: String,
    team_field: Option<String>,
    label_prefix: String,
    /// ServiceNow `sys_audit`: the update being gathered (rows of one update share
    /// document, time, user and checkpoint) and its key.
    pending: Option<(String, Change, bool)>,
}

impl State {
    pub(super) fn new(h: &History, file: &Path) -> State {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        State {
            file_case: name.split('.').next().unwrap_or_default().to_owned(),
            team_field: h.team_field.clone(),
            label_prefix: h.label_prefix.clone().unwrap_or_else(|| "team:".into()),
            pending: None,
        }
    }
}

/// Flattens one record given as a JSON value (a page's element, a one-record document).
pub(super) fn record(vendor: Vendor, sink: &mut Sink<'_>, v: serde_json::Value) {
    fn go<R: DeserializeOwned>(
        sink: &mut Sink<'_>,
        vendor: Vendor,
        v: serde_json::Value,
        f: fn(R, &mut Sink<'_>),
    ) {
        if let Some(r) = typed::<R>(sink, vendor, v) {
            f(r, sink);
        }
    }
    match vendor {
        Vendor::ServicenowAudit => go(sink, vendor, v, servicenow),
        Vendor::Zendesk => go(sink, vendor, v, zendesk),
        Vendor::Jira => go(sink, vendor, v, jira),
        Vendor::Freshdesk => go(sink, vendor, v, freshdesk),
        Vendor::Intercom => go(sink, vendor, v, intercom),
        Vendor::Github => go(sink, vendor, v, github),
    }
}

/// Flattens one record given as a JSON text (a line of JSON lines): parsed straight into
/// the vendor's type. A line that is JSON but not such a record is rejected with a
/// diagnostic; a line that is not JSON is an error.
pub(super) fn record_slice(
    vendor: Vendor,
    sink: &mut Sink<'_>,
    bytes: &[u8],
) -> std::result::Result<(), serde_json::Error> {
    fn go<R: DeserializeOwned>(
        sink: &mut Sink<'_>,
        vendor: Vendor,
        bytes: &[u8],
        f: fn(R, &mut Sink<'_>),
    ) -> std::result::Result<(), serde_json::Error> {
        // simd-json first, on a copy (it rewrites what it parses); whatever it refuses is read
        // again by serde_json, whose verdict (a record, a record of another shape, not JSON)
        // and message stand.
        let mut scratch = std::mem::take(&mut sink.scratch);
        scratch.clear();
        scratch.extend_from_slice(bytes);
        let fast = simd_json::serde::from_slice_with_buffers::<R>(&mut scratch, &mut sink.simd);
        sink.scratch = scratch;
        if let Ok(r) = fast {
            f(r, sink);
            return Ok(());
        }
        let parsed = serde_json::from_slice::<R>(bytes);
        match parsed {
            Ok(r) => {
                f(r, sink);
                Ok(())
            }
            Err(e) if e.is_data() => {
                sink.reject("record", &format!("a {vendor} record"), e.to_string());
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    match vendor {
        Vendor::ServicenowAudit => go(sink, vendor, bytes, servicenow),
        Vendor::Zendesk => go(sink, vendor, bytes, zendesk),
        Vendor::Jira => go(sink, vendor, bytes, jira),
        Vendor::Freshdesk => go(sink, vendor, bytes, freshdesk),
        Vendor::Intercom => go(sink, vendor, bytes, intercom),
        Vendor::Github => go(sink, vendor, bytes, github),
    }
}

/// Emits what is still gathered at the end of the file.
pub(super) fn finish(sink: &mut Sink<'_>) {
    if let Some((_, c, _)) = sink.state.pending.take() {
        sink.emit(&c);
    }
}

// ---------------------------------------------------------------- ServiceNow sys_audit

#[derive(Deserialize)]
struct SnAudit {
    documentkey: Text,
    fieldname: Text,
    #[serde(default, deserialize_with = "any_text")]
    oldvalue: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    newvalue: Option<Text>,
    sys_created_on: Text,
    #[serde(default, deserialize_with = "any_text")]
    user: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    record_checkpoint: Option<Text>,
}

/// One `sys_audit` row is one field's change; the rows of one update (same document, time,
/// user and checkpoint, as the export lists them together) become one change.
fn servicenow(r: SnAudit, sink: &mut Sink<'_>) {
    let key = format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        r.documentkey,
        r.sys_created_on,
        r.user.as_deref().unwrap_or_default(),
        r.record_checkpoint.as_deref().unwrap_or_default()
    );
    let same = matches!(&sink.state.pending, Some((k, _, _)) if *k == key);
    if !same {
        finish(sink);
        let c = Change {
            ticket: r.documentkey.clone(),
            time: r.sys_created_on.clone(),
            seq: r.record_checkpoint.clone(),
            author: r.user.clone(),
            ..Change::default()
        };
        sink.state.pending = Some((key, c, false));
    }
    let Some((_, c, created)) = &mut sink.state.pending else {
        return;
    };
    let new = r.newvalue.filter(|v| !v.is_empty());
    match r.fieldname.as_str() {
        "state" | "incident_state" => {
            *created |= r.oldvalue.as_deref().is_none_or(str::is_empty);
            c.status = new;
        }
        "assignment_group" => c.group = new,
        "assigned_to" => c.assignee = new,
        "priority" => c.priority = new,
        _ => {}
    }
    let created = *created;
    c.name(created);
}

/// `sys_audit` as CSV (the list view's export).
pub(super) fn servicenow_csv(
    reader: Box<dyn std::io::BufRead + Send>,
    sink: &mut Sink<'_>,
    path: &str,
) -> Result<()> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| IngestError::Csv {
            path: path.to_owned(),
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(IngestError::Csv {
                    path: path.to_owned(),
                    line: e.position().map_or(0, |p| p.line()),
                    message: e.to_string(),
                });
            }
        }
        sink.line = rec.position().map_or(0, |p| p.line());
        match rec.deserialize::<SnAudit>(Some(&headers)) {
            Ok(r) => servicenow(r, sink),
            Err(e) => sink.reject("record", "a sys_audit row", e.to_string()),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- Zendesk

/// A ticket audit (`audits[]`) or an incremental ticket event (`ticket_events[]`).
#[derive(Deserialize)]
struct ZdRecord {
    #[serde(deserialize_with = "any_text")]
    ticket_id: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    created_at: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    timestamp: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    author_id: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    updater_id: Option<Text>,
    #[serde(default)]
    events: Vec<ZdEvent>,
    #[serde(default)]
    child_events: Vec<ZdEvent>,
}

/// An audit's event (`type`, `field_name`, `value`) or an incremental child event
/// (`event_type`, the changed field as its own key, `previous_value`).
#[derive(Deserialize)]
struct ZdEvent {
    #[serde(default, rename = "type")]
    kind: Option<Text>,
    #[serde(default)]
    event_type: Option<Text>,
    #[serde(default)]
    field_name: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    value: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    status: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    group_id: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    assignee_id: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    priority: Option<Text>,
}

fn zendesk(r: ZdRecord, sink: &mut Sink<'_>) {
    let Some(ticket) = r.ticket_id else {
        sink.reject("ticket_id", "a ticket id", "null".into());
        return;
    };
    let mut c = Change {
        ticket,
        time: r.created_at.or(r.timestamp).unwrap_or_default(),
        author: r.author_id.or(r.updater_id),
        ..Change::default()
    };
    let (mut created, mut comment) = (false, false);
    for e in r.events.into_iter().chain(r.child_events) {
        let kind = e.kind.or(e.event_type).unwrap_or_default();
        match kind.as_str() {
            "Create" | "Change" => {
                created |= kind == "Create";
                let mut set = |field: &str, value: Option<Text>| match field {
                    "status" => c.status = value,
                    "group_id" => c.group = value,
                    "assignee_id" => c.assignee = value,
                    "priority" => c.priority = value,
                    _ => {}
                };
                match e.field_name {
                    Some(f) => set(&f, e.value),
                    None => {
                        for (f, v) in [
                            ("status", e.status),
                            ("group_id", e.group_id),
                            ("assignee_id", e.assignee_id),
                            ("priority", e.priority),
                        ] {
                            if v.is_some() {
                                set(f, v);
                            }
                        }
                    }
                }
            }
            "Comment" | "VoiceComment" => comment = true,
            _ => {}
        }
    }
    c.name(created);
    if c.activity.is_empty() && comment {
        c.activity = "Comment".into();
    }
    sink.emit(&c);
}

// ---------------------------------------------------------------- Jira

#[derive(Deserialize, Default)]
struct JiraUser {
    #[serde(default, rename = "accountId")]
    account_id: Option<Text>,
    #[serde(default)]
    name: Option<Text>,
    #[serde(default, rename = "displayName")]
    display_name: Option<Text>,
}

impl JiraUser {
    fn id(self) -> Option<Text> {
        self.account_id.or(self.name).or(self.display_name)
    }
}

#[derive(Deserialize)]
struct JiraItem {
    field: Text,
    #[serde(default, rename = "fromString")]
    from_string: Option<Text>,
    #[serde(default, rename = "toString")]
    to_string: Option<Text>,
}

#[derive(Deserialize)]
struct JiraHistory {
    created: Text,
    #[serde(default)]
    author: Option<JiraUser>,
    #[serde(default)]
    items: Vec<JiraItem>,
}

#[derive(Deserialize)]
struct JiraNamed {
    name: Text,
}

#[derive(Deserialize, Default)]
struct JiraFields {
    #[serde(default)]
    created: Option<Text>,
    #[serde(default)]
    status: Option<JiraNamed>,
    #[serde(default)]
    creator: Option<JiraUser>,
    #[serde(default)]
    reporter: Option<JiraUser>,
}

#[derive(Deserialize)]
struct JiraChangelog {
    #[serde(default)]
    histories: Vec<JiraHistory>,
}

/// An issue with `expand=changelog`, or one history of a paged changelog (`values[]`).
#[derive(Deserialize)]
struct JiraRecord {
    #[serde(default)]
    key: Option<Text>,
    #[serde(default)]
    fields: Option<JiraFields>,
    #[serde(default)]
    changelog: Option<JiraChangelog>,
    #[serde(default)]
    created: Option<Text>,
    #[serde(default)]
    author: Option<JiraUser>,
    #[serde(default)]
    items: Option<Vec<JiraItem>>,
}

fn jira_change(ticket: &str, h: JiraHistory, team_field: Option<&str>) -> Change {
    let mut c = Change {
        ticket: ticket.into(),
        time: h.created,
        author: h.author.and_then(JiraUser::id),
        ..Change::default()
    };
    for it in h.items {
        let to = it.to_string.filter(|s| !s.is_empty());
        if it.field.eq_ignore_ascii_case("status") {
            c.status = to;
        } else if it.field.eq_ignore_ascii_case("assignee") {
            c.assignee = to;
        } else if team_field.is_some_and(|t| it.field.eq_ignore_ascii_case(t)) {
            c.group = to;
        } else if it.field.eq_ignore_ascii_case("priority") {
            c.priority = to;
        }
    }
    c.name(false);
    c
}

fn jira(r: JiraRecord, sink: &mut Sink<'_>) {
    let team_field = sink.state.team_field.clone();
    let team_field = team_field.as_deref();
    let Some(key) = r.key else {
        // One history of a paged changelog: the issue is named by the file.
        let Some(created) = r.created else {
            sink.reject(
                "key",
                "an issue (key) or a changelog history (created)",
                String::new(),
            );
            return;
        };
        let h = JiraHistory {
            created,
            author: r.author,
            items: r.items.unwrap_or_default(),
        };
        let ticket = sink.state.file_case.clone();
        let c = jira_change(&ticket, h, team_field);
        sink.emit(&c);
        return;
    };
    let fields = r.fields.unwrap_or_default();
    let mut histories = r.changelog.map(|c| c.histories).unwrap_or_default();
    // Jira pages changelogs newest first in some versions: order by time (stable).
    histories.sort_by(|a, b| a.created.cmp(&b.created));
    // The status and team an issue was created in: the first change's "from", else now.
    let first_from = |field: &dyn Fn(&str) -> bool| {
        histories
            .iter()
            .flat_map(|h| &h.items)
            .find(|it| field(&it.field))
            .map(|it| it.from_string.clone())
    };
    let status = first_from(&|f| f.eq_ignore_ascii_case("status"))
        .unwrap_or_else(|| fields.status.map(|s| s.name));
    let group = team_field
        .and_then(|t| first_from(&|f| f.eq_ignore_ascii_case(t)))
        .flatten();
    if let Some(created) = fields.created {
        let mut c = Change {
            ticket: key.clone(),
            time: created,
            author: fields.creator.or(fields.reporter).and_then(JiraUser::id),
            status: status.filter(|s| !s.is_empty()),
            group: group.filter(|s| !s.is_empty()),
            ..Change::default()
        };
        c.name(true);
        sink.emit(&c);
    }
    for h in histories {
        let c = jira_change(&key, h, team_field);
        sink.emit(&c);
    }
}

// ---------------------------------------------------------------- Freshdesk

#[derive(Deserialize, Default)]
struct FdActivity {
    #[serde(default, deserialize_with = "any_text")]
    status: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    group: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    agent_id: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    priority: Option<Text>,
    #[serde(default)]
    new_ticket: Option<bool>,
    #[serde(default)]
    note: Option<serde::de::IgnoredAny>,
}

/// One element of the ticket activities export's `activities_data[]`.
#[derive(Deserialize)]
struct FdRecord {
    #[serde(deserialize_with = "any_text")]
    ticket_id: Option<Text>,
    #[serde(deserialize_with = "any_text")]
    performed_at: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    performer_id: Option<Text>,
    #[serde(default)]
    activity: FdActivity,
}

fn freshdesk(r: FdRecord, sink: &mut Sink<'_>) {
    let Some(ticket) = r.ticket_id else {
        sink.reject("ticket_id", "a ticket id", "null".into());
        return;
    };
    let a = r.activity;
    let mut c = Change {
        ticket,
        time: r.performed_at.unwrap_or_default(),
        author: r.performer_id,
        status: a.status,
        group: a.group,
        assignee: a.agent_id,
        priority: a.priority,
        ..Change::default()
    };
    c.name(a.new_ticket == Some(true));
    if c.activity.is_empty() && a.note.is_some() {
        c.activity = "Comment".into();
    }
    sink.emit(&c);
}

// ---------------------------------------------------------------- Intercom

#[derive(Deserialize)]
struct IcRef {
    #[serde(default, rename = "type")]
    kind: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    id: Option<Text>,
}

#[derive(Deserialize)]
struct IcSource {
    #[serde(default)]
    author: Option<IcRef>,
}

#[derive(Deserialize)]
struct IcPart {
    part_type: Text,
    #[serde(deserialize_with = "any_text")]
    created_at: Option<Text>,
    #[serde(default)]
    author: Option<IcRef>,
    #[serde(default)]
    assigned_to: Option<IcRef>,
}

/// `conversation_parts` is a list object in the API (`{"conversation_parts": [...]}`); a
/// plain array is read too.
#[derive(Deserialize)]
#[serde(untagged)]
enum IcParts {
    List { conversation_parts: Vec<IcPart> },
    Plain(Vec<IcPart>),
}

#[derive(Deserialize)]
struct IcConversation {
    #[serde(deserialize_with = "any_text")]
    id: Option<Text>,
    #[serde(default, deserialize_with = "any_text")]
    created_at: Option<Text>,
    #[serde(default)]
    source: Option<IcSource>,
    #[serde(default)]
    conversation_parts: Option<IcParts>,
}

fn intercom(r: IcConversation, sink: &mut Sink<'_>) {
    let Some(ticket) = r.id else {
        sink.reject("id", "a conversation id", "null".into());
        return;
    };
    if let Some(created) = r.created_at {
        let mut c = Change {
            ticket: ticket.clone(),
            time: created,
            author: r.source.and_then(|s| s.author).and_then(|a| a.id),
            status: Some("open".into()),
            ..Change::default()
        };
        c.name(true);
        sink.emit(&c);
    }
    let parts = match r.conversation_parts {
        Some(IcParts::List { conversation_parts }) => conversation_parts,
        Some(IcParts::Plain(p)) => p,
        None => Vec::new(),
    };
    for p in parts {
        let by_team = p
            .author
            .as_ref()
            .and_then(|a| a.kind.as_deref())
            .is_some_and(|k| matches!(k, "admin" | "bot" | "team"));
        let mut c = Change {
            ticket: ticket.clone(),
            time: p.created_at.unwrap_or_default(),
            author: p.author.and_then(|a| a.id),
            ..Change::default()
        };
        let t = p.part_type.as_str();
        match t {
            "open" | "unsnoozed" | "assign_and_reopen" | "assign_and_unsnooze" => {
                c.status = Some("open".into())
            }
            "close" => c.status = Some("closed".into()),
            "snoozed" => c.status = Some("snoozed".into()),
            _ => {}
        }
        if t.contains("assign")
            && let Some(to) = p.assigned_to
        {
            match to.kind.as_deref() {
                Some("team") => c.group = to.id,
                _ => c.assignee = to.id,
            }
        }
        c.name(false);
        if c.activity.is_empty() && t == "comment" {
            c.activity = if by_team { "Reply" } else { "Customer message" }.into();
        }
        sink.emit(&c);
    }
}

// ---------------------------------------------------------------- GitHub

#[derive(Deserialize)]
struct GhUser {
    #[serde(default)]
    login: Option<Text>,
}

#[derive(Deserialize)]
struct GhLabel {
    name: Text,
}

#[derive(Deserialize)]
struct GhIssue {
    #[serde(deserialize_with = "any_text")]
    number: Option<Text>,
}

/// An issue event (`/issues/events`, naming its issue) or a timeline item (the issue is
/// named by the file).
#[derive(Deserialize)]
struct GhEvent {
    event: Text,
    #[serde(default, deserialize_with = "any_text")]
    created_at: Option<Text>,
    #[serde(default)]
    actor: Option<GhUser>,
    #[serde(default)]
    user: Option<GhUser>,
    #[serde(default)]
    assignee: Option<GhUser>,
    #[serde(default)]
    label: Option<GhLabel>,
    #[serde(default)]
    issue: Option<GhIssue>,
}

fn github(r: GhEvent, sink: &mut Sink<'_>) {
    let ticket = r
        .issue
        .and_then(|i| i.number)
        .unwrap_or_else(|| sink.state.file_case.as_str().into());
    let mut c = Change {
        ticket,
        time: r.created_at.unwrap_or_default(),
        author: r.actor.or(r.user).and_then(|u| u.login),
        ..Change::default()
    };
    let mut created = false;
    match r.event.as_str() {
        "opened" => {
            created = true;
            c.status = Some("open".into());
        }
        "reopened" => c.status = Some("open".into()),
        "closed" => c.status = Some("closed".into()),
        "assigned" => c.assignee = r.assignee.and_then(|u| u.login),
        "labeled" => {
            c.group = r.label.and_then(|l| {
                l.name
                    .strip_prefix(sink.state.label_prefix.as_str())
                    .map(Text::from)
            })
        }
        _ => {}
    }
    c.name(created);
    if c.activity.is_empty() && r.event == "commented" {
        c.activity = "Comment".into();
    }
    sink.emit(&c);
}
