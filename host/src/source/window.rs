//! The API's window answer: `{"total": N, "logs": [{"timestamp", "level", "message", "data"}]}`,
//! newest first (`source-api.md` §2.1).

use super::record::Record;
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

/// Parses a window answer. An `{"error": ...}` or `{"detail": ...}` answer is an
/// error carrying that text, never an empty window.
pub fn parse_window(text: &str) -> Result<Window, String> {
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
                return Err(format!("the API answered an error: {why}"));
            }
            return Err(format!("not a window answer ({e}): {}", snippet(text)));
        }
    };
    let mut records = Vec::with_capacity(raw.logs.len());
    for (i, entry) in raw.logs.iter().enumerate() {
        let e: Entry<'_> = serde_json::from_str(entry.get()).map_err(|err| {
            format!(
                "entry {i} of `logs` is not a log entry ({err}): {}",
                snippet(entry.get())
            )
        })?;
        records.push(Record::from_entry(
            &e.timestamp,
            &e.level,
            &e.message,
            e.data,
            entry.get().to_string(),
        ));
    }
    Ok(Window {
        total: raw.total,
        records,
    })
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
        assert!(e.contains("Timeout"), "{e}");
        let e = parse_window(r#"{"detail": "Erreur lors de la récupération des logs : x"}"#)
            .unwrap_err();
        assert!(e.contains("récupération"), "{e}");
        assert!(parse_window("<html>").is_err());
    }
}
