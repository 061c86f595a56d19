//! `POST /v1/webhooks/{source}`: a help desk's delivery, verified by its signature and
//! committed to the inbox before the sender gets its 202 (see `flowgate_app::service::inbox`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use flowgate_app::service::inbox::Receipt;
use flowgate_app::service::views::DeliveryReceived;

use crate::problem::{Problem, ProblemDocument};
use crate::{Shared, now_ms};

/// A help desk's delivery, authenticated by its signature (see the schemes in docs/03-help-desks.md).
#[utoipa::path(
    post,
    path = "/v1/webhooks/{source}",
    tag = "webhooks",
    params(
        ("source" = String, Path, description = "the webhook source's name ([webhooks.NAME] in settings)"),
        ("X-Zendesk-Webhook-Signature" = Option<String>, Header, description = "zendesk: base64 HMAC-SHA256 of timestamp + body"),
        ("X-Zendesk-Webhook-Signature-Timestamp" = Option<String>, Header, description = "zendesk: the signed time"),
        ("X-Zendesk-Webhook-Invocation-Id" = Option<String>, Header, description = "zendesk: the delivery id"),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "hub-signature-256: sha256=<hex HMAC-SHA256 of the body>"),
        ("X-GitHub-Delivery" = Option<String>, Header, description = "hub-signature-256: the delivery id (GitHub)"),
        ("X-Atlassian-Webhook-Identifier" = Option<String>, Header, description = "hub-signature-256: the delivery id (Jira)"),
        ("X-Request-Id" = Option<String>, Header, description = "hub-signature-256: the delivery id (others)"),
        ("webhook-id" = Option<String>, Header, description = "standard-webhooks: the delivery id"),
        ("webhook-timestamp" = Option<String>, Header, description = "standard-webhooks: the signed time (seconds)"),
        ("webhook-signature" = Option<String>, Header, description = "standard-webhooks: v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
    ),
    request_body(content = Object, description = "flowgate's {type, data}; a Zendesk ticket event; a Jira issue webhook; a GitHub issues event; a Freshdesk automation webhook (freshdesk_webhook); an Intercom notification_event (conversation.* topics); a ServiceNow incident record (alone or as result)", content_type = "application/json"),
    responses(
        (status = 202, description = "committed to the inbox", body = DeliveryReceived),
        (status = 200, description = "the same delivery was received before: nothing stored", body = DeliveryReceived),
        (status = 400, description = "not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "bad signature or stale timestamp", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "no such source", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "the delivery id was received with other bytes", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "a shape flowgate does not read, or invalid fields", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 500, description = "the service failed; nothing was stored", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "the database is not ready, or the request took too long", body = ProblemDocument, content_type = "application/problem+json"),
    )
)]
pub async fn receive(
    State(s): State<Shared>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<DeliveryReceived>), Problem> {
    let Some(src) = s.webhooks.get(&source) else {
        return Err(Problem::not_found(format!(
            "no webhook source named {source:?} is configured ([webhooks.NAME] in settings)"
        )));
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the body as Content-Type: application/json",
        ));
    }
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "the body is larger than the service accepts",
            )
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "malformed", r.body_text())
        }
    })?;
    let delivery = crate::webhook::verify(src, &headers, &body, now_ms().div_euclid(1000))?;
    Ok(match s.app.receive(&source, &delivery, &body).await? {
        Receipt::Accepted(v) => (StatusCode::ACCEPTED, Json(v)),
        Receipt::Duplicate(v) => (StatusCode::OK, Json(v)),
    })
}
