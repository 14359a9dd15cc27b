//! Reading the store: documents by seq (decompressing their block once for
//! its neighbours), transactions, pages of an index, statistics, and the
//! `source(seq)` SQL function of `logpipe store sql`.

use super::StoreError;
use super::blocks::{Block, Codec};
use super::schema::{self, Found};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// Decoded blocks kept for the next reads (documents read together are
/// mostly neighbours: a transaction, a page in time order).
const CACHED_BLOCKS: usize = 8;

/// The store, open for reading.
pub struct StoreReader {
    path: PathBuf,
    conn: Connection,
    blocks: VecDeque<Block>,
}

/// What an index of the store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStats {
    /// The index.
    pub index: String,
    /// Its documents.
    pub documents: u64,
    /// The oldest `@timestamp` (RFC 3339, UTC), if any document has one.
    pub oldest: Option<String>,
    /// The newest.
    pub newest: Option<String>,
}

/// Where a reading of an index in time order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Nothing read yet.
    Start,
    /// Documents without a time come first, by seq; the last one read.
    Untimed(i64),
    /// Then documents by `(time, seq)`; the last one read.
    Timed(i64, i64),
}

/// A time range in milliseconds since the epoch: `since` inclusive, `until`
/// exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub since: Option<i64>,
    /// Exclusive end.
    pub until: Option<i64>,
}

