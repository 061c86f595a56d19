//! Streaming CSV reader: BOM, CRLF, quoted newlines, delimiter detection, header mapping.
//!
//! A large plain file is parsed in two halves on two threads. The second half starts just
//! after a newline near the middle; the first half's parser must then reach a record that
//! starts exactly there. If it does not (the newline was inside a quoted field), the second
//! half's work is thrown away and the first parser simply reads on: the result is always
//! the same as a sequential read, in file order.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::Ordering;

use flowgate_flow::EventLogBuilder;

use crate::error::{IngestError, Result};
use crate::input::{Input, detect_delimiter};
use crate::mapping::Mapping;
use crate::rows::{ColumnTable, RowMapper};
use crate::{Collector, ReadOptions};

/// What one parser produced.
struct Part {
    builder: EventLogBuilder,
    out: Collector,
    mapper: RowMapper,
    table: ColumnTable,
}

/// How the first parser ended.
enum Stop {
    /// At the end of the file.
    Eof,
    /// At a record starting exactly at the split, on this (absolute) line.
    AtSplit { line: u64 },
}

struct Setup<'a> {
    path: &'a str,
    delimiter: u8,
    mapping: &'a Mapping,
    header: &'a [String],
}

impl Setup<'_> {
    fn reader<R: Read>(&self, r: R) -> csv::Reader<R> {
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(256 * 1024)
            .from_reader(r)
    }

    fn csv_err(&self, line_base: u64) -> impl Fn(csv::Error) -> IngestError + '_ {
        move |e: csv::Error| IngestError::Csv {
            path: self.path.to_owned(),
            line: e.position().map_or(0, |p| p.line()) + line_base,
            message: e.to_string(),
        }
    }

    fn table(&self) -> ColumnTable {
        let mut t = ColumnTable::default();
        for h in self.header {
            t.get_or_add(h);
        }
        t
    }

    fn part(&self) -> Result<Part> {
        let mut table = self.table();
        let mut mapper = RowMapper::new(self.mapping, false, &mut table, false, self.path)
            .map_err(|r| IngestError::MissingColumn {
                path: self.path.to_owned(),
                line: 1,
                column: r.column.to_owned(),
                role: r.role,
                header: self.header.join(", "),
            })?;
        let mut builder = EventLogBuilder::new(!self.mapping.states.is_empty());
        mapper.sync_columns(&table, &mut builder);
        Ok(Part {
            builder,
            out: Collector::default(),
            mapper,
            table,
        })
    }

    /// Parses records from `rdr` until EOF, or (with `split`) until a record starting at or
    /// after byte `split` (absolute: `offset` + reader position).
    fn run<R: Read>(
        &self,
        rdr: &mut csv::Reader<R>,
        part: &mut Part,
        offset: u64,
        split: Option<u64>,
        progress: &dyn Fn(),
    ) -> Result<Stop> {
        let mut rec = csv::ByteRecord::new();
        let err = self.csv_err(0);
        let mut n = 0u64;
        while rdr.read_byte_record(&mut rec).map_err(&err)? {
            let pos = rec.position().cloned().unwrap_or_else(csv::Position::new);
            if let Some(split) = split
                && offset + pos.byte() >= split
            {
                if offset + pos.byte() == split {
                    return Ok(Stop::AtSplit { line: pos.line() });
                }
                // The split fell inside a quoted field: not a record boundary. Read on.
                return self
                    .map_record(&rec, pos.line(), part)
                    .and_then(|()| self.run(rdr, part, offset, None, progress));
            }
            self.map_record(&rec, pos.line(), part)?;
            n += 1;
            if n.is_multiple_of(65_536) {
                progress();
            }
        }
        Ok(Stop::Eof)
    }

    fn map_record(&self, rec: &csv::ByteRecord, line: u64, part: &mut Part) -> Result<()> {
        if rec.len() == 1 && rec[0].trim_ascii().is_empty() {
            return Ok(()); // a blank line
        }
        part.out.rows += 1;
        if let Err(d) = part
            .mapper
            .map(|c| rec.get(c), &part.table, line, &mut part.builder)
        {
            part.out.reject(d);
        }
        Ok(())
    }
}

