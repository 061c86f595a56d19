//! The gate on tickets: decisions per ticket (`triage --policy`), their audit records, and
//! `flowgate replay` over labelled tickets.

use std::path::{Path, PathBuf};

use anyhow::Result;
use flowgate_app::replay::{Replay, replay_predictions};
use flowgate_app::tickets::days_since_previous;
use flowgate_demand::{IntentModel, texts};
use flowgate_gate::{Gate, Policy};

/// Loads a policy and resolves its thresholds against the model's held-out predictions.
pub fn load_gate(model: &IntentModel, policy: &Path) -> Result<Gate> {
    load_gate_with(model, policy, &[])
}

/// Production evidence: the reviewed decisions (acts and shadow reviews) in a database's
/// review queue, as (intent, confidence, right).
pub fn production_evidence(url: &str) -> Result<Vec<(String, f64, bool)>> {
    Ok(flowgate_store::review::evidence(&crate::db::review_items(
        url,
    )?))
}

/// [`load_gate`] with production evidence besides the held-out predictions.
pub fn load_gate_with(
    model: &IntentModel,
    policy: &Path,
    production: &[(String, f64, bool)],
) -> Result<Gate> {
    Ok(flowgate_app::gate::resolve(
        model,
        Policy::load(policy)?,
        production,
    )?)
}

/// Who the command acts as in audit records: `FLOWGATE_ACTOR`, else `cli:` and the OS user.
pub fn actor() -> String {
    std::env::var("FLOWGATE_ACTOR")
        .ok()
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| {
            format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            )
        })
        .replace(['\n', '\r'], " ")
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Labelled tickets: a CSV with a header, or a folder with seq.in and label.
    pub file: PathBuf,
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub label_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub id_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub customer_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub time_col: Option<String>,
    /// Add production evidence: the reviewed decisions in this database's review queue.
    #[arg(long, value_name = "URL")]
    pub evidence_db: Option<String>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn replay(args: ReplayArgs) -> Result<()> {
    let model = IntentModel::load(&args.model)?;
    let production = match &args.evidence_db {
        Some(url) => production_evidence(url)?,
        None => Vec::new(),
    };
    let gate = load_gate_with(&model, &args.policy, &production)?;
    let data = texts::read_columns(
        &args.file,
        texts::Columns {
            text: args.text_col.as_deref(),
            label: args.label_col.as_deref(),
            id: args.id_col.as_deref(),
        },
        true,
    )?;
    gate.policy
        .check_columns(&data.columns, &args.policy.display().to_string())?;
    let days = days_since_previous(
        &gate,
        &data,
        &args.file,
        args.customer_col.as_deref(),
        args.time_col.as_deref(),
    )?;
    let enc = crate::encode::encoder()?;
    let refs: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let preds = crate::encode::classify(&model, &enc, &refs, args.quiet)?;
    let r = replay_predictions(&gate, &model, &data, &preds, &days)?;
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print!("{}", replay_text(&r));
    Ok(())
}

pub fn replay_text(r: &Replay) -> String {
    let mut s = format!(
        "replay of {} tickets (model {}, policy {})\n",
        r.tickets,
        r.model,
        r.policy.chars().take(19).collect::<String>()
    );
    match (r.act_precision, r.act_precision_interval) {
        (Some(p), Some((lo, hi))) => s.push_str(&format!(
            "act: {:.1}% of tickets, precision {:.2}% (95% CI {:.2}–{:.2}%)\n",
            r.act_coverage * 100.0,
            p * 100.0,
            lo * 100.0,
            hi * 100.0
        )),
        _ => s.push_str("act: no ticket\n"),
    }
    s.push_str("decisions:");
    for (k, v) in &r.decisions {
        s.push_str(&format!(" {k} {v}"));
    }
    s.push_str("\ndecided by:");
    let mut rules: Vec<(&String, &usize)> = r.rules.iter().collect();
    rules.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, v) in rules {
        s.push_str(&format!(" {k} {v};"));
    }
    s.push('\n');
    s
}
