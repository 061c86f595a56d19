use flowgate_store::{Store, StoreError};

use crate::{baseline_json, both, import, rows, shared};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_twice_adds_nothing_and_reads_back_the_same_numbers() {
    let file = shared().join("data/helpdesk/helpdesk_full_attributes_jingyi0126.csv");
    let r = rows(&file, Some("helpdesk"));
    for db in both("twice").await {
        let store = Store::open(&db.url).await.unwrap();
        let first = import(&store, "helpdesk", &r).await;
        // data/README.md: 21,348 rows, 4,580 cases (127 exact duplicate rows are kept as
        // rows and dropped when the log is built, exactly as from the file).
        assert_eq!(
            (first.events_new, first.events_duplicate, first.cases_new),
            (21_348, 0, 4_580),
            "{}",
            db.url
        );
        let again = import(&store, "helpdesk", &r).await;
        assert_eq!(
            (again.events_new, again.events_duplicate, again.cases_new),
            (0, 21_348, 0),
            "{}",
            db.url
        );
        let loaded = store.load("helpdesk").await.unwrap();
        let from_file = rows(&file, Some("helpdesk"));
        assert_eq!(
            baseline_json(loaded.rows),
            baseline_json(from_file.builder),
            "{}",
            db.url
        );
        let sources = store.sources().await.unwrap();
        assert_eq!((sources[0].events, sources[0].imports), (21_348, 2));
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_export_adds_only_what_is_new() {
    let full = shared().join("data/helpdesk/helpdesk_full_attributes_jingyi0126.csv");
    let text = std::fs::read_to_string(&full).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The older export: the header and the first 60% of rows.
    let cut = lines.len() * 6 / 10;
    let dir = std::env::temp_dir().join(format!("flowgate-store-it-older-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let older = dir.join("older.csv");
    std::fs::write(&older, lines[..cut].join("\n") + "\n").unwrap();
    let older_rows = rows(&older, Some("helpdesk"));
    let full_rows = rows(&full, Some("helpdesk"));
    for db in both("newer").await {
        let store = Store::open(&db.url).await.unwrap();
        let a = import(&store, "desk", &older_rows).await;
        assert_eq!(a.events_new as usize, cut - 1);
        let b = import(&store, "desk", &full_rows).await;
        assert_eq!(b.events_new as usize, lines.len() - cut, "{}", db.url);
        assert_eq!(b.events_duplicate as usize, cut - 1);
        let loaded = store.load("desk").await.unwrap();
        assert_eq!(
            baseline_json(loaded.rows),
            baseline_json(rows(&full, Some("helpdesk")).builder)
        );
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xes_and_csv_of_bpic2013_read_back_from_both_databases() {
    let csv = shared().join("data/bpic2013/VINST-new_ibm.csv");
    let xes = shared().join("data/bpic2013/bpi_challenge_2013_incidents.xes.gz");
    for db in both("bpic").await {
        let store = Store::open(&db.url).await.unwrap();
        for (name, file) in [("bpic-csv", &csv), ("bpic-xes", &xes)] {
            let s = import(&store, name, &rows(file, Some("bpic2013"))).await;
            assert_eq!((s.events_new, s.cases_total), (65_533, 7_554));
            let stored = baseline_json(store.load(name).await.unwrap().rows);
            assert_eq!(
                stored,
                baseline_json(rows(file, Some("bpic2013")).builder),
                "{name} in {}",
                db.url
            );
            assert_eq!(stored["resolved_cases"], 7_546);
        }
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_schema_newer_than_it_knows_and_unknown_sources() {
    for db in both("schema").await {
        let store = Store::open(&db.url).await.unwrap();
        assert!(matches!(
            store.load("x").await,
            Err(StoreError::NotMigrated)
        ));
        assert_eq!(
            store.migrate().await.unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        );
        assert!(store.migrate().await.unwrap().is_empty());
        let e = store.load("nope").await.err().unwrap().to_string();
        assert!(e.contains("nope") && e.contains("(none)"), "{e}");
        let sql = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                   VALUES (999, 'from the future', true, x'00', 1)";
        let pg_sql = sql.replace("x'00'", "'\\x00'::bytea");
        match store.backend() {
            flowgate_store::Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.url))
                    .await
                    .unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            flowgate_store::Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                sqlx::query(&pg_sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
        let e = store.migrate().await.err().unwrap();
        assert!(
            matches!(e, StoreError::SchemaTooNew { db: 999, known: 10 }),
            "{e}"
        );
        assert!(e.to_string().contains("newer"));
        store.close().await;
    }
}

/// A load is one snapshot: while small imports (each adding new strings) commit as fast as
/// they can, every load of the source reads whole imports — never blocks naming strings the
/// dictionary it read does not hold — and the events it sees only grow.
async fn loads_racing_imports_see_whole_imports(db: &crate::Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for k in 0..60 {
                import_tiny(&store, "race", k).await;
            }
        })
    };
    let mut seen = 0usize;
    let mut loads = 0;
    while !writer.is_finished() {
        match store.load("race").await {
            Ok(l) => {
                let n = l.rows.len();
                assert_eq!(n % 3, 0, "a partial import was read: {n} events");
                assert!(n >= seen, "events went from {seen} to {n}");
                seen = n;
                loads += 1;
            }
            Err(flowgate_store::StoreError::UnknownSource { .. }) => {}
            Err(e) => panic!("load {loads} failed while imports committed: {e}"),
        }
    }
    writer.await.unwrap();
    assert_eq!(store.load("race").await.unwrap().rows.len(), 180);
    assert!(loads > 0);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_racing_imports_see_whole_imports_sqlite() {
    loads_racing_imports_see_whole_imports(&crate::sqlite_db("race").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_racing_imports_see_whole_imports_postgres() {
    loads_racing_imports_see_whole_imports(&crate::pg_db("race").await).await;
}

/// Three events of case group `k`, each with new strings (so each import adds a string block).
fn tiny(k: usize) -> flowgate_flow::EventLogBuilder {
    let mut b = flowgate_flow::EventLogBuilder::new(true);
    for j in 0..3 {
        b.push_str(
            &format!("CASE-{k}-{j}"),
            (k * 10 + j) as i64 * 1000,
            &format!("activity {k}"),
            Some(&format!("agent {k}")),
            Some(&format!("team {}", k % 4)),
            None,
            j == 1,
        );
    }
    b
}

async fn import_tiny(store: &Store, source: &str, k: usize) -> flowgate_store::ImportSummary {
    import_with(store, source, k, None, false, true)
        .await
        .unwrap()
}

/// Group `k`'s three events into `source`, read under mapping `hash` (`None`: canonical
/// fields, no mapping).
async fn import_with(
    store: &Store,
    source: &str,
    k: usize,
    hash: Option<&str>,
    replace: bool,
    record_empty: bool,
) -> flowgate_store::Result<flowgate_store::ImportSummary> {
    let rows = tiny(k);
    store
        .import(
            &flowgate_store::ImportRequest {
                source,
                rows: &rows,
                mapping_toml: "",
                mapping_hash: hash,
                replace,
                record_empty,
                cursor: None,
                file: "tiny",
                file_hash: &format!("{k}"),
                username: "test",
                rows_read: 3,
                rejected: 0,
            },
            &|_, _| {},
        )
        .await
}

/// The source's events in load order: case, time, activity, resource, team, escalation.
async fn in_order(store: &Store, source: &str) -> Vec<String> {
    let b = store.load(source).await.unwrap().rows;
    (0..b.len())
        .map(|i| {
            let r = b.row(i);
            format!(
                "{}|{}|{}|{}|{}|{}",
                b.cases.resolve(r.case),
                r.ts_ms,
                b.activities.resolve(r.activity),
                b.resources.resolve(r.resource),
                b.teams.resolve(r.team),
                r.escalation
            )
        })
        .collect()
}

/// Compaction joins the one-block-per-request blocks of a live source into one, while
/// imports and loads go on: every load reads whole imports, the events and their order are
/// the same after it as before, and event identity is untouched (a repeated import adds
/// nothing, a new one is added and compacted again).
async fn compaction_keeps_every_event_in_order(db: &crate::Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.compact("live").await.unwrap(), None);
    for k in 0..40 {
        import_tiny(&store, "live", k).await;
    }
    let before = in_order(&store, "live").await;
    assert_eq!(before.len(), 120);
    // Imports, compactions and loads at once.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for k in 40..80 {
                import_tiny(&store, "live", k).await;
            }
        })
    };
    let compactor = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut joined = 0;
            for _ in 0..30 {
                let c = store.compact("live").await.unwrap().unwrap();
                assert!(c.event_blocks_after <= c.event_blocks_before);
                joined += c.event_blocks_before - c.event_blocks_after;
            }
            joined
        })
    };
    let mut seen = 0;
    while !(writer.is_finished() && compactor.is_finished()) {
        let n = store.load("live").await.unwrap().rows.len();
        assert_eq!(n % 3, 0, "a partial import was read: {n} events");
        assert!(n >= seen, "events went from {seen} to {n}");
        seen = n;
    }
    writer.await.unwrap();
    assert!(compactor.await.unwrap() > 0, "the compactor joined nothing");
    let c = store.compact("live").await.unwrap().unwrap();
    assert_eq!(
        (c.event_blocks_after, c.string_blocks_after),
        (1, 1),
        "{c:?}"
    );
    let after = in_order(&store, "live").await;
    assert_eq!(after.len(), 240);
    assert_eq!(after[..120], before[..], "the first 40 imports changed");
    let mut want: Vec<String> = Vec::new();
    for k in 0..80 {
        for j in 0..3 {
            want.push(format!(
                "CASE-{k}-{j}|{}|activity {k}|agent {k}|team {}|{}",
                (k * 10 + j) * 1000,
                k % 4,
                j == 1
            ));
        }
    }
    assert_eq!(after, want);
    // Identity is untouched: the same events again are duplicates; new ones are new.
    let again = import_tiny(&store, "live", 7).await;
    assert_eq!((again.events_new, again.events_duplicate), (0, 3));
    let more = import_tiny(&store, "live", 80).await;
    assert_eq!((more.events_new, more.cases_new), (3, 3));
    let all = store.compact_all().await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].event_blocks_after, 1);
    assert_eq!(in_order(&store, "live").await.len(), 243);
    // Nothing left to join: nothing is reported.
    assert!(store.compact_all().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_every_event_in_order_sqlite() {
    compaction_keeps_every_event_in_order(&crate::sqlite_db("compact").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_every_event_in_order_postgres() {
    compaction_keeps_every_event_in_order(&crate::pg_db("compact").await).await;
}

async fn import_under(
    store: &Store,
    k: usize,
    hash: &str,
    replace: bool,
) -> flowgate_store::Result<flowgate_store::ImportSummary> {
    import_with(store, "m", k, Some(hash), replace, true).await
}

/// A source keeps the identity of the mapping it was imported with: another is refused and
/// stores nothing; `replace` rebuilds the source from the new import alone, after which the
/// new mapping is the source's. Events in the canonical fields (no mapping) are accepted.
async fn a_source_keeps_its_mapping(db: &crate::Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        import_under(&store, 1, "A", false)
            .await
            .unwrap()
            .events_new,
        3
    );
    assert_eq!(
        import_under(&store, 2, "A", false)
            .await
            .unwrap()
            .events_new,
        3
    );
    let e = import_under(&store, 3, "B", false).await.unwrap_err();
    assert!(
        matches!(&e, flowgate_store::StoreError::MappingChanged { name } if name == "m"),
        "{e}"
    );
    assert_eq!(store.load("m").await.unwrap().rows.len(), 6);
    let r = import_under(&store, 3, "B", true).await.unwrap();
    assert_eq!((r.events_new, r.cases_new, r.cases_total), (3, 3, 3));
    assert_eq!(in_order(&store, "m").await.len(), 3);
    // Under B now: A is refused, B adds, and group 1's events are new again.
    assert!(import_under(&store, 4, "A", false).await.is_err());
    assert_eq!(
        import_under(&store, 1, "B", false)
            .await
            .unwrap()
            .events_new,
        3
    );
    import_tiny(&store, "m", 9).await;
    assert_eq!(store.load("m").await.unwrap().rows.len(), 9);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_keeps_its_mapping_sqlite() {
    a_source_keeps_its_mapping(&crate::sqlite_db("mapping").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_keeps_its_mapping_postgres() {
    a_source_keeps_its_mapping(&crate::pg_db("mapping").await).await;
}

/// A live post of events already stored (a retried request, a redelivered webhook) leaves no
/// import record; a file import of the same events does (it says the file was seen).
async fn retried_live_posts_leave_no_import_record(db: &crate::Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let imports = |store: &Store| {
        let store = store.clone();
        async move { store.sources().await.unwrap()[0].imports }
    };
    let first = import_with(&store, "live", 1, None, false, false)
        .await
        .unwrap();
    assert_eq!((first.events_new, imports(&store).await), (3, 1));
    assert!(first.import_id > 0);
    for _ in 0..5 {
        let again = import_with(&store, "live", 1, None, false, false)
            .await
            .unwrap();
        assert_eq!(
            (again.events_new, again.events_duplicate, again.import_id),
            (0, 3, 0)
        );
    }
    assert_eq!(imports(&store).await, 1);
    let file = import_with(&store, "live", 1, None, false, true)
        .await
        .unwrap();
    assert_eq!(file.events_new, 0);
    assert_eq!(imports(&store).await, 2);
    assert_eq!(store.load("live").await.unwrap().rows.len(), 3);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_live_posts_leave_no_import_record_sqlite() {
    retried_live_posts_leave_no_import_record(&crate::sqlite_db("retried").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_live_posts_leave_no_import_record_postgres() {
    retried_live_posts_leave_no_import_record(&crate::pg_db("retried").await).await;
}

/// `flowgate sync`'s cursor is written in the import's transaction: an import that is
/// refused (here under another mapping) leaves the cursor where the last committed page put
/// it, so a resumed sync reads that page again.
async fn a_sync_cursor_moves_only_with_its_events(db: &crate::Db) {
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let import = |k: usize, hash: &'static str, cursor: &'static str| {
        let store = store.clone();
        async move {
            let rows = tiny(k);
            store
                .import(
                    &flowgate_store::ImportRequest {
                        source: "synced",
                        rows: &rows,
                        mapping_toml: "",
                        mapping_hash: Some(hash),
                        replace: false,
                        record_empty: false,
                        cursor: Some(flowgate_store::SyncCursor {
                            vendor: "zendesk",
                            value: cursor,
                        }),
                        file: "page",
                        file_hash: cursor,
                        username: "test",
                        rows_read: 3,
                        rejected: 0,
                    },
                    &|_, _| {},
                )
                .await
        }
    };
    assert_eq!(store.sync_cursor("synced").await.unwrap(), None);
    import(1, "a", "1000").await.unwrap();
    let at = |c: &str| Some(("zendesk".to_owned(), c.to_owned()));
    assert_eq!(store.sync_cursor("synced").await.unwrap(), at("1000"));
    assert!(import(2, "b", "2000").await.is_err());
    assert_eq!(store.sync_cursor("synced").await.unwrap(), at("1000"));
    import(2, "a", "2000").await.unwrap();
    assert_eq!(store.sync_cursor("synced").await.unwrap(), at("2000"));
    assert_eq!(store.load("synced").await.unwrap().rows.len(), 6);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_cursor_moves_only_with_its_events_sqlite() {
    a_sync_cursor_moves_only_with_its_events(&crate::sqlite_db("cursor").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_cursor_moves_only_with_its_events_postgres() {
    a_sync_cursor_moves_only_with_its_events(&crate::pg_db("cursor").await).await;
}
