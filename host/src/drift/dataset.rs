//! One side of a drift comparison: the per-value counts of each model column
//! and the type pandas would give it, which is what Evidently infers the
//! column's kind from.

use super::counts::Counts;
use super::stattests::Kind;
use crate::document::columns::FEATURES;
use std::collections::BTreeMap;

/// The columns drift is computed on: the 15 features under their training
/// names, then the prediction and its probability.
pub fn model_columns() -> impl Iterator<Item = &'static str> {
    FEATURES
        .iter()
        .map(|(name, _)| *name)
        .chain(["prediction", "probability"])
}

/// The type `export parquet` writes a model column with: AGE and the
/// probability are floats, the features and the prediction integers.
pub fn model_dtype(column: &str) -> Dtype {
    if column == "AGE" || column == "probability" {
        Dtype::Float
    } else {
        Dtype::Integer
    }
}

/// A column's type as pandas holds it once read (`pd.read_parquet`), which
/// decides Evidently's inference (`core/datasets.py::infer_column_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// Signed integers without missing values (`int64`, ...).
    Integer,
    /// Floats, and integers with missing values (pandas makes those `float64`).
    Float,
    /// Booleans without missing values.
    Bool,
    /// Anything Evidently infers no numerical or categorical kind for, with
    /// the type's name: unsigned integers (`uint64` does not start with
    /// `int`), booleans with missing values (`object`), text.
    Other(&'static str),
}

/// One column of one side.
#[derive(Debug, Clone)]
pub struct Column {
    /// How often each value occurs; missing values apart.
    pub counts: Counts,
    /// The type as read.
    pub dtype: Dtype,
}

impl Column {
    /// A column of type `stored` (as the file or store declares it), whose
    /// integers become floats once a value is missing, as pandas does.
    pub fn new(counts: Counts, stored: Dtype) -> Self {
        let dtype = match stored {
            Dtype::Integer if counts.missing > 0 => Dtype::Float,
            Dtype::Bool if counts.missing > 0 => Dtype::Other("object"),
            other => other,
        };
        Self { counts, dtype }
    }

    /// Evidently's kind for this column when it is the current side's:
    /// floats are numerical, integers categorical up to 10 distinct values,
    /// booleans categorical; `None` for the rest.
    pub fn kind(&self) -> Option<Kind> {
        match self.dtype {
            Dtype::Float => Some(Kind::Numerical),
            Dtype::Integer
                if self.counts.distinct() <= super::select::INTEGER_CARDINALITY_LIMIT =>
            {
                Some(Kind::Categorical)
            }
            Dtype::Integer => Some(Kind::Numerical),
            Dtype::Bool => Some(Kind::Categorical),
            Dtype::Other(_) => None,
        }
    }
}

/// The model columns of one side, by name, and its number of rows.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Rows read.
    pub rows: u64,
    /// The model columns found.
    pub columns: BTreeMap<String, Column>,
}

impl Dataset {
    /// A side from the counts of each model column, in [`model_columns`]
    /// order, typed as the pipeline writes them ([`model_dtype`]).
    pub fn of_model_counts(rows: u64, counts: impl IntoIterator<Item = Counts>) -> Self {
        let columns = model_columns()
            .zip(counts)
            .map(|(name, counts)| (name.to_string(), Column::new(counts, model_dtype(name))))
            .collect();
        Self { rows, columns }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_pandas_types() {
        let few = Counts::of([Some(0.0), Some(1.0)]);
        let many = Counts::of((0..11).map(|i| Some(f64::from(i))));
        let gap = Counts::of([Some(0.0), None]);
        assert_eq!(
            Column::new(few.clone(), Dtype::Integer).kind(),
            Some(Kind::Categorical)
        );
        assert_eq!(
            Column::new(many, Dtype::Integer).kind(),
            Some(Kind::Numerical)
        );
        assert_eq!(
            Column::new(gap.clone(), Dtype::Integer).kind(),
            Some(Kind::Numerical),
            "an integer column with a missing value is float64 to pandas"
        );
        assert_eq!(Column::new(gap, Dtype::Bool).kind(), None);
        assert_eq!(
            Column::new(few.clone(), Dtype::Float).kind(),
            Some(Kind::Numerical)
        );
        assert_eq!(Column::new(few, Dtype::Other("uint64")).kind(), None);
        assert_eq!(model_columns().count(), 17);
    }
}
