//! Errors and their causes as one line of text.

/// An error and its causes on one line, `: `-separated, for messages and log
/// fields.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The causes of an error without the error itself (when the caller names
/// what failed in its own words); the error when it has no cause.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    match error.source() {
        Some(cause) => chain(cause),
        None => error.to_string(),
    }
}
