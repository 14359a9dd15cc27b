//! Writing documents: one transaction per write; each document's typed
//! columns (its row) and body appended to the newest block.

use super::StoreError;
use super::blocks::{
    BLOCK_BYTES, Block, BlockBuilder, BlockError, Bounds, Codec, PackBuffer, PackedSources, Spare,
};
use super::journal::{CHANGE_WAIT, Journal};
use super::retention::{Retention, RetentionWorker};
use super::rows;
use super::schema::{self, Found, Older};
use super::seen::{self, Seen};
use crate::document::Document;
use crate::document::columns::Columns;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What one write did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// Documents newly stored, per index.
    pub stored: std::collections::BTreeMap<String, u64>,
    /// Documents whose index and id were already there.
    pub already_present: u64,
}

/// Pages SQLite keeps in memory (KiB): the tables' inner pages and the last
/// fragments. Blocks are written once and read back only when gathered, so a
/// larger cache only holds pages nobody reads again (and costs their
/// allocation: BENCHMARKS.md).
const CACHE_KIB: i64 = 4 << 10;

/// The page size of new stores (BENCHMARKS.md): a block is a few dozen KiB
/// once packed; with 4 KiB pages each took a dozen WAL frames, with 64 KiB
/// pages most took a page of their own, half empty.
const PAGE_BYTES: i64 = 32 << 10;

/// WAL bytes between two checkpoints (64 MiB). Each checkpoint
/// copies the WAL into the database and syncs it; at SQLite's default (1,000
/// pages) checkpoints took over half the time of a file's import (BENCHMARKS.md).
const WAL_CHECKPOINT_BYTES: i64 = 64 << 20;

/// Size the WAL file is cut back to after a checkpoint, so it stays bounded.
const WAL_LIMIT_BYTES: i64 = 64 << 20;

/// Plain fragments at most at the end of the store: past it, a write gathers
/// them (into one fragment, or a block once full), so that a write never
/// reads more than this many (a pipeline writing one line at a time would
/// otherwise leave thousands before a block fills).
const MAX_FRAGMENTS: usize = 64;

/// Opens `path` with the store's settings, in WAL mode.
pub fn connect(path: &Path) -> rusqlite::Result<Connection> {
    connect_journaled(path, Journal::Wal).map(|(conn, _)| conn)
}

/// How long a write waits for readers to let go in rollback-journal mode:
/// an import's file waits, and a large store's reader reads for seconds.
const IMPORT_BUSY_WAIT: Duration = Duration::from_secs(60);

/// Opens `path` with the store's settings (shared by the writer and the
/// retention worker), in `journal` mode if it can change to it; returns the
/// mode in effect.
pub fn connect_journaled(path: &Path, journal: Journal) -> rusqlite::Result<(Connection, Journal)> {
    let conn = Connection::open(path)?;
    // Blocks are hundreds of KiB: with SQLite's 4 KiB pages each took a
    // hundred WAL frames, each a system call, written again and read back by
    // checkpoints. New stores only, set before `auto_vacuum` (which otherwise fixes it).
    conn.pragma_update(None, "page_size", PAGE_BYTES)?;
    // Lets retention give deleted pages back to the file system. Only takes
    // effect on a new database (before WAL mode writes its header).
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    let journal = switch(&conn, journal, CHANGE_WAIT)?;
    // A write that returned is on disk: the checkpoint advances after it.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    // Statement journals (a block's insert may replace gathered fragments)
    // in memory: in a file, their writes were 3 % of an import's time.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // In pages: those of this store (older stores keep 4 KiB pages).
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        WAL_CHECKPOINT_BYTES / page.max(512),
    )?;
    conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES)?;
    Ok((conn, journal))
}

/// Sets `conn`'s store to `journal` if it can within `wait` (see
/// [`Journal::set`]), and `conn`'s busy timeout for the mode in effect,
/// which it returns.
fn switch(conn: &Connection, journal: Journal, wait: Duration) -> rusqlite::Result<Journal> {
    let now = journal.set(conn, wait)?;
    conn.busy_timeout(match now {
        Journal::Wal => Duration::from_secs(10),
        Journal::Rollback => IMPORT_BUSY_WAIT,
    })?;
    Ok(now)
}

/// The embedded store, open for writing.
pub struct StoreWriter {
    path: PathBuf,
    conn: Connection,
    seen: Seen,
    /// The store's last seq after this writer's last write: another value
    /// at the next write means another process wrote, whose ids `seen` does
    /// not know.
    last_seq: i64,
    spare: Spare,
    /// The store's journal mode, and the one this writer wants.
    journal: Journal,
    wanted: Journal,
    retention: Option<RetentionWorker>,
}

