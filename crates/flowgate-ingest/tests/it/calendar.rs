//! Business-hours calendars, by hand: a weekend, holidays (dates and iCalendar), a DST change
//! in Europe/Berlin, a team in another zone, and an SLA clock paused while waiting on the
//! customer. Every expected figure is worked out in the comment above it.

use flowgate_flow::{BaselineOptions, baseline};
use flowgate_ingest::{Mapping, ReadOptions, read_log};

use crate::temp_file;

const H: f64 = 3600.0;

/// The mapping's columns and states, then `extra` (a `[calendar]`, an `[sla]`).
fn mapping(extra: &str) -> Mapping {
    let text = format!(
        "name = \"cal\"\n[columns]\ncase = \"case\"\nactivity = \"activity\"\ntimestamp = \"time\"\nteam = \"team\"\n[states]\nnew = [\"open\"]\nworking = [\"work\"]\nwaiting_customer = [\"ask\"]\nresolved = [\"done\"]\n{extra}"
    );
    Mapping::from_toml(&text, "test mapping").unwrap()
}

/// The business figures of `csv` read with `m`.
fn business(name: &str, csv: &str, m: Mapping) -> flowgate_flow::BusinessFigures {
    let p = temp_file(name, csv.as_bytes());
    let got = read_log(
        &p,
        &ReadOptions {
            mapping: Some(m),
            ..Default::default()
        },
    )
    .unwrap();
    let mut opts = BaselineOptions::new();
    opts.sla = got.mapping.sla_config();
    let (lo, hi) = got.log.span().unwrap();
    opts.business = Some(
        got.mapping
            .calendar
            .as_ref()
            .unwrap()
            .business_time(lo, hi)
            .unwrap(),
    );
    baseline(&got.log, &opts).business.unwrap()
}

const WEEKDAYS_UTC: &str = "[calendar]\ntimezone = \"UTC\"\nhours = { mon = \"09:00-17:00\", tue = \"09:00-17:00\", wed = \"09:00-17:00\", thu = \"09:00-17:00\", fri = \"09:00-17:00\" }\n";

/// Friday 6 March 2026 16:00 UTC to Monday 9 March 10:00: one hour on Friday, one on Monday
/// (66 calendar hours).
#[test]
fn a_weekend_is_not_worked() {
    let csv =
        "case,activity,time,team\nA,open,2026-03-06T16:00:00Z,\nA,done,2026-03-09T10:00:00Z,\n";
    let b = business("weekend.csv", csv, mapping(WEEKDAYS_UTC));
    assert_eq!(b.cycle_time_s.p50, Some(2.0 * H));
}

