//! The 90-day pilot (`[pilot]` in `flowgate.toml`): the baseline period, day one, and the
//! playbook's phases with their dates — where a given day falls, and the two periods the
//! pilot-vs-baseline comparison reads.
//!
//! Dates are calendar days in UTC; a phase runs from its first day up to, not including,
//! its `to` day. Without `[[pilot.phases]]` the playbook's phases are laid over the pilot's
//! days: handoff redesign (days 1–30), AI inserted per intent (31–60), gates hardened
//! (61–80), budget review (81–90), scaled to `days`.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::compare::Period;

/// `[pilot]` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PilotSettings {
    pub name: Option<String>,
    /// Day one (`2026-05-04`).
    pub start: String,
    /// Days in the pilot (default 90).
    pub days: Option<u32>,
    /// The baseline period, `FROM..TO` dates; it ends on or before `start`.
    pub baseline: String,
    /// Segments for the mix-adjusted comparison (`intent`, `team`, `priority`, …).
    pub by: Option<String>,
    /// The budget inputs (as `--budget`'s file): the comparison in money a month.
    pub budget: Option<crate::Budget>,
    #[serde(default)]
    pub phases: Vec<PhaseSettings>,
}

/// `[[pilot.phases]]` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhaseSettings {
    pub name: String,
    pub from: String,
    pub to: String,
    /// The intents the AI is inserted for in this phase.
    #[serde(default)]
    pub intents: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("[pilot] {field}: {message}")]
pub struct PilotError {
    pub field: String,
    pub message: String,
}

/// One phase: `[from, to)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Phase {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub from: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub to: Date,
    pub intents: Vec<String>,
}

/// A checked plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PilotPlan {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub start: Date,
    pub days: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub baseline: (Date, Date),
    pub by: Option<String>,
    pub budget: Option<crate::Budget>,
    pub phases: Vec<Phase>,
}

/// Where a day falls in the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Standing {
    /// 1 on day one; ≤ 0 before it, > `days` after the end.
    pub day: i64,
    pub days: u32,
    /// `before`, `running` or `done`.
    pub status: &'static str,
    /// The phase holding the day (while running).
    pub phase: Option<Phase>,
}

/// The playbook's phases over 90 days: (name, first day, last day).
const PLAYBOOK: [(&str, u32, u32); 4] = [
    ("Handoff redesign", 1, 30),
    ("AI inserted per intent", 31, 60),
    ("Gates hardened", 61, 80),
    ("Budget review", 81, 90),
];

fn date(field: &str, v: &str) -> Result<Date, PilotError> {
    v.trim().parse::<Date>().map_err(|_| PilotError {
        field: field.to_owned(),
        message: format!("expected a date such as 2026-05-04, found {v:?}"),
    })
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap_or(d)
}

