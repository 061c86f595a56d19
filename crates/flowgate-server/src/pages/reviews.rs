//! The review queue and the review screen.

use flowgate_app::review::Verdict;

use super::*;

// ---- review queue --------------------------------------------------------------------------

pub(super) async fn reviews(State(s): State<Shared>, headers: HeaderMap) -> Page {
    let p = person(&s, &headers).await?;
    let items = s
        .app
        .reviews(flowgate_app::service::ReviewState::Pending)
        .await?
        .reviews;
    let body = html! {
        @if p.may(Need::Reviewer) {
            form method="post" action="/ui/reviews/claim" {
                input type="hidden" name="csrf" value=(p.csrf);
                button #claim type="submit" { "Review the next one" }
            }
        } @else {
            p.notice { "You can see the queue; reviewing needs the reviewer role." }
        }
        table #queue {
            caption { (items.len()) " decisions waiting for review" }
            thead { tr { th scope="col" { "Seq" } th scope="col" { "Ticket" } th scope="col" { "Intent" }
                th scope="col" { "Band" } th scope="col" { "Decided" } } }
            tbody { @for i in &items {
                tr {
                    td { a href=(format!("/ui/decisions/{}", i.decision_seq)) { (i.decision_seq) } }
                    td { (i.ticket_id) }
                    td { (i.intent) }
                    td { (i.band) }
                    td { (i.decided_at) }
                }
            } }
        }
    };
    Ok(layout(&p, "Review queue", "/ui/reviews", body))
}

pub(super) async fn claim(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    require(&p, Need::Reviewer)?;
    match s.app.claim_review(&p.name).await? {
        Some(i) => {
            Ok(Redirect::to(&format!("/ui/reviews/{}", i.item.decision_seq)).into_response())
        }
        None => Ok(Redirect::to("/ui/reviews?empty=1").into_response()),
    }
}

pub(super) async fn review(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<i64>,
) -> Page {
    let p = person(&s, &headers).await?;
    require(&p, Need::Reviewer)?;
    let holder = s.app.review_holder(seq).await?;
    if holder.as_deref() != Some(p.name.as_str()) {
        return Err(PageError::Status(
            StatusCode::CONFLICT,
            match holder {
                Some(h) => format!("decision {seq} is being reviewed by {h}"),
                None => format!("decision {seq} is not leased to you: claim it from the queue"),
            },
        ));
    }
    let d = s.app.decision(seq).await?;
    let body = html! {
        p.muted { "Keys: " kbd { "c" } " correct, " kbd { "d" } " defect, " kbd { "j" } "/" kbd { "k" }
            " next/previous field. Leased to you for 15 minutes." }
        (decision_body(&d))
        form #verdict method="post" action=(format!("/ui/reviews/{seq}"))
            data-intent=(d.row.decision.intent) data-ticket=(d.row.ticket_id) {
            input type="hidden" name="csrf" value=(p.csrf);
            fieldset {
                legend { "Verdict" }
                label { input type="radio" name="verdict" value="correct" required; " Correct" }
                label { input type="radio" name="verdict" value="defect"; " Defect" }
            }
            label { "Failure mode (for a defect) "
                select name="category" {
                    option value="" { "–" }
                    @for c in Verdict::CATEGORIES { option value=(c) { (c) } }
                }
            }
            label { "Note " textarea name="note" rows="2" {} }
            button type="submit" { "Record and review the next one" }
        }
    };
    Ok(layout(
        &p,
        &format!("Review decision {seq}"),
        "/ui/reviews",
        body,
    ))
}

#[derive(Deserialize)]
pub(super) struct VerdictForm {
    csrf: String,
    verdict: String,
    category: Option<String>,
    note: Option<String>,
}

pub(super) async fn mark(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<i64>,
    Form(f): Form<VerdictForm>,
) -> Page {
    let p = person(&s, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    require(&p, Need::Reviewer)?;
    let verdict = Verdict::parse(&f.verdict, f.category.as_deref())?;
    s.app
        .mark_review(seq, &verdict, &p.name, f.note.as_deref())
        .await?;
    // Straight on to the next one.
    match s.app.claim_review(&p.name).await? {
        Some(i) => {
            Ok(Redirect::to(&format!("/ui/reviews/{}", i.item.decision_seq)).into_response())
        }
        None => Ok(Redirect::to("/ui/reviews").into_response()),
    }
}
