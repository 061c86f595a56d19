//! The audit log's hash chain on both databases: intact logs verify, and changing one byte,
//! deleting one record or swapping two is caught at the first position it touches.

use flowgate_store::Store;
use flowgate_store::audit::{GENESIS, chain_hash, verify};
use sqlx::Connection;

use crate::{Db, both};

fn record(i: usize) -> String {
    format!(
        r#"{{"ticket":"T-{i:04}","decision":"act","model":"intent-1","policy":"p-1","confidence":0.9{i}}}"#
    )
}

/// Runs SQL on the database behind the store's back, as someone tampering would.
async fn tamper(db: &Db, sql: &str) {
    if db.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.url))
            .await
            .unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
}

async fn filled(db: &Db, n: usize) -> Store {
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let first: Vec<String> = (1..=n / 2).map(record).collect();
    let rest: Vec<String> = (n / 2 + 1..=n).map(record).collect();
    store.audit_append(&first, 1_000).await.unwrap();
    store.audit_append(&rest, 2_000).await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intact_log_verifies_and_links_every_record_to_the_one_before() {
    for db in both("audit_ok").await {
        let store = filled(&db, 6).await;
        let e = store.audit_entries().await.unwrap();
        assert_eq!(e.len(), 6);
        assert_eq!(e[0].prev_sha256, GENESIS);
        for (i, x) in e.iter().enumerate() {
            assert_eq!(x.seq, i as i64 + 1);
            assert_eq!(x.record, record(i + 1));
            assert_eq!(x.sha256, chain_hash(x.seq, &x.prev_sha256, &x.record));
            if i > 0 {
                assert_eq!(x.prev_sha256, e[i - 1].sha256);
            }
        }
        assert_eq!(verify(&e, Some(&e[5].sha256)), Ok(6));
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_changed_byte_is_caught_where_it_is() {
    for db in both("audit_edit").await {
        let store = filled(&db, 6).await;
        tamper(
            &db,
            "UPDATE audit_log SET record = REPLACE(record, '\"act\"', '\"acx\"') WHERE seq = 3",
        )
        .await;
        let e = store.audit_entries().await.unwrap();
        assert!(e[2].record.contains("acx"));
        let b = verify(&e, None).unwrap_err();
        assert_eq!((b.position, b.seq), (3, 3));
        assert!(b.problem.contains("edited"), "{}", b.problem);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_record_is_caught_at_the_one_after_it() {
    for db in both("audit_delete").await {
        let store = filled(&db, 6).await;
        tamper(&db, "DELETE FROM audit_log WHERE seq = 2").await;
        let e = store.audit_entries().await.unwrap();
        let b = verify(&e, None).unwrap_err();
        assert_eq!((b.position, b.seq), (2, 3));
        assert!(b.problem.contains("removed"), "{}", b.problem);
        // Removing the last record leaves a valid chain: only a remembered head catches it.
        let store2 = filled_again(&db).await;
        let e = store2.audit_entries().await.unwrap();
        assert_eq!(verify(&e, None), Ok(5));
        let last_head = e[4].sha256.clone();
        tamper(&db, "DELETE FROM audit_log WHERE seq = 5").await;
        let e = store2.audit_entries().await.unwrap();
        assert_eq!(verify(&e, None), Ok(4));
        let b = verify(&e, Some(&last_head)).unwrap_err();
        assert!(b.problem.contains("removed from the end"), "{}", b.problem);
        store.close().await;
        store2.close().await;
    }
}

/// Empties the log and writes five fresh records.
async fn filled_again(db: &Db) -> Store {
    tamper(db, "DELETE FROM audit_log").await;
    let store = Store::open(&db.url).await.unwrap();
    let recs: Vec<String> = (1..=5).map(record).collect();
    store.audit_append(&recs, 3_000).await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_swapped_records_are_caught_at_the_first() {
    for db in both("audit_swap").await {
        let store = filled(&db, 6).await;
        // Swap the whole contents of rows 2 and 4 (record and both hashes) through a spare
        // sequence number.
        tamper(&db, "UPDATE audit_log SET seq = 100 WHERE seq = 2").await;
        tamper(&db, "UPDATE audit_log SET seq = 2 WHERE seq = 4").await;
        tamper(&db, "UPDATE audit_log SET seq = 4 WHERE seq = 100").await;
        let e = store.audit_entries().await.unwrap();
        assert_eq!(e[1].record, record(4));
        let b = verify(&e, None).unwrap_err();
        assert_eq!(b.position, 2);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_keep_one_chain() {
    for db in both("audit_concurrent").await {
        let store = Store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let mut tasks = Vec::new();
        for w in 0..4 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                for k in 0..5 {
                    s.audit_append(&[record(w * 100 + k)], 5_000).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let e = store.audit_entries().await.unwrap();
        assert_eq!(verify(&e, None), Ok(20));
        store.close().await;
    }
}
