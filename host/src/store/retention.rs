//! Retention: the store deletes its oldest data in the background, by age
//! and by size, a block (a few thousand documents) per transaction so that the
//! pipeline's writes (which take the same write lock) wait milliseconds at
//! most.
//!
//! Age is measured back from the store's newest document, not from the
//! clock: logs imported from last year are not deleted for being old (the
//! store keeps the last 30 days of what it holds), and a running pipeline's
//! newest document is now anyway. Documents without a time are never aged
//! out (only cut by size). A block is deleted once none of its documents is
//! left, written again without the old ones otherwise; the file gives freed pages back to the file system (stores created
//! by this version; older ones reuse them).

use super::blocks::{Block, BlockBuilder, Codec};
use super::rows::{self, Row};
use super::writer::store_block;
use super::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Pause between two chunks, letting the pipeline's writes in.
const PAUSE: Duration = Duration::from_millis(5);

/// Pages given back to the file system per transaction.
const VACUUM_PAGES: i64 = 4_096;

/// How much the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Documents older than this, before the newest document, are deleted.
    pub max_age: Option<Duration>,
    /// Past this many bytes of live pages, the oldest documents are deleted.
    pub max_bytes: Option<u64>,
    /// Time between two passes of the worker.
    pub every: Duration,
}

impl Default for Retention {
    /// 30 days and 10 GiB, checked every minute.
    fn default() -> Self {
        Self {
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
            max_bytes: Some(10 << 30),
            every: Duration::from_secs(60),
        }
    }
}

impl Retention {
    /// Keeps everything (no worker runs).
    pub fn keep_all() -> Self {
        Self {
            max_age: None,
            max_bytes: None,
            ..Self::default()
        }
    }

    fn is_off(&self) -> bool {
        self.max_age.is_none() && self.max_bytes.is_none()
    }
}

/// Why a retention age or size was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not a duration.
    #[error("`{text}` is not a duration such as 30d, 12h or 90m: {reason}")]
    NotADuration {
        /// As written.
        text: String,
        /// jiff's reason.
        reason: String,
    },
    /// Not a size.
    #[error("`{text}` is not a size such as 10GiB or 500MB: {reason}")]
    NotASize {
        /// As written.
        text: String,
        /// bytesize's reason.
        reason: String,
    },
    /// Zero (`off` says "no limit").
    #[error("`{0}`: must be positive (or `off`)")]
    NotPositive(String),
}

/// Reads a retention age: `30d`, `12h`, `90m`, `1d 12h`, or `off`.
pub fn parse_age(text: &str) -> Result<Option<Duration>, ParseError> {
    if text.trim() == "off" {
        return Ok(None);
    }
    let not_a_duration = |reason: String| ParseError::NotADuration {
        text: text.to_string(),
        reason,
    };
    let span: jiff::Span = text
        .trim()
        .parse()
        .map_err(|e: jiff::Error| not_a_duration(e.to_string()))?;
    let duration = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| not_a_duration(e.to_string()))?;
    Duration::try_from(duration)
        .ok()
        .filter(|d| !d.is_zero())
        .map(Some)
        .ok_or_else(|| ParseError::NotPositive(text.to_string()))
}

/// Reads a retention size: `10GiB`, `500MB`, `1048576`, or `off`.
pub fn parse_size(text: &str) -> Result<Option<u64>, ParseError> {
    if text.trim() == "off" {
        return Ok(None);
    }
    let size: bytesize::ByteSize =
        text.trim()
            .parse()
            .map_err(|reason: String| ParseError::NotASize {
                text: text.to_string(),
                reason,
            })?;
    match size.as_u64() {
        0 => Err(ParseError::NotPositive(text.to_string())),
        n => Ok(Some(n)),
    }
}

/// What one pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Documents deleted for their age.
    pub by_age: u64,
    /// Documents deleted for the store's size.
    pub by_size: u64,
}

/// Deletes what `retention` says is too old or too much, a block per
/// transaction (a block straddling the age limit is written again without its
/// old documents), until done or `stopping` says so.
pub fn prune(
    conn: &mut Connection,
    retention: &Retention,
    stopping: &dyn Fn() -> bool,
) -> StoreResult<Pruned> {
    let path = PathBuf::from(conn.path().unwrap_or_default());
    let at = |e| StoreError::at(&path, e);
    let mut pruned = Pruned::default();
    if let Some(age) = retention.max_age {
        let newest: Option<i64> = conn
            .query_row("SELECT max(max_time) FROM blocks", [], |r| r.get(0))
            .map_err(at)?;
        if let Some(newest) = newest {
            let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
            let cutoff = newest.saturating_sub(age);
            loop {
                let n = prune_block(
                    &path,
                    conn,
                    "SELECT first_seq FROM blocks WHERE min_time < ?1 ORDER BY min_time LIMIT 1",
                    cutoff,
                    |row| row.columns.time_ms.is_some_and(|t| t < cutoff),
                )?;
                let Some(n) = n else { break };
                pruned.by_age += n;
                if stopping() {
                    break;
                }
                std::thread::sleep(PAUSE);
            }
        }
    }
    if let Some(max_bytes) = retention.max_bytes {
        while live_bytes(conn).map_err(at)? > max_bytes {
            let n = prune_block(
                &path,
                conn,
                "SELECT first_seq FROM blocks WHERE ?1 = ?1 ORDER BY first_seq LIMIT 1",
                0,
                |_| true,
            )?;
            let Some(n) = n else { break };
            pruned.by_size += n;
            if stopping() {
                break;
            }
            std::thread::sleep(PAUSE);
        }
    }
    if pruned != Pruned::default() {
        give_back_pages(conn, stopping).map_err(at)?;
    }
    Ok(pruned)
}

