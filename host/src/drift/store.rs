//! Reading one side from the embedded store: the predictions of
//! `ml-api-message` in a time range, from the typed columns the pipeline
//! wrote at insert (no document body is read).

use super::DriftError;
use super::counts::Tally;
use super::dataset::{Dataset, model_columns};
use crate::document::columns::FEATURES;
use crate::store::StoreReader;
use crate::store::reader::TimeRange;
use rusqlite::types::ValueRef;

/// The store's column for a model column: a feature's key in lower case.
fn stored(column: &str) -> String {
    FEATURES
        .iter()
        .find(|(training, _)| *training == column)
        .map_or_else(|| column.to_string(), |(_, key)| key.to_ascii_lowercase())
}

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
    let at = |e| DriftError::Store(crate::store::StoreError::at(store.path(), e));
    let list: Vec<String> = model_columns().map(stored).collect();
    let bounded = range.since.is_some() || range.until.is_some();
    // A range on `documents_time` (time, index_name) when bounded.
    // Only the conditions asked for, so that SQLite picks `documents_time`
    // for a time range rather than a scan of every seq.
    // The index name as a literal, not a parameter: SQLite uses the partial
    // index covering the predictions (`documents_predictions`) only for a
    // condition it can match at prepare time.
    let mut sql = format!(
        "SELECT {} FROM documents WHERE index_name = {} AND prediction IS NOT NULL",
        list.join(", "),
        crate::store::schema::literal(index)
    );
    let mut values: Vec<i64> = Vec::new();
    if bounded {
        sql.push_str(" AND time >= ?1 AND time < ?2");
        values.extend([
            range.since.unwrap_or(i64::MIN),
            range.until.unwrap_or(i64::MAX),
        ]);
    }
    if let Some(seqs) = seqs {
        let first = values.len() + 1;
        sql.push_str(&format!(" AND seq >= ?{first} AND seq < ?{}", first + 1));
        values.extend([seqs.start, seqs.end]);
    }
    let mut statement = store
        .documents(range, Some(&[index]))?
        .prepare(&sql)
        .map_err(at)?;
    let mut tallies = vec![Tally::default(); list.len()];
    let mut rows_read = 0u64;
    let parameters: Vec<&dyn rusqlite::ToSql> =
        values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
    let mut rows = statement.query(parameters.as_slice()).map_err(at)?;
    while let Some(row) = rows.next().map_err(at)? {
        rows_read += 1;
        for (i, tally) in tallies.iter_mut().enumerate() {
            tally.add(match row.get_ref(i).map_err(at)? {
                ValueRef::Integer(v) => Some(v as f64),
                ValueRef::Real(v) => Some(v),
                _ => None,
            });
        }
    }
    Ok(Dataset::of_model_counts(
        rows_read,
        tallies.into_iter().map(Tally::into_counts),
    ))
}
