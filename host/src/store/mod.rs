//! The embedded store (`sqlite:PATH`): one SQLite database holding the same
//! indices, documents and ids as Elasticsearch would, written at the
//! pipeline's speed and read by `trace`, `export`, `store` and dashboards.
//!
//! Documents are stored in blocks of consecutive ones ([`blocks`]), each
//! with their typed columns as compact records ([`rows`]: index, `_id`, time
//! and what readers filter and aggregate on, read by the pipeline's workers),
//! their bodies (LZ4) and the bounds that pick blocks for a time range
//! without reading them. Which ids are stored is known without an index
//! entry per document (`seen.rs`). Readers decode the rows of the blocks of
//! their range; `logpipe store sql` loads them into a `documents` table and
//! adds a `source(seq)` function that gives back a document's exact JSON.
//! `docs/store.md` has the whole format.
//!
//! Each write is one transaction in WAL mode with `synchronous = FULL`: a
//! crash mid-write leaves the previous state, and a write that returned is on
//! disk. A document whose index and id are present is left as it is, so a
//! replay adds nothing. Retention ([`retention`]) deletes the oldest data in
//! the background.

pub mod blocks;
pub mod journal;
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
