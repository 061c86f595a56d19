//! Reports of the value layer and the what-if simulator: the weekly scorecard, pilot vs
//! baseline (with budget terms and the one-page executive summary), simulation results.

use std::fmt::Write;

use flowgate_sim::des::{Band, SimResult};
use flowgate_value::budget::BudgetTerms;
use flowgate_value::compare::{Better, Compare, Measure};
use flowgate_value::scorecard::{Scorecard, WeekCard, sparkline};

use crate::Format;
use crate::fmt::{count, duration, opt_duration};
use crate::html::CSS;
use crate::svg::{self, esc};

fn page(title: &str, sub: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{CSS}</style></head><body><main><h1>{t}</h1><p class=\"sub\">{s}</p>{body}</main></body></html>\n",
        t = esc(title),
        s = esc(sub),
    )
}

fn json<T: serde::Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn pct1(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:.1}%", v * 100.0))
}

fn signed_pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:+.0}%", v * 100.0))
}

fn points(x: Option<f64>, scale: f64) -> String {
    x.map_or("–".into(), |v| format!("{:+.1} pts", v * scale))
}

// ---------------------------------------------------------------- scorecard

fn defects(w: &WeekCard) -> String {
    match w.defects_per_100 {
        Some(d) => format!("{d:.1}{}", if w.provisional { "*" } else { "" }),
        None => "–".into(),
    }
}

/// The weekly scorecard in the chosen format.
pub fn scorecard(s: &Scorecard, source: &str, format: Format) -> String {
    match format {
        Format::Json => json(s),
        Format::Text => scorecard_text(s, source),
        Format::Markdown => scorecard_md(s, source),
        Format::Html => scorecard_html(s, source),
    }
}

fn headline_rows(s: &Scorecard) -> Vec<(&'static str, String, String, String)> {
    let Some(w) = s.latest() else {
        return Vec::new();
    };
    let ch = s.change.as_ref();
    let p50: Vec<Option<f64>> = s.weeks.iter().map(|w| w.cycle_time_p50_s).collect();
    let def: Vec<Option<f64>> = s.weeks.iter().map(|w| w.defects_per_100).collect();
    let esc_: Vec<Option<f64>> = s.weeks.iter().map(|w| w.escalation_rate).collect();
    vec![
        (
            "Cycle time",
            format!(
                "p50 {} · p85 {}",
                opt_duration(w.cycle_time_p50_s),
                opt_duration(w.cycle_time_p85_s)
            ),
            format!(
                "p50 {} · p85 {}",
                signed_pct(ch.and_then(|c| c.cycle_time_p50_rel)),
                signed_pct(ch.and_then(|c| c.cycle_time_p85_rel))
            ),
            sparkline(&p50),
        ),
        (
            "Quality defects",
            format!("{} per 100 resolved", defects(w)),
            points(ch.and_then(|c| c.defects_per_100_abs), 1.0).replace(" pts", ""),
            sparkline(&def),
        ),
        (
            "Escalation rate",
            pct1(w.escalation_rate),
            points(ch.and_then(|c| c.escalation_rate_abs), 100.0),
            sparkline(&esc_),
        ),
    ]
}

fn scorecard_text(s: &Scorecard, source: &str) -> String {
    let mut o = String::new();
    let Some(w) = s.latest() else {
        return "no weeks to show\n".into();
    };
    let _ = writeln!(
        o,
        "Weekly scorecard · {} · {} ({} resolved)\n",
        source,
        w.week,
        count(w.resolved)
    );
    let _ = writeln!(
        o,
        "{:<16} {:<34} {:<22} {} weeks",
        "",
        "this week",
        "vs last week",
        s.weeks.len()
    );
    for (name, now, change, spark) in headline_rows(s) {
        let _ = writeln!(o, "{name:<16} {now:<34} {change:<22} {spark}");
    }
    let _ = writeln!(
        o,
        "\n{:<10} {:>9} {:>10} {:>10} {:>9} {:>8} {:>9} {:>10}",
        "week", "resolved", "cycle p50", "cycle p85", "reopens", "reviewed", "def/100", "escalated"
    );
    for w in &s.weeks {
        let _ = writeln!(
            o,
            "{:<10} {:>9} {:>10} {:>10} {:>9} {:>8} {:>9} {:>10}",
            w.week,
            count(w.resolved),
            opt_duration(w.cycle_time_p50_s),
            opt_duration(w.cycle_time_p85_s),
            w.reopens,
            w.reviewed_defects,
            defects(w),
            pct1(w.escalation_rate)
        );
    }
    let _ = writeln!(
        o,
        "\nDefects = reopens within {} days of a resolution in the week + reviewed defects, per 100 resolved. * = provisional: the reopen window has not closed.",
        s.reopen_window_days
    );
    o
}

