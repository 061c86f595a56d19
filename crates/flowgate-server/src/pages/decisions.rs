//! Decisions: the filtered list and one decision in full.

use flowgate_app::service::views::DecisionDetail;

use super::*;

// ---- decisions -----------------------------------------------------------------------------

#[derive(Deserialize)]
pub(super) struct DecisionFilter {
    source: Option<String>,
    intent: Option<String>,
    action: Option<String>,
    after_seq: Option<i64>,
    /// A confidence band: one of [`BANDS`]' keys.
    band: Option<String>,
    /// Decided on or after this day, and up to the end of `to` (UTC dates).
    from: Option<String>,
    to: Option<String>,
}

/// Confidence bands of the Decisions filter: (key, label, from, below).
pub(super) const BANDS: [(&str, &str, f64, f64); 4] = [
    ("low", "below 0.50", 0.0, 0.5),
    ("mid", "0.50–0.80", 0.5, 0.8),
    ("high", "0.80–0.95", 0.8, 0.95),
    ("top", "0.95 and above", 0.95, f64::INFINITY),
];

pub(super) fn action_badge(action: &str) -> Markup {
    html! { span class=(format!("badge {action}")) { (action) } }
}

pub(super) async fn decisions(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(f): Query<DecisionFilter>,
) -> Page {
    let p = person(&s, &headers).await?;
    let nonempty = |v: &Option<String>| v.clone().filter(|x| !x.trim().is_empty());
    let band = nonempty(&f.band)
        .map(|b| {
            BANDS.iter().find(|x| x.0 == b).copied().ok_or_else(|| {
                PageError::Status(StatusCode::BAD_REQUEST, format!("band {b:?}: unknown"))
            })
        })
        .transpose()?;
    let day = |field: &str, v: &Option<String>, plus: i64| -> Result<Option<String>, PageError> {
        nonempty(v)
            .map(|d| {
                let ms = day_ms(field, &d)? + plus;
                Ok(jiff::Timestamp::from_millisecond(ms)
                    .map(|t| t.to_string())
                    .unwrap_or_default())
            })
            .transpose()
    };
    let q = flowgate_app::service::DecisionQuery {
        after_seq: f.after_seq,
        limit: Some(50),
        source: nonempty(&f.source),
        ticket: None,
        intent: nonempty(&f.intent),
        action: nonempty(&f.action)
            .map(|a| {
                flowgate_gate::Action::ALL
                    .into_iter()
                    .find(|x| x.as_str() == a)
                    .ok_or_else(|| {
                        PageError::Status(StatusCode::BAD_REQUEST, format!("action {a:?}: unknown"))
                    })
            })
            .transpose()?,
        since: day("from", &f.from, 0)?,
        until: day("to", &f.to, 86_400_000)?,
        min_confidence: band.map(|b| b.2),
        max_confidence: band.map(|b| b.3).filter(|m| m.is_finite()),
    };
    let page = s.app.decisions(&q.check()?).await?;
    let rows = &page.decisions;
    let body = html! {
        form.filters method="get" action="/ui/decisions" {
            label { "Source " input name="source" value=[q.source.as_deref()] size="10"; }
            label { "Intent " input name="intent" value=[q.intent.as_deref()]; }
            label { "Action "
                select name="action" {
                    option value="" { "any" }
                    @for a in flowgate_gate::Action::ALL {
                        option value=(a.as_str()) selected[q.action == Some(a)] { (a.as_str()) }
                    }
                }
            }
            label { "Confidence "
                select name="band" {
                    option value="" { "any" }
                    @for (key, label, _, _) in BANDS {
                        option value=(key) selected[f.band.as_deref() == Some(key)] { (label) }
                    }
                }
            }
            label { "From " input type="date" name="from" value=(f.from.as_deref().unwrap_or("")); }
            label { "to " input type="date" name="to" value=(f.to.as_deref().unwrap_or("")); }
            button type="submit" { "Filter" }
        }
        table #decisions {
            caption { (rows.len()) " decisions" }
            thead { tr { th scope="col" { "Seq" } th scope="col" { "Ticket" } th scope="col" { "Intent" }
                th scope="col" { "Confidence" } th scope="col" { "Action" } th scope="col" { "Rule" }
                th scope="col" { "Decided" } th scope="col" { "Source" } } }
            tbody { @for r in rows {
                tr {
                    td { a href=(format!("/ui/decisions/{}", r.seq)) { (r.seq) } }
                    td { (r.ticket_id) }
                    td { (r.decision.intent) }
                    td { (fnum(Some(f64::from(r.decision.confidence)), 2)) }
                    td { (action_badge(r.decision.action.as_str())) }
                    td { (r.decision.rule) }
                    td { (r.recorded_at) }
                    td { (r.source.as_deref().unwrap_or("–")) }
                }
            } }
        }
        @if let Some(next) = page.next_after_seq {
            @let keep = [("after_seq", next.to_string()),
                ("source", q.source.clone().unwrap_or_default()),
                ("intent", q.intent.clone().unwrap_or_default()),
                ("action", q.action.map(|a| a.as_str().to_owned()).unwrap_or_default()),
                ("band", f.band.clone().unwrap_or_default()),
                ("from", f.from.clone().unwrap_or_default()),
                ("to", f.to.clone().unwrap_or_default())];
            p { a rel="next" href=(format!("/ui/decisions?{}", serde_urlencoded::to_string(keep).unwrap_or_default())) { "Next page" } }
        }
    };
    Ok(layout(&p, "Decisions", "/ui/decisions", body))
}

