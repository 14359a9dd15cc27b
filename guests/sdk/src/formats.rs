//! Helpers for the source API's own formats, shared by plugins that read them.

use crate::json::RawObject;
use serde_json::value::RawValue;

/// The metrics object of a performance line: `Ok(None)` when the message is not
/// one, `Err` when it looks like one but cannot be read.
pub fn performance_metrics(message: &str) -> Result<Option<RawObject<'_>>, String> {
    if !(message.starts_with('{') && message.contains("\"performance_metrics\"")) {
        return Ok(None);
    }
    // Fast path, one pass: the usual line, whose `performance_metrics` is an object.
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        performance_metrics: RawObject<'a>,
    }
    if let Ok(line) = serde_json::from_str::<Line<'_>>(message) {
        return Ok(Some(line.performance_metrics));
    }
    // Slow path: say why it is not one.
    let line = RawObject::parse(message)
        .map_err(|e| format!("performance line is not valid JSON: {e}"))?;
    let Some(raw) = line.get("performance_metrics") else {
        return Ok(None);
    };
    if !raw.get().starts_with('{') {
        return Ok(None);
    }
    RawObject::parse(raw.get())
        .map(Some)
        .map_err(|e| format!("performance_metrics is not readable: {e}"))
}

/// The raw value of `top_functions`, checked to be a list.
pub fn top_functions<'a>(metrics: &RawObject<'a>) -> Result<Option<&'a RawValue>, String> {
    match metrics.get("top_functions") {
        Some(raw) if !raw.get().starts_with('[') => {
            Err(format!("top_functions is not a list: {}", raw.get()))
        }
        other => Ok(other),
    }
}
