//! Turns a source row (a CSV record, an XES event) into a canonical event, by the mapping.

use flowgate_flow::{EventLogBuilder, EventRow, NONE, State};
use rustc_hash::FxHashMap;

use crate::error::Diagnostic;
use crate::mapping::{EscalationRule, Mapping};
use crate::timestamp::{TimestampParser, Zone};

/// Column names of a source, by index; XES adds keys as it meets them.
#[derive(Debug, Default)]
pub struct ColumnTable {
    pub names: Vec<String>,
    index: FxHashMap<String, usize>,
}

impl ColumnTable {
    pub fn get_or_add(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), self.names.len() - 1);
        self.names.len() - 1
    }

    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// Columns named `flowgate:…` carry values flowgate itself wrote (an export's state and
/// escalation flag): they are read through the mapping, never kept as attributes.
pub const RESERVED_PREFIX: &str = "flowgate:";

/// The last value interned from one column and its id.
#[derive(Default)]
struct Memo {
    bytes: Vec<u8>,
    id: Option<u32>,
}

impl Memo {
    fn intern(
        &mut self,
        table: &mut flowgate_flow::Interner,
        bytes: &[u8],
    ) -> Result<u32, std::str::Utf8Error> {
        if let Some(id) = self.id
            && self.bytes == bytes
        {
            return Ok(id);
        }
        let id = table.intern_bytes(bytes)?;
        self.bytes.clear();
        self.bytes.extend_from_slice(bytes);
        self.id = Some(id);
        Ok(id)
    }
}

/// Where an escalation rule looks.
enum RuleField {
    Activity,
    Column(usize),
}

pub struct RowMapper {
    case: usize,
    activity: Vec<usize>,
    separator: Vec<u8>,
    timestamp: usize,
    resource: Option<usize>,
    team: Option<usize>,
    /// The state column; `None` means the activity decides.
    state: Option<usize>,
    states: FxHashMap<Vec<u8>, State>,
    rules: Vec<(RuleField, EscalationRule)>,
    /// Source column → attribute column of the builder (`None` for mapped columns).
    attr_of: Vec<Option<usize>>,
    core: Vec<usize>,
    attr_buf: Vec<u32>,
    activity_buf: Vec<u8>,
    /// Last value per source column (case and attributes): consecutive rows often repeat a value, and a
    /// comparison is cheaper than a hash lookup.
    memo: Vec<Memo>,
    activity_memo: Memo,
    /// Resource and team (they may share a source column, but not an id space).
    role_memo: [Memo; 2],
    last_state: (Vec<u8>, Option<State>),
    /// Values meaning "no value" (besides the empty one), trimmed.
    nulls: Vec<Vec<u8>>,
    pub ts: TimestampParser,
    pub file: String,
}

/// Which mapped role a required column plays (for error messages).
pub struct Required<'a> {
    pub role: &'static str,
    pub column: &'a str,
}

impl RowMapper {
    /// Resolves the mapping's columns in `table`. For CSV, `add_missing` is false and a
    /// missing required column is returned as `Err`; XES adds the keys (an event without
    /// one is then diagnosed row by row).
    pub fn new<'m>(
        mapping: &'m Mapping,
        xes: bool,
        table: &mut ColumnTable,
        add_missing: bool,
        file: &str,
    ) -> Result<RowMapper, Required<'m>> {
        let cols = mapping.columns_for(xes);
        let mut resolve = |role: &'static str, name: &'m str| -> Result<usize, Required<'m>> {
            if add_missing {
                Ok(table.get_or_add(name))
            } else {
                table.get(name).ok_or(Required { role, column: name })
            }
        };
        let case = resolve("case", &cols.case)?;
        let activity = cols
            .activity
            .names()
            .into_iter()
            .map(|n| resolve("activity", n))
            .collect::<Result<Vec<_>, _>>()?;
        let timestamp = resolve("timestamp", &cols.timestamp)?;
        let resource = cols
            .resource
            .as_deref()
            .map(|n| resolve("resource", n))
            .transpose()?;
        let team = cols
            .team
            .as_deref()
            .map(|n| resolve("team", n))
            .transpose()?;
        let state = cols
            .state
            .as_deref()
            .map(|n| resolve("state", n))
            .transpose()?;
        let mut rules = Vec::new();
        for r in &mapping.escalation {
            let field = match r.field.as_str() {
                "activity" => RuleField::Activity,
                "team" => match team {
                    Some(t) => RuleField::Column(t),
                    None => RuleField::Column(resolve("escalation", &r.field)?),
                },
                "resource" => match resource {
                    Some(t) => RuleField::Column(t),
                    None => RuleField::Column(resolve("escalation", &r.field)?),
                },
                other => RuleField::Column(resolve("escalation", other)?),
            };
            rules.push((field, r.clone()));
        }
        let mut core = vec![case, timestamp];
        core.extend(&activity);
        core.extend(resource);
        core.extend(team);
        let zone = Zone::parse(mapping.timezone.as_deref().unwrap_or("UTC")).unwrap_or(Zone::Utc);
        Ok(RowMapper {
            case,
            activity,
            separator: cols
                .activity_separator
                .clone()
                .unwrap_or_else(|| "-".into())
                .into_bytes(),
            timestamp,
            resource,
            team,
            state,
            states: mapping.state_lookup(),
            rules,
            attr_of: Vec::new(),
            core,
            attr_buf: Vec::new(),
            activity_buf: Vec::new(),
            memo: Vec::new(),
            activity_memo: Memo::default(),
            role_memo: Default::default(),
            last_state: (Vec::new(), None),
            nulls: mapping
                .null_values
                .iter()
                .map(|v| v.trim().as_bytes().to_vec())
                .filter(|v| !v.is_empty())
                .collect(),
            ts: TimestampParser::new(zone, mapping.timestamp_format.clone()),
            file: file.to_owned(),
        })
    }

    /// Registers every column of `table` not yet known: unmapped ones become attributes.
    pub fn sync_columns(&mut self, table: &ColumnTable, builder: &mut EventLogBuilder) {
        self.memo.resize_with(table.names.len(), Memo::default);
        while self.attr_of.len() < table.names.len() {
            let i = self.attr_of.len();
            let name = &table.names[i];
            let attr = (!self.core.contains(&i) && !name.starts_with(RESERVED_PREFIX))
                .then(|| builder.attr_column(name));
            self.attr_of.push(attr);
        }
    }
}

