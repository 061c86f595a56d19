//! Help-desk histories read as they come: ServiceNow's `sys_audit`, Zendesk ticket audits and
//! incremental ticket events, Jira changelogs, Freshdesk ticket activities, Intercom
//! conversation parts and GitHub issue timelines.
//!
//! Each vendor's records are *flattened* into change rows with the same few columns
//! ([`COLUMNS`]), one row per update of a ticket, and those rows go through the ordinary
//! [`RowMapper`] like a CSV record. So a history preset is an ordinary mapping over the
//! flattened columns (states, `null_values`, escalation rules and the source's mapping
//! identity all work as for CSV), `db export` writes the same events back as CSV, and the
//! flattening is the only vendor-specific code.
//!
//! A row carries only what the update changed: `status` when the status changed (the state
//! column: an update without it changes no state), `group` when the group changed (the team:
//! a handoff needs two real groups), `assignee` when the assignee changed (kept as an
//! attribute), `author` who made the change (the event's resource). The activity names the
//! update: `Created`, `Status: <status>`, `Group change`, `Assignment`, or the vendor's
//! reply events (`Comment`, `Reply`, `Customer message`).
//!
//! Streaming: JSON lines are parsed one line at a time; a single JSON document (a page or an
//! array) is parsed with a visitor that hands on each record of the records array as it
//! ends, so memory grows with the events kept, not with the file.

mod scan;
mod vendors;

use std::cell::Cell;
use std::io::{BufRead, Read};
use std::rc::Rc;

use flowgate_flow::EventLogBuilder;
use serde::Deserialize;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Diagnostic, IngestError, Result};
use crate::input::{Format, Input};
use crate::mapping::Mapping;
use crate::rows::{ColumnTable, RowMapper};
use crate::{Collector, ReadOptions};

pub use crate::vendor::{History, Vendor};

impl Vendor {
    /// Keys whose array holds the records in a page document.
    fn page_keys(self) -> &'static [&'static str] {
        match self {
            Vendor::ServicenowAudit => &["result", "records"],
            Vendor::Zendesk => &["audits", "ticket_events"],
            Vendor::Jira => &["issues", "values"],
            Vendor::Freshdesk => &["activities_data"],
            Vendor::Intercom => &["conversations"],
            Vendor::Github => &["events", "timeline"],
        }
    }

    /// Key names (quoted, as they appear in JSON) that mark the shape; any one will do.
    fn marks(self) -> &'static [&'static str] {
        match self {
            Vendor::ServicenowAudit => &["\"documentkey\""],
            Vendor::Zendesk => &["\"ticket_events\"", "\"child_events\"", "\"audits\""],
            Vendor::Jira => &["\"changelog\"", "\"histories\"", "\"fromString\""],
            Vendor::Freshdesk => &["\"activities_data\"", "\"performed_at\""],
            Vendor::Intercom => &["\"conversation_parts\""],
            Vendor::Github => &["\"event\""],
        }
    }
}

/// The columns every history is flattened to, in this order.
pub const COLUMNS: [&str; 9] = [
    "ticket", "time", "seq", "activity", "author", "status", "group", "assignee", "priority",
];

/// Short text kept inline (ids, times, statuses: up to 24 bytes without an allocation).
pub type Text = compact_str::CompactString;

/// One update of a ticket, flattened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Change {
    pub ticket: Text,
    /// As the vendor wrote it: RFC 3339, `YYYY-MM-DD HH:MM:SS`, or Unix seconds.
    pub time: Text,
    /// The vendor's update counter, for ties at one time (ServiceNow `record_checkpoint`).
    pub seq: Option<Text>,
    pub activity: Text,
    pub author: Option<Text>,
    pub status: Option<Text>,
    pub group: Option<Text>,
    pub assignee: Option<Text>,
    pub priority: Option<Text>,
}

/// A flattened row as the mapper reads it: one text per column of [`COLUMNS`].
type Row<'r> = [Option<&'r str>; 9];

