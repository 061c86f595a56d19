//! `flowgate serve`: the HTTP API over the application layer. Tickets in, gated decisions
//! out, every decision on the audit chain before it is answered, reviews through the queue.
//!
//! Handlers are thin: authenticate, parse, call a use case of `flowgate-app`, shape JSON.
//! Every error is a problem document ([`problem`]).

pub mod auth;
pub mod batch;
pub mod inbox;
pub mod metrics;
pub mod problem;
pub mod web;
pub mod webhook;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use flowgate_app::Triage;
use flowgate_gate::{DecisionRecord, Ticket};
use flowgate_store::Store;
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Need, RateLimit};
use crate::batch::{Batcher, CpuPool};
use crate::metrics::Metrics;
use crate::problem::Problem;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub db_url: String,
    pub model: PathBuf,
    /// A policy file to import into the database (audited) and put in force; without one,
    /// the policy last imported is in force.
    pub policy: Option<PathBuf>,
    pub kb: Option<PathBuf>,
    /// A knowledge-base article reviewed longer ago than this does not count as current.
    pub stale_days: i64,
    /// Largest request body accepted (bytes).
    pub body_limit: usize,
    /// A request taking longer is abandoned with a 503 problem.
    pub request_timeout: Duration,
    /// Requests per minute per token (0: no limit).
    pub rate_per_minute: u32,
    /// Sample decisions the gate kept from acting for shadow review, besides acts.
    pub shadow_reviews: bool,
    /// Texts embedded together at most.
    pub max_batch: usize,
    /// Help-desk webhook sources by name (`POST /v1/webhooks/{name}`).
    pub webhooks: BTreeMap<String, webhook::WebhookSource>,
    /// Inbox workers in this process (0: deliveries are stored, not processed).
    pub workers: usize,
    /// How long a worker holds a claimed delivery; one that dies holding it is claimed
    /// again after this.
    pub inbox_lease: Duration,
    /// The 90-day pilot's plan: the Overview's day and phase, the Pilot page.
    pub pilot: Option<flowgate_value::pilot::PilotPlan>,
    /// Limits that raise an alert on the Overview.
    pub alerts: flowgate_value::alerts::AlertLimits,
    /// Baselines and scorecards are served from memory at most this old (at least 1 s).
    pub analytics_ttl: Duration,
    /// How often the small blocks that API and webhook events leave (one per request) are
    /// joined into large ones (`Store::compact_all`); `None` never.
    pub compact_every: Option<Duration>,
}

