//! `flowgate import`, `flowgate db …`, and reading a log from the store.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use flowgate_ingest::{Ingested, Mapping};
use flowgate_store::Store;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;

/// `--db`, else `FLOWGATE_DATABASE_URL`, else the settings file, else `./flowgate.db`.
pub fn database_url(flag: Option<&str>, settings: &Settings) -> String {
    flag.map(str::to_owned)
        .or_else(|| {
            std::env::var("FLOWGATE_DATABASE_URL")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| settings.database_url.clone())
        .unwrap_or_else(|| "flowgate.db".into())
}

/// Every item of a database's review queue (migrating it first).
pub fn review_items(url: &str) -> Result<Vec<flowgate_store::review::QueueItem>> {
    runtime()?.block_on(async {
        let s = Store::open(url).await?;
        s.migrate().await?;
        let r = s.review_items().await;
        s.close().await;
        anyhow::Ok(r?)
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub source: crate::args::SourceArgs,
    /// Database URL: a SQLite file path (default ./flowgate.db) or postgres://…
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Source name the events belong to (default: the preset's or mapping's name, a help
    /// desk's history under its preset's name, else the file name). Later exports of the same system use the same name.
    #[arg(long = "source", value_name = "NAME")]
    pub source_name: Option<String>,
    /// Suppress the progress bar and messages.
    #[arg(long, short)]
    pub quiet: bool,
    /// Rebuild the source from this file alone (its stored events are dropped in the same
    /// transaction). Needed to import under a mapping other than the source's: the same
    /// events would otherwise get other identities and be stored twice.
    #[arg(long)]
    pub replace: bool,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Create or upgrade the schema.
    Migrate {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// Schema version and what the database holds.
    Status {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
    },
    /// Write a source's events as CSV or XES (with the mapping that reads them back).
    Export {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        #[arg(long = "source", value_name = "NAME")]
        source_name: Option<String>,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Output file; the mapping goes beside it as FILE.toml.
        #[arg(long, short, value_name = "PATH")]
        out: PathBuf,
    },
    /// Join the small blocks sources fed by the service gather (one per request) into large
    /// ones; the events and their order do not change (`flowgate serve` does this every
    /// `[serve] compact_every_s`).
    Compact {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        /// One source (default: every source with small blocks to join).
        #[arg(long = "source", value_name = "NAME")]
        source_name: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xes,
}

/// `FLOWGATE_PROGRESS=lines` prints progress as plain lines (for logs and scripts).
fn progress_lines() -> bool {
    std::env::var("FLOWGATE_PROGRESS").is_ok_and(|v| v == "lines")
}

/// Stores rows read from `file` as source `name`, with a progress bar (or lines).
pub fn store_rows(
    url: &str,
    name: &str,
    got: &flowgate_ingest::IngestedRows,
    file: &Path,
    quiet: bool,
    replace: bool,
) -> Result<flowgate_store::ImportSummary> {
    let username = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let input = flowgate_app::import::FileImport {
        source: name,
        rows: got,
        file,
        username: &username,
        replace,
    };
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(got.builder.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{spinner} storing {bar:30} {pos}/{len} events ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let lines = progress_lines();
    let progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
        if lines {
            eprintln!("progress: stored {done} of {total} events");
        }
    };
    let rt = runtime()?;
    let summary = rt.block_on(async {
        let store = Store::open(url).await?;
        let s = flowgate_app::import::store_file(&store, &input, &progress).await;
        store.close().await;
        anyhow::Ok(s?)
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    summary.with_context(|| {
        format!(
            "importing {} into {}",
            file.display(),
            flowgate_store::redact_url(url)
        )
    })
}

pub fn import(args: ImportArgs, settings: &Settings) -> Result<()> {
    let url = database_url(args.db.as_deref(), settings);
    let mapping = crate::load::source_mapping(&args.source, settings)?;
    let Some(file) = args.source.file.as_deref() else {
        bail!("flowgate import needs a file to import");
    };
    let given_name = mapping.as_ref().and_then(|m| m.name.clone());
    let got = crate::load::read_rows(file, mapping, args.source.strict, args.quiet)?;
    let name = flowgate_app::import::source_name(
        args.source_name.as_deref(),
        given_name.as_deref(),
        &got,
        file,
    );
    let s = store_rows(&url, &name, &got, file, args.quiet, args.replace)?;
    if !args.quiet {
        let span = s
            .span
            .map(|(a, b)| {
                format!(
                    ", {} → {}",
                    flowgate_flow::time::format_utc(a),
                    flowgate_flow::time::format_utc(b)
                )
            })
            .unwrap_or_default();
        println!(
            "source {name:?}: {} new events, {} already stored, {} rejected; {} new cases ({} in all){span}",
            s.events_new, s.events_duplicate, s.events_rejected, s.cases_new, s.cases_total
        );
        if s.events_new == 0 {
            println!("nothing new: this export was already imported");
        }
    }
    Ok(())
}

/// Loads a source as an event log (for `baseline --db`).
pub fn load(url: &str, source: Option<&str>) -> Result<(Ingested, String)> {
    let rt = runtime()?;
    let (loaded, name) = rt.block_on(async {
        let store = Store::open(url).await?;
        let name = flowgate_app::analytics::pick_source(&store, source).await?;
        let loaded = store.load(&name).await?;
        store.close().await;
        anyhow::Ok((loaded, name))
    })?;
    let mapping = Mapping::from_toml(
        &loaded.mapping_toml,
        &format!("the stored mapping of source {name}"),
    )?;
    let warnings = flowgate_ingest::empty_columns(&mapping, false, &loaded.rows);
    let log = loaded.rows.finish();
    Ok((
        Ingested {
            log,
            format: flowgate_ingest::Format::Csv,
            mapping,
            detected: false,
            rows: 0,
            rejected: 0,
            diagnostics: Vec::new(),
            warnings,
        },
        name,
    ))
}

pub fn db(cmd: DbCommand, settings: &Settings) -> Result<()> {
    let rt = runtime()?;
    match cmd {
        DbCommand::Migrate { db } => {
            let url = database_url(db.as_deref(), settings);
            let applied = rt.block_on(async {
                let store = Store::open(&url).await?;
                let a = store.migrate().await;
                store.close().await;
                a
            })?;
            if applied.is_empty() {
                println!("{}: schema up to date", flowgate_store::redact_url(&url));
            } else {
                println!(
                    "{}: applied migrations {applied:?}",
                    flowgate_store::redact_url(&url)
                );
            }
        }
        DbCommand::Compact { db, source_name } => {
            let url = database_url(db.as_deref(), settings);
            let done = rt.block_on(async {
                let store = Store::open(&url).await?;
                let done = match &source_name {
                    Some(n) => match store.compact(n).await? {
                        Some(c) => Ok(vec![c]),
                        None => Err(flowgate_store::unknown_source(
                            store.sources().await?.into_iter().map(|s| s.name).collect(),
                            n,
                        )),
                    },
                    None => store.compact_all().await,
                };
                store.close().await;
                done
            })?;
            if done.is_empty() {
                println!("nothing to compact");
            }
            for c in &done {
                println!(
                    "source {:?}: event blocks {} → {}, string blocks {} → {}",
                    c.source,
                    c.event_blocks_before,
                    c.event_blocks_after,
                    c.string_blocks_before,
                    c.string_blocks_after
                );
            }
        }
        DbCommand::Status { db } => {
            let url = database_url(db.as_deref(), settings);
            let st = rt.block_on(async {
                let store = Store::open(&url).await?;
                let s = store.status().await;
                store.close().await;
                s
            })?;
            println!(
                "database: {} ({:?})",
                flowgate_store::redact_url(&url),
                st.backend
            );
            for (v, d) in &st.known {
                let mark = if st.applied.contains(v) {
                    "applied"
                } else {
                    "pending"
                };
                println!("  migration {v} {d}: {mark}");
            }
            if st.sources.is_empty() {
                println!("no sources yet");
            }
            for s in &st.sources {
                println!(
                    "  source {:?}: {} events from {} imports",
                    s.name, s.events, s.imports
                );
            }
        }
        DbCommand::Export {
            db,
            source_name,
            format,
            out,
        } => {
            let url = database_url(db.as_deref(), settings);
            let (loaded, name) = rt.block_on(async {
                let store = Store::open(&url).await?;
                let name =
                    flowgate_app::analytics::pick_source(&store, source_name.as_deref()).await?;
                let l = store.load(&name).await?;
                store.close().await;
                anyhow::Ok((l, name))
            })?;
            let original = Mapping::from_toml(
                &loaded.mapping_toml,
                &format!("the stored mapping of source {name}"),
            )?;
            let xes = format == ExportFormat::Xes;
            let mut buf = Vec::new();
            match format {
                ExportFormat::Csv => flowgate_ingest::export::write_csv(&loaded.rows, &mut buf)?,
                ExportFormat::Xes => flowgate_ingest::export::write_xes(&loaded.rows, &mut buf)?,
            }
            crate::output::write_atomic(&out, &buf)?;
            let mapping_path = PathBuf::from(format!("{}.toml", out.display()));
            let m = flowgate_ingest::export::export_mapping(&original, xes);
            crate::output::write_atomic(&mapping_path, m.to_toml().as_bytes())?;
            println!(
                "wrote {} events of source {name:?} to {} (mapping: {}); re-import with: flowgate import {} --mapping {} --source {name}",
                loaded.rows.len(),
                out.display(),
                mapping_path.display(),
                out.display(),
                mapping_path.display()
            );
        }
    }
    Ok(())
}

/// Reads the log named by a file argument or a database (`--db`, `FLOWGATE_DATABASE_URL`,
/// settings), and a description of where it came from.
pub fn load_log(
    source: &crate::args::SourceArgs,
    db: Option<&str>,
    source_name: Option<&str>,
    mapping: Option<flowgate_ingest::Mapping>,
    quiet: bool,
    settings: &Settings,
) -> Result<(flowgate_ingest::Ingested, String)> {
    let t0 = std::time::Instant::now();
    let (got, source) = match (&source.file, db) {
        (Some(file), None) => (
            crate::load::read(file, mapping, source.strict, quiet)?,
            file.display().to_string(),
        ),
        (None, None)
            if std::env::var_os("FLOWGATE_DATABASE_URL").is_none()
                && settings.database_url.is_none() =>
        {
            bail!("give a log file, or --db URL to read from a database")
        }
        (None, db) => {
            let url = database_url(db, settings);
            let (got, name) = load(&url, source_name)?;
            if !quiet {
                for w in &got.warnings {
                    eprintln!("warning: source {name}: {w}");
                }
            }
            (got, format!("source {name} in {url}"))
        }
        (Some(_), Some(_)) => bail!("give a file or --db, not both"),
    };
    tracing::info!(
        secs = t0.elapsed().as_secs_f64(),
        events = got.log.n_events(),
        "read"
    );
    Ok((got, source))
}
