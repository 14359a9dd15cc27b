//! Writing documents: one transaction per write, rows with typed columns,
//! bodies appended to the newest block.

use super::StoreError;
use super::blocks::{BLOCK_BYTES, Block, BlockBuilder, BlockError, Codec, compressor};
use super::retention::{Retention, RetentionWorker};
use super::schema::{self, Found};
use crate::document::Document;
use crate::document::columns::Columns;
use rayon::prelude::*;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// What one write did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// Documents newly stored, per index.
    pub stored: std::collections::BTreeMap<String, u64>,
    /// Documents whose index and id were already there.
    pub already_present: u64,
}

/// Pages SQLite keeps in memory (negative: KiB): the indexes of a store of a
/// few million documents stay cached, so inserts do not read pages back.
const CACHE_KIB: i64 = 64 << 10;

/// WAL pages between two checkpoints (64 MiB of 4 KiB pages). Each checkpoint
/// copies the WAL into the database and syncs it; at SQLite's default (1,000
/// pages) checkpoints took over half the time of a file's import (BENCHMARKS.md).
const WAL_CHECKPOINT_PAGES: i64 = 16_384;

/// Size the WAL file is cut back to after a checkpoint, so it stays bounded.
const WAL_LIMIT_BYTES: i64 = 64 << 20;

/// Plain fragments at most at the end of the store: past it, a write gathers
/// them (into one fragment, or a block once full), so that a write never
/// reads more than this many (a pipeline writing one line at a time would
/// otherwise leave thousands before a block fills).
const MAX_FRAGMENTS: usize = 64;

/// Opens `path` with the store's settings (shared by the writer and the
/// retention worker).
pub fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // Lets retention give deleted pages back to the file system. Only takes
    // effect on a new database (before WAL mode writes its header).
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A write that returned is on disk: the checkpoint advances after it.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// The embedded store, open for writing.
pub struct StoreWriter {
    path: PathBuf,
    conn: Connection,
    zstd: zstd::bulk::Compressor<'static>,
    _retention: Option<RetentionWorker>,
}

impl StoreWriter {
    /// Opens the store at `path` (creating it, or moving an older store into
    /// the current schema) and starts its retention worker.
    pub fn open(path: &Path, retention: Retention) -> Result<Self, StoreError> {
        let at = |e: rusqlite::Error| StoreError::at(path, e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        let mut conn = connect(path).map_err(at)?;
        let mut zstd = compressor();
        let found = schema::inspect(&conn).map_err(|e| StoreError::Schema {
            path: path.to_path_buf(),
            source: e,
        })?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        if let Found::Older { ordered_by_seq } = found {
            tx.execute_batch(schema::SET_OLDER_ASIDE).map_err(at)?;
            tx.execute_batch(&schema::statements()).map_err(at)?;
            let moved = move_older_documents(path, &tx, &mut zstd, ordered_by_seq)?;
            tx.execute_batch("DROP TABLE documents_old").map_err(at)?;
            tracing::info!(store = %path.display(), documents = moved, "moved the store into schema {}", schema::VERSION);
        } else {
            tx.execute_batch(&schema::statements()).map_err(at)?;
        }
        tx.commit().map_err(at)?;
        let retention = RetentionWorker::start(path, retention).map_err(at)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn,
            zstd,
            _retention: retention,
        })
    }

    /// The store's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores the documents in one transaction; a document whose index and id
    /// are already present is left as it is (a replay adds nothing).
    pub fn write(&mut self, docs: &[Document]) -> Result<Written, StoreError> {
        let at = |e: rusqlite::Error| StoreError::at(&self.path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        let report = insert(
            &self.path,
            &tx,
            &mut self.zstd,
            docs.iter().map(|d| Incoming {
                index: &d.index,
                id: &d.id,
                source: &d.source,
                line_time: Some(d.line_time),
            }),
        )?;
        tx.commit().map_err(at)?;
        Ok(report)
    }
}

/// Moves the documents of an older store, 10,000 at a time.
fn move_older_documents(
    path: &Path,
    tx: &Transaction<'_>,
    zstd: &mut zstd::bulk::Compressor<'static>,
    ordered_by_seq: bool,
) -> Result<u64, StoreError> {
    let at = |e| StoreError::at(path, e);
    let mut read = tx
        .prepare(schema::older_documents(ordered_by_seq))
        .map_err(at)?;
    let mut rows = read.query([]).map_err(at)?;
    let mut moved = 0;
    let mut chunk: Vec<(String, String, String)> = Vec::with_capacity(10_000);
    loop {
        let row = rows.next().map_err(at)?;
        if let Some(row) = row {
            chunk.push((
                row.get(0).map_err(at)?,
                row.get(1).map_err(at)?,
                row.get(2).map_err(at)?,
            ));
        }
        if chunk.len() == 10_000 || (row.is_none() && !chunk.is_empty()) {
            let report = insert(
                path,
                tx,
                zstd,
                chunk.iter().map(|(index, id, source)| Incoming {
                    index,
                    id,
                    source,
                    line_time: None,
                }),
            )?;
            moved += report.stored.values().sum::<u64>();
            chunk.clear();
        }
        if row.is_none() {
            return Ok(moved);
        }
    }
}