impl Change {
    fn row(&self) -> Row<'_> {
        [
            Some(&self.ticket),
            Some(&self.time),
            self.seq.as_deref(),
            Some(&self.activity),
            self.author.as_deref(),
            self.status.as_deref(),
            self.group.as_deref(),
            self.assignee.as_deref(),
            self.priority.as_deref(),
        ]
    }

    /// Names the update by what it changed.
    fn name(&mut self, created: bool) {
        self.activity = activity(
            created,
            self.status.as_deref(),
            self.group.is_some(),
            self.assignee.is_some(),
        );
    }
}

/// An update's activity: `Created`, `Status: <status>`, `Group change`, `Assignment`, or
/// none (see the module's documentation).
fn activity(created: bool, status: Option<&str>, group: bool, assignee: bool) -> Text {
    if created {
        "Created".into()
    } else if let Some(s) = status {
        let mut a = Text::with_capacity(8 + s.len());
        a.push_str("Status: ");
        a.push_str(s);
        a
    } else if group {
        "Group change".into()
    } else if assignee {
        "Assignment".into()
    } else {
        Text::default()
    }
}

/// Recognises a history from the first bytes of a file: CSV with `documentkey` and
/// `fieldname` columns (ServiceNow `sys_audit`), or JSON with a vendor's key names.
pub fn sniff(format: Format, head: &[u8]) -> Option<Vendor> {
    let text = String::from_utf8_lossy(head);
    match format {
        Format::Csv => {
            let first = text.lines().next().unwrap_or_default().to_ascii_lowercase();
            (first.contains("documentkey") && first.contains("fieldname"))
                .then_some(Vendor::ServicenowAudit)
        }
        Format::Json => Vendor::ALL
            .into_iter()
            .find(|v| v.marks().iter().any(|m| text.contains(m))),
        Format::Xes => None,
    }
}

/// Counts newlines in what the JSON parser consumes, so diagnostics can name a line.
struct Lines<R> {
    inner: R,
    lines: Rc<Cell<u64>>,
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let nl = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.lines.set(self.lines.get() + nl);
        Ok(n)
    }
}

/// Hands flattened changes to the row mapper.
struct Sink<'a> {
    mapper: RowMapper,
    table: ColumnTable,
    builder: EventLogBuilder,
    out: Collector,
    opts: &'a ReadOptions<'a>,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    size: u64,
    /// The line the current record ends on (1-based).
    line: u64,
    /// Per-vendor state across records (tickets seen, last status…).
    state: vendors::State,
    path: String,
    /// simd-json's reusable buffers and a copy of the line it may rewrite (JSON lines).
    simd: simd_json::Buffers,
    scratch: Vec<u8>,
}

impl Sink<'_> {
    fn emit(&mut self, c: &Change) {
        self.emit_row(&c.row());
    }

    /// Maps a row; one without an activity is no event.
    fn emit_row(&mut self, row: &Row<'_>) {
        if row[3].is_none_or(str::is_empty) {
            return;
        }
        self.out.rows += 1;
        let r = self.mapper.map(
            |col| row.get(col).copied().flatten().map(str::as_bytes),
            &self.table,
            self.line,
            &mut self.builder,
        );
        if let Err(d) = r {
            self.out.reject(d);
        }
        if self.out.rows.is_multiple_of(65_536)
            && let Some(p) = self.opts.progress
        {
            p(
                self.read.load(std::sync::atomic::Ordering::Relaxed),
                self.size,
            );
        }
    }

    fn reject(&mut self, field: &str, expected: &str, found: String) {
        self.out.rows += 1;
        self.out.reject(Diagnostic {
            file: self.path.clone(),
            line: self.line,
            field: field.to_owned(),
            expected: expected.to_owned(),
            found,
        });
    }
}

