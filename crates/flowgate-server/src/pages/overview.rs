//! The Overview: the three numbers, the gate's week, the pilot, alerts.

use flowgate_app::service::figures::PilotFigures;
use flowgate_value::scorecard::WeekCard;

use super::*;

// ---- overview ------------------------------------------------------------------------------

/// Seconds as hours to one decimal, or "–".
pub(super) fn fhours(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |s| format!("{:.1} h", s / 3600.0))
}

/// A share as a percentage, or "–".
pub(super) fn fpct_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), fpct)
}

/// A signed change: relative (`rel`) as a percentage, else in the figure's own unit.
pub(super) fn fchange(v: Option<f64>, rel: bool, scale: f64, unit: &str) -> String {
    match v {
        None => "no previous week".to_owned(),
        Some(x) if rel => format!("{:+.0}% vs last week", x * 100.0),
        Some(x) => format!("{:+.1}{unit} vs last week", x * scale),
    }
}

/// A 12-week trend as an inline SVG polyline (no script, no library).
pub(super) fn sparkline(values: &[Option<f64>], label: &str) -> Markup {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let (lo, hi) = known
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = values.len().max(2) - 1;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            v.map(|x| {
                format!(
                    "{:.1},{:.1}",
                    i as f64 * 120.0 / n as f64,
                    34.0 - (x - lo) / span * 30.0
                )
            })
        })
        .collect();
    html! {
        svg.spark viewBox="0 0 120 36" preserveAspectRatio="none" role="img" aria-label=(label) {
            polyline points=(points.join(" ")) fill="none" stroke="currentColor" stroke-width="2"
                vector-effect="non-scaling-stroke" {}
        }
    }
}

#[derive(Deserialize)]
pub(super) struct OverviewQuery {
    team: Option<String>,
    weeks: Option<usize>,
    week: Option<String>,
}

pub(super) const VERDICTS: [(&str, &str); 4] = [
    (
        "working",
        "Working: better on the headline numbers, worse on none",
    ),
    (
        "mixed",
        "Mixed: better on some headline numbers, worse on others",
    ),
    (
        "not_working",
        "Not working: worse on a headline number, better on none",
    ),
    (
        "unclear",
        "Too early to tell: no headline number has moved beyond its interval",
    ),
];

