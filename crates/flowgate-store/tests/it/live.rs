//! What the live service keeps, on SQLite and PostgreSQL: a ticket's decision recorded once
//! however often (and however concurrently) it is posted, tokens stored as hashes with
//! audited creation and revocation, and review leases that keep two reviewers apart.

use flowgate_store::Store;
use flowgate_store::audit::{NewRecord, kind, verify};
use flowgate_store::live::NewDecision;
use flowgate_store::review::QueueItem;
use flowgate_store::texts::DecisionText;

use crate::both;

fn text(ticket: &str) -> DecisionText {
    DecisionText {
        ticket: ticket.into(),
        customer: Some("c1".into()),
        text: Some("where is my card".into()),
        answer: Some("It is on its way.".into()),
        sources: None,
        reasons: Some("confidence 0.99".into()),
    }
}

fn decision<'a>(
    ticket: &'a str,
    input: &'a str,
    t: &'a DecisionText,
    review: bool,
) -> NewDecision<'a> {
    NewDecision {
        source: "api",
        ticket,
        input_sha256: input,
        policy_hash: "p1",
        policy_change: NewRecord::new(
            kind::POLICY_CHANGE,
            "test",
            r#"{"kind":"policy_change","policy":"p1"}"#.into(),
        ),
        record: NewRecord::new(
            kind::DECISION,
            "test",
            format!(r#"{{"kind":"decision","ticket":"{ticket}","input":"{input}"}}"#),
        ),
        text: t,
        review: review.then(|| QueueItem {
            audit_seq: 0,
            ticket: ticket.into(),
            intent: "card_arrival".into(),
            band: "0.95-1.00".into(),
            confidence: 0.99,
            decided_at_ms: 0,
            sampled_at_ms: 0,
            verdict: None,
            category: None,
            reviewer: None,
            note: None,
            reviewed_at_ms: None,
            shadow: false,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_is_decided_once_however_often_it_is_posted() {
    for db in both("live_once").await {
        let store = Store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let t = text("T1");
        let first = store
            .decide_once(decision("T1", "h1", &t, true), 1_000)
            .await
            .unwrap();
        // The policy change comes first, then the decision.
        assert!(!first.existing);
        assert_eq!(first.written.len(), 2);
        assert_eq!(first.written[0].kind, kind::POLICY_CHANGE);
        let again = store
            .decide_once(decision("T1", "h1", &t, true), 2_000)
            .await
            .unwrap();
        assert!(again.existing && again.written.is_empty());
        assert_eq!(again.entry.seq, first.entry.seq);
        // New content for the same ticket is a new decision, under the same policy: no
        // second policy change.
        let changed = store
            .decide_once(decision("T1", "h2", &t, false), 3_000)
            .await
            .unwrap();
        assert_eq!(changed.written.len(), 1);
        assert_eq!(store.audit_len().await.unwrap(), 3);
        assert_eq!(store.review_items().await.unwrap().len(), 1);
        let stored = store.decision_text(first.entry.seq).await.unwrap().unwrap();
        assert_eq!(stored.answer.as_deref(), Some("It is on its way."));
        // 8 concurrent posts of each of 5 new tickets: each recorded once, one valid chain.
        let mut tasks = Vec::new();
        for k in 0..40 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("C{}", k % 5);
                let t = text(&id);
                s.decide_once(decision(&id, "same", &t, false), 4_000 + k)
                    .await
                    .unwrap()
                    .existing
            }));
        }
        let mut created = 0;
        for t in tasks {
            created += (!t.await.unwrap()) as usize;
        }
        assert_eq!(created, 5);
        let e = store.audit_entries().await.unwrap();
        assert_eq!(verify(&e, None), Ok(8));
        let after = store.audit_after(3, 2).await.unwrap();
        assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
        // A ticket is (source, id): T1 with the same content from another source is another
        // ticket, decided once there too.
        let other = |at| {
            let mut d = decision("T1", "h1", &t, false);
            d.source = "zendesk";
            store.decide_once(d, at)
        };
        let z = other(5_000).await.unwrap();
        assert!(!z.existing);
        assert_ne!(z.entry.seq, first.entry.seq);
        assert!(other(6_000).await.unwrap().existing);
        // Contacts too: ticket 7 from the API and from Zendesk are two contacts.
        assert_eq!(store.contact("cust", "api", "7", 100).await.unwrap(), None);
        assert_eq!(store.contact("cust", "api", "7", 150).await.unwrap(), None);
        assert_eq!(
            store.contact("cust", "zendesk", "7", 200).await.unwrap(),
            Some(100)
        );
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_hashes_and_their_changes_are_audited() {
    for db in both("live_tokens").await {
        let store = Store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        store
            .token_create("ops", "admin", "aa11", "cli:root", 1)
            .await
            .unwrap();
        assert_eq!(
            store.token_lookup("aa11").await.unwrap(),
            Some(("ops".into(), "admin".into()))
        );
        assert!(store.token_lookup("bb22").await.unwrap().is_none());
        let dup = store
            .token_create("ops", "viewer", "cc33", "cli:root", 2)
            .await;
        assert!(
            matches!(dup, Err(flowgate_store::StoreError::Conflict(_))),
            "{dup:?}"
        );
        store.token_revoke("ops", "cli:root", 3).await.unwrap();
        assert!(store.token_lookup("aa11").await.unwrap().is_none());
        assert!(store.token_revoke("ops", "cli:root", 4).await.is_err());
        let list = store.token_list().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].revoked_at_ms, Some(3));
        let e = store.audit_entries().await.unwrap();
        let kinds: Vec<&str> = e.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, vec![kind::TOKEN, kind::TOKEN]);
        assert!(e.iter().all(|e| !e.record.contains("aa11")));
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_review_is_one_reviewers_until_its_lease_ends() {
    for db in both("live_leases").await {
        let store = Store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        for id in ["A", "B"] {
            let t = text(id);
            store
                .decide_once(decision(id, id, &t, true), 10)
                .await
                .unwrap();
        }
        let lease = 15 * 60 * 1000;
        let ann = store
            .review_claim("ann", 100, lease)
            .await
            .unwrap()
            .unwrap();
        let bob = store
            .review_claim("bob", 100, lease)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(ann.audit_seq, bob.audit_seq);
        // Ann asking again gets the one she holds.
        let again = store
            .review_claim("ann", 200, lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.audit_seq, ann.audit_seq);
        // Nothing left for a third reviewer while both leases run.
        assert!(
            store
                .review_claim("cy", 300, lease)
                .await
                .unwrap()
                .is_none()
        );
        // Bob may not review Ann's item; Ann may.
        let taken = store
            .review_mark(ann.audit_seq, "correct", None, Some("bob"), None, 400)
            .await;
        assert!(
            matches!(taken, Err(flowgate_store::StoreError::Conflict(_))),
            "{taken:?}"
        );
        store
            .review_mark(
                ann.audit_seq,
                "defect",
                Some("wrong-answer"),
                Some("ann"),
                None,
                500,
            )
            .await
            .unwrap();
        // After Bob's lease ends, Cy gets his item.
        let cy = store
            .review_claim("cy", 100 + lease + 1, lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cy.audit_seq, bob.audit_seq);
        assert_eq!(
            store
                .review_lease(bob.audit_seq, 100 + lease + 2)
                .await
                .unwrap()
                .as_deref(),
            Some("cy")
        );
        store.close().await;
    }
}

/// The webhook inbox: a delivery id is stored once (a retry changes nothing, other bytes are
/// a conflict), concurrent claimers never get the same delivery, a lease that ends hands the
/// delivery on, and a delivery that keeps failing is set aside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_stores_once_and_hands_each_delivery_to_one_worker() {
    use flowgate_store::inbox::Received;
    for db in both("inbox").await {
        let store = Store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let first = store
            .inbox_put("zd", "d-1", b"{\"a\":1}", 1_000)
            .await
            .unwrap();
        let Received::New(id) = first else {
            panic!("{first:?}")
        };
        assert_eq!(
            store
                .inbox_put("zd", "d-1", b"{\"a\":1}", 2_000)
                .await
                .unwrap(),
            Received::Again(id)
        );
        assert_eq!(
            store
                .inbox_put("zd", "d-1", b"{\"a\":2}", 2_000)
                .await
                .unwrap(),
            Received::Conflict(id)
        );
        // The same id from another source is another delivery.
        assert!(matches!(
            store.inbox_put("gh", "d-1", b"{}", 2_000).await.unwrap(),
            Received::New(_)
        ));
        for i in 2..=40 {
            let id = format!("d-{i}");
            store.inbox_put("zd", &id, b"{}", 3_000).await.unwrap();
        }
        let s = store.inbox_stats().await.unwrap();
        assert_eq!(
            (s.pending, s.done, s.oldest_pending_ms),
            (41, 0, Some(1_000))
        );

        // Four claimers at once: every delivery claimed by exactly one.
        let mut handles = Vec::new();
        for _ in 0..4 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let batch = store.inbox_claim(3, 10_000, 60_000).await.unwrap();
                    if batch.is_empty() {
                        return got;
                    }
                    got.extend(batch.into_iter().map(|d| d.id));
                }
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!((n, all.len()), (41, 41), "each delivery claimed once");
        // Nothing more while the leases hold; all again once they end.
        assert!(
            store
                .inbox_claim(100, 69_999, 60_000)
                .await
                .unwrap()
                .is_empty()
        );
        let again = store.inbox_claim(100, 70_001, 60_000).await.unwrap();
        assert_eq!(again.len(), 41);
        assert!(again.iter().all(|d| d.attempts == 2));
        assert_eq!(
            again[0].body,
            b"{\"a\":1}".to_vec(),
            "oldest first, bytes as sent"
        );

        // Done, retried, failed.
        store.inbox_done(again[0].id, "ok", 80_000).await.unwrap();
        store
            .inbox_failed(&again[1], "database away", 80_000, 5, 1_000)
            .await
            .unwrap();
        store
            .inbox_failed(&again[2], "not a shape", 80_000, 2, 1_000)
            .await
            .unwrap();
        let retry = store.inbox_claim(100, 81_001, 60_000).await.unwrap();
        assert_eq!(
            retry.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![again[1].id],
            "only the retried delivery is free before the others' leases end"
        );
        let s = store.inbox_stats().await.unwrap();
        assert_eq!((s.pending, s.done, s.failed), (39, 1, 1));
        let rows = store.inbox_rows().await.unwrap();
        let failed = rows.iter().find(|r| r.id == again[2].id).unwrap();
        assert_eq!(
            (failed.state.as_str(), failed.outcome.as_deref()),
            ("failed", Some("not a shape"))
        );
        // Done is final: a late worker's outcome does not overwrite it.
        store.inbox_done(again[0].id, "late", 90_000).await.unwrap();
        let row = store.inbox_rows().await.unwrap();
        assert_eq!(row[0].outcome.as_deref(), Some("ok"));
        store.close().await;
    }
}

