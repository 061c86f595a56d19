//! Human-readable numbers, and the headline figures every format shows.

use flowgate_flow::Baseline;

/// `3d 4h`, `5h 12m`, `42m`, `17s`: two units at most.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "–".into();
    }
    let neg = seconds < 0.0;
    let s = seconds.abs().round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let body = if d >= 1000 {
        format!("{}d", count(d))
    } else if d >= 1 {
        if h > 0 {
            format!("{d}d {h}h")
        } else {
            format!("{d}d")
        }
    } else if h >= 1 {
        if m > 0 {
            format!("{h}h {m}m")
        } else {
            format!("{h}h")
        }
    } else if m >= 1 {
        format!("{m}m")
    } else {
        format!("{sec}s")
    };
    if neg { format!("-{body}") } else { body }
}

pub fn opt_duration(s: Option<f64>) -> String {
    s.map(duration).unwrap_or_else(|| "–".into())
}

pub fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// Thousands separated by commas: 21,221.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The headline figures, as (label, value, explanation) rows, shared by every format.
pub fn headline(b: &Baseline) -> Vec<(&'static str, String, &'static str)> {
    let ct = &b.cycle_time_s;
    let share = |n: u64| pct((b.cases > 0).then(|| n as f64 / b.cases as f64));
    vec![
        (
            "Cycle time",
            format!(
                "p50 {} · p85 {} · p95 {} · mean {}",
                opt_duration(ct.p50),
                opt_duration(ct.p85),
                opt_duration(ct.p95),
                opt_duration(ct.mean)
            ),
            "created → resolved, resolved cases",
        ),
        (
            "Flow efficiency",
            pct(b.flow_efficiency),
            "touch / (touch + wait) time",
        ),
        (
            "Reopen rate",
            pct(b.reopen_rate),
            "resolved cases reopened at least once",
        ),
        (
            "First-pass resolution",
            pct(b.first_pass_resolution_rate),
            "resolved with no reopen and no handoff",
        ),
        (
            "Handoffs",
            format!(
                "{:.3} per case · {} cases cross 3+ teams · {} ping-pong",
                b.handoffs.mean,
                count(b.handoffs.cases_3plus_teams),
                count(b.handoffs.ping_pong_cases)
            ),
            "team changes within a case",
        ),
        (
            "Escalated",
            format!(
                "{} cases ({})",
                count(b.escalated_cases),
                share(b.escalated_cases)
            ),
            "an event the preset marks as escalation",
        ),
        (
            "Rework",
            format!(
                "{} cases ({}) · repeat activity {} ({})",
                count(b.rework_cases),
                share(b.rework_cases),
                count(b.repeat_activity_cases),
                share(b.repeat_activity_cases)
            ),
            "reopen or ping-pong · an activity done twice",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(17.0), "17s");
        assert_eq!(duration(42.0 * 60.0), "42m");
        assert_eq!(duration(5.0 * 3600.0 + 12.0 * 60.0), "5h 12m");
        assert_eq!(duration(3.0 * 86_400.0 + 4.0 * 3600.0), "3d 4h");
        assert_eq!(duration(147_096.0 * 86_400.0), "147,096d");
        assert_eq!(count(21_221), "21,221");
        assert_eq!(count(999), "999");
        assert_eq!(pct(Some(0.0331)), "3.3%");
    }
}