fn ms(d: Date) -> i64 {
    d.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

impl PilotPlan {
    /// Checks `[pilot]`: dates parse, the baseline ends by day one, phases lie inside the
    /// pilot in order without overlapping.
    pub fn new(s: &PilotSettings) -> Result<PilotPlan, PilotError> {
        let err = |field: &str, message: String| PilotError {
            field: field.to_owned(),
            message,
        };
        let start = date("start", &s.start)?;
        let days = s.days.unwrap_or(90);
        if !(7..=366).contains(&days) {
            return Err(err("days", format!("expected 7 to 366 days, found {days}")));
        }
        let (a, b) = s.baseline.split_once("..").ok_or_else(|| {
            err(
                "baseline",
                format!(
                    "expected FROM..TO dates such as 2026-03-02..2026-05-04, found {:?}",
                    s.baseline
                ),
            )
        })?;
        let baseline = (date("baseline", a)?, date("baseline", b)?);
        if baseline.1 <= baseline.0 {
            return Err(err("baseline", "TO must come after FROM".into()));
        }
        if baseline.1 > start {
            return Err(err(
                "baseline",
                format!(
                    "must end on or before the pilot's start ({start}), ends {}",
                    baseline.1
                ),
            ));
        }
        if let Some(b) = &s.budget {
            b.check("[pilot.budget]")
                .map_err(|e| err("budget", e.to_string()))?;
        }
        let end = add_days(start, i64::from(days));
        let phases = if s.phases.is_empty() {
            let scale = |day: u32| i64::from((day - 1) * days / 90);
            PLAYBOOK
                .iter()
                .map(|&(name, first, last)| Phase {
                    name: name.to_owned(),
                    from: add_days(start, scale(first)),
                    to: if last == 90 {
                        end
                    } else {
                        add_days(start, scale(last + 1))
                    },
                    intents: Vec::new(),
                })
                .collect()
        } else {
            let mut out: Vec<Phase> = Vec::new();
            for (k, p) in s.phases.iter().enumerate() {
                let field = format!("phases[{k}] ({})", p.name);
                let from = date(&field, &p.from)?;
                let to = date(&field, &p.to)?;
                if to <= from {
                    return Err(err(&field, "`to` must come after `from`".into()));
                }
                if from < start || to > end {
                    return Err(err(
                        &field,
                        format!("must lie inside the pilot, {start} to {end}"),
                    ));
                }
                if let Some(prev) = out.last()
                    && from < prev.to
                {
                    return Err(err(
                        &field,
                        format!(
                            "starts before the previous phase ({}) ends on {}",
                            prev.name, prev.to
                        ),
                    ));
                }
                out.push(Phase {
                    name: p.name.clone(),
                    from,
                    to,
                    intents: p.intents.clone(),
                });
            }
            out
        };
        Ok(PilotPlan {
            name: s.name.clone().unwrap_or_else(|| "The 90-day pilot".into()),
            start,
            days,
            baseline,
            by: s.by.clone(),
            budget: s.budget.clone(),
            phases,
        })
    }

    /// The first day after the pilot.
    pub fn end(&self) -> Date {
        add_days(self.start, i64::from(self.days))
    }

    /// Where `today` falls.
    pub fn standing(&self, today: Date) -> Standing {
        let day = i64::from((today - self.start).get_days()) + 1;
        let status = if day < 1 {
            "before"
        } else if day > i64::from(self.days) {
            "done"
        } else {
            "running"
        };
        Standing {
            day,
            days: self.days,
            status,
            phase: self
                .phases
                .iter()
                .find(|p| p.from <= today && today < p.to)
                .cloned(),
        }
    }

    pub fn baseline_period(&self) -> Period {
        Period {
            from_ms: ms(self.baseline.0),
            to_ms: ms(self.baseline.1),
        }
    }

    /// The pilot so far: day one up to the end of `today`, or of the pilot if sooner.
    /// `None` before day one.
    pub fn pilot_period(&self, today: Date) -> Option<Period> {
        let to = add_days(today, 1).min(self.end());
        (to > self.start).then(|| Period {
            from_ms: ms(self.start),
            to_ms: ms(to),
        })
    }
}

/// The answer to "is the pilot working?" from the three headline measures of a comparison
/// (cycle time p50, reopen rate for quality, escalation rate), each read from its 95%
/// interval — mix-adjusted where segments were given, else raw: `working` (some better,
/// none worse), `mixed` (some better, some worse), `not_working` (some worse, none better),
/// `unclear` (no interval excludes zero yet).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    pub verdict: &'static str,
    pub better: Vec<&'static str>,
    pub worse: Vec<&'static str>,
}

pub const HEADLINE: [&str; 3] = ["cycle_time_p50", "reopen_rate", "escalation_rate"];

