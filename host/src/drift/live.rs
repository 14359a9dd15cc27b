//! Counts that change a row at a time: the drift monitor's window, which
//! gains every prediction and loses the oldest. A row must cost a few
//! instructions per column, not a map update: small non-negative integers (the
//! features, the prediction) are counted in an array as they come and go;
//! other values (probabilities: as many distinct ones as rows) are only
//! counted when the window is read, by sorting them once per verdict instead
//! of keeping them ordered at every row.

use super::counts::Counts;
use crate::document::prediction::{MISSING, SMALL, Slot, is_other, value};
use smallvec::SmallVec;

/// A column's counts: small integers and missing values kept up to date,
/// other values counted from the rows when read.
#[derive(Debug, Clone, Default)]
pub struct LiveCounts {
    /// Rows of each small integer, by value (grown to the largest seen; 0/1
    /// columns, most of them, without an allocation: a time window keeps a
    /// set of counts per minute).
    small: SmallVec<[u64; 2]>,
    /// Rows without a value (null, NaN, infinite).
    missing: u64,
    /// Rows with another value (their keys are in the rows).
    others: u64,
}

impl LiveCounts {
    /// Counts a row's value, by its slot.
    #[inline]
    pub fn add(&mut self, slot: Slot) {
        if slot < SMALL {
            let v = slot as usize;
            if v >= self.small.len() {
                self.small.resize(v + 1, 0);
            }
            self.small[v] += 1;
        } else if slot == MISSING {
            self.missing += 1;
        } else {
            self.others += 1;
        }
    }

    /// Takes back a row's value added before, by its slot.
    #[inline]
    pub fn remove(&mut self, slot: Slot) {
        if slot < SMALL {
            if let Some(n) = self.small.get_mut(slot as usize) {
                *n = n.saturating_sub(1);
            }
        } else if slot == MISSING {
            self.missing = self.missing.saturating_sub(1);
        } else {
            self.others = self.others.saturating_sub(1);
        }
    }

    /// True when some rows have values that are not small integers: the
    /// reader must then pass their slots to [`LiveCounts::counts`].
    pub fn has_others(&self) -> bool {
        self.others > 0
    }

    /// The counts of several parts together (the minutes of a time window),
    /// with `others` the rows' other values: `(slot, rows)` in any order.
    pub fn sum<'a>(
        parts: impl IntoIterator<Item = &'a LiveCounts>,
        mut others: Vec<(Slot, u64)>,
    ) -> Counts {
        let mut small: Vec<u64> = Vec::new();
        let mut missing = 0;
        for part in parts {
            if part.small.len() > small.len() {
                small.resize(part.small.len(), 0);
            }
            for (all, n) in small.iter_mut().zip(&part.small) {
                *all += n;
            }
            missing += part.missing;
        }
        others.retain(|(slot, _)| is_other(*slot));
        compact(&mut others);
        let values = small
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| (v as f64, *n))
            .chain(
                others
                    .into_iter()
                    .filter_map(|(slot, n)| Some((value(slot)?, n))),
            );
        Counts::of_counted(values, missing)
    }
}

