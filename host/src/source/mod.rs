//! Sources of log records.

pub mod error;
pub mod file;
pub mod http;
pub mod record;
pub mod window;

pub use file::FileSource;
pub use record::Record;
