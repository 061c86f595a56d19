//! The binary layout of event blocks and string blocks (little-endian, columnar).
//!
//! Event block: `FGE1`, u32 n, then n × u32 case, n × i64 time, n × u32 activity,
//! n × u32 resource, n × u32 team (u32::MAX = none), n × u8 state (255 = none), n × u8 flags,
//! n × u16 attribute count, then every (u32 name id, u32 string id) pair in event order.
//! String block: `FGS1`, u32 n, n × u32 length, then the UTF-8 bytes.

use crate::{Result, StoreError};

const EVENTS_MAGIC: &[u8; 4] = b"FGE1";
const STRINGS_MAGIC: &[u8; 4] = b"FGS1";
const NO_ID: u32 = u32::MAX;

/// Events per block: large enough that per-row SQL costs vanish, small enough to stream.
pub(crate) const BLOCK_EVENTS: usize = 32_768;
/// Strings per string block.
pub(crate) const BLOCK_STRINGS: usize = 65_536;

/// One event as an event block stores it: strings as the source's dictionary ids.
pub(crate) struct EventOut {
    pub key: [u8; 16],
    pub case_s: i64,
    pub ts_ms: i64,
    pub activity_s: i64,
    pub resource_s: Option<i64>,
    pub team_s: Option<i64>,
    pub state: Option<i64>,
    pub flags: i64,
    pub attrs: Option<Vec<u8>>,
}

fn id32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(NO_ID)
}

pub(crate) fn encode_events(events: &[&EventOut]) -> Vec<u8> {
    let n = events.len();
    let pairs: usize = events
        .iter()
        .map(|e| e.attrs.as_ref().map_or(0, |a| a.len() / 8))
        .sum();
    let mut out = Vec::with_capacity(8 + n * 28 + pairs * 8);
    out.extend_from_slice(EVENTS_MAGIC);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    for e in events {
        out.extend_from_slice(&id32(e.case_s).to_le_bytes());
    }
    for e in events {
        out.extend_from_slice(&e.ts_ms.to_le_bytes());
    }
    for e in events {
        out.extend_from_slice(&id32(e.activity_s).to_le_bytes());
    }
    for e in events {
        out.extend_from_slice(&e.resource_s.map_or(NO_ID, id32).to_le_bytes());
    }
    for e in events {
        out.extend_from_slice(&e.team_s.map_or(NO_ID, id32).to_le_bytes());
    }
    for e in events {
        out.push(e.state.map_or(255, |s| s as u8));
    }
    for e in events {
        out.push(e.flags as u8);
    }
    for e in events {
        let k = e.attrs.as_ref().map_or(0, |a| a.len() / 8) as u16;
        out.extend_from_slice(&k.to_le_bytes());
    }
    for e in events {
        if let Some(a) = &e.attrs {
            out.extend_from_slice(a);
        }
    }
    out
}

/// One decoded event: dictionary ids (`None` = absent), time, state code, flags.
pub(crate) struct Decoded<'a> {
    pub case: u32,
    pub ts_ms: i64,
    pub activity: u32,
    pub resource: Option<u32>,
    pub team: Option<u32>,
    pub state: Option<u8>,
    pub flags: u8,
    /// (name id, string id) pairs, 8 bytes each.
    pub attrs: &'a [u8],
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| StoreError::Corrupt("a block ends early".into()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
}

/// An event block's columns, checked for length.
struct Columns<'a> {
    n: usize,
    case: &'a [u8],
    ts: &'a [u8],
    act: &'a [u8],
    res: &'a [u8],
    team: &'a [u8],
    state: &'a [u8],
    flags: &'a [u8],
    counts: &'a [u8],
    pairs: &'a [u8],
}

