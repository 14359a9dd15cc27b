//! Ranks among identical lines: the n-th identical line of a second gets rank n.

use super::line_id::ContentKey;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Content keys are already xxh3 hashes: their low 64 bits are the map's hash
/// (SipHash over them again cost more than the rest of ranking).
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used by `ContentKey`; any other input still hashes (FNV-1a).
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

type KeyMap = HashMap<ContentKey, u32, BuildHasherDefault<KeyHasher>>;

/// Counts identical lines, remembering at least the last `capacity` distinct keys.
///
/// Two generations of maps: when the current one is full it becomes the old one,
/// so the keys of the most recent lines are never forgotten at once.
#[derive(Debug)]
pub struct Ranker {
    current: KeyMap,
    previous: KeyMap,
    capacity: usize,
}

impl Ranker {
    /// A ranker remembering at least `capacity` distinct keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            current: KeyMap::with_capacity_and_hasher(capacity.min(4096), Default::default()),
            previous: KeyMap::default(),
            capacity: capacity.max(1),
        }
    }

    /// The rank of the next line with `key`, counting it.
    pub fn next_rank(&mut self, key: ContentKey) -> u32 {
        let seen = self
            .current
            .get(&key)
            .or_else(|| self.previous.get(&key))
            .copied()
            .unwrap_or(0);
        self.set(key, seen + 1);
        seen
    }

    /// Records that a line with `key` at `rank` was already seen (seeding from a checkpoint).
    pub fn observe(&mut self, key: ContentKey, rank: u32) {
        let seen = self.current.get(&key).copied().unwrap_or(0);
        if rank + 1 > seen {
            self.set(key, rank + 1);
        }
    }

    fn set(&mut self, key: ContentKey, count: u32) {
        if self.current.len() >= self.capacity && !self.current.contains_key(&key) {
            // The old generation's table is reused for the new one.
            std::mem::swap(&mut self.previous, &mut self.current);
            self.current.clear();
        }
        self.current.insert(key, count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_identical_keys_and_survives_rotation() {
        let mut r = Ranker::new(2);
        let (a, b, c) = (ContentKey(1), ContentKey(2), ContentKey(3));
        assert_eq!(r.next_rank(a), 0);
        assert_eq!(r.next_rank(a), 1);
        assert_eq!(r.next_rank(b), 0);
        assert_eq!(r.next_rank(c), 0, "rotates");
        assert_eq!(
            r.next_rank(b),
            1,
            "still remembered in the previous generation"
        );
        r.observe(a, 5);
        assert_eq!(r.next_rank(a), 6);
    }
}
