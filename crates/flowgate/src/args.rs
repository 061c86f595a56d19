//! Arguments and choices several commands share: where a log comes from, the report format.

use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
use flowgate_report::Format;

use crate::config::Settings;

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
