//! Counts that change a row at a time: the drift monitor's window, which
//! gains every prediction (and, for a window of predictions, loses the
//! oldest). A row must cost a few instructions per column, not a map update:
//! small integers (the features, the prediction) are counted in tables as
//! they come and go; other values (probabilities: as many distinct ones as
//! rows) are sorted and counted when a verdict reads the window, once,
//! instead of kept in order at every row.

use super::counts::{Counts, Tally, compact};
use crate::document::prediction::{MISSING, SMALL, Slot, is_other};

/// The counts of the columns of a window of rows, in one table: the small
/// integers of every column side by side, so that a row costs an index and an
/// increment per column (a window of predictions, which gains and loses a row
/// at every prediction).
#[derive(Debug, Clone)]
pub struct RowCounts<const COLUMNS: usize> {
    /// Rows of small integer `v` in column `c` at `[v][c]` (sized so that
    /// no index is checked at run time).
    small: Box<[[u64; COLUMNS]; SMALL as usize]>,
    missing: [u64; COLUMNS],
    others: [u64; COLUMNS],
}

impl<const COLUMNS: usize> Default for RowCounts<COLUMNS> {
    fn default() -> Self {
        Self {
            small: Box::new([[0; COLUMNS]; SMALL as usize]),
            missing: [0; COLUMNS],
            others: [0; COLUMNS],
        }
    }
}

impl<const COLUMNS: usize> RowCounts<COLUMNS> {
    /// Counts a row, by its slots.
    #[inline]
    pub fn add(&mut self, slots: &[Slot; COLUMNS]) {
        for (c, slot) in slots.iter().enumerate() {
            if *slot < SMALL {
                self.small[*slot as usize][c] += 1;
            } else if *slot == MISSING {
                self.missing[c] += 1;
            } else {
                self.others[c] += 1;
            }
        }
    }

    /// Takes back a row added before, by its slots.
    #[inline]
    pub fn remove(&mut self, slots: &[Slot; COLUMNS]) {
        // Each row was added before: no count goes below zero.
        for (c, slot) in slots.iter().enumerate() {
            if *slot < SMALL {
                self.small[*slot as usize][c] -= 1;
            } else if *slot == MISSING {
                self.missing[c] -= 1;
            } else {
                self.others[c] -= 1;
            }
        }
    }

    /// Column `c`'s counts, its other values read from `rows` (the window's
    /// rows, which hold them).
    pub fn counts<'a>(&self, c: usize, rows: impl Iterator<Item = &'a [Slot; COLUMNS]>) -> Counts {
        let small = self.small.iter().map(|row| row[c]).collect();
        let mut others = Vec::new();
        if self.others[c] > 0 {
            // Sorted as plain integers first (faster than as pairs): the
            // pairs' own sort then finds them in order.
            let mut slots: Vec<Slot> = rows.map(|row| row[c]).filter(|s| is_other(*s)).collect();
            slots.sort_unstable();
            others = slots.into_iter().map(|s| (s, 1)).collect();
        }
        Tally::of_parts(small, self.missing[c], others).into_counts()
    }
}

/// The counts of the columns of the rows of one part of a window that only
/// grows (a minute of a time window, which leaves whole): 0 and 1 (most
/// features, the prediction) in a table without allocation, every other
/// value as `(slot, rows)` pairs, compacted each time they double.
#[derive(Debug, Clone)]
pub struct PartCounts<const COLUMNS: usize> {
    binary: [[u64; COLUMNS]; 2],
    pairs: [Vec<(Slot, u64)>; COLUMNS],
    /// Per column, the length of `pairs` after its last compaction.
    compacted: [usize; COLUMNS],
}

impl<const COLUMNS: usize> Default for PartCounts<COLUMNS> {
    fn default() -> Self {
        Self {
            binary: [[0; COLUMNS]; 2],
            pairs: std::array::from_fn(|_| Vec::new()),
            compacted: [0; COLUMNS],
        }
    }
}

impl<const COLUMNS: usize> PartCounts<COLUMNS> {
    /// Counts a row, by its slots.
    #[inline]
    pub fn add(&mut self, slots: &[Slot; COLUMNS]) {
        for (c, &slot) in slots.iter().enumerate() {
            if slot < 2 {
                self.binary[slot as usize][c] += 1;
            } else {
                let pairs = &mut self.pairs[c];
                pairs.push((slot, 1));
                // A few distinct values (AGE) stay a few pairs; distinct ones
                // (probabilities) are sorted a bounded number of times each.
                if pairs.len() >= (2 * self.compacted[c]).max(256) {
                    compact(pairs);
                    self.compacted[c] = pairs.len();
                }
            }
        }
    }

    /// Column `c`'s counts over `parts`.
    pub fn sum<'a>(
        parts: impl Iterator<Item = &'a PartCounts<COLUMNS>> + Clone,
        c: usize,
    ) -> Counts {
        let small = parts.clone().fold([0u64; 2], |[zero, one], p| {
            [zero + p.binary[0][c], one + p.binary[1][c]]
        });
        let pairs = parts.flat_map(|p| p.pairs[c].iter().copied()).collect();
        Tally::of_parts(small.to_vec(), 0, pairs).into_counts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::prediction::slot;
    use proptest::prelude::*;

    fn value_strategy() -> impl Strategy<Value = f64> {
        prop_oneof![
            (0u32..3).prop_map(f64::from),
            (0u32..300).prop_map(f64::from),
            (0u32..40).prop_map(|v| f64::from(v) / 8.0 - 2.0),
            Just(f64::NAN),
            Just(-0.0),
            any::<f64>(),
        ]
    }

    proptest! {
        /// A table of rows that gains rows and loses the oldest counts each
        /// column as counting its rows from scratch does, whenever read.
        #[test]
        fn a_sliding_table_counts_each_column(
            rows in prop::collection::vec([value_strategy(), value_strategy(), value_strategy()], 0..2_000),
            width in 1usize..1_000,
            reads in prop::collection::vec(0usize..2_000, 0..3),
        ) {
            let mut table = RowCounts::<3>::default();
            let mut slots = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                slots.push(row.map(slot));
                table.add(&row.map(slot));
                if i >= width {
                    table.remove(&slots[i - width]);
                }
                if reads.contains(&i) || i + 1 == rows.len() {
                    let from = (i + 1).saturating_sub(width);
                    for c in 0..3 {
                        let want = Counts::of(rows[from..=i].iter().map(|r| Some(r[c])));
                        let got = table.counts(c, slots[from..=i].iter());
                        prop_assert_eq!(got.iter().collect::<Vec<_>>(), want.iter().collect::<Vec<_>>());
                        prop_assert_eq!((got.n(), got.missing), (want.n(), want.missing));
                    }
                }
            }
        }

        /// Parts read together count each column as one window of all
        /// their rows.
        #[test]
        fn parts_add_up(parts in prop::collection::vec(prop::collection::vec([value_strategy(), value_strategy()], 0..700), 0..5)) {
            let counted: Vec<PartCounts<2>> = parts
                .iter()
                .map(|rows| {
                    let mut part = PartCounts::default();
                    rows.iter().for_each(|row| part.add(&row.map(slot)));
                    part
                })
                .collect();
            for c in 0..2 {
                let want = Counts::of(parts.iter().flatten().map(|r| Some(r[c])));
                let got = PartCounts::sum(counted.iter(), c);
                prop_assert_eq!(got.iter().collect::<Vec<_>>(), want.iter().collect::<Vec<_>>());
                prop_assert_eq!((got.n(), got.missing), (want.n(), want.missing));
            }
        }
    }
}
