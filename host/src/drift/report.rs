//! A drift report: each model column tested as Evidently's `DataDriftPreset`
//! tests it (kind from the current side, default test by the reference's
//! size, default thresholds), and the dataset's verdict.

use super::DriftError;
use super::counts::Counts;
use super::dataset::{Dataset, model_columns};
use super::select::{Test, default_test};
use super::stattests::{self, Kind};
use serde::Serialize;
use std::collections::BTreeMap;

/// Evidently's default share of drifted columns for dataset drift.
pub const DEFAULT_DRIFT_SHARE: f64 = 0.5;

/// What a user may change (`--test`, `--threshold`, `--drift-share`).
#[derive(Debug, Clone)]
pub struct Options {
    /// A test for every column, instead of the default choice.
    pub test: Option<Test>,
    /// Tests for some columns (before `test`).
    pub column_tests: BTreeMap<String, Test>,
    /// A threshold for every column, instead of the test's default.
    pub threshold: Option<f64>,
    /// Thresholds for some columns (before `threshold`).
    pub column_thresholds: BTreeMap<String, f64>,
    /// The dataset drifts when at least this share of tested columns drifts.
    pub drift_share: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            test: None,
            column_tests: BTreeMap::new(),
            threshold: None,
            column_thresholds: BTreeMap::new(),
            drift_share: DEFAULT_DRIFT_SHARE,
        }
    }
}

/// One column's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnDrift {
    /// The column (training name).
    pub column: String,
    /// Its kind, from the current side.
    pub kind: &'static str,
    /// The test run.
    pub test: &'static str,
    /// The test's p-value or distance (`null` when it is not a number).
    pub value: Option<f64>,
    /// The threshold it was compared with.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
    /// Reference rows with a value.
    pub reference_values: u64,
    /// Reference rows without one (null, NaN, infinite).
    pub reference_missing: u64,
    /// Current rows with a value.
    pub current_values: u64,
    /// Current rows without one.
    pub current_missing: u64,
}

/// A column that could not be tested, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Untested {
    /// The column.
    pub column: String,
    /// Why it was not tested.
    pub reason: String,
}

/// The whole report (the shape of `logpipe drift --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// At least `drift_share` of the tested columns drifted.
    pub dataset_drift: bool,
    /// The share of drifted columns that makes the dataset drift.
    pub drift_share: f64,
    /// Columns that drifted.
    pub drifted_columns: usize,
    /// Their share of the tested columns.
    pub share_of_drifted_columns: f64,
    /// Rows of the reference.
    pub reference_rows: u64,
    /// Rows of the current side.
    pub current_rows: u64,
    /// The tested columns.
    pub columns: Vec<ColumnDrift>,
    /// Model columns not tested, with the reason.
    pub untested: Vec<Untested>,
}

