//! Canonical types shared by every layer: lifecycle states and interned strings.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};

/// The lifecycle state a work item is in after an event (DESIGN.md § Canonical model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// A string table: each distinct string is stored once, in one arena, and named by a dense
/// `u32`. Lookups hash the bytes and compare against the arena; no allocation per string.
#[derive(Clone, Default)]
pub struct Interner {
    table: HashTable<u32>,
    data: String,
    /// End offset in `data` of string `i` (it starts where `i - 1` ends).
    ends: Vec<usize>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .finish()
    }
}

fn hash(bytes: &[u8]) -> u64 {
    FxBuildHasher.hash_one(bytes)
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `n` more strings without rehashing.
    pub fn reserve(&mut self, n: usize) {
        let (data, ends) = (&self.data, &self.ends);
        self.table
            .reserve(n, |&id| hash(slice(data, ends, id).as_bytes()));
        self.ends.reserve(n);
    }

    /// The id of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        let h = hash(s.as_bytes());
        match self.find(h, s.as_bytes()) {
            Some(id) => id,
            None => self.insert_new(h, s),
        }
    }

    /// The id of `bytes`, adding it when new; `Err` when the bytes are not UTF-8.
    /// Validation happens once per distinct value, not once per event.
    pub fn intern_bytes(&mut self, bytes: &[u8]) -> Result<u32, std::str::Utf8Error> {
        let h = hash(bytes);
        if let Some(id) = self.find(h, bytes) {
            return Ok(id);
        }
        let s = std::str::from_utf8(bytes)?;
        Ok(self.insert_new(h, s))
    }

    fn find(&self, h: u64, bytes: &[u8]) -> Option<u32> {
        let (data, ends) = (&self.data, &self.ends);
        self.table
            .find(h, |&id| slice(data, ends, id).as_bytes() == bytes)
            .copied()
    }

    fn insert_new(&mut self, h: u64, s: &str) -> u32 {
        let id = self.ends.len() as u32;
        self.data.push_str(s);
        self.ends.push(self.data.len());
        let (data, ends) = (&self.data, &self.ends);
        self.table
            .insert_unique(h, id, |&i| hash(slice(data, ends, i).as_bytes()));
        id
    }

    pub fn get(&self, s: &str) -> Option<u32> {
        self.find(hash(s.as_bytes()), s.as_bytes())
    }

    /// The string behind `id`; `""` for [`NONE`] or an unknown id.
    pub fn resolve(&self, id: u32) -> &str {
        slice(&self.data, &self.ends, id)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len() as u32).map(|i| self.resolve(i))
    }
}

fn slice<'a>(data: &'a str, ends: &[usize], id: u32) -> &'a str {
    let i = id as usize;
    match ends.get(i) {
        Some(&end) => &data[if i == 0 { 0 } else { ends[i - 1] }..end],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interner_round_trip() {
        let mut i = Interner::new();
        let a = i.intern("alpha");
        let b = i.intern_bytes(b"beta").unwrap();
        assert_eq!(i.intern("alpha"), a);
        assert_ne!(a, b);
        assert_eq!(i.resolve(b), "beta");
        assert_eq!(i.resolve(NONE), "");
        assert_eq!(i.get("gamma"), None);
        assert!(i.intern_bytes(b"\xff").is_err());
        i.intern("");
        assert_eq!(i.iter().collect::<Vec<_>>(), vec!["alpha", "beta", ""]);
    }
}