fn scorecard_md(s: &Scorecard, source: &str) -> String {
    let mut o = String::new();
    let Some(w) = s.latest() else {
        return "no weeks to show\n".into();
    };
    let _ = writeln!(
        o,
        "# Weekly scorecard — {}\n\n{} · {} resolved\n\n| | this week | vs last week | trend |\n|---|---|---|---|",
        w.week,
        source,
        count(w.resolved)
    );
    for (name, now, change, spark) in headline_rows(s) {
        let _ = writeln!(o, "| **{name}** | {now} | {change} | {spark} |");
    }
    let _ = writeln!(
        o,
        "\n| week | resolved | cycle p50 | cycle p85 | reopens | reviewed defects | defects / 100 | escalation |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for w in &s.weeks {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            w.week,
            count(w.resolved),
            opt_duration(w.cycle_time_p50_s),
            opt_duration(w.cycle_time_p85_s),
            w.reopens,
            w.reviewed_defects,
            defects(w),
            pct1(w.escalation_rate)
        );
    }
    let _ = writeln!(
        o,
        "\nDefects: reopens within {} days of a resolution made that week plus reviewed defects, per 100 resolved; `*` = provisional (the reopen window is still open).",
        s.reopen_window_days
    );
    o
}

fn scorecard_body(s: &Scorecard) -> String {
    let mut b = String::new();
    b.push_str("<div class=\"cards\">");
    for (name, now, change, _) in headline_rows(s) {
        let _ = write!(
            b,
            "<div class=\"card\"><b>{}</b><span>{}</span><small>vs last week: {}</small></div>",
            esc(name),
            esc(&now),
            esc(&change)
        );
    }
    b.push_str("</div>");
    let labels: Vec<String> = s.weeks.iter().map(|w| w.week.clone()).collect();
    let h = |v: Option<f64>| v.unwrap_or(0.0) / 3600.0;
    let _ = write!(
        b,
        "<h2>Cycle time (hours)</h2>{}",
        svg::lines(
            &labels,
            &[
                (
                    "p50",
                    s.weeks.iter().map(|w| h(w.cycle_time_p50_s)).collect()
                ),
                (
                    "p85",
                    s.weeks.iter().map(|w| h(w.cycle_time_p85_s)).collect()
                ),
            ]
        )
    );
    let _ = write!(
        b,
        "<h2>Quality defects per 100 resolved</h2>{}",
        svg::lines(
            &labels,
            &[(
                "defects / 100",
                s.weeks
                    .iter()
                    .map(|w| w.defects_per_100.unwrap_or(0.0))
                    .collect()
            )]
        )
    );
    let _ = write!(
        b,
        "<h2>Escalation rate (%)</h2>{}",
        svg::lines(
            &labels,
            &[(
                "escalated %",
                s.weeks
                    .iter()
                    .map(|w| w.escalation_rate.unwrap_or(0.0) * 100.0)
                    .collect()
            )]
        )
    );
    b
}

fn scorecard_html(s: &Scorecard, source: &str) -> String {
    let title = format!(
        "Weekly scorecard — {}",
        s.latest().map_or("no data", |w| w.week.as_str())
    );
    let mut body = scorecard_body(s);
    let _ = write!(
        body,
        "<p class=\"note\">Defects: reopens within {} days of a resolution made that week plus reviewed defects, per 100 resolved; * = provisional (the reopen window is still open). Escalation: escalated cases among those resolved that week.</p>",
        s.reopen_window_days
    );
    page(&title, source, &body)
}

/// The scorecard as an HTML section for another page (the demo report).
pub fn scorecard_section(s: &Scorecard) -> String {
    scorecard_body(s)
}

