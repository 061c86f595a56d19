//! The weekly defect review and the governance evidence.

use super::*;

// ---- weekly defect review -----------------------------------------------------------------

#[derive(Deserialize)]
pub(super) struct WeekQuery {
    week: Option<String>,
    /// The intent whose threshold was just applied (a notice after the redirect).
    applied: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ThresholdForm {
    csrf: String,
    intent: String,
    threshold: f64,
    week: String,
}

pub(super) async fn apply_threshold(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<ThresholdForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    require(&p, Need::Admin)?;
    s.app.set_threshold(&f.intent, f.threshold, &p.name).await?;
    let query = serde_urlencoded::to_string([("week", &f.week), ("applied", &f.intent)])
        .map_err(|e| PageError::Status(StatusCode::BAD_REQUEST, e.to_string()))?;
    let to = format!("/ui/defects?{query}");
    Ok(Redirect::to(&to).into_response())
}

pub(super) fn markdown_download(name: &str, text: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

pub(super) fn interval(p: &flowgate_app::defects::Precision) -> String {
    format!(
        "{:.1}% (95% CI {:.1}–{:.1}%)",
        p.share * 100.0,
        p.ci95.0 * 100.0,
        p.ci95.1 * 100.0
    )
}

pub(super) async fn defects(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<WeekQuery>,
) -> Page {
    let p = person(&s, &headers).await?;
    let week = q.week.filter(|w| !w.trim().is_empty());
    let r = s.app.defect_review(week.as_deref()).await?;
    let admin = p.may(Need::Admin);
    let apply = |intent: &str, t: f64| {
        html! {
            form.inline method="post" action="/ui/defects/threshold" {
                input type="hidden" name="csrf" value=(p.csrf);
                input type="hidden" name="intent" value=(intent);
                input type="hidden" name="threshold" value=(format!("{t:.3}"));
                input type="hidden" name="week" value=(r.week);
                button type="submit" data-apply=(intent) { "Apply threshold " (format!("{t:.3}")) }
            }
        }
    };
    let body = html! {
        @if let Some(done) = &q.applied {
            p.notice role="status" #applied { "Threshold for " strong { (done) } " applied: the next ticket is decided under the new policy (audited)." }
        }
        form.filters method="get" action="/ui/defects" {
            label { "ISO week " input name="week" value=(r.week) pattern="[0-9]{4}-W[0-9]{2}"; }
            button type="submit" { "Show" }
            a href=(format!("/ui/defects.md?week={}", r.week)) { "Export Markdown" }
        }
        dl.figures {
            dt { "Acts sampled" } dd { (r.sampled) }
            dt { "Reviewed" } dd { (r.reviewed) " (" (r.pending) " waiting)" }
            dt { "Correct / defects" } dd { (r.correct) " / " (r.defects) }
            dt { "Reviewed precision" } dd #week-precision { @match &r.precision {
                Some(pr) => (interval(pr)),
                None => "no reviews this week",
            } }
        }
        table #intent-precision {
            caption { "Reviewed precision per intent, and what to do" }
            thead { tr { th scope="col" { "Intent" } th scope="col" { "Reviewed" } th scope="col" { "Correct" }
                th scope="col" { "Precision" } th scope="col" { "Target" } th scope="col" { "Recommendation" } } }
            tbody { @for i in &r.intents {
                tr { td { (i.intent) } td { (i.reviewed) } td { (i.correct) } td { (interval(&i.precision)) }
                     td { (format!("{:.1}%", i.target * 100.0)) }
                     td { (i.recommendation)
                          @if let (true, Some(t)) = (admin, i.suggested_threshold) { " " (apply(&i.intent, t)) } } }
            } }
        }
        table #failure-modes {
            caption { "Defects by intent and failure mode" }
            thead { tr { th scope="col" { "Intent" } th scope="col" { "Failure mode" } th scope="col" { "Defects" } } }
            tbody { @for f in &r.failure_modes {
                tr { td { (f.intent) } td { (f.mode) } td { (f.defects) } }
            } }
        }
    };
    Ok(layout(
        &p,
        &format!("Defect review {}", r.week),
        "/ui/defects",
        body,
    ))
}

pub(super) async fn defects_markdown(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<WeekQuery>,
) -> Page {
    person(&s, &headers).await?;
    let week = q.week.filter(|w| !w.trim().is_empty());
    let r = s.app.defect_review(week.as_deref()).await?;
    Ok(markdown_download(
        &format!("defects-{}.md", r.week),
        flowgate_app::defects::markdown(&r),
    ))
}

// ---- governance ----------------------------------------------------------------------------

pub(super) async fn governance_data(
    s: &crate::AppState,
) -> Result<flowgate_app::governance::Governance, PageError> {
    Ok(s.app.governance().await?)
}

pub(super) async fn governance(State(s): State<Shared>, headers: HeaderMap) -> Page {
    let p = person(&s, &headers).await?;
    let g = governance_data(&s).await?;
    let body = html! {
        p { a href="/ui/governance.md" { "Export Markdown" } " · " a href="/ui/governance.json" { "Export JSON" } }
        dl.figures {
            dt { "Audit log" } dd { (g.audit_log) }
            dt { "Records" } dd { (g.records) " (" (g.decisions) " decisions, " (g.policy_changes) " policy changes)" }
            dt { "From – to" } dd { (g.first.clone().unwrap_or_default()) " – " (g.last.clone().unwrap_or_default()) }
            dt { "Thresholds" } dd { (g.threshold_guarantee) }
        }
        table #controls {
            caption { "Controls and their evidence (NIST AI RMF)" }
            thead { tr { th scope="col" { "Control" } th scope="col" { "NIST AI RMF" } th scope="col" { "In force" }
                th scope="col" { "Evidence" } } }
            tbody { @for c in &g.controls {
                tr { td { (c.control) } td { (c.nist) } td { @if c.in_force { "yes" } @else { strong { "no" } } }
                     td { (c.evidence) } }
            } }
        }
        table #by-action {
            caption { "Decisions by action" }
            tbody { @for (a, n) in &g.decisions_by_action { tr { th scope="row" { (a) } td { (n) } } } }
        }
    };
    Ok(layout(&p, "Governance", "/ui/governance", body))
}

pub(super) async fn governance_markdown(State(s): State<Shared>, headers: HeaderMap) -> Page {
    person(&s, &headers).await?;
    let g = governance_data(&s).await?;
    Ok(markdown_download(
        "governance.md",
        flowgate_app::governance::markdown(&g),
    ))
}

pub(super) async fn governance_json(State(s): State<Shared>, headers: HeaderMap) -> Page {
    person(&s, &headers).await?;
    let g = governance_data(&s).await?;
    Ok(axum::Json(g).into_response())
}
