//! `flowgate sticky`: how many of the AI's answers stayed answered — no reopen, and no new
//! ticket from the same customer on the same intent within N days.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use flowgate_demand::texts;
use flowgate_flow::sticky::{StickyTicket, sticky};

#[derive(clap::Args, Debug)]
pub struct StickyArgs {
    /// The event log of the tickets' cases.
    #[arg(long, value_name = "LOG")]
    pub log: PathBuf,
    #[arg(long, conflicts_with = "mapping")]
    pub preset: Option<String>,
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Tickets: case id, customer, time and intent columns.
    #[arg(long, value_name = "FILE")]
    pub tickets: PathBuf,
    /// The decisions: `triage --policy` JSON lines (id, intent, decision).
    #[arg(long, value_name = "FILE")]
    pub triage: PathBuf,
    /// The window after resolution, in days.
    #[arg(long, default_value_t = 7.0)]
    pub days: f64,
    #[arg(long, value_name = "C")]
    pub id_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub intent_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub customer_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub time_col: Option<String>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn run(args: StickyArgs, settings: &crate::config::Settings) -> Result<()> {
    if args.days.is_nan() || args.days <= 0.0 {
        anyhow::bail!("--days {}: expected a number of days above 0", args.days);
    }
    let mapping =
        crate::load::choose_mapping(args.preset.as_deref(), args.mapping.as_deref(), settings)?;
    let got = crate::load::read(&args.log, mapping, false, true)?;
    let data = texts::read_columns(
        &args.tickets,
        texts::Columns {
            text: None,
            label: args.intent_col.as_deref(),
            id: args.id_col.as_deref(),
        },
        false,
    )?;
    use flowgate_app::tickets::{CUSTOMER_NAMES, TIME_NAMES, ticket_column};
    let cust = ticket_column(
        &data,
        &args.tickets,
        args.customer_col.as_deref(),
        &CUSTOMER_NAMES,
        "customer",
        "",
    )?;
    let time = ticket_column(
        &data,
        &args.tickets,
        args.time_col.as_deref(),
        &TIME_NAMES,
        "time",
        "",
    )?;
    // The decisions, by ticket id.
    let text = std::fs::read_to_string(&args.triage)
        .with_context(|| format!("reading {}", args.triage.display()))?;
    let mut decided: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: expected a triage JSON line",
                args.triage.display(),
                i + 1
            )
        })?;
        let (Some(id), Some(intent), Some(d)) = (
            v["id"].as_str(),
            v["intent"].as_str(),
            v["decision"].as_str(),
        ) else {
            anyhow::bail!(
                "{}:{}: expected id, intent and decision (write it with triage --policy)",
                args.triage.display(),
                i + 1
            );
        };
        decided.insert(id.to_owned(), (intent.to_owned(), d == "act"));
    }
    let mut parser = flowgate_ingest::timestamp::TimestampParser::new(
        flowgate_ingest::timestamp::Zone::Utc,
        None,
    );
    let mut tickets = Vec::with_capacity(data.ids.len());
    for (i, id) in data.ids.iter().enumerate() {
        let row = &data.rows[i];
        let raw = row.get(time).map(|s| s.trim()).unwrap_or_default();
        let created_ms = parser.parse(raw.as_bytes()).with_context(|| {
            format!(
                "{}:{}: field {:?} = {raw:?}: expected {}",
                args.tickets.display(),
                data.lines[i],
                data.columns[time],
                parser.expected()
            )
        })?;
        let (intent, acted) = match decided.get(id) {
            Some((intent, acted)) => (intent.clone(), *acted),
            None => (data.labels.get(i).cloned().unwrap_or_default(), false),
        };
        tickets.push(StickyTicket {
            case: got.log.cases.get(id).map(|c| c as usize),
            customer: row
                .get(cust)
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            intent,
            created_ms,
            acted,
        });
    }
    let r = sticky(&got.log, &tickets, args.days);
    let kinds = r.by_outcome();
    let per_intent = r.by_intent(&tickets);
    let ci = flowgate_gate::interval::wilson_interval(r.sticky as u64, r.assessed as u64);
    if args.format == "json" {
        let v = serde_json::json!({
            "days": r.days, "acted": r.acted, "assessed": r.assessed,
            "unassessable": r.unassessable, "sticky": r.sticky,
            "sticky_rate": r.sticky_rate, "sticky_rate_interval": ci, "outcomes": kinds,
            "intents": per_intent,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    match (r.sticky_rate, ci) {
        (Some(rate), Some((lo, hi))) => println!(
            "{} of {} acts whose case is in the log stayed resolved for {} days: {:.1}% (95% CI {:.1}–{:.1}%)",
            r.sticky,
            r.assessed,
            r.days,
            rate * 100.0,
            lo * 100.0,
            hi * 100.0
        ),
        _ => println!("no act decision whose case is in the log"),
    }
    if r.unassessable > 0 {
        println!(
            "{} acts had no intent or no customer: a return cannot be looked for, so they are counted apart, not as sticky",
            r.unassessable
        );
    }
    let parts: Vec<String> = kinds.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("outcomes: {}", parts.join(", "));
    for i in &per_intent {
        println!(
            "  {:<32} {:>5} of {:<5} sticky",
            i.intent, i.sticky, i.assessed
        );
    }
    Ok(())
}
