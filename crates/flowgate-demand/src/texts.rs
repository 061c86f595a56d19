//! Reading labelled texts: a CSV with a header (text and label columns named or guessed),
//! or a folder with `seq.in` (one text per line) and optionally `label` (one label per line).

use std::path::Path;

use crate::error::{DemandError, Result};

pub struct Labelled {
    /// Ticket ids: the id column when there is one, else the line number.
    pub ids: Vec<String>,
    /// Where each text starts in its file (1-based line).
    pub lines: Vec<u64>,
    pub texts: Vec<String>,
    /// Empty when the source has no labels.
    pub labels: Vec<String>,
    /// The CSV header, lower-cased (empty for a seq.in folder).
    pub columns: Vec<String>,
    /// Per text: every column of its row, in header order (empty for a seq.in folder).
    pub rows: Vec<Vec<String>>,
}

impl Labelled {
    /// Text `i`'s columns by lower-case name.
    pub fn fields(&self, i: usize) -> std::collections::BTreeMap<String, String> {
        match self.rows.get(i) {
            Some(r) => self
                .columns
                .iter()
                .cloned()
                .zip(r.iter().cloned())
                .collect(),
            None => Default::default(),
        }
    }
}

const TEXT_NAMES: [&str; 6] = [
    "text",
    "utterance",
    "body",
    "query",
    "message",
    "instruction",
];
const LABEL_NAMES: [&str; 5] = ["label", "intent", "category", "class", "labels"];
const ID_NAMES: [&str; 6] = [
    "case_id",
    "case",
    "ticket_id",
    "ticket",
    "id",
    "case:concept:name",
];

/// Which columns to read; `None` tries the usual names. `text` may name several columns
/// separated by commas (joined with ". "); by default `subject` and `body` are joined when
/// both exist.
#[derive(Clone, Copy, Debug, Default)]
pub struct Columns<'a> {
    pub text: Option<&'a str>,
    pub label: Option<&'a str>,
    pub id: Option<&'a str>,
}

/// Reads `path`. `text_col` / `label_col` name the CSV columns; without them the usual
/// names are tried. `need_labels` makes a missing label column an error.
pub fn read(
    path: &Path,
    text_col: Option<&str>,
    label_col: Option<&str>,
    need_labels: bool,
) -> Result<Labelled> {
    read_columns(
        path,
        Columns {
            text: text_col,
            label: label_col,
            id: None,
        },
        need_labels,
    )
}

/// Like [`read`], with the id column too.
pub fn read_columns(path: &Path, cols: Columns, need_labels: bool) -> Result<Labelled> {
    let shown = path.display().to_string();
    if path.is_dir() {
        return read_folder(path, &shown, need_labels);
    }
    let (mut rdr, header) = open_csv(path, &shown)?;
    let h = Header {
        shown: &shown,
        names: &header,
    };
    let text = h.text_columns(cols.text)?;
    let id = h.find(cols.id, &ID_NAMES, "id")?;
    let label = h.find(cols.label, &LABEL_NAMES, "label")?;
    if need_labels && label.is_none() {
        return Err(h.error(
            1,
            format!(
                "no label column (tried {}); name it with --label-col; the header has: {}",
                LABEL_NAMES.join(", "),
                header.join(", ")
            ),
        ));
    }
    let picked = Picked { text, id, label };
    let mut out = Labelled {
        ids: Vec::new(),
        lines: Vec::new(),
        texts: Vec::new(),
        labels: Vec::new(),
        columns: header.iter().map(|h| h.to_lowercase()).collect(),
        rows: Vec::new(),
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| h.error(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        h.push_record(&rec, &picked, &mut out)?;
    }
    Ok(out)
}

/// Reads a folder with `seq.in` (one text per line) and optionally `label` (one per line).
fn read_folder(path: &Path, shown: &str, need_labels: bool) -> Result<Labelled> {
    let lines = |f: &str| -> Result<Option<Vec<String>>> {
        let p = path.join(f);
        if !p.exists() {
            return Ok(None);
        }
        std::fs::read_to_string(&p)
            .map(|s| Some(s.lines().map(str::to_owned).collect()))
            .map_err(|e| DemandError::Texts {
                path: p.display().to_string(),
                line: 0,
                problem: e.to_string(),
            })
    };
    let texts = lines("seq.in")?.ok_or_else(|| DemandError::Texts {
        path: shown.to_owned(),
        line: 0,
        problem: "a folder of texts needs seq.in (and label)".into(),
    })?;
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(DemandError::Texts {
            path: format!("{shown}/seq.in"),
            line: i as u64 + 1,
            problem: "empty text".into(),
        });
    }
    let labels = lines("label")?.unwrap_or_default();
    if need_labels && labels.len() != texts.len() {
        return Err(DemandError::Texts {
            path: format!("{shown}/label"),
            line: labels.len() as u64,
            problem: format!("expected {} labels, one per line of seq.in", texts.len()),
        });
    }
    let ids = (1..=texts.len()).map(|i| i.to_string()).collect();
    let lines = (1..=texts.len() as u64).collect();
    Ok(Labelled {
        ids,
        lines,
        texts,
        labels,
        columns: Vec::new(),
        rows: Vec::new(),
    })
}

