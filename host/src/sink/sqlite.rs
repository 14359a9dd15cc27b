//! `sqlite:PATH`: the embedded store, one SQLite database holding the same
//! indices, documents and ids as Elasticsearch would.
//!
//! Schema (readable with the `sqlite3` tool):
//!
//! ```sql
//! CREATE TABLE documents (
//!     index_name     TEXT NOT NULL,   -- ml-api-logs, ml-api-message, ...
//!     id             TEXT NOT NULL,   -- the document _id (derived from the line id)
//!     source         TEXT NOT NULL,   -- the _source, one JSON object
//!     timestamp      TEXT GENERATED ALWAYS AS (json_extract(source, '$."@timestamp"')) VIRTUAL,
//!     transaction_id TEXT GENERATED ALWAYS AS (json_extract(source, '$.transaction_id')) VIRTUAL,
//!     PRIMARY KEY (index_name, id)
//! ) WITHOUT ROWID;
//! ```
//!
//! Each write is one transaction in WAL mode with `synchronous = FULL`: a crash
//! mid-write leaves the previous state, and a write that returned is on disk.
//! A document whose index and id are already present is left as it is, so a
//! replay adds nothing.

use super::{SinkError, WriteReport};
use crate::document::Document;
use rusqlite::{Connection, OpenFlags, params};
use std::path::{Path, PathBuf};

/// The schema, applied idempotently at open.
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS documents (
    index_name     TEXT NOT NULL,
    id             TEXT NOT NULL,
    source         TEXT NOT NULL,
    timestamp      TEXT GENERATED ALWAYS AS (json_extract(source, '$."@timestamp"')) VIRTUAL,
    transaction_id TEXT GENERATED ALWAYS AS (json_extract(source, '$.transaction_id')) VIRTUAL,
    PRIMARY KEY (index_name, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_transaction ON documents(transaction_id);
CREATE INDEX IF NOT EXISTS documents_time ON documents(index_name, timestamp);
CREATE INDEX IF NOT EXISTS documents_page ON documents(index_name, COALESCE(timestamp, ''), id);
"#;

/// The embedded store.
pub struct SqliteSink {
    path: PathBuf,
    conn: Connection,
}

impl SqliteSink {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
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
                    "INSERT INTO documents (index_name, id, source) VALUES (?1, ?2, ?3)
                     ON CONFLICT (index_name, id) DO NOTHING",
                )
                .map_err(err)?;
            for doc in docs {
                let changed = insert
                    .execute(params![doc.index.as_ref(), doc.id, doc.source])
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
