//! The embedded store (`sqlite:PATH`): one SQLite database holding the same
//! indices, documents and ids as Elasticsearch would, written at the
//! pipeline's speed and read by `trace`, `export`, `store` and dashboards.
//!
//! Two tables (`docs/store.md` has the whole schema and how to read it):
//! - `documents`: a row per document in arrival order (`seq`), with its
//!   index, `_id`, time (ms since the epoch) and the typed columns readers
//!   filter and aggregate on ([`crate::document::columns`]), written at insert time;
//! - `blocks`: the documents' bodies, a few hundred consecutive documents per
//!   zstd frame ([`blocks`]). `logpipe store sql` adds a `source(seq)`
//!   function to SQL that gives back a document's exact JSON.
//!
//! Each write is one transaction in WAL mode with `synchronous = FULL`: a
//! crash mid-write leaves the previous state, and a write that returned is on
//! disk. A document whose index and id are present is left as it is, so a
//! replay adds nothing. Retention ([`retention`]) deletes the oldest data in
//! the background.

pub mod blocks;
pub mod reader;
pub mod retention;
pub mod rows;
pub mod schema;
mod seen;
pub mod writer;

pub use reader::{IndexStats, StoreReader};
pub use retention::Retention;
pub use writer::StoreWriter;

use std::path::{Path, PathBuf};

/// A store that cannot be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("store {path}")]
    Sqlite {
        /// The store.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database is not a store this version reads.
    #[error("store {path}")]
    Schema {
        /// The store.
        path: PathBuf,
        /// Why.
        #[source]
        source: schema::SchemaError,
    },
    /// Its directory could not be made.
    #[error("store directory {path}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The file system's error.
        #[source]
        source: std::io::Error,
    },
    /// A block cannot be read.
    #[error("store {path}")]
    Block {
        /// The store.
        path: PathBuf,
        /// What is wrong with the block.
        #[source]
        source: blocks::BlockError,
    },
    /// A block's rows cannot be read.
    #[error("store {path}: block {first_seq}")]
    Rows {
        /// The store.
        path: PathBuf,
        /// The block.
        first_seq: i64,
        /// What is wrong with its rows.
        #[source]
        source: rows::RowsError,
    },
    /// A document's body is missing.
    #[error("store {path}: no block holds document {seq}")]
    MissingBody {
        /// The store.
        path: PathBuf,
        /// The document.
        seq: i64,
    },
    /// There is no store at the path.
    #[error("no store at {path} (a run with `--sink sqlite:{path}` makes one)")]
    Missing {
        /// The path.
        path: PathBuf,
    },
}

/// What the store's operations give.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// SQLite's `source`, on the store at `path`.
    pub fn at(path: &Path, source: rusqlite::Error) -> Self {
        StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(test)]
mod tests;
