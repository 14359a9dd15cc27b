//! Exact per-value counts of one column: what every drift statistic is
//! computed from. The model's features are discrete, so a window of any size
//! is a few hundred numbers, and two windows add up exactly (no sampling).

use crate::document::prediction::{MISSING, SMALL, Slot, slot_of, value};
use std::collections::BTreeMap;

/// A value ordered totally (`f64::total_cmp`), so it can key a map.
#[derive(Debug, Clone, Copy)]
pub struct Value(pub f64);

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// How many times each value occurs in a column, and how many rows had none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    values: BTreeMap<Value, u64>,
    /// Rows with a value (the sum of `values`, kept as they change).
    total: u64,
    /// Rows without a value (null, NaN or infinite, which Evidently drops).
    pub missing: u64,
}

impl Counts {
    /// Counts a column's values.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Self {
        let mut counts = Counts::default();
        for v in values {
            counts.add(v, 1);
        }
        counts
    }

    /// Counts from `(value, rows)` pairs, each value once, and the rows
    /// without a value.
    pub fn of_counted(values: impl IntoIterator<Item = (f64, u64)>, missing: u64) -> Self {
        let mut total = 0;
        let values = values
            .into_iter()
            .filter(|(v, n)| v.is_finite() && *n > 0)
            .inspect(|(_, n)| total += n)
            .map(|(v, n)| (Value(v + 0.0), n))
            .collect();
        Counts {
            values,
            total,
            missing,
        }
    }

    /// Adds `n` rows of `value`.
    pub fn add(&mut self, value: Option<f64>, n: u64) {
        match value.filter(|v| v.is_finite()) {
            // -0.0 and 0.0 are one value, as they are to pandas.
            Some(v) => {
                *self.values.entry(Value(v + 0.0)).or_default() += n;
                self.total += n;
            }
            None => self.missing += n,
        }
    }

    /// Takes back `n` rows of `value` added before.
    pub fn remove(&mut self, value: Option<f64>, n: u64) {
        match value.filter(|v| v.is_finite()) {
            Some(v) => {
                let key = Value(v + 0.0);
                if let Some(count) = self.values.get_mut(&key) {
                    self.total -= n.min(*count);
                    *count = count.saturating_sub(n);
                    if *count == 0 {
                        self.values.remove(&key);
                    }
                }
            }
            None => self.missing = self.missing.saturating_sub(n),
        }
    }

    /// Adds another window's counts.
    pub fn merge(&mut self, other: &Counts) {
        for (v, n) in &other.values {
            *self.values.entry(*v).or_default() += n;
        }
        self.total += other.total;
        self.missing += other.missing;
    }

    /// Rows with a value.
    pub fn n(&self) -> u64 {
        self.total
    }

    /// Distinct values.
    pub fn distinct(&self) -> usize {
        self.values.len()
    }

    /// `(value, count)` in increasing order of value.
    pub fn iter(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.values.iter().map(|(v, n)| (v.0, *n))
    }

    /// The count of `value`.
    pub fn count(&self, value: f64) -> u64 {
        self.values.get(&Value(value + 0.0)).copied().unwrap_or(0)
    }

    /// Smallest and largest value.
    pub fn range(&self) -> Option<(f64, f64)> {
        Some((
            self.values.keys().next()?.0,
            self.values.keys().next_back()?.0,
        ))
    }

    /// The population standard deviation (numpy's `std`, ddof 0).
    pub fn std(&self) -> f64 {
        let n = self.n() as f64;
        if n == 0.0 {
            return f64::NAN;
        }
        let mean = self.iter().map(|(v, c)| v * c as f64).sum::<f64>() / n;
        let var = self
            .iter()
            .map(|(v, c)| (v - mean) * (v - mean) * c as f64)
            .sum::<f64>()
            / n;
        var.sqrt()
    }
}

/// Counts a column row by row, faster than [`Counts::add`] for many rows:
/// each value's [`Slot`] (small non-negative integers, the features and AGE,
/// counted in an array; missing values counted; other values gathered and
/// counted at the end, sorted once). The drift monitor's windows
/// ([`super::live`]) end in one too.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Rows of each small integer, by value (grown to the largest seen).
    small: Vec<u64>,
    /// Other values as `(slot, rows)`, in any order.
    others: Vec<(Slot, u64)>,
    missing: u64,
}

