//! Sources of log records.

pub mod file;
pub mod record;
pub mod window;

pub use file::FileSource;
pub use record::Record;
