//! The service itself: liveness, readiness, metrics, and this document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use flowgate_app::service::views::{Health, Readiness};

use super::{Guarded, authorise};
use crate::auth::Need;
use crate::problem::{Problem, ProblemDocument};
use crate::{Shared, now_ms};

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "alive", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses(
        (status = 200, description = "ready: database reachable, model and policy loaded", body = Readiness),
        (status = 503, description = "unavailable or timed out", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(s): State<Shared>) -> Result<Json<Readiness>, Problem> {
    Ok(Json(s.app.ready().await?))
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses(
        (status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"),
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn metrics(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let (n, pending, inbox) = s.app.gauges().await?;
    let decisions = s.app.counters.decisions();
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&decisions, n, pending, &inbox, now_ms()),
    )
        .into_response())
}

/// Adds `GET /openapi.json` (served by the router, not a handler) to the document.
pub fn document_itself(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{OperationBuilder, PathItem};
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, HttpMethod, ResponseBuilder};
    let free_form = || {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
    };
    let document = ObjectBuilder::new()
        .schema_type(Type::Object)
        .title(Some("OpenAPI document"))
        .property(
            "openapi",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^3\.1\.")),
        )
        .required("openapi")
        .property("info", free_form())
        .required("info")
        .property("paths", free_form())
        .required("paths")
        .additional_properties(Some(AdditionalProperties::FreeForm(true)));
    api.paths.paths.insert(
        "/openapi.json".into(),
        PathItem::new(
            HttpMethod::Get,
            OperationBuilder::new()
                .tag("service")
                .summary(Some("This document"))
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("the OpenAPI 3.1 document")
                        .content(
                            "application/json",
                            ContentBuilder::new().schema(Some(document)).build(),
                        ),
                )
                .build(),
        ),
    );
}
