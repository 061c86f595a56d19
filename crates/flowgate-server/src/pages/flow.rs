//! Flow, what-if and the pilot.

use super::*;

// ---- flow, what-if, pilot ----------------------------------------------------------------

#[derive(Deserialize)]
pub(super) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A calendar date (UTC) as milliseconds; `field` names it in the error.
pub(super) fn day_ms(field: &str, v: &str) -> Result<i64, PageError> {
    v.trim()
        .parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond())
        .ok_or_else(|| {
            PageError::Status(
                StatusCode::BAD_REQUEST,
                format!("{field}: expected a date such as 2026-05-04, found {v:?}"),
            )
        })
}

pub(super) async fn flow(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<RangeQuery>,
) -> Page {
    let p = person(&s, &headers).await?;
    let given = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    let (from, to) = (given(&q.from), given(&q.to));
    let range = match (&from, &to) {
        (None, None) => None,
        (f, t) => {
            let a = f.as_deref().map(|f| day_ms("from", f)).transpose()?;
            // `to` is the last day shown: up to its end.
            let b = t.as_deref().map(|t| day_ms("to", t)).transpose()?;
            let (a, b) = (
                a.unwrap_or(i64::MIN),
                b.map_or(i64::MAX, |b| b + 86_400_000),
            );
            if b <= a {
                return Err(PageError::Status(
                    StatusCode::BAD_REQUEST,
                    "to: must not come before from".into(),
                ));
            }
            Some((a, b))
        }
    };
    let v = s.app.flow(None, range).await;
    let body = html! {
        form.filters method="get" action="/ui/flow" aria-label="Date range" {
            label { "Cases created from " input type="date" name="from" value=(from.as_deref().unwrap_or("")); }
            label { "to " input type="date" name="to" value=(to.as_deref().unwrap_or("")); }
            button type="submit" { "Show" }
        }
        @match &v {
            Ok(v) => {
                p.muted #flow-summary { "Source " strong { (v.source) } ": "
                    (v.cases) " cases, " (v.events) " events, "
                    (v.first_event.as_deref().unwrap_or("–")) " to " (v.last_event.as_deref().unwrap_or("–"))
                    ". Computed " (v.computed_at) "." }
                div.report #flow-report { (PreEscaped(&v.html)) }
            }
            Err(e) => p.notice role="status" { "No flow figures yet: " (e) }
        }
    };
    Ok(layout(&p, "Flow", "/ui/flow", body))
}

pub(super) const EXAMPLE_SCENARIO: &str = "# A what-if (the `flowgate simulate --scenario` format)\n\
replications = 20\n\
days = 28\n\n\
[arrivals]\n\
scale = 1.0\n\
spikes = [{ factor = 1.5, start_day = 8, days = 5 }]\n\n\
# The AI answers a share of one intent's tickets at a precision:\n\
# [[ai]]\n\
# intent = \"password_reset\"\n\
# share = 0.6\n\
# precision = 0.97\n\n\
# [staffing]\n\
# tier1 = 0.9\n";

pub(super) fn whatif_page(
    p: &Person,
    text: &str,
    result: Option<Result<String, String>>,
) -> Response {
    let body = html! {
        p.muted { "The simulation is fitted from the store's history; the scenario runs beside the same model's baseline (same seed, replications and days)." }
        form method="post" action="/ui/whatif" {
            input type="hidden" name="csrf" value=(p.csrf);
            label for="scenario" { "Scenario (TOML)" }
            textarea #scenario name="scenario" rows="16" cols="72" spellcheck="false" { (text) }
            p { button type="submit" { "Run" } }
        }
        @match result {
            Some(Ok(html)) => { section.report #whatif-result aria-label="Result" { h2 { "Scenario beside the baseline" } (PreEscaped(html)) } }
            Some(Err(e)) => { p.notice #whatif-error role="alert" { (e) } }
            None => {}
        }
    };
    layout(p, "What-if", "/ui/whatif", body)
}

pub(super) async fn whatif_form(State(s): State<Shared>, headers: HeaderMap) -> Page {
    let p = person(&s, &headers).await?;
    Ok(whatif_page(&p, EXAMPLE_SCENARIO, None))
}

#[derive(Deserialize)]
pub(super) struct WhatIfForm {
    csrf: String,
    scenario: String,
}

pub(super) async fn whatif_run(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<WhatIfForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    let result = s.app.whatif(&f.scenario).await.map_err(|e| e.to_string());
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut r = whatif_page(&p, &f.scenario, Some(result));
    *r.status_mut() = status;
    Ok(r)
}

#[derive(Deserialize)]
pub(super) struct PilotPageQuery {
    day: Option<String>,
}

pub(super) async fn pilot_page(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<PilotPageQuery>,
) -> Page {
    let p = person(&s, &headers).await?;
    let Some(plan) = &s.app.options().pilot else {
        let body = html! {
            p.notice role="status" #no-pilot { "No pilot is planned. Add " code { "[pilot]" }
                " to flowgate.toml (day one, the baseline period, optionally the phases and the budget) and restart." }
        };
        return Ok(layout(&p, "The 90-day pilot", "/ui/pilot", body));
    };
    let v = s.app.pilot(None, q.day.clone()).await?;
    let view = &v.pilot;
    let today = view.standing.phase.as_ref().map(|p| p.name.as_str());
    let body = html! {
        (pilot_banner(&v))
        table #phases {
            caption { "The plan" }
            thead { tr { th scope="col" { "Phase" } th scope="col" { "From" } th scope="col" { "Until (not incl.)" } th scope="col" { "Intents" } } }
            tbody {
                tr { td { "Baseline" } td { (plan.baseline.0.to_string()) } td { (plan.baseline.1.to_string()) } td {} }
                @for ph in &plan.phases {
                    tr aria-current=[(today == Some(ph.name.as_str())).then_some("step")] {
                        td { (ph.name) } td { (ph.from.to_string()) } td { (ph.to.to_string()) } td { (ph.intents.join(", ")) }
                    }
                }
            }
        }
        @if let Some(h) = &v.html {
            section.report #pilot-compare aria-label="Pilot vs baseline" {
                h2 { "Pilot vs baseline" }
                (PreEscaped(h))
            }
            p { button type="button" data-print="" { "Print" } }
        } @else {
            p.notice role="status" { "No comparison yet: " (view.waiting.as_deref().unwrap_or("")) "." }
        }
    };
    Ok(layout(&p, &plan.name, "/ui/pilot", body))
}
