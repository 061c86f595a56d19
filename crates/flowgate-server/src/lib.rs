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
use axum::routing::{get, post};
use axum::{Json, Router};
use flowgate_app::Triage;
use flowgate_gate::{DecisionRecord, Ticket};
use flowgate_store::Store;
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Need, RateLimit};
use crate::batch::Batcher;
use crate::metrics::Metrics;
use crate::problem::Problem;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub db_url: String,
    pub model: PathBuf,
    pub policy: PathBuf,
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
}

impl Config {
    pub fn new(db_url: String, model: PathBuf, policy: PathBuf) -> Config {
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
}

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    /// The model, the gate and the knowledge base; the gate's policy is the file's with the
    /// database's kill switches on top, refreshed before every decision.
    pub triage: tokio::sync::RwLock<Triage>,
    /// The policy file as loaded.
    pub base_policy: flowgate_gate::Policy,
    /// The kill switches' version the gate was last refreshed at.
    pub switch_version: std::sync::atomic::AtomicI64,
    pub batcher: Batcher,
    pub limits: RateLimit,
    pub metrics: Metrics,
    pub shadow_reviews: bool,
    pub timeout: Duration,
    pub webhooks: BTreeMap<String, webhook::WebhookSource>,
    pub inbox_lease_ms: i64,
    /// Baselines and scorecards computed in the last [`ANALYTICS_TTL`], by request.
    pub analytics: tokio::sync::Mutex<BTreeMap<String, (Instant, Arc<serde_json::Value>)>>,
    /// Woken when a delivery is stored, so an idle worker picks it up at once.
    pub inbox_wake: tokio::sync::Notify,
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
    let policy = flowgate_gate::Policy::load(&config.policy)?;
    let evidence = flowgate_store::review::evidence(&store.review_items().await?);
    let base_policy = policy.clone();
    let mut gate = flowgate_app::gate::resolve(&model, policy, &evidence)?;
    gate.policy = flowgate_app::policy::in_force(&store, &base_policy).await?;
    let switch_version = store.kill_switch_version().await?;
    let kb = config
        .kb
        .as_deref()
        .map(flowgate_kb::Kb::open)
        .transpose()?;
    let encoder =
        flowgate_demand::Encoder::load(&flowgate_demand::model_files::default_model_dir()?)?;
    let state = Arc::new(AppState {
        store: store.clone(),
        triage: tokio::sync::RwLock::new(Triage {
            model,
            gate,
            kb,
            stale_days: config.stale_days,
        }),
        base_policy,
        switch_version: std::sync::atomic::AtomicI64::new(switch_version),
        batcher: Batcher::start(encoder, config.max_batch),
        limits: RateLimit::new(config.rate_per_minute),
        metrics: Metrics::default(),
        shadow_reviews: config.shadow_reviews,
        timeout: config.request_timeout,
        webhooks: config.webhooks.clone(),
        inbox_wake: tokio::sync::Notify::new(),
        inbox_lease_ms: i64::try_from(config.inbox_lease.as_millis()).unwrap_or(i64::MAX),
        analytics: tokio::sync::Mutex::new(BTreeMap::new()),
    });
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..config.workers)
        .map(|i| tokio::spawn(inbox::work(state.clone(), i, stop_rx.clone())))
        .collect();
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

/// The routes.
pub fn router(state: Shared, body_limit: usize) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/tickets", post(post_ticket))
        .route("/v1/events", post(post_events))
        .route("/v1/webhooks/{source}", post(inbox::receive))
        .route("/v1/decisions", get(list_decisions))
        .route("/v1/baseline", get(get_baseline))
        .route("/v1/scorecard", get(get_scorecard))
        .route("/v1/decisions/{seq}", get(get_decision))
        .route("/v1/reviews", get(list_reviews))
        .route("/v1/reviews/claim", post(claim_review))
        .route("/v1/reviews/{seq}", post(mark_review))
        .route("/v1/audit/verify", get(verify))
        .route("/v1/policy", get(get_policy))
        .route(
            "/v1/policy/kill-switch",
            axum::routing::put(put_kill_switch),
        )
        .fallback(|| async { Problem::not_found("no such route") })
        .layer(DefaultBodyLimit::max(body_limit))
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

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

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
#[derive(Serialize)]
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

#[derive(Serialize)]
struct AuditRef {
    seq: i64,
    hash: String,
}

#[derive(Serialize)]
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionQuery {
    #[serde(default)]
    after_seq: i64,
    limit: Option<i64>,
    intent: Option<String>,
    action: Option<String>,
    /// RFC 3339 bounds on the decision time.
    since: Option<String>,
    until: Option<String>,
}

