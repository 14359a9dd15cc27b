//! Data drift on the predictions (issue 15, in progress): the statistics of
//! Evidently's `DataDriftPreset` computed from exact per-value counts
//! ([`counts`]), which windows add up. Not yet wired to a command: the K-S
//! p-value beyond 10,000 rows a side (scipy's `kstwo` distribution), the
//! choice of test per column and the `drift` command come next.

pub mod counts;
pub mod stattests;
