//! Ranks among identical lines: the n-th identical line of a second gets rank n.

use super::line_id::ContentKey;
use std::collections::HashMap;

/// Counts identical lines, remembering at least the last `capacity` distinct keys.
///
/// Two generations of maps: when the current one is full it becomes the old one,
/// so the keys of the most recent lines are never forgotten at once.
#[derive(Debug)]
pub struct Ranker {
    current: HashMap<ContentKey, u32>,
    previous: HashMap<ContentKey, u32>,
    capacity: usize,
}

impl Ranker {
    /// A ranker remembering at least `capacity` distinct keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            current: HashMap::with_capacity(capacity.min(4096)),
            previous: HashMap::new(),
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
            self.previous = std::mem::take(&mut self.current);
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
