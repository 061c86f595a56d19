//! Reports of a process baseline: compact text, Markdown, JSON, and one self-contained HTML
//! file with inline SVG charts (no scripts, no network).

mod demand;
mod fmt;
mod html;
mod markdown;
mod risk;
mod svg;
mod text;
pub mod value;

use flowgate_flow::Baseline;
use serde::Serialize;

pub use fmt::duration;
pub use html::sections as baseline_sections;
pub use risk::RiskWeek;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Html,
}

/// What the report says about where its numbers came from.
#[derive(Clone, Debug, Serialize)]
pub struct Meta {
    pub title: String,
    pub source: String,
    pub mapping: String,
    pub rejected_rows: u64,
    /// The risk layer's week, when the report reads a store with an audit chain.
    pub risk: Option<RiskWeek>,
}

pub fn render(b: &Baseline, meta: &Meta, format: Format) -> String {
    match format {
        Format::Text => text::render(b, meta),
        Format::Json => json(b, meta),
        Format::Markdown => markdown::render(b, meta),
        Format::Html => html::render(b, meta),
    }
}

/// The baseline's fields at the top level, plus `source`, `mapping` and `rejected_rows`.
pub fn json(b: &Baseline, meta: &Meta) -> String {
    let mut v = serde_json::to_value(b).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("source".into(), meta.source.clone().into());
        obj.insert("mapping".into(), meta.mapping.clone().into());
        obj.insert("rejected_rows".into(), meta.rejected_rows.into());
        if let Some(r) = &meta.risk {
            obj.insert(
                "risk_week".into(),
                serde_json::to_value(r).unwrap_or_default(),
            );
        }
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
