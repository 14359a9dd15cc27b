//! Retention: the store deletes its oldest data in the background, by age
//! and by size, a few thousand documents per transaction so that the
//! pipeline's writes (which take the same write lock) wait milliseconds at
//! most.
//!
//! Age is measured back from the store's newest document, not from the
//! clock: logs imported from last year are not deleted for being old (the
//! store keeps the last 30 days of what it holds), and a running pipeline's
//! newest document is now anyway. Documents without a time are never aged
//! out (only cut by size). A block is deleted once none of its documents is
//! left; the file gives freed pages back to the file system (stores created
//! by this version; older ones reuse them).

use rusqlite::{Connection, TransactionBehavior, params};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Documents deleted per transaction.
const CHUNK: i64 = 2_000;

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

/// Deletes what `retention` does not keep, a chunk per transaction, until
/// done or `stopping()`.
pub fn prune(
    conn: &mut Connection,
    retention: &Retention,
    stopping: &dyn Fn() -> bool,
) -> rusqlite::Result<Pruned> {
    let mut pruned = Pruned::default();
    if let Some(age) = retention.max_age {
        let newest: Option<i64> =
            conn.query_row("SELECT max(time) FROM documents", [], |r| r.get(0))?;
        if let Some(newest) = newest {
            let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
            let cutoff = newest.saturating_sub(age);
            loop {
                let n = delete_chunk(
                    conn,
                    "SELECT seq FROM documents WHERE time < ?1 LIMIT ?2",
                    params![cutoff, CHUNK],
                )?;
                pruned.by_age += n;
                if n == 0 || stopping() {
                    break;
                }
                std::thread::sleep(PAUSE);
            }
        }
    }
    if let Some(max_bytes) = retention.max_bytes {
        while live_bytes(conn)? > max_bytes {
            let n = delete_chunk(
                conn,
                "SELECT seq FROM documents ORDER BY seq LIMIT ?1",
                params![CHUNK],
            )?;
            pruned.by_size += n;
            if n == 0 || stopping() {
                break;
            }
            std::thread::sleep(PAUSE);
        }
    }
    if pruned != Pruned::default() {
        give_back_pages(conn, stopping)?;
    }
    Ok(pruned)
}

/// Deletes the documents `select` picks (at most a chunk) and the blocks left
/// without documents, in one transaction; returns how many documents.
fn delete_chunk(
    conn: &mut Connection,
    select: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seqs: Vec<i64> = tx
        .prepare(&format!(
            "DELETE FROM documents WHERE seq IN ({select}) RETURNING seq"
        ))?
        .query_map(params, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let (Some(lo), Some(hi)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(0);
    };
    // Blocks are consecutive seq ranges: those overlapping lo..=hi start at the
    // block holding lo, or after it.
    tx.execute(
        "DELETE FROM blocks
         WHERE first_seq BETWEEN
               COALESCE((SELECT max(first_seq) FROM blocks WHERE first_seq <= ?1), ?1) AND ?2
           AND NOT EXISTS (SELECT 1 FROM documents
                           WHERE seq BETWEEN blocks.first_seq AND blocks.last_seq)",
        params![lo, hi],
    )?;
    tx.commit()?;
    Ok(seqs.len() as u64)
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
    pub fn start(path: &Path, retention: Retention) -> rusqlite::Result<Option<Self>> {
        if retention.is_off() {
            return Ok(None);
        }
        let mut conn = super::writer::connect(path)?;
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
