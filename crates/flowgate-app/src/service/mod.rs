//! The live loop as one service: the only thing the server's routes and pages call.
//!
//! A [`Service`] is built from a store, the intent model, the policy in force, the
//! knowledge base, an embedder behind [`Embed`] (the sentence encoder in production, a
//! stub in tests) and [`Options`]. It holds what the live path shares — the policy in force
//! and its refresh, the triage lock, the encoder's batcher, the figures cache, the inbox's
//! wake-ups — and offers every operation a surface needs: decide a ticket, receive and
//! process webhook deliveries, claim and mark reviews, kill switches and thresholds, the
//! policy view, decisions, figures, the pilot, what-if, the defect review and governance.
//! Surfaces extract, call and render; none touches the store.

pub mod callback;
pub mod figures;
pub mod inbox;
pub mod runtime;
pub mod views;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use flowgate_demand::{Embed, IntentModel};
use flowgate_gate::{Action, DecisionRecord, Policy, Ticket};
use flowgate_kb::Kb;
use flowgate_store::Store;
use serde::Deserialize;
use tokio::sync::{Notify, RwLock};

use crate::live::Posted;
use crate::review::Verdict;
use crate::triage::Triage;
use crate::{Error, Result};
use callback::Callback;
use runtime::{Batcher, CpuPool};
use views::*;

/// How long a claimed review stays with its reviewer.
pub const REVIEW_LEASE_MS: i64 = 15 * 60 * 1000;
/// The source `POST /v1/events` appends to unless the request names one.
pub const LIVE_SOURCE: &str = "live";

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// How the service behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Sample decisions the gate kept from acting for shadow review, besides acts.
    pub shadow_reviews: bool,
    /// A knowledge-base article reviewed longer ago than this does not count as current.
    pub stale_days: i64,
    /// Texts embedded together at most.
    pub max_batch: usize,
    /// How long a worker holds a claimed delivery.
    pub inbox_lease: Duration,
    /// The 90-day pilot's plan.
    pub pilot: Option<flowgate_value::pilot::PilotPlan>,
    /// Limits that raise an alert on the Overview.
    pub alerts: flowgate_value::alerts::AlertLimits,
    /// Figures are served from memory at most this old (at least 1 s).
    pub analytics_ttl: Duration,
    /// Webhook sources whose decisions are sent back, by source name.
    pub callbacks: BTreeMap<String, Callback>,
    /// Decision texts older than this many days are erased (see [`crate::retention`]),
    /// at start and then every `retention_every`.
    pub text_retention_days: Option<u32>,
    pub retention_every: Duration,
    /// Business hours from the settings (`[calendar]`), in force over a mapping's own.
    pub calendar: Option<flowgate_ingest::calendar::Calendar>,
    /// The settings' demand buckets (`[demand]`), for a comparison by bucket.
    pub buckets: flowgate_flow::demand::BucketRules,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            shadow_reviews: false,
            stale_days: 180,
            max_batch: 32,
            inbox_lease: Duration::from_millis(inbox::LEASE_MS as u64),
            pilot: None,
            alerts: Default::default(),
            analytics_ttl: figures::ANALYTICS_TTL,
            callbacks: BTreeMap::new(),
            text_retention_days: None,
            retention_every: Duration::from_secs(3600),
            calendar: None,
            buckets: Default::default(),
        }
    }
}

/// A policy file to import (audited) and put in force as the service starts.
pub struct PolicyFile {
    pub text: String,
    /// Where it came from, as the audit record names it.
    pub origin: String,
}

/// What the service is built from.
pub struct Parts {
    pub store: Store,
    pub model: IntentModel,
    pub kb: Option<Kb>,
    pub embedder: Arc<dyn Embed>,
    pub policy: Option<PolicyFile>,
}

/// Decisions made by this process, by action (for the metrics).
#[derive(Default)]
pub struct Counters {
    decisions: [AtomicU64; 5],
}

