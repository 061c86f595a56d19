//! `POST /v1/tickets`: one ticket decided and audited.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use flowgate_app::service::views::TicketDecided;
use flowgate_gate::Ticket;

use super::{BodyProblems, Guarded, authorise};
use crate::Shared;
use crate::auth::Need;
use crate::problem::Problem;

#[utoipa::path(
    post,
    path = "/v1/tickets",
    tag = "tickets",
    request_body = Ticket,
    responses(
        (status = 201, description = "decided and audited", body = TicketDecided),
        (status = 200, description = "the same ticket and content were decided before: that decision", body = TicketDecided),
        BodyProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn post_ticket(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<Ticket>, JsonRejection>,
) -> Result<(StatusCode, Json<TicketDecided>), Problem> {
    let caller = authorise(&s, &headers, Need::Ingest).await?;
    let Json(ticket) = body?;
    let (created, view) = s.app.decide_view(&ticket, &caller.name).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}
