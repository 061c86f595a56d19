//! `flowgate mapping suggest FILE`: a starting mapping from a CSV file's header and a sample
//! of its rows. Columns are guessed from their names and values (a case id repeats, a
//! timestamp parses, a state column has few distinct values); the state column's distinct
//! values are listed under `[states]` as comments, to sort by hand.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{IngestError, Result};
use crate::input::{Format, detect_delimiter, open};
use crate::timestamp::{TimestampParser, Zone};

/// Rows read to guess from.
pub const SAMPLE_ROWS: usize = 2_000;
/// Distinct state values listed at most.
const MAX_STATES: usize = 60;
/// Values the help desks write for "no value", offered when seen in the sample.
const NULL_SPELLINGS: &[&str] = &["?", "NULL", "null", "N/A", "n/a", "-", "None", "none"];

/// One column's sample: its name, its values, how many were empty.
struct Column {
    name: String,
    values: Vec<String>,
}

impl Column {
    fn distinct(&self) -> BTreeMap<&str, usize> {
        let mut m = BTreeMap::new();
        for v in &self.values {
            if !v.trim().is_empty() {
                *m.entry(v.as_str()).or_insert(0) += 1;
            }
        }
        m
    }

    fn filled(&self) -> usize {
        self.values.iter().filter(|v| !v.trim().is_empty()).count()
    }

    /// The share of non-empty values that parse as timestamps.
    fn timestamp_share(&self) -> f64 {
        let mut p = TimestampParser::new(Zone::Utc, None);
        let filled = self.filled();
        if filled == 0 {
            return 0.0;
        }
        let ok = self
            .values
            .iter()
            .filter(|v| !v.trim().is_empty() && p.parse(v.as_bytes()).is_some())
            .count();
        ok as f64 / filled as f64
    }
}

/// Whether a lower-cased column name contains any of `words`.
fn named(name: &str, words: &[&str]) -> bool {
    let n = name.to_ascii_lowercase();
    words.iter().any(|w| n.contains(w))
}

/// The guessed mapping, with what each guess rests on.
#[derive(Debug, Default)]
pub struct Suggestion {
    pub file: String,
    pub rows_sampled: usize,
    pub case: Option<String>,
    pub activity: Option<String>,
    pub timestamp: Option<String>,
    pub resource: Option<String>,
    pub team: Option<String>,
    pub state: Option<String>,
    /// The state column's distinct values with their counts in the sample.
    pub state_values: Vec<(String, usize)>,
    /// Spellings of "no value" seen in the sample.
    pub null_values: Vec<String>,
    pub columns: Vec<String>,
}

/// Reads the header and up to [`SAMPLE_ROWS`] rows of `path` (CSV, plain or gzip).
pub fn suggest(path: &Path) -> Result<Suggestion> {
    let shown = path.display().to_string();
    let input = open(path)?;
    if let Some(v) = crate::history::sniff(input.format, &input.head) {
        return Err(IngestError::Mapping {
            origin: shown,
            message: format!(
                "a {v} history: it reads with --preset {0} (print it to edit with `flowgate presets {0}`)",
                v.preset()
            ),
        });
    }
    if input.format == Format::Json {
        return Err(IngestError::Mapping {
            origin: shown,
            message: "JSON that is not a history flowgate reads; `mapping suggest` reads CSV"
                .into(),
        });
    }
    if input.format == Format::Xes {
        return Err(IngestError::Mapping {
            origin: shown,
            message: "an XES file names its fields itself (concept:name, time:timestamp, org:resource); `mapping suggest` reads CSV".into(),
        });
    }
    let delimiter = detect_delimiter(&input.head);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(input.reader);
    let csv_err = |e: csv::Error| IngestError::Csv {
        path: shown.clone(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    };
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(IngestError::Mapping {
            origin: shown,
            message: "the first line names no columns".into(),
        });
    }
    let mut cols: Vec<Column> = header
        .iter()
        .map(|h| Column {
            name: h.clone(),
            values: Vec::new(),
        })
        .collect();
    let mut rows = 0;
    for rec in rdr.records().take(SAMPLE_ROWS) {
        let rec = rec.map_err(csv_err)?;
        for (c, col) in cols.iter_mut().enumerate() {
            col.values.push(rec.get(c).unwrap_or("").to_owned());
        }
        rows += 1;
    }
    Ok(guess(shown, header, cols, rows))
}