impl Counters {
    pub fn decisions(&self) -> Vec<(&'static str, u64)> {
        Action::ALL
            .iter()
            .zip(&self.decisions)
            .map(|(a, n)| (a.as_str(), n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
    fn decided(&self, a: Action) {
        if let Some(i) = Action::ALL.iter().position(|x| *x == a) {
            self.decisions[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The live loop (see the module's documentation).
pub struct Service {
    store: Store,
    /// The model, the gate and the knowledge base; the gate's policy is the imported one
    /// with the database's kill switches on top, refreshed before every decision.
    triage: Arc<RwLock<Triage>>,
    /// The policy imported into the database (kill switches not applied).
    base_policy: RwLock<Policy>,
    /// The database's policy version (imports and kill switches) last put in force.
    policy_version: AtomicI64,
    batcher: Batcher,
    cpu: CpuPool,
    opts: Options,
    figures: figures::Cache,
    inbox_wake: Notify,
    outbox_wake: Notify,
    pub counters: Counters,
}

/// The background work of a running service.
pub struct Workers {
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

/// Tells a service's workers to stop: each finishes what it holds.
#[derive(Clone)]
pub struct Stopper(Arc<tokio::sync::watch::Sender<bool>>);

impl Stopper {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl Workers {
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Waits for every worker to have stopped (after [`Stopper::stop`]).
    pub async fn join(self) {
        for h in self.handles {
            let _ = h.await;
        }
    }

    /// Stops the workers and waits for them.
    pub async fn stop(self) {
        self.stopper().stop();
        self.join().await;
    }
}

impl Service {
    /// Builds the service: imports the policy file when one is given, resolves the gate
    /// against held-out and reviewed evidence, starts the encoder's batcher and the triage
    /// threads. The store must be migrated.
    pub async fn start(parts: Parts, opts: Options) -> Result<Service> {
        let Parts {
            store,
            model,
            kb,
            embedder,
            policy,
        } = parts;
        if let Some(file) = policy {
            let (p, e) = crate::policy::import(
                &store,
                &file.text,
                &file.origin,
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
        if embedder.dim() != model.header.dim {
            return Err(Error::Invalid(format!(
                "the intent model {} was trained on {}-value embeddings; the embedder gives {}",
                model.header.model_id,
                model.header.dim,
                embedder.dim()
            )));
        }
        let version = store.policy_version().await?;
        let base = crate::policy::stored(&store)
            .await?
            .ok_or(Error::NoPolicy)?;
        let evidence = flowgate_store::review::evidence(&store.review_items().await?);
        let mut gate = crate::gate::resolve(&model, base.clone(), &evidence)?;
        gate.policy = crate::policy::in_force(&store, &base).await?;
        let opts = Options {
            analytics_ttl: opts.analytics_ttl.max(Duration::from_secs(1)),
            ..opts
        };
        Ok(Service {
            store,
            triage: Arc::new(RwLock::new(Triage {
                model,
                gate,
                kb,
                stale_days: opts.stale_days,
            })),
            base_policy: RwLock::new(base),
            policy_version: AtomicI64::new(version),
            batcher: Batcher::start(embedder, opts.max_batch),
            cpu: CpuPool::start(2),
            opts,
            figures: figures::Cache::default(),
            inbox_wake: Notify::new(),
            outbox_wake: Notify::new(),
            counters: Counters::default(),
        })
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// A source of the store (or its only one) with the settings' calendar in force: what
    /// every figure of the service is computed on.
    pub(crate) async fn source_log(
        &self,
        source: Option<&str>,
    ) -> Result<crate::analytics::SourceLog> {
        let mut l = crate::analytics::load(&self.store, source).await?;
        crate::analytics::apply_calendar(&mut l.mapping, self.opts.calendar.as_ref());
        Ok(l)
    }

    /// Starts the background work: `inbox_workers` inbox workers, the figures' refresher,
    /// block compaction every `compact_every`, text retention (when the options set it), the
    /// callback sender (when a source has a callback and there are workers), and computes the
    /// Overview's figures once.
    pub fn spawn_workers(
        self: &Arc<Self>,
        inbox_workers: usize,
        compact_every: Option<Duration>,
    ) -> Workers {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let mut handles: Vec<_> = (0..inbox_workers)
            .map(|i| tokio::spawn(inbox::work(self.clone(), i, rx.clone())))
            .collect();
        handles.push(tokio::spawn(figures::refresh(self.clone(), rx.clone())));
        if let Some(every) = compact_every {
            handles.push(tokio::spawn(figures::compact(
                self.store.clone(),
                every.max(Duration::from_secs(1)),
                rx.clone(),
            )));
        }
        if let Some(days) = self.opts.text_retention_days {
            handles.push(tokio::spawn(crate::retention::every(
                self.store.clone(),
                days,
                self.opts.retention_every.max(Duration::from_secs(1)),
                rx.clone(),
            )));
        }
        if inbox_workers > 0 && !self.opts.callbacks.is_empty() {
            handles.push(tokio::spawn(callback::send_decisions(
                self.clone(),
                rx.clone(),
            )));
        }
        let s = self.clone();
        tokio::spawn(async move { s.prewarm().await });
        Workers {
            stop: Arc::new(stop),
            handles,
        }
    }

    /// Closes the store's connections (after the workers stopped).
    pub async fn close(&self) {
        self.store.close().await;
    }

    // ---- the service itself -------------------------------------------------------------

    /// Whether the database answers, with what is loaded.
    pub async fn ready(&self) -> Result<Readiness> {
        let t = self.triage.read().await;
        let n = self
            .store
            .audit_len()
            .await
            .map_err(|e| Error::Unavailable(format!("the database is not reachable: {e}")))?;
        Ok(Readiness {
            status: "ready".into(),
            database: "ok".into(),
            audit_chain_length: n,
            model: t.model.header.model_id.clone(),
            policy: t.gate.policy.hash.clone(),
        })
    }

    /// The chain's length, the reviews waiting and the inbox's state (for the metrics).
    pub async fn gauges(&self) -> Result<(i64, usize, flowgate_store::inbox::InboxStats)> {
        let n = self.store.audit_len().await?;
        let pending = self
            .store
            .review_items()
            .await?
            .iter()
            .filter(|i| i.verdict.is_none())
            .count();
        Ok((n, pending, self.store.inbox_stats().await?))
    }

    /// The token's name and role, when `token_sha256` is an active token's.
    pub async fn token(&self, token_sha256: &str) -> Result<Option<(String, String)>> {
        Ok(self.store.token_lookup(token_sha256).await?)
    }

    /// A page session by its id's hash (`None`: unknown, ended or expired).
    pub async fn session(
        &self,
        id_sha256: &str,
    ) -> Result<Option<flowgate_store::session::Session>> {
        Ok(self.store.session(id_sha256, now_ms()).await?)
    }

    /// Starts a page session for token `name`, until `until_ms`.
    pub async fn session_start(
        &self,
        id_sha256: &str,
        name: &str,
        csrf: &str,
        until_ms: i64,
    ) -> Result<()> {
        let now = now_ms();
        Ok(self
            .store
            .session_create(id_sha256, name, csrf, now, until_ms.max(now))
            .await?)
    }

    pub async fn session_end(&self, id_sha256: &str) -> Result<()> {
        Ok(self.store.session_end(id_sha256, now_ms()).await?)
    }

    // ---- decisions ----------------------------------------------------------------------

    /// Triage one ticket and record its decision once (the live path every surface takes:
    /// the API, and the inbox's workers).
    /// A ticket that names no source is the API's ([`flowgate_gate::ticket::DEFAULT_SOURCE`]);
    /// its decision records the source either way.
    pub async fn decide(&self, ticket: &Ticket, actor: &str) -> Result<Posted> {
        crate::inbound::check_ticket(ticket)?;
        let mut ticket = ticket.clone();
        if ticket.source.is_none() {
            ticket.source = flowgate_gate::ticket::DEFAULT_SOURCE.parse().ok();
        }
        let ticket = &ticket;
        let emb = self
            .batcher
            .embed(ticket.text())
            .await
            .map_err(Error::Unavailable)?;
        self.refresh_policy().await?;
        let at = jiff::Timestamp::now();
        let days = crate::live::days_since_previous(&self.store, ticket, at).await?;
        // Triage on the pool, under the policy it is then recorded with (the read lock is
        // held from the triage to the commit, so a policy change waits for both).
        let triage = self.triage.clone().read_owned().await;
        let owned = ticket.clone();
        let (triaged, triage) = self
            .cpu
            .run(move || (triage.triage(&owned, &emb, days, at), triage))
            .await
            .map_err(Error::Internal)?;
        let posted = crate::live::record(
            &self.store,
            &triage.gate.policy,
            ticket,
            triaged?,
            actor,
            crate::live::Sampling::Now {
                shadow: self.opts.shadow_reviews,
            },
            at,
        )
        .await?;
        if posted.created {
            self.counters.decided(posted.record.decision);
        }
        tracing::info!(ticket = %ticket.id, seq = posted.seq, action = posted.record.decision.as_str(), created = posted.created, "ticket decided");
        Ok(posted)
    }

    /// [`Service::decide`], answered as the API shows it.
    pub async fn decide_view(&self, ticket: &Ticket, actor: &str) -> Result<(bool, TicketDecided)> {
        let p = self.decide(ticket, actor).await?;
        Ok((
            p.created,
            TicketDecided {
                source: p.record.source.clone().unwrap_or_default(),
                ticket_id: ticket.id.clone(),
                decision: DecisionView::of(&p.record, Some(p.bucket), p.answer, p.sources),
                audit: AuditRef {
                    seq: p.seq,
                    hash: p.hash,
                },
                sampled: p.sampled,
            },
        ))
    }

    /// Decisions matching `q` in chain order, one page.
    pub async fn decisions(&self, q: &DecisionFilter) -> Result<DecisionPage> {
        let mut out = Vec::new();
        let mut cursor = q.after_seq;
        let mut at_end = false;
        // Scan the chain in pages until the page is full or the chain ends.
        while out.len() < q.limit {
            let page = self.store.audit_after(cursor, 2000).await?;
            if page.is_empty() {
                at_end = true;
                break;
            }
            for e in page {
                cursor = e.seq;
                let Some(r) = DecisionRecord::parse(&e.record) else {
                    continue;
                };
                if q.keeps(&r, e.recorded_at_ms) {
                    out.push(DecisionRow::of(&e, &r, None, Vec::new()));
                    if out.len() == q.limit {
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

    /// Decision `seq` as a row with its proposed answer and sources (`None`: no such record,
    /// or not a decision).
    pub async fn decision_row(&self, seq: i64) -> Result<Option<DecisionRow>> {
        let Some(e) = self.store.audit_entry(seq).await? else {
            return Ok(None);
        };
        let Some(r) = DecisionRecord::parse(&e.record) else {
            return Ok(None);
        };
        let text = self.store.decision_text(seq).await?;
        let sources = crate::triage::sources(text.as_ref().and_then(|t| t.sources.as_deref()));
        Ok(Some(DecisionRow::of(
            &e,
            &r,
            text.and_then(|t| t.answer),
            sources,
        )))
    }

    /// Decision `seq` in full: the row, the previous hash, the ticket's text, its review.
    pub async fn decision(&self, seq: i64) -> Result<DecisionDetail> {
        let e = self
            .store
            .audit_entry(seq)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no audit record {seq}")))?;
        let r = DecisionRecord::parse(&e.record)
            .ok_or_else(|| Error::NotFound(format!("audit record {seq} is not a decision")))?;
        let text = self.store.decision_text(seq).await?;
        let sources = crate::triage::sources(text.as_ref().and_then(|t| t.sources.as_deref()));
        let review = self
            .store
            .review_items()
            .await?
            .into_iter()
            .find(|i| i.audit_seq == seq)
            .map(|i| ReviewView::of(&i));
        Ok(DecisionDetail {
            row: DecisionRow::of(
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

    /// The chain and the review queue checked.
    pub async fn verify(&self) -> Result<crate::audit::Verification> {
        crate::audit::verify_store(&self.store).await
    }

    /// History events appended to `source` (default [`LIVE_SOURCE`]) as one import.
    pub async fn append_events(
        &self,
        source: Option<&str>,
        events: &[crate::events::Event],
        actor: &str,
        via: &str,
    ) -> Result<EventsAppended> {
        let source = source.unwrap_or(LIVE_SOURCE);
        if source.trim().is_empty() || source.len() > 100 {
            return Err(Error::Invalid(
                "source: expected 1 to 100 characters".into(),
            ));
        }
        if events.is_empty() {
            return Err(Error::Invalid("events: expected at least one event".into()));
        }
        let sum = crate::events::append(&self.store, source, events, actor, via).await?;
        tracing::info!(
            source,
            new = sum.events_new,
            duplicate = sum.events_duplicate,
            "events appended"
        );
        Ok(EventsAppended {
            source: source.to_owned(),
            // A post of events already stored leaves no import record.
            import_id: (sum.import_id > 0).then_some(sum.import_id),
            events_new: sum.events_new,
            events_duplicate: sum.events_duplicate,
        })
    }

    // ---- reviews ------------------------------------------------------------------------

    /// The review queue: pending, reviewed or all items.
    pub async fn reviews(&self, state: ReviewState) -> Result<ReviewList> {
        let reviews = self
            .store
            .review_items()
            .await?
            .iter()
            .filter(|i| match state {
                ReviewState::Pending => i.verdict.is_none(),
                ReviewState::Reviewed => i.verdict.is_some(),
                ReviewState::All => true,
            })
            .map(ReviewView::of)
            .collect();
        Ok(ReviewList { reviews })
    }

    /// Leases the next item waiting for review to `reviewer` ([`REVIEW_LEASE_MS`]); `None`
    /// when nothing waits.
    pub async fn claim_review(&self, reviewer: &str) -> Result<Option<ClaimedReview>> {
        let now = now_ms();
        let Some(i) = self
            .store
            .review_claim(reviewer, now, REVIEW_LEASE_MS)
            .await?
        else {
            return Ok(None);
        };
        let text = self.store.decision_text(i.audit_seq).await?;
        Ok(Some(ClaimedReview {
            item: ReviewView::of(&i),
            lease_until: rfc3339(now + REVIEW_LEASE_MS),
            ticket_text: text.as_ref().and_then(|t| t.text.clone()),
            answer: text.as_ref().and_then(|t| t.answer.clone()),
            reasons: text.as_ref().and_then(|t| t.reasons.clone()),
        }))
    }

    /// Who holds decision `seq`'s review lease now, if anyone.
    pub async fn review_holder(&self, seq: i64) -> Result<Option<String>> {
        Ok(self.store.review_lease(seq, now_ms()).await?)
    }

    /// Records `verdict` on decision `seq` by `reviewer` (audited; once per item; refused
    /// while another reviewer holds the item).
    pub async fn mark_review(
        &self,
        seq: i64,
        verdict: &Verdict,
        reviewer: &str,
        note: Option<&str>,
    ) -> Result<Marked> {
        if let Some(h) = self.review_holder(seq).await?
            && h != reviewer
        {
            return Err(Error::Conflict(format!(
                "decision {seq} is being reviewed by someone else"
            )));
        }
        let e =
            crate::review::mark(&self.store, seq, verdict, Some(reviewer), note, now_ms()).await?;
        Ok(Marked {
            decision_seq: seq,
            verdict: verdict.as_str().to_owned(),
            audit: AuditRef::of(&e),
        })
    }

    // ---- the policy ---------------------------------------------------------------------

    /// Puts the database's policy into the gate when it changed since the last look
    /// (another replica, or this one, imported a policy or threw a kill switch): a change
    /// holds for the next ticket everywhere. A new base policy is resolved against the
    /// evidence again (its thresholds may differ).
    pub async fn refresh_policy(&self) -> Result<()> {
        let v = self.store.policy_version().await?;
        if v == self.policy_version.load(Ordering::SeqCst) {
            return Ok(());
        }
        let stored = crate::policy::stored(&self.store).await?;
        let mut base = self.base_policy.write().await;
        let mut t = self.triage.write().await;
        if let Some(p) = stored
            && p.hash != base.hash
        {
            let evidence = flowgate_store::review::evidence(&self.store.review_items().await?);
            t.gate = crate::gate::resolve(&t.model, p.clone(), &evidence)?;
            tracing::info!(policy = %p.hash, "a new policy was imported: gate resolved again");
            *base = p;
        }
        t.gate.policy = crate::policy::in_force(&self.store, &base).await?;
        self.policy_version.store(v, Ordering::SeqCst);
        tracing::info!(policy = %t.gate.policy.hash, "policy refreshed");
        Ok(())
    }

    /// The policy in force (refreshed first).
    pub async fn policy_in_force(&self) -> Result<Policy> {
        self.refresh_policy().await?;
        Ok(self.triage.read().await.gate.policy.clone())
    }

    /// The policy in force as `GET /v1/policy` shows it.
    pub async fn policy(&self) -> Result<PolicyView> {
        self.refresh_policy().await?;
        let switches = self.store.kill_switches().await?;
        // The base policy before the gate: the order `refresh_policy` takes them in.
        let base_hash = self.base_policy.read().await.hash.clone();
        let t = self.triage.read().await;
        let p = &t.gate.policy;
        let intents = t
            .model
            .header
            .labels
            .iter()
            .map(|l| {
                let ip = p.intent(l);
                let r = t.gate.thresholds.get(l);
                IntentPolicy {
                    intent: l.clone(),
                    mode: ip.mode.as_str().to_owned(),
                    target_precision: ip.target_precision,
                    threshold: r.and_then(|r| r.threshold),
                    fixed_threshold: ip.threshold,
                    why: r.map(|r| r.why.clone()),
                    kill_switch: ip.kill_switch,
                }
            })
            .collect();
        Ok(PolicyView {
            name: p.name.clone(),
            policy: p.hash.clone(),
            base_policy: base_hash,
            kill_switch: p.kill_switch,
            kill_switches: switches
                .iter()
                .map(|k| KillSwitchState {
                    scope: k.scope.clone(),
                    engaged: k.engaged,
                    actor: k.actor.clone(),
                    changed_at: rfc3339(k.changed_at_ms),
                    audit_seq: k.audit_seq,
                })
                .collect(),
            intents,
        })
    }

    async fn known_intent(&self, intent: &str, what: &str) -> Result<()> {
        let t = self.triage.read().await;
        if t.model.header.labels.iter().any(|l| l == intent) {
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "{what} {intent:?}: expected {}one of the model's intents ({})",
            if what == "scope" { "\"*\" or " } else { "" },
            t.model.header.labels.join(", ")
        )))
    }

    /// Throws or releases the kill switch of `scope` (`*` or an intent), audited, and puts
    /// the policy with it in force for the next ticket.
    pub async fn kill_switch(
        &self,
        scope: &str,
        engaged: bool,
        actor: &str,
    ) -> Result<KillSwitchSet> {
        if scope != "*" {
            self.known_intent(scope, "scope").await?;
        }
        let (e, p) = crate::policy::set_kill_switch(
            &self.store,
            &*self.base_policy.read().await,
            scope,
            engaged,
            actor,
            now_ms(),
        )
        .await?;
        self.refresh_policy().await?;
        tracing::info!(scope, engaged, actor, "kill switch");
        Ok(KillSwitchSet {
            scope: scope.to_owned(),
            engaged,
            policy: p.hash,
            audit: AuditRef::of(&e),
        })
    }

    /// Sets one intent's fixed threshold in the imported policy (audited) and resolves the
    /// gate with it for the next ticket.
    pub async fn set_threshold(
        &self,
        intent: &str,
        threshold: f64,
        actor: &str,
    ) -> Result<ThresholdSet> {
        self.known_intent(intent, "intent").await?;
        let (p, e) =
            crate::policy::set_threshold(&self.store, intent, threshold, actor, now_ms()).await?;
        self.refresh_policy().await?;
        tracing::info!(intent, threshold, actor, "threshold set");
        Ok(ThresholdSet {
            intent: intent.to_owned(),
            threshold: p.intent(intent).threshold,
            policy: p.hash,
            audit: e.as_ref().map(AuditRef::of),
        })
    }

    // ---- reports ------------------------------------------------------------------------

    /// The defect review of ISO week `week` (`2026-W48`; default the current week).
    pub async fn defect_review(&self, week: Option<&str>) -> Result<crate::defects::DefectReview> {
        let from = parse_week_or_now(week)?;
        let label = flowgate_flow::time::iso_week_label(from);
        let policy = self.policy_in_force().await?;
        crate::defects::weekly(
            &self.store,
            &label,
            from,
            from + flowgate_flow::time::MS_PER_WEEK,
            Some(&policy),
            None,
        )
        .await
    }

    /// The NIST AI RMF evidence table under the policy in force.
    pub async fn governance(&self) -> Result<crate::governance::Governance> {
        let policy = self.policy_in_force().await?;
        crate::governance::collect(&self.store, Some(&policy)).await
    }

    /// A what-if scenario (TOML) run against the store's only source: the report section.
    pub async fn whatif(&self, scenario: &str) -> Result<String> {
        let l = self.source_log(None).await?;
        let text = scenario.to_owned();
        tokio::task::spawn_blocking(move || {
            let model = crate::whatif::fit(&l, "intent");
            crate::whatif::run(&model, &text, "the scenario", 2)
                .map(|w| flowgate_report::value::simulation_section(&w.scenario, Some(&w.baseline)))
        })
        .await
        .map_err(|e| Error::Internal(format!("the simulation stopped: {e}")))?
    }
}

/// The Monday (UTC ms) of ISO week `week`, or of the current week.
pub fn parse_week_or_now(week: Option<&str>) -> Result<i64> {
    match week {
        Some(w) => crate::analytics::parse_week(w).map_err(|e| Error::BadQuery(e.to_string())),
        None => crate::analytics::parse_week(&flowgate_flow::time::iso_week_label(now_ms())),
    }
}

/// Which review items to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ReviewState {
    #[default]
    Pending,
    Reviewed,
    All,
}

/// What `GET /v1/decisions` asks for, as sent (query parameters).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct DecisionQuery {
    /// Decisions after this audit sequence number (default 0: from the start).
    #[cfg_attr(feature = "openapi", param(minimum = 0))]
    pub after_seq: Option<i64>,
    /// At most this many (default 100).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 1000))]
    pub limit: Option<i64>,
    pub intent: Option<String>,
    pub action: Option<Action>,
    /// Decisions on tickets from this source only.
    #[cfg_attr(feature = "openapi", param(min_length = 1))]
    pub source: Option<String>,
    /// Decisions on this ticket id only.
    #[cfg_attr(feature = "openapi", param(min_length = 1))]
    pub ticket: Option<String>,
    /// RFC 3339 bounds on the decision time: `since` ≤ time < `until`.
    #[cfg_attr(feature = "openapi", param(format = DateTime))]
    pub since: Option<String>,
    #[cfg_attr(feature = "openapi", param(format = DateTime))]
    pub until: Option<String>,
    /// Confidence bounds: `min_confidence` ≤ confidence < `max_confidence`.
    #[cfg_attr(feature = "openapi", param(minimum = 0.0, maximum = 1.0))]
    pub min_confidence: Option<f64>,
    #[cfg_attr(feature = "openapi", param(minimum = 0.0, maximum = 1.0))]
    pub max_confidence: Option<f64>,
}

/// A [`DecisionQuery`] checked: what [`Service::decisions`] filters by.
#[derive(Clone, Debug)]
pub struct DecisionFilter {
    pub after_seq: i64,
    pub limit: usize,
    pub intent: Option<String>,
    pub action: Option<Action>,
    pub source: Option<String>,
    pub ticket: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub min_confidence: Option<f64>,
    pub max_confidence: Option<f64>,
}

fn query_time(name: &str, v: &Option<String>) -> Result<Option<i64>> {
    v.as_deref()
        .map(|t| {
            t.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|e| {
                    Error::BadQuery(format!("{name}={t:?}: expected an RFC 3339 time ({e})"))
                })
        })
        .transpose()
}

impl DecisionQuery {
    pub fn check(&self) -> Result<DecisionFilter> {
        let bad = |m: String| Err(Error::BadQuery(m));
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return bad(format!("limit={limit}: expected 1 to 1000"));
        }
        let after_seq = self.after_seq.unwrap_or(0);
        if after_seq < 0 {
            return bad(format!("after_seq={after_seq}: expected 0 or more"));
        }
        for (name, v) in [
            ("min_confidence", self.min_confidence),
            ("max_confidence", self.max_confidence),
        ] {
            if let Some(c) = v
                && !(0.0..=1.0).contains(&c)
            {
                return bad(format!("{name}={c}: expected 0 to 1"));
            }
        }
        for (name, v) in [("source", &self.source), ("ticket", &self.ticket)] {
            if v.as_ref().is_some_and(|v| v.trim().is_empty()) {
                return bad(format!("{name}: expected a value (leave it out for any)"));
            }
        }
        Ok(DecisionFilter {
            after_seq,
            limit: limit as usize,
            intent: self.intent.clone().filter(|i| !i.is_empty()),
            action: self.action,
            source: self.source.clone(),
            ticket: self.ticket.clone(),
            since: query_time("since", &self.since)?,
            until: query_time("until", &self.until)?,
            min_confidence: self.min_confidence,
            max_confidence: self.max_confidence,
        })
    }
}

impl DecisionFilter {
    fn keeps(&self, r: &DecisionRecord, recorded_at_ms: i64) -> bool {
        let c = f64::from(r.confidence);
        self.intent.as_ref().is_none_or(|i| *i == r.intent)
            && self
                .source
                .as_ref()
                .is_none_or(|s| r.source.as_ref() == Some(s))
            && self.ticket.as_ref().is_none_or(|t| *t == r.ticket)
            && self.action.is_none_or(|a| a == r.decision)
            && self.min_confidence.is_none_or(|m| c >= m)
            && self.max_confidence.is_none_or(|m| c < m)
            && self.since.is_none_or(|t| recorded_at_ms >= t)
            && self.until.is_none_or(|t| recorded_at_ms < t)
    }
}

/// A review item's sequence number or a decision's, from a path segment.
pub fn parse_seq(what: &str, s: &str) -> Result<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::NotFound(format!("{what} {s:?}: expected a sequence number")))
}
