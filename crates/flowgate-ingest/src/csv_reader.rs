//! Streaming CSV reader: BOM, CRLF, quoted newlines, delimiter detection, header mapping.

use std::sync::atomic::Ordering;

use flowgate_flow::EventLogBuilder;

use crate::error::{IngestError, Result};
use crate::input::{Input, detect_delimiter};
use crate::mapping::Mapping;
use crate::rows::{ColumnTable, RowMapper};
use crate::{Collector, ReadOptions};

pub(crate) fn read(
    mut input: Input,
    path: &str,
    opts: &ReadOptions<'_>,
) -> Result<(EventLogBuilder, Mapping, bool, Collector)> {
    let delimiter = opts
        .mapping
        .as_ref()
        .and_then(|m| m.delimiter)
        .map(|c| c as u8)
        .unwrap_or_else(|| detect_delimiter(&input.head));
    let read = input.read.clone();
    let input_head = std::mem::take(&mut input.head);
    let gz = input.gzip;
    let size = input.size;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(input.reader);
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        IngestError::Csv {
            path: path.to_owned(),
            line,
            message: e.to_string(),
        }
    };
    let mut rec = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        return Err(IngestError::Empty {
            path: path.to_owned(),
        });
    }
    let mut table = ColumnTable::default();
    let mut header = Vec::new();
    for (i, raw) in rec.iter().enumerate() {
        let raw = if i == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        let name = String::from_utf8_lossy(raw).trim().to_owned();
        // A repeated header name gets a suffix so every column stays addressable.
        let mut unique = name.clone();
        let mut k = 2;
        while table.get(&unique).is_some() {
            unique = format!("{name}_{k}");
            k += 1;
        }
        table.get_or_add(&unique);
        header.push(unique);
    }
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
    let mut mapper = RowMapper::new(&mapping, false, &mut table, false, path).map_err(|r| {
        IngestError::MissingColumn {
            path: path.to_owned(),
            line: 1,
            column: r.column.to_owned(),
            role: r.role,
            header: header.join(", "),
        }
    })?;
    let mut builder = EventLogBuilder::new(!mapping.states.is_empty());
    mapper.sync_columns(&table, &mut builder);
    if let Some(rows) = estimate_rows(&input_head, size, gz) {
        builder.reserve(rows);
    }
    let mut out = Collector::default();
    let mut rows = 0u64;
    while rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        if rec.len() == 1 && rec[0].trim_ascii().is_empty() {
            continue; // a blank line
        }
        rows += 1;
        let line = rec.position().map_or(0, |p| p.line());
        if let Err(d) = mapper.map(|c| rec.get(c), &table, line, &mut builder) {
            out.reject(d);
        }
        if rows % 65_536 == 0
            && let Some(p) = opts.progress
        {
            p(read.load(Ordering::Relaxed), size);
        }
    }
    out.rows = rows;
    Ok((builder, mapping, detected, out))
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
