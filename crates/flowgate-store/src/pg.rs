//! PostgreSQL: one transaction per import; strings and events go in with COPY (CSV), events
//! through a staging table and one `INSERT … ON CONFLICT DO NOTHING`.

use std::fmt::Write;

use rustc_hash::FxHashMap;
use sqlx::PgPool;
use sqlx::postgres::PgConnection;

use crate::plan::plan;
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

/// A text value for COPY's CSV format: always quoted, so an empty string is not NULL.
fn quoted(v: &str) -> String {
    format!("\"{}\"", v.replace('"', "\"\""))
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
    let cases_before: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT case_s) FROM events WHERE source_id = $1")
            .bind(source_id)
            .fetch_one(&mut *tx)
            .await?;
    let mut strings: FxHashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT value, id FROM strings WHERE source_id = $1")
            .bind(source_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
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

    let sid = source_id.to_string();
    copy_lines(
        &mut tx,
        "COPY strings (source_id, id, value) FROM STDIN WITH (FORMAT csv)",
        p.new_strings
            .iter()
            .map(|(id, v)| format!("{sid},{id},{}", quoted(v))),
        |_| {},
    )
    .await?;
    for (id, name) in &p.new_attr_names {
        sqlx::query("INSERT INTO attr_names (source_id, id, name) VALUES ($1, $2, $3)")
            .bind(source_id)
            .bind(id)
            .bind(*name)
            .execute(&mut *tx)
            .await?;
    }

    sqlx::query(
        "CREATE TEMP TABLE staging_events (ord BIGINT, event_key BYTEA, case_s BIGINT, ts_ms BIGINT, \
         activity_s BIGINT, resource_s BIGINT, team_s BIGINT, state BIGINT, flags BIGINT, attrs BYTEA) ON COMMIT DROP",
    )
    .execute(&mut *tx)
    .await?;
    let total = p.events.len() as u64;
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    copy_lines(
        &mut tx,
        "COPY staging_events FROM STDIN WITH (FORMAT csv)",
        p.events.iter().enumerate().map(|(i, e)| {
            format!(
                "{i},{},{},{},{},{},{},{},{},{}",
                hex(&e.key),
                e.case_s,
                e.ts_ms,
                e.activity_s,
                opt(e.resource_s),
                opt(e.team_s),
                opt(e.state),
                e.flags,
                e.attrs.as_deref().map(hex).unwrap_or_default()
            )
        }),
        |n| progress(n, total),
    )
    .await?;
    let new = sqlx::query(
        "INSERT INTO events (source_id, import_id, event_key, case_s, ts_ms, activity_s, resource_s, team_s, state, flags, attrs) \
         SELECT $1, $2, event_key, case_s, ts_ms, activity_s, resource_s, team_s, state, flags, attrs \
         FROM staging_events ORDER BY ord ON CONFLICT (source_id, event_key) DO NOTHING",
    )
    .bind(source_id)
    .bind(import_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let cases_after: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT case_s) FROM events WHERE source_id = $1")
            .bind(source_id)
            .fetch_one(&mut *tx)
            .await?;
    let summary = ImportSummary {
        import_id,
        events_new: new,
        events_duplicate: total - new,
        events_rejected: req.rejected,
        cases_new: (cases_after - cases_before).max(0) as u64,
        cases_total: cases_after as u64,
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
