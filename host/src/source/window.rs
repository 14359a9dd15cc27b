//! The API's window answer: `{"total": N, "logs": [{"timestamp", "level", "message", "data"}]}`,
//! newest first (`docs/source-api.md` §2.1).

use super::record::{INVALID_DATA, INVALID_UTF8, NOT_AN_ENTRY, Record};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A window answer, its records newest first as the API gives them.
#[derive(Debug)]
pub struct Window {
    /// `total`: the length of the API's list, including records left out of `logs`.
    pub total: u64,
    /// The entries, newest first.
    pub records: Vec<Record>,
}

#[derive(Deserialize)]
struct RawWindow<'a> {
    total: u64,
    #[serde(borrow)]
    logs: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    timestamp: std::borrow::Cow<'a, str>,
    level: std::borrow::Cow<'a, str>,
    message: std::borrow::Cow<'a, str>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

/// Why an answer is not a window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The API answered `{"error": ...}` or `{"detail": ...}`.
    #[error("the API answered an error: {0}")]
    Api(String),
    /// Something else than a window.
    #[error("not a window answer ({reason}): {snippet}")]
    NotAWindow {
        /// The JSON parser's reason.
        reason: String,
        /// The answer's beginning.
        snippet: String,
    },
}

/// Parses a window answer. An `{"error": ...}` or `{"detail": ...}` answer is an
/// error carrying that text, never an empty window.
pub fn parse_window(text: &str) -> Result<Window, WindowError> {
    let raw: RawWindow<'_> = match serde_json::from_str(text) {
        Ok(w) => w,
        Err(e) => {
            #[derive(Deserialize)]
            struct Failure {
                error: Option<serde_json::Value>,
                detail: Option<serde_json::Value>,
            }
            if let Ok(f) = serde_json::from_str::<Failure>(text)
                && let Some(why) = f.error.or(f.detail)
            {
                return Err(WindowError::Api(why.to_string()));
            }
            return Err(WindowError::NotAWindow {
                reason: e.to_string(),
                snippet: snippet(text).to_string(),
            });
        }
    };
    let records = raw
        .logs
        .iter()
        .map(|entry| entry_record(entry.get()))
        .collect();
    Ok(Window {
        total: raw.total,
        records,
    })
}

/// One entry of `logs`, decoded on its own so that one bad entry never costs
/// the window: lone UTF-16 surrogates in its escapes (`\udcff`) become U+FFFD
/// (flagged [`INVALID_UTF8`]); an entry that is not a log entry at all is kept
/// whole as a header-less message (flagged [`NOT_AN_ENTRY`]).
fn entry_record(text: &str) -> Record {
    if let Ok(entry) = serde_json::from_str::<Entry<'_>>(text) {
        return from_entry(entry, text, None);
    }
    if let Some(fixed) = replace_lone_surrogates(text)
        && let Ok(entry) = serde_json::from_str::<Entry<'_>>(&fixed)
    {
        return from_entry(entry, text, Some(INVALID_UTF8));
    }
    tracing::warn!(
        entry = snippet(text),
        "window entry is not a log entry: kept whole as its message, flagged not_a_log_entry"
    );
    Record::from_line(text.to_string()).flagged(NOT_AN_ENTRY)
}

fn from_entry(e: Entry<'_>, raw: &str, flag: Option<&'static str>) -> Record {
    // `data` goes into the line document as JSON: it must be valid for a sink.
    let (data, bad_data) = match e.data {
        Some(d) if !logpipe_json::is_valid(d.get()) => (None, true),
        d => (d, false),
    };
    let mut record = Record::from_entry(&e.timestamp, &e.level, &e.message, data, raw.to_string());
    if let Some(flag) = flag {
        record = record.flagged(flag);
    }
    if bad_data {
        record = record.flagged(INVALID_DATA);
    }
    record
}

