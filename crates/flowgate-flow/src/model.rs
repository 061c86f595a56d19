//! Canonical types shared by every layer: lifecycle states and interned strings.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The lifecycle state a work item is in after an event (DESIGN.md § Canonical model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    New,
    WaitingInternal,
    WaitingCustomer,
    Working,
    Resolved,
    Closed,
}

impl State {
    pub const ALL: [State; 6] = [
        State::New,
        State::WaitingInternal,
        State::WaitingCustomer,
        State::Working,
        State::Resolved,
        State::Closed,
    ];

    /// `resolved` and `closed` end a case.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Resolved | State::Closed)
    }

    /// Time in these states is wait time; time in `working` is touch time.
    pub fn is_wait(self) -> bool {
        matches!(
            self,
            State::New | State::WaitingInternal | State::WaitingCustomer
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::WaitingInternal => "waiting_internal",
            State::WaitingCustomer => "waiting_customer",
            State::Working => "working",
            State::Resolved => "resolved",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn from_code(code: u8) -> Option<State> {
        State::ALL.get(code as usize).copied()
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Marker for "no value" in an interned column.
pub const NONE: u32 = u32::MAX;

/// A string table: each distinct string is stored once and named by a dense `u32`.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    map: FxHashMap<Box<[u8]>, u32>,
    strings: Vec<Box<str>>,
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s.as_bytes()) {
            return id;
        }
        self.insert_new(s)
    }

    /// The id of `bytes`, adding it when new; `Err` when the bytes are not UTF-8.
    /// Validation happens once per distinct value, not once per event.
    pub fn intern_bytes(&mut self, bytes: &[u8]) -> Result<u32, std::str::Utf8Error> {
        if let Some(&id) = self.map.get(bytes) {
            return Ok(id);
        }
        let s = std::str::from_utf8(bytes)?;
        Ok(self.insert_new(s))
    }

    fn insert_new(&mut self, s: &str) -> u32 {
        let id = self.strings.len() as u32;
        self.map.insert(s.as_bytes().into(), id);
        self.strings.push(s.into());
        id
    }

    pub fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s.as_bytes()).copied()
    }

    /// The string behind `id`; `""` for [`NONE`] or an unknown id.
    pub fn resolve(&self, id: u32) -> &str {
        self.strings.get(id as usize).map(|s| &**s).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.strings.iter().map(|s| &**s)
    }
}
