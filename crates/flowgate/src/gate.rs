//! `flowgate gate calibrate`: per-intent confidence thresholds for a target precision.

use std::path::PathBuf;

use anyhow::{Result, bail};
use flowgate_demand::{IntentModel, texts};
use flowgate_gate::{Bound, calibrate_with};

#[derive(clap::Subcommand, Debug)]
pub enum GateCommand {
    /// Pick, per intent, the lowest confidence at which the lower 95% bound of held-out
    /// precision meets the target; intents with too little data stay `assist`.
    Calibrate(CalibrateArgs),
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
    /// Target precision of automatic answers.
    #[arg(long, default_value_t = 0.98)]
    pub target: f64,
    /// wilson or clopper-pearson.
    #[arg(long, default_value = "wilson")]
    pub bound: String,
    /// Fewest held-out predictions of an intent before it may be `auto`.
    #[arg(long, default_value_t = 30)]
    pub min_items: u64,
    /// Let intents too thin for a threshold of their own borrow the one of all intents
    /// together (unless their own predictions contradict it).
    #[arg(long)]
    pub pool: bool,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(cmd: GateCommand) -> Result<()> {
    let GateCommand::Calibrate(args) = cmd;
    if !(0.0..1.0).contains(&args.target) || args.target <= 0.0 {
        bail!(
            "--target {}: expected a precision between 0 and 1",
            args.target
        );
    }
    let bound = match args.bound.as_str() {
        "wilson" => Bound::Wilson,
        "clopper-pearson" => Bound::ClopperPearson,
        other => bail!("--bound {other:?}: expected wilson or clopper-pearson"),
    };
    let model = IntentModel::load(&args.model)?;
    let items: Vec<(String, f64, bool)> = match &args.texts {
        Some(path) => {
            let data = texts::read(
                path,
                args.text_col.as_deref(),
                args.label_col.as_deref(),
                true,
            )?;
            let enc = crate::demand::encoder()?;
            let refs: Vec<&str> = data.texts.iter().map(String::as_str).collect();
            let preds = crate::demand::classify(&model, &enc, &refs, args.quiet)?;
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
    let c = calibrate_with(&items, args.target, bound, args.min_items, args.pool);
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(());
    }
    let auto = c.intents.iter().filter(|i| i.mode == "auto").count();
    println!(
        "target precision {:.1}% ({:?} lower bound, 95%): {auto} of {} intents auto; {:.1}% of {} held-out tickets would be answered, measured precision {}",
        c.target * 100.0,
        c.bound,
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
