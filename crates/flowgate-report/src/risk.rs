//! The risk layer's week in the static report: the gate's decisions by action, act
//! coverage, the automation rate, the sampled and reviewed acts, reviewed precision with its
//! interval, and defects by intent and failure mode.

use std::fmt::Write;

use serde::Serialize;

use crate::fmt::pct;
use crate::svg::esc;

/// One week of the risk layer, as the report shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RiskWeek {
    /// The ISO week (`2026-W48`).
    pub week: String,
    pub decisions: u64,
    /// (action, decisions), in the order given.
    pub by_action: Vec<(String, u64)>,
    pub act_coverage: Option<f64>,
    /// Acted on and not reopened, per decision.
    pub automation_rate: Option<f64>,
    pub sampled: usize,
    pub reviewed: usize,
    pub defects: usize,
    /// Reviewed precision (weighted) and its 95% interval.
    pub precision: Option<(f64, (f64, f64))>,
    /// (intent, failure mode, defects).
    pub failure_modes: Vec<(String, String, usize)>,
}

impl RiskWeek {
    fn precision_text(&self) -> String {
        match self.precision {
            Some((p, (lo, hi))) => format!(
                "{} (95% CI {}–{})",
                pct(Some(p)),
                pct(Some(lo)),
                pct(Some(hi))
            ),
            None => "no reviews".into(),
        }
    }

    fn actions_text(&self) -> String {
        self.by_action
            .iter()
            .map(|(a, n)| format!("{a} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The figures as (label, value) rows.
    fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "decisions",
                format!("{} ({})", self.decisions, self.actions_text()),
            ),
            ("act coverage", pct(self.act_coverage)),
            ("automation rate", pct(self.automation_rate)),
            (
                "acts sampled / reviewed / defects",
                format!("{} / {} / {}", self.sampled, self.reviewed, self.defects),
            ),
            ("reviewed precision", self.precision_text()),
        ]
    }
}

pub(crate) fn html(r: &RiskWeek, s: &mut String) {
    let _ = write!(
        s,
        "<h2>The gate's week {}</h2><div class=\"cards\">",
        esc(&r.week)
    );
    for (label, value) in r.rows() {
        let _ = write!(
            s,
            "<div class=\"card\"><b>{label}</b><span>{}</span></div>",
            esc(&value)
        );
    }
    s.push_str("</div>");
    if !r.failure_modes.is_empty() {
        s.push_str("<table><tr><th>intent</th><th>failure mode</th><th>defects</th></tr>");
        for (i, m, n) in &r.failure_modes {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{n}</td></tr>",
                esc(i),
                esc(m)
            );
        }
        s.push_str("</table>");
    }
    s.push_str("<p class=\"note\">From the audit chain and the review queue; the automation rate counts acts whose ticket was not reopened afterwards.</p>");
}

pub(crate) fn markdown(r: &RiskWeek, s: &mut String) {
    let _ = write!(
        s,
        "\n## The gate's week {}\n\n| figure | value |\n|---|---|\n",
        r.week
    );
    for (label, value) in r.rows() {
        let _ = writeln!(s, "| {label} | {value} |");
    }
    if !r.failure_modes.is_empty() {
        s.push_str("\n| intent | failure mode | defects |\n|---|---|---:|\n");
        for (i, m, n) in &r.failure_modes {
            let _ = writeln!(s, "| {i} | {m} | {n} |");
        }
    }
}

pub(crate) fn text(r: &RiskWeek, s: &mut String) {
    let _ = writeln!(s, "\nThe gate's week {}", r.week);
    for (label, value) in r.rows() {
        let _ = writeln!(s, "  {label:<34} {value}");
    }
    for (i, m, n) in &r.failure_modes {
        let _ = writeln!(s, "  defects: {i} / {m}: {n}");
    }
}