// ---------------------------------------------------------------- compare

fn value(m: &Measure, v: Option<f64>) -> String {
    match (m.unit, v) {
        (_, None) => "–".into(),
        ("s", Some(x)) => duration(x),
        ("share", Some(x)) => format!("{:.1}%", x * 100.0),
        ("per_day", Some(x)) => format!("{x:.1}/day"),
        ("days", Some(x)) => format!("{x:.1} d"),
        (_, Some(x)) => format!("{x:.3}"),
    }
}

fn delta(m: &Measure, v: Option<f64>) -> String {
    match (m.unit, v) {
        (_, None) => "–".into(),
        ("s", Some(x)) => {
            if x >= 0.0 {
                format!("+{}", duration(x))
            } else {
                duration(x)
            }
        }
        ("share", Some(x)) => format!("{:+.1} pts", x * 100.0),
        ("per_day", Some(x)) => format!("{x:+.1}/day"),
        ("days", Some(x)) => format!("{x:+.1} d"),
        (_, Some(x)) => format!("{x:+.3}"),
    }
}

fn interval(m: &Measure, ci: Option<(f64, f64)>) -> String {
    ci.map_or("–".into(), |(lo, hi)| {
        format!("[{}, {}]", delta(m, Some(lo)), delta(m, Some(hi)))
    })
}

fn verdict(m: &Measure, diff: Option<f64>, ci: Option<(f64, f64)>) -> &'static str {
    let Some(d) = diff else { return "" };
    let sig = ci.is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0);
    if !sig {
        return "no clear change";
    }
    let better = match m.better {
        Better::Lower => d < 0.0,
        Better::Higher => d > 0.0,
    };
    if better { "better" } else { "worse" }
}

fn label(name: &str) -> String {
    name.replace('_', " ")
}

/// Pilot vs baseline (and budget terms when given) in the chosen format.
pub fn compare(c: &Compare, budget: Option<&BudgetTerms>, format: Format) -> String {
    match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Both<'a> {
                #[serde(flatten)]
                compare: &'a Compare,
                budget: Option<&'a BudgetTerms>,
            }
            json(&Both { compare: c, budget })
        }
        Format::Text | Format::Markdown => compare_md(c, budget, format == Format::Text),
        Format::Html => page("Pilot vs baseline", &periods(c), &compare_body(c, budget)),
    }
}

/// Pilot vs baseline as an HTML section (the periods, the measures raw and mix-adjusted
/// with their intervals, the segments, budget terms): the service's Pilot page.
pub fn compare_section(c: &Compare, budget: Option<&BudgetTerms>) -> String {
    format!(
        "<p class=\"note\">{}</p>{}",
        esc(&periods(c)),
        compare_body(c, budget)
    )
}

fn periods(c: &Compare) -> String {
    let d = flowgate_flow::time::format_date;
    format!(
        "baseline {}..{} ({} cases) · pilot {}..{} ({} cases) · {} bootstrap resamples",
        d(c.baseline.from_ms),
        d(c.baseline.to_ms),
        count(c.baseline_cases),
        d(c.pilot.from_ms),
        d(c.pilot.to_ms),
        count(c.pilot_cases),
        c.resamples
    )
}

