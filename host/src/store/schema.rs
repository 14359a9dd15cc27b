//! The store's tables, made idempotently at open, and the move of older
//! stores into them.

use crate::document::columns::{FEATURES, MEASURES};
use rusqlite::{Connection, OptionalExtension};

/// The schema's version, in `PRAGMA user_version`: 4 is blocks of documents
/// holding their typed columns (rows) and bodies; 3 had a row per document
/// with indexes, 1 and 2 kept each body in its row.
pub const VERSION: i64 = 4;

/// The typed columns a reader's `documents` table has after `seq`, in
/// order, with their types (the columns of schema 3's table, which queries
/// keep using: [`super::reader::StoreReader::documents`]).
///
/// `transaction_key` is [`transaction_key`] of `transaction_id`.
pub fn document_columns() -> Vec<(String, &'static str)> {
    let mut columns: Vec<(String, &'static str)> = [
        ("index_name", "TEXT NOT NULL"),
        ("id", "TEXT NOT NULL"),
        ("line_time", "INTEGER"),
        ("time", "INTEGER"),
        ("transaction_id", "TEXT"),
        ("transaction_key", "INTEGER"),
        ("level", "TEXT"),
        ("http_method", "TEXT"),
        ("http_path", "TEXT"),
        ("status_code", "INTEGER"),
        ("prediction", "INTEGER"),
        ("probability", "REAL"),
    ]
    .into_iter()
    .map(|(name, ty)| (name.to_string(), ty))
    .collect();
    columns.extend(MEASURES.iter().map(|m| {
        (
            m.to_string(),
            if *m == "function_calls" {
                "INTEGER"
            } else {
                "REAL"
            },
        )
    }));
    // INTEGER affinity: 0 and 1 take no space, a fractional AGE stays REAL.
    columns.extend(
        FEATURES
            .iter()
            .map(|(_, key)| (key.to_ascii_lowercase(), "INTEGER")),
    );
    columns
}

/// The line index, predictions and performance documents under their default
/// names, which the dashboard and drift read.
pub const LINE_INDEX: &str = "ml-api-logs";
/// See [`LINE_INDEX`].
pub const MESSAGE_INDEX: &str = "ml-api-message";
/// See [`LINE_INDEX`].
pub const PERF_INDEX: &str = "ml-api-perfs";
/// The drift verdicts `run` stores (one document per column and verdict).
pub const DRIFT_INDEX: &str = "ml-api-drift";

/// The schema's statements.
///
/// A block is the unit of writing and reading: a few thousand consecutive
/// documents (or fewer, for the newest fragments), with the bounds that
/// pick blocks for a time range (`blocks_time`) or for the ids of a replay
/// (`blocks_line_time`) without reading them. Small columns come first: a
/// query reading them does not walk the pages of the rows and bodies.
/// `loose_ids` keeps the ids of documents without a line time, which
/// blocks' bounds cannot place.
pub fn statements() -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS blocks (
    first_seq     INTEGER PRIMARY KEY,
    last_seq      INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    min_time      INTEGER,
    max_time      INTEGER,
    min_line_time INTEGER,
    max_line_time INTEGER,
    loose         INTEGER NOT NULL,
    codec         INTEGER NOT NULL,
    rows          BLOB NOT NULL,
    lengths       BLOB NOT NULL,
    body          BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_time ON blocks(max_time);
CREATE INDEX IF NOT EXISTS blocks_min_time ON blocks(min_time);
CREATE INDEX IF NOT EXISTS blocks_line_time ON blocks(max_line_time, min_line_time);
CREATE TABLE IF NOT EXISTS loose_ids (
    key    BLOB PRIMARY KEY,
    legacy INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = {VERSION};"
    )
}

/// The table readers query, in their connection's `temp` schema, filled
/// from blocks ([`super::reader::StoreReader::documents`]).
pub fn documents_table() -> String {
    let columns: Vec<String> = document_columns()
        .iter()
        .map(|(name, ty)| format!("    {name} {ty}"))
        .collect();
    format!(
        "CREATE TEMP TABLE documents (\n    seq INTEGER PRIMARY KEY,\n{}\n)",
        columns.join(",\n")
    )
}

/// What the database held when opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// No tables: a new store.
    Empty,
    /// The current schema.
    Current,
    /// A store of an older schema, moved into this one when a writer opens it.
    Older(Older),
}

/// The older schemas a writer moves into the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Older {
    /// Bodies in rows, read by time.
    One,
    /// Bodies in rows, in arrival order (`seq`).
    Two,
    /// A row per document with indexes; bodies in blocks.
    Three,
}

/// Errors that make a database unusable as a store.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A newer logpipe wrote it.
    #[error(
        "the store has schema version {0}; this logpipe reads up to {VERSION} (upgrade logpipe)"
    )]
    Newer(i64),
    /// Some other program's database.
    #[error("not a logpipe store: it has tables but no `documents` or `blocks` table")]
    Foreign,
}

/// What `conn` holds.
pub fn inspect(conn: &Connection) -> Result<Found, SchemaError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Err(SchemaError::Newer(version));
    }
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    if tables == 0 {
        return Ok(Found::Empty);
    }
    if version == VERSION {
        return Ok(Found::Current);
    }
    let documents: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'documents'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let Some(sql) = documents else {
        return Err(SchemaError::Foreign);
    };
    let has = |column: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT count(*) FROM pragma_table_info('documents') WHERE name = ?1",
            [column],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )
    };
    if has("source")? {
        return Ok(Found::Older(if !sql.contains("GENERATED") && has("seq")? {
            Older::Two
        } else {
            Older::One
        }));
    }
    Ok(Found::Older(Older::Three))
}

/// The statement reading a schema 1 or 2 store's documents in the order
/// they are moved: `(index_name, id, source)`.
pub fn older_documents(ordered_by_seq: bool) -> &'static str {
    if ordered_by_seq {
        "SELECT index_name, id, source FROM documents_old ORDER BY seq"
    } else {
        "SELECT index_name, id, source FROM documents_old
         ORDER BY COALESCE(timestamp, ''), index_name, id"
    }
}

/// Renames an older store's tables out of the way (their indexes go with
/// them, dropped first so their names are free).
pub const SET_OLDER_ASIDE: &str = "
DROP INDEX IF EXISTS documents_id;
DROP INDEX IF EXISTS documents_legacy_id;
DROP INDEX IF EXISTS documents_transaction;
DROP INDEX IF EXISTS documents_time;
DROP INDEX IF EXISTS documents_page;
DROP INDEX IF EXISTS documents_calls;
DROP INDEX IF EXISTS documents_predictions;
DROP INDEX IF EXISTS documents_measures;
DROP INDEX IF EXISTS documents_verdicts;
ALTER TABLE documents RENAME TO documents_old;
";

/// Also renames schema 3's blocks out of the way.
pub const SET_BLOCKS_ASIDE: &str = "ALTER TABLE blocks RENAME TO blocks_old;";

/// The indexed key of a transaction id: the first 63 bits of its XXH3 hash
/// (readers then compare the id itself).
pub fn transaction_key(transaction_id: &str) -> i64 {
    (xxhash_rust::xxh3::xxh3_64(transaction_id.as_bytes()) >> 1) as i64
}
