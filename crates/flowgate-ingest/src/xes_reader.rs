//! Streaming XES (IEEE 1849) reader over plain or gzipped XML.
//!
//! Trace attributes become `case:<key>` columns (PM4Py's convention), event attributes keep
//! their keys; nested attributes (lists, containers, meta attributes) are skipped. Events are
//! emitted when their trace ends, so trace attributes written after events still apply.

use std::io::{BufRead, Read};
use std::ops::Range;
use std::sync::atomic::Ordering;

use flowgate_flow::EventLogBuilder;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::error::{IngestError, Result};
use crate::input::Input;
use crate::mapping::{Mapping, xes_default_mapping};
use crate::rows::{ColumnTable, RowMapper};
use crate::{Collector, ReadOptions};

/// Counts newlines in what the XML parser consumes, so errors can name a line.
struct Lines<R> {
    inner: R,
    lines: u64,
}

impl<R: BufRead> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let amt = amt.min(buf.len());
            self.lines += buf[..amt].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        self.inner.consume(amt);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    Log,
    Trace,
    Event,
    /// Anything whose children we do not read (globals, nested attributes, extensions).
    Skip,
}

const ATTR_TAGS: [&[u8]; 8] = [
    b"string",
    b"date",
    b"int",
    b"float",
    b"boolean",
    b"id",
    b"list",
    b"container",
];

/// One buffered event: (column, byte range into the trace buffer).
type Fields = Vec<(usize, Range<usize>)>;

/// Reads an XES file (see the module's documentation).
pub(crate) fn read(
    input: Input,
    path: &str,
    opts: &ReadOptions<'_>,
) -> Result<(EventLogBuilder, Mapping, bool, Collector)> {
    let (mapping, detected) = match &opts.mapping {
        Some(m) => (m.clone(), false),
        None => (xes_default_mapping(), true),
    };
    let mut st = State::new(&mapping, path)?;
    let read_bytes = input.read.clone();
    let size = input.size;
    let mut xml = Reader::from_reader(Lines {
        inner: input.reader,
        lines: 0,
    });
    xml.config_mut().trim_text(true);
    let mut buf = Vec::with_capacity(4096);
    loop {
        let line = xml.get_ref().lines + 1;
        let ev = xml
            .read_event_into(&mut buf)
            .map_err(|e| IngestError::Xes {
                path: path.to_owned(),
                line,
                message: e.to_string(),
            })?;
        let bad = |message: String| IngestError::Xes {
            path: path.to_owned(),
            line,
            message,
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                st.start(e, empty, line).map_err(bad)?;
            }
            Event::End(_) => {
                if st.end(line).map_err(bad)? == Ctx::Trace
                    && let Some(p) = opts.progress
                {
                    p(read_bytes.load(Ordering::Relaxed), size);
                }
            }
            Event::Eof => {
                st.eof().map_err(bad)?;
                break;
            }
            _ => {}
        }
        buf.clear();
    }
    st.out.rows = st.n_events;
    Ok((st.builder, mapping, detected, st.out))
}

/// The reader's state: the mapper and the log built, the open elements and the current trace.
struct State {
    table: ColumnTable,
    mapper: RowMapper,
    builder: EventLogBuilder,
    out: Collector,
    /// The open elements, innermost last.
    stack: Vec<Ctx>,
    saw_log: bool,
    // Current trace: its attributes, its buffered events, and their text.
    text: Vec<u8>,
    trace_attrs: Fields,
    events: Vec<(u64, Fields)>,
    cur: Fields,
    values: Vec<Option<Range<usize>>>,
    n_events: u64,
}

impl State {
    /// A fresh state whose mapper reads `mapping`.
    fn new(mapping: &Mapping, path: &str) -> Result<State> {
        let mut table = ColumnTable::default();
        let mut mapper = RowMapper::new(mapping, true, &mut table, true, path).map_err(|r| {
            IngestError::Mapping {
                origin: path.to_owned(),
                message: format!("column {} for {}", r.column, r.role),
            }
        })?;
        let mut builder = EventLogBuilder::new(!mapping.states.is_empty());
        mapper.sync_columns(&table, &mut builder);
        Ok(State {
            table,
            mapper,
            builder,
            out: Collector::default(),
            stack: Vec::new(),
            saw_log: false,
            text: Vec::new(),
            trace_attrs: Vec::new(),
            events: Vec::new(),
            cur: Vec::new(),
            values: Vec::new(),
            n_events: 0,
        })
    }

    /// Opens element `e` at `line`, and closes it there too when it is `empty`.
    fn start(
        &mut self,
        e: &BytesStart<'_>,
        empty: bool,
        line: u64,
    ) -> std::result::Result<(), String> {
        let ctx = self.open(e)?;
        if empty {
            // An empty <event/> or <trace/> still ends here.
            close(ctx, &mut self.cur, &mut self.events, line);
            if ctx == Ctx::Trace {
                self.emit();
            }
        } else {
            self.stack.push(ctx);
        }
        Ok(())
    }