impl Config {
    pub fn new(db_url: String, model: PathBuf, policy: Option<PathBuf>) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db_url,
            model,
            policy,
            kb: None,
            stale_days: 180,
            body_limit: 1 << 20,
            request_timeout: Duration::from_secs(30),
            rate_per_minute: 6000,
            shadow_reviews: false,
            max_batch: 32,
            webhooks: BTreeMap::new(),
            workers: 2,
            inbox_lease: Duration::from_millis(inbox::LEASE_MS as u64),
            pilot: None,
            alerts: Default::default(),
            analytics_ttl: ANALYTICS_TTL,
            compact_every: Some(Duration::from_secs(60)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    App(#[from] flowgate_app::Error),
    #[error(transparent)]
    Store(#[from] flowgate_store::StoreError),
    #[error(transparent)]
    Demand(#[from] flowgate_demand::DemandError),
    #[error(transparent)]
    Kb(#[from] flowgate_kb::KbError),
    #[error(transparent)]
    Policy(#[from] flowgate_gate::PolicyError),
    #[error(
        "no policy is in force in this database: start with --policy FILE (it is imported, audited) or run `flowgate policy import FILE`"
    )]
    NoPolicy,
}

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    /// The model, the gate and the knowledge base; the gate's policy is the file's with the
    /// database's kill switches on top, refreshed before every decision.
    pub triage: Arc<tokio::sync::RwLock<Triage>>,
    /// The policy imported into the database (kill switches not applied).
    pub base_policy: tokio::sync::RwLock<flowgate_gate::Policy>,
    /// The database's policy version (imports and kill switches) the gate was last refreshed at.
    pub switch_version: std::sync::atomic::AtomicI64,
    pub batcher: Batcher,
    /// Where triage's CPU work runs (see [`batch`]).
    pub cpu: CpuPool,
    pub limits: RateLimit,
    pub metrics: Metrics,
    pub shadow_reviews: bool,
    pub timeout: Duration,
    pub webhooks: BTreeMap<String, webhook::WebhookSource>,
    pub inbox_lease_ms: i64,
    pub pilot: Option<flowgate_value::pilot::PilotPlan>,
    pub alerts: flowgate_value::alerts::AlertLimits,
    /// Figures served from memory are at most this old.
    pub analytics_ttl: Duration,
    /// Baselines and scorecards asked for, kept fresh by a background task.
    pub analytics: tokio::sync::Mutex<BTreeMap<AnalyticsKey, Computed>>,
    /// Held while figures are computed: one computation at a time.
    pub analytics_compute: tokio::sync::Mutex<()>,
    /// Woken when a delivery is stored, so an idle worker picks it up at once.
    pub inbox_wake: tokio::sync::Notify,
    /// Woken when a decision is queued for a callback.
    pub outbox_wake: tokio::sync::Notify,
}

type Shared = Arc<AppState>;

/// Loads everything (store migrated, model, policy resolved against held-out and reviewed
/// evidence, knowledge base, encoder), binds, calls `on_listen` with the bound address, and
/// serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    config: Config,
    on_listen: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let store = Store::open(&config.db_url).await?;
    store.migrate().await?;
    let model = flowgate_demand::IntentModel::load(&config.model)?;
    if let Some(path) = &config.policy {
        let text = std::fs::read_to_string(path).map_err(|e| flowgate_gate::PolicyError::Read {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        let (p, e) = flowgate_app::policy::import(
            &store,
            &text,
            &path.display().to_string(),
            "flowgate serve --policy",
            now_ms(),
        )
        .await?;
        match e {
            Some(e) => {
                tracing::info!(policy = %p.hash, seq = e.seq, "policy file imported: now in force")
            }
            None => tracing::info!(policy = %p.hash, "policy file already in force"),
        }
    }
    let switch_version = store.policy_version().await?;
    let base_policy = flowgate_app::policy::stored(&store)
        .await?
        .ok_or(Error::NoPolicy)?;
    let evidence = flowgate_store::review::evidence(&store.review_items().await?);
    let mut gate = flowgate_app::gate::resolve(&model, base_policy.clone(), &evidence)?;
    gate.policy = flowgate_app::policy::in_force(&store, &base_policy).await?;
    let kb = config
        .kb
        .as_deref()
        .map(flowgate_kb::Kb::open)
        .transpose()?;
    let encoder =
        flowgate_demand::Encoder::load(&flowgate_demand::model_files::default_model_dir()?)?;
    let state = Arc::new(AppState {
        store: store.clone(),
        triage: Arc::new(tokio::sync::RwLock::new(Triage {
            model,
            gate,
            kb,
            stale_days: config.stale_days,
        })),
        base_policy: tokio::sync::RwLock::new(base_policy),
        switch_version: std::sync::atomic::AtomicI64::new(switch_version),
        batcher: Batcher::start(encoder, config.max_batch),
        cpu: CpuPool::start(2),
        limits: RateLimit::new(config.rate_per_minute),
        metrics: Metrics::default(),
        shadow_reviews: config.shadow_reviews,
        timeout: config.request_timeout,
        webhooks: config.webhooks.clone(),
        inbox_wake: tokio::sync::Notify::new(),
        outbox_wake: tokio::sync::Notify::new(),
        inbox_lease_ms: i64::try_from(config.inbox_lease.as_millis()).unwrap_or(i64::MAX),
        pilot: config.pilot.clone(),
        alerts: config.alerts.clone(),
        analytics_ttl: config.analytics_ttl.max(Duration::from_secs(1)),
        analytics: tokio::sync::Mutex::new(BTreeMap::new()),
        analytics_compute: tokio::sync::Mutex::new(()),
    });
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers: Vec<_> = (0..config.workers)
        .map(|i| tokio::spawn(inbox::work(state.clone(), i, stop_rx.clone())))
        .collect();
    workers.push(tokio::spawn(refresh_analytics(
        state.clone(),
        stop_rx.clone(),
    )));
    if let Some(every) = config.compact_every {
        workers.push(tokio::spawn(compact_blocks(
            store.clone(),
            every.max(Duration::from_secs(1)),
            stop_rx.clone(),
        )));
    }
    // The Overview's figures, computed once at the start, so its first visitor after a
    // restart is answered from memory too (the store may hold no source yet: then nothing).
    tokio::spawn(prewarm(state.clone()));
    if config.workers > 0 && config.webhooks.values().any(|w| w.callback.is_some()) {
        workers.push(tokio::spawn(inbox::send_decisions(
            state.clone(),
            stop_rx.clone(),
        )));
    }
    on_listen(listener.local_addr()?);
    // On the shutdown signal: stop accepting, finish requests in flight, and let each worker
    // finish the delivery it holds (one it did not finish is claimed again after a restart).
    let draining = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    axum::serve(listener, router(state, config.body_limit))
        .with_graceful_shutdown(draining)
        .await?;
    for w in workers {
        let _ = w.await;
    }
    store.close().await;
    Ok(())
}

/// The OpenAPI document's frame: what every path shares. The paths come from the handlers'
/// `#[utoipa::path]` annotations as they are routed ([`router`]), so a route cannot exist
/// without being documented.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "flowgate",
        description = "The live loop: tickets in from help desks, gated decisions out, every one audited.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
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

/// The routes and the OpenAPI document describing them.
pub fn routes() -> (Router<Shared>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    let (r, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(post_ticket))
        .routes(routes!(post_events))
        .routes(routes!(inbox::receive))
        .routes(routes!(list_decisions))
        .routes(routes!(get_baseline))
        .routes(routes!(get_scorecard))
        .routes(routes!(get_defects))
        .routes(routes!(get_governance))
        .routes(routes!(get_decision))
        .routes(routes!(list_reviews))
        .routes(routes!(claim_review))
        .routes(routes!(mark_review))
        .routes(routes!(verify))
        .routes(routes!(get_policy))
        .routes(routes!(put_kill_switch))
        .routes(routes!(put_threshold))
        .routes(routes!(get_pilot))
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api.paths.paths.insert(
        "/openapi.json".into(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .tag("service")
                .summary(Some("This document"))
                .response(
                    "200",
                    utoipa::openapi::ResponseBuilder::new()
                        .description("the OpenAPI 3.1 document")
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::schema::Object::new()))
                                .build(),
                        ),
                )
                .build(),
        ),
    );
    (r, api)
}

/// The service: the routes, `/openapi.json`, and what every request goes through.
pub fn router(state: Shared, body_limit: usize) -> Router {
    let (r, api) = routes();
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
    .merge(web::router())
    .fallback(|| async { Problem::not_found("no such route") })
    .layer(DefaultBodyLimit::max(body_limit))
    .layer(axum::middleware::from_fn(move |req, next| {
        refuse_oversize(body_limit, req, next)
    }))
    .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
    .with_state(state)
}

/// Times every request, abandons one that takes too long, counts it by route and status,
/// and sets the security headers. Logs ids and routes, never bodies.
async fn observe(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = req.method().to_string();
    let t0 = Instant::now();
    let mut r = match tokio::time::timeout(s.timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {} s and was abandoned",
                s.timeout.as_secs()
            ),
        )
        .into_response(),
    };
    let secs = t0.elapsed().as_secs_f64();
    s.metrics
        .request(&method, &route, r.status().as_u16(), secs);
    tracing::debug!(%method, %route, status = r.status().as_u16(), ms = secs * 1000.0, "request");
    let h = r.headers_mut();
    h.insert("x-content-type-options", "nosniff".parse().expect("static"));
    h.insert("cache-control", "no-store".parse().expect("static"));
    r
}

/// How much of a body announced as too large is read and thrown away before the 413, so
/// that a client still writing it reads the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 16 << 20;

/// Answers 413 for a body whose `Content-Length` is over the limit before reading it. A
/// client that asked `Expect: 100-continue` never sends it; one that did not gets its body
/// read and discarded (up to [`DRAIN_LIMIT`]) first: closing a connection with unread bytes
/// makes the kernel reset it, and the client would see a broken pipe, not the problem
/// document. Bodies without a length still meet the extractors' limit.
async fn refuse_oversize(limit: usize, req: Request, next: Next) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(len) = announced.filter(|&n| n > limit as u64) else {
        return next.run(req).await;
    };
    let expects = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if !expects && len <= DRAIN_LIMIT as u64 {
        drain(req.into_body()).await;
    }
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!("the body is {len} bytes; the service accepts at most {limit}"),
    )
    .into_response()
}