/// Inserts documents `(index, id, source)` in `tx`: a row each (unless its
/// index and id are present), bodies appended to the newest block, which is
/// compressed once it holds [`BLOCK_BYTES`] and stays plain until then.
fn insert<'d>(
    path: &Path,
    tx: &Transaction<'_>,
    zstd: &mut zstd::bulk::Compressor<'static>,
    docs: impl Iterator<Item = Incoming<'d>>,
) -> Result<Written, StoreError> {
    insert_rows(tx, zstd, docs).map_err(|e| match e {
        Fault::Sqlite(e) => StoreError::at(path, e),
        Fault::Block(source) => StoreError::Block {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// A document to insert.
struct Incoming<'d> {
    index: &'d str,
    id: &'d str,
    source: &'d str,
    /// NULL for documents moved from an older store.
    line_time: Option<i64>,
}

/// Why [`insert_rows`] failed.
enum Fault {
    Sqlite(rusqlite::Error),
    Block(BlockError),
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Self {
        Fault::Sqlite(e)
    }
}

fn insert_rows<'d>(
    tx: &Transaction<'_>,
    zstd: &mut zstd::bulk::Compressor<'static>,
    docs: impl Iterator<Item = Incoming<'d>>,
) -> Result<Written, Fault> {
    let last_seq: i64 = tx.query_row(
        "SELECT max(COALESCE((SELECT max(last_seq) FROM blocks), 0),
                    COALESCE((SELECT max(seq) FROM documents), 0))",
        [],
        |r| r.get(0),
    )?;
    let fragments = plain_fragments(tx, last_seq)?;
    let fragment_bytes: usize = fragments.iter().map(|f| f.2).sum();
    let mut block = BlockBuilder::new(last_seq + 1);
    // Whether the fragments were taken into `block` (or there are none).
    let mut gathered = fragments.is_empty();
    // Blocks that are full, compressed together at the end.
    let mut full = Vec::new();

    let mut row = tx.prepare_cached(insert_statement())?;
    let mut report = Written::default();
    // Documents moved from an older store are unique by index and id alone.
    let legacy: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM documents INDEXED BY documents_legacy_id
                        WHERE line_time IS NULL)",
        [],
        |r| r.get(0),
    )?;
    let mut legacy_twin = tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM documents INDEXED BY documents_legacy_id
                        WHERE index_name = ?1 AND id = ?2 AND line_time IS NULL)",
    )?;
    for doc in docs {
        let seq = block.last_seq() + 1;
        let present = legacy
            && doc.line_time.is_some()
            && legacy_twin.query_row([doc.index, doc.id], |r| r.get::<_, bool>(0))?;
        if present || bind_row(&mut row, seq, &doc, &Columns::of(doc.source))? == 0 {
            report.already_present += 1;
            continue;
        }
        block.push(doc.source.as_bytes());
        if !gathered
            && (fragment_bytes + block.text_bytes() >= BLOCK_BYTES
                || fragments.len() >= MAX_FRAGMENTS)
        {
            block = gather(tx, &fragments, &block)?;
            gathered = true;
        }
        match report.stored.get_mut(doc.index) {
            Some(n) => *n += 1,
            None => {
                report.stored.insert(doc.index.to_string(), 1);
            }
        }
        if block.text_bytes() >= BLOCK_BYTES {
            full.push(std::mem::replace(&mut block, BlockBuilder::new(seq + 1)));
        }
    }

    // Compression is the writer's largest CPU work besides SQLite's: full
    // blocks are compressed on every core (the pipeline's workers mostly wait
    // for the store when it is the slower stage).
    let compressed: Vec<Cow<'_, [u8]>> = if full.len() > 1 {
        full.par_iter()
            .map(|b| b.encode(Codec::Zstd, &mut compressor()).1)
            .collect()
    } else {
        full.iter().map(|b| b.encode(Codec::Zstd, zstd).1).collect()
    };
    let mut store = tx.prepare_cached(
        "INSERT OR REPLACE INTO blocks (first_seq, last_seq, codec, lengths, body)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (b, body) in full.iter().zip(&compressed) {
        store.execute(params![
            b.first_seq(),
            b.last_seq(),
            Codec::Zstd as i64,
            b.lengths(),
            body.as_ref()
        ])?;
    }
    // What does not fill a block yet is stored plain, a fragment per write,
    // until later writes fill one (when gathered, `block` holds the fragments).
    if !block.is_empty() {
        store.execute(params![
            block.first_seq(),
            block.last_seq(),
            Codec::Plain as i64,
            block.lengths(),
            block.text()
        ])?;
    }
    Ok(report)
}

