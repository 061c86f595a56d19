//! The policy in force, kill switches and thresholds.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use flowgate_app::service::views::{KillSwitchSet, PolicyView, ThresholdSet};
use serde::Deserialize;

use super::{BodyProblems, Guarded, authorise};
use crate::Shared;
use crate::auth::Need;
use crate::problem::Problem;

#[utoipa::path(
    get,
    path = "/v1/policy",
    tag = "policy",
    responses(
        (status = 200, description = "the policy in force", body = PolicyView),
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn get_policy(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<PolicyView>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    Ok(Json(s.app.policy().await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KillSwitchBody {
    /// `*` for the global switch, else an intent the model knows.
    #[schema(min_length = 1)]
    scope: String,
    engaged: bool,
}

#[utoipa::path(
    put,
    path = "/v1/policy/kill-switch",
    tag = "policy",
    request_body = KillSwitchBody,
    responses(
        (status = 200, description = "the switch as now set, on the audit chain", body = KillSwitchSet),
        BodyProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn put_kill_switch(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<KillSwitchBody>, JsonRejection>,
) -> Result<Json<KillSwitchSet>, Problem> {
    let caller = authorise(&s, &headers, Need::Admin).await?;
    let Json(b) = body?;
    Ok(Json(
        s.app.kill_switch(&b.scope, b.engaged, &caller.name).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdBody {
    /// An intent the model knows.
    #[schema(min_length = 1)]
    intent: String,
    /// The fixed threshold, between 0 and 1 (kept to three decimals); the gate still holds
    /// it to the precision bound.
    #[schema(minimum = 0.0, maximum = 1.0)]
    threshold: f64,
}

#[utoipa::path(
    put,
    path = "/v1/policy/threshold",
    tag = "policy",
    request_body = ThresholdBody,
    responses(
        (status = 200, description = "the policy now in force, the change on the audit chain (`audit` null when the threshold was already so)", body = ThresholdSet),
        BodyProblems,
        Guarded,
    ),
    security(("bearer" = []))
)]
pub async fn put_threshold(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<ThresholdBody>, JsonRejection>,
) -> Result<Json<ThresholdSet>, Problem> {
    let caller = authorise(&s, &headers, Need::Admin).await?;
    let Json(b) = body?;
    Ok(Json(
        s.app
            .set_threshold(&b.intent, b.threshold, &caller.name)
            .await?,
    ))
}
