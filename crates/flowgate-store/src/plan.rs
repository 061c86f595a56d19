//! What an import writes, independent of the backend: new dictionary strings, new
//! attribute names, and one row per event with string ids.

use flowgate_flow::{EventLogBuilder, Interner, NONE};
use rustc_hash::FxHashMap;

use crate::codec::EventOut;
use crate::pack_attrs;

pub(crate) struct Plan<'a> {
    pub new_strings: Vec<(i64, &'a str)>,
    pub new_attr_names: Vec<(i64, &'a str)>,
    pub events: Vec<EventOut>,
    pub span: Option<(i64, i64)>,
}

/// `strings` / `attr_names`: what the source's dictionary already holds (value → id).
pub(crate) fn plan<'a>(
    rows: &'a EventLogBuilder,
    keys: &[[u8; 16]],
    strings: &mut FxHashMap<String, i64>,
    attr_names: &mut FxHashMap<String, i64>,
) -> Plan<'a> {
    let mut new_strings = Vec::new();
    let mut next = strings.values().max().map_or(0, |m| m + 1);
    // Builder id → dictionary id, once per distinct value.
    let mut map_table = |t: &'a Interner| -> Vec<i64> {
        t.iter()
            .map(|s| match strings.get(s) {
                Some(&id) => id,
                None => {
                    let id = next;
                    next += 1;
                    strings.insert(s.to_owned(), id);
                    new_strings.push((id, s));
                    id
                }
            })
            .collect()
    };
    let cases = map_table(&rows.cases);
    let acts = map_table(&rows.activities);
    let res = map_table(&rows.resources);
    let teams = map_table(&rows.teams);
    let attr_vals: Vec<Vec<i64>> = rows.attr_values.iter().map(&mut map_table).collect();
    let mut new_attr_names = Vec::new();
    let mut next_attr = attr_names.values().max().map_or(0, |m| m + 1);
    let attr_ids: Vec<i64> = rows
        .attr_names()
        .iter()
        .map(|n| match attr_names.get(n) {
            Some(&id) => id,
            None => {
                let id = next_attr;
                next_attr += 1;
                attr_names.insert(n.clone(), id);
                new_attr_names.push((id, n.as_str()));
                id
            }
        })
        .collect();
    let opt = |m: &[i64], v: u32| (v != NONE).then(|| m[v as usize]);
    let mut events = Vec::with_capacity(rows.len());
    let mut pairs = Vec::new();
    let mut span: Option<(i64, i64)> = None;
    for (i, key) in keys.iter().enumerate() {
        let r = rows.row(i);
        pairs.clear();
        for (col, ids) in attr_vals.iter().enumerate() {
            let v = rows.attr_at(col, i);
            if v != NONE {
                pairs.push((attr_ids[col] as u32, ids[v as usize] as u32));
            }
        }
        span = Some(span.map_or((r.ts_ms, r.ts_ms), |(a, b)| {
            (a.min(r.ts_ms), b.max(r.ts_ms))
        }));
        events.push(EventOut {
            key: *key,
            case_s: cases[r.case as usize],
            ts_ms: r.ts_ms,
            activity_s: acts[r.activity as usize],
            resource_s: opt(&res, r.resource),
            team_s: opt(&teams, r.team),
            state: r.state.map(|s| s as i64),
            flags: r.escalation as i64,
            attrs: pack_attrs(&pairs),
        });
    }
    Plan {
        new_strings,
        new_attr_names,
        events,
        span,
    }
}

/// New dictionary strings as blocks: (first id, count, data).
pub(crate) fn string_blocks(new: &[(i64, &str)]) -> Vec<(i64, i64, Vec<u8>)> {
    new.chunks(crate::codec::BLOCK_STRINGS)
        .map(|c| (c[0].0, c.len() as i64, crate::codec::encode_strings(c)))
        .collect()
}

/// The new events (those whose key `is_new`) as blocks in source order, and their distinct
/// case ids.
pub(crate) fn event_blocks(
    events: &[EventOut],
    is_new: impl Fn(&[u8; 16]) -> bool,
) -> (Vec<(i64, Vec<u8>)>, Vec<i64>) {
    let new: Vec<&EventOut> = events.iter().filter(|e| is_new(&e.key)).collect();
    let blocks = new
        .chunks(crate::codec::BLOCK_EVENTS)
        .map(|c| (c.len() as i64, crate::codec::encode_events(c)))
        .collect();
    let mut cases: Vec<i64> = new.iter().map(|e| e.case_s).collect();
    cases.sort_unstable();
    cases.dedup();
    (blocks, cases)
}

/// The source's dictionary as value → id, from its string blocks in id order.
pub(crate) fn dictionary(blocks: Vec<(i64, Vec<u8>)>) -> crate::Result<FxHashMap<String, i64>> {
    let mut all = Vec::new();
    for (first, data) in blocks {
        if first != all.len() as i64 {
            return Err(crate::StoreError::Corrupt(
                "string blocks are not contiguous".into(),
            ));
        }
        crate::codec::decode_strings(&data, &mut all)?;
    }
    Ok(all
        .into_iter()
        .enumerate()
        .map(|(i, s)| (s, i as i64))
        .collect())
}
