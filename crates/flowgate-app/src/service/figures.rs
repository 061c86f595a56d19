//! Figures served from memory: baselines, scorecards, the gate's week, the Flow page's
//! sections and the pilot, each computed once and kept fresh by a background task, so a
//! request is answered from memory however busy the store is, and the figures lag live
//! ingest by at most the service's `analytics_ttl` plus one computation (each answer says
//! when it was computed).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowgate_store::Store;
use serde::Serialize;

use super::{Service, now_ms};
use crate::{Error, Result};

/// How old served figures may grow before they are computed again (default).
pub const ANALYTICS_TTL: Duration = Duration::from_secs(60);
/// Figures nobody asked for in this long are dropped rather than kept fresh.
const ANALYTICS_IDLE: Duration = Duration::from_secs(600);
/// Bootstrap draws of the pilot comparison (the intervals' precision: ±~1 point at 95%).
const PILOT_RESAMPLES: usize = 500;

/// Which figures a request asks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FiguresKey {
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

/// A source's process baseline.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BaselineFigures {
    pub source: String,
    /// When the figures were computed (RFC 3339).
    pub computed_at: String,
    /// The figures lag the store by at most this many seconds plus one computation.
    pub max_staleness_s: u64,
    /// The baseline report's figures (`flowgate baseline --format json`).
    pub baseline: flowgate_flow::Baseline,
}

/// A source's weekly scorecard: the three numbers per ISO week.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScorecardFigures {
    pub source: String,
    pub computed_at: String,
    pub max_staleness_s: u64,
    pub scorecard: flowgate_value::scorecard::Scorecard,
    /// The team the scorecard is limited to.
    pub team: Option<String>,
    /// Every team of the source.
    pub teams: Vec<String>,
}

/// The gate's week.
#[derive(Clone, Debug, Serialize)]
pub struct GateWeekFigures {
    #[serde(flatten)]
    pub week: crate::gate_week::GateWeek,
    /// The source reopens were read from.
    pub joined_to: Option<String>,
    pub max_staleness_s: u64,
}

/// The Flow page's figures and sections.
#[derive(Clone, Debug, Serialize)]
pub struct FlowFigures {
    pub source: String,
    pub computed_at: String,
    pub max_staleness_s: u64,
    pub cases: u64,
    pub events: u64,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    /// The baseline report's sections, as HTML.
    pub html: String,
}

/// The pilot against its baseline.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PilotFigures {
    pub source: String,
    pub computed_at: String,
    pub max_staleness_s: u64,
    pub pilot: crate::pilot::PilotView,
    /// The comparison as the report's HTML section (none before there is one).
    pub html: Option<String>,
}

/// Figures of any kind, as the cache holds them.
#[derive(Clone, Debug)]
pub enum Figures {
    Baseline(Arc<BaselineFigures>),
    Scorecard(Arc<ScorecardFigures>),
    GateWeek(Arc<GateWeekFigures>),
    Flow(Arc<FlowFigures>),
    Pilot(Arc<PilotFigures>),
}

/// Computed figures and when they were computed and last asked for.
struct Computed {
    at: Instant,
    asked: Instant,
    value: Figures,
}

/// The figures asked for, and the lock that lets one computation run at a time.
#[derive(Default)]
pub(super) struct Cache {
    held: tokio::sync::Mutex<BTreeMap<FiguresKey, Computed>>,
    computing: tokio::sync::Mutex<()>,
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn joined<T>(r: std::result::Result<T, tokio::task::JoinError>) -> Result<T> {
    r.map_err(|e| Error::Internal(format!("computing figures stopped: {e}")))
}

fn mixed() -> Error {
    Error::Internal("the figures cache answered another kind of figures".into())
}

impl Service {
    /// The figures for `key`: from memory when they were computed before, else computed now
    /// — one computation at a time, so a burst of first requests computes once.
    async fn figures(&self, key: FiguresKey) -> Result<Figures> {
        {
            let mut held = self.figures.held.lock().await;
            if let Some(c) = held.get_mut(&key) {
                c.asked = Instant::now();
                return Ok(c.value.clone());
            }
        }
        let _one = self.figures.computing.lock().await;
        if let Some(c) = self.figures.held.lock().await.get(&key) {
            return Ok(c.value.clone());
        }
        let value = self.compute(&key).await?;
        let now = Instant::now();
        self.figures.held.lock().await.insert(
            key,
            Computed {
                at: now,
                asked: now,
                value: value.clone(),
            },
        );
        Ok(value)
    }

