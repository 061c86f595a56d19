//! Event identity: a 128-bit hash of an event's content and its occurrence number.

use flowgate_flow::{EventLogBuilder, NONE};
use rustc_hash::FxHashMap;
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

/// One key per row of a builder, in row order.
pub struct EventKeys {
    pub keys: Vec<[u8; 16]>,
}

impl EventKeys {
    /// Key of row i = hash(hash(source, case, time, activity, resource, team, state, flags,
    /// attributes by name), n) where n counts identical rows before it in the same file:
    /// re-importing a file reproduces every key, and exact duplicates stay distinct rows.
    pub fn compute(source: &str, b: &EventLogBuilder) -> EventKeys {
        let mut order: Vec<usize> = (0..b.attr_names().len()).collect();
        order.sort_by(|&x, &y| b.attr_names()[x].cmp(&b.attr_names()[y]));
        let mut seen: FxHashMap<u128, u32> = FxHashMap::default();
        let mut keys = Vec::with_capacity(b.len());
        let mut h = Xxh3::new();
        let put = |h: &mut Xxh3, s: &str| {
            h.update(&(s.len() as u32).to_le_bytes());
            h.update(s.as_bytes());
        };
        let opt = |h: &mut Xxh3, table: &flowgate_flow::Interner, id: u32| {
            if id == NONE {
                h.update(&[0]);
            } else {
                h.update(&[1]);
                put(h, table.resolve(id));
            }
        };
        for i in 0..b.len() {
            let r = b.row(i);
            h.reset();
            put(&mut h, source);
            put(&mut h, b.cases.resolve(r.case));
            h.update(&r.ts_ms.to_le_bytes());
            put(&mut h, b.activities.resolve(r.activity));
            opt(&mut h, &b.resources, r.resource);
            opt(&mut h, &b.teams, r.team);
            h.update(&[r.state.map_or(255, |s| s as u8), r.escalation as u8]);
            for &col in &order {
                let v = b.attr_at(col, i);
                if v != NONE {
                    put(&mut h, &b.attr_names()[col]);
                    put(&mut h, b.attr_values[col].resolve(v));
                }
            }
            let base = h.digest128();
            let n = seen.entry(base).or_insert(0);
            let mut buf = [0u8; 20];
            buf[..16].copy_from_slice(&base.to_le_bytes());
            buf[16..].copy_from_slice(&n.to_le_bytes());
            *n += 1;
            keys.push(xxh3_128(&buf).to_le_bytes());
        }
        EventKeys { keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowgate_flow::State;

    fn builder(rows: &[(&str, i64, &str)]) -> EventLogBuilder {
        let mut b = EventLogBuilder::new(true);
        for (c, t, a) in rows {
            b.push_str(c, *t, a, None, Some("T"), Some(State::Working), false);
        }
        b
    }

    #[test]
    fn same_content_same_key_and_duplicates_numbered() {
        let a = EventKeys::compute(
            "s",
            &builder(&[("1", 0, "x"), ("1", 0, "x"), ("2", 5, "y")]),
        );
        let b = EventKeys::compute(
            "s",
            &builder(&[("2", 5, "y"), ("1", 0, "x"), ("1", 0, "x")]),
        );
        assert_ne!(a.keys[0], a.keys[1], "exact duplicates get distinct keys");
        let mut x = a.keys.clone();
        let mut y = b.keys.clone();
        x.sort();
        y.sort();
        assert_eq!(x, y, "row order does not change the set of keys");
        let other = EventKeys::compute("other source", &builder(&[("1", 0, "x")]));
        assert_ne!(other.keys[0], a.keys[0]);
        // Length-prefixed fields: ("ab", "c") and ("a", "bc") differ.
        let p = EventKeys::compute("s", &builder(&[("ab", 0, "c")]));
        let q = EventKeys::compute("s", &builder(&[("a", 0, "bc")]));
        assert_ne!(p.keys[0], q.keys[0]);
    }
}
