//! `null:`: encodes documents as a bulk request would carry them, then drops
//! them. For benchmarks (the encoding is part of the measured path) and dry runs.

use super::WriteReport;
use crate::document::Document;
use std::sync::Arc;

/// Discards documents after encoding them.
#[derive(Debug, Default)]
pub struct NullSink {
    /// The bulk body, reused from write to write.
    body: String,
}

impl NullSink {
    /// Encodes and drops `docs`; they count as stored.
    pub fn write(&mut self, docs: &[Document]) -> WriteReport {
        self.body.clear();
        // Documents come grouped by line, a few indices in all: count per index
        // without building a key per document.
        let mut counts: Vec<(&Arc<str>, u64)> = Vec::new();
        for doc in docs {
            super::bulk::encode(doc, &mut self.body);
            match counts.iter_mut().find(|(index, _)| **index == doc.index) {
                Some((_, n)) => *n += 1,
                None => counts.push((&doc.index, 1)),
            }
        }
        std::hint::black_box(&self.body);
        let mut report = WriteReport::default();
        for (index, n) in counts {
            *report.stored.entry(index.to_string()).or_default() += n;
        }
        report
    }
}
