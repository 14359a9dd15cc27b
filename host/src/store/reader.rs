//! Reading the store: documents by seq (decompressing their block once for
//! its neighbours), transactions, pages of an index, statistics, the
//! `documents` table queries run on, and the `source(seq)` SQL function of
//! `logpipe store sql`.

use super::blocks::{Block, Codec};
use super::rows::{self, Row};
use super::schema::{self, Found};
use super::{StoreError, StoreResult};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

/// Decoded blocks kept for the next reads (documents read together are
/// mostly neighbours: a transaction, a page in time order).
const CACHED_BLOCKS: usize = 8;

/// The store, open for reading.
pub struct StoreReader {
    path: PathBuf,
    conn: Connection,
    blocks: VecDeque<Block>,
    /// What `temp.documents` of `conn` holds.
    loaded: RefCell<Option<(TimeRange, Option<Vec<String>>)>>,
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

impl TimeRange {
    /// Whether a document of this `time` is in the range: a document without
    /// one is only in the range open on both ends (as `time >= ?` in SQL).
    pub fn contains(&self, time: Option<i64>) -> bool {
        match time {
            Some(t) => self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u),
            None => self.since.is_none() && self.until.is_none(),
        }
    }
}

/// A read-only connection to the store at `path`. It waits for a write in
/// progress to commit (an import's, in rollback-journal mode).
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    // A reader belongs to one thread at a time (`Connection` is not
    // `Sync`): without SQLite's own mutex, which otherwise every column
    // read takes (a fifth of a panel's time over a million rows).
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
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
        let conn = open_read_only(path).map_err(at)?;
        let found = match schema::inspect(&conn) {
            // An import killed mid-write left its rollback journal, which a
            // read-only connection cannot play back: a writer does, once.
            Err(schema::SchemaError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                if e.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK =>
            {
                drop(conn);
                drop(super::StoreWriter::open(
                    path,
                    super::Retention::keep_all(),
                )?);
                return Self::open(path);
            }
            found => found.map_err(|source| StoreError::Schema {
                path: path.to_path_buf(),
                source,
            })?,
        };
        match found {
            Found::Current => Ok(Self {
                path: path.to_path_buf(),
                conn,
                blocks: VecDeque::new(),
                loaded: RefCell::new(None),
            }),
            Found::Empty => Err(StoreError::Missing {
                path: path.to_path_buf(),
            }),
            Found::Older(_) => {
                drop(conn);
                drop(super::StoreWriter::open(
                    path,
                    super::Retention::keep_all(),
                )?);
                Self::open(path)
            }
        }
    }

    /// The connection, with `temp.documents` holding the typed columns of
    /// the documents of `indexes` (all when `None`) in the blocks that reach
    /// into `range`, one row per document as schema 3 had them
    /// ([`schema::document_columns`]). Queries on it still state the time
    /// range: a block reaching into it may hold documents outside it. Loaded
    /// once per range and indexes.
    pub fn documents(
        &self,
        range: TimeRange,
        indexes: Option<&[&str]>,
    ) -> StoreResult<&Connection> {
        let wanted = (
            range,
            indexes.map(|i| i.iter().map(|s| s.to_string()).collect()),
        );
        if self.loaded.borrow().as_ref() != Some(&wanted) {
            *self.loaded.borrow_mut() = None;
            self.load_documents_into(&self.conn, range, indexes)?;
            *self.loaded.borrow_mut() = Some(wanted);
        }
        Ok(&self.conn)
    }

    /// Fills `conn`'s `temp.documents` (made anew) like [`Self::documents`].
    pub fn load_documents_into(
        &self,
        conn: &Connection,
        range: TimeRange,
        indexes: Option<&[&str]>,
    ) -> StoreResult<()> {
        let at = |e| StoreError::at(&self.path, e);
        conn.execute_batch("DROP TABLE IF EXISTS temp.documents")
            .map_err(at)?;
        conn.execute_batch(&schema::documents_table()).map_err(at)?;
        let columns = schema::document_columns();
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let slots: Vec<String> = (1..=names.len() + 1).map(|i| format!("?{i}")).collect();
        let tx = conn.unchecked_transaction().map_err(at)?;
        {
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO temp.documents (seq, {}) VALUES ({})",
                    names.join(", "),
                    slots.join(", ")
                ))
                .map_err(at)?;
            self.for_each_row(range, |row| {
                if indexes.is_some_and(|wanted| !wanted.contains(&row.index)) {
                    return Ok(());
                }
                bind_row(&mut insert, row).map_err(at)
            })?;
        }
        // Queries read ranges of time, most in time order.
        tx.execute_batch("CREATE INDEX temp.documents_time ON documents(time, index_name)")
            .map_err(at)?;
        tx.commit().map_err(at)
    }

    /// The oldest and newest `@timestamp` (ms) of the documents of
    /// `indexes`: blocks are read from each end of `blocks_time` until the
    /// next one cannot hold an older (newer) document than found.
    pub fn time_extent(&self, indexes: &[&str]) -> StoreResult<(Option<i64>, Option<i64>)> {
        let oldest = self.extreme(indexes, "min_time", "ASC", |a, b| a < b)?;
        let newest = self.extreme(indexes, "max_time", "DESC", |a, b| a > b)?;
        Ok((oldest, newest))
    }

    /// The time of `indexes` furthest in `order` of `bound`, the block
    /// column that limits what a block holds on that side.
    fn extreme(
        &self,
        indexes: &[&str],
        bound: &str,
        order: &str,
        better: impl Fn(i64, i64) -> bool,
    ) -> StoreResult<Option<i64>> {
        let at = |e| StoreError::at(&self.path, e);
        let mut read = self
            .conn
            .prepare(&format!(
                "SELECT first_seq, codec, rows, {bound} FROM blocks
                 WHERE {bound} IS NOT NULL ORDER BY {bound} {order}"
            ))
            .map_err(at)?;
        let mut blocks = read.query([]).map_err(at)?;
        let mut found: Option<i64> = None;
        while let Some(block) = blocks.next().map_err(at)? {
            let limit: i64 = block.get(3).map_err(at)?;
            if found.is_some_and(|f| !better(limit, f) && limit != f) {
                break;
            }
            rows::for_each_in(&self.path, block, |row| {
                if let Some(t) = row.columns.time_ms.filter(|_| indexes.contains(&row.index))
                    && found.is_none_or(|f| better(t, f))
                {
                    found = Some(t);
                }
                Ok(())
            })?;
        }
        Ok(found)
    }

    /// Calls `f` with every document's row of the blocks that reach into
    /// `range` (blocks without a time too), block by block in no set order:
    /// a block's rows may be outside the range ([`TimeRange::contains`] says).
    pub fn for_each_row(
        &self,
        range: TimeRange,
        mut f: impl FnMut(&Row<'_>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let at = |e| StoreError::at(&self.path, e);
        let mut read = self
            .conn
            .prepare_cached(
                // Two ranges of `blocks_time`: an OR of both, or SQLite's
                // pick of `blocks_min_time` for a range ending now, read
                // every block's page (60 ms for the last hour of 1.5M
                // documents).
                "SELECT first_seq, codec, rows FROM blocks INDEXED BY blocks_time
                 WHERE max_time >= ?1 AND min_time < ?2
                 UNION ALL
                 SELECT first_seq, codec, rows FROM blocks INDEXED BY blocks_time
                 WHERE max_time IS NULL",
            )
            .map_err(at)?;
        let mut blocks = read
            .query(params![
                range.since.unwrap_or(i64::MIN),
                range.until.unwrap_or(i64::MAX)
            ])
            .map_err(at)?;
        while let Some(block) = blocks.next().map_err(at)? {
            rows::for_each_in(&self.path, block, &mut f)?;
        }
        Ok(())
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
    /// `(index, _id, _source)`. Reads every block's rows (not their bodies):
    /// about a second per million documents.
    pub fn trace(
        &mut self,
        transaction_id: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut found: Vec<(Option<i64>, String, String, i64)> = Vec::new();
        self.for_each_row(TimeRange::default(), |row| {
            if row.columns.transaction_id == Some(transaction_id) {
                found.push((
                    row.columns.time_ms,
                    row.index.to_string(),
                    row.id.to_string(),
                    row.seq,
                ));
            }
            Ok(())
        })?;
        found.sort();
        found
            .into_iter()
            .map(|(_, index, id, seq)| Ok((index, id, self.source(seq)?)))
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
        let conn = self.documents(range, Some(&[index]))?;
        if unbounded && matches!(cursor, Cursor::Start | Cursor::Untimed(_)) {
            let after = match *cursor {
                Cursor::Untimed(seq) => seq,
                _ => i64::MIN,
            };
            rows = conn
                .prepare_cached(
                    "SELECT seq, time FROM temp.documents
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
            rows = conn
                .prepare_cached(
                    "SELECT seq, time FROM temp.documents
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

    /// Documents and time span per index (one pass over the blocks' rows).
    pub fn stats(&self) -> Result<Vec<IndexStats>, StoreError> {
        let mut per_index: BTreeMap<String, (u64, Option<i64>, Option<i64>)> = BTreeMap::new();
        self.for_each_row(TimeRange::default(), |row| {
            let entry = match per_index.get_mut(row.index) {
                Some(entry) => entry,
                None => per_index.entry(row.index.to_string()).or_default(),
            };
            entry.0 += 1;
            if let Some(t) = row.columns.time_ms {
                entry.1 = Some(entry.1.map_or(t, |o: i64| o.min(t)));
                entry.2 = Some(entry.2.map_or(t, |n: i64| n.max(t)));
            }
            Ok(())
        })?;
        Ok(per_index
            .into_iter()
            .map(|(index, (documents, oldest, newest))| IndexStats {
                index,
                documents,
                oldest: oldest.map(rfc3339),
                newest: newest.map(rfc3339),
            })
            .collect())
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

/// Binds one row to `INSERT INTO documents (seq, <document_columns>)` and runs it.
fn bind_row(insert: &mut rusqlite::Statement<'_>, row: &Row<'_>) -> rusqlite::Result<()> {
    // In the order of `schema::document_columns`.
    insert.raw_bind_parameter(1, row.seq)?;
    insert.raw_bind_parameter(2, row.index)?;
    insert.raw_bind_parameter(3, row.id)?;
    insert.raw_bind_parameter(4, row.line_time)?;
    insert.raw_bind_parameter(5, row.columns.time_ms)?;
    insert.raw_bind_parameter(6, row.columns.transaction_id)?;
    insert.raw_bind_parameter(7, row.columns.transaction_id.map(schema::transaction_key))?;
    insert.raw_bind_parameter(8, row.columns.level)?;
    insert.raw_bind_parameter(9, row.columns.http_method)?;
    insert.raw_bind_parameter(10, row.columns.http_path)?;
    insert.raw_bind_parameter(11, row.columns.status_code)?;
    insert.raw_bind_parameter(12, row.columns.prediction)?;
    insert.raw_bind_parameter(13, row.columns.probability)?;
    for (i, value) in (14..).zip(
        row.columns
            .measures
            .iter()
            .chain(row.columns.features.iter()),
    ) {
        insert.raw_bind_parameter(i, value)?;
    }
    insert.raw_execute().map(|_| ())
}

/// The block holding `seq`.
fn read_block(conn: &Connection, path: &Path, seq: i64) -> Result<Block, StoreError> {
    /// first_seq, last_seq, codec, rows, lengths, body.
    type Stored = (i64, i64, i64, Vec<u8>, Vec<u8>, Vec<u8>);
    let row: Option<Stored> = conn
        .prepare_cached(
            "SELECT first_seq, last_seq, codec, rows, lengths, body FROM blocks
             WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row([seq], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .optional()
        })
        .map_err(|e| StoreError::at(path, e))?;
    let missing = || StoreError::MissingBody {
        path: path.to_path_buf(),
        seq,
    };
    let (first_seq, last_seq, codec, rows, lengths, body) = row.ok_or_else(missing)?;
    if last_seq < seq {
        return Err(missing());
    }
    let plain = rows::unpack(path, first_seq, codec, &rows)?;
    let seqs = rows::records_at(path, first_seq, &plain)?
        .into_iter()
        .map(|(r, _)| r.seq)
        .collect();
    Codec::from_code(codec)
        .and_then(|codec| Block::decode(first_seq, seqs, codec, &lengths, &body))
        .map_err(|source| StoreError::Block {
            path: path.to_path_buf(),
            source,
        })
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
