//! Counts that change a row at a time: the drift monitor's window, which
//! gains every prediction and loses the oldest. A row must cost a few
//! instructions per column, not a map update: small non-negative integers (the
//! features, the prediction) are counted in an array as they come and go;
//! other values (probabilities: as many distinct ones as rows) are only
//! counted when the window is read, by sorting them once per verdict instead
//! of keeping them ordered at every row.

use super::counts::Counts;
use smallvec::SmallVec;

/// Integers below this are counted in the array.
const SMALL: u64 = 256;
/// A [`Slot`] for a missing value (the others are below `SMALL` or keys
/// with the top bit set, see [`key`]).
const MISSING: u64 = SMALL;

/// Where a row's value is counted, kept with the row so that it leaves the
/// window without being classified again: below [`SMALL`] the value itself,
/// [`MISSING`], or the [`key`] of another value.
pub type Slot = u64;

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
    /// Counts a row's value (`NaN` or infinite: missing, as [`Counts::add`]);
    /// returns its slot, for [`LiveCounts::remove`].
    #[inline]
    pub fn add(&mut self, value: f64) -> Slot {
        let slot = slot(value);
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
        slot
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
        others.retain(|(slot, _)| *slot > MISSING);
        compact(&mut others);
        let values = small
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| (v as f64, *n))
            .chain(others.into_iter().map(|(key, n)| (value(key), n)));
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

/// True for the slot of a value counted apart (not a small integer, not
/// missing).
#[inline]
pub fn is_other(slot: Slot) -> bool {
    slot > MISSING
}

/// The counts of the columns of a window of rows, in one table: the small
/// integers of every column side by side, so that a row costs an index and an
/// increment per column (a window of predictions, which gains and loses a row
/// at every prediction).
#[derive(Debug, Clone)]
pub struct RowCounts<const COLUMNS: usize> {
    /// Rows of small integer `v` in column `c` at `v * COLUMNS + c`.
    small: Vec<u64>,
    missing: [u64; COLUMNS],
    others: [u64; COLUMNS],
}

impl<const COLUMNS: usize> Default for RowCounts<COLUMNS> {
    fn default() -> Self {
        Self {
            small: vec![0; SMALL as usize * COLUMNS],
            missing: [0; COLUMNS],
            others: [0; COLUMNS],
        }
    }
}

impl<const COLUMNS: usize> RowCounts<COLUMNS> {
    /// Counts a row; returns its slots, for [`RowCounts::remove`].
    #[inline]
    pub fn add(&mut self, row: &[f64; COLUMNS]) -> [Slot; COLUMNS] {
        let mut slots = [0; COLUMNS];
        for (c, (slot, value)) in slots.iter_mut().zip(row).enumerate() {
            *slot = self::slot(*value);
            if *slot < SMALL {
                self.small[*slot as usize * COLUMNS + c] += 1;
            } else if *slot == MISSING {
                self.missing[c] += 1;
            } else {
                self.others[c] += 1;
            }
        }
        slots
    }

    /// Takes back a row added before, by its slots.
    #[inline]
    pub fn remove(&mut self, slots: &[Slot; COLUMNS]) {
        for (c, slot) in slots.iter().enumerate() {
            let n = if *slot < SMALL {
                &mut self.small[*slot as usize * COLUMNS + c]
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
            small: self
                .small
                .iter()
                .skip(c)
                .step_by(COLUMNS)
                .copied()
                .collect(),
            missing: self.missing[c],
            others: self.others[c],
        };
        LiveCounts::sum([&column], others)
    }
}

/// The slot of a value.
#[inline]
pub fn slot(value: f64) -> Slot {
    // The range first: converting a value known to fit is one instruction.
    if (0.0..SMALL as f64).contains(&value) {
        let int = value as u32;
        if f64::from(int) == value {
            // -0.0 lands here too: one value with 0.0, as it is to pandas.
            return Slot::from(int);
        }
    }
    if !value.is_finite() {
        return MISSING;
    }
    key(value + 0.0)
}

/// A finite value as an integer in the same order (`f64::total_cmp`'s):
/// positive values' bits with the top bit set, negative values' bits
/// flipped. Finite negative values' flipped bits are at least 2^52, so every
/// key is above [`MISSING`].
fn key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The value of a [`key`].
fn value(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_keep_the_order_of_values() {
        let values = [
            f64::MIN,
            -1e300,
            -2.5,
            -1e-300,
            -5e-324,
            0.5,
            1e-300,
            0.25,
            1.5,
            255.5,
            256.0,
            1e300,
            f64::MAX,
        ];
        let mut sorted = values;
        sorted.sort_by(f64::total_cmp);
        for w in sorted.windows(2) {
            assert!(slot(w[0]) < slot(w[1]), "{w:?}");
        }
        for v in values {
            assert!(slot(v) > MISSING, "{v}");
            assert_eq!(value(slot(v)).to_bits(), v.to_bits());
        }
        assert_eq!(slot(-0.0), 0);
        assert_eq!(slot(255.0), 255);
        assert_eq!(slot(f64::NAN), MISSING);
    }

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
                slots.push(live.add(*v));
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
                slots.push(table.add(row));
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
                    others.extend(rows.iter().map(|v| (live.add(*v), 1)));
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