pub(crate) fn read(
    mut input: Input,
    path: &str,
    file: &Path,
    opts: &ReadOptions<'_>,
) -> Result<(EventLogBuilder, Mapping, bool, Collector)> {
    let delimiter = opts
        .mapping
        .as_ref()
        .and_then(|m| m.delimiter)
        .map(|c| c as u8)
        .unwrap_or_else(|| detect_delimiter(&input.head));
    let read = input.read.clone();
    let head = std::mem::take(&mut input.head);
    let (gz, size) = (input.gzip, input.size);
    let progress = || {
        if let Some(p) = opts.progress {
            p(read.load(Ordering::Relaxed), size);
        }
    };

    // The header, with the same reader the first part goes on with.
    let bootstrap = Setup {
        path,
        delimiter,
        mapping: &Mapping::default(),
        header: &[],
    };
    let mut rdr = bootstrap.reader(input.reader);
    let mut rec = csv::ByteRecord::new();
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(bootstrap.csv_err(0))?
    {
        return Err(IngestError::Empty {
            path: path.to_owned(),
        });
    }
    let header = header_names(&rec);
    let header_end = rdr.position().byte();
    let (mapping, detected) = match &opts.mapping {
        Some(m) => (m.clone(), false),
        None => match Mapping::detect(&header) {
            Some(m) => (m, true),
            None => {
                return Err(IngestError::NoMapping {
                    path: path.to_owned(),
                    header: header.join(", "),
                });
            }
        },
    };
    let setup = Setup {
        path,
        delimiter,
        mapping: &mapping,
        header: &header,
    };
    let mut first = setup.part()?;
    let estimate = estimate_rows(&head, size, gz);
    let split = if gz || size < opts.split_min_bytes() {
        None
    } else {
        find_split(file, header_end + (size - header_end) / 2)
    };
    let Some(split) = split else {
        if let Some(rows) = estimate {
            first.builder.reserve(rows);
        }
        setup.run(&mut rdr, &mut first, 0, None, &progress)?;
        return Ok((first.builder, mapping, detected, first.out));
    };
    if let Some(rows) = estimate {
        // The second half is appended to the first: room for all of it up front.
        first.builder.reserve(rows);
    }
    let (stop, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| -> Result<(Part, u64)> {
            let mut part = setup.part()?;
            if let Some(rows) = estimate {
                part.builder.reserve(rows / 2 + 1);
            }
            let mut f = File::open(file).map_err(|e| IngestError::Io {
                path: path.to_owned(),
                source: e,
            })?;
            f.seek(SeekFrom::Start(split))
                .map_err(|e| IngestError::Io {
                    path: path.to_owned(),
                    source: e,
                })?;
            let mut r = setup.reader(BufReader::with_capacity(256 * 1024, f));
            setup.run(&mut r, &mut part, split, None, &progress)?;
            Ok((part, r.position().line()))
        });
        let stop = setup.run(&mut rdr, &mut first, 0, Some(split), &progress);
        (stop, second.join())
    });
    match stop? {
        Stop::Eof => {
            tracing::debug!("split at byte {split} fell inside a quoted field; read sequentially");
        }
        Stop::AtSplit { line } => {
            let (second, _) = second.map_err(|_| IngestError::Csv {
                path: path.to_owned(),
                line,
                message: "the parser of the second half stopped unexpectedly".into(),
            })??;
            // The second parser counted lines from 1 at the split.
            let mut out = second.out;
            for d in &mut out.diagnostics {
                d.line += line - 1;
            }
            first.builder.append(second.builder);
            first.out.merge(out);
        }
    }
    Ok((first.builder, mapping, detected, first.out))
}

/// Header names, BOM stripped, trimmed, repeated names suffixed `_2`, `_3`, … so every
/// column stays addressable.
fn header_names(rec: &csv::ByteRecord) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(rec.len());
    for (i, raw) in rec.iter().enumerate() {
        let raw = if i == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        let name = String::from_utf8_lossy(raw).trim().to_owned();
        let mut unique = name.clone();
        let mut k = 2;
        while names.contains(&unique) {
            unique = format!("{name}_{k}");
            k += 1;
        }
        names.push(unique);
    }
    names
}

/// The offset just after the first newline at or after `near`; `None` when there is none
/// within 1 MiB (then the file is read by one thread).
pub(crate) fn find_split(file: &Path, near: u64) -> Option<u64> {
    let mut f = File::open(file).ok()?;
    f.seek(SeekFrom::Start(near)).ok()?;
    let mut buf = vec![0u8; 1 << 20];
    let n = f.read(&mut buf).ok()?;
    let i = buf[..n].iter().position(|&b| b == b'\n')?;
    let split = near + i as u64 + 1;
    (i + 1 < n).then_some(split)
}

/// Rows in a file of `size` bytes, from the mean line length of the sample (plain files
/// only: a compressed size says little). Capped so a wrong guess cannot exhaust memory.
fn estimate_rows(head: &[u8], size: u64, gz: bool) -> Option<usize> {
    if gz {
        return None;
    }
    let lines = head.iter().filter(|&&b| b == b'\n').count();
    if lines < 2 {
        return None;
    }
    let per_line = head.len() as u64 / lines as u64;
    Some(((size / per_line.max(1)) as usize).min(200_000_000))
}