/// In one transaction, deletes the documents `old` picks from the block
/// `select` (given `arg`) finds; the block goes, or is written again with the
/// rest. `None` when `select` finds no block.
fn prune_block(
    path: &Path,
    conn: &mut Connection,
    select: &str,
    arg: i64,
    old: impl Fn(&Row) -> bool,
) -> StoreResult<Option<u64>> {
    let at = |e| StoreError::at(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(at)?;
    let Some(first_seq) = tx
        .query_row(select, [arg], |r| r.get::<_, i64>(0))
        .optional()
        .map_err(at)?
    else {
        return Ok(None);
    };
    let (codec, packed, lengths, body): (i64, Vec<u8>, Vec<u8>, Vec<u8>) = tx
        .query_row(
            "SELECT codec, rows, lengths, body FROM blocks WHERE first_seq = ?1",
            [first_seq],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(at)?;
    let plain = rows::unpack(path, first_seq, codec, &packed)?;
    let records = rows::records_at(path, first_seq, &plain)?;
    let deleted: Vec<&(Row, std::ops::Range<usize>)> =
        records.iter().filter(|(r, _)| old(r)).collect();
    tx.execute("DELETE FROM blocks WHERE first_seq = ?1", [first_seq])
        .map_err(at)?;
    let mut forget = tx
        .prepare("DELETE FROM loose_ids WHERE key = ?1")
        .map_err(at)?;
    for (row, _) in &deleted {
        if row.line_time.is_none_or(|t| t <= 0) {
            let key = super::seen::key(row.index, row.id).to_be_bytes();
            forget.execute([&key[..]]).map_err(at)?;
        }
    }
    drop(forget);
    if deleted.len() < records.len() {
        let seqs = records.iter().map(|(r, _)| r.seq).collect();
        let block = Codec::from_code(codec)
            .and_then(|c| Block::decode(first_seq, seqs, c, &lengths, &body))
            .map_err(|source| StoreError::Block {
                path: path.to_path_buf(),
                source,
            })?;
        let kept: Vec<(&Row, &[u8], &str)> = records
            .iter()
            .zip(block.documents())
            .filter(|((r, _), _)| !old(r))
            .map(|((r, range), (_, source))| (r, &plain[range.clone()], source))
            .collect();
        let mut rest = BlockBuilder::new(kept[0].0.seq);
        for (row, record, source) in &kept {
            rest.push(
                source.as_bytes(),
                record,
                row.columns.time_ms,
                row.line_time,
            );
        }
        // A fragment stays one (the writer gathers it); a block is packed again.
        let codec = if codec == Codec::Plain as i64 {
            Codec::Plain
        } else {
            Codec::Lz4
        };
        let (rows_bytes, body) = rest.encode(codec == Codec::Lz4);
        let last_seq = kept[kept.len() - 1].0.seq;
        store_block(&tx, &rest, last_seq, codec, &rows_bytes, &body).map_err(at)?;
    }
    tx.commit().map_err(at)?;
    Ok(Some(deleted.len() as u64))
}

/// Bytes of the pages in use (freed pages excluded).
pub fn live_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(((pages - free).max(0) * size) as u64)
}

/// Returns freed pages to the file system (stores with incremental vacuum).
fn give_back_pages(conn: &mut Connection, stopping: &dyn Fn() -> bool) -> rusqlite::Result<()> {
    let incremental: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    if incremental != 2 {
        return Ok(());
    }
    loop {
        let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        if free == 0 || stopping() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.query_row(
            &format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"),
            [],
            |_| Ok(()),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(()),
            e => Err(e),
        })?;
        tx.commit()?;
        std::thread::sleep(PAUSE);
    }
}

/// The background pass, every [`Retention::every`], until dropped.
pub struct RetentionWorker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl RetentionWorker {
    /// Starts the worker on its own connection (none when nothing is limited).
    /// `journal` is the store's mode, which its writer set.
    pub fn start(
        path: &Path,
        retention: Retention,
        journal: super::journal::Journal,
    ) -> rusqlite::Result<Option<Self>> {
        if retention.is_off() {
            return Ok(None);
        }
        let (mut conn, _) = super::writer::connect_journaled(path, journal)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = stop.clone();
        let store = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("store-retention".into())
            .spawn(move || {
                let stopping = || *stopped.0.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    match prune(&mut conn, &retention, &stopping) {
                        Ok(p) if p != Pruned::default() => {
                            tracing::info!(%store, by_age = p.by_age, by_size = p.by_size, "retention deleted old documents")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(%store, error = %e, "retention pass failed; retrying later"),
                    }
                    let (lock, wake) = &*stopped;
                    let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let (guard, _) = wake
                        .wait_timeout_while(guard, retention.every, |stop| !*stop)
                        .unwrap_or_else(|e| e.into_inner());
                    if *guard {
                        return;
                    }
                }
            })
            .expect("spawning a thread");
        Ok(Some(Self {
            stop,
            thread: Some(thread),
        }))
    }
}

impl Drop for RetentionWorker {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