pub fn verdict(c: &crate::Compare) -> Verdict {
    use crate::compare::Better;
    let (mut better, mut worse) = (Vec::new(), Vec::new());
    for name in HEADLINE {
        let Some(m) = c.measure(name) else { continue };
        let ci = m.adjusted.as_ref().and_then(|a| a.ci95).or(m.ci95);
        let Some((lo, hi)) = ci else { continue };
        // The difference is pilot − baseline: below zero is better when lower is.
        let (down, up) = (hi < 0.0, lo > 0.0);
        let good = match m.better {
            Better::Lower => down,
            Better::Higher => up,
        };
        let bad = match m.better {
            Better::Lower => up,
            Better::Higher => down,
        };
        if good {
            better.push(m.name);
        } else if bad {
            worse.push(m.name);
        }
    }
    let verdict = match (better.is_empty(), worse.is_empty()) {
        (false, true) => "working",
        (false, false) => "mixed",
        (true, false) => "not_working",
        (true, true) => "unclear",
    };
    Verdict {
        verdict,
        better,
        worse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(start: &str, baseline: &str) -> PilotSettings {
        PilotSettings {
            start: start.into(),
            baseline: baseline.into(),
            ..PilotSettings::default()
        }
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn the_playbook_phases_fall_on_the_right_days() {
        let p = PilotPlan::new(&settings("2026-05-04", "2026-03-02..2026-05-04")).unwrap();
        // Day 1 is 4 May; day 31 is 3 June (4 May + 30 days); day 61 is 3 July; day 81 is
        // 23 July; the pilot ends after day 90, 1 August (the first day after: 2 August).
        let names: Vec<(&str, String, String)> = p
            .phases
            .iter()
            .map(|x| (x.name.as_str(), x.from.to_string(), x.to.to_string()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("Handoff redesign", "2026-05-04".into(), "2026-06-03".into()),
                (
                    "AI inserted per intent",
                    "2026-06-03".into(),
                    "2026-07-03".into()
                ),
                ("Gates hardened", "2026-07-03".into(), "2026-07-23".into()),
                ("Budget review", "2026-07-23".into(), "2026-08-02".into()),
            ]
        );
        let s = p.standing(d("2026-05-04"));
        assert_eq!((s.day, s.status), (1, "running"));
        assert_eq!(s.phase.unwrap().name, "Handoff redesign");
        let s = p.standing(d("2026-06-03"));
        assert_eq!(
            (s.day, s.phase.unwrap().name.as_str()),
            (31, "AI inserted per intent")
        );
        let s = p.standing(d("2026-08-01"));
        assert_eq!(
            (s.day, s.phase.unwrap().name.as_str()),
            (90, "Budget review")
        );
        let s = p.standing(d("2026-08-02"));
        assert_eq!((s.day, s.status, s.phase), (91, "done", None));
        let s = p.standing(d("2026-05-01"));
        assert_eq!((s.day, s.status), (-2, "before"));
        // The periods: 2 March–4 May; the pilot on day 31 runs to the end of 3 June.
        let day = 86_400_000;
        let b = p.baseline_period();
        assert_eq!((b.to_ms - b.from_ms) / day, 63);
        let q = p.pilot_period(d("2026-06-03")).unwrap();
        assert_eq!((q.from_ms, (q.to_ms - q.from_ms) / day), (b.to_ms, 31));
        assert_eq!(
            p.pilot_period(d("2026-12-01")).unwrap().to_ms - q.from_ms,
            90 * day
        );
        assert_eq!(p.pilot_period(d("2026-05-03")), None);
    }

    fn measure(name: &'static str, ci: Option<(f64, f64)>) -> crate::compare::Measure {
        crate::compare::Measure {
            name,
            unit: "s",
            better: crate::compare::Better::Lower,
            baseline: Some(1.0),
            pilot: Some(1.0),
            difference: Some(0.0),
            ci95: ci,
            adjusted: None,
        }
    }

    #[test]
    fn the_verdict_reads_the_three_intervals() {
        let c = |m: Vec<crate::compare::Measure>| crate::Compare {
            baseline: crate::Period {
                from_ms: 0,
                to_ms: 1,
            },
            pilot: crate::Period {
                from_ms: 1,
                to_ms: 2,
            },
            baseline_cases: 10,
            pilot_cases: 10,
            baseline_open: 0,
            pilot_open: 0,
            resamples: 100,
            by: None,
            measures: m,
            cycle_time_rank_test: None,
            segments: vec![],
            notes: vec![],
        };
        // Cycle time down (interval below zero), the rates unclear: working.
        let v = verdict(&c(vec![
            measure("cycle_time_p50", Some((-9.0, -1.0))),
            measure("reopen_rate", Some((-0.01, 0.02))),
            measure("escalation_rate", None),
        ]));
        assert_eq!(
            (v.verdict, v.better, v.worse),
            ("working", vec!["cycle_time_p50"], vec![])
        );
        // Escalations up as well: mixed.
        let v = verdict(&c(vec![
            measure("cycle_time_p50", Some((-9.0, -1.0))),
            measure("escalation_rate", Some((0.01, 0.05))),
        ]));
        assert_eq!((v.verdict, v.worse), ("mixed", vec!["escalation_rate"]));
        // Only worse: not working; nothing excludes zero: unclear. A mix-adjusted interval
        // wins over the raw one.
        let mut m = measure("cycle_time_p50", Some((-9.0, -1.0)));
        m.adjusted = Some(crate::compare::Adjusted {
            pilot: Some(1.0),
            difference: Some(2.0),
            ci95: Some((1.0, 3.0)),
        });
        assert_eq!(verdict(&c(vec![m])).verdict, "not_working");
        assert_eq!(
            verdict(&c(vec![measure("cycle_time_p50", Some((-1.0, 1.0)))])).verdict,
            "unclear"
        );
        // Unrelated measures are not read.
        assert_eq!(
            verdict(&c(vec![measure("touch_time_mean", Some((-9.0, -1.0)))])).verdict,
            "unclear"
        );
    }

    #[test]
    fn a_bad_plan_names_the_field() {
        let bad = |s: PilotSettings| PilotPlan::new(&s).unwrap_err().field;
        assert_eq!(bad(settings("4 May", "2026-03-02..2026-05-04")), "start");
        assert_eq!(bad(settings("2026-05-04", "2026-03-02")), "baseline");
        // A baseline running into the pilot.
        assert_eq!(
            bad(settings("2026-05-04", "2026-03-02..2026-05-10")),
            "baseline"
        );
        let mut s = settings("2026-05-04", "2026-03-02..2026-05-04");
        s.phases = vec![
            PhaseSettings {
                name: "a".into(),
                from: "2026-05-04".into(),
                to: "2026-06-01".into(),
                intents: vec![],
            },
            PhaseSettings {
                name: "b".into(),
                from: "2026-05-20".into(),
                to: "2026-06-10".into(),
                intents: vec!["password_reset".into()],
            },
        ];
        assert_eq!(bad(s.clone()), "phases[1] (b)");
        s.phases[1].from = "2026-06-01".into();
        let p = PilotPlan::new(&s).unwrap();
        assert_eq!(
            p.standing(d("2026-06-05")).phase.unwrap().intents,
            vec!["password_reset"]
        );
        // Between phases: running, no phase.
        assert_eq!(p.standing(d("2026-06-20")).phase, None);
        s.phases[1].to = "2026-09-10".into();
        assert_eq!(bad(s), "phases[1] (b)");
    }
}
