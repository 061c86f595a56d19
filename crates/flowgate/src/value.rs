//! `flowgate scorecard`, `compare`, `simulate`, `forecast` and `staffing`: the value layer
//! and the what-if tools over a log (file or database).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use flowgate_flow::cases::case_records;
use flowgate_value::compare::Period;
use flowgate_value::scorecard::ScorecardOptions;

use crate::args::{FormatArg, SourceArgs, pick_format};
use crate::config::Settings;
use crate::db::load_log;

#[derive(clap::Args, Debug)]
pub struct LogArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Read the log from this database (SQLite path or postgres://…) instead of a file.
    #[arg(long, value_name = "URL", conflicts_with = "file")]
    pub db: Option<String>,
    /// With --db: which source (needed when the database holds several).
    #[arg(long = "source", value_name = "NAME", requires = "db")]
    pub source_name: Option<String>,
    /// Suppress the detected-mapping message and warnings.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
pub struct OutArgs {
    /// Report format; default from --out's extension, else text.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

/// The log, its per-case records and its mapping.
pub use flowgate_app::analytics::SourceLog as Loaded;

pub fn load(args: &LogArgs, settings: &Settings) -> Result<Loaded> {
    let mapping = crate::load::choose_mapping(
        args.source.preset.as_deref(),
        args.source.mapping.as_deref(),
        settings,
    )?;
    let (got, source) = load_log(
        &args.source,
        args.db.as_deref(),
        args.source_name.as_deref(),
        mapping,
        args.quiet,
        settings,
    )?;
    let records = case_records(&got.log);
    Ok(Loaded {
        log: got.log,
        records,
        mapping: got.mapping,
        source,
    })
}

/// The resolution target of each case from the mapping's SLA table, if it has one.
pub fn sla_targets(l: &Loaded) -> Option<Vec<Option<f64>>> {
    flowgate_app::analytics::sla_targets(l)
}

/// `2026-W47` → the Monday 00:00 UTC that starts it (UTC milliseconds).
pub fn parse_week(week: &str) -> Result<i64> {
    Ok(flowgate_app::analytics::parse_week(week)?)
}

/// `2026-01-01`, `2026-01-01T08:00:00Z` or `2026-W03` (its Monday) as UTC milliseconds.
fn parse_instant(s: &str, what: &str) -> Result<i64> {
    Ok(flowgate_app::analytics::parse_instant(s, what)?)
}

/// `FROM..TO` (TO exclusive).
pub fn parse_period(s: &str, what: &str) -> Result<Period> {
    let (a, b) = s
        .split_once("..")
        .with_context(|| format!("{what} {s:?}: expected FROM..TO, e.g. 2026-01-01..2026-02-01"))?;
    let p = Period {
        from_ms: parse_instant(a, what)?,
        to_ms: parse_instant(b, what)?,
    };
    if p.to_ms <= p.from_ms {
        bail!("{what} {s:?}: TO must come after FROM");
    }
    Ok(p)
}

// ------------------------------------------------------------------ scorecard

#[derive(clap::Args, Debug)]
pub struct ScorecardArgs {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub out: OutArgs,
    /// The headline week (ISO, e.g. 2026-W47); default the last complete week of the data.
    #[arg(long)]
    pub week: Option<String>,
    /// Weeks in the trend.
    #[arg(long, default_value_t = 12)]
    pub weeks: usize,
    /// Count reviewed defects from this database's review queue (default: --db, if given).
    #[arg(long, value_name = "URL")]
    pub reviews: Option<String>,
}

pub fn scorecard(args: ScorecardArgs, settings: &Settings) -> Result<()> {
    let format = pick_format(args.out.format, args.out.out.as_deref(), settings)?;
    let l = load(&args.log, settings)?;
    let reviews_url = args.reviews.clone().or_else(|| args.log.db.clone());
    let reviewed = match reviews_url {
        Some(url) => reviewed_defects(&url, &l)?,
        None => Vec::new(),
    };
    let opts = ScorecardOptions {
        weeks: args.weeks.max(1),
        last_week: args.week.as_deref().map(parse_week).transpose()?,
        ..ScorecardOptions::default()
    };
    let s = flowgate_value::scorecard(&l.records, &reviewed, &opts);
    let text = flowgate_report::value::scorecard(&s, &l.source, format);
    crate::output::write(args.out.out.as_deref(), text.as_bytes())
}

/// Reviewed defects from the review queue: counted at their case's resolution (or at the
/// decision, for a ticket not in the log).
fn reviewed_defects(
    url: &str,
    l: &Loaded,
) -> Result<Vec<flowgate_value::scorecard::ReviewedDefect>> {
    let items = crate::db::review_items(url)?;
    Ok(items
        .iter()
        // Shadow reviews judge what the AI would have done; nothing reached a customer.
        .filter(|i| !i.shadow && i.verdict.as_deref() == Some("defect"))
        .map(|i| flowgate_value::scorecard::ReviewedDefect {
            case: l.log.cases.get(&i.ticket).map(|c| c as usize),
            decided_at_ms: i.decided_at_ms,
        })
        .collect())
}

// ------------------------------------------------------------------ compare

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub out: OutArgs,
    /// Baseline period FROM..TO (dates, times or ISO weeks; TO exclusive).
    #[arg(long, value_name = "FROM..TO")]
    pub baseline: String,
    /// Pilot period FROM..TO.
    #[arg(long, value_name = "FROM..TO")]
    pub pilot: String,
    /// Segments for the mix adjustment: intent, bucket, team, channel or any column.
    #[arg(long, value_name = "SEGMENT")]
    pub by: Option<String>,
    /// The column holding each case's intent (for --by bucket).
    #[arg(long, default_value = "intent", value_name = "C")]
    pub intent_col: String,
    /// Budget inputs (TOML): the comparison in money terms.
    #[arg(long, value_name = "FILE")]
    pub budget: Option<PathBuf>,
    /// Customer outcomes (CSV, as for `flowgate outcomes`): with --budget and its
    /// revenue_per_customer, churn by cycle-time band values the pilot's faster mix.
    #[arg(long, value_name = "FILE", requires = "budget")]
    pub outcomes: Option<PathBuf>,
    /// The log's customer column for --outcomes.
    #[arg(long, value_name = "C")]
    pub customer_col: Option<String>,
    /// Also write the one-page executive summary (HTML; needs --budget).
    #[arg(long, value_name = "PATH", requires = "budget")]
    pub report: Option<PathBuf>,
    #[arg(long, default_value_t = 2000)]
    pub resamples: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn compare(args: CompareArgs, settings: &Settings) -> Result<()> {
    let format = pick_format(args.out.format, args.out.out.as_deref(), settings)?;
    let baseline = parse_period(&args.baseline, "--baseline")?;
    let pilot = parse_period(&args.pilot, "--pilot")?;
    let budget = args
        .budget
        .as_deref()
        .map(|p| -> Result<flowgate_value::Budget> {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok(flowgate_value::Budget::parse(
                &text,
                &p.display().to_string(),
            )?)
        })
        .transpose()?;
    let l = load(&args.log, settings)?;
    let c = flowgate_app::pilot::compare(
        &l,
        &flowgate_app::pilot::Periods {
            baseline,
            pilot,
            by: args.by.as_deref(),
            intent_col: &args.intent_col,
            buckets: &settings.demand,
            resamples: args.resamples,
            seed: args.seed,
        },
    )?;
    if let Some(why) = flowgate_app::pilot::empty_period(&c) {
        bail!(
            "{}: {why}; the log runs {}",
            l.source,
            l.log
                .span()
                .map(|(a, b)| format!(
                    "{} to {}",
                    flowgate_flow::time::format_date(a),
                    flowgate_flow::time::format_date(b)
                ))
                .unwrap_or_else(|| "empty".into())
        );
    }
    let churn = match &args.outcomes {
        Some(path) => {
            let edges = parse_bands("4h,1d,3d,7d")?;
            let o = flowgate_app::outcomes::join(
                &l,
                path,
                &flowgate_app::outcomes::JoinOptions {
                    customer_col: args.customer_col.as_deref(),
                    edges: &edges,
                    churn_window_days: 90.0,
                },
            )?;
            let shares = |p: &Period| flowgate_value::outcomes::band_shares(&l.records, p, &edges);
            flowgate_value::outcomes::churn_shift(&o, &shares(&baseline), &shares(&pilot))
        }
        None => None,
    };
    let terms = budget
        .as_ref()
        .map(|b| flowgate_value::budget_terms(&c, b, churn));
    let text = flowgate_report::value::compare(&c, terms.as_ref(), format);
    crate::output::write(args.out.out.as_deref(), text.as_bytes())?;
    if let (Some(path), Some(t)) = (&args.report, &terms) {
        let html = flowgate_report::value::exec_summary(&c, t, &l.source);
        crate::output::write_atomic(path, html.as_bytes())?;
        if !args.log.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ simulate

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// The event log the simulation is fitted from.
    #[arg(long = "from", value_name = "LOG")]
    pub from: PathBuf,
    #[arg(long, conflicts_with = "mapping")]
    pub preset: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// The what-if scenario (TOML); without it, the baseline alone.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// The column holding each case's intent (for AI shares per intent).
    #[arg(long, default_value = "intent", value_name = "C")]
    pub intent_col: String,
    /// Threads for the replications.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Out-of-sample validation instead of a scenario: fit on the first two thirds of the
    /// cases (by arrival), drive the last third's actual arrivals, compare with the log.
    #[arg(long, conflicts_with = "scenario")]
    pub holdout: bool,
    #[command(flatten)]
    pub out: OutArgs,
    #[arg(long, short)]
    pub quiet: bool,
}

/// Fits the simulation model from a loaded log.
pub fn fit(l: &Loaded, intent_col: &str) -> flowgate_sim::Model {
    flowgate_app::whatif::fit(l, intent_col)
}

/// `simulate --holdout`: the out-of-sample validation of the simulator on this log.
fn holdout(l: &Loaded, args: &SimulateArgs, format: flowgate_report::Format) -> Result<()> {
    let (intent_of, intents) = flowgate_app::whatif::case_intents(l, &args.intent_col);
    let sla = sla_targets(l);
    let Some(h) = flowgate_sim::validate::out_of_sample(
        &l.log,
        &l.records,
        flowgate_sim::validate::FitInput {
            intents,
            intent_of: &intent_of,
            sla_target_s: sla.as_deref(),
        },
        20,
        args.threads.max(1),
    ) else {
        bail!("{}: fewer than 30 cases: nothing to hold out", l.source);
    };
    let text = if format == flowgate_report::Format::Json {
        serde_json::to_string_pretty(&h)? + "\n"
    } else {
        let pct = |c: &Option<flowgate_sim::validate::Compared>| match c {
            Some(c) => format!(
                "observed {:.1} h, simulated {:.1} h ({:+.1}%)",
                c.observed / 3600.0,
                c.simulated / 3600.0,
                c.relative_error * 100.0
            ),
            None => "–".into(),
        };
        format!(
            "out-of-sample check of {}: fitted on {} cases arriving before {}, driven by the actual arrivals of the other {} ({} days)\ncycle time p50: {}\ncycle time p85: {}\nthe fitted cases themselves: p50 {}, p85 {} (a gap to the held-out ones is drift, not model error)\nopen cases at the end of each day: mean error {} of the mean observed\nload +20% (same arrivals and a fifth again): {:.0} cases, p50 {}, p85 {}, mean open {:.1}\n",
            l.source,
            h.fit_cases,
            flowgate_flow::time::format_utc_ms(h.cut_ms),
            h.test_cases,
            h.days,
            pct(&h.cycle_time_p50_s),
            pct(&h.cycle_time_p85_s),
            h.fitted_observed_p50_s
                .map_or("–".into(), |v| format!("{:.1} h", v / 3600.0)),
            h.fitted_observed_p85_s
                .map_or("–".into(), |v| format!("{:.1} h", v / 3600.0)),
            h.open_cases_error
                .map_or("–".into(), |e| format!("{:.1}%", e * 100.0)),
            h.load_plus_20.cases,
            h.load_plus_20
                .cycle_time_p50_s
                .map_or("–".into(), |v| format!("{:.1} h", v / 3600.0)),
            h.load_plus_20
                .cycle_time_p85_s
                .map_or("–".into(), |v| format!("{:.1} h", v / 3600.0)),
            h.load_plus_20.open_cases_mean
        )
    };
    crate::output::write(args.out.out.as_deref(), text.as_bytes())
}

pub fn read_scenario(path: &std::path::Path) -> Result<flowgate_sim::Scenario> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(flowgate_sim::Scenario::parse(
        &text,
        &path.display().to_string(),
    )?)
}

pub fn simulate(args: SimulateArgs, settings: &Settings) -> Result<()> {
    let format = pick_format(args.out.format, args.out.out.as_deref(), settings)?;
    let scenario = args.scenario.as_deref().map(read_scenario).transpose()?;
    let la = LogArgs {
        source: SourceArgs {
            file: Some(args.from.clone()),
            preset: args.preset.clone(),
            mapping: args.mapping.clone(),
            jira_statuses: None,
            strict: false,
        },
        db: None,
        source_name: None,
        quiet: args.quiet,
    };
    let l = load(&la, settings)?;
    if args.holdout {
        return holdout(&l, &args, format);
    }
    let model = fit(&l, &args.intent_col);
    if model.templates() == 0 {
        bail!(
            "{}: no resolved case to learn from; check the mapping's resolved/closed states",
            l.source
        );
    }
    // A model of the past is only as good as the past is like the future: say when the log's
    // later cases differ from its earlier ones.
    if let Some(d) = flowgate_sim::validate::drift(&l.records)
        && d.change > 0.15
        && !args.quiet
    {
        eprintln!(
            "warning: {}: the process drifted within the log — cycle time p50 {:.1} h → {:.1} h, p85 {:.1} h → {:.1} h from the first two thirds of the cases to the last third; the simulation replays the whole log, so read its figures as the log's average, not as today (see simulate --holdout)",
            l.source,
            d.earlier_p50_s / 3600.0,
            d.later_p50_s / 3600.0,
            d.earlier_p85_s / 3600.0,
            d.later_p85_s / 3600.0
        );
    }
    let base_scenario = flowgate_sim::Scenario {
        replications: scenario.as_ref().and_then(|s| s.replications),
        seed: scenario.as_ref().and_then(|s| s.seed),
        days: scenario.as_ref().and_then(|s| s.days),
        ..flowgate_sim::Scenario::default()
    };
    if let Some(s) = &scenario {
        let unknown = s.unknown_names(&model.teams, &model.intents);
        if !unknown.is_empty() {
            bail!(
                "{}: the log has no {}; teams: {}; intents: {}",
                args.scenario
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                unknown.join(", "),
                model.teams.join(", "),
                model.intents.join(", ")
            );
        }
    }
    let base = flowgate_sim::simulate(&model, &base_scenario, args.threads);
    let (text, title) = match &scenario {
        Some(s) => {
            let r = flowgate_sim::simulate(&model, s, args.threads);
            let title = format!(
                "What-if: {}",
                args.scenario
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            (
                flowgate_report::value::simulation(&r, Some(&base), &title, format),
                title,
            )
        }
        None => {
            let title = format!("Baseline simulation of {}", l.source);
            (
                flowgate_report::value::simulation(&base, None, &title, format),
                title,
            )
        }
    };
    tracing::info!(title, "simulated");
    crate::output::write(args.out.out.as_deref(), text.as_bytes())
}

// ------------------------------------------------------------------ forecast

/// Ten years: a forecast further out says nothing, and its trials would take hours.
const MAX_HORIZON_DAYS: u64 = 3_660;
const MAX_HISTORY_DAYS: u64 = 3_660;

#[derive(clap::Args, Debug)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Days of throughput history to draw from (1 to 3,660).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u64).range(1..=MAX_HISTORY_DAYS))]
    pub history_days: u64,
    /// "How many items by" this many days from the last event (1 to 3,660).
    #[arg(long, default_value_t = 30, conflicts_with = "until", value_parser = clap::value_parser!(u64).range(1..=MAX_HORIZON_DAYS))]
    pub horizon_days: u64,
    /// "How many items by" this date (instead of --horizon-days).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// The backlog to clear (default: cases open at the last event).
    #[arg(long)]
    pub backlog: Option<u64>,
    /// Monte Carlo trials (1 to 1,000,000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub trials: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn forecast(args: ForecastArgs, settings: &Settings) -> Result<()> {
    let l = load(&args.log, settings)?;
    let Some((_, last)) = l.log.span() else {
        bail!("{}: the log is empty", l.source);
    };
    let day0 = flowgate_flow::time::day_start(last) - (args.history_days as i64 - 1) * 86_400_000;
    let mut daily = vec![0u64; args.history_days as usize];
    let mut open = 0u64;
    for r in &l.records {
        match r.resolved_at {
            Some(t) if t >= day0 => {
                let d = ((t - day0) / 86_400_000) as usize;
                if d < daily.len() {
                    daily[d] += 1;
                }
            }
            Some(_) => {}
            None => open += 1,
        }
    }
    let backlog = args.backlog.unwrap_or(open);
    let horizon_days = match &args.until {
        Some(d) => {
            let t = parse_instant(d, "--until")?;
            if t <= last {
                bail!(
                    "--until {d}: expected a date after the last event ({})",
                    flowgate_flow::time::format_date(last)
                );
            }
            let days = ((t - last) as f64 / 86_400_000.0).ceil() as u64;
            if days > MAX_HORIZON_DAYS {
                bail!(
                    "--until {d}: {days} days after the last event; expected at most {MAX_HORIZON_DAYS}"
                );
            }
            days
        }
        None => args.horizon_days,
    };
    let f = flowgate_sim::forecast::forecast(
        &daily,
        args.history_days as usize,
        backlog,
        horizon_days,
        args.trials as usize,
        args.seed,
    );
    let date = |d: u64| flowgate_flow::time::format_date(last + d as i64 * 86_400_000);
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&f)?),
        "text" => {
            println!(
                "Forecast from {} days of throughput (mean {:.1} a day), {} trials, as of {}",
                f.history_days,
                f.mean_daily_throughput,
                f.trials,
                flowgate_flow::time::format_date(last)
            );
            println!("\nWhen will the backlog of {backlog} clear?");
            for (p, d) in &f.clear_in_days {
                match d {
                    Some(d) => println!("  {p}% confidence: within {d} days (by {})", date(*d)),
                    None => println!("  {p}% confidence: not within 10 years at this throughput"),
                }
            }
            println!(
                "\nHow many items by {} ({} days)?",
                date(f.horizon_days),
                f.horizon_days
            );
            for (p, n) in &f.items_by_horizon {
                println!("  {p}% confidence: at least {n}");
            }
        }
        other => bail!("--format {other:?}: expected text or json"),
    }
    Ok(())
}