    /// The pilot's figures for `day` (`YYYY-MM-DD`, default today, UTC).
    pub async fn pilot(
        &self,
        source: Option<String>,
        day: Option<String>,
    ) -> Result<Arc<PilotFigures>> {
        let today = match day.filter(|d| !d.trim().is_empty()) {
            Some(d) => {
                let d = d.trim();
                d.parse::<jiff::civil::Date>()
                    .map_err(|_| Error::BadQuery(format!("day {d:?}: expected YYYY-MM-DD")))?;
                d.to_owned()
            }
            None => jiff::Timestamp::now()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date()
                .to_string(),
        };
        match self.figures(FiguresKey::Pilot { source, today }).await? {
            Figures::Pilot(f) => Ok(f),
            _ => Err(mixed()),
        }
    }

    /// A source's process baseline (cases created in `range`, UTC ms, when given).
    pub async fn baseline(
        &self,
        source: Option<String>,
        range: Option<(i64, i64)>,
    ) -> Result<Arc<BaselineFigures>> {
        match self.figures(FiguresKey::Baseline { source, range }).await? {
            Figures::Baseline(f) => Ok(f),
            _ => Err(mixed()),
        }
    }

    /// A source's weekly scorecard: `weeks` weeks up to `last_week` (default the latest),
    /// of one team's cases when given.
    pub async fn scorecard(
        &self,
        source: Option<String>,
        weeks: usize,
        last_week: Option<i64>,
        team: Option<String>,
    ) -> Result<Arc<ScorecardFigures>> {
        let key = FiguresKey::Scorecard {
            source,
            weeks,
            last_week,
            team,
        };
        match self.figures(key).await? {
            Figures::Scorecard(f) => Ok(f),
            _ => Err(mixed()),
        }
    }

    /// The gate's week starting at `from` (UTC ms).
    pub async fn gate_week(&self, from: i64) -> Result<Arc<GateWeekFigures>> {
        match self.figures(FiguresKey::GateWeek { from }).await? {
            Figures::GateWeek(f) => Ok(f),
            _ => Err(mixed()),
        }
    }

    /// The Flow page's sections for cases created in `range`.
    pub async fn flow(
        &self,
        source: Option<String>,
        range: Option<(i64, i64)>,
    ) -> Result<Arc<FlowFigures>> {
        match self.figures(FiguresKey::FlowHtml { source, range }).await? {
            Figures::Flow(f) => Ok(f),
            _ => Err(mixed()),
        }
    }