impl<'a> Columns<'a> {
    fn of(block: &'a [u8]) -> Result<Columns<'a>> {
        let mut c = Cursor { b: block, at: 0 };
        if c.take(4)? != EVENTS_MAGIC {
            return Err(StoreError::Corrupt("not an event block".into()));
        }
        let n = u32_at(c.take(4)?, 0) as usize;
        let case = c.take(4 * n)?;
        let ts = c.take(8 * n)?;
        let act = c.take(4 * n)?;
        let res = c.take(4 * n)?;
        let team = c.take(4 * n)?;
        let state = c.take(n)?;
        let flags = c.take(n)?;
        let counts = c.take(2 * n)?;
        let total: usize = (0..n).map(|i| count_at(counts, i)).sum();
        let pairs = c.take(8 * total)?;
        if c.at != block.len() {
            return Err(StoreError::Corrupt(
                "an event block has trailing bytes".into(),
            ));
        }
        Ok(Columns {
            n,
            case,
            ts,
            act,
            res,
            team,
            state,
            flags,
            counts,
            pairs,
        })
    }
}

impl<'a> Columns<'a> {
    const COUNT: usize = 9;

    /// Column `k` in layout order.
    fn column(&self, k: usize) -> &'a [u8] {
        match k {
            0 => self.case,
            1 => self.ts,
            2 => self.act,
            3 => self.res,
            4 => self.team,
            5 => self.state,
            6 => self.flags,
            7 => self.counts,
            _ => self.pairs,
        }
    }
}

fn count_at(counts: &[u8], i: usize) -> usize {
    u16::from_le_bytes([counts[2 * i], counts[2 * i + 1]]) as usize
}