/// Reads a body to its end (at most [`DRAIN_LIMIT`] bytes), keeping nothing.
async fn drain(mut body: axum::body::Body) {
    use axum::body::HttpBody;
    let mut seen = 0usize;
    while seen <= DRAIN_LIMIT {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

/// The caller, when the request carries an active token whose role allows `need`.
async fn authorise(s: &AppState, headers: &HeaderMap, need: Need) -> Result<Caller, Problem> {
    let token = auth::bearer(headers)
        .ok_or_else(|| Problem::unauthorized("send Authorization: Bearer <token>"))?;
    let found = s
        .store
        .token_lookup(&auth::token_sha256(token))
        .await
        .map_err(Problem::internal)?;
    let Some((name, role)) = found else {
        return Err(Problem::unauthorized("the token is unknown or revoked"));
    };
    s.limits.check(&name, now_ms())?;
    if !auth::allows(&role, need) {
        return Err(Problem::forbidden(format!(
            "token {name:?} has role {role}, which may not do this"
        )));
    }
    Ok(Caller { name, role })
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses((status = 200, description = "alive", body = Object)
    )
)]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses((status = 200, description = "ready: database reachable, model and policy loaded", body = Object),
        (status = 503, description = "unavailable or timed out", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    )
)]
async fn readyz(State(s): State<Shared>) -> Result<Json<serde_json::Value>, Problem> {
    let t = s.triage.read().await;
    match s.store.audit_len().await {
        Ok(n) => Ok(Json(serde_json::json!({
            "status": "ready",
            "database": "ok",
            "audit_chain_length": n,
            "model": t.model.header.model_id,
            "policy": t.gate.policy.hash,
        }))),
        Err(e) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the database is not reachable: {e}"),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn metrics(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let n = s.store.audit_len().await?;
    let pending = s
        .store
        .review_items()
        .await?
        .iter()
        .filter(|i| i.verdict.is_none())
        .count();
    let inbox = s.store.inbox_stats().await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(n, pending, &inbox, now_ms()),
    )
        .into_response())
}

/// A decision as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
struct DecisionOut {
    action: flowgate_gate::Action,
    intent: String,
    confidence: f32,
    oos_score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<String>,
    rule: String,
    threshold: Option<f64>,
    reasons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sources: Vec<flowgate_app::Source>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AuditRef {
    seq: i64,
    hash: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TicketOut {
    ticket_id: String,
    decision: DecisionOut,
    audit: AuditRef,
    /// Whether the decision went to the review queue.
    sampled: bool,
}

fn decision_out(
    r: &DecisionRecord,
    bucket: Option<String>,
    answer: Option<String>,
    sources: Vec<flowgate_app::Source>,
) -> DecisionOut {
    DecisionOut {
        action: r.decision,
        intent: r.intent.clone(),
        confidence: r.confidence,
        oos_score: r.oos_score,
        bucket,
        rule: r.rule.clone(),
        threshold: r.threshold,
        reasons: vec![r.reason.clone()],
        answer,
        sources,
    }
}

#[utoipa::path(
    post,
    path = "/v1/tickets",
    tag = "tickets",
    request_body = flowgate_gate::Ticket,
    responses((status = 201, description = "decided and audited", body = TicketOut), (status = 200, description = "the same ticket and content were decided before: that decision", body = TicketOut),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "rate limited", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn post_ticket(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<Ticket>, JsonRejection>,
) -> Result<(StatusCode, Json<TicketOut>), Problem> {
    let caller = authorise(&s, &headers, Need::Ingest).await?;
    let Json(ticket) = body?;
    flowgate_app::inbound::check_ticket(&ticket)?;
    let posted = decide(&s, &ticket, &caller.name).await?;
    let status = if posted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(TicketOut {
            ticket_id: ticket.id,
            decision: decision_out(
                &posted.record,
                Some(posted.bucket),
                posted.answer,
                posted.sources,
            ),
            audit: AuditRef {
                seq: posted.seq,
                hash: posted.hash,
            },
            sampled: posted.sampled,
        }),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DecisionQuery {
    #[serde(default)]
    after_seq: i64,
    limit: Option<i64>,
    intent: Option<String>,
    action: Option<String>,
    /// RFC 3339 bounds on the decision time.
    since: Option<String>,
    until: Option<String>,
    /// Confidence bounds: `min_confidence` ≤ confidence < `max_confidence`.
    min_confidence: Option<f64>,
    max_confidence: Option<f64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DecisionRow {
    seq: i64,
    hash: String,
    recorded_at: String,
    actor: String,
    ticket_id: String,
    #[serde(flatten)]
    decision: DecisionOut,
    policy: String,
    model: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DecisionPage {
    decisions: Vec<DecisionRow>,
    /// Pass as `after_seq` for the next page (`null` at the end of the chain).
    next_after_seq: Option<i64>,
}

fn parse_time(name: &str, v: &Option<String>) -> Result<Option<i64>, Problem> {
    v.as_deref()
        .map(|t| {
            t.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|e| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "bad-query",
                        format!("{name}={t:?}: expected an RFC 3339 time ({e})"),
                    )
                })
        })
        .transpose()
}

#[utoipa::path(
    get,
    path = "/v1/decisions",
    tag = "decisions",
    params(DecisionQuery),
    responses((status = 200, description = "decisions in chain order", body = DecisionPage),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list_decisions(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<DecisionQuery>, QueryRejection>,
) -> Result<Json<DecisionPage>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    Ok(Json(find_decisions(&s, &q).await?))
}

/// Decisions matching `q` in chain order, one page.
async fn find_decisions(s: &AppState, q: &DecisionQuery) -> Result<DecisionPage, Problem> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let since = parse_time("since", &q.since)?;
    let until = parse_time("until", &q.until)?;
    if let Some(a) = &q.action
        && !flowgate_gate::Action::ALL.iter().any(|x| x.as_str() == a)
    {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            format!("action={a:?}: expected act, assist, route, clarify or escalate"),
        ));
    }
    let mut out = Vec::new();
    let mut cursor = q.after_seq.max(0);
    let mut at_end = false;
    // Scan the chain in pages until the page is full or the chain ends.
    while out.len() < limit {
        let page = s.store.audit_after(cursor, 2000).await?;
        if page.is_empty() {
            at_end = true;
            break;
        }
        for e in page {
            cursor = e.seq;
            let Some(r) = DecisionRecord::parse(&e.record) else {
                continue;
            };
            let c = f64::from(r.confidence);
            let keep = q.intent.as_ref().is_none_or(|i| *i == r.intent)
                && q.action.as_ref().is_none_or(|a| a == r.decision.as_str())
                && q.min_confidence.is_none_or(|m| c >= m)
                && q.max_confidence.is_none_or(|m| c < m)
                && since.is_none_or(|t| e.recorded_at_ms >= t)
                && until.is_none_or(|t| e.recorded_at_ms < t);
            if keep {
                out.push(decision_row(&e, &r, None, Vec::new()));
                if out.len() == limit {
                    break;
                }
            }
        }
    }
    Ok(DecisionPage {
        decisions: out,
        next_after_seq: (!at_end).then_some(cursor),
    })
}

