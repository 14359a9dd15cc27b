//! Collecting a parser's documents.

/// Where a parser puts the documents of one event.
#[derive(Debug, Default)]
pub struct Emit {
    docs: Vec<(u32, String)>,
}

impl Emit {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Emits a document already serialised as one JSON object on `channel`
    /// (an index into [`crate::Info::channels`]).
    pub fn raw(&mut self, channel: u32, json: String) {
        self.docs.push((channel, json));
    }

    /// Serialises `doc` (which must serialise to a JSON object) on `channel`.
    pub fn json<T: serde::Serialize + ?Sized>(&mut self, channel: u32, doc: &T) {
        // Serialising plain data into a String cannot fail.
        let json = serde_json::to_string(doc).expect("document serialises");
        self.docs.push((channel, json));
    }

    /// The documents emitted so far, `(channel, json)`.
    pub fn docs(&self) -> &[(u32, String)] {
        &self.docs
    }

    /// Takes the documents out, leaving the collector empty.
    pub fn take(&mut self) -> Vec<(u32, String)> {
        std::mem::take(&mut self.docs)
    }

    /// Drops the documents emitted so far.
    pub fn clear(&mut self) {
        self.docs.clear();
    }
}
