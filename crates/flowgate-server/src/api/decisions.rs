//! Decisions on the chain: the list, one in full, and the chain's verification.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use flowgate_app::audit::Verification;
use flowgate_app::service::views::{DecisionDetail, DecisionPage};
use flowgate_app::service::{DecisionQuery, parse_seq};

use super::{Guarded, QueryProblems, authorise};
use crate::Shared;
use crate::auth::Need;
use crate::problem::{Problem, ProblemDocument};

#[utoipa::path(
    get,
    path = "/v1/decisions",
    tag = "decisions",
    params(DecisionQuery),
    responses(
        (status = 200, description = "decisions in chain order", body = DecisionPage),
        QueryProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn list_decisions(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<DecisionQuery>, QueryRejection>,
) -> Result<Json<DecisionPage>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    Ok(Json(s.app.decisions(&q.check()?).await?))
}

#[utoipa::path(
    get,
    path = "/v1/decisions/{seq}",
    tag = "decisions",
    params(("seq" = i64, Path, minimum = 1, description = "the decision's audit sequence number")),
    responses(
        (status = 200, description = "one decision in full", body = DecisionDetail),
        (status = 404, description = "no such decision", body = ProblemDocument, content_type = "application/problem+json"),
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn get_decision(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<String>,
) -> Result<Json<DecisionDetail>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let seq = parse_seq("decision", &seq)?;
    Ok(Json(s.app.decision(seq).await?))
}

#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    responses(
        (status = 200, description = "the chain and the review queue checked", body = Verification),
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn verify(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Verification>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    Ok(Json(s.app.verify().await?))
}
