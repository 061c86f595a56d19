//! Writing events back out as CSV or XES, with a mapping that reads them back to the same
//! events: same case, time (milliseconds), activity, resource, team, state, escalation flag
//! and attributes.

use std::io::Write;

use flowgate_flow::{EventLogBuilder, NONE, State};

use crate::mapping::{Columns, EscalationRule, Mapping, OneOrMany};

const CASE: &str = "flowgate:case";
const TIME: &str = "flowgate:timestamp";
const ACTIVITY: &str = "flowgate:activity";
const RESOURCE: &str = "flowgate:resource";
const TEAM: &str = "flowgate:team";
const STATE: &str = "flowgate:state";
const ESCALATION: &str = "flowgate:escalation";

/// `2012-10-09T14:50:17.250Z`: RFC 3339, UTC, milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    flowgate_flow::time::format_utc_ms(ms)
}

/// The mapping that reads an export back: the flowgate columns, states by name, the
/// escalation flag, and the original's name, description and SLA.
pub fn export_mapping(original: &Mapping, xes: bool) -> Mapping {
    let columns = if xes {
        Columns {
            case: "case:concept:name".into(),
            activity: OneOrMany::One("concept:name".into()),
            timestamp: "time:timestamp".into(),
            resource: Some("org:resource".into()),
            team: Some("org:group".into()),
            state: Some(STATE.into()),
            activity_separator: None,
            order: None,
        }
    } else {
        Columns {
            case: CASE.into(),
            activity: OneOrMany::One(ACTIVITY.into()),
            timestamp: TIME.into(),
            resource: Some(RESOURCE.into()),
            team: Some(TEAM.into()),
            state: Some(STATE.into()),
            activity_separator: None,
            order: None,
        }
    };
    Mapping {
        name: original.name.clone(),
        description: Some(format!(
            "flowgate export{}",
            original
                .description
                .as_ref()
                .map(|d| format!(" of: {d}"))
                .unwrap_or_default()
        )),
        timezone: Some("UTC".into()),
        timestamp_format: None,
        delimiter: Some(','),
        null_values: Vec::new(),
        history: None,
        calendar: original.calendar.clone(),
        // The export holds the source's events again, under their identities.
        identity: Some(original.identity_hash()),
        xes: xes.then(|| columns.clone()),
        columns,
        states: if original.states.is_empty() {
            Default::default()
        } else {
            State::ALL
                .iter()
                .map(|s| (*s, vec![s.as_str().to_owned()]))
                .collect()
        },
        escalation: vec![EscalationRule {
            field: ESCALATION.into(),
            equals: vec!["true".into()],
            ..EscalationRule::default()
        }],
        sla: original.sla.clone(),
    }
}

/// Writes every row in source order as CSV.
pub fn write_csv(rows: &EventLogBuilder, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![CASE, TIME, ACTIVITY, RESOURCE, TEAM, STATE, ESCALATION];
    header.extend(rows.attr_names().iter().map(String::as_str));
    w.write_record(&header)?;
    let mut rec: Vec<String> = Vec::with_capacity(header.len());
    for i in 0..rows.len() {
        let r = rows.row(i);
        rec.clear();
        rec.push(rows.cases.resolve(r.case).to_owned());
        rec.push(rfc3339_ms(r.ts_ms));
        rec.push(rows.activities.resolve(r.activity).to_owned());
        rec.push(rows.resources.resolve(r.resource).to_owned());
        rec.push(rows.teams.resolve(r.team).to_owned());
        rec.push(r.state.map(|s| s.as_str()).unwrap_or("").to_owned());
        rec.push(if r.escalation { "true" } else { "" }.to_owned());
        for (col, values) in rows.attr_values.iter().enumerate() {
            rec.push(values.resolve(rows.attr_at(col, i)).to_owned());
        }
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes the rows as XES: one trace per case (cases in order of first appearance, events
/// in source order within each).
pub fn write_xes(rows: &EventLogBuilder, mut out: impl Write) -> std::io::Result<()> {
    let mut by_case: Vec<Vec<usize>> = vec![Vec::new(); rows.cases.len()];
    for i in 0..rows.len() {
        by_case[rows.row(i).case as usize].push(i);
    }
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8" ?>"#)?;
    writeln!(
        out,
        r#"<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">"#
    )?;
    for ext in [
        ("Concept", "concept", "concept"),
        ("Time", "time", "time"),
        ("Organizational", "org", "org"),
    ] {
        writeln!(
            out,
            r#"  <extension name="{}" prefix="{}" uri="http://www.xes-standard.org/{}.xesext"/>"#,
            ext.0, ext.1, ext.2
        )?;
    }
    let s = |out: &mut dyn Write, key: &str, value: &str| -> std::io::Result<()> {
        writeln!(
            out,
            r#"      <string key="{}" value="{}"/>"#,
            xml_escape(key),
            xml_escape(value)
        )
    };
    for (case, events) in by_case.iter().enumerate() {
        if events.is_empty() {
            continue;
        }
        writeln!(out, "  <trace>")?;
        writeln!(
            out,
            r#"    <string key="concept:name" value="{}"/>"#,
            xml_escape(rows.cases.resolve(case as u32))
        )?;
        for &i in events {
            let r = rows.row(i);
            writeln!(out, "    <event>")?;
            s(
                &mut out,
                "concept:name",
                rows.activities.resolve(r.activity),
            )?;
            writeln!(
                out,
                r#"      <date key="time:timestamp" value="{}"/>"#,
                rfc3339_ms(r.ts_ms)
            )?;
            if r.resource != NONE {
                s(&mut out, "org:resource", rows.resources.resolve(r.resource))?;
            }
            if r.team != NONE {
                s(&mut out, "org:group", rows.teams.resolve(r.team))?;
            }
            if let Some(st) = r.state {
                s(&mut out, STATE, st.as_str())?;
            }
            if r.escalation {
                s(&mut out, ESCALATION, "true")?;
            }
            for (col, values) in rows.attr_values.iter().enumerate() {
                let v = rows.attr_at(col, i);
                if v != NONE {
                    s(&mut out, &rows.attr_names()[col], values.resolve(v))?;
                }
            }
            writeln!(out, "    </event>")?;
        }
        writeln!(out, "  </trace>")?;
    }
    writeln!(out, "</log>")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_timestamps() {
        assert_eq!(rfc3339_ms(1_349_794_217_250), "2012-10-09T14:50:17.250Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }
}
