//! `POST /v1/events`: history events in the canonical fields.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use flowgate_app::service::views::EventsAppended;
use serde::Deserialize;

use super::{BodyProblems, Guarded, authorise};
use crate::Shared;
use crate::auth::Need;
use crate::problem::Problem;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsIn {
    /// The store's source to append to (default `live`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    source: Option<String>,
    #[schema(min_items = 1)]
    events: Vec<flowgate_app::events::Event>,
}

#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "events",
    request_body = EventsIn,
    responses(
        (status = 201, description = "new events stored", body = EventsAppended),
        (status = 200, description = "every event was stored before", body = EventsAppended),
        BodyProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn post_events(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<EventsIn>, JsonRejection>,
) -> Result<(StatusCode, Json<EventsAppended>), Problem> {
    let caller = authorise(&s, &headers, Need::Ingest).await?;
    let Json(req) = body?;
    let sum = s
        .app
        .append_events(
            req.source.as_deref(),
            &req.events,
            &caller.name,
            "POST /v1/events",
        )
        .await?;
    let status = if sum.events_new > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(sum)))
}
