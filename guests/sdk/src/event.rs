//! The event a plugin sees.

/// One log event: its message and the fields the plugin asked for.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The message part of the log line.
    pub message: &'a str,
    /// The requested fields this event has, as `(name, text)`.
    pub fields: &'a [(String, String)],
}

impl<'a> Event<'a> {
    /// An event with a message only.
    pub fn new(message: &'a str) -> Self {
        Self {
            message,
            fields: &[],
        }
    }

    /// An event with a message and fields.
    pub fn with_fields(message: &'a str, fields: &'a [(String, String)]) -> Self {
        Self { message, fields }
    }

    /// The text of field `name`, if the event has it.
    pub fn field(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
