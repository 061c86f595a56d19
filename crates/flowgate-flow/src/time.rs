//! Calendar arithmetic on UTC milliseconds (proleptic Gregorian), without IO or time zones.

pub const MS_PER_DAY: i64 = 86_400_000;
pub const MS_PER_WEEK: i64 = 7 * MS_PER_DAY;

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Start (Monday 00:00 UTC) of the ISO week containing `ms`.
pub fn week_start(ms: i64) -> i64 {
    let days = ms.div_euclid(MS_PER_DAY);
    // 1970-01-01 was a Thursday: weekday 0 = Monday.
    let weekday = (days + 3).rem_euclid(7);
    (days - weekday) * MS_PER_DAY
}

/// Start (00:00 UTC) of the day containing `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY) * MS_PER_DAY
}

/// ISO 8601 week label such as `2012-W41` for the week containing `ms`.
pub fn iso_week_label(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let weekday = (days + 3).rem_euclid(7); // Monday = 0
    let thursday = days - weekday + 3;
    let (year, _, _) = civil_from_days(thursday);
    let jan1 = days_from_civil(year, 1, 1);
    let week = (thursday - jan1) / 7 + 1;
    format!("{year}-W{week:02}")
}

/// `YYYY-MM-DD{sep}HH:MM:SS` of a UTC instant, and its milliseconds.
fn civil_text(ms: i64, sep: char) -> (String, i64) {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let s = rem / 1000;
    let (y, m, d) = civil_from_days(days);
    let text = format!(
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
    (text, rem % 1000)
}

/// RFC 3339 text in UTC, seconds precision (`2012-10-09T14:50:17Z`).
pub fn format_utc(ms: i64) -> String {
    format!("{}Z", civil_text(ms, 'T').0)
}

/// RFC 3339 text in UTC with milliseconds (`2012-10-09T14:50:17.250Z`).
pub fn format_utc_ms(ms: i64) -> String {
    let (text, frac) = civil_text(ms, 'T');
    format!("{text}.{frac:03}Z")
}

/// Naive `2012-10-09 14:50:17` (UTC, no zone), the form most exports use.
pub fn format_naive(ms: i64) -> String {
    civil_text(ms, ' ').0
}

/// `YYYY-MM-DD` of the UTC day containing `ms`.
pub fn format_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 15_000, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn iso_weeks_match_the_calendar() {
        // 2021-01-03 is a Sunday in 2020-W53; 2021-01-04 starts 2021-W01.
        let d = |y, m, d| days_from_civil(y, m, d) * MS_PER_DAY;
        assert_eq!(iso_week_label(d(2021, 1, 3)), "2020-W53");
        assert_eq!(iso_week_label(d(2021, 1, 4)), "2021-W01");
        assert_eq!(iso_week_label(d(2026, 11, 25)), "2026-W48");
        assert_eq!(week_start(d(2026, 11, 25) + 5000), d(2026, 11, 23));
        assert_eq!(
            format_utc(d(2012, 10, 9) + 53_417_000),
            "2012-10-09T14:50:17Z"
        );
    }
}
