//! SQLite: one write transaction per import; keys by multi-row inserts, events in blocks.

use rustc_hash::{FxHashMap, FxHashSet};
use sqlx::SqlitePool;

use crate::plan::{dictionary, event_blocks, plan, string_blocks};
use crate::{EventKeys, ImportRequest, ImportSummary, Result, now_ms};

/// Rows per multi-row insert (SQLite allows 32,766 bound parameters per statement).
const KEY_ROWS: usize = 16_000;

fn values(n: usize, row: &str) -> String {
    let mut s = String::with_capacity(n * (row.len() + 1));
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(row);
    }
    s
}

pub(crate) async fn import(
    pool: &SqlitePool,
    req: &ImportRequest<'_>,
    keys: &EventKeys,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ImportSummary> {
    let started = now_ms();
    let mut tx = pool.begin().await?;
    let source_id = match sqlx::query_scalar::<_, i64>("SELECT id FROM sources WHERE name = ?")
        .bind(req.source)
        .fetch_optional(&mut *tx)
        .await?
    {
        Some(id) => {
            sqlx::query("UPDATE sources SET mapping = ?, states_mapped = ? WHERE id = ?")
                .bind(req.mapping_toml)
                .bind(req.rows.states_mapped() as i64)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO sources (name, mapping, states_mapped, created_at_ms) VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(req.source)
            .bind(req.mapping_toml)
            .bind(req.rows.states_mapped() as i64)
            .bind(started)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let blocks: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT first_id, data FROM string_blocks WHERE source_id = ? ORDER BY first_id",
    )
    .bind(source_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut strings = dictionary(blocks)?;
    let mut attr_names: FxHashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT name, id FROM attr_names WHERE source_id = ?")
            .bind(source_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let p = plan(req.rows, &keys.keys, &mut strings, &mut attr_names);
    let import_id: i64 = sqlx::query_scalar(
        "INSERT INTO imports (source_id, started_at_ms, finished_at_ms, username, file, file_hash, rows_read, \
         events_new, events_duplicate, events_rejected, cases_new, span_from_ms, span_to_ms, status) \
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, 0, ?, ?, 'running') RETURNING id",
    )
    .bind(source_id)
    .bind(started)
    .bind(started)
    .bind(req.username)
    .bind(req.file)
    .bind(req.file_hash)
    .bind(req.rows_read as i64)
    .bind(req.rejected as i64)
    .bind(p.span.map(|s| s.0))
    .bind(p.span.map(|s| s.1))
    .fetch_one(&mut *tx)
    .await?;

    for (first, n, data) in string_blocks(&p.new_strings) {
        sqlx::query("INSERT INTO string_blocks (source_id, first_id, n, data) VALUES (?, ?, ?, ?)")
            .bind(source_id)
            .bind(first)
            .bind(n)
            .bind(data)
            .execute(&mut *tx)
            .await?;
    }
    for (id, name) in &p.new_attr_names {
        sqlx::query("INSERT INTO attr_names (source_id, id, name) VALUES (?, ?, ?)")
            .bind(source_id)
            .bind(id)
            .bind(*name)
            .execute(&mut *tx)
            .await?;
    }

    // Keys first: the ones that go in are the new events.
    let total = p.events.len() as u64;
    let mut new = 0u64;
    let mut done = 0u64;
    let row = format!("({source_id}, ?, {import_id})");
    let full_sql = insert_keys_sql(KEY_ROWS, &row);
    // In key order the index is filled page by page instead of at random.
    let mut sorted: Vec<&[u8; 16]> = p.events.iter().map(|e| &e.key).collect();
    sorted.sort_unstable();
    for chunk in sorted.chunks(KEY_ROWS) {
        let sql;
        let sql_ref = if chunk.len() == KEY_ROWS {
            &full_sql
        } else {
            sql = insert_keys_sql(chunk.len(), &row);
            &sql
        };
        let mut q = sqlx::query(sql_ref);
        for k in chunk {
            q = q.bind(&k[..]);
        }
        new += q.execute(&mut *tx).await?.rows_affected();
        done += chunk.len() as u64;
        progress(done, total);
    }
    // Which events are new: all, none, or (rarely) those whose key this import inserted.
    let new_keys: Option<FxHashSet<[u8; 16]>> = if new == total || new == 0 {
        None
    } else {
        Some(
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT event_key FROM event_keys WHERE source_id = ? AND import_id = ?",
            )
            .bind(source_id)
            .bind(import_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .filter_map(|k| <[u8; 16]>::try_from(k.as_slice()).ok())
            .collect(),
        )
    };
    let all_new = new == total;
    let (blocks, cases) = event_blocks(&p.events, |k| match &new_keys {
        Some(set) => set.contains(k),
        None => all_new,
    });
    for (no, (n, data)) in blocks.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO event_blocks (source_id, import_id, block_no, n_events, data) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(source_id)
        .bind(import_id)
        .bind(no as i64)
        .bind(n)
        .bind(data)
        .execute(&mut *tx)
        .await?;
    }
    let mut cases_new = 0u64;
    for chunk in cases.chunks(KEY_ROWS) {
        let sql = format!(
            "INSERT OR IGNORE INTO cases (source_id, case_s, import_id) VALUES {}",
            values(chunk.len(), &format!("({source_id}, ?, {import_id})"))
        );
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q.bind(c);
        }
        cases_new += q.execute(&mut *tx).await?.rows_affected();
    }
    let cases_total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE source_id = ?")
        .bind(source_id)
        .fetch_one(&mut *tx)
        .await?;
    let summary = ImportSummary {
        import_id,
        events_new: new,
        events_duplicate: total - new,
        events_rejected: req.rejected,
        cases_new,
        cases_total: cases_total as u64,
        span: p.span,
    };
    sqlx::query(
        "UPDATE imports SET finished_at_ms = ?, events_new = ?, events_duplicate = ?, cases_new = ?, status = 'complete' WHERE id = ?",
    )
    .bind(now_ms())
    .bind(summary.events_new as i64)
    .bind(summary.events_duplicate as i64)
    .bind(summary.cases_new as i64)
    .bind(import_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(summary)
}

fn insert_keys_sql(n: usize, row: &str) -> String {
    format!(
        "INSERT OR IGNORE INTO event_keys (source_id, event_key, import_id) VALUES {}",
        values(n, row)
    )
}
