//! `flowgate audit`: append to, export and verify the hash-chained audit log.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use flowgate_store::Store;
use flowgate_store::audit::AuditEntry;

use crate::config::Settings;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the chain; fails naming the first edited, removed or reordered record.
    Verify {
        /// Database (SQLite path or postgres://…); default from settings.
        #[arg(long, value_name = "URL", conflicts_with = "file")]
        db: Option<String>,
        /// Verify an export (JSON lines from `audit export`) instead of a database.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// The last record's hash as remembered elsewhere: also catches records removed from
        /// the end.
        #[arg(long, value_name = "SHA256")]
        head: Option<String>,
    },
    /// Write the log as JSON lines (seq, recorded_at, recorded_at_ms, record, prev_sha256,
    /// sha256, version, kind, actor).
    Export {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Append records: one JSON object per line, all or nothing.
    Append {
        #[arg(long, value_name = "URL")]
        db: Option<String>,
        file: PathBuf,
    },
}

pub fn run(cmd: AuditCommand, settings: &Settings) -> Result<()> {
    let rt = crate::db::runtime()?;
    match cmd {
        AuditCommand::Verify { db, file, head } => {
            let (entries, reviews) = match file {
                Some(f) => (read_export(&f)?, None),
                None => {
                    let url = crate::db::database_url(db.as_deref(), settings);
                    rt.block_on(async {
                        let s = Store::open(&url).await?;
                        let e = s.audit_entries().await;
                        let r = s.review_items().await;
                        s.close().await;
                        Ok::<_, flowgate_store::StoreError>((e?, Some(r?)))
                    })?
                }
            };
            let v = flowgate_app::audit::verify(&entries, reviews.as_deref(), head.as_deref());
            for (seq, t, before) in &v.times_backwards {
                eprintln!(
                    "warning: record {seq} was recorded at {}, before the record preceding it ({}): its time was changed",
                    flowgate_flow::time::format_utc_ms(*t),
                    flowgate_flow::time::format_utc_ms(*before)
                );
            }
            if let Some(p) = &v.problem {
                bail!("{p}");
            }
            let mut extra = String::new();
            if let Some(n) = v.reviews_matched {
                extra = format!("; {n} reviews match the review queue");
                if v.older_reviews > 0 {
                    extra.push_str(&format!(
                        " ({} older reviews predate chained reviews)",
                        v.older_reviews
                    ));
                }
            }
            let v1 = entries.iter().filter(|e| e.version == 1).count();
            println!(
                "audit log intact: {} records{}{extra}; head {}",
                entries.len(),
                if v1 > 0 {
                    format!(" ({v1} of chain version 1, the rest version 2)")
                } else {
                    String::new()
                },
                entries.last().map_or("(empty)", |e| e.sha256.as_str())
            );
            Ok(())
        }
        AuditCommand::Export { db, out } => {
            let url = crate::db::database_url(db.as_deref(), settings);
            let entries = rt.block_on(async {
                let s = Store::open(&url).await?;
                let e = s.audit_entries().await;
                s.close().await;
                e
            })?;
            let text = flowgate_app::audit::export_jsonl(&entries);
            crate::output::write(out.as_deref(), text.as_bytes())
        }
        AuditCommand::Append { db, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let records = flowgate_app::audit::parse_records(
                &text,
                &file.display().to_string(),
                &crate::risk::actor(),
            )?;
            let url = crate::db::database_url(db.as_deref(), settings);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let added = rt.block_on(async {
                let s = Store::open(&url).await?;
                s.migrate().await?;
                let r = s.audit_append(&records, now).await;
                s.close().await;
                r
            })?;
            println!(
                "appended {} records; head {}",
                added.len(),
                added.last().map_or("-", |e| e.sha256.as_str())
            );
            Ok(())
        }
    }
}

fn read_export(path: &std::path::Path) -> Result<Vec<AuditEntry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(flowgate_app::audit::parse_export(
        &text,
        &path.display().to_string(),
    )?)
}

#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["customer", "older_than_days"]))]
pub struct EraseArgs {
    /// Database (SQLite path or postgres://…); default from settings.
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Erase every text kept for this customer (their request).
    #[arg(long, value_name = "ID")]
    pub customer: Option<String>,
    /// Retention: erase every text stored more than this many days ago.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub older_than_days: Option<u32>,
}

pub fn erase(args: EraseArgs, settings: &Settings) -> Result<()> {
    let url = crate::db::database_url(args.db.as_deref(), settings);
    let now = jiff::Timestamp::now().as_millisecond();
    let before = args
        .older_than_days
        .map(|d| now - d as i64 * flowgate_flow::time::MS_PER_DAY);
    if let Some(c) = &args.customer
        && c.trim().is_empty()
    {
        bail!("--customer is empty");
    }
    let rt = crate::db::runtime()?;
    let e = rt.block_on(async {
        let s = Store::open(&url).await?;
        s.migrate().await?;
        let r = s
            .erase_texts(args.customer.as_deref(), before, &crate::risk::actor(), now)
            .await;
        s.close().await;
        r
    })?;
    match e.record {
        Some(r) => println!(
            "erased the texts of {} decisions; audit record {} says so (the decisions and their hashes stay)",
            e.texts, r.seq
        ),
        None => println!("nothing to erase"),
    }
    Ok(())
}
