//! flowgate ingest: reads event logs (CSV, XES, either gzipped) into an
//! [`flowgate_flow::EventLog`], streaming, with per-row diagnostics.
//!
//! Memory is proportional to the events kept, not to the file. A bad row is skipped with a
//! [`Diagnostic`] naming file, line, field, what was expected and what was found; the caller
//! decides whether diagnostics are fatal ([`ReadOptions::strict`]).

pub mod calendar;
mod csv_reader;
pub mod error;
pub mod export;
pub mod history;
pub mod input;
pub mod mapping;
mod rows;
pub mod suggest;
pub mod timestamp;
mod vendor;
mod xes_reader;

use std::path::Path;

use flowgate_flow::{EventLog, EventLogBuilder};

pub use error::{Diagnostic, IngestError, Result};
pub use input::Format;
pub use mapping::{Mapping, PRESETS, xes_default_mapping};

/// How many diagnostics are kept in full; the rest are only counted.
pub const MAX_DIAGNOSTICS: usize = 100;

#[derive(Default)]
pub struct ReadOptions<'a> {
    /// The mapping to use; `None` detects one from the header (CSV) or uses the XES
    /// standard extensions.
    pub mapping: Option<Mapping>,
    /// Any rejected row fails the whole read.
    pub strict: bool,
    /// Called now and then with (bytes read, file size), from any reading thread.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
    /// Plain CSV files at least this large are parsed by two threads; `None`: 16 MiB.
    pub split_min_bytes: Option<u64>,
}

impl ReadOptions<'_> {
    fn split_min_bytes(&self) -> u64 {
        self.split_min_bytes.unwrap_or(16 << 20)
    }
}

/// Rejected rows, counted, the first [`MAX_DIAGNOSTICS`] kept.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    diagnostics: Vec<Diagnostic>,
    rejected: u64,
    rows: u64,
}

impl Collector {
    fn reject(&mut self, d: Diagnostic) {
        self.rejected += 1;
        if self.diagnostics.len() < MAX_DIAGNOSTICS {
            self.diagnostics.push(d);
        }
    }

    /// Adds what a later part of the same file collected.
    fn merge(&mut self, later: Collector) {
        let room = MAX_DIAGNOSTICS.saturating_sub(self.diagnostics.len());
        self.diagnostics
            .extend(later.diagnostics.into_iter().take(room));
        self.rejected += later.rejected;
        self.rows += later.rows;
    }
}

/// The outcome of reading one file.
#[derive(Debug)]
pub struct Ingested {
    pub log: EventLog,
    pub format: Format,
    /// The mapping in force (detected or given).
    pub mapping: Mapping,
    /// Whether the mapping was detected from the header.
    pub detected: bool,
    /// Rows (CSV) or events (XES) read, including rejected ones.
    pub rows: u64,
    pub rejected: u64,
    pub diagnostics: Vec<Diagnostic>,
    /// What the figures will not show because of the data (a mapped column empty on every
    /// event), to print before them.
    pub warnings: Vec<String>,
}

/// A file read but not yet sorted: every accepted row in source order, exact duplicates
/// included (the store keys events by their content and occurrence).
#[derive(Debug)]
pub struct IngestedRows {
    pub builder: EventLogBuilder,
    pub format: Format,
    pub mapping: Mapping,
    pub detected: bool,
    pub rows: u64,
    pub rejected: u64,
    pub diagnostics: Vec<Diagnostic>,
    pub warnings: Vec<String>,
}

impl IngestedRows {
    /// Sorts and de-duplicates into an [`EventLog`].
    pub fn finish(self) -> Ingested {
        let t0 = std::time::Instant::now();
        let log = self.builder.finish();
        tracing::debug!(
            secs = t0.elapsed().as_secs_f64(),
            "sorted and de-duplicated"
        );
        Ingested {
            log,
            format: self.format,
            mapping: self.mapping,
            detected: self.detected,
            rows: self.rows,
            rejected: self.rejected,
            diagnostics: self.diagnostics,
            warnings: self.warnings,
        }
    }
}

/// Reads a CSV or XES file (optionally gzipped; the format is sniffed from the content).
pub fn read_log(path: &Path, opts: &ReadOptions<'_>) -> Result<Ingested> {
    read_rows(path, opts).map(IngestedRows::finish)
}

/// Reads a file without sorting it (see [`IngestedRows`]).
pub fn read_rows(path: &Path, opts: &ReadOptions<'_>) -> Result<IngestedRows> {
    let input = input::open(path)?;
    let rows = read_input(input, path, opts)?;
    if rows.builder.is_empty() {
        return Err(IngestError::NoEvents {
            path: path.display().to_string(),
            rejected: rows.rejected,
            first: rows
                .diagnostics
                .first()
                .map(|d| format!("; first: {d}"))
                .unwrap_or_default(),
        });
    }
    Ok(rows)
}