/// Reads a history file (see the module's documentation).
pub(crate) fn read(
    input: Input,
    vendor: Vendor,
    path: &str,
    file: &std::path::Path,
    opts: &ReadOptions<'_>,
) -> Result<(EventLogBuilder, Mapping, bool, Collector)> {
    let (mapping, detected) = history_mapping(vendor, path, opts)?;
    let history = mapping.history.clone().unwrap_or(History {
        shape: vendor,
        team_field: None,
        label_prefix: None,
    });
    let spec = SinkSpec {
        mapping: &mapping,
        history,
        path,
        file,
        opts,
        read: input.read.clone(),
        size: input.size,
    };
    let mut sink = spec.sink()?;
    match input.format {
        Format::Csv => vendors::servicenow_csv(input.reader, &mut sink, path)?,
        _ if let Some(records_per_line) = json_lines(vendor, &input.head) => {
            read_json_lines(input, &mut sink, &spec, vendor, records_per_line)?
        }
        _ => read_document(input.reader, &mut sink, &spec, vendor)?,
    }
    vendors::finish(&mut sink);
    Ok((sink.builder, mapping, detected, sink.out))
}

/// The mapping for a `vendor` history and whether it was detected (the preset) or given.
fn history_mapping(vendor: Vendor, path: &str, opts: &ReadOptions<'_>) -> Result<(Mapping, bool)> {
    match &opts.mapping {
        Some(m) => match &m.history {
            Some(h) if h.shape == vendor => Ok((m.clone(), false)),
            Some(h) => Err(IngestError::Shape {
                path: path.to_owned(),
                message: format!(
                    "the mapping reads {} histories, but the file is a {} history (use --preset {})",
                    h.shape,
                    vendor,
                    vendor.preset()
                ),
            }),
            None => Err(IngestError::Shape {
                path: path.to_owned(),
                message: format!(
                    "the file is a {vendor} history; its mapping needs a [history] section with shape = \"{vendor}\" and columns named from {} (start from --preset {})",
                    COLUMNS.join(", "),
                    vendor.preset()
                ),
            }),
        },
        None => Ok((Mapping::preset(vendor.preset())?, true)),
    }
}

/// What every sink reading one file is made from.
struct SinkSpec<'m, 'a> {
    mapping: &'m Mapping,
    history: History,
    path: &'m str,
    file: &'m std::path::Path,
    opts: &'a ReadOptions<'a>,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    size: u64,
}

impl<'a> SinkSpec<'_, 'a> {
    /// A fresh sink: its mapper over [`COLUMNS`], an empty builder and collector.
    fn sink(&self) -> Result<Sink<'a>> {
        let (mapping, path) = (self.mapping, self.path);
        let mut table = ColumnTable::default();
        for c in COLUMNS {
            table.get_or_add(c);
        }
        let mut mapper = RowMapper::new(mapping, false, &mut table, false, path).map_err(|r| {
            IngestError::MissingColumn {
                path: path.to_owned(),
                line: 1,
                column: r.column.to_owned(),
                role: r.role,
                header: COLUMNS.join(", "),
            }
        })?;
        let mut builder = EventLogBuilder::new(!mapping.states.is_empty());
        mapper.sync_columns(&table, &mut builder);
        Ok(Sink {
            mapper,
            table,
            builder,
            out: Collector::default(),
            opts: self.opts,
            read: self.read.clone(),
            size: self.size,
            line: 1,
            state: vendors::State::new(&self.history, self.file),
            path: path.to_owned(),
            simd: simd_json::Buffers::default(),
            scratch: Vec::new(),
        })
    }
}

