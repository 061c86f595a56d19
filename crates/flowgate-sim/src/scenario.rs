//! The what-if scenario file (TOML). Every key is optional: an empty file is the baseline.
//!
//! ```toml
//! replications = 20
//! seed = 1
//! days = 90                    # default: the log's span
//! ai_handle_minutes = 2        # time the AI takes on a case it handles
//! reopen_delay_hours = 24      # a wrong AI answer comes back as a reopen after this
//! capacity_scale = 1.0         # multiplies every inferred team capacity
//!
//! [arrivals]
//! scale = 1.0                  # multiplies the fitted arrival rate
//! [[arrivals.spikes]]
//! factor = 2.0                 # ×2 arrivals …
//! start_day = 10               # … from day 10 (0-based) …
//! days = 3                     # … for 3 days
//!
//! [[ai]]                       # the AI takes a share of one intent ("*" = every intent)
//! intent = "password_reset"
//! share = 0.6
//! precision = 0.98             # the rest come back as reopens
//!
//! [[merge]]                    # one team: handoffs between them (and their waits) vanish
//! teams = ["L1", "L2"]
//!
//! [staffing]                   # cases a team works at once, all day
//! L1 = 5
//!
//! [[shifts]]                   # a team with shifts has no one on outside them
//! team = "L1"
//! from_hour = 8                # UTC, inclusive
//! to_hour = 18                 # exclusive
//! weekdays = ["mon", "tue", "wed", "thu", "fri"]   # default: every day
//! agents = 6
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub replications: Option<usize>,
    pub seed: Option<u64>,
    pub days: Option<u32>,
    pub ai_handle_minutes: Option<f64>,
    pub reopen_delay_hours: Option<f64>,
    pub capacity_scale: Option<f64>,
    #[serde(default)]
    pub arrivals: Arrivals,
    #[serde(default)]
    pub ai: Vec<AiShare>,
    #[serde(default)]
    pub merge: Vec<Merge>,
    #[serde(default)]
    pub staffing: BTreeMap<String, f64>,
    #[serde(default)]
    pub shifts: Vec<Shift>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    pub scale: Option<f64>,
    #[serde(default)]
    pub spikes: Vec<Spike>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Spike {
    pub factor: f64,
    pub start_day: u32,
    pub days: u32,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AiShare {
    pub intent: String,
    pub share: f64,
    pub precision: f64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    pub teams: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub team: String,
    pub from_hour: u32,
    pub to_hour: u32,
    #[serde(default)]
    pub weekdays: Vec<String>,
    pub agents: f64,
}

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Scenario {
    /// Parses and checks a scenario; `path` names the file in errors (with the line).
    pub fn parse(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid {
            path: path.to_owned(),
            message,
        };
        let s: Scenario = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|sp| {
                    let line = text[..sp.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            invalid(format!("{at}{}", e.message()))
        })?;
        let share = |what: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "{what}: expected a share between 0 and 1, found {v}"
                )))
            }
        };
        let nonneg = |what: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(invalid(format!("{what}: expected a number ≥ 0, found {v}")))
            }
        };
        for a in &s.ai {
            share(&format!("ai intent {:?}: share", a.intent), a.share)?;
            share(&format!("ai intent {:?}: precision", a.intent), a.precision)?;
        }
        for (k, v) in [
            ("ai_handle_minutes", s.ai_handle_minutes),
            ("reopen_delay_hours", s.reopen_delay_hours),
            ("capacity_scale", s.capacity_scale),
            ("arrivals.scale", s.arrivals.scale),
        ] {
            if let Some(v) = v {
                nonneg(k, v)?;
            }
        }
        for sp in &s.arrivals.spikes {
            nonneg("arrivals.spikes: factor", sp.factor)?;
        }
        for (team, &v) in &s.staffing {
            nonneg(&format!("staffing.{team}"), v)?;
        }
        for sh in &s.shifts {
            if sh.from_hour >= 24 || sh.to_hour > 24 || sh.from_hour >= sh.to_hour {
                return Err(invalid(format!(
                    "shifts for team {:?}: expected 0 ≤ from_hour < to_hour ≤ 24, found {}..{}",
                    sh.team, sh.from_hour, sh.to_hour
                )));
            }
            for d in &sh.weekdays {
                if !WEEKDAYS.contains(&d.to_ascii_lowercase().as_str()) {
                    return Err(invalid(format!(
                        "shifts for team {:?}: weekday {d:?}: expected one of {}",
                        sh.team,
                        WEEKDAYS.join(", ")
                    )));
                }
            }
            nonneg(&format!("shifts for team {:?}: agents", sh.team), sh.agents)?;
        }
        for m in &s.merge {
            if m.teams.len() < 2 {
                return Err(invalid("merge: expected at least two teams".to_owned()));
            }
        }
        if s.replications == Some(0) {
            return Err(invalid("replications: expected at least 1".to_owned()));
        }
        Ok(s)
    }

    /// Names the scenario refers to that the model does not know (teams, intents), so a typo
    /// fails loudly instead of changing nothing.
    pub fn unknown_names(&self, teams: &[String], intents: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let team_known = |t: &String| teams.contains(t);
        for t in self
            .merge
            .iter()
            .flat_map(|m| &m.teams)
            .chain(self.staffing.keys())
            .chain(self.shifts.iter().map(|s| &s.team))
        {
            if !team_known(t) {
                out.push(format!("team {t:?}"));
            }
        }
        for a in &self.ai {
            if a.intent != "*" && !intents.contains(&a.intent) {
                out.push(format!("intent {:?}", a.intent));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}
