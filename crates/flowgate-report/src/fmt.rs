//! Human-readable numbers.

/// `3d 4h`, `5h 12m`, `42m`, `17s`: two units at most.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "–".into();
    }
    let neg = seconds < 0.0;
    let s = seconds.abs().round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let body = if d >= 1 {
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

/// Thousands separated with a thin space-free comma: 21,221.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
        assert_eq!(count(21_221), "21,221");
        assert_eq!(count(999), "999");
        assert_eq!(pct(Some(0.0331)), "3.3%");
    }
}