/// Reads JSON lines: in two threads when the file is large and plain, else in one.
fn read_json_lines<'a>(
    input: Input,
    sink: &mut Sink<'a>,
    spec: &SinkSpec<'_, 'a>,
    vendor: Vendor,
    records_per_line: bool,
) -> Result<()> {
    // Records that stand alone (every shape but sys_audit, whose rows of one update
    // are gathered across lines) in a large plain file: two threads, one per half,
    // joined in file order.
    let split = (records_per_line
        && vendor != Vendor::ServicenowAudit
        && !input.gzip
        && input.size >= spec.opts.split_min_bytes())
    .then(|| crate::csv_reader::find_split(spec.file, input.size / 2))
    .flatten();
    match split {
        None => {
            let end = json_lines_until(input.reader, sink, vendor, records_per_line, None, 0);
            end.map_err(|(line, e)| e.into_error(spec.path, line))?;
        }
        Some(at) => read_halves(input.reader, sink, spec, vendor, at)?,
    }
    Ok(())
}

/// Reads JSON lines in two threads, the second from byte `at`, and joins them in file order.
fn read_halves<'a>(
    reader: Box<dyn BufRead + Send>,
    sink: &mut Sink<'a>,
    spec: &SinkSpec<'_, 'a>,
    vendor: Vendor,
    at: u64,
) -> Result<()> {
    let path = spec.path;
    let io = |e| IngestError::Io {
        path: path.to_owned(),
        source: e,
    };
    let mut second = spec.sink()?;
    let mut f = std::fs::File::open(spec.file).map_err(io)?;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(at)).map_err(io)?;
    let rest = std::io::BufReader::with_capacity(256 * 1024, f);
    let (first, later) = std::thread::scope(|scope| {
        let h = scope.spawn(|| json_lines_until(rest, &mut second, vendor, true, None, 0));
        let first = json_lines_until(reader, sink, vendor, true, Some(at), 0);
        (first, h.join())
    });
    let lines = first.map_err(|(line, e)| e.into_error(path, line))?;
    let later = match later {
        Ok(r) => r,
        Err(_) => {
            return Err(IngestError::Shape {
                path: path.to_owned(),
                message: "the reading thread failed".into(),
            });
        }
    };
    later.map_err(|(line, e)| e.into_error(path, line + lines))?;
    let mut out = std::mem::take(&mut second.out);
    for d in &mut out.diagnostics {
        d.line += lines;
    }
    sink.out.merge(out);
    sink.builder.append(second.builder);
    Ok(())
}