impl StoreWriter {
    /// Opens the store at `path` (creating it, or moving an older store into
    /// the current schema) and starts its retention worker.
    pub fn open(path: &Path, retention: Retention) -> Result<Self, StoreError> {
        Self::open_journaled(path, retention, Journal::Wal)
    }

    /// [`Self::open`] for a file import: in rollback-journal mode while it
    /// writes, when nothing else has the store open ([`super::journal`]).
    pub fn import(path: &Path, retention: Retention) -> Result<Self, StoreError> {
        Self::open_journaled(path, retention, Journal::Rollback)
    }

    fn open_journaled(
        path: &Path,
        retention: Retention,
        wanted: Journal,
    ) -> Result<Self, StoreError> {
        let at = |e: rusqlite::Error| StoreError::at(path, e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        let (mut conn, journal) = connect_journaled(path, wanted).map_err(at)?;
        let found = schema::inspect(&conn).map_err(|e| StoreError::Schema {
            path: path.to_path_buf(),
            source: e,
        })?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        let seen = if let Found::Older(older) = found {
            tx.execute_batch(schema::SET_OLDER_ASIDE).map_err(at)?;
            if older == Older::Three {
                tx.execute_batch(schema::SET_BLOCKS_ASIDE).map_err(at)?;
            }
            tx.execute_batch(&schema::statements()).map_err(at)?;
            let mut seen = Seen::open(&tx).map_err(at)?;
            let moved = match older {
                Older::Three => move_schema3_documents(path, &tx, &mut seen)?,
                _ => move_older_documents(path, &tx, &mut seen, older == Older::Two)?,
            };
            tx.execute_batch("DROP TABLE documents_old; DROP TABLE IF EXISTS blocks_old")
                .map_err(at)?;
            tracing::info!(store = %path.display(), documents = moved, "moved the store into schema {}", schema::VERSION);
            seen
        } else {
            tx.execute_batch(&schema::statements()).map_err(at)?;
            Seen::open(&tx).map_err(at)?
        };
        let last_seq = store_last_seq(&tx).map_err(at)?;
        tx.commit().map_err(at)?;
        let retention = RetentionWorker::start(path, retention, journal).map_err(at)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn,
            seen,
            last_seq,
            spare: Spare::default(),
            journal,
            wanted,
            retention,
        })
    }

    /// The store's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's journal mode as this writer last set or found it.
    pub fn journal(&self) -> Journal {
        self.journal
    }

    /// Stores the documents in one transaction; a document whose index and id
    /// are already present is left as it is (a replay adds nothing).
    pub fn write(&mut self, docs: &[Document]) -> Result<Written, StoreError> {
        let at = |e: rusqlite::Error| StoreError::at(&self.path, e);
        if self.journal != self.wanted && self.wanted == Journal::Wal {
            // Left in rollback mode by an import that ran beside this writer:
            // back to WAL once it is gone, without waiting for it.
            self.journal = switch(&self.conn, Journal::Wal, Duration::ZERO).map_err(at)?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        let incoming: Vec<Incoming<'_>> = docs
            .iter()
            .map(|d| Incoming {
                index: &d.index,
                id: &d.id,
                source: &d.source,
                line_time: Some(d.line_time),
                columns: d.columns.as_deref(),
                block: d.block.as_deref(),
            })
            .collect();
        let last_seq = store_last_seq(&tx).map_err(at)?;
        if last_seq != self.last_seq {
            self.seen.forget();
        }
        let seen = &mut self.seen;
        let written = insert(&self.path, &tx, seen, &mut self.spare, last_seq, &incoming)
            .and_then(|written| tx.commit().map(|()| written).map_err(at));
        match written {
            Ok((report, last)) => {
                self.last_seq = last;
                Ok(report)
            }
            Err(e) => {
                // The ids it remembered were not stored.
                self.seen.forget();
                Err(e)
            }
        }
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        if self.journal == Journal::Wal {
            return;
        }
        // Back to WAL for the readers and live writers to come: the
        // retention worker's connection closed first (the change needs the
        // store to itself).
        drop(self.retention.take());
        match switch(&self.conn, Journal::Wal, CHANGE_WAIT) {
            Ok(Journal::Wal) => {}
            Ok(Journal::Rollback) => tracing::warn!(
                store = %self.path.display(),
                "the store stays in rollback-journal mode: another process has it open; the next writer puts it back to WAL"
            ),
            Err(e) => {
                tracing::warn!(store = %self.path.display(), error = %e, "could not put the store back to WAL mode")
            }
        }
    }
}

