//! Alerts: a headline figure of the latest week past the limit the team set (`[alerts]` in
//! `flowgate.toml`). A figure that is unknown (no resolved case, no review) raises none.

use serde::{Deserialize, Serialize};

use crate::scorecard::WeekCard;

/// `[alerts]`: the limits; a missing one is not watched.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AlertLimits {
    /// Cycle time p50 above this many hours.
    pub cycle_time_p50_hours: Option<f64>,
    /// Cycle time p85 above this many hours.
    pub cycle_time_p85_hours: Option<f64>,
    /// Quality defects per 100 resolved above this.
    pub defects_per_100: Option<f64>,
    /// Escalation rate (0–1) above this.
    pub escalation_rate: Option<f64>,
    /// Backlog days (work in progress over daily throughput) above this.
    pub backlog_days: Option<f64>,
    /// The week's reviewed precision (0–1) below this.
    pub reviewed_precision: Option<f64>,
}

/// One figure past its limit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// `cycle_time_p50`, `cycle_time_p85`, `defects_per_100`, `escalation_rate`,
    /// `backlog_days`, `reviewed_precision`.
    pub figure: &'static str,
    pub value: f64,
    pub limit: f64,
    pub message: String,
}

impl AlertLimits {
    /// Every figure past its limit: `week` (the headline week), the backlog days now and the
    /// week's reviewed precision, where known.
    pub fn check(
        &self,
        week: Option<&WeekCard>,
        backlog_days: Option<f64>,
        reviewed_precision: Option<f64>,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        // `below`: the figure alerts under its limit rather than over it.
        let mut check = |figure: &'static str,
                         value: Option<f64>,
                         limit: Option<f64>,
                         below: bool,
                         text: &dyn Fn(f64, f64) -> String| {
            if let (Some(v), Some(l)) = (value, limit)
                && (if below { v < l } else { v > l })
            {
                out.push(Alert {
                    figure,
                    value: v,
                    limit: l,
                    message: text(v, l),
                });
            }
        };
        let hours = |s: Option<f64>| s.map(|s| s / 3600.0);
        let w = |f: fn(&WeekCard) -> Option<f64>| week.and_then(f);
        check(
            "cycle_time_p50",
            hours(w(|w| w.cycle_time_p50_s)),
            self.cycle_time_p50_hours,
            false,
            &|v, l| format!("cycle time p50 is {v:.1} h, above the {l:.1} h limit"),
        );
        check(
            "cycle_time_p85",
            hours(w(|w| w.cycle_time_p85_s)),
            self.cycle_time_p85_hours,
            false,
            &|v, l| format!("cycle time p85 is {v:.1} h, above the {l:.1} h limit"),
        );
        check(
            "defects_per_100",
            w(|w| w.defects_per_100),
            self.defects_per_100,
            false,
            &|v, l| format!("{v:.1} quality defects per 100 resolved, above the limit of {l:.1}"),
        );
        check(
            "escalation_rate",
            w(|w| w.escalation_rate),
            self.escalation_rate,
            false,
            &|v, l| {
                format!(
                    "escalation rate is {:.1}%, above the {:.1}% limit",
                    v * 100.0,
                    l * 100.0
                )
            },
        );
        check(
            "backlog_days",
            backlog_days,
            self.backlog_days,
            false,
            &|v, l| format!("{v:.1} days of backlog, above the {l:.1}-day limit"),
        );
        check(
            "reviewed_precision",
            reviewed_precision,
            self.reviewed_precision,
            true,
            &|v, l| {
                format!(
                    "reviewed precision is {:.1}%, below the {:.1}% floor",
                    v * 100.0,
                    l * 100.0
                )
            },
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week() -> WeekCard {
        WeekCard {
            week: "2026-W48".into(),
            start_ms: 0,
            resolved: 200,
            cycle_time_p50_s: Some(30.0 * 3600.0),
            cycle_time_p85_s: Some(70.0 * 3600.0),
            reopens: 6,
            reviewed_defects: 2,
            defects_per_100: Some(4.0),
            escalated: 30,
            escalation_rate: Some(0.15),
            provisional: false,
        }
    }

    #[test]
    fn only_figures_past_their_limits_alert() {
        let limits = AlertLimits {
            cycle_time_p50_hours: Some(24.0),
            cycle_time_p85_hours: Some(72.0),
            defects_per_100: Some(4.0),
            escalation_rate: Some(0.10),
            backlog_days: Some(5.0),
            reviewed_precision: Some(0.95),
        };
        let a = limits.check(Some(&week()), Some(3.0), Some(0.90));
        let figures: Vec<&str> = a.iter().map(|a| a.figure).collect();
        // p50 30 h > 24; p85 70 ≤ 72; 4.0 defects is not above 4.0; 15% > 10%; 3 ≤ 5 days;
        // 90% precision < 95%.
        assert_eq!(
            figures,
            vec!["cycle_time_p50", "escalation_rate", "reviewed_precision"]
        );
        assert_eq!((a[0].value, a[0].limit), (30.0, 24.0));
        assert_eq!((a[2].value, a[2].limit), (0.90, 0.95));
        assert_eq!(
            a[2].message,
            "reviewed precision is 90.0%, below the 95.0% floor"
        );
        // Unknown figures and no limits: nothing.
        assert!(limits.check(None, None, None).is_empty());
        assert!(
            AlertLimits::default()
                .check(Some(&week()), Some(99.0), Some(0.1))
                .is_empty()
        );
    }
}