/// Reads one JSON document (a page or an array of records), streaming its records.
fn read_document<'a>(
    reader: Box<dyn BufRead + Send>,
    sink: &mut Sink<'a>,
    spec: &SinkSpec<'_, 'a>,
    vendor: Vendor,
) -> Result<()> {
    let lines = Rc::new(Cell::new(1));
    let reader = Lines {
        inner: reader,
        lines: lines.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let r = Document {
        vendor,
        sink: &mut *sink,
        lines: Some(lines),
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match r {
        Ok(()) => {}
        // A first line longer than the sniffed sample: JSON lines after all (one
        // document on line 1, another after it). Read the file again as lines.
        Err(e)
            if e.line() == 2
                && e.to_string().starts_with("trailing characters")
                && spec.file.is_file() =>
        {
            reread_as_lines(sink, spec, vendor)?
        }
        Err(e) => {
            return Err(IngestError::Json {
                path: spec.path.to_owned(),
                line: e.line() as u64,
                message: e.to_string(),
            });
        }
    }
    Ok(())
}

/// Reads the file again as JSON lines into a fresh sink (after a too-long first line).
fn reread_as_lines<'a>(sink: &mut Sink<'a>, spec: &SinkSpec<'_, 'a>, vendor: Vendor) -> Result<()> {
    let (path, file) = (spec.path, spec.file);
    let first_line = {
        let mut r = crate::input::open(file)?.reader;
        let mut buf = Vec::new();
        r.read_until(b'\n', &mut buf).map_err(|e| IngestError::Io {
            path: path.to_owned(),
            source: e,
        })?;
        buf
    };
    let records_per_line = match serde_json::from_slice(first_line.trim_ascii()) {
        Ok(serde_json::Value::Object(m)) => !vendor.page_keys().iter().any(|k| m.contains_key(*k)),
        _ => false,
    };
    *sink = spec.sink()?;
    let reader = crate::input::open(file)?.reader;
    json_lines_until(reader, sink, vendor, records_per_line, None, 0)
        .map_err(|(line, e)| e.into_error(path, line))?;
    Ok(())
}

/// Why reading JSON lines stopped early.
#[derive(Debug)]
enum LinesError {
    Io(std::io::Error),
    Json(serde_json::Error),
}

impl From<serde_json::Error> for LinesError {
    fn from(e: serde_json::Error) -> Self {
        LinesError::Json(e)
    }
}

impl LinesError {
    fn into_error(self, path: &str, line: u64) -> IngestError {
        match self {
            LinesError::Io(e) => IngestError::Io {
                path: path.to_owned(),
                source: e,
            },
            LinesError::Json(e) => IngestError::Json {
                path: path.to_owned(),
                line,
                message: e.to_string(),
            },
        }
    }
}

/// Reads JSON lines into `sink` until the end (or until byte `stop` of the reader, a line
/// start); lines are numbered from `first_line + 1`. Returns the lines read, or the line
/// where it failed.
fn json_lines_until(
    mut reader: impl std::io::BufRead,
    sink: &mut Sink<'_>,
    vendor: Vendor,
    records_per_line: bool,
    stop: Option<u64>,
    first_line: u64,
) -> std::result::Result<u64, (u64, LinesError)> {
    let one = |text: &[u8], line: u64| -> std::result::Result<(), serde_json::Error> {
        sink.line = line;
        let text = text.trim_ascii();
        if text.is_empty() {
            return Ok(());
        }
        if records_per_line {
            vendors::record_slice(vendor, sink, text)
        } else {
            let mut de = serde_json::Deserializer::from_slice(text);
            Document {
                vendor,
                sink: &mut *sink,
                lines: None,
            }
            .deserialize(&mut de)
            .and_then(|()| de.end())
        }
    };
    each_line(&mut reader, stop, first_line, one)
}

/// Hands each line of `reader` (without its newline; the last one may lack it) and its
/// number, counted from `first_line + 1`, to `one`, until the end or until byte `stop`, a
/// line start. A line is read where it lies in the reader's buffer; only one that runs past
/// the buffer's end is gathered in a copy. Returns the lines read, or the line where it
/// failed.
fn each_line<E>(
    reader: &mut impl std::io::BufRead,
    stop: Option<u64>,
    first_line: u64,
    mut one: impl FnMut(&[u8], u64) -> std::result::Result<(), E>,
) -> std::result::Result<u64, (u64, LinesError)>
where
    LinesError: From<E>,
{
    let mut line = first_line;
    let mut consumed = 0u64;
    let mut carry = Vec::new();
    loop {
        if carry.is_empty() && stop.is_some_and(|s| consumed >= s) {
            break;
        }
        let buf = reader.fill_buf().map_err(|e| (line, LinesError::Io(e)))?;
        if buf.is_empty() {
            if !carry.is_empty() {
                line += 1;
                one(&carry, line).map_err(|e| (line, e.into()))?;
            }
            break;
        }
        let (used, end) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if end {
            line += 1;
            let r = if carry.is_empty() {
                one(&buf[..used - 1], line)
            } else {
                carry.extend_from_slice(&buf[..used - 1]);
                let r = one(&carry, line);
                carry.clear();
                r
            };
            r.map_err(|e| (line, e.into()))?;
        } else {
            carry.extend_from_slice(buf);
        }
        reader.consume(used);
        consumed += used as u64;
    }
    Ok(line - first_line)
}

/// Whether the file is JSON lines (its first line alone is a whole JSON value; a
/// pretty-printed document never is), and if so whether each line is one record (`true`)
/// or a page or array (`false`).
fn json_lines(vendor: Vendor, head: &[u8]) -> Option<bool> {
    // With no newline in the sample, the first line may be cut at the sample's end.
    let end = head.iter().position(|&b| b == b'\n')?;
    let first = head[..end].trim_ascii();
    let value = serde_json::from_slice::<serde_json::Value>(first).ok()?;
    Some(match value {
        serde_json::Value::Object(m) => !vendor.page_keys().iter().any(|k| m.contains_key(*k)),
        _ => false,
    })
}

/// One JSON document: a page (an object whose records array sits under one of the vendor's
/// page keys), an array of records or pages, or a single record. Read from a stream,
/// `lines` tells each record the line it ends on.
struct Document<'s, 'a> {
    vendor: Vendor,
    sink: &'s mut Sink<'a>,
    lines: Option<Rc<Cell<u64>>>,
}

impl<'de> DeserializeSeed<'de> for Document<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(DocVisitor {
            vendor: self.vendor,
            sink: self.sink,
            lines: self.lines,
        })
    }
}