impl StoreReader {
    /// Opens the store at `path` read-only. A store of an older schema is
    /// first moved into the current one (which needs write access once).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let at = |e| StoreError::at(path, e);
        // A reader belongs to one thread at a time (`Connection` is not
        // `Sync`): without SQLite's own mutex, which otherwise every column
        // read takes (a fifth of a panel's time over a million rows).
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(at)?;
        let found = schema::inspect(&conn).map_err(|source| StoreError::Schema {
            path: path.to_path_buf(),
            source,
        })?;
        match found {
            Found::Current => Ok(Self {
                path: path.to_path_buf(),
                conn,
                blocks: VecDeque::new(),
            }),
            Found::Empty => Err(StoreError::Missing {
                path: path.to_path_buf(),
            }),
            Found::Older { .. } => {
                drop(conn);
                drop(super::StoreWriter::open(
                    path,
                    super::Retention::keep_all(),
                )?);
                Self::open(path)
            }
        }
    }

    /// The connection, for queries on the typed columns.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The path of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The exact JSON of document `seq`.
    pub fn source(&mut self, seq: i64) -> Result<String, StoreError> {
        if let Some(i) = self
            .blocks
            .iter()
            .position(|b| b.first_seq <= seq && seq <= b.last_seq())
        {
            let block = self.blocks.remove(i).expect("found");
            self.blocks.push_front(block);
        } else {
            let block = read_block(&self.conn, &self.path, seq)?;
            if self.blocks.len() == CACHED_BLOCKS {
                self.blocks.pop_back();
            }
            self.blocks.push_front(block);
        }
        self.blocks[0]
            .document(seq)
            .map(str::to_string)
            .ok_or_else(|| StoreError::MissingBody {
                path: self.path.clone(),
                seq,
            })
    }

    /// The documents of one transaction across the indices, oldest first:
    /// `(index, _id, _source)`.
    pub fn trace(
        &mut self,
        transaction_id: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows: Vec<(i64, String, String)> = self
            .conn
            .prepare_cached(
                // One seek per ten minutes of data (schema::document_columns),
                // then the documents moved from an older store.
                "WITH RECURSIVE buckets(b) AS (
                     SELECT min(line_time / 1000) FROM documents
                     WHERE transaction_key IS NOT NULL
                     UNION ALL
                     SELECT (SELECT min(line_time / 1000) FROM documents
                             WHERE transaction_key IS NOT NULL AND line_time / 1000 > b)
                     FROM buckets WHERE b IS NOT NULL)
                 SELECT seq, index_name, id, time FROM documents
                 WHERE transaction_key IS NOT NULL
                   AND line_time / 1000 IN (SELECT b FROM buckets WHERE b IS NOT NULL)
                   AND transaction_key = ?1 AND transaction_id = ?2
                 UNION ALL
                 SELECT seq, index_name, id, time FROM documents
                 WHERE transaction_key IS NOT NULL AND line_time / 1000 IS NULL
                   AND transaction_key = ?1 AND transaction_id = ?2
                 ORDER BY time, index_name, id",
            )
            .and_then(|mut s| {
                s.query_map(
                    params![schema::transaction_key(transaction_id), transaction_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?
                .collect()
            })
            .map_err(|e| StoreError::at(&self.path, e))?;
        rows.into_iter()
            .map(|(seq, index, id)| Ok((index, id, self.source(seq)?)))
            .collect()
    }

    /// The next page of `index` in `(time, seq)` order within `range`
    /// (documents without a time come first when the range is unbounded):
    /// up to `limit` `(seq, source)`, `cursor` moved past them.
    pub fn page(
        &mut self,
        index: &str,
        range: TimeRange,
        cursor: &mut Cursor,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let at = |e| StoreError::at(&self.path, e);
        let limit = limit as i64;
        let mut rows: Vec<(i64, Option<i64>)> = Vec::new();
        let unbounded = range.since.is_none() && range.until.is_none();
        if unbounded && matches!(cursor, Cursor::Start | Cursor::Untimed(_)) {
            let after = match *cursor {
                Cursor::Untimed(seq) => seq,
                _ => i64::MIN,
            };
            rows = self
                .conn
                .prepare_cached(
                    "SELECT seq, time FROM documents
                     WHERE index_name = ?1 AND time IS NULL AND seq > ?2 ORDER BY seq LIMIT ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![index, after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .map_err(at)?;
            if rows.is_empty() {
                *cursor = Cursor::Timed(i64::MIN, i64::MIN);
            }
        }
        if rows.is_empty() {
            let (time, seq) = match *cursor {
                Cursor::Timed(t, s) => (t, s),
                _ => (i64::MIN, i64::MIN),
            };
            rows = self
                .conn
                .prepare_cached(
                    // A range on `documents_time` (time, index_name), whose
                    // entries of one index are in (time, seq) order.
                    "SELECT seq, time FROM documents
                     WHERE time >= max(?2, ?4) AND time < ?5
                       AND index_name = ?1 AND (time > ?2 OR seq > ?3)
                     ORDER BY time, seq LIMIT ?6",
                )
                .and_then(|mut s| {
                    s.query_map(
                        params![
                            index,
                            time,
                            seq,
                            range.since.unwrap_or(i64::MIN),
                            range.until.unwrap_or(i64::MAX),
                            limit
                        ],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .collect()
                })
                .map_err(at)?;
        }
        let mut page = Vec::with_capacity(rows.len());
        for (seq, time) in rows {
            *cursor = match time {
                Some(t) => Cursor::Timed(t, seq),
                None => Cursor::Untimed(seq),
            };
            page.push((seq, self.source(seq)?));
        }
        Ok(page)
    }

    /// Documents and time span per index.
    pub fn stats(&self) -> Result<Vec<IndexStats>, StoreError> {
        let stats = self
            .conn
            // One pass over `documents_time`, which holds both columns.
            .prepare(
                "SELECT index_name, count(*), min(time), max(time) FROM documents
                 GROUP BY index_name ORDER BY index_name",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(IndexStats {
                        index: r.get(0)?,
                        documents: r.get::<_, i64>(1)? as u64,
                        oldest: r.get::<_, Option<i64>>(2)?.map(rfc3339),
                        newest: r.get::<_, Option<i64>>(3)?.map(rfc3339),
                    })
                })?
                .collect()
            })
            .map_err(|e| StoreError::at(&self.path, e))?;
        Ok(stats)
    }

    /// Adds `source(seq)` to `conn`'s SQL: the exact JSON of a document of
    /// this store (NULL for a seq without one). The function reads through
    /// this reader, moved into it.
    pub fn install_source_function(self, conn: &Connection) -> rusqlite::Result<()> {
        let reader = std::sync::Mutex::new(self);
        conn.create_scalar_function(
            "source",
            1,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            move |ctx| {
                let Some(seq) = ctx.get::<Option<i64>>(0)? else {
                    return Ok(None);
                };
                let mut reader = reader.lock().unwrap_or_else(|e| e.into_inner());
                match reader.source(seq) {
                    Ok(text) => Ok(Some(text)),
                    Err(StoreError::MissingBody { .. }) => Ok(None),
                    Err(e) => Err(rusqlite::Error::UserFunctionError(Box::new(e))),
                }
            },
        )
    }
}

/// The block holding `seq`.
fn read_block(conn: &Connection, path: &Path, seq: i64) -> Result<Block, StoreError> {
    let row: Option<(i64, i64, Vec<u8>, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT first_seq, codec, lengths, body FROM blocks
             WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row([seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()
        })
        .map_err(|e| StoreError::at(path, e))?;
    let missing = || StoreError::MissingBody {
        path: path.to_path_buf(),
        seq,
    };
    let (first_seq, codec, lengths, body) = row.ok_or_else(missing)?;
    let block = Codec::from_code(codec)
        .and_then(|codec| Block::decode(first_seq, codec, &lengths, &body))
        .map_err(|source| StoreError::Block {
            path: path.to_path_buf(),
            source,
        })?;
    if block.last_seq() < seq {
        return Err(missing());
    }
    Ok(block)
}

/// Milliseconds since the epoch as RFC 3339 UTC text (seconds, or
/// milliseconds when there are some).
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) if ms % 1000 == 0 => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}
