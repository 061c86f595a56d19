//! Opening an input: gzip detection, byte counting for progress, format and binary sniffing.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use crate::error::{IngestError, Result};

/// Counts the bytes read from the file (compressed bytes for `.gz`), for progress bars.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xes,
    /// A help desk's history as JSON (a page, an array, or JSON lines).
    Json,
}

pub struct Input {
    pub reader: Box<dyn BufRead + Send>,
    pub format: Format,
    /// Bytes of the file read so far.
    pub read: Arc<AtomicU64>,
    /// File size in bytes.
    pub size: u64,
    /// The first bytes of the (decompressed) content, for delimiter detection.
    pub head: Vec<u8>,
    /// Whether the file is gzip-compressed.
    pub gzip: bool,
}

const SNIFF: usize = 64 * 1024;

pub fn open(path: &Path) -> Result<Input> {
    let p = path.display().to_string();
    let io = |e| IngestError::Io {
        path: p.clone(),
        source: e,
    };
    let file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let read = Arc::new(AtomicU64::new(0));
    let mut raw = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: file,
            count: read.clone(),
        },
    );
    let gz = raw.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead + Send> = if gz {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    // Sniff the head without consuming it.
    let head = {
        let buf = reader.fill_buf().map_err(|e| IngestError::Io {
            path: p.clone(),
            source: e,
        })?;
        buf[..buf.len().min(SNIFF)].to_vec()
    };
    if head.is_empty() {
        return Err(IngestError::Empty { path: p });
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    if let Some(offset) = binary_offset(body) {
        return Err(IngestError::Binary {
            path: p,
            offset: offset as u64,
        });
    }
    let format = format_of(body);
    Ok(Input {
        reader,
        format,
        read,
        size,
        head: body.to_vec(),
        gzip: gz,
    })
}

/// The format a sample's first character names: `<` XES, `{` or `[` JSON, else CSV.
fn format_of(sample: &[u8]) -> Format {
    let trimmed = sample.trim_ascii_start();
    if trimmed.starts_with(b"<") {
        Format::Xes
    } else if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") {
        Format::Json
    } else {
        Format::Csv
    }
}

/// An input held in memory (a page fetched from an API).
pub fn from_bytes(body: Vec<u8>, name: &str) -> Result<Input> {
    if body.is_empty() {
        return Err(IngestError::Empty {
            path: name.to_owned(),
        });
    }
    let head = body[..body.len().min(SNIFF)].to_vec();
    let body_head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let format = format_of(body_head);
    let size = body.len() as u64;
    Ok(Input {
        head: body_head.to_vec(),
        reader: Box::new(std::io::Cursor::new(body)),
        format,
        read: Arc::new(AtomicU64::new(size)),
        size,
        gzip: false,
    })
}

/// Where the sample stops looking like text: a NUL, a control character other than
/// tab/CR/LF/FF, or mostly bytes that are not UTF-8. A few invalid bytes (a Latin-1 name)
/// are left to the row diagnostics; a sequence cut at the sample's end is fine.
fn binary_offset(sample: &[u8]) -> Option<usize> {
    if let Some(i) = sample
        .iter()
        .position(|&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)))
    {
        return Some(i);
    }
    let mut rest = sample;
    let mut invalid = 0usize;
    let mut first = None;
    while let Err(e) = std::str::from_utf8(rest) {
        let Some(len) = e.error_len() else { break };
        first.get_or_insert(sample.len() - rest.len() + e.valid_up_to());
        invalid += len;
        rest = &rest[e.valid_up_to() + len..];
    }
    (invalid * 20 > sample.len()).then(|| first.unwrap_or(0))
}

/// The most frequent of `, ; TAB |` in the first line (outside quotes); `,` when none.
pub fn detect_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let cands = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = cands.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let (best, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .unwrap_or((0, &0));
    if *n == 0 { b',' } else { cands[best] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter(b"a,b,c\n1;2;3;4;5"), b',');
        assert_eq!(detect_delimiter(b"a;b;\"c,d,e\"\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"abc"), b',');
    }

    #[test]
    fn binary_detection() {
        assert_eq!(binary_offset(b"case,act\n1,2\n"), None);
        assert_eq!(binary_offset(b"ab\0cd"), Some(2));
        assert_eq!(binary_offset(b"ab\xff\xfe"), Some(2));
        assert_eq!(
            binary_offset(b"name,city\nJos\xe9,Paris\nAnna,Rome\n"),
            None
        );
        // A multi-byte character cut by the sample's end is not binary.
        assert_eq!(binary_offset("caf\u{e9}".as_bytes().split_at(4).0), None);
    }
}
