//! Tickets read from a table (CSV or a seq.in folder): the gate's ticket of a row, the
//! columns a rule needs, and repeat contacts counted within the file (`flowgate triage`,
//! `replay`, `assist`).

use std::collections::BTreeMap;
use std::path::Path;

use flowgate_demand::texts;
use flowgate_gate::policy::Condition;
use flowgate_gate::{Gate, Ticket};

use crate::{Error, Result};

/// Column names tried for the customer and the ticket time.
pub const CUSTOMER_NAMES: [&str; 4] = ["customer", "customer_id", "requester", "account"];
pub const TIME_NAMES: [&str; 5] = ["created", "created_at", "opened", "time", "timestamp"];

/// The position of a ticket column: `given` (any case), else the first of `names` present.
/// The error says who `needs` it ("{needs} a {role} column"; "no {role} column" when empty).
pub fn ticket_column(
    data: &texts::Labelled,
    path: &Path,
    given: Option<&str>,
    names: &[&str],
    role: &str,
    needs: &str,
) -> Result<usize> {
    let want: Vec<String> = match given {
        Some(g) => vec![g.to_lowercase()],
        None => names.iter().map(|s| s.to_string()).collect(),
    };
    want.iter()
        .find_map(|w| data.columns.iter().position(|c| c == w))
        .ok_or_else(|| {
            let what = if needs.is_empty() {
                format!("no {role} column")
            } else {
                format!("{needs} a {role} column")
            };
            Error::Invalid(format!(
                "{}: {what} (tried {}; name it with --{role}-col); the header has: {}",
                path.display(),
                want.join(", "),
                data.columns.join(", ")
            ))
        })
}

/// Per ticket: days since the same customer's previous ticket in the file, when the policy
/// has a repeat-contact rule (else all `None`).
pub fn days_since_previous(
    gate: &Gate,
    data: &texts::Labelled,
    path: &Path,
    customer_col: Option<&str>,
    time_col: Option<&str>,
) -> Result<Vec<Option<f64>>> {
    let n = data.texts.len();
    let Some(rule) = gate
        .policy
        .rules
        .iter()
        .find(|r| matches!(r.condition, Condition::RepeatWithinDays(_)))
    else {
        return Ok(vec![None; n]);
    };
    let needs = format!("rule {:?} (repeat contact) needs", rule.name);
    let c = ticket_column(
        data,
        path,
        customer_col,
        &CUSTOMER_NAMES,
        "customer",
        &needs,
    )?;
    let t = ticket_column(data, path, time_col, &TIME_NAMES, "time", &needs)?;
    let mut parser = flowgate_ingest::timestamp::TimestampParser::new(
        flowgate_ingest::timestamp::Zone::Utc,
        None,
    );
    let mut by_customer: BTreeMap<&str, Vec<(i64, usize)>> = BTreeMap::new();
    for (i, row) in data.rows.iter().enumerate() {
        let cust = row.get(c).map(|s| s.trim()).unwrap_or_default();
        let raw = row.get(t).map(|s| s.trim()).unwrap_or_default();
        if cust.is_empty() {
            continue;
        }
        let ms = parser.parse(raw.as_bytes()).ok_or_else(|| {
            Error::Invalid(format!(
                "{}:{}: field {:?} = {raw:?}: expected {}",
                path.display(),
                data.lines[i],
                data.columns[t],
                parser.expected()
            ))
        })?;
        by_customer.entry(cust).or_default().push((ms, i));
    }
    let mut out = vec![None; n];
    for list in by_customer.values_mut() {
        list.sort_unstable();
        for w in list.windows(2) {
            out[w[1].1] = Some((w[1].0 - w[0].0) as f64 / 86_400_000.0);
        }
    }
    Ok(out)
}

/// Row `i` of a ticket table as the gate's ticket (the customer from `customer_col` when
/// the column is not named `customer`).
pub fn ticket(data: &texts::Labelled, i: usize, customer_col: Option<usize>) -> Ticket {
    let empty = Vec::new();
    let row = data.rows.get(i).unwrap_or(&empty);
    let mut t = Ticket::from_row(&data.ids[i], &data.texts[i], &data.columns, row);
    if t.customer.is_none() {
        t.customer = customer_col
            .and_then(|c| row.get(c))
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
    }
    t
}