#[derive(Serialize)]
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

#[derive(Serialize)]
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

async fn list_decisions(
    State(s): State<Shared>,
    headers: HeaderMap,
    q: Result<Query<DecisionQuery>, QueryRejection>,
) -> Result<Json<DecisionPage>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let Query(q) = q?;
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
            let keep = q.intent.as_ref().is_none_or(|i| *i == r.intent)
                && q.action.as_ref().is_none_or(|a| a == r.decision.as_str())
                && since.is_none_or(|t| e.recorded_at_ms >= t)
                && until.is_none_or(|t| e.recorded_at_ms < t);
            if keep {
                out.push(DecisionRow {
                    seq: e.seq,
                    hash: e.sha256.clone(),
                    recorded_at: ms_to_rfc3339(e.recorded_at_ms),
                    actor: e.actor.clone(),
                    ticket_id: r.ticket.clone(),
                    policy: r.policy.clone(),
                    model: r.model.clone(),
                    decision: decision_out(&r, None, None, Vec::new()),
                });
                if out.len() == limit {
                    break;
                }
            }
        }
    }
    Ok(Json(DecisionPage {
        decisions: out,
        next_after_seq: (!at_end).then_some(cursor),
    }))
}

fn ms_to_rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[derive(Serialize)]
struct DecisionDetail {
    #[serde(flatten)]
    row: DecisionRow,
    prev_hash: String,
    ticket_text: Option<String>,
    review: Option<serde_json::Value>,
}

async fn get_decision(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(seq): Path<String>,
) -> Result<Json<DecisionDetail>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    let seq: i64 = seq
        .parse()
        .map_err(|_| Problem::not_found(format!("decision {seq:?}: expected a sequence number")))?;
    let e = s
        .store
        .audit_entry(seq)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no audit record {seq}")))?;
    let r = DecisionRecord::parse(&e.record)
        .ok_or_else(|| Problem::not_found(format!("audit record {seq} is not a decision")))?;
    let text = s.store.decision_text(seq).await?;
    let sources = text
        .as_ref()
        .and_then(|t| t.sources.as_deref())
        .and_then(|x| serde_json::from_str::<Vec<flowgate_app::Source>>(x).ok())
        .unwrap_or_default();
    let review = s
        .store
        .review_items()
        .await?
        .into_iter()
        .find(|i| i.audit_seq == seq)
        .map(|i| review_json(&i));
    Ok(Json(DecisionDetail {
        row: DecisionRow {
            seq: e.seq,
            hash: e.sha256.clone(),
            recorded_at: ms_to_rfc3339(e.recorded_at_ms),
            actor: e.actor.clone(),
            ticket_id: r.ticket.clone(),
            policy: r.policy.clone(),
            model: r.model.clone(),
            decision: decision_out(
                &r,
                None,
                text.as_ref().and_then(|t| t.answer.clone()),
                sources,
            ),
        },
        prev_hash: e.prev_sha256,
        ticket_text: text.and_then(|t| t.text),
        review,
    }))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewQuery {
    /// `pending` (default), `reviewed` or `all`.
    state: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict {
    verdict: String,
    category: Option<String>,
    note: Option<String>,
}

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

async fn verify(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<flowgate_app::audit::Verification>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    Ok(Json(flowgate_app::audit::verify_store(&s.store).await?))
}

/// Puts the database's kill switches into the gate when they changed since the last look
/// (another replica, or this one, threw one): a switch holds for the next ticket everywhere.
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
    let triage = s.triage.read().await;
    let posted = flowgate_app::live::post_ticket(
        &s.store,
        &triage,
        ticket,
        &emb,
        actor,
        s.shadow_reviews,
        jiff::Timestamp::now(),
    )
    .await?;
    if posted.created {
        s.metrics.decision(posted.record.decision.as_str());
    }
    tracing::info!(ticket = %ticket.id, seq = posted.seq, action = posted.record.decision.as_str(), created = posted.created, "ticket decided");
    Ok(posted)
}

/// `POST /v1/events`: history events in the canonical fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsIn {
    /// The store's source to append to (default `live`).
    #[serde(default)]
    source: Option<String>,
    events: Vec<flowgate_app::events::Event>,
}

/// The source `POST /v1/events` appends to unless the request names one.
pub const LIVE_SOURCE: &str = "live";

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
            "import_id": sum.import_id,
            "events_new": sum.events_new,
            "events_duplicate": sum.events_duplicate,
        })),
    ))
}

