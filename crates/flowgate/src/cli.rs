//! Command-line definitions and dispatch.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    Baseline(crate::baseline::BaselineArgs),
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
}

pub fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Baseline(args) => crate::baseline::baseline(args, &settings),
        Command::Presets { name } => crate::baseline::presets(name.as_deref()),
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
    }
}
