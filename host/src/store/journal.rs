//! How the store journals its writes: SQLite's write-ahead log, or its
//! rollback journal for a file import.
//!
//! Both make a write atomic and durable (`synchronous = FULL`): a crash
//! leaves the store as before the write. They differ in who waits for whom,
//! and in how often each page is written:
//! - the WAL: readers never hold up the writer, so a live pipeline never
//!   falls behind its source because a dashboard reads; every page is
//!   written twice (the log, then the database when the log is checkpointed);
//! - the rollback journal: pages are written once (and the original of the
//!   few an append modifies to the journal); a commit waits until readers
//!   finish what they read. An import's file waits for it: `once` takes
//!   it, and puts the store back to WAL when it closes (BENCHMARKS.md: an
//!   import on one core takes 7-14 % less time).
//!
//! WAL is the file's mode, not the connection's: leaving it needs the store
//! to itself, so an import beside a reader or a live writer stays in WAL.
//! A live writer opened beside an import puts the store back to WAL at once
//! (the import holds no lock between its writes, and follows); should the
//! import be mid-write then, the live writer tries again before each of its
//! writes.

use rusqlite::Connection;
use std::time::Duration;

/// A journal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Journal {
    /// The write-ahead log: for live writers and everyone else.
    #[default]
    Wal,
    /// The rollback journal (truncated after each commit): for imports.
    Rollback,
}

/// How long opening a store waits for other connections to let go of it
/// to change its mode: a mode that cannot be had at once is not worth
/// holding a writer up.
pub const CHANGE_WAIT: Duration = Duration::from_millis(100);

impl Journal {
    fn pragma(self) -> &'static str {
        match self {
            Journal::Wal => "wal",
            Journal::Rollback => "truncate",
        }
    }

    /// Sets `conn`'s store to this mode if it can within `wait`; returns
    /// the mode in effect. Leaves `conn` with `wait` as its busy timeout
    /// (the caller sets its own).
    pub fn set(self, conn: &Connection, wait: Duration) -> rusqlite::Result<Journal> {
        conn.busy_timeout(wait)?;
        let changed = conn.pragma_update_and_check(None, "journal_mode", self.pragma(), |r| {
            r.get::<_, String>(0)
        });
        let mode = match changed {
            Ok(mode) => mode,
            Err(e) if is_busy(&e) => {
                conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))?
            }
            Err(e) => return Err(e),
        };
        let now = if mode.eq_ignore_ascii_case("wal") {
            Journal::Wal
        } else {
            Journal::Rollback
        };
        if now != self {
            tracing::debug!(wanted = self.pragma(), kept = %mode, "the store's journal mode stays: another connection has it open");
        }
        Ok(now)
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
