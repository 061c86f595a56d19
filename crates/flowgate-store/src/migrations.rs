//! The schema's migrations, embedded in the binary.
//!
//! Each file of `migrations/<back-end>/` is named here and read at compile time with
//! `include_str!`; the version, description and checksum are derived exactly as sqlx derives
//! them from a directory (`<VERSION>_<DESCRIPTION>.sql`, SHA-384 of the text), so databases
//! migrated by earlier builds keep verifying. A test checks the lists against the directories
//! and against sqlx's own reading of them: a new file that is not named here fails it.

use std::borrow::Cow;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// `(file name, text)` of every migration of one back-end, in version order.
type Files = &'static [(&'static str, &'static str)];

macro_rules! embedded {
    ($dir:literal: $($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../migrations/", $dir, "/", $file)))),*]
    };
}

/// Every migration file, by name: each back-end has one of each (`migrations/<back-end>/`).
macro_rules! each_file {
    ($then:ident! $dir:literal) => {
        $then!($dir:
            "0001_init.sql",
            "0002_review_queue.sql",
            "0003_audit_v2.sql",
            "0004_live.sql",
            "0005_inbox.sql",
            "0006_contacts.sql",
            "0007_web_sessions.sql",
            "0008_mapping_hash.sql",
            "0009_sync_cursors.sql",
            "0010_ticket_source.sql",
        )
    };
}

pub(crate) const SQLITE: Files = each_file!(embedded! "sqlite");
pub(crate) const POSTGRES: Files = each_file!(embedded! "postgres");

/// One back-end's embedded migrations, as a source sqlx's [`Migrator`] resolves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Embedded(pub(crate) Files);

impl Embedded {
    /// The migrations, as sqlx would read them from the directory.
    pub(crate) fn migrations(self) -> Vec<Migration> {
        let mut out: Vec<Migration> = self
            .0
            .iter()
            .map(|&(file, sql)| {
                let (version, rest) = file
                    .split_once('_')
                    .expect("a migration file is VERSION_NAME.sql");
                let version = version
                    .parse()
                    .expect("a migration file starts with its version");
                let kind = MigrationType::from_filename(rest);
                let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
                let no_tx = sql.starts_with("-- no-transaction");
                Migration::new(
                    version,
                    Cow::Owned(description),
                    kind,
                    Cow::Borrowed(sql),
                    no_tx,
                )
            })
            .collect();
        out.sort_by_key(|m| m.version);
        out
    }

    /// A migrator over these migrations (sqlx's constructor is async; reading embedded
    /// text never waits, so its future is ready at once).
    pub(crate) fn migrator(self) -> Migrator {
        Migrator::new(self)
            .now_or_never()
            .expect("embedded migrations resolve without waiting")
            .expect("embedded migrations resolve without error")
    }
}

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move { Ok(self.migrations()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded lists name every file of each directory, and give what sqlx reads from it.
    #[tokio::test]
    async fn the_embedded_migrations_are_what_sqlx_reads_from_the_directories() {
        for (dir, files) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut on_disk: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            on_disk.sort();
            let named: Vec<&str> = files.iter().map(|f| f.0).collect();
            assert_eq!(
                on_disk, named,
                "{dir}: every migration file is named in migrations.rs"
            );

            let reference = Migrator::new(path).await.unwrap();
            let ours = Embedded(files).migrator();
            let key = |m: &Migration| {
                (
                    m.version,
                    m.description.to_string(),
                    m.checksum.to_vec(),
                    m.no_tx,
                    m.sql.to_string(),
                )
            };
            let reference: Vec<_> = reference.iter().map(key).collect();
            let ours: Vec<_> = ours.iter().map(key).collect();
            assert_eq!(ours, reference, "{dir}");
        }
    }
}
