//! Folding a source's small blocks into large ones.
//!
//! Every import writes its events as blocks of up to [`BLOCK_EVENTS`] and its new strings as
//! one string block. A source fed by the service (`POST /v1/events`, webhooks) gets one
//! import per request, so one tiny event block and one tiny string block each: thousands of
//! rows a load must read one by one. Each request is still committed on its own before its
//! answer (nothing acknowledged lives only in memory); compaction then joins runs of
//! neighbouring small blocks, in one transaction with the source locked as an import locks
//! it, so a load sees either the small blocks or the joined one, never both or neither.
//! Event keys, cases and imports are untouched: only where the bytes sit changes, and the
//! events a load returns are the same, in the same order.

use crate::codec::{BLOCK_EVENTS, BLOCK_STRINGS};

/// What a compaction did to one source.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Compaction {
    pub source: String,
    pub event_blocks_before: u64,
    pub event_blocks_after: u64,
    pub string_blocks_before: u64,
    pub string_blocks_after: u64,
}

impl Compaction {
    pub fn changed(&self) -> bool {
        self.event_blocks_after < self.event_blocks_before
            || self.string_blocks_after < self.string_blocks_before
    }
}

/// Runs of at least two neighbouring blocks (in `sizes` order) whose sizes add up to at most
/// `limit`: the index ranges to join.
pub(crate) fn runs(sizes: &[i64], limit: i64) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut total) = (0, 0);
    for (i, &n) in sizes.iter().enumerate() {
        if total + n > limit {
            if i - start >= 2 {
                out.push(start..i);
            }
            start = i;
            total = 0;
        }
        total += n;
    }
    if sizes.len() - start >= 2 {
        out.push(start..sizes.len());
    }
    out
}

pub(crate) const EVENT_LIMIT: i64 = BLOCK_EVENTS as i64;
pub(crate) const STRING_LIMIT: i64 = BLOCK_STRINGS as i64;

/// Compacts source `$source` inside transaction `$tx`; `$lock` locks the source row where
/// the database needs it (PostgreSQL: `FOR UPDATE`, as an import does). Evaluates to
/// `Result<Compaction>`.
macro_rules! compact_source {
    ($tx:expr, $source:expr, $q:path, $lock:literal) => {{
        async {
            let id: Option<i64> = sqlx::query_scalar(&$q(concat!(
                "SELECT id FROM sources WHERE name = ?",
                $lock
            )))
            .bind($source)
            .fetch_optional(&mut *$tx)
            .await?;
            let Some(id) = id else {
                return Ok::<_, $crate::StoreError>(None);
            };
            let mut done = $crate::compact::Compaction {
                source: $source.to_owned(),
                ..Default::default()
            };
            // Event blocks, in load order.
            let blocks: Vec<(i64, i64, i64)> = sqlx::query_as(&$q(
                "SELECT import_id, block_no, n_events FROM event_blocks WHERE source_id = ? ORDER BY import_id, block_no",
            ))
            .bind(id)
            .fetch_all(&mut *$tx)
            .await?;
            done.event_blocks_before = blocks.len() as u64;
            done.event_blocks_after = blocks.len() as u64;
            let sizes: Vec<i64> = blocks.iter().map(|b| b.2).collect();
            for run in $crate::compact::runs(&sizes, $crate::compact::EVENT_LIMIT) {
                let mut parts = Vec::with_capacity(run.len());
                for &(import, no, _) in &blocks[run.clone()] {
                    let data: Vec<u8> = sqlx::query_scalar(&$q(
                        "DELETE FROM event_blocks WHERE source_id = ? AND import_id = ? AND block_no = ? RETURNING data",
                    ))
                    .bind(id)
                    .bind(import)
                    .bind(no)
                    .fetch_one(&mut *$tx)
                    .await?;
                    parts.push(data);
                }
                let joined = $crate::codec::concat_events(&parts)?;
                let (import, no, _) = blocks[run.start];
                let n: i64 = sizes[run.clone()].iter().sum();
                sqlx::query(&$q(
                    "INSERT INTO event_blocks (source_id, import_id, block_no, n_events, data) VALUES (?, ?, ?, ?, ?)",
                ))
                .bind(id)
                .bind(import)
                .bind(no)
                .bind(n)
                .bind(joined)
                .execute(&mut *$tx)
                .await?;
                done.event_blocks_after -= run.len() as u64 - 1;
            }
            // String blocks, in id order.
            let blocks: Vec<(i64, i64)> = sqlx::query_as(&$q(
                "SELECT first_id, n FROM string_blocks WHERE source_id = ? ORDER BY first_id",
            ))
            .bind(id)
            .fetch_all(&mut *$tx)
            .await?;
            done.string_blocks_before = blocks.len() as u64;
            done.string_blocks_after = blocks.len() as u64;
            let sizes: Vec<i64> = blocks.iter().map(|b| b.1).collect();
            for run in $crate::compact::runs(&sizes, $crate::compact::STRING_LIMIT) {
                let mut parts = Vec::with_capacity(run.len());
                for &(first, _) in &blocks[run.clone()] {
                    let data: Vec<u8> = sqlx::query_scalar(&$q(
                        "DELETE FROM string_blocks WHERE source_id = ? AND first_id = ? RETURNING data",
                    ))
                    .bind(id)
                    .bind(first)
                    .fetch_one(&mut *$tx)
                    .await?;
                    parts.push(data);
                }
                let joined = $crate::codec::concat_strings(&parts)?;
                let n: i64 = sizes[run.clone()].iter().sum();
                sqlx::query(&$q(
                    "INSERT INTO string_blocks (source_id, first_id, n, data) VALUES (?, ?, ?, ?)",
                ))
                .bind(id)
                .bind(blocks[run.start].0)
                .bind(n)
                .bind(joined)
                .execute(&mut *$tx)
                .await?;
                done.string_blocks_after -= run.len() as u64 - 1;
            }
            Ok(Some(done))
        }
        .await
    }};
}

pub(crate) use compact_source;

/// The sources with at least two blocks below full size (candidates for compaction).
pub(crate) const CANDIDATES: &str = "SELECT s.name FROM sources s WHERE \
     (SELECT COUNT(*) FROM event_blocks b WHERE b.source_id = s.id AND b.n_events < ?) > 1 \
     OR (SELECT COUNT(*) FROM string_blocks b WHERE b.source_id = s.id AND b.n < ?) > 1 \
     ORDER BY s.name";

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn runs_join_neighbours_up_to_the_limit() {
        assert_eq!(runs(&[1, 1, 1], 10), vec![0..3]);
        assert_eq!(runs(&[1], 10), Vec::<std::ops::Range<usize>>::new());
        // A full block between small ones keeps them apart.
        assert_eq!(runs(&[1, 1, 10, 1, 1], 10), vec![0..2, 3..5]);
        // A run stops before it would pass the limit.
        assert_eq!(runs(&[4, 4, 4, 4], 10), vec![0..2, 2..4]);
        assert_eq!(runs(&[9, 2, 9], 10), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(runs(&[], 10), Vec::<std::ops::Range<usize>>::new());
    }
}
