//! The review queue, verdicts, and the weekly reports built on them: the defect review and
//! the governance evidence.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use flowgate_app::review::Verdict;
use flowgate_app::service::views::{ClaimedReview, Marked, ReviewList};
use flowgate_app::service::{ReviewState, parse_seq};
use serde::{Deserialize, Serialize};

use super::{BodyProblems, Guarded, QueryProblems, authorise};
use crate::Shared;
use crate::auth::Need;
use crate::problem::{Problem, ProblemDocument};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// `pending` (default), `reviewed` or `all`.
    state: Option<ReviewState>,
}

#[utoipa::path(
    get,
    path = "/v1/reviews",
    tag = "reviews",
    params(ReviewQuery),
    responses(
        (status = 200, description = "the review queue", body = ReviewList),
        QueryProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn list_reviews(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<ReviewQuery>, QueryRejection>,
) -> Result<Json<ReviewList>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    Ok(Json(s.app.reviews(q.state.unwrap_or_default()).await?))
}

#[utoipa::path(
    post,
    path = "/v1/reviews/claim",
    tag = "reviews",
    responses(
        (status = 200, description = "the item now leased to the caller for 15 minutes", body = ClaimedReview),
        (status = 404, description = "no decision is waiting for review", body = ProblemDocument, content_type = "application/problem+json"),
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn claim_review(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<ClaimedReview>, Problem> {
    let caller = authorise(&s, &headers, Need::Reviewer).await?;
    s.app
        .claim_review(&caller.name)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found("no decision is waiting for review"))
}

/// A reviewer's verdict on one decision.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictBody {
    #[schema(pattern = "^(correct|defect)$")]
    verdict: String,
    /// The failure mode; required with `defect` (wrong-intent, wrong-answer, tone, policy,
    /// other, or another word).
    category: Option<String>,
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/reviews/{seq}",
    tag = "reviews",
    params(("seq" = i64, Path, minimum = 1, description = "the reviewed decision's audit sequence number")),
    request_body = VerdictBody,
    responses(
        (status = 200, description = "the verdict, on the audit chain", body = Marked),
        (status = 404, description = "the decision is not in the review queue", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "already reviewed, or held by another reviewer", body = ProblemDocument, content_type = "application/problem+json"),
        BodyProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn mark_review(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<String>,
    body: Result<Json<VerdictBody>, JsonRejection>,
) -> Result<Json<Marked>, Problem> {
    let caller = authorise(&s, &headers, Need::Reviewer).await?;
    let Json(v) = body?;
    let seq = parse_seq("review", &seq)?;
    let verdict = Verdict::parse(&v.verdict, v.category.as_deref())?;
    Ok(Json(
        s.app
            .mark_review(seq, &verdict, &caller.name, v.note.as_deref())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The ISO week of the decisions reviewed (`2026-W48`; default the current week).
    #[param(pattern = r"^\d{4}-W\d{2}$")]
    week: Option<String>,
    /// `json` (default) or `markdown`.
    format: Option<Format>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `json` (default) or `markdown`.
    format: Option<Format>,
}

/// How a report is answered.
#[derive(Clone, Copy, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    #[serde(alias = "md")]
    Markdown,
}

/// JSON, or the Markdown page when asked for.
fn report<T: Serialize>(
    format: Option<Format>,
    data: &T,
    markdown: impl FnOnce(&T) -> String,
) -> Response {
    match format.unwrap_or_default() {
        Format::Json => Json(data).into_response(),
        Format::Markdown => (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            markdown(data),
        )
            .into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/v1/defects",
    tag = "reviews",
    params(ReportQuery),
    responses(
        (status = 200, description = "the week's defect review: reviewed precision overall and per intent with intervals, recommendations, failure modes", content(
            (flowgate_app::defects::DefectReview = "application/json"),
            (String = "text/markdown"),
        )),
        QueryProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn get_defects(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let r = s.app.defect_review(q.week.as_deref()).await?;
    Ok(report(q.format, &r, flowgate_app::defects::markdown))
}

#[utoipa::path(
    get,
    path = "/v1/governance",
    tag = "audit",
    params(FormatQuery),
    responses(
        (status = 200, description = "the NIST AI RMF evidence table, counted from the audit log, the review queue and the policy in force", content(
            (flowgate_app::governance::Governance = "application/json"),
            (String = "text/markdown"),
        )),
        QueryProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn get_governance(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<FormatQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let g = s.app.governance().await?;
    Ok(report(q.format, &g, flowgate_app::governance::markdown))
}