/// Reads one page of a help desk's history fetched from its API (`name` stands for the
/// file in diagnostics). A page without events gives an empty builder, not an error; a
/// record that cannot be read is counted and kept as a diagnostic.
pub fn read_history_page(body: Vec<u8>, name: &str, mapping: Mapping) -> Result<IngestedRows> {
    let Some(vendor) = mapping.history.as_ref().map(|h| h.shape) else {
        return Err(IngestError::Shape {
            path: name.to_owned(),
            message: "a page of a help desk's API reads with a history mapping".into(),
        });
    };
    let input = input::from_bytes(body, name)?;
    let format = input.format;
    let opts = ReadOptions {
        mapping: Some(mapping),
        ..Default::default()
    };
    let (mut builder, mapping, detected, out) =
        history::read(input, vendor, name, Path::new(name), &opts)?;
    if let Some(order) = &mapping.columns.order {
        order_ties(&mut builder, order);
    }
    Ok(IngestedRows {
        builder,
        format,
        mapping,
        detected,
        rows: out.rows,
        rejected: out.rejected,
        diagnostics: out.diagnostics,
        warnings: Vec::new(),
    })
}

fn read_input(input: input::Input, path: &Path, opts: &ReadOptions<'_>) -> Result<IngestedRows> {
    let shown = path.display().to_string();
    let format = input.format;
    let history = history::sniff(format, &input.head);
    let (mut builder, mapping, detected, out) = match (format, history) {
        (Format::Csv | Format::Json, Some(vendor)) => {
            history::read(input, vendor, &shown, path, opts)?
        }
        (Format::Json, None) => {
            return Err(IngestError::Shape {
                path: shown,
                message: format!(
                    "JSON, but not a history flowgate reads: expected the key names of one of {} (see docs/03-help-desks.md)",
                    history::Vendor::ALL.map(|v| v.preset()).join(", ")
                ),
            });
        }
        (Format::Csv, None) => csv_reader::read(input, &shown, path, opts)?,
        (Format::Xes, _) => xes_reader::read(input, &shown, opts)?,
    };
    if let Some(order) = &mapping.columns_for(format == Format::Xes).order {
        order_ties(&mut builder, order);
    }
    if opts.strict
        && let Some(first) = out.diagnostics.first()
    {
        return Err(IngestError::Strict {
            count: out.rejected,
            first: first.clone(),
        });
    }
    tracing::debug!(
        events = builder.len(),
        rejected = out.rejected,
        "parsed {shown}"
    );
    let warnings = empty_columns(&mapping, format == Format::Xes, &builder);
    Ok(IngestedRows {
        builder,
        format,
        mapping,
        detected,
        rows: out.rows,
        rejected: out.rejected,
        diagnostics: out.diagnostics,
        warnings,
    })
}

/// Orders events at the same time by the integer in attribute column `name` (ServiceNow's
/// `sys_mod_count`): exports with minute-precision times list one minute's updates in no
/// particular order. Events without a number keep their file order after numbered ones.
fn order_ties(builder: &mut EventLogBuilder, name: &str) {
    let Some(col) = builder.attr_names().iter().position(|n| n == name) else {
        return;
    };
    let keys: Vec<i64> = builder.attr_values[col]
        .iter()
        .map(|v| v.trim().parse().unwrap_or(i64::MAX))
        .collect();
    let key = |i: usize| {
        let v = builder.attr_at(col, i);
        if v == flowgate_flow::NONE {
            i64::MAX
        } else {
            keys[v as usize]
        }
    };
    let mut perm: Vec<u32> = (0..builder.len() as u32).collect();
    perm.sort_by_key(|&i| (builder.row(i as usize).ts_ms, key(i as usize)));
    builder.permute(&perm);
}

/// A mapped team or resource column with no value on any event: handoffs (team) or touch
/// attribution (resource) would silently read 0.
pub fn empty_columns(mapping: &Mapping, xes: bool, rows: &EventLogBuilder) -> Vec<String> {
    let cols = mapping.columns_for(xes);
    let mut out = Vec::new();
    if let Some(team) = &cols.team
        && rows.teams.is_empty()
    {
        out.push(format!(
            "the team column {team:?} is empty on every event (or holds only null_values): handoffs and ping-pong will read 0; map another column as team, or none"
        ));
    }
    if let Some(resource) = &cols.resource
        && rows.resources.is_empty()
    {
        out.push(format!(
            "the resource column {resource:?} is empty on every event (or holds only null_values): per-resource figures will be empty"
        ));
    }
    out
}
