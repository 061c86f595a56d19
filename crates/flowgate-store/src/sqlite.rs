//! SQLite: one write transaction per import; keys by multi-row inserts, events in blocks.

use sqlx::SqlitePool;

use crate::common::{import_epilogue, import_prologue};
use crate::sql::plain;
use crate::{EventKeys, ImportRequest, ImportSummary, Result};

/// Rows per multi-row insert (SQLite allows 32,766 bound parameters per statement).
const KEY_ROWS: usize = 16_000;

fn values(n: usize, row: &str) -> String {
    vec![row; n].join(",")
}

pub(crate) async fn import(
    pool: &SqlitePool,
    req: &ImportRequest<'_>,
    keys: &EventKeys,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ImportSummary> {
    let mut tx = pool.begin().await?;
    let (source_id, import_id, p) = import_prologue!(tx, req, keys, plain, "");

    // Keys first: how many go in tells which events are new.
    let total = p.events.len() as u64;
    let mut new = 0u64;
    let mut done = 0u64;
    let row = format!("({source_id}, ?, {import_id})");
    let full_sql = insert_keys_sql(KEY_ROWS, &row);
    // In key order the index is filled page by page instead of at random.
    // Owned keys, so the import's future is `Send` (the service runs it on its runtime).
    let mut sorted: Vec<[u8; 16]> = p.events.iter().map(|e| e.key).collect();
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
    let summary = import_epilogue!(tx, req, plain, source_id, import_id, p, new, |cases| {
        let mut n = 0u64;
        for chunk in cases.chunks(KEY_ROWS) {
            let sql = format!(
                "INSERT OR IGNORE INTO cases (source_id, case_s, import_id) VALUES {}",
                values(chunk.len(), &format!("({source_id}, ?, {import_id})"))
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q.bind(c);
            }
            n += q.execute(&mut *tx).await?.rows_affected();
        }
        n
    });
    tx.commit().await?;
    Ok(summary)
}

fn insert_keys_sql(n: usize, row: &str) -> String {
    format!(
        "INSERT OR IGNORE INTO event_keys (source_id, event_key, import_id) VALUES {}",
        values(n, row)
    )
}
