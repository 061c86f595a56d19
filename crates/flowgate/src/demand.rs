//! `flowgate train` and `flowgate eval`: the intent model from labelled texts.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use flowgate_demand::linear::TrainParams;
use flowgate_demand::{Encoder, IntentModel, evaluate, model_files, texts};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Labelled texts: a CSV with a header, or a folder with seq.in and label.
    #[arg(long, value_name = "FILE")]
    pub texts: PathBuf,
    /// Text column (default: text, utterance, body, query, message or instruction).
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    /// Label column (default: label, intent, category or class).
    #[arg(long, value_name = "C")]
    pub label_col: Option<String>,
    /// Where to write the model.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Passes over the training data.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Weight of the sentence embedding against the TF-IDF word and character blocks.
    #[arg(long, default_value_t = 1.5)]
    pub embed_weight: f32,
    /// Learning rate of the first step.
    #[arg(long, default_value_t = 0.5)]
    pub lr: f32,
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled test texts (CSV or a seq.in/label folder).
    #[arg(long, value_name = "FILE")]
    pub texts: PathBuf,
    #[arg(long, value_name = "C")]
    pub text_col: Option<String>,
    #[arg(long, value_name = "C")]
    pub label_col: Option<String>,
    /// Out-of-scope texts (labels ignored) for the out-of-scope AUROC.
    #[arg(long, value_name = "FILE")]
    pub oos: Option<PathBuf>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

fn bar(quiet: bool) -> Option<ProgressBar> {
    (!quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} {bar:30} {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    })
}

pub fn encoder() -> Result<Encoder> {
    let dir = model_files::default_model_dir().context("locating the sentence encoder")?;
    Encoder::load(&dir)
        .with_context(|| format!("loading the sentence encoder from {}", dir.display()))
}

pub fn train(args: TrainArgs) -> Result<()> {
    let data = texts::read(
        &args.texts,
        args.text_col.as_deref(),
        args.label_col.as_deref(),
        true,
    )?;
    let t0 = Instant::now();
    let enc = encoder()?;
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let labels: Vec<&str> = data.labels.iter().map(String::as_str).collect();
    let b = bar(false);
    let progress = |stage: &str, done: usize, total: usize| {
        if let Some(b) = &b {
            b.set_message(stage.to_owned());
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let params = TrainParams {
        epochs: args.epochs,
        embed_weight: args.embed_weight,
        lr: args.lr,
        ..TrainParams::default()
    };
    let model = IntentModel::train(&enc, &texts, &labels, params, &progress)?;
    if let Some(b) = &b {
        b.finish_and_clear();
    }
    model.save(&args.out)?;
    println!(
        "trained {} on {} texts, {} intents in {:.0}s (temperature {:.2}, out-of-scope threshold {:.3}); wrote {}",
        model.header.model_id,
        texts.len(),
        model.header.labels.len(),
        t0.elapsed().as_secs_f64(),
        model.header.temperature,
        model.header.oos_threshold,
        args.out.display()
    );
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let model = IntentModel::load(&args.model)?;
    let data = texts::read(
        &args.texts,
        args.text_col.as_deref(),
        args.label_col.as_deref(),
        true,
    )?;
    let oos = match &args.oos {
        Some(p) => texts::read(p, args.text_col.as_deref(), None, false)?.texts,
        None => Vec::new(),
    };
    let enc = encoder()?;
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let labels: Vec<&str> = data.labels.iter().map(String::as_str).collect();
    let oos: Vec<&str> = oos.iter().map(String::as_str).collect();
    let r = evaluate::evaluate(&model, &enc, &texts, &labels, &oos)?;
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "{} texts: accuracy {:.2}%, macro-F1 {:.4}, ECE {:.4}",
        r.texts,
        r.accuracy * 100.0,
        r.macro_f1,
        r.ece
    );
    if let Some(a) = r.oos_auroc {
        println!(
            "out of scope: AUROC {a:.4}; flagged {:.1}% of out-of-scope texts and {:.1}% of in-scope ones",
            r.oos_flagged.unwrap_or(0.0) * 100.0,
            r.in_scope_flagged * 100.0
        );
    }
    for c in &r.coverage_at_precision {
        println!(
            "  at {:.0}% precision: {:.1}% of tickets answered (confidence ≥ {:.3})",
            c.precision * 100.0,
            c.coverage * 100.0,
            c.threshold
        );
    }
    if r.unknown_labels > 0 {
        println!(
            "{} texts carry labels the model was not trained on (counted as errors)",
            r.unknown_labels
        );
    }
    Ok(())
}
