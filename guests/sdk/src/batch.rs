//! Running a plugin over a packed batch (contract 0.2): shared by the component
//! glue and by the host's native build of the reference plugins, so that both
//! answer a batch the same way.

use crate::output::Emitted;
use crate::{Emit, Event};

/// A packed batch seen through its parts: event `i` is made of parts
/// `i * w .. (i + 1) * w`, `w = 1 + needs.len()`, the message first.
pub struct PackedEvents<'n, P> {
    /// Number of parts.
    pub parts: usize,
    /// The plugin's needed fields, in order.
    pub needs: &'n [&'n str],
    /// The text of part `k`, `None` for a field the event lacks.
    pub part: P,
}

/// A parser's answer for a batch.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Every document's JSON, one after another.
    pub text: String,
    /// The documents, in event order; none for an event that failed.
    pub documents: Vec<Emitted>,
    /// `(event, reason)` for the events the parser refused.
    pub errors: Vec<(u32, String)>,
}

/// A filter's answer for a batch.
#[derive(Debug, Default)]
pub struct Decided {
    /// One decision per event (`false` for an event that failed).
    pub keep: Vec<bool>,
    /// `(event, reason)` for the events the filter could not decide.
    pub errors: Vec<(u32, String)>,
}

impl<'t, P: Fn(usize) -> Option<&'t str>> PackedEvents<'_, P> {
    fn width(&self) -> usize {
        1 + self.needs.len()
    }

    /// Number of events.
    pub fn count(&self) -> usize {
        self.parts / self.width()
    }

    /// Calls `each` with every event and its position.
    pub fn for_each(&self, mut each: impl FnMut(u32, &Event<'_>)) {
        let width = self.width();
        let mut values: Vec<Option<&str>> = Vec::with_capacity(self.needs.len());
        for (i, first) in (0..self.count() * width).step_by(width).enumerate() {
            values.clear();
            values.extend((first + 1..first + width).map(&self.part));
            let message = (self.part)(first).unwrap_or("");
            each(i as u32, &Event::with_needs(message, self.needs, &values));
        }
    }

    /// Runs `parse` over every event. An event's `Err` drops the documents it
    /// had emitted.
    pub fn parse(&self, parse: impl Fn(&Event<'_>, &mut Emit) -> Result<(), String>) -> Parsed {
        let mut emit = Emit::new();
        let mut errors = Vec::new();
        self.for_each(|i, event| {
            emit.start_event(i);
            if let Err(reason) = parse(event, &mut emit) {
                emit.discard_event();
                errors.push((i, reason));
            }
        });
        let (text, documents) = emit.into_parts();
        Parsed {
            text,
            documents,
            errors,
        }
    }

    /// Runs `accept` over every event.
    pub fn accept(&self, accept: impl Fn(&Event<'_>) -> Result<bool, String>) -> Decided {
        let mut decided = Decided {
            keep: Vec::with_capacity(self.count()),
            errors: Vec::new(),
        };
        self.for_each(|i, event| match accept(event) {
            Ok(keep) => decided.keep.push(keep),
            Err(reason) => {
                decided.keep.push(false);
                decided.errors.push((i, reason));
            }
        });
        decided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_get_their_message_and_fields_and_failures_lose_their_documents() {
        // Two events, each a message and one needed field (absent in the second).
        let parts = [Some("first"), Some("POST"), Some("second"), None];
        let events = PackedEvents {
            parts: parts.len(),
            needs: &["http_method"],
            part: |k: usize| parts[k],
        };
        assert_eq!(events.count(), 2);
        let parsed = events.parse(|e, emit| {
            if e.field("http_method").is_none() {
                emit.raw_str(0, "{}");
                return Err(format!("no method in {}", e.message));
            }
            emit.raw_str(0, r#"{"m":1}"#);
            Ok(())
        });
        assert_eq!(parsed.text, r#"{"m":1}"#);
        assert_eq!(parsed.documents.len(), 1);
        assert_eq!(parsed.errors, [(1, "no method in second".to_string())]);
        let decided = events.accept(|e| match e.field("http_method") {
            Some(m) => Ok(m == "POST"),
            None => Err("undecided".into()),
        });
        assert_eq!(decided.keep, [true, false]);
        assert_eq!(decided.errors, [(1, "undecided".to_string())]);
    }
}
