//! The event a plugin sees.

/// One log event: its message and the fields the plugin asked for.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The message part of the log line.
    pub message: &'a str,
    fields: Fields<'a>,
}

/// Where an event's fields are: pairs (tests, tools) or, in a batch, the plugin's
/// `needs` beside the values in the same order (what crosses the boundary).
#[derive(Debug, Clone, Copy)]
enum Fields<'a> {
    Pairs(&'a [(String, String)]),
    Needs {
        names: &'a [&'a str],
        values: &'a [Option<&'a str>],
    },
}

impl<'a> Event<'a> {
    /// An event with a message only.
    pub fn new(message: &'a str) -> Self {
        Self {
            message,
            fields: Fields::Pairs(&[]),
        }
    }

    /// An event with a message and fields given as `(name, text)` pairs.
    pub fn with_fields(message: &'a str, fields: &'a [(String, String)]) -> Self {
        Self {
            message,
            fields: Fields::Pairs(fields),
        }
    }

    /// An event whose field `names[i]` has text `values[i]` (`None`: the event
    /// lacks it). This is how a batch delivers them; `names` is the plugin's
    /// [`crate::Info::needs`].
    pub fn with_needs(
        message: &'a str,
        names: &'a [&'a str],
        values: &'a [Option<&'a str>],
    ) -> Self {
        Self {
            message,
            fields: Fields::Needs { names, values },
        }
    }

    /// The text of field `name`, if the event has it.
    pub fn field(&self, name: &str) -> Option<&'a str> {
        match self.fields {
            Fields::Pairs(pairs) => pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            Fields::Needs { names, values } => {
                let i = names.iter().position(|n| *n == name)?;
                values.get(i).copied().flatten()
            }
        }
    }
}