    async fn compute(&self, key: &FiguresKey) -> Result<Figures> {
        use crate::analytics as a;
        let store = &self.store;
        let stale = self.opts.analytics_ttl.as_secs();
        match key.clone() {
            FiguresKey::Baseline { source, range } => {
                let l = self.source_log(source.as_deref()).await?;
                let b = joined(
                    tokio::task::spawn_blocking(move || {
                        let baseline = match range {
                            None => a::baseline(&l),
                            Some((from, to)) => a::baseline_between(&l, from, to),
                        };
                        BaselineFigures {
                            source: l.source,
                            computed_at: now(),
                            max_staleness_s: stale,
                            baseline,
                        }
                    })
                    .await,
                )?;
                Ok(Figures::Baseline(Arc::new(b)))
            }
            FiguresKey::Scorecard {
                source,
                weeks,
                last_week,
                team,
            } => {
                let l = self.source_log(source.as_deref()).await?;
                let reviewed = a::reviewed_defects(store, &l).await?;
                let c = joined(
                    tokio::task::spawn_blocking(move || {
                        let scorecard = match &team {
                            None => a::scorecard(&l, &reviewed, weeks, last_week),
                            Some(t) => {
                                let (records, reviewed) = a::for_team(&l, &reviewed, t)?;
                                a::scorecard_of(&records, &reviewed, weeks, last_week)
                            }
                        };
                        Ok::<_, Error>(ScorecardFigures {
                            teams: a::teams(&l),
                            source: l.source,
                            computed_at: now(),
                            max_staleness_s: stale,
                            scorecard,
                            team,
                        })
                    })
                    .await,
                )??;
                Ok(Figures::Scorecard(Arc::new(c)))
            }
            FiguresKey::GateWeek { from } => {
                let l = self.source_log(None).await.ok();
                let week = crate::gate_week::weekly(
                    store,
                    from,
                    from + flowgate_flow::time::MS_PER_WEEK,
                    l.as_ref(),
                )
                .await?;
                Ok(Figures::GateWeek(Arc::new(GateWeekFigures {
                    week,
                    joined_to: l.map(|l| l.source),
                    max_staleness_s: stale,
                })))
            }
            FiguresKey::FlowHtml { source, range } => {
                let l = self.source_log(source.as_deref()).await?;
                let f = joined(
                    tokio::task::spawn_blocking(move || {
                        let b = match range {
                            None => a::baseline(&l),
                            Some((from, to)) => a::baseline_between(&l, from, to),
                        };
                        FlowFigures {
                            source: l.source,
                            computed_at: now(),
                            max_staleness_s: stale,
                            cases: b.cases,
                            events: b.events,
                            html: flowgate_report::baseline_sections(&b),
                            first_event: b.first_event,
                            last_event: b.last_event,
                        }
                    })
                    .await,
                )?;
                Ok(Figures::Flow(Arc::new(f)))
            }
            FiguresKey::Pilot { source, today } => {
                let plan = self.opts.pilot.clone().ok_or_else(|| {
                    Error::NotFound("no pilot is planned: add [pilot] to flowgate.toml".into())
                })?;
                let today: jiff::civil::Date = today
                    .parse()
                    .map_err(|_| Error::BadQuery(format!("day {today:?}: expected YYYY-MM-DD")))?;
                let l = self.source_log(source.as_deref()).await?;
                let buckets = self.opts.buckets;
                let f = joined(
                    tokio::task::spawn_blocking(move || {
                        let pilot = crate::pilot::view(
                            &l,
                            &plan,
                            today,
                            "intent",
                            &buckets,
                            PILOT_RESAMPLES,
                        )?;
                        let html = pilot.compare.as_ref().map(|c| {
                            flowgate_report::value::compare_section(c, pilot.budget.as_ref())
                        });
                        Ok::<_, Error>(PilotFigures {
                            source: l.source,
                            computed_at: now(),
                            max_staleness_s: stale,
                            pilot,
                            html,
                        })
                    })
                    .await,
                )??;
                Ok(Figures::Pilot(Arc::new(f)))
            }
        }
    }

    /// Computes what the Overview shows by default (the only source's scorecard and
    /// baseline, the gate's week): the first page after a start is then served from memory.
    pub async fn prewarm(&self) {
        let week = crate::analytics::parse_week(&flowgate_flow::time::iso_week_label(now_ms()));
        let mut keys = vec![
            FiguresKey::Scorecard {
                source: None,
                weeks: 12,
                last_week: None,
                team: None,
            },
            FiguresKey::Baseline {
                source: None,
                range: None,
            },
        ];
        if let Ok(from) = week {
            keys.push(FiguresKey::GateWeek { from });
        }
        for key in keys {
            if let Err(e) = self.figures(key.clone()).await {
                tracing::debug!(?key, error = %e, "nothing to prewarm");
            }
        }
    }
}

/// Keeps asked-for figures fresh: every few seconds, recomputes those older than the
/// service's `analytics_ttl` and drops those nobody asked for lately.
pub async fn refresh(s: Arc<Service>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let ttl = s.opts.analytics_ttl;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(ttl.min(Duration::from_secs(5))) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let due: Vec<FiguresKey> = {
            let mut held = s.figures.held.lock().await;
            held.retain(|_, c| c.asked.elapsed() < ANALYTICS_IDLE);
            held.iter()
                .filter(|(_, c)| c.at.elapsed() >= ttl)
                .map(|(k, _)| k.clone())
                .collect()
        };
        for key in due {
            let _one = s.figures.computing.lock().await;
            match s.compute(&key).await {
                Ok(v) => {
                    if let Some(c) = s.figures.held.lock().await.get_mut(&key) {
                        c.at = Instant::now();
                        c.value = v;
                    }
                }
                Err(e) => {
                    tracing::warn!(?key, error = %e, "recomputing figures failed; the last ones are served")
                }
            }
        }
    }
}

/// Joins the small event blocks live sources gather (one per `POST /v1/events` or webhook
/// delivery) every `every`, so loads read a few large blocks. Each request's events were
/// committed before its answer; this only moves committed bytes, in one transaction.
pub async fn compact(store: Store, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
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
