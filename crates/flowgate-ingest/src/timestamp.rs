//! Timestamp parsing: RFC 3339 with offsets, naive `YYYY/M/D H:MM:SS` (no zero padding),
//! `D/M/YYYY HH:MM`, ISO without zone, Unix epoch (seconds or milliseconds), or a
//! strftime format. Naive stamps take the configured zone. Output: UTC milliseconds.

use flowgate_flow::time::days_from_civil;
use rustc_hash::FxHashMap;

/// The zone naive timestamps are read in.
#[derive(Clone, Debug)]
pub enum Zone {
    Utc,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i64),
    Named(jiff::tz::TimeZone),
}

impl Zone {
    pub fn parse(s: &str) -> Result<Zone, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t.is_empty() {
            return Ok(Zone::Utc);
        }
        if let Some(off) = parse_offset(t.as_bytes()) {
            return Ok(Zone::Fixed(off));
        }
        jiff::tz::TimeZone::get(t)
            .map(Zone::Named)
            .map_err(|e| format!("unknown time zone {t:?}: {e}"))
    }
}

/// `+01:00`, `-0530`, `+02` → seconds east of UTC.
fn parse_offset(b: &[u8]) -> Option<i64> {
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: Vec<u8> = b[1..].iter().copied().filter(|c| *c != b':').collect();
    if !digits.iter().all(u8::is_ascii_digit) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let num = |s: &[u8]| s.iter().fold(0i64, |a, d| a * 10 + (d - b'0') as i64);
    let h = num(&digits[..2]);
    let m = if digits.len() == 4 {
        num(&digits[2..])
    } else {
        0
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// Parses timestamps, remembering the zone and caching named-zone offsets per local hour.
#[derive(Debug)]
pub struct TimestampParser {
    zone: Zone,
    format: Option<String>,
    offset_cache: FxHashMap<i64, i64>,
}

impl TimestampParser {
    pub fn new(zone: Zone, format: Option<String>) -> Self {
        Self {
            zone,
            format,
            offset_cache: FxHashMap::default(),
        }
    }

    /// What the error message says was expected.
    pub fn expected(&self) -> String {
        match &self.format {
            Some(f) => format!("a timestamp in the format {f:?}"),
            None => "a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS, YYYY/M/D H:MM:SS, D/M/YYYY HH:MM or Unix epoch)".into(),
        }
    }

    /// UTC milliseconds, or `None` when the text is not a timestamp.
    pub fn parse(&mut self, raw: &[u8]) -> Option<i64> {
        let s = raw.trim_ascii();
        if let Some(fmt) = &self.format {
            let text = std::str::from_utf8(s).ok()?;
            return self.parse_with_format(fmt.clone().as_str(), text);
        }
        if s.is_empty() {
            return None;
        }
        if let Some(ms) = parse_epoch(s) {
            return Some(ms);
        }
        let p = parse_fields(s)?;
        let local_ms = civil_ms(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms)?;
        match p.offset {
            Some(off) => Some(local_ms - off * 1000),
            None => self.naive_to_utc(local_ms, &p),
        }
    }

    fn naive_to_utc(&mut self, local_ms: i64, p: &Fields) -> Option<i64> {
        match &self.zone {
            Zone::Utc => Some(local_ms),
            Zone::Fixed(off) => Some(local_ms - off * 1000),
            Zone::Named(tz) => {
                let hour = local_ms.div_euclid(3_600_000);
                if let Some(off) = self.offset_cache.get(&hour) {
                    return Some(local_ms - off * 1000);
                }
                let dt = jiff::civil::DateTime::new(
                    p.y as i16,
                    p.mo as i8,
                    p.d as i8,
                    p.h as i8,
                    p.mi as i8,
                    p.s.min(59) as i8,
                    0,
                )
                .ok()?;
                let ts = tz.to_ambiguous_timestamp(dt).compatible().ok()?;
                let off = tz.to_offset(ts).seconds() as i64;
                self.offset_cache.insert(hour, off);
                Some(local_ms - off * 1000)
            }
        }
    }

    fn parse_with_format(&mut self, fmt: &str, text: &str) -> Option<i64> {
        let tm = jiff::fmt::strtime::parse(fmt, text).ok()?;
        if let Ok(ts) = tm.to_timestamp() {
            return Some(ts.as_millisecond());
        }
        let dt = tm.to_datetime().ok()?;
        let p = Fields {
            y: dt.year() as i64,
            mo: dt.month() as u32,
            d: dt.day() as u32,
            h: dt.hour() as u32,
            mi: dt.minute() as u32,
            s: dt.second() as u32,
            ms: dt.subsec_nanosecond() as u32 / 1_000_000,
            offset: None,
        };
        let local = civil_ms(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms)?;
        self.naive_to_utc(local, &p)
    }
}

#[derive(Debug)]
struct Fields {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    ms: u32,
    offset: Option<i64>,
}

/// All digits (optionally a fraction): seconds, or milliseconds from 1e11 up.
fn parse_epoch(s: &[u8]) -> Option<i64> {
    let (int, frac) = match s.iter().position(|&c| c == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[][..]),
    };
    let (neg, int) = match int.first() {
        Some(b'-') => (true, &int[1..]),
        _ => (false, int),
    };
    if int.is_empty() || int.len() > 15 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = int.iter().fold(0i64, |a, d| a * 10 + (d - b'0') as i64);
    let v = if neg { -v } else { v };
    if v.abs() >= 100_000_000_000 {
        return Some(v);
    }
    let mut ms = v * 1000;
    let mut scale = 100;
    for &d in frac.iter().take(3) {
        ms += (d - b'0') as i64 * scale * if neg { -1 } else { 1 };
        scale /= 10;
    }
    Some(ms)
}

/// Reads `Y-M-D[ T]h:m[:s[.f]][zone]`, `Y/M/D h:m:s`, `D/M/Y h:m[:s]` or `D.M.Y h:m`.
fn parse_fields(s: &[u8]) -> Option<Fields> {
    let mut i = 0;
    let num = |i: &mut usize, max_len: usize| -> Option<(i64, usize)> {
        let start = *i;
        let mut v = 0i64;
        while *i < s.len() && s[*i].is_ascii_digit() && *i - start < max_len {
            v = v * 10 + (s[*i] - b'0') as i64;
            *i += 1;
        }
        (*i > start).then_some((v, *i - start))
    };
    let (a, alen) = num(&mut i, 4)?;
    let sep = *s.get(i)?;
    if !matches!(sep, b'-' | b'/' | b'.') {
        return None;
    }
    i += 1;
    let (b, _) = num(&mut i, 2)?;
    if s.get(i) != Some(&sep) {
        return None;
    }
    i += 1;
    let (c, clen) = num(&mut i, 4)?;
    let (y, mo, d) = if alen == 4 {
        (a, b, c)
    } else if clen == 4 && sep != b'-' {
        (c, b, a)
    } else {
        return None;
    };
    let mut f = Fields {
        y,
        mo: mo as u32,
        d: d as u32,
        h: 0,
        mi: 0,
        s: 0,
        ms: 0,
        offset: None,
    };
    if i < s.len() && (s[i] == b'T' || s[i] == b' ') {
        i += 1;
        while i < s.len() && s[i] == b' ' {
            i += 1;
        }
        let (h, _) = num(&mut i, 2)?;
        if s.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let (mi, _) = num(&mut i, 2)?;
        f.h = h as u32;
        f.mi = mi as u32;
        if s.get(i) == Some(&b':') {
            i += 1;
            let (sec, _) = num(&mut i, 2)?;
            f.s = sec as u32;
            if matches!(s.get(i), Some(b'.') | Some(b',')) {
                i += 1;
                let start = i;
                let mut ms = 0u32;
                while i < s.len() && s[i].is_ascii_digit() {
                    if i - start < 3 {
                        ms = ms * 10 + (s[i] - b'0') as u32;
                    }
                    i += 1;
                }
                let digits = (i - start).min(3);
                if digits == 0 {
                    return None;
                }
                f.ms = ms * 10u32.pow(3 - digits as u32);
            }
        }
    }
    let rest = s[i..].trim_ascii_start();
    if !rest.is_empty() {
        f.offset = Some(
            if rest == b"Z" || rest == b"z" || rest.eq_ignore_ascii_case(b"UTC") {
                0
            } else {
                parse_offset(rest)?
            },
        );
    }
    Some(f)
}

fn civil_ms(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h as i64) * 60 + mi as i64) * 60_000 + s as i64 * 1000 + ms as i64)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Option<i64> {
        TimestampParser::new(Zone::Utc, None).parse(s.as_bytes())
    }

    const T: i64 = 1_349_794_217_000; // 2012-10-09T14:50:17Z, by `date -u -d @1349794217`

    #[test]
    fn formats_by_hand() {
        assert_eq!(utc("2012/10/9 14:50:17"), Some(T));
        assert_eq!(utc("2012-10-09 14:50:17"), Some(T));
        assert_eq!(utc("2012-10-09T14:50:17"), Some(T));
        assert_eq!(utc("2012-10-09T15:50:17+01:00"), Some(T));
        assert_eq!(utc("2012-10-09T16:50:17+0200"), Some(T));
        assert_eq!(utc("2012-10-09T14:50:17Z"), Some(T));
        assert_eq!(utc("2012-10-09T14:50:17.250Z"), Some(T + 250));
        assert_eq!(utc("9/10/2012 14:50"), Some(T - 17_000));
        assert_eq!(utc("1349794217"), Some(T));
        assert_eq!(utc("1349794217000"), Some(T));
        assert_eq!(utc("2012-10-09"), Some(T - 53_417_000));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2012-13-01",
            "2012-02-30 10:00",
            "31/12/12 10:00",
            "12:00",
            "2012-10-09 25:00",
        ] {
            assert_eq!(utc(s), None, "{s}");
        }
    }

    #[test]
    fn naive_stamps_take_the_zone() {
        let mut p = TimestampParser::new(Zone::parse("+01:00").unwrap(), None);
        assert_eq!(p.parse(b"2012-10-09 15:50:17"), Some(T));
        let mut p = TimestampParser::new(Zone::parse("Europe/Rome").unwrap(), None);
        // 2012-10-09 is summer time in Rome: UTC+2.
        assert_eq!(p.parse(b"2012-10-09 16:50:17"), Some(T));
        // An explicit offset wins over the zone.
        assert_eq!(p.parse(b"2012-10-09T14:50:17Z"), Some(T));
    }

    #[test]
    fn custom_format() {
        let mut p = TimestampParser::new(Zone::Utc, Some("%m/%d/%Y %I:%M %p".into()));
        assert_eq!(p.parse(b"10/09/2012 02:50 PM"), Some(T - 17_000));
    }
}
