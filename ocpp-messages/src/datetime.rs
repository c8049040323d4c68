//! RFC 3339 date-times that keep exactly the text they were read from.

use std::fmt;
use std::str::FromStr;

use chrono::{FixedOffset, SecondsFormat, Utc};

use crate::error::ConversionError;

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
    text: Box<str>,
    value: chrono::DateTime<FixedOffset>,
}

impl DateTime {
    /// The current time in UTC, with millisecond precision.
    pub fn now() -> Self {
        Utc::now().into()
    }

    /// The instant, with the offset that was written.
    pub fn to_chrono(&self) -> chrono::DateTime<FixedOffset> {
        self.value
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

fn check_rfc3339(s: &str) -> Option<()> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let part = b.get(from..from + n)?;
        part.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = digits(0, 4)?;
    (b.get(4) == Some(&b'-')).then_some(())?;
    let month = digits(5, 2)?;
    (b.get(7) == Some(&b'-')).then_some(())?;
    let day = digits(8, 2)?;
    matches!(b.get(10), Some(b'T' | b't')).then_some(())?;
    let hour = digits(11, 2)?;
    (b.get(13) == Some(&b':')).then_some(())?;
    let minute = digits(14, 2)?;
    (b.get(16) == Some(&b':')).then_some(())?;
    let second = digits(17, 2)?;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > start).then_some(())?;
    }
    let offset_minutes: i64 = match b.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let oh = digits(i + 1, 2)?;
            (b.get(i + 3) == Some(&b':')).then_some(())?;
            let om = digits(i + 4, 2)?;
            (oh <= 23 && om <= 59).then_some(())?;
            i += 6;
            let m = i64::from(oh * 60 + om);
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    (i == b.len()).then_some(())?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (day >= 1 && day <= days_in_month && hour <= 23 && minute <= 59).then_some(())?;
    if second == 60 {
        // A leap second is only ever inserted at 23:59:60 UTC.
        let utc_minutes =
            (i64::from(hour) * 60 + i64::from(minute) - offset_minutes).rem_euclid(1440);
        (utc_minutes == 23 * 60 + 59).then_some(())
    } else {
        (second <= 59).then_some(())
    }
}

impl FromStr for DateTime {
    type Err = ConversionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !is_rfc3339_date_time(s) {
            return Err(format!("{s:?} is not an RFC 3339 date-time").into());
        }
        let value = chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|e| ConversionError::from(format!("{s:?}: {e}")))?;
        Ok(DateTime {
            text: s.into(),
            value,
        })
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
            value: value.fixed_offset(),
        }
    }
}

impl From<chrono::DateTime<FixedOffset>> for DateTime {
    fn from(value: chrono::DateTime<FixedOffset>) -> Self {
        DateTime {
            text: value.to_rfc3339_opts(SecondsFormat::AutoSi, true).into(),
            value,
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
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
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
