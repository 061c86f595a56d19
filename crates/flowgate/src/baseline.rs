//! `flowgate baseline` and `flowgate presets`: the process baseline of a log (file or
//! store), with the demand section and the risk layer's latest week.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use flowgate_ingest::timestamp::{TimestampParser, Zone};
use flowgate_report::Meta;

use crate::args::{FormatArg, SourceArgs, pick_format};
use crate::config::Settings;
use crate::db::load_log;

#[derive(clap::Args, Debug)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Report format; default from --out's extension, else text.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Instant for backlog aging and WIP (default: the last event).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Suppress the detected-mapping message, warnings and progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Read the log from this database (SQLite path or postgres://…) instead of a file.
    #[arg(long, value_name = "URL", conflicts_with = "file")]
    pub db: Option<String>,
    /// With --db: which source (needed when the database holds several).
    #[arg(long = "source", value_name = "NAME", requires = "db")]
    pub source_name: Option<String>,
    /// Demand section: tickets joined to cases, by their intent column or a model.
    #[command(flatten)]
    pub tickets: crate::demand::TicketArgs,
}

pub fn baseline(args: BaselineArgs, settings: &Settings) -> Result<()> {
    let format = pick_format(args.format, args.out.as_deref(), settings)?;
    let mapping = crate::load::source_mapping(&args.source, settings)?;
    let zone = mapping
        .as_ref()
        .and_then(|m| m.timezone.clone())
        .or_else(|| settings.timezone.clone());
    let as_of_ms = match &args.as_of {
        Some(t) => {
            let zone = Zone::parse(zone.as_deref().unwrap_or("UTC")).map_err(anyhow::Error::msg)?;
            let mut p = TimestampParser::new(zone, None);
            Some(
                p.parse(t.as_bytes())
                    .with_context(|| format!("--as-of: expected {}, found {t:?}", p.expected()))?,
            )
        }
        None => None,
    };
    let (got, source) = load_log(
        &args.source,
        args.db.as_deref(),
        args.source_name.as_deref(),
        mapping,
        args.quiet,
        settings,
    )?;
    let rejected_rows = got.rejected;
    let mut l = flowgate_app::analytics::SourceLog {
        records: Vec::new(),
        source: source.clone(),
        log: got.log,
        mapping: got.mapping,
    };
    // The settings' calendar over the mapping's, as the service applies it.
    flowgate_app::analytics::apply_calendar(&mut l.mapping, settings.calendar.as_ref());
    let mut opts = flowgate_app::analytics::baseline_options(&l)?;
    opts.as_of_ms = as_of_ms;
    let t0 = std::time::Instant::now();
    let mut b = flowgate_flow::baseline(&l.log, &opts);
    b.demand = crate::demand::demand_section(&l.log, &args.tickets, &settings.demand, args.quiet)?;
    tracing::info!(secs = t0.elapsed().as_secs_f64(), "metrics");
    let mapping_name = l
        .mapping
        .name
        .clone()
        .unwrap_or_else(|| "custom mapping".into());
    // Read from a store: the risk layer's latest week too, when it holds an audit chain.
    let risk = match args.source.file {
        None => risk_week(
            &crate::db::database_url(args.db.as_deref(), settings),
            &mut l,
        )?,
        Some(_) => None,
    };
    let meta = Meta {
        title: "Process baseline".into(),
        source,
        mapping: mapping_name,
        rejected_rows,
        risk,
    };
    let text = flowgate_report::render(&b, &meta, format);
    crate::output::write(args.out.as_deref(), text.as_bytes())?;
    // Freeing millions of interned strings one by one takes longer than the OS needs to
    // reclaim the whole heap at exit.
    std::mem::forget(l);
    if let Some(out) = &args.out
        && !args.quiet
    {
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// The risk layer's latest week in the store at `url` (the gate's decisions, reviews,
/// defects), joined to the source's history `l` for reopens (its case records are filled
/// in); `None` without an audit chain.
fn risk_week(
    url: &str,
    l: &mut flowgate_app::analytics::SourceLog,
) -> Result<Option<flowgate_report::RiskWeek>> {
    let found = crate::db::runtime()?.block_on(async {
        let store = flowgate_store::Store::open(url).await?;
        let r = match store.audit_len().await {
            Ok(0) => Ok(None),
            Ok(_) => {
                l.records = flowgate_flow::cases::case_records(&l.log);
                flowgate_app::gate_week::latest(&store, Some(l)).await
            }
            Err(e) => Err(e.into()),
        };
        store.close().await;
        anyhow::Ok(r?)
    })?;
    Ok(found.map(|(g, r)| flowgate_report::RiskWeek {
        week: r.week.clone(),
        decisions: g.decisions,
        by_action: g.by_action.into_iter().collect(),
        act_coverage: g.act_coverage,
        automation_rate: g.automation_rate,
        sampled: r.sampled,
        reviewed: r.reviewed,
        defects: r.defects,
        precision: r.precision.as_ref().map(|p| (p.share, p.ci95)),
        failure_modes: r
            .failure_modes
            .iter()
            .map(|f| (f.intent.clone(), f.mode.clone(), f.defects))
            .collect(),
    }))
}

pub fn presets(name: Option<&str>) -> Result<()> {
    match name {
        None => {
            for (n, text) in flowgate_ingest::PRESETS {
                let m = flowgate_ingest::Mapping::from_toml(text, n)?;
                println!("{n:<10} {}", m.description.unwrap_or_default());
            }
            println!(
                "\nCopy one: flowgate presets NAME > my-mapping.toml, edit, then --mapping my-mapping.toml"
            );
        }
        Some(n) => match flowgate_ingest::PRESETS.iter().find(|(p, _)| *p == n) {
            Some((_, text)) => print!("{text}"),
            None => bail!(
                "unknown preset {n:?}; built-in presets: {}",
                flowgate_ingest::PRESETS
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
    Ok(())
}
