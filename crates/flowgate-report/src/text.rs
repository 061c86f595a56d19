//! The compact text summary.

use std::fmt::Write;

use flowgate_flow::Baseline;

use crate::Meta;
use crate::fmt::{count, duration, headline, opt_duration, pct};

pub fn render(b: &Baseline, m: &Meta) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} — {} ({})", m.title, m.source, m.mapping);
    let _ = writeln!(
        s,
        "{} events · {} cases ({} resolved, {} open) · {} → {} · {} duplicates dropped{}",
        count(b.events),
        count(b.cases),
        count(b.resolved_cases),
        count(b.open_cases),
        b.first_event.as_deref().unwrap_or("–"),
        b.last_event.as_deref().unwrap_or("–"),
        count(b.duplicates_dropped),
        if m.rejected_rows > 0 {
            format!(" · {} rows rejected", count(m.rejected_rows))
        } else {
            String::new()
        }
    );
    if !b.states_mapped {
        s.push_str("No states mapped: every case counts as resolved at its last event (cycle time = case duration).\n");
    }
    s.push('\n');
    for (label, value, _) in headline(b) {
        let _ = writeln!(s, "{label:<22} {value}");
    }
    if let Some(d) = &b.demand {
        crate::demand::text(d, &mut s);
    }
    if let Some(r) = &m.risk {
        crate::risk::text(r, &mut s);
    }
    if !b.states.is_empty() {
        s.push_str("\nWhere the time goes (resolved cases)\n");
        for st in &b.states {
            if st.total_s > 0.0 {
                let _ = writeln!(
                    s,
                    "  {:<17} {:>6}  {:<20} mean {} per case",
                    st.state.as_str(),
                    pct(Some(st.share)),
                    "█".repeat((st.share * 20.0).round() as usize),
                    duration(st.mean_per_case_s)
                );
            }
        }
    }
    if !b.slowest_edges.is_empty() {
        s.push_str("\nWhere the time lives (edges by total wait)\n");
        for e in b.slowest_edges.iter().take(5) {
            let _ = writeln!(
                s,
                "  {} → {}: {}×, median {}, p90 {}, total {}",
                e.from,
                e.to,
                count(e.count),
                duration(e.wait_median_s),
                duration(e.wait_p90_s),
                duration(e.wait_total_s)
            );
        }
    }
    if !b.handoff_pairs.is_empty() {
        s.push_str("\nHandoffs (team → team)\n");
        for p in b.handoff_pairs.iter().take(5) {
            let _ = writeln!(
                s,
                "  {} → {}: {}×, median wait {}",
                p.from,
                p.to,
                count(p.count),
                opt_duration(p.wait_median_s)
            );
        }
    }
    let _ = writeln!(
        s,
        "\nVariants: {} (top 10 cover {}, {} cover 80% of cases) · process map: {} edges",
        count(b.variants),
        pct(Some(b.variant_coverage.top10)),
        count(b.variant_coverage.variants_for_80pct),
        count(b.dfg_edges)
    );
    if let Some(bl) = &b.backlog {
        let _ = writeln!(
            s,
            "Backlog at {}: {} open · queue age p50 {} p85 {} · backlog days {}",
            bl.as_of,
            count(bl.wip),
            opt_duration(bl.queue_age_s.p50),
            opt_duration(bl.queue_age_s.p85),
            bl.backlog_days
                .map(|d| format!("{d:.1}"))
                .unwrap_or_else(|| "– (no throughput in the last 28 days)".into())
        );
    }
    if let Some(sla) = &b.sla {
        let _ = writeln!(
            s,
            "SLA: resolution met {} · first response met {}",
            pct(sla.resolution_adherence),
            pct(sla.first_response_adherence)
        );
    }
    if let Some(bt) = &b.business {
        let _ = writeln!(
            s,
            "Business time ({}): cycle p50 {} p85 {} · touch {} · wait {} · flow efficiency {}",
            bt.calendar,
            opt_duration(bt.cycle_time_s.p50),
            opt_duration(bt.cycle_time_s.p85),
            crate::fmt::duration(bt.touch_s),
            crate::fmt::duration(bt.wait_s),
            pct(bt.flow_efficiency)
        );
        if let Some(sla) = &bt.sla {
            let _ = writeln!(
                s,
                "SLA in business hours{}: resolution met {} · first response met {}",
                paused(&bt.sla_paused_on),
                pct(sla.resolution_adherence),
                pct(sla.first_response_adherence)
            );
        }
    }
    s
}

/// ", paused while waiting_customer" for the SLA line.
pub(crate) fn paused(states: &[flowgate_flow::State]) -> String {
    if states.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        format!(", paused while {}", names.join(" or "))
    }
}