/// Sorts `(slot, rows)` pairs and adds up those of one slot.
pub fn compact(pairs: &mut Vec<(Slot, u64)>) {
    pairs.sort_unstable_by_key(|(slot, _)| *slot);
    let mut kept = 0;
    for i in 0..pairs.len() {
        if kept > 0 && pairs[kept - 1].0 == pairs[i].0 {
            pairs[kept - 1].1 += pairs[i].1;
        } else {
            pairs[kept] = pairs[i];
            kept += 1;
        }
    }
    pairs.truncate(kept);
}

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
        for (c, slot) in slots.iter().enumerate() {
            let n = if *slot < SMALL {
                &mut self.small[*slot as usize][c]
            } else if *slot == MISSING {
                &mut self.missing[c]
            } else {
                &mut self.others[c]
            };
            *n = n.saturating_sub(1);
        }
    }

    /// True when column `c` has values that are not small integers: the
    /// reader must then pass their slots to [`RowCounts::counts`].
    pub fn has_others(&self, c: usize) -> bool {
        self.others[c] > 0
    }

    /// Column `c`'s counts, with `others` its rows' other values: `(slot,
    /// rows)` in any order.
    pub fn counts(&self, c: usize, others: Vec<(Slot, u64)>) -> Counts {
        let column = LiveCounts {
            small: self.small.iter().map(|row| row[c]).collect(),
            missing: self.missing[c],
            others: self.others[c],
        };
        LiveCounts::sum([&column], others)
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
        /// A window that gains rows and loses the oldest counts as counting
        /// its rows from scratch does, whenever it is read.
        #[test]
        fn a_sliding_window_counts_its_rows(
            rows in prop::collection::vec(value_strategy(), 0..3_000),
            width in 1usize..1_500,
            reads in prop::collection::vec(0usize..3_000, 0..4),
        ) {
            let mut live = LiveCounts::default();
            let mut slots = Vec::new();
            for (i, v) in rows.iter().enumerate() {
                slots.push(slot(*v));
                live.add(slot(*v));
                if i >= width {
                    live.remove(slots[i - width]);
                }
                if reads.contains(&i) || i + 1 == rows.len() {
                    let from = (i + 1).saturating_sub(width);
                    let want = Counts::of(rows[from..=i].iter().map(|v| Some(*v)));
                    let got = LiveCounts::sum([&live], slots[from..=i].iter().map(|s| (*s, 1)).collect());
                    prop_assert_eq!(got.iter().collect::<Vec<_>>(), want.iter().collect::<Vec<_>>());
                    prop_assert_eq!((got.n(), got.missing), (want.n(), want.missing));
                    prop_assert_eq!(live.has_others(), slots[from..=i].iter().any(|s| *s > MISSING));
                }
            }
        }

        /// A table of rows counts each column as its own counts do.
        #[test]
        fn a_table_counts_each_column(
            rows in prop::collection::vec([value_strategy(), value_strategy(), value_strategy()], 0..2_000),
            width in 1usize..1_000,
        ) {
            let mut table = RowCounts::<3>::default();
            let mut slots = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                slots.push(row.map(slot));
                table.add(&row.map(slot));
                if i >= width {
                    table.remove(&slots[i - width]);
                }
            }
            let from = rows.len().saturating_sub(width);
            for c in 0..3 {
                let want = Counts::of(rows[from..].iter().map(|r| Some(r[c])));
                let others: Vec<(Slot, u64)> = slots[from..].iter().map(|s| (s[c], 1)).collect();
                prop_assert_eq!(table.has_others(c), others.iter().any(|(s, _)| is_other(*s)));
                let got = table.counts(c, others);
                prop_assert_eq!(got.iter().collect::<Vec<_>>(), want.iter().collect::<Vec<_>>());
                prop_assert_eq!((got.n(), got.missing), (want.n(), want.missing));
            }
        }

        /// Parts read together count as one window of all their rows.
        #[test]
        fn parts_add_up(parts in prop::collection::vec(prop::collection::vec(value_strategy(), 0..500), 0..5)) {
            let mut others = Vec::new();
            let lives: Vec<LiveCounts> = parts
                .iter()
                .map(|rows| {
                    let mut live = LiveCounts::default();
                    for v in rows {
                        live.add(slot(*v));
                        others.push((slot(*v), 1));
                    }
                    live
                })
                .collect();
            let want = Counts::of(parts.iter().flatten().map(|v| Some(*v)));
            let got = LiveCounts::sum(&lives, others);
            prop_assert_eq!(got.iter().collect::<Vec<_>>(), want.iter().collect::<Vec<_>>());
            prop_assert_eq!((got.n(), got.missing), (want.n(), want.missing));
        }
    }
}
