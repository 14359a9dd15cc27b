//! The memory of what was delivered from a rolling window, and finding where the
//! new lines end in a freshly read window.
//!
//! The API's window is newest first and new records are pushed at its head. The
//! tracker remembers the content keys (and ranks) of the most recent lines it
//! delivered, newest first. In a window read now, the new lines are those before
//! the first run that continues the remembered sequence.

use super::line_id::{ContentKey, IdHasher, LineId};
use super::ranker::Ranker;
use crate::source::Record;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Lines remembered: two full windows of the API (1000 each).
pub const MEMORY: usize = 2000;

/// Matching this many remembered lines in a row settles where the new lines end,
/// even among identical health-check lines.
pub const MIN_MATCH: usize = 8;

/// One remembered line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Content key.
    #[serde(with = "hex128")]
    pub key: ContentKey,
    /// Rank among identical lines of its second.
    pub rank: u32,
}

/// Where the new lines of a window end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// The first `n` entries are new; the rest continues what was delivered.
    New(usize),
    /// Not found in what was read so far: read more of the window.
    ReadMore,
    /// The whole window was read and none of it continues what was delivered:
    /// lines may have fallen out of the window unseen (or it was cleared).
    Gap,
}

/// The delivered-lines memory of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowTracker {
    /// Most recent first.
    recent: VecDeque<Seen>,
}

impl WindowTracker {
    /// Nothing delivered yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines remembered.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// True before anything was delivered.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }

    /// Finds the boundary in `keys` (a window read from its head, newest first).
    /// `complete` says whether `keys` reaches the end of the window.
    pub fn boundary(&self, keys: &[ContentKey], complete: bool) -> Boundary {
        if self.recent.is_empty() {
            return if complete {
                Boundary::New(keys.len())
            } else {
                Boundary::ReadMore
            };
        }
        let need = MIN_MATCH.min(self.recent.len());
        for k in 0..keys.len() {
            let available = keys.len() - k;
            let m = available.min(self.recent.len());
            let matches = keys[k..k + m]
                .iter()
                .zip(self.recent.iter())
                .all(|(a, b)| *a == b.key);
            if !matches {
                continue;
            }
            if m >= need || (complete && m == available) {
                return Boundary::New(k);
            }
            // A short match at the end of what was read: confirm with more.
            return Boundary::ReadMore;
        }
        if complete {
            Boundary::Gap
        } else {
            Boundary::ReadMore
        }
    }

    /// Gives ids to `new` (oldest first), continuing the ranks of what was
    /// delivered, without remembering them yet.
    pub fn assign(&self, new: Vec<Record>) -> Vec<(LineId, Seen, Record)> {
        let mut ranker = Ranker::new(MEMORY * 2);
        for seen in self.recent.iter().rev() {
            ranker.observe(seen.key, seen.rank);
        }
        let mut hasher = IdHasher::default();
        new.into_iter()
            .map(|record| {
                let key = hasher.key(&record);
                let rank = ranker.next_rank(key);
                (hasher.id(key, rank), Seen { key, rank }, record)
            })
            .collect()
    }

    /// Remembers delivered lines (oldest first), once the sinks acknowledged them.
    pub fn remember(&mut self, delivered: impl IntoIterator<Item = Seen>) {
        for seen in delivered {
            self.recent.push_front(seen);
        }
        self.recent.truncate(MEMORY);
    }
}

mod hex128 {
    use super::ContentKey;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(key: &ContentKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:032x}", key.0))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ContentKey, D::Error> {
        let text = String::deserialize(d)?;
        u128::from_str_radix(&text, 16)
            .map(ContentKey)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: u128) -> ContentKey {
        ContentKey(n)
    }

    fn tracker(newest_first: &[u128]) -> WindowTracker {
        let mut t = WindowTracker::new();
        t.remember(
            newest_first
                .iter()
                .rev()
                .map(|&n| Seen { key: k(n), rank: 0 }),
        );
        t
    }

    #[test]
    fn first_poll_takes_the_whole_window() {
        let t = WindowTracker::new();
        assert_eq!(t.boundary(&[k(3), k(2), k(1)], true), Boundary::New(3));
        assert_eq!(t.boundary(&[k(3), k(2)], false), Boundary::ReadMore);
    }

    #[test]
    fn quiet_and_busy_polls() {
        let old: Vec<u128> = (1..=20).rev().collect();
        let t = tracker(&old);
        let keys: Vec<ContentKey> = old.iter().map(|&n| k(n)).collect();
        assert_eq!(
            t.boundary(&keys, false),
            Boundary::New(0),
            "quiet poll: one page settles it"
        );
        let mut busy = vec![k(22), k(21)];
        busy.extend(keys.iter().copied());
        assert_eq!(t.boundary(&busy, false), Boundary::New(2));
    }

    #[test]
    fn identical_lines_at_the_head_are_counted_not_merged() {
        // Remembered: H H X ... ; now a third identical H arrived at the head.
        let mut old = vec![7, 7];
        old.extend((1..=10).rev());
        let t = tracker(&old);
        let mut now = vec![k(7)];
        now.extend(old.iter().map(|&n| k(n)));
        assert_eq!(t.boundary(&now, true), Boundary::New(1));
    }

    #[test]
    fn short_matches_ask_for_more_and_gaps_are_reported() {
        let old: Vec<u128> = (1..=20).rev().collect();
        let t = tracker(&old);
        // 30 new lines, then only the two newest remembered ones in this page.
        let mut page: Vec<ContentKey> = (100..130).rev().map(k).collect();
        page.extend([k(20), k(19)]);
        assert_eq!(t.boundary(&page, false), Boundary::ReadMore);
        let everything_new: Vec<ContentKey> = (100..130).map(k).collect();
        assert_eq!(t.boundary(&everything_new, true), Boundary::Gap);
    }

    #[test]
    fn ranks_continue_across_polls() {
        let line = "2025-11-21 09:12:06 - api - INFO - Health check";
        let t = WindowTracker::new();
        let first = t.assign(vec![
            Record::from_line(line.into()),
            Record::from_line(line.into()),
        ]);
        let mut t2 = t.clone();
        t2.remember(first.iter().map(|(_, s, _)| *s));
        let second = t2.assign(vec![Record::from_line(line.into())]);
        assert_eq!(second[0].1.rank, 2);
        let ids: std::collections::HashSet<LineId> =
            first.iter().chain(&second).map(|(id, _, _)| *id).collect();
        assert_eq!(ids.len(), 3);
    }

    #[test]
    fn memory_is_bounded_and_round_trips() {
        let mut t = WindowTracker::new();
        t.remember((0..3000u128).map(|n| Seen { key: k(n), rank: 0 }));
        assert_eq!(t.len(), MEMORY);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<WindowTracker>(&json).unwrap(), t);
    }
}
