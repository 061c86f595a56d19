//! The JSON API: one file per area. Each handler authenticates, extracts, calls the
//! application service and serialises its typed answer; the OpenAPI document is built from
//! the handlers' annotations as they are routed, so a route cannot exist undocumented.

pub mod analytics;
pub mod decisions;
pub mod events;
pub mod policy;
pub mod reviews;
pub mod service;
pub mod tickets;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, header};
use axum::routing::get;

use crate::auth::{Caller, Need};
use crate::problem::{Problem, ProblemDocument};
use crate::{AppState, Shared, now_ms};

/// The OpenAPI document's frame: what every path shares.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "flowgate",
        description = "The live loop: tickets in from help desks, gated decisions out, every one audited.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(
        reviews::Format,
        flowgate_app::service::ReviewState,
        flowgate_gate::Action
    )),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a token from `flowgate token create`"))
                    .build(),
            ),
        );
    }
}

/// What any route that takes a token may answer besides its own statuses.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Guarded {
    /// No valid token (`WWW-Authenticate: Bearer`).
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(ProblemDocument),
    /// The token's role may not do this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(ProblemDocument),
    /// Too many requests for this token (`Retry-After`).
    #[response(status = 429, content_type = "application/problem+json")]
    RateLimited(ProblemDocument),
    /// The service failed; the request was not completed.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(ProblemDocument),
    /// A dependency is not ready, or the request took too long and was abandoned.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(ProblemDocument),
}

/// What any route that reads a JSON body may answer besides its own statuses.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BodyProblems {
    /// The body is not valid JSON.
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(ProblemDocument),
    /// The body is too large.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(ProblemDocument),
    /// The body is not `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(ProblemDocument),
    /// The body's fields are not valid.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(ProblemDocument),
}

/// A query parameter that is not valid.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum QueryProblems {
    /// A query parameter is not valid.
    #[response(status = 400, content_type = "application/problem+json")]
    BadQuery(ProblemDocument),
}

/// The caller, when the request carries an active token whose role allows `need`.
pub async fn authorise(s: &AppState, headers: &HeaderMap, need: Need) -> Result<Caller, Problem> {
    let token = crate::auth::bearer(headers)
        .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <token>"))?;
    let Some((name, role)) = s.app.token(&crate::auth::token_sha256(token)).await? else {
        return Err(Problem::unauthorized("the token is unknown or revoked"));
    };
    s.limits.check(&name, now_ms())?;
    if !crate::auth::allows(&role, need) {
        return Err(Problem::forbidden(format!(
            "token {name:?} has role {role}, which may not do this"
        )));
    }
    Ok(Caller { name, role })
}

/// The routes and the OpenAPI document describing them.
pub fn routes(version: &str) -> (Router<Shared>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    let (r, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(service::healthz))
        .routes(routes!(service::readyz))
        .routes(routes!(service::metrics))
        .routes(routes!(tickets::post_ticket))
        .routes(routes!(events::post_events))
        .routes(routes!(webhooks::receive))
        .routes(routes!(decisions::list_decisions))
        .routes(routes!(decisions::get_decision))
        .routes(routes!(decisions::verify))
        .routes(routes!(analytics::get_baseline))
        .routes(routes!(analytics::get_scorecard))
        .routes(routes!(analytics::get_pilot))
        .routes(routes!(reviews::list_reviews))
        .routes(routes!(reviews::claim_review))
        .routes(routes!(reviews::mark_review))
        .routes(routes!(reviews::get_defects))
        .routes(routes!(reviews::get_governance))
        .routes(routes!(policy::get_policy))
        .routes(routes!(policy::put_kill_switch))
        .routes(routes!(policy::put_threshold))
        .split_for_parts();
    api.info.version = version.to_owned();
    service::document_itself(&mut api);
    (r, api)
}

/// The service: the routes, `/openapi.json`, the pages, and what every request goes
/// through.
pub fn router(state: Shared, body_limit: usize, version: &str) -> Router {
    let (r, api) = routes(version);
    let doc = Arc::new(api.to_json().unwrap_or_else(|_| "{}".into()));
    r.route(
        "/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    doc.as_str().to_owned(),
                )
            }
        }),
    )
    .merge(crate::pages::router())
    .fallback(|| async { Problem::not_found("no such route") })
    .method_not_allowed_fallback(|| async {
        Problem::new(
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "the route does not take this method",
        )
    })
    .layer(DefaultBodyLimit::max(body_limit))
    .layer(axum::middleware::from_fn(move |req, next| {
        crate::middleware::refuse_oversize(body_limit, req, next)
    }))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        crate::middleware::observe,
    ))
    .with_state(state)
}
