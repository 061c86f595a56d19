//! Business-hours calendars: a time zone, working hours per weekday, holidays (dates or an
//! iCalendar file), optional calendars per team, and the states that pause SLA clocks.
//! [`Calendar::business_time`] turns them into UTC working intervals
//! ([`flowgate_flow::BusinessTime`]) for the span of a log; the metric core never sees a zone.

use std::collections::BTreeMap;
use std::path::Path;

use flowgate_flow::{BusinessTime, State, WorkingTime};
use serde::{Deserialize, Serialize};

use crate::error::{IngestError, Result};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MS_PER_DAY: i64 = 86_400_000;

/// `[calendar]` in a mapping or in `flowgate.toml`; `[calendar.teams.NAME]` for a team whose
/// hours or zone differ (what it leaves out comes from the default calendar; its holidays
/// are added to the default's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// IANA zone (`Europe/Berlin`), `UTC` or a fixed offset (`+01:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Working hours per weekday (`mon` … `sun`): `"09:00-17:00"`, several ranges separated
    /// by commas, `"00:00-24:00"` for the whole day. A day not listed is not worked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<BTreeMap<String, String>>,
    /// Days off, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    /// Days off from an iCalendar file (all-day `VEVENT`s), relative to the file that names
    /// it; read when the mapping or settings are loaded and kept as `holidays`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays_ical: Option<String>,
    /// SLA clocks stop while a case is in one of these states (e.g. `["waiting_customer"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pause_on: Vec<State>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, Calendar>,
}

/// Minutes after local midnight: a day's working ranges.
type Ranges = Vec<(u32, u32)>;

fn parse_ranges(text: &str) -> std::result::Result<Ranges, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part
            .split_once('-')
            .ok_or_else(|| format!("{part:?}: expected HH:MM-HH:MM"))?;
        let minutes = |t: &str| -> std::result::Result<u32, String> {
            let (h, m) = t
                .trim()
                .split_once(':')
                .ok_or_else(|| format!("{t:?}: expected HH:MM"))?;
            let (h, m): (u32, u32) = (
                h.parse().map_err(|_| format!("{t:?}: expected HH:MM"))?,
                m.parse().map_err(|_| format!("{t:?}: expected HH:MM"))?,
            );
            if m > 59 || h > 24 || (h == 24 && m > 0) {
                return Err(format!("{t:?}: not a time of day"));
            }
            Ok(h * 60 + m)
        };
        let (a, b) = (minutes(a)?, minutes(b)?);
        if b <= a {
            return Err(format!("{part:?}: the range ends before it starts"));
        }
        out.push((a, b));
    }
    Ok(out)
}

fn parse_date(s: &str) -> Option<jiff::civil::Date> {
    s.trim().parse::<jiff::civil::Date>().ok()
}

/// All-day events of an iCalendar text, as dates (`DTEND` exclusive, as RFC 5545 says).
pub fn ical_dates(text: &str) -> std::result::Result<Vec<String>, String> {
    // Unfold continuation lines (a line starting with a space or tab continues the last).
    let mut lines: Vec<String> = Vec::new();
    for raw in text.lines() {
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push_str(rest);
        } else {
            lines.push(raw.trim_end().to_owned());
        }
    }
    let date_of = |line: &str| -> std::result::Result<jiff::civil::Date, String> {
        let value = line.rsplit(':').next().unwrap_or_default();
        let d = value.get(..8).unwrap_or_default();
        let iso = format!(
            "{}-{}-{}",
            d.get(..4).unwrap_or(""),
            d.get(4..6).unwrap_or(""),
            d.get(6..8).unwrap_or("")
        );
        parse_date(&iso).ok_or_else(|| format!("{line:?}: expected a date YYYYMMDD"))
    };
    let mut out = Vec::new();
    let (mut start, mut end): (Option<jiff::civil::Date>, Option<jiff::civil::Date>) = (None, None);
    let mut in_event = false;
    for line in &lines {
        let upper = line.to_ascii_uppercase();
        if upper == "BEGIN:VEVENT" {
            in_event = true;
            (start, end) = (None, None);
        } else if upper == "END:VEVENT" {
            in_event = false;
            let Some(s) = start else {
                return Err("a VEVENT without DTSTART".into());
            };
            let e = end.unwrap_or_else(|| s.tomorrow().unwrap_or(s));
            let mut d: jiff::civil::Date = s;
            while d < e {
                out.push(d.to_string());
                d = match d.tomorrow() {
                    Ok(n) => n,
                    Err(_) => break,
                };
            }
        } else if in_event && (upper.starts_with("DTSTART:") || upper.starts_with("DTSTART;")) {
            start = Some(date_of(line)?);
        } else if in_event && (upper.starts_with("DTEND:") || upper.starts_with("DTEND;")) {
            end = Some(date_of(line)?);
        }
    }
    Ok(out)
}

/// One calendar, resolved: zone, ranges per weekday (Monday first), holidays.
struct Resolved {
    zone: jiff::tz::TimeZone,
    days: [Ranges; 7],
    holidays: std::collections::BTreeSet<jiff::civil::Date>,
}

impl Resolved {
    fn working_time(&self, from_ms: i64, to_ms: i64) -> WorkingTime {
        let local = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .map(|t| t.to_zoned(self.zone.clone()).date())
                .ok()
        };
        let (Some(mut day), Some(last)) = (
            local(from_ms - MS_PER_DAY),
            local(to_ms.saturating_add(MS_PER_DAY)),
        ) else {
            return WorkingTime::default();
        };
        let mut intervals = Vec::new();
        while day <= last {
            let wd = day.weekday().to_monday_zero_offset() as usize;
            if !self.holidays.contains(&day) {
                for &(a, b) in &self.days[wd] {
                    let at = |m: u32| -> Option<i64> {
                        let base = day.to_datetime(jiff::civil::Time::midnight());
                        let dt = base.checked_add(jiff::Span::new().minutes(m as i64)).ok()?;
                        self.zone
                            .to_zoned(dt)
                            .ok()
                            .map(|z| z.timestamp().as_millisecond())
                    };
                    if let (Some(s), Some(e)) = (at(a), at(b)) {
                        intervals.push((s, e));
                    }
                }
            }
            day = match day.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        WorkingTime::new(intervals)
    }
}

