//! Markdown: the headline table and the detail tables, for wikis and pull requests.

use std::fmt::Write;

use flowgate_flow::Baseline;

use crate::Meta;
use crate::fmt::{count, duration, headline, opt_duration, pct};

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

pub fn render(b: &Baseline, m: &Meta) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}: {}\n", m.title, cell(&m.source));
    let _ = writeln!(
        s,
        "{} events, {} cases ({} resolved, {} open), {} to {}; mapping `{}`; {} duplicate events dropped.\n",
        count(b.events),
        count(b.cases),
        count(b.resolved_cases),
        count(b.open_cases),
        b.first_event.as_deref().unwrap_or("–"),
        b.last_event.as_deref().unwrap_or("–"),
        m.mapping,
        count(b.duplicates_dropped)
    );
    s.push_str("| metric | value | meaning |\n|---|---|---|\n");
    for (label, value, meaning) in headline(b) {
        let _ = writeln!(s, "| {label} | {} | {meaning} |", cell(&value));
    }
    if let Some(d) = &b.demand {
        crate::demand::markdown(d, &mut s);
    }
    if let Some(r) = &m.risk {
        crate::risk::markdown(r, &mut s);
    }
    if !b.states.is_empty() {
        s.push_str("\n## Time per state (resolved cases)\n\n| state | total | share | mean per case |\n|---|---|---|---|\n");
        for st in &b.states {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                st.state,
                duration(st.total_s),
                pct(Some(st.share)),
                duration(st.mean_per_case_s)
            );
        }
    }
    s.push_str("\n## Where the time lives (edges by total wait)\n\n| from | to | count | median | p90 | total |\n|---|---|---|---|---|---|\n");
    for e in &b.slowest_edges {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&e.from),
            cell(&e.to),
            count(e.count),
            duration(e.wait_median_s),
            duration(e.wait_p90_s),
            duration(e.wait_total_s)
        );
    }
    if !b.handoff_pairs.is_empty() {
        s.push_str(
            "\n## Handoffs\n\n| from team | to team | count | median wait |\n|---|---|---|---|\n",
        );
        for p in &b.handoff_pairs {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                cell(&p.from),
                cell(&p.to),
                count(p.count),
                opt_duration(p.wait_median_s)
            );
        }
    }
    s.push_str("\n## Top variants\n\n| # | cases | share | cumulative | p50 cycle | activities |\n|---|---|---|---|---|---|\n");
    for (i, v) in b.top_variants.iter().take(10).enumerate() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            count(v.count),
            pct(Some(v.share)),
            pct(Some(v.cumulative_share)),
            opt_duration(v.cycle_time_p50_s),
            cell(&v.activities.join(" → "))
        );
    }
    if let Some(bl) = &b.backlog {
        let _ = writeln!(
            s,
            "\n## Backlog at {}\n\n{} open cases; queue age p50 {}, p85 {}; backlog days {}.\n\n| age | cases |\n|---|---|",
            bl.as_of,
            count(bl.wip),
            opt_duration(bl.queue_age_s.p50),
            opt_duration(bl.queue_age_s.p85),
            bl.backlog_days
                .map(|d| format!("{d:.1}"))
                .unwrap_or_else(|| "–".into())
        );
        for a in &bl.aging {
            let _ = writeln!(s, "| {} | {} |", a.label, count(a.cases));
        }
    }
    if let Some(sla) = &b.sla {
        s.push_str("\n## SLA\n\n| priority | cases | first response target | met | resolution target | met |\n|---|---|---|---|---|---|\n");
        for r in &sla.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&r.priority),
                count(r.cases),
                opt_duration(r.first_response_target_s),
                pct(r.first_response_met),
                opt_duration(r.resolution_target_s),
                pct(r.resolution_met)
            );
        }
    }
    if let Some(bt) = &b.business {
        let _ = writeln!(
            s,
            "\n## Business time ({})\n\n| | p50 | p85 | p95 | mean |\n|---|---|---|---|---|\n| cycle time | {} | {} | {} | {} |\n\nTouch {} · wait {} · flow efficiency {}",
            cell(&bt.calendar),
            opt_duration(bt.cycle_time_s.p50),
            opt_duration(bt.cycle_time_s.p85),
            opt_duration(bt.cycle_time_s.p95),
            opt_duration(bt.cycle_time_s.mean),
            crate::fmt::duration(bt.touch_s),
            crate::fmt::duration(bt.wait_s),
            pct(bt.flow_efficiency)
        );
        if let Some(sla) = &bt.sla {
            let _ = writeln!(
                s,
                "\nSLA in business hours{}: resolution met {} · first response met {}",
                crate::text::paused(&bt.sla_paused_on),
                pct(sla.resolution_adherence),
                pct(sla.first_response_adherence)
            );
        }
    }
    s
}