    /// The context element `e` opens; a trace or event starts afresh, an attribute is kept.
    fn open(&mut self, e: &BytesStart<'_>) -> std::result::Result<Ctx, String> {
        let name = e.local_name();
        let name = name.as_ref();
        let parent = self.stack.last().copied();
        Ok(match (parent, name) {
            (None, b"log") => {
                self.saw_log = true;
                Ctx::Log
            }
            (None, _) => {
                return Err(format!(
                    "expected the root element <log>, found <{}>",
                    String::from_utf8_lossy(name)
                ));
            }
            (Some(Ctx::Log), b"trace") => {
                self.text.clear();
                self.trace_attrs.clear();
                self.events.clear();
                Ctx::Trace
            }
            (Some(Ctx::Trace), b"event") => {
                self.cur.clear();
                Ctx::Event
            }
            (Some(p @ (Ctx::Trace | Ctx::Event)), tag) if ATTR_TAGS.contains(&tag) => {
                let (key, value) = key_value(e)?;
                if let Some(value) = value {
                    self.attribute(p, key, &value);
                }
                Ctx::Skip
            }
            _ => Ctx::Skip,
        })
    }

    /// Keeps an attribute of the trace (as `case:<key>`) or of the current event (`p`).
    fn attribute(&mut self, p: Ctx, key: String, value: &str) {
        let key = if p == Ctx::Trace {
            format!("case:{key}")
        } else {
            key
        };
        let col = self.table.get_or_add(&key);
        let start = self.text.len();
        self.text.extend_from_slice(value.as_bytes());
        let fields = if p == Ctx::Trace {
            &mut self.trace_attrs
        } else {
            &mut self.cur
        };
        fields.push((col, start..self.text.len()));
    }

    /// Closes the innermost open element at `line`, emitting a trace's events; its context.
    fn end(&mut self, line: u64) -> std::result::Result<Ctx, String> {
        let Some(ctx) = self.stack.pop() else {
            return Err("a closing tag without an opening one".into());
        };
        close(ctx, &mut self.cur, &mut self.events, line);
        if ctx == Ctx::Trace {
            self.n_events += self.events.len() as u64;
            self.mapper.sync_columns(&self.table, &mut self.builder);
            self.emit();
        }
        Ok(ctx)
    }

    /// Checks the file ended well: a `<log>` was seen and every element is closed.
    fn eof(&self) -> std::result::Result<(), String> {
        if !self.saw_log {
            return Err("no <log> element: not an XES file".into());
        }
        if let Some(open) = self.stack.last() {
            return Err(format!(
                "the file ends inside {} (truncated?)",
                match open {
                    Ctx::Log => "<log>",
                    Ctx::Trace => "a <trace>",
                    Ctx::Event => "an <event>",
                    Ctx::Skip => "an element",
                }
            ));
        }
        Ok(())
    }

    /// Maps the current trace's buffered events (with the trace's attributes) to the log.
    fn emit(&mut self) {
        emit(
            &mut self.events,
            &self.trace_attrs,
            &self.text,
            &mut self.values,
            &self.table,
            &mut self.mapper,
            &mut self.builder,
            &mut self.out,
        );
    }
}

fn close(ctx: Ctx, cur: &mut Fields, events: &mut Vec<(u64, Fields)>, line: u64) {
    if ctx == Ctx::Event {
        events.push((line, std::mem::take(cur)));
    }
}

#[allow(clippy::too_many_arguments)]
fn emit(
    events: &mut Vec<(u64, Fields)>,
    trace_attrs: &Fields,
    text: &[u8],
    values: &mut Vec<Option<Range<usize>>>,
    table: &ColumnTable,
    mapper: &mut RowMapper,
    builder: &mut EventLogBuilder,
    out: &mut Collector,
) {
    mapper.sync_columns(table, builder);
    for (line, fields) in events.drain(..) {
        values.clear();
        values.resize(table.names.len(), None);
        for (col, r) in trace_attrs.iter().chain(fields.iter()) {
            values[*col] = Some(r.clone());
        }
        let get = |c: usize| values.get(c).cloned().flatten().map(|r| &text[r]);
        if let Err(d) = mapper.map(get, table, line, builder) {
            out.reject(d);
        }
    }
}

fn key_value(e: &BytesStart<'_>) -> std::result::Result<(String, Option<String>), String> {
    let mut key = None;
    let mut value = None;
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        let v = a
            .unescape_value()
            .map_err(|err| format!("bad attribute value: {err}"))?
            .into_owned();
        match a.key.as_ref() {
            b"key" => key = Some(v),
            b"value" => value = Some(v),
            _ => {}
        }
    }
    let key = key.ok_or_else(|| {
        format!(
            "<{}> attribute without a key",
            String::from_utf8_lossy(e.local_name().as_ref())
        )
    })?;
    Ok((key, value))
}