struct DocVisitor<'s, 'a> {
    vendor: Vendor,
    sink: &'s mut Sink<'a>,
    lines: Option<Rc<Cell<u64>>>,
}

impl<'de> Visitor<'de> for DocVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a {} page, record or array of them", self.vendor)
    }

    /// An array: of records, or of pages (each element is itself a document).
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(DocVisitor {
                vendor: self.vendor,
                sink: &mut *self.sink,
                lines: self.lines.clone(),
            })?
            .is_some()
        {}
        Ok(())
    }

    /// An object: a page when one of its keys is a page key (its array streamed), else a
    /// single record (collected, then flattened).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields = serde_json::Map::new();
        let mut paged = false;
        while let Some(key) = map.next_key::<String>()? {
            if self.vendor.page_keys().contains(&key.as_str()) {
                map.next_value_seed(Records {
                    vendor: self.vendor,
                    sink: &mut *self.sink,
                    lines: self.lines.clone(),
                })?;
                paged = true;
            } else if paged {
                map.next_value::<IgnoredAny>()?;
            } else {
                fields.insert(key, map.next_value()?);
            }
        }
        if !paged {
            if let Some(l) = &self.lines {
                self.sink.line = l.get();
            }
            vendors::record(self.vendor, self.sink, serde_json::Value::Object(fields));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for DocVisitor<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A page's records array, each record flattened as it ends.
struct Records<'s, 'a> {
    vendor: Vendor,
    sink: &'s mut Sink<'a>,
    lines: Option<Rc<Cell<u64>>>,
}

impl<'de> DeserializeSeed<'de> for Records<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "an array of {} records", self.vendor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            if let Some(l) = &self.lines {
                self.sink.line = l.get();
            }
            vendors::record(self.vendor, self.sink, v);
        }
        Ok(())
    }
}

/// Deserializes a record from a JSON value, or rejects it with the reason.
fn typed<T: DeserializeOwned>(
    sink: &mut Sink<'_>,
    vendor: Vendor,
    v: serde_json::Value,
) -> Option<T> {
    match serde_json::from_value(v) {
        Ok(t) => Some(t),
        Err(e) => {
            sink.reject("record", &format!("a {vendor} record"), e.to_string());
            None
        }
    }
}

