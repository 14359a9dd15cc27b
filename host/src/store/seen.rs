//! Which documents the store holds, so that a replay adds nothing: the
//! writer's memory of the newest ids, and the blocks that can hold the
//! older ones.
//!
//! A document's line time is a function of its line, like its id: a replay
//! of a document carries the line time it was stored under. So the writer
//! keeps in memory the ids of every stored document whose line time is at
//! least a floor (the newest data: what a pipeline writes next is almost
//! always there; at open, above the store's newest line time), and looks up
//! an older document among the blocks whose line-time range meets the
//! write's older line times, read for that write (a replay after a restart
//! reads the last blocks; a replay of an old file, the blocks of its time).
//! Documents without a line time are in `loose_ids`, a table keyed by id.
//! Ids are kept as 128-bit hashes of index and id, as line ids are.
//!
//! Memory is bounded: past [`MAX_REMEMBERED`] ids the oldest line times are
//! forgotten (the floor rises), but for one line time holding more ids
//! than that on its own.

use super::rows;
use super::{StoreError, StoreResult};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::BTreeMap;

/// A set of keys. Keys are hashes already, but of text a log line controls
/// and unseeded (they are stored): the set hashes them again with a seeded
/// hasher, foldhash (a third of the cost of the standard SipHash).
type KeySet = std::collections::HashSet<u128, foldhash::fast::RandomState>;
use std::path::Path;

/// Ids remembered at most (16 bytes each, twice with the map's overhead).
const MAX_REMEMBERED: usize = 1 << 20;

/// The floor of a [`Seen`] that forgot: set again at the next write.
const FORGOTTEN: i64 = i64::MAX;

/// Just above the store's newest line time: nothing stored is there yet.
fn above_newest(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    let newest: Option<i64> =
        tx.query_row("SELECT max(max_line_time) FROM blocks", [], |r| r.get(0))?;
    Ok(newest.map_or(1, |t| t + 1))
}

/// The key of a document: a 128-bit hash (XXH3) of its index, a 0x1f byte
/// and its id.
pub fn key(index: &str, id: &str) -> u128 {
    // Hashed in one call when they fit on the stack (an index name and a
    // line id do): the same hash as the streaming hasher's over the three
    // parts, for a tenth of its set-up (it was 2 % of an import).
    let mut buf = [0u8; 128];
    let len = index.len() + 1 + id.len();
    if len <= buf.len() {
        buf[..index.len()].copy_from_slice(index.as_bytes());
        buf[index.len()] = 0x1f;
        buf[index.len() + 1..len].copy_from_slice(id.as_bytes());
        return xxhash_rust::xxh3::xxh3_128(&buf[..len]);
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(index.as_bytes());
    h.update(&[0x1f]);
    h.update(id.as_bytes());
    h.digest128()
}

/// The ids of the store's newest documents.
#[derive(Debug)]
pub struct Seen {
    /// Every stored document whose line time is at least `floor` is here.
    keys: KeySet,
    by_line_time: BTreeMap<i64, Vec<u128>>,
    floor: i64,
    /// Whether the store holds documents moved from schema 1 or 2, whose
    /// line time is unknown: every document is then also looked up in
    /// `loose_ids`.
    legacy: bool,
}

impl Seen {
    /// Nothing remembered: every document above the store's newest line
    /// time is new, the others are looked up in the blocks.
    pub fn open(tx: &Transaction<'_>) -> rusqlite::Result<Self> {
        let legacy = tx
            .query_row(
                "SELECT 1 FROM loose_ids WHERE legacy = 1 LIMIT 1",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        Ok(Self {
            keys: KeySet::default(),
            by_line_time: BTreeMap::new(),
            floor: above_newest(tx)?,
            legacy,
        })
    }

    /// Forgets everything (after a write that failed: its ids were not
    /// stored; or another process wrote): the next write starts again above
    /// the store's newest line time.
    pub fn forget(&mut self) {
        self.keys.clear();
        self.by_line_time.clear();
        self.floor = FORGOTTEN;
    }

    /// Of `docs` (`(key, line time)`, `None` for a document moved from an
    /// older schema), which are new: not stored, and not an earlier one of
    /// `docs`. Reads the blocks that may hold the older ones; remembers
    /// the new ones as stored (the caller stores them in `tx`, or calls
    /// [`Self::forget`]).
    pub fn admit(
        &mut self,
        path: &Path,
        tx: &Transaction<'_>,
        docs: &[(u128, Option<i64>)],
    ) -> StoreResult<Vec<bool>> {
        let at = |e| StoreError::at(path, e);
        if self.floor == FORGOTTEN {
            self.floor = above_newest(tx).map_err(at)?;
        }
        // Documents under the floor (a replay): looked up among the stored
        // ids of the blocks their line times fall in, read for this write.
        let below = docs
            .iter()
            .filter_map(|&(_, t)| t.filter(|t| *t > 0 && *t < self.floor))
            .fold(None, |r: Option<(i64, i64)>, t| {
                Some(r.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))))
            });
        let mut older = match below {
            Some((lo, hi)) => stored_between(path, tx, lo, hi)?,
            None => KeySet::default(),
        };
        let mut loose_seen = tx
            .prepare_cached("SELECT 1 FROM loose_ids WHERE key = ?1")
            .map_err(at)?;
        let mut loose_add = tx
            .prepare_cached("INSERT INTO loose_ids (key, legacy) VALUES (?1, ?2)")
            .map_err(at)?;
        let mut admitted = Vec::with_capacity(docs.len());
        // The list of the last line time a key was added to: documents in a
        // row mostly share their line's (one map lookup for them all).
        let mut newest: Option<(i64, &mut Vec<u128>)> = None;
        for &(key, line_time) in docs {
            let bytes = key.to_be_bytes();
            let timed = line_time.filter(|t| *t > 0);
            let in_loose =
                (timed.is_none() || self.legacy) && loose_seen.exists([&bytes[..]]).map_err(at)?;
            let new = !in_loose
                && match timed {
                    Some(t) if t >= self.floor => {
                        let new = self.keys.insert(key);
                        if new {
                            match &mut newest {
                                Some((at, list)) if *at == t => list.push(key),
                                _ => {
                                    let list = self.by_line_time.entry(t).or_default();
                                    list.push(key);
                                    newest = Some((t, list));
                                }
                            }
                        }
                        new
                    }
                    Some(_) => older.insert(key),
                    None => {
                        loose_add
                            .execute(params![&bytes[..], line_time.is_none()])
                            .map_err(at)?;
                        self.legacy |= line_time.is_none();
                        true
                    }
                };
            admitted.push(new);
        }
        self.bound();
        Ok(admitted)
    }

    /// Forgets the oldest line times while more than [`MAX_REMEMBERED`]
    /// ids are remembered (keeping at least the newest line time).
    fn bound(&mut self) {
        while self.keys.len() > MAX_REMEMBERED && self.by_line_time.len() > 1 {
            let (_, keys) = self.by_line_time.pop_first().expect("more than one");
            for k in keys {
                self.keys.remove(&k);
            }
            self.floor = *self.by_line_time.keys().next().expect("one left");
        }
    }
}