impl Tally {
    /// A tally of counts kept elsewhere: rows of each small integer (by
    /// value), missing rows, and `(slot, rows)` pairs of any slot.
    pub fn of_parts(small: Vec<u64>, missing: u64, pairs: Vec<(Slot, u64)>) -> Self {
        let mut tally = Tally {
            small,
            others: Vec::with_capacity(pairs.len()),
            missing,
        };
        for (slot, n) in pairs {
            tally.add_slot(slot, n);
        }
        tally
    }

    /// Counts one row's value (NaN and infinities are missing values, as
    /// [`Counts::add`] has them).
    #[inline]
    pub fn add(&mut self, value: Option<f64>) {
        self.add_slot(slot_of(value), 1);
    }

    /// Counts `n` rows of a slot.
    #[inline]
    pub fn add_slot(&mut self, slot: Slot, n: u64) {
        if slot < SMALL {
            let v = slot as usize;
            if v >= self.small.len() {
                self.small.resize(v + 1, 0);
            }
            self.small[v] += n;
        } else if slot == MISSING {
            self.missing += n;
        } else {
            self.others.push((slot, n));
        }
    }

    /// The counts.
    pub fn into_counts(mut self) -> Counts {
        compact(&mut self.others);
        let values = self
            .small
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| (v as f64, *n))
            .chain(
                self.others
                    .into_iter()
                    .filter_map(|(slot, n)| Some((value(slot)?, n))),
            );
        Counts::of_counted(values, self.missing)
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

/// `(value, count in a, count in b)` for each distinct value of both sides,
/// in increasing order: one merge of the two ordered maps, no lookups, so
/// that a column of a million distinct values costs a walk.
pub fn joint<'a>(a: &'a Counts, b: &'a Counts) -> impl Iterator<Item = (f64, u64, u64)> + 'a {
    let mut a = a.values.iter().peekable();
    let mut b = b.values.iter().peekable();
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some((va, _)), Some((vb, _))) => match va.cmp(vb) {
            std::cmp::Ordering::Less => a.next().map(|(v, n)| (v.0, *n, 0)),
            std::cmp::Ordering::Greater => b.next().map(|(v, n)| (v.0, 0, *n)),
            std::cmp::Ordering::Equal => {
                let (v, n) = a.next()?;
                let (_, m) = b.next()?;
                Some((v.0, *n, *m))
            }
        },
        (Some(_), None) => a.next().map(|(v, n)| (v.0, *n, 0)),
        (None, Some(_)) => b.next().map(|(v, n)| (v.0, 0, *n)),
        (None, None) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_as_add_does() {
        let values = [
            Some(0.0),
            Some(1.0),
            None,
            Some(0.25),
            Some(127.0),
            Some(128.0),
            Some(-3.0),
            Some(0.25),
            Some(f64::NAN),
            Some(1.0),
        ];
        let mut tally = Tally::default();
        for v in values {
            tally.add(v);
        }
        let tallied = tally.into_counts();
        let added = Counts::of(values);
        assert_eq!(
            tallied.iter().collect::<Vec<_>>(),
            added.iter().collect::<Vec<_>>()
        );
        assert_eq!((tallied.n(), tallied.missing), (added.n(), added.missing));
    }

    #[test]
    fn windows_add_up_and_missing_values_are_counted_apart() {
        let mut a = Counts::of([Some(1.0), Some(2.0), None, Some(f64::NAN), Some(-0.0)]);
        let b = Counts::of([Some(1.0), Some(0.0), Some(f64::INFINITY)]);
        a.merge(&b);
        assert_eq!(a.n(), 5);
        assert_eq!(a.missing, 3);
        assert_eq!(a.count(1.0), 2);
        assert_eq!(a.count(0.0), 2, "-0.0 and 0.0 are one value");
        assert_eq!(a.iter().collect::<Vec<_>>(), [(0.0, 2), (1.0, 2), (2.0, 1)]);
        assert_eq!(a.range(), Some((0.0, 2.0)));
        assert_eq!(
            Counts::of([Some(1.0), Some(2.0), Some(3.0), Some(4.0)]).std(),
            1.25f64.sqrt()
        );
        let seven = Counts::of([Some(7.0), Some(1.0)]);
        assert_eq!(
            joint(&a, &seven).collect::<Vec<_>>(),
            [(0.0, 2, 0), (1.0, 2, 1), (2.0, 1, 0), (7.0, 0, 1)]
        );
    }
}