/// How long a computed baseline or scorecard is served before it is computed again: the
/// figures lag live ingest by at most this much (each answer says when it was computed).
pub const ANALYTICS_TTL: Duration = Duration::from_secs(60);

/// The cached answer for `key`, or `compute`'s (then cached). One computation at a time: a
/// burst of requests for the same figures computes them once.
async fn cached<F, Fut>(
    s: &AppState,
    key: String,
    compute: F,
) -> Result<Arc<serde_json::Value>, Problem>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<serde_json::Value, Problem>>,
{
    let mut cache = s.analytics.lock().await;
    if let Some((at, v)) = cache.get(&key)
        && at.elapsed() < ANALYTICS_TTL
    {
        return Ok(v.clone());
    }
    let v = Arc::new(compute().await?);
    cache.retain(|_, (at, _)| at.elapsed() < ANALYTICS_TTL);
    cache.insert(key, (Instant::now(), v.clone()));
    Ok(v)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyticsQuery {
    source: Option<String>,
    weeks: Option<usize>,
    week: Option<String>,
}

fn analytics_json(source: &str, body_key: &str, body: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "source": source,
        "computed_at": jiff::Timestamp::now().to_string(),
        "max_staleness_s": ANALYTICS_TTL.as_secs(),
        body_key: body,
    })
}

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
    let key = format!("baseline/{}", q.source.as_deref().unwrap_or(""));
    let v = cached(&s, key, || async {
        let l = flowgate_app::analytics::load(&s.store, q.source.as_deref()).await?;
        tokio::task::spawn_blocking(move || {
            let b = flowgate_app::analytics::baseline(&l);
            serde_json::to_value(&b).map(|b| analytics_json(&l.source, "baseline", b))
        })
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)
    })
    .await?;
    Ok(Json(v.as_ref()).into_response())
}

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
    let key = format!(
        "scorecard/{}/{weeks}/{}",
        q.source.as_deref().unwrap_or(""),
        q.week.as_deref().unwrap_or("")
    );
    let v = cached(&s, key, || async {
        let l = flowgate_app::analytics::load(&s.store, q.source.as_deref()).await?;
        let reviewed = flowgate_app::analytics::reviewed_defects(&s.store, &l).await?;
        tokio::task::spawn_blocking(move || {
            let c = flowgate_app::analytics::scorecard(&l, &reviewed, weeks, last);
            serde_json::to_value(&c).map(|c| analytics_json(&l.source, "scorecard", c))
        })
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::internal)
    })
    .await?;
    Ok(Json(v.as_ref()).into_response())
}

async fn refresh_policy(s: &AppState) -> Result<(), Problem> {
    use std::sync::atomic::Ordering;
    let v = s.store.kill_switch_version().await?;
    if v != s.switch_version.load(Ordering::SeqCst) {
        let p = flowgate_app::policy::in_force(&s.store, &s.base_policy).await?;
        let mut t = s.triage.write().await;
        t.gate.policy = p;
        s.switch_version.store(v, Ordering::SeqCst);
        tracing::info!(policy = %t.gate.policy.hash, "kill switches changed: policy refreshed");
    }
    Ok(())
}

async fn get_policy(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Problem> {
    authorise(&s, &headers, Need::Viewer).await?;
    refresh_policy(&s).await?;
    let switches = s.store.kill_switches().await?;
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
                "why": r.map(|r| r.why.clone()),
                "kill_switch": ip.kill_switch,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "name": p.name,
        "policy": p.hash,
        "base_policy": s.base_policy.hash,
        "kill_switch": p.kill_switch,
        "kill_switches": switches.iter().map(|k| serde_json::json!({
            "scope": k.scope,
            "engaged": k.engaged,
            "actor": k.actor,
            "changed_at": ms_to_rfc3339(k.changed_at_ms),
            "audit_seq": k.audit_seq,
        })).collect::<Vec<_>>(),
        "intents": intents,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KillSwitchBody {
    /// `*` for the global switch, else an intent the model knows.
    scope: String,
    engaged: bool,
}

async fn put_kill_switch(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<KillSwitchBody>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let caller = authorise(&s, &headers, Need::Admin).await?;
    let Json(b) = body?;
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
        &s.base_policy,
        &b.scope,
        b.engaged,
        &caller.name,
        now_ms(),
    )
    .await?;
    refresh_policy(&s).await?;
    tracing::info!(scope = %b.scope, engaged = b.engaged, actor = %caller.name, "kill switch");
    Ok(Json(serde_json::json!({
        "scope": b.scope,
        "engaged": b.engaged,
        "policy": p.hash,
        "audit": {"seq": e.seq, "hash": e.sha256},
    })))
}