fn compare_md(c: &Compare, budget: Option<&BudgetTerms>, plain: bool) -> String {
    let mut o = String::new();
    let adj = c.measures.iter().any(|m| m.adjusted.is_some());
    let _ = writeln!(o, "# Pilot vs baseline\n\n{}\n", periods(c));
    let mut head = vec![
        "measure",
        "baseline",
        "pilot",
        "difference",
        "95% CI",
        "verdict",
    ];
    if adj {
        head.extend(["mix-adjusted diff", "95% CI", "verdict"]);
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for m in &c.measures {
        let mut r = vec![
            label(m.name),
            value(m, m.baseline),
            value(m, m.pilot),
            delta(m, m.difference),
            interval(m, m.ci95),
            verdict(m, m.difference, m.ci95).to_owned(),
        ];
        if adj {
            match &m.adjusted {
                Some(a) => r.extend([
                    delta(m, a.difference),
                    interval(m, a.ci95),
                    verdict(m, a.difference, a.ci95).to_owned(),
                ]),
                None => r.extend(["".into(), "".into(), "".into()]),
            }
        }
        rows.push(r);
    }
    table(&mut o, &head, &rows, plain);
    if let Some(t) = &c.cycle_time_rank_test {
        let _ = writeln!(
            o,
            "\nRank test (Mann–Whitney) on cycle time: z = {:.2}, p {}; a pilot case is faster than a baseline case with probability {:.1}%.",
            t.z,
            p_value(t.p_value),
            t.prob_pilot_faster * 100.0
        );
    }
    if !c.segments.is_empty() {
        let _ = writeln!(
            o,
            "\n## Demand mix by {}\n",
            c.by.as_deref().unwrap_or("segment")
        );
        let rows: Vec<Vec<String>> = c
            .segments
            .iter()
            .map(|s| {
                vec![
                    s.segment.clone(),
                    count(s.baseline_cases),
                    format!("{:.1}%", s.baseline_share * 100.0),
                    count(s.pilot_cases),
                    format!("{:.1}%", s.pilot_share * 100.0),
                    opt_duration(s.baseline_cycle_p50_s),
                    opt_duration(s.pilot_cycle_p50_s),
                ]
            })
            .collect();
        table(
            &mut o,
            &[
                "segment",
                "baseline cases",
                "share",
                "pilot cases",
                "share",
                "baseline p50",
                "pilot p50",
            ],
            &rows,
            plain,
        );
    }
    if !c.notes.is_empty() {
        let _ = writeln!(o, "\n## Read this first\n");
        for n in &c.notes {
            let _ = writeln!(o, "- {n}");
        }
    }
    if let Some(b) = budget {
        let _ = writeln!(o, "\n## In budget terms ({})\n", b.currency);
        let rows: Vec<Vec<String>> = b
            .terms
            .iter()
            .map(|t| {
                vec![
                    label(t.name),
                    t.value.map_or("–".into(), |v| format!("{v:.1} {}", t.unit)),
                    t.ci95
                        .map_or("–".into(), |(a, z)| format!("[{a:.1}, {z:.1}]")),
                    t.money.map_or("".into(), |v| money(v, &b.currency)),
                    t.money_ci95.map_or("".into(), |(a, z)| {
                        format!("[{}, {}]", money(a, &b.currency), money(z, &b.currency))
                    }),
                    t.how.clone(),
                ]
            })
            .collect();
        table(
            &mut o,
            &["term", "value", "95% CI", "a month", "95% CI", "how"],
            &rows,
            plain,
        );
        for n in &b.notes {
            let _ = writeln!(o, "\n{n}");
        }
    }
    o
}

fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("= {p:.3}")
    }
}

fn money(v: f64, currency: &str) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}{} {currency}", count(v.abs().round() as u64))
}

fn table(o: &mut String, head: &[&str], rows: &[Vec<String>], plain: bool) {
    if plain {
        let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
        for r in rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<width$}", width = w[i]))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let _ = writeln!(o, "{}", line(head.to_vec()));
        for r in rows {
            let _ = writeln!(o, "{}", line(r.iter().map(String::as_str).collect()));
        }
    } else {
        let _ = writeln!(o, "| {} |", head.join(" | "));
        let _ = writeln!(o, "|{}", "---|".repeat(head.len()));
        for r in rows {
            let _ = writeln!(o, "| {} |", r.join(" | "));
        }
    }
}

fn html_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

