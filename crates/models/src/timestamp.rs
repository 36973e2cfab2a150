//! RFC 3339 times kept exactly as written.

use std::fmt;
use std::str::FromStr;

/// An RFC 3339 date-time with an offset, kept byte for byte as written.
///
/// WeChat Pay writes times like `2020-05-20T13:29:35.120+08:00`. Converting them to UTC (as a
/// `chrono::DateTime<Utc>` does) would change the bytes sent and the value shown back, so this
/// type keeps the text: its offset, its precision (`.120` stays `.120`) and its `T`/`Z` case.
///
/// Parsing with [`Timestamp::parse`] (or [`FromStr`]) is strict. Deserializing is lenient: a
/// response keeps parsing even if a time in it is malformed, and [`crate::Validate`] reports a
/// malformed time in a request with its field path.
///
/// ```
/// use wechatpay_card_models::Timestamp;
///
/// let t = Timestamp::parse("2020-05-20T13:29:35.120+08:00")?;
/// assert_eq!(t.as_str(), "2020-05-20T13:29:35.120+08:00");
/// assert_eq!(t.unix_millis(), Some(1_589_952_575_120));
/// assert_eq!(Timestamp::from_unix_millis(1_589_952_575_120, 8 * 60), t);
/// assert!(Timestamp::parse("2020-05-20 13:29:35").is_err());
/// # Ok::<(), wechatpay_card_models::InvalidTimestamp>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(String);

/// The error of [`Timestamp::parse`]: the text is not an RFC 3339 date-time with an offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTimestamp {
    reason: &'static str,
}

impl fmt::Display for InvalidTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not an RFC 3339 date-time with an offset ({}); expected e.g. 2020-05-20T13:29:35.120+08:00",
            self.reason
        )
    }
}

impl std::error::Error for InvalidTimestamp {}

/// The parts of a valid timestamp.
struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// Milliseconds of the fraction (digits beyond the third are truncated).
    millis: u32,
    /// Offset east of UTC, in minutes.
    offset_minutes: i32,
}

impl Timestamp {
    /// Parses an RFC 3339 date-time with an offset (`Z` or `±HH:MM`), keeping the text as given.
    pub fn parse(text: impl Into<String>) -> Result<Self, InvalidTimestamp> {
        let text = text.into();
        parse_parts(&text)?;
        Ok(Self(text))
    }

    /// Formats a Unix time in milliseconds at the given offset (minutes east of UTC), with
    /// millisecond precision: `from_unix_millis(0, 480)` is `1970-01-01T08:00:00.000+08:00`.
    ///
    /// Offsets are clamped to ±23:59.
    pub fn from_unix_millis(unix_millis: i64, offset_minutes: i32) -> Self {
        let offset_minutes = offset_minutes.clamp(-(24 * 60 - 1), 24 * 60 - 1);
        let local = unix_millis + i64::from(offset_minutes) * 60_000;
        let millis = local.rem_euclid(1000);
        let secs = local.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let secs_of_day = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let off = offset_minutes.unsigned_abs();
        Self(format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}{sign}{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60,
            off / 60,
            off % 60,
        ))
    }

    /// A time as received in an answer, not checked (like deserializing).
    pub(crate) fn from_received(text: String) -> Self {
        Self(text)
    }

    /// The text, exactly as parsed or received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the text is a valid RFC 3339 date-time (always true for a parsed value; a
    /// deserialized one is not checked).
    pub fn is_valid(&self) -> bool {
        parse_parts(&self.0).is_ok()
    }

    /// The instant as Unix milliseconds, or `None` if the text is not valid.
    pub fn unix_millis(&self) -> Option<i64> {
        let p = parse_parts(&self.0).ok()?;
        let days = days_from_civil(p.year, p.month, p.day);
        let local_secs = days * 86_400
            + i64::from(p.hour) * 3600
            + i64::from(p.minute) * 60
            + i64::from(p.second);
        Some((local_secs - i64::from(p.offset_minutes) * 60) * 1000 + i64::from(p.millis))
    }

    /// The offset east of UTC in minutes (`+08:00` is 480), or `None` if the text is not valid.
    pub fn offset_minutes(&self) -> Option<i32> {
        parse_parts(&self.0).ok().map(|p| p.offset_minutes)
    }
}