/// Any JSON scalar as text (ids are numbers in one API and strings in another); `null`,
/// arrays and objects as none.
pub(crate) fn any_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Text>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Text>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string, number or null")
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Text::from(v)))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Text::from(v)))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(compact_str::ToCompactString::to_compact_string(&v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(compact_str::ToCompactString::to_compact_string(&v)))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            // As `Display` writes it (1772442097.0 → "1772442097"), not ryu's "1772442097.0".
            Ok(Some(compact_str::format_compact!("{v}")))
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(compact_str::ToCompactString::to_compact_string(&v)))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// Adds an instance's Jira statuses (the list `GET /rest/api/3/status` returns: `name` and
/// `statusCategory.key`) to the mapping's states: category `new` → `new`, `indeterminate`
/// → `working`, `done` → `resolved`. A status the mapping already lists keeps its state
/// (the mapping is more precise than Jira's three categories). Returns how many were added.
pub fn add_jira_statuses(mapping: &mut Mapping, json: &[u8], origin: &str) -> Result<usize> {
    #[derive(Deserialize)]
    struct Category {
        key: String,
    }
    #[derive(Deserialize)]
    struct Status {
        name: String,
        #[serde(rename = "statusCategory")]
        category: Category,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Plain(Vec<Status>),
        Paged { values: Vec<Status> },
    }
    let bad = |message: String| IngestError::Mapping {
        origin: origin.to_owned(),
        message,
    };
    let list = match serde_json::from_slice::<List>(json) {
        Ok(List::Plain(v)) | Ok(List::Paged { values: v }) => v,
        Err(e) => {
            return Err(bad(format!(
                "expected Jira's status list (an array of {{\"name\", \"statusCategory\": {{\"key\"}}}}): {e}"
            )));
        }
    };
    let mut known: std::collections::HashSet<String> =
        mapping.states.values().flatten().cloned().collect();
    let mut added = 0;
    for s in list {
        if !known.insert(s.name.clone()) {
            continue;
        }
        let state = match s.category.key.as_str() {
            "new" => flowgate_flow::State::New,
            "indeterminate" => flowgate_flow::State::Working,
            "done" => flowgate_flow::State::Resolved,
            other => {
                return Err(bad(format!(
                    "status {:?} has category {other:?}; expected new, indeterminate or done",
                    s.name
                )));
            }
        };
        mapping.states.entry(state).or_default().push(s.name);
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(json: &str) -> Option<Text> {
        any_text(&mut serde_json::Deserializer::from_str(json)).unwrap()
    }

    /// Lines as `each_line` hands them on, read through a buffer of `capacity` bytes.
    fn lines_of(text: &str, capacity: usize, stop: Option<u64>) -> (Vec<(String, u64)>, u64) {
        let mut reader = std::io::BufReader::with_capacity(capacity, text.as_bytes());
        let mut seen = Vec::new();
        let n = each_line(&mut reader, stop, 10, |l, n| {
            seen.push((String::from_utf8_lossy(l).into_owned(), n));
            Ok::<(), serde_json::Error>(())
        });
        (seen, n.expect("read"))
    }

    #[test]
    fn lines_are_whole_whatever_the_buffer() {
        let text = "{\"a\":1}\n\n{\"b\":\"a longer line than the buffer\"}\nlast";
        let want: Vec<(String, u64)> = [
            "{\"a\":1}",
            "",
            "{\"b\":\"a longer line than the buffer\"}",
            "last",
        ]
        .iter()
        .zip(11..)
        .map(|(l, n)| (l.to_string(), n))
        .collect();
        for capacity in [1, 3, 7, 8, 9, 64, 4096] {
            assert_eq!(
                lines_of(text, capacity, None),
                (want.clone(), 4),
                "capacity {capacity}"
            );
        }
        // Stopping at a line start (byte 8, after the first line) reads that line only.
        for capacity in [1, 5, 4096] {
            assert_eq!(lines_of(text, capacity, Some(8)), (want[..1].to_vec(), 1));
        }
        assert_eq!(lines_of("", 8, None), (Vec::new(), 0));
    }

    #[test]
    fn scalars_read_as_their_text() {
        assert_eq!(text_of("1772442097").as_deref(), Some("1772442097"));
        assert_eq!(text_of("-3").as_deref(), Some("-3"));
        // A float written with a zero fraction reads as the integer's digits.
        assert_eq!(text_of("1772442097.0").as_deref(), Some("1772442097"));
        assert_eq!(text_of("2.5").as_deref(), Some("2.5"));
        assert_eq!(text_of("true").as_deref(), Some("true"));
        assert_eq!(text_of("\"open\"").as_deref(), Some("open"));
        assert_eq!(text_of("null"), None);
        assert_eq!(text_of("{\"id\": 1}"), None);
    }
}
