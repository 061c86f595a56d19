//! PostgreSQL: one transaction per import; event keys go in with COPY (CSV) through a staging
//! table and one `INSERT … ON CONFLICT DO NOTHING RETURNING`, events in blocks.

use std::fmt::Write;

use rustc_hash::{FxHashMap, FxHashSet};
use sqlx::PgPool;
use sqlx::postgres::PgConnection;

use crate::plan::{dictionary, event_blocks, plan, string_blocks};
use crate::{EventKeys, ImportRequest, ImportSummary, Result, now_ms};

const CHUNK_BYTES: usize = 1 << 20;

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("\\x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Streams CSV lines into `COPY … FROM STDIN`, a megabyte at a time. In a line an empty
/// unquoted field is NULL.
async fn copy_lines(
    conn: &mut PgConnection,
    statement: &str,
    lines: impl IntoIterator<Item = String>,
    mut on_chunk: impl FnMut(u64),
) -> Result<()> {
    let mut copy = conn.copy_in_raw(statement).await?;
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
    let mut n = 0u64;
    for line in lines {
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        n += 1;
        if buf.len() >= CHUNK_BYTES {
            copy.send(std::mem::take(&mut buf)).await?;
            on_chunk(n);
        }
    }
    if !buf.is_empty() {
        copy.send(buf).await?;
    }
    copy.finish().await?;
    on_chunk(n);
    Ok(())
}

pub(crate) async fn import(
    pool: &PgPool,
    req: &ImportRequest<'_>,
    keys: &EventKeys,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ImportSummary> {
    let started = now_ms();
    let mut tx = pool.begin().await?;
    // One import per source at a time: the source row is locked until commit.
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM sources WHERE name = $1 FOR UPDATE")
            .bind(req.source)
            .fetch_optional(&mut *tx)
            .await?;
    let source_id = match existing {
        Some(id) => {
            sqlx::query("UPDATE sources SET mapping = $1, states_mapped = $2 WHERE id = $3")
                .bind(req.mapping_toml)
                .bind(req.rows.states_mapped() as i64)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO sources (name, mapping, states_mapped, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
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
        "SELECT first_id, data FROM string_blocks WHERE source_id = $1 ORDER BY first_id",
    )
    .bind(source_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut strings = dictionary(blocks)?;
    let mut attr_names: FxHashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT name, id FROM attr_names WHERE source_id = $1")
            .bind(source_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let p = plan(req.rows, &keys.keys, &mut strings, &mut attr_names);
    let import_id: i64 = sqlx::query_scalar(
        "INSERT INTO imports (source_id, started_at_ms, finished_at_ms, username, file, file_hash, rows_read, \
         events_new, events_duplicate, events_rejected, cases_new, span_from_ms, span_to_ms, status) \
         VALUES ($1, $2, $2, $3, $4, $5, $6, 0, 0, $7, 0, $8, $9, 'running') RETURNING id",
    )
    .bind(source_id)
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
        sqlx::query(
            "INSERT INTO string_blocks (source_id, first_id, n, data) VALUES ($1, $2, $3, $4)",
        )
        .bind(source_id)
        .bind(first)
        .bind(n)
        .bind(data)
        .execute(&mut *tx)
        .await?;
    }
    for (id, name) in &p.new_attr_names {
        sqlx::query("INSERT INTO attr_names (source_id, id, name) VALUES ($1, $2, $3)")
            .bind(source_id)
            .bind(id)
            .bind(*name)
            .execute(&mut *tx)
            .await?;
    }

    // Keys first, through COPY and a staging table: the ones that go in are the new events.
    sqlx::query("CREATE TEMP TABLE staging_keys (event_key BYTEA) ON COMMIT DROP")
        .execute(&mut *tx)
        .await?;
    let total = p.events.len() as u64;
    // In key order the index is filled page by page instead of at random.
    let mut sorted: Vec<&[u8; 16]> = p.events.iter().map(|e| &e.key).collect();
    sorted.sort_unstable();
    copy_lines(
        &mut tx,
        "COPY staging_keys FROM STDIN WITH (FORMAT csv)",
        sorted.iter().map(|k| hex(&k[..])),
        |n| progress(n, total),
    )
    .await?;
    let new = sqlx::query(
        "INSERT INTO event_keys (source_id, event_key, import_id) SELECT $1, event_key, $2 FROM staging_keys \
         ON CONFLICT DO NOTHING",
    )
    .bind(source_id)
    .bind(import_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Which events are new: all, none, or (rarely) those whose key this import inserted.
    let new_keys: Option<FxHashSet<[u8; 16]>> = if new == total || new == 0 {
        None
    } else {
        Some(
            sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT event_key FROM event_keys WHERE source_id = $1 AND import_id = $2",
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
            "INSERT INTO event_blocks (source_id, import_id, block_no, n_events, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(source_id)
        .bind(import_id)
        .bind(no as i64)
        .bind(n)
        .bind(data)
        .execute(&mut *tx)
        .await?;
    }
    let cases_new = sqlx::query(
        "INSERT INTO cases (source_id, case_s, import_id) SELECT $1, c, $2 FROM UNNEST($3::BIGINT[]) AS c \
         ON CONFLICT DO NOTHING",
    )
    .bind(source_id)
    .bind(import_id)
    .bind(&cases)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let cases_total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE source_id = $1")
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
        "UPDATE imports SET finished_at_ms = $1, events_new = $2, events_duplicate = $3, cases_new = $4, status = 'complete' WHERE id = $5",
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