/// A decision on the chain as the API shows it (the list, one decision, callbacks).
fn decision_row(
    e: &flowgate_store::audit::AuditEntry,
    r: &DecisionRecord,
    answer: Option<String>,
    sources: Vec<flowgate_app::Source>,
) -> DecisionRow {
    DecisionRow {
        seq: e.seq,
        hash: e.sha256.clone(),
        recorded_at: ms_to_rfc3339(e.recorded_at_ms),
        actor: e.actor.clone(),
        ticket_id: r.ticket.clone(),
        policy: r.policy.clone(),
        model: r.model.clone(),
        decision: decision_out(r, None, answer, sources),
    }
}

/// Decision `seq` as a callback's body: the row as `GET /v1/decisions/{seq}` shows it, with
/// the proposed answer and sources.
pub(crate) async fn decision_json(
    s: &AppState,
    seq: i64,
) -> Result<Option<serde_json::Value>, Problem> {
    let Some(e) = s.store.audit_entry(seq).await? else {
        return Ok(None);
    };
    let Some(r) = DecisionRecord::parse(&e.record) else {
        return Ok(None);
    };
    let text = s.store.decision_text(seq).await?;
    let sources = flowgate_app::triage::sources(text.as_ref().and_then(|t| t.sources.as_deref()));
    let row = decision_row(&e, &r, text.and_then(|t| t.answer), sources);
    serde_json::to_value(&row)
        .map(Some)
        .map_err(Problem::internal)
}

fn ms_to_rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[derive(Serialize, utoipa::ToSchema)]
struct DecisionDetail {
    #[serde(flatten)]
    row: DecisionRow,
    prev_hash: String,
    ticket_text: Option<String>,
    review: Option<serde_json::Value>,
}

#[utoipa::path(
    get,
    path = "/v1/decisions/{seq}",
    tag = "decisions",
    params(("seq" = i64, Path, description = "the decision's audit sequence number")),
    responses((status = 200, description = "one decision in full", body = DecisionDetail),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "not found", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_decision(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<String>,
) -> Result<Json<DecisionDetail>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let seq: i64 = seq
        .parse()
        .map_err(|_| Problem::not_found(format!("decision {seq:?}: expected a sequence number")))?;
    Ok(Json(decision_detail(&s, seq).await?))
}

/// Decision `seq` in full: the row, the previous hash, the ticket's text, its review.
async fn decision_detail(s: &AppState, seq: i64) -> Result<DecisionDetail, Problem> {
    let e = s
        .store
        .audit_entry(seq)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no audit record {seq}")))?;
    let r = DecisionRecord::parse(&e.record)
        .ok_or_else(|| Problem::not_found(format!("audit record {seq} is not a decision")))?;
    let text = s.store.decision_text(seq).await?;
    let sources = flowgate_app::triage::sources(text.as_ref().and_then(|t| t.sources.as_deref()));
    let review = s
        .store
        .review_items()
        .await?
        .into_iter()
        .find(|i| i.audit_seq == seq)
        .map(|i| review_json(&i));
    Ok(DecisionDetail {
        row: decision_row(
            &e,
            &r,
            text.as_ref().and_then(|t| t.answer.clone()),
            sources,
        ),
        prev_hash: e.prev_sha256,
        ticket_text: text.and_then(|t| t.text),
        review,
    })
}

