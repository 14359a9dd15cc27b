//! Turning the source's `YYYY-MM-DD HH:MM:SS` into RFC 3339.
//!
//! The API logs naive local time with second precision (`docs/source-api.md` §1.2);
//! the zone is configuration (default UTC). A timestamp that is not a real date
//! never becomes a date field: the line document then has no `@timestamp`, keeps
//! the text in `timestamp_raw` and is flagged `invalid_timestamp`.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Why a zone or a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not an IANA zone name known to the system's database.
    #[error("unknown time zone `{zone}`: {reason}")]
    UnknownZone {
        /// As configured.
        zone: String,
        /// jiff's reason.
        reason: String,
    },
    /// Not `YYYY-MM-DD HH:MM:SS`.
    #[error("`{0}` is not of the form YYYY-MM-DD HH:MM:SS")]
    NotOfTheForm(String),
    /// Of the form, but no such date or time.
    #[error("`{text}` is not a valid date and time: {reason}")]
    NoSuchDate {
        /// As logged.
        text: String,
        /// jiff's reason.
        reason: String,
    },
    /// A local time skipped by the zone (a daylight-saving gap).
    #[error("`{text}` does not exist in the source time zone: {reason}")]
    NotInZone {
        /// As logged.
        text: String,
        /// jiff's reason.
        reason: String,
    },
}

/// Converts source timestamps in one zone.
#[derive(Debug, Clone)]
pub struct TimestampConverter {
    zone: Option<TimeZone>,
    last: Option<(String, String)>,
}

impl Default for TimestampConverter {
    fn default() -> Self {
        Self::utc()
    }
}

impl TimestampConverter {
    /// Source timestamps are UTC.
    pub fn utc() -> Self {
        Self {
            zone: None,
            last: None,
        }
    }

    /// Source timestamps are local time in `zone` (an IANA name such as
    /// `Europe/Paris`, or `UTC`).
    pub fn in_zone(zone: &str) -> Result<Self, TimestampError> {
        if zone.eq_ignore_ascii_case("utc") || zone == "Z" {
            return Ok(Self::utc());
        }
        let tz = TimeZone::get(zone).map_err(|e| TimestampError::UnknownZone {
            zone: zone.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            zone: Some(tz),
            last: None,
        })
    }

    /// Appends the RFC 3339 form of `ts` to `out`, or says why it is not a date.
    pub fn write(&mut self, ts: &str, out: &mut String) -> Result<(), TimestampError> {
        if let Some((input, output)) = &self.last
            && input == ts
        {
            out.push_str(output);
            return Ok(());
        }
        let civil = parse_civil(ts)?;
        let zoned = match &self.zone {
            None => None,
            Some(tz) => Some(
                civil
                    .to_zoned(tz.clone())
                    .map_err(|e| TimestampError::NotInZone {
                        text: ts.to_string(),
                        reason: e.to_string(),
                    })?
                    .timestamp(),
            ),
        };
        // The cache's strings are reused: a new second is not an allocation.
        let (input, text) = self.last.get_or_insert_with(Default::default);
        input.clear();
        text.clear();
        match zoned {
            // Same text with `T` and `Z`: no formatting machinery on the hot path.
            None => {
                text.push_str(&ts[..10]);
                text.push('T');
                text.push_str(&ts[11..19]);
                text.push('Z');
            }
            Some(timestamp) => {
                use std::fmt::Write as _;
                let _ = write!(text, "{timestamp}");
            }
        }
        input.push_str(ts);
        out.push_str(text);
        Ok(())
    }
}

/// The digits of a header timestamp as one number (`2025-11-21 09:12:03` →
/// 20251121091203), 0 when `ts` is not of that form: a function of the line
/// alone, in no time zone, that grows with time.
pub fn header_number(ts: &str) -> i64 {
    if !crate::source::record::looks_like_timestamp(ts) {
        return 0;
    }
    ts.bytes()
        .take(19)
        .filter(u8::is_ascii_digit)
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'))
}

fn parse_civil(ts: &str) -> Result<DateTime, TimestampError> {
    if !crate::source::record::looks_like_timestamp(ts) {
        return Err(TimestampError::NotOfTheForm(ts.to_string()));
    }
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i16>().expect("digits checked");
    DateTime::new(
        n(0..4),
        n(5..7) as i8,
        n(8..10) as i8,
        n(11..13) as i8,
        n(14..16) as i8,
        n(17..19) as i8,
        0,
    )
    .map_err(|e| TimestampError::NoSuchDate {
        text: ts.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(c: &mut TimestampConverter, ts: &str) -> Result<String, TimestampError> {
        let mut out = String::new();
        c.write(ts, &mut out).map(|()| out)
    }

    #[test]
    fn header_numbers_are_the_digits() {
        assert_eq!(header_number("2025-11-21 09:12:03"), 20251121091203);
        assert_eq!(header_number("yesterday"), 0);
    }

    #[test]
    fn utc_is_the_default() {
        let mut c = TimestampConverter::default();
        assert_eq!(
            conv(&mut c, "2025-11-21 09:12:03").unwrap(),
            "2025-11-21T09:12:03Z"
        );
        assert_eq!(
            conv(&mut c, "2025-11-21 09:12:03").unwrap(),
            "2025-11-21T09:12:03Z"
        );
    }

    #[test]
    fn other_zones_are_converted_to_utc() {
        let mut c = TimestampConverter::in_zone("Europe/Paris").unwrap();
        assert_eq!(
            conv(&mut c, "2025-11-21 10:12:03").unwrap(),
            "2025-11-21T09:12:03Z"
        );
        assert_eq!(
            conv(&mut c, "2025-07-01 12:00:00").unwrap(),
            "2025-07-01T10:00:00Z"
        );
        assert!(TimestampConverter::in_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn invalid_dates_are_refused() {
        let mut c = TimestampConverter::default();
        assert!(conv(&mut c, "2025-02-30 10:00:00").is_err());
        assert!(conv(&mut c, "2025-11-21 25:00:00").is_err());
        assert!(conv(&mut c, "21/11/2025 10:00").is_err());
    }
}
