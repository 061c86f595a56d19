//! Figures served from memory: the baseline, the weekly scorecard, the pilot.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use flowgate_app::service::figures::{BaselineFigures, PilotFigures, ScorecardFigures};
use serde::Deserialize;

use super::{Guarded, QueryProblems, authorise};
use crate::Shared;
use crate::auth::Need;
use crate::problem::{Problem, ProblemDocument};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BaselineQuery {
    /// The store's source (default: its only one).
    #[param(min_length = 1)]
    source: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScorecardQuery {
    /// The store's source (default: its only one).
    #[param(min_length = 1)]
    source: Option<String>,
    /// Weeks shown (default 12).
    #[param(minimum = 1, maximum = 520)]
    weeks: Option<usize>,
    /// The last ISO week shown (`2026-W48`; default the latest with data).
    #[param(pattern = r"^\d{4}-W\d{2}$")]
    week: Option<String>,
    /// The scorecard of the cases first owned by this team.
    team: Option<String>,
}

fn some(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// A source named in the query: absent is the store's only source, blank is refused.
fn source(v: Option<String>) -> Result<Option<String>, Problem> {
    match v {
        Some(s) if s.trim().is_empty() => Err(Problem::bad_query(
            "source: expected a source's name (leave it out for the store's only source)",
        )),
        other => Ok(other),
    }
}

#[utoipa::path(
    get,
    path = "/v1/baseline",
    tag = "analytics",
    params(BaselineQuery),
    responses(
        (status = 200, description = "the process baseline of a source", body = BaselineFigures),
        (status = 404, description = "no such source, or the store holds none", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "the store holds several sources: name one", body = ProblemDocument, content_type = "application/problem+json"),
        QueryProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn get_baseline(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<BaselineQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let v = s.app.baseline(source(q.source)?, None).await?;
    Ok(Json(v.as_ref()).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/scorecard",
    tag = "analytics",
    params(ScorecardQuery),
    responses(
        (status = 200, description = "the weekly scorecard of a source", body = ScorecardFigures),
        (status = 404, description = "no such source, or the store holds none", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "the store holds several sources: name one; or no such team", body = ProblemDocument, content_type = "application/problem+json"),
        QueryProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn get_scorecard(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<ScorecardQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let weeks = q.weeks.unwrap_or(12);
    if !(1..=520).contains(&weeks) {
        return Err(Problem::bad_query(format!(
            "weeks={weeks}: expected 1 to 520"
        )));
    }
    let last = match some(q.week) {
        Some(w) => Some(flowgate_app::service::parse_week_or_now(Some(&w))?),
        None => None,
    };
    let v = s
        .app
        .scorecard(source(q.source)?, weeks, last, some(q.team))
        .await?;
    Ok(Json(v.as_ref()).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PilotQuery {
    /// The store's source (default: its only one).
    #[param(min_length = 1)]
    source: Option<String>,
    /// The day to stand on (`YYYY-MM-DD`, UTC); default today.
    #[param(format = Date)]
    day: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/pilot",
    tag = "analytics",
    params(PilotQuery),
    responses(
        (status = 200, description = "the 90-day pilot: the day and phase, pilot vs baseline (raw and mix-adjusted, with intervals) in budget terms", body = PilotFigures),
        (status = 404, description = "no pilot planned, or no such source", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "the store holds several sources: name one; or the plan does not fit the data", body = ProblemDocument, content_type = "application/problem+json"),
        QueryProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn get_pilot(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<PilotQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let v = s.app.pilot(source(q.source)?, q.day).await?;
    Ok(Json(v.as_ref()).into_response())
}