/// Wednesday 23 December 2026 16:00 UTC to Monday 28 December 10:00, with the 24th and 25th
/// off: Wednesday 1 h + Monday 1 h. Without the holidays, Thursday and Friday add 16 h.
/// The same days from an iCalendar file.
#[test]
fn holidays_are_not_worked() {
    let csv =
        "case,activity,time,team\nA,open,2026-12-23T16:00:00Z,\nA,done,2026-12-28T10:00:00Z,\n";
    let plain = business("xmas0.csv", csv, mapping(WEEKDAYS_UTC));
    assert_eq!(plain.cycle_time_s.p50, Some(18.0 * H));
    let dated = format!("{WEEKDAYS_UTC}holidays = [\"2026-12-24\", \"2026-12-25\"]\n");
    let b = business("xmas1.csv", csv, mapping(&dated));
    assert_eq!(b.cycle_time_s.p50, Some(2.0 * H));

    let ics = temp_file(
        "holidays.ics",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas Eve and Day\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261226\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    let toml = format!(
        "name = \"cal\"\n[columns]\ncase = \"case\"\nactivity = \"activity\"\ntimestamp = \"time\"\n[states]\nnew = [\"open\"]\nresolved = [\"done\"]\n{WEEKDAYS_UTC}holidays_ical = \"{}\"\n",
        ics.file_name().unwrap().to_str().unwrap()
    );
    let file = ics.with_file_name("with-ical.toml");
    std::fs::write(&file, toml).unwrap();
    let m = Mapping::from_file(&file).unwrap();
    assert_eq!(
        m.calendar.as_ref().unwrap().holidays,
        vec!["2026-12-24", "2026-12-25"]
    );
    let b = business("xmas2.csv", csv, m);
    assert_eq!(b.cycle_time_s.p50, Some(2.0 * H));
}

/// Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026. Friday 27 March 16:00 local
/// (15:00 UTC) to Monday 30 March 10:00 local (08:00 UTC), hours 09–17 local: Friday 1 h +
/// Monday 1 h. A fixed +01:00 would put Monday's 09:00 at 08:00 UTC and count Monday as 0.
#[test]
fn berlin_s_dst_change_moves_the_working_day() {
    let csv =
        "case,activity,time,team\nA,open,2026-03-27T15:00:00Z,\nA,done,2026-03-30T08:00:00Z,\n";
    let berlin = WEEKDAYS_UTC.replace("\"UTC\"", "\"Europe/Berlin\"");
    let b = business("dst.csv", csv, mapping(&berlin));
    assert_eq!(b.cycle_time_s.p50, Some(2.0 * H));
    assert_eq!(b.calendar, "Europe/Berlin");
    let fixed = WEEKDAYS_UTC.replace("\"UTC\"", "\"+01:00\"");
    let b = business("dst-fixed.csv", csv, mapping(&fixed));
    assert_eq!(b.cycle_time_s.p50, Some(1.0 * H));
}

/// Team NY works 09–17 New York time (UTC−5 on 2 March 2026); everyone else 09–17 UTC.
/// Case A is NY's from 13:00 to 15:00 UTC (08:00–10:00 in New York): 1 h. Case B starts with
/// EU at 09:00 UTC, goes to NY at 12:00 and is resolved at 15:00: EU 09–12 (3 h) + NY
/// 12:00–15:00 UTC = 07:00–10:00 New York (1 h) = 4 h.
#[test]
fn a_team_in_another_zone_works_its_own_hours() {
    let csv = "case,activity,time,team\n\
               A,open,2026-03-02T13:00:00Z,NY\n\
               A,done,2026-03-02T15:00:00Z,NY\n\
               B,open,2026-03-02T09:00:00Z,EU\n\
               B,work,2026-03-02T12:00:00Z,NY\n\
               B,done,2026-03-02T15:00:00Z,NY\n";
    let cal = format!("{WEEKDAYS_UTC}[calendar.teams.NY]\ntimezone = \"America/New_York\"\n");
    let b = business("teams.csv", csv, mapping(&cal));
    assert_eq!(b.cycle_time_s.n, 2);
    assert_eq!(b.cycle_time_s.mean, Some(2.5 * H));
    assert_eq!(b.cycle_time_s.p50, Some(1.0 * H));
    // 4 h is the larger of the two: p85 and p95 (nearest rank 2 of 2).
    assert_eq!(b.cycle_time_s.p95, Some(4.0 * H));
}

/// Monday 2 March 2026 09:00 UTC opened, 10:00 waiting on the customer, Tuesday 09:00
/// worked, 10:30 resolved. Business cycle: Monday 09–17 (8 h) + Tuesday 09:00–10:30 (1.5 h)
/// = 9.5 h; touch 1.5 h, wait 1 h (new) + 7 h (waiting). The SLA clock paused while waiting:
/// 1 h + 1.5 h = 2.5 h, within a 3-hour resolution target; unpaused, 9.5 h misses it (and
/// the calendar-time SLA, 25.5 h, misses it too). First response (first work) on the paused
/// clock: 1 h, within 2 h.
#[test]
fn the_sla_clock_pauses_while_waiting_on_the_customer() {
    let csv = "case,activity,time,team,priority\n\
               A,open,2026-03-02T09:00:00Z,,high\n\
               A,ask,2026-03-02T10:00:00Z,,high\n\
               A,work,2026-03-03T09:00:00Z,,high\n\
               A,done,2026-03-03T10:30:00Z,,high\n";
    let sla = "[sla]\npriority = \"priority\"\ntargets.high = { first_response_hours = 2, resolution_hours = 3 }\n";
    let paused = format!("{WEEKDAYS_UTC}pause_on = [\"waiting_customer\"]\n{sla}");
    let b = business("pause.csv", csv, mapping(&paused));
    assert_eq!(b.cycle_time_s.p50, Some(9.5 * H));
    assert_eq!(b.touch_s, 1.5 * H);
    assert_eq!(b.wait_s, 8.0 * H);
    let s = b.sla.unwrap();
    assert_eq!(s.resolution_adherence, Some(1.0));
    assert_eq!(s.first_response_adherence, Some(1.0));
    // Unpaused: resolution 9.5 h > 3 h; first response 8 h (all of Monday) > 2 h.
    let unpaused = format!("{WEEKDAYS_UTC}{sla}");
    let b = business("nopause.csv", csv, mapping(&unpaused));
    let s = b.sla.unwrap();
    assert_eq!(s.resolution_adherence, Some(0.0));
    assert_eq!(s.first_response_adherence, Some(0.0));
}

/// Bad calendars are refused with the mapping's name and the key.
#[test]
fn bad_calendars_are_named() {
    let bad = |extra: &str| {
        let text =
            format!("[columns]\ncase = \"case\"\nactivity = \"a\"\ntimestamp = \"t\"\n{extra}");
        Mapping::from_toml(&text, "m.toml").unwrap_err().to_string()
    };
    let e = bad("[calendar]\ntimezone = \"Mars/Olympus\"\nhours = { mon = \"09:00-17:00\" }\n");
    assert!(e.contains("m.toml") && e.contains("Mars/Olympus"), "{e}");
    let e = bad("[calendar]\ntimezone = \"UTC\"\nhours = { monday = \"09:00-17:00\" }\n");
    assert!(e.contains("hours.monday"), "{e}");
    let e = bad("[calendar]\ntimezone = \"UTC\"\nhours = { mon = \"17:00-09:00\" }\n");
    assert!(e.contains("ends before it starts"), "{e}");
    let e = bad(
        "[calendar]\ntimezone = \"UTC\"\nhours = { mon = \"09:00-17:00\" }\nholidays = [\"25/12/2026\"]\n",
    );
    assert!(e.contains("holidays"), "{e}");
    let e = bad("[calendar]\nhours = { mon = \"09:00-17:00\" }\n");
    assert!(e.contains("timezone is required"), "{e}");
}
