//! Command-line definitions and dispatch.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use flowgate_flow::BaselineOptions;
use flowgate_ingest::timestamp::{TimestampParser, Zone};
use flowgate_report::{Format, Meta};

use crate::config::Settings;

#[derive(Parser, Debug)]
#[command(
    name = "flowgate",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("FLOWGATE_COMMIT"), ")"),
    about = "Measure flow first: where the time goes in your ticket history."
)]
pub struct Cli {
    /// Settings file (default: ./flowgate.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug); FLOWGATE_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum MappingCommand {
    /// Guess a starting mapping from FILE's header and first rows (columns, "no value"
    /// spellings, the state column's values listed to sort).
    Suggest {
        file: PathBuf,
        /// Write the mapping here (default: standard output).
        #[arg(long, short, value_name = "PATH")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The process baseline of an event log: cycle time, wait vs touch, handoffs, reopens,
    /// process map, variants, backlog aging.
    Baseline(BaselineArgs),
    /// List the built-in presets, or print one as TOML to copy and edit.
    Presets {
        /// Print this preset's TOML.
        name: Option<String>,
    },
    /// Mappings: `suggest FILE` writes a starting mapping guessed from a CSV's header and
    /// a sample of its rows.
    #[command(subcommand)]
    Mapping(MappingCommand),
    /// Import an export into the database (idempotent, incremental, all or nothing).
    Import(crate::db::ImportArgs),
    /// Database maintenance: migrate, status, export.
    #[command(subcommand)]
    Db(crate::db::DbCommand),
    /// Pull a help desk's history from its API into the database, from where the last sync
    /// stopped (credentials from the environment; see the README).
    Sync(crate::sync::SyncArgs),
    /// Train an intent model from labelled texts.
    Train(crate::demand::TrainArgs),
    /// Classify tickets: one JSON line each with intent, confidence, top 3, out-of-scope
    /// score and bucket.
    Triage(crate::demand::TriageArgs),
    /// Run the gate over labelled tickets: act coverage, its measured precision, and the
    /// count of each decision.
    Replay(crate::risk::ReplayArgs),
    /// The knowledge base: build an index of Markdown articles, search it, check coverage.
    #[command(subcommand)]
    Kb(crate::kb::KbCommand),
    /// For one ticket: top passages, a proposed answer (the article's template filled from
    /// the ticket, unfilled placeholders listed) and the proposed action with its reasons.
    Assist(crate::kb::AssistArgs),
    /// Governance evidence: the controls in force mapped to NIST AI RMF subcategories,
    /// with evidence counted from the audit log (Markdown).
    Governance(crate::governance::GovernanceArgs),
    /// Sticky resolution: the share of `act` decisions whose case stayed resolved (no reopen,
    /// no new ticket from the customer on the same intent within N days).
    Sticky(crate::sticky::StickyArgs),
    /// The audit review queue: sample act decisions, list, mark, review one by one.
    #[command(subcommand)]
    Review(crate::review::ReviewCommand),
    /// The weekly defect review: reviewed precision per intent with its interval, defects
    /// by failure mode, recommended threshold changes (Markdown).
    Defects(crate::review::DefectsArgs),
    /// Cluster unlabelled texts into candidate intents and write a labelled file to correct.
    Discover(crate::demand::DiscoverArgs),
    /// Run the service: tickets in over HTTP, gated decisions out, every one audited.
    Serve(crate::serve::ServeArgs),
    /// API tokens for the service: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(crate::serve::TokenCommand),
    /// The gate policy in the database: import a file (audited), show the one in force.
    #[command(subcommand)]
    Policy(crate::serve::PolicyCommand),
    /// The hash-chained audit log: verify, export, append.
    #[command(subcommand)]
    Audit(crate::audit::AuditCommand),
    /// Erase the texts kept with decisions: one customer's (a request), or all stored before
    /// a retention period. Audit records and their hashes stay; an `erase` record says what
    /// went.
    Erase(crate::audit::EraseArgs),
    /// Gate thresholds: calibrate per-intent confidence thresholds to a target precision.
    #[command(subcommand)]
    Gate(crate::gate::GateCommand),
    /// Accuracy, macro-F1, calibration, out-of-scope AUROC and coverage at precision.
    Eval(crate::demand::EvalArgs),
    /// The weekly scorecard: cycle time, quality defects and escalation rate per week.
    Scorecard(crate::value::ScorecardArgs),
    /// Pilot vs baseline with 95% bootstrap intervals, mix adjustment and budget terms.
    Compare(crate::value::CompareArgs),
    /// What-if: a queue simulation fitted from a log, under a scenario.
    Simulate(crate::value::SimulateArgs),
    /// Churn, conversion lag and on-time delivery by cycle-time band (customer outcomes).
    Outcomes(crate::value::OutcomesArgs),
    /// Monte Carlo forecast from daily throughput: when the backlog clears, how many by when.
    Forecast(crate::value::ForecastArgs),
    /// Agents needed for a live channel's service level (Erlang C, or Erlang A with patience).
    Staffing(crate::value::StaffingArgs),
    /// Generate a synthetic support organisation, analyse it and write an HTML report.
    Demo(crate::demo::DemoArgs),
    /// Time the whole baseline on a log replicated N times, with peak memory.
    Bench(crate::bench::BenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct SourceArgs {
    /// CSV or XES event log (optionally gzipped).
    pub file: Option<PathBuf>,
    /// A built-in preset (see `flowgate presets`).
    #[arg(long, conflicts_with = "mapping")]
    pub preset: Option<String>,
    /// A mapping TOML file (copy one with `flowgate presets NAME`).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Jira: your instance's statuses with their categories (the JSON of
    /// `GET /rest/api/3/status`), added to the mapping's states (implies --preset jira
    /// when no mapping is given).
    #[arg(long, value_name = "FILE")]
    pub jira_statuses: Option<PathBuf>,
    /// Fail (exit non-zero, write nothing) when any row is rejected.
    #[arg(long)]
    pub strict: bool,
}

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

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FormatArg {
    Text,
    Json,
    Md,
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Md => Format::Markdown,
            FormatArg::Html => Format::Html,
        }
    }
}

pub fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Baseline(args) => baseline(args, &settings),
        Command::Presets { name } => presets(name.as_deref()),
        Command::Mapping(MappingCommand::Suggest { file, out }) => {
            let s = flowgate_ingest::suggest::suggest(&file)?;
            let text = s.to_toml();
            match out {
                Some(path) => {
                    crate::output::write_atomic(&path, text.as_bytes())?;
                    eprintln!(
                        "wrote {} (case {:?}, timestamp {:?}, {} state values to sort)",
                        path.display(),
                        s.case.as_deref().unwrap_or("?"),
                        s.timestamp.as_deref().unwrap_or("?"),
                        s.state_values.len()
                    );
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Import(args) => crate::db::import(args, &settings),
        Command::Train(args) => crate::demand::train(args, &settings),
        Command::Triage(args) => crate::demand::triage(args, &settings),
        Command::Replay(args) => crate::risk::replay(args),
        Command::Kb(cmd) => crate::kb::run(cmd),
        Command::Assist(args) => crate::kb::assist(args),
        Command::Governance(args) => crate::governance::run(args, &settings),
        Command::Sticky(args) => crate::sticky::run(args, &settings),
        Command::Review(cmd) => crate::review::run(cmd, &settings),
        Command::Defects(args) => crate::review::defects(args, &settings),
        Command::Discover(args) => crate::demand::discover(args),
        Command::Audit(cmd) => crate::audit::run(cmd, &settings),
        Command::Serve(args) => crate::serve::serve(args, &settings),
        Command::Token(cmd) => crate::serve::token(cmd, &settings),
        Command::Policy(cmd) => crate::serve::policy(cmd, &settings),
        Command::Erase(args) => crate::audit::erase(args, &settings),
        Command::Gate(cmd) => crate::gate::run(cmd, &settings),
        Command::Eval(args) => crate::demand::eval(args),
        Command::Db(cmd) => crate::db::db(cmd, &settings),
        Command::Sync(args) => crate::sync::sync(args, &settings),
        Command::Demo(args) => crate::demo::run(args),
        Command::Scorecard(args) => crate::value::scorecard(args, &settings),
        Command::Compare(args) => crate::value::compare(args, &settings),
        Command::Simulate(args) => crate::value::simulate(args, &settings),
        Command::Forecast(args) => crate::value::forecast(args, &settings),
        Command::Outcomes(args) => crate::value::outcomes(args, &settings),
        Command::Staffing(args) => crate::value::staffing(args),
        Command::Bench(args) => crate::bench::run(args),
    }
}

pub fn pick_format(
    explicit: Option<FormatArg>,
    out: Option<&std::path::Path>,
    settings: &Settings,
) -> Result<Format> {
    if let Some(f) = explicit {
        return Ok(f.into());
    }
    if let Some(ext) = out.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
        match ext {
            "html" | "htm" => return Ok(Format::Html),
            "json" => return Ok(Format::Json),
            "md" => return Ok(Format::Markdown),
            _ => {}
        }
    }
    match settings.format.as_deref() {
        None | Some("text") => Ok(Format::Text),
        Some(other) => Ok(FormatArg::from_str(other, true)
            .map_err(|_| {
                anyhow::anyhow!("settings: format {other:?} is not text, json, md or html")
            })?
            .into()),
    }
}

fn baseline(args: BaselineArgs, settings: &Settings) -> Result<()> {
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
    let mut opts = BaselineOptions::new();
    opts.as_of_ms = as_of_ms;
    opts.sla = got.mapping.sla_config();
    if let (Some(cal), Some((lo, hi))) = (
        settings.calendar.as_ref().or(got.mapping.calendar.as_ref()),
        got.log.span(),
    ) {
        opts.business = Some(cal.business_time(lo, hi)?);
    }
    let t0 = std::time::Instant::now();
    let mut b = flowgate_flow::baseline(&got.log, &opts);
    b.demand =
        crate::demand::demand_section(&got.log, &args.tickets, &settings.demand, args.quiet)?;
    tracing::info!(secs = t0.elapsed().as_secs_f64(), "metrics");
    let mapping_name = got
        .mapping
        .name
        .clone()
        .unwrap_or_else(|| "custom mapping".into());
    let rejected_rows = got.rejected;
    // Read from a store: the risk layer's latest week too, when it holds an audit chain.
    let mut l = flowgate_app::analytics::SourceLog {
        records: Vec::new(),
        source: source.clone(),
        log: got.log,
        mapping: got.mapping,
    };
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

/// Reads the log named by a file argument or a database (`--db`, `FLOWGATE_DATABASE_URL`,
/// settings), and a description of where it came from.
pub fn load_log(
    source: &SourceArgs,
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
            let url = crate::db::database_url(db, settings);
            let (got, name) = crate::db::load(&url, source_name)?;
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

fn presets(name: Option<&str>) -> Result<()> {
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
