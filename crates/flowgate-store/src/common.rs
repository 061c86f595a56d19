//! What SQLite and PostgreSQL imports and loads share, written once. The SQL is written with
//! `?` placeholders; `$q` is `sql::plain` or `sql::numbered` (PostgreSQL's `$1, $2, …`). The
//! steps are macros because the two backends' transactions and pools are different types.

/// Opens the import inside `$tx`: the source row (locked with `$lock`), the source's
/// dictionary and attribute names, the plan, the import row, new string blocks and attribute
/// names. Evaluates to `(source_id, import_id, plan)`.
macro_rules! import_prologue {
    ($tx:expr, $req:expr, $keys:expr, $q:path, $lock:literal) => {{
        let started = $crate::now_ms();
        let existing: Option<(i64, Option<String>)> = sqlx::query_as(&$q(concat!("SELECT id, mapping_hash FROM sources WHERE name = ?", $lock)))
            .bind($req.source)
            .fetch_optional(&mut *$tx)
            .await?;
        let source_id: i64 = match existing {
            Some((id, kept)) => {
                if $req.replace {
                    for table in ["event_keys", "event_blocks", "cases", "string_blocks", "attr_names"] {
                        sqlx::query(&$q(&format!("DELETE FROM {table} WHERE source_id = ?")))
                            .bind(id)
                            .execute(&mut *$tx)
                            .await?;
                    }
                } else if let (Some(kept), Some(now)) = (kept.as_deref(), $req.mapping_hash)
                    && kept != now
                {
                    return Err($crate::StoreError::MappingChanged {
                        name: $req.source.to_owned(),
                    });
                }
                sqlx::query(&$q("UPDATE sources SET mapping = ?, states_mapped = ?, mapping_hash = COALESCE(?, mapping_hash) WHERE id = ?"))
                    .bind($req.mapping_toml)
                    .bind($req.rows.states_mapped() as i64)
                    .bind($req.mapping_hash)
                    .bind(id)
                    .execute(&mut *$tx)
                    .await?;
                id
            }
            None => {
                sqlx::query_scalar(&$q(
                    "INSERT INTO sources (name, mapping, states_mapped, created_at_ms, mapping_hash) VALUES (?, ?, ?, ?, ?) RETURNING id",
                ))
                .bind($req.source)
                .bind($req.mapping_toml)
                .bind($req.rows.states_mapped() as i64)
                .bind(started)
                .bind($req.mapping_hash)
                .fetch_one(&mut *$tx)
                .await?
            }
        };
        let blocks: Vec<(i64, Vec<u8>)> =
            sqlx::query_as(&$q("SELECT first_id, data FROM string_blocks WHERE source_id = ? ORDER BY first_id"))
                .bind(source_id)
                .fetch_all(&mut *$tx)
                .await?;
        let mut strings = $crate::plan::dictionary(blocks)?;
        let mut attr_names: rustc_hash::FxHashMap<String, i64> =
            sqlx::query_as::<_, (String, i64)>(&$q("SELECT name, id FROM attr_names WHERE source_id = ?"))
                .bind(source_id)
                .fetch_all(&mut *$tx)
                .await?
                .into_iter()
                .collect();
        let p = $crate::plan::plan($req.rows, &$keys.keys, &mut strings, &mut attr_names);
        let import_id: i64 = sqlx::query_scalar(&$q(
            "INSERT INTO imports (source_id, started_at_ms, finished_at_ms, username, file, file_hash, rows_read, \
             events_new, events_duplicate, events_rejected, cases_new, span_from_ms, span_to_ms, status) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, 0, ?, ?, 'running') RETURNING id",
        ))
        .bind(source_id)
        .bind(started)
        .bind(started)
        .bind($req.username)
        .bind($req.file)
        .bind($req.file_hash)
        .bind($req.rows_read as i64)
        .bind($req.rejected as i64)
        .bind(p.span.map(|s| s.0))
        .bind(p.span.map(|s| s.1))
        .fetch_one(&mut *$tx)
        .await?;
        for (first, n, data) in $crate::plan::string_blocks(&p.new_strings) {
            sqlx::query(&$q("INSERT INTO string_blocks (source_id, first_id, n, data) VALUES (?, ?, ?, ?)"))
                .bind(source_id)
                .bind(first)
                .bind(n)
                .bind(data)
                .execute(&mut *$tx)
                .await?;
        }
        for (id, name) in &p.new_attr_names {
            sqlx::query(&$q("INSERT INTO attr_names (source_id, id, name) VALUES (?, ?, ?)"))
                .bind(source_id)
                .bind(id)
                .bind(*name)
                .execute(&mut *$tx)
                .await?;
        }
        (source_id, import_id, p)
    }};
}

