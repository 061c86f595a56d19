//! The demand section: flow per bucket and per intent, and the top automation candidates.
//! One table model, rendered by every format.

use std::fmt::Write;

use flowgate_flow::demand::{Demand, FlowFigures};

use crate::fmt::{count, duration, opt_duration, pct};
use crate::svg::{self, esc};

pub struct Table {
    pub title: &'static str,
    pub note: String,
    pub head: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

fn spread(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())
}

fn flow_cells(f: &FlowFigures) -> Vec<String> {
    vec![
        count(f.tickets),
        pct(Some(f.share)),
        opt_duration(f.cycle_time_s.p50),
        opt_duration(f.cycle_time_s.p85),
        spread(f.cycle_spread),
        opt_duration(f.touch_time_s.p50),
        format!("{:.2}", f.handoffs_per_ticket),
        pct(f.reopen_rate),
    ]
}

pub fn tables(d: &Demand) -> Vec<Table> {
    let buckets = Table {
        title: "Demand by bucket",
        note: format!(
            "{} tickets joined to cases ({} cases without a ticket). A ticket counts as ambiguous when its intent is, or when it was classified without confidence.",
            count(d.tickets),
            count(d.cases_without_ticket)
        ),
        head: &[
            "bucket",
            "intents",
            "tickets",
            "share",
            "cycle p50",
            "cycle p85",
            "p85/p50",
            "touch p50",
            "handoffs/ticket",
            "reopened",
        ],
        rows: d
            .buckets
            .iter()
            .map(|b| {
                let mut r = vec![b.bucket.as_str().to_owned(), count(b.intents)];
                r.extend(flow_cells(&b.flow));
                r
            })
            .collect(),
    };
    let intents = Table {
        title: "Demand by intent",
        note: "Intent figures use the tickets classified with confidence; volume counts all."
            .into(),
        head: &[
            "intent",
            "bucket",
            "tickets",
            "share",
            "cycle p50",
            "cycle p85",
            "p85/p50",
            "touch p50",
            "handoffs/ticket",
            "reopened",
            "why",
        ],
        rows: d
            .intents
            .iter()
            .map(|i| {
                let mut r = vec![i.intent.clone(), i.bucket.as_str().to_owned()];
                r.extend(flow_cells(&i.flow));
                r.push(i.explanation.clone());
                r
            })
            .collect(),
    };
    let candidates = Table {
        title: "Top automation candidates",
        note: "Repetitive intents ranked by volume × repetitiveness (first-pass share × confidently classified share), with the cycle time they hold.".into(),
        head: &[
            "#",
            "intent",
            "tickets",
            "repetitiveness",
            "cycle p50",
            "cycle time held",
            "share of cycle time",
        ],
        rows: d
            .candidates
            .iter()
            .enumerate()
            .map(|(k, c)| {
                vec![
                    (k + 1).to_string(),
                    c.intent.clone(),
                    count(c.tickets),
                    format!("{:.2}", c.repetitiveness),
                    opt_duration(c.cycle_time_p50_s),
                    duration(c.cycle_time_total_s),
                    pct(Some(c.cycle_time_share)),
                ]
            })
            .collect(),
    };
    vec![buckets, intents, candidates]
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

pub fn markdown(d: &Demand, s: &mut String) {
    for t in tables(d) {
        let _ = write!(
            s,
            "\n## {}\n\n{}\n\n| {} |\n|",
            t.title,
            t.note,
            t.head.join(" | ")
        );
        s.push_str(&"---|".repeat(t.head.len()));
        s.push('\n');
        for r in &t.rows {
            let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
    }
}

pub fn text(d: &Demand, s: &mut String) {
    s.push_str("\nDemand by bucket\n");
    for b in &d.buckets {
        let _ = writeln!(
            s,
            "  {:<11} {:>7} tickets ({:>6}) · cycle p50 {} p85 {} · {:.2} handoffs/ticket · reopened {}",
            b.bucket.as_str(),
            count(b.flow.tickets),
            pct(Some(b.flow.share)),
            opt_duration(b.flow.cycle_time_s.p50),
            opt_duration(b.flow.cycle_time_s.p85),
            b.flow.handoffs_per_ticket,
            pct(b.flow.reopen_rate)
        );
    }
    s.push_str("Intents\n");
    let width = d.intents.iter().map(|i| i.intent.len()).max().unwrap_or(0);
    for i in &d.intents {
        let _ = writeln!(
            s,
            "  {:<width$}  {:<10} {}",
            i.intent,
            i.bucket.as_str(),
            i.explanation
        );
    }
    if !d.candidates.is_empty() {
        s.push_str("Top automation candidates\n");
        for (k, c) in d.candidates.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {}. {} — {} tickets, repetitiveness {:.2}, holds {} of cycle time ({})",
                k + 1,
                c.intent,
                count(c.tickets),
                c.repetitiveness,
                pct(Some(c.cycle_time_share)),
                duration(c.cycle_time_total_s)
            );
        }
    }
}

pub fn html(d: &Demand, s: &mut String) {
    s.push_str("<h2 id=\"demand\">Demand: what kind of work arrives</h2>");
    let rows: Vec<(String, f64, String)> = d
        .buckets
        .iter()
        .map(|b| {
            (
                b.bucket.as_str().to_owned(),
                b.flow.tickets as f64,
                format!(
                    "{} tickets · {} · p50 {}",
                    count(b.flow.tickets),
                    pct(Some(b.flow.share)),
                    opt_duration(b.flow.cycle_time_s.p50)
                ),
            )
        })
        .collect();
    s.push_str(&svg::hbars(&rows));
    for t in tables(d) {
        let _ = write!(
            s,
            "<h3>{}</h3><p class=\"note\">{}</p><table class=\"demand\"><tr>",
            t.title,
            esc(&t.note)
        );
        for h in t.head {
            let _ = write!(s, "<th>{h}</th>");
        }
        s.push_str("</tr>");
        for r in &t.rows {
            s.push_str("<tr>");
            for c in r {
                let _ = write!(s, "<td>{}</td>", esc(c));
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
}
