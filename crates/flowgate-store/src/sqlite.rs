//! SQLite: one write transaction per import, multi-row inserts.

use rustc_hash::FxHashMap;
use sqlx::SqlitePool;

use crate::plan::{EventOut, plan};
use crate::{EventKeys, ImportRequest, ImportSummary, Result, now_ms};

/// SQLite allows 32,766 bound parameters per statement.
const EVENT_ROWS: usize = 3_000;
const STRING_ROWS: usize = 10_000;

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
    let cases_before: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT case_s) FROM events WHERE source_id = ?")
            .bind(source_id)
            .fetch_one(&mut *tx)
            .await?;
    let mut strings: FxHashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT value, id FROM strings WHERE source_id = ?")
            .bind(source_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
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

    for chunk in p.new_strings.chunks(STRING_ROWS) {
        let sql = format!(
            "INSERT INTO strings (source_id, id, value) VALUES {}",
            values(chunk.len(), &format!("({source_id}, ?, ?)"))
        );
        let mut q = sqlx::query(&sql);
        for (id, v) in chunk {
            q = q.bind(id).bind(*v);
        }
        q.execute(&mut *tx).await?;
    }
    for (id, name) in &p.new_attr_names {
        sqlx::query("INSERT INTO attr_names (source_id, id, name) VALUES (?, ?, ?)")
            .bind(source_id)
            .bind(id)
            .bind(*name)
            .execute(&mut *tx)
            .await?;
    }

    let total = p.events.len() as u64;
    let mut new = 0u64;
    let mut done = 0u64;
    let row = format!("({source_id}, {import_id}, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    let full_sql = insert_events_sql(EVENT_ROWS, &row);
    for chunk in p.events.chunks(EVENT_ROWS) {
        let sql;
        let sql_ref = if chunk.len() == EVENT_ROWS {
            &full_sql
        } else {
            sql = insert_events_sql(chunk.len(), &row);
            &sql
        };
        let mut q = sqlx::query(sql_ref);
        for e in chunk {
            q = bind_event(q, e);
        }
        new += q.execute(&mut *tx).await?.rows_affected();
        done += chunk.len() as u64;
        progress(done, total);
    }
    let cases_after: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT case_s) FROM events WHERE source_id = ?")
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

fn insert_events_sql(n: usize, row: &str) -> String {
    format!(
        "INSERT OR IGNORE INTO events (source_id, import_id, event_key, case_s, ts_ms, activity_s, resource_s, team_s, state, flags, attrs) VALUES {}",
        values(n, row)
    )
}

fn bind_event<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    e: &'q EventOut,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    q.bind(&e.key[..])
        .bind(e.case_s)
        .bind(e.ts_ms)
        .bind(e.activity_s)
        .bind(e.resource_s)
        .bind(e.team_s)
        .bind(e.state)
        .bind(e.flags)
        .bind(e.attrs.as_deref())
}