/// `text` (JSON) with every `\uXXXX` escape of a lone surrogate replaced by
/// `\ufffd`; `None` when it has none. Linear.
fn replace_lone_surrogates(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let unit = |i: usize| -> Option<u16> {
        let hex = b.get(i..i + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
    };
    let mut out: Option<String> = None;
    let (mut i, mut copied) = (0, 0);
    while let Some(at) = memchr::memchr(b'\\', &b[i..]) {
        i += at;
        let Some(u) = unit(i) else {
            i = (i + 2).min(b.len()); // another escape (`\\`, `\"`…): both bytes
            continue;
        };
        let lone = match u {
            0xD800..=0xDBFF => match unit(i + 6) {
                Some(0xDC00..=0xDFFF) => {
                    i += 12;
                    continue;
                }
                _ => true,
            },
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..i]);
            o.push_str("\\ufffd");
            copied = i + 6;
        }
        i += 6;
    }
    let mut o = out?;
    o.push_str(&text[copied..]);
    Some(o)
}

/// The first 200 characters of `text`, for messages.
pub fn snippet(text: &str) -> &str {
    match text.char_indices().nth(200) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_window_parses() {
        let text = include_str!("../../../tests/fixtures/api-logs.window.json");
        let w = parse_window(text).unwrap();
        assert_eq!(w.total, 309);
        assert_eq!(w.records.len(), 308);
        assert_eq!(w.records[0].timestamp(), Some("2025-11-21 11:08:39"));
        assert!(w.records[0].raw().starts_with("{\"timestamp\""));
    }

    #[test]
    fn error_answers_are_errors() {
        let e = parse_window(r#"{"error": "Timeout: L'API ne répond pas"}"#).unwrap_err();
        assert!(
            matches!(&e, WindowError::Api(why) if why.contains("Timeout")),
            "{e}"
        );
        let e = parse_window(r#"{"detail": "Erreur lors de la récupération des logs : x"}"#)
            .unwrap_err();
        assert!(
            matches!(&e, WindowError::Api(why) if why.contains("récupération")),
            "{e}"
        );
        assert!(matches!(
            parse_window("<html>"),
            Err(WindowError::NotAWindow { .. })
        ));
    }

    #[test]
    fn one_bad_entry_never_costs_the_window() {
        let text = r#"{"total": 4, "logs": [
            {"timestamp": "2025-11-21 09:12:06", "level": "INFO", "message": "bad \udcff and \ud83d\ude37", "data": null},
            {"timestamp": "2025-11-21 09:12:05", "level": "INFO", "message": "huge", "data": {"x": 1e400}},
            {"unexpected": true},
            {"timestamp": "2025-11-21 09:12:04", "level": "INFO", "message": "fine \\udcff", "data": {"k": 1}}
        ]}"#;
        let w = parse_window(text).unwrap();
        assert_eq!(w.records.len(), 4);
        assert_eq!(w.records[0].message(), "bad \u{fffd} and 😷");
        assert_eq!(w.records[0].flags(), [INVALID_UTF8]);
        assert!(w.records[1].data().is_none());
        assert_eq!(w.records[1].flags(), [INVALID_DATA]);
        assert!(w.records[1].raw().contains("1e400"), "raw_log keeps it");
        assert_eq!(w.records[2].message(), r#"{"unexpected": true}"#);
        assert_eq!(w.records[2].flags(), [NOT_AN_ENTRY]);
        assert_eq!(
            w.records[3].message(),
            "fine \\udcff",
            "an escaped backslash is no escape"
        );
        assert!(w.records[3].flags().is_empty());
        assert_eq!(w.records[3].data().unwrap().get(), r#"{"k": 1}"#);
    }

    #[test]
    fn lone_surrogates_are_replaced_and_pairs_kept() {
        assert_eq!(replace_lone_surrogates(r#""ok \ud83d\ude37""#), None);
        assert_eq!(
            replace_lone_surrogates(r#""\udcff\ud800x\ud800\u0041""#).unwrap(),
            r#""\ufffd\ufffdx\ufffd\u0041""#
        );
        assert_eq!(replace_lone_surrogates(r#""\\udcff""#), None);
    }
}
