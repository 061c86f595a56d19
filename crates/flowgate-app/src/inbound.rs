//! What a help desk's webhook delivery means: tickets for the gate and history events for the
//! store. Reads flowgate's own Standard Webhooks payloads (`{"type", "data"}`), Zendesk ticket
//! events (`zen:event-type:ticket.*`), Jira issue webhooks (`webhookEvent`), GitHub issues
//! events (`action` + `issue`), Freshdesk automation webhooks (`freshdesk_webhook` with the
//! `ticket_*` placeholders), Intercom notifications (`notification_event` with a
//! `conversation.*` topic) and ServiceNow records as its REST messages send them (an incident
//! with `sys_id`, alone or as `result`), told apart by their content.
//!
//! Parsing is pure and total: a delivery either yields its work or an error that says what
//! was expected, so the service can refuse a malformed delivery before storing it.

use std::collections::BTreeMap;

use flowgate_gate::Ticket;
use serde_json::Value;

use crate::events::Event;
use crate::{Error, Result};

/// The shapes read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Flowgate,
    Zendesk,
    Jira,
    GitHub,
    Freshdesk,
    Intercom,
    ServiceNow,
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Flowgate => "flowgate",
            Shape::Zendesk => "zendesk",
            Shape::Jira => "jira",
            Shape::GitHub => "github",
            Shape::Freshdesk => "freshdesk",
            Shape::Intercom => "intercom",
            Shape::ServiceNow => "servicenow",
        }
    }
}

/// What one delivery asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct Inbound {
    pub shape: Shape,
    /// The sender's name of what happened (`ticket.created`, `jira:issue_updated`, `closed`…).
    pub what: String,
    /// Tickets to decide (created, or their text changed).
    pub tickets: Vec<Ticket>,
    /// History events to append.
    pub events: Vec<Event>,
}

/// Reads a delivery's body. `received` is when flowgate received it: the time of what a
/// sender does not date (Freshdesk's placeholders carry no time unless the rule adds one).
pub fn parse(body: &[u8], received: jiff::Timestamp) -> Result<Inbound> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::Malformed(format!("the body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(invalid("", "expected a JSON object"));
    }
    let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
    let servicenow_record = v
        .get("result")
        .filter(|r| r.is_object())
        .or(Some(&v))
        .filter(|r| r.get("sys_id").is_some());
    if ty.starts_with("zen:event-type:") {
        zendesk(&v, ty)
    } else if ty == "notification_event" {
        intercom(&v)
    } else if let Some(w) = v.get("freshdesk_webhook") {
        freshdesk(w, received)
    } else if let Some(r) = servicenow_record {
        servicenow(r)
    } else if !ty.is_empty() && v.get("data").is_some() {
        flowgate(&v, ty)
    } else if let Some(w) = v.get("webhookEvent").and_then(Value::as_str) {
        jira(&v, w)
    } else if let (Some(a), Some(_)) = (v.get("action").and_then(Value::as_str), v.get("issue")) {
        github(&v, a)
    } else {
        Err(invalid(
            "",
            "not a shape flowgate reads: expected flowgate's {\"type\", \"data\"}, a Zendesk event \
             (type zen:event-type:…), a Jira webhook (webhookEvent), a GitHub issues event \
             (action, issue), a Freshdesk webhook (freshdesk_webhook), an Intercom notification \
             (type notification_event) or a ServiceNow record (sys_id)",
        ))
    }
}

fn invalid(field: &str, what: &str) -> Error {
    if field.is_empty() {
        Error::Invalid(what.to_owned())
    } else {
        Error::Invalid(format!("{field}: {what}"))
    }
}

/// A string or a number as text (help desks send ids as either).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

/// RFC 3339, accepting Jira's `+0000` offsets and epoch milliseconds.
fn time(v: Option<&Value>) -> Option<jiff::Timestamp> {
    match v? {
        Value::Number(n) => jiff::Timestamp::from_millisecond(n.as_i64()?).ok(),
        Value::String(s) => s
            .parse()
            .ok()
            .or_else(|| {
                // ServiceNow: 2026-03-02 09:00:00 (no offset), in UTC through its REST API.
                (s.len() == 19 && s.as_bytes()[10] == b' ')
                    .then(|| s.parse::<jiff::civil::DateTime>().ok())??
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .ok()
                    .map(|z| z.timestamp())
            })
            .or_else(|| {
                // 2023-11-14T10:00:00.000+0000 → …+00:00
                let cut = s.len().checked_sub(5)?;
                let (head, off) = (s.get(..cut)?, s.get(cut..)?);
                (off.starts_with(['+', '-']) && off[1..].bytes().all(|b| b.is_ascii_digit()))
                    .then(|| format!("{head}{}:{}", &off[..3], &off[3..]))?
                    .parse()
                    .ok()
            }),
        _ => None,
    }
}

fn rfc3339(t: jiff::Timestamp) -> String {
    t.to_string()
}

