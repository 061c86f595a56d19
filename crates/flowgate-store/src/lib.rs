//! flowgate's storage: the only crate that speaks SQL.
//!
//! One interface over an embedded SQLite file (WAL mode, the default) and PostgreSQL (a
//! team's shared database). Migrations are embedded in the binary. An import is one
//! transaction: it lands whole or not at all. Events are keyed by a hash of their content
//! and their occurrence number within the file, so importing the same export twice adds
//! nothing and a newer export adds only what is new.

pub mod audit;
mod codec;
mod common;
pub mod compact;
pub mod inbox;
mod key;
pub mod live;
mod load;
mod migrations;
mod pg;
mod plan;
pub mod review;
pub mod session;
mod sql;
mod sqlite;
pub mod texts;

use std::str::FromStr;
use std::sync::LazyLock;

use sqlx::ConnectOptions;

use flowgate_flow::EventLogBuilder;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use sql::on_pool;

pub use compact::Compaction;
pub use key::EventKeys;

static SQLITE_MIGRATIONS: LazyLock<Migrator> =
    LazyLock::new(|| migrations::Embedded(migrations::SQLITE).migrator());
static PG_MIGRATIONS: LazyLock<Migrator> =
    LazyLock::new(|| migrations::Embedded(migrations::POSTGRES).migrator());

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database schema is version {db}, newer than this flowgate knows (up to {known}); use a newer flowgate"
    )]
    SchemaTooNew { db: i64, known: i64 },
    #[error(
        "the database has no flowgate schema yet; run `flowgate db migrate` (or import, which migrates)"
    )]
    NotMigrated,
    #[error("no source named {name:?} in the database; known sources: {known}")]
    UnknownSource { name: String, known: String },
    #[error(
        "source {name:?} was imported with another mapping: read with this one, the same events would get other identities and be stored twice. Import with the mapping the source was imported with (`flowgate db export` writes it beside the log), or pass --replace to rebuild the source from this file alone"
    )]
    MappingChanged { name: String },
    #[error("the database holds damaged data: {0}")]
    Corrupt(String),
    #[error("review: {0}")]
    Review(String),
    #[error("audit: {0}")]
    Audit(String),
    /// The request conflicts with what is stored (a name in use, an item another holds).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to one flowgate database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// Webhook intake's own connections (PostgreSQL: two, opened when first needed), so an
    /// acknowledgement never queues behind the workers' transactions for a connection.
    /// SQLite has one writer whatever the pool: the same pool.
    intake: Pool,
    /// Set once the intake has seen the schema it needs (checked on its first delivery).
    intake_checked: std::sync::Arc<std::sync::atomic::AtomicBool>,
    url: String,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Applied and known schema versions.
#[derive(Clone, Debug)]
pub struct Status {
    pub backend: Backend,
    pub applied: Vec<i64>,
    pub known: Vec<(i64, String)>,
    pub sources: Vec<SourceInfo>,
}

#[derive(Clone, Debug)]
pub struct SourceInfo {
    pub name: String,
    pub events: i64,
    pub imports: i64,
}

/// What one import brings.
pub struct ImportRequest<'a> {
    pub source: &'a str,
    /// Rows in source order, exact duplicates included.
    pub rows: &'a EventLogBuilder,
    /// The mapping the rows were read with (TOML), kept with the source.
    pub mapping_toml: &'a str,
    /// The mapping's identity (`Mapping::identity_hash`): an import under another one than
    /// the source's is refused ([`StoreError::MappingChanged`]). `None` for events that come
    /// in the canonical fields (the service's), which no mapping shapes.
    pub mapping_hash: Option<&'a str>,
    /// Rebuild the source: its events, keys, cases and dictionary are dropped first, in the
    /// same transaction, so it holds this import's events alone (under a new mapping).
    pub replace: bool,
    /// Keep the import's record when nothing in it is new (a file import: yes, it says the
    /// file was seen). A live post of events already stored (a retried `POST /v1/events`, a
    /// redelivered webhook) leaves no record, so retries do not grow the imports table;
    /// its summary's `import_id` is then 0.
    pub record_empty: bool,
    /// `flowgate sync`: the vendor's cursor after these events, stored in the same
    /// transaction ([`Store::sync_cursor`] reads it back).
    pub cursor: Option<SyncCursor<'a>>,
    pub file: &'a str,
    pub file_hash: &'a str,
    pub username: &'a str,
    pub rows_read: u64,
    pub rejected: u64,
}

/// Where a sync of a source stands: the vendor and its cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncCursor<'a> {
    pub vendor: &'a str,
    pub value: &'a str,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub import_id: i64,
    pub events_new: u64,
    pub events_duplicate: u64,
    pub events_rejected: u64,
    pub cases_new: u64,
    pub cases_total: u64,
    pub span: Option<(i64, i64)>,
}

/// A source read back from the database.
pub struct Loaded {
    pub rows: EventLogBuilder,
    pub mapping_toml: String,
}

