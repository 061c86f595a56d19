//! `flowgate gate calibrate`: per-intent confidence thresholds for a target precision.

use std::path::PathBuf;

use anyhow::{Result, bail};
use flowgate_demand::{IntentModel, texts};
use flowgate_gate::{Calibration, Gate, Method, Policy, calibrate, calibrate::summarise};

#[derive(clap::Subcommand, Debug)]
pub enum GateCommand {
    /// Pick, per intent, the threshold its own held-out evidence earns: scanning from the most
    /// confident down, the lowest confidence before the first one whose one-sided 95%
    /// Clopper–Pearson lower bound of precision misses the target; intents with too little
    /// evidence stay `assist`.
    Calibrate(CalibrateArgs),
    /// Per intent under a policy: its evidence so far (held-out and production), the
    /// threshold it earns and its lower bound, the mode in effect, and how many more
    /// agreeing decisions in a row would open its gate. Graduating an intent to `auto` is an
    /// admin's change to the policy, never automatic.
    Status(StatusArgs),
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Production evidence: the reviewed decisions (acts and shadow reviews) in this
    /// database's review queue (default: the settings' database).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Held-out labelled texts (not the ones the model was trained on); default: the
    /// out-of-fold predictions stored in the model at training.
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub label_col: Option<String>,
    /// Target precision of automatic answers (ignored with --policy: each intent's own).
    #[arg(long, default_value_t = 0.98)]
    pub target: f64,
    /// Fewest predictions of an intent in evidence before it may be `auto`.
    #[arg(long, default_value_t = 30)]
    pub min_items: u64,
    /// Resolve thresholds exactly as `triage`/`replay` do under this policy (targets, fixed
    /// thresholds checked against the bound, `min_items`).
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,
    /// Add production evidence (with --policy): the reviewed decisions in this database.
    #[arg(long, value_name = "URL", requires = "policy")]
    pub evidence_db: Option<String>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(cmd: GateCommand, settings: &crate::config::Settings) -> Result<()> {
    let args = match cmd {
        GateCommand::Calibrate(a) => a,
        GateCommand::Status(a) => return status(a, settings),
    };
    if !(0.0..1.0).contains(&args.target) || args.target <= 0.0 {
        bail!(
            "--target {}: expected a precision between 0 and 1",
            args.target
        );
    }
    let model = IntentModel::load(&args.model)?;
    let items: Vec<(String, f64, bool)> = match &args.texts {
        Some(path) => {
            let data = texts::read(
                path,
                args.text_col.as_deref(),
                args.label_col.as_deref(),
                true,
            )?;
            let enc = crate::encode::encoder()?;
            let refs: Vec<&str> = data.texts.iter().map(String::as_str).collect();
            let preds = crate::encode::classify(&model, &enc, &refs, args.quiet)?;
            preds
                .iter()
                .zip(&data.labels)
                .map(|(p, l)| (p.intent.clone(), p.confidence as f64, p.intent == *l))
                .collect()
        }
        None => {
            let items = model.held_out_items();
            if items.is_empty() {
                bail!(
                    "{}: the model holds no out-of-fold predictions (trained with --gate-folds 0 or by an older flowgate); give held-out texts with --texts",
                    args.model.display()
                );
            }
            items
        }
    };
    let c: Calibration = match &args.policy {
        Some(path) => {
            let policy = Policy::load(path)?;
            let (target, method, min_items) = (
                policy.defaults.target_precision,
                policy.method,
                policy.min_items,
            );
            let production = match &args.evidence_db {
                Some(url) => crate::risk::production_evidence(url)?,
                None => Vec::new(),
            };
            let gate = Gate::with_evidence(policy, &items, &production, &model.header.labels);
            let known: Vec<_> = gate
                .calibration
                .into_values()
                .filter(|t| t.predicted > 0)
                .collect();
            summarise(target, method, min_items, known, items.len())
        }
        None => calibrate(&items, args.target, Method::ClopperPearson, args.min_items),
    };
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(());
    }
    let auto = c.intents.iter().filter(|i| i.mode == "auto").count();
    println!(
        "target precision {:.1}% ({} {} lower bound): {auto} of {} intents auto; {:.1}% of {} held-out tickets would be answered, measured precision {}",
        c.target * 100.0,
        c.level,
        c.method.as_str(),
        c.intents.len(),
        c.expected_coverage * 100.0,
        items.len(),
        c.expected_precision
            .map(|p| format!("{:.2}%", p * 100.0))
            .unwrap_or_else(|| "–".into())
    );
    for i in &c.intents {
        println!("  {:<40} {:<6} {}", i.intent, i.mode, i.why);
    }
    Ok(())
}

fn status(args: StatusArgs, settings: &crate::config::Settings) -> Result<()> {
    let model = IntentModel::load(&args.model)?;
    let url = crate::db::database_url(args.db.as_deref(), settings);
    let production = crate::risk::production_evidence(&url)?;
    let (gate, rows) =
        flowgate_app::gate::status(&model, Policy::load(&args.policy)?, &production)?;
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "policy {} · {} · production evidence from {}: {} reviewed decisions",
        gate.policy.name,
        flowgate_gate::calibrate::LEVEL,
        flowgate_store::redact_url(&url),
        production.len()
    );
    println!(
        "{:<32} {:<7} {:<7} {:>8} {:>10} {:>7} {:>9} {:>7}  note",
        "intent", "policy", "mode", "held-out", "production", "target", "threshold", "lower"
    );
    for r in &rows {
        println!(
            "{:<32} {:<7} {:<7} {:>8} {:>10} {:>6.1}% {:>9} {:>7}  {}",
            r.intent,
            r.policy_mode,
            r.mode,
            r.held_out,
            r.production,
            r.target * 100.0,
            r.threshold.map_or("–".into(), |t| format!("{t:.3}")),
            r.lower_bound
                .map_or("–".into(), |b| format!("{:.1}%", b * 100.0)),
            r.note
        );
    }
    Ok(())
}
