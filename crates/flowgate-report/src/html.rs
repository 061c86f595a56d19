//! One self-contained HTML file: inline CSS and SVG, no scripts, nothing from the network.

use std::fmt::Write;

use flowgate_flow::{Baseline, State, time};

use crate::Meta;
use crate::fmt::{count, duration, headline, opt_duration, pct};
use crate::svg::{self, esc};

pub(crate) const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;background:#fafafa}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table.demand td:last-child{min-width:16em} table.demand td{white-space:nowrap} table.demand td:last-child{white-space:normal} h3{font-size:15px;margin:18px 0 4px}
.sub{color:#666;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e2e2e2;border-radius:8px;padding:10px 12px}
.card b{display:block;font-size:12px;color:#666;font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.card span{font-size:15px}
.card small{display:block;color:#888;font-size:11px;margin-top:2px}
svg{background:#fff;border:1px solid #e2e2e2;border-radius:8px;max-width:100%;height:auto}
svg text{font-family:system-ui,sans-serif}
.tick{font-size:10px;fill:#666}.label{font-size:12px;fill:#333}.value{font-size:11px;fill:#444}
.legend{font-size:11px;fill:#333}.marker{font-size:11px;fill:#c8553d;font-weight:600}
.node{font-size:11px;fill:#222;font-weight:600}.count{font-size:10px;fill:#666}.edge{font-size:10px;fill:#7a3b2e;paint-order:stroke;stroke:#fff;stroke-width:3px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #e2e2e2;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2} td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#666;font-size:12px}
"#;

pub fn render(b: &Baseline, m: &Meta) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} — {}</title><style>{CSS}</style></head><body><main>",
        esc(&m.title),
        esc(&m.source)
    );
    let _ = write!(
        s,
        "<h1>{}</h1><p class=\"sub\">{} · mapping <code>{}</code> · {} events, {} cases ({} resolved, {} open) · {} → {} · {} duplicates dropped{}</p>",
        esc(&m.title),
        esc(&m.source),
        esc(&m.mapping),
        count(b.events),
        count(b.cases),
        count(b.resolved_cases),
        count(b.open_cases),
        esc(b.first_event.as_deref().unwrap_or("–")),
        esc(b.last_event.as_deref().unwrap_or("–")),
        count(b.duplicates_dropped),
        if m.rejected_rows > 0 {
            format!(" · {} rows rejected", count(m.rejected_rows))
        } else {
            String::new()
        }
    );
    if !b.states_mapped {
        s.push_str("<p class=\"note\">No states are mapped: every case counts as resolved at its last event, so cycle time is the case duration.</p>");
    }
    s.push_str("<div class=\"cards\">");
    for (label, value, meaning) in headline(b) {
        let _ = write!(
            s,
            "<div class=\"card\"><b>{label}</b><span>{}</span><small>{meaning}</small></div>",
            esc(&value)
        );
    }
    s.push_str("</div>");
    if let Some(d) = &b.demand {
        crate::demand::html(d, &mut s);
    }

    // Cycle-time distribution.
    s.push_str("<h2>Cycle-time distribution</h2>");
    let bins: Vec<(f64, f64, u64)> = b
        .cycle_time_histogram
        .iter()
        .map(|h| (h.lower_s, h.upper_s, h.cases))
        .collect();
    let mut markers = Vec::new();
    for (label, v) in [
        ("p50", b.cycle_time_s.p50),
        ("p85", b.cycle_time_s.p85),
        ("p95", b.cycle_time_s.p95),
    ] {
        if let Some(v) = v {
            markers.push((label, v));
        }
    }
    s.push_str(&svg::histogram(&bins, &markers, duration));
    s.push_str("<p class=\"note\">Resolved cases; the last bar also holds the slowest 1%.</p>");

    // Time per state.
    if !b.states.is_empty() {
        s.push_str("<h2>Where the time goes: time per state</h2>");
        let rows: Vec<(String, f64, String)> = b
            .states
            .iter()
            .filter(|st| st.total_s > 0.0)
            .map(|st| {
                (
                    st.state.as_str().to_owned(),
                    st.total_s,
                    format!(
                        "{} · {} per case",
                        pct(Some(st.share)),
                        duration(st.mean_per_case_s)
                    ),
                )
            })
            .collect();
        s.push_str(&svg::hbars(&rows));
        let _ = write!(
            s,
            "<p class=\"note\">Touch (working) {} vs wait (new, waiting) {}: flow efficiency {}.</p>",
            duration(b.touch_s),
            duration(b.wait_s),
            pct(b.flow_efficiency)
        );
    }

    // Process map.
    s.push_str("<h2>Process map</h2>");
    s.push_str(&svg::process_map(
        &b.activities,
        &b.dfg,
        &b.start_activities,
        &b.end_activities,
        duration,
    ));
    let _ = write!(
        s,
        "<p class=\"note\">The {} most frequent activities and the most frequent edges between them; labels are median waits, red edges go back. {} edges and {} variants in all.</p>",
        b.activities.len().min(16),
        count(b.dfg_edges),
        count(b.variants)
    );

    s.push_str("<h2>Where the time lives: edges by total wait</h2><table><tr><th>from</th><th>to</th><th>count</th><th>median</th><th>mean</th><th>p90</th><th>total</th></tr>");
    for e in &b.slowest_edges {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&e.from),
            esc(&e.to),
            count(e.count),
            duration(e.wait_median_s),
            duration(e.wait_mean_s),
            duration(e.wait_p90_s),
            duration(e.wait_total_s)
        );
    }
    s.push_str("</table>");

    if !b.handoff_pairs.is_empty() {
        s.push_str("<h2>Handoffs between teams</h2><table><tr><th>from team</th><th>to team</th><th>count</th><th>median wait until worked</th></tr>");
        for p in b.handoff_pairs.iter().take(15) {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                esc(&p.from),
                esc(&p.to),
                count(p.count),
                opt_duration(p.wait_median_s)
            );
        }
        s.push_str("</table>");
    }

    if let Some(bl) = &b.backlog {
        let _ = write!(
            s,
            "<h2>Backlog aging at {}</h2><p>{} open cases · queue age p50 {} · p85 {} · backlog days {} (throughput {:.1}/day over the last 28 days)</p>",
            esc(&bl.as_of),
            count(bl.wip),
            opt_duration(bl.queue_age_s.p50),
            opt_duration(bl.queue_age_s.p85),
            bl.backlog_days
                .map(|d| format!("{d:.1}"))
                .unwrap_or_else(|| "–".into()),
            bl.mean_daily_throughput_28d
        );
        let rows: Vec<(String, f64, String)> = bl
            .aging
            .iter()
            .map(|a| (a.label.to_owned(), a.cases as f64, count(a.cases)))
            .collect();
        s.push_str(&svg::hbars(&rows));
    }

    if !b.weekly.is_empty() {
        s.push_str("<h2>Weekly arrivals vs throughput</h2>");
        let labels: Vec<String> = b.weekly.iter().map(|w| w.week.clone()).collect();
        s.push_str(&svg::lines(
            &labels,
            &[
                (
                    "arrivals",
                    b.weekly.iter().map(|w| w.arrivals as f64).collect(),
                ),
                (
                    "throughput",
                    b.weekly.iter().map(|w| w.throughput as f64).collect(),
                ),
            ],
        ));
    }

    if let Some(cfd) = &b.cumulative_flow {
        let _ = write!(
            s,
            "<h2>Cumulative flow (cases by state, per {})</h2>",
            cfd.bucket
        );
        let labels: Vec<String> = cfd.t_ms.iter().map(|&t| time::format_date(t)).collect();
        // Done at the bottom, new on top: the classic cumulative-flow reading.
        let order = [
            State::Closed,
            State::Resolved,
            State::Working,
            State::WaitingCustomer,
            State::WaitingInternal,
            State::New,
        ];
        let series: Vec<(String, Vec<f64>)> = order
            .iter()
            .filter_map(|st| {
                cfd.series.get(st).map(|v| {
                    (
                        st.as_str().to_owned(),
                        v.iter().map(|&x| x as f64).collect(),
                    )
                })
            })
            .collect();
        s.push_str(&svg::stacked(&labels, &series));
        // Work in progress alone: the open states, where a growing band is a queue.
        let open: Vec<(String, Vec<f64>)> = series
            .into_iter()
            .filter(|(name, _)| State::parse(name).is_some_and(|st| !st.is_terminal()))
            .collect();
        if !open.is_empty() {
            let _ = write!(s, "<h2>Work in progress by state (per {})</h2>", cfd.bucket);
            s.push_str(&svg::stacked(&labels, &open));
        }
    }

    s.push_str("<h2>Top variants</h2><table><tr><th>#</th><th>cases</th><th>share</th><th>cumulative</th><th>p50 cycle</th><th>activities</th></tr>");
    for (i, v) in b.top_variants.iter().take(10).enumerate() {
        let _ = write!(
            s,
            "<tr><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>",
            i + 1,
            count(v.count),
            pct(Some(v.share)),
            pct(Some(v.cumulative_share)),
            opt_duration(v.cycle_time_p50_s),
            esc(&v.activities.join(" → "))
        );
    }
    s.push_str("</table>");

    if !b.teams.is_empty() {
        s.push_str("<h2>Time per team (resolved cases)</h2><table><tr><th>team</th><th>cases</th><th>owned</th><th>touch</th><th>wait</th><th>handoffs in</th><th>out</th></tr>");
        for t in b.teams.iter().take(15) {
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                esc(&t.team),
                count(t.cases),
                duration(t.total_s),
                duration(t.touch_s),
                duration(t.wait_s),
                count(t.handoffs_in),
                count(t.handoffs_out)
            );
        }
        s.push_str("</table>");
    }

    if let Some(sla) = &b.sla {
        let _ = write!(
            s,
            "<h2>SLA adherence</h2><p>Resolution met {} · first response met {}</p><table><tr><th>priority</th><th>cases</th><th>first response target</th><th>met</th><th>resolution target</th><th>met</th></tr>",
            pct(sla.resolution_adherence),
            pct(sla.first_response_adherence)
        );
        for r in &sla.rows {
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                esc(&r.priority),
                count(r.cases),
                opt_duration(r.first_response_target_s),
                pct(r.first_response_met),
                opt_duration(r.resolution_target_s),
                pct(r.resolution_met)
            );
        }
        s.push_str("</table>");
    }
    s.push_str("<p class=\"note\">Generated by flowgate. Metric definitions: DESIGN.md § Metric definitions; percentiles use the nearest-rank method.</p></main></body></html>\n");
    s
}
