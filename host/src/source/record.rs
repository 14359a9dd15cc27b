//! One log record as collected, with its header split off.
//!
//! Header format (`docs/source-api.md` §1.2): `YYYY-MM-DD HH:MM:SS - logger - LEVEL - message`.
//! The separator ` - ` also occurs inside messages, so only the first three split.

use serde_json::value::RawValue;
use std::ops::Range;

/// A log record: its text, where its header parts are, and what was received.
#[derive(Debug, Clone)]
pub struct Record {
    text: String,
    raw: Option<String>,
    timestamp: Option<Range<u32>>,
    logger: Option<Range<u32>>,
    level: Option<Range<u32>>,
    message: Range<u32>,
    data: Option<Box<RawValue>>,
    flags: Vec<&'static str>,
}

/// Flag of a record whose bytes were not valid UTF-8 (or whose JSON escapes were
/// not valid Unicode): the bad parts were replaced with U+FFFD.
pub const INVALID_UTF8: &str = "invalid_utf8";
/// Flag of a window entry that is not a log entry: kept whole as its message.
pub const NOT_AN_ENTRY: &str = "not_a_log_entry";
/// Flag of a window entry whose `data` is not valid JSON for a sink (a number
/// out of range): left out of `data`, still in `raw_log`.
pub const INVALID_DATA: &str = "invalid_data";
/// Flag of a line longer than a record may be: its start was kept.
pub const TRUNCATED: &str = "truncated";

const SEP: &str = " - ";

/// `bytes` as text, with U+FFFD in place of what is not UTF-8 (without a copy
/// when all of it is); true when something was replaced.
pub fn decode_lossy(bytes: Vec<u8>) -> (String, bool) {
    match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
    }
}

fn span<'a>(r: &Option<Range<u32>>, text: &'a str) -> Option<&'a str> {
    r.as_ref().map(|r| &text[r.start as usize..r.end as usize])
}

/// True when `s` has the shape `dddd-dd-dd dd:dd:dd`.
pub fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        })
}

impl Record {
    /// A raw line (without its line ending). A line that does not start with a
    /// timestamp followed by logger and level has no header: all of it is the message.
    pub fn from_line(line: String) -> Self {
        let parsed = split_header(&line);
        let (timestamp, logger, level, message) = match parsed {
            Some((t, lg, lv, m)) => (Some(t), Some(lg), Some(lv), m),
            None => (None, None, None, 0..line.len() as u32),
        };
        Self {
            text: line,
            raw: None,
            timestamp,
            logger,
            level,
            message,
            data: None,
            flags: Vec::new(),
        }
    }

    /// A raw line as read, decoded on its own: invalid UTF-8 becomes U+FFFD and
    /// the record is flagged [`INVALID_UTF8`]; it never fails.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        match decode_lossy(bytes) {
            (text, false) => Self::from_line(text),
            (text, true) => Self::from_line(text).flagged(INVALID_UTF8),
        }
    }

    /// The record with a problem flag added.
    pub fn flagged(mut self, flag: &'static str) -> Self {
        if !self.flags.contains(&flag) {
            self.flags.push(flag);
        }
        self
    }

    /// Problems met reading the record (see the flag constants).
    pub fn flags(&self) -> &[&'static str] {
        &self.flags
    }

    /// An entry of the API's window (`{"timestamp", "level", "message", "data"}`),
    /// which has no logger; `raw` is the entry's JSON text as received.
    pub fn from_entry(
        timestamp: &str,
        level: &str,
        message: &str,
        data: Option<Box<RawValue>>,
        raw: String,
    ) -> Self {
        let mut text = String::with_capacity(timestamp.len() + level.len() + message.len());
        text.push_str(timestamp);
        text.push_str(level);
        let t = 0..timestamp.len() as u32;
        let l = t.end..(t.end + level.len() as u32);
        text.push_str(message);
        let m = l.end..text.len() as u32;
        Self {
            text,
            raw: Some(raw),
            timestamp: Some(t),
            logger: None,
            level: Some(l),
            message: m,
            data: data.filter(|d| d.get() != "null"),
            flags: Vec::new(),
        }
    }

    /// The timestamp text, as written (`YYYY-MM-DD HH:MM:SS`), if the record has a header.
    pub fn timestamp(&self) -> Option<&str> {
        span(&self.timestamp, &self.text)
    }

    /// The logger name, when the source gives it.
    pub fn logger(&self) -> Option<&str> {
        span(&self.logger, &self.text)
    }

    /// The level, when the record has a header.
    pub fn level(&self) -> Option<&str> {
        span(&self.level, &self.text)
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.text[self.message.start as usize..self.message.end as usize]
    }

    /// The `data` object of a window entry, when not null.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    /// The record exactly as received (`raw_log`).
    pub fn raw(&self) -> &str {
        self.raw.as_deref().unwrap_or(&self.text)
    }

    /// When the record as received is its header followed by its message (raw
    /// lines), the header part: lets a writer escape the message only once.
    pub fn raw_header(&self) -> Option<&str> {
        match self.raw {
            None => Some(&self.text[..self.message.start as usize]),
            Some(_) => None,
        }
    }

    /// True when the record had no recognisable header.
    pub fn has_header(&self) -> bool {
        self.timestamp.is_some()
    }
}

