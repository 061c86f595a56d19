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
        assert_eq!(store.migrate().await.unwrap(), vec![1, 2, 3, 4, 5, 6, 7]);
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
            matches!(e, StoreError::SchemaTooNew { db: 999, known: 7 }),
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
    use flowgate_flow::EventLogBuilder;
    use flowgate_store::ImportRequest;
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let import = |k: usize| {
        let mut b = EventLogBuilder::new(true);
        for j in 0..3 {
            b.push_str(
                &format!("CASE-{k}-{j}"),
                (k * 10 + j) as i64 * 1000,
                &format!("activity {k}"),
                Some(&format!("agent {k}")),
                Some(&format!("team {k}")),
                None,
                false,
            );
        }
        b
    };
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for k in 0..60 {
                let rows = import(k);
                store
                    .import(
                        &ImportRequest {
                            source: "race",
                            rows: &rows,
                            mapping_toml: "",
                            file: "race",
                            file_hash: &format!("{k}"),
                            username: "test",
                            rows_read: 3,
                            rejected: 0,
                        },
                        &|_, _| {},
                    )
                    .await
                    .unwrap();
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
