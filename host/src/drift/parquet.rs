//! Reading one side from a Parquet file: `logpipe export parquet`'s, or a
//! training set with the same column names. Only the model columns are read
//! (a projection), batch by batch, into counts: memory is the number of
//! distinct values, not of rows.

use super::DriftError;
use super::counts::Counts;
use super::dataset::{Column, Dataset, Dtype, model_columns};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::Path;

/// Rows per batch read.
const BATCH_ROWS: usize = 65_536;

/// Reads the model columns of the Parquet file at `path`.
pub fn read(path: &Path) -> Result<Dataset, DriftError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| DriftError::Parquet {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|e| DriftError::Open {
        path: path.to_owned(),
        source: e,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| fail(e.into()))?;
    let wanted: Vec<&str> = model_columns().collect();
    let schema = builder.schema().clone();
    // Top-level fields only: a model column nested in a struct is not one.
    let leaves: Vec<usize> = builder
        .parquet_schema()
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.path().parts().len() == 1 && wanted.contains(&c.path().parts()[0].as_str())
        })
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| fail(e.into()))?;
    let mut dataset = Dataset {
        rows: 0,
        columns: BTreeMap::new(),
    };
    let mut kinds: BTreeMap<String, Dtype> = BTreeMap::new();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    for field in schema.fields() {
        if wanted.contains(&field.name().as_str()) {
            kinds.insert(field.name().clone(), dtype(field.data_type()));
            counts.insert(field.name().clone(), Counts::default());
        }
    }
    for batch in reader {
        let batch = batch.map_err(|e| fail(e.into()))?;
        dataset.rows += batch.num_rows() as u64;
        for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
            if let Some(c) = counts.get_mut(field.name()) {
                count(array, c);
            }
        }
    }
    for (name, counts) in counts {
        let dtype = kinds[&name];
        dataset.columns.insert(name, Column::new(counts, dtype));
    }
    Ok(dataset)
}

/// The pandas type of an Arrow type, as `pd.read_parquet` makes it (before
/// missing values are seen).
fn dtype(data_type: &DataType) -> Dtype {
    match data_type {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Dtype::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Dtype::Float,
        DataType::Boolean => Dtype::Bool,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            Dtype::Other("unsigned integer")
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Dtype::Other("text"),
        _ => Dtype::Other("not a number"),
    }
}

/// Adds an array's values to `counts` (types without numbers count nothing:
/// their column is reported untested by its type).
fn count(array: &ArrayRef, counts: &mut Counts) {
    fn add<T: Copy>(
        counts: &mut Counts,
        len: usize,
        valid: impl Fn(usize) -> bool,
        value: impl Fn(usize) -> T,
        to_f64: impl Fn(T) -> f64,
    ) {
        for i in 0..len {
            counts.add(valid(i).then(|| to_f64(value(i))), 1);
        }
    }
    let len = array.len();
    let valid = |i: usize| array.is_valid(i);
    match array.data_type() {
        DataType::Int8 => {
            let a = array.as_primitive::<Int8Type>();
            add(counts, len, valid, |i| a.value(i), f64::from);
        }
        DataType::Int16 => {
            let a = array.as_primitive::<Int16Type>();
            add(counts, len, valid, |i| a.value(i), f64::from);
        }
        DataType::Int32 => {
            let a = array.as_primitive::<Int32Type>();
            add(counts, len, valid, |i| a.value(i), f64::from);
        }
        DataType::Int64 => {
            let a = array.as_primitive::<Int64Type>();
            add(counts, len, valid, |i| a.value(i), |v| v as f64);
        }
        DataType::Float16 => {
            let a = array.as_primitive::<Float16Type>();
            add(counts, len, valid, |i| a.value(i), f64::from);
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            add(counts, len, valid, |i| a.value(i), f64::from);
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            add(counts, len, valid, |i| a.value(i), |v| v);
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            add(
                counts,
                len,
                valid,
                |i| a.value(i),
                |v| f64::from(u8::from(v)),
            );
        }
        _ => counts.add(None, len as u64),
    }
}
