//! `sqlite:PATH`: the embedded store, one SQLite database holding the same
//! indices, documents and ids as Elasticsearch would.
//!
//! Schema (readable with the `sqlite3` tool):
//!
//! ```sql
//! CREATE TABLE documents (
//!     seq            INTEGER PRIMARY KEY,  -- arrival order
//!     index_name     TEXT NOT NULL,        -- ml-api-logs, ml-api-message, ...
//!     id             TEXT NOT NULL,        -- the document _id (derived from the line id)
//!     timestamp      TEXT,                 -- the document's "@timestamp"
//!     transaction_id TEXT,                 -- its "transaction_id"
//!     source         TEXT NOT NULL         -- the _source, one JSON object
//! );
//! CREATE UNIQUE INDEX documents_id ON documents(index_name, id);
//! ```
//!
//! Rows are appended in arrival order (a rowid table: inserts never split the
//! pages of earlier rows), and the columns readers filter on are written by
//! logpipe at insert time from the document's top-level fields, not computed
//! from JSON by SQLite on every insert. Stores of the first schema (`timestamp`
//! and `transaction_id` generated from the JSON, rows keyed by index and id) are
//! migrated when opened.
//!
//! Each write is one transaction in WAL mode with `synchronous = FULL`: a crash
//! mid-write leaves the previous state, and a write that returned is on disk.
//! A document whose index and id are already present is left as it is, so a
//! replay adds nothing.

use super::{SinkError, WriteReport};
use crate::document::Document;
use logpipe_plugin_sdk::json::ObjectFields;
use rusqlite::{Connection, OpenFlags, params};
use std::path::{Path, PathBuf};

/// The schema, applied idempotently at open.
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS documents (
    seq            INTEGER PRIMARY KEY,
    index_name     TEXT NOT NULL,
    id             TEXT NOT NULL,
    timestamp      TEXT,
    transaction_id TEXT,
    source         TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_id ON documents(index_name, id);
CREATE INDEX IF NOT EXISTS documents_transaction ON documents(transaction_id)
    WHERE transaction_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS documents_time ON documents(index_name, timestamp);
CREATE INDEX IF NOT EXISTS documents_page ON documents(index_name, COALESCE(timestamp, ''), id);
"#;

/// Moves a store of the first schema into the current one, in one transaction.
const MIGRATE_V1: &str = r#"
DROP INDEX IF EXISTS documents_transaction;
DROP INDEX IF EXISTS documents_time;
DROP INDEX IF EXISTS documents_page;
ALTER TABLE documents RENAME TO documents_v1;
"#;

/// Pages SQLite keeps in memory (negative: KiB): the indices of a store of a
/// few million documents stay cached, so inserts do not read pages back.
const CACHE_KIB: i64 = 64 << 10;

/// WAL pages between two checkpoints (64 MiB of 4 KiB pages). Each checkpoint
/// copies the WAL into the database and syncs it; at SQLite's default (1,000
/// pages) checkpoints took over half the time of a file's import (100k lines
/// of the peers' corpus: 28.6 s at 1,000 pages, 20.9 s at 16,384; BENCHMARKS.md).
const WAL_CHECKPOINT_PAGES: i64 = 16_384;

/// Size the WAL file is cut back to after a checkpoint, so it stays bounded.
const WAL_LIMIT_BYTES: i64 = 64 << 20;

/// The embedded store.
pub struct SqliteSink {
    path: PathBuf,
    conn: Connection,
}

impl SqliteSink {
    /// Opens (creating if needed, migrating a first-schema store) the database at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let tx = conn.transaction()?;
        let first_schema: bool = tx.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'documents' AND sql LIKE '%GENERATED%'",
            [],
            |r| r.get(0),
        )?;
        if first_schema {
            tx.execute_batch(MIGRATE_V1)?;
        }
        tx.execute_batch(SCHEMA)?;
        if first_schema {
            tx.execute_batch(
                "INSERT INTO documents (index_name, id, timestamp, transaction_id, source)
                 SELECT index_name, id, timestamp, transaction_id, source FROM documents_v1
                 ORDER BY COALESCE(timestamp, ''), index_name, id;
                 DROP TABLE documents_v1;",
            )?;
        }
        tx.commit()?;
        Ok(Self {
            path: path.to_path_buf(),
            conn,
        })
    }

    /// Opens an existing store read-only (for `trace` and exports).
    pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
    }

    /// Stores the documents in one transaction.
    pub fn write(&mut self, docs: &[Document]) -> Result<WriteReport, SinkError> {
        let path = self.path.display().to_string();
        let err = |e: rusqlite::Error| SinkError {
            sink: format!("sqlite:{path}"),
            message: e.to_string(),
        };
        let mut report = WriteReport::default();
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO documents (index_name, id, timestamp, transaction_id, source)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (index_name, id) DO NOTHING",
                )
                .map_err(err)?;
            for doc in docs {
                let columns = Columns::of(&doc.source);
                let changed = insert
                    .execute(params![
                        doc.index.as_ref(),
                        doc.id,
                        columns.timestamp,
                        columns.transaction_id,
                        doc.source
                    ])
                    .map_err(err)?;
                if changed == 0 {
                    report.already_present += 1;
                } else {
                    *report.stored.entry(doc.index.to_string()).or_default() += 1;
                }
            }
        }
        tx.commit().map_err(err)?;
        Ok(report)
    }
}

