//! The process and value layers over a source in the store: the baseline and the weekly
//! scorecard as the service answers them (the CLI reads files or the store the same way).

use flowgate_flow::cases::CaseRecord;
pub use flowgate_flow::demand::BucketRules;
use flowgate_flow::{Baseline, BaselineOptions, EventLog};
use flowgate_ingest::Mapping;
pub use flowgate_ingest::calendar::Calendar;
use flowgate_store::Store;
use flowgate_value::scorecard::{ReviewedDefect, Scorecard, ScorecardOptions};

use crate::{Error, Result};

/// A source read from the store, with what every figure needs.
pub struct SourceLog {
    pub source: String,
    pub log: EventLog,
    pub mapping: Mapping,
    pub records: Vec<CaseRecord>,
}

/// The source named, or the store's only one (an error names the sources to choose from).
pub async fn pick_source(store: &Store, source: Option<&str>) -> Result<String> {
    if let Some(n) = source {
        return Ok(n.to_owned());
    }
    let all = store.sources().await?;
    match all.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(Error::Invalid(format!(
            "the database {} holds no source yet: import one first (`flowgate import`, or POST /v1/events)",
            store.url()
        ))),
        many => Err(Error::Invalid(format!(
            "source: the database holds several; name one of {}",
            many.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The source named, or the store's only one.
pub async fn load(store: &Store, source: Option<&str>) -> Result<SourceLog> {
    let name = pick_source(store, source).await?;
    let loaded = store.load(&name).await?;
    let mapping = Mapping::from_toml(
        &loaded.mapping_toml,
        &format!("the stored mapping of source {name}"),
    )
    .map_err(|e| Error::Invalid(e.to_string()))?;
    let log = loaded.rows.finish();
    let records = flowgate_flow::cases::case_records(&log);
    Ok(SourceLog {
        source: name,
        log,
        mapping,
        records,
    })
}

/// Puts the settings' `[calendar]` in force over the mapping's own: the one settings path
/// for business hours, whichever surface (CLI or service) reads the source.
pub fn apply_calendar(mapping: &mut Mapping, settings: Option<&Calendar>) {
    if let Some(c) = settings {
        mapping.calendar = Some(c.clone());
    }
}

/// The baseline's options for a source: the mapping's SLA targets and business calendar
/// (after [`apply_calendar`]). A calendar that does not resolve over the log's span is an
/// error here (the CLI shows it).
pub fn baseline_options(l: &SourceLog) -> Result<BaselineOptions> {
    let mut opts = BaselineOptions::new();
    opts.sla = l.mapping.sla_config();
    if let (Some(cal), Some((lo, hi))) = (&l.mapping.calendar, l.log.span()) {
        opts.business = Some(
            cal.business_time(lo, hi)
                .map_err(|e| Error::Invalid(format!("calendar: {e}")))?,
        );
    }
    Ok(opts)
}

/// [`baseline_options`], leaving out a calendar that no longer resolves (a stored mapping
/// was checked when it was imported, the settings when they were read).
fn options(l: &SourceLog) -> BaselineOptions {
    baseline_options(l).unwrap_or_else(|_| {
        let mut opts = BaselineOptions::new();
        opts.sla = l.mapping.sla_config();
        opts
    })
}

/// The process baseline, with the mapping's SLA targets and business calendar.
pub fn baseline(l: &SourceLog) -> Baseline {
    flowgate_flow::baseline(&l.log, &options(l))
}

/// The process baseline of the cases created in `[from_ms, to_ms)`, with backlog and aging
/// as of `to_ms` (or the last event, when sooner).
pub fn baseline_between(l: &SourceLog, from_ms: i64, to_ms: i64) -> Baseline {
    let sub = l.log.select_cases(|c| {
        let created = l.records[c].created;
        created >= from_ms && created < to_ms
    });
    let mut opts = options(l);
    opts.as_of_ms = l.log.span().map(|(_, last)| last.min(to_ms));
    flowgate_flow::baseline(&sub, &opts)
}

/// The resolution target of each case in seconds, where its priority has one under the
/// mapping's SLA (`None` without an SLA or its priority column).
pub fn sla_targets(l: &SourceLog) -> Option<Vec<Option<f64>>> {
    let cfg = l.mapping.sla_config()?;
    let col = l.log.attr_index(&cfg.priority_attr)?;
    let per_case = flowgate_flow::segment::case_attr(&l.log, col);
    Some(
        per_case
            .iter()
            .map(|&v| {
                let p = l.log.attr_values[col].resolve(v);
                cfg.targets
                    .iter()
                    .find(|t| t.priority == p)
                    .and_then(|t| t.resolution_s)
            })
            .collect(),
    )
}

/// The records (and reviewed defects) of the cases first owned by `team`, for a
/// scorecard of one team. A defect whose case is not in the log has no team: left out.
pub fn for_team(
    l: &SourceLog,
    reviewed: &[ReviewedDefect],
    team: &str,
) -> Result<(Vec<CaseRecord>, Vec<ReviewedDefect>)> {
    let Some(t) = l.log.teams.get(team) else {
        let known = teams(l);
        return Err(Error::Invalid(format!(
            "team {team:?}: not in source {}; its teams are: {}",
            l.source,
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    };
    let mut new_index = vec![None; l.records.len()];
    let mut records = Vec::new();
    for (k, r) in l.records.iter().enumerate() {
        if r.first_team == t {
            new_index[k] = Some(records.len());
            records.push(*r);
        }
    }
    let defects = reviewed
        .iter()
        .filter_map(|d| {
            let case = new_index.get(d.case?).copied().flatten()?;
            Some(ReviewedDefect {
                case: Some(case),
                decided_at_ms: d.decided_at_ms,
            })
        })
        .collect();
    Ok((records, defects))
}

/// The teams of the source (that first own a case), sorted.
pub fn teams(l: &SourceLog) -> Vec<String> {
    let mut seen: Vec<u32> = l.records.iter().map(|r| r.first_team).collect();
    seen.sort_unstable();
    seen.dedup();
    let mut names: Vec<String> = seen
        .into_iter()
        .filter(|&t| t != flowgate_flow::NONE)
        .map(|t| l.log.teams.resolve(t).to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names
}

/// Reviewed defects from the review queue (acts only: a shadow review judged what the AI
/// would have done, and nothing reached a customer), each at its case when the case is in
/// the log.
pub async fn reviewed_defects(store: &Store, l: &SourceLog) -> Result<Vec<ReviewedDefect>> {
    Ok(store
        .review_items()
        .await?
        .iter()
        .filter(|i| !i.shadow && i.verdict.as_deref() == Some("defect"))
        .map(|i| ReviewedDefect {
            case: l.log.cases.get(&i.ticket).map(|c| c as usize),
            decided_at_ms: i.decided_at_ms,
        })
        .collect())
}

/// The weekly scorecard: `weeks` weeks ending with the one holding `last_week` (default the
/// last complete week of the data).
pub fn scorecard(
    l: &SourceLog,
    reviewed: &[ReviewedDefect],
    weeks: usize,
    last_week: Option<i64>,
) -> Scorecard {
    scorecard_of(&l.records, reviewed, weeks, last_week)
}

/// The weekly scorecard of some cases (one team's, from [`for_team`]).
pub fn scorecard_of(
    records: &[CaseRecord],
    reviewed: &[ReviewedDefect],
    weeks: usize,
    last_week: Option<i64>,
) -> Scorecard {
    let opts = ScorecardOptions {
        weeks: weeks.max(1),
        last_week,
        ..ScorecardOptions::default()
    };
    flowgate_value::scorecard(records, reviewed, &opts)
}

/// An ISO week (`2026-W47`) as its Monday 00:00 UTC in milliseconds.
pub fn parse_week(week: &str) -> Result<i64> {
    let bad = || {
        Error::Invalid(format!(
            "week {week:?}: expected an ISO week such as 2026-W47"
        ))
    };
    let (y, w) = week.trim().split_once("-W").ok_or_else(bad)?;
    let y: i16 = y.parse().map_err(|_| bad())?;
    let w: i8 = w.parse().map_err(|_| bad())?;
    let d = jiff::civil::ISOWeekDate::new(y, w, jiff::civil::Weekday::Monday)
        .map_err(|_| bad())?
        .date();
    Ok(d.to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| bad())?
        .timestamp()
        .as_millisecond())
}

/// `2026-01-01`, `2026-01-01T08:00:00Z` or `2026-W03` (its Monday) as UTC milliseconds;
/// `what` names the field or flag in the message.
pub fn parse_instant(s: &str, what: &str) -> Result<i64> {
    let s = s.trim();
    if s.contains("-W") {
        return parse_week(s).map_err(|e| Error::Invalid(format!("{what}: {e}")));
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_millisecond());
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            Error::Invalid(format!(
                "{what}: expected a date (2026-01-31), a time with zone (2026-01-31T08:00:00Z) or an ISO week (2026-W05), found {s:?}"
            ))
        })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_only_source_is_picked_and_several_are_named() {
        use crate::events::{append, created};
        let dir = std::env::temp_dir().join(format!("flowgate-app-pick-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = flowgate_store::Store::open(&dir.join("p.db").display().to_string())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let e = super::pick_source(&store, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds no source yet"), "{e}");
        let event = created("C-1");
        append(&store, "live", std::slice::from_ref(&event), "t", "test")
            .await
            .unwrap();
        assert_eq!(super::pick_source(&store, None).await.unwrap(), "live");
        append(&store, "api", &[event], "t", "test").await.unwrap();
        let e = super::pick_source(&store, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("name one of api, live"), "{e}");
        assert_eq!(
            super::pick_source(&store, Some("api")).await.unwrap(),
            "api"
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn instants_are_dates_times_or_weeks() {
        // 2026-01-31 00:00 UTC is 1,769,817,600 s after the epoch (20,484 days × 86,400 s).
        assert_eq!(
            super::parse_instant("2026-01-31", "x").unwrap(),
            1_769_817_600_000
        );
        assert_eq!(
            super::parse_instant("2026-01-31T08:00:00Z", "x").unwrap(),
            1_769_817_600_000 + 8 * 3_600_000
        );
        assert_eq!(
            super::parse_instant("2026-W01", "x").unwrap(),
            1_766_966_400_000
        );
        let e = super::parse_instant("31/01/2026", "--until")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--until: expected a date"), "{e}");
    }

    #[test]
    fn iso_weeks_start_on_monday_utc() {
        // 2026-W01 starts on Monday 29 December 2025 (ISO 8601: the week with 1 January's
        // Thursday).
        assert_eq!(super::parse_week("2026-W01").unwrap(), 1_766_966_400_000);
        assert!(super::parse_week("2026-W54").is_err());
        assert!(super::parse_week("2026-47").is_err());
    }
}
