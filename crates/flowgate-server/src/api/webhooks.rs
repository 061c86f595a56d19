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
    request_body(content = WebhookBody, description = "flowgate's {type, data}, or a help desk's own delivery", content_type = "application/json"),
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

/// The bodies `POST /v1/webhooks/{source}` reads, one schema per shape, each with the fields
/// that pick it and that it requires (`flowgate_app::inbound::parse`); every other field is the
/// vendor's own and passes through.
pub struct WebhookBody;

mod body_schema {
    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
        SchemaFormat, SchemaType, Type,
    };
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    fn typed(t: Type) -> ObjectBuilder {
        ObjectBuilder::new().schema_type(t)
    }

    /// An id a vendor sends as text or as a number.
    fn id() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(SchemaType::Array(vec![Type::String, Type::Integer]))
    }

    fn date_time() -> ObjectBuilder {
        typed(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    }

    /// An object with `required` properties (name, schema), open to any other field.
    fn nested(required: Vec<(&str, ObjectBuilder)>) -> ObjectBuilder {
        let mut o =
            typed(Type::Object).additional_properties(Some(AdditionalProperties::FreeForm(true)));
        for (name, schema) in required {
            o = o.property(name, schema).required(name);
        }
        o
    }

    /// One shape: a titled, described [`nested`] object.
    fn open(title: &str, description: &str, required: Vec<(&str, ObjectBuilder)>) -> ObjectBuilder {
        nested(required)
            .title(Some(title))
            .description(Some(description))
    }

    fn flowgate() -> Schema {
        let data = OneOfBuilder::new()
            .item(Ref::from_schema_name("Ticket"))
            .item(
                ArrayBuilder::new()
                    .items(Ref::from_schema_name("Event"))
                    .min_items(Some(1)),
            )
            .description(Some(
                "a ticket (ticket.created, ticket.updated) or history events (ticket.events)",
            ));
        let mut o = open(
            "flowgate",
            "flowgate's own envelope",
            vec![(
                "type",
                typed(Type::String).enum_values(Some([
                    "ticket.created",
                    "ticket.updated",
                    "ticket.events",
                ])),
            )],
        );
        o = o.property("data", data).required("data");
        Schema::Object(
            o.additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .build(),
        )
    }

    fn record(title: &str, description: &str) -> ObjectBuilder {
        open(
            title,
            description,
            vec![
                ("sys_id", typed(Type::String)),
                (
                    "sys_updated_on",
                    typed(Type::String)
                        .description(Some("YYYY-MM-DD HH:MM:SS in UTC, or RFC 3339")),
                ),
            ],
        )
    }

    fn shapes() -> Vec<Schema> {
        let zendesk = open(
            "zendesk",
            "a Zendesk ticket event",
            vec![
                (
                    "type",
                    typed(Type::String).pattern(Some("^zen:event-type:")),
                ),
                ("detail", nested(vec![("id", id())])),
                ("time", date_time()),
            ],
        );
        let jira = open(
            "jira",
            "a Jira issue webhook",
            vec![
                ("webhookEvent", typed(Type::String)),
                (
                    "timestamp",
                    id().description(Some("Unix milliseconds, or RFC 3339")),
                ),
                ("issue", nested(vec![("key", typed(Type::String))])),
            ],
        );
        let github = open(
            "github",
            "a GitHub issues event",
            vec![
                ("action", typed(Type::String)),
                (
                    "issue",
                    nested(vec![
                        ("number", typed(Type::Integer)),
                        ("updated_at", date_time()),
                    ]),
                ),
            ],
        );
        let freshdesk = open(
            "freshdesk",
            "a Freshdesk automation webhook",
            vec![("freshdesk_webhook", nested(vec![("ticket_id", id())]))],
        );
        let intercom = open(
            "intercom",
            "an Intercom notification (conversation.* topics are read)",
            vec![
                (
                    "type",
                    typed(Type::String).enum_values(Some(["notification_event"])),
                ),
                ("topic", typed(Type::String)),
                ("data", nested(vec![("item", nested(vec![("id", id())]))])),
                (
                    "created_at",
                    typed(Type::Integer).description(Some("Unix seconds")),
                ),
            ],
        );
        let servicenow = record("servicenow", "a ServiceNow incident record");
        let servicenow_result = open(
            "servicenow result",
            "a ServiceNow Table API answer",
            vec![(
                "result",
                record("servicenow", "a ServiceNow incident record"),
            )],
        );
        let mut out = vec![flowgate()];
        out.extend(
            [
                zendesk,
                jira,
                github,
                freshdesk,
                intercom,
                servicenow,
                servicenow_result,
            ]
            .into_iter()
            .map(|o| Schema::Object(o.build())),
        );
        out
    }

    impl PartialSchema for super::WebhookBody {
        fn schema() -> RefOr<Schema> {
            let mut one = OneOfBuilder::new().description(Some(
                "flowgate's {type, data}, or a help desk's own delivery (docs/03-help-desks.md)",
            ));
            for s in shapes() {
                one = one.item(s);
            }
            RefOr::T(Schema::OneOf(one.build()))
        }
    }

    impl ToSchema for super::WebhookBody {
        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            schemas.push((
                flowgate_gate::Ticket::name().into(),
                flowgate_gate::Ticket::schema(),
            ));
            flowgate_gate::Ticket::schemas(schemas);
            let event = <flowgate_app::events::Event as ToSchema>::name();
            schemas.push((event.into(), flowgate_app::events::Event::schema()));
            flowgate_app::events::Event::schemas(schemas);
        }
    }
}