fn required_time(v: &Value, path: &str) -> Result<jiff::Timestamp> {
    time(at(v, path)).ok_or_else(|| invalid(path, "expected a time (RFC 3339 or epoch ms)"))
}

fn event(case: &str, activity: &str, t: jiff::Timestamp) -> Event {
    Event {
        case: case.to_owned(),
        activity: activity.to_owned(),
        time: rfc3339(t),
        resource: None,
        team: None,
        state: None,
        escalation: false,
        attributes: BTreeMap::new(),
    }
}

// ---- flowgate's own payloads ---------------------------------------------------------------

fn flowgate(v: &Value, ty: &str) -> Result<Inbound> {
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    let mut out = Inbound {
        shape: Shape::Flowgate,
        what: ty.to_owned(),
        tickets: Vec::new(),
        events: Vec::new(),
    };
    match ty {
        "ticket.created" | "ticket.updated" => {
            let t: Ticket = serde_json::from_value(data)
                .map_err(|e| invalid("data", &format!("expected a ticket: {e}")))?;
            check_ticket(&t)?;
            out.tickets.push(t);
        }
        "ticket.events" => {
            out.events = serde_json::from_value(data)
                .map_err(|e| invalid("data", &format!("expected a list of events: {e}")))?;
            crate::events::rows(&out.events)?;
        }
        other => {
            return Err(invalid(
                "type",
                &format!("expected ticket.created, ticket.updated or ticket.events, got {other:?}"),
            ));
        }
    }
    Ok(out)
}

/// The longest ticket id accepted.
pub const MAX_ID: usize = 200;

/// A ticket the gate can decide: an id of 1 to [`MAX_ID`] characters and some text.
pub fn check_ticket(t: &Ticket) -> Result<()> {
    if t.id.trim().is_empty() || t.id.len() > MAX_ID {
        return Err(invalid("id", &format!("expected 1 to {MAX_ID} characters")));
    }
    if t.text().trim().is_empty() {
        return Err(invalid("body", "expected the ticket's text"));
    }
    if let Some(c) = &t.created_at
        && c.parse::<jiff::Timestamp>().is_err()
    {
        return Err(invalid(
            "created_at",
            &format!("{c:?}: expected an RFC 3339 time such as 2026-03-01T09:30:00Z"),
        ));
    }
    Ok(())
}

// ---- Zendesk ticket events -----------------------------------------------------------------

/// Zendesk's statuses in the canonical model.
pub fn zendesk_state(status: &str) -> Option<&'static str> {
    Some(match status.to_ascii_lowercase().as_str() {
        "new" => "new",
        "open" => "working",
        "pending" => "waiting_customer",
        "hold" | "on-hold" | "on_hold" => "waiting_internal",
        "solved" => "resolved",
        "closed" => "closed",
        _ => return None,
    })
}

/// An id or a `{id, name}` object (Zendesk's `current` of an assignment change).
fn id_or_name(v: Option<&Value>) -> Option<String> {
    let v = v?;
    text(Some(v))
        .or_else(|| text(v.get("name")))
        .or_else(|| text(v.get("id")))
}

fn zendesk(v: &Value, ty: &str) -> Result<Inbound> {
    let what = ty.trim_start_matches("zen:event-type:").to_owned();
    let d = at(v, "detail").ok_or_else(|| invalid("detail", "expected the ticket's detail"))?;
    let id = text(d.get("id")).ok_or_else(|| invalid("detail.id", "expected the ticket's id"))?;
    let t = required_time(v, "time")?;
    let mut out = Inbound {
        shape: Shape::Zendesk,
        what: what.clone(),
        tickets: Vec::new(),
        events: Vec::new(),
    };
    let mut e = event(&id, "", t);
    e.resource = text(d.get("actor_id"));
    e.team = text(d.get("group_id"));
    if let Some(a) = text(d.get("assignee_id")) {
        e.attributes.insert("assignee".into(), a);
    }
    let current = at(v, "event.current");
    match what.as_str() {
        "ticket.created" => {
            out.tickets.push(zendesk_ticket(d, &id)?);
            e.activity = "created".into();
            e.state = Some(
                text(d.get("status"))
                    .and_then(|s| zendesk_state(&s))
                    .unwrap_or("new")
                    .into(),
            );
            out.events.push(e);
        }
        "ticket.subject_changed" | "ticket.description_changed" => {
            out.tickets.push(zendesk_ticket(d, &id)?);
        }
        "ticket.status_changed" => {
            let s =
                text(current).ok_or_else(|| invalid("event.current", "expected the new status"))?;
            e.activity = format!("status: {}", s.to_ascii_lowercase());
            e.state = zendesk_state(&s).map(str::to_owned);
            out.events.push(e);
        }
        "ticket.group_assignment_changed" => {
            e.activity = "group changed".into();
            e.team = id_or_name(current);
            out.events.push(e);
        }
        "ticket.agent_assignment_changed" => {
            e.activity = "assignee changed".into();
            match id_or_name(current) {
                Some(a) => e.attributes.insert("assignee".into(), a),
                None => e.attributes.remove("assignee"),
            };
            out.events.push(e);
        }
        // Comments, tags, custom fields…: nothing the gate or the flow metrics read.
        _ => {}
    }
    Ok(out)
}

