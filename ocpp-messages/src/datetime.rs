//! RFC 3339 date-times that keep exactly the text they were read from.

use std::fmt;
use std::str::FromStr;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone, Utc};

use crate::spec::ConversionError;

/// An RFC 3339 `date-time`, the JSON Schema `format: date-time` of every OCPP timestamp.
///
/// Parsing is strict: `T` or `t` between date and time, seconds required, fraction optional,
/// and an offset (`Z`, `z` or `±hh:mm`) required. The text is kept as read, so decoding and
/// re-encoding a message gives back the same characters (offset, fraction digits and case
/// included); [`DateTime::to_chrono`] gives the instant.
///
/// ```
/// use ocpp_messages::DateTime;
/// let t: DateTime = "2024-05-01T12:30:00.5+02:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2024-05-01T12:30:00.5+02:00");
/// assert_eq!(t.to_chrono().timestamp(), 1714559400);
/// assert!("2024-05-01 12:30:00Z".parse::<DateTime>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// Always an RFC 3339 date-time that chrono can represent (checked when it was made).
    text: Box<str>,
}

impl DateTime {
    /// The current time in UTC, with millisecond precision.
    pub fn now() -> Self {
        Utc::now().into()
    }

    /// The instant, with the offset that was written.
    pub fn to_chrono(&self) -> chrono::DateTime<FixedOffset> {
        // Checked when the value was made, so this cannot fail; the epoch stands in should
        // that ever be wrong, rather than a panic.
        check_rfc3339(&self.text)
            .and_then(|parts| parts.to_chrono())
            .unwrap_or_default()
    }

    /// The text as read or written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Whether `s` is an RFC 3339 `date-time` (section 5.6 of the RFC), with calendar checks.
pub fn is_rfc3339_date_time(s: &str) -> bool {
    check_rfc3339(s).is_some()
}

/// The fields of an RFC 3339 date-time.
struct Parts {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// The fraction in nanoseconds (digits beyond the ninth are dropped).
    nanos: u32,
    offset_minutes: i64,
}

impl Parts {
    /// Whether chrono can represent the instant. Every date-time `check_rfc3339` accepts has
    /// a year of four digits and an offset within a day, which chrono covers; this only
    /// restates it cheaply.
    fn is_representable(&self) -> bool {
        self.year <= 9999 && self.offset_minutes.abs() < 24 * 60
    }