fn compare_body(c: &Compare, budget: Option<&BudgetTerms>) -> String {
    // Markdown tables → HTML tables, section by section, from the same rows.
    let md = compare_md(c, budget, false);
    let mut body = String::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head: Vec<String> = Vec::new();
    let flush = |body: &mut String, head: &mut Vec<String>, rows: &mut Vec<Vec<String>>| {
        if !head.is_empty() {
            let h: Vec<&str> = head.iter().map(String::as_str).collect();
            body.push_str(&html_table(&h, rows));
            head.clear();
            rows.clear();
        }
    };
    for line in md.lines().skip(1) {
        if let Some(cells) = line.strip_prefix("| ").and_then(|l| l.strip_suffix(" |")) {
            let cells: Vec<String> = cells.split(" | ").map(str::to_owned).collect();
            if head.is_empty() {
                head = cells;
            } else {
                rows.push(cells);
            }
            continue;
        }
        if line.starts_with("|---") {
            continue;
        }
        flush(&mut body, &mut head, &mut rows);
        if let Some(h) = line.strip_prefix("## ") {
            let _ = write!(body, "<h2>{}</h2>", esc(h));
        } else if let Some(item) = line.strip_prefix("- ") {
            let _ = write!(body, "<p class=\"note\">• {}</p>", esc(item));
        } else if !line.trim().is_empty() && !line.starts_with("baseline ") {
            let _ = write!(body, "<p>{}</p>", esc(line));
        }
    }
    flush(&mut body, &mut head, &mut rows);
    body
}

/// The one-page executive summary: what changed, what it is worth, how sure we are.
pub fn exec_summary(c: &Compare, b: &BudgetTerms, source: &str) -> String {
    let mut body = String::new();
    let term = |n: &str| b.terms.iter().find(|t| t.name == n);
    body.push_str("<div class=\"cards\">");
    let clear = |t: &flowgate_value::budget::Term| t.ci95.is_some_and(|(a, z)| a > 0.0 || z < 0.0);
    if let Some(t) = term("agent_hours_freed") {
        let headline = if clear(t) {
            t.money.map_or("–".into(), |v| money(v, &b.currency))
        } else {
            "no clear saving".into()
        };
        let _ = write!(
            body,
            "<div class=\"card\"><b>Worth a month</b><span>{}</span><small>{:.0} agent hours freed (95%: {})</small></div>",
            esc(&headline),
            t.value.unwrap_or(0.0),
            esc(&t
                .ci95
                .map_or("–".into(), |(a, z)| format!("{a:.0} to {z:.0}")))
        );
    }
    for (name, title, unit) in [
        (
            "faster_closure_p50",
            "Faster closure (median)",
            "days per ticket",
        ),
        ("backlog_days_reduced", "Backlog days reduced", "days"),
        (
            "fewer_reworked_tickets",
            "Fewer reworked tickets",
            "a month",
        ),
        ("sla_points_gained", "SLA points gained", "points"),
        (
            "customers_kept",
            "Customers kept (churn by band)",
            "a month",
        ),
    ] {
        if let Some(t) = term(name) {
            let headline = if clear(t) {
                t.value.map_or("–".into(), |v| format!("{v:.2} {unit}"))
            } else {
                "no clear change".into()
            };
            let _ = write!(
                body,
                "<div class=\"card\"><b>{title}</b><span>{}</span><small>{} (95%: {})</small></div>",
                esc(&headline),
                t.value.map_or("–".into(), |v| format!("{v:.2} {unit}")),
                esc(&t
                    .ci95
                    .map_or("–".into(), |(a, z)| format!("{a:.2} to {z:.2}")))
            );
        }
    }
    body.push_str("</div>");
    let m = |n: &str| c.measure(n);
    let adjusted_any = c.measures.iter().any(|x| x.adjusted.is_some());
    let _ = write!(body, "<h2>What changed</h2>");
    let rows: Vec<Vec<String>> = [
        "cycle_time_p50",
        "cycle_time_p85",
        "first_pass_resolution",
        "rework_rate",
        "escalation_rate",
        "sla_adherence",
        "backlog_days",
    ]
    .iter()
    .filter_map(|n| m(n))
    .map(|x| {
        let (pilot, d, ci) = match &x.adjusted {
            Some(a) => (a.pilot, a.difference, a.ci95),
            None => (x.pilot, x.difference, x.ci95),
        };
        vec![
            label(x.name),
            value(x, x.baseline),
            value(x, pilot),
            delta(x, d),
            interval(x, ci),
            verdict(x, d, ci).to_owned(),
        ]
    })
    .collect();
    body.push_str(&html_table(
        &[
            "measure",
            "before",
            if adjusted_any {
                "pilot (at the baseline's mix)"
            } else {
                "pilot"
            },
            "change",
            "95% interval",
            "verdict",
        ],
        &rows,
    ));
    let adjusted = adjusted_any;
    let _ = write!(
        body,
        "<p class=\"note\">Changes {}; intervals are 95% bootstrap intervals ({} resamples). Money counts agent time only (loaded cost {} {} an hour, {} tickets a month); where an interval includes zero the card says so instead of claiming a number.</p>",
        if adjusted {
            format!(
                "compare like with like: the pilot is re-weighted to the baseline's mix of {}",
                c.by.as_deref().unwrap_or("segments")
            )
        } else {
            "are raw".to_owned()
        },
        c.resamples,
        b.inputs.loaded_cost_per_agent_hour,
        b.currency,
        count(b.inputs.tickets_per_month.round() as u64)
    );
    if !c.notes.is_empty() {
        body.push_str("<h2>Read this first</h2>");
        for n in &c.notes {
            let _ = write!(body, "<p class=\"note\">• {}</p>", esc(n));
        }
    }
    page(
        "Executive summary: pilot vs baseline",
        &format!("{source} · {}", periods(c)),
        &body,
    )
}