pub(crate) fn decode_events(
    block: &[u8],
    mut f: impl FnMut(Decoded<'_>) -> Result<()>,
) -> Result<()> {
    let c = Columns::of(block)?;
    let opt = |v: u32| (v != NO_ID).then_some(v);
    let mut p = 0;
    for i in 0..c.n {
        let k = count_at(c.counts, i);
        let mut t = [0u8; 8];
        t.copy_from_slice(&c.ts[8 * i..8 * i + 8]);
        f(Decoded {
            case: u32_at(c.case, i),
            ts_ms: i64::from_le_bytes(t),
            activity: u32_at(c.act, i),
            resource: opt(u32_at(c.res, i)),
            team: opt(u32_at(c.team, i)),
            state: (c.state[i] != 255).then_some(c.state[i]),
            flags: c.flags[i],
            attrs: &c.pairs[8 * p..8 * (p + k)],
        })?;
        p += k;
    }
    Ok(())
}

/// Event blocks joined into one, in order: the same events, decoded the same (the layout is
/// columnar, so each column is the columns of the parts one after the other).
pub(crate) fn concat_events(blocks: &[Vec<u8>]) -> Result<Vec<u8>> {
    let parts: Vec<Columns<'_>> = blocks
        .iter()
        .map(|b| Columns::of(b))
        .collect::<Result<_>>()?;
    let n: usize = parts.iter().map(|c| c.n).sum();
    let n32 =
        u32::try_from(n).map_err(|_| StoreError::Corrupt("too many events to join".into()))?;
    let mut out = Vec::with_capacity(blocks.iter().map(Vec::len).sum());
    out.extend_from_slice(EVENTS_MAGIC);
    out.extend_from_slice(&n32.to_le_bytes());
    for k in 0..Columns::COUNT {
        for c in &parts {
            out.extend_from_slice(c.column(k));
        }
    }
    Ok(out)
}

/// String blocks with consecutive ids joined into one.
pub(crate) fn concat_strings(blocks: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut all = Vec::new();
    for b in blocks {
        decode_strings(b, &mut all)?;
    }
    let pairs: Vec<(i64, &str)> = all.iter().map(|s| (0, s.as_str())).collect();
    Ok(encode_strings(&pairs))
}

pub(crate) fn encode_strings(strings: &[(i64, &str)]) -> Vec<u8> {
    let bytes: usize = strings.iter().map(|s| s.1.len()).sum();
    let mut out = Vec::with_capacity(8 + 4 * strings.len() + bytes);
    out.extend_from_slice(STRINGS_MAGIC);
    out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
    for (_, s) in strings {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    }
    for (_, s) in strings {
        out.extend_from_slice(s.as_bytes());
    }
    out
}

pub(crate) fn decode_strings(block: &[u8], out: &mut Vec<String>) -> Result<()> {
    let mut c = Cursor { b: block, at: 0 };
    if c.take(4)? != STRINGS_MAGIC {
        return Err(StoreError::Corrupt("not a string block".into()));
    }
    let n = u32_at(c.take(4)?, 0) as usize;
    let lens = c.take(4 * n)?;
    for i in 0..n {
        let s = c.take(u32_at(lens, i) as usize)?;
        let s = std::str::from_utf8(s)
            .map_err(|_| StoreError::Corrupt("a string is not UTF-8".into()))?;
        out.push(s.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_reject_damage() {
        let e1 = EventOut {
            key: [0; 16],
            case_s: 3,
            ts_ms: -5,
            activity_s: 1,
            resource_s: None,
            team_s: Some(9),
            state: Some(4),
            flags: 1,
            attrs: crate::pack_attrs(&[(0, 7), (2, 8)]),
        };
        let e2 = EventOut {
            key: [1; 16],
            case_s: 4,
            ts_ms: 1_700_000_000_000,
            activity_s: 2,
            resource_s: Some(5),
            team_s: None,
            state: None,
            flags: 0,
            attrs: None,
        };
        let block = encode_events(&[&e1, &e2]);
        let mut got = Vec::new();
        decode_events(&block, |d| {
            got.push((
                d.case,
                d.ts_ms,
                d.activity,
                d.resource,
                d.team,
                d.state,
                d.flags,
                d.attrs.len(),
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            vec![
                (3, -5, 1, None, Some(9), Some(4), 1, 16),
                (4, 1_700_000_000_000, 2, Some(5), None, None, 0, 0)
            ]
        );
        assert!(decode_events(&block[..block.len() - 1], |_| Ok(())).is_err());
        assert!(decode_events(b"nope", |_| Ok(())).is_err());
        let s = encode_strings(&[(0, "a"), (1, ""), (2, "café")]);
        let mut out = Vec::new();
        decode_strings(&s, &mut out).unwrap();
        assert_eq!(out, ["a", "", "café"]);
        assert!(decode_strings(&s[..s.len() - 2], &mut Vec::new()).is_err());
    }

    /// Joined blocks decode to the events of the parts, in order; damage in a part is
    /// refused, not joined.
    #[test]
    fn joined_blocks_hold_the_parts_in_order() {
        let ev = |case: i64, attrs: &[(u32, u32)]| EventOut {
            key: [case as u8; 16],
            case_s: case,
            ts_ms: case * 1000,
            activity_s: case + 1,
            resource_s: (case % 2 == 0).then_some(case),
            team_s: None,
            state: Some(case % 6),
            flags: case % 2,
            attrs: crate::pack_attrs(attrs),
        };
        let (a, b, c) = (ev(1, &[(0, 5)]), ev(2, &[]), ev(3, &[(0, 6), (1, 7)]));
        let parts = vec![encode_events(&[&a]), encode_events(&[&b, &c])];
        let joined = concat_events(&parts).unwrap();
        assert_eq!(joined, encode_events(&[&a, &b, &c]));
        let mut broken = parts.clone();
        broken[1].push(0);
        assert!(concat_events(&broken).is_err());
        let s = concat_strings(&[
            encode_strings(&[(0, "x")]),
            encode_strings(&[(1, "yz"), (2, "")]),
        ])
        .unwrap();
        let mut out = Vec::new();
        decode_strings(&s, &mut out).unwrap();
        assert_eq!(out, ["x", "yz", ""]);
    }
}
