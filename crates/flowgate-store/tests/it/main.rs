//! The same tests against SQLite and PostgreSQL. PostgreSQL must answer at
//! FLOWGATE_TEST_PG (default postgres://postgres@127.0.0.1:5432/test); every test makes and
//! drops its own database, so tests run in parallel.

mod audit;
mod live;
mod roundtrip;
mod store;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use flowgate_flow::{BaselineOptions, baseline};
use flowgate_ingest::{IngestedRows, Mapping, ReadOptions, read_rows};
use flowgate_store::{ImportRequest, ImportSummary, Store};
use sqlx::Connection;

static N: AtomicU32 = AtomicU32::new(0);

pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn pg_admin_url() -> String {
    std::env::var("FLOWGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh, empty database of each kind; dropped (PostgreSQL) or deleted (SQLite) by `Db::drop`.
pub struct Db {
    pub url: String,
    pg_name: Option<String>,
    dir: Option<PathBuf>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.pg_name.clone() {
            let admin = pg_admin_url();
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut c)
                            .await;
                        }
                    })
            })
            .join();
        }
    }
}

pub async fn sqlite_db(tag: &str) -> Db {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "flowgate-store-it-{}-{tag}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Db {
        url: dir.join("flowgate.db").display().to_string(),
        pg_name: None,
        dir: Some(dir),
    }
}

pub async fn pg_db(tag: &str) -> Db {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let name = format!("fg_it_{}_{tag}_{n}", std::process::id());
    let admin = pg_admin_url();
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must answer at {admin} for these tests: {e}"));
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap();
    Db {
        url: format!("{base}/{name}"),
        pg_name: Some(name),
        dir: None,
    }
}

/// Both kinds, for tests that must hold for each.
pub async fn both(tag: &str) -> [Db; 2] {
    [sqlite_db(tag).await, pg_db(tag).await]
}

pub fn rows(path: &Path, preset: Option<&str>) -> IngestedRows {
    let opts = ReadOptions {
        mapping: preset.map(|p| Mapping::preset(p).unwrap()),
        ..Default::default()
    };
    read_rows(path, &opts).unwrap()
}

pub async fn import(store: &Store, source: &str, r: &IngestedRows) -> ImportSummary {
    let toml = r.mapping.to_toml();
    let hash = r.mapping.identity_hash();
    let req = ImportRequest {
        source,
        rows: &r.builder,
        mapping_toml: &toml,
        mapping_hash: Some(&hash),
        replace: false,
        record_empty: true,
        cursor: None,
        file: "test",
        file_hash: "-",
        username: "test",
        rows_read: r.rows,
        rejected: r.rejected,
    };
    store.migrate().await.unwrap();
    store.import(&req, &|_, _| {}).await.unwrap()
}

/// Every figure of the baseline, as JSON, for whole-report comparisons.
pub fn baseline_json(b: flowgate_flow::EventLogBuilder) -> serde_json::Value {
    serde_json::to_value(baseline(&b.finish(), &BaselineOptions::new())).unwrap()
}