/// Opens the CSV at `path` and reads its header (trimmed, without a byte-order mark).
fn open_csv(path: &Path, shown: &str) -> Result<(csv::Reader<std::fs::File>, Vec<String>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| DemandError::Texts {
            path: shown.to_owned(),
            line: 0,
            problem: e.to_string(),
        })?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| DemandError::Texts {
            path: shown.to_owned(),
            line: 1,
            problem: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    Ok((rdr, header))
}

/// A CSV's header, with the file's name for error messages.
struct Header<'a> {
    shown: &'a str,
    names: &'a [String],
}

/// The columns picked for the text (one or more), the ticket id and the label.
struct Picked {
    text: Vec<usize>,
    id: Option<usize>,
    label: Option<usize>,
}

impl Header<'_> {
    /// An error at `line` of this file.
    fn error(&self, line: u64, problem: String) -> DemandError {
        DemandError::Texts {
            path: self.shown.to_owned(),
            line,
            problem,
        }
    }

    /// The column named `given` (an error when absent), else the first of `names` present.
    fn find(&self, given: Option<&str>, names: &[&str], role: &str) -> Result<Option<usize>> {
        let header = self.names;
        match given {
            Some(g) => header.iter().position(|h| h == g).map(Some).ok_or_else(|| {
                self.error(
                    1,
                    format!(
                        "no {role} column {g:?}; the header has: {}",
                        header.join(", ")
                    ),
                )
            }),
            None => Ok(names
                .iter()
                .find_map(|n| header.iter().position(|h| h.eq_ignore_ascii_case(n)))),
        }
    }

    /// The text columns: those listed in `text_col`, else subject and body, else a usual name.
    fn text_columns(&self, text_col: Option<&str>) -> Result<Vec<usize>> {
        let header = self.names;
        let mut t = Vec::new();
        match text_col {
            Some(list) => {
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    t.extend(self.find(Some(name), &[], "text")?);
                }
            }
            None => {
                let pos = |n: &str| header.iter().position(|h| h.eq_ignore_ascii_case(n));
                match (pos("subject"), pos("body")) {
                    (Some(a), Some(b)) if self.find(None, &TEXT_NAMES[..4], "text")? == Some(b) => {
                        t = vec![a, b]
                    }
                    _ => t.extend(self.find(None, &TEXT_NAMES, "text")?),
                }
            }
        }
        if t.is_empty() {
            return Err(self.error(
                1,
                format!(
                    "no text column (tried {}); name it with --text-col; the header has: {}",
                    TEXT_NAMES.join(", "),
                    header.join(", ")
                ),
            ));
        }
        Ok(t)
    }

    /// Adds record `rec` (its text, id, line, label and columns) to `out`.
    fn push_record(
        &self,
        rec: &csv::StringRecord,
        picked: &Picked,
        out: &mut Labelled,
    ) -> Result<()> {
        let line = rec.position().map_or(0, |p| p.line());
        let text = self.record_text(rec, &picked.text, line)?;
        let ticket_id = match picked.id {
            Some(i) => {
                let v = rec.get(i).unwrap_or_default().trim();
                if v.is_empty() {
                    return Err(self.error(line, format!("empty id in column {:?}", self.names[i])));
                }
                v.to_owned()
            }
            None => line.to_string(),
        };
        out.ids.push(ticket_id);
        out.lines.push(line);
        if let Some(l) = picked.label {
            let label = rec.get(l).unwrap_or_default().trim().to_owned();
            if label.is_empty() {
                return Err(self.error(line, "empty label".into()));
            }
            out.labels.push(label);
        }
        out.texts.push(text);
        out.rows.push(rec.iter().map(str::to_owned).collect());
        Ok(())
    }

    /// Record `rec`'s text: its non-empty text columns joined (an error when all are empty).
    fn record_text(&self, rec: &csv::StringRecord, t: &[usize], line: u64) -> Result<String> {
        let parts: Vec<&str> = t
            .iter()
            .map(|&i| rec.get(i).unwrap_or_default().trim())
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            let names: Vec<&str> = t.iter().map(|&i| self.names[i].as_str()).collect();
            return Err(self.error(line, format!("empty text in column {:?}", names.join(", "))));
        }
        Ok(if parts.len() == 1 {
            parts[0].to_owned()
        } else {
            join_parts(&parts)
        })
    }
}

/// "Subject. Body": joined so that sentence punctuation stays natural.
pub fn join_parts(parts: &[&str]) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() {
            if !out.ends_with(['.', '!', '?', ':']) {
                out.push('.');
            }
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}