impl Store {
    /// Connects. `url`: `postgres://…`, `sqlite://PATH`, or a plain file path (SQLite,
    /// created when missing). Does not migrate.
    pub async fn open(url: &str) -> Result<Store> {
        let err = |source| StoreError::Connect {
            url: redact(url),
            source,
        };
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(err)?
                .disable_statement_logging();
            let intake = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(std::time::Duration::from_secs(10))
                .connect_lazy_with(opts.clone());
            (
                Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(std::time::Duration::from_secs(10))
                        .connect_with(opts)
                        .await
                        .map_err(err)?,
                ),
                Some(Pool::Postgres(intake)),
            )
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            let opts = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(std::time::Duration::from_secs(30))
                // A large page cache and memory-mapped reads: imports touch the key index
                // all over, and loads read the whole table.
                .pragma("cache_size", "-262144")
                .pragma("mmap_size", "1073741824")
                .pragma("temp_store", "memory")
                .disable_statement_logging();
            (
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(opts)
                        .await
                        .map_err(err)?,
                ),
                None,
            )
        };
        let (pool, intake) = pool;
        Ok(Store {
            intake: intake.unwrap_or_else(|| pool.clone()),
            pool,
            intake_checked: Default::default(),
            url: redact(url),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password removed, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &PG_MIGRATIONS,
        }
    }

    /// Versions recorded in the database (empty when it was never migrated).
    async fn applied(&self) -> Result<Vec<i64>> {
        let q = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        let rows: std::result::Result<Vec<(i64,)>, sqlx::Error> =
            on_pool!(&self.pool, query_as(q).fetch_all);
        match rows {
            Ok(v) => Ok(v.into_iter().map(|r| r.0).collect()),
            // No migrations table yet.
            Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => {
                Ok(Vec::new())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn check_not_newer(&self, applied: &[i64]) -> Result<()> {
        let known = self.migrator().iter().map(|m| m.version).max().unwrap_or(0);
        match applied.iter().max() {
            Some(&db) if db > known => Err(StoreError::SchemaTooNew { db, known }),
            _ => Ok(()),
        }
    }

    /// Applies missing migrations; refuses a database whose schema is newer than this
    /// binary knows. Returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        let before = self.applied().await?;
        self.check_not_newer(&before)?;
        match &self.pool {
            Pool::Sqlite(p) => self.migrator().run(p).await?,
            Pool::Postgres(p) => self.migrator().run(p).await?,
        }
        let after = self.applied().await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }

    /// Fails unless the schema is exactly what this binary knows.
    pub async fn require_schema(&self) -> Result<()> {
        let applied = self.applied().await?;
        self.check_not_newer(&applied)?;
        let known: Vec<i64> = self.migrator().iter().map(|m| m.version).collect();
        if known.iter().any(|v| !applied.contains(v)) {
            return Err(StoreError::NotMigrated);
        }
        Ok(())
    }

    pub async fn status(&self) -> Result<Status> {
        let applied = self.applied().await?;
        self.check_not_newer(&applied)?;
        let sources = if applied.is_empty() {
            Vec::new()
        } else {
            self.sources().await?
        };
        Ok(Status {
            backend: self.backend(),
            applied,
            known: self
                .migrator()
                .iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect(),
            sources,
        })
    }

    pub async fn sources(&self) -> Result<Vec<SourceInfo>> {
        let q = "SELECT s.name, \
                 (SELECT CAST(COALESCE(SUM(b.n_events), 0) AS BIGINT) FROM event_blocks b WHERE b.source_id = s.id), \
                 (SELECT COUNT(*) FROM imports i WHERE i.source_id = s.id) \
                 FROM sources s ORDER BY s.name";
        let rows: Vec<(String, i64, i64)> = on_pool!(&self.pool, query_as(q).fetch_all)?;
        Ok(rows
            .into_iter()
            .map(|(name, events, imports)| SourceInfo {
                name,
                events,
                imports,
            })
            .collect())
    }

    /// The vendor and cursor `flowgate sync` committed last for `source`.
    pub async fn sync_cursor(&self, source: &str) -> Result<Option<(String, String)>> {
        const Q: &str = "SELECT vendor, cursor FROM sync_cursors WHERE source = ?";
        Ok(on_pool!(&self.pool, query_as(Q, source).fetch_optional)?)
    }

    /// Moves `source`'s cursor without events (a page that held none).
    pub async fn set_sync_cursor(&self, source: &str, cursor: SyncCursor<'_>) -> Result<()> {
        on_pool!(
            &self.pool,
            query(SET_CURSOR, source, cursor.vendor, cursor.value, now_ms()).execute
        )?;
        Ok(())
    }

    /// The mapping (TOML) kept with a source, `None` when the store has no such source.
    pub async fn source_mapping(&self, name: &str) -> Result<Option<String>> {
        const Q: &str = "SELECT mapping FROM sources WHERE name = ?";
        Ok(on_pool!(&self.pool, query_scalar(Q, name).fetch_optional)?)
    }

    /// Imports rows as one transaction. `progress(done, total)` is called as events go in.
    pub async fn import(
        &self,
        req: &ImportRequest<'_>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ImportSummary> {
        self.require_schema().await?;
        let keys = EventKeys::compute(req.source, req.rows);
        match &self.pool {
            Pool::Sqlite(p) => sqlite::import(p, req, &keys, progress).await,
            Pool::Postgres(p) => pg::import(p, req, &keys, progress).await,
        }
    }

    /// Reads a source back, in source order.
    pub async fn load(&self, source: &str) -> Result<Loaded> {
        self.require_schema().await?;
        match &self.pool {
            Pool::Sqlite(p) => load::load_sqlite(p, source).await,
            Pool::Postgres(p) => load::load_pg(p, source).await,
        }
    }

    /// Joins source `source`'s neighbouring small event and string blocks into large ones, in
    /// one transaction (see [`compact`]). `None` when there is no such source.
    pub async fn compact(&self, source: &str) -> Result<Option<Compaction>> {
        use crate::sql::{numbered, plain};
        self.require_schema().await?;
        match &self.pool {
            Pool::Sqlite(p) => {
                let mut tx = p.begin().await?;
                let done = compact::compact_source!(tx, source, plain, "")?;
                tx.commit().await?;
                Ok(done)
            }
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                let done = compact::compact_source!(tx, source, numbered, " FOR UPDATE")?;
                tx.commit().await?;
                Ok(done)
            }
        }
    }

    /// Compacts every source with two or more blocks below full size; returns what changed.
    pub async fn compact_all(&self) -> Result<Vec<Compaction>> {
        self.require_schema().await?;
        let names: Vec<String> = on_pool!(
            &self.pool,
            query_scalar(
                compact::CANDIDATES,
                compact::EVENT_LIMIT,
                compact::STRING_LIMIT
            )
            .fetch_all
        )?;
        let mut out = Vec::new();
        for name in names {
            if let Some(c) = self.compact(&name).await?
                && c.changed()
            {
                out.push(c);
            }
        }
        Ok(out)
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// Sets a source's sync cursor: (source, vendor, cursor, now).
pub(crate) const SET_CURSOR: &str = "INSERT INTO sync_cursors (source, vendor, cursor, updated_at_ms) VALUES (?, ?, ?, ?) \
    ON CONFLICT (source) DO UPDATE SET vendor = excluded.vendor, cursor = excluded.cursor, updated_at_ms = excluded.updated_at_ms";

/// A database URL fit to print: any password (`user:password@`, or a `password=` query
/// parameter) replaced by `***`. The one rule every command uses.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(s) = out.find("://") {
        let auth_end = out[s + 3..]
            .find(['/', '?'])
            .map_or(out.len(), |i| s + 3 + i);
        // The last '@' of the authority: a password may itself hold '@'.
        if let Some(at) = out[s + 3..auth_end].rfind('@').map(|i| s + 3 + i)
            && let Some(colon) = out[s + 3..at].find(':').map(|i| s + 3 + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

/// The error for a source that is not in the store, naming the ones that are.
pub fn unknown_source(names: Vec<String>, name: &str) -> StoreError {
    StoreError::UnknownSource {
        name: name.to_owned(),
        known: if names.is_empty() {
            "(none)".into()
        } else {
            names.join(", ")
        },
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((cred, host)) = rest.split_once('@')
        && let Some((user, _)) = cred.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Packs attribute pairs (name id, string id) as little-endian u32s.
pub(crate) fn pack_attrs(pairs: &[(u32, u32)]) -> Option<Vec<u8>> {
    if pairs.is_empty() {
        return None;
    }
    let mut v = Vec::with_capacity(pairs.len() * 8);
    for (a, s) in pairs {
        v.extend_from_slice(&a.to_le_bytes());
        v.extend_from_slice(&s.to_le_bytes());
    }
    Some(v)
}

pub(crate) fn unpack_attrs(bytes: &[u8]) -> Result<impl Iterator<Item = (u32, u32)> + '_> {
    if !bytes.len().is_multiple_of(8) {
        return Err(StoreError::Corrupt(format!(
            "an attribute blob of {} bytes",
            bytes.len()
        )));
    }
    Ok(bytes.chunks_exact(8).map(|c| {
        (
            u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        )
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_print() {
        use super::redact_url;
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=x&sslmode=require"),
            "postgres://h/db?user=u&password=***&sslmode=require"
        );
        assert_eq!(redact_url("flowgate.db"), "flowgate.db");
        assert_eq!(redact_url("/tmp/x@y.db"), "/tmp/x@y.db");
    }

    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("./flowgate.db"), "./flowgate.db");
    }

    #[test]
    fn attribute_blobs_round_trip() {
        let pairs = [(0, 7), (3, u32::MAX - 1)];
        let b = pack_attrs(&pairs).unwrap();
        assert_eq!(unpack_attrs(&b).unwrap().collect::<Vec<_>>(), pairs);
        assert!(unpack_attrs(&b[..5]).is_err());
        assert!(pack_attrs(&[]).is_none());
    }
}
