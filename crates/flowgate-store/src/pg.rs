//! PostgreSQL: one transaction per import; event keys go in with COPY (CSV) through a staging
//! table and one `INSERT … ON CONFLICT DO NOTHING RETURNING`, events in blocks.

use std::fmt::Write;

use sqlx::PgPool;
use sqlx::postgres::PgConnection;

use crate::common::{import_epilogue, import_prologue};
use crate::sql::numbered;
use crate::{EventKeys, ImportRequest, ImportSummary, Result};

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
    let mut tx = pool.begin().await?;
    // One import per source at a time: the source row is locked until commit.
    let (source_id, import_id, p) = import_prologue!(tx, req, keys, numbered, " FOR UPDATE");

    // Keys first, through COPY and a staging table: how many go in tells which are new.
    sqlx::query("CREATE TEMP TABLE staging_keys (event_key BYTEA) ON COMMIT DROP")
        .execute(&mut *tx)
        .await?;
    let total = p.events.len() as u64;
    // In key order the index is filled page by page instead of at random.
    // Owned keys and a named function (not a closure over borrowed keys), so the import's
    // future is `Send` and the service can run it on its runtime.
    let mut sorted: Vec<[u8; 16]> = p.events.iter().map(|e| e.key).collect();
    sorted.sort_unstable();
    copy_lines(
        &mut tx,
        "COPY staging_keys FROM STDIN WITH (FORMAT csv)",
        sorted.iter().map(hex_key),
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
    let summary = import_epilogue!(tx, req, numbered, source_id, import_id, p, new, |cases| {
        sqlx::query(
            "INSERT INTO cases (source_id, case_s, import_id) SELECT $1, c, $2 FROM UNNEST($3::BIGINT[]) AS c \
             ON CONFLICT DO NOTHING",
        )
        .bind(source_id)
        .bind(import_id)
        .bind(&cases)
        .execute(&mut *tx)
        .await?
        .rows_affected()
    });
    tx.commit().await?;
    Ok(summary)
}

fn hex_key(k: &[u8; 16]) -> String {
    hex(&k[..])
}
