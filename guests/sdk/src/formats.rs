//! Helpers for the source API's own formats, shared by plugins that read them.

use crate::json::{ObjectFields, RawObject, decode_key};

/// The metrics object of a performance line: `Ok(None)` when the message is not
/// one, `Err` when it looks like one but cannot be read.
///
/// One pass over the line: the top-level object is validated field by field and
/// the `performance_metrics` object is read while it is passed over.
pub fn performance_metrics(message: &str) -> Result<Option<RawObject<'_>>, String> {
    if !(message.starts_with('{') && message.contains("\"performance_metrics\"")) {
        return Ok(None);
    }
    let invalid = |e: crate::json::JsonError| format!("performance line is not valid JSON: {e}");
    let mut line = ObjectFields::new(message.as_bytes(), 0).map_err(invalid)?;
    let mut metrics = None;
    while let Some(key) = line.next_key() {
        let key = key.map_err(invalid)?;
        let name = decode_key(message, key.key, key.escaped).map_err(invalid)?;
        if name == "performance_metrics"
            && metrics.is_none()
            && message.as_bytes()[key.value] == b'{'
        {
            // Read in the same pass as the line.
            let (object, end) = RawObject::read(message, key.value).map_err(invalid)?;
            line.value_ends(end);
            metrics = Some(object);
        } else {
            line.skip_value().map_err(invalid)?;
        }
    }
    let end = line.end().expect("all fields read");
    if end != message.trim_end().len() {
        return Err(format!(
            "performance line is not valid JSON: trailing characters at byte {end}"
        ));
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