/// The keys of the stored documents whose line time is in `lo..=hi`, from
/// the blocks whose line-time range meets it (found from `blocks_line_time`
/// alone, then read).
fn stored_between(path: &Path, tx: &Transaction<'_>, lo: i64, hi: i64) -> StoreResult<KeySet> {
    let at = |e| StoreError::at(path, e);
    let mut read = tx
        .prepare_cached(
            "SELECT first_seq, codec, rows FROM blocks WHERE first_seq IN
                 (SELECT first_seq FROM blocks INDEXED BY blocks_line_time
                  WHERE max_line_time >= ?1 AND min_line_time <= ?2)",
        )
        .map_err(at)?;
    let mut blocks = read.query(params![lo, hi]).map_err(at)?;
    let mut keys = KeySet::default();
    while let Some(block) = blocks.next().map_err(at)? {
        rows::for_each_in(path, block, |row| {
            if row.line_time.is_some_and(|t| t >= lo && t <= hi) {
                keys.insert(key(row.index, row.id));
            }
            Ok(())
        })?;
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    /// Keys are stored (`loose_ids`): hashed in one call or streamed, they
    /// are the hash of the same bytes, whatever their length.
    #[test]
    fn a_key_is_the_hash_of_index_separator_and_id() {
        for index_len in [0, 11, 14, 100, 200] {
            for id_len in (0..300).step_by(7).chain([32, 34, 116, 117]) {
                let index = "i".repeat(index_len);
                let id: String = (0..id_len)
                    .map(|k| (b'a' + (k % 26) as u8) as char)
                    .collect();
                let mut whole = index.clone().into_bytes();
                whole.push(0x1f);
                whole.extend_from_slice(id.as_bytes());
                let mut streamed = xxhash_rust::xxh3::Xxh3::new();
                streamed.update(&whole);
                assert_eq!(
                    super::key(&index, &id),
                    streamed.digest128(),
                    "{index_len} {id_len}"
                );
            }
        }
        // A value fixed before the change: stores keep their keys.
        assert_eq!(
            super::key("ml-api-logs", "0a2a70fba2e9c421d3441387cb61bb9e"),
            0xeb83_1fe3_b3ae_6160_1c41_400f_2d1d_ad99
        );
    }
}
