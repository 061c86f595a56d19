//! The audit log's hash chain on both databases: intact logs verify, and changing one byte,
//! deleting one record or swapping two is caught at the first position it touches.

use flowgate_store::Store;
use flowgate_store::audit::{
    GENESIS, NewRecord, chain_hash, entry_hash, kind, times_backwards, verify,
};
use flowgate_store::review::{QueueItem, verify_reviews};
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

fn decisions(range: std::ops::RangeInclusive<usize>) -> Vec<NewRecord> {
    range
        .map(|i| NewRecord::new(kind::DECISION, "cli:test", record(i)))
        .collect()
}

async fn filled(db: &Db, n: usize) -> Store {
    let store = Store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let first = decisions(1..=n / 2);
    let rest = decisions(n / 2 + 1..=n);
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
            assert_eq!(x.sha256, entry_hash(x));
            assert_eq!(
                (x.version, x.kind.as_str(), x.actor.as_str()),
                (2, "decision", "cli:test")
            );
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
    store.audit_append(&decisions(1..=5), 3_000).await.unwrap();
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
                    s.audit_append(&decisions(w * 100 + k..=w * 100 + k), 5_000)
                        .await
                        .unwrap();
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

/// The published version-2 formula, computed here independently of the store's code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_two_hash_is_the_published_formula() {
    use sha2::{Digest, Sha256};
    for db in both("audit_formula").await {
        let store = filled(&db, 2).await;
        let e = store.audit_entries().await.unwrap();
        let x = &e[1];
        let text = format!(
            "flowgate-audit-v2\n{}\n{}\n{}\n{}\n{}\n{}",
            x.seq, x.recorded_at_ms, x.kind, x.actor, x.prev_sha256, x.record
        );
        let want: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(x.sha256, want);
        assert_eq!(x.recorded_at_ms, 2_000);
        store.close().await;
    }
}

/// The recorded time, the kind and the actor are inside the hash: moving a decision to
/// another week, or changing who did it, breaks the chain at that record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_time_kind_or_actor_is_caught() {
    for db in both("audit_time").await {
        let store = filled(&db, 6).await;
        for (sql, seq) in [
            (
                "UPDATE audit_log SET recorded_at_ms = recorded_at_ms + 604800000 WHERE seq = 3",
                3,
            ),
            ("UPDATE audit_log SET kind = 'note' WHERE seq = 2", 2),
            (
                "UPDATE audit_log SET actor = 'someone else' WHERE seq = 1",
                1,
            ),
        ] {
            tamper(&db, sql).await;
            let e = store.audit_entries().await.unwrap();
            let b = verify(&e, None).unwrap_err();
            assert_eq!((b.position, b.seq), (seq, seq as i64), "{sql}");
            assert!(b.problem.contains("edited"), "{}", b.problem);
        }
        store.close().await;
    }
}

/// A policy change is a record of its own: removing it breaks the chain where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_policy_change_is_caught() {
    for db in both("audit_policy").await {
        let store = filled(&db, 2).await;
        store
            .audit_append(
                &[NewRecord::new(
                    kind::POLICY_CHANGE,
                    "admin",
                    r#"{"kind":"policy_change","change":"kill_switch","intent":"refund","on":true}"#
                        .into(),
                )],
                3_000,
            )
            .await
            .unwrap();
        store.audit_append(&decisions(4..=5), 4_000).await.unwrap();
        let e = store.audit_entries().await.unwrap();
        assert_eq!(verify(&e, None), Ok(5));
        assert_eq!(e[2].kind, "policy_change");
        tamper(&db, "DELETE FROM audit_log WHERE kind = 'policy_change'").await;
        let e = store.audit_entries().await.unwrap();
        let b = verify(&e, None).unwrap_err();
        assert_eq!((b.position, b.seq), (3, 4));
        assert!(b.problem.contains("removed"), "{}", b.problem);
        store.close().await;
    }
}

fn queued(seq: i64) -> QueueItem {
    QueueItem {
        audit_seq: seq,
        ticket: format!("T-{seq:04}"),
        intent: "refund".into(),
        band: "≥0.97".into(),
        confidence: 0.99,
        decided_at_ms: 1_000,
        sampled_at_ms: 1_000,
        verdict: None,
        category: None,
        reviewer: None,
        note: None,
        reviewed_at_ms: None,
        shadow: false,
    }
}