fn zendesk_ticket(d: &Value, id: &str) -> Result<Ticket> {
    let t = Ticket {
        source: None,
        id: id.to_owned(),
        customer: text(d.get("requester_id")),
        subject: text(d.get("subject")),
        body: text(d.get("description")).unwrap_or_default(),
        channel: text(at(d, "via.channel")),
        priority: text(d.get("priority")).map(|p| p.to_ascii_lowercase()),
        language: None,
        created_at: time(d.get("created_at")).map(rfc3339),
        attributes: BTreeMap::new(),
    };
    check_ticket(&t)?;
    Ok(t)
}

// ---- Jira issue webhooks -------------------------------------------------------------------

/// Common Jira status names in the canonical model (lower-case).
pub fn jira_state(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "to do" | "open" | "new" | "backlog" | "selected for development" => "new",
        "in progress" | "in review" | "work in progress" | "reopened" => "working",
        "waiting for customer" | "pending customer" | "waiting on customer" => "waiting_customer",
        "waiting for support" | "pending" | "on hold" | "blocked" | "waiting for approval" => {
            "waiting_internal"
        }
        "done" | "resolved" => "resolved",
        "closed" | "canceled" | "cancelled" | "won't do" | "declined" => "closed",
        _ => return None,
    })
}

/// Jira's description: a string, or an Atlassian Document Format tree whose text leaves are
/// joined with spaces.
fn adf_text(v: Option<&Value>) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(s)) = m.get("text") {
                    out.push(s.clone());
                }
                if let Some(c) = m.get("content") {
                    walk(c, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            let mut parts = Vec::new();
            walk(v, &mut parts);
            parts.join(" ")
        }
        None => String::new(),
    }
}

fn person(v: Option<&Value>) -> Option<String> {
    let v = v?;
    text(v.get("accountId"))
        .or_else(|| text(v.get("emailAddress")))
        .or_else(|| text(v.get("name")))
        .or_else(|| text(v.get("displayName")))
}

fn jira(v: &Value, w: &str) -> Result<Inbound> {
    let issue = at(v, "issue").ok_or_else(|| invalid("issue", "expected the issue"))?;
    let key = text(issue.get("key")).ok_or_else(|| invalid("issue.key", "expected its key"))?;
    let t = required_time(v, "timestamp")?;
    let f = issue.get("fields").cloned().unwrap_or(Value::Null);
    let mut out = Inbound {
        shape: Shape::Jira,
        what: w.to_owned(),
        tickets: Vec::new(),
        events: Vec::new(),
    };
    let ticket = || -> Result<Ticket> {
        let t = Ticket {
            source: None,
            id: key.clone(),
            customer: person(f.get("reporter")),
            subject: text(f.get("summary")),
            body: adf_text(f.get("description")),
            channel: Some("jira".into()),
            priority: text(at(&f, "priority.name")).map(|p| p.to_ascii_lowercase()),
            language: None,
            created_at: time(f.get("created")).map(rfc3339),
            attributes: BTreeMap::new(),
        };
        check_ticket(&t)?;
        Ok(t)
    };
    let base = || {
        let mut e = event(&key, "", t);
        e.resource = person(v.get("user"));
        if let Some(a) = person(f.get("assignee")) {
            e.attributes.insert("assignee".into(), a);
        }
        e
    };
    match w {
        "jira:issue_created" => {
            out.tickets.push(ticket()?);
            let mut e = base();
            e.activity = "created".into();
            let status = text(at(&f, "status.name"));
            e.state = Some(
                status
                    .as_deref()
                    .and_then(jira_state)
                    .unwrap_or("new")
                    .into(),
            );
            out.events.push(e);
        }
        "jira:issue_updated" => {
            let items = at(v, "changelog.items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut text_changed = false;
            for (i, it) in items.iter().enumerate() {
                let field = text(it.get("field"))
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let to = text(it.get("toString"));
                let mut e = base();
                match field.as_str() {
                    "status" => {
                        let to = to.ok_or_else(|| {
                            invalid(
                                &format!("changelog.items[{i}].toString"),
                                "expected the new status",
                            )
                        })?;
                        e.activity = format!("status: {}", to.to_ascii_lowercase());
                        e.state = jira_state(&to).map(str::to_owned);
                    }
                    "assignee" => {
                        e.activity = "assignee changed".into();
                        match to {
                            Some(a) => e.attributes.insert("assignee".into(), a),
                            None => e.attributes.remove("assignee"),
                        };
                    }
                    "team" => {
                        e.activity = "team changed".into();
                        e.team = to;
                    }
                    "summary" | "description" => {
                        text_changed = true;
                        continue;
                    }
                    _ => continue,
                }
                out.events.push(e);
            }
            if text_changed {
                out.tickets.push(ticket()?);
            }
        }
        _ => {}
    }
    Ok(out)
}

// ---- GitHub issues events ------------------------------------------------------------------

/// A label that names a team: `team:billing` → `billing`.
pub const GITHUB_TEAM_PREFIX: &str = "team:";

fn github(v: &Value, action: &str) -> Result<Inbound> {
    let issue = at(v, "issue").ok_or_else(|| invalid("issue", "expected the issue"))?;
    let number = text(issue.get("number"))
        .ok_or_else(|| invalid("issue.number", "expected the issue's number"))?;
    let id = match text(at(v, "repository.full_name")) {
        Some(r) => format!("{r}#{number}"),
        None => format!("#{number}"),
    };
    let t = time(issue.get("updated_at"))
        .or_else(|| time(issue.get("created_at")))
        .ok_or_else(|| invalid("issue.updated_at", "expected a time (RFC 3339)"))?;
    let mut out = Inbound {
        shape: Shape::GitHub,
        what: action.to_owned(),
        tickets: Vec::new(),
        events: Vec::new(),
    };
    let ticket = || -> Result<Ticket> {
        let t = Ticket {
            source: None,
            id: id.clone(),
            customer: text(at(issue, "user.login")),
            subject: text(issue.get("title")),
            body: text(issue.get("body")).unwrap_or_default(),
            channel: Some("github".into()),
            priority: None,
            language: None,
            created_at: time(issue.get("created_at")).map(rfc3339),
            attributes: BTreeMap::new(),
        };
        check_ticket(&t)?;
        Ok(t)
    };
    let mut e = event(&id, action, t);
    e.resource = text(at(v, "sender.login"));
    e.team = issue
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| text(l.get("name")))
        .find_map(|n| n.strip_prefix(GITHUB_TEAM_PREFIX).map(str::to_owned));
    if let Some(a) = text(at(issue, "assignee.login")) {
        e.attributes.insert("assignee".into(), a);
    }
    match action {
        "opened" => {
            out.tickets.push(ticket()?);
            e.state = Some("new".into());
            out.events.push(e);
        }
        "edited" => out.tickets.push(ticket()?),
        "closed" => {
            let planned = text(issue.get("state_reason")).as_deref() != Some("not_planned");
            e.state = Some(if planned { "resolved" } else { "closed" }.into());
            e.time = time(issue.get("closed_at")).map_or(e.time, rfc3339);
            out.events.push(e);
        }
        "reopened" => {
            e.state = Some("working".into());
            out.events.push(e);
        }
        "assigned" | "unassigned" | "labeled" | "unlabeled" => out.events.push(e),
        _ => {}
    }
    Ok(out)
}

