//! Reading a log from a file, with a progress bar and the detected-mapping message.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use flowgate_ingest::{Ingested, IngestedRows, Mapping, ReadOptions};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;

/// Which mapping to read a file with.
pub fn choose_mapping(
    preset: Option<&str>,
    mapping: Option<&Path>,
    settings: &Settings,
) -> Result<Option<Mapping>> {
    let mut m = match (preset, mapping) {
        (_, Some(path)) => Some(Mapping::from_file(path)?),
        (Some(name), None) => Some(Mapping::preset(name)?),
        (None, None) => match &settings.preset {
            Some(name) => Some(Mapping::preset(name).context("the preset named in settings")?),
            None => None,
        },
    };
    if let (Some(m), Some(tz)) = (m.as_mut(), &settings.timezone)
        && m.timezone.is_none()
    {
        m.timezone = Some(tz.clone());
    }
    Ok(m)
}

/// The mapping a command's source arguments name, with `--jira-statuses` added.
pub fn source_mapping(
    src: &crate::args::SourceArgs,
    settings: &Settings,
) -> Result<Option<Mapping>> {
    let mut m = choose_mapping(src.preset.as_deref(), src.mapping.as_deref(), settings)?;
    if let Some(path) = &src.jira_statuses {
        let mut jira = match m {
            Some(m) => m,
            None => Mapping::preset("jira")?,
        };
        let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        flowgate_ingest::history::add_jira_statuses(&mut jira, &text, &path.display().to_string())?;
        m = Some(jira);
    }
    Ok(m)
}

/// Reads `path`; prints the detected mapping and a summary of rejected rows on stderr.
pub fn read(path: &Path, mapping: Option<Mapping>, strict: bool, quiet: bool) -> Result<Ingested> {
    read_rows(path, mapping, strict, quiet).map(IngestedRows::finish)
}

/// Like [`read`], without sorting: rows in source order, for the store.
pub fn read_rows(
    path: &Path,
    mapping: Option<Mapping>,
    strict: bool,
    quiet: bool,
) -> Result<IngestedRows> {
    let bar = if std::io::stderr().is_terminal() && !quiet {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} reading {msg} {bar:30} {bytes}/{total_bytes} ({eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        Some(bar)
    } else {
        None
    };
    let progress = |done: u64, _total: u64| {
        if let Some(b) = &bar {
            b.set_position(done);
        }
    };
    let opts = ReadOptions {
        mapping,
        strict,
        progress: Some(&progress),
        split_min_bytes: None,
    };
    let got = flowgate_ingest::read_rows(path, &opts);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let got = got?;
    if !quiet {
        for w in &got.warnings {
            eprintln!("warning: {w}");
        }
        if got.detected
            && let Some(h) = &got.mapping.history
        {
            eprintln!(
                "read as a {} history (preset {})",
                h.shape,
                h.shape.preset()
            );
        } else if got.detected {
            eprintln!(
                "detected mapping: {} (no states mapped: every case counts as resolved at its last event)",
                got.mapping
                    .describe(got.format == flowgate_ingest::Format::Xes)
            );
        }
        if got.rejected > 0 {
            eprintln!(
                "warning: {} of {} rows rejected (use --strict to fail instead); first ones:",
                got.rejected, got.rows
            );
            for d in got.diagnostics.iter().take(5) {
                eprintln!("  {d}");
            }
        }
    }
    Ok(got)
}