    /// The instant, with the offset written; a leap second (`:60`) as chrono represents it.
    fn to_chrono(&self) -> Option<chrono::DateTime<FixedOffset>> {
        let date = NaiveDate::from_ymd_opt(i32::try_from(self.year).ok()?, self.month, self.day)?;
        let (second, leap) = if self.second == 60 {
            (59, 1_000_000_000)
        } else {
            (self.second, 0)
        };
        let time = NaiveTime::from_hms_nano_opt(self.hour, self.minute, second, self.nanos + leap)?;
        let offset = FixedOffset::east_opt(i32::try_from(self.offset_minutes * 60).ok()?)?;
        offset
            .from_local_datetime(&NaiveDateTime::new(date, time))
            .single()
    }
}

fn check_rfc3339(s: &str) -> Option<Parts> {
    let b = s.as_bytes();
    // `YYYY-MM-DDTHH:MM:SS`, then an optional fraction and the offset.
    let head: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    let punctuation_ok = head[4] == b'-'
        && head[7] == b'-'
        && matches!(head[10], b'T' | b't')
        && head[13] == b':'
        && head[16] == b':';
    // Branch-free: every digit position at once.
    let digit = |i: usize| head[i].wrapping_sub(b'0') < 10;
    let digits_ok = digit(0)
        & digit(1)
        & digit(2)
        & digit(3)
        & digit(5)
        & digit(6)
        & digit(8)
        & digit(9)
        & digit(11)
        & digit(12)
        & digit(14)
        & digit(15)
        & digit(17)
        & digit(18);
    if !(punctuation_ok && digits_ok) {
        return None;
    }
    let d = |i: usize| u32::from(head[i] - b'0');
    let year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
    let month = d(5) * 10 + d(6);
    let day = d(8) * 10 + d(9);
    let hour = d(11) * 10 + d(12);
    let minute = d(14) * 10 + d(15);
    let second = d(17) * 10 + d(18);
    // An optional fraction: a dot and at least one digit (nanoseconds from the first nine).
    let mut rest = &b[19..];
    let mut nanos = 0;
    if let [b'.', fraction @ ..] = rest {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for &c in &fraction[..n.min(9)] {
            nanos = nanos * 10 + u32::from(c - b'0');
        }
        nanos *= 10u32.pow(9 - n.min(9) as u32);
        rest = &fraction[n..];
    }
    // The offset, and nothing after it.
    let offset_minutes: i64 = match *rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(u8::is_ascii_digit) =>
        {
            let oh = u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0');
            let om = u32::from(m1 - b'0') * 10 + u32::from(m2 - b'0');
            if oh > 23 || om > 59 {
                return None;
            }
            let m = i64::from(oh * 60 + om);
            if sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    (day >= 1 && day <= days_in_month && hour <= 23 && minute <= 59).then_some(())?;
    if second == 60 {
        // A leap second is only ever inserted at 23:59:60 UTC.
        let utc_minutes =
            (i64::from(hour) * 60 + i64::from(minute) - offset_minutes).rem_euclid(1440);
        (utc_minutes == 23 * 60 + 59).then_some(())?;
    } else {
        (second <= 59).then_some(())?;
    }
    Some(Parts {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset_minutes,
    })
}

impl FromStr for DateTime {
    type Err = ConversionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The instant is computed when asked for; here only that it exists.
        if check_rfc3339(s).is_some_and(|parts| parts.is_representable()) {
            Ok(DateTime { text: s.into() })
        } else {
            Err(format!("{s:?} is not an RFC 3339 date-time").into())
        }
    }
}

impl TryFrom<&str> for DateTime {
    type Error = ConversionError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl TryFrom<String> for DateTime {
    type Error = ConversionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(value: chrono::DateTime<Utc>) -> Self {
        DateTime {
            text: value.to_rfc3339_opts(SecondsFormat::Millis, true).into(),
        }
    }
}

impl From<chrono::DateTime<FixedOffset>> for DateTime {
    fn from(value: chrono::DateTime<FixedOffset>) -> Self {
        DateTime {
            text: value.to_rfc3339_opts(SecondsFormat::AutoSi, true).into(),
        }
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateTime({})", self.text)
    }
}

impl serde::Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for DateTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 date-time string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DateTime, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_date_times() {
        for ok in [
            "2024-01-01T12:00:00Z",
            "2024-01-01t12:00:00z",
            "2024-01-01T12:00:00.123456789+05:30",
            "2024-02-29T00:00:00-00:00",
            "2016-12-31T23:59:60Z",
            "2017-01-01T01:29:60+01:30",
        ] {
            assert!(is_rfc3339_date_time(ok), "{ok}");
            let parsed: DateTime = ok.parse().unwrap();
            assert_eq!(parsed.to_string(), ok);
            // The instant is the one chrono's own parser reads.
            assert_eq!(
                parsed.to_chrono(),
                chrono::DateTime::parse_from_rfc3339(ok).unwrap(),
                "{ok}"
            );
        }
    }

    #[test]
    fn instants_agree_with_chrono_on_many_date_times() {
        let mut n: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: u64| {
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            n % m
        };
        for _ in 0..20_000 {
            let fraction = match next(3) {
                0 => String::new(),
                _ => {
                    let digits = 1 + next(12) as usize;
                    let d: String = (0..digits)
                        .map(|_| char::from(b'0' + next(10) as u8))
                        .collect();
                    format!(".{d}")
                }
            };
            let offset = match next(3) {
                0 => "Z".to_owned(),
                1 => "z".to_owned(),
                _ => format!(
                    "{}{:02}:{:02}",
                    if next(2) == 0 { '+' } else { '-' },
                    next(24),
                    next(60)
                ),
            };
            let text = format!(
                "{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}{fraction}{offset}",
                1 + next(9999),
                1 + next(12),
                1 + next(28),
                if next(2) == 0 { 'T' } else { 't' },
                next(24),
                next(60),
                next(60),
            );
            let ours: DateTime = text.parse().unwrap();
            assert_eq!(
                ours.to_chrono(),
                chrono::DateTime::parse_from_rfc3339(&text).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_what_rfc3339_rejects() {
        for bad in [
            "2024-01-01 12:00:00Z",
            "2024-01-01T12:00Z",
            "2024-01-01T12:00:00",
            "2024-01-01T12:00:00.Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T12:00:00+0100",
            "2024-01-01T12:00:60Z",
            "2024-01-01T12:00:00Z ",
            "２０２４-01-01T12:00:00Z",
            "",
        ] {
            assert!(!is_rfc3339_date_time(bad), "{bad}");
            assert!(bad.parse::<DateTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn from_chrono_is_utc_with_millis() {
        let t = chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(DateTime::from(t).to_string(), "2024-05-01T10:00:00.000Z");
    }
}