/// The pilot's day, phase and verdict, when a pilot is planned.
pub(super) fn pilot_banner(v: &PilotFigures) -> Markup {
    let p = &v.pilot;
    let st = &p.standing;
    let verdict = p.verdict.as_ref().map(|v| v.verdict);
    html! {
        section.pilot #pilot aria-label="The pilot" data-verdict=[verdict] {
            p {
                strong { (p.plan.name) ": " }
                @match st.status {
                    "before" => { "starts " (p.plan.start) }
                    "done" => { "complete (" (st.days) " days)" }
                    _ => { span #pilot-day { "day " (st.day) " of " (st.days) }
                        @if let Some(ph) = &st.phase { " · phase " strong #pilot-phase { (ph.name) } } }
                }
                " · " a href="/ui/pilot" { "pilot vs baseline" }
            }
            @if let Some(k) = verdict {
                p.verdict #pilot-verdict { (VERDICTS.iter().find(|x| x.0 == k).map_or(k, |x| x.1)) }
            } @else if let Some(w) = &p.waiting {
                p.muted { "No comparison yet: " (w) "." }
            }
        }
    }
}

pub(super) async fn overview(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<OverviewQuery>,
) -> Page {
    let p = person(&s, &headers).await?;
    let team = q.team.filter(|t| !t.trim().is_empty());
    let weeks = q.weeks.unwrap_or(12).clamp(2, 104);
    let last_week = match q.week.as_deref().filter(|w| !w.trim().is_empty()) {
        Some(w) => Some(flowgate_app::service::parse_week_or_now(Some(w))?),
        None => None,
    };
    let card = s.app.scorecard(None, weeks, last_week, team.clone()).await;
    let flow = s.app.baseline(None, None).await;
    let pilot = match &s.app.options().pilot {
        Some(_) => s.app.pilot(None, None).await.ok(),
        None => None,
    };
    let week = s.app.defect_review(None).await?;
    let gate = s
        .app
        .gate_week(flowgate_app::service::parse_week_or_now(Some(&week.week))?)
        .await?;
    let teams: Vec<String> = card.as_ref().map(|c| c.teams.clone()).unwrap_or_default();
    let latest = card
        .as_ref()
        .ok()
        .and_then(|c| c.scorecard.weeks.last().cloned());
    let backlog_days = flow
        .as_ref()
        .ok()
        .and_then(|f| f.baseline.backlog.as_ref()?.backlog_days);
    let alerts = s.app.options().alerts.check(
        latest.as_ref(),
        backlog_days,
        week.precision.as_ref().map(|p| p.share),
    );
    let body = html! {
        form.filters method="get" action="/ui/" aria-label="Period and team" {
            label { "Team "
                select name="team" {
                    option value="" selected[team.is_none()] { "All teams" }
                    @for t in &teams { option value=(t) selected[team.as_deref() == Some(t.as_str())] { (t) } }
                } }
            label { "Trend "
                select name="weeks" {
                    @for n in [4usize, 12, 26, 52] { option value=(n) selected[n == weeks] { (n) " weeks" } }
                } }
            label { "Week " input name="week" value=(q.week.as_deref().unwrap_or("")) placeholder="latest" pattern="[0-9]{4}-W[0-9]{2}"; }
            button type="submit" { "Show" }
        }
        @if let Some(v) = &pilot { (pilot_banner(v)) }
        @if !alerts.is_empty() {
            section.alerts #alerts role="alert" aria-label="Alerts" {
                ul { @for a in &alerts { li data-figure=(a.figure) { (a.message) } } }
            }
        }
        @match &card {
            Ok(v) => {
                @let c = &v.scorecard;
                @let weeks = &c.weeks;
                @let last = weeks.last();
                @let change = c.change.as_ref();
                @let series = |f: fn(&WeekCard) -> Option<f64>| weeks.iter().map(f).collect::<Vec<_>>();
                p.muted { "Source " strong { (v.source) }
                    @if let Some(t) = &team { ", team " strong { (t) } }
                    ", week " strong { (last.map_or("–", |w| w.week.as_str())) }
                    @if last.is_some_and(|w| w.provisional) { " (in progress)" }
                    ". Computed " (v.computed_at) ", at most "
                    (v.max_staleness_s) " s old." }
                section.cards aria-label="The three numbers" {
                    article.card #cycle-time {
                        h2 { "Cycle time" }
                        p.big { (fhours(last.and_then(|w| w.cycle_time_p50_s))) span.unit { " p50" } }
                        p { (fhours(last.and_then(|w| w.cycle_time_p85_s))) " p85 · "
                            (fchange(change.and_then(|c| c.cycle_time_p50_rel), true, 1.0, "")) }
                        (sparkline(&series(|w| w.cycle_time_p50_s), &format!("cycle time p50, {} weeks", weeks.len())))
                    }
                    article.card #quality {
                        h2 { "Quality defects" }
                        p.big { (fnum(last.and_then(|w| w.defects_per_100), 1)) span.unit { " per 100 resolved" } }
                        p { (last.map_or(0, |w| w.reopens)) " reopened, " (last.map_or(0, |w| w.reviewed_defects)) " reviewed defects · "
                            (fchange(change.and_then(|c| c.defects_per_100_abs), false, 1.0, "")) }
                        (sparkline(&series(|w| w.defects_per_100), &format!("defects per 100, {} weeks", weeks.len())))
                    }
                    article.card #escalation {
                        h2 { "Escalation rate" }
                        p.big { (fpct_opt(last.and_then(|w| w.escalation_rate))) }
                        p { (last.map_or(0, |w| w.escalated)) " of " (last.map_or(0, |w| w.resolved)) " resolved · "
                            (fchange(change.and_then(|c| c.escalation_rate_abs), false, 100.0, " pt")) }
                        (sparkline(&series(|w| w.escalation_rate), &format!("escalation rate, {} weeks", weeks.len())))
                    }
                }
            }
            Err(e) => p.notice role="status" { "No scorecard yet: " (e) }
        }
        @if let Ok(v) = &flow {
            @let b = &v.baseline;
            @let (wait, touch) = (b.wait_s, b.touch_s);
            section #flow aria-labelledby="flow-h" {
                h2 #flow-h { "Flow (the whole source, up to now)" }
                dl.figures {
                    dt { "Wait share" } dd #wait-share { @if wait + touch > 0.0 { (format!("{:.0}%", wait / (wait + touch) * 100.0)) } @else { "–" } }
                    dt { "Reopen rate" } dd #reopen-rate { (fpct_opt(b.reopen_rate)) }
                    dt { "Handoffs per case" } dd #handoffs { (fnum(Some(b.handoffs.mean), 2)) }
                    dt { "Work in progress" } dd #wip { (b.backlog.as_ref().map_or("–".to_owned(), |k| k.wip.to_string())) }
                    dt { "Backlog" } dd #backlog-days { (fnum(b.backlog.as_ref().and_then(|k| k.backlog_days), 1)) " days" }
                }
                @if let Some(k) = &b.backlog {
                    table #aging {
                        caption { "Work in progress by age" }
                        thead { tr { @for a in &k.aging { th scope="col" { (a.label) } } } }
                        tbody { tr { @for a in &k.aging { td { (a.cases) } } } }
                    }
                }
                p { a href="/ui/flow" { "Where the time goes →" } }
            }
        }
        section #gate-week aria-labelledby="gate-week-h" {
            h2 #gate-week-h { "The gate's week " (week.week) }
            dl.figures {
                dt { "Decisions" } dd #decided { (gate.week.decisions) }
                dt { "By action" } dd #by-action {
                    @for (a, n) in &gate.week.by_action {
                        span data-action=(a) { (action_badge(a)) " " (n) } " "
                    } }
                dt { "Act coverage" } dd #act-coverage { (fpct_opt(gate.week.act_coverage)) }
                dt { "Automation rate" } dd #automation { (fpct_opt(gate.week.automation_rate))
                    span.muted { " acted on and not reopened (" (gate.week.acted_reopened) " reopened)" } }
                dt { "Sampled for review" } dd #sampled { (week.sampled) }
                dt { "Reviewed" } dd #reviewed { (week.reviewed) }
                dt { "Correct" } dd #correct { (week.correct) }
                dt { "Defects" } dd #defects { (week.defects) }
                dt { "Reviewed precision" }
                dd #precision { @match &week.precision {
                    Some(pr) => { (format!("{:.1}%", pr.share * 100.0)) " (95% CI "
                        (format!("{:.1}–{:.1}%", pr.ci95.0 * 100.0, pr.ci95.1 * 100.0)) ")" }
                    None => "no reviews yet",
                } }
            }
        }
    };
    Ok(layout(&p, "Overview", "/ui/", body))
}
