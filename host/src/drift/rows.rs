//! One side built from typed prediction rows (`export`'s), as read from
//! Elasticsearch or any document stream.

use super::counts::Counts;
use super::dataset::{Dataset, model_columns};
use crate::export::rows::PredictionRow;

/// Counts rows as they come.
#[derive(Debug, Clone)]
pub struct RowCounter {
    rows: u64,
    counts: Vec<Counts>,
}

impl Default for RowCounter {
    fn default() -> Self {
        Self {
            rows: 0,
            counts: vec![Counts::default(); model_columns().count()],
        }
    }
}

impl RowCounter {
    /// Adds one row.
    pub fn add(&mut self, row: &PredictionRow) {
        self.rows += 1;
        // model_columns() order: GENDER, AGE, then the other features, then
        // prediction and probability; the row keeps AGE apart.
        let mut binary = row.binary.iter();
        for (i, counts) in self.counts.iter_mut().enumerate() {
            let value = match i {
                1 => row.age,
                15 => row.prediction.map(|p| p as f64),
                16 => row.probability,
                _ => binary.next().copied().flatten().map(|v| v as f64),
            };
            counts.add(value, 1);
        }
    }

    /// The side read.
    pub fn finish(self) -> Dataset {
        Dataset::of_model_counts(self.rows, self.counts)
    }
}