fn diag(file: &str, line: u64, field: &str, expected: String, found: &[u8]) -> Diagnostic {
    let mut found = String::from_utf8_lossy(found).into_owned();
    if found.len() > 80 {
        let mut cut = 80;
        while !found.is_char_boundary(cut) {
            cut -= 1;
        }
        found.truncate(cut);
        found.push('…');
    }
    Diagnostic {
        file: file.to_owned(),
        line,
        field: field.to_owned(),
        expected,
        found,
    }
}

/// Whether `v` means "no value": empty, or one of the mapping's `null_values` (compared
/// without surrounding spaces).
fn is_null(nulls: &[Vec<u8>], v: &[u8]) -> bool {
    v.is_empty() || (!nulls.is_empty() && nulls.iter().any(|n| n.as_slice() == v.trim_ascii()))
}

impl RowMapper {
    /// Maps one row; `get(col)` returns the raw value of a source column, if present.
    /// On a bad row nothing is added and the diagnostic says why.
    pub fn map<'r>(
        &mut self,
        get: impl Fn(usize) -> Option<&'r [u8]>,
        names: &ColumnTable,
        line: u64,
        builder: &mut EventLogBuilder,
    ) -> Result<(), Diagnostic> {
        let name = |c: usize| names.names.get(c).map(String::as_str).unwrap_or("?");
        let case_raw = get(self.case).unwrap_or_default();
        if case_raw.trim_ascii().is_empty() {
            return Err(diag(
                &self.file,
                line,
                name(self.case),
                "a non-empty case id".into(),
                case_raw,
            ));
        }
        let ts_raw = get(self.timestamp).unwrap_or_default();
        let Some(ts_ms) = self.ts.parse(ts_raw) else {
            return Err(diag(
                &self.file,
                line,
                name(self.timestamp),
                self.ts.expected(),
                ts_raw,
            ));
        };
        self.activity_buf.clear();
        let mut any = false;
        for (k, &c) in self.activity.iter().enumerate() {
            let v = get(c).unwrap_or_default();
            if k > 0 && !v.is_empty() {
                self.activity_buf.extend_from_slice(&self.separator);
            }
            any |= !v.is_empty();
            self.activity_buf.extend_from_slice(v);
        }
        if !any {
            return Err(diag(
                &self.file,
                line,
                name(self.activity[0]),
                "a non-empty activity".into(),
                b"",
            ));
        }
        let utf8 = |c: usize, r: Result<u32, std::str::Utf8Error>, raw: &[u8]| {
            r.map_err(|_| diag(&self.file, line, name(c), "UTF-8 text".into(), raw))
        };
        let activity = utf8(
            self.activity[0],
            self.activity_memo
                .intern(&mut builder.activities, &self.activity_buf),
            &self.activity_buf,
        )?;
        let nulls = &self.nulls;
        let opt =
            |col: Option<usize>, memo: &mut Memo, table: &mut flowgate_flow::Interner| match col {
                Some(c) => match get(c) {
                    Some(v) if !is_null(nulls, v) => utf8(c, memo.intern(table, v), v),
                    _ => Ok(NONE),
                },
                None => Ok(NONE),
            };
        let resource = opt(
            self.resource,
            &mut self.role_memo[0],
            &mut builder.resources,
        )?;
        let team = opt(self.team, &mut self.role_memo[1], &mut builder.teams)?;
        let state_val = match self.state {
            Some(c) => get(c)
                .filter(|v| !is_null(&self.nulls, v))
                .unwrap_or_default(),
            None => &self.activity_buf,
        };
        if state_val != self.last_state.0.as_slice() {
            self.last_state.0.clear();
            self.last_state.0.extend_from_slice(state_val);
            self.last_state.1 = self.states.get(state_val).copied();
        }
        let state = self.last_state.1;
        let escalation = self.rules.iter().any(|(f, r)| match f {
            RuleField::Activity => r.matches(&self.activity_buf),
            RuleField::Column(c) => get(*c).is_some_and(|v| r.matches(v)),
        });
        self.attr_buf.clear();
        self.attr_buf.resize(builder.attr_names().len(), NONE);
        for (c, attr) in self.attr_of.iter().enumerate() {
            if let Some(a) = attr
                && let Some(v) = get(c)
                && !is_null(&self.nulls, v)
            {
                self.attr_buf[*a] = self.memo[c]
                    .intern(&mut builder.attr_values[*a], v)
                    .map_err(|_| diag(&self.file, line, name(c), "UTF-8 text".into(), v))?;
            }
        }
        // The case is interned last: a row rejected above must not leave an empty case.
        let case = utf8(
            self.case,
            self.memo[self.case].intern(&mut builder.cases, case_raw),
            case_raw,
        )?;
        builder.push(
            EventRow {
                case,
                ts_ms,
                activity,
                resource,
                team,
                state,
                escalation,
            },
            &self.attr_buf,
        );
        Ok(())
    }
}
