//! Sources of log records.

pub mod record;

pub use record::Record;