/// Spans of timestamp, logger, level and message.
type HeaderSpans = (Range<u32>, Range<u32>, Range<u32>, Range<u32>);

fn split_header(line: &str) -> Option<HeaderSpans> {
    let ts_end = find_sep(line)?;
    if !looks_like_timestamp(&line[..ts_end]) {
        return None;
    }
    let lg_start = ts_end + SEP.len();
    let lg_end = lg_start + find_sep(&line[lg_start..])?;
    let lv_start = lg_end + SEP.len();
    let lv_end = lv_start + find_sep(&line[lv_start..])?;
    let msg_start = lv_end + SEP.len();
    let r = |a: usize, b: usize| a as u32..b as u32;
    Some((
        r(0, ts_end),
        r(lg_start, lg_end),
        r(lv_start, lv_end),
        r(msg_start, line.len()),
    ))
}

/// The index of the first [`SEP`] in `text`. The parts before a separator are
/// short: looking at each `-` costs less than setting up a substring search.
fn find_sep(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    memchr::memchr_iter(b'-', b)
        .find(|&i| i > 0 && b[i - 1] == b' ' && b.get(i + 1) == Some(&b' '))
        .map(|i| i - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_found_as_a_substring_search_would() {
        for text in [
            "a - b", "- a - b", "a-b - c", "a -b - c", "a - ", " - ", "a -", "-", "",
        ] {
            assert_eq!(find_sep(text), text.find(SEP), "{text:?}");
        }
    }

    #[test]
    fn splits_on_the_first_three_separators_only() {
        let r = Record::from_line(
            "2025-11-21 09:12:06 - api - INFO - Health check effectué - Model: True, Redis: True"
                .into(),
        );
        assert_eq!(r.timestamp(), Some("2025-11-21 09:12:06"));
        assert_eq!(r.logger(), Some("api"));
        assert_eq!(r.level(), Some("INFO"));
        assert_eq!(
            r.message(),
            "Health check effectué - Model: True, Redis: True"
        );
        assert!(r.has_header());
    }

    #[test]
    fn line_without_header_is_all_message() {
        let line = r#"INFO:     10.16.4.21:40312 - "POST /predict HTTP/1.1" 200 OK"#;
        let r = Record::from_line(line.into());
        assert!(!r.has_header());
        assert_eq!(r.message(), line);
        assert_eq!(r.raw(), line);
        assert_eq!(r.level(), None);
    }

    #[test]
    fn window_entries_keep_their_json() {
        let raw = r#"{"timestamp": "2025-11-21 11:08:39", "level": "INFO", "message": "x - y", "data": null}"#;
        let r = Record::from_entry("2025-11-21 11:08:39", "INFO", "x - y", None, raw.into());
        assert_eq!(
            (r.timestamp(), r.level(), r.logger()),
            (Some("2025-11-21 11:08:39"), Some("INFO"), None)
        );
        assert_eq!(r.message(), "x - y");
        assert_eq!(r.raw(), raw);
    }

    #[test]
    fn timestamp_shape() {
        assert!(looks_like_timestamp("2025-11-21 09:12:03"));
        assert!(looks_like_timestamp("2025-13-45 99:99:99"), "shape only");
        assert!(!looks_like_timestamp("2025-11-21T09:12:03"));
        assert!(!looks_like_timestamp("2025-11-21 09:12"));
    }
}
