//! The store's tables, made idempotently at open, and the move of older
//! stores into them.

use crate::document::columns::{FEATURES, MEASURES};
use rusqlite::{Connection, OptionalExtension};

/// The schema's version, in `PRAGMA user_version`: 3 is documents with typed
/// columns and bodies in blocks (1 and 2 kept each body in its row).
pub const VERSION: i64 = 3;

/// The columns of `documents` after `seq`, in order, with their types.
///
/// `line_time` is [`Document::line_time`](crate::document::Document::line_time):
/// ids are unique under it (`documents_id`), which keeps the index entries of
/// one moment together (a write touches a few pages at the end of the index,
/// not one per id, which random ids alone would). Time comes first in the
/// indexes for the same reason: new entries go at their end, where SQLite
/// appends cheaply, rather than at the end of each index name's range. It is a function of the line like the
/// id, so uniqueness is the same as by index and id alone. Documents moved
/// from an older store have none (NULL); `documents_legacy_id` keeps them
/// unique and the writer checks new ids against them.
///
/// `transaction_key` is [`transaction_key`] of `transaction_id`. Transaction
/// ids are random: indexed alone, a write would touch most pages of their
/// index. `documents_transaction` puts them under their line's ten minutes
/// (`line_time / 1000`), so a write touches the pages of the last minutes, and
/// a lookup seeks once per ten minutes of data (a year: 52,560 seeks).
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
/// names, for the dashboard's covering indexes ([`statements`]).
pub const LINE_INDEX: &str = "ml-api-logs";
/// See [`LINE_INDEX`].
pub const MESSAGE_INDEX: &str = "ml-api-message";
/// See [`LINE_INDEX`].
pub const PERF_INDEX: &str = "ml-api-perfs";
/// The drift verdicts `run` stores (one document per column and verdict).
pub const DRIFT_INDEX: &str = "ml-api-drift";

/// `text` as an SQL string literal. Index names go into queries as literals,
/// not parameters, so that SQLite can match a partial index's condition.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The condition of `documents_calls`: prediction calls of the line index.
/// A query must state it word for word for SQLite to use the index.
pub fn calls_condition() -> String {
    format!("index_name = '{LINE_INDEX}' AND substr(http_path, 1, 8) = '/predict'")
}

/// The condition of `documents_predictions`.
pub fn predictions_condition() -> String {
    format!("index_name = '{MESSAGE_INDEX}' AND prediction IS NOT NULL")
}

/// The condition of `documents_measures`.
pub fn measures_condition() -> String {
    format!("index_name = '{PERF_INDEX}'")
}

/// The schema's statements.
///
/// Besides the indexes that find documents, three partial indexes cover what
/// the dashboard and drift aggregate over a time range (calls, predictions
/// with their features, performance measures): a range is then read from the
/// index alone, in time order, without visiting the table's rows (about a
/// tenth of the cost). They hold only their documents (about a sixth of the
/// store's each), and new entries go at their end. Each also holds the columns
/// of its condition: SQLite checks them again on every entry, and would read
/// the row for them. A fourth finds the stored drift verdicts, which are few
/// (or none) among the documents of a range.
pub fn statements() -> String {
    let columns: Vec<String> = document_columns()
        .iter()
        .map(|(name, ty)| format!("    {name} {ty}"))
        .collect();
    let features: Vec<String> = FEATURES
        .iter()
        .map(|(_, key)| key.to_ascii_lowercase())
        .collect();
    let indexes = format!(
        "CREATE INDEX IF NOT EXISTS documents_calls
    ON documents(time, status_code, index_name, http_path) WHERE {};
CREATE INDEX IF NOT EXISTS documents_predictions
    ON documents(time, prediction, probability, {}, index_name) WHERE {};
CREATE INDEX IF NOT EXISTS documents_measures
    ON documents(time, {}, index_name) WHERE {};
CREATE INDEX IF NOT EXISTS documents_verdicts
    ON documents(time, index_name) WHERE index_name = '{DRIFT_INDEX}';",
        calls_condition(),
        features.join(", "),
        predictions_condition(),
        MEASURES.join(", "),
        measures_condition(),
    );
    format!(
        "CREATE TABLE IF NOT EXISTS documents (\n    seq INTEGER PRIMARY KEY,\n{}\n);
CREATE UNIQUE INDEX IF NOT EXISTS documents_id ON documents(line_time, index_name, id);
CREATE UNIQUE INDEX IF NOT EXISTS documents_legacy_id ON documents(index_name, id)
    WHERE line_time IS NULL;
CREATE INDEX IF NOT EXISTS documents_time ON documents(time, index_name);
CREATE INDEX IF NOT EXISTS documents_transaction
    ON documents(line_time / 1000, transaction_key) WHERE transaction_key IS NOT NULL;
{indexes}
CREATE TABLE IF NOT EXISTS blocks (
    first_seq INTEGER PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    codec     INTEGER NOT NULL,
    lengths   BLOB NOT NULL,
    body      BLOB NOT NULL
);
PRAGMA user_version = {VERSION};",
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
    /// A store of schema 1 or 2 (bodies in rows); `ordered_by_seq` for 2.
    Older {
        /// Schema 2 has arrival order in `seq`; schema 1 is read by time.
        ordered_by_seq: bool,
    },
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
    #[error("not a logpipe store: it has tables but no `documents` table")]
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
        return Ok(Found::Older {
            ordered_by_seq: !sql.contains("GENERATED") && has("seq")?,
        });
    }
    Ok(Found::Current)
}

/// The statement reading an older store's documents in the order they are
/// moved: `(index_name, id, source)`.
pub fn older_documents(ordered_by_seq: bool) -> &'static str {
    if ordered_by_seq {
        "SELECT index_name, id, source FROM documents_old ORDER BY seq"
    } else {
        "SELECT index_name, id, source FROM documents_old
         ORDER BY COALESCE(timestamp, ''), index_name, id"
    }
}

/// Renames an older store's table out of the way (its indexes go with it,
/// dropped first so their names are free).
pub const SET_OLDER_ASIDE: &str = "
DROP INDEX IF EXISTS documents_id;
DROP INDEX IF EXISTS documents_transaction;
DROP INDEX IF EXISTS documents_time;
DROP INDEX IF EXISTS documents_page;
ALTER TABLE documents RENAME TO documents_old;
";

/// The indexed key of a transaction id: the first 63 bits of its XXH3 hash
/// (readers then compare the id itself).
pub fn transaction_key(transaction_id: &str) -> i64 {
    (xxhash_rust::xxh3::xxh3_64(transaction_id.as_bytes()) >> 1) as i64
}
