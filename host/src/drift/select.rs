//! Which test Evidently 0.7 runs on a column, and its threshold
//! (`stattests/registry.py::_get_default_stattest`).

use super::counts::{Counts, joint};
use super::stattests::Kind;

/// Integer columns with at most this many distinct values are categorical
/// (`INTEGER_CARDINALITY_LIMIT`).
pub const INTEGER_CARDINALITY_LIMIT: usize = 10;

/// References of at most this many rows get the statistical tests; larger
/// ones the distances.
pub const SMALL_REFERENCE_ROWS: u64 = 1000;

/// A drift test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// Kolmogorov-Smirnov p-value.
    Ks,
    /// Two-proportion Z-test p-value.
    Z,
    /// Chi-square goodness-of-fit p-value.
    ChiSquare,
    /// Normalised Wasserstein distance.
    Wasserstein,
    /// Jensen-Shannon distance.
    JensenShannon,
    /// Population stability index.
    Psi,
}

/// A test name that is none of [`ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a test; the tests are ks, z, chisquare, wasserstein, jensenshannon, psi")]
pub struct UnknownTest(pub String);

impl std::str::FromStr for Test {
    type Err = UnknownTest;

    fn from_str(text: &str) -> Result<Self, UnknownTest> {
        ALL.into_iter()
            .find(|t| t.name() == text)
            .ok_or_else(|| UnknownTest(text.to_string()))
    }
}

/// Every test.
pub const ALL: [Test; 6] = [
    Test::Ks,
    Test::Z,
    Test::ChiSquare,
    Test::Wasserstein,
    Test::JensenShannon,
    Test::Psi,
];

impl Test {
    /// The name in Evidently and in `logpipe drift --format json`.
    pub fn name(self) -> &'static str {
        match self {
            Test::Ks => "ks",
            Test::Z => "z",
            Test::ChiSquare => "chisquare",
            Test::Wasserstein => "wasserstein",
            Test::JensenShannon => "jensenshannon",
            Test::Psi => "psi",
        }
    }

    /// Evidently's default threshold: p-values below 0.05 drift; distances
    /// and the PSI at or above 0.1.
    pub fn default_threshold(self) -> f64 {
        match self {
            Test::Ks | Test::Z | Test::ChiSquare => 0.05,
            Test::Wasserstein | Test::JensenShannon | Test::Psi => 0.1,
        }
    }

    /// Whether `value` is drift at `threshold` (K-S counts a p-value equal to
    /// the threshold as drift, the other p-value tests do not).
    pub fn drifted(self, value: f64, threshold: f64) -> bool {
        match self {
            Test::Ks => value <= threshold,
            Test::Z | Test::ChiSquare => value < threshold,
            Test::Wasserstein | Test::JensenShannon | Test::Psi => value >= threshold,
        }
    }
}

/// The default test for a column: by the reference's size (rows with a
/// value), the column's type and the distinct values of both sides together.
pub fn default_test(reference: &Counts, current: &Counts, kind: Kind) -> Test {
    let values = joint(reference, current).count();
    // Evidently drops missing values before choosing (`data_drift.py`).
    if reference.n() <= SMALL_REFERENCE_ROWS {
        match kind {
            Kind::Numerical if values > 5 => Test::Ks,
            _ if values > 2 => Test::ChiSquare,
            _ => Test::Z,
        }
    } else {
        match kind {
            Kind::Numerical if values > 5 => Test::Wasserstein,
            _ => Test::JensenShannon,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_test_lists_every_test() {
        let e = "kolmogorov".parse::<Test>().unwrap_err().to_string();
        for t in ALL {
            assert!(e.contains(t.name()), "{e}");
            assert_eq!(t.name().parse::<Test>(), Ok(t));
        }
    }

    fn counts(values: &[f64]) -> Counts {
        Counts::of(values.iter().map(|v| Some(*v)))
    }

    #[test]
    fn evidently_default_tests() {
        let binary = counts(&[0.0, 1.0, 1.0]);
        let three = counts(&[0.0, 1.0, 2.0]);
        let ages: Vec<f64> = (20..40).map(f64::from).collect();
        let ages = counts(&ages);
        let big = Counts::of((0..1001).map(|i| Some(f64::from(i % 2))));
        let big_ages = Counts::of((0..1001).map(|i| Some(f64::from(20 + i % 50))));
        assert_eq!(default_test(&binary, &binary, Kind::Categorical), Test::Z);
        assert_eq!(
            default_test(&three, &binary, Kind::Categorical),
            Test::ChiSquare
        );
        assert_eq!(default_test(&ages, &ages, Kind::Numerical), Test::Ks);
        // A numerical column with few values gets the categorical tests.
        assert_eq!(
            default_test(&binary, &three, Kind::Numerical),
            Test::ChiSquare
        );
        assert_eq!(
            default_test(&big, &binary, Kind::Categorical),
            Test::JensenShannon
        );
        assert_eq!(
            default_test(&big_ages, &ages, Kind::Numerical),
            Test::Wasserstein
        );
        assert_eq!(
            default_test(&big, &three, Kind::Numerical),
            Test::JensenShannon
        );
        assert!(Test::Ks.drifted(0.05, 0.05) && !Test::Z.drifted(0.05, 0.05));
        assert!(Test::JensenShannon.drifted(0.1, 0.1));
    }
}
