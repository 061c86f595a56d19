//! What a help desk's webhook delivery means: tickets for the gate and history events for the
//! store. Reads flowgate's own Standard Webhooks payloads (`{"type", "data"}`), Zendesk ticket
//! events (`zen:event-type:ticket.*`), Jira issue webhooks (`webhookEvent`) and GitHub issues
//! events (`action` + `issue`), told apart by their content.
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
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Flowgate => "flowgate",
            Shape::Zendesk => "zendesk",
            Shape::Jira => "jira",
            Shape::GitHub => "github",
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

/// Reads a delivery's body.
pub fn parse(body: &[u8]) -> Result<Inbound> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::Invalid(format!("the body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(invalid("", "expected a JSON object"));
    }
    let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
    if ty.starts_with("zen:event-type:") {
        zendesk(&v, ty)
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
             (type zen:event-type:…), a Jira webhook (webhookEvent) or a GitHub issues event \
             (action, issue)",
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
        Value::String(s) => s.parse().ok().or_else(|| {
            // 2023-11-14T10:00:00.000+0000 → …+00:00
            let (head, off) = s.split_at(s.len().checked_sub(5)?);
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
}