impl Calendar {
    /// Checks zones, hours, holidays and team calendars; `origin` names the file in errors.
    pub fn validate(&self, origin: &str) -> Result<()> {
        self.resolve(None)
            .map(|_| ())
            .map_err(|message| IngestError::Mapping {
                origin: origin.to_owned(),
                message: format!("calendar: {message}"),
            })?;
        for (team, c) in &self.teams {
            if !c.teams.is_empty() || !c.pause_on.is_empty() {
                return Err(IngestError::Mapping {
                    origin: origin.to_owned(),
                    message: format!(
                        "calendar.teams.{team}: a team calendar has no teams or pause_on of its own"
                    ),
                });
            }
            c.resolve(Some(self))
                .map_err(|message| IngestError::Mapping {
                    origin: origin.to_owned(),
                    message: format!("calendar.teams.{team}: {message}"),
                })?;
        }
        Ok(())
    }

    fn resolve(&self, parent: Option<&Calendar>) -> std::result::Result<Resolved, String> {
        let tz = self
            .timezone
            .as_deref()
            .or(parent.and_then(|p| p.timezone.as_deref()))
            .ok_or("timezone is required (an IANA name such as Europe/Berlin, or UTC)")?;
        let zone = match crate::timestamp::Zone::parse(tz)? {
            crate::timestamp::Zone::Utc => jiff::tz::TimeZone::UTC,
            crate::timestamp::Zone::Fixed(secs) => jiff::tz::TimeZone::fixed(
                jiff::tz::Offset::from_seconds(secs as i32).map_err(|e| e.to_string())?,
            ),
            crate::timestamp::Zone::Named(z) => z,
        };
        let hours = self
            .hours
            .as_ref()
            .or(parent.and_then(|p| p.hours.as_ref()))
            .ok_or("hours is required (e.g. hours = { mon = \"09:00-17:00\", … })")?;
        let mut days: [Ranges; 7] = Default::default();
        for (k, v) in hours {
            let i = DAYS
                .iter()
                .position(|d| d == &k.to_ascii_lowercase().as_str())
                .ok_or_else(|| format!("hours.{k}: expected one of {}", DAYS.join(", ")))?;
            days[i] = parse_ranges(v).map_err(|e| format!("hours.{k}: {e}"))?;
        }
        let mut holidays = std::collections::BTreeSet::new();
        for h in self
            .holidays
            .iter()
            .chain(parent.map(|p| p.holidays.as_slice()).unwrap_or_default())
        {
            holidays.insert(
                parse_date(h).ok_or_else(|| format!("holidays: {h:?} is not a date YYYY-MM-DD"))?,
            );
        }
        Ok(Resolved {
            zone,
            days,
            holidays,
        })
    }

    /// Reads `holidays_ical` (relative to `base`, the folder of the file that names it) into
    /// `holidays`, here and in team calendars.
    pub fn inline_ical(&mut self, base: &Path) -> Result<()> {
        inline_one(self, base)?;
        for c in self.teams.values_mut() {
            inline_one(c, base)?;
        }
        Ok(())
    }

    /// The working intervals over `[from_ms, to_ms]` (a day more on each side), per team too.
    pub fn business_time(&self, from_ms: i64, to_ms: i64) -> Result<BusinessTime> {
        let bad = |message: String| IngestError::Mapping {
            origin: "calendar".into(),
            message,
        };
        let default = self.resolve(None).map_err(bad)?;
        let mut teams = rustc_hash::FxHashMap::default();
        for (name, c) in &self.teams {
            let r = c.resolve(Some(self)).map_err(bad)?;
            teams.insert(name.clone(), r.working_time(from_ms, to_ms));
        }
        Ok(BusinessTime {
            name: self.timezone.clone().unwrap_or_default(),
            default: default.working_time(from_ms, to_ms),
            teams,
            pause_on: self.pause_on.clone(),
        })
    }
}

fn inline_one(c: &mut Calendar, base: &Path) -> Result<()> {
    let Some(file) = c.holidays_ical.take() else {
        return Ok(());
    };
    let path = base.join(&file);
    let text = std::fs::read_to_string(&path).map_err(|e| IngestError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let dates = ical_dates(&text).map_err(|message| IngestError::Mapping {
        origin: path.display().to_string(),
        message,
    })?;
    c.holidays.extend(dates);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_all_day_events() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2027\r\n 0101\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(
            ical_dates(ics).unwrap(),
            vec!["2026-12-25", "2026-12-26", "2027-01-01"]
        );
        assert!(ical_dates("BEGIN:VEVENT\nDTSTART:2026xx01\nEND:VEVENT\n").is_err());
    }

    #[test]
    fn ranges_are_checked() {
        assert_eq!(
            parse_ranges("09:00-12:00, 13:00-17:30").unwrap(),
            vec![(540, 720), (780, 1050)]
        );
        assert_eq!(parse_ranges("00:00-24:00").unwrap(), vec![(0, 1440)]);
        assert!(parse_ranges("17:00-09:00").is_err());
        assert!(parse_ranges("9-17").is_err());
        assert!(parse_ranges("09:00-25:00").is_err());
    }
}
