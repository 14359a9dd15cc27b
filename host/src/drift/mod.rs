//! Data drift on the predictions (issue 15, in progress): the statistics of
//! Evidently's `DataDriftPreset` computed from exact per-value counts
//! ([`counts`]), which windows add up. Not yet wired to a command: the K-S
//! p-value (scipy's exact and `kstwo` paths) and the test selection come next.

pub mod counts;
pub mod stattests;
