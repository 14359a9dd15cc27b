//! Collecting a parser's documents.
//!
//! Every document of a batch is written into one string, which crosses the
//! sandbox boundary as a whole (contract 0.2): no allocation per document.

use std::ops::Range;

/// One document in an [`Emit`]'s text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// The event it was made from (position in the batch).
    pub event: u32,
    /// Its channel.
    pub channel: u32,
    /// Where its JSON is in [`Emit::text`].
    pub json: Range<u32>,
}

/// Where a parser puts its documents.
#[derive(Debug, Default)]
pub struct Emit {
    text: String,
    docs: Vec<Emitted>,
    event: u32,
    event_text: usize,
    event_docs: usize,
}

impl Emit {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Emits a document already serialised as one JSON object on `channel`
    /// (an index into [`crate::Info::channels`]).
    pub fn raw(&mut self, channel: u32, json: String) {
        self.raw_str(channel, &json);
    }

    /// Emits a document already serialised as one JSON object, by reference.
    pub fn raw_str(&mut self, channel: u32, json: &str) {
        let start = self.text.len();
        self.text.push_str(json);
        self.push(channel, start);
    }

    /// Serialises `doc` (which must serialise to a JSON object) on `channel`.
    pub fn json<T: serde::Serialize + ?Sized>(&mut self, channel: u32, doc: &T) {
        // Serialising plain data into a String cannot fail.
        let json = serde_json::to_string(doc).expect("document serialises");
        self.raw_str(channel, &json);
    }

    /// Emits a document written in place by `write`, which appends exactly one
    /// JSON object to the string it is given (see [`crate::json::ObjectWriter::into`]).
    /// The string already holds the batch's earlier documents: a value written
    /// in one of them can be copied into this one ([`crate::json::ObjectWriter::copy`]).
    pub fn write(&mut self, channel: u32, write: impl FnOnce(&mut String)) {
        let start = self.text.len();
        write(&mut self.text);
        self.push(channel, start);
    }

    fn push(&mut self, channel: u32, start: usize) {
        self.docs.push(Emitted {
            event: self.event,
            channel,
            json: start as u32..self.text.len() as u32,
        });
    }

    /// The documents emitted so far, `(channel, json)`.
    pub fn docs(&self) -> Vec<(u32, &str)> {
        self.docs
            .iter()
            .map(|d| {
                (
                    d.channel,
                    &self.text[d.json.start as usize..d.json.end as usize],
                )
            })
            .collect()
    }

    /// Takes the documents out as `(channel, json)`, leaving the collector empty.
    pub fn take(&mut self) -> Vec<(u32, String)> {
        let docs = self
            .docs()
            .into_iter()
            .map(|(c, j)| (c, j.to_string()))
            .collect();
        self.clear();
        docs
    }

    /// Drops every document.
    pub fn clear(&mut self) {
        self.text.clear();
        self.docs.clear();
        self.event_text = 0;
        self.event_docs = 0;
    }

    /// Starts the documents of event `event` of a batch.
    pub(crate) fn start_event(&mut self, event: u32) {
        self.event = event;
        self.event_text = self.text.len();
        self.event_docs = self.docs.len();
    }

    /// Drops the documents of the current event (it failed).
    pub(crate) fn discard_event(&mut self) {
        self.text.truncate(self.event_text);
        self.docs.truncate(self.event_docs);
    }

    /// The text and the documents, for the batch's answer.
    pub(crate) fn into_parts(self) -> (String, Vec<Emitted>) {
        (self.text, self.docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_event_loses_only_its_own_documents() {
        let mut emit = Emit::new();
        emit.start_event(0);
        emit.raw_str(0, r#"{"a":1}"#);
        emit.start_event(1);
        emit.raw_str(1, r#"{"b":2}"#);
        emit.discard_event();
        emit.start_event(2);
        emit.write(0, |s| s.push_str(r#"{"c":3}"#));
        let (text, docs) = emit.into_parts();
        assert_eq!(text, r#"{"a":1}{"c":3}"#);
        assert_eq!(docs.len(), 2);
        assert_eq!((docs[1].event, docs[1].channel), (2, 0));
        assert_eq!(
            &text[docs[1].json.start as usize..docs[1].json.end as usize],
            r#"{"c":3}"#
        );
    }
}