/// The plain blocks at the end of the store, oldest first, each
/// `(first_seq, last_seq, body bytes)`: consecutive seqs ending at `last_seq`.
fn plain_fragments(
    tx: &Transaction<'_>,
    last_seq: i64,
) -> rusqlite::Result<Vec<(i64, i64, usize)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT first_seq, last_seq, codec, length(body) FROM blocks ORDER BY first_seq DESC",
    )?;
    let mut rows = stmt.query([])?;
    let mut fragments = Vec::new();
    let mut next = last_seq + 1;
    while let Some(row) = rows.next()? {
        let (first, last, codec, bytes): (i64, i64, i64, i64) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        if codec != Codec::Plain as i64 || last + 1 != next {
            break;
        }
        fragments.push((first, last, bytes as usize));
        next = first;
    }
    fragments.reverse();
    Ok(fragments)
}

/// The fragments' documents followed by `newest`'s, as one block; the
/// fragments' rows are deleted (the block replaces them when stored).
fn gather(
    tx: &Transaction<'_>,
    fragments: &[(i64, i64, usize)],
    newest: &BlockBuilder,
) -> Result<BlockBuilder, Fault> {
    let (first, _, _) = fragments[0];
    let (last_first, _, _) = fragments[fragments.len() - 1];
    let mut whole = BlockBuilder::new(first);
    {
        let mut read = tx.prepare_cached(
            "SELECT first_seq, lengths, body FROM blocks
             WHERE first_seq BETWEEN ?1 AND ?2 ORDER BY first_seq",
        )?;
        let mut rows = read.query([first, last_first])?;
        while let Some(row) = rows.next()? {
            let (first_seq, lengths, body): (i64, Vec<u8>, Vec<u8>) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            let fragment =
                Block::decode(first_seq, Codec::Plain, &lengths, &body).map_err(Fault::Block)?;
            whole.push_block(&fragment);
        }
    }
    tx.execute(
        "DELETE FROM blocks WHERE first_seq BETWEEN ?1 AND ?2",
        [first, last_first],
    )?;
    whole.append(newest);
    Ok(whole)
}

/// `INSERT INTO documents (seq, <columns>) VALUES (?1, ...) ON CONFLICT DO
/// NOTHING`, made once.
fn insert_statement() -> &'static str {
    static STATEMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let columns = schema::document_columns();
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let slots: Vec<String> = (1..=columns.len() + 1).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO documents (seq, {}) VALUES ({}) ON CONFLICT DO NOTHING",
            names.join(", "),
            slots.join(", ")
        )
    });
    &STATEMENT
}

/// Binds one document's row to the insert statement and runs it; returns the
/// rows added (0 when its index and id were present).
fn bind_row(
    row: &mut rusqlite::CachedStatement<'_>,
    seq: i64,
    doc: &Incoming<'_>,
    c: &Columns<'_>,
) -> rusqlite::Result<usize> {
    // In the order of `schema::document_columns`.
    row.raw_bind_parameter(1, seq)?;
    row.raw_bind_parameter(2, doc.index)?;
    row.raw_bind_parameter(3, doc.id)?;
    row.raw_bind_parameter(4, doc.line_time)?;
    row.raw_bind_parameter(5, c.time_ms)?;
    row.raw_bind_parameter(6, c.transaction_id)?;
    row.raw_bind_parameter(7, c.transaction_id.map(schema::transaction_key))?;
    row.raw_bind_parameter(8, c.level)?;
    row.raw_bind_parameter(9, c.http_method)?;
    row.raw_bind_parameter(10, c.http_path)?;
    row.raw_bind_parameter(11, c.status_code)?;
    row.raw_bind_parameter(12, c.prediction)?;
    row.raw_bind_parameter(13, c.probability)?;
    for (i, value) in (14..).zip(c.measures.iter().chain(c.features.iter())) {
        row.raw_bind_parameter(i, value)?;
    }
    row.raw_execute()
}
