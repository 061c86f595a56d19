//! Typed errors and per-row diagnostics.

use std::fmt;

/// A problem with one row (or event) that does not stop the import: the row is skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line of the row (CSV) or of the end of the event (XES).
    pub line: u64,
    pub field: String,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: field {:?}: expected {}, found {:?}",
            self.file, self.line, self.field, self.expected, self.found
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty")]
    Empty { path: String },
    #[error(
        "{path}: not a text event log (found binary data at byte {offset}); expected CSV (UTF-8), XES or a help desk's JSON history"
    )]
    Binary { path: String, offset: u64 },
    #[error(
        "{path}:{line}: the header lacks column {column:?} (needed for {role}); the header has: {header}"
    )]
    MissingColumn {
        path: String,
        line: u64,
        column: String,
        role: &'static str,
        header: String,
    },
    #[error(
        "{path}:1: no mapping given and the header names no usual case/activity/timestamp columns (header: {header}); pass --preset NAME or --mapping FILE"
    )]
    NoMapping { path: String, header: String },
    #[error("{path}:{line}: {message}")]
    Csv {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}:{line}: invalid XES: {message}")]
    Xes {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}:{line}: invalid JSON: {message}")]
    Json {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Shape { path: String, message: String },
    #[error("{origin}: invalid mapping: {message}")]
    Mapping { origin: String, message: String },
    #[error("unknown preset {name:?}; built-in presets: {known}")]
    UnknownPreset { name: String, known: String },
    #[error("{path}: no events could be read ({rejected} rows rejected){first}")]
    NoEvents {
        path: String,
        rejected: u64,
        first: String,
    },
    #[error("{count} row(s) rejected and --strict is set; first: {first}")]
    Strict { count: u64, first: Diagnostic },
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;
