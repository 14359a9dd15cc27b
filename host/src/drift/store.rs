//! Reading one side from the embedded store: the predictions of
//! `ml-api-message` in a time range, from the typed columns the pipeline
//! wrote at insert (the rows of the range's blocks; no document body is read).

use super::DriftError;
use super::counts::Tally;
use super::dataset::{Dataset, model_columns};
use crate::document::columns::FEATURES;
use crate::store::StoreReader;
use crate::store::reader::TimeRange;

/// Reads the predictions of `index` whose `@timestamp` is in `range` (every
/// prediction when the range is open on both ends).
pub fn read(store: &StoreReader, index: &str, range: TimeRange) -> Result<Dataset, DriftError> {
    read_slice(store, index, range, None)
}

/// As [`read`], and only documents whose arrival number (`seq`) is in `seqs`.
pub fn read_slice(
    store: &StoreReader,
    index: &str,
    range: TimeRange,
    seqs: Option<std::ops::Range<i64>>,
) -> Result<Dataset, DriftError> {
    // The model's columns: the features in training order, then the
    // prediction and the probability (`model_columns`).
    let mut tallies = vec![Tally::default(); FEATURES.len() + 2];
    let mut rows_read = 0u64;
    store.for_each_row(range, |row| {
        let in_range = range.contains(row.columns.time_ms);
        let in_seqs = seqs.as_ref().is_none_or(|s| s.contains(&row.seq));
        if row.index != index || row.columns.prediction.is_none() || !in_range || !in_seqs {
            return Ok(());
        }
        rows_read += 1;
        let values = row
            .columns
            .features
            .iter()
            .copied()
            .chain([row.columns.prediction, row.columns.probability]);
        for (tally, value) in tallies.iter_mut().zip(values) {
            tally.add(value);
        }
        Ok(())
    })?;
    debug_assert_eq!(tallies.len(), model_columns().count());
    Ok(Dataset::of_model_counts(
        rows_read,
        tallies.into_iter().map(Tally::into_counts),
    ))
}