pub(super) fn decision_body(d: &DecisionDetail) -> Markup {
    let v = &d.row.decision;
    html! {
        dl.figures {
            dt { "Ticket" } dd #ticket-id { (d.row.ticket_id) }
            dt { "Source" } dd #ticket-source { (d.row.source.as_deref().unwrap_or("–")) }
            dt { "Action" } dd #action { (action_badge(v.action.as_str())) }
            dt { "Intent" } dd { (v.intent) " (confidence "
                (fnum(Some(f64::from(v.confidence)), 3)) ", out-of-scope score " (fnum(Some(f64::from(v.oos_score)), 3)) ")" }
            dt { "Rule" } dd #rule { (v.rule) }
            dt { "Threshold" } dd { (fnum(v.threshold, 3)) }
            dt { "Policy" } dd { code { (d.row.policy) } }
        }
        h2 { "Reasons" }
        ul #reasons { @for r in &v.reasons { li { (r) } } }
        div.side {
            section { h2 { "The ticket" } pre.text #ticket-text { (d.ticket_text.as_deref().unwrap_or("(no text kept)")) } }
            section { h2 { "Proposed answer" }
                @match &v.answer {
                    Some(a) => pre.text #answer { (a) },
                    None => p { "none proposed" },
                }
                @if !v.sources.is_empty() {
                    ul { @for x in &v.sources { li { (x.title) } } }
                }
            }
        }
    }
}

pub(super) async fn decision(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<i64>,
) -> Page {
    let p = person(&s, &headers).await?;
    let d = s.app.decision(seq).await?;
    let verified = s.app.verify().await?;
    let body = html! {
        (decision_body(&d))
        h2 { "Audit record" }
        dl.figures #audit {
            dt { "Sequence" } dd { (seq) }
            dt { "Hash" } dd { code { (d.row.hash) } }
            dt { "Previous hash" } dd { code { (d.prev_hash) } }
            dt { "Recorded" } dd { (d.row.recorded_at) " by " (d.row.actor) }
            dt { "Chain" } dd #chain { @if verified.intact { "verified intact (" (verified.records) " records)" }
                @else { "BROKEN: " (verified.problem.clone().unwrap_or_default()) } }
        }
        @if let Some(r) = &d.review {
            h2 { "Review" }
            p #review-state { @match &r.verdict {
                Some(v) => { (v) " by " (r.reviewer.as_deref().unwrap_or("")) }
                None => "waiting for review",
            } }
        }
    };
    Ok(layout(
        &p,
        &format!("Decision {seq}"),
        "/ui/decisions",
        body,
    ))
}