fn parse_parts(s: &str) -> Result<Parts, InvalidTimestamp> {
    let err = |reason| InvalidTimestamp { reason };
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<u32, InvalidTimestamp> {
        let part = b.get(range).ok_or(err("too short"))?;
        part.iter().try_fold(0u32, |acc, &c| {
            if c.is_ascii_digit() {
                Ok(acc * 10 + u32::from(c - b'0'))
            } else {
                Err(err("a digit was expected"))
            }
        })
    };
    let expect = |at: usize, what: &[u8], reason| {
        if b.get(at).is_some_and(|c| what.contains(c)) {
            Ok(())
        } else {
            Err(err(reason))
        }
    };
    let year = i64::from(digits(0..4)?);
    expect(4, b"-", "`-` after the year")?;
    let month = digits(5..7)?;
    expect(7, b"-", "`-` after the month")?;
    let day = digits(8..10)?;
    expect(10, b"Tt", "`T` between date and time")?;
    let hour = digits(11..13)?;
    expect(13, b":", "`:` after the hour")?;
    let minute = digits(14..16)?;
    expect(16, b":", "`:` after the minute")?;
    let second = digits(17..19)?;
    if !(1..=12).contains(&month) {
        return Err(err("month out of range"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(err("day out of range"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(err("time out of range"));
    }
    let mut at = 19;
    let mut millis = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 3 {
                millis = millis * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return Err(err("digits after the `.`"));
        }
        for _ in (at - start)..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let h = digits(at + 1..at + 3)?;
            expect(at + 3, b":", "`:` in the offset")?;
            let m = digits(at + 4..at + 6)?;
            if h > 23 || m > 59 {
                return Err(err("offset out of range"));
            }
            at += 6;
            let minutes = i32::try_from(h * 60 + m).map_err(|_| err("offset out of range"))?;
            if sign == b'-' { -minutes } else { minutes }
        }
        _ => return Err(err("an offset, `Z` or `±HH:MM`, is required")),
    };
    if at != b.len() {
        return Err(err("trailing characters"));
    }
    Ok(Parts {
        year,
        month,
        day,
        hour,
        minute,
        second,
        millis,
        offset_minutes,
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl FromStr for Timestamp {
    type Err = InvalidTimestamp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Timestamp").field(&self.0).finish()
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Lenient on purpose: see the type's documentation.
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_offset_and_precision_byte_for_byte() {
        for text in [
            "2020-05-20T13:29:35.120+08:00",
            "2020-05-20T13:29:35+08:00",
            "2020-05-20T13:29:35.1+08:00",
            "2020-05-20T13:29:35.123456789-03:30",
            "2020-05-20T05:29:35Z",
            "2020-05-20t05:29:35z",
        ] {
            let t = Timestamp::parse(text).unwrap();
            assert_eq!(t.as_str(), text);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            let back: Timestamp = serde_json::from_str(&json).unwrap();
            assert_eq!(back.as_str(), text);
        }
    }

    #[test]
    fn rejects_what_is_not_rfc3339_with_offset() {
        for text in [
            "",
            "2020-05-20",
            "2020-05-20T13:29:35",
            "2020-05-20 13:29:35+08:00",
            "2020-13-20T13:29:35+08:00",
            "2021-02-29T13:29:35+08:00",
            "2020-05-20T24:00:00+08:00",
            "2020-05-20T13:29:35.+08:00",
            "2020-05-20T13:29:35+0800",
            "2020-05-20T13:29:35+08:00x",
            "2020-05-20T13:29:35+24:00",
            "２020-05-20T13:29:35+08:00",
        ] {
            assert!(
                Timestamp::parse(text).is_err(),
                "{text:?} should be rejected"
            );
        }
        assert!(Timestamp::parse("2020-02-29T00:00:00Z").is_ok(), "leap day");
    }

    #[test]
    fn unix_millis_round_trips_through_any_offset() {
        // Checked against `date -d @1589952575.120 -u`: 2020-05-20T05:29:35.120Z.
        let t = Timestamp::parse("2020-05-20T05:29:35.120Z").unwrap();
        assert_eq!(t.unix_millis(), Some(1_589_952_575_120));
        for offset in [-720, -210, 0, 330, 480, 840] {
            let local = Timestamp::from_unix_millis(1_589_952_575_120, offset);
            assert_eq!(local.unix_millis(), Some(1_589_952_575_120), "{local}");
            assert_eq!(local.offset_minutes(), Some(offset));
        }
        assert_eq!(
            Timestamp::from_unix_millis(0, 0).as_str(),
            "1970-01-01T00:00:00.000+00:00"
        );
        assert_eq!(
            Timestamp::from_unix_millis(-1, 0).as_str(),
            "1969-12-31T23:59:59.999+00:00"
        );
        assert_eq!(
            Timestamp::from_unix_millis(951_782_400_000, 480).as_str(),
            "2000-02-29T08:00:00.000+08:00"
        );
    }

    #[test]
    fn deserializing_is_lenient_and_validity_is_reported() {
        let t: Timestamp = serde_json::from_str("\"yesterday\"").unwrap();
        assert!(!t.is_valid());
        assert_eq!(t.unix_millis(), None);
    }
}