/// A time in Unix seconds (Intercom's), or any form [`time`] reads.
fn seconds(v: Option<&Value>) -> Option<jiff::Timestamp> {
    match v? {
        Value::Number(n) => jiff::Timestamp::from_second(n.as_i64()?).ok(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            jiff::Timestamp::from_second(s.parse().ok()?).ok()
        }
        other => time(Some(other)),
    }
}

/// The text of an HTML fragment (Intercom and Freshdesk send bodies as HTML): tags become
/// spaces, the common entities their characters, runs of spaces one.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A new ticket: decided, and its `Created` event (state `new` unless the sender said).
fn push_created(out: &mut Inbound, t: Ticket, e: &mut Event) -> Result<()> {
    check_ticket(&t)?;
    out.tickets.push(t);
    e.activity = "Created".into();
    e.state.get_or_insert_with(|| "new".into());
    Ok(())
}

/// Pushes `t` when it has text to decide on (a snapshot of an update may carry none).
fn push_if_text(out: &mut Inbound, t: Ticket) -> Result<()> {
    if !t.body.trim().is_empty() || t.subject.as_deref().is_some_and(|s| !s.trim().is_empty()) {
        check_ticket(&t)?;
        out.tickets.push(t);
    }
    Ok(())
}

// ---- Freshdesk automation webhooks ---------------------------------------------------------

/// Freshdesk's statuses (names or codes) in the canonical model.
pub fn freshdesk_state(status: &str) -> Option<&'static str> {
    Some(match status.trim().to_ascii_lowercase().as_str() {
        "open" | "2" => "working",
        "pending" | "3" | "waiting on customer" | "6" => "waiting_customer",
        "waiting on third party" | "7" => "waiting_internal",
        "resolved" | "4" => "resolved",
        "closed" | "5" => "closed",
        _ => return None,
    })
}

