//! Helpers for the source API's own formats, shared by plugins that read them.

use crate::json::{JsonError, ObjectFields, RawObject, decode_key, skip_ws};

/// The metrics object of a performance line: `Ok(None)` when the message is not
/// one, `Err` when it looks like one but cannot be read.
///
/// One pass over the line: the top-level object is validated field by field and
/// the `performance_metrics` object is read while it is passed over.
pub fn performance_metrics(message: &str) -> Result<Option<RawObject<'_>>, String> {
    if !message.starts_with('{') {
        return Ok(None);
    }
    // Unreadable JSON is a broken performance line only if it says it is one
    // (searched only then: a substring search costs more than reading the line).
    read_performance_line(message).or_else(|e| {
        if message.contains("\"performance_metrics\"") {
            Err(format!("performance line is not valid JSON: {e}"))
        } else {
            Ok(None)
        }
    })
}

/// Reads a JSON object message, returning its `performance_metrics` object.
fn read_performance_line(message: &str) -> Result<Option<RawObject<'_>>, JsonError> {
    let mut line = ObjectFields::new(message.as_bytes(), 0)?;
    let mut metrics = None;
    while let Some(key) = line.next_key() {
        let key = key?;
        let name = decode_key(message, key.key, key.escaped)?;
        if name == "performance_metrics"
            && metrics.is_none()
            && message.as_bytes()[key.value] == b'{'
        {
            // Read in the same pass as the line.
            let (object, end) = RawObject::read(message, key.value)?;
            line.value_ends(end);
            metrics = Some(object);
        } else {
            line.skip_value()?;
        }
    }
    let end = skip_ws(message.as_bytes(), line.end().expect("all fields read"));
    if end != message.len() {
        return Err(JsonError {
            what: "trailing characters after the object",
            at: end,
        });
    }
    Ok(metrics)
}

/// The raw value of `top_functions`, checked to be a list.
pub fn top_functions<'a>(metrics: &RawObject<'a>) -> Result<Option<&'a str>, String> {
    match metrics.get("top_functions") {
        Some(raw) if !raw.starts_with('[') => Err(format!("top_functions is not a list: {raw}")),
        other => Ok(other),
    }
}
