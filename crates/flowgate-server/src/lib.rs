//! `flowgate serve`: the HTTP surface of the live loop. Tickets in, gated decisions out,
//! every decision on the audit chain before it is answered, reviews through the queue.
//!
//! This crate knows HTTP and nothing else: handlers and pages authenticate, extract, call
//! the application's [`flowgate_app::Service`] and render; every error is a problem
//! document ([`problem`]). The files:
//!
//! - [`startup`]: build the service from [`Config`], bind, serve, stop;
//! - [`api`]: the JSON API, one file per area, and the OpenAPI document;
//! - [`pages`]: the operations pages, one file per page;
//! - [`session`]: page sign-in, cookies and CSRF;
//! - [`middleware`]: timing, timeouts, security headers, the body limit;
//! - [`auth`], [`webhook`], [`metrics`], [`problem`].

pub mod api;
pub mod auth;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod problem;
pub mod session;
pub mod startup;
pub mod webhook;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use flowgate_app::Service;

pub use startup::{run, serve};

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The product's version, as the OpenAPI document states it (the binary's).
    pub version: &'static str,
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
    /// Decision texts older than this many days are erased (settings' `text_retention_days`).
    pub text_retention_days: Option<u32>,
    /// Business hours from the settings (`[calendar]`), in force over a mapping's own.
    pub calendar: Option<flowgate_app::analytics::Calendar>,
    /// The settings' demand buckets (`[demand]`).
    pub buckets: flowgate_app::analytics::BucketRules,
}

impl Config {
    pub fn new(db_url: String, model: PathBuf, policy: Option<PathBuf>) -> Config {
        let o = flowgate_app::service::Options::default();
        Config {
            version: env!("CARGO_PKG_VERSION"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db_url,
            model,
            policy,
            kb: None,
            stale_days: o.stale_days,
            body_limit: 1 << 20,
            request_timeout: Duration::from_secs(30),
            rate_per_minute: 6000,
            shadow_reviews: o.shadow_reviews,
            max_batch: o.max_batch,
            webhooks: BTreeMap::new(),
            workers: 2,
            inbox_lease: o.inbox_lease,
            pilot: None,
            alerts: Default::default(),
            analytics_ttl: o.analytics_ttl,
            compact_every: Some(Duration::from_secs(60)),
            text_retention_days: o.text_retention_days,
            calendar: None,
            buckets: Default::default(),
        }
    }

    /// What the application service takes of these settings.
    pub fn service_options(&self) -> flowgate_app::service::Options {
        flowgate_app::service::Options {
            shadow_reviews: self.shadow_reviews,
            stale_days: self.stale_days,
            max_batch: self.max_batch,
            inbox_lease: self.inbox_lease,
            pilot: self.pilot.clone(),
            alerts: self.alerts.clone(),
            analytics_ttl: self.analytics_ttl,
            callbacks: self
                .webhooks
                .iter()
                .filter_map(|(name, w)| Some((name.clone(), w.callback.clone()?)))
                .collect(),
            text_retention_days: self.text_retention_days,
            retention_every: flowgate_app::service::Options::default().retention_every,
            calendar: self.calendar.clone(),
            buckets: self.buckets,
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

/// What every handler shares: the application service and what only HTTP needs.
pub struct AppState {
    pub app: Arc<Service>,
    pub limits: auth::RateLimit,
    pub metrics: metrics::Metrics,
    pub timeout: Duration,
    /// How each webhook source signs its deliveries.
    pub webhooks: BTreeMap<String, webhook::WebhookSource>,
}

pub type Shared = Arc<AppState>;

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