/// `{"freshdesk_webhook": {"ticket_id", "ticket_subject", "ticket_description",
/// "ticket_status", "ticket_priority", "ticket_source", "ticket_group_name",
/// "ticket_agent_email", "ticket_requester_email", "triggered_event", …}}` — what an
/// automation rule's "Trigger webhook" sends with the ticket placeholders selected.
/// `triggered_event` (`{ticket_action:created}`, `{status:{from:Open,to:Pending}}`,
/// `{group_id:…}`, `{responder_id:…}`) names the change; without it the delivery is a
/// snapshot of the ticket.
fn freshdesk(w: &Value, received: jiff::Timestamp) -> Result<Inbound> {
    let f = |k: &str| text(w.get(k));
    let id = f("ticket_id")
        .ok_or_else(|| invalid("freshdesk_webhook.ticket_id", "expected the ticket's id"))?;
    let t = time(w.get("ticket_updated_at"))
        .or_else(|| time(w.get("ticket_updated_on")))
        .unwrap_or(received);
    let what = f("triggered_event").unwrap_or_else(|| "ticket".into());
    let event_kind = what.to_ascii_lowercase();
    let mut out = Inbound {
        shape: Shape::Freshdesk,
        what: what.clone(),
        tickets: Vec::new(),
        events: Vec::new(),
    };
    let ticket = Ticket {
        source: None,
        id: id.clone(),
        customer: f("ticket_requester_email")
            .or_else(|| f("ticket_requester_id"))
            .or_else(|| f("ticket_contact_email")),
        subject: f("ticket_subject"),
        body: f("ticket_description_text")
            .or_else(|| f("ticket_description").map(|d| html_text(&d)))
            .unwrap_or_default(),
        channel: f("ticket_source").map(|c| c.to_ascii_lowercase()),
        priority: f("ticket_priority").map(|p| p.to_ascii_lowercase()),
        language: None,
        created_at: time(w.get("ticket_created_at"))
            .or_else(|| time(w.get("ticket_created_on")))
            .map(rfc3339),
        attributes: BTreeMap::new(),
    };
    let status = f("ticket_status");
    let mut e = event(&id, "", t);
    e.resource = f("ticket_triggered_by").or_else(|| f("performer"));
    e.team = f("ticket_group_name").or_else(|| f("ticket_group_id"));
    if let Some(a) = f("ticket_agent_email")
        .or_else(|| f("ticket_agent_name"))
        .or_else(|| f("ticket_responder_id"))
    {
        e.attributes.insert("assignee".into(), a);
    }
    e.state = status
        .as_deref()
        .and_then(freshdesk_state)
        .map(str::to_owned);
    if event_kind.contains("ticket_action:created") {
        push_created(&mut out, ticket, &mut e)?;
    } else {
        push_if_text(&mut out, ticket)?;
        e.activity = if event_kind.contains("status") {
            format!("Status: {}", status.as_deref().unwrap_or("?"))
        } else if event_kind.contains("group") {
            "Group change".into()
        } else if event_kind.contains("responder") || event_kind.contains("agent") {
            "Assignment".into()
        } else {
            "Updated".into()
        };
    }
    out.events.push(e);
    Ok(out)
}

// ---- Intercom notifications ----------------------------------------------------------------

/// `{"type": "notification_event", "topic": "conversation.…", "created_at", "data": {"item":
/// conversation}}`. States as the `intercom` preset reads them: open → working, snoozed →
/// waiting_customer, closed → resolved; an assignment to a team is a team change.
fn intercom(v: &Value) -> Result<Inbound> {
    let topic = text(v.get("topic")).ok_or_else(|| invalid("topic", "expected the topic"))?;
    let item = at(v, "data.item").ok_or_else(|| invalid("data.item", "expected the item"))?;
    let mut out = Inbound {
        shape: Shape::Intercom,
        what: topic.clone(),
        tickets: Vec::new(),
        events: Vec::new(),
    };
    if !topic.starts_with("conversation.") {
        // Contacts, companies, tickets' own topics…: nothing the gate or the flow reads.
        return Ok(out);
    }
    let id = text(item.get("id")).ok_or_else(|| invalid("data.item.id", "expected its id"))?;
    let t = seconds(v.get("created_at"))
        .or_else(|| seconds(item.get("updated_at")))
        .ok_or_else(|| invalid("created_at", "expected a time (Unix seconds)"))?;
    let customer = text(at(item, "source.author.id")).or_else(|| {
        at(item, "contacts.contacts")
            .and_then(Value::as_array)
            .and_then(|c| text(c.first()?.get("id")))
    });
    let ticket = Ticket {
        source: None,
        id: id.clone(),
        customer,
        subject: text(at(item, "source.subject"))
            .map(|s| html_text(&s))
            .filter(|s| !s.is_empty()),
        body: text(at(item, "source.body"))
            .map(|b| html_text(&b))
            .unwrap_or_default(),
        channel: text(at(item, "source.delivered_as"))
            .or_else(|| text(at(item, "source.type")))
            .map(|c| c.to_ascii_lowercase()),
        priority: text(item.get("priority")).map(|p| p.to_ascii_lowercase()),
        language: None,
        created_at: seconds(item.get("created_at")).map(rfc3339),
        attributes: BTreeMap::new(),
    };
    let mut e = event(&id, "", t);
    e.team = text(item.get("team_assignee_id"));
    if let Some(a) = text(item.get("admin_assignee_id")).filter(|a| a != "0") {
        e.attributes.insert("assignee".into(), a);
    }
    // The newest part names who acted, when the notification carries it.
    e.resource = at(item, "conversation_parts.conversation_parts")
        .and_then(Value::as_array)
        .and_then(|p| text(at(p.last()?, "author.id")));
    match topic.trim_start_matches("conversation.") {
        "user.created" | "admin.single.created" => {
            e.state = Some("working".into());
            push_created(&mut out, ticket, &mut e)?;
        }
        "admin.closed" => {
            e.activity = "Status: closed".into();
            e.state = Some("resolved".into());
        }
        "admin.opened" | "admin.unsnoozed" | "user.unsnoozed" => {
            e.activity = "Status: open".into();
            e.state = Some("working".into());
        }
        "admin.snoozed" => {
            e.activity = "Status: snoozed".into();
            e.state = Some("waiting_customer".into());
        }
        "admin.assigned" => {
            e.activity = if e.team.is_some() && !e.attributes.contains_key("assignee") {
                "Group change"
            } else {
                "Assignment"
            }
            .into();
        }
        "user.replied" => e.activity = "Customer message".into(),
        "admin.replied" | "admin.noted" => e.activity = "Reply".into(),
        _ => return Ok(out),
    }
    out.events.push(e);
    Ok(out)
}