fn review_json(i: &flowgate_store::review::QueueItem) -> serde_json::Value {
    serde_json::json!({
        "decision_seq": i.audit_seq,
        "ticket_id": i.ticket,
        "intent": i.intent,
        "band": i.band,
        "confidence": i.confidence,
        "shadow": i.shadow,
        "decided_at": ms_to_rfc3339(i.decided_at_ms),
        "verdict": i.verdict,
        "category": i.category,
        "reviewer": i.reviewer,
        "note": i.note,
        "reviewed_at": i.reviewed_at_ms.map(ms_to_rfc3339),
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReviewQuery {
    /// `pending` (default), `reviewed` or `all`.
    state: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/reviews",
    tag = "reviews",
    params(ReviewQuery),
    responses((status = 200, description = "the review queue", body = Object),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn list_reviews(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<ReviewQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let state = q.state.as_deref().unwrap_or("pending");
    let keep = |i: &flowgate_store::review::QueueItem| match state {
        "pending" => Ok(i.verdict.is_none()),
        "reviewed" => Ok(i.verdict.is_some()),
        "all" => Ok(true),
        other => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            format!("state={other:?}: expected pending, reviewed or all"),
        )),
    };
    let mut items = Vec::new();
    for i in s.store.review_items().await? {
        if keep(&i)? {
            items.push(review_json(&i));
        }
    }
    Ok(Json(serde_json::json!({ "reviews": items })))
}

/// How long a claimed review stays with its reviewer.
const LEASE_MS: i64 = 15 * 60 * 1000;

#[utoipa::path(
    post,
    path = "/v1/reviews/claim",
    tag = "reviews",
    responses((status = 200, description = "the item now leased to the caller for 15 minutes", body = Object),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "not found", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn claim_review(State(s): State<Shared>, headers: HeaderMap) -> Result<Response, Problem> {
    let caller = authorise(&s, &headers, Need::Reviewer).await?;
    let now = now_ms();
    match s.store.review_claim(&caller.name, now, LEASE_MS).await? {
        None => Err(Problem::not_found("no decision is waiting for review")),
        Some(i) => {
            let text = s.store.decision_text(i.audit_seq).await?;
            let mut v = review_json(&i);
            v["lease_until"] = ms_to_rfc3339(now + LEASE_MS).into();
            v["ticket_text"] = text.as_ref().and_then(|t| t.text.clone()).into();
            v["answer"] = text.as_ref().and_then(|t| t.answer.clone()).into();
            v["reasons"] = text.as_ref().and_then(|t| t.reasons.clone()).into();
            Ok(Json(v).into_response())
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Verdict {
    verdict: String,
    category: Option<String>,
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/reviews/{seq}",
    tag = "reviews",
    params(("seq" = i64, Path, description = "the reviewed decision's audit sequence number")),
    request_body = Verdict,
    responses((status = 200, description = "the verdict, on the audit chain", body = Object),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "not found", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "conflict", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn mark_review(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<String>,
    body: Result<Json<Verdict>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let caller = authorise(&s, &headers, Need::Reviewer).await?;
    let Json(v) = body?;
    let seq: i64 = seq
        .parse()
        .map_err(|_| Problem::not_found(format!("review {seq:?}: expected a sequence number")))?;
    if !["correct", "defect"].contains(&v.verdict.as_str()) {
        return Err(Problem::invalid(format!(
            "verdict {:?}: expected correct or defect",
            v.verdict
        )));
    }
    if v.verdict == "defect" && v.category.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(Problem::invalid(
            "category: a defect needs a category (wrong-intent, wrong-answer, tone, policy, other…)",
        ));
    }
    let e = s
        .store
        .review_mark(
            seq,
            &v.verdict,
            v.category.as_deref(),
            Some(&caller.name),
            v.note.as_deref(),
            now_ms(),
        )
        .await?;
    Ok(Json(serde_json::json!({
        "decision_seq": seq,
        "verdict": v.verdict,
        "audit": {"seq": e.seq, "hash": e.sha256},
    })))
}

#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    responses((status = 200, description = "the chain and the review queue checked", body = Object),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn verify(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<flowgate_app::audit::Verification>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    Ok(Json(flowgate_app::audit::verify_store(&s.store).await?))
}

/// Triage one ticket and record its decision once (the live path every surface takes: the
/// API, and the inbox's workers).
pub(crate) async fn decide(
    s: &AppState,
    ticket: &Ticket,
    actor: &str,
) -> Result<flowgate_app::live::Posted, Problem> {
    let emb = s
        .batcher
        .embed(ticket.text())
        .await
        .map_err(Problem::internal)?;
    refresh_policy(s).await?;
    let at = jiff::Timestamp::now();
    let days = flowgate_app::live::days_since_previous(&s.store, ticket, at).await?;
    // Triage on the pool, under the policy it is then recorded with (the read lock is held
    // from the triage to the commit, so a policy change waits for both).
    let triage = s.triage.clone().read_owned().await;
    let owned = ticket.clone();
    let (triaged, triage) = s
        .cpu
        .run(move || (triage.triage(&owned, &emb, days, at), triage))
        .await
        .map_err(Problem::internal)?;
    let posted = flowgate_app::live::record(
        &s.store,
        &triage.gate.policy,
        ticket,
        triaged?,
        actor,
        s.shadow_reviews,
        at,
    )
    .await?;
    if posted.created {
        s.metrics.decision(posted.record.decision.as_str());
    }
    tracing::info!(ticket = %ticket.id, seq = posted.seq, action = posted.record.decision.as_str(), created = posted.created, "ticket decided");
    Ok(posted)
}

/// `POST /v1/events`: history events in the canonical fields.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EventsIn {
    /// The store's source to append to (default `live`).
    #[serde(default)]
    source: Option<String>,
    events: Vec<flowgate_app::events::Event>,
}

/// The source `POST /v1/events` appends to unless the request names one.
pub const LIVE_SOURCE: &str = "live";

#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "events",
    request_body = EventsIn,
    responses((status = 201, description = "new events stored", body = Object), (status = 200, description = "every event was stored before", body = Object),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn post_events(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<EventsIn>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    let caller = authorise(&s, &headers, Need::Ingest).await?;
    let Json(req) = body?;
    let source = req.source.as_deref().unwrap_or(LIVE_SOURCE);
    if source.trim().is_empty() || source.len() > 100 {
        return Err(Problem::invalid("source: expected 1 to 100 characters"));
    }
    if req.events.is_empty() {
        return Err(Problem::invalid("events: expected at least one event"));
    }
    let sum = flowgate_app::events::append(
        &s.store,
        source,
        &req.events,
        &caller.name,
        "POST /v1/events",
    )
    .await?;
    tracing::info!(
        source,
        new = sum.events_new,
        duplicate = sum.events_duplicate,
        "events appended"
    );
    let status = if sum.events_new > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(serde_json::json!({
            "source": source,
            // A post of events already stored leaves no import record.
            "import_id": (sum.import_id > 0).then_some(sum.import_id),
            "events_new": sum.events_new,
            "events_duplicate": sum.events_duplicate,
        })),
    ))
}

/// How old a served baseline or scorecard may grow before it is computed again: a
/// background task recomputes what was asked for, so requests are answered from memory and
/// the figures lag live ingest by at most this plus one computation (each answer says when
/// it was computed).
pub const ANALYTICS_TTL: Duration = Duration::from_secs(60);
/// Figures nobody asked for in this long are dropped rather than kept fresh.
const ANALYTICS_IDLE: Duration = Duration::from_secs(600);

/// Bootstrap draws of the pilot comparison (the intervals' precision: ±~1 point at 95%).
const PILOT_RESAMPLES: usize = 500;

/// Which figures a request asks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AnalyticsKey {
    Baseline {
        source: Option<String>,
        /// Only the cases created in `[from, to)` (UTC ms), backlog as of `to`.
        range: Option<(i64, i64)>,
    },
    Scorecard {
        source: Option<String>,
        weeks: usize,
        last_week: Option<i64>,
        /// The cases first owned by this team only.
        team: Option<String>,
    },
    /// The baseline report's sections as HTML (the Flow page), cases created in `range`.
    FlowHtml {
        source: Option<String>,
        range: Option<(i64, i64)>,
    },
    /// The gate's week starting at `from` (UTC ms): decisions by action, coverage,
    /// automation rate (reopens from the store's only source, when it has one).
    GateWeek { from: i64 },
    /// The pilot against its baseline, as of a day (`YYYY-MM-DD`).
    Pilot {
        source: Option<String>,
        today: String,
    },
}

/// Computed figures and when they were computed and last asked for.
pub struct Computed {
    at: Instant,
    asked: Instant,
    value: Arc<serde_json::Value>,
}

async fn compute_analytics(s: &AppState, key: &AnalyticsKey) -> Result<serde_json::Value, Problem> {
    let mut v = compute_figures(s, key).await?;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "max_staleness_s".into(),
            serde_json::json!(s.analytics_ttl.as_secs()),
        );
    }
    Ok(v)
}

async fn compute_figures(s: &AppState, key: &AnalyticsKey) -> Result<serde_json::Value, Problem> {
    match key.clone() {
        AnalyticsKey::Baseline { source, range } => {
            let l = flowgate_app::analytics::load(&s.store, source.as_deref()).await?;
            tokio::task::spawn_blocking(move || {
                let b = match range {
                    None => flowgate_app::analytics::baseline(&l),
                    Some((from, to)) => flowgate_app::analytics::baseline_between(&l, from, to),
                };
                serde_json::to_value(&b).map(|b| analytics_json(&l.source, "baseline", b))
            })
            .await
            .map_err(Problem::internal)?
            .map_err(Problem::internal)
        }
        AnalyticsKey::Scorecard {
            source,
            weeks,
            last_week,
            team,
        } => {
            let l = flowgate_app::analytics::load(&s.store, source.as_deref()).await?;
            let reviewed = flowgate_app::analytics::reviewed_defects(&s.store, &l).await?;
            let v = tokio::task::spawn_blocking(move || {
                let c = match &team {
                    None => flowgate_app::analytics::scorecard(&l, &reviewed, weeks, last_week),
                    Some(t) => {
                        let (records, reviewed) =
                            flowgate_app::analytics::for_team(&l, &reviewed, t)?;
                        flowgate_app::analytics::scorecard_of(&records, &reviewed, weeks, last_week)
                    }
                };
                let mut v = serde_json::to_value(&c)
                    .map(|c| analytics_json(&l.source, "scorecard", c))
                    .map_err(Problem::internal)?;
                v["team"] = serde_json::json!(team);
                v["teams"] = serde_json::json!(flowgate_app::analytics::teams(&l));
                Ok::<_, Problem>(v)
            })
            .await
            .map_err(Problem::internal)??;
            Ok(v)
        }
        AnalyticsKey::GateWeek { from } => {
            let l = flowgate_app::analytics::load(&s.store, None).await.ok();
            let w = flowgate_app::gate_week::weekly(
                &s.store,
                from,
                from + flowgate_flow::time::MS_PER_WEEK,
                l.as_ref(),
            )
            .await?;
            let mut v = serde_json::to_value(&w).map_err(Problem::internal)?;
            v["joined_to"] = serde_json::json!(l.as_ref().map(|l| l.source.clone()));
            Ok(v)
        }
        AnalyticsKey::FlowHtml { source, range } => {
            let l = flowgate_app::analytics::load(&s.store, source.as_deref()).await?;
            tokio::task::spawn_blocking(move || {
                let b = match range {
                    None => flowgate_app::analytics::baseline(&l),
                    Some((from, to)) => flowgate_app::analytics::baseline_between(&l, from, to),
                };
                serde_json::json!({
                    "source": l.source,
                    "computed_at": jiff::Timestamp::now().to_string(),
                    "cases": b.cases,
                    "events": b.events,
                    "first_event": b.first_event,
                    "last_event": b.last_event,
                    "html": flowgate_report::baseline_sections(&b),
                })
            })
            .await
            .map_err(Problem::internal)
        }
        AnalyticsKey::Pilot { source, today } => {
            let plan = s.pilot.clone().ok_or_else(|| {
                Problem::not_found("no pilot is planned: add [pilot] to flowgate.toml")
            })?;
            let today: jiff::civil::Date = today
                .parse()
                .map_err(|_| Problem::invalid(format!("day {today:?}: expected YYYY-MM-DD")))?;
            let l = flowgate_app::analytics::load(&s.store, source.as_deref()).await?;
            tokio::task::spawn_blocking(move || {
                let v = flowgate_app::pilot::view(&l, &plan, today, "intent", PILOT_RESAMPLES)?;
                let html = v
                    .compare
                    .as_ref()
                    .map(|c| flowgate_report::value::compare_section(c, v.budget.as_ref()));
                let mut out = serde_json::to_value(&v)
                    .map(|v| analytics_json(&l.source, "pilot", v))
                    .map_err(Problem::internal)?;
                out["html"] = serde_json::json!(html);
                Ok(out)
            })
            .await
            .map_err(Problem::internal)?
        }
    }
}

/// The figures for `key`: from memory when they were computed before (however busy the
/// store is), else computed now — one computation at a time, so a burst of first requests
/// computes once.
async fn analytics(s: &AppState, key: AnalyticsKey) -> Result<Arc<serde_json::Value>, Problem> {
    {
        let mut cache = s.analytics.lock().await;
        if let Some(c) = cache.get_mut(&key) {
            c.asked = Instant::now();
            return Ok(c.value.clone());
        }
    }
    let _one = s.analytics_compute.lock().await;
    if let Some(c) = s.analytics.lock().await.get(&key) {
        return Ok(c.value.clone());
    }
    let value = Arc::new(compute_analytics(s, &key).await?);
    let now = Instant::now();
    s.analytics.lock().await.insert(
        key,
        Computed {
            at: now,
            asked: now,
            value: value.clone(),
        },
    );
    Ok(value)
}

/// Computes what the Overview shows by default (the only source's scorecard and baseline,
/// the gate's week): the first page after a start is then served from memory.
async fn prewarm(s: Arc<AppState>) {
    let week = flowgate_app::analytics::parse_week(&flowgate_flow::time::iso_week_label(now_ms()));
    let mut keys = vec![
        AnalyticsKey::Scorecard {
            source: None,
            weeks: 12,
            last_week: None,
            team: None,
        },
        AnalyticsKey::Baseline {
            source: None,
            range: None,
        },
    ];
    if let Ok(from) = week {
        keys.push(AnalyticsKey::GateWeek { from });
    }
    for key in keys {
        if let Err(p) = analytics(&s, key.clone()).await {
            tracing::debug!(?key, detail = %p.detail, "nothing to prewarm");
        }
    }
}

/// Keeps asked-for figures fresh: every few seconds, recomputes those older than the
/// service's `analytics_ttl` and drops those nobody asked for lately.
async fn refresh_analytics(s: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(s.analytics_ttl.min(Duration::from_secs(5))) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let due: Vec<AnalyticsKey> = {
            let mut cache = s.analytics.lock().await;
            cache.retain(|_, c| c.asked.elapsed() < ANALYTICS_IDLE);
            cache
                .iter()
                .filter(|(_, c)| c.at.elapsed() >= s.analytics_ttl)
                .map(|(k, _)| k.clone())
                .collect()
        };
        for key in due {
            let _one = s.analytics_compute.lock().await;
            match compute_analytics(&s, &key).await {
                Ok(v) => {
                    if let Some(c) = s.analytics.lock().await.get_mut(&key) {
                        c.at = Instant::now();
                        c.value = Arc::new(v);
                    }
                }
                Err(p) => {
                    tracing::warn!(?key, detail = %p.detail, "recomputing figures failed; the last ones are served")
                }
            }
        }
    }
}

/// Joins the small event blocks live sources gather (one per `POST /v1/events` or webhook
/// delivery) every `every`, so loads read a few large blocks. Each request's events were
/// committed before its answer; this only moves committed bytes, in one transaction.
async fn compact_blocks(
    store: Store,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        match store.compact_all().await {
            Ok(done) => {
                for c in done {
                    tracing::info!(
                        source = %c.source,
                        event_blocks = c.event_blocks_after,
                        joined = c.event_blocks_before - c.event_blocks_after,
                        "compacted"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "compaction failed; the blocks stay as they were"),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AnalyticsQuery {
    source: Option<String>,
    weeks: Option<usize>,
    week: Option<String>,
    /// The scorecard of the cases first owned by this team.
    team: Option<String>,
}

fn analytics_json(source: &str, body_key: &str, body: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "source": source,
        "computed_at": jiff::Timestamp::now().to_string(),
        body_key: body,
    })
}

#[utoipa::path(
    get,
    path = "/v1/baseline",
    tag = "analytics",
    params(AnalyticsQuery),
    responses((status = 200, description = "the process baseline of a source", body = Object),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_baseline(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<AnalyticsQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    if q.weeks.is_some() || q.week.is_some() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            "the baseline takes only source",
        ));
    }
    let v = analytics(
        &s,
        AnalyticsKey::Baseline {
            source: q.source,
            range: None,
        },
    )
    .await?;
    Ok(Json(v.as_ref()).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/scorecard",
    tag = "analytics",
    params(AnalyticsQuery),
    responses((status = 200, description = "the weekly scorecard of a source", body = Object),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_scorecard(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<AnalyticsQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let weeks = q.weeks.unwrap_or(12);
    if !(1..=520).contains(&weeks) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            "weeks: expected 1 to 520",
        ));
    }
    let last = q
        .week
        .as_deref()
        .map(flowgate_app::analytics::parse_week)
        .transpose()
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "bad-query", e.to_string()))?;
    let v = analytics(
        &s,
        AnalyticsKey::Scorecard {
            source: q.source,
            weeks,
            last_week: last,
            team: q.team.filter(|t| !t.is_empty()),
        },
    )
    .await?;
    Ok(Json(v.as_ref()).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PilotQuery {
    source: Option<String>,
    /// The day to stand on (`YYYY-MM-DD`, UTC); default today.
    day: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/pilot",
    tag = "analytics",
    params(PilotQuery),
    responses((status = 200, description = "the 90-day pilot: the day and phase, pilot vs baseline (raw and mix-adjusted, with intervals) in budget terms", body = Object),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "no pilot planned, or no such source", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_pilot(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<PilotQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let v = pilot(&s, q.source, q.day).await?;
    Ok(Json(v.as_ref()).into_response())
}

/// The pilot's figures for `day` (default today, UTC).
pub(crate) async fn pilot(
    s: &AppState,
    source: Option<String>,
    day: Option<String>,
) -> Result<Arc<serde_json::Value>, Problem> {
    let today = match day.filter(|d| !d.trim().is_empty()) {
        Some(d) => d.trim().to_owned(),
        None => jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .to_string(),
    };
    analytics(s, AnalyticsKey::Pilot { source, today }).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// The ISO week of the decisions reviewed (`2026-W48`; default the current week).
    week: Option<String>,
    /// `json` (default) or `markdown`.
    format: Option<String>,
}

/// JSON, or the Markdown page when asked for.
fn report_response<T: Serialize>(
    format: Option<&str>,
    data: &T,
    markdown: impl FnOnce(&T) -> String,
) -> Result<Response, Problem> {
    match format.unwrap_or("json") {
        "json" => Ok(Json(data).into_response()),
        "markdown" | "md" => Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            markdown(data),
        )
            .into_response()),
        other => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            format!("format={other:?}: expected json or markdown"),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v1/defects",
    tag = "reviews",
    params(ReportQuery),
    responses(
        (status = 200, description = "the week's defect review: reviewed precision overall and per intent with intervals, recommendations, failure modes", body = Object),
        (status = 400, description = "a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_defects(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    let r = week_review(&s, q.week.as_deref()).await?;
    report_response(q.format.as_deref(), &r, flowgate_app::defects::markdown)
}

/// The defect review of ISO week `week` (default: the current week).
pub(crate) async fn week_review(
    s: &AppState,
    week: Option<&str>,
) -> Result<flowgate_app::defects::DefectReview, Problem> {
    let from = match week {
        Some(w) => flowgate_app::analytics::parse_week(w)
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "bad-query", e.to_string()))?,
        None => {
            flowgate_app::analytics::parse_week(&flowgate_flow::time::iso_week_label(now_ms()))?
        }
    };
    let label = flowgate_flow::time::iso_week_label(from);
    refresh_policy(s).await?;
    let policy = s.triage.read().await.gate.policy.clone();
    let r = flowgate_app::defects::weekly(
        &s.store,
        &label,
        from,
        from + flowgate_flow::time::MS_PER_WEEK,
        Some(&policy),
        None,
    )
    .await?;
    Ok(r)
}

#[utoipa::path(
    get,
    path = "/v1/governance",
    tag = "audit",
    params(ReportQuery),
    responses(
        (status = 200, description = "the NIST AI RMF evidence table, counted from the audit log, the review queue and the policy in force", body = Object),
        (status = 400, description = "a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_governance(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
    if q.week.is_some() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-query",
            "governance takes only format",
        ));
    }
    refresh_policy(&s).await?;
    let policy = s.triage.read().await.gate.policy.clone();
    let g = flowgate_app::governance::collect(&s.store, Some(&policy)).await?;
    report_response(q.format.as_deref(), &g, flowgate_app::governance::markdown)
}

