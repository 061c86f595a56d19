//! Business outcomes joined to a log's cases: the outcomes file (one row per customer:
//! churn, conversion, on-time delivery) read with file, line and field in every error, and
//! joined by customer to the cases of a source (`flowgate outcomes`).

use std::collections::HashMap;
use std::path::Path;

use flowgate_flow::NONE;
use flowgate_flow::segment::case_attr;
use flowgate_value::outcomes::{Outcome, Outcomes};

use crate::analytics::{SourceLog, parse_instant};
use crate::tickets::CUSTOMER_NAMES;
use crate::{Error, Result};

/// The outcomes file's rows, and each customer's row number.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutcomeTable {
    pub rows: Vec<Outcome>,
    pub by_customer: HashMap<String, usize>,
}

/// Reads the outcomes file: a customer column (any of [`CUSTOMER_NAMES`]) and at least one of
/// `churned_at`, `converted_at`, `delivered_on_time`.
pub fn read(path: &Path) -> Result<OutcomeTable> {
    let at = path.display();
    let mut r =
        csv::Reader::from_path(path).map_err(|e| Error::Invalid(format!("reading {at}: {e}")))?;
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::Malformed(format!("{at}: reading the header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let id = find(&CUSTOMER_NAMES).ok_or_else(|| {
        Error::Invalid(format!(
            "{at}: no customer column (expected one of {}); found {}",
            CUSTOMER_NAMES.join(", "),
            header.join(", ")
        ))
    })?;
    let churned = find(&["churned_at", "churn_date", "churned"]);
    let converted = find(&["converted_at", "conversion_date", "converted"]);
    let on_time = find(&["delivered_on_time", "on_time"]);
    if churned.is_none() && converted.is_none() && on_time.is_none() {
        return Err(Error::Invalid(format!(
            "{at}: expected at least one of churned_at, converted_at, delivered_on_time; found {}",
            header.join(", ")
        )));
    }
    let mut table = OutcomeTable::default();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Error::Malformed(format!("{at}: line {line}: {e}")))?;
        let field = |col: Option<usize>| {
            col.and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let time = |col: Option<usize>, name: &str| -> Result<Option<i64>> {
            field(col)
                .map(|v| parse_instant(v, &format!("{at}: line {line}: field {name}")))
                .transpose()
        };
        let delivered_on_time = match field(on_time) {
            None => None,
            Some(v) => Some(match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "y" => true,
                "false" | "no" | "0" | "n" => false,
                other => {
                    return Err(Error::Invalid(format!(
                        "{at}: line {line}: field delivered_on_time: expected true/false, yes/no or 1/0, found {other:?}"
                    )));
                }
            }),
        };
        let o = Outcome {
            churned_at: time(churned, "churned_at")?,
            converted_at: time(converted, "converted_at")?,
            delivered_on_time,
        };
        let Some(customer) = field(Some(id)) else {
            return Err(Error::Invalid(format!(
                "{at}: line {line}: field {}: expected a customer id, found nothing",
                header[id]
            )));
        };
        table
            .by_customer
            .insert(customer.to_owned(), table.rows.len());
        table.rows.push(o);
    }
    Ok(table)
}

/// How [`join`] reads the outcomes.
#[derive(Clone, Debug)]
pub struct JoinOptions<'a> {
    /// The log's customer attribute; default: the first of [`CUSTOMER_NAMES`] the log has.
    pub customer_col: Option<&'a str>,
    /// Band edges of time to first response, in seconds (ascending).
    pub edges: &'a [f64],
    pub churn_window_days: f64,
}

/// Joins the outcomes file at `path` to the cases of `l` by customer and computes the bands.
pub fn join(l: &SourceLog, path: &Path, o: &JoinOptions) -> Result<Outcomes> {
    let table = read(path)?;
    let names = &l.log.attr_names;
    let col = match o.customer_col {
        Some(c) => l.log.attr_index(c).ok_or_else(|| {
            let e = flowgate_flow::segment::SegmentError {
                what: "--customer-col".to_owned(),
                name: c.to_owned(),
                available: names.clone(),
            };
            Error::Invalid(e.to_string())
        })?,
        None => CUSTOMER_NAMES
            .iter()
            .find_map(|n| names.iter().position(|a| a.eq_ignore_ascii_case(n)))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: no customer column in the log (tried {}); name it with --customer-col",
                    l.source,
                    CUSTOMER_NAMES.join(", ")
                ))
            })?,
    };
    let customer: Vec<Option<usize>> = case_attr(&l.log, col)
        .iter()
        .map(|&v| {
            (v != NONE)
                .then(|| {
                    table
                        .by_customer
                        .get(l.log.attr_values[col].resolve(v))
                        .copied()
                })
                .flatten()
        })
        .collect();
    if customer.iter().all(Option::is_none) {
        return Err(Error::Invalid(format!(
            "{}: no customer of the log appears in {}",
            l.source,
            path.display()
        )));
    }
    Ok(flowgate_value::outcomes::outcomes(
        &l.records,
        &customer,
        &table.rows,
        o.edges,
        o.churn_window_days,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory removed when dropped.
    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn file(text: &str) -> (Dir, std::path::PathBuf) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("flowgate-outcomes-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("outcomes.csv");
        std::fs::write(&p, text).unwrap();
        (Dir(dir), p)
    }

    #[test]
    fn the_outcomes_file_is_read_by_customer() {
        let (_d, p) = file("Customer,churned_at,delivered_on_time\nc1,2026-01-31,yes\nc2,,0\n");
        let t = read(&p).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.by_customer["c2"], 1);
        assert_eq!(t.rows[0].churned_at, Some(1_769_817_600_000));
        assert_eq!(t.rows[0].delivered_on_time, Some(true));
        assert_eq!(t.rows[1].churned_at, None);
        assert_eq!(t.rows[1].delivered_on_time, Some(false));
    }

    #[test]
    fn bad_rows_name_file_line_and_field() {
        let (_d, p) = file("customer,delivered_on_time\nc1,yes\nc2,perhaps\n");
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("outcomes.csv: line 3: field delivered_on_time: expected true/false"),
            "{e}"
        );
        let (_d, p) = file("customer,churned_at\nc1,last week\n");
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("line 2: field churned_at: expected a date"),
            "{e}"
        );
        let (_d, p) = file("customer,mood\nc1,happy\n");
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("expected at least one of churned_at"), "{e}");
        let (_d, p) = file("who,churned_at\nc1,2026-01-01\n");
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("no customer column"), "{e}");
    }
}
