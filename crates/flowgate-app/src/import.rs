//! Importing a file's rows into the store as one source, and naming that source: the use
//! case behind `flowgate import` (and the benchmark harness's store timings).

use std::path::Path;

use flowgate_ingest::IngestedRows;
use flowgate_store::{ImportRequest, ImportSummary, Store};

use crate::{Error, Result};

/// One file's rows to store as source `source`.
pub struct FileImport<'a> {
    pub source: &'a str,
    pub rows: &'a IngestedRows,
    pub file: &'a Path,
    /// Who imports (kept with the import's record).
    pub username: &'a str,
    /// Rebuild the source from these rows alone (needed to import under another mapping).
    pub replace: bool,
}

/// Stores a file's rows in one import transaction (the schema migrated first); `progress`
/// hears (events stored, events in all).
pub async fn store_file(
    store: &Store,
    input: &FileImport<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<ImportSummary> {
    let hash = file_hash(input.file)?;
    let got = input.rows;
    let mapping_toml = got.mapping.to_toml();
    let mapping_hash = got.mapping.identity_hash();
    let shown = input.file.display().to_string();
    let req = ImportRequest {
        source: input.source,
        rows: &got.builder,
        mapping_toml: &mapping_toml,
        mapping_hash: Some(&mapping_hash),
        replace: input.replace,
        record_empty: true,
        cursor: None,
        file: &shown,
        file_hash: &hash,
        username: input.username,
        rows_read: got.rows,
        rejected: got.rejected,
    };
    store.migrate().await?;
    Ok(store.import(&req, progress).await?)
}

/// The name a file's rows are stored under: the one given, else the name of the mapping
/// the file was read with, else the preset's of a help desk's history recognised from its
/// content (as `flowgate sync` stores it), else the file's name up to its first dot.
pub fn source_name(
    given: Option<&str>,
    mapping_name: Option<&str>,
    rows: &IngestedRows,
    file: &Path,
) -> String {
    if let Some(n) = given.or(mapping_name) {
        return n.to_owned();
    }
    if rows.detected
        && let Some(h) = &rows.mapping.history
    {
        return h.shape.preset().to_owned();
    }
    file.file_name()
        .and_then(|n| n.to_string_lossy().split('.').next().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "log".into())
}

/// `xxh3-128:<hex>` of the file's bytes: an import of the same bytes is recognised.
pub fn file_hash(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("xxh3-128:{:032x}", h.digest128()))
}