/// Puts the database's policy into the gate when it changed since the last look (another
/// replica, or this one, imported a policy or threw a kill switch): a change holds for the
/// next ticket everywhere. A new base policy is resolved against the evidence again (its
/// thresholds may differ).
async fn refresh_policy(s: &AppState) -> Result<(), Problem> {
    use std::sync::atomic::Ordering;
    let v = s.store.policy_version().await?;
    if v == s.switch_version.load(Ordering::SeqCst) {
        return Ok(());
    }
    let stored = flowgate_app::policy::stored(&s.store).await?;
    let mut base = s.base_policy.write().await;
    let mut t = s.triage.write().await;
    if let Some(p) = stored
        && p.hash != base.hash
    {
        let evidence = flowgate_store::review::evidence(&s.store.review_items().await?);
        t.gate = flowgate_app::gate::resolve(&t.model, p.clone(), &evidence)?;
        tracing::info!(policy = %p.hash, "a new policy was imported: gate resolved again");
        *base = p;
    }
    t.gate.policy = flowgate_app::policy::in_force(&s.store, &base).await?;
    s.switch_version.store(v, Ordering::SeqCst);
    tracing::info!(policy = %t.gate.policy.hash, "policy refreshed");
    Ok(())
}

#[utoipa::path(
    get,
    path = "/v1/policy",
    tag = "policy",
    responses((status = 200, description = "the policy in force", body = Object),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_policy(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    Ok(Json(policy_json(&s).await?))
}

/// The policy in force as `GET /v1/policy` shows it.
pub(crate) async fn policy_json(s: &AppState) -> Result<serde_json::Value, Problem> {
    refresh_policy(s).await?;
    let switches = s.store.kill_switches().await?;
    // The base policy before the gate: the order `refresh_policy` takes them in.
    let base_hash = s.base_policy.read().await.hash.clone();
    let t = s.triage.read().await;
    let p = &t.gate.policy;
    let intents: Vec<serde_json::Value> = t
        .model
        .header
        .labels
        .iter()
        .map(|l| {
            let ip = p.intent(l);
            let r = t.gate.thresholds.get(l);
            serde_json::json!({
                "intent": l,
                "mode": ip.mode.as_str(),
                "target_precision": ip.target_precision,
                "threshold": r.and_then(|r| r.threshold),
                "fixed_threshold": ip.threshold,
                "why": r.map(|r| r.why.clone()),
                "kill_switch": ip.kill_switch,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "name": p.name,
        "policy": p.hash,
        "base_policy": base_hash,
        "kill_switch": p.kill_switch,
        "kill_switches": switches.iter().map(|k| serde_json::json!({
            "scope": k.scope,
            "engaged": k.engaged,
            "actor": k.actor,
            "changed_at": ms_to_rfc3339(k.changed_at_ms),
            "audit_seq": k.audit_seq,
        })).collect::<Vec<_>>(),
        "intents": intents,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct KillSwitchBody {
    /// `*` for the global switch, else an intent the model knows.
    scope: String,
    engaged: bool,
}

#[utoipa::path(
    put,
    path = "/v1/policy/kill-switch",
    tag = "policy",
    request_body = KillSwitchBody,
    responses((status = 200, description = "the switch as now set, on the audit chain", body = Object),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn put_kill_switch(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<KillSwitchBody>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let caller = authorise(&s, &headers, Need::Admin).await?;
    let Json(b) = body?;
    let (e, p) = kill_switch(&s, &b.scope, b.engaged, &caller.name).await?;
    Ok(Json(serde_json::json!({
        "scope": b.scope,
        "engaged": b.engaged,
        "policy": p.hash,
        "audit": {"seq": e.seq, "hash": e.sha256},
    })))
}

/// Throws or releases the kill switch of `scope` (`*` or an intent), audited, and puts the
/// policy with it in force for the next ticket.
pub(crate) async fn kill_switch(
    s: &AppState,
    scope: &str,
    engaged: bool,
    actor: &str,
) -> Result<(flowgate_store::audit::AuditEntry, flowgate_gate::Policy), Problem> {
    let b = KillSwitchBody {
        scope: scope.to_owned(),
        engaged,
    };
    if b.scope != "*" {
        let t = s.triage.read().await;
        if !t.model.header.labels.contains(&b.scope) {
            return Err(Problem::invalid(format!(
                "scope {:?}: expected \"*\" or one of the model's intents ({})",
                b.scope,
                t.model.header.labels.join(", ")
            )));
        }
    }
    let (e, p) = flowgate_app::policy::set_kill_switch(
        &s.store,
        &*s.base_policy.read().await,
        &b.scope,
        b.engaged,
        actor,
        now_ms(),
    )
    .await?;
    refresh_policy(s).await?;
    tracing::info!(scope = %b.scope, engaged = b.engaged, actor, "kill switch");
    Ok((e, p))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ThresholdBody {
    /// An intent the model knows.
    intent: String,
    /// The fixed threshold, between 0 and 1 (kept to three decimals); the gate still holds
    /// it to the precision bound.
    threshold: f64,
}

#[utoipa::path(
    put,
    path = "/v1/policy/threshold",
    tag = "policy",
    request_body = ThresholdBody,
    responses((status = 200, description = "the policy now in force, the change on the audit chain (`audit` null when the threshold was already so)", body = Object),
        (status = 400, description = "malformed JSON or a bad query", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "no valid token", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "the token's role may not do this", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "not application/json", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::problem::ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn put_threshold(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<ThresholdBody>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let caller = authorise(&s, &headers, Need::Admin).await?;
    let Json(b) = body?;
    let (e, p) = set_threshold(&s, &b.intent, b.threshold, &caller.name).await?;
    Ok(Json(serde_json::json!({
        "intent": b.intent,
        "threshold": p.intent(&b.intent).threshold,
        "policy": p.hash,
        "audit": e.map(|e| serde_json::json!({"seq": e.seq, "hash": e.sha256})),
    })))
}

/// Sets one intent's fixed threshold in the imported policy (audited) and resolves the gate
/// with it for the next ticket.
pub(crate) async fn set_threshold(
    s: &AppState,
    intent: &str,
    threshold: f64,
    actor: &str,
) -> Result<
    (
        Option<flowgate_store::audit::AuditEntry>,
        flowgate_gate::Policy,
    ),
    Problem,
> {
    {
        let t = s.triage.read().await;
        if !t.model.header.labels.iter().any(|l| l == intent) {
            return Err(Problem::invalid(format!(
                "intent {intent:?}: expected one of the model's intents ({})",
                t.model.header.labels.join(", ")
            )));
        }
    }
    let (p, e) =
        flowgate_app::policy::set_threshold(&s.store, intent, threshold, actor, now_ms()).await?;
    refresh_policy(s).await?;
    tracing::info!(intent, threshold, actor, "threshold set");
    Ok((e, p))
}