/// The columns of a document that readers filter on, read from its top-level
/// fields in one pass (documents are checked JSON objects; a field that is not
/// a plain string is left out).
#[derive(Debug, Default, PartialEq, Eq)]
struct Columns<'a> {
    timestamp: Option<&'a str>,
    transaction_id: Option<&'a str>,
}

impl<'a> Columns<'a> {
    fn of(source: &'a str) -> Self {
        let mut columns = Columns::default();
        let Ok(mut fields) = ObjectFields::new(source.as_bytes(), 0) else {
            return columns;
        };
        while let Some(Ok(field)) = fields.next() {
            let slot = match &source[field.key.clone()] {
                "@timestamp" => &mut columns.timestamp,
                "transaction_id" => &mut columns.transaction_id,
                _ => continue,
            };
            let value = &source[field.value.clone()];
            // Plain strings only: escapes would need decoding, and ids and
            // timestamps never have any.
            if let Some(text) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'))
                && !text.contains('\\')
            {
                *slot = Some(text);
            }
        }
        columns
    }
}

/// What an index of the store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStats {
    /// The index.
    pub index: String,
    /// Its documents.
    pub documents: u64,
    /// The oldest `@timestamp` (RFC 3339), if any document has one.
    pub oldest: Option<String>,
    /// The newest.
    pub newest: Option<String>,
}

/// Documents and time span per index (read from the `documents_time` index).
pub fn stats(conn: &Connection) -> rusqlite::Result<Vec<IndexStats>> {
    let mut stmt = conn.prepare(
        "SELECT index_name, count(*), min(timestamp), max(timestamp) FROM documents
         GROUP BY index_name ORDER BY index_name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(IndexStats {
            index: r.get(0)?,
            documents: r.get::<_, i64>(1)? as u64,
            oldest: r.get(2)?,
            newest: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// The documents of one transaction across the indices, oldest first:
/// `(index, _id, _source)`.
pub fn trace(
    conn: &Connection,
    transaction_id: &str,
) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT index_name, id, source FROM documents WHERE transaction_id = ?1
         ORDER BY timestamp, index_name, id",
    )?;
    let rows = stmt.query_map([transaction_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn doc(index: &str, id: &str, source: &str) -> Document {
        Document {
            index: Arc::from(index),
            id: id.into(),
            source: source.into(),
        }
    }

    #[test]
    fn columns_are_read_from_top_level_strings() {
        assert_eq!(
            Columns::of(
                r#"{"a":{"transaction_id":"inner"},"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1"}"#
            ),
            Columns {
                timestamp: Some("2025-11-21T09:12:03Z"),
                transaction_id: Some("t1")
            }
        );
        assert_eq!(Columns::of(r#"{"transaction_id":7}"#), Columns::default());
        assert_eq!(Columns::of("not json"), Columns::default());
    }

    #[test]
    fn a_first_schema_store_is_migrated_with_its_documents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                r#"CREATE TABLE documents (
                    index_name TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL,
                    timestamp TEXT GENERATED ALWAYS AS (json_extract(source, '$."@timestamp"')) VIRTUAL,
                    transaction_id TEXT GENERATED ALWAYS AS (json_extract(source, '$.transaction_id')) VIRTUAL,
                    PRIMARY KEY (index_name, id)) WITHOUT ROWID;
                CREATE INDEX documents_transaction ON documents(transaction_id);
                INSERT INTO documents (index_name, id, source) VALUES
                    ('ml-api-logs', 'b', '{"@timestamp":"2025-11-21T09:12:04Z","transaction_id":"t2"}'),
                    ('ml-api-logs', 'a', '{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1"}');"#,
            )
            .unwrap();
        }
        let mut s = SqliteSink::open(&path).unwrap();
        let again = s
            .write(&[doc(
                "ml-api-logs",
                "a",
                r#"{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1"}"#,
            )])
            .unwrap();
        assert_eq!(again.already_present, 1, "the migrated ids are known");
        let conn = SqliteSink::open_read_only(&path).unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT id, transaction_id FROM documents ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [("a".into(), "t1".into()), ("b".into(), "t2".into())]);
        assert_eq!(trace(&conn, "t2").unwrap().len(), 1);
        assert_eq!(
            stats(&conn).unwrap(),
            [IndexStats {
                index: "ml-api-logs".into(),
                documents: 2,
                oldest: Some("2025-11-21T09:12:03Z".into()),
                newest: Some("2025-11-21T09:12:04Z".into()),
            }]
        );
    }

    #[test]
    fn replays_add_nothing_and_generated_columns_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut s = SqliteSink::open(&path).unwrap();
        let docs = [
            doc(
                "ml-api-logs",
                "a",
                r#"{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1"}"#,
            ),
            doc("ml-api-message", "a", r#"{"transaction_id":"t1"}"#),
        ];
        let r = s.write(&docs).unwrap();
        assert_eq!(r.stored.values().sum::<u64>(), 2);
        let again = s.write(&docs).unwrap();
        assert_eq!((again.stored.len(), again.already_present), (0, 2));
        let conn = SqliteSink::open_read_only(&path).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM documents WHERE transaction_id = 't1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
        let ts: String = conn
            .query_row(
                "SELECT timestamp FROM documents WHERE index_name = 'ml-api-logs'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(ts, "2025-11-21T09:12:03Z");
    }
}