// ---- ServiceNow records --------------------------------------------------------------------

/// ServiceNow's incident states (codes or names) in the canonical model, as the
/// `servicenow` preset reads them.
pub fn servicenow_state(state: &str) -> Option<&'static str> {
    Some(match state.trim().to_ascii_lowercase().as_str() {
        "1" | "new" => "new",
        "2" | "in progress" | "active" => "working",
        "3" | "on hold" | "awaiting user info" => "waiting_customer",
        "awaiting problem" | "awaiting vendor" | "awaiting evidence" | "awaiting change" => {
            "waiting_internal"
        }
        "6" | "resolved" => "resolved",
        "7" | "closed" | "8" | "canceled" | "cancelled" => "closed",
        _ => return None,
    })
}

/// A ServiceNow field: a string, or a reference `{"value", "display_value", "link"}` (its
/// display value first).
fn sn(v: &Value, key: &str) -> Option<String> {
    let f = v.get(key)?;
    text(Some(f))
        .or_else(|| text(f.get("display_value")))
        .or_else(|| text(f.get("value")))
}

/// An incident record as a REST message or business rule sends it (the Table API's fields,
/// alone or as `{"result": …}`): a snapshot after an update. `sys_mod_count` 0 is the
/// creation; otherwise the event carries the state, group and assignee as they now are, and
/// the flow layer sees a change where they differ from the ticket's previous event.
fn servicenow(r: &Value) -> Result<Inbound> {
    let id = sn(r, "number")
        .or_else(|| sn(r, "sys_id"))
        .ok_or_else(|| invalid("number", "expected the record's number"))?;
    let t = time(r.get("sys_updated_on"))
        .or_else(|| time(r.get("sys_created_on")))
        .ok_or_else(|| {
            invalid(
                "sys_updated_on",
                "expected a time (YYYY-MM-DD HH:MM:SS in UTC, or RFC 3339)",
            )
        })?;
    let created = sn(r, "sys_mod_count").is_some_and(|c| c.trim() == "0");
    let mut out = Inbound {
        shape: Shape::ServiceNow,
        what: if created { "inserted" } else { "updated" }.into(),
        tickets: Vec::new(),
        events: Vec::new(),
    };
    let ticket = Ticket {
        source: None,
        id: id.clone(),
        customer: sn(r, "caller_id").or_else(|| sn(r, "opened_by")),
        subject: sn(r, "short_description"),
        body: sn(r, "description").unwrap_or_default(),
        channel: sn(r, "contact_type").map(|c| c.to_ascii_lowercase()),
        priority: sn(r, "priority").map(|p| p.to_ascii_lowercase()),
        language: None,
        created_at: time(r.get("sys_created_on")).map(rfc3339),
        attributes: BTreeMap::new(),
    };
    let state = sn(r, "incident_state").or_else(|| sn(r, "state"));
    let mut e = event(&id, "", t);
    e.resource = sn(r, "sys_updated_by");
    e.team = sn(r, "assignment_group");
    if let Some(a) = sn(r, "assigned_to") {
        e.attributes.insert("assignee".into(), a);
    }
    e.state = state
        .as_deref()
        .and_then(servicenow_state)
        .map(str::to_owned);
    if created {
        push_created(&mut out, ticket, &mut e)?;
    } else {
        // The same text again is the same decision (idempotent); changed text is decided anew.
        push_if_text(&mut out, ticket)?;
        e.activity = "Updated".into();
    }
    out.events.push(e);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_offsets_and_epoch_ms_are_times() {
        let t = time(Some(&Value::from("2023-11-14T10:00:00.000+0100"))).unwrap();
        assert_eq!(t.to_string(), "2023-11-14T09:00:00Z");
        let t = time(Some(&Value::from(1_700_000_000_000_i64))).unwrap();
        assert_eq!(t.as_second(), 1_700_000_000);
        assert!(time(Some(&Value::from("last week"))).is_none());
    }

    #[test]
    fn adf_descriptions_become_text() {
        let v: Value = serde_json::json!({"type": "doc", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Refund"},
                                              {"type": "text", "text": "please"}]}]});
        assert_eq!(adf_text(Some(&v)), "Refund please");
    }

    fn at_noon() -> jiff::Timestamp {
        "2026-03-02T12:00:00Z".parse().unwrap()
    }

    fn parsed(v: Value) -> Inbound {
        parse(v.to_string().as_bytes(), at_noon()).unwrap()
    }

    #[test]
    fn freshdesk_created_status_and_snapshot() {
        let created = parsed(serde_json::json!({"freshdesk_webhook": {
            "ticket_id": 41, "ticket_subject": "Card declined",
            "ticket_description": "<div>My card was declined&nbsp;&amp; charged</div>",
            "ticket_status": "Open", "ticket_priority": "Low", "ticket_source": "Email",
            "ticket_group_name": "Billing", "ticket_agent_email": "sam@example.com",
            "ticket_requester_email": "ana@example.com",
            "triggered_event": "{ticket_action:created}"}}));
        assert_eq!(created.shape, Shape::Freshdesk);
        let t = &created.tickets[0];
        assert_eq!(
            (t.id.as_str(), t.body.as_str(), t.customer.as_deref()),
            (
                "41",
                "My card was declined & charged",
                Some("ana@example.com")
            )
        );
        assert_eq!(
            (t.channel.as_deref(), t.priority.as_deref()),
            (Some("email"), Some("low"))
        );
        let e = &created.events[0];
        // No time in the payload: the time flowgate received it.
        assert_eq!(
            (e.activity.as_str(), e.state.as_deref(), e.time.as_str()),
            ("Created", Some("working"), "2026-03-02T12:00:00Z")
        );
        assert_eq!(e.team.as_deref(), Some("Billing"));
        assert_eq!(e.attributes["assignee"], "sam@example.com");
        let pending = parsed(serde_json::json!({"freshdesk_webhook": {
            "ticket_id": "41", "ticket_status": "Waiting on Third Party",
            "ticket_updated_at": "2026-03-02T10:30:00Z",
            "triggered_event": "{status:{from:Open,to:Waiting on Third Party}}"}}));
        assert!(pending.tickets.is_empty(), "no text: nothing to decide");
        let e = &pending.events[0];
        assert_eq!(
            (e.activity.as_str(), e.state.as_deref(), e.time.as_str()),
            (
                "Status: Waiting on Third Party",
                Some("waiting_internal"),
                "2026-03-02T10:30:00Z"
            )
        );
        let err = parse(
            br#"{"freshdesk_webhook": {"ticket_subject": "x"}}"#,
            at_noon(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("freshdesk_webhook.ticket_id"), "{err}");
    }

    #[test]
    fn intercom_topics_become_tickets_and_states() {
        let created = parsed(serde_json::json!({"type": "notification_event",
            "topic": "conversation.user.created", "created_at": 1_772_452_800,
            "data": {"item": {"type": "conversation", "id": "9001", "created_at": 1_772_452_790,
                "source": {"delivered_as": "customer_initiated", "subject": "",
                           "body": "<p>Where is my <b>parcel</b>?</p>",
                           "author": {"type": "user", "id": "u-1"}}}}}));
        assert_eq!(created.shape, Shape::Intercom);
        let t = &created.tickets[0];
        assert_eq!(
            (t.body.as_str(), t.subject.as_deref(), t.customer.as_deref()),
            ("Where is my parcel ?", None, Some("u-1"))
        );
        // Unix seconds: 1772452790 is 2026-03-02T11:59:50Z.
        assert_eq!(t.created_at.as_deref(), Some("2026-03-02T11:59:50Z"));
        let e = &created.events[0];
        assert_eq!(
            (e.activity.as_str(), e.state.as_deref(), e.time.as_str()),
            ("Created", Some("working"), "2026-03-02T12:00:00Z")
        );
        let event = |topic: &str, item: Value| {
            let mut item = item;
            item["id"] = "9001".into();
            parsed(
                serde_json::json!({"type": "notification_event", "topic": topic,
                "created_at": 1_772_456_400, "data": {"item": item}}),
            )
            .events
        };
        let snoozed = event("conversation.admin.snoozed", serde_json::json!({}));
        assert_eq!(snoozed[0].state.as_deref(), Some("waiting_customer"));
        let closed = event("conversation.admin.closed", serde_json::json!({}));
        assert_eq!(
            (closed[0].activity.as_str(), closed[0].state.as_deref()),
            ("Status: closed", Some("resolved"))
        );
        let to_team = event(
            "conversation.admin.assigned",
            serde_json::json!({"team_assignee_id": "5017", "admin_assignee_id": null}),
        );
        assert_eq!(
            (to_team[0].activity.as_str(), to_team[0].team.as_deref()),
            ("Group change", Some("5017"))
        );
        assert!(event("conversation.admin.unknown_topic", serde_json::json!({})).is_empty());
        let contact = parsed(serde_json::json!({"type": "notification_event",
            "topic": "contact.user.created", "data": {"item": {"id": "c"}}}));
        assert!(contact.events.is_empty() && contact.tickets.is_empty());
    }

    #[test]
    fn servicenow_records_are_snapshots() {
        let inserted = parsed(serde_json::json!({"result": {
            "sys_id": "9d38", "number": "INC0010001", "sys_mod_count": "0", "state": "1",
            "short_description": "VPN down", "description": "Cannot reach the VPN since 9",
            "caller_id": {"value": "6816", "link": "https://x"},
            "assignment_group": {"display_value": "Service Desk", "value": "d625"},
            "sys_created_on": "2026-03-02 09:00:00", "sys_updated_on": "2026-03-02 09:00:00"}}));
        assert_eq!(inserted.shape, Shape::ServiceNow);
        assert_eq!(inserted.what, "inserted");
        let t = &inserted.tickets[0];
        assert_eq!(
            (
                t.id.as_str(),
                t.customer.as_deref(),
                t.created_at.as_deref()
            ),
            ("INC0010001", Some("6816"), Some("2026-03-02T09:00:00Z"))
        );
        let e = &inserted.events[0];
        assert_eq!(
            (e.activity.as_str(), e.state.as_deref(), e.team.as_deref()),
            ("Created", Some("new"), Some("Service Desk"))
        );
        // An update without text: a snapshot event, nothing to decide.
        let on_hold = parsed(serde_json::json!({"sys_id": "9d38", "number": "INC0010001",
            "sys_mod_count": 3, "incident_state": "On Hold", "assigned_to": "beth",
            "sys_updated_on": "2026-03-02 11:15:00"}));
        assert!(on_hold.tickets.is_empty());
        let e = &on_hold.events[0];
        assert_eq!(
            (e.activity.as_str(), e.state.as_deref(), e.time.as_str()),
            ("Updated", Some("waiting_customer"), "2026-03-02T11:15:00Z")
        );
        assert_eq!(e.attributes["assignee"], "beth");
        for (code, state) in [("2", "working"), ("6", "resolved"), ("8", "closed")] {
            assert_eq!(servicenow_state(code), Some(state));
        }
        let err = parse(br#"{"sys_id": "x", "number": "INC1"}"#, at_noon())
            .unwrap_err()
            .to_string();
        assert!(err.contains("sys_updated_on"), "{err}");
    }

    #[test]
    fn times_never_panic_on_odd_text() {
        for s in ["é€", "2026-03-02 09:00:0é", "+0000", "ééééé+0000"] {
            let _ = time(Some(&Value::from(s)));
        }
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-zA-Z0-9 :.+\\-<>&;é]{0,24}".prop_map(Value::from),
            Just(Value::from("2026-03-02 09:00:00")),
            Just(Value::from("2026-03-02T09:00:00.000+0100")),
            Just(Value::from("{ticket_action:created}")),
            Just(Value::from("conversation.admin.closed")),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            let keys = prop_oneof![
                Just("id".to_owned()),
                Just("ticket_id".to_owned()),
                Just("ticket_description".to_owned()),
                Just("ticket_status".to_owned()),
                Just("triggered_event".to_owned()),
                Just("item".to_owned()),
                Just("source".to_owned()),
                Just("body".to_owned()),
                Just("created_at".to_owned()),
                Just("number".to_owned()),
                Just("sys_id".to_owned()),
                Just("sys_mod_count".to_owned()),
                Just("sys_updated_on".to_owned()),
                Just("state".to_owned()),
                Just("assignment_group".to_owned()),
                "[a-z_]{1,8}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(keys, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever a sender puts under a shape's markers, parsing answers (never panics),
        /// and what it accepts is something the service can store: tickets that pass the
        /// ticket check, events with an RFC 3339 time.
        #[test]
        fn any_delivery_is_answered_and_what_is_accepted_is_whole(
            inner in any_json(),
            shape in 0usize..4,
            topic in "(conversation\\.[a-z.]{0,20}|contact\\.x)",
        ) {
            let v = match shape {
                0 => serde_json::json!({"freshdesk_webhook": inner}),
                1 => serde_json::json!({"type": "notification_event", "topic": topic,
                                        "created_at": 1_772_452_800, "data": {"item": inner}}),
                2 => serde_json::json!({"result": inner}),
                _ => inner,
            };
            if let Ok(got) = parse(v.to_string().as_bytes(), at_noon()) {
                for t in &got.tickets {
                    proptest::prop_assert!(check_ticket(t).is_ok(), "{t:?}");
                }
                for e in &got.events {
                    proptest::prop_assert!(e.time.parse::<jiff::Timestamp>().is_ok(), "{e:?}");
                    proptest::prop_assert!(!e.activity.is_empty(), "{e:?}");
                }
            }
        }
    }
}
