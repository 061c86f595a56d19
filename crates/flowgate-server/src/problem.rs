//! Errors as RFC 9457 problem documents (`application/problem+json`), each with a stable
//! `type` URI (`urn:flowgate:problem:<slug>`, listed in the README). Never a stack trace.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One problem: the HTTP status, a stable slug and what went wrong.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub slug: &'static str,
    pub detail: String,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
}

/// A problem document as the OpenAPI document describes it (RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemDocument {
    /// `urn:flowgate:problem:<slug>`, stable; the README lists every one.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, for a person.
    pub detail: String,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

/// Every problem type the service answers with: (slug, status, title).
pub const TYPES: [(&str, u16, &str); 16] = [
    ("malformed", 400, "The request body is not valid JSON"),
    ("bad-query", 400, "A query parameter is not valid"),
    ("unauthorized", 401, "A valid bearer token is needed"),
    (
        "bad-signature",
        401,
        "The webhook's signature does not verify",
    ),
    (
        "stale-timestamp",
        401,
        "The webhook's signed timestamp is outside the accepted window",
    ),
    ("forbidden", 403, "The token's role may not do this"),
    ("not-found", 404, "No such resource"),
    (
        "method-not-allowed",
        405,
        "The route does not take this method",
    ),
    ("conflict", 409, "The request conflicts with what is stored"),
    ("too-large", 413, "The request body is too large"),
    (
        "unsupported-media-type",
        415,
        "The body must be application/json",
    ),
    ("invalid", 422, "The request's fields are not valid"),
    ("rate-limited", 429, "Too many requests for this token"),
    (
        "internal",
        500,
        "The service failed; the request was not completed",
    ),
    ("unavailable", 503, "A dependency is not ready"),
    (
        "timeout",
        503,
        "The request took too long and was abandoned",
    ),
];

impl Problem {
    pub fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            slug,
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }
    pub fn bad_query(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-query", detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, "conflict", detail)
    }
    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail)
    }
    /// A failure of ours: logged in full, answered without internals.
    pub fn internal(e: impl std::fmt::Display) -> Problem {
        tracing::error!(error = %e, "request failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed inside the service; it was not completed (see the service log)",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let title = TYPES
            .iter()
            .find(|t| t.0 == self.slug)
            .map_or("Error", |t| t.2);
        let body = Body {
            kind: format!("urn:flowgate:problem:{}", self.slug),
            title,
            status: self.status.as_u16(),
            detail: &self.detail,
        };
        let mut r = (self.status, Json(body)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED && self.slug == "unauthorized" {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"flowgate\""),
            );
        }
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Problem {
        let detail = r.body_text();
        match r {
            JsonRejection::JsonDataError(_) => Problem::invalid(detail),
            JsonRejection::JsonSyntaxError(_) => {
                Problem::new(StatusCode::BAD_REQUEST, "malformed", detail)
            }
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as Content-Type: application/json",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "the body is larger than the service accepts",
            ),
            other => Problem::new(StatusCode::BAD_REQUEST, "malformed", other.body_text()),
        }
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-query", r.body_text())
    }
}

impl From<flowgate_store::StoreError> for Problem {
    fn from(e: flowgate_store::StoreError) -> Problem {
        flowgate_app::Error::Store(e).into()
    }
}

/// The one place an application error becomes an HTTP status: by its kind, never by its
/// message. Internal failures are logged and answered without internals.
impl From<flowgate_app::Error> for Problem {
    fn from(e: flowgate_app::Error) -> Problem {
        use flowgate_app::ErrorKind as K;
        let status = match e.kind() {
            K::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            K::Malformed | K::BadQuery => StatusCode::BAD_REQUEST,
            K::NotFound => StatusCode::NOT_FOUND,
            K::Conflict => StatusCode::CONFLICT,
            K::Unavailable => {
                tracing::warn!(error = %e, "a dependency is not ready");
                if matches!(e, flowgate_app::Error::Store(_)) {
                    return Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the database did not answer; the request was not completed (try again)",
                    );
                }
                StatusCode::SERVICE_UNAVAILABLE
            }
            K::Internal => return Problem::internal(e),
        };
        Problem::new(status, e.code(), e.to_string())
    }
}