// ------------------------------------------------------------------ staffing

#[derive(clap::Args, Debug)]
pub struct StaffingArgs {
    /// Contacts arriving per interval.
    #[arg(long)]
    pub contacts: f64,
    /// The interval, in minutes.
    #[arg(long, default_value_t = 30.0)]
    pub interval_minutes: f64,
    /// Average handle time, in seconds.
    #[arg(long)]
    pub aht: f64,
    /// Answer within this many seconds …
    #[arg(long, default_value_t = 20.0)]
    pub target: f64,
    /// … for this share of contacts.
    #[arg(long, default_value_t = 0.8)]
    pub service_level: f64,
    /// Mean patience in seconds: Erlang A (with abandonment) instead of Erlang C.
    #[arg(long)]
    pub patience: Option<f64>,
    /// Upper bound on occupancy (Erlang C), e.g. 0.85.
    #[arg(long)]
    pub max_occupancy: Option<f64>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn staffing(args: StaffingArgs) -> Result<()> {
    if !(args.contacts >= 0.0
        && args.interval_minutes > 0.0
        && args.aht > 0.0
        && args.target >= 0.0)
    {
        bail!("--contacts must be ≥ 0, --interval-minutes and --aht > 0, --target ≥ 0");
    }
    if !(0.0..1.0).contains(&args.service_level) {
        bail!(
            "--service-level {}: expected a share between 0 and 1 (exclusive), e.g. 0.8",
            args.service_level
        );
    }
    let rate = args.contacts / (args.interval_minutes * 60.0);
    let s = match args.patience {
        Some(p) if p > 0.0 => flowgate_sim::erlang::erlang_a_agents(
            rate,
            args.aht,
            p,
            args.target,
            args.service_level,
        ),
        Some(p) => bail!("--patience {p}: expected a number of seconds > 0"),
        None => flowgate_sim::erlang::erlang_c_agents(
            rate,
            args.aht,
            args.target,
            args.service_level,
            args.max_occupancy,
        ),
    }
    .context("no staffing up to 10,000 agents meets that service level")?;
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&s)?),
        "text" => {
            println!(
                "{} agents ({}) for {:.0}% answered within {:.0} s",
                s.agents,
                if args.patience.is_some() {
                    "Erlang A"
                } else {
                    "Erlang C"
                },
                args.service_level * 100.0,
                args.target
            );
            println!("  offered load      {:.2} erlangs", s.offered_load_erlangs);
            println!("  service level     {:.1}%", s.service_level * 100.0);
            println!("  probability wait  {:.1}%", s.prob_wait * 100.0);
            println!("  average answer    {:.1} s", s.asa_s);
            println!("  occupancy         {:.1}%", s.occupancy * 100.0);
            if let Some(a) = s.prob_abandon {
                println!("  abandoned         {:.1}%", a * 100.0);
            }
        }
        other => bail!("--format {other:?}: expected text or json"),
    }
    Ok(())
}