/// Moves the documents of a schema 1 or 2 store, 10,000 at a time.
fn move_older_documents(
    path: &Path,
    tx: &Transaction<'_>,
    seen: &mut Seen,
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
            let docs: Vec<Incoming<'_>> = chunk
                .iter()
                .map(|(index, id, source)| Incoming::moved(index, id, source, None))
                .collect();
            moved += insert_moved(path, tx, seen, &docs)?;
            chunk.clear();
        }
        if row.is_none() {
            return Ok(moved);
        }
    }
}

/// Moves the documents of a schema 3 store (a row per document, bodies in
/// blocks of consecutive seqs), a block at a time.
fn move_schema3_documents(
    path: &Path,
    tx: &Transaction<'_>,
    seen: &mut Seen,
) -> Result<u64, StoreError> {
    let at = |e| StoreError::at(path, e);
    let mut blocks = tx
        .prepare(
            "SELECT first_seq, last_seq, codec, lengths, body FROM blocks_old ORDER BY first_seq",
        )
        .map_err(at)?;
    let mut ids = tx
        .prepare(
            "SELECT seq, index_name, id, line_time FROM documents_old
             WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
        )
        .map_err(at)?;
    let mut rows = blocks.query([]).map_err(at)?;
    let mut moved = 0;
    while let Some(row) = rows.next().map_err(at)? {
        let (first, last, codec, lengths, body): (i64, i64, i64, Vec<u8>, Vec<u8>) = (
            row.get(0).map_err(at)?,
            row.get(1).map_err(at)?,
            row.get(2).map_err(at)?,
            row.get(3).map_err(at)?,
            row.get(4).map_err(at)?,
        );
        let block = Codec::from_code(codec)
            .and_then(|codec| {
                Block::decode(first, (first..=last).collect(), codec, &lengths, &body)
            })
            .map_err(|source| StoreError::Block {
                path: path.to_path_buf(),
                source,
            })?;
        let kept: Vec<(i64, String, String, Option<i64>)> = ids
            .query_map([first, last], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(at)?;
        let docs: Vec<Incoming<'_>> = kept
            .iter()
            .filter_map(|(seq, index, id, line_time)| {
                Some(Incoming::moved(
                    index,
                    id,
                    block.document(*seq)?,
                    *line_time,
                ))
            })
            .collect();
        moved += insert_moved(path, tx, seen, &docs)?;
    }
    Ok(moved)
}

/// Inserts documents moved from an older store after the store's last;
/// returns how many were stored.
fn insert_moved(
    path: &Path,
    tx: &Transaction<'_>,
    seen: &mut Seen,
    docs: &[Incoming<'_>],
) -> Result<u64, StoreError> {
    let last_seq = store_last_seq(tx).map_err(|e| StoreError::at(path, e))?;
    let (report, _) = insert(path, tx, seen, &mut Spare::default(), last_seq, docs)?;
    Ok(report.stored.values().sum())
}

/// Inserts documents in `tx` after the store's `last_seq`, unless their
/// index and id are present: rows and bodies appended to the newest block,
/// which is compressed once it holds [`BLOCK_BYTES`] and stays plain until
/// then. Returns what it did and the store's last seq after it.
fn insert(
    path: &Path,
    tx: &Transaction<'_>,
    seen: &mut Seen,
    spare: &mut Spare,
    last_seq: i64,
    docs: &[Incoming<'_>],
) -> Result<(Written, i64), StoreError> {
    let keys: Vec<(u128, Option<i64>)> = docs
        .iter()
        .map(|d| (seen::key(d.index, d.id), d.line_time))
        .collect();
    let admitted = seen.admit(path, tx, &keys)?;
    insert_rows(tx, spare, last_seq, docs, &admitted).map_err(|e| StoreError::at(path, e))
}

/// A document to insert.
struct Incoming<'d> {
    index: &'d str,
    id: &'d str,
    source: &'d str,
    /// `None` for documents moved from schema 1 or 2.
    line_time: Option<i64>,
    /// Its typed columns, encoded, when the pipeline read them.
    columns: Option<&'d [u8]>,
    /// The block it starts, packed by the pipeline.
    block: Option<&'d PackedSources>,
}

impl<'d> Incoming<'d> {
    /// A document of an older store: no columns or block read by a pipeline.
    fn moved(index: &'d str, id: &'d str, source: &'d str, line_time: Option<i64>) -> Self {
        Incoming {
            index,
            id,
            source,
            line_time,
            columns: None,
            block: None,
        }
    }
}

/// The seq of the store's newest document (0 when empty).
fn store_last_seq(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    tx.query_row(
        "SELECT COALESCE((SELECT last_seq FROM blocks ORDER BY first_seq DESC LIMIT 1), 0)",
        [],
        |r| r.get(0),
    )
}

fn insert_rows(
    tx: &Transaction<'_>,
    spare: &mut Spare,
    last_seq: i64,
    docs: &[Incoming<'_>],
    admitted: &[bool],
) -> rusqlite::Result<(Written, i64)> {
    let fragments = plain_fragments(tx, last_seq)?;
    let fragment_bytes: usize = fragments.iter().map(|f| f.2).sum();
    let mut block = spare.builder(last_seq + 1);
    // Whether the fragments were taken into `block` (or there are none).
    let mut gathered = fragments.is_empty();
    // Buffers of the compressed rows and body, reused block after block.
    let (mut packed_rows, mut packed_body) = (spare.buffer(), spare.buffer());
    let mut report = Written::default();
    let mut row = Vec::with_capacity(256);
    let mut read = Vec::with_capacity(256);
    let mut unpacked: Option<(usize, Block)> = None;
    let mut i = 0;
    while i < docs.len() {
        // A block the pipeline packed, all of it new: only its rows are added.
        if let Some(packed) = packed_block(docs, admitted, i) {
            if !gathered || !block.is_empty() {
                // What came before it (fragments, documents of a replay)
                // is a block of its own.
                if !gathered {
                    block = gather(tx, &fragments, &block)?;
                    gathered = true;
                }
                store_full(tx, &mut block, &mut packed_rows, &mut packed_body, None)?;
            }
            let mut lengths = packed.source_lengths();
            for doc in &docs[i..i + packed.count] {
                let time = push_row(&mut row, &mut read, block.last_seq() + 1, doc);
                let length = lengths.next().expect("a length per document") as usize;
                block.push_row(length, &row, time, doc.line_time);
                count_stored(&mut report, doc.index);
            }
            let body = Some(&packed.body[..]);
            store_full(tx, &mut block, &mut packed_rows, &mut packed_body, body)?;
            i += packed.count;
            continue;
        }
        // A packed block not taken whole whose documents' sources were
        // dropped: its sources unpacked, for those of its documents to store.
        if let Some(packed) = docs[i].block.filter(|p| p.dropped)
            && admitted[i..(i + packed.count).min(docs.len())].contains(&true)
        {
            unpacked = Some((i, packed.unpack().map_err(|e| dropped_sources(e, i))?));
        }
        let doc = &docs[i];
        i += 1;
        if !admitted[i - 1] {
            report.already_present += 1;
            continue;
        }
        let source = match &unpacked {
            Some((first, group)) if doc.source.is_empty() => {
                group.nth_source(i - 1 - first).ok_or_else(|| {
                    dropped_sources(
                        BlockError::Damaged {
                            first_seq: 0,
                            what: "fewer documents than its group".into(),
                        },
                        i - 1,
                    )
                })?
            }
            _ => doc.source,
        };
        let seq = block.last_seq() + 1;
        let time = push_row(&mut row, &mut read, seq, doc);
        block.push(source.as_bytes(), &row, time, doc.line_time);
        if !gathered
            && (fragment_bytes + block.text_bytes() >= BLOCK_BYTES
                || fragments.len() >= MAX_FRAGMENTS)
        {
            block = gather(tx, &fragments, &block)?;
            gathered = true;
        }
        count_stored(&mut report, doc.index);
        if block.text_bytes() >= BLOCK_BYTES {
            // Stored as soon as full: a large write holds one block at a time.
            store_full(tx, &mut block, &mut packed_rows, &mut packed_body, None)?;
        }
    }
    spare.keep_buffer(packed_rows);
    spare.keep_buffer(packed_body);

    // What does not fill a block yet is stored plain, a fragment per write,
    // until later writes fill one (when gathered, `block` holds the fragments).
    if !block.is_empty() {
        store_block(
            tx,
            &block,
            block.last_seq(),
            Codec::Plain,
            block.rows(),
            block.text(),
        )?;
    }
    let last_seq = block.last_seq();
    spare.keep_builder(block);
    Ok((report, last_seq))
}

/// Stores `block` compressed, its body packed here or by the pipeline
/// (`packed_body`), then empties it for the documents after it.
fn store_full(
    tx: &Transaction<'_>,
    block: &mut BlockBuilder,
    rows: &mut PackBuffer,
    body: &mut PackBuffer,
    packed_body: Option<&[u8]>,
) -> rusqlite::Result<()> {
    let (codec, body) = match packed_body {
        Some(packed) => {
            block.pack_rows_into(rows);
            (Codec::Lz4Lines, packed)
        }
        None => {
            block.pack_into(rows, body);
            (Codec::Lz4, body.bytes())
        }
    };
    store_block(tx, block, block.last_seq(), codec, rows.bytes(), body)?;
    block.reset(block.last_seq() + 1);
    Ok(())
}

/// The block the pipeline packed that starts at `docs[i]`, when all its
/// documents are there and new (a replay's are packed again by the writer,
/// without those already stored).
fn packed_block<'d>(
    docs: &[Incoming<'d>],
    admitted: &[bool],
    i: usize,
) -> Option<&'d PackedSources> {
    let packed = docs[i].block.filter(|p| p.count > 0)?;
    let group = docs.get(i..i + packed.count)?;
    let mut lengths = packed.source_lengths();
    let complete = admitted[i..i + packed.count].iter().all(|new| *new)
        && group.iter().all(|d| {
            lengths.next().is_some_and(|n| {
                n as usize == d.source.len() || packed.dropped && d.source.is_empty()
            })
        })
        && lengths.next().is_none()
        && packed.source_lengths().sum::<u64>() == packed.plain_bytes as u64;
    complete.then_some(packed)
}

/// The rusqlite error for a packed block, with dropped sources, that cannot
/// be unpacked (the pipeline packed it in this process: a bug, not a store
/// to mend).
fn dropped_sources(e: BlockError, at: usize) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(
        format!("the packed block of document {at} of the write: {e}").into(),
    )
}

/// Writes the row of `doc`, stored as `seq`, into `row`; returns its time.
/// Its columns are read from its source when the pipeline did not (`read`
/// holds them then).
fn push_row(row: &mut Vec<u8>, read: &mut Vec<u8>, seq: i64, doc: &Incoming<'_>) -> Option<i64> {
    let columns = match doc.columns {
        Some(columns) => columns,
        None => {
            read.clear();
            rows::encode_columns(read, &Columns::of(doc.source));
            read
        }
    };
    row.clear();
    rows::push(row, seq, doc.index, doc.id, doc.line_time, columns);
    rows::time_of(columns)
}

fn count_stored(report: &mut Written, index: &str) {
    match report.stored.get_mut(index) {
        Some(n) => *n += 1,
        None => {
            report.stored.insert(index.to_string(), 1);
        }
    }
}

/// Inserts (or replaces, for gathered fragments) one block, whose last
/// document is `last_seq` (retention leaves holes in a block it cuts).
pub(super) fn store_block(
    tx: &Transaction<'_>,
    block: &BlockBuilder,
    last_seq: i64,
    codec: Codec,
    rows: &[u8],
    body: &[u8],
) -> rusqlite::Result<()> {
    let b = block.bounds();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO blocks (first_seq, last_seq, count, min_time, max_time,
             min_line_time, max_line_time, loose, codec, rows, lengths, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        block.first_seq(),
        last_seq,
        block.count(),
        b.time.map(|t| t.0),
        b.time.map(|t| t.1),
        b.line_time.map(|t| t.0),
        b.line_time.map(|t| t.1),
        b.loose,
        codec as i64,
        rows,
        block.lengths(),
        body
    ])?;
    Ok(())
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
) -> rusqlite::Result<BlockBuilder> {
    let (first, _, _) = fragments[0];
    let (last_first, _, _) = fragments[fragments.len() - 1];
    let mut whole = BlockBuilder::new(first);
    {
        let mut read = tx.prepare_cached(
            "SELECT count, min_time, max_time, min_line_time, max_line_time, loose,
                    lengths, rows, body
             FROM blocks WHERE first_seq BETWEEN ?1 AND ?2 ORDER BY first_seq",
        )?;
        let mut rows = read.query([first, last_first])?;
        while let Some(row) = rows.next()? {
            let pair = |lo: Option<i64>, hi: Option<i64>| lo.zip(hi);
            let bounds = Bounds {
                time: pair(row.get(1)?, row.get(2)?),
                line_time: pair(row.get(3)?, row.get(4)?),
                loose: row.get(5)?,
            };
            let (lengths, rows_bytes, body): (Vec<u8>, Vec<u8>, Vec<u8>) =
                (row.get(6)?, row.get(7)?, row.get(8)?);
            whole.append_plain(row.get(0)?, &lengths, &rows_bytes, &body, &bounds);
        }
    }
    tx.execute(
        "DELETE FROM blocks WHERE first_seq BETWEEN ?1 AND ?2",
        [first, last_first],
    )?;
    whole.append(newest);
    Ok(whole)
}