/// Verdicts are chained: changing one, deleting one, or writing one behind flowgate's back
/// is caught by comparing the queue with the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_verdicts_are_in_the_chain() {
    for db in both("audit_reviews").await {
        let store = filled(&db, 4).await;
        store
            .review_enqueue(&[queued(1), queued(2), queued(3)])
            .await
            .unwrap();
        let e1 = store
            .review_mark(
                1,
                "defect",
                Some("wrong answer"),
                Some("ana"),
                Some("n"),
                5_000,
            )
            .await
            .unwrap();
        assert_eq!(
            (e1.seq, e1.kind.as_str(), e1.actor.as_str()),
            (5, "review", "ana")
        );
        store
            .review_mark(2, "correct", None, Some("bo"), None, 6_000)
            .await
            .unwrap();
        let check = || async {
            let e = store.audit_entries().await.unwrap();
            assert_eq!(verify(&e, None), Ok(6));
            verify_reviews(&e, &store.review_items().await.unwrap())
        };
        assert_eq!(check().await, Ok((2, 0)));
        // A second verdict on one decision is refused and writes nothing to the chain.
        assert!(
            store
                .review_mark(1, "correct", None, None, None, 7_000)
                .await
                .is_err()
        );
        assert_eq!(store.audit_entries().await.unwrap().len(), 6);

        tamper(
            &db,
            "UPDATE review_queue SET verdict = 'correct', category = NULL WHERE audit_seq = 1",
        )
        .await;
        let m = check().await.unwrap_err();
        assert_eq!(m.decision_seq, 1);
        assert!(m.problem.contains("says defect"), "{}", m.problem);
        tamper(&db, "UPDATE review_queue SET verdict = 'defect', category = 'wrong answer' WHERE audit_seq = 1").await;
        assert_eq!(check().await, Ok((2, 0)));

        tamper(
            &db,
            "UPDATE review_queue SET category = 'tone' WHERE audit_seq = 1",
        )
        .await;
        assert!(check().await.unwrap_err().problem.contains("category"));
        tamper(
            &db,
            "UPDATE review_queue SET category = 'wrong answer' WHERE audit_seq = 1",
        )
        .await;

        tamper(&db, "DELETE FROM review_queue WHERE audit_seq = 2").await;
        let m = check().await.unwrap_err();
        assert_eq!(m.decision_seq, 2);
        assert!(m.problem.contains("deleted"), "{}", m.problem);
        store.review_enqueue(&[queued(2)]).await.unwrap();
        tamper(&db, "UPDATE review_queue SET verdict = 'correct', reviewed_at_ms = 6000 WHERE audit_seq = 2").await;
        assert_eq!(check().await, Ok((2, 0)));

        tamper(&db, "UPDATE review_queue SET verdict = 'correct', reviewed_at_ms = 9000 WHERE audit_seq = 3").await;
        let m = check().await.unwrap_err();
        assert_eq!(m.decision_seq, 3);
        assert!(m.problem.contains("behind"), "{}", m.problem);
        store.close().await;
    }
}