/// Tests every model column present on either side.
pub fn compare(
    reference: &Dataset,
    current: &Dataset,
    options: &Options,
) -> Result<Report, DriftError> {
    if reference.rows == 0 {
        return Err(DriftError::Empty { side: "reference" });
    }
    if current.rows == 0 {
        return Err(DriftError::Empty { side: "current" });
    }
    let mut columns = Vec::new();
    let mut untested = Vec::new();
    for name in model_columns() {
        let skip = |reason: String| Untested {
            column: name.to_string(),
            reason,
        };
        let (r, c) = match (reference.columns.get(name), current.columns.get(name)) {
            (None, None) => {
                untested.push(skip("in neither side".into()));
                continue;
            }
            (None, Some(_)) => {
                untested.push(skip("not in the reference".into()));
                continue;
            }
            (Some(_), None) => {
                untested.push(skip("not in the current side".into()));
                continue;
            }
            (Some(r), Some(c)) => (r, c),
        };
        let Some(kind) = c.kind() else {
            let super::dataset::Dtype::Other(ty) = c.dtype else {
                unreachable!("only other types have no kind")
            };
            untested.push(skip(format!(
                "its type in the current side ({ty}) is neither numerical nor categorical"
            )));
            continue;
        };
        if r.counts.n() == 0 {
            untested.push(skip("no value in the reference".into()));
            continue;
        }
        if c.counts.n() == 0 {
            untested.push(skip("no value in the current side".into()));
            continue;
        }
        let chosen = options.column_tests.get(name).copied().or(options.test);
        let test = match chosen {
            Some(test) => {
                check_kind(name, test, kind)?;
                test
            }
            None => default_test(&r.counts, &c.counts, kind),
        };
        let threshold = options
            .column_thresholds
            .get(name)
            .copied()
            .or(options.threshold)
            .unwrap_or_else(|| test.default_threshold());
        let value = run(test, &r.counts, &c.counts, kind);
        columns.push(ColumnDrift {
            column: name.to_string(),
            kind: match kind {
                Kind::Numerical => "numerical",
                Kind::Categorical => "categorical",
            },
            test: test.name(),
            value: value.is_finite().then_some(value),
            threshold,
            drifted: test.drifted(value, threshold),
            reference_values: r.counts.n(),
            reference_missing: r.counts.missing,
            current_values: c.counts.n(),
            current_missing: c.counts.missing,
        });
    }
    if columns.is_empty() {
        return Err(DriftError::NoColumns {
            untested: untested
                .iter()
                .map(|u| format!("{}: {}", u.column, u.reason))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    let drifted_columns = columns.iter().filter(|c| c.drifted).count();
    // As Evidently: the share first, then compared.
    let share = drifted_columns as f64 / columns.len() as f64;
    Ok(Report {
        dataset_drift: share >= options.drift_share,
        drift_share: options.drift_share,
        drifted_columns,
        share_of_drifted_columns: share,
        reference_rows: reference.rows,
        current_rows: current.rows,
        columns,
        untested,
    })
}

/// Evidently refuses a test on a kind it is not registered for.
fn check_kind(column: &str, test: Test, kind: Kind) -> Result<(), DriftError> {
    let allowed = match test {
        Test::Ks | Test::Wasserstein => kind == Kind::Numerical,
        Test::Z | Test::ChiSquare => kind == Kind::Categorical,
        Test::JensenShannon | Test::Psi => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(DriftError::TestKind {
            column: column.to_string(),
            test: test.name(),
            kind: match kind {
                Kind::Numerical => "numerical",
                Kind::Categorical => "categorical",
            },
        })
    }
}

/// The test's value.
fn run(test: Test, reference: &Counts, current: &Counts, kind: Kind) -> f64 {
    match test {
        Test::Ks => stattests::ks(reference, current).p_value,
        Test::Z => stattests::z(reference, current),
        Test::ChiSquare => stattests::chisquare(reference, current),
        Test::Wasserstein => stattests::wasserstein(reference, current),
        Test::JensenShannon => stattests::jensenshannon(reference, current, kind),
        Test::Psi => stattests::psi(reference, current, kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::dataset::{Column, Dtype};

    fn side(rows: u64, columns: &[(&str, Counts, Dtype)]) -> Dataset {
        Dataset {
            rows,
            columns: columns
                .iter()
                .map(|(n, c, t)| (n.to_string(), Column::new(c.clone(), *t)))
                .collect(),
        }
    }

    #[test]
    fn verdicts_overrides_and_untested_columns() {
        let smokers = |share: f64, n: u32| {
            Counts::of(
                (0..n).map(|i| Some(f64::from(u8::from(f64::from(i) < share * f64::from(n))))),
            )
        };
        let reference = side(
            500,
            &[
                ("SMOKING", smokers(0.3, 500), Dtype::Integer),
                ("GENDER", smokers(0.5, 500), Dtype::Integer),
                (
                    "ANXIETY",
                    smokers(0.5, 500),
                    Dtype::Other("unsigned integer"),
                ),
            ],
        );
        let current = side(
            400,
            &[
                ("SMOKING", smokers(0.6, 400), Dtype::Integer),
                ("GENDER", smokers(0.5, 400), Dtype::Integer),
                (
                    "ANXIETY",
                    smokers(0.5, 400),
                    Dtype::Other("unsigned integer"),
                ),
            ],
        );
        let report = compare(&reference, &current, &Options::default()).unwrap();
        assert_eq!(report.columns.len(), 2);
        let smoking = &report.columns[1];
        assert_eq!((smoking.column.as_str(), smoking.test), ("SMOKING", "z"));
        assert!(smoking.drifted);
        assert!(!report.columns[0].drifted, "GENDER has the same share");
        assert!(report.dataset_drift, "one of two columns is half");
        assert_eq!(report.share_of_drifted_columns, 0.5);
        let reasons: Vec<&str> = report.untested.iter().map(|u| u.column.as_str()).collect();
        assert!(reasons.contains(&"ANXIETY") && reasons.contains(&"AGE"));

        let options = Options {
            column_tests: [("SMOKING".to_string(), Test::Psi)].into(),
            threshold: Some(0.9),
            drift_share: 0.6,
            ..Options::default()
        };
        let report = compare(&reference, &current, &options).unwrap();
        assert_eq!(report.columns[1].test, "psi");
        assert_eq!(report.columns[1].threshold, 0.9);
        assert!(!report.dataset_drift);

        let wrong = Options {
            test: Some(Test::Ks),
            ..Options::default()
        };
        let err = compare(&reference, &current, &wrong).unwrap_err();
        assert!(err.to_string().contains("GENDER"), "{err}");
        let empty = Dataset::default();
        assert!(compare(&empty, &current, &Options::default()).is_err());
    }
}
