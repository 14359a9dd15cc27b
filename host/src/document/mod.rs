//! Documents: checking what plugins return, and writing the JSON that sinks store.

pub mod columns;
pub mod line_document;
pub mod prediction;
pub mod timestamp;
pub mod validate;

pub use line_document::{
    LineCopies, LineStamp, LineText, PROVIDED_FIELDS, host_field, write_derived_document,
    write_line_document, write_line_text,
};
pub use prediction::{Prediction, PredictionReader};
pub use timestamp::TimestampConverter;
pub use validate::{CheckedDocument, InvalidDocument, check_document, check_document_reading};

use std::sync::Arc;

/// A document ready for a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Target index name.
    pub index: Arc<str>,
    /// Deterministic `_id`.
    pub id: String,
    /// The `_source`, one compact JSON object; empty once packed into its
    /// [`Self::block`] when the embedded store is the only sink
    /// ([`crate::pipeline::Plan::store_only`]), which reads it from there.
    pub source: String,
    /// The time written in the header of the document's line, its digits as
    /// one number (`2025-11-21 09:12:03` → 20251121091203; 0 without one). Like
    /// the id, a function of the line alone (no time zone): the embedded store
    /// keys ids under it so that the documents of one moment sit together.
    pub line_time: i64,
    /// The values of the prediction it holds, read by the worker while it
    /// checked the document, for the drift monitor; only in the index the
    /// plan reads predictions from ([`crate::pipeline::Plan::predictions`]).
    pub prediction: Option<Box<Prediction>>,
    /// Its typed columns ([`columns::Columns`]) encoded for the embedded
    /// store ([`crate::store::rows::encode_columns`]), taken in by the worker
    /// while it wrote the document (no second reading of its JSON) when a
    /// sink is the store ([`crate::pipeline::Plan::for_store`]); `None` and
    /// the store reads them itself.
    pub columns: Option<Box<[u8]>>,
    /// Its source and those of the documents after it, packed as one block
    /// of the embedded store by the worker (on the first document of each
    /// full block, when a sink is the store); `None` and the store packs
    /// them itself.
    pub block: Option<Box<crate::store::blocks::PackedSources>>,
}