// ---------------------------------------------------------------- simulation

fn band_d(b: Option<Band>) -> String {
    b.map_or("–".into(), |b| {
        format!(
            "{} [{} – {}]",
            duration(b.mean),
            duration(b.lo),
            duration(b.hi)
        )
    })
}

fn band_p(b: Option<Band>) -> String {
    b.map_or("–".into(), |b| {
        format!(
            "{:.1}% [{:.1} – {:.1}]",
            b.mean * 100.0,
            b.lo * 100.0,
            b.hi * 100.0
        )
    })
}

/// A simulation (optionally against a second, baseline run) in the chosen format.
pub fn simulation(
    r: &SimResult,
    baseline: Option<&SimResult>,
    title: &str,
    format: Format,
) -> String {
    match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Both<'a> {
                #[serde(flatten)]
                scenario: &'a SimResult,
                baseline: Option<&'a SimResult>,
            }
            json(&Both {
                scenario: r,
                baseline,
            })
        }
        Format::Text | Format::Markdown => sim_md(r, baseline, title, format == Format::Text),
        Format::Html => page(title, &sim_sub(r), &simulation_section(r, baseline)),
    }
}

fn sim_sub(r: &SimResult) -> String {
    format!(
        "{} replications of {} days · {} cases per replication (5–95%: {}–{}) · bands are the 5th–95th percentile over replications",
        r.replications,
        r.days,
        count(r.cases.mean.round() as u64),
        count(r.cases.lo as u64),
        count(r.cases.hi as u64)
    )
}

fn sim_rows(r: &SimResult, baseline: Option<&SimResult>) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let mut head = vec!["measure", "scenario"];
    if baseline.is_some() {
        head.push("baseline");
    }
    let mut rows = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&SimResult) -> String| {
        let mut v = vec![name.to_owned(), f(r)];
        if let Some(b) = baseline {
            v.push(f(b));
        }
        rows.push(v);
    };
    row("cycle time p50", &|x| band_d(x.cycle_time_p50_s));
    row("cycle time p85", &|x| band_d(x.cycle_time_p85_s));
    row("cycle time p95", &|x| band_d(x.cycle_time_p95_s));
    row("queue wait for capacity (mean)", &|x| {
        band_d(x.queue_wait_mean_s)
    });
    row("SLA adherence", &|x| band_p(x.sla_adherence));
    row("handled by AI", &|x| band_p(x.ai_handled_share));
    row("AI answers that came back", &|x| band_p(x.ai_reopen_share));
    row("backlog at the end", &|x| {
        x.backlog.last().map_or("–".into(), |b| {
            format!("{:.0} [{:.0} – {:.0}]", b.mean, b.lo, b.hi)
        })
    });
    row("peak backlog (mean run)", &|x| {
        format!(
            "{:.0}",
            x.backlog.iter().map(|b| b.mean).fold(0.0, f64::max)
        )
    });
    (head, rows)
}