// ------------------------------------------------------------------ outcomes

#[derive(clap::Args, Debug)]
pub struct OutcomesArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Customer outcomes (CSV): customer id, churned_at, converted_at, delivered_on_time.
    #[arg(long, value_name = "FILE")]
    pub outcomes: PathBuf,
    /// The log's customer column (default: customer_id, customer, requester or account).
    #[arg(long, value_name = "C")]
    pub customer_col: Option<String>,
    /// Cycle-time band edges (s, m, h, d).
    #[arg(long, default_value = "4h,1d,3d,7d")]
    pub bands: String,
    /// Churn counts when it happens within this many days after the case is resolved.
    #[arg(long, default_value_t = 90.0)]
    pub churn_window_days: f64,
    /// text, md or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

fn parse_duration_s(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.trim().parse().ok()?;
    let k = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return None,
    };
    (n.is_finite() && n > 0.0).then_some(n * k)
}

/// Band edges such as `4h,1d,3d,7d`, in seconds.
fn parse_bands(bands: &str) -> Result<Vec<f64>> {
    let mut edges: Vec<f64> = Vec::new();
    for part in bands.split(',') {
        edges.push(parse_duration_s(part).with_context(|| {
            format!(
                "--bands {bands:?}: expected durations such as 4h,1d,3d,7d; {part:?} is not one"
            )
        })?);
    }
    if edges.windows(2).any(|w| w[0] >= w[1]) {
        bail!("--bands {bands:?}: the edges must ascend");
    }
    Ok(edges)
}

pub fn outcomes(args: OutcomesArgs, settings: &Settings) -> Result<()> {
    let edges = parse_bands(&args.bands)?;
    let l = load(&args.log, settings)?;
    let o = flowgate_app::outcomes::join(
        &l,
        &args.outcomes,
        &flowgate_app::outcomes::JoinOptions {
            customer_col: args.customer_col.as_deref(),
            edges: &edges,
            churn_window_days: args.churn_window_days,
        },
    )?;
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&o)?),
        "text" | "md" => print!(
            "{}",
            flowgate_report::value::outcomes_md(&o, args.format == "text")
        ),
        other => bail!("--format {other:?}: expected text, md or json"),
    }
    Ok(())
}