/// After the keys went in (`$new` of them): the new events' blocks, the import's counts and
/// the commit. `$insert_cases` is an async closure-like block given `cases` that evaluates to
/// the number of new cases. Evaluates to the `ImportSummary`.
macro_rules! import_epilogue {
    ($tx:expr, $req:expr, $q:path, $source_id:expr, $import_id:expr, $p:expr, $new:expr, |$cases:ident| $insert_cases:block) => {{
        let total = $p.events.len() as u64;
        // Which events are new: all, none, or (rarely) those whose key this import inserted.
        let new_keys: Option<rustc_hash::FxHashSet<[u8; 16]>> = if $new == total || $new == 0 {
            None
        } else {
            Some(
                sqlx::query_scalar::<_, Vec<u8>>(&$q("SELECT event_key FROM event_keys WHERE source_id = ? AND import_id = ?"))
                    .bind($source_id)
                    .bind($import_id)
                    .fetch_all(&mut *$tx)
                    .await?
                    .iter()
                    .filter_map(|k| <[u8; 16]>::try_from(k.as_slice()).ok())
                    .collect(),
            )
        };
        let all_new = $new == total;
        let (blocks, $cases) = $crate::plan::event_blocks(&$p.events, |k| match &new_keys {
            Some(set) => set.contains(k),
            None => all_new,
        });
        for (no, (n, data)) in blocks.into_iter().enumerate() {
            sqlx::query(&$q(
                "INSERT INTO event_blocks (source_id, import_id, block_no, n_events, data) VALUES (?, ?, ?, ?, ?)",
            ))
            .bind($source_id)
            .bind($import_id)
            .bind(no as i64)
            .bind(n)
            .bind(data)
            .execute(&mut *$tx)
            .await?;
        }
        let cases_new: u64 = $insert_cases;
        let cases_total: i64 = sqlx::query_scalar(&$q("SELECT COUNT(*) FROM cases WHERE source_id = ?"))
            .bind($source_id)
            .fetch_one(&mut *$tx)
            .await?;
        if let Some(c) = &$req.cursor {
            sqlx::query(&$q($crate::SET_CURSOR))
            .bind($req.source)
            .bind(c.vendor)
            .bind(c.value)
            .bind($crate::now_ms())
            .execute(&mut *$tx)
            .await?;
        }
        let keep = $new > 0 || $req.record_empty;
        let summary = $crate::ImportSummary {
            import_id: if keep { $import_id } else { 0 },
            events_new: $new,
            events_duplicate: total - $new,
            events_rejected: $req.rejected,
            cases_new,
            cases_total: cases_total as u64,
            span: $p.span,
        };
        if !keep {
            sqlx::query(&$q("DELETE FROM imports WHERE id = ?"))
                .bind($import_id)
                .execute(&mut *$tx)
                .await?;
        } else {
        sqlx::query(&$q(
            "UPDATE imports SET finished_at_ms = ?, events_new = ?, events_duplicate = ?, cases_new = ?, status = 'complete' WHERE id = ?",
        ))
        .bind($crate::now_ms())
        .bind(summary.events_new as i64)
        .bind(summary.events_duplicate as i64)
        .bind(summary.cases_new as i64)
        .bind($import_id)
        .execute(&mut *$tx)
        .await?;
        }
        summary
    }};
}

/// Reads source `$source` from `$pool` into a `Loaded`.
macro_rules! load_source {
    // `$snapshot`: the statement that makes the transaction one snapshot, where the database
    // needs one (PostgreSQL's default isolation gives each statement its own).
    ($pool:expr, $source:expr, $q:path, $snapshot:expr) => {{
        // One transaction, one snapshot: an import committed while the source is read can
        // never leave blocks that name strings the dictionary read before did not hold.
        let mut tx = $pool.begin().await?;
        if let Some(sql) = $snapshot {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        let found: Option<(i64, String, i64)> = sqlx::query_as(&$q(
            "SELECT id, mapping, states_mapped FROM sources WHERE name = ?",
        ))
        .bind($source)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, mapping, states)) = found else {
            let names: Vec<String> = sqlx::query_scalar("SELECT name FROM sources ORDER BY name")
                .fetch_all(&mut *tx)
                .await?;
            return Err($crate::unknown_source(names, $source));
        };
        let dict = sqlx::query_as(&$q(
            "SELECT first_id, data FROM string_blocks WHERE source_id = ? ORDER BY first_id",
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let names = sqlx::query_as(&$q(
            "SELECT id, name FROM attr_names WHERE source_id = ? ORDER BY id",
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let mut r = Reader::new(dict, names, states != 0)?;
        let sql =
            $q("SELECT data FROM event_blocks WHERE source_id = ? ORDER BY import_id, block_no");
        {
            let mut blocks = sqlx::query_scalar::<_, Vec<u8>>(&sql)
                .bind(id)
                .fetch(&mut *tx);
            while let Some(data) = blocks.try_next().await? {
                decode_events(&data, |d| r.push(d))?;
            }
        }
        tx.commit().await?;
        Ok($crate::Loaded {
            rows: r.builder,
            mapping_toml: mapping,
        })
    }};
}

pub(crate) use {import_epilogue, import_prologue, load_source};