/// A chain written by an older flowgate (version 1) is never rewritten: the first version-2
/// append writes a chain_version record linking the old head, and the whole verifies. A
/// version-1 record's time is outside its hash, so a time moved backwards there is flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_chain_is_extended_not_rewritten() {
    for db in both("audit_v1").await {
        let store = Store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let mut prev = GENESIS.to_owned();
        for seq in 1..=3i64 {
            let r = record(seq as usize);
            let sha = chain_hash(seq, &prev, &r);
            let t = [1_000, 500, 2_000][seq as usize - 1];
            tamper(
                &db,
                &format!(
                    "INSERT INTO audit_log (seq, recorded_at_ms, record, prev_sha256, sha256) VALUES ({seq}, {t}, '{r}', '{prev}', '{sha}')"
                ),
            )
            .await;
            prev = sha;
        }
        let before = store.audit_entries().await.unwrap();
        assert!(before.iter().all(|e| e.version == 1 && e.kind.is_empty()));
        assert_eq!(verify(&before, None), Ok(3));
        assert_eq!(times_backwards(&before), vec![(2, 500, 1_000)]);
        store.audit_append(&decisions(4..=5), 3_000).await.unwrap();
        let after = store.audit_entries().await.unwrap();
        assert_eq!(&after[..3], &before[..]);
        assert_eq!(after.len(), 6);
        assert_eq!(
            (after[3].kind.as_str(), after[3].version),
            ("chain_version", 2)
        );
        assert_eq!(after[3].prev_sha256, before[2].sha256);
        assert!(after[3].record.contains(&before[2].sha256));
        assert_eq!(verify(&after, None), Ok(6));
        // Removing the marker breaks the chain at the record after it.
        tamper(&db, "DELETE FROM audit_log WHERE kind = 'chain_version'").await;
        let e = store.audit_entries().await.unwrap();
        assert_eq!(verify(&e, None).unwrap_err().position, 4);
        store.close().await;
    }
}

/// Texts are kept beside the chain, not in it: erasing a customer's texts, or every text past
/// the retention period, leaves every decision record and hash verifiable and appends an
/// `erase` record (the customer only as a hash).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn texts_are_erased_and_the_chain_stays_verifiable() {
    use flowgate_store::texts::{DecisionText, text_sha256};
    for db in both("audit_texts").await {
        let store = Store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let text = |i: usize, cust: &str| DecisionText {
            ticket: format!("T-{i:04}"),
            customer: Some(cust.into()),
            text: Some(format!(
                "my card 4111 1111 1111 1111 was charged twice ({i})"
            )),
            answer: Some("We have refunded the second charge.".into()),
            sources: Some(r#"[{"article":"refunds","title":"Refunds"}]"#.into()),
            reasons: Some("confidence 0.990 ≥ 0.950".into()),
        };
        let recs = decisions(1..=3);
        store
            .audit_append_with_texts(&recs, &[(0, text(1, "ann")), (2, text(3, "bob"))], 1_000)
            .await
            .unwrap();
        let recs = decisions(4..=4);
        store
            .audit_append_with_texts(&recs, &[(0, text(4, "ann"))], 9_000)
            .await
            .unwrap();
        let t = store.decision_texts().await.unwrap();
        assert_eq!(
            t.iter().map(|x| x.audit_seq).collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
        assert_eq!(t[1].text.ticket, "T-0003");
        let e = store
            .erase_texts(Some("ann"), None, "privacy-officer", 10_000)
            .await
            .unwrap();
        assert_eq!(e.texts, 2);
        let rec = e.record.unwrap();
        assert_eq!(
            (rec.kind.as_str(), rec.actor.as_str()),
            ("erase", "privacy-officer")
        );
        assert!(rec.record.contains(&text_sha256("ann")) && !rec.record.contains("ann"));
        let t = store.decision_texts().await.unwrap();
        for x in &t {
            if x.audit_seq == 3 {
                assert!(x.text.text.is_some() && x.erased_at_ms.is_none());
            } else {
                assert_eq!(
                    (&x.text.text, &x.text.answer, &x.text.customer),
                    (&None, &None, &None)
                );
                assert_eq!(x.erased_at_ms, Some(10_000));
            }
        }
        // Retention: everything stored before 5,000 ms (decision 3's text).
        let e = store
            .erase_texts(None, Some(5_000), "retention", 11_000)
            .await
            .unwrap();
        assert_eq!(e.texts, 1);
        assert!(e.record.is_some());
        // A retention pass with nothing to erase writes nothing to the chain.
        let e = store
            .erase_texts(None, Some(5_000), "retention", 12_000)
            .await
            .unwrap();
        assert_eq!((e.texts, e.record), (0, None));
        assert!(
            store
                .decision_texts()
                .await
                .unwrap()
                .iter()
                .all(|x| x.text.text.is_none())
        );
        let entries = store.audit_entries().await.unwrap();
        assert_eq!(verify(&entries, None), Ok(6));
        store.close().await;
    }
}