fn guess(file: String, header: Vec<String>, cols: Vec<Column>, rows: usize) -> Suggestion {
    let mut taken: Vec<usize> = Vec::new();
    let timestamp = pick(&cols, &mut taken, &timestamp_score);
    let case = pick(&cols, &mut taken, &|c| case_score(c, rows));
    let state = pick(&cols, &mut taken, &|c| state_score(c, rows));
    let activity = pick(&cols, &mut taken, &activity_score)
        // Without an activity column, the state column names each event.
        .or(state);
    let team = pick(&cols, &mut taken, &team_score);
    let resource = pick(&cols, &mut taken, &resource_score);
    let name = |i: Option<usize>| i.map(|i| cols[i].name.clone());
    Suggestion {
        file,
        rows_sampled: rows,
        case: name(case),
        activity: name(activity),
        timestamp: name(timestamp),
        resource: name(resource),
        team: name(team),
        state: name(state),
        state_values: state_values(&cols, state),
        null_values: null_values(&cols),
        columns: header,
    }
}

/// The best-scoring column not yet taken (ties to the first; none scoring above 0), now taken.
fn pick(cols: &[Column], taken: &mut Vec<usize>, score: &dyn Fn(&Column) -> f64) -> Option<usize> {
    let best = cols
        .iter()
        .enumerate()
        .filter(|(i, _)| !taken.contains(i))
        .map(|(i, c)| (i, score(c)))
        .filter(|(_, s)| *s > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
    taken.push(best.0);
    Some(best.0)
}

/// How much `c` looks like the timestamp column.
fn timestamp_score(c: &Column) -> f64 {
    // A timestamp column: its values parse; names saying when something changed come first.
    let share = c.timestamp_share();
    if share < 0.9 {
        return 0.0;
    }
    share
        + if named(
            &c.name,
            &["updated", "modified", "changed", "timestamp", "event_time"],
        ) {
            2.0
        } else if named(&c.name, &["time", "date", "_at", "_on"]) {
            1.0
        } else {
            0.0
        }
}

/// How much `c` looks like the case id column, in a sample of `rows` rows.
fn case_score(c: &Column, rows: usize) -> f64 {
    // A case id repeats across rows (one row per event) but is not constant.
    let d = c.distinct();
    let filled = c.filled();
    if filled == 0
        || d.len() < 2
        || named(&c.name, &["state", "status"])
        || d.len() == filled && rows > 1 && !named(&c.name, &["case", "number"])
    {
        return 0.0;
    }
    // Among repeating columns, the one with the most distinct values (a case id, not a
    // category).
    d.len() as f64 / filled as f64
        + if named(
            &c.name,
            &[
                "case",
                "ticket",
                "incident",
                "number",
                "issue",
                "documentkey",
            ],
        ) {
            2.0
        } else if named(&c.name, &["id", "key"]) {
            1.0
        } else {
            0.0
        }
}

/// How much `c` looks like the state column, in a sample of `rows` rows.
fn state_score(c: &Column, rows: usize) -> f64 {
    let d = c.distinct().len();
    let few_values = d >= 2 && d <= MAX_STATES.max(rows / 20);
    if !few_values || c.timestamp_share() > 0.5 {
        return 0.0;
    }
    if named(&c.name, &["state", "status"]) {
        2.0
    } else {
        0.0
    }
}

/// How much `c` looks like the activity column.
fn activity_score(c: &Column) -> f64 {
    if c.filled() == 0 || c.timestamp_share() > 0.5 {
        return 0.0;
    }
    if named(
        &c.name,
        &["activity", "event", "action", "task", "step", "fieldname"],
    ) {
        2.0
    } else {
        0.0
    }
}

/// How much `c` looks like the team column.
fn team_score(c: &Column) -> f64 {
    if c.filled() == 0 {
        return 0.0;
    }
    if named(&c.name, &["team", "group", "queue", "department"]) {
        2.0
    } else {
        0.0
    }
}

/// How much `c` looks like the resource column.
fn resource_score(c: &Column) -> f64 {
    // Who did it: the author of a change first, then an assignee; never a count.
    let numeric = c
        .values
        .iter()
        .filter(|v| !v.trim().is_empty())
        .all(|v| v.trim().parse::<f64>().is_ok());
    if c.filled() == 0 || numeric {
        return 0.0;
    }
    if named(
        &c.name,
        &[
            "resource",
            "updated_by",
            "author",
            "performer",
            "agent",
            "user",
        ],
    ) {
        2.0
    } else if named(&c.name, &["assigned", "assignee", "owner"]) {
        1.0
    } else {
        0.0
    }
}

/// The state column's most frequent values with their counts (at most [`MAX_STATES`]).
fn state_values(cols: &[Column], state: Option<usize>) -> Vec<(String, usize)> {
    let mut state_values: Vec<(String, usize)> = state
        .map(|i| {
            cols[i]
                .distinct()
                .into_iter()
                .map(|(v, n)| (v.to_owned(), n))
                .collect()
        })
        .unwrap_or_default();
    state_values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    state_values.truncate(MAX_STATES);
    state_values
}

/// The spellings of "no value" that occur in any column.
fn null_values(cols: &[Column]) -> Vec<String> {
    let mut null_values: Vec<String> = NULL_SPELLINGS
        .iter()
        .filter(|n| {
            cols.iter()
                .any(|c| c.values.iter().any(|v| v.trim() == **n))
        })
        .map(|n| n.to_string())
        .collect();
    null_values.dedup();
    null_values
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

impl Suggestion {
    /// The mapping as TOML with comments: what was guessed, what is left to decide.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "# A starting mapping for {}, guessed from its header and {} rows.\n# Check every column; sort the state values below into the six states.\n",
            self.file, self.rows_sampled
        ));
        out.push_str(&format!(
            "# Columns: {}\n",
            self.columns
                .iter()
                .map(|c| quoted(c))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let stem = Path::new(&self.file)
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .split('.')
                    .next()
                    .unwrap_or("log")
                    .to_owned()
            })
            .unwrap_or_else(|| "log".into());
        out.push_str(&format!("name = {}\ntimezone = \"UTC\"\n", quoted(&stem)));
        let mut nulls = vec![String::new()];
        nulls.extend(self.null_values.iter().cloned());
        out.push_str(&format!(
            "# Values meaning \"no value\" in team, resource, state and attribute columns.\nnull_values = [{}]\n\n[columns]\n",
            nulls.iter().map(|n| quoted(n)).collect::<Vec<_>>().join(", ")
        ));
        let line = |out: &mut String, key: &str, v: &Option<String>, required: bool| match v {
            Some(c) => out.push_str(&format!("{key} = {}\n", quoted(c))),
            None if required => {
                out.push_str(&format!("{key} = \"\"  # not found: name the column\n"))
            }
            None => out.push_str(&format!("# {key} = \"\"  # not found\n")),
        };
        line(&mut out, "case", &self.case, true);
        line(&mut out, "activity", &self.activity, true);
        line(&mut out, "timestamp", &self.timestamp, true);
        line(&mut out, "resource", &self.resource, false);
        line(&mut out, "team", &self.team, false);
        line(&mut out, "state", &self.state, false);
        out.push_str("\n[states]\n");
        out.push_str(
            "# Each value of the state column under one of: new, waiting_internal,\n# waiting_customer, working, resolved, closed (e.g. working = [\"2\", \"In Progress\"]).\n",
        );
        if self.state_values.is_empty() {
            out.push_str("# (no state column found)\n");
        }
        for (v, n) in &self.state_values {
            out.push_str(&format!("# {}  ({n} rows)\n", quoted(v)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servicenow_style_export_gets_its_columns_and_states() {
        let dir = std::env::temp_dir().join(format!("flowgate-suggest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("incidents.csv");
        let mut text = String::from(
            "number,incident_state,assignment_group,assigned_to,sys_updated_at,sys_mod_count,priority\n",
        );
        let states = [
            "New",
            "Active",
            "Active",
            "Awaiting User Info",
            "Resolved",
            "Closed",
        ];
        for case in 0..20 {
            for (k, s) in states.iter().enumerate() {
                let group = if k == 2 { "?" } else { "Service Desk" };
                text.push_str(&format!(
                    "INC{case:07},{s},{group},Agent {},2016-03-{:02} 10:{k:02}:00,{k},3 - Moderate\n",
                    case % 3,
                    1 + case % 28
                ));
            }
        }
        std::fs::write(&f, text).unwrap();
        let s = suggest(&f).unwrap();
        assert_eq!(s.rows_sampled, 120);
        assert_eq!(s.case.as_deref(), Some("number"));
        assert_eq!(s.timestamp.as_deref(), Some("sys_updated_at"));
        assert_eq!(s.state.as_deref(), Some("incident_state"));
        assert_eq!(s.activity.as_deref(), Some("incident_state"));
        assert_eq!(s.team.as_deref(), Some("assignment_group"));
        assert_eq!(s.resource.as_deref(), Some("assigned_to"));
        assert_eq!(s.null_values, ["?"]);
        assert_eq!(s.state_values[0], ("Active".to_owned(), 40));
        let toml = s.to_toml();
        assert!(
            toml.contains("# \"Awaiting User Info\"  (20 rows)"),
            "{toml}"
        );
        // The suggestion is a mapping that reads (the states left to sort are comments).
        let m = crate::Mapping::from_toml(&toml, "suggested").unwrap();
        assert_eq!(m.columns.case, "number");
        assert_eq!(m.null_values, ["", "?"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_without_a_header_is_refused_clearly() {
        let dir = std::env::temp_dir().join(format!("flowgate-suggest-e-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("empty.csv");
        std::fs::write(&f, ",,\n1,2,3\n").unwrap();
        let e = suggest(&f).unwrap_err().to_string();
        assert!(e.contains("names no columns"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
