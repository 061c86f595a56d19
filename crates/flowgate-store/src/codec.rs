//! The binary layout of event blocks and string blocks (little-endian, columnar).
//!
//! Event block: `FGE1`, u32 n, then n × u32 case, n × i64 time, n × u32 activity,
//! n × u32 resource, n × u32 team (u32::MAX = none), n × u8 state (255 = none), n × u8 flags,
//! n × u16 attribute count, then every (u32 name id, u32 string id) pair in event order.
//! String block: `FGS1`, u32 n, n × u32 length, then the UTF-8 bytes.

use crate::plan::EventOut;
use crate::{Result, StoreError};

const EVENTS_MAGIC: &[u8; 4] = b"FGE1";
const STRINGS_MAGIC: &[u8; 4] = b"FGS1";
const NO_ID: u32 = u32::MAX;

/// Events per block: large enough that per-row SQL costs vanish, small enough to stream.
pub(crate) const BLOCK_EVENTS: usize = 32_768;
/// Strings per string block.
pub(crate) const BLOCK_STRINGS: usize = 65_536;

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

pub(crate) fn decode_events(
    block: &[u8],
    mut f: impl FnMut(Decoded<'_>) -> Result<()>,
) -> Result<()> {
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
    let total: usize = (0..n)
        .map(|i| u16::from_le_bytes([counts[2 * i], counts[2 * i + 1]]) as usize)
        .sum();
    let pairs = c.take(8 * total)?;
    let opt = |v: u32| (v != NO_ID).then_some(v);
    let mut p = 0;
    for i in 0..n {
        let k = u16::from_le_bytes([counts[2 * i], counts[2 * i + 1]]) as usize;
        let mut t = [0u8; 8];
        t.copy_from_slice(&ts[8 * i..8 * i + 8]);
        f(Decoded {
            case: u32_at(case, i),
            ts_ms: i64::from_le_bytes(t),
            activity: u32_at(act, i),
            resource: opt(u32_at(res, i)),
            team: opt(u32_at(team, i)),
            state: (state[i] != 255).then_some(state[i]),
            flags: flags[i],
            attrs: &pairs[8 * p..8 * (p + k)],
        })?;
        p += k;
    }
    Ok(())
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
}
