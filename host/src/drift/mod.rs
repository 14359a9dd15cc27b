//! Data drift on the predictions: the verdicts of Evidently's
//! `DataDriftPreset` (evidently 0.7) computed from exact per-value counts
//! ([`counts`]), which windows add up.
//!
//! A side ([`dataset`]) is read from Parquet ([`parquet`]) or the store
//! ([`store`]); [`report`] tests each model column with the test
//! [`select`] picks, computed by [`stattests`] ([`kolmogorov`] for the K-S
//! p-value of large sides); [`html`] draws a report.

pub mod counts;
pub mod dataset;
pub mod html;
pub mod kolmogorov;
pub mod live;
pub mod monitor;
pub mod parquet;
pub mod report;
pub mod rows;
pub mod select;
pub mod stattests;
pub mod store;

use std::path::PathBuf;

/// Why drift could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// A file could not be opened.
    #[error("cannot open {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The file system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not Parquet, or is damaged.
    #[error("cannot read {path} as Parquet")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The reader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A side has no rows.
    #[error("the {side} side has no rows: nothing to compare")]
    Empty {
        /// `reference` or `current`.
        side: &'static str,
    },
    /// No model column could be tested.
    #[error("no model column can be tested ({untested})")]
    NoColumns {
        /// Each column and why.
        untested: String,
    },
    /// A test was asked for a column of a kind it does not apply to.
    #[error(
        "{test} cannot test {column}, a {kind} column (as Evidently infers it from the current side)"
    )]
    TestKind {
        /// The column.
        column: String,
        /// The test.
        test: &'static str,
        /// The column's kind.
        kind: &'static str,
    },
}