/// Schema 10 keys every ticket by (source, id): decisions and contacts stored before it get
/// the source their decision's actor names (`webhook:NAME`), else `api`, and are still
/// found — the same ticket and content from the same source is not decided again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_stored_before_sources_keep_their_decisions() {
    use sqlx::Connection;
    for db in both("live_v9").await {
        let pg = db.url.starts_with("postgres");
        let dir = std::env::temp_dir().join(format!(
            "flowgate-v9-migrations-{}-{}",
            std::process::id(),
            pg
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(if pg { "postgres" } else { "sqlite" });
        for e in std::fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.as_str() < "0010" {
                std::fs::copy(&p, dir.join(&name)).unwrap();
            }
        }
        let v9 = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
        // The database as flowgate wrote it before sources: two decided tickets (one from a
        // webhook), their contacts.
        let legacy = [
            "INSERT INTO audit_log (seq, recorded_at_ms, record, prev_sha256, sha256, version, kind, actor) \
             VALUES (1, 1, '{}', '', 'a', 2, 'decision', 'webhook:zendesk'), \
                    (2, 2, '{}', 'a', 'b', 2, 'decision', 'ingest-1')",
            "INSERT INTO ticket_decisions (ticket, input_sha256, audit_seq) VALUES ('T1', 'h1', 1), ('T2', 'h2', 2)",
            "INSERT INTO customer_contacts (customer, ticket, at_ms) VALUES ('c', 'T1', 10), ('c', 'T2', 20)",
        ];
        if pg {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            v9.run(&mut c).await.unwrap();
            for q in legacy {
                sqlx::query(q).execute(&mut c).await.unwrap();
            }
            c.close().await.unwrap();
        } else {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&db.url)
                .create_if_missing(true);
            let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
            v9.run(&mut c).await.unwrap();
            for q in legacy {
                sqlx::query(q).execute(&mut c).await.unwrap();
            }
            c.close().await.unwrap();
        }
        let store = Store::open(&db.url).await.unwrap();
        assert_eq!(store.migrate().await.unwrap(), vec![10]);
        let t = text("T1");
        let again = |source: &'static str, ticket: &'static str, input: &'static str| {
            let mut d = decision(ticket, input, &t, false);
            d.source = source;
            store.decide_once(d, 100)
        };
        // T1 came by the zendesk webhook, T2 by the API: each is found under its source.
        let z = again("zendesk", "T1", "h1").await.unwrap();
        assert!(z.existing && z.entry.seq == 1, "{z:?}");
        let a = again("api", "T2", "h2").await.unwrap();
        assert!(a.existing && a.entry.seq == 2, "{a:?}");
        // …and nowhere else.
        assert!(!again("api", "T1", "h1").await.unwrap().existing);
        // Contacts: T1's is zendesk's, T2's the API's.
        assert_eq!(store.contact("c", "zendesk", "T1", 99).await.unwrap(), None);
        assert_eq!(store.contact("c", "api", "T2", 99).await.unwrap(), Some(10));
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