fn sim_md(r: &SimResult, baseline: Option<&SimResult>, title: &str, plain: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# {title}\n\n{}\n", sim_sub(r));
    let (head, rows) = sim_rows(r, baseline);
    table(&mut o, &head, &rows, plain);
    let v = &baseline.unwrap_or(r).validation;
    if !v.is_empty() {
        let _ = writeln!(
            o,
            "\nValidation (baseline scenario against the observed log, target within 10%):"
        );
        for c in v {
            let _ = writeln!(
                o,
                "- {}: observed {}, simulated {} ({:+.1}%) — {}",
                c.measure,
                duration(c.observed_s),
                duration(c.simulated_s),
                c.relative_error * 100.0,
                if c.within_10pct { "ok" } else { "OUTSIDE 10%" }
            );
        }
    }
    o
}

/// The simulation as an HTML section: table, validation and the backlog chart.
pub fn simulation_section(r: &SimResult, baseline: Option<&SimResult>) -> String {
    let (head, rows) = sim_rows(r, baseline);
    let mut s = html_table(&head, &rows);
    let v = &baseline.unwrap_or(r).validation;
    for c in v {
        let _ = write!(
            s,
            "<p class=\"note\">Validation — {}: observed {}, simulated {} ({:+.1}%, {}).</p>",
            esc(c.measure),
            duration(c.observed_s),
            duration(c.simulated_s),
            c.relative_error * 100.0,
            if c.within_10pct {
                "within 10%"
            } else {
                "outside 10%"
            }
        );
    }
    let labels: Vec<String> = (1..=r.backlog.len()).map(|d| format!("day {d}")).collect();
    let mut series = vec![
        ("backlog (mean)", r.backlog.iter().map(|b| b.mean).collect()),
        ("95th pct", r.backlog.iter().map(|b| b.hi).collect()),
    ];
    if let Some(b) = baseline {
        series.push((
            "baseline (mean)",
            b.backlog.iter().map(|x| x.mean).collect(),
        ));
    }
    let _ = write!(
        s,
        "<h3>Open cases at the end of each day</h3>{}",
        svg::lines(&labels, &series)
    );
    s
}

/// Budget terms as an HTML table (the demo's simulated pilot, the executive page).
pub fn budget_section(b: &BudgetTerms) -> String {
    let rows: Vec<Vec<String>> = b
        .terms
        .iter()
        .map(|t| {
            vec![
                label(t.name),
                t.value.map_or("–".into(), |v| format!("{v:.2} {}", t.unit)),
                t.ci95
                    .map_or("–".into(), |(a, z)| format!("[{a:.2}, {z:.2}]")),
                t.money.map_or("".into(), |v| money(v, &b.currency)),
                t.how.clone(),
            ]
        })
        .collect();
    let mut s = html_table(&["term", "value", "interval", "a month", "how"], &rows);
    for n in &b.notes {
        let _ = write!(s, "<p class=\"note\">{}</p>", esc(n));
    }
    s
}

/// Business outcomes by cycle-time band, as a Markdown (or plain) table.
pub fn outcomes_md(o: &flowgate_value::outcomes::Outcomes, plain: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Outcomes by cycle-time band\n\n{} resolved cases with a customer outcome ({} without). Churn = the customer churned within {} days of the case's resolution.\n",
        count(o.cases_with_customer),
        count(o.cases_without_outcome),
        o.churn_window_days
    );
    let share = |x: &flowgate_value::outcomes::Share| match (x.share, x.ci95) {
        (Some(v), Some((a, z))) => format!(
            "{:.1}% [{:.1}, {:.1}] (n {})",
            v * 100.0,
            a * 100.0,
            z * 100.0,
            x.n
        ),
        _ => "–".into(),
    };
    let rows: Vec<Vec<String>> = o
        .bands
        .iter()
        .map(|b| {
            vec![
                b.label.clone(),
                count(b.cases),
                share(&b.churn),
                match (b.conversion_lag_median_s, b.conversion_lag_ci95) {
                    (Some(m), Some((a, z))) => format!(
                        "{} [{}, {}] (n {})",
                        duration(m),
                        duration(a),
                        duration(z),
                        b.conversions
                    ),
                    _ => "–".into(),
                },
                share(&b.on_time),
            ]
        })
        .collect();
    table(
        &mut s,
        &[
            "cycle time",
            "cases",
            "churned (95% CI)",
            "conversion lag, median (95% CI)",
            "delivered on time (95% CI)",
        ],
        &rows,
        plain,
    );
    s
}
